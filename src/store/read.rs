//! Read a data directory: every `<layer>.geojson` present plus `categories.json`.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use geojson::{GeoJson, GeometryValue};

use crate::model::{Feature, Interner, LayerId, Taxonomy};

use super::{Dataset, Manifest, StoreError};

/// Read every layer file present in `dir`. Missing layers are simply absent; a file that is
/// present but malformed fails with the file and, where one is at fault, the feature named.
pub fn read_dir(dir: &Path) -> Result<Dataset, StoreError> {
    if !dir.is_dir() {
        return Err(StoreError::NotADirectory(dir.to_path_buf()));
    }
    let mut layers = BTreeMap::new();
    for layer in LayerId::ALL {
        let path = dir.join(layer.file_name());
        if path.exists() {
            layers.insert(layer, Arc::new(read_layer(&path)?));
        }
    }
    let cat_path = dir.join("categories.json");
    let taxonomy = if cat_path.exists() {
        let text = read_text(&cat_path)?;
        let t: Taxonomy = serde_json::from_str(&text).map_err(|e| StoreError::Parse {
            path: cat_path.clone(),
            message: e.to_string(),
        })?;
        Some(t)
    } else {
        None
    };
    let manifest_path = dir.join("manifest.json");
    let manifest = if manifest_path.exists() {
        let text = read_text(&manifest_path)?;
        let m: Manifest = serde_json::from_str(&text).map_err(|e| StoreError::Parse {
            path: manifest_path.clone(),
            message: e.to_string(),
        })?;
        Some(m)
    } else {
        None
    };
    if layers.is_empty() {
        return Err(StoreError::Empty(dir.to_path_buf()));
    }
    Ok(Dataset {
        dir: dir.to_path_buf(),
        layers,
        taxonomy,
        manifest,
    })
}

fn read_text(path: &Path) -> Result<String, StoreError> {
    std::fs::read_to_string(path).map_err(|e| StoreError::Io {
        path: path.to_path_buf(),
        source: e,
    })
}

/// Read one GeoJSON FeatureCollection file into features.
pub fn read_layer(path: &Path) -> Result<Vec<Feature>, StoreError> {
    let text = read_text(path)?;
    parse_layer(path, &text)
}

/// Parse GeoJSON text of one layer. `path` is only used to name the file in errors.
pub fn parse_layer(path: &Path, text: &str) -> Result<Vec<Feature>, StoreError> {
    let gj: GeoJson = text
        .parse()
        .map_err(|e: geojson::Error| StoreError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    let GeoJson::FeatureCollection(fc) = gj else {
        return Err(StoreError::Parse {
            path: path.to_path_buf(),
            message: "top level must be a FeatureCollection".into(),
        });
    };
    let mut seen = HashSet::new();
    let mut interner = Interner::new();
    let mut out = Vec::with_capacity(fc.features.len());
    for (i, f) in fc.features.into_iter().enumerate() {
        let feature_err = |id: &str, message: String| StoreError::Feature {
            path: path.to_path_buf(),
            id: id.to_string(),
            message,
        };
        let id = match &f.id {
            Some(geojson::feature::Id::String(s)) => s.clone(),
            Some(geojson::feature::Id::Number(n)) => {
                return Err(feature_err(&n.to_string(), "id must be a string".into()));
            }
            None => return Err(feature_err(&format!("#{i}"), "feature has no id".into())),
        };
        if !seen.insert(id.clone()) {
            return Err(feature_err(&id, "duplicate id".into()));
        }
        let Some(g) = f.geometry else {
            return Err(feature_err(&id, "feature has no geometry".into()));
        };
        let elevation_m = match &g.value {
            GeometryValue::LineString { coordinates: pos } if pos.iter().any(|p| p.len() >= 3) => {
                if pos.iter().any(|p| p.len() < 3) {
                    return Err(feature_err(
                        &id,
                        "some positions have an elevation and some do not".into(),
                    ));
                }
                Some(pos.iter().map(|p| p[2]).collect())
            }
            _ => None,
        };
        // geojson's conversion indexes x and y without checking; a position such as `[1]`
        // would panic there (found by the write path's property tests).
        if has_short_position(&g.value) {
            return Err(feature_err(
                &id,
                "bad geometry: every position needs a longitude and a latitude".into(),
            ));
        }
        let geometry: geo::Geometry<f64> = g
            .value
            .try_into()
            .map_err(|e: geojson::Error| feature_err(&id, format!("bad geometry: {e}")))?;
        if let Some(bad) = first_non_finite(&geometry) {
            return Err(feature_err(
                &id,
                format!("non-finite or out-of-range coordinate {bad:?}"),
            ));
        }
        out.push(Feature {
            id,
            geometry,
            elevation_m,
            properties: interner.props(f.properties.unwrap_or_default()),
        });
    }
    Ok(out)
}

/// True when some position has fewer than two numbers.
fn has_short_position(v: &GeometryValue) -> bool {
    let short = |p: &geojson::Position| p.len() < 2;
    match v {
        GeometryValue::Point { coordinates } => short(coordinates),
        GeometryValue::MultiPoint { coordinates } | GeometryValue::LineString { coordinates } => {
            coordinates.iter().any(short)
        }
        GeometryValue::MultiLineString { coordinates } | GeometryValue::Polygon { coordinates } => {
            coordinates.iter().flatten().any(short)
        }
        GeometryValue::MultiPolygon { coordinates } => {
            coordinates.iter().flatten().flatten().any(short)
        }
        GeometryValue::GeometryCollection { geometries } => {
            geometries.iter().any(|g| has_short_position(&g.value))
        }
    }
}

fn first_non_finite(g: &geo::Geometry<f64>) -> Option<(f64, f64)> {
    use geo::CoordsIter;
    g.coords_iter()
        .find(|c| !c.x.is_finite() || !c.y.is_finite() || c.x.abs() > 180.0 || c.y.abs() > 90.0)
        .map(|c| (c.x, c.y))
}

/// The paths a data directory may hold, for messages.
#[must_use]
pub fn expected_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = LayerId::ALL
        .iter()
        .map(|l| dir.join(l.file_name()))
        .collect();
    v.push(dir.join("categories.json"));
    v.push(dir.join("manifest.json"));
    v
}
