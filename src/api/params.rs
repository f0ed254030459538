//! Query strings decoded into the domain types of [`crate::model::params`]: each `take_*`
//! removes the parameter it reads, so the strict endpoints can reject whatever is left (a typo
//! such as `categroy=`) by name. The types, ranges and messages live in the model; this file
//! only knows parameter names and defaults.

use std::borrow::Cow;
use std::collections::BTreeSet;

use crate::model::params::{parse_count, parse_flag, parse_positive};
use crate::model::{
    Bbox, CategoryId, Contours, Crs, K, Level, Limit, LonLat, Minutes, ParamError, Profile, Scope,
};

use super::error::ApiError;

/// Largest `max_m` of `/nearest`: far beyond a subdistrict, small enough to stay meaningful.
pub const MAX_M_MAX: f64 = 100_000.0;
/// Largest `max_snap_m`: beyond a kilometre the "walk" to the network dominates the answer.
pub const MAX_SNAP_M_MAX: f64 = 1000.0;

impl From<ParamError> for ApiError {
    fn from(e: ParamError) -> ApiError {
        ApiError::bad_param(&e.name, e.detail)
    }
}

/// The decoded query string, in order; a parameter given twice is an error. Names and values
/// borrow from the query string unless decoding changed them.
#[derive(Debug, Clone, Default)]
pub struct RawQuery<'a> {
    pairs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

/// Split `a=1&b=2` as `form_urlencoded::parse` does (empty pieces skipped, the name ends at
/// the first `=`, no `=` is an empty value), for a query string it would not change: one
/// without `%` or `+` (a `&str` is already valid UTF-8). One pass over the bytes: `&` and `=`
/// are ASCII, so every cut is at a character boundary.
fn split_plain(query_string: &str) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
    let bytes = query_string.as_bytes();
    // Room for every query string of the API's routes without growing (/nearest takes 13).
    let mut pairs = Vec::with_capacity(16);
    let (mut start, mut eq) = (0, None);
    for i in 0..=bytes.len() {
        match bytes.get(i) {
            Some(b'=') if eq.is_none() => eq = Some(i),
            Some(b'&') | None => {
                if i > start {
                    let (k, v) = match eq {
                        Some(e) => (&query_string[start..e], &query_string[e + 1..i]),
                        None => (&query_string[start..i], ""),
                    };
                    pairs.push((Cow::Borrowed(k), Cow::Borrowed(v)));
                }
                (start, eq) = (i + 1, None);
            }
            Some(_) => {}
        }
    }
    pairs
}

impl<'a> RawQuery<'a> {
    /// Decode `a=1&b=2` (`application/x-www-form-urlencoded`, as browsers and `URLSearchParams`
    /// write it: `+` is a space, `%XX` a byte, invalid UTF-8 replaced). Fails on repeated
    /// names. Decoded by `form_urlencoded` directly (the parser serde_urlencoded wraps), without
    /// a serde visitor per pair — query parsing was ~8 % of a
    /// straight-line `/nearest` under wrk. A query string with nothing to decode (no `%`, no
    /// `+`: the usual case) is only split, and nothing is copied: decoding and copying every
    /// name and value was 8,000 of the 60,000 user-space instructions of a straight-line
    /// `/nearest` (callgrind).
    pub fn parse(query_string: &'a str) -> Result<RawQuery<'a>, ApiError> {
        let pairs: Vec<(Cow<'a, str>, Cow<'a, str>)> =
            if query_string.bytes().any(|b| b == b'%' || b == b'+') {
                form_urlencoded::parse(query_string.as_bytes()).collect()
            } else {
                split_plain(query_string)
            };
        // A handful of names: comparing each with those before it beats building a set; a long
        // (hostile) query string goes through the set, not the quadratic loop.
        let repeated = if pairs.len() <= 16 {
            (1..pairs.len()).find(|&i| pairs[..i].iter().any(|(seen, _)| *seen == pairs[i].0))
        } else {
            let mut seen = BTreeSet::new();
            pairs.iter().position(|(k, _)| !seen.insert(k.as_ref()))
        };
        if let Some(i) = repeated {
            return Err(ApiError::bad_param(
                &pairs[i].0,
                "given more than once; give it once",
            ));
        }
        Ok(RawQuery { pairs })
    }

    /// Remove and return a parameter's raw value.
    pub fn take(&mut self, name: &str) -> Option<Cow<'a, str>> {
        let i = self.pairs.iter().position(|(k, _)| k == name)?;
        Some(self.pairs.remove(i).1)
    }

