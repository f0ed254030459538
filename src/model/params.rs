//! Domain values a caller gives: a position, walking minutes, how many, which category, which
//! units. Each type is parsed in one place and cannot hold a bad value (no NaN, no latitude of
//! 91, no `k` of 0), so the HTTP API (query strings and JSON bodies), the CLI (`value_parser`s)
//! and the library share the same parsers, ranges and messages. No HTTP here: a
//! [`ParamError`] names the parameter and says what to change; the API adds the route hints.

use std::fmt;
use std::str::FromStr;

use super::Crs;

/// A value a caller gave that cannot be used: `name` is the parameter (or body member) and
/// `detail` what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}: {detail}")]
pub struct ParamError {
    pub name: String,
    pub detail: String,
}

impl ParamError {
    pub fn new(name: impl Into<String>, detail: impl Into<String>) -> ParamError {
        ParamError {
            name: name.into(),
            detail: detail.into(),
        }
    }
}

/// A finite number.
pub fn parse_f64(name: &str, s: &str) -> Result<f64, ParamError> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| ParamError::new(name, format!("'{s}' is not a number")))?;
    if !v.is_finite() {
        return Err(ParamError::new(
            name,
            format!("'{s}' is not a finite number"),
        ));
    }
    Ok(v)
}

/// A non-negative whole number.
pub fn parse_count(name: &str, s: &str) -> Result<usize, ParamError> {
    s.trim()
        .parse()
        .map_err(|_| ParamError::new(name, format!("'{s}' is not a non-negative integer")))
}

/// `true|false` (also `1`/`0`).
pub fn parse_flag(name: &str, s: &str) -> Result<bool, ParamError> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(ParamError::new(
            name,
            format!("'{s}' is not a boolean; use {name}=true or {name}=false"),
        )),
    }
}

/// A number in `(0, max]`, with its unit named in the message.
pub fn parse_positive(name: &str, s: &str, max: f64, unit: &str) -> Result<f64, ParamError> {
    let v = parse_f64(name, s)?;
    if v <= 0.0 || v > max {
        return Err(ParamError::new(
            name,
            format!("{v} is out of range: give {unit} in (0, {max}]"),
        ));
    }
    Ok(v)
}

pub(crate) fn check_lon(name: &str, v: f64) -> Result<f64, ParamError> {
    if (-180.0..=180.0).contains(&v) {
        Ok(v)
    } else {
        Err(ParamError::new(
            name,
            format!("longitude {v} is outside [-180, 180]"),
        ))
    }
}

pub(crate) fn check_lat(name: &str, v: f64) -> Result<f64, ParamError> {
    if (-90.0..=90.0).contains(&v) {
        Ok(v)
    } else {
        Err(ParamError::new(
            name,
            format!("latitude {v} is outside [-90, 90]"),
        ))
    }
}

/// A WGS84 position (degrees), finite and in range, converted from the caller's system.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LonLat {
    pub lon: f64,
    pub lat: f64,
}

impl LonLat {
    /// Numbers given in `crs`; `name` is the parameter they came from.
    pub fn from_numbers(name: &str, lon: f64, lat: f64, crs: Crs) -> Result<LonLat, ParamError> {
        if !lon.is_finite() || !lat.is_finite() {
            return Err(ParamError::new(name, "not a finite position"));
        }
        let lon = check_lon(name, lon)?;
        let lat = check_lat(name, lat)?;
        let (lon, lat) = crs.to_wgs84(lon, lat);
        Ok(LonLat { lon, lat })
    }

    /// `lon` and `lat` strings given in `crs` (the `lon=`/`lat=` query parameters).
    pub fn parse(lon: &str, lat: &str, crs: Crs) -> Result<LonLat, ParamError> {
        let lon = check_lon("lon", parse_f64("lon", lon)?)?;
        let lat = check_lat("lat", parse_f64("lat", lat)?)?;
        let (lon, lat) = crs.to_wgs84(lon, lat);
        Ok(LonLat { lon, lat })
    }

