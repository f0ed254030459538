//! OGC API – Features Part 1 (Core, GeoJSON): landing page, conformance, collections, items,
//! one item. Collections are the layers the data directory has.
//!
//! Items filtering: `bbox` (intersects; envelope R-tree then exact test), and equality on any
//! property the collection has (`category=elder_canteen`, `community=...`; arrays match when
//! an element equals the value). A filter on a property name the collection does not have is
//! a 400 naming the properties it has, so a typo never silently returns everything.
//! Reserved, not filters: `bbox`, `limit`, `offset`, `coords`, `f`, `bbox-crs`, `crs`,
//! `datetime` (no layer is temporal, so it matches everything).

use super::snapshot::Snap;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use crate::model::geojson::geometry_json;
use crate::model::{Crs, Feature, LayerId};
use crate::query::ItemsRequest;
use crate::service::Service;

use super::error::ApiError;
use super::params::RawQuery;

/// Media type of GeoJSON bodies.
pub const GEO_JSON: &str = "application/geo+json";
/// OGC CRS84 (WGS84 lon/lat), the CRS of every collection.
pub const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";

/// Conformance classes this API implements.
pub const CONFORMANCE: [&str; 10] = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
];

/// Media type of a queryables document (a JSON Schema).
pub const SCHEMA_JSON: &str = "application/schema+json";

/// `scheme://host` of the request, for absolute links (GDAL follows `next` links as given).
#[must_use]
pub fn base_url(req: &HttpRequest) -> String {
    let ci = req.connection_info();
    format!("{}://{}", ci.scheme(), ci.host())
}

/// A Feature as GeoJSON with its geometry written in `crs` (7 decimals; walkways keep their
/// elevations as third coordinates).
#[must_use]
pub fn feature_value(f: &Feature, crs: Crs, extra: Option<Map<String, Value>>) -> Value {
    let geometry = if crs == Crs::Wgs84 {
        geometry_json(&f.geometry, f.elevation_m.as_deref())
    } else {
        geometry_json(
            &crs.geometry_from_wgs84(&f.geometry),
            f.elevation_m.as_deref(),
        )
    };
    let mut properties = f.properties.to_map();
    if let Some(extra) = extra {
        properties.extend(extra);
    }
    json!({ "type": "Feature", "id": f.id, "geometry": geometry, "properties": properties })
}

pub(crate) fn json_response(v: &Value) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(v.to_string())
}

pub(crate) fn geojson_response(v: &Value) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(GEO_JSON)
        .body(v.to_string())
}

fn simple_query(req: &HttpRequest) -> Result<RawQuery<'_>, ApiError> {
    let mut q = RawQuery::parse(req.query_string())?;
    q.take_format()?;
    Ok(q)
}

fn link(href: String, rel: &str, media_type: &str, title: &str) -> Value {
    json!({ "href": href, "rel": rel, "type": media_type, "title": title })
}

/// The landing page, `GET /` for clients other than browsers (see `page::root`).
pub fn landing(req: &HttpRequest) -> Result<HttpResponse, ApiError> {
    simple_query(req)?;
    let b = base_url(req);
    Ok(json_response(&json!({
        "title": "servicemap: 15-minute convenient living circle",
        "description": "Service facilities, grids and walking network of a subdistrict \
                        (李家沱街道, Banan, Chongqing) as OGC API – Features, plus locate, nearest and the facility taxonomy.",
        "links": [
            link(format!("{b}/"), "self", "application/json", "This document"),
            link(format!("{b}/openapi.yaml"), "service-desc", "application/vnd.oai.openapi;version=3.0", "API definition (OpenAPI 3.1, YAML)"),
            link(format!("{b}/conformance"), "conformance", "application/json", "Conformance classes"),
            link(format!("{b}/collections"), "data", "application/json", "Collections (layers)"),
            link(format!("{b}/tiles"), super::tiles::REL_TILESETS_VECTOR, "application/json", "Vector tiles of every layer (base map)"),
            link(format!("{b}/tileMatrixSets"), "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes", "application/json", "Tile matrix sets"),
        ],
    })))
}

/// `GET /conformance`.
pub async fn conformance(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    simple_query(&req)?;
    let classes: Vec<&str> = CONFORMANCE
        .iter()
        .chain(super::tiles::CONFORMANCE.iter())
        .copied()
        .collect();
    Ok(json_response(&json!({ "conformsTo": classes })))
}

