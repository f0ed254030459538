//! Edits without loss: changes to features, made durable by an [`EditStore`] before they are
//! acknowledged, applied by one writer that builds the next immutable [`Service`] snapshot off
//! the request path and swaps it in (readers never wait). No HTTP here: `api/edits.rs` parses
//! requests into [`WriteRequest`]s and renders [`Committed`] answers and [`EditError`]s.

pub mod journal;
mod snapshot;
pub mod tokens;
mod writer;

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::geojson::feature_json;
use crate::model::{Feature, LayerId};
use crate::store::{Dataset, Violation};

pub use journal::Journal;
pub use snapshot::next_snapshot;
pub use tokens::{Principal, Role, Tokens};
pub use writer::{Committed, Editor, WriteOp, WriteRequest};

/// The layers that may be edited. The boundary, communities and water are the frame the
/// others are checked against and change only by hand (then `POST /admin/reload`).
pub const EDITABLE: [LayerId; 6] = [
    LayerId::Facilities,
    LayerId::Compounds,
    LayerId::Buildings,
    LayerId::Grids,
    LayerId::Microgrids,
    LayerId::Walkways,
];

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Create,
    Replace,
    Patch,
    Delete,
}

impl Op {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Replace => "replace",
            Op::Patch => "patch",
            Op::Delete => "delete",
        }
    }
}

/// One acknowledged change, as journaled and as the history shows it. `before` and `after`
/// are the stored GeoJSON features (`None` before a create, after a delete), so replaying a
/// change is "set the feature to `after`": idempotent, whatever the op was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// 1, 2, 3, … in the order changes were made durable.
    pub seq: u64,
    pub at_unix_ms: u64,
    /// The token's name (never the token).
    pub who: String,
    pub op: Op,
    pub collection: String,
    pub feature_id: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// Where changes are made durable. Small on purpose: the embedded [`Journal`] implements it,
/// and a PostgreSQL table (one row per change, `COMMIT` as the durability point) can sit
/// beside it.
pub trait EditStore: Send + Sync + std::fmt::Debug {
    /// Make `changes` durable, in order; returns only once they survive a crash. One call is
    /// one group commit (one fsync, or one transaction).
    fn append(&self, changes: &[Change]) -> Result<(), EditError>;
    /// The changes not yet folded into the base data, in order (applied at start-up).
    fn replay(&self) -> Result<Vec<Change>, EditError>;
    /// Fold every pending change into the base data, which `dataset` (base + changes) now is.
    fn compact(&self, dataset: &Dataset) -> Result<(), EditError>;
    /// Every change ever made, compacted or not, in order.
    fn history(&self) -> Result<Vec<Change>, EditError>;
    /// Size of what [`EditStore::replay`] would return, to decide when to compact.
    fn pending_bytes(&self) -> u64;
}

/// Why a change was refused or could not be made durable. Nothing changed in every case.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EditError {
    #[error("{0}")]
    NotFound(String),
    /// The collection is not one of [`EDITABLE`].
    #[error(
        "collection '{0}' is read-only over HTTP; editable: facilities, compounds, buildings, grids, microgrids, walkways"
    )]
    ReadOnly(String),
    /// The body is not a GeoJSON Feature of the right shape; the message says what to fix.
    #[error("{0}")]
    BadBody(String),
    /// `If-Match` names another version than the current one.
    #[error(
        "the feature changed since you read it (If-Match {given}, current ETag {current}); GET it again and reapply your change"
    )]
    PreconditionFailed { given: String, current: String },
    /// A create with an id already in use.
    #[error("{0}")]
    Conflict(String),
    /// The token's role does not cover this change.
    #[error("{0}")]
    Forbidden(String),
    /// The data would break rules of `servicemap validate`; every violation is listed.
    #[error("the change would break {} rule(s), first: {}", .0.len(), .0.first().map(ToString::to_string).unwrap_or_default())]
    Invalid(Vec<Violation>),
    /// The store failed; nothing was acknowledged.
    #[error("edit store: {0}")]
    Io(String),
    /// The writer is gone (the server is stopping).
    #[error("the writer has stopped")]
    Stopped,
}

/// The entity tag of a feature as served: CRC-32 and length of its GeoJSON text.
#[must_use]
pub fn etag(f: &Feature) -> String {
    let text = feature_json(f).to_string();
    format!(
        "\"{:08x}-{:x}\"",
        crc32fast::hash(text.as_bytes()),
        text.len()
    )
}

/// Parse one GeoJSON Feature of `layer` with the same reader as the layer files, so a feature
/// written over HTTP obeys exactly the rules of one read from disk.
pub fn feature_from_value(layer: LayerId, v: &Value) -> Result<Feature, EditError> {
    if v.get("type").and_then(Value::as_str) != Some("Feature") {
        return Err(EditError::BadBody(
            "the body must be a GeoJSON Feature ({\"type\": \"Feature\", \"geometry\": …, \"properties\": {…}})".into(),
        ));
    }
    let text = serde_json::json!({"type": "FeatureCollection", "features": [v]}).to_string();
    let mut features = crate::store::read::parse_layer(Path::new(&layer.file_name()), &text)
        .map_err(|e| EditError::BadBody(e.to_string()))?;
    features
        .pop()
        .ok_or_else(|| EditError::BadBody("the body holds no feature".into()))
}

/// Set feature `id` of `layer` to `after` (`None` deletes it). The manifest's promised count
/// of the layer follows: the count describes the directory as made, edits change it.
pub fn apply(ds: &mut Dataset, layer: LayerId, id: &str, after: Option<Feature>) {
    let features = std::sync::Arc::make_mut(ds.layers.entry(layer).or_default());
    match (features.iter().position(|f| f.id == id), after) {
        (Some(i), Some(f)) => features[i] = f,
        (None, Some(f)) => features.push(f),
        (Some(i), None) => {
            features.remove(i);
        }
        (None, None) => {}
    }
    let n = features.len();
    if let Some(m) = &mut ds.manifest
        && let Some(count) = m.expected_counts.get_mut(layer.as_str())
    {
        *count = n;
    }
}

