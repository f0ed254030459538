//! What the walking endpoints (`/nearest` in walk mode, `/isochrone`) share: their query
//! parameters, snapping failures as problems, route/polygon output in the caller's system,
//! and running the engine off the event loop with one reusable [`Searcher`] per thread.

use std::cell::RefCell;
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};

use actix_web::web;
use geo::{Geometry, LineString};
use serde_json::Value;

use crate::analysis::WalkWorld;
use crate::model::{Crs, LayerId};
use crate::service::Service;
use crate::store::write::geometry_json;
use crate::walk::{DEFAULT_MAX_SNAP_M, Profile, Searcher, SnapError};

use super::error::{ApiError, ProblemKind};
use super::params::{LonLat, RawQuery, check_lat, check_lon, parse_f64};

/// Largest `max_min` of `/nearest`: two hours bounds the search far beyond any living circle.
pub const MAX_MIN_MAX: f64 = 120.0;
/// Largest `max_snap_m`: beyond a kilometre the "walk" to the network dominates the answer.
pub const MAX_SNAP_M_MAX: f64 = 1000.0;
/// Bounds of each isochrone contour, minutes.
pub const MINUTES_MIN: f64 = 1.0;
pub const MINUTES_MAX: f64 = 60.0;
/// Most contours per isochrone request.
pub const MINUTES_COUNT_MAX: usize = 6;
/// Most origins of one union catchment.
pub const ORIGINS_MAX: usize = 50;

thread_local! {
    // The searcher keeps per-node scratch sized to the graph and resets in O(1); keeping one
    // per blocking-pool thread means a request allocates nothing graph-sized.
    static SEARCHER: RefCell<Searcher> = RefCell::new(Searcher::new());
}

/// Run `f` with this thread's searcher.
fn with_searcher<R>(f: impl FnOnce(&mut Searcher) -> R) -> R {
    SEARCHER.with(|cell| match cell.try_borrow_mut() {
        Ok(mut s) => f(&mut s),
        // Only reachable if `f` itself re-entered; a fresh searcher is correct, just slower.
        Err(_) => f(&mut Searcher::new()),
    })
}

/// A counting semaphore over the walk-engine jobs running at once. The blocking pool grows to
/// hundreds of threads; without a bound a burst of isochrones makes that many runnable
/// threads, and the scheduler's fair share leaves the event loops (and `/locate`) a sliver
/// of the CPU. Waiting threads sleep on the condvar and cost nothing.
struct Gate {
    free: Mutex<usize>,
    freed: Condvar,
}

/// Releases its slot on drop, so a panicking job cannot leak it.
struct Permit(&'static Gate);

impl Gate {
    fn global() -> &'static Gate {
        static GATE: OnceLock<Gate> = OnceLock::new();
        GATE.get_or_init(|| Gate {
            free: Mutex::new(walk_jobs_max()),
            freed: Condvar::new(),
        })
    }

    fn acquire(&'static self) -> Permit {
        // A poisoned lock only means another job panicked; the count itself is still valid.
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        while *free == 0 {
            free = self
                .freed
                .wait(free)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *free -= 1;
        Permit(self)
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut free = self.0.free.lock().unwrap_or_else(PoisonError::into_inner);
        *free += 1;
        self.0.freed.notify_one();
    }
}

/// How many walk-engine jobs may run at once: one fewer than the cores (at least one), so one
/// core's worth of CPU always stays with the event loops.
#[must_use]
pub fn walk_jobs_max() -> usize {
    std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .saturating_sub(1)
        .max(1)
}

/// Run walk-engine work on the blocking pool, at most [`walk_jobs_max`] jobs at once, so a
/// burst of heavy requests never holds the event loops (and `/locate`, `/healthz`) up.
pub async fn run_blocking<R: Send + 'static>(
    f: impl FnOnce(&mut Searcher) -> R + Send + 'static,
) -> Result<R, ApiError> {
    web::block(move || {
        let _permit = Gate::global().acquire();
        with_searcher(f)
    })
    .await
    .map_err(ApiError::internal)
}

/// Largest network (nodes) on which a walking-nearest search runs inline on the event loop:
/// even a search that settles every node of such a graph takes well under a millisecond
/// (4.7k nodes of the default data: ~0.3 ms), less than the hop to the blocking pool costs.
/// Larger networks (a whole city) go to the blocking pool like isochrones.
pub const INLINE_NODES_MAX: usize = 20_000;

