//! `servicemap import geojson --layer L FILE --out DIR`: validate a user's own layer (usually
//! the administrative units: communities, grids) and copy it into a data directory, renaming
//! their property names to the data format's.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use geo::{Geometry, Orient as _, orient::Direction};
use serde_json::{Map, Value};

use super::ImportError;
use crate::model::{Area, Building, Crs, Facility, Feature, GeometryKind, LayerId, Walkway};
use crate::store::write::{layer_text, write_atomic};

/// How to read the user's file.
#[derive(Debug, Clone, Default)]
pub struct GeojsonImportOptions {
    /// Property holding the feature id; the GeoJSON `id` member when absent.
    pub id_property: Option<String>,
    /// Property holding the name, renamed to `name`.
    pub name_property: Option<String>,
    /// Further renames `(source, destination)`, applied after the id and name.
    pub map: Vec<(String, String)>,
    /// Coordinate system of the file (Chinese basemaps export GCJ-02 or BD-09).
    pub crs: Crs,
}

/// What was written.
#[derive(Debug, Clone, PartialEq)]
pub struct GeojsonImportSummary {
    pub layer: LayerId,
    pub features: usize,
    pub path: PathBuf,
}

/// Parse `src=dst`.
pub fn parse_mapping(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((a, b)) if !a.trim().is_empty() && !b.trim().is_empty() => {
            Ok((a.trim().to_string(), b.trim().to_string()))
        }
        _ => Err(format!(
            "mapping '{s}': write it as source_property=destination_property"
        )),
    }
}

/// The properties the data format requires of a layer, and what each must be.
fn required(layer: LayerId) -> &'static [(&'static str, Req)] {
    use Req::{Str, UInt};
    match layer {
        LayerId::Boundary | LayerId::Water => &[("name", Str)],
        LayerId::Communities => &[
            ("name", Str),
            ("code", Str),
            ("kind", Req::OneOf(&["community", "village"])),
        ],
        LayerId::Grids | LayerId::Compounds => &[("name", Str), ("community", Str)],
        LayerId::Microgrids => &[("name", Str), ("grid", Str), ("community", Str)],
        LayerId::Buildings => &[("households", UInt), ("residents", UInt)],
        LayerId::Facilities => &[("name", Str), ("category", Str)],
        LayerId::Walkways => &[(
            "kind",
            Req::OneOf(&["street", "footway", "stairs", "bridge"]),
        )],
    }
}

#[derive(Debug, Clone, Copy)]
enum Req {
    Str,
    UInt,
    OneOf(&'static [&'static str]),
}

fn check_property(props: &Map<String, Value>, key: &str, req: Req) -> Result<(), String> {
    let v = props.get(key);
    let ok = match req {
        Req::Str => v
            .and_then(Value::as_str)
            .is_some_and(|s| !s.trim().is_empty()),
        Req::UInt => v.and_then(Value::as_u64).is_some(),
        Req::OneOf(allowed) => v
            .and_then(Value::as_str)
            .is_some_and(|s| allowed.contains(&s)),
    };
    if ok {
        return Ok(());
    }
    let want = match req {
        Req::Str => "a non-empty string".to_string(),
        Req::UInt => "a non-negative integer".to_string(),
        Req::OneOf(a) => format!("one of {}", a.join(", ")),
    };
    let have = v.map_or("nothing".to_string(), Value::to_string);
    Err(format!(
        "property '{key}' must be {want}, found {have} (rename a property of yours with --map yours={key})"
    ))
}

