//! `GET /nearest?lon=&lat=&category=&k=&max_m=&mode=&profile=&max_min=&route=&max_snap_m=&coords=`:
//! the k nearest facilities of one or more categories, sorted.
//!
//! Two modes. `walk` (the default when the data directory has walkways) ranks by walking time
//! over the network for a profile, with one bounded search answering all k; each feature
//! carries `walk_min`, `walk_m` and `distance_m`, and with `route=true` the path as a GeoJSON
//! LineString in `properties.route` (the feature's own geometry stays the facility's Point,
//! so every GeoJSON client still draws and filters the facilities as before). `straight`
//! ranks by the geodesic distance on the WGS84 ellipsoid (`distance_m`).

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use geo::Point;
use serde_json::{Map, Value, json};

use crate::index::distance_m;
use crate::model::{Crs, LayerId};
use crate::service::Service;
use crate::store::write::round7;
use crate::walk::{DEFAULT_MAX_SNAP_M, NearestQuery, Origin, Profile, SnapError, nearest};

use super::error::ApiError;
use super::features::{feature_value, geojson_response};
use super::params::{K, LonLat, RawQuery};
use super::walk::{
    MAX_MIN_MAX, line_json, no_walkways, run_small_or_blocking, snap_problem, take_flag,
    take_max_min, take_max_snap_m, take_profile, world,
};

/// Options of walk mode.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WalkOptions {
    pub profile: Profile,
    /// Walking-time cut-off in minutes, if limited (the search stops at [`MAX_MIN_MAX`]
    /// otherwise).
    pub max_min: Option<f64>,
    /// Return each route as a LineString.
    pub route: bool,
    /// Farthest the query point may be from the walkway it joins, metres.
    pub max_snap_m: f64,
}

/// How distance is measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// Geodesic distance on the WGS84 ellipsoid (`distance_m`).
    Straight,
    /// Walking time over the network (`walk_min`, `walk_m`, plus `distance_m`).
    Walk(WalkOptions),
}

/// Parameters that only make sense in walk mode.
const WALK_ONLY: [&str; 4] = ["profile", "max_min", "route", "max_snap_m"];

impl Mode {
    /// `mode=walk|straight` and walk mode's own parameters. Without `mode`, walk when
    /// `has_network`, straight otherwise.
    pub fn parse(q: &mut RawQuery, has_network: bool) -> Result<Mode, ApiError> {
        let mode = q.take("mode");
        if let Some(other) = mode
            .as_deref()
            .filter(|m| !matches!(*m, "walk" | "straight"))
        {
            return Err(ApiError::bad_param(
                "mode",
                format!(
                    "unknown mode '{other}'; use mode=walk (walking time over the network) or mode=straight (straight-line distance)"
                ),
            ));
        }
        let profile = take_profile(q)?;
        let max_min = take_max_min(q)?;
        let route = take_flag(q, "route")?;
        let max_snap_m = take_max_snap_m(q)?;
        let given = [
            profile.is_some(),
            max_min.is_some(),
            route.is_some(),
            max_snap_m.is_some(),
        ];
        let walk_param = WALK_ONLY
            .iter()
            .zip(given)
            .find_map(|(name, g)| g.then_some(*name));
        let walk = Mode::Walk(WalkOptions {
            profile: profile.unwrap_or_default(),
            max_min,
            route: route.unwrap_or(false),
            max_snap_m: max_snap_m.unwrap_or(DEFAULT_MAX_SNAP_M),
        });
        match (mode.as_deref(), has_network) {
            (Some("walk"), true) | (None, true) => Ok(walk),
            (Some("walk"), false) => Err(no_walkways("mode=walk")),
            (None, false) => match walk_param {
                Some(p) => Err(no_walkways(&format!("the '{p}' parameter (walk mode)"))),
                None => Ok(Mode::Straight),
            },
            (_, _) => match walk_param {
                Some(p) => Err(ApiError::bad_param(
                    p,
                    "applies to mode=walk only; drop it or use mode=walk",
                )),
                None => Ok(Mode::Straight),
            },
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Straight => "straight",
            Mode::Walk(_) => "walk",
        }
    }
}

/// Parsed parameters of `/nearest`.
#[derive(Debug, Clone)]
pub struct NearestParams {
    /// The query point in WGS84.
    pub at: LonLat,
    /// Category ids, deduplicated; `None` means every category.
    pub categories: Option<Vec<String>>,
    pub k: K,
    /// Farthest distance in metres, if limited (walk mode: `walk_m`).
    pub max_m: Option<f64>,
    pub mode: Mode,
    /// System of the input point and the output geometries.
    pub coords: Crs,
}

impl NearestParams {
    pub const NAMES: [&'static str; 11] = [
        "lon",
        "lat",
        "category",
        "k",
        "max_m",
        "mode",
        "profile",
        "max_min",
        "route",
        "max_snap_m",
        "coords",
    ];

    /// Parse a query string; `has_network` decides the default mode.
    pub fn parse(query_string: &str, has_network: bool) -> Result<NearestParams, ApiError> {
        let mut q = RawQuery::parse(query_string)?;
        let coords = q.take_coords()?;
        let at = q.take_lonlat(coords)?;
        let categories = q.take_categories()?;
        let k = q.take_k()?;
        let max_m = q.take_max_m()?;
        let mode = Mode::parse(&mut q, has_network)?;
        q.deny_rest(&Self::NAMES)?;
        Ok(NearestParams {
            at,
            categories,
            k,
            max_m,
            mode,
            coords,
        })
    }
}

