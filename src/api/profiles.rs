//! `GET /profiles`: the walking profiles and the model behind every walking time, with its
//! sources, so a planner can see why an elder's 15 minutes reach less than an adult's.

use super::snapshot::Snap;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{Value, json};

use crate::model::Profile;
use crate::query::DEFAULT_MAX_SNAP_M;

use super::error::ApiError;
use super::features::json_response;
use super::params::MAX_SNAP_M_MAX;
use super::params::RawQuery;

/// `GET /profiles`. Answers on every directory; `walk_network` says whether this one can
/// compute walking times.
pub async fn get(req: HttpRequest, svc: Snap) -> Result<HttpResponse, ApiError> {
    let mut q = RawQuery::parse(req.query_string())?;
    q.take_format()?;
    q.deny_rest(&["f"])?;
    let profiles: Vec<Value> = Profile::ALL
        .iter()
        .map(|p| serde_json::to_value(p.info()).map_err(ApiError::internal))
        .collect::<Result<_, _>>()?;
    Ok(json_response(&json!({
        "default": Profile::default().as_str(),
        "walk_network": svc.walk.is_some(),
        "model": {
            "flat_speeds": "standard 4.0 km/h (GB 50180-2018: 15-minute circle ≈ 1,000 m), elder 3.2 km/h (800 m), wheelchair 3.3 km/h (0.91 m/s, MUTCD 2009 §4E.06)",
            "slopes": "off stairs, speed = flat speed × v(s)/v(0), Tobler's hiking function v(s) = 6·exp(−3.5·|s + 0.05|) km/h, s = rise/run signed in the direction of travel (Tobler 1993); ×1.19 on a 5 % descent, ×0.84 on a 5 % climb, ×0.50 on a 15 % climb",
            "stairs": "time = horizontal run at the flat speed + |rise| ÷ vertical speed: standard 0.45 m/s up, 0.60 m/s down; elder 0.28 m/s up, 0.38 m/s down (Fruin 1971); wheelchair never uses stairs",
            "snapping": format!("a point joins the nearest walkway within max_snap_m (default {DEFAULT_MAX_SNAP_M} m, at most {MAX_SNAP_M_MAX} m) whose straight connector does not cross water; the connector is walked at the flat speed and counted"),
        },
        "profiles": profiles,
    })))
}
