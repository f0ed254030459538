//! Other readers of our vector tiles: GDAL's MVT driver (`ogrinfo`, with GEOS checking every
//! polygon through the SQLite dialect's `ST_IsValid`) and Mapbox's reference JavaScript
//! decoder (`@mapbox/vector-tile` from npm, run with node), and MapLibre's style-spec
//! validator on `/styles/default.json`. Needs `ogrinfo` (Debian:
//! gdal-bin), `node` and `npm ci` in tests/node; `.ci/run` installs them.

// Helpers may unwrap, expect and panic: a failing test or benchmark should stop loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use servicemap::model::LayerId;
use servicemap::store::Dataset;
use servicemap::tiles::{Source, TileId, Tiler, matrix};

fn geodata() -> (Dataset, Tiler) {
    let ds =
        servicemap::store::read_dir(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/geodata")))
            .expect("geodata reads");
    let t = Tiler::build(&ds);
    (ds, t)
}

/// The composite tiles at the middle of the data at z13, z15 and z17, written as
/// `{z}-{x}-{y}.pbf` (the name GDAL georeferences) in a fresh directory.
fn write_tiles(name: &str, t: &Tiler) -> (PathBuf, Vec<(PathBuf, TileId)>) {
    let dir = std::env::temp_dir().join(format!("servicemap-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let b = t.bounds().unwrap();
    let mut out = Vec::new();
    for z in [13u8, 15, 17] {
        let (x, y) = matrix::tile_of(z, (b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0);
        let tile = TileId::new(z.into(), x, y).unwrap();
        let bytes = t.render(&Source::Composite, tile, None).unwrap();
        assert!(!bytes.is_empty());
        let path = dir.join(format!("{z}-{x}-{y}.pbf"));
        std::fs::write(&path, bytes).unwrap();
        out.push((path, tile));
    }
    (dir, out)
}

fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what} ({e}); .ci/run installs it"));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{what} failed:\n{stdout}\n{stderr}");
    assert!(
        !stderr.contains("ERROR"),
        "{what} reported errors:\n{stderr}"
    );
    stdout
}

#[test]
fn gdal_reads_every_layer_and_geos_finds_every_polygon_valid() {
    let (_, t) = geodata();
    let (dir, tiles) = write_tiles("gdal", &t);
    for (path, tile) in &tiles {
        let conn = format!("MVT:{}", path.display());
        let summary = run(
            Command::new("ogrinfo").args(["-ro", "-al", "-so", &conn]),
            "ogrinfo",
        );
        // GDAL georeferences a {z}-{x}-{y}.pbf in Web Mercator.
        assert!(
            summary.contains("Pseudo-Mercator") || summary.contains("3857"),
            "{summary}"
        );
        // Every layer our tile holds, GDAL lists.
        let bytes = std::fs::read(path).unwrap();
        let ours = <geozero::mvt::Tile as geozero::mvt::Message>::decode(bytes.as_slice()).unwrap();
        assert!(
            ours.layers.len() >= 3,
            "z{}: {} layers",
            tile.z,
            ours.layers.len()
        );
        for l in &ours.layers {
            assert!(
                summary.contains(&format!("Layer name: {}\n", l.name)),
                "{} missing at z{}:\n{summary}",
                l.name,
                tile.z
            );
            assert!(
                summary.contains(&format!("Feature Count: {}\n", l.features.len())),
                "{}: {} features:\n{summary}",
                l.name,
                l.features.len()
            );
        }
        for layer in ["communities", "grids", "water", "compounds", "microgrids"] {
            if !summary.contains(&format!("Layer name: {layer}\n")) {
                continue;
            }
            let sql =
                format!("SELECT COUNT(*) AS n, SUM(ST_IsValid(geometry)) AS valid FROM {layer}");
            let out = run(
                Command::new("ogrinfo").args(["-ro", "-dialect", "SQLite", "-sql", &sql, &conn]),
                "ogrinfo -sql",
            );
            let n = field(&out, "n");
            if n == 0 {
                // GDAL filters features to the tile itself; ours may hold a polygon only in
                // the buffer around it (a sliver of 花溪河 beside the tile at the centre of
                // the regenerated data). Then it must lie wholly outside the tile.
                let l = ours.layers.iter().find(|l| l.name == layer).unwrap();
                assert!(
                    l.features
                        .iter()
                        .all(|f| outside_tile(&f.geometry, l.extent.unwrap_or(4096))),
                    "{layer} at z{}: GDAL sees no feature in the tile but ours has one inside\n{out}",
                    tile.z
                );
                continue;
            }
            let valid = field(&out, "valid");
            assert_eq!(
                n, valid,
                "{layer} at z{}: GEOS finds invalid polygons\n{out}",
                tile.z
            );
        }
    }
    std::fs::remove_dir_all(dir).ok();
}

/// Whether the bounding box of an MVT geometry (command integers, tile coordinates) misses
/// the tile `[0, extent]²` entirely.
fn outside_tile(geometry: &[u32], extent: u32) -> bool {
    let (mut x, mut y) = (0i64, 0i64);
    let (mut x0, mut y0, mut x1, mut y1) = (i64::MAX, i64::MAX, i64::MIN, i64::MIN);
    let zigzag = |v: u32| i64::from(v >> 1) ^ -i64::from(v & 1);
    let mut i = 0;
    while i < geometry.len() {
        let (cmd, count) = (geometry[i] & 7, geometry[i] >> 3);
        i += 1;
        if cmd == 7 {
            continue;
        }
        for _ in 0..count {
            x += zigzag(geometry[i]);
            y += zigzag(geometry[i + 1]);
            i += 2;
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
        }
    }
    let e = i64::from(extent);
    x1 < 0 || y1 < 0 || x0 > e || y0 > e
}

/// An integer field of ogrinfo's one-row answer (`  n (Integer) = 12`).
fn field(out: &str, name: &str) -> i64 {
    out.lines()
        .find_map(|l| {
            let l = l.trim();
            let rest = l.strip_prefix(&format!("{name} ("))?;
            rest.split('=').nth(1)?.trim().parse().ok()
        })
        .unwrap_or_else(|| panic!("no field {name} in:\n{out}"))
}

#[test]
fn mapbox_vector_tile_js_decodes_our_tiles() {
    let node_dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/node"));
    assert!(
        node_dir.join("node_modules/@mapbox/vector-tile").exists(),
        "run `npm ci` in tests/node first (.ci/run does)"
    );
    let (ds, t) = geodata();
    let (dir, tiles) = write_tiles("node", &t);
    let mut cmd = Command::new("node");
    cmd.arg(node_dir.join("decode.mjs"));
    for (path, tile) in &tiles {
        cmd.arg(path)
            .arg(tile.z.to_string())
            .arg(tile.x.to_string())
            .arg(tile.y.to_string());
    }
    let out: Value = serde_json::from_str(&run(&mut cmd, "node decode.mjs")).expect("JSON");
    let facilities: BTreeMap<&str, &servicemap::model::Feature> = ds
        .layer(LayerId::Facilities)
        .unwrap()
        .iter()
        .map(|f| (f.id.as_str(), f))
        .collect();
    let mut polygons = 0;
    let mut points = 0;
    for (decoded, (_, tile)) in out.as_array().unwrap().iter().zip(&tiles) {
        let layers = decoded["layers"].as_object().unwrap();
        for (name, layer) in layers {
            assert_eq!(layer["version"], 2);
            assert_eq!(layer["extent"], 4096);
            // The JavaScript reader sees the same features as our own decoder.
            let ours = t
                .render(&Source::Layer(LayerId::parse(name).unwrap()), *tile, None)
                .unwrap();
            let ours =
                <geozero::mvt::Tile as geozero::mvt::Message>::decode(ours.as_slice()).unwrap();
            assert_eq!(
                layer["features"].as_array().unwrap().len(),
                ours.layers[0].features.len(),
                "{name} at z{}",
                tile.z
            );
            for f in layer["features"].as_array().unwrap() {
                if f["type"] == "Polygon" {
                    let rings = f["rings"].as_array().unwrap();
                    assert!(
                        rings[0].as_f64().unwrap() > 0.0,
                        "{name} {}: exterior ring not positive",
                        f["properties"]["id"]
                    );
                    polygons += 1;
                }
                if name == "facilities" {
                    // toGeoJSON puts the point back within a tile unit of the data.
                    let src = facilities[f["properties"]["id"].as_str().unwrap()];
                    let geo::Geometry::Point(p) = &src.geometry else {
                        panic!()
                    };
                    let c = f["coordinates"].as_array().unwrap();
                    let unit_deg = 360.0 / 4096.0 / f64::from(1u32 << tile.z);
                    assert!((c[0].as_f64().unwrap() - p.x()).abs() <= unit_deg, "{f}");
                    assert!((c[1].as_f64().unwrap() - p.y()).abs() <= unit_deg, "{f}");
                    assert_eq!(
                        f["properties"]["category"],
                        src.properties["category"].to_value()
                    );
                    points += 1;
                }
            }
        }
    }
    assert!(
        polygons > 100 && points > 10,
        "{polygons} polygons, {points} points"
    );
    std::fs::remove_dir_all(dir).ok();
}

/// Run MapLibre's style-spec validator on a style; returns its error messages.
fn maplibre_errors(style: &Value, name: &str) -> Vec<String> {
    let node_dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/node"));
    let file = std::env::temp_dir().join(format!("servicemap-{}-{name}.json", std::process::id()));
    std::fs::write(&file, style.to_string()).unwrap();
    let out = run(
        Command::new("node")
            .arg(node_dir.join("validate-style.mjs"))
            .arg(&file),
        "node validate-style.mjs",
    );
    std::fs::remove_file(file).ok();
    serde_json::from_str(&out).expect("a JSON list of errors")
}

#[actix_web::test]
async fn maplibre_validates_the_style() {
    let c = common::client(common::mini_service()).await;
    let style = c.get("/styles/default.json").await.json();
    let errors = maplibre_errors(&style, "style");
    assert!(errors.is_empty(), "MapLibre rejects the style: {errors:#?}");
    // The validator is not vacuous: a layer drawing from a missing source is an error.
    let mut broken = style.clone();
    broken["layers"][1]["source"] = Value::from("nowhere");
    assert!(!maplibre_errors(&broken, "broken").is_empty());
}

/// `Extent: (xmin, ymin) - (xmax, ymax)` of each layer in `ogrinfo -so -al` output.
fn extents(summary: &str) -> Vec<[f64; 4]> {
    summary
        .lines()
        .filter_map(|l| l.strip_prefix("Extent: "))
        .map(|e| {
            let n: Vec<f64> = e
                .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == 'e'))
                .filter(|s| !s.is_empty() && *s != "-")
                .map(|s| s.parse().unwrap())
                .collect();
            assert_eq!(n.len(), 4, "{e}");
            [n[0], n[1], n[2], n[3]]
        })
        .collect()
}

