//! `GET /categories`: the facility taxonomy with its planning thresholds and how many
//! facilities of each category the data has.

use super::snapshot::Snap;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{Value, json};

use super::error::ApiError;
use super::features::json_response;
use super::params::RawQuery;

/// `GET /categories`. Without `categories.json` the list is derived from the facilities
/// (ids only) and `note` says so.
pub async fn get(req: HttpRequest, svc: Snap) -> Result<HttpResponse, ApiError> {
    let mut q = RawQuery::parse(req.query_string())?;
    q.take_format()?;
    q.deny_rest(&["f"])?;
    let body = if let Some(t) = &svc.taxonomy {
        let list: Vec<Value> = t
            .categories
            .iter()
            .map(|c| {
                let mut v = serde_json::to_value(c).map_err(ApiError::internal)?;
                if let Some(m) = v.as_object_mut() {
                    m.insert(
                        "facilities".into(),
                        json!(svc.indexes.facility_count(&c.id)),
                    );
                }
                Ok(v)
            })
            .collect::<Result<_, ApiError>>()?;
        json!({ "note": t.note, "categories": list })
    } else {
        let list: Vec<Value> = svc
            .indexes
            .facility_categories()
            .map(|id| json!({ "id": id, "facilities": svc.indexes.facility_count(id) }))
            .collect();
        json!({ "note": "this data directory has no categories.json; categories are those its facilities use", "categories": list })
    };
    Ok(json_response(&body))
}
