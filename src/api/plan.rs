//! Parameters and errors shared by the planner endpoints (`/coverage`, `/gaps`, `/audit`,
//! `/scenarios`, `/siting`): the planner itself lives in [`crate::analysis::planner`] and knows
//! nothing about HTTP; this file turns query strings into its arguments and its errors into
//! problem documents.

use crate::analysis::{Level, PlanError, Planner};
use crate::model::LayerId;
use crate::service::Service;
use crate::walk::Profile;

use super::error::{ApiError, ProblemKind};
use super::params::RawQuery;

/// Default walking-time threshold: the 15-minute living circle.
pub const MINUTES_DEFAULT: f64 = 15.0;
/// Largest threshold: an hour's walk is already far beyond any living-circle tier.
pub const MINUTES_MAX: f64 = 60.0;

/// The planner, or the `layer-unavailable` problem when the directory has no walkways.
pub fn planner<'a>(svc: &'a Service, what_for: &str) -> Result<&'a Planner, ApiError> {
    svc.planner
        .as_ref()
        .ok_or_else(|| ApiError::layer_unavailable(LayerId::Walkways, what_for))
}

/// A planner error as the problem a caller can act on.
pub fn plan_error(e: PlanError) -> ApiError {
    match &e {
        PlanError::UnknownCategory(_) => ApiError::bad_param("category", e.to_string()),
        PlanError::UnknownCommunity(_) => ApiError::bad_param("community", e.to_string()),
        PlanError::NoBuildings => ApiError::new(
            ProblemKind::LayerUnavailable,
            format!("{e}; see GET /collections for the layers it has"),
        ),
        PlanError::NoTaxonomy => ApiError::new(
            ProblemKind::LayerUnavailable,
            format!("{e}; see GET /categories"),
        ),
        PlanError::UnknownFacility(_) => ApiError::not_found(e.to_string()),
        PlanError::WrongCategory { .. } => ApiError::new(ProblemKind::BadBody, e.to_string()),
        PlanError::Unsnappable { .. } => ApiError::new(ProblemKind::Unprocessable, e.to_string()),
    }
}

/// Required `category` (one id).
pub fn take_category(q: &mut RawQuery) -> Result<String, ApiError> {
    let c = q.take("category").ok_or_else(|| {
        ApiError::bad_param(
            "category",
            "required: one category id, e.g. category=elder_canteen (GET /categories lists them)",
        )
    })?;
    let c = c.trim();
    if c.is_empty() || c.contains(',') {
        return Err(ApiError::bad_param(
            "category",
            format!("'{c}': give exactly one category id, e.g. category=elder_canteen"),
        ));
    }
    Ok(c.to_string())
}

/// Check a walking-time threshold in minutes: finite, in (0, [`MINUTES_MAX`]].
pub fn check_minutes(name: &str, v: f64) -> Result<f64, ApiError> {
    if !v.is_finite() || v <= 0.0 || v > MINUTES_MAX {
        return Err(ApiError::bad_param(
            name,
            format!("{v} is out of range: give minutes in (0, {MINUTES_MAX}]"),
        ));
    }
    Ok(v)
}

/// Optional `minutes` (default [`MINUTES_DEFAULT`]).
pub fn take_minutes(q: &mut RawQuery) -> Result<f64, ApiError> {
    match q.take("minutes") {
        None => Ok(MINUTES_DEFAULT),
        Some(s) => {
            let v: f64 = s.trim().parse().map_err(|_| {
                ApiError::bad_param("minutes", format!("'{s}' is not a number of minutes"))
            })?;
            check_minutes("minutes", v)
        }
    }
}

/// Parse a profile name.
pub fn parse_profile(name: &str, s: &str) -> Result<Profile, ApiError> {
    s.parse::<Profile>().map_err(|_| {
        ApiError::bad_param(
            name,
            format!("unknown profile '{s}': use standard, elder or wheelchair"),
        )
    })
}

/// Optional `profile` (default standard).
pub fn take_profile(q: &mut RawQuery) -> Result<Profile, ApiError> {
    match q.take("profile") {
        None => Ok(Profile::Standard),
        Some(s) => parse_profile("profile", &s),
    }
}

/// Parse a level name.
pub fn parse_level(name: &str, s: &str) -> Result<Level, ApiError> {
    s.parse::<Level>()
        .map_err(|e: String| ApiError::bad_param(name, e))
}

/// Optional `level` (default grid).
pub fn take_level(q: &mut RawQuery) -> Result<Level, ApiError> {
    match q.take("level") {
        None => Ok(Level::Grid),
        Some(s) => parse_level("level", &s),
    }
}

/// Optional `community` (a community id); whether it exists is the planner's business.
pub fn take_community(q: &mut RawQuery) -> Result<Option<String>, ApiError> {
    match q.take("community") {
        None => Ok(None),
        Some(s) if s.trim().is_empty() => Err(ApiError::bad_param(
            "community",
            "empty: give a community id such as 500113006006, or leave community out",
        )),
        Some(s) => Ok(Some(s.trim().to_string())),
    }
}

/// `community=` with `level=subdistrict` would label one community's figures with the
/// subdistrict's outline; ask for `level=community` instead.
pub fn check_level_scope(level: Level, community: Option<&str>) -> Result<(), ApiError> {
    match (level, community) {
        (Level::Subdistrict, Some(c)) => Err(ApiError::bad_param(
            "level",
            format!(
                "level=subdistrict cannot be limited to community {c}; use level=community (or leave community out)"
            ),
        )),
        _ => Ok(()),
    }
}

/// Run CPU-heavy planner work off the async workers.
pub async fn blocking<T, F>(f: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    actix_web::web::block(f).await.map_err(ApiError::internal)?
}
