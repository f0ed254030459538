//! A lon/lat box in WGS84 degrees: the one box type of the crate (import clipping, the CLI's
//! `--bbox`, and the API's `bbox=` once converted to WGS84).

use std::str::FromStr;

use super::Crs;
use super::params::{ParamError, check_lat, check_lon, parse_f64};

/// Why a `minlon,minlat,maxlon,maxlat` string is not a box.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BboxError {
    #[error("bbox '{0}': give four numbers minlon,minlat,maxlon,maxlat")]
    NotFourNumbers(String),
    #[error("bbox '{0}': need -180 <= minlon < maxlon <= 180 and -90 <= minlat < maxlat <= 90")]
    OutOfRange(String),
}

/// A WGS84 box; finite, in range and not inverted when built by [`Bbox::new`] or parsed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bbox {
    pub min_lon: f64,
    pub min_lat: f64,
    pub max_lon: f64,
    pub max_lat: f64,
}

impl Bbox {
    /// A box from its corners; `None` unless -180 <= `min_lon` < `max_lon` <= 180 and
    /// -90 <= `min_lat` < `max_lat` <= 90 (NaN fails every comparison).
    #[must_use]
    pub fn new(min_lon: f64, min_lat: f64, max_lon: f64, max_lat: f64) -> Option<Bbox> {
        let ok = min_lon < max_lon
            && min_lat < max_lat
            && (-180.0..=180.0).contains(&min_lon)
            && (-180.0..=180.0).contains(&max_lon)
            && (-90.0..=90.0).contains(&min_lat)
            && (-90.0..=90.0).contains(&max_lat);
        ok.then_some(Bbox {
            min_lon,
            min_lat,
            max_lon,
            max_lat,
        })
    }

    /// Whether (`lon`, `lat`) is inside or on the edge.
    #[must_use]
    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        (self.min_lon..=self.max_lon).contains(&lon) && (self.min_lat..=self.max_lat).contains(&lat)
    }

    /// [`Bbox::contains`] for a position in units of 1e-7 degrees, as OSM PBF stores them.
    #[must_use]
    pub fn contains_e7(&self, lat_e7: i32, lon_e7: i32) -> bool {
        self.contains(f64::from(lon_e7) / 1e7, f64::from(lat_e7) / 1e7)
    }

    /// Whether the box and `r` (x = lon, y = lat) share at least a point.
    #[must_use]
    pub fn intersects(&self, r: &geo::Rect<f64>) -> bool {
        r.min().x <= self.max_lon
            && r.max().x >= self.min_lon
            && r.min().y <= self.max_lat
            && r.max().y >= self.min_lat
    }

    /// `[min_lon, min_lat, max_lon, max_lat]`, the order of GeoJSON's `bbox` member.
    #[must_use]
    pub fn to_array(self) -> [f64; 4] {
        [self.min_lon, self.min_lat, self.max_lon, self.max_lat]
    }
}

impl Bbox {
    /// The `bbox=` query parameter: `minlon,minlat,maxlon,maxlat` given in `crs`, converted to
    /// WGS84. A box of zero width or height (a point) is allowed, an inverted one is not. A
    /// box in GCJ-02/BD-09 is converted corner by corner and the envelope of the four
    /// converted corners is used.
    pub fn parse_in(s: &str, crs: Crs) -> Result<Bbox, ParamError> {
        let name = "bbox";
        let parts: Vec<&str> = s.split(',').collect();
        if parts.len() != 4 {
            return Err(ParamError::new(
                name,
                format!(
                    "'{s}' must be four numbers minlon,minlat,maxlon,maxlat (got {} values)",
                    parts.len()
                ),
            ));
        }
        let mut v = [0.0; 4];
        for (slot, p) in v.iter_mut().zip(&parts) {
            *slot = parse_f64(name, p)?;
        }
        check_lon(name, v[0])?;
        check_lat(name, v[1])?;
        check_lon(name, v[2])?;
        check_lat(name, v[3])?;
        if v[0] > v[2] || v[1] > v[3] {
            return Err(ParamError::new(
                name,
                format!(
                    "'{s}' is inverted: the order is minlon,minlat,maxlon,maxlat (boxes across the antimeridian are not supported)"
                ),
            ));
        }
        let corners = [(v[0], v[1]), (v[2], v[1]), (v[2], v[3]), (v[0], v[3])]
            .map(|(x, y)| crs.to_wgs84(x, y));
        let mut b = Bbox {
            min_lon: f64::INFINITY,
            min_lat: f64::INFINITY,
            max_lon: f64::NEG_INFINITY,
            max_lat: f64::NEG_INFINITY,
        };
        for (x, y) in corners {
            b.min_lon = b.min_lon.min(x);
            b.min_lat = b.min_lat.min(y);
            b.max_lon = b.max_lon.max(x);
            b.max_lat = b.max_lat.max(y);
        }
        Ok(b)
    }
}

impl FromStr for Bbox {
    type Err = BboxError;
    /// `minlon,minlat,maxlon,maxlat`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let v: Vec<f64> = s
            .split(',')
            .map(|p| p.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|_| BboxError::NotFourNumbers(s.to_string()))?;
        let [min_lon, min_lat, max_lon, max_lat] = v[..] else {
            return Err(BboxError::NotFourNumbers(s.to_string()));
        };
        Bbox::new(min_lon, min_lat, max_lon, max_lat)
            .ok_or_else(|| BboxError::OutOfRange(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_checks_and_contains() {
        let b: Bbox = "106.5,29.4,106.6,29.5".parse().expect("valid");
        assert_eq!(
            b,
            Bbox {
                min_lon: 106.5,
                min_lat: 29.4,
                max_lon: 106.6,
                max_lat: 29.5
            }
        );
        assert!(b.contains(106.55, 29.45));
        assert!(!b.contains(106.65, 29.45));
        assert!(b.contains_e7(294_500_000, 1_065_500_000));
        assert_eq!(
            "106.6,29.4,106.5,29.5".parse::<Bbox>(),
            Err(BboxError::OutOfRange("106.6,29.4,106.5,29.5".into()))
        );
        assert!("1,2,3".parse::<Bbox>().is_err());
        assert!("1,2,3,x".parse::<Bbox>().is_err());
        assert!("NaN,2,3,4".parse::<Bbox>().is_err());
        assert!("0,0,181,1".parse::<Bbox>().is_err());
    }

    #[test]
    fn query_parameter_bounds() {
        assert!(Bbox::parse_in("1,2,3", Crs::Wgs84).is_err());
        assert!(Bbox::parse_in("3,2,1,4", Crs::Wgs84).is_err());
        assert!(Bbox::parse_in("1,2,3,x", Crs::Wgs84).is_err());
        assert_eq!(
            Bbox::parse_in("1,2,3,4", Crs::Wgs84).map(Bbox::to_array),
            Ok([1.0, 2.0, 3.0, 4.0])
        );
        assert!(Bbox::parse_in("1,2,1,2", Crs::Wgs84).is_ok());
    }
}