    /// A `lon,lat;lon,lat;…` list given in `crs` under parameter `name`: 1 to `max` positions.
    /// `what` names one item in messages ("origin", "candidate").
    pub fn parse_list(
        name: &str,
        s: &str,
        crs: Crs,
        max: usize,
        what: &str,
    ) -> Result<Vec<LonLat>, ParamError> {
        let items: Vec<&str> = s.split(';').map(str::trim).collect();
        if items.len() > max {
            return Err(ParamError::new(
                name,
                format!("{} {what}s given; give at most {max}", items.len()),
            ));
        }
        items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let xy: Vec<&str> = item.split(',').collect();
                if xy.len() != 2 {
                    return Err(ParamError::new(
                        name,
                        format!(
                            "{what} {} '{item}' must be lon,lat; separate {what}s with ';', e.g. {name}=106.533,29.47;106.52,29.46",
                            i + 1
                        ),
                    ));
                }
                let lon = check_lon(name, parse_f64(name, xy[0])?)?;
                let lat = check_lat(name, parse_f64(name, xy[1])?)?;
                let (lon, lat) = crs.to_wgs84(lon, lat);
                Ok(LonLat { lon, lat })
            })
            .collect()
    }
}

/// Largest walking-time threshold: an hour's walk is already far beyond any living-circle tier.
pub const MINUTES_MAX: f64 = 60.0;
/// Smallest isochrone contour, minutes.
pub const CONTOUR_MIN: f64 = 1.0;
/// Default walking-time threshold: the 15-minute living circle.
pub const MINUTES_DEFAULT: f64 = 15.0;

/// A walking-time threshold in minutes, in (0, [`MINUTES_MAX`]].
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Minutes(f64);

impl Minutes {
    pub fn new(name: &str, v: f64) -> Result<Minutes, ParamError> {
        if !v.is_finite() || v <= 0.0 || v > MINUTES_MAX {
            return Err(ParamError::new(
                name,
                format!("{v} is out of range: give minutes in (0, {MINUTES_MAX}]"),
            ));
        }
        Ok(Minutes(v))
    }

    pub fn parse(name: &str, s: &str) -> Result<Minutes, ParamError> {
        let v: f64 = s
            .trim()
            .parse()
            .map_err(|_| ParamError::new(name, format!("'{s}' is not a number of minutes")))?;
        Minutes::new(name, v)
    }

    #[must_use]
    pub fn get(self) -> f64 {
        self.0
    }
}

impl Default for Minutes {
    fn default() -> Minutes {
        Minutes(MINUTES_DEFAULT)
    }
}

/// Most contours per isochrone request.
pub const CONTOURS_MAX: usize = 6;
/// Contours when none are asked for: the three rings of the 15-minute living circle.
pub const CONTOURS_DEFAULT: [f64; 3] = [5.0, 10.0, 15.0];

/// Isochrone contours in minutes: 1 to [`CONTOURS_MAX`] values, each in
/// [[`CONTOUR_MIN`], [`MINUTES_MAX`]], ascending and distinct.
#[derive(Debug, Clone, PartialEq)]
pub struct Contours(Vec<f64>);

impl Contours {
    /// `5,10,15`.
    pub fn parse(name: &str, s: &str) -> Result<Contours, ParamError> {
        let parts: Vec<&str> = s.split(',').map(str::trim).collect();
        if parts.len() > CONTOURS_MAX {
            return Err(ParamError::new(
                name,
                format!(
                    "{} values given; give at most {CONTOURS_MAX}, e.g. {name}=5,10,15",
                    parts.len()
                ),
            ));
        }
        let mut out = Vec::with_capacity(parts.len());
        for p in parts {
            if p.is_empty() {
                return Err(ParamError::new(
                    name,
                    format!("empty value; give minutes separated by commas, e.g. {name}=5,10,15"),
                ));
            }
            let v = parse_f64(name, p)?;
            if !(CONTOUR_MIN..=MINUTES_MAX).contains(&v) {
                return Err(ParamError::new(
                    name,
                    format!(
                        "{v} is out of range: each value must be {CONTOUR_MIN} to {MINUTES_MAX}"
                    ),
                ));
            }
            out.push(v);
        }
        out.sort_by(f64::total_cmp);
        out.dedup();
        Ok(Contours(out))
    }