fn id_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Validate `input` as layer `layer` and write it into `out` (created if needed). When the
/// directory has a `manifest.json`, its expected count for the layer is updated.
pub fn import_geojson(
    input: &Path,
    layer: LayerId,
    out: &Path,
    opts: &GeojsonImportOptions,
) -> Result<GeojsonImportSummary, ImportError> {
    let text = std::fs::read_to_string(input).map_err(|e| ImportError::Io {
        path: input.to_path_buf(),
        source: e,
    })?;
    let bad = |message: String| ImportError::Parse {
        path: input.to_path_buf(),
        message,
    };
    let gj: geojson::GeoJson = text
        .parse()
        .map_err(|e: geojson::Error| bad(e.to_string()))?;
    let geojson::GeoJson::FeatureCollection(fc) = gj else {
        return Err(bad("top level must be a FeatureCollection".into()));
    };
    let mut seen = HashSet::new();
    let mut features = Vec::with_capacity(fc.features.len());
    for (i, f) in fc.features.into_iter().enumerate() {
        let mut props = f.properties.unwrap_or_default();
        let id = match &opts.id_property {
            Some(p) => props.get(p).and_then(id_string),
            None => match &f.id {
                Some(geojson::feature::Id::String(s)) => Some(s.clone()),
                Some(geojson::feature::Id::Number(n)) => Some(n.to_string()),
                None => None,
            },
        };
        let Some(id) = id else {
            let hint = match &opts.id_property {
                Some(p) => format!("has no usable id property '{p}'"),
                None => {
                    "has no id: name the property that holds one with --id-property".to_string()
                }
            };
            return Err(bad(format!("feature #{i} {hint}")));
        };
        let fbad = |m: String| bad(format!("feature '{id}': {m}"));
        if !seen.insert(id.clone()) {
            return Err(fbad("duplicate id".into()));
        }
        if let Some(p) = &opts.name_property
            && let Some(v) = props.remove(p)
        {
            props.insert("name".into(), v);
        }
        for (src, dst) in &opts.map {
            if let Some(v) = props.remove(src) {
                props.insert(dst.clone(), v);
            }
        }
        for (key, req) in required(layer) {
            check_property(&props, key, *req).map_err(&fbad)?;
        }
        let Some(g) = f.geometry else {
            return Err(fbad("no geometry".into()));
        };
        let elevation_m = match &g.value {
            geojson::GeometryValue::LineString { coordinates }
                if coordinates.iter().all(|p| p.len() >= 3) =>
            {
                Some(coordinates.iter().map(|p| p[2]).collect::<Vec<f64>>())
            }
            _ => None,
        };
        let geometry: Geometry<f64> = g
            .value
            .try_into()
            .map_err(|e: geojson::Error| fbad(format!("bad geometry: {e}")))?;
        let geometry = to_wgs84(geometry, opts.crs);
        let geometry = shape_for(layer, geometry).map_err(&fbad)?;
        use geo::CoordsIter as _;
        if geometry
            .coords_iter()
            .any(|c| !c.x.is_finite() || !c.y.is_finite() || c.x.abs() > 180.0 || c.y.abs() > 90.0)
        {
            return Err(fbad(
                "coordinate out of range: is the file in lon/lat degrees (not a projected system)?"
                    .into(),
            ));
        }
        features.push(Feature {
            id,
            geometry,
            elevation_m,
            properties: props.into(),
        });
    }
    let text = layer_text(&features, None);
    // Read the result back as the service will, so a layer we write is one it can load.
    let path = out.join(layer.file_name());
    let back = crate::store::read::parse_layer(&path, &text)
        .map_err(|e| ImportError::Input(e.to_string()))?;
    for f in &back {
        typed_view(layer, f).map_err(ImportError::Input)?;
    }
    std::fs::create_dir_all(out).map_err(|e| ImportError::Write {
        path: out.to_path_buf(),
        source: e,
    })?;
    write_atomic(&path, &text).map_err(|e| ImportError::Write {
        path: path.clone(),
        source: e,
    })?;
    update_manifest(out, layer, features.len())?;
    Ok(GeojsonImportSummary {
        layer,
        features: features.len(),
        path,
    })
}

fn typed_view(layer: LayerId, f: &Feature) -> Result<(), String> {
    let r = match layer {
        LayerId::Facilities => Facility::from_feature(f).map(drop),
        LayerId::Buildings => Building::from_feature(f).map(drop),
        LayerId::Walkways => Walkway::from_feature(f).map(drop),
        LayerId::Grids | LayerId::Compounds => {
            Area::from_feature(layer, f, Some("community")).map(drop)
        }
        LayerId::Microgrids => Area::from_feature(layer, f, Some("grid")).map(drop),
        LayerId::Boundary | LayerId::Communities => Area::from_feature(layer, f, None).map(drop),
        LayerId::Water => Ok(()),
    };
    r.map_err(|e| e.to_string())
}

fn to_wgs84(g: Geometry<f64>, crs: Crs) -> Geometry<f64> {
    use geo::MapCoords as _;
    if crs == Crs::Wgs84 {
        return g;
    }
    g.map_coords(|c| {
        let (x, y) = crs.to_wgs84(c.x, c.y);
        geo::coord! { x: x, y: y }
    })
}

