//! `GET /gaps?category=&minutes=&profile=&community=&coords=`: the buildings left outside the
//! threshold and the micro-grids holding them, ranked by uncovered households, as one
//! FeatureCollection (`kind: microgrid` Polygons in rank order, then `kind: building` Points).

use actix_web::{HttpRequest, HttpResponse, web};

use crate::analysis::export;
use crate::service::Service;

use super::error::ApiError;
use super::features::geojson_response;
use super::params::RawQuery;
use super::plan::{
    blocking, plan_error, planner, take_category, take_community, take_minutes, take_profile,
};

const NAMES: [&str; 5] = ["category", "minutes", "profile", "community", "coords"];

/// `GET /gaps`.
pub async fn get(req: HttpRequest, svc: web::Data<Service>) -> Result<HttpResponse, ApiError> {
    let mut q = RawQuery::parse(req.query_string())?;
    let coords = q.take_coords()?;
    let category = take_category(&mut q)?;
    let minutes = take_minutes(&mut q)?;
    let profile = take_profile(&mut q)?;
    let community = take_community(&mut q)?;
    q.deny_rest(&NAMES)?;
    planner(&svc, "coverage gaps by walking time")?;
    let body = blocking(move || {
        let pl = planner(&svc, "coverage gaps by walking time")?;
        let r = pl
            .gaps_in(&category, minutes, profile, community.as_deref())
            .map_err(plan_error)?;
        Ok(export::gaps_geojson(
            &r,
            &pl.world.buildings,
            &svc.dataset,
            coords,
        ))
    })
    .await?;
    Ok(geojson_response(&body))
}
