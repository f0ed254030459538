//! RFC 9457 problem details: every 4xx and 5xx leaves the service as
//! `application/problem+json` with `type`, `title`, `status`, `detail` and `instance`.
//!
//! Handlers return [`ApiError`]; the fused layer ([`super::frame`], through
//! [`problem_response`] and [`problem_error`]) adds `instance` (the request path) and turns
//! every other error response — actix's own 404/405, extractor and CORS rejections — into the
//! same shape, so a client parses one error format.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

/// Media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The kinds of problem the API reports; each has a stable `type` URI, title and status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// A query parameter is missing, malformed or out of range.
    BadParameter,
    /// A collection, feature or other named thing does not exist.
    NotFound,
    /// The data directory has no layer the request needs.
    LayerUnavailable,
    /// The point lies outside the area the data covers.
    OutsideArea,
    /// A walking origin cannot join the walking network: too far from every walkway, or
    /// only across water.
    OffNetwork,
    /// No route has this path.
    NoSuchRoute,
    MethodNotAllowed,
    /// Anything else that is the caller's fault (actix's own 4xx).
    ClientError,
    /// A request body is not valid JSON or not the documented shape; the detail names the entry.
    BadBody,
    /// A request body is well formed but cannot be carried out (a point that cannot join the
    /// walking network).
    Unprocessable,
    /// A request body over the size limit.
    PayloadTooLarge,
    /// 503: the heavy queue is full; `Retry-After` says when to try again.
    Busy,
    /// A write without a valid bearer token.
    Unauthorized,
    /// A write outside the token's role.
    Forbidden,
    /// `If-Match` names an older version of the feature.
    PreconditionFailed,
    /// A create with an id already in use.
    Conflict,
    /// A write that would break a rule of `servicemap validate`; `violations` lists them.
    RuleViolation,
    /// Too many writes from one token; `Retry-After` says when to try again.
    TooManyRequests,
    /// 503: the request ran past `--request-timeout-s`; `Retry-After` says when to try again.
    Timeout,
    /// The service failed; the cause is logged, never sent.
    Internal,
}

