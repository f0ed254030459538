//! OGC API – Tiles (vector tiles, WebMercatorQuad), TileJSON 3.0 and a MapLibre style over
//! [`crate::tiles`]: per layer (`/collections/{id}/tiles/...`), the composite base map
//! (`/tiles/...`) and live coverage (`/coverage/tiles/...`).
//!
//! Tiles are `application/vnd.mapbox-vector-tile`; each has a strong ETag made from its
//! bytes (a different one for its gzip form), `Cache-Control`, a
//! `304` on a matching `If-None-Match`, and `Content-Encoding: gzip` when the client accepts
//! it. A tile is made once and then served from memory.

use super::snapshot::Snap;
use std::sync::Arc;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use crate::model::LayerId;
use crate::query::tiles::{
    COMPOSITE, COVERAGE_FIELDS, COVERAGE_LAYER, CoverageKey, Source, TileBytes, TileId,
    TileIdError, ZOOM_MAX, ZOOM_MIN, matrix,
};
use crate::service::Service;

use super::error::{ApiError, ProblemKind};
use super::features::base_url;
use super::params::RawQuery;

/// Conformance classes of OGC API – Tiles 1.0 (OGC 20-057) and of the 2D Tile Matrix Set and
/// Tileset Metadata standard 2.0 (OGC 17-083r4) this API keeps; tests/tiles.rs checks each
/// (see docs/ogcapi-tiles.md). Not claimed: geodata-selection (`collections=` on /tiles), the
/// raster and GeoJSON tile encodings, datetime, and variable matrix widths.
pub const CONFORMANCE: [&str; 13] = [
    // Tiles at {tileMatrix}/{tileRow}/{tileCol}: 400 for bad numbers, 404 outside the limits.
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    // Tileset metadata at .../tiles/WebMercatorQuad with tiling-scheme and item links.
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    // The lists .../tiles of tilesets.
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    // Per collection: /collections/{collectionId}/tiles, linked from the collection.
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    // The whole dataset: /tiles, linked from the landing page.
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/dataset-tilesets",
    // Mapbox Vector Tiles.
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
    // openapi.yaml describes every tiles path.
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/oas30",
    // /tileMatrixSets/WebMercatorQuad as the JSON of 2D TMS 2.0.
    "http://www.opengis.net/spec/tms/2.0/conf/tilematrixset",
    "http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixset",
    // tileMatrixSetLimits in each tileset document.
    "http://www.opengis.net/spec/tms/2.0/conf/tilematrixsetlimits",
    "http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixsetlimits",
    // The tileset documents follow the tileset metadata model, in JSON.
    "http://www.opengis.net/spec/tms/2.0/conf/tilesetmetadata",
    "http://www.opengis.net/spec/tms/2.0/conf/json-tilesetmetadata",
];

/// Media type of a vector tile.
pub const MVT: &str = "application/vnd.mapbox-vector-tile";
/// The only tile matrix set served.
pub const TMS_ID: &str = "WebMercatorQuad";
const TMS_URI: &str = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad";
const CRS_3857: &str = "http://www.opengis.net/def/crs/EPSG/0/3857";
const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";
/// Link relation from a collection (or the landing page) to its vector tilesets.
pub const REL_TILESETS_VECTOR: &str = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector";
const REL_TILING_SCHEME: &str = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme";
/// An edit changes tiles at once (and only those it touches, which get a new ETag), so a
/// client keeps its copy but asks each time: the answer is a bodiless 304 unless it changed.
const CACHE_CONTROL: &str = "public, no-cache";
/// How GCJ-02 / BD-09 base maps line up, for TileJSON's `crs` note.
const CRS_NOTE: &str = "Tiles are WebMercatorQuad (EPSG:3857) of WGS84 data and are never \
shifted: they line up with WGS84 base maps (OpenStreetMap, MapLibre demo tiles, satellite \
imagery). Chinese base maps (AMap/Tencent in GCJ-02, Baidu in BD-09) are offset 100-700 m \
from WGS84: put our tiles on such a map only after shifting the base map to WGS84, or use \
the GeoJSON endpoints with coords=gcj02 or coords=bd09 instead; coords= has no meaning here.";

