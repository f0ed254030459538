//! Read, validate and write data directories.

pub mod read;
pub mod validate;
pub mod write;

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::model::{Feature, LayerId, Taxonomy};

pub use read::read_dir;
pub use validate::{validate, Report, Violation};

/// A data directory as read: the layers it has and the taxonomy.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub dir: PathBuf,
    pub layers: BTreeMap<LayerId, Vec<Feature>>,
    pub taxonomy: Option<Taxonomy>,
}

impl Dataset {
    /// The features of a layer, or `None` when the directory has no such layer.
    #[must_use]
    pub fn layer(&self, id: LayerId) -> Option<&[Feature]> {
        self.layers.get(&id).map(Vec::as_slice)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} is not a directory")]
    NotADirectory(PathBuf),
    #[error("{0} holds no layer file (expected files such as walkways.geojson, facilities.geojson)")]
    Empty(PathBuf),
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: feature '{id}': {message}")]
    Feature { path: PathBuf, id: String, message: String },
    #[error("{path}: {count} rule violation(s), first: {first}")]
    Invalid { path: PathBuf, count: usize, first: String },
}
