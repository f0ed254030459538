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

/// Append `round7(v)` as JSON: the same bytes as `serde_json` prints for it, written from
/// the integer count of 1e-7 steps instead of by the general shortest-float algorithm (a
/// polygon answer is mostly coordinates, and their printing was most of writing one).
///
/// Why the bytes are the same: `round7(v)` is the double nearest `k / 10⁷`. Below 2²⁸ doubles
/// are spaced less than 10⁻⁷ apart, so no other decimal of as many digits or fewer rounds to
/// it; the shortest representation `serde_json` (ryu) prints is then `k / 10⁷` with its
/// trailing zeros dropped, in plain notation from 10⁻⁴ up (`"106.5264072"`, `"29.0"`). Other
/// values (zero and its sign, tiny, huge, not finite) go through `serde_json` itself.
pub fn write_round7(out: &mut Vec<u8>, v: f64) {
    let k = (v * 1e7).round();
    if !(1e3..1e15).contains(&k.abs()) {
        if serde_json::to_writer(&mut *out, &round7(v)).is_err() {
            out.extend_from_slice(b"null");
        }
        return;
    }
    // Exact: an integer-valued double below 2⁵³. Written into one stack buffer (sign, up to
    // 8 integer digits, point, 7 decimals), appended whole (a fixed-size copy, not a call to
    // `memcpy`) and cut back to its length.
    // (Through `i64`, which one instruction converts to; `u64` takes several.)
    let k_abs = (k as i64).unsigned_abs();
    let mut buf = [0u8; 24];
    let mut n = 0;
    if k < 0.0 {
        buf[0] = b'-';
        n = 1;
    }
    let (int, frac) = (k_abs / 10_000_000, (k_abs % 10_000_000) as u32);
    let int_digits = if int < 10 {
        1
    } else if int < 100 {
        2
    } else if int < 1000 {
        3
    } else {
        int.ilog10() as usize + 1
    };
    let mut rest = int;
    for d in buf[n..n + int_digits].iter_mut().rev() {
        *d = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    n += int_digits;
    buf[n] = b'.';
    n += 1;
    if frac == 0 {
        buf[n] = b'0';
        n += 1;
    } else {
        let pairs = [frac / 100_000, frac / 1000 % 100, frac / 10 % 100];
        for (i, pair) in pairs.into_iter().enumerate() {
            let pair = pair as usize * 2;
            buf[n + 2 * i..n + 2 * i + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
        }
        buf[n + 6] = b'0' + (frac % 10) as u8;
        let mut len = 7;
        while buf[n + len - 1] == b'0' {
            len -= 1;
        }
        n += len;
    }
    let len = out.len() + n;
    out.extend_from_slice(&buf);
    out.truncate(len);
}

/// "00" to "99", for writing two decimal digits at a time (here and in the batch answers).
pub(crate) const DIGIT_PAIRS: &[u8; 200] = b"\
    0001020304050607080910111213141516171819\
    2021222324252627282930313233343536373839\
    4041424344454647484950515253545556575859\
    6061626364656667686970717273747576777879\
    8081828384858687888990919293949596979899";

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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::{round7, write_round7};

    fn serde_bytes(v: f64) -> String {
        serde_json::to_string(&round7(v)).unwrap()
    }

    fn ours(v: f64) -> String {
        let mut out = Vec::new();
        write_round7(&mut out, v);
        String::from_utf8(out).unwrap()
    }

    /// `write_round7` against `serde_json` on random values of every magnitude from 10⁻⁹ to
    /// 10¹⁰ (both signs, fixed seed), on values near the fast path's bounds, and on the ones
    /// it hands to `serde_json`.
    #[test]
    fn write_round7_prints_what_serde_json_prints() {
        let mut seed = 0x2545_F491_4F6C_DD1D_u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut checked = 0;
        for _ in 0..400_000 {
            let r = next();
            let mantissa = (r >> 11) as f64 / (1u64 << 53) as f64;
            let exp = (next() % 20) as i32 - 9;
            let mut v = (1.0 + mantissa) * 10f64.powi(exp);
            if r & 1 == 1 {
                v = -v;
            }
            // Coordinates of the data itself are already on the 1e-7 grid: those too.
            for x in [v, round7(v), (v * 1e7).trunc() / 1e7] {
                assert_eq!(ours(x), serde_bytes(x), "{x:e}");
                checked += 1;
            }
        }
        let edges = [
            0.0,
            -0.0,
            1e-8,
            -1e-8,
            4e-8,
            5e-8,
            1e-4,
            -1e-4,
            0.99999999e-4,
            1.00000001e-4,
            0.00012345,
            1.0,
            -1.0,
            29.0,
            106.0,
            180.0,
            -180.0,
            90.0,
            29.47,
            106.5264072,
            0.1,
            0.2,
            0.3,
            1e8,
            99_999_999.999_999_9,
            1e9,
            2f64.powi(28),
            2f64.powi(29),
            1e15,
            1e16,
            1e300,
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        for x in edges {
            assert_eq!(ours(x), serde_bytes(x), "{x:e}");
        }
        assert!(checked > 1_000_000);
    }
}
