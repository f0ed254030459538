//! `GET /isochrone?lon=&lat=|origins=&minutes=&profile=&max_snap_m=&coords=`: the area and
//! the people within walking minutes of a point, or of any of several points (the union
//! catchment of, say, every canteen of a community).
//!
//! One FeatureCollection, one MultiPolygon Feature per contour (ascending minutes), each with
//! `minutes`, `area_m2`, `buildings`, `households`, `residents`, `residents_60plus`. The
//! polygons follow the reached network (see [`crate::walk::isochrone`]), never a radius.

use super::snapshot::Snap;
use actix_web::{HttpRequest, HttpResponse};
use geo::Geometry;
use serde_json::{Value, json};

use crate::model::geojson::{geometry_json, round7};
use crate::model::{Crs, LonLat};
use crate::query::{self, DEFAULT_MAX_SNAP_M, IsochroneAnswer, IsochroneRequest, ORIGINS_MAX};

use super::error::ApiError;
use super::features::geojson_response;
use super::params::{MAX_SNAP_M_MAX, RawQuery};
use super::walk::query_problem;

const NAMES: [&str; 7] = [
    "lon",
    "lat",
    "origins",
    "minutes",
    "profile",
    "max_snap_m",
    "coords",
];

/// Parse a query string.
pub fn parse(query_string: &str) -> Result<(IsochroneRequest, Crs), ApiError> {
    let mut q = RawQuery::parse(query_string)?;
    let coords = q.take_coords()?;
    let origins = match q.take("origins") {
        Some(s) => {
            if let Some(both) = ["lon", "lat"].into_iter().find(|n| q.take(n).is_some()) {
                return Err(ApiError::bad_param(
                    both,
                    "give either lon and lat (one origin) or origins (several), not both",
                ));
            }
            LonLat::parse_list("origins", &s, coords, ORIGINS_MAX, "origin")?
        }
        None => vec![q.take_lonlat(coords).map_err(|e| {
            ApiError::new(
                e.kind,
                format!(
                    "{}; or give several origins as origins=lon,lat;lon,lat",
                    e.detail
                ),
            )
        })?],
    };
    let minutes = q.take_contours()?;
    let profile = q.take_profile()?.unwrap_or_default();
    let max_snap_m = q
        .take_metres("max_snap_m", MAX_SNAP_M_MAX)?
        .unwrap_or(DEFAULT_MAX_SNAP_M);
    q.deny_rest(&NAMES)?;
    Ok((
        IsochroneRequest {
            origins,
            minutes,
            profile,
            max_snap_m,
        },
        coords,
    ))
}

/// `GET /isochrone`.
pub async fn get(req: HttpRequest, svc: Snap) -> Result<HttpResponse, ApiError> {
    let (p, coords) = parse(req.query_string())?;
    let job = p.clone();
    let answer = query::heavy(svc.into_inner(), move |s, searcher| {
        s.isochrone(&job, searcher)
    })
    .await
    .map_err(|e| query_problem(e, coords))?;
    Ok(geojson_response(&render(&p, coords, &answer)))
}

fn render(p: &IsochroneRequest, coords: Crs, answer: &IsochroneAnswer) -> Value {
    let features: Vec<Value> = answer
        .contours
        .iter()
        .map(|c| {
            let g = Geometry::MultiPolygon(coords.geometry_from_wgs84(&c.polygon));
            json!({
                "type": "Feature",
                "id": format!("{}min", c.minutes),
                "geometry": geometry_json(&g, None),
                "properties": {
                    "minutes": c.minutes,
                    "profile": p.profile.as_str(),
                    "area_m2": c.area_m2.round(),
                    "buildings": c.buildings,
                    "households": c.households,
                    "residents": c.residents,
                    "residents_60plus": c.residents_60plus,
                },
            })
        })
        .collect();
    let origins_out: Vec<Value> = p
        .origins
        .iter()
        .zip(&answer.snap_m)
        .map(|(at, snap_m)| {
            let (x, y) = coords.from_wgs84(at.lon, at.lat);
            json!({
                "lon": round7(x),
                "lat": round7(y),
                "snap_m": (snap_m * 100.0).round() / 100.0,
            })
        })
        .collect();
    json!({
        "type": "FeatureCollection",
        "query": {
            "origins": origins_out,
            "minutes": p.minutes.as_slice(),
            "profile": p.profile.as_str(),
            "max_snap_m": p.max_snap_m,
            "coords": coords.as_str(),
        },
        "numberReturned": features.len(),
        "features": features,
    })
}
