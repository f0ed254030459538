//! A GeoJSON Feature parsed straight into what the store keeps: the id, the coordinates as plain
//! numbers (x, y and an elevation) and the properties interned as they are read.
//!
//! geojson's own `Feature` was most of the read time at start-up (issue 15): its
//! `#[serde(flatten)]` foreign members make serde buffer every feature, and then every geometry,
//! as a generic `Content` tree before deserialising it a second time; each 3D walkway position
//! is a heap vector; the properties become a `serde_json::Map` that is then converted and freed.
//! Here one pass over the text makes positions inline ([`Pos`]), property values already
//! interned, and nothing else. Shape errors (a LineString with polygon coordinates, an unknown
//! geometry type) are kept in the raw feature and reported by the reader with the feature's id,
//! which may come after the geometry in the text.

use std::fmt;

use serde::Deserializer;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Number;

use crate::model::props::ObjectSeed;
use crate::model::{Interner, Props};

/// One position as read: longitude, latitude and, when there is a third number, the
/// elevation. `n` counts the numbers the file gave (GeoJSON allows more; they are not kept).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Pos {
    pub x: f64,
    pub y: f64,
    pub z: f64,
    pub n: u32,
}

impl Pos {
    fn push(&mut self, v: f64) {
        match self.n {
            0 => self.x = v,
            1 => self.y = v,
            2 => self.z = v,
            _ => {}
        }
        self.n = self.n.saturating_add(1);
    }
}

/// The `coordinates` member, flat: every position in order, with where each list of positions
/// ends and where each list of lists ends. `depth` is GeoJSON's nesting: 0 a position, 1 a list
/// of positions, 2 a list of lists (rings, lines), 3 a list of those (polygons); `[]` reads as
/// an empty list (depth 1). One buffer serves every feature of a layer (cleared, its capacity
/// kept), so reading coordinates allocates nothing per feature once it has grown.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Coords {
    pub depth: u8,
    pub pos: Vec<Pos>,
    /// For each list of positions (depth ≥ 1), the end of its positions in `pos`.
    line_ends: Vec<u32>,
    /// For each list of lists (depth 3), the end of its lists in `line_ends`.
    poly_ends: Vec<u32>,
}

impl Coords {
    fn clear(&mut self) {
        self.depth = 0;
        self.pos.clear();
        self.line_ends.clear();
        self.poly_ends.clear();
    }

    /// The lists of positions from list `from` to list `to` (exclusive).
    fn lines_in(&self, from: usize, to: usize) -> impl Iterator<Item = &[Pos]> {
        (from..to).map(move |i| {
            let start = if i == 0 {
                0
            } else {
                self.line_ends[i - 1] as usize
            };
            &self.pos[start..self.line_ends[i] as usize]
        })
    }

    /// Every list of positions (the lines or rings at depth 2, the one list at depth 1).
    pub fn lines(&self) -> impl Iterator<Item = &[Pos]> {
        self.lines_in(0, self.line_ends.len())
    }

    /// The polygons at depth 3, each as its rings.
    pub fn polygons(&self) -> impl Iterator<Item = impl Iterator<Item = &[Pos]>> {
        (0..self.poly_ends.len()).map(move |i| {
            let start = if i == 0 {
                0
            } else {
                self.poly_ends[i - 1] as usize
            };
            self.lines_in(start, self.poly_ends[i] as usize)
        })
    }
}

/// Parses a `coordinates` array into a cleared [`Coords`].
struct CoordsSeed<'b>(&'b mut Coords);

impl<'de> DeserializeSeed<'de> for CoordsSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.0.clear();
        let depth = d.deserialize_seq(ArrayVisitor(&mut *self.0))?;
        self.0.depth = depth;
        Ok(())
    }
}

/// An element of a coordinates array: a number, or an array of the given depth.
enum Elem {
    Number(f64),
    Array(u8),
}

struct ElemSeed<'b>(&'b mut Coords);

