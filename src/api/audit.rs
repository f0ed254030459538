//! `GET /audit?level=&standard=gb50180|mofcom&profile=&target_share=&community=&coords=`:
//! every category the standard requires at its tier, met or not per unit, the compliance
//! rate (达标率) and what is missing, with the whole area's audit in `summary`.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use crate::analysis::Level;
use crate::analysis::audit::Standard;
use crate::analysis::export;
use crate::service::Service;

use super::error::ApiError;
use super::features::geojson_response;
use super::params::RawQuery;
use super::plan::{
    blocking, check_level_scope, plan_error, planner, take_community, take_level, take_profile,
};

const NAMES: [&str; 6] = [
    "level",
    "standard",
    "profile",
    "target_share",
    "community",
    "coords",
];

/// Default share of households a category must reach in a unit to count as met.
pub const TARGET_SHARE_DEFAULT: f64 = 0.85;

/// `GET /audit`.
pub async fn get(req: HttpRequest, svc: web::Data<Service>) -> Result<HttpResponse, ApiError> {
    let mut q = RawQuery::parse(req.query_string())?;
    let coords = q.take_coords()?;
    let level = take_level(&mut q)?;
    let standard_name = q.take("standard").unwrap_or_else(|| "gb50180".into());
    let standard: Standard = standard_name
        .parse()
        .map_err(|e: String| ApiError::bad_param("standard", e))?;
    let profile = take_profile(&mut q)?;
    let target_share = match q.take("target_share") {
        None => TARGET_SHARE_DEFAULT,
        Some(s) => {
            let v: f64 = s.trim().parse().map_err(|_| {
                ApiError::bad_param("target_share", format!("'{s}' is not a number"))
            })?;
            if !(v > 0.0 && v <= 1.0) {
                return Err(ApiError::bad_param(
                    "target_share",
                    format!("{v} is out of range: give a share in (0, 1], e.g. 0.85"),
                ));
            }
            v
        }
    };
    let community = take_community(&mut q)?;
    q.deny_rest(&NAMES)?;
    check_level_scope(level, community.as_deref())?;
    planner(&svc, "the living-circle audit")?;
    let body = blocking(move || {
        let pl = planner(&svc, "the living-circle audit")?;
        let c = community.as_deref();
        let units = pl
            .audit_in(standard, level, profile, target_share, c)
            .map_err(plan_error)?;
        let whole = pl
            .audit_in(standard, Level::Subdistrict, profile, target_share, c)
            .map_err(plan_error)?;
        let Some(summary) = whole.first() else {
            return Err(ApiError::new(
                super::error::ProblemKind::LayerUnavailable,
                "the data directory has no buildings, so nothing can be audited",
            ));
        };
        let mut v =
            export::audit_geojson(&units, summary, level, &standard_name, &svc.dataset, coords);
        if let Some(m) = v.as_object_mut() {
            m.insert("profile".into(), json!(profile.as_str()));
            m.insert("target_share".into(), json!(target_share));
            m.insert("community".into(), json!(community));
            m.insert("numberReturned".into(), json!(units.len()));
        }
        Ok(v)
    })
    .await?;
    Ok(geojson_response(&body))
}
