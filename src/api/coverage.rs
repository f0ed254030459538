//! `GET /coverage?category=&minutes=&profile=&level=&community=&coords=`: who is within
//! `minutes` of the nearest facility of a category, per unit, by network walking time.

use super::snapshot::Snap;
use actix_web::{HttpRequest, HttpResponse};

use crate::analysis::export;
use crate::model::Crs;
use crate::query::{self, CoverageRequest};

use super::error::ApiError;
use super::features::GEO_JSON;
use super::params::RawQuery;

const NAMES: [&str; 7] = [
    "category",
    "minutes",
    "profile",
    "level",
    "community",
    "coords",
    "skipGeometry",
];

/// How the answer is written (not part of the query itself).
pub struct Output {
    pub coords: Crs,
    /// `skipGeometry=true`: every unit's geometry is `null`.
    pub skip_geometry: bool,
}

/// Parse a query string.
pub fn parse(query_string: &str) -> Result<(CoverageRequest, Output), ApiError> {
    let mut q = RawQuery::parse(query_string)?;
    let coords = q.take_coords()?;
    let skip_geometry = q.take_flag("skipGeometry")?.unwrap_or(false);
    let category = q.take_category()?;
    let minutes = q.take_minutes()?;
    let profile = q.take_profile()?.unwrap_or_default();
    let scope = q.take_scope()?;
    q.deny_rest(&NAMES)?;
    Ok((
        CoverageRequest {
            category,
            minutes,
            profile,
            scope,
        },
        Output {
            coords,
            skip_geometry,
        },
    ))
}

/// `GET /coverage`: a FeatureCollection of units (polygons) with their coverage; `summary`
/// holds the whole area asked about (the subdistrict, or the community).
pub async fn get(req: HttpRequest, svc: Snap) -> Result<HttpResponse, ApiError> {
    let (p, out) = parse(req.query_string())?;
    let body = query::heavy(svc.into_inner(), move |s, _| {
        let r = s.coverage(&p)?;
        // Written straight to bytes by serde (no `serde_json::Value` tree in between).
        let mut answer = export::CoverageCollection::new(&r, &s.dataset, out.coords)
            .with_paging(p.scope.community.as_deref());
        if out.skip_geometry {
            answer = answer.without_geometry();
        }
        Ok(serde_json::to_vec(&answer).unwrap_or_default())
    })
    .await?;
    Ok(HttpResponse::Ok().content_type(GEO_JSON).body(body))
}