    #[must_use]
    pub fn as_slice(&self) -> &[f64] {
        &self.0
    }
}

impl Default for Contours {
    fn default() -> Contours {
        Contours(CONTOURS_DEFAULT.to_vec())
    }
}

/// A whole number in `1..=MAX`, with a default: `K` (nearest facilities wanted), `Limit` (page
/// size), `SiteCount` (sites to choose).
macro_rules! bounded_count {
    ($(#[$doc:meta])* $name:ident, $param:literal, $max:expr, $default:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name(pub usize);

        impl $name {
            pub const MAX: usize = $max;
            pub const DEFAULT: usize = $default;

            pub fn new(n: usize) -> Result<$name, ParamError> {
                if n == 0 || n > Self::MAX {
                    return Err(ParamError::new(
                        $param,
                        format!("{n} is out of range: give 1 to {}", Self::MAX),
                    ));
                }
                Ok($name(n))
            }

            pub fn parse(s: &str) -> Result<$name, ParamError> {
                $name::new(parse_count($param, s)?)
            }

            #[must_use]
            pub fn get(self) -> usize {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> $name {
                $name(Self::DEFAULT)
            }
        }

        impl FromStr for $name {
            type Err = ParamError;
            fn from_str(s: &str) -> Result<$name, ParamError> {
                $name::parse(s)
            }
        }
    };
}

bounded_count!(
    /// Number of nearest facilities wanted.
    K,
    "k",
    100,
    5
);
bounded_count!(
    /// Page size of the OGC items endpoint.
    Limit,
    "limit",
    10_000,
    10
);
bounded_count!(
    /// Sites one siting request chooses: the greedy choice is only a suggestion, and ten is
    /// more than a subdistrict plans at once.
    SiteCount,
    "count",
    10,
    3
);

/// Who is walking. `Standard` is the default; speeds live in [`crate::walk::profile`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    #[default]
    Standard,
    Elder,
    Wheelchair,
}

/// Error for an unknown profile name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown profile '{0}': use standard, elder or wheelchair")]
pub struct UnknownProfile(pub String);

impl FromStr for Profile {
    type Err = UnknownProfile;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "standard" => Ok(Profile::Standard),
            "elder" => Ok(Profile::Elder),
            "wheelchair" => Ok(Profile::Wheelchair),
            _ => Err(UnknownProfile(s.to_string())),
        }
    }
}

impl Profile {
    /// A profile name given under parameter `name`.
    pub fn parse(name: &str, s: &str) -> Result<Profile, ParamError> {
        s.trim()
            .parse()
            .map_err(|e: UnknownProfile| ParamError::new(name, e.to_string()))
    }
}

/// One category id (`elder_canteen`): non-empty, no comma. Whether it exists is the
/// taxonomy's business.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CategoryId(String);

impl CategoryId {
    pub fn parse(name: &str, s: &str) -> Result<CategoryId, ParamError> {
        let c = s.trim();
        if c.is_empty() || c.contains(',') {
            return Err(ParamError::new(
                name,
                format!("'{c}': give exactly one category id, e.g. {name}=elder_canteen"),
            ));
        }
        Ok(CategoryId(c.to_string()))
    }

    /// A comma-separated list: deduplicated, order kept.
    pub fn parse_list(name: &str, s: &str) -> Result<Vec<CategoryId>, ParamError> {
        let mut out: Vec<CategoryId> = Vec::new();
        for c in s.split(',').map(str::trim) {
            if c.is_empty() {
                return Err(ParamError::new(
                    name,
                    format!(
                        "empty category name; give ids separated by commas, e.g. {name}=elder_canteen,clinic"
                    ),
                ));
            }
            if !out.iter().any(|o| o.0 == c) {
                out.push(CategoryId(c.to_string()));
            }
        }
        Ok(out)
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for CategoryId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CategoryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The administrative level results are reported per.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Microgrid,
    #[default]
    Grid,
    Community,
    Subdistrict,
}

impl FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "microgrid" => Ok(Level::Microgrid),
            "grid" => Ok(Level::Grid),
            "community" => Ok(Level::Community),
            "subdistrict" => Ok(Level::Subdistrict),
            _ => Err(format!(
                "unknown level '{s}': use microgrid, grid, community or subdistrict"
            )),
        }
    }
}