impl ProblemKind {
    #[must_use]
    pub fn slug(self) -> &'static str {
        match self {
            ProblemKind::BadParameter => "bad-parameter",
            ProblemKind::NotFound => "not-found",
            ProblemKind::LayerUnavailable => "layer-unavailable",
            ProblemKind::OutsideArea => "outside-area",
            ProblemKind::OffNetwork => "off-network",
            ProblemKind::NoSuchRoute => "no-such-route",
            ProblemKind::MethodNotAllowed => "method-not-allowed",
            ProblemKind::ClientError => "client-error",
            ProblemKind::BadBody => "bad-body",
            ProblemKind::Unprocessable => "unprocessable",
            ProblemKind::PayloadTooLarge => "payload-too-large",
            ProblemKind::Busy => "busy",
            ProblemKind::Unauthorized => "unauthorized",
            ProblemKind::Forbidden => "forbidden",
            ProblemKind::PreconditionFailed => "precondition-failed",
            ProblemKind::Conflict => "conflict",
            ProblemKind::RuleViolation => "rule-violation",
            ProblemKind::TooManyRequests => "too-many-requests",
            ProblemKind::Timeout => "timeout",
            ProblemKind::Internal => "internal",
        }
    }

    /// `type` member: a URN, so no client tries to dereference it; the slugs are listed in
    /// `openapi.yaml`.
    #[must_use]
    pub fn type_uri(self) -> String {
        format!("urn:servicemap:problem:{}", self.slug())
    }

    #[must_use]
    pub fn title(self) -> &'static str {
        match self {
            ProblemKind::BadParameter => "Bad query parameter",
            ProblemKind::NotFound => "Not found",
            ProblemKind::LayerUnavailable => "Layer not available in this data directory",
            ProblemKind::OutsideArea => "Point outside the mapped area",
            ProblemKind::OffNetwork => "Point not reachable on the walking network",
            ProblemKind::NoSuchRoute => "No such route",
            ProblemKind::MethodNotAllowed => "Method not allowed",
            ProblemKind::ClientError => "Bad request",
            ProblemKind::BadBody => "Bad request body",
            ProblemKind::Unprocessable => "Request cannot be carried out",
            ProblemKind::PayloadTooLarge => "Request body too large",
            ProblemKind::Busy => "Service busy",
            ProblemKind::Unauthorized => "Bearer token missing or not valid",
            ProblemKind::Forbidden => "Outside the token's role",
            ProblemKind::PreconditionFailed => "The feature changed since it was read",
            ProblemKind::Conflict => "Conflicts with the current data",
            ProblemKind::RuleViolation => "The change breaks a data rule",
            ProblemKind::TooManyRequests => "Too many writes",
            ProblemKind::Timeout => "Request took too long",
            ProblemKind::Internal => "Internal server error",
        }
    }

    #[must_use]
    pub fn status(self) -> StatusCode {
        match self {
            ProblemKind::BadParameter | ProblemKind::ClientError => StatusCode::BAD_REQUEST,
            ProblemKind::NotFound
            | ProblemKind::LayerUnavailable
            | ProblemKind::OutsideArea
            | ProblemKind::NoSuchRoute => StatusCode::NOT_FOUND,
            ProblemKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ProblemKind::BadBody => StatusCode::BAD_REQUEST,
            ProblemKind::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
            ProblemKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ProblemKind::Busy | ProblemKind::Timeout => StatusCode::SERVICE_UNAVAILABLE,
            // 422: the request is well formed but this position cannot be walked from.
            ProblemKind::OffNetwork => StatusCode::UNPROCESSABLE_ENTITY,
            ProblemKind::Unauthorized => StatusCode::UNAUTHORIZED,
            ProblemKind::Forbidden => StatusCode::FORBIDDEN,
            ProblemKind::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            ProblemKind::Conflict => StatusCode::CONFLICT,
            ProblemKind::RuleViolation => StatusCode::UNPROCESSABLE_ENTITY,
            ProblemKind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ProblemKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// An error a handler returns. `detail` is sent to the caller and says what to change;
/// `cause` (internal errors only) is logged and never sent.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{detail}")]
pub struct ApiError {
    pub kind: ProblemKind,
    /// Overrides the kind's status (actix's own 4xx such as 413, 415).
    pub status: Option<StatusCode>,
    pub detail: String,
    /// The request path and query, set by [`problem_response`] or [`problem_error`].
    pub instance: Option<String>,
    cause: Option<String>,
    /// Headers and extension members, boxed: most problems have none, and every handler
    /// returns this type.
    extra: Option<Box<Extra>>,
}

/// What some problems add to the standard members.
#[derive(Debug, Clone, Default)]
struct Extra {
    /// Response headers the problem needs (`WWW-Authenticate`, `Retry-After`, `ETag`).
    headers: Vec<(&'static str, String)>,
    /// Extension members of the problem document (`violations`).
    members: serde_json::Map<String, serde_json::Value>,
}

impl ApiError {
    #[must_use]
    pub fn new(kind: ProblemKind, detail: impl Into<String>) -> Self {
        ApiError {
            kind,
            status: None,
            detail: detail.into(),
            instance: None,
            cause: None,
            extra: None,
        }
    }

    /// The same problem with another status than its kind's.
    #[must_use]
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = Some(status);
        self
    }

    /// The same problem with a response header.
    #[must_use]
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.extra
            .get_or_insert_default()
            .headers
            .push((name, value.into()));
        self
    }

    /// The same problem with an extension member.
    #[must_use]
    pub fn with_member(mut self, key: &str, value: serde_json::Value) -> Self {
        self.extra
            .get_or_insert_default()
            .members
            .insert(key.to_string(), value);
        self
    }

    /// 400: a query parameter the caller must fix; the detail names it.
    #[must_use]
    pub fn bad_param(name: &str, detail: impl AsRef<str>) -> Self {
        ApiError::new(
            ProblemKind::BadParameter,
            format!("parameter '{name}': {}", detail.as_ref()),
        )
    }

    /// 404: a named thing does not exist.
    #[must_use]
    pub fn not_found(detail: impl Into<String>) -> Self {
        ApiError::new(ProblemKind::NotFound, detail)
    }

    /// 404: the data directory lacks the layer a request needs.
    #[must_use]
    pub fn layer_unavailable(layer: crate::model::LayerId, what_for: &str) -> Self {
        ApiError::new(
            ProblemKind::LayerUnavailable,
            format!(
                "this data directory has no '{layer}' layer (an OpenStreetMap import has none), \
                 so {what_for} is not available; see GET /collections for the layers it has"
            ),
        )
    }

    /// 500: log `cause`, tell the caller nothing internal.
    #[must_use]
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        ApiError {
            kind: ProblemKind::Internal,
            status: None,
            detail: "the service failed to answer this request; it has been logged".into(),
            instance: None,
            cause: Some(cause.to_string()),
            extra: None,
        }
    }

    fn status_code_of(&self) -> StatusCode {
        self.status.unwrap_or_else(|| self.kind.status())
    }

    /// The problem document, with `instance` when known.
    #[must_use]
    pub fn to_problem(&self, instance: Option<&str>) -> serde_json::Value {
        let mut v = json!({
            "type": self.kind.type_uri(),
            "title": self.kind.title(),
            "status": self.status_code_of().as_u16(),
            "detail": self.detail,
        });
        if let Some(m) = v.as_object_mut() {
            if let Some(i) = instance {
                m.insert("instance".into(), json!(i));
            }
            for (k, x) in self.extra.iter().flat_map(|e| &e.members) {
                m.insert(k.clone(), x.clone());
            }
        }
        v
    }

    fn render(&self, instance: Option<&str>) -> HttpResponse {
        if let Some(cause) = &self.cause {
            tracing::error!(
                instance = instance.unwrap_or("-"),
                "internal error: {cause}"
            );
        }
        let mut b = HttpResponse::build(self.status_code_of());
        for (name, value) in self.extra.iter().flat_map(|e| &e.headers) {
            b.insert_header((*name, value.as_str()));
        }
        if self.kind == ProblemKind::Busy {
            b.insert_header((
                actix_web::http::header::RETRY_AFTER,
                crate::query::exec::RETRY_AFTER_S.to_string(),
            ));
        }
        b.content_type(PROBLEM_JSON)
            .body(self.to_problem(instance).to_string())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status_code_of()
    }

    fn error_response(&self) -> HttpResponse {
        // `instance` is known once the fused layer has seen the request.
        self.render(self.instance.as_deref())
    }
}