/// One facility found, in either mode.
struct Found {
    facility: usize,
    distance_m: f64,
    /// Walk mode only: seconds, metres, route.
    walk: Option<(f64, f64, Option<geo::LineString<f64>>)>,
}

/// Metres rounded to the centimetre.
fn cm(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// `GET /nearest`.
pub async fn get(req: HttpRequest, svc: web::Data<Service>) -> Result<HttpResponse, ApiError> {
    let p = NearestParams::parse(req.query_string(), svc.walk.is_some())?;
    let Some(features) = svc.dataset.layer(LayerId::Facilities) else {
        return Err(ApiError::layer_unavailable(
            LayerId::Facilities,
            "finding the nearest facilities",
        ));
    };
    if let Some(bad) = p.categories.iter().flatten().find(|c| !svc.is_category(c)) {
        return Err(ApiError::bad_param(
            "category",
            format!(
                "unknown category '{bad}'; known: {}",
                svc.category_ids().join(", ")
            ),
        ));
    }
    let mut snap_m = None;
    let found: Vec<Found> = match p.mode {
        Mode::Straight => svc
            .indexes
            .nearest_straight(p.at.lon, p.at.lat, p.categories.as_deref(), p.k.0, p.max_m)
            .into_iter()
            .map(|h| Found {
                facility: h.facility,
                distance_m: h.distance_m,
                walk: None,
            })
            .collect(),
        Mode::Walk(w) => {
            let world = world(&svc, "mode=walk")?;
            // Categories the taxonomy knows but no facility has get no tag: nothing to find.
            let tags: Option<Vec<u32>> = p
                .categories
                .as_ref()
                .map(|cs| cs.iter().filter_map(|c| world.category_tag(c)).collect());
            let (at, k) = (p.at, p.k.0);
            let max_s = w.max_min.unwrap_or(MAX_MIN_MAX) * 60.0;
            let job_world = Arc::clone(&world);
            let nodes = world.graph.node_count();
            let (snap, hits) =
                run_small_or_blocking(nodes, move |searcher| -> Result<_, SnapError> {
                    let snap =
                        job_world
                            .graph
                            .snap_lonlat(at.lon, at.lat, w.max_snap_m, w.profile)?;
                    if tags.as_ref().is_some_and(Vec::is_empty) {
                        return Ok((snap, Vec::new()));
                    }
                    let origins = [Origin::new(snap, w.profile)];
                    let hits = nearest(
                        &job_world.graph,
                        &job_world.facility_snaps,
                        searcher,
                        &origins,
                        &NearestQuery {
                            profile: w.profile,
                            k,
                            max_s,
                            tags: tags.as_deref(),
                            with_route: w.route,
                        },
                    );
                    Ok((snap, hits))
                })
                .await?
                .map_err(|e| {
                    snap_problem(
                        &e,
                        &format!("the point ({:.6}, {:.6}) (WGS84)", p.at.lon, p.at.lat),
                        w.profile,
                        p.coords,
                    )
                })?;
            snap_m = Some(snap.offset_m);
            let origin = Point::new(p.at.lon, p.at.lat);
            hits.into_iter()
                // `max_m` bounds the walked metres of the routes found (the fastest ones).
                .filter(|h| p.max_m.is_none_or(|m| h.walk_m <= m))
                .filter_map(|h| {
                    let fac = world.facilities.get(h.target)?;
                    Some(Found {
                        facility: h.target,
                        distance_m: distance_m(origin, fac.position),
                        walk: Some((h.walk_s, h.walk_m, h.route)),
                    })
                })
                .collect()
        }
    };
    let categories = p.categories.clone().unwrap_or_else(|| svc.category_ids());
    let mut out: Vec<Value> = Vec::with_capacity(found.len());
    for (rank, h) in found.into_iter().enumerate() {
        let Some(feature) = features.get(h.facility) else {
            return Err(ApiError::internal(format!(
                "facility index {} out of range",
                h.facility
            )));
        };
        let mut extra = Map::new();
        extra.insert("distance_m".into(), json!(cm(h.distance_m)));
        if let Some((walk_s, walk_m, route)) = h.walk {
            // 6 decimals: microminute precision, so clients can compare times exactly.
            extra.insert(
                "walk_min".into(),
                json!((walk_s / 60.0 * 1e6).round() / 1e6),
            );
            extra.insert("walk_m".into(), json!(cm(walk_m)));
            if let Some(line) = route {
                extra.insert("route".into(), line_json(&line, p.coords));
            }
        }
        extra.insert("rank".into(), json!(rank + 1));
        out.push(feature_value(feature, p.coords, Some(extra)));
    }
    // Echo the point in the caller's system, rounded like every output coordinate (the
    // conversion round trip leaves ~1e-10 noise).
    let (lon_out, lat_out) = p.coords.from_wgs84(p.at.lon, p.at.lat);
    let (lon_out, lat_out) = (round7(lon_out), round7(lat_out));
    let mut query = json!({
        "lon": lon_out,
        "lat": lat_out,
        "coords": p.coords.as_str(),
        "categories": categories,
        "k": p.k.0,
        "max_m": p.max_m,
        "mode": p.mode.as_str(),
    });
    if let (Mode::Walk(w), Some(m)) = (p.mode, query.as_object_mut()) {
        m.insert("profile".into(), json!(w.profile.as_str()));
        m.insert("max_min".into(), json!(w.max_min));
        m.insert("route".into(), json!(w.route));
        m.insert("max_snap_m".into(), json!(w.max_snap_m));
        m.insert("snap_m".into(), json!(snap_m.map(cm)));
    }
    Ok(geojson_response(&json!({
        "type": "FeatureCollection",
        "query": query,
        "numberReturned": out.len(),
        "features": out,
    })))
}
