//! `GET /nearest?lon=&lat=&category=&k=&max_m=&mode=&coords=`: the k nearest facilities of
//! one or more categories, sorted, each with `distance_m`.
//!
//! Adding the walk engine: add `Mode::Walk { profile, max_min }` to [`Mode::parse`] (reading
//! its own parameters from the [`RawQuery`] and listing them in [`NearestParams::NAMES`]),
//! and a match arm in [`get`] calling the engine inside `web::block`.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use crate::model::{Crs, LayerId};
use crate::service::Service;
use crate::store::write::round7;

use super::error::ApiError;
use super::features::{feature_value, geojson_response};
use super::params::{K, LonLat, RawQuery};

/// How distance is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Great-circle distance (`distance_m`).
    Straight,
}

impl Mode {
    /// `mode=straight` (default). Reads the mode's own parameters from `q` as modes grow.
    pub fn parse(q: &mut RawQuery) -> Result<Mode, ApiError> {
        match q.take("mode").as_deref() {
            None | Some("straight") => Ok(Mode::Straight),
            Some("walk") => Err(ApiError::bad_param(
                "mode",
                "mode=walk is not available yet on this server; use mode=straight (the default)",
            )),
            Some(other) => Err(ApiError::bad_param(
                "mode",
                format!("unknown mode '{other}'; use mode=straight"),
            )),
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Straight => "straight",
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
    /// Farthest distance in metres, if limited.
    pub max_m: Option<f64>,
    pub mode: Mode,
    /// System of the input point and the output geometries.
    pub coords: Crs,
}

impl NearestParams {
    pub const NAMES: [&'static str; 7] = ["lon", "lat", "category", "k", "max_m", "mode", "coords"];

    pub fn parse(query_string: &str) -> Result<NearestParams, ApiError> {
        let mut q = RawQuery::parse(query_string)?;
        let coords = q.take_coords()?;
        let at = q.take_lonlat(coords)?;
        let categories = q.take_categories()?;
        let k = q.take_k()?;
        let max_m = q.take_max_m()?;
        let mode = Mode::parse(&mut q)?;
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

/// `GET /nearest`.
pub async fn get(req: HttpRequest, svc: web::Data<Service>) -> Result<HttpResponse, ApiError> {
    let p = NearestParams::parse(req.query_string())?;
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
    let hits = match p.mode {
        Mode::Straight => svc.indexes.nearest_straight(
            p.at.lon,
            p.at.lat,
            p.categories.as_deref(),
            p.k.0,
            p.max_m,
        ),
    };
    let categories = p.categories.clone().unwrap_or_else(|| svc.category_ids());
    let out: Vec<Value> = hits
        .iter()
        .enumerate()
        .map(|(rank, h)| {
            let mut extra = Map::new();
            extra.insert(
                "distance_m".into(),
                json!((h.distance_m * 100.0).round() / 100.0),
            );
            extra.insert("rank".into(), json!(rank + 1));
            feature_value(&features[h.facility], p.coords, Some(extra))
        })
        .collect();
    // Echo the point in the caller's system, rounded like every output coordinate (the
    // conversion round trip leaves ~1e-10 noise).
    let (lon_out, lat_out) = p.coords.from_wgs84(p.at.lon, p.at.lat);
    let (lon_out, lat_out) = (round7(lon_out), round7(lat_out));
    Ok(geojson_response(&json!({
        "type": "FeatureCollection",
        "query": {
            "lon": lon_out,
            "lat": lat_out,
            "coords": p.coords.as_str(),
            "categories": categories,
            "k": p.k.0,
            "max_m": p.max_m,
            "mode": p.mode.as_str(),
        },
        "numberReturned": out.len(),
        "features": out,
    })))
}
