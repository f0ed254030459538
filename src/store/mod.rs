//! Read, validate and write data directories.

mod feature_de;
pub mod manifest;
pub mod read;
pub mod validate;
pub mod write;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use geo::{BoundingRect, Coord, Rect};

use crate::model::{Feature, LayerId, LocalProj, Taxonomy};

pub use manifest::Manifest;
pub use read::read_dir;
pub use validate::{Finding, Report, Violation, validate, validate_change, validate_edit};

/// A data directory as read: the layers it has and the taxonomy.
///
/// Each layer is shared (`Arc`): the edit writer keeps the dataset as stored beside the one the
/// service serves, and a clone (a write's trial dataset, the served copy) shares every layer it
/// does not change (`Arc::make_mut` copies only the layer written to).
#[derive(Debug, Clone)]
pub struct Dataset {
    pub dir: PathBuf,
    pub layers: BTreeMap<LayerId, Arc<Vec<Feature>>>,
    pub taxonomy: Option<Taxonomy>,
    /// `manifest.json`, when the directory has one.
    pub manifest: Option<Manifest>,
}

impl Dataset {
    /// The features of a layer, or `None` when the directory has no such layer.
    #[must_use]
    pub fn layer(&self, id: LayerId) -> Option<&[Feature]> {
        self.layers.get(&id).map(|l| l.as_slice())
    }

    /// The one local projection of this dataset, shared by validation, the indexes and the
    /// walking graph: centred on the walkways' extent (where walked metres are measured), or,
    /// without walkways, on the first layer present (the boundary when there is one).
    #[must_use]
    pub fn projection(&self) -> LocalProj {
        let order = std::iter::once(LayerId::Walkways).chain(LayerId::ALL);
        for layer in order {
            let Some(features) = self.layer(layer) else {
                continue;
            };
            let mut rect: Option<Rect<f64>> = None;
            for r in features.iter().filter_map(|f| f.geometry.bounding_rect()) {
                rect = Some(match rect {
                    None => r,
                    Some(acc) => Rect::new(
                        Coord {
                            x: acc.min().x.min(r.min().x),
                            y: acc.min().y.min(r.min().y),
                        },
                        Coord {
                            x: acc.max().x.max(r.max().x),
                            y: acc.max().y.max(r.max().y),
                        },
                    ),
                });
            }
            if let Some(r) = rect {
                let c = r.center();
                return LocalProj::new(c.x, c.y);
            }
        }
        LocalProj::new(0.0, 0.0)
    }
}

/// Read `dir` and check it against every rule: what the service does at start-up, so that it
/// never serves a broken directory. Fails with [`StoreError::Invalid`] naming the first
/// violation when any rule is broken; otherwise returns the data and the report (its counts).
pub fn load_valid(dir: &std::path::Path) -> Result<(Dataset, Report), StoreError> {
    let ds = read_dir(dir)?;
    let report = validate(&ds);
    if let Some(first) = report.violations.first() {
        return Err(StoreError::Invalid {
            path: dir.to_path_buf(),
            count: report.violations.len(),
            first: first.to_string(),
        });
    }
    Ok((ds, report))
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} is not a directory")]
    NotADirectory(PathBuf),
    #[error(
        "{0} holds no layer file (expected files such as walkways.geojson, facilities.geojson)"
    )]
    Empty(PathBuf),
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: feature '{id}': {message}")]
    Feature {
        path: PathBuf,
        id: String,
        message: String,
    },
    #[error("{path}: {count} rule violation(s), first: {first}")]
    Invalid {
        path: PathBuf,
        count: usize,
        first: String,
    },
}