/// Build the [`ApiError`] for an error response that did not come from a handler's
/// `ApiError`: actix's own routing, extractor and middleware errors.
fn foreign_error(status: StatusCode, err: Option<&actix_web::Error>, req_method: &str) -> ApiError {
    let kind = match status {
        StatusCode::NOT_FOUND => ProblemKind::NoSuchRoute,
        StatusCode::METHOD_NOT_ALLOWED => ProblemKind::MethodNotAllowed,
        s if s.is_server_error() => ProblemKind::Internal,
        _ => ProblemKind::ClientError,
    };
    match kind {
        ProblemKind::Internal => ApiError::internal(err.map_or_else(
            || format!("status {status} without error"),
            ToString::to_string,
        )),
        ProblemKind::NoSuchRoute => ApiError::new(
            kind,
            "no route has this path; GET / lists the API and /openapi.yaml describes every route",
        ),
        ProblemKind::MethodNotAllowed => ApiError::new(
            kind,
            format!(
                "method {req_method} is not allowed here; /scenarios and /nearest/batch answer POST, every other route GET"
            ),
        ),
        _ => {
            let mut e = ApiError::new(
                kind,
                err.map_or_else(
                    || {
                        status
                            .canonical_reason()
                            .unwrap_or("bad request")
                            .to_string()
                    },
                    ToString::to_string,
                ),
            );
            e.status = Some(status);
            e
        }
    }
}