fn link(href: String, rel: &str, media_type: &str, title: &str) -> Value {
    json!({ "href": href, "rel": rel, "type": media_type, "title": title })
}

fn json_ok(v: &Value) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(v.to_string())
}

/// `f=json` or nothing, and no other parameter.
fn metadata_query(req: &HttpRequest) -> Result<(), ApiError> {
    let mut q = RawQuery::parse(req.query_string())?;
    q.take_format()?;
    q.deny_rest(&["f"])
}

fn check_tms(id: &str) -> Result<(), ApiError> {
    if id == TMS_ID {
        Ok(())
    } else {
        Err(ApiError::not_found(format!(
            "no tile matrix set '{id}'; the only one is {TMS_ID} (GET /tileMatrixSets)"
        )))
    }
}

/// The layer a collection id names, present in this data directory.
fn tile_layer(svc: &Service, id: &str) -> Result<LayerId, ApiError> {
    let Some(layer) = LayerId::parse(id) else {
        let have: Vec<&str> = svc.tiles.layers().map(|l| l.id.as_str()).collect();
        return Err(ApiError::not_found(format!(
            "no collection '{id}'; the collections are {}",
            have.join(", ")
        )));
    };
    match svc.tiles.layer(layer) {
        Some(_) => Ok(layer),
        None => Err(ApiError::layer_unavailable(
            layer,
            &format!("tiles of '{layer}'"),
        )),
    }
}

/// Parse `{tileMatrix}/{tileRow}/{tileCol}`: 400 when not whole numbers, 404 outside the
/// matrix set's limits.
fn tile_id(z: &str, row: &str, col: &str) -> Result<TileId, ApiError> {
    let num = |name: &str, s: &str| -> Result<u32, ApiError> {
        s.parse::<u32>().map_err(|_| {
            ApiError::bad_param(
                name,
                format!("'{s}' is not a whole number; tile paths are /{{tileMatrix}}/{{tileRow}}/{{tileCol}}, e.g. /14/6784/13040 (below xyz/: /{{tileMatrix}}/{{tileCol}}/{{tileRow}}.pbf, e.g. /xyz/14/13040/6784.pbf)"),
            )
        })
    };
    let (z, y, x) = (
        num("tileMatrix", z)?,
        num("tileRow", row)?,
        num("tileCol", col)?,
    );
    TileId::new(z, x, y).map_err(|e: TileIdError| ApiError::not_found(e.to_string()))
}

/// Whether `Accept-Encoding` accepts gzip (named or `*`, with a non-zero weight).
fn accepts_gzip(req: &HttpRequest) -> bool {
    let Some(v) = req
        .headers()
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    v.split(',').any(|item| {
        let mut parts = item.split(';').map(str::trim);
        let coding = parts.next().unwrap_or("").to_ascii_lowercase();
        let q = parts
            .find_map(|p| p.strip_prefix("q="))
            .and_then(|q| q.parse::<f64>().ok())
            .unwrap_or(1.0);
        (coding == "gzip" || coding == "x-gzip" || coding == "*") && q > 0.0
    })
}

/// The strong ETag of a tile: the hash of its bytes (so a tile an edit left alone keeps its
/// tag across the snapshot swap); the gzip form has its own.
fn etag(bytes: &TileBytes, gzip: bool) -> String {
    format!(
        "\"{:016x}{}\"",
        bytes.content_hash,
        if gzip { "-gz" } else { "" }
    )
}

/// Whether `If-None-Match` holds `tag` (weak comparison, as RFC 9110 asks for this header).
fn none_match(req: &HttpRequest, tag: &str) -> bool {
    req.headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == tag)
}

