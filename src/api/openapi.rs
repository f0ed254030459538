//! `GET /openapi.yaml`: the contract, compiled into the binary so it always ships with the
//! routes it describes. Served as YAML, or as JSON to clients whose `Accept` asks for JSON
//! only (GDAL's OGC API driver reads the service description as JSON and rejects YAML).

use std::sync::OnceLock;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};

use super::error::ApiError;

/// The OpenAPI 3.1 document at the repository root.
pub const OPENAPI_YAML: &str = include_str!("../../openapi.yaml");

/// The registered OpenAPI media types (the landing page announces the YAML one).
pub const OPENAPI_YAML_TYPE: &str = "application/vnd.oai.openapi;version=3.0";
pub const OPENAPI_JSON_TYPE: &str = "application/vnd.oai.openapi+json;version=3.0";

/// The document as JSON text, converted once.
pub fn openapi_json() -> Result<&'static str, ApiError> {
    static JSON: OnceLock<Result<String, String>> = OnceLock::new();
    JSON.get_or_init(|| {
        serde_yaml::from_str::<serde_json::Value>(OPENAPI_YAML)
            .map(|v| v.to_string())
            .map_err(|e| format!("openapi.yaml does not parse: {e}"))
    })
    .as_deref()
    .map_err(ApiError::internal)
}

/// `GET /openapi.yaml`.
pub async fn yaml(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if accept.contains("json") && !accept.contains("yaml") && !accept.contains("vnd.oai.openapi;") {
        return Ok(HttpResponse::Ok()
            .content_type(OPENAPI_JSON_TYPE)
            .body(openapi_json()?));
    }
    Ok(HttpResponse::Ok()
        .content_type(OPENAPI_YAML_TYPE)
        .body(OPENAPI_YAML))
}
