//! `GET /isochrone?lon=&lat=|origins=&minutes=&profile=&max_snap_m=&coords=&skipGeometry=`:
//! the area and the people within walking minutes of a point, or of any of several points
//! (the union catchment of, say, every canteen of a community).
//!
//! One FeatureCollection, one MultiPolygon Feature per contour (ascending minutes), each with
//! `minutes`, `area_m2`, `buildings`, `households`, `residents`, `residents_60plus`. The
//! polygons follow the reached network (see [`crate::walk::isochrone`]), never a radius.
//! `skipGeometry=true` leaves them out of the answer (they are still computed: `area_m2` is
//! theirs), for a dashboard that shows the figures only.

use super::snapshot::Snap;
use actix_web::{HttpRequest, HttpResponse};
use geo::Polygon;

use crate::model::geojson::write_round7;
use crate::model::{Crs, LonLat};
use crate::query::{self, DEFAULT_MAX_SNAP_M, IsochroneAnswer, IsochroneRequest, ORIGINS_MAX};

use super::error::ApiError;
use super::features::GEO_JSON;
use super::params::{MAX_SNAP_M_MAX, RawQuery};
use super::walk::query_problem;

const NAMES: [&str; 8] = [
    "lon",
    "lat",
    "origins",
    "minutes",
    "profile",
    "max_snap_m",
    "coords",
    "skipGeometry",
];

/// How the answer is written (not part of the query itself).
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub coords: Crs,
    /// `skipGeometry=true`: every contour's geometry is `null`.
    pub skip_geometry: bool,
}

/// Parse a query string.
pub fn parse(query_string: &str) -> Result<(IsochroneRequest, Output), ApiError> {
    let mut q = RawQuery::parse(query_string)?;
    let coords = q.take_coords()?;
    let skip_geometry = q.take_flag("skipGeometry")?.unwrap_or(false);
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
        Output {
            coords,
            skip_geometry,
        },
    ))
}

/// `GET /isochrone`.
pub async fn get(req: HttpRequest, svc: Snap) -> Result<HttpResponse, ApiError> {
    let (p, output) = parse(req.query_string())?;
    let job = p.clone();
    let run = move |s: &crate::service::Service, searcher: &mut crate::walk::Searcher| {
        s.isochrone(&job, searcher)
    };
    let answer = if p.is_short() {
        query::heavy_short(svc.into_inner(), run).await
    } else {
        query::heavy(svc.into_inner(), run).await
    }
    .map_err(|e| query_problem(e, output.coords))?;
    Ok(HttpResponse::Ok()
        .content_type(GEO_JSON)
        .body(write_collection(&p, output, &answer)))
}

/// Writing into a `Vec<u8>` cannot fail; serde_json's writer API still returns a `Result`.
fn put<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) {
    if serde_json::to_writer(&mut *out, v).is_err() {
        out.extend_from_slice(b"null");
    }
}

/// `[[[x,y],…],…]`: a polygon's rings, exterior first, 7 decimals — as
/// [`crate::model::geojson::geometry_json`] prints them.
fn write_polygon(p: &Polygon<f64>, coords: Crs, out: &mut Vec<u8>) {
    out.push(b'[');
    for (r, ring) in std::iter::once(p.exterior())
        .chain(p.interiors())
        .enumerate()
    {
        if r > 0 {
            out.push(b',');
        }
        out.push(b'[');
        for (i, c) in ring.0.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let (x, y) = coords.from_wgs84(c.x, c.y);
            out.push(b'[');
            write_round7(out, x);
            out.push(b',');
            write_round7(out, y);
            out.push(b']');
        }
        out.push(b']');
    }
    out.push(b']');
}

/// The answer as GeoJSON bytes, written straight into the response buffer: byte for byte what
/// a `serde_json::Value` tree of the same members prints (`tests/api_walk.rs` compares), but
/// without building that tree — and deep-copying every polygon into it — per request: the
/// tree and its printing were ~15 % of an isochrone request's CPU.
#[must_use]
pub fn write_collection(p: &IsochroneRequest, output: Output, answer: &IsochroneAnswer) -> Vec<u8> {
    let Output {
        coords,
        skip_geometry,
    } = output;
    let points: usize = if skip_geometry {
        0
    } else {
        answer
            .contours
            .iter()
            .map(|c| {
                c.polygon
                    .0
                    .iter()
                    .map(|p| {
                        p.exterior().0.len()
                            + p.interiors().iter().map(|r| r.0.len()).sum::<usize>()
                    })
                    .sum::<usize>()
            })
            .sum()
    };
    let mut out =
        Vec::with_capacity(512 + 64 * p.origins.len() + 256 * answer.contours.len() + 26 * points);
    out.extend_from_slice(br#"{"type":"FeatureCollection","query":{"origins":["#);
    for (i, (at, snap_m)) in p.origins.iter().zip(&answer.snap_m).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let (x, y) = coords.from_wgs84(at.lon, at.lat);
        out.extend_from_slice(br#"{"lon":"#);
        write_round7(&mut out, x);
        out.extend_from_slice(br#","lat":"#);
        write_round7(&mut out, y);
        out.extend_from_slice(br#","snap_m":"#);
        put(&mut out, &((snap_m * 100.0).round() / 100.0));
        out.push(b'}');
    }
    out.extend_from_slice(br#"],"minutes":"#);
    put(&mut out, p.minutes.as_slice());
    out.extend_from_slice(br#","profile":"#);
    put(&mut out, p.profile.as_str());
    out.extend_from_slice(br#","max_snap_m":"#);
    put(&mut out, &p.max_snap_m);
    out.extend_from_slice(br#","coords":"#);
    put(&mut out, coords.as_str());
    if skip_geometry {
        out.extend_from_slice(br#","skipGeometry":true"#);
    }
    out.extend_from_slice(br#"},"numberReturned":"#);
    put(&mut out, &answer.contours.len());
    out.extend_from_slice(br#","features":["#);
    for (i, c) in answer.contours.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(br#"{"type":"Feature","id":"#);
        put(&mut out, &format!("{}min", c.minutes));
        if skip_geometry {
            out.extend_from_slice(br#","geometry":null"#);
        } else {
            out.extend_from_slice(br#","geometry":{"type":"MultiPolygon","coordinates":["#);
            for (j, poly) in c.polygon.0.iter().enumerate() {
                if j > 0 {
                    out.push(b',');
                }
                write_polygon(poly, coords, &mut out);
            }
            out.extend_from_slice(b"]}");
        }
        out.extend_from_slice(br#","properties":{"minutes":"#);
        put(&mut out, &c.minutes);
        out.extend_from_slice(br#","profile":"#);
        put(&mut out, p.profile.as_str());
        out.extend_from_slice(br#","area_m2":"#);
        put(&mut out, &c.area_m2.round());
        out.extend_from_slice(br#","buildings":"#);
        put(&mut out, &c.buildings);
        out.extend_from_slice(br#","households":"#);
        put(&mut out, &c.households);
        out.extend_from_slice(br#","residents":"#);
        put(&mut out, &c.residents);
        out.extend_from_slice(br#","residents_60plus":"#);
        put(&mut out, &c.residents_60plus);
        out.extend_from_slice(b"}}");
    }
    out.extend_from_slice(b"]}");
    out
}
