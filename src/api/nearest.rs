//! `GET /nearest?lon=&lat=&category=&k=&max_m=&mode=&profile=&max_min=&route=&max_snap_m=&coords=`:
//! the k nearest facilities of one or more categories, sorted.
//!
//! Two modes. `walk` (the default when the data directory has walkways) ranks by walking time
//! over the network for a profile; each feature carries `walk_min`, `walk_m` and `distance_m`,
//! and with `route=true` the path as a GeoJSON LineString in `properties.route` (the feature's
//! own geometry stays the facility's Point, so every GeoJSON client still draws and filters
//! the facilities as before). `straight` ranks by the geodesic distance on the WGS84 ellipsoid
//! (`distance_m`).

use super::snapshot::Snap;
use actix_web::{HttpRequest, HttpResponse};

use crate::model::geojson::round7;
use crate::model::{Crs, Extra, Facilities, LonLat, Selection};
use crate::query::{
    DEFAULT_MAX_SNAP_M, MAX_MIN_MAX, NearestAnswer, NearestMode, NearestRequest, WalkOptions,
    nearest_async,
};
use crate::service::Service;

use super::error::ApiError;
use super::features::GEO_JSON;
use super::params::{MAX_M_MAX, MAX_SNAP_M_MAX, RawQuery};
use super::walk::{no_walkways, query_problem};

/// Parameters that only make sense in walk mode.
const WALK_ONLY: [&str; 4] = ["profile", "max_min", "route", "max_snap_m"];

const NAMES: [&str; 13] = [
    "lon",
    "lat",
    "category",
    "k",
    "max_m",
    "mode",
    "profile",
    "max_min",
    "route",
    "max_snap_m",
    "coords",
    "properties",
    "skipGeometry",
];

/// `mode=walk|straight` and walk mode's own parameters. Without `mode`, walk when
/// `has_network`, straight otherwise.
fn parse_mode(q: &mut RawQuery, has_network: bool) -> Result<NearestMode, ApiError> {
    let mode = q.take("mode");
    if let Some(other) = mode
        .as_deref()
        .filter(|m| !matches!(*m, "walk" | "straight"))
    {
        return Err(ApiError::bad_param(
            "mode",
            format!(
                "unknown mode '{other}'; use mode=walk (walking time over the network) or mode=straight (straight-line distance)"
            ),
        ));
    }
    let profile = q.take_profile()?;
    let max_min = q.take_walk_minutes("max_min", MAX_MIN_MAX)?;
    let route = q.take_flag("route")?;
    let max_snap_m = q.take_metres("max_snap_m", MAX_SNAP_M_MAX)?;
    let given = [
        profile.is_some(),
        max_min.is_some(),
        route.is_some(),
        max_snap_m.is_some(),
    ];
    let walk_param = WALK_ONLY
        .iter()
        .zip(given)
        .find_map(|(name, g)| g.then_some(*name));
    let walk = NearestMode::Walk(WalkOptions {
        profile: profile.unwrap_or_default(),
        max_min,
        route: route.unwrap_or(false),
        max_snap_m: max_snap_m.unwrap_or(DEFAULT_MAX_SNAP_M),
    });
    match (mode.as_deref(), has_network) {
        (Some("walk") | None, true) => Ok(walk),
        (Some("walk"), false) => Err(no_walkways("mode=walk")),
        (None, false) => match walk_param {
            Some(p) => Err(no_walkways(&format!("the '{p}' parameter (walk mode)"))),
            None => Ok(NearestMode::Straight),
        },
        (_, _) => match walk_param {
            Some(p) => Err(ApiError::bad_param(
                p,
                "applies to mode=walk only; drop it or use mode=walk",
            )),
            None => Ok(NearestMode::Straight),
        },
    }
}

/// `properties=name,name`: which of the facilities' own properties each feature carries (all
/// when absent; none when empty). The computed ones (`distance_m`, `rank`, …) always come.
pub fn take_properties(
    q: &mut RawQuery,
    facilities: &Facilities,
) -> Result<Option<(Selection, Vec<String>)>, ApiError> {
    let Some(raw) = q.take("properties") else {
        return Ok(None);
    };
    let names: Vec<String> = raw
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect();
    match facilities.select(names.iter().map(String::as_str)) {
        Ok(sel) => Ok(Some((sel, names))),
        Err(bad) => Err(ApiError::bad_param(
            "properties",
            format!(
                "unknown property '{bad}'; facilities have: {}",
                facilities.property_names().collect::<Vec<_>>().join(", ")
            ),
        )),
    }
}

