//! GeoJSON text of features and geometries (RFC 7946), deterministic: same input, same bytes,
//! 7 decimals. Pure conversion, no I/O; the store writes files with it and the API answers
//! with it.

use geo::{Coord, Geometry, LineString, Polygon};
use serde_json::{Map, Value, json};

use super::Feature;

/// Round a coordinate to 7 decimals (~1 cm), the precision the files promise.
#[must_use]
pub fn round7(v: f64) -> f64 {
    (v * 1e7).round() / 1e7
}

fn pos(c: Coord<f64>) -> Value {
    json!([round7(c.x), round7(c.y)])
}

fn ring(ls: &LineString<f64>) -> Value {
    Value::Array(ls.0.iter().map(|c| pos(*c)).collect())
}

fn polygon(p: &Polygon<f64>) -> Value {
    let mut rings = vec![ring(p.exterior())];
    rings.extend(p.interiors().iter().map(ring));
    Value::Array(rings)
}

/// GeoJSON geometry object for a feature, with 3D positions when the feature has elevations.
#[must_use]
pub fn geometry_json(g: &Geometry<f64>, elevation_m: Option<&[f64]>) -> Value {
    match g {
        Geometry::Point(p) => json!({"type": "Point", "coordinates": pos(p.0)}),
        Geometry::LineString(ls) => {
            let coords: Vec<Value> = match elevation_m {
                Some(z) if z.len() == ls.0.len() => ls
                    .0
                    .iter()
                    .zip(z)
                    .map(|(c, z)| json!([round7(c.x), round7(c.y), (z * 100.0).round() / 100.0]))
                    .collect(),
                _ => ls.0.iter().map(|c| pos(*c)).collect(),
            };
            json!({"type": "LineString", "coordinates": coords})
        }
        Geometry::Polygon(p) => json!({"type": "Polygon", "coordinates": polygon(p)}),
        Geometry::MultiPolygon(mp) => json!({
            "type": "MultiPolygon",
            "coordinates": mp.0.iter().map(polygon).collect::<Vec<_>>(),
        }),
        Geometry::MultiLineString(ml) => json!({
            "type": "MultiLineString",
            "coordinates": ml.0.iter().map(ring).collect::<Vec<_>>(),
        }),
        Geometry::MultiPoint(mp) => json!({
            "type": "MultiPoint",
            "coordinates": mp.0.iter().map(|p| pos(p.0)).collect::<Vec<_>>(),
        }),
        other => {
            // The layers never hold these; keep the writer total anyway.
            let gj = geojson::Geometry::from(other);
            serde_json::to_value(gj).unwrap_or(Value::Null)
        }
    }
}

/// A GeoJSON Feature object.
#[must_use]
pub fn feature_json(f: &Feature) -> Value {
    json!({
        "type": "Feature",
        "id": f.id,
        "geometry": geometry_json(&f.geometry, f.elevation_m.as_deref()),
        "properties": &f.properties,
    })
}

/// Serialise a layer: one feature per line so diffs of the committed data stay readable.
#[must_use]
pub fn layer_text(features: &[Feature], collection_props: Option<&Map<String, Value>>) -> String {
    let mut s = String::from("{\"type\":\"FeatureCollection\",");
    if let Some(p) = collection_props {
        for (k, v) in p {
            s.push_str(&serde_json::to_string(k).unwrap_or_default());
            s.push(':');
            s.push_str(&v.to_string());
            s.push(',');
        }
    }
    s.push_str("\"features\":[\n");
    for (i, f) in features.iter().enumerate() {
        s.push_str(&feature_json(f).to_string());
        if i + 1 < features.len() {
            s.push(',');
        }
        s.push('\n');
    }
    s.push_str("]}\n");
    s
}