impl Level {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Microgrid => "microgrid",
            Level::Grid => "grid",
            Level::Community => "community",
            Level::Subdistrict => "subdistrict",
        }
    }

    pub fn parse(name: &str, s: &str) -> Result<Level, ParamError> {
        s.trim()
            .parse()
            .map_err(|e: String| ParamError::new(name, e))
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The units a planner question is about: a level, optionally limited to one community.
/// `community` with `level=subdistrict` is refused: it would label one community's figures
/// with the subdistrict's outline.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scope {
    pub level: Level,
    pub community: Option<String>,
}

impl Scope {
    pub fn new(level: Level, community: Option<String>) -> Result<Scope, ParamError> {
        if let (Level::Subdistrict, Some(c)) = (level, &community) {
            return Err(ParamError::new(
                "level",
                format!(
                    "level=subdistrict cannot be limited to community {c}; use level=community (or leave community out)"
                ),
            ));
        }
        Ok(Scope { level, community })
    }

    /// A `community` value: a community id such as `500113006006`.
    pub fn parse_community(name: &str, s: &str) -> Result<String, ParamError> {
        let c = s.trim();
        if c.is_empty() {
            return Err(ParamError::new(
                name,
                "empty: give a community id such as 500113006006, or leave community out",
            ));
        }
        Ok(c.to_string())
    }

    #[must_use]
    pub fn community(&self) -> Option<&str> {
        self.community.as_deref()
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
        assert!(LonLat::from_numbers("x", f64::NAN, 1.0, Crs::Wgs84).is_err());
    }

    #[test]
    fn count_bounds() {
        assert!(K::parse("0").is_err() && K::parse("101").is_err() && K::parse("-1").is_err());
        assert_eq!(K::parse("100").ok(), Some(K(100)));
        assert!(Limit::parse("10001").is_err() && Limit::parse("1.5").is_err());
        assert!(SiteCount::parse("11").is_err() && SiteCount::parse("10").is_ok());
    }

    #[test]
    fn contours_bounds_and_order() {
        assert_eq!(
            Contours::parse("minutes", "15, 5,10,5").ok(),
            Some(Contours(vec![5.0, 10.0, 15.0]))
        );
        for bad in ["0", "61", "1,2,3,4,5,6,7", "5,,10", "x", "NaN"] {
            assert!(Contours::parse("minutes", bad).is_err(), "{bad}");
        }
        assert!(Minutes::parse("minutes", "0").is_err());
        assert!(Minutes::parse("minutes", "60").is_ok());
    }

    #[test]
    fn lists() {
        let o = LonLat::parse_list("origins", "106.5,29.4;106.6,29.5", Crs::Wgs84, 50, "origin")
            .unwrap_or_default();
        assert_eq!(o.len(), 2);
        for bad in ["106.5", "106.5,29.4,1", "106.5,29.4;", "a,b", "200,29"] {
            assert!(
                LonLat::parse_list("origins", bad, Crs::Wgs84, 50, "origin").is_err(),
                "{bad}"
            );
        }
        let many = vec!["106.5,29.4"; 51].join(";");
        assert!(LonLat::parse_list("origins", &many, Crs::Wgs84, 50, "origin").is_err());
        assert!(CategoryId::parse_list("category", "a,,b").is_err());
        assert_eq!(
            CategoryId::parse_list("category", "a,b,a")
                .map(|v| v.len())
                .ok(),
            Some(2)
        );
        assert!(CategoryId::parse("category", "a,b").is_err());
    }

    #[test]
    fn scope_refuses_subdistrict_of_a_community() {
        assert!(Scope::new(Level::Subdistrict, Some("500113006006".into())).is_err());
        assert!(Scope::new(Level::Community, Some("500113006006".into())).is_ok());
    }
}
