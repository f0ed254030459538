//! Coordinate systems used by Chinese basemaps. Data are stored in WGS84; requests may give
//! and receive GCJ-02 (AMap, Tencent) or BD-09 (Baidu). Conversion uses the `coordtransform`
//! crate; GCJ-02 -> WGS84 is its iterative inverse (error well below a metre).

use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Crs {
    #[default]
    Wgs84,
    Gcj02,
    Bd09,
}

impl FromStr for Crs {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "wgs84" => Ok(Crs::Wgs84),
            "gcj02" => Ok(Crs::Gcj02),
            "bd09" => Ok(Crs::Bd09),
            _ => Err(format!(
                "unknown coordinate system '{s}': use wgs84, gcj02 or bd09"
            )),
        }
    }
}

impl Crs {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Crs::Wgs84 => "wgs84",
            Crs::Gcj02 => "gcj02",
            Crs::Bd09 => "bd09",
        }
    }

    /// Convert a position given in this system to WGS84 (lon, lat).
    #[must_use]
    pub fn to_wgs84(self, lon: f64, lat: f64) -> (f64, f64) {
        match self {
            Crs::Wgs84 => (lon, lat),
            Crs::Gcj02 => coordtransform::gcj02_to_wgs84(lon, lat),
            Crs::Bd09 => {
                let (g_lon, g_lat) = coordtransform::bd09_to_gcj02(lon, lat);
                coordtransform::gcj02_to_wgs84(g_lon, g_lat)
            }
        }
    }

    /// Convert a WGS84 position to this system.
    #[must_use]
    pub fn from_wgs84(self, lon: f64, lat: f64) -> (f64, f64) {
        match self {
            Crs::Wgs84 => (lon, lat),
            Crs::Gcj02 => coordtransform::wgs84_to_gcj02(lon, lat),
            Crs::Bd09 => {
                let (g_lon, g_lat) = coordtransform::wgs84_to_gcj02(lon, lat);
                coordtransform::gcj02_to_bd09(g_lon, g_lat)
            }
        }
    }

    /// Convert every coordinate of a WGS84 geometry to this system.
    #[must_use]
    pub fn geometry_from_wgs84<G: geo::MapCoords<f64, f64, Output = G>>(self, g: &G) -> G {
        g.map_coords(|c| {
            let (x, y) = self.from_wgs84(c.x, c.y);
            geo::coord! { x: x, y: y }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_is_sub_metre() {
        for crs in [Crs::Gcj02, Crs::Bd09] {
            let (x, y) = crs.from_wgs84(106.533, 29.470);
            assert!((x - 106.533).abs() > 1e-4, "{crs:?} must shift the point");
            let (lon, lat) = crs.to_wgs84(x, y);
            assert!((lon - 106.533).abs() < 1e-5 && (lat - 29.470).abs() < 1e-5);
        }
    }
}
