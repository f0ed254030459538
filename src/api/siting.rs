//! `GET /siting?category=&count=&minutes=&profile=&candidates=&community=&coords=`: where new
//! facilities would newly cover the most weight (households; residents 60+ for elder services;
//! children 0–6 for kindergartens), chosen greedily, as ranked Points.

use super::snapshot::Snap;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::json;

use crate::analysis::{PlanError, export};
use crate::model::{LonLat, SiteCount};
use crate::query::{self, QueryError, SitingRequest};

use super::error::{ApiError, ProblemKind};
use super::features::geojson_response;
use super::params::RawQuery;
use super::walk::query_problem;

const NAMES: [&str; 7] = [
    "category",
    "count",
    "minutes",
    "profile",
    "candidates",
    "community",
    "coords",
];
/// Most candidate points one request may give (each costs a search from it).
pub const CANDIDATES_MAX: usize = 1000;

/// `GET /siting`.
pub async fn get(req: HttpRequest, svc: Snap) -> Result<HttpResponse, ApiError> {
    let mut q = RawQuery::parse(req.query_string())?;
    let coords = q.take_coords()?;
    let category = q.take_category()?;
    let count = q
        .take_with("count", |_, s| SiteCount::parse(s))?
        .unwrap_or_default();
    let minutes = q.take_minutes()?;
    let profile = q.take_profile()?.unwrap_or_default();
    let candidates = q.take_with("candidates", |name, s| {
        // A trailing ';' is forgiven: lists are often built by appending "lon,lat;".
        let items: Vec<&str> = s.split(';').filter(|p| !p.trim().is_empty()).collect();
        if items.is_empty() {
            return Err(crate::model::ParamError::new(
                name,
                format!("0 points: give 1 to {CANDIDATES_MAX} as lon,lat;lon,lat"),
            ));
        }
        LonLat::parse_list(name, &items.join(";"), coords, CANDIDATES_MAX, "candidate")
    })?;
    let community = q.take_community()?;
    q.deny_rest(&NAMES)?;
    let p = SitingRequest {
        category,
        count,
        minutes,
        profile,
        candidates,
        community,
    };
    let body = query::heavy(svc.into_inner(), move |s, _| {
        let sites = s.siting(&p)?;
        let mut v = export::siting_geojson(&sites, coords);
        if let Some(m) = v.as_object_mut() {
            m.insert("category".into(), json!(p.category.as_str()));
            m.insert("count".into(), json!(p.count.get()));
            m.insert("minutes".into(), json!(p.minutes.get()));
            m.insert("profile".into(), json!(p.profile.as_str()));
            m.insert("community".into(), json!(p.community));
            m.insert("numberReturned".into(), json!(sites.len()));
        }
        Ok(v)
    })
    .await
    .map_err(|e| match e {
        QueryError::Plan(PlanError::Unsnappable {
            index,
            lon,
            lat,
            reason,
        }) => {
            let (lon, lat) = coords.from_wgs84(lon, lat);
            ApiError::new(
                ProblemKind::Unprocessable,
                format!(
                    "candidates: point {index} ({lon:.6}, {lat:.6}) cannot join the walking network: {reason}; move it onto or next to a walkway"
                ),
            )
        }
        other => query_problem(other, coords),
    })?;
    Ok(geojson_response(&body))
}
