//! OGC API – Features Part 4 writes (`POST` items, `PUT`/`PATCH`/`DELETE` an item), the
//! history of a feature, the change feed and `/admin/reload`: authenticate, limit, parse into
//! an [`edit::WriteRequest`], hand it to the one writer, render.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use crate::edit::{
    self, Change, EditError, Editor, Principal, Role, Tokens, WriteOp, WriteRequest,
};

use super::features::rfc3339;
use super::params::RawQuery;
use super::snapshot::Snap;
use super::{ApiError, ProblemKind};

/// Default largest write body: a walkway or a grid polygon is a few kilobytes.
pub const BODY_MAX_BYTES_DEFAULT: usize = 1 << 20;
/// Most changes `/changes` returns at once.
pub const CHANGES_LIMIT_MAX: usize = 1000;

/// Everything writes need, shared by the workers.
#[derive(Debug)]
pub struct Editing {
    pub editor: Editor,
    pub tokens: Tokens,
    pub limiter: RateLimiter,
    pub body_max_bytes: usize,
}

/// Per-token token bucket: `per_s` writes a second on average, bursts of `burst`.
#[derive(Debug)]
pub struct RateLimiter {
    per_s: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    #[must_use]
    pub fn new(per_s: f64, burst: f64) -> RateLimiter {
        RateLimiter {
            per_s: per_s.max(0.001),
            burst: burst.max(1.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Take one write from `name`'s bucket, or say how long until one is there.
    pub fn take(&self, name: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let mut b = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let (level, last) = b.entry(name.to_string()).or_insert((self.burst, now));
        *level = (*level + now.duration_since(*last).as_secs_f64() * self.per_s).min(self.burst);
        *last = now;
        if *level >= 1.0 {
            *level -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *level) / self.per_s))
        }
    }
}

fn editing(state: Option<&web::Data<Editing>>) -> Result<&Editing, ApiError> {
    state.map(web::Data::get_ref).ok_or_else(|| {
        ApiError::new(
            ProblemKind::MethodNotAllowed,
            "this server was started without editing; `servicemap serve --tokens FILE` accepts writes",
        )
    })
}

fn unauthorized(detail: &str, bad_token: bool) -> ApiError {
    let challenge = if bad_token {
        r#"Bearer realm="servicemap", error="invalid_token""#
    } else {
        r#"Bearer realm="servicemap""#
    };
    ApiError::new(ProblemKind::Unauthorized, detail).with_header("WWW-Authenticate", challenge)
}

/// The principal of the request's bearer token. The token itself goes nowhere else.
fn authenticate(req: &HttpRequest, ed: &Editing) -> Result<Principal, ApiError> {
    let Some(value) = req.headers().get("authorization") else {
        return Err(unauthorized(
            "writes need 'Authorization: Bearer TOKEN'; ask the data office for a token",
            false,
        ));
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        return Err(unauthorized(
            "the Authorization header must be 'Bearer TOKEN'",
            true,
        ));
    };
    ed.tokens.verify(token).ok_or_else(|| {
        unauthorized(
            "this bearer token is not valid (revoked, mistyped or for another server)",
            true,
        )
    })
}

fn role_editor(p: &Principal) -> Result<(), ApiError> {
    match p.role {
        Role::Editor => Ok(()),
        Role::Grid(_) => Err(ApiError::new(
            ProblemKind::Forbidden,
            format!(
                "token '{}' is a grid token; this needs an editor token",
                p.name
            ),
        )),
    }
}

fn rate(ed: &Editing, p: &Principal) -> Result<(), ApiError> {
    ed.limiter.take(&p.name).map_err(|wait| {
        let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
        ApiError::new(
            ProblemKind::TooManyRequests,
            format!(
                "token '{}' is over its write rate; retry in {secs} s",
                p.name
            ),
        )
        .with_header("Retry-After", secs.to_string())
    })
}

async fn body_json(payload: web::Payload, max: usize) -> Result<Value, ApiError> {
    let bytes = super::params::body_limited(payload, max, "one feature per request").await?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::new(ProblemKind::BadBody, format!("the body is not JSON: {e}")))
}

fn if_match(req: &HttpRequest) -> Option<Vec<String>> {
    let v = req.headers().get("if-match")?.to_str().unwrap_or("");
    Some(
        v.split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect(),
    )
}