/// The geometry the layer needs: a one-part MultiPolygon becomes a Polygon; rings are oriented
/// as RFC 7946 asks (exterior counter-clockwise).
fn shape_for(layer: LayerId, g: Geometry<f64>) -> Result<Geometry<f64>, String> {
    let kind = layer.geometry_kind();
    match (kind, g) {
        (GeometryKind::Point, g @ Geometry::Point(_))
        | (GeometryKind::LineString, g @ Geometry::LineString(_)) => Ok(g),
        // A building may be drawn as its footprint (issue 13).
        (GeometryKind::Point, Geometry::Polygon(p)) if layer == LayerId::Buildings => {
            Ok(Geometry::Polygon(p.orient(Direction::Default)))
        }
        (GeometryKind::Polygon, Geometry::Polygon(p)) => {
            Ok(Geometry::Polygon(p.orient(Direction::Default)))
        }
        (GeometryKind::Polygon, Geometry::MultiPolygon(mut mp)) if mp.0.len() == 1 => {
            let p = mp.0.remove(0);
            Ok(Geometry::Polygon(p.orient(Direction::Default)))
        }
        (GeometryKind::Polygon, Geometry::MultiPolygon(mp)) if layer == LayerId::Water => {
            Ok(Geometry::MultiPolygon(mp.orient(Direction::Default)))
        }
        (_, other) => Err(format!(
            "geometry is a {} but layer {layer} needs a {}",
            geometry_name(&other),
            match kind {
                GeometryKind::Point if layer == LayerId::Buildings => "Point or Polygon",
                GeometryKind::Point => "Point",
                GeometryKind::LineString => "LineString",
                GeometryKind::Polygon => "Polygon (one part)",
            }
        )),
    }
}

fn geometry_name(g: &Geometry<f64>) -> &'static str {
    match g {
        Geometry::Point(_) => "Point",
        Geometry::LineString(_) => "LineString",
        Geometry::Polygon(_) => "Polygon",
        Geometry::MultiPolygon(m) if m.0.len() > 1 => "MultiPolygon of several parts",
        Geometry::MultiPolygon(_) => "MultiPolygon",
        Geometry::MultiPoint(_) => "MultiPoint",
        Geometry::MultiLineString(_) => "MultiLineString",
        _ => "other geometry",
    }
}

fn update_manifest(out: &Path, layer: LayerId, count: usize) -> Result<(), ImportError> {
    let path = out.join("manifest.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(());
    };
    let mut m: Value = serde_json::from_str(&text).map_err(|e| ImportError::Parse {
        path: path.clone(),
        message: e.to_string(),
    })?;
    if let Some(obj) = m.as_object_mut() {
        let counts = obj
            .entry("expected_counts")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(c) = counts.as_object_mut() {
            c.insert(layer.as_str().to_string(), Value::from(count));
        }
    }
    let text =
        serde_json::to_string_pretty(&m).map_err(|e| ImportError::Input(e.to_string()))? + "\n";
    write_atomic(&path, &text).map_err(|e| ImportError::Write { path, source: e })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_parse() {
        assert_eq!(
            parse_mapping("WGMC=name"),
            Ok(("WGMC".into(), "name".into()))
        );
        assert!(parse_mapping("name").is_err());
        assert!(parse_mapping("=x").is_err());
    }

    #[test]
    fn imports_grids_with_renamed_properties_and_rejects_bad_ones() {
        let dir = std::env::temp_dir().join(format!("servicemap-gj-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp");
        let input = dir.join("grids.in.geojson");
        // Clockwise exterior: the importer must turn it counter-clockwise.
        let fc = r#"{"type":"FeatureCollection","features":[
          {"type":"Feature","properties":{"WGBH":17,"WGMC":"一网格","SQ":"c1"},
           "geometry":{"type":"MultiPolygon","coordinates":[[[[106.5,29.4],[106.5,29.41],[106.51,29.41],[106.51,29.4],[106.5,29.4]]]]}}]}"#;
        std::fs::write(&input, fc).expect("write");
        let out = dir.join("out");
        let opts = GeojsonImportOptions {
            id_property: Some("WGBH".into()),
            name_property: Some("WGMC".into()),
            map: vec![("SQ".into(), "community".into())],
            crs: Crs::Wgs84,
        };
        let s = import_geojson(&input, LayerId::Grids, &out, &opts).expect("imports");
        assert_eq!(s.features, 1);
        let back = crate::store::read::read_layer(&out.join("grids.geojson")).expect("reads");
        assert_eq!(back[0].id, "17");
        assert_eq!(back[0].str_prop("name"), Some("一网格"));
        assert_eq!(back[0].str_prop("community"), Some("c1"));
        let Geometry::Polygon(p) = &back[0].geometry else {
            panic!("polygon")
        };
        use geo::Winding as _;
        assert!(p.exterior().is_ccw());

        let no_community = GeojsonImportOptions {
            map: vec![],
            ..opts.clone()
        };
        let err = import_geojson(&input, LayerId::Grids, &out, &no_community)
            .expect_err("community missing");
        assert!(err.to_string().contains("'community'"), "{err}");
        let err =
            import_geojson(&input, LayerId::Buildings, &out, &opts).expect_err("not buildings");
        assert!(err.to_string().contains("households"), "{err}");
        let no_id = GeojsonImportOptions {
            id_property: None,
            ..opts
        };
        let err = import_geojson(&input, LayerId::Grids, &out, &no_id).expect_err("no id");
        assert!(err.to_string().contains("--id-property"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
