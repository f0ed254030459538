//! `GET /gaps?category=&minutes=&profile=&community=&coords=`: the buildings left outside the
//! threshold and the micro-grids holding them, ranked by uncovered households, as one
//! FeatureCollection (`kind: microgrid` Polygons in rank order, then `kind: building` Points).

use std::sync::Arc;

use super::snapshot::Snap;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};
use futures_util::StreamExt as _;

use crate::analysis::export;
use crate::query::{self, GapsRequest};
use crate::service::Service;

use super::error::ApiError;
use super::features::GEO_JSON;
use super::params::RawQuery;

/// Bytes per streamed chunk: a few dozen micro-grid polygons, so the answer is never whole
/// in memory (as one `Value` tree it took ~30 MB per request) and the socket drains it.
const CHUNK_BYTES: usize = 64 * 1024;

const NAMES: [&str; 5] = ["category", "minutes", "profile", "community", "coords"];

/// The buildings the gap report indexes.
fn planner(s: &Service) -> Result<&[crate::model::Building], crate::query::QueryError> {
    s.planner("coverage gaps by walking time")
        .map(|pl| pl.world.buildings.as_slice())
}

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
    // The walking work on the heavy pool; the rendering, a few features per chunk, as the
    // client reads.
    let svc = svc.into_inner();
    let r = query::heavy(Arc::clone(&svc), move |s, _| s.gaps(&p)).await?;
    let head = export::GapsGeojson::new(&r, planner(&svc)?, &svc.dataset, coords).head();
    let r = Arc::new(r);
    // State: next feature slot, whether a feature was written, whether the tail is out.
    let body = futures_util::stream::unfold((0_usize, false, false), move |(next, any, done)| {
        let (svc, r) = (Arc::clone(&svc), Arc::clone(&r));
        async move {
            if done {
                return None;
            }
            let buildings = match planner(&svc) {
                Ok(b) => b,
                // The status is sent; an error aborts the body (a truncated answer, never a
                // wrong one). The planner does not go away while the service lives.
                Err(e) => return Some((Err(ApiError::from(e)), (next, any, true))),
            };
            let g = export::GapsGeojson::new(&r, buildings, &svc.dataset, coords);
            let (mut next, mut any) = (next, any);
            let mut out = Vec::with_capacity(CHUNK_BYTES + CHUNK_BYTES / 4);
            g.write_features(&mut next, &mut any, &mut out, CHUNK_BYTES);
            let done = next >= g.len();
            if done {
                out.extend_from_slice(export::GapsGeojson::TAIL);
            }
            Some((Ok::<_, ApiError>(Bytes::from(out)), (next, any, done)))
        }
    });
    let head = futures_util::stream::once(async move { Ok::<_, ApiError>(Bytes::from(head)) });
    Ok(HttpResponse::Ok()
        .content_type(GEO_JSON)
        .streaming(head.chain(body)))
}
