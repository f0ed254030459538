//! Streaming layer files: the same bytes as [`layer_text`](crate::store::write::layer_text),
//! written feature by feature, so a city import never holds a whole layer in memory. Written
//! to a temporary file beside the target and renamed when finished (atomic, like
//! [`write_atomic`](crate::store::write::write_atomic)); an unfinished file is removed.

use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};

use crate::model::Feature;
use crate::store::write::feature_json;

/// One layer being written.
pub struct LayerWriter {
    path: PathBuf,
    tmp: PathBuf,
    out: Option<BufWriter<File>>,
    count: usize,
}

impl LayerWriter {
    /// Start `path` (a `<layer>.geojson`).
    pub fn create(path: &Path) -> std::io::Result<LayerWriter> {
        let tmp = path.with_extension("tmp-write");
        let mut out = BufWriter::with_capacity(1 << 20, File::create(&tmp)?);
        out.write_all(b"{\"type\":\"FeatureCollection\",\"features\":[\n")?;
        Ok(LayerWriter {
            path: path.to_path_buf(),
            tmp,
            out: Some(out),
            count: 0,
        })
    }

    /// Append a feature (one line, as `layer_text` writes it).
    pub fn push(&mut self, f: &Feature) -> std::io::Result<()> {
        let Some(out) = self.out.as_mut() else {
            return Err(std::io::Error::other("layer already finished"));
        };
        if self.count > 0 {
            out.write_all(b",\n")?;
        }
        serde_json::to_writer(&mut *out, &feature_json(f))?;
        self.count += 1;
        Ok(())
    }

    #[must_use]
    pub fn count(&self) -> usize {
        self.count
    }

    /// Close the collection, sync, and move the file into place. Returns the feature count.
    pub fn finish(mut self) -> std::io::Result<usize> {
        let Some(mut out) = self.out.take() else {
            return Err(std::io::Error::other("layer already finished"));
        };
        if self.count > 0 {
            out.write_all(b"\n")?;
        }
        out.write_all(b"]}\n")?;
        let file = out
            .into_inner()
            .map_err(std::io::IntoInnerError::into_error)?;
        file.sync_all()?;
        std::fs::rename(&self.tmp, &self.path)?;
        Ok(self.count)
    }
}

impl Drop for LayerWriter {
    fn drop(&mut self) {
        // Not finished: an error stopped the import. Leave no half file behind.
        if self.out.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::write::layer_text;
    use geo::{Geometry, LineString, Point};
    use serde_json::{Map, json};

    fn features() -> Vec<Feature> {
        let mut p = Map::new();
        p.insert("kind".into(), json!("stairs"));
        vec![
            Feature {
                id: "a".into(),
                geometry: Geometry::Point(Point::new(106.123_456_789, 29.5)),
                elevation_m: None,
                properties: (Map::new()).into(),
            },
            Feature {
                id: "b".into(),
                geometry: Geometry::LineString(LineString::from(vec![
                    (106.0, 29.0),
                    (106.1, 29.1),
                ])),
                elevation_m: Some(vec![200.0, 210.555]),
                properties: p.into(),
            },
        ]
    }

    #[test]
    fn same_bytes_as_layer_text() {
        let dir = std::env::temp_dir().join(format!("servicemap-sink-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp");
        for n in [0, 1, 2] {
            let fs = &features()[..n];
            let path = dir.join(format!("l{n}.geojson"));
            let mut w = LayerWriter::create(&path).expect("create");
            for f in fs {
                w.push(f).expect("push");
            }
            assert_eq!(w.finish().expect("finish"), n);
            let got = std::fs::read_to_string(&path).expect("read");
            assert_eq!(got, layer_text(fs, None), "{n} features");
        }
        let path = dir.join("dropped.geojson");
        let w = LayerWriter::create(&path).expect("create");
        drop(w);
        assert!(!path.exists() && !path.with_extension("tmp-write").exists());
        std::fs::remove_dir_all(&dir).ok();
    }
}
