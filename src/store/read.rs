//! Read a data directory: every `<layer>.geojson` present plus `categories.json`.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;
use serde::Deserializer;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::model::{Feature, Interner, LayerId, Taxonomy};

use super::feature_de::{Coords, FeatureSeed, GeomKind, Pos, RawFeature, RawGeometry, RawId};
use super::{Dataset, Manifest, StoreError};

/// Read every layer file present in `dir`. Missing layers are simply absent; a file that is
/// present but malformed fails with the file and, where one is at fault, the feature named.
pub fn read_dir(dir: &Path) -> Result<Dataset, StoreError> {
    if !dir.is_dir() {
        return Err(StoreError::NotADirectory(dir.to_path_buf()));
    }
    // Layers are independent files: read and parsed on every core (start-up time, issue 15).
    // Parsing costs about as much per byte in every layer, and buildings and walkways are
    // two thirds of the bytes: split by halves of the list in layer order, one core got
    // walkways and six small layers (16.8 ms CPU on the default data) while the other had
    // buildings and compounds (11.6 ms). The files are dealt largest first, each to the
    // lightest share (by bytes), one share per thread of the pool (14.5 and 13.8 ms). The
    // first error in layer order is the one reported, as in a sequential read.
    let present: Vec<(LayerId, PathBuf, u64)> = LayerId::ALL
        .into_iter()
        .map(|layer| (layer, dir.join(layer.file_name())))
        .filter_map(|(layer, path)| {
            let bytes = std::fs::metadata(&path).ok()?.len();
            Some((layer, path, bytes))
        })
        .collect();
    type Parsed = Result<Vec<Feature>, StoreError>;
    let read: Vec<Parsed> = {
        let mut by_size: Vec<usize> = (0..present.len()).collect();
        by_size.sort_by_key(|&i| std::cmp::Reverse(present[i].2));
        let mut shares: Vec<(u64, Vec<usize>)> =
            vec![(0, Vec::new()); rayon::current_num_threads().clamp(1, present.len().max(1))];
        for i in by_size {
            if let Some(lightest) = shares.iter_mut().min_by_key(|(bytes, _)| *bytes) {
                lightest.0 += present[i].2;
                lightest.1.push(i);
            }
        }
        let parsed: Vec<Vec<(usize, Parsed)>> = shares
            .into_par_iter()
            .with_max_len(1)
            .map(|(_, files)| {
                files
                    .into_iter()
                    .map(|i| (i, read_layer(&present[i].1)))
                    .collect()
            })
            .collect();
        let mut parsed: Vec<(usize, Parsed)> = parsed.into_iter().flatten().collect();
        parsed.sort_by_key(|(i, _)| *i);
        parsed.into_iter().map(|(_, r)| r).collect()
    };
    let mut layers = BTreeMap::new();
    for ((layer, _, _), features) in present.into_iter().zip(read) {
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
    let mut stages = crate::stages::Stages::start("read layer");
    let text = read_text(path)?;
    let out = parse_layer(path, &text);
    stages.lap(&path.display().to_string());
    out
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
        coords: Coords::default(),
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
    /// The coordinates of the feature being read (one buffer for the layer).
    coords: Coords,
    out: Vec<Feature>,
    failed: Option<StoreError>,
}

impl Converter<'_> {
    fn push(&mut self, f: RawFeature) -> Result<(), StoreError> {
        let i = self.out.len();
        let feature_err = |id: &str, message: String| StoreError::Feature {
            path: self.path.to_path_buf(),
            id: id.to_string(),
            message,
        };
        let id = match f.id {
            Some(RawId::String(s)) => s,
            Some(RawId::Number(n)) => {
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
        let c = &self.coords;
        let elevation_m = match &g.kind {
            Some(GeomKind::LineString)
                if g.has_coordinates && c.depth == 1 && c.pos.iter().any(|p| p.n >= 3) =>
            {
                if c.pos.iter().any(|p| p.n < 3) {
                    return Err(feature_err(
                        &id,
                        "some positions have an elevation and some do not".into(),
                    ));
                }
                Some(c.pos.iter().map(|p| p.z).collect())
            }
            _ => None,
        };
        let geometry =
            to_geometry(&g, c).map_err(|e| feature_err(&id, format!("bad geometry: {e}")))?;
        if let Some(bad) = first_non_finite(&geometry) {
            return Err(feature_err(
                &id,
                format!("non-finite or out-of-range coordinate {bad:?}"),
            ));
        }
        self.out.push(Feature {
            id,
            geometry,
            elevation_m,
            properties: f.properties,
        });
        Ok(())
    }
}

/// A geometry as read, with its coordinates `c`, checked against its type: the coordinates'
/// nesting must be the type's (an empty array is an empty geometry of any type but Point), and
/// every position needs a longitude and a latitude. Rings are closed as geo closes them.
fn to_geometry(g: &RawGeometry, c: &Coords) -> Result<geo::Geometry<f64>, String> {
    use geo::{Geometry, MultiLineString, MultiPoint, MultiPolygon, Point};
    let Some(kind) = &g.kind else {
        return Err("the geometry has no type".into());
    };
    if let GeomKind::Other(name) = kind {
        return Err(format!("unknown geometry type '{name}'"));
    }
    if let GeomKind::GeometryCollection = kind {
        let Some(members) = &g.geometries else {
            return Err("a GeometryCollection needs `geometries`".into());
        };
        return members
            .iter()
            .map(|(g, c)| to_geometry(g, c))
            .collect::<Result<Vec<_>, _>>()
            .map(|gs| Geometry::GeometryCollection(geo::GeometryCollection(gs)));
    }
    if !g.has_coordinates {
        return Err(format!("a {kind:?} needs `coordinates`"));
    }
    let empty = c.depth == 1 && c.pos.is_empty();
    if c.pos.iter().any(|p| p.n < 2) || (empty && *kind == GeomKind::Point) {
        return Err("every position needs a longitude and a latitude".into());
    }
    // Each vector is collected from an exact-size iterator: no spare capacity stays with the
    // feature for the life of the server (resident memory, issue 15).
    Ok(match (kind, c.depth) {
        (GeomKind::Point, 0) => Geometry::Point(Point::new(c.pos[0].x, c.pos[0].y)),
        (GeomKind::MultiPoint, 1) => Geometry::MultiPoint(MultiPoint(
            c.pos.iter().map(|p| Point::new(p.x, p.y)).collect(),
        )),
        (GeomKind::LineString, 1) => Geometry::LineString(line(&c.pos)),
        (GeomKind::MultiLineString, 2) => {
            Geometry::MultiLineString(MultiLineString(c.lines().map(line).collect()))
        }
        (GeomKind::Polygon, 2) => Geometry::Polygon(polygon(c.lines())),
        (GeomKind::MultiPolygon, 3) => {
            Geometry::MultiPolygon(MultiPolygon(c.polygons().map(polygon).collect()))
        }
        (GeomKind::MultiLineString, _) if empty => {
            Geometry::MultiLineString(MultiLineString(Vec::new()))
        }
        (GeomKind::Polygon, _) if empty => Geometry::Polygon(polygon(std::iter::empty())),
        (GeomKind::MultiPolygon, _) if empty => Geometry::MultiPolygon(MultiPolygon(Vec::new())),
        (kind, _) => {
            return Err(format!(
                "the coordinates of a {kind:?} are not nested as its type needs"
            ));
        }
    })
}

/// The line of checked positions (each has x and y).
fn line(ps: &[Pos]) -> geo::LineString<f64> {
    geo::LineString::new(ps.iter().map(|p| geo::Coord { x: p.x, y: p.y }).collect())
}

/// The polygon of checked rings, the first the exterior (empty when there is none).
fn polygon<'a>(mut rings: impl Iterator<Item = &'a [Pos]>) -> geo::Polygon<f64> {
    let exterior = rings.next().map_or_else(|| line(&[]), line);
    geo::Polygon::new(exterior, rings.map(line).collect())
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
        while let Some(f) =
            seq.next_element_seed(FeatureSeed(&mut self.0.interner, &mut self.0.coords))?
        {
            if let Err(e) = self.0.push(f) {
                self.0.failed = Some(e);
                return Err(serde::de::Error::custom("feature rejected"));
            }
        }
        Ok(())
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
    use crate::model::Props;

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

    /// The features of `text` as geojson's own reader and conversion made them (the reader
    /// before issue 15's typed parse), for comparison.
    fn via_geojson(text: &str) -> Vec<(String, geo::Geometry<f64>, Props)> {
        let fc: geojson::FeatureCollection = text.parse().expect("geojson parses");
        let mut interner = Interner::new();
        fc.features
            .into_iter()
            .map(|f| {
                let id = match f.id {
                    Some(geojson::feature::Id::String(s)) => s,
                    other => panic!("{other:?}"),
                };
                let g: geo::Geometry<f64> = f.geometry.expect("geometry").value.try_into().unwrap();
                (id, g, interner.props(f.properties.unwrap_or_default()))
            })
            .collect()
    }

    #[test]
    fn typed_parse_equals_geojson_on_every_geometry_type_and_property_kind() {
        let text = r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","id":"p","geometry":{"type":"Point","coordinates":[106.5,29.4]},
             "properties":{"n":3,"neg":-2,"f":1.50,"e":1e2,"s":"社区","b":true,"z":null,
                           "a":[1,"x",[2.5],{"k":"v"}],"o":{"k":1,"k":2,"j":0},"n":4}},
            {"type":"Feature","id":"mp","geometry":{"type":"MultiPoint","coordinates":[[1,2],[3,4,5]]},"properties":{}},
            {"type":"Feature","id":"l","geometry":{"coordinates":[[1,2],[3,4.25]],"type":"LineString","bbox":[0,0,1,1]}},
            {"type":"Feature","id":"ml","geometry":{"type":"MultiLineString","coordinates":[[[1,2],[3,4]],[[5,6],[7,8]]]}},
            {"type":"Feature","id":"pg","geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1]],[[0.2,0.2],[0.4,0.2],[0.3,0.3],[0.2,0.2]]]}},
            {"type":"Feature","id":"mpg","geometry":{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]],[[[5,5],[6,5],[6,6],[5,5]],[[5.1,5.1],[5.2,5.1],[5.1,5.2],[5.1,5.1]]]]}},
            {"type":"Feature","id":"e1","geometry":{"type":"Polygon","coordinates":[]}},
            {"type":"Feature","id":"e2","geometry":{"type":"MultiLineString","coordinates":[]}},
            {"type":"Feature","id":"e3","geometry":{"type":"LineString","coordinates":[]}},
            {"type":"Feature","id":"gc","geometry":{"type":"GeometryCollection","geometries":[
                {"type":"Point","coordinates":[1,2]},{"type":"LineString","coordinates":[[1,2],[3,4]]}]}}
        ]}"#;
        let ours = parse(text).expect("parses");
        let theirs = via_geojson(text);
        assert_eq!(ours.len(), theirs.len());
        for (f, (id, g, props)) in ours.iter().zip(&theirs) {
            assert_eq!(&f.id, id);
            assert_eq!(&f.geometry, g, "{id}");
            assert_eq!(&f.properties, props, "{id}");
            // Serialised exactly as before (number formatting, key order, duplicate keys).
            assert_eq!(
                serde_json::to_string(&f.properties).unwrap(),
                serde_json::to_string(props).unwrap()
            );
        }
    }

    #[test]
    fn walkway_elevations_are_kept_and_mixed_ones_refused() {
        let fs = parse(
            r#"{"type":"FeatureCollection","features":[{"type":"Feature","id":"w","geometry":{"type":"LineString","coordinates":[[1,2,200.5],[3,4,201]]},"properties":{}}]}"#,
        )
        .expect("parses");
        assert_eq!(fs[0].elevation_m, Some(vec![200.5, 201.0]));
        let err = parse(
            r#"{"type":"FeatureCollection","features":[{"type":"Feature","id":"w","geometry":{"type":"LineString","coordinates":[[1,2,200.5],[3,4]]},"properties":{}}]}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("feature 'w'") && err.contains("elevation"),
            "{err}"
        );
    }

    #[test]
    fn bad_geometries_are_refused_naming_the_feature() {
        let one = |geometry: &str| {
            parse(&format!(
                r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","geometry":{geometry},"properties":{{}},"id":"g1"}}]}}"#
            ))
            .unwrap_err()
            .to_string()
        };
        for (geometry, says) in [
            (
                r#"{"type":"Point","coordinates":[1]}"#,
                "longitude and a latitude",
            ),
            (
                r#"{"type":"Point","coordinates":[]}"#,
                "longitude and a latitude",
            ),
            (
                r#"{"type":"Polygon","coordinates":[[[1],[2,3],[4,5]]]}"#,
                "longitude and a latitude",
            ),
            (
                r#"{"type":"LineString","coordinates":[[[1,2],[3,4]]]}"#,
                "not nested",
            ),
            (r#"{"type":"Point","coordinates":[[1,2]]}"#, "not nested"),
            (
                r#"{"type":"Nope","coordinates":[1,2]}"#,
                "unknown geometry type 'Nope'",
            ),
            (r#"{"type":"Point"}"#, "needs `coordinates`"),
            (r#"{"coordinates":[1,2]}"#, "no type"),
            (r#"{"type":"Point","coordinates":[200,2]}"#, "out-of-range"),
        ] {
            let err = one(geometry);
            assert!(
                err.contains("feature 'g1'") && err.contains(says),
                "{geometry}: {err}"
            );
        }
        // Not JSON-shaped as coordinates at all: a parse error naming the file.
        for geometry in [
            r#"{"type":"LineString","coordinates":[[1,2],[[3,4]]]}"#,
            r#"{"type":"Point","coordinates":5}"#,
            r#"{"type":"Point","coordinates":[1,"x"]}"#,
            r#"{"type":"MultiPolygon","coordinates":[[[[[1,2]]]]]}"#,
        ] {
            assert!(one(geometry).contains("t.geojson"), "{geometry}");
        }
        let numeric = parse(
            r#"{"type":"FeatureCollection","features":[{"type":"Feature","id":7,"geometry":null,"properties":{}}]}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            numeric.contains("feature '7': id must be a string"),
            "{numeric}"
        );
        let not_feature = parse(
            r#"{"type":"FeatureCollection","features":[{"type":"Point","id":"a","coordinates":[1,2]}]}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(not_feature.contains("Feature"), "{not_feature}");
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
