//! What the endpoints share when a query fails: every [`QueryError`] as the problem a caller
//! can act on, with the route hints only the HTTP API knows (which parameter, which route
//! lists the ids, `coords=` for Chinese basemaps); and route output in the caller's system.

use geo::{Geometry, LineString};
use serde_json::Value;

use crate::analysis::PlanError;
use crate::model::geojson::geometry_json;
use crate::model::{Crs, LayerId, Profile};
use crate::query::{QueryError, SnapError};

use super::error::{ApiError, ProblemKind};
use super::params::MAX_SNAP_M_MAX;

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> ApiError {
        query_problem(e, Crs::Wgs84)
    }
}

/// A query error as a problem; `coords` is the system the caller's positions were in.
#[must_use]
pub fn query_problem(e: QueryError, coords: Crs) -> ApiError {
    match e {
        QueryError::Param(p) => p.into(),
        QueryError::LayerUnavailable {
            layer: LayerId::Walkways,
            what,
        } => no_walkways(&what),
        QueryError::LayerUnavailable { layer, what } => ApiError::layer_unavailable(layer, &what),
        QueryError::OutsideArea { at } => ApiError::new(
            ProblemKind::OutsideArea,
            format!(
                "the point ({:.7}, {:.7}) (WGS84) lies outside the subdistrict; GET /collections/boundary shows its extent{}",
                at.lon,
                at.lat,
                if coords == Crs::Wgs84 {
                    "; if your map uses GCJ-02 or BD-09, add coords=gcj02 or coords=bd09"
                } else {
                    ""
                }
            ),
        ),
        QueryError::OffNetwork {
            what,
            error,
            profile,
        } => snap_problem(&error, &what, profile, coords),
        QueryError::Plan(p) => plan_error(p),
        QueryError::NotFound(detail) => ApiError::not_found(detail),
        QueryError::Internal(cause) => ApiError::internal(cause),
        QueryError::Busy { retry_after_s } => ApiError::new(
            ProblemKind::Busy,
            format!(
                "every core is busy and the queue of heavy requests (isochrones, coverage, batches) is full; retry in {retry_after_s} s (Retry-After)"
            ),
        ),
    }
}

/// A planner error as the problem a caller can act on.
#[must_use]
pub fn plan_error(e: PlanError) -> ApiError {
    match &e {
        PlanError::UnknownCategory(_) => {
            ApiError::bad_param("category", format!("{e}; GET /categories lists the ids"))
        }
        PlanError::UnknownCommunity(_) => ApiError::bad_param(
            "community",
            format!("{e} (GET /collections/communities/items lists them)"),
        ),
        PlanError::NoBuildings => ApiError::new(
            ProblemKind::LayerUnavailable,
            format!("{e}; see GET /collections for the layers it has"),
        ),
        PlanError::NoTaxonomy => ApiError::new(
            ProblemKind::LayerUnavailable,
            format!("{e}; see GET /categories"),
        ),
        PlanError::UnknownFacility(_) => {
            ApiError::not_found(format!("{e}; GET /collections/facilities/items lists them"))
        }
        PlanError::WrongCategory { .. } => ApiError::new(ProblemKind::BadBody, e.to_string()),
        PlanError::Unsnappable { .. } => ApiError::new(ProblemKind::Unprocessable, e.to_string()),
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
