//! OGC API – Features selection: a collection by id, one feature, a page of items filtered by
//! bounding box and property equality.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::model::geojson::geometry_json;
use crate::model::{Bbox, Feature, LayerId, Limit, ParamError, PropValue};
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
    /// A CQL2 expression (OGC API – Features Part 3) every returned feature satisfies.
    pub filter: Option<cql2::Expr>,
}

/// What a collection can be filtered on: each property with its JSON Schema type, and the
/// geometry (OGC API – Features Part 3 queryables).
#[derive(Debug, Clone)]
pub struct Queryables {
    pub layer: LayerId,
    /// Property name → JSON Schema type (`string`, `number`, `integer`, `boolean`, `array`,
    /// `object`), from the values the layer holds.
    pub properties: BTreeMap<String, &'static str>,
}

/// The name CQL2 expressions use for a feature's geometry.
pub const GEOMETRY_QUERYABLE: &str = "geometry";

fn json_type(v: &PropValue) -> Option<&'static str> {
    match v {
        PropValue::Null => None,
        PropValue::Bool(_) => Some("boolean"),
        PropValue::Number(n) if n.is_i64() || n.is_u64() => Some("integer"),
        PropValue::Number(_) => Some("number"),
        PropValue::String(_) => Some("string"),
        PropValue::Array(_) => Some("array"),
        PropValue::Object(_) => Some("object"),
    }
}

/// Every property an expression reads.
fn properties_of(e: &cql2::Expr, out: &mut Vec<String>) {
    use cql2::Expr;
    match e {
        Expr::Property { property } => out.push(property.clone()),
        Expr::Operation { args, .. } => {
            for a in args {
                properties_of(a, out);
            }
        }
        Expr::Interval { interval: v } | Expr::BBox { bbox: v } | Expr::Array(v) => {
            for a in v {
                properties_of(a, out);
            }
        }
        Expr::Timestamp { timestamp: a } | Expr::Date { date: a } => properties_of(a, out),
        Expr::Float(_) | Expr::Literal(_) | Expr::Bool(_) | Expr::Geometry(_) | Expr::Null => {}
    }
}

/// Does a feature satisfy a CQL2 expression? A property the feature lacks is NULL, and a
/// comparison with NULL is not a match.
/// `with_geometry`: whether the expression reads the geometry; only then is it written out,
/// since that is most of the cost per feature (a walkway's whole polyline).
fn satisfies(expr: &cql2::Expr, f: &Feature, with_geometry: bool) -> Result<bool, ParamError> {
    let geometry = if with_geometry {
        geometry_json(&f.geometry, None)
    } else {
        Value::Null
    };
    let v = json!({
        "type": "Feature",
        "id": f.id,
        "geometry": geometry,
        "properties": f.properties,
    });
    match expr.clone().matches(Some(&v)) {
        Ok(b) => Ok(b),
        Err(cql2::Error::NonReduced()) => Ok(false),
        Err(e) => Err(ParamError::new(
            "filter",
            format!("cannot be evaluated on feature '{}': {e}", f.id),
        )),
    }
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
pub fn value_matches(v: &PropValue, want: &str) -> bool {
    match v {
        PropValue::String(s) => &**s == want,
        PropValue::Number(n) => n
            .as_f64()
            .zip(want.parse::<f64>().ok())
            .is_some_and(|(a, b)| a == b),
        PropValue::Bool(b) => want == if *b { "true" } else { "false" },
        PropValue::Array(items) => items.iter().any(|x| value_matches(x, want)),
        PropValue::Null | PropValue::Object(_) => false,
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

    /// The queryables of a collection.
    pub fn queryables(&self, collection: &str) -> Result<Queryables, QueryError> {
        let (layer, features) = self.collection(collection)?;
        let mut properties: BTreeMap<String, &'static str> = BTreeMap::new();
        for f in features {
            for (k, v) in &f.properties {
                if let Some(t) = json_type(v) {
                    // A property holding integers in one feature and decimals in another is a
                    // number.
                    let e = properties.entry(k.to_string()).or_insert(t);
                    if *e == "integer" && t == "number" {
                        *e = "number";
                    }
                }
            }
        }
        Ok(Queryables { layer, properties })
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
        let mut names = Vec::new();
        if let Some(expr) = &req.filter {
            properties_of(expr, &mut names);
            if let Some(bad) = names.iter().find(|n| {
                n.as_str() != GEOMETRY_QUERYABLE && !known.is_some_and(|k| k.contains(n.as_str()))
            }) {
                let q = self.queryables(collection)?;
                let names: Vec<&str> = q.properties.keys().map(String::as_str).collect();
                return Err(ParamError::new(
                    "filter",
                    format!(
                        "'{bad}' is not a queryable of '{layer}'; use {GEOMETRY_QUERYABLE} or one of: {} (GET /collections/{layer}/queryables)",
                        names.join(", ")
                    ),
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
        let mut matched: Vec<&Feature> = candidates
            .into_iter()
            .filter_map(|i| features.get(i))
            .filter(|f| {
                req.filters
                    .iter()
                    .all(|(k, want)| f.properties.get(k).is_some_and(|v| value_matches(v, want)))
            })
            .collect();
        if let Some(expr) = &req.filter {
            let with_geometry = names.iter().any(|n| n == GEOMETRY_QUERYABLE);
            let mut kept = Vec::with_capacity(matched.len());
            for f in matched {
                if satisfies(expr, f, with_geometry)? {
                    kept.push(f);
                }
            }
            matched = kept;
        }
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
        assert!(value_matches(&PropValue::from(json!("a")), "a"));
        assert!(value_matches(&PropValue::from(json!(400)), "400.0"));
        assert!(value_matches(&PropValue::from(json!(true)), "true"));
        assert!(value_matches(&PropValue::from(json!(["x", "y"])), "y"));
        assert!(!value_matches(&PropValue::from(json!(null)), "null"));
    }
}
