//! `POST /scenarios`: a what-if. The body adds, removes and moves facilities; the answer is
//! coverage before and after, per unit and in total, for every category the changes touch.
//! Nothing stored changes. Body errors name the offending entry (`add[2]`, `move[0]`).

use super::snapshot::Snap;
use actix_web::{HttpResponse, web};
use serde_json::{Map, Value, json};

use crate::analysis::coverage::UnitCoverage;
use crate::analysis::export::coverage_properties;
use crate::analysis::planner::{CoverageReport, ScenarioResult};
use crate::analysis::{Change, PlanError};
use crate::model::{Crs, Level, LonLat, Minutes, ParamError, Profile, Scope};
use crate::query::{self, QueryError, ScenarioRequest};
use crate::service::Service;

use super::error::{ApiError, ProblemKind};
use super::features::json_response;
use super::walk::query_problem;

/// Largest body accepted: 500 changes with full GeoJSON properties fit easily.
pub const BODY_MAX_BYTES: usize = 1 << 20;
/// Most changes (add + remove + move) in one scenario.
pub const CHANGES_MAX: usize = 500;

const KEYS: [&str; 8] = [
    "minutes",
    "profile",
    "level",
    "community",
    "add",
    "remove",
    "move",
    "coords",
];

fn bad(detail: impl Into<String>) -> ApiError {
    ApiError::new(ProblemKind::BadBody, detail)
}

/// A body member's value refused by the domain type: a bad-body problem naming the member.
fn bad_value(e: ParamError) -> ApiError {
    bad(format!("{}: {}", e.name, e.detail))
}

/// Where a change came from in the body, to name it in errors: the entry (`add[3]`) and, for
/// additions and moves, the WGS84 position it puts a facility at.
#[derive(Debug, Clone)]
struct Origin {
    entry: String,
    at: Option<LonLat>,
}

/// A parsed scenario body.
#[derive(Debug, Clone)]
pub struct ScenarioBody {
    pub request: ScenarioRequest,
    pub coords: Crs,
    origins: Vec<Origin>,
}

fn number(v: &Value, what: &str) -> Result<f64, ApiError> {
    v.as_f64()
        .filter(|x| x.is_finite())
        .ok_or_else(|| bad(format!("{what}: expected a number, got {v}")))
}

fn string<'a>(v: &'a Value, what: &str) -> Result<&'a str, ApiError> {
    v.as_str()
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| bad(format!("{what}: expected a non-empty string, got {v}")))
}

fn lonlat(lon: f64, lat: f64, coords: Crs, what: &str) -> Result<LonLat, ApiError> {
    LonLat::from_numbers(what, lon, lat, coords).map_err(bad_value)
}

