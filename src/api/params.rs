//! Query parameters, parsed in one place into types that cannot hold a bad value: handlers
//! never see a NaN, an out-of-range latitude or a limit over the maximum.
//!
//! [`RawQuery`] holds the decoded pairs; each `take_*` removes the parameter it reads, so the
//! strict endpoints can reject whatever is left (a typo such as `categroy=`) by name.

use std::collections::BTreeSet;

use crate::model::{Bbox, Crs};

use super::error::ApiError;

/// Largest `k` of `/nearest`.
pub const K_MAX: usize = 100;
/// Default `k` of `/nearest`.
pub const K_DEFAULT: usize = 5;
/// Largest `limit` of the OGC items endpoint.
pub const LIMIT_MAX: usize = 10_000;
/// Default `limit` of the OGC items endpoint.
pub const LIMIT_DEFAULT: usize = 10;
/// Largest `max_m` of `/nearest`: far beyond a subdistrict, small enough to stay meaningful.
pub const MAX_M_MAX: f64 = 100_000.0;

/// The decoded query string, in order; a parameter given twice is an error.
#[derive(Debug, Clone, Default)]
pub struct RawQuery {
    pairs: Vec<(String, String)>,
}

impl RawQuery {
    /// Decode `a=1&b=2`. Fails on malformed percent-encoding and on repeated names.
    pub fn parse(query_string: &str) -> Result<RawQuery, ApiError> {
        let pairs = actix_web::web::Query::<Vec<(String, String)>>::from_query(query_string)
            .map_err(|e| ApiError::bad_param("query string", e.to_string()))?
            .into_inner();
        let mut seen = BTreeSet::new();
        for (k, _) in &pairs {
            if !seen.insert(k.as_str()) {
                return Err(ApiError::bad_param(k, "given more than once; give it once"));
            }
        }
        Ok(RawQuery { pairs })
    }

    /// Remove and return a parameter's raw value.
    pub fn take(&mut self, name: &str) -> Option<String> {
        let i = self.pairs.iter().position(|(k, _)| k == name)?;
        Some(self.pairs.remove(i).1)
    }