/// Run a bounded walk-engine query: inline when the network has at most
/// [`INLINE_NODES_MAX`] nodes, else on the blocking pool via [`run_blocking`].
pub async fn run_small_or_blocking<R: Send + 'static>(
    node_count: usize,
    f: impl FnOnce(&mut Searcher) -> R + Send + 'static,
) -> Result<R, ApiError> {
    if node_count <= INLINE_NODES_MAX {
        Ok(with_searcher(f))
    } else {
        run_blocking(f).await
    }
}

/// The problem for a walking request on a directory without walkways (404 layer-unavailable,
/// like every other missing layer).
#[must_use]
pub fn no_walkways(what: &str) -> ApiError {
    ApiError::new(
        ProblemKind::LayerUnavailable,
        format!(
            "this data directory has no '{}' layer, so {what} is not available: walking times \
             need the walking network; use mode=straight on /nearest for straight-line (geodesic) distances, \
             or serve a directory with walkways.geojson (GET /collections lists its layers)",
            LayerId::Walkways
        ),
    )
}

/// The walking world, or the layer-unavailable problem.
pub fn world(svc: &Service, what: &str) -> Result<Arc<WalkWorld>, ApiError> {
    svc.walk.clone().ok_or_else(|| no_walkways(what))
}

/// Optional `profile` (standard, elder, wheelchair).
pub fn take_profile(q: &mut RawQuery) -> Result<Option<Profile>, ApiError> {
    q.take("profile")
        .map(|s| {
            s.parse::<Profile>().map_err(|e| {
                ApiError::bad_param("profile", format!("{e} (GET /profiles describes them)"))
            })
        })
        .transpose()
}

/// Optional `max_min` (minutes, > 0, ≤ [`MAX_MIN_MAX`]).
pub fn take_max_min(q: &mut RawQuery) -> Result<Option<f64>, ApiError> {
    let Some(s) = q.take("max_min") else {
        return Ok(None);
    };
    let v = parse_f64("max_min", &s)?;
    if v <= 0.0 || v > MAX_MIN_MAX {
        return Err(ApiError::bad_param(
            "max_min",
            format!("{v} is out of range: give walking minutes in (0, {MAX_MIN_MAX}]"),
        ));
    }
    Ok(Some(v))
}

/// Optional boolean flag `name=true|false` (also `1`/`0`).
pub fn take_flag(q: &mut RawQuery, name: &str) -> Result<Option<bool>, ApiError> {
    q.take(name)
        .map(|s| match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err(ApiError::bad_param(
                name,
                format!("'{s}' is not a boolean; use {name}=true or {name}=false"),
            )),
        })
        .transpose()
}

/// Optional `max_snap_m` (metres, > 0, ≤ [`MAX_SNAP_M_MAX`]).
pub fn take_max_snap_m(q: &mut RawQuery) -> Result<Option<f64>, ApiError> {
    let Some(s) = q.take("max_snap_m") else {
        return Ok(None);
    };
    let v = parse_f64("max_snap_m", &s)?;
    if v <= 0.0 || v > MAX_SNAP_M_MAX {
        return Err(ApiError::bad_param(
            "max_snap_m",
            format!(
                "{v} is out of range: give metres in (0, {MAX_SNAP_M_MAX}] (default {DEFAULT_MAX_SNAP_M})"
            ),
        ));
    }
    Ok(Some(v))
}

/// `minutes=5,10,15`: 1 to [`MINUTES_COUNT_MAX`] values, each in
/// [[`MINUTES_MIN`], [`MINUTES_MAX`]]; returned ascending with duplicates merged.
pub fn parse_minutes(s: &str) -> Result<Vec<f64>, ApiError> {
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    if parts.len() > MINUTES_COUNT_MAX {
        return Err(ApiError::bad_param(
            "minutes",
            format!(
                "{} values given; give at most {MINUTES_COUNT_MAX}, e.g. minutes=5,10,15",
                parts.len()
            ),
        ));
    }
    let mut out = Vec::with_capacity(parts.len());
    for p in parts {
        if p.is_empty() {
            return Err(ApiError::bad_param(
                "minutes",
                "empty value; give minutes separated by commas, e.g. minutes=5,10,15",
            ));
        }
        let v = parse_f64("minutes", p)?;
        if !(MINUTES_MIN..=MINUTES_MAX).contains(&v) {
            return Err(ApiError::bad_param(
                "minutes",
                format!("{v} is out of range: each value must be {MINUTES_MIN} to {MINUTES_MAX}"),
            ));
        }
        out.push(v);
    }
    out.sort_by(f64::total_cmp);
    out.dedup();
    Ok(out)
}

