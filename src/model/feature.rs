//! A feature of any layer, as loaded: id, WGS84 geometry, properties.

use super::Props;
use geo::Geometry;

/// One feature: a stable string id, a WGS84 geometry (degrees, lon/lat) and its properties.
///
/// Walkways carry 3D positions in the files; the elevation of each vertex (metres above sea
/// level) is kept beside the 2D geometry in `elevation_m`, in vertex order.
#[derive(Debug, Clone, PartialEq)]
pub struct Feature {
    pub id: String,
    pub geometry: Geometry<f64>,
    pub elevation_m: Option<Vec<f64>>,
    pub properties: Props,
}

impl Feature {
    /// A string property, if present and a string.
    #[must_use]
    pub fn str_prop(&self, key: &str) -> Option<&str> {
        self.properties.get(key).and_then(super::PropValue::as_str)
    }

    /// A non-negative integer property, if present and one.
    #[must_use]
    pub fn u64_prop(&self, key: &str) -> Option<u64> {
        self.properties.get(key).and_then(super::PropValue::as_u64)
    }
}