impl ScenarioBody {
    /// Parse and check the body's shape (not whether ids and categories exist).
    pub fn parse(bytes: &[u8]) -> Result<ScenarioBody, ApiError> {
        let v: Value = serde_json::from_slice(bytes).map_err(|e| {
            bad(format!(
                "the body is not JSON ({e}); send {{\"add\": {{FeatureCollection}}, \"remove\": [ids], \"move\": [{{\"id\", \"lon\", \"lat\"}}]}}"
            ))
        })?;
        let Some(o) = v.as_object() else {
            return Err(bad("the body must be a JSON object"));
        };
        if let Some(k) = o.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(bad(format!(
                "unknown member '{k}'; a scenario takes {}",
                KEYS.join(", ")
            )));
        }
        let coords = match o.get("coords") {
            None | Some(Value::Null) => Crs::Wgs84,
            Some(c) => string(c, "coords")?
                .parse()
                .map_err(|e: String| bad(format!("coords: {e}")))?,
        };
        let minutes = match o.get("minutes") {
            None | Some(Value::Null) => Minutes::default(),
            Some(m) => Minutes::new("minutes", number(m, "minutes")?).map_err(bad_value)?,
        };
        let profile = match o.get("profile") {
            None | Some(Value::Null) => Profile::Standard,
            Some(s) => Profile::parse("profile", string(s, "profile")?).map_err(bad_value)?,
        };
        let level = match o.get("level") {
            None | Some(Value::Null) => Level::Grid,
            Some(s) => Level::parse("level", string(s, "level")?).map_err(bad_value)?,
        };
        let community = match o.get("community") {
            None | Some(Value::Null) => None,
            Some(s) => Some(string(s, "community")?.to_string()),
        };
        let mut changes = Vec::new();
        let mut origins = Vec::new();
        if let Some(add) = o.get("add").filter(|a| !a.is_null()) {
            let features = add
                .get("features")
                .and_then(Value::as_array)
                .filter(|_| add.get("type").and_then(Value::as_str) == Some("FeatureCollection"))
                .ok_or_else(|| {
                    bad("add: expected a GeoJSON FeatureCollection of Points with properties.category")
                })?;
            for (i, f) in features.iter().enumerate() {
                let what = format!("add[{i}]");
                let geom = &f["geometry"];
                if geom["type"].as_str() != Some("Point") {
                    return Err(bad(format!("{what}: geometry must be a Point")));
                }
                let c = geom["coordinates"]
                    .as_array()
                    .filter(|c| c.len() >= 2)
                    .ok_or_else(|| bad(format!("{what}: coordinates must be [lon, lat]")))?;
                let ll = lonlat(number(&c[0], &what)?, number(&c[1], &what)?, coords, &what)?;
                let category = string(
                    &f["properties"]["category"],
                    &format!("{what}.properties.category"),
                )?;
                changes.push(Change::Add {
                    category: category.to_string(),
                    lon: ll.lon,
                    lat: ll.lat,
                });
                origins.push(Origin {
                    entry: what,
                    at: Some(ll),
                });
            }
        }
        if let Some(rm) = o.get("remove").filter(|a| !a.is_null()) {
            let ids = rm
                .as_array()
                .ok_or_else(|| bad("remove: expected an array of facility ids"))?;
            for (i, id) in ids.iter().enumerate() {
                let what = format!("remove[{i}]");
                changes.push(Change::Remove {
                    id: string(id, &what)?.to_string(),
                });
                origins.push(Origin {
                    entry: what,
                    at: None,
                });
            }
        }
        if let Some(mv) = o.get("move").filter(|a| !a.is_null()) {
            let moves = mv
                .as_array()
                .ok_or_else(|| bad("move: expected an array of {\"id\", \"lon\", \"lat\"}"))?;
            for (i, m) in moves.iter().enumerate() {
                let what = format!("move[{i}]");
                let id = string(&m["id"], &format!("{what}.id"))?;
                let ll = lonlat(
                    number(&m["lon"], &format!("{what}.lon"))?,
                    number(&m["lat"], &format!("{what}.lat"))?,
                    coords,
                    &what,
                )?;
                changes.push(Change::Move {
                    id: id.to_string(),
                    lon: ll.lon,
                    lat: ll.lat,
                });
                origins.push(Origin {
                    entry: what,
                    at: Some(ll),
                });
            }
        }
        let scope = Scope::new(level, community).map_err(bad_value)?;
        if changes.is_empty() {
            return Err(bad("no changes: give at least one of add, remove or move"));
        }
        if changes.len() > CHANGES_MAX {
            return Err(bad(format!(
                "{} changes: give at most {CHANGES_MAX} per scenario",
                changes.len()
            )));
        }
        Ok(ScenarioBody {
            request: ScenarioRequest {
                changes,
                minutes,
                profile,
                scope,
            },
            coords,
            origins,
        })
    }

    /// The body entry a change came from (`add[3]`), by change index.
    fn entry(&self, i: usize) -> &str {
        self.origins.get(i).map_or("?", |o| o.entry.as_str())
    }
}

/// A planner error of a scenario as a problem naming the body entry.
fn scenario_error(b: &ScenarioBody, e: QueryError) -> ApiError {
    let e = match e {
        QueryError::Plan(e) => e,
        other => return query_problem(other, b.coords),
    };
    match &e {
        PlanError::UnknownFacility(id) => {
            let i = b.request.changes.iter().position(
                |c| matches!(c, Change::Remove { id: x } | Change::Move { id: x, .. } if x == id),
            );
            ApiError::not_found(format!(
                "{}: no facility with id '{id}'; GET /collections/facilities/items lists them",
                i.map_or("?", |i| b.entry(i))
            ))
        }
        PlanError::UnknownCategory(c) => {
            let i = b
                .request
                .changes
                .iter()
                .position(|ch| matches!(ch, Change::Add { category, .. } if category == c));
            bad(format!(
                "{}: unknown category '{c}'; GET /categories lists the ids",
                i.map_or("?", |i| b.entry(i))
            ))
        }
        PlanError::Unsnappable {
            lon, lat, reason, ..
        } => {
            // The planner numbers points per category; find the body entry by position.
            let i = b.origins.iter().position(|o| {
                o.at.is_some_and(|at| (at.lon - lon).abs() < 1e-12 && (at.lat - lat).abs() < 1e-12)
            });
            let (x, y) = b.coords.from_wgs84(*lon, *lat);
            ApiError::new(
                ProblemKind::Unprocessable,
                format!(
                    "{}: point ({x:.6}, {y:.6}) cannot join the walking network: {reason}; move it onto or next to a walkway",
                    i.map_or("?", |i| b.entry(i))
                ),
            )
        }
        PlanError::UnknownCommunity(_) => bad(format!("community: {e}")),
        _ => super::walk::plan_error(e),
    }
}

