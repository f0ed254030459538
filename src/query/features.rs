//! OGC API – Features selection: a collection by id, one feature, a page of items filtered by
//! bounding box and property equality.

use serde_json::Value;

use crate::model::{Bbox, Feature, LayerId, Limit, ParamError};
use crate::service::Service;

use super::QueryError;

/// A page of a collection's items.
#[derive(Debug, Clone)]
pub struct ItemsRequest {
    pub bbox: Option<Bbox>,
    pub limit: Limit,
    pub offset: usize,
    /// Property equality filters, `(name, value)`.
    pub filters: Vec<(String, String)>,
}

/// The features of one page and how many matched in all.
#[derive(Debug, Clone)]
pub struct ItemsPage<'a> {
    pub layer: LayerId,
    pub number_matched: usize,
    pub features: Vec<&'a Feature>,
}

/// Does a property value equal the query text? Strings compare exactly, numbers numerically,
/// booleans as `true`/`false`, arrays when any element matches.
#[must_use]
// Exact numeric equality is the contract: `households=400` matches 400 and 400.0, not 399.9.
#[allow(clippy::float_cmp)]
pub fn value_matches(v: &Value, want: &str) -> bool {
    match v {
        Value::String(s) => s == want,
        Value::Number(n) => n
            .as_f64()
            .zip(want.parse::<f64>().ok())
            .is_some_and(|(a, b)| a == b),
        Value::Bool(b) => want == if *b { "true" } else { "false" },
        Value::Array(items) => items.iter().any(|x| value_matches(x, want)),
        Value::Null | Value::Object(_) => false,
    }
}

impl Service {
    /// The layer named by a collection id: not found when no such layer exists,
    /// layer-unavailable when this data directory lacks it.
    pub fn collection(&self, id: &str) -> Result<(LayerId, &[Feature]), QueryError> {
        let Some(layer) = LayerId::parse(id) else {
            let have: Vec<&str> = self.dataset.layers.keys().map(|l| l.as_str()).collect();
            return Err(QueryError::NotFound(format!(
                "no collection '{id}'; the collections are {}",
                have.join(", ")
            )));
        };
        match self.dataset.layer(layer) {
            Some(features) => Ok((layer, features)),
            None => Err(QueryError::layer(
                layer,
                format!("the '{layer}' collection"),
            )),
        }
    }

    /// One feature of a collection by id.
    pub fn feature(&self, collection: &str, id: &str) -> Result<(LayerId, &Feature), QueryError> {
        let (layer, features) = self.collection(collection)?;
        self.indexes
            .layer(layer)
            .and_then(|l| l.position(id))
            .and_then(|pos| features.get(pos))
            .map(|f| (layer, f))
            .ok_or_else(|| {
                QueryError::NotFound(format!(
                    "no feature '{id}' in '{layer}'; GET /collections/{layer}/items lists them"
                ))
            })
    }

    /// A page of a collection's items.
    pub fn features(
        &self,
        collection: &str,
        req: &ItemsRequest,
    ) -> Result<ItemsPage<'_>, QueryError> {
        let (layer, features) = self.collection(collection)?;
        let known = self.indexes.layer(layer).map(|l| &l.properties);
        for (name, value) in &req.filters {
            if !known.is_some_and(|k| k.contains(name)) {
                let names: Vec<&str> = known
                    .map(|k| k.iter().map(String::as_str).collect())
                    .unwrap_or_default();
                return Err(ParamError::new(
                    name,
                    format!(
                        "not a parameter and not a property of '{layer}'; filter on one of: {} (reserved: bbox, limit, offset, coords, f)",
                        names.join(", ")
                    ),
                )
                .into());
            }
            if layer == LayerId::Facilities && name == "category" && !self.is_category(value) {
                return Err(ParamError::new(
                    "category",
                    format!("unknown category '{value}'; GET /categories lists them"),
                )
                .into());
            }
        }
        let candidates: Vec<usize> = match req.bbox {
            Some(bbox) => {
                let b = bbox.to_array();
                self.indexes
                    .envelope_candidates(layer, b)
                    .into_iter()
                    .filter(|&i| {
                        features
                            .get(i)
                            .is_some_and(|f| crate::index::geometry_intersects_bbox(&f.geometry, b))
                    })
                    .collect()
            }
            None => (0..features.len()).collect(),
        };
        let matched: Vec<&Feature> = candidates
            .into_iter()
            .filter_map(|i| features.get(i))
            .filter(|f| {
                req.filters
                    .iter()
                    .all(|(k, want)| f.properties.get(k).is_some_and(|v| value_matches(v, want)))
            })
            .collect();
        let number_matched = matched.len();
        Ok(ItemsPage {
            layer,
            number_matched,
            features: matched
                .into_iter()
                .skip(req.offset)
                .take(req.limit.get())
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_match_by_kind() {
        assert!(value_matches(&json!("a"), "a"));
        assert!(value_matches(&json!(400), "400.0"));
        assert!(value_matches(&json!(true), "true"));
        assert!(value_matches(&json!(["x", "y"]), "y"));
        assert!(!value_matches(&json!(null), "null"));
    }
}