/// GDAL 3.6 over HTTP (docs/ogcapi-tiles.md says what it cannot read, and why): one tile of
/// the composite source, by its OGC API – Tiles URL, lists every layer and lands in that
/// tile's place in EPSG:3857 — given the column, row and zoom as open options, since GDAL
/// otherwise reads the path's last three parts as z/x/y and OGC paths are z/y/x.
#[test]
fn gdal_reads_a_tile_over_http_where_it_belongs() {
    let (_server, port) = common::serve(&common::mini_dir());
    let (z, row, col) = (14u32, 6787u32, 13040u32);
    let url = format!("http://127.0.0.1:{port}/tiles/WebMercatorQuad/{z}/{row}/{col}");
    // No `MVT:` prefix: with it GDAL takes a URL ending in a number for a zoom directory
    // (z/x/y.pbf below it); without it GDAL downloads the tile and its MVT driver claims it.
    let conn = url;
    let (x, y, zs) = (format!("X={col}"), format!("Y={row}"), format!("Z={z}"));
    let summary = run(
        Command::new("ogrinfo")
            .args(["-ro", "-so", "-al", "-oo", &x, "-oo", &y, "-oo", &zs, &conn]),
        "ogrinfo over HTTP",
    );
    // The layers our own decoder finds in the same tile.
    let tile = TileId::new(z, col, row).unwrap();
    let svc = common::mini_service();
    let ours = svc
        .tiles
        .render(&Source::Composite, tile, svc.planner.as_ref())
        .unwrap();
    let ours = <geozero::mvt::Tile as geozero::mvt::Message>::decode(ours.as_slice()).unwrap();
    assert!(ours.layers.len() >= 3);
    for l in &ours.layers {
        assert!(
            summary.contains(&format!("Layer name: {}\n", l.name))
                && summary.contains(&format!("Feature Count: {}\n", l.features.len())),
            "{}: {} features:\n{summary}",
            l.name,
            l.features.len()
        );
    }
    // Web Mercator bounds of the tile; GDAL clips to them.
    let half = 20_037_508.342_789_244_f64;
    let size = 2.0 * half / f64::from(1u32 << z);
    let (x0, y1) = (-half + f64::from(col) * size, half - f64::from(row) * size);
    let (x1, y0) = (x0 + size, y1 - size);
    let inside = |e: &[f64; 4]| {
        let tol = size * 1e-6;
        e[0] >= x0 - tol && e[2] <= x1 + tol && e[1] >= y0 - tol && e[3] <= y1 + tol
    };
    let found = extents(&summary);
    assert_eq!(found.len(), ours.layers.len(), "{summary}");
    assert!(
        found.iter().all(inside),
        "{found:?} not in {x0},{y0},{x1},{y1}"
    );
    // Without the options GDAL guesses x = row, y = col: somewhere else entirely.
    let guessed = run(
        Command::new("ogrinfo").args(["-ro", "-so", "-al", &conn]),
        "ogrinfo over HTTP",
    );
    assert!(
        !extents(&guessed).iter().any(inside),
        "GDAL now reads z/y/x paths; docs/ogcapi-tiles.md is out of date"
    );
}