    /// Remove a parameter and parse it, if given.
    pub fn take_with<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&str, &str) -> Result<T, ParamError>,
    ) -> Result<Option<T>, ApiError> {
        Ok(self.take(name).map(|s| parse(name, &s)).transpose()?)
    }

    /// The parameters not taken yet.
    #[must_use]
    pub fn remaining(&self) -> Vec<(String, String)> {
        self.pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
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
        Ok(LonLat::parse(&lon, &lat, crs)?)
    }

    /// Optional `k` (default [`K::DEFAULT`]).
    pub fn take_k(&mut self) -> Result<K, ApiError> {
        Ok(self.take_with("k", |_, s| K::parse(s))?.unwrap_or_default())
    }

    /// Optional `limit` (default [`Limit::DEFAULT`]).
    pub fn take_limit(&mut self) -> Result<Limit, ApiError> {
        Ok(self
            .take_with("limit", |_, s| Limit::parse(s))?
            .unwrap_or_default())
    }

    /// Optional `offset` (≥ 0, default 0).
    pub fn take_offset(&mut self) -> Result<usize, ApiError> {
        Ok(self.take_with("offset", parse_count)?.unwrap_or(0))
    }

    /// Optional `bbox`, read in `crs` and converted to a WGS84 box.
    pub fn take_bbox(&mut self, crs: Crs) -> Result<Option<Bbox>, ApiError> {
        self.take_with("bbox", |_, s| Bbox::parse_in(s, crs))
    }

    /// Optional metres in (0, `max`] (`max_m`, `max_snap_m`).
    pub fn take_metres(&mut self, name: &str, max: f64) -> Result<Option<f64>, ApiError> {
        self.take_with(name, |n, s| parse_positive(n, s, max, "metres"))
    }

    /// Optional walking minutes in (0, `max`] (`max_min`).
    pub fn take_walk_minutes(&mut self, name: &str, max: f64) -> Result<Option<f64>, ApiError> {
        self.take_with(name, |n, s| parse_positive(n, s, max, "walking minutes"))
    }

    /// Optional boolean flag `name=true|false` (also `1`/`0`).
    pub fn take_flag(&mut self, name: &str) -> Result<Option<bool>, ApiError> {
        self.take_with(name, parse_flag)
    }

    /// Optional comma-separated `category` list: deduplicated, order kept.
    pub fn take_categories(&mut self) -> Result<Option<Vec<CategoryId>>, ApiError> {
        self.take_with("category", CategoryId::parse_list)
    }

    /// Required `category` (one id).
    pub fn take_category(&mut self) -> Result<CategoryId, ApiError> {
        self.take_with("category", CategoryId::parse)?
            .ok_or_else(|| {
                ApiError::bad_param(
                    "category",
                    "required: one category id, e.g. category=elder_canteen (GET /categories lists them)",
                )
            })
    }

    /// Optional `profile`.
    pub fn take_profile(&mut self) -> Result<Option<Profile>, ApiError> {
        self.take_with("profile", Profile::parse)
    }

    /// Optional `minutes` threshold (default 15).
    pub fn take_minutes(&mut self) -> Result<Minutes, ApiError> {
        Ok(self
            .take_with("minutes", Minutes::parse)?
            .unwrap_or_default())
    }

    /// Optional `minutes` contours (default 5,10,15).
    pub fn take_contours(&mut self) -> Result<Contours, ApiError> {
        Ok(self
            .take_with("minutes", Contours::parse)?
            .unwrap_or_default())
    }

    /// Optional `community` (a community id); whether it exists is the planner's business.
    pub fn take_community(&mut self) -> Result<Option<String>, ApiError> {
        self.take_with("community", Scope::parse_community)
    }

    /// Optional `level` (default grid) and `community`, checked together.
    pub fn take_scope(&mut self) -> Result<Scope, ApiError> {
        let level = self.take_with("level", Level::parse)?.unwrap_or_default();
        let community = self.take_community()?;
        Ok(Scope::new(level, community)?)
    }
}

/// The request body, at most `max` bytes: 413 `payload-too-large` over it (with `advice`,
/// e.g. how to split the request), 400 `bad-body` when it cannot be read.
pub async fn body_limited(
    payload: actix_web::web::Payload,
    max: usize,
    advice: &str,
) -> Result<actix_web::web::Bytes, ApiError> {
    match payload.to_bytes_limited(max).await {
        Ok(Ok(b)) => Ok(b),
        Ok(Err(e)) => Err(ApiError::new(
            super::error::ProblemKind::BadBody,
            format!("could not read the body: {e}"),
        )),
        Err(_) => Err(ApiError::new(
            super::error::ProblemKind::PayloadTooLarge,
            format!("the body is over {max} bytes; {advice}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-written decoder gives what actix's `web::Query` (serde_urlencoded) gave.
    #[test]
    fn decodes_as_serde_urlencoded_did() {
        let cases = [
            "",
            "a=1&b=2",
            "lon=106.53&lat=29.47&category=elder_canteen%2Cclinic&k=5",
            "a=x+y&b=%E6%9D%8E%E5%AE%B6%E6%B2%B1&c",
            "a=%zz&b=%4&c=%&d=100%25&e=%e6%9d",
            "&&a=1&&b=&=v&c==d",
            "properties=&skipGeometry=true",
            "q=%FF%FE&r=caf%C3%A9",
            "a==&=&b=c=d&&&e",
            "lon=106.5562376&lat=29.4772702&category=eatery&k=5&mode=straight&properties=&skipGeometry=true",
            "x=%2B&y=a+b",
        ];
        for qs in cases {
            let want = actix_web::web::Query::<Vec<(String, String)>>::from_query(qs)
                .unwrap()
                .into_inner();
            let got = RawQuery::parse(qs).unwrap().remaining();
            assert_eq!(got, want, "{qs}");
        }
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