impl<'de> DeserializeSeed<'de> for ElemSeed<'_> {
    type Value = Elem;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Elem, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ElemSeed<'_> {
    type Value = Elem;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a coordinate element (number or array)")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Elem, E> {
        Ok(Elem::Number(v as f64))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Elem, E> {
        Ok(Elem::Number(v as f64))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Elem, E> {
        Ok(Elem::Number(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Elem, A::Error> {
        ArrayVisitor(self.0).visit_seq(seq).map(Elem::Array)
    }
}

/// One array of coordinates, appended to the buffer; returns its depth.
struct ArrayVisitor<'b>(&'b mut Coords);

impl<'de> Visitor<'de> for ArrayVisitor<'_> {
    type Value = u8;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of coordinates")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<u8, A::Error> {
        let buf = self.0;
        let depth = match seq.next_element_seed(ElemSeed(&mut *buf))? {
            None => 1,
            Some(Elem::Number(x)) => {
                let mut p = Pos::default();
                p.push(x);
                while let Some(v) = seq.next_element::<f64>()? {
                    p.push(v);
                }
                buf.pos.push(p);
                return Ok(0);
            }
            Some(Elem::Array(d)) => {
                while let Some(e) = seq.next_element_seed(ElemSeed(&mut *buf))? {
                    if !matches!(e, Elem::Array(d2) if d2 == d) {
                        return Err(de::Error::custom("coordinates mix nesting depths"));
                    }
                }
                d + 1
            }
        };
        let end = |n: usize| u32::try_from(n).map_err(|_| de::Error::custom("too many positions"));
        match depth {
            1 => buf.line_ends.push(end(buf.pos.len())?),
            2 => buf.poly_ends.push(end(buf.line_ends.len())?),
            3 => {}
            _ => return Err(de::Error::custom("coordinate nesting too deep")),
        }
        Ok(depth)
    }
}

/// The geometry types of GeoJSON, and any other name a file gave (refused with the feature).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum GeomKind {
    Point,
    MultiPoint,
    LineString,
    MultiLineString,
    Polygon,
    MultiPolygon,
    GeometryCollection,
    Other(String),
}

impl GeomKind {
    fn parse(s: &str) -> GeomKind {
        match s {
            "Point" => GeomKind::Point,
            "MultiPoint" => GeomKind::MultiPoint,
            "LineString" => GeomKind::LineString,
            "MultiLineString" => GeomKind::MultiLineString,
            "Polygon" => GeomKind::Polygon,
            "MultiPolygon" => GeomKind::MultiPolygon,
            "GeometryCollection" => GeomKind::GeometryCollection,
            other => GeomKind::Other(other.to_string()),
        }
    }
}

/// A geometry object as read; its members are checked against its type by the reader. Its
/// coordinates are in the buffer it was read with.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawGeometry {
    /// `None` when the object had no `type`.
    pub kind: Option<GeomKind>,
    pub has_coordinates: bool,
    /// A GeometryCollection's members, each with its coordinates.
    pub geometries: Option<Vec<(RawGeometry, Coords)>>,
}

/// A feature's `id` as read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawId {
    String(String),
    Number(Number),
}

/// One feature as read.
#[derive(Debug)]
pub(crate) struct RawFeature {
    pub id: Option<RawId>,
    /// `None` when absent or `null`.
    pub geometry: Option<RawGeometry>,
    pub properties: Props,
}

/// Reads one Feature object, interning its property keys and strings in `0` and reading its
/// coordinates into `1`.
pub(crate) struct FeatureSeed<'i>(pub &'i mut Interner, pub &'i mut Coords);