fn collection_value(svc: &Service, layer: LayerId, b: &str) -> Value {
    let id = layer.as_str();
    let mut c = json!({
        "id": id,
        "title": layer.title(),
        "itemType": "feature",
        "crs": [CRS84],
        "links": [
            link(format!("{b}/collections/{id}"), "self", "application/json", layer.title()),
            link(format!("{b}/collections/{id}/items"), "items", GEO_JSON, "Items (GeoJSON)"),
            link(format!("{b}/collections/{id}/tiles"), super::tiles::REL_TILESETS_VECTOR, "application/json", "Vector tiles"),
        ],
    });
    if let (Some(e), Some(m)) = (
        svc.indexes.layer(layer).and_then(|l| l.extent),
        c.as_object_mut(),
    ) {
        m.insert(
            "extent".into(),
            json!({ "spatial": { "bbox": [e], "crs": CRS84 } }),
        );
    }
    c
}

/// `GET /collections`: the layers this data directory has.
pub async fn collections(req: HttpRequest, svc: Snap) -> Result<HttpResponse, ApiError> {
    simple_query(&req)?;
    let b = base_url(&req);
    let list: Vec<Value> = svc
        .dataset
        .layers
        .keys()
        .map(|&l| collection_value(&svc, l, &b))
        .collect();
    Ok(json_response(&json!({
        "links": [link(format!("{b}/collections"), "self", "application/json", "Collections")],
        "collections": list,
    })))
}

/// `GET /collections/{collectionId}`.
pub async fn collection(
    req: HttpRequest,
    svc: Snap,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    simple_query(&req)?;
    let (layer, _) = svc.collection(&path)?;
    Ok(json_response(&collection_value(
        &svc,
        layer,
        &base_url(&req),
    )))
}

/// Parameters of the items endpoint: everything not reserved is a property filter.
fn parse_items(req: &HttpRequest) -> Result<(ItemsRequest, Crs), ApiError> {
    let mut q = RawQuery::parse(req.query_string())?;
    q.take_format()?;
    let coords = q.take_coords()?;
    for name in ["bbox-crs", "crs"] {
        if let Some(v) = q.take(name)
            && v != CRS84
        {
            return Err(ApiError::bad_param(
                name,
                format!("only {CRS84} is offered; for GCJ-02 or BD-09 use coords=gcj02|bd09"),
            ));
        }
    }
    q.take("datetime");
    let filter = parse_filter(&mut q)?;
    let bbox = q.take_bbox(coords)?;
    let limit = q.take_limit()?;
    let offset = q.take_offset()?;
    Ok((
        ItemsRequest {
            bbox,
            limit,
            offset,
            filters: q.remaining(),
            filter,
        },
        coords,
    ))
}

/// `filter` (CQL2), `filter-lang` (`cql2-text`, the default, or `cql2-json`) and
/// `filter-crs` (CRS84 only: geometries in a filter are WGS84 lon/lat, whatever `coords` says).
fn parse_filter(q: &mut RawQuery) -> Result<Option<cql2::Expr>, ApiError> {
    let lang = q.take("filter-lang");
    if let Some(crs) = q.take("filter-crs")
        && crs != CRS84
    {
        return Err(ApiError::bad_param(
            "filter-crs",
            format!("only {CRS84} is offered: give filter geometries as WGS84 lon/lat"),
        ));
    }
    let Some(text) = q.take("filter") else {
        return match lang {
            Some(_) => Err(ApiError::bad_param(
                "filter-lang",
                "given without filter; add filter=..., e.g. filter=category='elder_canteen'",
            )),
            None => Ok(None),
        };
    };
    let parsed = match lang.as_deref() {
        None | Some("cql2-text") => cql2::parse_text(&text).map_err(|e| e.to_string()),
        Some("cql2-json") => cql2::parse_json(&text).map_err(|e| e.to_string()),
        Some(other) => {
            return Err(ApiError::bad_param(
                "filter-lang",
                format!("'{other}' is not offered; use cql2-text (default) or cql2-json"),
            ));
        }
    };
    parsed.map(Some).map_err(|e| {
        ApiError::bad_param(
            "filter",
            format!(
                "not valid CQL2 ({e}); e.g. filter=category='elder_canteen' AND S_INTERSECTS(geometry, BBOX(106.52,29.46,106.54,29.48))"
            ),
        )
    })
}

/// `GET /collections/{collectionId}/queryables`: a JSON Schema of what `filter` and the
/// property parameters can use (OGC API – Features Part 3).
pub async fn queryables(
    req: HttpRequest,
    svc: Snap,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    simple_query(&req)?;
    let q = svc.queryables(&path)?;
    let layer = q.layer;
    let b = base_url(&req);
    let mut properties = Map::new();
    properties.insert(
        crate::query::GEOMETRY_QUERYABLE.into(),
        json!({ "format": format!("geometry-{}", geometry_format(layer)), "x-ogc-role": "primary-geometry" }),
    );
    for (name, kind) in &q.properties {
        properties.insert(name.clone(), json!({ "title": name, "type": kind }));
    }
    let doc = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": format!("{b}/collections/{}/queryables", layer.as_str()),
        "type": "object",
        "title": layer.title(),
        "properties": properties,
        "additionalProperties": false,
    });
    Ok(HttpResponse::Ok()
        .content_type(SCHEMA_JSON)
        .body(doc.to_string()))
}

