//! `GET /nearest?lon=&lat=&category=&k=&max_m=&mode=&profile=&max_min=&route=&max_snap_m=&coords=`:
//! the k nearest facilities of one or more categories, sorted.
//!
//! Two modes. `walk` (the default when the data directory has walkways) ranks by walking time
//! over the network for a profile; each feature carries `walk_min`, `walk_m` and `distance_m`,
//! and with `route=true` the path as a GeoJSON LineString in `properties.route` (the feature's
//! own geometry stays the facility's Point, so every GeoJSON client still draws and filters
//! the facilities as before). `straight` ranks by the geodesic distance on the WGS84 ellipsoid
//! (`distance_m`).

use super::snapshot::Snap;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{Map, Value, json};

use crate::model::geojson::round7;
use crate::model::{Crs, LayerId};
use crate::query::{
    DEFAULT_MAX_SNAP_M, MAX_MIN_MAX, NearestAnswer, NearestMode, NearestRequest, WalkOptions,
    nearest_async,
};
use crate::service::Service;

use super::error::ApiError;
use super::features::{feature_value, geojson_response};
use super::params::{MAX_M_MAX, MAX_SNAP_M_MAX, RawQuery};
use super::walk::{no_walkways, query_problem};

/// Parameters that only make sense in walk mode.
const WALK_ONLY: [&str; 4] = ["profile", "max_min", "route", "max_snap_m"];

const NAMES: [&str; 11] = [
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

/// `mode=walk|straight` and walk mode's own parameters. Without `mode`, walk when
/// `has_network`, straight otherwise.
fn parse_mode(q: &mut RawQuery, has_network: bool) -> Result<NearestMode, ApiError> {
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
    let profile = q.take_profile()?;
    let max_min = q.take_walk_minutes("max_min", MAX_MIN_MAX)?;
    let route = q.take_flag("route")?;
    let max_snap_m = q.take_metres("max_snap_m", MAX_SNAP_M_MAX)?;
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
    let walk = NearestMode::Walk(WalkOptions {
        profile: profile.unwrap_or_default(),
        max_min,
        route: route.unwrap_or(false),
        max_snap_m: max_snap_m.unwrap_or(DEFAULT_MAX_SNAP_M),
    });
    match (mode.as_deref(), has_network) {
        (Some("walk") | None, true) => Ok(walk),
        (Some("walk"), false) => Err(no_walkways("mode=walk")),
        (None, false) => match walk_param {
            Some(p) => Err(no_walkways(&format!("the '{p}' parameter (walk mode)"))),
            None => Ok(NearestMode::Straight),
        },
        (_, _) => match walk_param {
            Some(p) => Err(ApiError::bad_param(
                p,
                "applies to mode=walk only; drop it or use mode=walk",
            )),
            None => Ok(NearestMode::Straight),
        },
    }
}

/// Parse a query string; `has_network` decides the default mode.
pub fn parse(query_string: &str, has_network: bool) -> Result<(NearestRequest, Crs), ApiError> {
    let mut q = RawQuery::parse(query_string)?;
    let coords = q.take_coords()?;
    let at = q.take_lonlat(coords)?;
    let categories = q.take_categories()?;
    let k = q.take_k()?;
    let max_m = q.take_metres("max_m", MAX_M_MAX)?;
    let mode = parse_mode(&mut q, has_network)?;
    q.deny_rest(&NAMES)?;
    Ok((
        NearestRequest {
            at,
            categories,
            k,
            max_m,
            mode,
        },
        coords,
    ))
}

/// Metres rounded to the centimetre.
fn cm(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// `GET /nearest`.
pub async fn get(req: HttpRequest, svc: Snap) -> Result<HttpResponse, ApiError> {
    let (p, coords) = parse(req.query_string(), svc.walk.is_some())?;
    let answer = nearest_async(svc.clone().into_inner(), p.clone())
        .await
        .map_err(|e| query_problem(e, coords))?;
    render(&svc, &p, coords, &answer)
}

fn render(
    svc: &Service,
    p: &NearestRequest,
    coords: Crs,
    answer: &NearestAnswer,
) -> Result<HttpResponse, ApiError> {
    let features = svc.dataset.layer(LayerId::Facilities).unwrap_or_default();
    let mut out: Vec<Value> = Vec::with_capacity(answer.hits.len());
    for (rank, h) in answer.hits.iter().enumerate() {
        let Some(feature) = features.get(h.facility) else {
            return Err(ApiError::internal(format!(
                "facility index {} out of range",
                h.facility
            )));
        };
        let mut extra = Map::new();
        extra.insert("distance_m".into(), json!(cm(h.distance_m)));
        if let Some(w) = &h.walk {
            // 6 decimals: microminute precision, so clients can compare times exactly.
            extra.insert(
                "walk_min".into(),
                json!((w.walk_s / 60.0 * 1e6).round() / 1e6),
            );
            extra.insert("walk_m".into(), json!(cm(w.walk_m)));
            if let Some(line) = &w.route {
                extra.insert("route".into(), super::walk::line_json(line, coords));
            }
        }
        extra.insert("rank".into(), json!(rank + 1));
        out.push(feature_value(feature, coords, Some(extra)));
    }
    // Echo the point in the caller's system, rounded like every output coordinate (the
    // conversion round trip leaves ~1e-10 noise).
    let (lon_out, lat_out) = coords.from_wgs84(p.at.lon, p.at.lat);
    let mut query = json!({
        "lon": round7(lon_out),
        "lat": round7(lat_out),
        "coords": coords.as_str(),
        "categories": answer.categories,
        "k": p.k.get(),
        "max_m": p.max_m,
        "mode": p.mode.as_str(),
    });
    if let (NearestMode::Walk(w), Some(m)) = (p.mode, query.as_object_mut()) {
        m.insert("profile".into(), json!(w.profile.as_str()));
        m.insert("max_min".into(), json!(w.max_min));
        m.insert("route".into(), json!(w.route));
        m.insert("max_snap_m".into(), json!(w.max_snap_m));
        m.insert("snap_m".into(), json!(answer.snap_m.map(cm)));
    }
    Ok(geojson_response(&json!({
        "type": "FeatureCollection",
        "query": query,
        "numberReturned": out.len(),
        "features": out,
    })))
}
