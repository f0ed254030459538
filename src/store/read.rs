//! Read a data directory: every `<layer>.geojson` present plus `categories.json`.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use geojson::GeometryValue;
use rayon::prelude::*;
use serde::Deserializer;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::model::{Feature, Interner, LayerId, Taxonomy};

use super::{Dataset, Manifest, StoreError};

/// Read every layer file present in `dir`. Missing layers are simply absent; a file that is
/// present but malformed fails with the file and, where one is at fault, the feature named.
pub fn read_dir(dir: &Path) -> Result<Dataset, StoreError> {
    if !dir.is_dir() {
        return Err(StoreError::NotADirectory(dir.to_path_buf()));
    }
    // Layers are independent files: read and parsed on every core (start-up time, issue 15;
    // buildings alone is about half the bytes, so two cores take it and the rest). The first
    // error in layer order is the one reported, as in a sequential read.
    let present: Vec<(LayerId, PathBuf)> = LayerId::ALL
        .into_iter()
        .map(|layer| (layer, dir.join(layer.file_name())))
        .filter(|(_, path)| path.exists())
        .collect();
    let read: Vec<Result<Vec<Feature>, StoreError>> = present
        .par_iter()
        .map(|(_, path)| read_layer(path))
        .collect();
    let mut layers = BTreeMap::new();
    for ((layer, _), features) in present.into_iter().zip(read) {
        layers.insert(layer, Arc::new(features?));
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
///
/// Streams: each feature is converted as soon as it is parsed, so memory holds the text, the
/// features made so far and one feature in flight. (geojson's `GeoJson` parse buffers the whole
/// file as a serde `Content` tree first, then a tree of features; for a layer of thousands of
/// buildings that peak, kept by the allocator, was most of the resident memory at start and a
/// third of the load time.)
pub fn parse_layer(path: &Path, text: &str) -> Result<Vec<Feature>, StoreError> {
    let mut conv = Converter {
        path,
        seen: HashSet::new(),
        interner: Interner::new(),
        out: Vec::new(),
        failed: None,
    };
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = Top(&mut conv)
        .deserialize(&mut de)
        .and_then(|shape| de.end().map(|()| shape));
    if let Some(e) = conv.failed {
        return Err(e);
    }
    let parse_err = |message: String| StoreError::Parse {
        path: path.to_path_buf(),
        message,
    };
    match parsed.map_err(|e| parse_err(geojson::Error::from(e).to_string()))? {
        Shape::Collection => {}
        Shape::NoFeatures => return Err(parse_err("missing field `features`".into())),
        Shape::Other => return Err(parse_err("top level must be a FeatureCollection".into())),
    }
    let mut out = conv.out;
    out.shrink_to_fit();
    Ok(out)
}

/// What the top-level object turned out to be.
enum Shape {
    Collection,
    NoFeatures,
    Other,
}

/// Turns parsed features into [`Feature`]s one by one; the first failure is kept in `failed`
/// (the parse is then stopped with a placeholder serde error).
struct Converter<'a> {
    path: &'a Path,
    seen: HashSet<String>,
    interner: Interner,
    out: Vec<Feature>,
    failed: Option<StoreError>,
}

impl Converter<'_> {
    fn push(&mut self, f: geojson::Feature) -> Result<(), StoreError> {
        let i = self.out.len();
        let feature_err = |id: &str, message: String| StoreError::Feature {
            path: self.path.to_path_buf(),
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
        if !self.seen.insert(id.clone()) {
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
        let properties = self.interner.props(f.properties.unwrap_or_default());
        self.out.push(Feature {
            id,
            geometry,
            elevation_m,
            properties,
        });
        Ok(())
    }
}

/// The top-level object: `type` checked, `features` streamed, other members skipped.
struct Top<'c, 'a>(&'c mut Converter<'a>);

impl<'de> DeserializeSeed<'de> for Top<'_, '_> {
    type Value = Shape;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Shape, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Top<'_, '_> {
    type Value = Shape;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a GeoJSON FeatureCollection object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape, A::Error> {
        let mut kind: Option<String> = None;
        let mut features = false;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match &*key {
                "type" => kind = Some(map.next_value()?),
                "features" => {
                    map.next_value_seed(Features(&mut *self.0))?;
                    features = true;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(
            match (kind.as_deref() == Some("FeatureCollection"), features) {
                (true, true) => Shape::Collection,
                (true, false) => Shape::NoFeatures,
                (false, _) => Shape::Other,
            },
        )
    }
}

/// The `features` array, converted element by element.
struct Features<'c, 'a>(&'c mut Converter<'a>);

impl<'de> DeserializeSeed<'de> for Features<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Features<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of GeoJSON Features")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(f) = seq.next_element::<geojson::Feature>()? {
            if let Err(e) = self.0.push(f) {
                self.0.failed = Some(e);
                return Err(serde::de::Error::custom("feature rejected"));
            }
        }
        Ok(())
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<Feature>, StoreError> {
        parse_layer(Path::new("t.geojson"), text)
    }

    #[test]
    fn streams_features_in_any_member_order_and_skips_foreign_members() {
        let fs = parse(
            r#"{"features":[{"type":"Feature","id":"a","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"k":"v","n":3}},
                {"type":"Feature","id":"b","geometry":{"type":"Point","coordinates":[3,4]},"properties":null}],
               "name":{"x":[1]},"type":"FeatureCollection"}"#,
        )
        .expect("parses");
        assert_eq!(fs.len(), 2);
        assert_eq!(fs[0].str_prop("k"), Some("v"));
        assert_eq!(fs[0].u64_prop("n"), Some(3));
        assert!(fs[1].properties.is_empty());
    }

    #[test]
    fn rejects_other_shapes_naming_the_problem() {
        let msg = |t: &str| parse(t).unwrap_err().to_string();
        assert!(
            msg(r#"{"type":"Feature","geometry":null,"properties":{}}"#)
                .contains("top level must be a FeatureCollection")
        );
        assert!(msg(r#"{"type":"FeatureCollection"}"#).contains("missing field `features`"));
        assert!(msg(r#"{"type":"FeatureCollection","features":[]} x"#).contains("t.geojson"));
        assert!(msg(r#"{"type":"FeatureCollection","features":[{"type":"Feature","id":"a","geometry":null,"properties":{}}]}"#)
            .contains("feature 'a': feature has no geometry"));
        let dup = r#"{"type":"Feature","id":"a","geometry":{"type":"Point","coordinates":[1,2]}}"#;
        assert!(
            msg(&format!(
                r#"{{"type":"FeatureCollection","features":[{dup},{dup}]}}"#
            ))
            .contains("duplicate id")
        );
    }
}