fn tile_response(req: &HttpRequest, bytes: &TileBytes) -> HttpResponse {
    // An empty tile is sent as is: gzip of nothing is larger than nothing.
    let gzip = accepts_gzip(req) && !bytes.mvt.is_empty();
    let tag = etag(bytes, gzip);
    let mut r = if none_match(req, &tag) {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    r.insert_header((header::ETAG, tag.clone()))
        .insert_header((header::CACHE_CONTROL, CACHE_CONTROL))
        .insert_header((header::VARY, "Accept-Encoding"));
    if none_match(req, &tag) {
        return r.finish();
    }
    r.content_type(MVT);
    if gzip {
        r.insert_header((header::CONTENT_ENCODING, HeaderValue::from_static("gzip")));
        r.body(bytes.gzip().to_vec())
    } else {
        r.body(bytes.mvt.clone())
    }
}

/// Serve a tile: from memory when made before, else made off the async workers.
async fn serve_tile(
    req: &HttpRequest,
    svc: Snap,
    source: Source,
    tile: TileId,
) -> Result<HttpResponse, ApiError> {
    if let Some(t) = svc.tiles.cached(&source, tile) {
        return Ok(tile_response(req, &t));
    }
    let gzip = accepts_gzip(req);
    let (s, src) = (svc.clone(), source.clone());
    // Encoded (and compressed) off the async workers.
    let bytes: Arc<TileBytes> =
        crate::query::heavy(s.into_inner(), move |s, _| s.tile(&src, tile, gzip)).await?;
    Ok(tile_response(req, &bytes))
}

// ---- tile matrix sets -----------------------------------------------------------------

/// `GET /tileMatrixSets`.
pub async fn tile_matrix_sets(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    metadata_query(&req)?;
    let b = base_url(&req);
    Ok(json_ok(&json!({
        "tileMatrixSets": [{
            "id": TMS_ID,
            "title": "Google Maps Compatible for the World",
            "uri": TMS_URI,
            "crs": CRS_3857,
            "links": [link(format!("{b}/tileMatrixSets/{TMS_ID}"), "self", "application/json", TMS_ID)],
        }],
        "links": [link(format!("{b}/tileMatrixSets"), "self", "application/json", "Tile matrix sets")],
    })))
}

/// `GET /tileMatrixSets/{tileMatrixSetId}`: the OGC 2D TMS 2.0 definition (zooms 0–24).
pub async fn tile_matrix_set(
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    check_tms(&path)?;
    metadata_query(&req)?;
    let matrices: Vec<Value> = (0u8..=24)
        .map(|z| {
            let n = 1u64 << z;
            let cell = 2.0 * matrix::HALF_WORLD_M / 256.0 / n as f64;
            json!({
                "id": z.to_string(),
                // OGC's standardised pixel of 0.28 mm.
                "scaleDenominator": cell / 0.000_28,
                "cellSize": cell,
                "cornerOfOrigin": "topLeft",
                "pointOfOrigin": [-matrix::HALF_WORLD_M, matrix::HALF_WORLD_M],
                "tileWidth": 256,
                "tileHeight": 256,
                "matrixWidth": n,
                "matrixHeight": n,
            })
        })
        .collect();
    Ok(json_ok(&json!({
        "id": TMS_ID,
        "title": "Google Maps Compatible for the World",
        "uri": TMS_URI,
        "crs": CRS_3857,
        "orderedAxes": ["X", "Y"],
        "wellKnownScaleSet": "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible",
        "tileMatrices": matrices,
    })))
}

// ---- tileset metadata and TileJSON ----------------------------------------------------

/// A source as the metadata documents describe it.
struct Described {
    title: String,
    /// Path below the base URL, without the tile matrix set (`/collections/grids/tiles`).
    root: String,
    /// Query string appended to tile URLs (coverage parameters), with its `?`.
    query: String,
    layers: Vec<SourceLayer>,
}

/// A layer inside a source's tiles: (id, description, minzoom, fields and their types).
type SourceLayer = (String, String, u8, Vec<(&'static str, &'static str)>);

fn describe_layer(svc: &Service, id: LayerId) -> Described {
    let fields = svc
        .tiles
        .layer(id)
        .map(|l| l.fields.clone())
        .unwrap_or_default();
    Described {
        title: format!("{} — vector tiles", id.title()),
        root: format!("/collections/{id}/tiles"),
        query: String::new(),
        layers: vec![(
            id.as_str().to_string(),
            id.title().to_string(),
            ZOOM_MIN,
            fields,
        )],
    }
}

fn describe_composite(svc: &Service) -> Described {
    Described {
        title: "Base map: every layer (便民生活圈底图)".into(),
        root: "/tiles".into(),
        query: String::new(),
        layers: COMPOSITE
            .iter()
            .filter_map(|&(id, minzoom)| {
                let l = svc.tiles.layer(id)?;
                Some((
                    id.as_str().to_string(),
                    id.title().to_string(),
                    minzoom,
                    l.fields.clone(),
                ))
            })
            .collect(),
    }
}

fn tileset_doc(req: &HttpRequest, svc: &Service, d: &Described) -> Value {
    let b = base_url(req);
    let bounds = svc.tiles.bounds();
    let limits: Vec<Value> = match bounds {
        Some(bb) => (ZOOM_MIN..=ZOOM_MAX)
            .map(|z| {
                let (c0, r0, c1, r1) = matrix::tile_range(z, bb);
                json!({"tileMatrix": z.to_string(), "minTileRow": r0, "maxTileRow": r1, "minTileCol": c0, "maxTileCol": c1})
            })
            .collect(),
        None => Vec::new(),
    };
    let layers: Vec<Value> = d
        .layers
        .iter()
        .map(|(id, desc, minzoom, fields)| {
            let props: serde_json::Map<String, Value> = fields
                .iter()
                .map(|(k, t)| ((*k).to_string(), json!({"type": t.to_lowercase()})))
                .collect();
            json!({
                "id": id, "title": desc, "dataType": "vector",
                "minTileMatrix": minzoom.to_string(), "maxTileMatrix": ZOOM_MAX.to_string(),
                "propertiesSchema": {"type": "object", "properties": props},
            })
        })
        .collect();
    let mut item = link(
        format!(
            "{b}{}/{TMS_ID}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}{}",
            d.root, d.query
        ),
        "item",
        MVT,
        "Tiles (MVT)",
    );
    item["templated"] = json!(true);
    let mut doc = json!({
        "title": d.title,
        "dataType": "vector",
        "crs": CRS_3857,
        "tileMatrixSetURI": TMS_URI,
        // 2D TMS 2.0 asks for the definition (or a link to it) beside the registry URI.
        "tileMatrixSetDefinition": format!("{b}/tileMatrixSets/{TMS_ID}"),
        "tileMatrixSetLimits": limits,
        "layers": layers,
        "links": [
            link(format!("{b}{}/{TMS_ID}{}", d.root, d.query), "self", "application/json", "This tileset"),
            link(format!("{b}/tileMatrixSets/{TMS_ID}"), REL_TILING_SCHEME, "application/json", "WebMercatorQuad definition"),
            item,
            link(format!("{b}{}/{TMS_ID}/tilejson.json{}", d.root, d.query), "describedby", "application/json", "TileJSON 3.0"),
        ],
    });
    if let Some(bb) = bounds {
        doc["boundingBox"] =
            json!({"lowerLeft": [bb[0], bb[1]], "upperRight": [bb[2], bb[3]], "crs": CRS84});
    }
    doc
}

fn tilesets_doc(req: &HttpRequest, svc: &Service, d: &Described) -> Value {
    let b = base_url(req);
    let mut set = tileset_doc(req, svc, d);
    if let Some(m) = set.as_object_mut() {
        m.remove("layers");
        m.remove("tileMatrixSetLimits");
    }
    json!({
        "tilesets": [set],
        "links": [link(format!("{b}{}", d.root), "self", "application/json", "Tilesets")],
    })
}

fn tilejson_doc(req: &HttpRequest, svc: &Service, d: &Described, name: &str) -> Value {
    let b = base_url(req);
    let bounds = svc.tiles.bounds().unwrap_or([-180.0, -85.0, 180.0, 85.0]);
    let vector_layers: Vec<Value> = d
        .layers
        .iter()
        .map(|(id, desc, minzoom, fields)| {
            let f: serde_json::Map<String, Value> = fields
                .iter()
                .map(|(k, t)| ((*k).to_string(), json!(t)))
                .collect();
            json!({"id": id, "description": desc, "minzoom": minzoom, "maxzoom": ZOOM_MAX, "fields": f})
        })
        .collect();
    let minzoom = d.layers.iter().map(|l| l.2).min().unwrap_or(ZOOM_MIN);
    json!({
        "tilejson": "3.0.0",
        "name": name,
        "description": d.title,
        "version": "1.0.0",
        "attribution": "servicemap — modelled data, see geodata/README.md",
        "scheme": "xyz",
        "tiles": [format!("{b}{}/{TMS_ID}/{{z}}/{{y}}/{{x}}{}", d.root, d.query)],
        "minzoom": minzoom,
        "maxzoom": ZOOM_MAX,
        "bounds": bounds,
        "center": [(bounds[0] + bounds[2]) / 2.0, (bounds[1] + bounds[3]) / 2.0, 14],
        "vector_layers": vector_layers,
        "crs": CRS_NOTE,
    })
}

/// `GET /collections/{collectionId}/tiles`: the layer's tilesets (one: WebMercatorQuad).
pub async fn collection_tilesets(
    req: HttpRequest,
    svc: Snap,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = tile_layer(&svc, &path)?;
    metadata_query(&req)?;
    Ok(json_ok(&tilesets_doc(
        &req,
        &svc,
        &describe_layer(&svc, id),
    )))
}

/// `GET /collections/{collectionId}/tiles/{tileMatrixSetId}`: OGC tileset metadata.
pub async fn collection_tileset(
    req: HttpRequest,
    svc: Snap,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (c, tms) = path.into_inner();
    let id = tile_layer(&svc, &c)?;
    check_tms(&tms)?;
    metadata_query(&req)?;
    Ok(json_ok(&tileset_doc(&req, &svc, &describe_layer(&svc, id))))
}

/// `GET /collections/{collectionId}/tiles/{tileMatrixSetId}/tilejson.json`.
pub async fn collection_tilejson(
    req: HttpRequest,
    svc: Snap,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (c, tms) = path.into_inner();
    let id = tile_layer(&svc, &c)?;
    check_tms(&tms)?;
    metadata_query(&req)?;
    Ok(json_ok(&tilejson_doc(
        &req,
        &svc,
        &describe_layer(&svc, id),
        id.as_str(),
    )))
}

/// `GET /collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}`.
pub async fn collection_tile(
    req: HttpRequest,
    svc: Snap,
    path: web::Path<(String, String, String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (c, tms, z, row, col) = path.into_inner();
    let id = tile_layer(&svc, &c)?;
    check_tms(&tms)?;
    let tile = tile_id(&z, &row, &col)?;
    RawQuery::parse(req.query_string())?.deny_rest(&["(none)"])?;
    serve_tile(&req, svc, Source::Layer(id), tile).await
}

/// `GET /collections/{collectionId}/tiles/{tileMatrixSetId}/xyz/{tileMatrix}/{tileCol}/{tileRow}.pbf`:
/// the same tile in the XYZ file layout (see [`composite_tile_xyz`]).
pub async fn collection_tile_xyz(
    req: HttpRequest,
    svc: Snap,
    path: web::Path<(String, String, String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (c, tms, z, col, row) = path.into_inner();
    collection_tile(req, svc, web::Path::from((c, tms, z, row, col))).await
}

/// `GET /tiles`: the composite base-map tilesets.
pub async fn composite_tilesets(req: HttpRequest, svc: Snap) -> Result<HttpResponse, ApiError> {
    metadata_query(&req)?;
    Ok(json_ok(&tilesets_doc(
        &req,
        &svc,
        &describe_composite(&svc),
    )))
}

/// `GET /tiles/{tileMatrixSetId}`.
pub async fn composite_tileset(
    req: HttpRequest,
    svc: Snap,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    check_tms(&path)?;
    metadata_query(&req)?;
    Ok(json_ok(&tileset_doc(&req, &svc, &describe_composite(&svc))))
}

/// `GET /tiles/{tileMatrixSetId}/tilejson.json`.
pub async fn composite_tilejson(
    req: HttpRequest,
    svc: Snap,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    check_tms(&path)?;
    metadata_query(&req)?;
    Ok(json_ok(&tilejson_doc(
        &req,
        &svc,
        &describe_composite(&svc),
        "servicemap",
    )))
}

/// `GET /tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}`.
pub async fn composite_tile(
    req: HttpRequest,
    svc: Snap,
    path: web::Path<(String, String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (tms, z, row, col) = path.into_inner();
    check_tms(&tms)?;
    let tile = tile_id(&z, &row, &col)?;
    RawQuery::parse(req.query_string())?.deny_rest(&["(none)"])?;
    serve_tile(&req, svc, Source::Composite, tile).await
}

/// `GET /tiles/{tileMatrixSetId}/xyz/{tileMatrix}/{tileCol}/{tileRow}.pbf`: the composite tile
/// at the path of the XYZ file layout (`DIR/{z}/{x}/{y}.pbf`, column before row), the only
/// layout in which GDAL's MVT driver reads a tileset over HTTP (with the TileJSON as its
/// `METADATA_FILE`); OGC API – Tiles paths put the row first. Same bytes, ETag and caching.
pub async fn composite_tile_xyz(
    req: HttpRequest,
    svc: Snap,
    path: web::Path<(String, String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (tms, z, col, row) = path.into_inner();
    composite_tile(req, svc, web::Path::from((tms, z, row, col))).await
}

// ---- coverage tiles ---------------------------------------------------------------------

const COVERAGE_PARAMS: [&str; 4] = ["category", "minutes", "profile", "level"];

fn coverage_key(svc: &Service, req: &HttpRequest) -> Result<CoverageKey, ApiError> {
    let mut q = RawQuery::parse(req.query_string())?;
    let key = CoverageKey {
        category: q.take_category()?.as_str().to_string(),
        minutes: q.take_minutes()?.get(),
        profile: q.take_profile()?.unwrap_or_default(),
        level: q
            .take_with("level", crate::model::Level::parse)?
            .unwrap_or_default(),
    };
    q.deny_rest(&COVERAGE_PARAMS)?;
    if svc.planner.is_none() {
        return Err(ApiError::layer_unavailable(
            LayerId::Walkways,
            "coverage tiles",
        ));
    }
    if !svc.is_category(&key.category) {
        return Err(ApiError::bad_param(
            "category",
            format!(
                "unknown category '{}'; GET /categories lists the ids",
                key.category
            ),
        ));
    }
    let layer = key.layer();
    if svc.tiles.layer(layer).is_none() {
        return Err(ApiError::layer_unavailable(
            layer,
            "coverage tiles at this level",
        ));
    }
    Ok(key)
}

fn describe_coverage(key: &CoverageKey) -> Described {
    let query = format!(
        "?category={}&minutes={}&profile={}&level={}",
        key.category,
        key.minutes,
        key.profile.as_str(),
        key.level.as_str()
    );
    Described {
        title: format!(
            "Coverage of {} within {} min ({} walker), per {}",
            key.category,
            key.minutes,
            key.profile.as_str(),
            key.level.as_str()
        ),
        root: "/coverage/tiles".into(),
        query,
        layers: vec![(
            COVERAGE_LAYER.to_string(),
            "Units with households, households covered, share and walking times".into(),
            ZOOM_MIN,
            COVERAGE_FIELDS.to_vec(),
        )],
    }
}

/// `GET /coverage/tiles/{tileMatrixSetId}/tilejson.json?category=&minutes=&profile=&level=`.
pub async fn coverage_tilejson(
    req: HttpRequest,
    svc: Snap,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    check_tms(&path)?;
    let key = coverage_key(&svc, &req)?;
    Ok(json_ok(&tilejson_doc(
        &req,
        &svc,
        &describe_coverage(&key),
        "coverage",
    )))
}

/// `GET /coverage/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}?category=...`.
pub async fn coverage_tile(
    req: HttpRequest,
    svc: Snap,
    path: web::Path<(String, String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (tms, z, row, col) = path.into_inner();
    check_tms(&tms)?;
    let tile = tile_id(&z, &row, &col)?;
    let key = coverage_key(&svc, &req)?;
    serve_tile(&req, svc, Source::Coverage(key), tile).await
}

// ---- style ----------------------------------------------------------------------------

/// Colour of a facility's service domain on the map.
fn domain_colour(domain: &str) -> &'static str {
    match domain {
        "services" => "#d7301f",
        "elderly" => "#f16913",
        "education" => "#2171b5",
        "medical" => "#238b45",
        "culture" => "#6a51a3",
        "transport" => "#525252",
        _ => "#969696",
    }
}

/// `GET /styles/default.json`: a MapLibre style drawing the base map from our tiles only.
///
/// Labels are Chinese names. No glyph server outside is referenced: `glyphs` points at this
/// service's `/fonts/...`, which serves empty glyph sets, and MapLibre draws CJK ideographs
/// with the browser's own fonts (its `localIdeographFontFamily`, on by default). So only
/// names written wholly in ideographs are labelled (communities, compounds, water, the
/// subdistrict); Latin letters and digits would need real glyphs and are not drawn.
pub async fn style(req: HttpRequest, svc: Snap) -> Result<HttpResponse, ApiError> {
    metadata_query(&req)?;
    let b = base_url(&req);
    let mut facility_colour = vec![json!("match"), json!(["get", "category"])];
    if let Some(t) = &svc.taxonomy {
        for c in &t.categories {
            facility_colour.push(json!(c.id));
            facility_colour.push(json!(domain_colour(&c.domain)));
        }
    }
    facility_colour.push(json!("#969696"));
    let facility_colour = if facility_colour.len() > 3 {
        Value::Array(facility_colour)
    } else {
        json!("#969696")
    };
    let bounds = svc.tiles.bounds().unwrap_or([106.49, 29.44, 106.58, 29.50]);
    let label = |id: &str, layer: &str, minzoom: u8, size: f64, colour: &str| {
        json!({
            "id": id, "type": "symbol", "source": "servicemap", "source-layer": layer, "minzoom": minzoom,
            "layout": {"text-field": ["get", "name"], "text-font": ["Noto Sans CJK SC Regular"], "text-size": size},
            "paint": {"text-color": colour, "text-halo-color": "#ffffff", "text-halo-width": 1.2}
        })
    };
    let doc = json!({
        "version": 8,
        "name": "servicemap 便民生活圈",
        "metadata": {"servicemap:crs": CRS_NOTE},
        "center": [(bounds[0] + bounds[2]) / 2.0, (bounds[1] + bounds[3]) / 2.0],
        "zoom": 13,
        "sources": {
            "servicemap": {"type": "vector", "url": format!("{b}/tiles/{TMS_ID}/tilejson.json")}
        },
        "glyphs": format!("{b}/fonts/{{fontstack}}/{{range}}"),
        "layers": [
            {"id": "background", "type": "background", "paint": {"background-color": "#f4f1ea"}},
            {"id": "water", "type": "fill", "source": "servicemap", "source-layer": "water",
             "paint": {"fill-color": "#a8cfe8"}},
            {"id": "communities", "type": "fill", "source": "servicemap", "source-layer": "communities",
             "paint": {"fill-color": "#efe8f5", "fill-opacity": 0.6}},
            {"id": "compounds", "type": "fill", "source": "servicemap", "source-layer": "compounds", "minzoom": 13,
             "paint": {"fill-color": ["case", ["==", ["get", "old"], true], "#f3b27a", "#f8dcbc"], "fill-opacity": 0.8}},
            {"id": "microgrids", "type": "line", "source": "servicemap", "source-layer": "microgrids", "minzoom": 14,
             "paint": {"line-color": "#c9b8dd", "line-width": 0.5}},
            {"id": "grids", "type": "line", "source": "servicemap", "source-layer": "grids", "minzoom": 12,
             "paint": {"line-color": "#9a7bbf", "line-width": 0.8, "line-dasharray": [3, 2]}},
            {"id": "communities-outline", "type": "line", "source": "servicemap", "source-layer": "communities",
             "paint": {"line-color": "#7b4fa0", "line-width": 1.5}},
            {"id": "walkways", "type": "line", "source": "servicemap", "source-layer": "walkways", "minzoom": 13,
             "filter": ["!=", ["get", "stairs"], true],
             "paint": {"line-color": "#8c8c8c", "line-width": ["interpolate", ["linear"], ["zoom"], 13, 0.5, 18, 3]}},
            {"id": "stairs", "type": "line", "source": "servicemap", "source-layer": "walkways", "minzoom": 13,
             "filter": ["==", ["get", "stairs"], true],
             "paint": {"line-color": "#d6453d", "line-width": ["interpolate", ["linear"], ["zoom"], 13, 0.8, 18, 3], "line-dasharray": [1, 1]}},
            {"id": "boundary", "type": "line", "source": "servicemap", "source-layer": "boundary",
             "paint": {"line-color": "#5b2a86", "line-width": 3}},
            // Footprints extruded by their height (floors × 3 m where a building has none).
            {"id": "buildings", "type": "fill-extrusion", "source": "servicemap", "source-layer": "buildings", "minzoom": 15,
             "paint": {"fill-extrusion-color": "#d9d2c5", "fill-extrusion-opacity": 0.85,
                       "fill-extrusion-height": ["coalesce", ["get", "height_m"], ["*", ["coalesce", ["get", "floors"], 1], 3]]}},
            {"id": "facilities", "type": "circle", "source": "servicemap", "source-layer": "facilities", "minzoom": 13,
             "paint": {"circle-color": facility_colour, "circle-radius": ["interpolate", ["linear"], ["zoom"], 13, 2.5, 18, 6],
                       "circle-stroke-color": "#ffffff", "circle-stroke-width": 1}},
            label("water-label", "water", 12, 13.0, "#2b6a94"),
            label("community-label", "communities", 12, 13.0, "#5b2a86"),
            label("compound-label", "compounds", 15, 11.0, "#8a4b12"),
            label("boundary-label", "boundary", 10, 15.0, "#5b2a86"),
        ],
    });
    Ok(json_ok(&doc))
}

/// `GET /fonts/{fontstack}/{range}`: an empty glyph set in the PBF format MapLibre asks for
/// (see [`style`]); ideographs are drawn by the browser.
pub async fn glyphs(path: web::Path<(String, String)>) -> Result<HttpResponse, ApiError> {
    let (fontstack, range) = path.into_inner();
    let range = range.trim_end_matches(".pbf").to_string();
    let ok = range
        .split_once('-')
        .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)))
        .is_some_and(|(a, b)| a % 256 == 0 && b == a + 255 && b <= 0xFFFF);
    if !ok {
        return Err(ApiError::new(
            ProblemKind::NotFound,
            format!(
                "no glyph range '{range}': ranges are 256 code points, e.g. 0-255 or 19968-20223"
            ),
        ));
    }
    let body = crate::tiles::glyphs::empty_glyphs(&fontstack, &range);
    Ok(HttpResponse::Ok()
        .content_type("application/x-protobuf")
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(body))
}
