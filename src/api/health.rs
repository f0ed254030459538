//! `GET /healthz`: liveness plus what was loaded.

use super::snapshot::Snap;
use actix_web::HttpResponse;
use serde_json::{Map, json};

use super::features::json_response;

/// `GET /healthz`: always 200 once the service is up (it cannot start without its data).
pub async fn get(svc: Snap) -> HttpResponse {
    let layers: Map<String, serde_json::Value> = svc
        .dataset
        .layers
        .iter()
        .map(|(l, fs)| (l.as_str().to_string(), json!(fs.len())))
        .collect();
    json_response(
        &json!({ "status": "ok", "layers": layers, "categories": svc.category_ids().len() }),
    )
}