/// A parsed `/nearest` query.
pub struct NearestParams {
    pub req: NearestRequest,
    pub coords: Crs,
    /// `properties=`, checked against the facilities' property names.
    pub properties: Option<(Selection, Vec<String>)>,
    /// `skipGeometry=true` (OGC API – Features style): each feature's geometry is `null`, for
    /// clients that want names and distances only (a third of the bytes of a feature).
    pub skip_geometry: bool,
}

/// Parse a query string; `has_network` decides the default mode.
pub fn parse(query_string: &str, svc: &Service) -> Result<NearestParams, ApiError> {
    let mut q = RawQuery::parse(query_string)?;
    let coords = q.take_coords()?;
    let at = q.take_lonlat(coords)?;
    parse_rest(q, svc, coords, at, &NAMES)
}

/// Parse the options of `POST /nearest/batch`: those of `/nearest` but the point (the body
/// gives the origins; `req.at` is a placeholder), and the raw `columns` (CSV answers' column
/// choice, checked by the batch).
pub fn parse_options(
    query_string: &str,
    svc: &Service,
) -> Result<(NearestParams, Option<String>), ApiError> {
    let mut q = RawQuery::parse(query_string)?;
    let columns = q.take("columns").map(std::borrow::Cow::into_owned);
    let coords = q.take_coords()?;
    for name in ["lon", "lat"] {
        if q.take(name).is_some() {
            return Err(ApiError::bad_param(
                name,
                "the batch takes its origins from the body; drop lon and lat",
            ));
        }
    }
    let mut names = NAMES[2..].to_vec();
    names.push("columns");
    let params = parse_rest(q, svc, coords, LonLat { lon: 0.0, lat: 0.0 }, &names)?;
    Ok((params, columns))
}

fn parse_rest(
    mut q: RawQuery,
    svc: &Service,
    coords: Crs,
    at: LonLat,
    names: &[&str],
) -> Result<NearestParams, ApiError> {
    let categories = q.take_categories()?;
    let k = q.take_k()?;
    let max_m = q.take_metres("max_m", MAX_M_MAX)?;
    let mode = parse_mode(&mut q, svc.walk.is_some())?;
    let properties = take_properties(&mut q, svc.indexes.facilities())?;
    let skip_geometry = q.take_flag("skipGeometry")?.unwrap_or(false);
    q.deny_rest(names)?;
    Ok(NearestParams {
        req: NearestRequest {
            at,
            categories,
            k,
            max_m,
            mode,
        },
        coords,
        properties,
        skip_geometry,
    })
}

