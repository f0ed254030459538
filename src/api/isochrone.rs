//! `GET /isochrone?lon=&lat=|origins=&minutes=&profile=&max_snap_m=&coords=`: the area and
//! the people within walking minutes of a point, or of any of several points (the union
//! catchment of, say, every canteen of a community).
//!
//! One FeatureCollection, one MultiPolygon Feature per contour (ascending minutes), each with
//! `minutes`, `area_m2`, `buildings`, `households`, `residents`, `residents_60plus`. The
//! polygons follow the reached network (see [`crate::walk::isochrone`]), never a radius.

use actix_web::{HttpRequest, HttpResponse, web};
use geo::Geometry;
use serde_json::{Value, json};

use crate::model::Crs;
use crate::service::Service;
use crate::store::write::{geometry_json, round7};
use crate::walk::{DEFAULT_MAX_SNAP_M, Origin, Profile, SnapError, isochrones};

use super::error::ApiError;
use super::features::geojson_response;
use super::params::{LonLat, RawQuery};
use super::walk::{
    parse_minutes, parse_origins, run_blocking, snap_problem, take_max_snap_m, take_profile, world,
};

/// Contours when `minutes` is absent: the three rings of the 15-minute living circle.
pub const MINUTES_DEFAULT: [f64; 3] = [5.0, 10.0, 15.0];

/// Parsed parameters of `/isochrone`.
#[derive(Debug, Clone)]
pub struct IsochroneParams {
    /// One origin (`lon`/`lat`) or several (`origins`), WGS84.
    pub origins: Vec<LonLat>,
    /// Ascending, distinct, each 1–60.
    pub minutes: Vec<f64>,
    pub profile: Profile,
    pub max_snap_m: f64,
    pub coords: Crs,
}

impl IsochroneParams {
    pub const NAMES: [&'static str; 7] = [
        "lon",
        "lat",
        "origins",
        "minutes",
        "profile",
        "max_snap_m",
        "coords",
    ];

    pub fn parse(query_string: &str) -> Result<IsochroneParams, ApiError> {
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
                parse_origins(&s, coords)?
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
        let minutes = match q.take("minutes") {
            Some(s) => parse_minutes(&s)?,
            None => MINUTES_DEFAULT.to_vec(),
        };
        let profile = take_profile(&mut q)?.unwrap_or_default();
        let max_snap_m = take_max_snap_m(&mut q)?.unwrap_or(DEFAULT_MAX_SNAP_M);
        q.deny_rest(&Self::NAMES)?;
        Ok(IsochroneParams {
            origins,
            minutes,
            profile,
            max_snap_m,
            coords,
        })
    }
}

/// `GET /isochrone`.
pub async fn get(req: HttpRequest, svc: web::Data<Service>) -> Result<HttpResponse, ApiError> {
    let p = IsochroneParams::parse(req.query_string())?;
    let world = world(&svc, "/isochrone")?;
    let (origins_in, minutes, profile, max_snap_m) = (
        p.origins.clone(),
        p.minutes.clone(),
        p.profile,
        p.max_snap_m,
    );
    let (snaps, contours) = run_blocking(move |searcher| -> Result<_, (usize, SnapError)> {
        let mut origins = Vec::with_capacity(origins_in.len());
        for (i, at) in origins_in.iter().enumerate() {
            let snap = world
                .graph
                .snap_lonlat(at.lon, at.lat, max_snap_m, profile)
                .map_err(|e| (i, e))?;
            origins.push(Origin::new(snap, profile));
        }
        let contours = isochrones(
            &world.graph,
            searcher,
            &origins,
            profile,
            &world.building_snaps,
            &world.population,
            &minutes,
        );
        Ok((origins, contours))
    })
    .await?
    .map_err(|(i, e)| {
        let what = match p.origins.get(i) {
            Some(at) if p.origins.len() == 1 => {
                format!("the point ({:.6}, {:.6}) (WGS84)", at.lon, at.lat)
            }
            Some(at) => format!("origin {} ({:.6}, {:.6}) (WGS84)", i + 1, at.lon, at.lat),
            None => format!("origin {}", i + 1),
        };
        snap_problem(&e, &what, p.profile, p.coords)
    })?;

    let features: Vec<Value> = contours
        .iter()
        .map(|c| {
            let g = Geometry::MultiPolygon(p.coords.geometry_from_wgs84(&c.polygon));
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
        .zip(&snaps)
        .map(|(at, o)| {
            let (x, y) = p.coords.from_wgs84(at.lon, at.lat);
            json!({
                "lon": round7(x),
                "lat": round7(y),
                "snap_m": (o.snap.offset_m * 100.0).round() / 100.0,
            })
        })
        .collect();
    Ok(geojson_response(&json!({
        "type": "FeatureCollection",
        "query": {
            "origins": origins_out,
            "minutes": p.minutes,
            "profile": p.profile.as_str(),
            "max_snap_m": p.max_snap_m,
            "coords": p.coords.as_str(),
        },
        "numberReturned": features.len(),
        "features": features,
    })))
}
