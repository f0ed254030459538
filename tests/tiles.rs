//! Vector tiles: the features of a tile equal a brute-force clip of the layer at that zoom
//! (decoded from the MVT bytes, not read back from the engine), every polygon decoded is
//! valid, and the HTTP side: OGC API – Tiles documents, TileJSON, ETag/304, gzip, coverage
//! tiles with the `/coverage` figures, problems for bad tile ids.

// Helpers may unwrap, expect and panic: a failing test or benchmark should stop loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::sync::OnceLock;

use common::{client, mini_service};
use geo::{Area, BooleanOps, Coord, Euclidean, Geometry, Length, MultiPolygon, Rect, Validation};
use geozero::ToGeo;
use geozero::mvt::{Message, Tile};
use serde_json::Value;
use servicemap::model::LayerId;
use servicemap::service::Service;
use servicemap::store::Dataset;
use servicemap::tiles::prepare::{self, PixelGeom};
use servicemap::tiles::{COMPOSITE, EXTENT, Source, TileId, Tiler, matrix};

fn geodata() -> &'static (Dataset, Tiler) {
    static D: OnceLock<(Dataset, Tiler)> = OnceLock::new();
    D.get_or_init(|| {
        let ds =
            servicemap::store::read_dir(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/geodata")))
                .expect("geodata reads");
        let t = Tiler::build(&ds);
        (ds, t)
    })
}

/// A decoded feature: its `id` property, geometry (tile units) and properties.
struct Decoded {
    id: String,
    geom: Geometry<f64>,
    props: BTreeMap<String, Value>,
}

fn value_json(v: &geozero::mvt::tile::Value) -> Value {
    if let Some(s) = &v.string_value {
        Value::from(s.clone())
    } else if let Some(b) = v.bool_value {
        Value::from(b)
    } else if let Some(u) = v.uint_value {
        Value::from(u)
    } else if let Some(i) = v.sint_value.or(v.int_value) {
        Value::from(i)
    } else if let Some(d) = v.double_value {
        Value::from(d)
    } else {
        Value::Null
    }
}

/// Decode a tile into layer name → features (geozero's reader, the same crate that wrote it,
/// but only its public protobuf model and MVT geometry reader).
fn decode(bytes: &[u8]) -> BTreeMap<String, Vec<Decoded>> {
    let tile = Tile::decode(bytes).expect("tile decodes");
    let mut out = BTreeMap::new();
    for layer in tile.layers {
        assert_eq!(layer.version, 2);
        assert_eq!(layer.extent, Some(EXTENT));
        let mut feats = Vec::new();
        for f in &layer.features {
            let mut props = BTreeMap::new();
            for pair in f.tags.chunks(2) {
                let k = layer.keys[pair[0] as usize].clone();
                props.insert(k, value_json(&layer.values[pair[1] as usize]));
            }
            let geom = f.to_geo().expect("geometry decodes");
            feats.push(Decoded {
                id: props["id"].as_str().expect("id property").to_string(),
                geom,
                props,
            });
        }
        out.insert(layer.name.clone(), feats);
    }
    out
}

/// The brute-force answer: every feature of the layer (no index), prepared for the zoom,
/// clipped to the buffered tile with geo's boolean operations, in tile units. Returns
/// id → clipped geometry (possibly empty).
fn brute_force(ds: &Dataset, layer: LayerId, tile: TileId) -> BTreeMap<String, Geometry<f64>> {
    let cb = prepare::clip_box(tile);
    let (ox, oy) = tile.pixel_origin();
    let rect = Rect::new(Coord { x: cb[0], y: cb[1] }, Coord { x: cb[2], y: cb[3] }).to_polygon();
    let shift = |c: Coord<f64>| Coord {
        x: c.x - ox,
        y: c.y - oy,
    };
    let mut out = BTreeMap::new();
    for f in ds.layer(layer).unwrap_or(&[]) {
        let world = geo::MapCoords::map_coords(&f.geometry, |c| {
            let (x, y) = matrix::lonlat_to_world(c.x, c.y);
            Coord { x, y }
        });
        let Some(p) = prepare::prepare(&world, tile.z) else {
            continue;
        };
        let g: Geometry<f64> = match &p.geom {
            PixelGeom::Point(c) => {
                if !prepare::point_in_box(*c, &cb) {
                    continue;
                }
                Geometry::Point(shift(*c).into())
            }
            PixelGeom::Lines(m) => {
                let cut = rect.clip(m, false);
                if cut.0.is_empty() {
                    continue;
                }
                Geometry::MultiLineString(geo::MapCoords::map_coords(&cut, shift))
            }
            PixelGeom::Areas(m) => {
                let cut = m.intersection(&MultiPolygon::new(vec![rect.clone()]));
                if cut.0.is_empty() {
                    continue;
                }
                Geometry::MultiPolygon(geo::MapCoords::map_coords(&cut, shift))
            }
        };
        out.insert(f.id.clone(), g);
    }
    out
}

fn perimeter(g: &Geometry<f64>) -> f64 {
    match g {
        Geometry::Polygon(p) => std::iter::once(p.exterior())
            .chain(p.interiors())
            .map(|r| Euclidean.length(r))
            .sum(),
        Geometry::MultiPolygon(m) => {
            m.0.iter()
                .map(|p| perimeter(&Geometry::Polygon(p.clone())))
                .sum()
        }
        _ => 0.0,
    }
}