/// GDAL 3.6 reads a whole zoom level over HTTP from the XYZ layout, with our TileJSON as its
/// metadata: `ogrinfo -oo METADATA_FILE=…/tilejson.json MVT:…/xyz/14` lists the TileJSON's
/// layers with their fields and reads features from every tile of the data's extent.
#[test]
fn gdal_reads_a_zoom_level_with_the_tilejson_as_metadata() {
    let (_server, port) = common::serve(&common::mini_dir());
    let base = format!("http://127.0.0.1:{port}");
    for root in [
        "/tiles/WebMercatorQuad",
        "/collections/grids/tiles/WebMercatorQuad",
    ] {
        let tilejson = format!("{base}{root}/tilejson.json");
        let meta = format!("METADATA_FILE={tilejson}");
        let conn = format!("MVT:{base}{root}/xyz/14");
        let summary = run(
            Command::new("ogrinfo").args(["-ro", "-so", "-al", "-oo", &meta, &conn]),
            "ogrinfo on a zoom level",
        );
        let svc = common::mini_service();
        let want: Vec<String> = if root == "/tiles/WebMercatorQuad" {
            servicemap::tiles::COMPOSITE
                .iter()
                .filter(|(id, minzoom)| *minzoom <= 14 && svc.tiles.layer(*id).is_some())
                .map(|(id, _)| id.as_str().to_string())
                .collect()
        } else {
            vec!["grids".to_string()]
        };
        for layer in &want {
            let block = summary
                .split("Layer name: ")
                .find(|b| b.starts_with(&format!("{layer}\n")))
                .unwrap_or_else(|| panic!("{root}: GDAL lists no {layer}:\n{summary}"));
            let count = block
                .lines()
                .find_map(|l| l.strip_prefix("Feature Count: "))
                .and_then(|n| n.trim().parse::<i64>().ok())
                .unwrap_or(0);
            assert!(count > 0, "{root}: no {layer} feature read:\n{block}");
        }
        // The fields come from the TileJSON's vector_layers (GDAL read it, not guessed).
        assert!(summary.contains("households: "), "{summary}");
    }
}