/// The `geometry-*` format of a layer's queryable geometry.
fn geometry_format(layer: LayerId) -> &'static str {
    match (layer, layer.geometry_kind()) {
        // Water may be a Polygon or a MultiPolygon.
        (LayerId::Water, _) => "any",
        // Buildings are Points or footprint Polygons.
        (LayerId::Buildings, _) => "any",
        (_, crate::model::GeometryKind::Point) => "point",
        (_, crate::model::GeometryKind::LineString) => "linestring",
        (_, crate::model::GeometryKind::Polygon) => "polygon",
    }
}

/// The query string with `offset` (and `limit`) replaced, other parameters kept as sent.
fn page_query(query_string: &str, limit: usize, offset: usize) -> String {
    let mut parts: Vec<String> = query_string
        .split('&')
        .filter(|p| {
            !p.is_empty()
                && !p.starts_with("offset=")
                && !p.starts_with("limit=")
                && *p != "offset"
                && *p != "limit"
        })
        .map(str::to_string)
        .collect();
    parts.push(format!("limit={limit}"));
    parts.push(format!("offset={offset}"));
    parts.join("&")
}

/// `GET /collections/{collectionId}/items`.
pub async fn items(
    req: HttpRequest,
    svc: Snap,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (q, coords) = parse_items(&req)?;
    let found = svc.features(&path, &q)?;
    let layer = found.layer;
    let limit = q.limit.get();
    let page: Vec<Value> = found
        .features
        .iter()
        .map(|f| feature_value(f, coords, None))
        .collect();
    let b = base_url(&req);
    let here = format!("{b}{}", req.path());
    let mut links = vec![
        link(
            format!("{here}?{}", page_query(req.query_string(), limit, q.offset)),
            "self",
            GEO_JSON,
            "This page",
        ),
        link(
            format!("{b}/collections/{}", layer.as_str()),
            "collection",
            "application/json",
            layer.title(),
        ),
    ];
    if q.offset.saturating_add(limit) < found.number_matched {
        links.push(link(
            format!(
                "{here}?{}",
                page_query(req.query_string(), limit, q.offset + limit)
            ),
            "next",
            GEO_JSON,
            "Next page",
        ));
    }
    if q.offset > 0 {
        links.push(link(
            format!(
                "{here}?{}",
                page_query(req.query_string(), limit, q.offset.saturating_sub(limit))
            ),
            "prev",
            GEO_JSON,
            "Previous page",
        ));
    }
    let returned = page.len();
    Ok(geojson_response(&json!({
        "type": "FeatureCollection",
        "numberMatched": found.number_matched,
        "numberReturned": returned,
        "timeStamp": rfc3339_now(),
        "links": links,
        "features": page,
    })))
}

/// `GET /collections/{collectionId}/items/{featureId}`.
pub async fn item(
    req: HttpRequest,
    svc: Snap,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (collection_id, feature_id) = path.into_inner();
    let mut q = RawQuery::parse(req.query_string())?;
    q.take_format()?;
    let coords = q.take_coords()?;
    let (layer, feature) = svc.feature(&collection_id, &feature_id)?;
    // The version a write's `If-Match` must name (OGC API – Features Part 4).
    let tag = crate::edit::etag(feature);
    let b = base_url(&req);
    let mut v = feature_value(feature, coords, None);
    if let Some(m) = v.as_object_mut() {
        m.insert(
            "links".into(),
            json!([
                link(
                    format!("{b}{}", req.path()),
                    "self",
                    GEO_JSON,
                    "This feature"
                ),
                link(
                    format!("{b}/collections/{}", layer.as_str()),
                    "collection",
                    "application/json",
                    layer.title()
                ),
            ]),
        );
    }
    let mut res = geojson_response(&v);
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&tag) {
        res.headers_mut()
            .insert(actix_web::http::header::ETAG, value);
    }
    Ok(res)
}

/// Current UTC time as RFC 3339 (`2026-11-25T12:00:00Z`), without a date-time dependency.
#[must_use]
pub fn rfc3339_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    rfc3339(secs)
}

/// Seconds since the Unix epoch as RFC 3339 UTC (civil-from-days, H. Hinnant's algorithm).
#[must_use]
pub fn rfc3339(unix_s: u64) -> String {
    let days = (unix_s / 86_400) as i64;
    let rem = unix_s % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_608_000), "2026-11-25T12:00:00Z");
    }

    #[test]
    fn page_query_replaces_offset_and_limit() {
        assert_eq!(
            page_query("category=x&offset=5&limit=2", 2, 7),
            "category=x&limit=2&offset=7"
        );
        assert_eq!(page_query("", 10, 0), "limit=10&offset=0");
    }
}