/// The `instance` member of a problem: the request's path and query as sent.
fn instance_of(uri: &actix_web::http::Uri) -> String {
    uri.path_and_query()
        .map_or_else(|| uri.path().to_string(), ToString::to_string)
}

/// The error an inner layer returned (the request is gone with it), as an [`ApiError`] that
/// renders itself as a problem with `instance` (`uri` is the request's). The fused layer of
/// [`super::frame`] calls this; nothing is allocated on the way of an answer that is not an
/// error.
pub(crate) fn problem_error(
    err: &actix_web::Error,
    uri: &actix_web::http::Uri,
    method: &str,
) -> ApiError {
    let instance = instance_of(uri);
    let status = err.as_response_error().status_code();
    let mut api = err
        .as_error::<ApiError>()
        .cloned()
        .unwrap_or_else(|| foreign_error(status, Some(err), method));
    if let Some(cause) = &api.cause {
        tracing::error!(instance = %instance, "internal error: {cause}");
    }
    api.instance = Some(instance);
    api
}

/// Make an error response (status >= 400) a problem document with `instance`, keeping other
/// headers (CORS) intact; any other response passes unchanged.
pub(crate) fn problem_response<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> ServiceResponse<BoxBody> {
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res.map_into_boxed_body();
    }
    let instance = instance_of(res.request().uri());
    let api = match res
        .response()
        .error()
        .and_then(|e| e.as_error::<ApiError>())
    {
        Some(api) => api.clone(),
        None => foreign_error(
            status,
            res.response().error(),
            res.request().method().as_str(),
        ),
    };
    let (http_req, old) = res.into_parts();
    let mut new = api.render(Some(&instance));
    // Headers the problem sets itself (WWW-Authenticate, Retry-After) are not doubled.
    let own: Vec<header::HeaderName> = new.headers().keys().cloned().collect();
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH && !own.contains(name) {
            new.headers_mut().append(name.clone(), value.clone());
        }
    }
    if status == StatusCode::METHOD_NOT_ALLOWED {
        // `/scenarios`, `/nearest/batch` and `/admin/reload` take POST; collections' items take writes too;
        // every other route answers GET.
        let path = instance.split('?').next().unwrap_or("");
        let segments: Vec<&str> = path.split('/').collect();
        let allow = match segments[..] {
            ["", "scenarios"] | ["", "nearest", "batch"] | ["", "admin", "reload"] => "POST",
            ["", "collections", _, "items"] => "GET, POST",
            ["", "collections", _, "items", _] => "GET, PUT, PATCH, DELETE",
            _ => "GET",
        };
        new.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static(allow));
    }
    ServiceResponse::new(http_req, new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_say_nothing_internal() {
        let e = ApiError::internal("open /secret/path: permission denied");
        let p = e.to_problem(Some("/nearest"));
        assert_eq!(p["status"], 500);
        assert_eq!(p["type"], "urn:servicemap:problem:internal");
        assert!(!p.to_string().contains("secret"), "{p}");
        assert_eq!(p["instance"], "/nearest");
    }

    #[test]
    fn foreign_errors_map_to_kinds() {
        assert_eq!(
            foreign_error(StatusCode::NOT_FOUND, None, "GET").kind,
            ProblemKind::NoSuchRoute
        );
        assert_eq!(
            foreign_error(StatusCode::METHOD_NOT_ALLOWED, None, "PUT").kind,
            ProblemKind::MethodNotAllowed
        );
        let e = foreign_error(StatusCode::PAYLOAD_TOO_LARGE, None, "GET");
        assert_eq!(e.status_code(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            foreign_error(StatusCode::BAD_GATEWAY, None, "GET").kind,
            ProblemKind::Internal
        );
    }
}