/// An [`EditError`] as the problem a client can act on.
#[must_use]
pub fn edit_problem(e: EditError) -> ApiError {
    match e {
        EditError::NotFound(m) => ApiError::not_found(m),
        EditError::ReadOnly(_) => ApiError::new(ProblemKind::MethodNotAllowed, e.to_string()),
        EditError::BadBody(m) => ApiError::new(ProblemKind::BadBody, m),
        EditError::PreconditionFailed { ref current, .. } => {
            let cur = current.clone();
            ApiError::new(ProblemKind::PreconditionFailed, e.to_string()).with_header("ETag", cur)
        }
        EditError::Conflict(m) => ApiError::new(ProblemKind::Conflict, m),
        EditError::Forbidden(m) => ApiError::new(ProblemKind::Forbidden, m),
        EditError::Invalid(ref violations) => {
            let list: Vec<Value> = violations
                .iter()
                .map(|v| {
                    json!({"rule": v.rule, "layer": v.layer, "feature": v.feature_id, "message": v.message})
                })
                .collect();
            let rules: std::collections::BTreeSet<&str> =
                violations.iter().map(|v| v.rule).collect();
            let detail = format!(
                "refused, nothing changed: {} (rules: {}); see `violations`",
                e,
                rules.into_iter().collect::<Vec<_>>().join(", ")
            );
            ApiError::new(ProblemKind::RuleViolation, detail).with_member("violations", json!(list))
        }
        EditError::Io(_) | EditError::Stopped => ApiError::internal(e),
    }
}

/// A change as the history and the feed show it.
#[must_use]
pub fn change_json(c: &Change) -> Value {
    json!({
        "seq": c.seq,
        "at": rfc3339(c.at_unix_ms / 1000),
        "atUnixMs": c.at_unix_ms,
        "who": c.who,
        "op": c.op.as_str(),
        "collection": c.collection,
        "featureId": c.feature_id,
        "before": c.before,
        "after": c.after,
    })
}

async fn submit(
    req: &HttpRequest,
    ed: &Editing,
    who: Principal,
    collection: String,
    op: WriteOp,
) -> Result<edit::Committed, ApiError> {
    let w = WriteRequest {
        who,
        collection,
        op,
        if_match: if_match(req),
    };
    ed.editor.write(w).await.map_err(edit_problem)
}

fn feature_response(status: StatusCode, c: &edit::Committed) -> HttpResponse {
    let mut b = HttpResponse::build(status);
    if let Some(tag) = &c.etag {
        b.insert_header(("ETag", tag.as_str()));
    }
    b.content_type("application/geo+json")
        .body(c.feature.clone().unwrap_or(Value::Null).to_string())
}

/// `POST /collections/{collectionId}/items`: 201 with `Location` and `ETag`.
pub async fn create(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: Option<web::Data<Editing>>,
) -> Result<HttpResponse, ApiError> {
    let ed = editing(state.as_ref())?;
    let who = authenticate(&req, ed)?;
    rate(ed, &who)?;
    let body = body_json(payload, ed.body_max_bytes).await?;
    let collection = path.into_inner();
    let c = submit(&req, ed, who, collection.clone(), WriteOp::Create(body)).await?;
    let mut res = feature_response(StatusCode::CREATED, &c);
    let location = format!(
        "{}/collections/{collection}/items/{}",
        super::features::base_url(&req),
        c.change.feature_id
    );
    if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&location) {
        res.headers_mut()
            .insert(actix_web::http::header::LOCATION, v);
    }
    Ok(res)
}

/// `PUT /collections/{collectionId}/items/{featureId}`.
pub async fn replace(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
    state: Option<web::Data<Editing>>,
) -> Result<HttpResponse, ApiError> {
    let ed = editing(state.as_ref())?;
    let who = authenticate(&req, ed)?;
    rate(ed, &who)?;
    let body = body_json(payload, ed.body_max_bytes).await?;
    let (collection, id) = path.into_inner();
    let c = submit(&req, ed, who, collection, WriteOp::Replace(id, body)).await?;
    Ok(feature_response(StatusCode::OK, &c))
}

