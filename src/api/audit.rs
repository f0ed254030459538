//! `GET /audit?level=&standard=gb50180|mofcom&profile=&target_share=&community=&coords=`:
//! every category the standard requires at its tier, met or not per unit, the compliance
//! rate (达标率) and what is missing, with the whole area's audit in `summary`.

use super::snapshot::Snap;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::json;

use crate::analysis::audit::Standard;
use crate::analysis::export;
use crate::model::ParamError;
use crate::model::params::parse_f64;
use crate::query::{self, AuditRequest, TARGET_SHARE_DEFAULT};

use super::error::ApiError;
use super::features::geojson_response;
use super::params::RawQuery;

const NAMES: [&str; 6] = [
    "level",
    "standard",
    "profile",
    "target_share",
    "community",
    "coords",
];

fn parse_share(name: &str, s: &str) -> Result<f64, ParamError> {
    let v = parse_f64(name, s)?;
    if !(v > 0.0 && v <= 1.0) {
        return Err(ParamError::new(
            name,
            format!("{v} is out of range: give a share in (0, 1], e.g. 0.85"),
        ));
    }
    Ok(v)
}

/// `GET /audit`.
pub async fn get(req: HttpRequest, svc: Snap) -> Result<HttpResponse, ApiError> {
    let mut q = RawQuery::parse(req.query_string())?;
    let coords = q.take_coords()?;
    let scope = q.take_scope()?;
    let standard = q
        .take_with("standard", |n, s| {
            s.parse::<Standard>().map_err(|e| ParamError::new(n, e))
        })?
        .unwrap_or(Standard::Gb50180);
    let profile = q.take_profile()?.unwrap_or_default();
    let target_share = q
        .take_with("target_share", parse_share)?
        .unwrap_or(TARGET_SHARE_DEFAULT);
    q.deny_rest(&NAMES)?;
    let p = AuditRequest {
        standard,
        scope,
        profile,
        target_share,
    };
    let body = query::heavy(svc.into_inner(), move |s, _| {
        let a = s.audit(&p)?;
        let level = p.scope.level;
        let mut v = export::audit_geojson(
            &a.units,
            &a.summary,
            level,
            p.standard.as_str(),
            &s.dataset,
            coords,
        );
        if let Some(m) = v.as_object_mut() {
            m.insert("profile".into(), json!(p.profile.as_str()));
            m.insert("target_share".into(), json!(p.target_share));
            m.insert("community".into(), json!(p.scope.community));
            m.insert("numberReturned".into(), json!(a.units.len()));
        }
        Ok(v)
    })
    .await?;
    Ok(geojson_response(&body))
}
