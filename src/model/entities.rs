//! Typed views of the layers the algorithms use. Built once from [`Feature`]s at load; a
//! feature that lacks a required property is a load error naming the layer and the feature.

use geo::{Point, Polygon};

use super::feature::Feature;
use super::layer::LayerId;

/// Why a feature cannot be read as its typed view.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{layer} feature '{id}': {message}")]
pub struct FeatureError {
    pub layer: LayerId,
    pub id: String,
    pub message: String,
}

impl FeatureError {
    pub fn new(layer: LayerId, id: &str, message: impl Into<String>) -> Self {
        FeatureError {
            layer,
            id: id.to_string(),
            message: message.into(),
        }
    }
}

fn req_str(layer: LayerId, f: &Feature, key: &str) -> Result<String, FeatureError> {
    f.str_prop(key)
        .map(str::to_string)
        .ok_or_else(|| FeatureError::new(layer, &f.id, format!("missing string property '{key}'")))
}

fn req_u64(layer: LayerId, f: &Feature, key: &str) -> Result<u64, FeatureError> {
    f.u64_prop(key).ok_or_else(|| {
        FeatureError::new(
            layer,
            &f.id,
            format!("missing non-negative integer property '{key}'"),
        )
    })
}

fn point_of(layer: LayerId, f: &Feature) -> Result<Point<f64>, FeatureError> {
    match &f.geometry {
        geo::Geometry::Point(p) => Ok(*p),
        _ => Err(FeatureError::new(layer, &f.id, "geometry must be a Point")),
    }
}

/// A service facility (Point).
#[derive(Debug, Clone, PartialEq)]
pub struct Facility {
    pub id: String,
    pub name: String,
    pub category: String,
    /// WGS84 position.
    pub position: Point<f64>,
    /// Community / grid ids; absent in imported cities without administrative layers.
    pub community: Option<String>,
    pub grid: Option<String>,
}

impl Facility {
    pub fn from_feature(f: &Feature) -> Result<Self, FeatureError> {
        let l = LayerId::Facilities;
        Ok(Facility {
            id: f.id.clone(),
            name: f.str_prop("name").unwrap_or_default().to_string(),
            category: req_str(l, f, "category")?,
            position: point_of(l, f)?,
            community: f.str_prop("community").map(str::to_string),
            grid: f.str_prop("grid").map(str::to_string),
        })
    }
}

/// Where a building stands for walking, coverage and containment: its Point, or, for a
/// footprint (Polygon), a point inside it (geo's interior point: the centroid when that is
/// inside, which it is for the convex footprints of the model). `None` for another geometry.
/// geo's point, computed faster ([`super::interior`]).
#[must_use]
pub fn building_position(geometry: &geo::Geometry<f64>) -> Option<Point<f64>> {
    match geometry {
        geo::Geometry::Point(p) => Some(*p),
        geo::Geometry::Polygon(p) => super::interior::polygon_interior_point(p),
        _ => None,
    }
}

/// A residential building (a Point, or a Polygon footprint) with its household counts.
#[derive(Debug, Clone, PartialEq)]
pub struct Building {
    pub id: String,
    pub position: Point<f64>,
    pub households: u64,
    pub residents: u64,
    pub residents_60plus: u64,
    pub children_0_6: u64,
    pub microgrid: Option<String>,
    pub grid: Option<String>,
    pub community: Option<String>,
}

impl Building {
    pub fn from_feature(f: &Feature) -> Result<Self, FeatureError> {
        let l = LayerId::Buildings;
        Ok(Building {
            id: f.id.clone(),
            position: building_position(&f.geometry).ok_or_else(|| {
                FeatureError::new(l, &f.id, "geometry must be a Point or a Polygon footprint")
            })?,
            households: req_u64(l, f, "households")?,
            residents: req_u64(l, f, "residents")?,
            residents_60plus: f.u64_prop("residents_60plus").unwrap_or(0),
            children_0_6: f.u64_prop("children_0_6").unwrap_or(0),
            microgrid: f.str_prop("microgrid").map(str::to_string),
            grid: f.str_prop("grid").map(str::to_string),
            community: f.str_prop("community").map(str::to_string),
        })
    }
}

/// What a walkway segment is, which decides how fast (and whether) a profile walks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WalkwayKind {
    Street,
    Footway,
    Stairs,
    Bridge,
}

impl WalkwayKind {
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "street" => Some(WalkwayKind::Street),
            "footway" => Some(WalkwayKind::Footway),
            "stairs" => Some(WalkwayKind::Stairs),
            "bridge" => Some(WalkwayKind::Bridge),
            _ => None,
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            WalkwayKind::Street => "street",
            WalkwayKind::Footway => "footway",
            WalkwayKind::Stairs => "stairs",
            WalkwayKind::Bridge => "bridge",
        }
    }
}

/// A walkway (LineString): WGS84 vertices with elevations in metres, or none (treated as flat).
#[derive(Debug, Clone, PartialEq)]
pub struct Walkway {
    pub id: String,
    pub kind: WalkwayKind,
    pub name: Option<String>,
    /// (lon, lat) in degrees, in order.
    pub lonlat: Vec<(f64, f64)>,
    /// Elevation of each vertex in metres above sea level, when known.
    pub elevation_m: Option<Vec<f64>>,
}

impl Walkway {
    pub fn from_feature(f: &Feature) -> Result<Self, FeatureError> {
        let l = LayerId::Walkways;
        let kind_s = req_str(l, f, "kind")?;
        let kind = WalkwayKind::parse(&kind_s).ok_or_else(|| {
            FeatureError::new(
                l,
                &f.id,
                format!("unknown kind '{kind_s}': use street, footway, stairs or bridge"),
            )
        })?;
        let geo::Geometry::LineString(ls) = &f.geometry else {
            return Err(FeatureError::new(l, &f.id, "geometry must be a LineString"));
        };
        if ls.0.len() < 2 {
            return Err(FeatureError::new(
                l,
                &f.id,
                "a LineString needs at least 2 positions",
            ));
        }
        Ok(Walkway {
            id: f.id.clone(),
            kind,
            name: f.str_prop("name").map(str::to_string),
            lonlat: ls.0.iter().map(|c| (c.x, c.y)).collect(),
            elevation_m: f.elevation_m.clone(),
        })
    }
}

/// An administrative or residential area (community, grid, micro-grid, compound).
#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    pub id: String,
    pub name: String,
    /// The id of the enclosing unit (community of a grid, grid of a micro-grid), if any.
    pub parent: Option<String>,
    pub polygon: Polygon<f64>,
}

impl Area {
    /// `parent_key` names the property holding the enclosing unit's id (`community`, `grid`).
    pub fn from_feature(
        layer: LayerId,
        f: &Feature,
        parent_key: Option<&str>,
    ) -> Result<Self, FeatureError> {
        let geo::Geometry::Polygon(p) = &f.geometry else {
            return Err(FeatureError::new(
                layer,
                &f.id,
                "geometry must be a Polygon",
            ));
        };
        Ok(Area {
            id: f.id.clone(),
            name: f.str_prop("name").unwrap_or(&f.id).to_string(),
            parent: parent_key.and_then(|k| f.str_prop(k)).map(str::to_string),
            polygon: p.clone(),
        })
    }
}