impl<'de> DeserializeSeed<'de> for FeatureSeed<'_> {
    type Value = RawFeature;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<RawFeature, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FeatureSeed<'_> {
    type Value = RawFeature;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a GeoJSON Feature object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawFeature, A::Error> {
        let mut kind_ok: Option<bool> = None;
        let mut kind_seen = String::new();
        let mut id = None;
        let mut geometry = None;
        let mut properties = Props::default();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match &*key {
                "type" => {
                    let k = map.next_value::<std::borrow::Cow<'de, str>>()?;
                    kind_ok = Some(k == "Feature");
                    if k != "Feature" {
                        kind_seen = k.into_owned();
                    }
                }
                "id" => id = map.next_value::<Option<IdValue>>()?.map(|v| v.0),
                "geometry" => geometry = map.next_value_seed(GeometrySeed(&mut *self.1))?,
                "properties" => {
                    properties = map
                        .next_value_seed(OptionalProps(&mut *self.0))?
                        .unwrap_or_default();
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        match kind_ok {
            None => Err(de::Error::missing_field("type")),
            Some(false) => Err(de::Error::unknown_variant(&kind_seen, &["Feature"])),
            Some(true) => Ok(RawFeature {
                id,
                geometry,
                properties,
            }),
        }
    }
}

/// An `id` member: a string or a number, as GeoJSON allows.
struct IdValue(RawId);

impl<'de> de::Deserialize<'de> for IdValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<IdValue, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = IdValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("Feature 'id' must be a string or a number")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<IdValue, E> {
                Ok(IdValue(RawId::String(s.to_string())))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<IdValue, E> {
                Ok(IdValue(RawId::String(s)))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<IdValue, E> {
                Ok(IdValue(RawId::Number(n.into())))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<IdValue, E> {
                Ok(IdValue(RawId::Number(n.into())))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<IdValue, E> {
                Number::from_f64(n)
                    .map(|n| IdValue(RawId::Number(n)))
                    .ok_or_else(|| E::custom("Feature 'id' must be a string or a number"))
            }
        }
        d.deserialize_any(V)
    }
}

/// A geometry object (or `null`), its coordinates read into the given buffer.
pub(crate) struct GeometrySeed<'b>(pub &'b mut Coords);

impl<'de> DeserializeSeed<'de> for GeometrySeed<'_> {
    type Value = Option<RawGeometry>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<RawGeometry>, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for GeometrySeed<'_> {
    type Value = Option<RawGeometry>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Geometry object")
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<RawGeometry>, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<RawGeometry>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<RawGeometry>, D::Error> {
        d.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<RawGeometry>, A::Error> {
        let mut g = RawGeometry {
            kind: None,
            has_coordinates: false,
            geometries: None,
        };
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match &*key {
                "type" => {
                    let k = map.next_value::<std::borrow::Cow<'de, str>>()?;
                    g.kind = Some(GeomKind::parse(&k));
                }
                "coordinates" => {
                    map.next_value_seed(CoordsSeed(&mut *self.0))?;
                    g.has_coordinates = true;
                }
                "geometries" => g.geometries = Some(map.next_value_seed(Members)?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Some(g))
    }
}

/// A GeometryCollection's `geometries`: each member with its own coordinates.
struct Members;

impl<'de> DeserializeSeed<'de> for Members {
    type Value = Vec<(RawGeometry, Coords)>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Members {
    type Value = Vec<(RawGeometry, Coords)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of Geometry objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        loop {
            let mut coords = Coords::default();
            match seq.next_element_seed(GeometrySeed(&mut coords))? {
                None => return Ok(out),
                Some(None) => return Err(de::Error::custom("a member geometry is null")),
                Some(Some(g)) => out.push((g, coords)),
            }
        }
    }
}

/// `properties`: an object, or `null` (no properties).
struct OptionalProps<'i>(&'i mut Interner);

impl<'de> DeserializeSeed<'de> for OptionalProps<'_> {
    type Value = Option<Props>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<Props>, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for OptionalProps<'_> {
    type Value = Option<Props>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<Props>, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<Props>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<Props>, D::Error> {
        d.deserialize_map(ObjectSeed(self.0)).map(Some)
    }
}