/// `PATCH /collections/{collectionId}/items/{featureId}` (JSON Merge Patch, RFC 7396).
pub async fn patch(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
    state: Option<web::Data<Editing>>,
) -> Result<HttpResponse, ApiError> {
    let ed = editing(state.as_ref())?;
    let who = authenticate(&req, ed)?;
    rate(ed, &who)?;
    let ct = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = ct.split(';').next().unwrap_or("").trim();
    if !media.is_empty() && media != "application/merge-patch+json" && media != "application/json" {
        return Err(ApiError::new(
            ProblemKind::ClientError,
            format!("PATCH takes 'application/merge-patch+json' (RFC 7396), not '{media}'"),
        )
        .with_status(StatusCode::UNSUPPORTED_MEDIA_TYPE));
    }
    let body = body_json(payload, ed.body_max_bytes).await?;
    let (collection, id) = path.into_inner();
    let c = submit(&req, ed, who, collection, WriteOp::Patch(id, body)).await?;
    Ok(feature_response(StatusCode::OK, &c))
}

/// `DELETE /collections/{collectionId}/items/{featureId}`: 204.
pub async fn delete(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: Option<web::Data<Editing>>,
) -> Result<HttpResponse, ApiError> {
    let ed = editing(state.as_ref())?;
    let who = authenticate(&req, ed)?;
    rate(ed, &who)?;
    let (collection, id) = path.into_inner();
    submit(&req, ed, who, collection, WriteOp::Delete(id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /collections/{collectionId}/items/{featureId}/history`: every change, oldest first.
pub async fn history(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    svc: Snap,
    state: Option<web::Data<Editing>>,
) -> Result<HttpResponse, ApiError> {
    let mut q = RawQuery::parse(req.query_string())?;
    q.take_format()?;
    q.deny_rest(&["f"])?;
    let ed = editing(state.as_ref())?;
    let (collection, id) = path.into_inner();
    // An unknown collection is a 404 like everywhere else; a deleted feature keeps its history.
    svc.collection(&collection)?;
    let changes = ed.editor.feature_history(&collection, &id);
    if changes.is_empty() && svc.feature(&collection, &id).is_err() {
        return Err(ApiError::not_found(format!(
            "{collection} has no feature '{id}' and never had; GET /collections/{collection}/items lists them"
        )));
    }
    Ok(HttpResponse::Ok().json(json!({
        "collection": collection,
        "featureId": id,
        "changes": changes.iter().map(change_json).collect::<Vec<_>>(),
    })))
}

/// `GET /changes?since=SEQ&limit=N`: the change feed a front-end polls.
pub async fn changes(
    req: HttpRequest,
    state: Option<web::Data<Editing>>,
) -> Result<HttpResponse, ApiError> {
    let mut q = RawQuery::parse(req.query_string())?;
    q.take_format()?;
    // Any whole number is a valid `since`; one past u64 simply lies beyond every change.
    let since = match q.take("since") {
        Some(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse::<u64>().unwrap_or(u64::MAX)
        }
        Some(s) => {
            return Err(ApiError::bad_param(
                "since",
                format!("'{s}' is not a whole number ≥ 0"),
            ));
        }
        None => 0,
    };
    let limit = take_u64(&mut q, "limit")?.unwrap_or(100);
    if limit == 0 || limit > CHANGES_LIMIT_MAX as u64 {
        return Err(ApiError::bad_param(
            "limit",
            format!("must be 1 to {CHANGES_LIMIT_MAX}"),
        ));
    }
    q.deny_rest(&["since", "limit", "f"])?;
    let ed = editing(state.as_ref())?;
    let (list, latest) = ed.editor.changes_since(since, limit as usize);
    let next = list.last().map_or(since, |c| c.seq);
    Ok(HttpResponse::Ok().json(json!({
        "since": since,
        "latest": latest,
        "next": next,
        "changes": list.iter().map(change_json).collect::<Vec<_>>(),
    })))
}

fn take_u64(q: &mut RawQuery, name: &str) -> Result<Option<u64>, ApiError> {
    q.take(name)
        .map(|s| {
            s.parse::<u64>()
                .map_err(|_| ApiError::bad_param(name, format!("'{s}' is not a whole number ≥ 0")))
        })
        .transpose()
}

/// `POST /admin/reload` (editor): re-read the directory; a bad one keeps the old snapshot and
/// the answer lists every violation.
pub async fn reload(
    req: HttpRequest,
    state: Option<web::Data<Editing>>,
) -> Result<HttpResponse, ApiError> {
    let ed = editing(state.as_ref())?;
    let who = authenticate(&req, ed)?;
    role_editor(&who)?;
    ed.editor.reload().await.map_err(edit_problem)?;
    Ok(HttpResponse::Ok().json(json!({"reloaded": true})))
}