    /// The parameters not taken yet.
    #[must_use]
    pub fn remaining(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// Fail on the first parameter not taken, listing the ones `allowed`.
    pub fn deny_rest(&self, allowed: &[&str]) -> Result<(), ApiError> {
        match self.pairs.first() {
            None => Ok(()),
            Some((k, _)) => Err(ApiError::bad_param(
                k,
                format!(
                    "unknown parameter; this endpoint takes {}",
                    allowed.join(", ")
                ),
            )),
        }
    }

    /// `coords=wgs84|gcj02|bd09`, default wgs84.
    pub fn take_coords(&mut self) -> Result<Crs, ApiError> {
        match self.take("coords") {
            None => Ok(Crs::Wgs84),
            Some(s) => s
                .parse()
                .map_err(|e: String| ApiError::bad_param("coords", e)),
        }
    }

    /// `f=json` (the only format; `geojson` is accepted too). Absent is fine.
    pub fn take_format(&mut self) -> Result<(), ApiError> {
        match self.take("f").as_deref() {
            None | Some("json" | "geojson") => Ok(()),
            Some(other) => Err(ApiError::bad_param(
                "f",
                format!("format '{other}' is not offered; use f=json or leave f out"),
            )),
        }
    }

    /// Required `lon` and `lat`, read in `crs` and converted to WGS84.
    pub fn take_lonlat(&mut self, crs: Crs) -> Result<LonLat, ApiError> {
        let lon = self.take("lon").ok_or_else(|| {
            ApiError::bad_param("lon", "required: longitude in degrees, e.g. lon=106.53")
        })?;
        let lat = self.take("lat").ok_or_else(|| {
            ApiError::bad_param("lat", "required: latitude in degrees, e.g. lat=29.47")
        })?;
        LonLat::parse(&lon, &lat, crs)
    }

    /// Optional `k` (1..=[`K_MAX`], default [`K_DEFAULT`]).
    pub fn take_k(&mut self) -> Result<K, ApiError> {
        match self.take("k") {
            None => Ok(K(K_DEFAULT)),
            Some(s) => K::parse(&s),
        }
    }

    /// Optional `limit` (1..=[`LIMIT_MAX`], default [`LIMIT_DEFAULT`]).
    pub fn take_limit(&mut self) -> Result<Limit, ApiError> {
        match self.take("limit") {
            None => Ok(Limit(LIMIT_DEFAULT)),
            Some(s) => Limit::parse(&s),
        }
    }

    /// Optional `offset` (≥ 0, default 0).
    pub fn take_offset(&mut self) -> Result<usize, ApiError> {
        match self.take("offset") {
            None => Ok(0),
            Some(s) => parse_count("offset", &s),
        }
    }

    /// Optional `bbox`, read in `crs` and converted to a WGS84 box.
    pub fn take_bbox(&mut self, crs: Crs) -> Result<Option<Bbox>, ApiError> {
        self.take("bbox").map(|s| Bbox::parse(&s, crs)).transpose()
    }

    /// Optional `max_m` (metres, > 0, ≤ [`MAX_M_MAX`]).
    pub fn take_max_m(&mut self) -> Result<Option<f64>, ApiError> {
        let Some(s) = self.take("max_m") else {
            return Ok(None);
        };
        let v = parse_f64("max_m", &s)?;
        if v <= 0.0 || v > MAX_M_MAX {
            return Err(ApiError::bad_param(
                "max_m",
                format!("{v} is out of range: give metres in (0, {MAX_M_MAX}]"),
            ));
        }
        Ok(Some(v))
    }

    /// Optional comma-separated `category` list: names only, deduplicated, order kept. Whether
    /// the names exist is the handler's business (it knows the taxonomy).
    pub fn take_categories(&mut self) -> Result<Option<Vec<String>>, ApiError> {
        let Some(s) = self.take("category") else {
            return Ok(None);
        };
        let mut out: Vec<String> = Vec::new();
        for c in s.split(',').map(str::trim) {
            if c.is_empty() {
                return Err(ApiError::bad_param(
                    "category",
                    "empty category name; give ids separated by commas, e.g. category=elder_canteen,clinic",
                ));
            }
            if !out.iter().any(|o| o == c) {
                out.push(c.to_string());
            }
        }
        Ok(Some(out))
    }
}

pub(crate) fn parse_f64(name: &str, s: &str) -> Result<f64, ApiError> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| ApiError::bad_param(name, format!("'{s}' is not a number")))?;
    if !v.is_finite() {
        return Err(ApiError::bad_param(
            name,
            format!("'{s}' is not a finite number"),
        ));
    }
    Ok(v)
}

fn parse_count(name: &str, s: &str) -> Result<usize, ApiError> {
    s.trim()
        .parse()
        .map_err(|_| ApiError::bad_param(name, format!("'{s}' is not a non-negative integer")))
}

pub(crate) fn check_lon(name: &str, v: f64) -> Result<f64, ApiError> {
    if (-180.0..=180.0).contains(&v) {
        Ok(v)
    } else {
        Err(ApiError::bad_param(
            name,
            format!("longitude {v} is outside [-180, 180]"),
        ))
    }
}

pub(crate) fn check_lat(name: &str, v: f64) -> Result<f64, ApiError> {
    if (-90.0..=90.0).contains(&v) {
        Ok(v)
    } else {
        Err(ApiError::bad_param(
            name,
            format!("latitude {v} is outside [-90, 90]"),
        ))
    }
}

/// A WGS84 position (degrees), finite and in range, converted from the request's system.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LonLat {
    pub lon: f64,
    pub lat: f64,
}

impl LonLat {
    /// Parse `lon`/`lat` given in `crs`.
    pub fn parse(lon: &str, lat: &str, crs: Crs) -> Result<LonLat, ApiError> {
        let lon = check_lon("lon", parse_f64("lon", lon)?)?;
        let lat = check_lat("lat", parse_f64("lat", lat)?)?;
        let (lon, lat) = crs.to_wgs84(lon, lat);
        Ok(LonLat { lon, lat })
    }
}

/// Number of nearest facilities wanted, 1..=[`K_MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct K(pub usize);

impl K {
    pub fn parse(s: &str) -> Result<K, ApiError> {
        let k = parse_count("k", s)?;
        if k == 0 || k > K_MAX {
            return Err(ApiError::bad_param(
                "k",
                format!("{k} is out of range: give 1 to {K_MAX}"),
            ));
        }
        Ok(K(k))
    }
}

/// Page size of the OGC items endpoint, 1..=[`LIMIT_MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(pub usize);

