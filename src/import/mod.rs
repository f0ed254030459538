//! Import a city from OpenStreetMap (`osm`) into a data directory, and copy a user's own
//! administrative layer in (`geojson`). See `docs/osm-import.md`.

pub mod geojson;
pub mod geometry;
pub mod osm;
pub mod sink;
pub mod source;
pub mod tags;

use std::path::PathBuf;

pub use crate::model::Bbox;
pub use osm::{ImportSummary, OsmImportOptions, import_osm};

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{0}: unknown file type; name it *.osm.pbf (PBF) or *.osm (XML)")]
    UnknownFormat(PathBuf),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Input(String),
    #[error("built-in table: {0}")]
    Table(String),
}