/// Metres rounded to the centimetre.
fn cm(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// `GET /nearest`.
pub async fn get(req: HttpRequest, svc: Snap) -> Result<HttpResponse, ApiError> {
    let p = parse(req.query_string(), &svc)?;
    let answer = nearest_async(svc.clone().into_inner(), p.req.clone())
        .await
        .map_err(|e| query_problem(e, p.coords))?;
    let mut out = Vec::with_capacity(512 + 640 * answer.hits.len());
    write_collection(&svc, &p, &answer, &mut out)?;
    Ok(HttpResponse::Ok().content_type(GEO_JSON).body(out))
}

/// Write the `query` member straight into the response, byte for byte what the former `json!`
/// tree printed (members, order, number formatting; `tests/nearest_splice.rs` compares),
/// without building a `Value` tree per request.
fn write_query(
    p: &NearestParams,
    answer: &NearestAnswer,
    out: &mut Vec<u8>,
) -> serde_json::Result<()> {
    fn member<T: serde::Serialize + ?Sized>(
        out: &mut Vec<u8>,
        first: bool,
        key: &str,
        v: &T,
    ) -> serde_json::Result<()> {
        if !first {
            out.push(b',');
        }
        // The keys are the constant ASCII names below, nothing to escape: written as they
        // are, not through serde_json's escaping (a tenth of the user-space instructions of
        // a straight-line request went to escaping keys and strings).
        debug_assert!(key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
        out.push(b'"');
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\":");
        serde_json::to_writer(&mut *out, v)
    }
    let (req, coords) = (&p.req, p.coords);
    let (lon_out, lat_out) = coords.from_wgs84(req.at.lon, req.at.lat);
    out.push(b'{');
    member(out, true, "lon", &round7(lon_out))?;
    member(out, false, "lat", &round7(lat_out))?;
    member(out, false, "coords", coords.as_str())?;
    member(out, false, "categories", &answer.categories)?;
    member(out, false, "k", &req.k.get())?;
    member(out, false, "max_m", &req.max_m)?;
    member(out, false, "mode", req.mode.as_str())?;
    if let NearestMode::Walk(w) = req.mode {
        member(out, false, "profile", w.profile.as_str())?;
        member(out, false, "max_min", &w.max_min)?;
        member(out, false, "route", &w.route)?;
        member(out, false, "max_snap_m", &w.max_snap_m)?;
        member(out, false, "snap_m", &answer.snap_m.map(cm))?;
    }
    if let Some((_, names)) = &p.properties {
        member(out, false, "properties", names)?;
    }
    if p.skip_geometry {
        member(out, false, "skipGeometry", &true)?;
    }
    out.push(b'}');
    Ok(())
}

/// Append the answer as a GeoJSON FeatureCollection to `out`: the facilities' Features are
/// spliced from the bytes serialised at load ([`Facilities::write_feature`]), so the only
/// per-request work is the computed properties.
pub fn write_collection(
    svc: &Service,
    p: &NearestParams,
    answer: &NearestAnswer,
    out: &mut Vec<u8>,
) -> Result<(), ApiError> {
    out.extend_from_slice(br#"{"type":"FeatureCollection","query":"#);
    write_query(p, answer, out).map_err(ApiError::internal)?;
    out.extend_from_slice(br#","numberReturned":"#);
    out.extend_from_slice(itoa::Buffer::new().format(answer.hits.len()).as_bytes());
    out.extend_from_slice(br#","features":["#);
    write_hits(svc, p, answer, None, &mut false, out)?;
    out.extend_from_slice(b"]}");
    Ok(())
}

/// Append the answer's facilities as comma-separated GeoJSON Features (a comma first when
/// `any`, which is then set). `origin`, when given, is written as the first computed
/// property (the batch endpoint names each answer's origin).
pub fn write_hits(
    svc: &Service,
    p: &NearestParams,
    answer: &NearestAnswer,
    origin: Option<Extra<'_>>,
    any: &mut bool,
    out: &mut Vec<u8>,
) -> Result<(), ApiError> {
    let facilities = svc.indexes.facilities();
    for (rank, h) in answer.hits.iter().enumerate() {
        if h.facility.index() >= facilities.len() {
            return Err(ApiError::internal(format!(
                "facility index {} out of range",
                h.facility.index()
            )));
        }
        if std::mem::replace(any, true) {
            out.push(b',');
        }
        let route = h
            .walk
            .as_ref()
            .and_then(|w| w.route.as_ref())
            .map(|line| super::walk::line_json(line, p.coords));
        let mut extras: [(&str, Extra<'_>); 6] = [("", Extra::Int(0)); 6];
        let mut n = 0;
        let mut push = |k, v| {
            extras[n] = (k, v);
            n += 1;
        };
        if let Some(o) = origin {
            push("origin", o);
        }
        push("distance_m", Extra::Num(cm(h.distance_m)));
        if let Some(w) = &h.walk {
            // 6 decimals: microminute precision, so clients can compare times exactly.
            push(
                "walk_min",
                Extra::Num((w.walk_s / 60.0 * 1e6).round() / 1e6),
            );
            push("walk_m", Extra::Num(cm(w.walk_m)));
            if let Some(r) = &route {
                push("route", Extra::Json(r));
            }
        }
        push("rank", Extra::Int(rank + 1));
        facilities.write_feature(
            h.facility,
            (!p.skip_geometry).then_some(p.coords),
            p.properties.as_ref().map(|(s, _)| s),
            &extras[..n],
            out,
        );
    }
    Ok(())
}
