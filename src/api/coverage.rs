//! `GET /coverage?category=&minutes=&profile=&level=&community=&coords=`: who is within
//! `minutes` of the nearest facility of a category, per unit, by network walking time.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use crate::analysis::{Level, export};
use crate::model::Crs;
use crate::service::Service;
use crate::walk::Profile;

use super::error::ApiError;
use super::features::geojson_response;
use super::params::RawQuery;
use super::plan::{
    blocking, check_level_scope, plan_error, planner, take_category, take_community, take_level,
    take_minutes, take_profile,
};

/// Parsed parameters of `/coverage`.
#[derive(Debug, Clone)]
pub struct CoverageParams {
    pub category: String,
    pub minutes: f64,
    pub profile: Profile,
    pub level: Level,
    pub community: Option<String>,
    pub coords: Crs,
}

impl CoverageParams {
    pub const NAMES: [&'static str; 6] = [
        "category",
        "minutes",
        "profile",
        "level",
        "community",
        "coords",
    ];

    pub fn parse(query_string: &str) -> Result<CoverageParams, ApiError> {
        let mut q = RawQuery::parse(query_string)?;
        let p = CoverageParams {
            coords: q.take_coords()?,
            category: take_category(&mut q)?,
            minutes: take_minutes(&mut q)?,
            profile: take_profile(&mut q)?,
            level: take_level(&mut q)?,
            community: take_community(&mut q)?,
        };
        q.deny_rest(&Self::NAMES)?;
        check_level_scope(p.level, p.community.as_deref())?;
        Ok(p)
    }
}

/// `GET /coverage`: a FeatureCollection of units (polygons) with their coverage; `summary`
/// holds the whole area asked about (the subdistrict, or the community).
pub async fn get(req: HttpRequest, svc: web::Data<Service>) -> Result<HttpResponse, ApiError> {
    let p = CoverageParams::parse(req.query_string())?;
    planner(&svc, "coverage by walking time")?;
    let body = blocking(move || {
        let pl = planner(&svc, "coverage by walking time")?;
        let r = pl
            .coverage_in(
                &p.category,
                p.minutes,
                p.profile,
                p.level,
                p.community.as_deref(),
            )
            .map_err(plan_error)?;
        let mut v = export::coverage_geojson(&r, &svc.dataset, p.coords);
        if let Some(m) = v.as_object_mut() {
            m.insert("community".into(), json!(p.community));
            m.insert("numberReturned".into(), json!(r.units.len()));
        }
        Ok(v)
    })
    .await?;
    Ok(geojson_response(&body))
}
