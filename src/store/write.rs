//! Write layers as RFC 7946 GeoJSON, deterministically (same input, same bytes) and atomically.

use std::io::Write as _;
use std::path::Path;

pub use crate::model::geojson::{feature_json, geometry_json, layer_text, round7};

/// Write `text` to `path` atomically: a temporary file beside it, then a rename, so a reader
/// never sees half a file.
pub fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp-write");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}