fn delta(before: &UnitCoverage, after: &UnitCoverage) -> Value {
    let d = |a: u64, b: u64| a as i64 - b as i64;
    json!({
        "households_covered": d(after.households_covered, before.households_covered),
        "residents_covered": d(after.residents_covered, before.residents_covered),
        "residents_60plus_covered": d(after.residents_60plus_covered, before.residents_60plus_covered),
        "children_0_6_covered": d(after.children_0_6_covered, before.children_0_6_covered),
        // No share without households, so no change of it either.
        "share": after
            .share
            .zip(before.share)
            .map(|(a, b)| ((a - b) * 10_000.0).round() / 10_000.0),
    })
}

fn units_json(before: &CoverageReport, after: &CoverageReport, svc: &Service) -> Vec<Value> {
    let names: std::collections::HashMap<&str, &str> = svc
        .dataset
        .layer(crate::analysis::export::layer_of(before.level))
        .unwrap_or_default()
        .iter()
        .filter_map(|f| f.str_prop("name").map(|n| (f.id.as_str(), n)))
        .collect();
    // Both reports list the same units (the buildings do not change), sorted by id.
    before
        .units
        .iter()
        .zip(&after.units)
        .map(|(b, a)| {
            let mut m = Map::new();
            m.insert("unit".into(), json!(b.unit));
            if let Some(n) = names.get(b.unit.as_str()) {
                m.insert("name".into(), json!(n));
            }
            m.insert("before".into(), Value::Object(coverage_properties(b)));
            m.insert("after".into(), Value::Object(coverage_properties(a)));
            m.insert("delta".into(), delta(b, a));
            Value::Object(m)
        })
        .collect()
}

fn result_json(r: &ScenarioResult, svc: &Service) -> Value {
    json!({
        "category": r.category,
        "total": {
            "before": coverage_properties(&r.before.total),
            "after": coverage_properties(&r.after.total),
            "delta": delta(&r.before.total, &r.after.total),
        },
        "units": units_json(&r.before, &r.after, svc),
    })
}

/// `POST /scenarios`.
pub async fn post(payload: web::Payload, svc: Snap) -> Result<HttpResponse, ApiError> {
    let bytes = match payload.to_bytes_limited(BODY_MAX_BYTES).await {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => return Err(bad(format!("could not read the body: {e}"))),
        Err(_) => {
            return Err(ApiError::new(
                ProblemKind::PayloadTooLarge,
                format!(
                    "the body is over {BODY_MAX_BYTES} bytes; split the scenario (at most {CHANGES_MAX} changes)"
                ),
            ));
        }
    };
    let body = ScenarioBody::parse(&bytes)?;
    let out = query::heavy(svc.into_inner(), move |s, _| {
        // The planner's refusals name the body entry, so they are rendered here, with the body.
        Ok(s.scenario(&body.request)
            .map(|results| scenario_json(&body, &results, s))
            .map_err(|e| scenario_error(&body, e)))
    })
    .await??;
    Ok(json_response(&out))
}

fn scenario_json(body: &ScenarioBody, results: &[ScenarioResult], svc: &Service) -> Value {
    let r = &body.request;
    let count = |f: fn(&Change) -> bool| r.changes.iter().filter(|c| f(c)).count();
    json!({
        "minutes": r.minutes.get(),
        "profile": r.profile.as_str(),
        "level": r.scope.level.as_str(),
        "community": r.scope.community,
        "coords": body.coords.as_str(),
        "changes": {
            "add": count(|c| matches!(c, Change::Add { .. })),
            "remove": count(|c| matches!(c, Change::Remove { .. })),
            "move": count(|c| matches!(c, Change::Move { .. })),
        },
        "categories": results.iter().map(|x| result_json(x, svc)).collect::<Vec<_>>(),
    })
}