fn line_length(g: &Geometry<f64>) -> (f64, usize) {
    match g {
        Geometry::LineString(l) => (Euclidean.length(l), l.0.len()),
        Geometry::MultiLineString(m) => (
            m.0.iter().map(|l| Euclidean.length(l)).sum(),
            m.0.iter().map(|l| l.0.len()).sum(),
        ),
        _ => (0.0, 0),
    }
}

/// Compare one layer of one tile with the brute force; returns the number of features.
fn check_layer(ds: &Dataset, layer: LayerId, tile: TileId, decoded: &[Decoded]) -> usize {
    let expected = brute_force(ds, layer, tile);
    let mut seen = std::collections::BTreeSet::new();
    for d in decoded {
        assert!(
            seen.insert(d.id.clone()),
            "{layer} {tile:?}: {} twice",
            d.id
        );
        let want = expected.get(&d.id).unwrap_or_else(|| {
            panic!(
                "{layer} {tile:?}: {} is in the tile but not in the brute force",
                d.id
            )
        });
        match (&d.geom, want) {
            (Geometry::Point(p), Geometry::Point(q)) => {
                assert_eq!(p, q, "{layer} {tile:?} {}", d.id);
            }
            (g @ (Geometry::Polygon(_) | Geometry::MultiPolygon(_)), w) => {
                assert!(
                    g.is_valid(),
                    "{layer} {tile:?} {}: invalid polygon {g:?}",
                    d.id
                );
                let (a, b) = (g.unsigned_area(), w.unsigned_area());
                // Snapping the cut edges to whole units moves each by at most half a unit.
                let tol = 0.5 * perimeter(w) + 1.0;
                assert!(
                    (a - b).abs() <= tol,
                    "{layer} {tile:?} {}: area {a} in the tile, {b} by brute force (tolerance {tol})",
                    d.id
                );
                // Exterior rings positive in tile units (MVT 2.1 winding) — the decoder
                // relies on it to split polygons, so a wrong winding shows as a wrong count.
            }
            (g @ (Geometry::LineString(_) | Geometry::MultiLineString(_)), w) => {
                let ((a, _), (b, n)) = (line_length(g), line_length(w));
                let tol = n as f64 + 1.0;
                assert!(
                    (a - b).abs() <= tol,
                    "{layer} {tile:?} {}: length {a} in the tile, {b} by brute force",
                    d.id
                );
            }
            (g, w) => panic!("{layer} {tile:?} {}: {g:?} decoded, {w:?} expected", d.id),
        }
    }
    // Whatever the brute force finds and the tile lacks must be too small to draw (snapped
    // away): a sliver at the buffer's edge.
    for (id, g) in &expected {
        if seen.contains(id) {
            continue;
        }
        let small = match g {
            Geometry::Point(_) => false,
            Geometry::MultiLineString(_) | Geometry::LineString(_) => line_length(g).0 <= 2.0,
            other => other.unsigned_area() <= 0.5 * perimeter(other) + 1.0,
        };
        assert!(
            small,
            "{layer} {tile:?}: {id} is missing from the tile: {g:?}"
        );
    }
    decoded.len()
}