impl Limit {
    pub fn parse(s: &str) -> Result<Limit, ApiError> {
        let n = parse_count("limit", s)?;
        if n == 0 || n > LIMIT_MAX {
            return Err(ApiError::bad_param(
                "limit",
                format!("{n} is out of range: give 1 to {LIMIT_MAX}"),
            ));
        }
        Ok(Limit(n))
    }
}

/// The query-string reading of the crate's one box type, [`crate::model::Bbox`] (defined
/// there; this impl lives here because its errors are the API's).
impl Bbox {
    /// Parse `minlon,minlat,maxlon,maxlat` given in `crs`: finite, in range and not inverted
    /// (a degenerate box, a point or a line, is allowed). A box in GCJ-02/BD-09 is converted
    /// corner by corner and the envelope of the four converted corners is used.
    pub fn parse(s: &str, crs: Crs) -> Result<Bbox, ApiError> {
        let parts: Vec<&str> = s.split(',').collect();
        if parts.len() != 4 {
            return Err(ApiError::bad_param(
                "bbox",
                format!(
                    "'{s}' must be four numbers minlon,minlat,maxlon,maxlat (got {} values)",
                    parts.len()
                ),
            ));
        }
        let mut v = [0.0; 4];
        for (slot, p) in v.iter_mut().zip(&parts) {
            *slot = parse_f64("bbox", p)?;
        }
        check_lon("bbox", v[0])?;
        check_lat("bbox", v[1])?;
        check_lon("bbox", v[2])?;
        check_lat("bbox", v[3])?;
        if v[0] > v[2] || v[1] > v[3] {
            return Err(ApiError::bad_param(
                "bbox",
                format!(
                    "'{s}' is inverted: the order is minlon,minlat,maxlon,maxlat (boxes across the antimeridian are not supported)"
                ),
            ));
        }
        let bbox = |b: [f64; 4]| Bbox {
            min_lon: b[0],
            min_lat: b[1],
            max_lon: b[2],
            max_lat: b[3],
        };
        if crs == Crs::Wgs84 {
            return Ok(bbox(v));
        }
        let corners = [(v[0], v[1]), (v[2], v[1]), (v[2], v[3]), (v[0], v[3])]
            .map(|(x, y)| crs.to_wgs84(x, y));
        let mut b = [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ];
        for (x, y) in corners {
            b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
        }
        Ok(bbox(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_nan_infinity_and_out_of_range() {
        for (lon, lat) in [
            ("NaN", "29"),
            ("inf", "29"),
            ("106", "-inf"),
            ("181", "29"),
            ("106", "90.5"),
            ("abc", "1"),
        ] {
            assert!(LonLat::parse(lon, lat, Crs::Wgs84).is_err(), "{lon},{lat}");
        }
        assert!(LonLat::parse(" 106.5", "29.4 ", Crs::Wgs84).is_ok());
    }

    #[test]
    fn k_limit_bbox_bounds() {
        assert!(K::parse("0").is_err() && K::parse("101").is_err() && K::parse("-1").is_err());
        assert_eq!(K::parse("100").ok(), Some(K(100)));
        assert!(Limit::parse("10001").is_err() && Limit::parse("1.5").is_err());
        assert!(Bbox::parse("1,2,3", Crs::Wgs84).is_err());
        assert!(Bbox::parse("3,2,1,4", Crs::Wgs84).is_err());
        assert!(Bbox::parse("1,2,3,x", Crs::Wgs84).is_err());
        assert_eq!(
            Bbox::parse("1,2,3,4", Crs::Wgs84).ok().map(Bbox::to_array),
            Some([1.0, 2.0, 3.0, 4.0])
        );
    }

    #[test]
    fn duplicates_and_leftovers_are_named() {
        let e = RawQuery::parse("a=1&a=2")
            .err()
            .map(|e| e.detail)
            .unwrap_or_default();
        assert!(e.contains("'a'"), "{e}");
        let mut q = RawQuery::parse("lon=1&lat=2&categroy=x").unwrap_or_default();
        assert!(q.take_lonlat(Crs::Wgs84).is_ok());
        let e = q
            .deny_rest(&["lon", "lat"])
            .err()
            .map(|e| e.detail)
            .unwrap_or_default();
        assert!(e.contains("categroy"), "{e}");
    }
}
