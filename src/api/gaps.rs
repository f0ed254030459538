//! `GET /gaps?category=&minutes=&profile=&community=&coords=`: the buildings left outside the
//! threshold and the micro-grids holding them, ranked by uncovered households, as one
//! FeatureCollection (`kind: microgrid` Polygons in rank order, then `kind: building` Points).

use super::snapshot::Snap;
use actix_web::{HttpRequest, HttpResponse};

use crate::analysis::export;
use crate::query::{self, GapsRequest};

use super::error::ApiError;
use super::features::geojson_response;
use super::params::RawQuery;

const NAMES: [&str; 5] = ["category", "minutes", "profile", "community", "coords"];

/// `GET /gaps`.
pub async fn get(req: HttpRequest, svc: Snap) -> Result<HttpResponse, ApiError> {
    let mut q = RawQuery::parse(req.query_string())?;
    let coords = q.take_coords()?;
    let p = GapsRequest {
        category: q.take_category()?,
        minutes: q.take_minutes()?,
        profile: q.take_profile()?.unwrap_or_default(),
        community: q.take_community()?,
    };
    q.deny_rest(&NAMES)?;
    let body = query::heavy(svc.into_inner(), move |s, _| {
        let r = s.gaps(&p)?;
        let buildings = &s.planner("coverage gaps by walking time")?.world.buildings;
        Ok(export::gaps_geojson(&r, buildings, &s.dataset, coords))
    })
    .await?;
    Ok(geojson_response(&body))
}