/// Tiles to check: the middle of the data at each zoom, and a tile on the data's western edge.
fn sample_tiles(t: &Tiler) -> Vec<TileId> {
    let b = t.bounds().unwrap();
    let mid = ((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0);
    let mut out = Vec::new();
    for z in [10u8, 12, 13, 14, 15, 16, 18] {
        let (x, y) = matrix::tile_of(z, mid.0, mid.1);
        out.push(TileId::new(z.into(), x, y).unwrap());
        let (x, y) = matrix::tile_of(z, b[0] + 1e-6, mid.1);
        out.push(TileId::new(z.into(), x, y).unwrap());
    }
    out
}

#[test]
fn every_layer_tile_equals_a_brute_force_clip() {
    let (ds, t) = geodata();
    let mut counted = BTreeMap::new();
    for tile in sample_tiles(t) {
        for l in t.layers() {
            let bytes = t.render(&Source::Layer(l.id), tile, None).unwrap();
            let layers = decode(&bytes);
            assert!(layers.len() <= 1);
            let feats = layers.get(l.id.as_str()).map_or(&[][..], Vec::as_slice);
            *counted.entry(l.id).or_insert(0) += check_layer(ds, l.id, tile, feats);
        }
    }
    // The check is not vacuous: every layer had features in some sampled tile.
    for l in LayerId::ALL {
        assert!(
            counted.get(&l).copied().unwrap_or(0) > 0,
            "{l}: no feature checked"
        );
    }
}

#[test]
fn composite_tile_holds_each_layer_from_its_zoom() {
    let (ds, t) = geodata();
    for tile in sample_tiles(t) {
        let layers = decode(&t.render(&Source::Composite, tile, None).unwrap());
        for (id, minzoom) in COMPOSITE {
            match layers.get(id.as_str()) {
                Some(feats) => {
                    assert!(tile.z >= minzoom, "{id} in a z{} tile", tile.z);
                    check_layer(ds, id, tile, feats);
                }
                None => assert!(
                    tile.z < minzoom || brute_force(ds, id, tile).is_empty(),
                    "{id} missing from composite {tile:?}"
                ),
            }
        }
    }
}

#[test]
fn properties_carry_what_a_map_styles_by() {
    let (ds, t) = geodata();
    let b = t.bounds().unwrap();
    let (x, y) = matrix::tile_of(14, (b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0);
    let tile = TileId::new(14, x, y).unwrap();
    let layers = decode(&t.render(&Source::Composite, tile, None).unwrap());
    let by_id = |l: LayerId| -> BTreeMap<&str, &servicemap::model::Feature> {
        ds.layer(l)
            .unwrap()
            .iter()
            .map(|f| (f.id.as_str(), f))
            .collect()
    };
    let facilities = by_id(LayerId::Facilities);
    for d in &layers["facilities"] {
        let f = facilities[d.id.as_str()];
        assert_eq!(d.props["category"], f.properties["category"].to_value());
        assert_eq!(d.props["name"], f.properties["name"].to_value());
    }
    let walkways = by_id(LayerId::Walkways);
    let mut stairs = 0;
    for d in &layers["walkways"] {
        let kind = walkways[d.id.as_str()].str_prop("kind");
        assert_eq!(d.props["stairs"], Value::from(kind == Some("stairs")));
        stairs += usize::from(kind == Some("stairs"));
    }
    assert!(stairs > 0, "the middle of Lijiatuo has stairs");
    // Buildings (from z15) carry their height for 3-D extrusion, and TileJSON says so.
    let fields = &t.layer(LayerId::Buildings).unwrap().fields;
    assert!(fields.contains(&("height_m", "Number")), "{fields:?}");
    assert!(fields.contains(&("floors", "Number")), "{fields:?}");
    let (x15, y15) = matrix::tile_of(15, (b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0);
    let t15 = TileId::new(15, x15, y15).unwrap();
    let z15 = decode(&t.render(&Source::Composite, t15, None).unwrap());
    let buildings = by_id(LayerId::Buildings);
    assert!(!z15["buildings"].is_empty());
    for d in &z15["buildings"] {
        let f = buildings[d.id.as_str()];
        assert_eq!(d.props["height_m"], f.properties["height_m"].to_value());
        assert_eq!(d.props["floors"], f.properties["floors"].to_value());
    }
    let communities = by_id(LayerId::Communities);
    for d in &layers["communities"] {
        let f = communities[d.id.as_str()];
        assert_eq!(d.props["name"], f.properties["name"].to_value());
        assert_eq!(d.props["households"], f.properties["households"].to_value());
    }
}

#[test]
fn polygons_stay_valid_at_every_zoom() {
    // Every polygon of every polygon layer, prepared for every zoom, is valid (or left out
    // as smaller than a pixel).
    let (ds, _) = geodata();
    let mut checked = 0;
    for l in [
        LayerId::Boundary,
        LayerId::Communities,
        LayerId::Grids,
        LayerId::Microgrids,
        LayerId::Compounds,
        LayerId::Water,
    ] {
        for f in ds.layer(l).unwrap() {
            let world = geo::MapCoords::map_coords(&f.geometry, |c| {
                let (x, y) = matrix::lonlat_to_world(c.x, c.y);
                Coord { x, y }
            });
            for z in servicemap::tiles::ZOOM_MIN..=servicemap::tiles::ZOOM_MAX {
                if let Some(p) = prepare::prepare(&world, z) {
                    let PixelGeom::Areas(m) = &p.geom else {
                        panic!("{l} {} is not an area", f.id)
                    };
                    assert!(m.is_valid(), "{l} {} at z{z}", f.id);
                    for poly in &m.0 {
                        let exterior = geo::Polygon::new(poly.exterior().clone(), vec![]);
                        assert!(
                            exterior.signed_area() > 0.0,
                            "{l} {} at z{z}: exterior winding",
                            f.id
                        );
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 1000);
}

// ---- HTTP ---------------------------------------------------------------------------------

fn shared() -> std::sync::Arc<Service> {
    static S: OnceLock<std::sync::Arc<Service>> = OnceLock::new();
    S.get_or_init(|| std::sync::Arc::new(mini_service()))
        .clone()
}

/// The fixture's middle at z14 and z16 (106.53, 29.47).
const Z14: &str = "14/6787/13040";

#[actix_web::test]
async fn tiles_have_etag_cache_control_304_and_gzip() {
    let c = client(shared()).await;
    let uri = format!("/tiles/WebMercatorQuad/{Z14}");
    let r = c.get(&uri).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type, "application/vnd.mapbox-vector-tile");
    assert!(!r.body.is_empty());
    let etag = r.headers.get("etag").unwrap().to_str().unwrap().to_string();
    assert!(
        etag.starts_with('"') && etag.ends_with('"'),
        "strong ETag: {etag}"
    );
    assert_eq!(r.headers.get("cache-control").unwrap(), "public, no-cache");
    // CORS adds its own Vary names after ours.
    let vary = r.headers.get("vary").unwrap().to_str().unwrap();
    assert!(vary.starts_with("Accept-Encoding"), "{vary}");
    // The same tile again: same ETag; with If-None-Match: 304 and no body.
    let again = c.get(&uri).await;
    assert_eq!(again.headers.get("etag").unwrap().to_str().unwrap(), etag);
    assert_eq!(again.body, r.body);
    let req = actix_web::test::TestRequest::get()
        .uri(&uri)
        .insert_header(("If-None-Match", format!("\"nope\", {etag}")));
    let nm = c.send(req).await;
    assert_eq!(nm.status, 304);
    assert!(nm.body.is_empty());
    // Another tile has another ETag.
    let other = c.get("/tiles/WebMercatorQuad/16/27149/52161").await;
    assert_ne!(other.headers.get("etag").unwrap().to_str().unwrap(), etag);
    // gzip when asked: decompresses to the same bytes, under its own ETag.
    let req = actix_web::test::TestRequest::get()
        .uri(&uri)
        .insert_header(("Accept-Encoding", "br;q=1, gzip;q=0.5"));
    let gz = c.send(req).await;
    assert_eq!(gz.headers.get("content-encoding").unwrap(), "gzip");
    let gz_etag = gz.headers.get("etag").unwrap().to_str().unwrap();
    assert_ne!(gz_etag, etag);
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(gz.body.as_slice())
        .read_to_end(&mut plain)
        .unwrap();
    assert_eq!(plain, r.body);
    // gzip;q=0 is a refusal.
    let req = actix_web::test::TestRequest::get()
        .uri(&uri)
        .insert_header(("Accept-Encoding", "gzip;q=0"));
    assert!(c.send(req).await.headers.get("content-encoding").is_none());
}

#[actix_web::test]
async fn bad_tile_ids_are_problems() {
    let c = client(shared()).await;
    for (uri, status, needle) in [
        ("/tiles/WebMercatorQuad/9/424/815", 404, "zoom 9"),
        ("/tiles/WebMercatorQuad/19/0/0", 404, "zoom 19"),
        ("/tiles/WebMercatorQuad/10/0/1024", 404, "0 to 1023"),
        ("/tiles/WebMercatorQuad/10/-1/0", 400, "tileRow"),
        ("/tiles/WebMercatorQuad/ten/0/0", 400, "tileMatrix"),
        ("/tiles/WorldCRS84Quad/14/0/0", 404, "WebMercatorQuad"),
        (
            "/collections/nope/tiles/WebMercatorQuad/14/0/0",
            404,
            "no collection",
        ),
        (
            "/collections/grids/tiles/WebMercatorQuad/14/6787/13040?coords=gcj02",
            400,
            "coords",
        ),
        (
            "/coverage/tiles/WebMercatorQuad/14/6787/13040",
            400,
            "category",
        ),
        (
            "/coverage/tiles/WebMercatorQuad/14/6787/13040?category=clinic&minutes=99",
            400,
            "minutes",
        ),
        (
            "/coverage/tiles/WebMercatorQuad/14/6787/13040?category=nope",
            400,
            "nope",
        ),
    ] {
        let r = c.get(uri).await;
        let p = r.problem(status);
        assert!(p["detail"].as_str().unwrap().contains(needle), "{uri}: {p}");
    }
    // Inside the matrix but away from the data: an empty tile, not an error.
    let r = c.get("/tiles/WebMercatorQuad/10/0/0").await;
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
}

#[actix_web::test]
async fn coverage_tiles_carry_the_coverage_figures() {
    let c = client(shared()).await;
    let q = "category=elder_canteen&minutes=5&profile=elder&level=grid";
    let cov = c.get(&format!("/coverage?{q}")).await.json();
    let want: BTreeMap<String, Value> = cov["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap().to_string(),
                f["properties"].clone(),
            )
        })
        .collect();
    assert!(!want.is_empty());
    // z10 holds the whole fixture.
    let (x, y) = matrix::tile_of(10, 106.53, 29.47);
    let r = c
        .get(&format!("/coverage/tiles/WebMercatorQuad/10/{y}/{x}?{q}"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let layers = decode(&r.body);
    let feats = &layers["coverage"];
    assert_eq!(
        feats.len(),
        shared().dataset.layer(LayerId::Grids).unwrap().len()
    );
    let mut matched = 0;
    for d in feats {
        let Some(w) = want.get(&d.id) else {
            assert_eq!(
                d.props["households"], 0,
                "{}: a unit without coverage has nobody",
                d.id
            );
            continue;
        };
        matched += 1;
        assert_eq!(d.props["households"], w["households"], "{}", d.id);
        assert_eq!(
            d.props["households_covered"], w["households_covered"],
            "{}",
            d.id
        );
        let share = d.props["share"].as_f64().unwrap();
        assert!(
            (share - w["share"].as_f64().unwrap()).abs() < 0.01,
            "{}",
            d.id
        );
        match w["median_walk_min"].as_f64() {
            Some(m) => assert!((d.props["median_walk_min"].as_f64().unwrap() - m).abs() < 0.1),
            None => assert!(!d.props.contains_key("median_walk_min")),
        }
    }
    assert_eq!(matched, want.len());
    // The subdistrict level draws the boundary with the whole area's figures.
    let r3 = c
        .get(&format!(
            "/coverage/tiles/WebMercatorQuad/10/{y}/{x}?category=elder_canteen&minutes=5&profile=elder&level=subdistrict"
        ))
        .await;
    let whole = &decode(&r3.body)["coverage"];
    assert_eq!(whole.len(), 1);
    assert_eq!(whole[0].props["households"], cov["summary"]["households"]);
    assert_eq!(
        whole[0].props["households_covered"],
        cov["summary"]["households_covered"]
    );
    // Another threshold is another tile (not the cached one).
    let r2 = c
        .get(&format!(
            "/coverage/tiles/WebMercatorQuad/10/{y}/{x}?category=elder_canteen&minutes=60&profile=elder&level=grid"
        ))
        .await;
    assert_ne!(r2.headers.get("etag"), r.headers.get("etag"));
}

#[actix_web::test]
async fn coverage_tiles_need_a_walking_network() {
    let dir = common::fixture_copy("tiles-nowalk", &["walkways"]);
    let c = client(Service::load(&dir).unwrap()).await;
    let r = c
        .get("/coverage/tiles/WebMercatorQuad/14/6787/13040?category=clinic")
        .await;
    let p = r.problem(404);
    assert!(
        p["type"].as_str().unwrap().ends_with("layer-unavailable"),
        "{p}"
    );
    let r = c
        .get("/collections/walkways/tiles/WebMercatorQuad/14/6787/13040")
        .await;
    r.problem(404);
    std::fs::remove_dir_all(dir).ok();
}

#[actix_web::test]
async fn metadata_documents_link_up() {
    let c = client(mini_service()).await;
    // The landing page and each collection lead to their tilesets.
    let rel = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector";
    for (doc, target) in [
        ("/", "/tiles"),
        ("/collections/grids", "/collections/grids/tiles"),
    ] {
        let links = c.get(doc).await.json()["links"].clone();
        let l = links
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == rel)
            .unwrap();
        let href = l["href"]
            .as_str()
            .unwrap()
            .trim_start_matches("http://localhost:8080");
        assert_eq!(href, target);
        assert_eq!(c.get(href).await.status, 200);
    }
    let tms = c.get("/tileMatrixSets/WebMercatorQuad").await.json();
    let m14 = &tms["tileMatrices"][14];
    assert_eq!(m14["matrixWidth"], 16384);
    assert!((m14["scaleDenominator"].as_f64().unwrap() - 34_123.673_255_4).abs() < 0.01);

    let ts = c
        .get("/collections/grids/tiles/WebMercatorQuad")
        .await
        .json();
    assert_eq!(ts["dataType"], "vector");
    let limits = ts["tileMatrixSetLimits"].as_array().unwrap();
    assert_eq!(limits.len(), 9);
    let l14 = limits.iter().find(|l| l["tileMatrix"] == "14").unwrap();
    assert!(
        l14["minTileCol"].as_u64().unwrap() <= 13040
            && 13040 <= l14["maxTileCol"].as_u64().unwrap()
    );
    assert!(ts["layers"][0]["propertiesSchema"]["properties"]["households"].is_object());
    let item = ts["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "item")
        .unwrap();
    assert!(
        item["href"]
            .as_str()
            .unwrap()
            .ends_with("/collections/grids/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}")
    );

    let tj = c.get("/tiles/WebMercatorQuad/tilejson.json").await.json();
    assert_eq!(tj["tilejson"], "3.0.0");
    assert!(
        tj["tiles"][0]
            .as_str()
            .unwrap()
            .ends_with("/tiles/WebMercatorQuad/{z}/{y}/{x}")
    );
    assert!(tj["crs"].as_str().unwrap().contains("GCJ-02"));
    let ids: Vec<&str> = tj["vector_layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    for l in [
        "boundary",
        "communities",
        "grids",
        "microgrids",
        "compounds",
        "buildings",
        "facilities",
        "walkways",
        "water",
    ] {
        assert!(ids.contains(&l), "{l} not in the composite TileJSON");
    }
    let walk = &tj["vector_layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == "walkways")
        .unwrap()["fields"];
    assert_eq!(walk["stairs"], "Boolean");

    let cov = c
        .get("/coverage/tiles/WebMercatorQuad/tilejson.json?category=clinic&minutes=10&level=community")
        .await
        .json();
    assert!(cov["tiles"][0].as_str().unwrap().ends_with(
        "/coverage/tiles/WebMercatorQuad/{z}/{y}/{x}?category=clinic&minutes=10&profile=standard&level=community"
    ));
}

#[actix_web::test]
async fn style_draws_from_our_tiles_only() {
    let c = client(mini_service()).await;
    let r = c.get("/styles/default.json").await;
    let s = r.json();
    assert_eq!(s["version"], 8);
    let text = r.text();
    // Every URL in the style is this service's.
    for (i, _) in text.match_indices("http") {
        assert!(
            text[i..].starts_with("http://localhost:8080/"),
            "a URL that is not ours: {}",
            &text[i..(i + 60).min(text.len())]
        );
    }
    let tj_url = s["sources"]["servicemap"]["url"].as_str().unwrap();
    let tj = c
        .get(tj_url.trim_start_matches("http://localhost:8080"))
        .await
        .json();
    let source_layers: Vec<&str> = tj["vector_layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    let mut labels = 0;
    for l in s["layers"].as_array().unwrap() {
        if let Some(sl) = l["source-layer"].as_str() {
            assert!(
                source_layers.contains(&sl),
                "style layer {} draws missing {sl}",
                l["id"]
            );
        }
        if l["type"] == "symbol" {
            labels += 1;
            assert_eq!(
                l["layout"]["text-field"],
                serde_json::json!(["get", "name"])
            );
        }
    }
    assert!(labels >= 3);
    // Buildings are extruded by the height their tiles carry.
    let buildings = s["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["source-layer"] == "buildings")
        .unwrap();
    assert_eq!(buildings["type"], "fill-extrusion");
    assert!(
        buildings["paint"]["fill-extrusion-height"]
            .to_string()
            .contains("height_m")
    );
    // Chinese labels: each labelled source layer's names in a tile of the middle of the data
    // are written in CJK ideographs (what the browser's own CJK font draws; the style asks for
    // a CJK font stack).
    let tile = decode(&c.get(&format!("/tiles/WebMercatorQuad/{Z14}")).await.body);
    let cjk = |s: &str| s.chars().any(|ch| ('\u{4e00}'..='\u{9fff}').contains(&ch));
    let mut names = 0;
    for l in s["layers"].as_array().unwrap() {
        if l["type"] != "symbol" {
            continue;
        }
        assert!(
            l["layout"]["text-font"][0]
                .as_str()
                .unwrap()
                .contains("CJK"),
            "{}",
            l["id"]
        );
        let sl = l["source-layer"].as_str().unwrap();
        for f in tile.get(sl).map(Vec::as_slice).unwrap_or_default() {
            if let Some(name) = f.props.get("name").and_then(Value::as_str) {
                assert!(cjk(name), "{sl} labels {name:?}, not Chinese");
                names += 1;
            }
        }
    }
    assert!(names >= 3, "{names} labelled names in the middle tile");
    // The glyph URL answers with a glyph PBF.
    let glyphs = s["glyphs"]
        .as_str()
        .unwrap()
        .trim_start_matches("http://localhost:8080")
        .replace("{fontstack}", "Noto%20Sans%20CJK%20SC%20Regular")
        .replace("{range}", "0-255");
    let g = c.get(&glyphs).await;
    assert_eq!(g.status, 200);
    assert_eq!(g.content_type, "application/x-protobuf");
}

/// The conformance classes of OGC API – Tiles and 2D TMS 2.0 that /conformance lists, each
/// with the resource that keeps it (the rest of this file checks their content).
#[actix_web::test]
async fn conformance_lists_the_tiles_classes_kept() {
    let c = client(mini_service()).await;
    let conf = c.get("/conformance").await.json();
    let classes: Vec<&str> = conf["conformsTo"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let tiles = "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/";
    let tms = "http://www.opengis.net/spec/tms/2.0/conf/";
    for (class, resource) in [
        (
            format!("{tiles}core"),
            format!("/tiles/WebMercatorQuad/{Z14}"),
        ),
        (format!("{tiles}tileset"), "/tiles/WebMercatorQuad".into()),
        (format!("{tiles}tilesets-list"), "/tiles".into()),
        (
            format!("{tiles}geodata-tilesets"),
            "/collections/grids/tiles".into(),
        ),
        (format!("{tiles}dataset-tilesets"), "/tiles".into()),
        (
            format!("{tiles}mvt"),
            format!("/collections/grids/tiles/WebMercatorQuad/{Z14}"),
        ),
        (format!("{tiles}oas30"), "/openapi.yaml".into()),
        (
            format!("{tms}json-tilematrixset"),
            "/tileMatrixSets/WebMercatorQuad".into(),
        ),
        (
            format!("{tms}json-tilesetmetadata"),
            "/collections/grids/tiles/WebMercatorQuad".into(),
        ),
    ] {
        assert!(classes.contains(&class.as_str()), "{class} not listed");
        assert_eq!(c.get(&resource).await.status, 200, "{resource} for {class}");
    }
    // Only what is kept: no collections= selection, no raster or GeoJSON tiles.
    for missing in ["geodata-selection", "png", "jpeg", "geojson", "datetime"] {
        assert!(
            !classes.contains(&format!("{tiles}{missing}").as_str()),
            "{missing} claimed"
        );
    }
    // The openapi document describes the tile paths the oas30 class refers to.
    let api = c.get("/openapi.yaml").await.text();
    for p in [
        "/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}:",
        "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}:",
        "/tileMatrixSets/{tileMatrixSetId}:",
    ] {
        assert!(api.contains(p), "openapi.yaml lacks {p}");
    }
}

/// The requirements of the OGC 2D TMS 2.0 JSON schema for a tile matrix set
/// (schemas/tms/2.0/json/tileMatrixSet.json: required members, types, the corner enum, whole
/// numbers ≥ 1), restated as JSON Schema here.
fn tms_schema() -> Value {
    let whole = serde_json::json!({"type": "integer", "minimum": 1});
    serde_json::json!({
        "type": "object",
        "required": ["crs", "tileMatrices"],
        "properties": {
            "title": {"type": "string"},
            "id": {"type": "string"},
            "uri": {"type": "string", "format": "uri"},
            "orderedAxes": {"type": "array", "minItems": 1, "items": {"type": "string"}},
            "crs": {"oneOf": [{"type": "string"}, {"type": "object"}]},
            "wellKnownScaleSet": {"type": "string", "format": "uri"},
            "tileMatrices": {"type": "array", "items": {
                "type": "object",
                "required": ["id", "scaleDenominator", "cellSize", "pointOfOrigin", "tileWidth",
                             "tileHeight", "matrixWidth", "matrixHeight"],
                "properties": {
                    "id": {"type": "string"},
                    "scaleDenominator": {"type": "number"},
                    "cellSize": {"type": "number"},
                    "cornerOfOrigin": {"enum": ["topLeft", "bottomLeft"]},
                    "pointOfOrigin": {"type": "array", "minItems": 2, "maxItems": 2, "items": {"type": "number"}},
                    "tileWidth": whole, "tileHeight": whole, "matrixWidth": whole, "matrixHeight": whole
                }
            }}
        }
    })
}

#[actix_web::test]
async fn web_mercator_quad_follows_the_2d_tms_json_schema_and_the_registry() {
    let c = client(mini_service()).await;
    let r = c.get("/tileMatrixSets/WebMercatorQuad").await;
    assert_eq!(r.content_type, "application/json");
    let tms = r.json();
    let schema = tms_schema();
    let v = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = v.iter_errors(&tms).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // The schema check is not vacuous.
    let mut broken = tms.clone();
    broken["tileMatrices"][3]["matrixWidth"] = Value::from(0);
    assert!(!v.is_valid(&broken));

    // The OGC registry's WebMercatorQuad (http://www.opengis.net/def/tilematrixset/OGC/1.0/
    // WebMercatorQuad): zooms 0–24, origin top left at ±20037508.3427892 m, 256-pixel tiles,
    // cell size 156543.03392804 m at zoom 0 halving per zoom, 0.28 mm pixels.
    assert_eq!(tms["id"], "WebMercatorQuad");
    assert_eq!(
        tms["uri"],
        "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
    );
    assert_eq!(tms["crs"], "http://www.opengis.net/def/crs/EPSG/0/3857");
    let m = tms["tileMatrices"].as_array().unwrap();
    assert_eq!(m.len(), 25);
    for (z, tm) in m.iter().enumerate() {
        let n = 1u64 << z;
        assert_eq!(tm["id"], z.to_string());
        assert_eq!(tm["matrixWidth"], n);
        assert_eq!(tm["matrixHeight"], n);
        assert_eq!(tm["tileWidth"], 256);
        assert_eq!(tm["cornerOfOrigin"], "topLeft");
        let cell = tm["cellSize"].as_f64().unwrap();
        let want = 156_543.033_928_041 / n as f64;
        assert!((cell - want).abs() / want < 1e-12, "z{z}: {cell}");
        let scale = tm["scaleDenominator"].as_f64().unwrap();
        let want = 559_082_264.028_717_8 / n as f64;
        assert!((scale - want).abs() / want < 1e-9, "z{z}: {scale}");
        let o = &tm["pointOfOrigin"];
        assert!((o[0].as_f64().unwrap() + 20_037_508.342_789_2).abs() < 1e-6);
        assert!((o[1].as_f64().unwrap() - 20_037_508.342_789_2).abs() < 1e-6);
    }
    // Each tileset names its tile matrix set both ways 2D TMS 2.0 allows, and the link works.
    for ts in [
        "/tiles/WebMercatorQuad",
        "/collections/grids/tiles/WebMercatorQuad",
    ] {
        let doc = c.get(ts).await.json();
        assert_eq!(doc["tileMatrixSetURI"], tms["uri"], "{ts}");
        let def = doc["tileMatrixSetDefinition"].as_str().unwrap();
        assert!(def.ends_with("/tileMatrixSets/WebMercatorQuad"), "{ts}");
        for l in doc["tileMatrixSetLimits"].as_array().unwrap() {
            for k in ["minTileRow", "maxTileRow", "minTileCol", "maxTileCol"] {
                assert!(l[k].is_u64(), "{ts}: {l}");
            }
            assert!(l["tileMatrix"].is_string());
        }
    }
}

/// The XYZ file layout (for GDAL's MVT driver) serves the very tile of the OGC path: column
/// before row, `.pbf`, same bytes and ETag; a transposed request is another tile.
#[actix_web::test]
async fn xyz_paths_serve_the_ogc_tiles() {
    let c = client(shared()).await;
    for (ogc, xyz) in [
        (
            format!("/tiles/WebMercatorQuad/{Z14}"),
            "/tiles/WebMercatorQuad/xyz/14/13040/6787.pbf",
        ),
        (
            format!("/collections/walkways/tiles/WebMercatorQuad/{Z14}"),
            "/collections/walkways/tiles/WebMercatorQuad/xyz/14/13040/6787.pbf",
        ),
    ] {
        let a = c.get(&ogc).await;
        let b = c.get(xyz).await;
        assert_eq!((a.status, b.status), (200, 200), "{xyz}");
        assert!(!a.body.is_empty());
        assert_eq!(a.body, b.body, "{xyz}");
        assert_eq!(a.headers.get("etag"), b.headers.get("etag"), "{xyz}");
        assert_eq!(b.content_type, "application/vnd.mapbox-vector-tile");
    }
    let swapped = c.get("/tiles/WebMercatorQuad/xyz/14/6787/13040.pbf").await;
    let ogc = c.get(&format!("/tiles/WebMercatorQuad/{Z14}")).await;
    assert_ne!(swapped.body, ogc.body);
    assert_eq!(
        c.get("/tiles/WebMercatorQuad/xyz/14/13040/6787.mvt")
            .await
            .status,
        404
    );
}

/// Issue 15: the cache of finished tiles never holds more bytes than its budget, however many
/// tiles are asked for, and a tile served from a full cache is the same tile.
#[test]
fn tile_cache_stays_within_its_byte_budget() {
    let (ds, _) = geodata();
    let t = Tiler::build(ds);
    let b = t.bounds().unwrap();
    let mid = ((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0);
    let (x, y) = matrix::tile_of(15, mid.0, mid.1);
    let centre = TileId::new(15, x, y).unwrap();
    let one = t.render(&Source::Composite, centre, None).unwrap().len();
    assert!(one > 1000, "the centre tile has features ({one} bytes)");
    // Room for about three tiles like the centre one.
    let budget = 3 * (one + 256);
    let t = t.with_cache_budget(budget);
    let mut asked = 0;
    for z in [14u8, 15, 16] {
        let (cx, cy) = matrix::tile_of(z, mid.0, mid.1);
        for dx in 0..4 {
            for dy in 0..3 {
                let id = TileId::new(z.into(), cx + dx - 1, cy + dy - 1).unwrap();
                let got = t.tile(&Source::Composite, id, None).unwrap();
                assert_eq!(got.mvt, t.render(&Source::Composite, id, None).unwrap());
                asked += got.mvt.len();
                assert!(
                    t.cache_bytes() <= budget,
                    "{} > {budget} bytes",
                    t.cache_bytes()
                );
            }
        }
    }
    assert!(
        asked > 2 * budget,
        "the test asks for more than the budget holds"
    );
    assert!(t.cache_bytes() > 0, "the cache keeps what fits");
    // A tile larger than the whole budget is served and not kept.
    let tiny = Tiler::build(ds).with_cache_budget(16);
    assert!(
        !tiny
            .tile(&Source::Composite, centre, None)
            .unwrap()
            .mvt
            .is_empty()
    );
    assert_eq!(tiny.cache_bytes(), 0);
}

/// Issue 15: prepared tile geometry stays within its budget after any render, except for the
/// zoom being drawn, which is always kept whole; a zoom dropped and drawn again gives the
/// same tiles as a tiler that never dropped it.
#[test]
fn tile_geometry_stays_within_its_byte_budget() {
    let (ds, _) = geodata();
    let b = Tiler::build(ds).bounds().unwrap();
    let mid = ((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0);
    let tiles_of = |z: u8| -> Vec<TileId> {
        let (cx, cy) = matrix::tile_of(z, mid.0, mid.1);
        (0..3)
            .flat_map(|dx| (0..3).map(move |dy| (dx, dy)))
            .map(|(dx, dy)| TileId::new(z.into(), cx + dx - 1, cy + dy - 1).unwrap())
            .collect()
    };
    // What one zoom's geometry around the centre takes, unbounded.
    let free = Tiler::build(ds);
    let mut per_zoom = Vec::new();
    for z in [14u8, 15, 16, 17] {
        let before = free.geometry_bytes();
        for id in tiles_of(z) {
            free.render(&Source::Composite, id, None).unwrap();
        }
        per_zoom.push(free.geometry_bytes() - before);
    }
    let largest = *per_zoom.iter().max().unwrap();
    assert!(largest > 10_000, "zooms prepare geometry ({per_zoom:?})");
    // Room for about one and a half zooms: every second zoom drawn must drop another.
    let budget = largest * 3 / 2;
    let bounded = Tiler::build(ds).with_geometry_budget(budget);
    let mut over_once = false;
    for round in 0..2 {
        for z in [14u8, 15, 16, 17] {
            for id in tiles_of(z) {
                let want = free.render(&Source::Composite, id, None).unwrap();
                assert_eq!(
                    bounded.render(&Source::Composite, id, None).unwrap(),
                    want,
                    "round {round}, tile {id:?}"
                );
                // The budget, or the zoom just drawn alone when it is larger.
                let zoom_now: usize = bounded
                    .layers()
                    .map(|l| {
                        (0..ds.layer(l.id).map_or(0, <[_]>::len))
                            .filter(|&i| l.is_prepared(i, z))
                            .count()
                    })
                    .sum();
                assert!(zoom_now > 0);
                let kept = bounded.geometry_bytes();
                assert!(
                    kept <= budget.max(largest),
                    "{kept} bytes kept against a budget of {budget} (largest zoom {largest})"
                );
                over_once |= kept > budget / 2;
            }
        }
    }
    assert!(over_once, "the test reaches the budget");
}
