//! `GET /siting?category=&count=&minutes=&profile=&candidates=&community=&coords=`: where new
//! facilities would newly cover the most weight (households; residents 60+ for elder services;
//! children 0–6 for kindergartens), chosen greedily, as ranked Points.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use crate::analysis::export;
use crate::service::Service;

use super::error::ApiError;
use super::features::geojson_response;
use super::params::{LonLat, RawQuery};
use super::plan::{
    blocking, plan_error, planner, take_category, take_community, take_minutes, take_profile,
};

const NAMES: [&str; 7] = [
    "category",
    "count",
    "minutes",
    "profile",
    "candidates",
    "community",
    "coords",
];
/// Most sites one request may ask for: the greedy choice is only a suggestion, and ten is
/// more than a subdistrict plans at once.
pub const COUNT_MAX: usize = 10;
/// Default number of sites.
pub const COUNT_DEFAULT: usize = 3;
/// Most candidate points one request may give (each costs a search from it).
pub const CANDIDATES_MAX: usize = 1000;

/// `GET /siting`.
pub async fn get(req: HttpRequest, svc: web::Data<Service>) -> Result<HttpResponse, ApiError> {
    let mut q = RawQuery::parse(req.query_string())?;
    let coords = q.take_coords()?;
    let category = take_category(&mut q)?;
    let count = match q.take("count") {
        None => COUNT_DEFAULT,
        Some(s) => {
            let n: usize = s.trim().parse().map_err(|_| {
                ApiError::bad_param("count", format!("'{s}' is not a whole number"))
            })?;
            if n == 0 || n > COUNT_MAX {
                return Err(ApiError::bad_param(
                    "count",
                    format!("{n} is out of range: give 1 to {COUNT_MAX}"),
                ));
            }
            n
        }
    };
    let minutes = take_minutes(&mut q)?;
    let profile = take_profile(&mut q)?;
    let candidates = match q.take("candidates") {
        None => None,
        Some(s) => {
            let pts: Vec<(f64, f64)> = s
                .split(';')
                .filter(|p| !p.trim().is_empty())
                .enumerate()
                .map(|(i, p)| {
                    let (lon, lat) = p.split_once(',').ok_or_else(|| {
                        ApiError::bad_param(
                            "candidates",
                            format!("candidate {i} '{p}' is not lon,lat; separate points with ';'"),
                        )
                    })?;
                    let ll = LonLat::parse(lon, lat, coords).map_err(|e| {
                        ApiError::bad_param("candidates", format!("candidate {i}: {}", e.detail))
                    })?;
                    Ok((ll.lon, ll.lat))
                })
                .collect::<Result<_, ApiError>>()?;
            if pts.is_empty() || pts.len() > CANDIDATES_MAX {
                return Err(ApiError::bad_param(
                    "candidates",
                    format!(
                        "{} points: give 1 to {CANDIDATES_MAX} as lon,lat;lon,lat",
                        pts.len()
                    ),
                ));
            }
            Some(pts)
        }
    };
    let community = take_community(&mut q)?;
    q.deny_rest(&NAMES)?;
    planner(&svc, "siting by walking time")?;
    let body = blocking(move || {
        let pl = planner(&svc, "siting by walking time")?;
        let sites = pl
            .siting_in(
                &category,
                count,
                minutes,
                profile,
                candidates.as_deref(),
                community.as_deref(),
            )
            .map_err(|e| match e {
                crate::analysis::PlanError::Unsnappable {
                    index,
                    lon,
                    lat,
                    reason,
                } => {
                    let (lon, lat) = coords.from_wgs84(lon, lat);
                    ApiError::new(
                        super::error::ProblemKind::Unprocessable,
                        format!(
                            "candidates: point {index} ({lon:.6}, {lat:.6}) cannot join the walking network: {reason}; move it onto or next to a walkway"
                        ),
                    )
                }
                other => plan_error(other),
            })?;
        let mut v = export::siting_geojson(&sites, coords);
        if let Some(m) = v.as_object_mut() {
            m.insert("category".into(), json!(category));
            m.insert("count".into(), json!(count));
            m.insert("minutes".into(), json!(minutes));
            m.insert("profile".into(), json!(profile.as_str()));
            m.insert("community".into(), json!(community));
            m.insert("numberReturned".into(), json!(sites.len()));
        }
        Ok(v)
    })
    .await?;
    Ok(geojson_response(&body))
}