/// How to take back one [`apply_undoable`].
#[derive(Debug)]
pub(crate) enum Undo {
    Replaced(LayerId, usize, Feature),
    /// Pushed at the end; `true` when the layer had to be made (absent before).
    Created(LayerId, bool),
    Deleted(LayerId, usize, Feature),
    Nothing,
}

/// [`apply`], returning how to take it back: the writer edits its base in place and takes
/// back what fails a rule or cannot be made durable, instead of cloning the whole data.
pub(crate) fn apply_undoable(
    ds: &mut Dataset,
    layer: LayerId,
    id: &str,
    after: Option<Feature>,
) -> Undo {
    let made = !ds.layers.contains_key(&layer);
    // Copy-on-write: the served snapshot shares the layer until this batch changes it.
    let features = Arc::make_mut(ds.layers.entry(layer).or_default());
    let undo = match (features.iter().position(|f| f.id == id), after) {
        (Some(i), Some(f)) => Undo::Replaced(layer, i, std::mem::replace(&mut features[i], f)),
        (None, Some(f)) => {
            features.push(f);
            Undo::Created(layer, made)
        }
        (Some(i), None) => Undo::Deleted(layer, i, features.remove(i)),
        (None, None) => Undo::Nothing,
    };
    recount(ds, layer);
    undo
}

/// Take back `undo`, the last [`apply_undoable`] not yet taken back.
pub(crate) fn undo(ds: &mut Dataset, undo: Undo) {
    let layer = match undo {
        Undo::Replaced(layer, i, f) => {
            Arc::make_mut(ds.layers.entry(layer).or_default())[i] = f;
            layer
        }
        Undo::Created(layer, made) => {
            if made {
                ds.layers.remove(&layer);
            } else {
                Arc::make_mut(ds.layers.entry(layer).or_default()).pop();
            }
            layer
        }
        Undo::Deleted(layer, i, f) => {
            Arc::make_mut(ds.layers.entry(layer).or_default()).insert(i, f);
            layer
        }
        Undo::Nothing => return,
    };
    recount(ds, layer);
}

/// The manifest's promised count of `layer` follows its features (see [`apply`]).
fn recount(ds: &mut Dataset, layer: LayerId) {
    let n = ds.layer(layer).map_or(0, <[Feature]>::len);
    if let Some(m) = &mut ds.manifest
        && let Some(count) = m.expected_counts.get_mut(layer.as_str())
    {
        *count = n;
    }
}

/// Apply a journaled change (replay).
pub fn apply_change(ds: &mut Dataset, c: &Change) -> Result<(), EditError> {
    let layer = LayerId::parse(&c.collection)
        .ok_or_else(|| EditError::Io(format!("change {}: unknown collection", c.seq)))?;
    let after = c
        .after
        .as_ref()
        .map(|v| feature_from_value(layer, v))
        .transpose()
        .map_err(|e| EditError::Io(format!("change {}: {e}", c.seq)))?;
    apply(ds, layer, &c.feature_id, after);
    Ok(())
}

/// RFC 7396 JSON Merge Patch: `null` removes a member, objects merge, anything else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(t) = target {
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else {
                merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

/// Milliseconds since the Unix epoch.
#[must_use]
pub fn now_unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn undo_takes_back_creates_replaces_and_deletes_in_any_mix() {
        let f = |id: &str, x: f64| Feature {
            id: id.into(),
            geometry: geo::Geometry::Point(geo::Point::new(x, 0.0)),
            elevation_m: None,
            properties: serde_json::Map::new().into(),
        };
        let mut ds = Dataset {
            dir: "x".into(),
            layers: [(
                LayerId::Facilities,
                Arc::new(vec![f("a", 0.0), f("b", 1.0), f("c", 2.0)]),
            )]
            .into_iter()
            .collect(),
            taxonomy: None,
            manifest: None,
        };
        let before = ds.clone();
        let undos = [
            apply_undoable(&mut ds, LayerId::Facilities, "b", None),
            apply_undoable(&mut ds, LayerId::Facilities, "d", Some(f("d", 3.0))),
            apply_undoable(&mut ds, LayerId::Facilities, "a", Some(f("a", 9.0))),
            apply_undoable(&mut ds, LayerId::Buildings, "x", Some(f("x", 0.0))),
            apply_undoable(&mut ds, LayerId::Facilities, "c", None),
        ];
        let ids: Vec<&str> = ds.layers[&LayerId::Facilities]
            .iter()
            .map(|f| f.id.as_str())
            .collect();
        assert_eq!(ids, ["a", "d"]);
        for u in undos.into_iter().rev() {
            undo(&mut ds, u);
        }
        assert_eq!(
            ds.layers, before.layers,
            "the absent layer is absent again too"
        );
    }

    #[test]
    fn merge_patch_follows_rfc_7396_examples() {
        let mut t = json!({"a": "b", "c": {"d": "e", "f": "g"}});
        merge_patch(&mut t, &json!({"a": "z", "c": {"f": null}}));
        assert_eq!(t, json!({"a": "z", "c": {"d": "e"}}));
        let mut t = json!({"a": ["b"]});
        merge_patch(&mut t, &json!({"a": "c"}));
        assert_eq!(t, json!({"a": "c"}));
        let mut t = json!(["a"]);
        merge_patch(&mut t, &json!({"a": {"bb": {"ccc": null}}}));
        assert_eq!(t, json!({"a": {"bb": {}}}));
    }
}