/// `origins=lon,lat;lon,lat;…` read in `crs`: 1 to [`ORIGINS_MAX`] positions, in WGS84.
pub fn parse_origins(s: &str, crs: Crs) -> Result<Vec<LonLat>, ApiError> {
    let items: Vec<&str> = s.split(';').map(str::trim).collect();
    if items.len() > ORIGINS_MAX {
        return Err(ApiError::bad_param(
            "origins",
            format!("{} origins given; give at most {ORIGINS_MAX}", items.len()),
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let xy: Vec<&str> = item.split(',').collect();
            if xy.len() != 2 {
                return Err(ApiError::bad_param(
                    "origins",
                    format!(
                        "origin {} '{item}' must be lon,lat; separate origins with ';', e.g. origins=106.533,29.47;106.52,29.46",
                        i + 1
                    ),
                ));
            }
            let lon = check_lon("origins", parse_f64("origins", xy[0])?)?;
            let lat = check_lat("origins", parse_f64("origins", xy[1])?)?;
            let (lon, lat) = crs.to_wgs84(lon, lat);
            Ok(LonLat { lon, lat })
        })
        .collect()
}

/// 422 for an origin that cannot join the network, saying what was found and what to change.
/// `what` names the point ("the point (106.52, 29.48)", "origin 3 (…)").
#[must_use]
pub fn snap_problem(e: &SnapError, what: &str, profile: Profile, coords: Crs) -> ApiError {
    let hint = if coords == Crs::Wgs84 {
        "; if the position comes from a GCJ-02 or BD-09 map (AMap, Tencent, Baidu), add coords=gcj02 or coords=bd09"
    } else {
        ""
    };
    let step_free = if profile.stairs_vertical_m_per_s().is_none() {
        " step-free"
    } else {
        ""
    };
    let detail = match *e {
        SnapError::TooFar {
            distance_m,
            max_snap_m,
        } => format!(
            "{what} is {distance_m:.0} m from the nearest{step_free} walkway, more than max_snap_m={max_snap_m:.0}; \
             move it onto or next to a street or path, or raise max_snap_m (at most {MAX_SNAP_M_MAX:.0}){hint}"
        ),
        SnapError::AcrossWater {
            nearest_m,
            max_snap_m,
        } => format!(
            "{what} reaches no{step_free} walkway without crossing water: every one within \
             max_snap_m={max_snap_m:.0} m is across the river (the nearest is {nearest_m:.0} m away), \
             so the point is probably on the water; move it onto the bank you are on{hint}"
        ),
        SnapError::NoWalkway => format!(
            "the walking network has no walkway the '{profile}' profile may use, so {what} cannot be walked from; try another profile"
        ),
        SnapError::NotFinite => format!("{what} is not a finite position"),
    };
    ApiError::new(ProblemKind::OffNetwork, detail)
}

/// A WGS84 polyline as a GeoJSON LineString in `crs`.
#[must_use]
pub fn line_json(line: &LineString<f64>, crs: Crs) -> Value {
    let g = Geometry::LineString(crs.geometry_from_wgs84(line));
    geometry_json(&g, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_bounds_and_order() {
        assert_eq!(
            parse_minutes("15, 5,10,5").ok(),
            Some(vec![5.0, 10.0, 15.0])
        );
        for bad in ["0", "61", "1,2,3,4,5,6,7", "5,,10", "x", "NaN"] {
            assert!(parse_minutes(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_minutes("1,60").ok(), Some(vec![1.0, 60.0]));
    }

    #[test]
    fn origins_syntax() {
        let o = parse_origins("106.5,29.4;106.6,29.5", Crs::Wgs84).unwrap_or_default();
        assert_eq!(o.len(), 2);
        for bad in ["106.5", "106.5,29.4,1", "106.5,29.4;", "a,b", "200,29"] {
            assert!(parse_origins(bad, Crs::Wgs84).is_err(), "{bad}");
        }
        let many = vec!["106.5,29.4"; ORIGINS_MAX + 1].join(";");
        assert!(parse_origins(&many, Crs::Wgs84).is_err());
    }
}
