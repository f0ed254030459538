//! `servicemap import osm` on a small OSM file written here: a noded street grid with steps, a
//! bridge, excluded ways, an island, facilities, buildings and water; the same data as PBF
//! (built with osmium-tool) must give byte-identical layers.
//!
//! `serve_on_the_imported_directory_walks` serves the imported directory and asks walking
//! nearest and an isochrone over HTTP.

// Test helpers may unwrap, expect and panic: a failing test should stop loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use servicemap::import::{Bbox, ImportSummary, OsmImportOptions, import_osm};
use servicemap::model::{Building, Facility, Feature, LayerId, Walkway, WalkwayKind};
use servicemap::store;

const LAT0: f64 = 29.47;
const LON0: f64 = 106.53;

type Tags = &'static [(&'static str, &'static str)];

/// A node at grid offsets in thousandths of a degree.
fn node(id: i64, dlat_milli: f64, dlon_milli: f64, tags: &[(&str, &str)]) -> String {
    let lat = LAT0 + dlat_milli / 1000.0;
    let lon = LON0 + dlon_milli / 1000.0;
    element(
        "node",
        id,
        &format!(" lat=\"{lat:.7}\" lon=\"{lon:.7}\""),
        "",
        tags,
    )
}

fn way(id: i64, refs: &[i64], tags: &[(&str, &str)]) -> String {
    let nds: String = refs.iter().map(|r| format!("<nd ref=\"{r}\"/>")).collect();
    element("way", id, "", &nds, tags)
}

fn element(kind: &str, id: i64, attrs: &str, children: &str, tags: &[(&str, &str)]) -> String {
    let t: String = tags
        .iter()
        .map(|(k, v)| format!("<tag k=\"{k}\" v=\"{v}\"/>"))
        .collect();
    format!("<{kind} id=\"{id}\" version=\"1\"{attrs}>{children}{t}</{kind}>\n")
}

/// The fixture. Grid nodes 1..9 (rows 0.000/0.001/0.002° north, columns 0.000/0.001/0.002°
/// east) with node 18 between 1 and 2 where a motorway crosses.
fn fixture_xml() -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<osm version=\"0.6\" generator=\"test\">\n",
    );
    let grid: [(i64, f64, f64, Tags); 9] = [
        (1, 0.0, 0.0, &[]),
        (2, 0.0, 1.0, &[("ele", "240")]),
        (3, 0.0, 2.0, &[]),
        (4, 1.0, 0.0, &[("ele", "245")]),
        (5, 1.0, 1.0, &[("ele", "250 m")]),
        (6, 1.0, 2.0, &[("ele", "248.5")]),
        (7, 2.0, 0.0, &[]),
        (8, 2.0, 1.0, &[]),
        (9, 2.0, 2.0, &[]),
    ];
    for (id, a, b, t) in grid {
        s += &node(id, a, b, t);
    }
    s += &node(10, -0.5, 0.0, &[]);
    s += &node(11, 0.0, 2.5, &[]);
    s += &node(12, -0.2, 0.5, &[]);
    s += &node(13, 0.2, 0.5, &[]);
    s += &node(14, 0.0, -0.5, &[]);
    s += &node(18, 0.0, 0.5, &[]);
    s += &node(20, 10.0, 10.0, &[]);
    s += &node(21, 10.0, 10.5, &[]);
    // Facility nodes.
    s += &node(
        30,
        0.5,
        0.5,
        &[
            ("shop", "convenience"),
            ("name", "FamilyMart"),
            ("name:zh", "全家便利店"),
            ("opening_hours", "24/7"),
        ],
    );
    s += &node(31, 0.5, 1.5, &[("amenity", "pharmacy"), ("name", "大药房")]);
    s += &node(
        32,
        1.5,
        0.5,
        &[("amenity", "school"), ("name", "李家沱小学")],
    );
    s += &node(33, 1.5, 1.5, &[("amenity", "bench")]);
    s += &node(34, 1.5, 1.8, &[("shop", "supermarket")]);
    // Corners of areas: social facility (40-43), apartments (50-53), house (54-57), mall (58,59,67,68),
    // lake (70-73), river outer (60-63) and island hole (64-66).
    let squares: [(i64, f64, f64, f64, f64); 6] = [
        (40, 0.2, 1.2, 0.4, 1.5),
        (50, 1.2, 1.2, 1.4, 1.5),
        (54, 1.6, 0.2, 1.7, 0.3),
        (70, -1.0, 0.0, -0.8, 0.4),
        (60, 3.0, 0.0, 4.0, 2.0),
        (80, 2.4, 1.0, 2.6, 1.2),
    ];
    for (first, lat_a, lon_a, lat_b, lon_b) in squares {
        s += &node(first, lat_a, lon_a, &[]);
        s += &node(first + 1, lat_a, lon_b, &[]);
        s += &node(first + 2, lat_b, lon_b, &[]);
        s += &node(first + 3, lat_b, lon_a, &[]);
    }
    s += &node(64, 3.4, 0.8, &[]);
    s += &node(65, 3.4, 1.2, &[]);
    s += &node(66, 3.6, 1.0, &[]);
    s += &node(58, 0.6, 0.6, &[]);
    s += &node(59, 0.6, 0.8, &[]);
    s += &node(67, 0.8, 0.8, &[]);
    s += &node(68, 0.8, 0.6, &[]);

    s += &way(
        100,
        &[1, 18, 2, 3],
        &[
            ("highway", "residential"),
            ("name", "Binjiang Rd"),
            ("name:zh", "滨江路"),
        ],
    );
    s += &way(101, &[4, 5, 6], &[("highway", "residential")]);
    s += &way(102, &[7, 8, 9], &[("highway", "tertiary")]);
    s += &way(103, &[1, 4, 7], &[("highway", "footway")]);
    s += &way(104, &[2, 5], &[("highway", "steps")]);
    s += &way(105, &[5, 8], &[("highway", "footway"), ("bridge", "yes")]);
    s += &way(106, &[3, 6, 9], &[("highway", "living_street")]);
    s += &way(107, &[1, 10], &[("highway", "footway"), ("foot", "no")]);
    s += &way(
        108,
        &[3, 11],
        &[("highway", "service"), ("access", "private")],
    );
    s += &way(109, &[14, 18, 12], &[("highway", "motorway")]);
    s += &way(110, &[20, 21], &[("highway", "path")]);
    s += &way(111, &[13, 18], &[("highway", "cycleway")]);
    s += &way(
        120,
        &[40, 41, 42, 43, 40],
        &[
            ("amenity", "social_facility"),
            ("social_facility", "day_care"),
            ("social_facility:for", "senior"),
            ("name", "日间照料中心"),
            ("building", "yes"),
        ],
    );
    s += &way(
        121,
        &[50, 51, 52, 53, 50],
        &[("building", "apartments"), ("building:levels", "10")],
    );
    s += &way(
        122,
        &[58, 59, 67, 68, 58],
        &[("building", "yes"), ("shop", "mall")],
    );
    s += &way(123, &[54, 55, 56, 57, 54], &[("building", "house")]);
    s += &way(
        124,
        &[70, 71, 72, 73, 70],
        &[("natural", "water"), ("name", "小湖")],
    );
    // A market square drawn as a pedestrian area: a facility, not a walkway.
    s += &way(
        128,
        &[80, 81, 82, 83, 80],
        &[
            ("highway", "pedestrian"),
            ("area", "yes"),
            ("amenity", "marketplace"),
            ("name", "李家沱菜市场"),
        ],
    );
    s += &way(125, &[60, 61, 62], &[]);
    s += &way(126, &[62, 63, 60], &[]);
    s += &way(127, &[64, 65, 66, 64], &[]);
    s += "<relation id=\"200\" version=\"1\"><member type=\"way\" ref=\"125\" role=\"outer\"/>\
          <member type=\"way\" ref=\"126\" role=\"outer\"/><member type=\"way\" ref=\"127\" role=\"inner\"/>\
          <tag k=\"type\" v=\"multipolygon\"/><tag k=\"waterway\" v=\"riverbank\"/><tag k=\"name\" v=\"长江\"/></relation>\n";
    // A lake whose outer way the extract lost: counted as incomplete, not written.
    s += "<relation id=\"201\" version=\"1\"><member type=\"way\" ref=\"999\" role=\"outer\"/>\
          <tag k=\"type\" v=\"multipolygon\"/><tag k=\"natural\" v=\"water\"/></relation>\n";
    s += "</osm>\n";
    s
}

fn tmp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "servicemap-import-osm-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create temp dir");
    d
}

/// Write the fixture XML into `dir` and import it into `dir/out`.
fn import_fixture(dir: &Path, bbox: Option<Bbox>) -> (PathBuf, ImportSummary) {
    let xml = dir.join("fixture.osm");
    std::fs::write(&xml, fixture_xml()).expect("write fixture");
    let out = dir.join("out");
    let summary = import_osm(
        &xml,
        &out,
        &OsmImportOptions {
            bbox,
            ..OsmImportOptions::default()
        },
    )
    .expect("import");
    (out, summary)
}

fn by_id(features: &[Feature]) -> BTreeMap<&str, &Feature> {
    features.iter().map(|f| (f.id.as_str(), f)).collect()
}

fn node_lonlat(dlat_milli: f64, dlon_milli: f64) -> (f64, f64) {
    (LON0 + dlon_milli / 1000.0, LAT0 + dlat_milli / 1000.0)
}

fn close(a: (f64, f64), b: (f64, f64)) -> bool {
    (a.0 - b.0).abs() < 1e-7 && (a.1 - b.1).abs() < 1e-7
}

#[test]
fn walkways_are_noded_classified_filtered_and_connected() {
    let dir = tmp_dir("walk");
    let (out, summary) = import_fixture(&dir, None);
    let ds = store::read_dir(&out).expect("imported directory reads");
    let walks: Vec<Walkway> = ds
        .layer(LayerId::Walkways)
        .expect("walkways")
        .iter()
        .map(|f| Walkway::from_feature(f).expect("typed"))
        .collect();
    let got: BTreeMap<&str, (WalkwayKind, usize)> = walks
        .iter()
        .map(|w| (w.id.as_str(), (w.kind, w.lonlat.len())))
        .collect();
    use WalkwayKind::*;
    let want: BTreeMap<&str, (WalkwayKind, usize)> = [
        // Not cut at 18, where only the (excluded) motorway and cycleway meet it.
        ("osm-w100-0", (Street, 3)),
        ("osm-w100-1", (Street, 2)),
        ("osm-w101-0", (Street, 2)),
        ("osm-w101-1", (Street, 2)),
        ("osm-w102-0", (Street, 2)),
        ("osm-w102-1", (Street, 2)),
        ("osm-w103-0", (Footway, 2)),
        ("osm-w103-1", (Footway, 2)),
        ("osm-w104-0", (Stairs, 2)),
        ("osm-w105-0", (Bridge, 2)),
        ("osm-w106-0", (Street, 2)),
        ("osm-w106-1", (Street, 2)),
    ]
    .into_iter()
    .collect();
    assert_eq!(got, want);

    let w = |id: &str| walks.iter().find(|w| w.id == id).expect("walkway present");
    // Segments end at the shared nodes: w100 cut at node 2, w101 at node 5.
    assert!(close(
        *w("osm-w100-0").lonlat.last().expect("end"),
        node_lonlat(0.0, 1.0)
    ));
    assert!(
        close(w("osm-w100-0").lonlat[1], node_lonlat(0.0, 0.5)),
        "node 18 stays inside"
    );
    assert!(close(w("osm-w101-1").lonlat[0], node_lonlat(1.0, 1.0)));
    assert_eq!(w("osm-w100-0").name.as_deref(), Some("滨江路"));
    // Elevation only where every vertex has ele.
    assert_eq!(w("osm-w101-0").elevation_m, Some(vec![245.0, 250.0]));
    assert_eq!(w("osm-w101-1").elevation_m, Some(vec![250.0, 248.5]));
    assert_eq!(w("osm-w104-0").elevation_m, Some(vec![240.0, 250.0]));
    assert_eq!(w("osm-w100-1").elevation_m, None);
    assert_eq!(w("osm-w105-0").elevation_m, None, "node 8 has no ele");
    let f = by_id(ds.layer(LayerId::Walkways).expect("walkways"));
    assert_eq!(f["osm-w104-0"].str_prop("osm_id"), Some("way/104"));

    assert_eq!(summary.ways_read, 21);
    assert_eq!(summary.walkway_ways_kept, 7);
    assert_eq!(summary.walkway_segments, 12);
    assert_eq!(
        summary.dropped_disconnected_segments, 1,
        "the island path w110"
    );
    assert!(
        (summary.dropped_disconnected_m - 48.5).abs() < 1.0,
        "{}",
        summary.dropped_disconnected_m
    );
    let excluded: Vec<(&str, u64)> = summary
        .excluded_highways
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(
        excluded,
        vec![
            ("access=private", 1),
            ("foot=no", 1),
            ("motor road (motorway/trunk, no sidewalk)", 1),
            ("not for walking (construction, cycleway, ...)", 1)
        ]
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn facilities_buildings_and_water() {
    let dir = tmp_dir("areas");
    let (out, summary) = import_fixture(&dir, None);
    let ds = store::read_dir(&out).expect("imported directory reads");
    let tax = ds.taxonomy.as_ref().expect("categories.json");
    assert_eq!(
        tax.categories.len(),
        22,
        "barber, laundry and repair joined the 19"
    );

    let fac = ds.layer(LayerId::Facilities).expect("facilities");
    let typed: Vec<Facility> = fac
        .iter()
        .map(|f| Facility::from_feature(f).expect("typed"))
        .collect();
    let got: Vec<(&str, &str, &str)> = typed
        .iter()
        .map(|f| (f.id.as_str(), f.category.as_str(), f.name.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("osm-n30", "convenience_store", "全家便利店"),
            ("osm-n31", "pharmacy", "大药房"),
            ("osm-n32", "primary_school", "李家沱小学"),
            ("osm-n34", "supermarket", "超市"),
            ("osm-w120", "elder_day_care", "日间照料中心"),
            ("osm-w128", "fresh_market", "李家沱菜市场"),
        ]
    );
    for t in &typed {
        assert!(
            tax.get(&t.category).is_some(),
            "{} in categories.json",
            t.category
        );
    }
    let f = by_id(fac);
    assert_eq!(f["osm-n30"].str_prop("opening_hours"), Some("24/7"));
    assert_eq!(f["osm-n30"].str_prop("osm_id"), Some("node/30"));
    assert_eq!(f["osm-w120"].str_prop("osm_id"), Some("way/120"));
    let c = typed[4].position;
    assert!(
        close((c.x(), c.y()), node_lonlat(0.3, 1.35)),
        "centroid of the square: {c:?}"
    );
    assert_eq!(summary.unmapped_skipped.get("amenity=bench"), Some(&1));
    assert_eq!(
        summary.unmapped_skipped.get("shop=mall"),
        Some(&1),
        "the mall building"
    );
    assert_eq!(summary.unmapped_total(), 2);

    let b: Vec<Building> = ds
        .layer(LayerId::Buildings)
        .expect("buildings")
        .iter()
        .map(|f| Building::from_feature(f).expect("typed"))
        .collect();
    let got: Vec<(&str, u64, u64)> = b
        .iter()
        .map(|b| (b.id.as_str(), b.households, b.residents))
        .collect();
    // w121: 0.3 x 0.2 thousandths of a degree at 29.47°N = 29.07 m x 22.17 m = 644.4 m²;
    // 10 storeys x 644.4 / 105 m² = 61.4 -> 61 households, x 2.62 = 160 residents.
    // w123 is a house: one household. w122 (a shop) and w120 (the day-care centre) are
    // building=yes with a shop/amenity tag: not housing.
    assert_eq!(got, vec![("osm-w121", 61, 160), ("osm-w123", 1, 3)]);
    let bf = by_id(ds.layer(LayerId::Buildings).expect("buildings"));
    assert_eq!(bf["osm-w121"].u64_prop("floors"), Some(10));
    assert_eq!(
        bf["osm-w121"].str_prop("households_source"),
        Some("estimate")
    );
    assert_eq!(
        bf["osm-w123"].str_prop("households_source"),
        Some("single_family")
    );
    assert!(close(
        (b[0].position.x(), b[0].position.y()),
        node_lonlat(1.3, 1.35)
    ));
    assert_eq!(summary.non_residential_buildings_skipped, 2);
    assert_eq!(summary.households, 62);

    let water = ds.layer(LayerId::Water).expect("water");
    let w = by_id(water);
    assert_eq!(water.len(), 2);
    assert_eq!(w["osm-w124"].str_prop("name"), Some("小湖"));
    let geo::Geometry::Polygon(river) = &w["osm-r200"].geometry else {
        panic!("river is one polygon")
    };
    assert_eq!(w["osm-r200"].str_prop("name"), Some("长江"));
    assert_eq!(river.interiors().len(), 1, "the island is a hole");
    use geo::Winding as _;
    assert!(river.exterior().is_ccw() && river.interiors()[0].is_cw());
    assert_eq!(summary.water_polygons, 2);
    assert_eq!(summary.incomplete_areas, 1, "relation 201");
    assert_eq!(summary.relations_read, 2);

    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("manifest.json")).expect("manifest"),
    )
    .expect("json");
    assert_eq!(manifest["modelled"], false);
    assert_eq!(manifest["source"], "fixture.osm");
    assert_eq!(manifest["expected_counts"]["walkways"], 12);
    assert_eq!(manifest["expected_counts"]["facilities"], 6);
    assert_eq!(manifest["expected_counts"]["buildings"], 2);
    assert_eq!(manifest["expected_counts"]["water"], 2);
    let layers: Vec<LayerId> = ds.layers.keys().copied().collect();
    assert_eq!(
        layers,
        vec![
            LayerId::Buildings,
            LayerId::Facilities,
            LayerId::Water,
            LayerId::Walkways
        ]
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bbox_clips_ways_to_the_nodes_inside() {
    let dir = tmp_dir("bbox");
    // Rows 0 and 1 of the grid only (and nothing of the island or the river).
    let bbox: Bbox = "106.5295,29.4695,106.5325,29.4712".parse().expect("bbox");
    let (out, summary) = import_fixture(&dir, Some(bbox));
    let ds = store::read_dir(&out).expect("reads");
    let ids: Vec<&str> = ds
        .layer(LayerId::Walkways)
        .expect("walkways")
        .iter()
        .map(|f| f.id.as_str())
        .collect();
    assert_eq!(
        ids,
        vec![
            "osm-w100-0",
            "osm-w100-1",
            "osm-w101-0",
            "osm-w101-1",
            "osm-w103-0",
            "osm-w104-0",
            "osm-w106-0"
        ]
    );
    assert_eq!(
        summary.dropped_disconnected_segments, 0,
        "the island lies outside, not disconnected"
    );
    let fac: Vec<&str> = ds
        .layer(LayerId::Facilities)
        .expect("facilities")
        .iter()
        .map(|f| f.id.as_str())
        .collect();
    assert_eq!(fac, vec!["osm-n30", "osm-n31", "osm-w120"]);
    let water: Vec<&str> = ds
        .layer(LayerId::Water)
        .expect("water")
        .iter()
        .map(|f| f.id.as_str())
        .collect();
    assert_eq!(water, Vec::<&str>::new());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn pbf_import_matches_xml_import() {
    let dir = tmp_dir("pbf");
    let (xml_out, xml_summary) = import_fixture(&dir, None);
    let pbf = dir.join("fixture.osm.pbf");
    let status = Command::new("osmium")
        .args(["cat", "--overwrite", "-o"])
        .arg(&pbf)
        .arg(dir.join("fixture.osm"))
        .status()
        .unwrap_or_else(|e| {
            panic!("cannot run osmium ({e}): install osmium-tool (apt-get install osmium-tool)")
        });
    assert!(status.success(), "osmium cat failed");
    let pbf_out = dir.join("out-pbf");
    let pbf_summary = import_osm(&pbf, &pbf_out, &OsmImportOptions::default()).expect("pbf import");
    for name in [
        "walkways.geojson",
        "facilities.geojson",
        "buildings.geojson",
        "water.geojson",
        "categories.json",
    ] {
        let a = std::fs::read(xml_out.join(name)).expect("xml file");
        let b = std::fs::read(pbf_out.join(name)).expect("pbf file");
        assert!(a == b, "{name} differs between the XML and the PBF import");
    }
    let strip = |s: &ImportSummary| ImportSummary {
        source: String::new(),
        elapsed_s: 0.0,
        ..s.clone()
    };
    assert_eq!(strip(&xml_summary), strip(&pbf_summary));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn cli_import_osm_and_geojson() {
    let dir = tmp_dir("cli");
    let xml = dir.join("city.osm");
    std::fs::write(&xml, fixture_xml()).expect("write");
    let out = dir.join("data");
    let run = Command::new(env!("CARGO_BIN_EXE_servicemap"))
        .args(["import", "osm"])
        .arg(&xml)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run servicemap");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(stdout.contains("| walkway segments | 12 |"), "{stdout}");
    assert!(
        stdout.contains("; it serves (0 data-quality finding(s)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("| dropped disconnected segments | 1 (48 m) |"),
        "{stdout}"
    );

    let grids = dir.join("grids.geojson");
    std::fs::write(
        &grids,
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"G1","title":"一网格","sq":"c1"},
        "geometry":{"type":"Polygon","coordinates":[[[106.529,29.469],[106.533,29.469],[106.533,29.473],[106.529,29.473],[106.529,29.469]]]}}]}"#,
    )
    .expect("write grids");
    let run = Command::new(env!("CARGO_BIN_EXE_servicemap"))
        .args([
            "import",
            "geojson",
            "--layer",
            "grids",
            "--id-property",
            "code",
            "--name-property",
            "title",
        ])
        .args(["--map", "sq=community", "--out"])
        .arg(&out)
        .arg(&grids)
        .output()
        .expect("run servicemap");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let ds = store::read_dir(&out).expect("reads");
    let g = ds.layer(LayerId::Grids).expect("grids layer");
    assert_eq!(
        (g[0].id.as_str(), g[0].str_prop("community")),
        ("G1", Some("c1"))
    );
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("manifest.json")).expect("manifest"),
    )
    .expect("json");
    assert_eq!(manifest["expected_counts"]["grids"], 1);

    let bad = Command::new(env!("CARGO_BIN_EXE_servicemap"))
        .args(["import", "osm", "city.geojson", "--out"])
        .arg(&out)
        .output()
        .expect("run servicemap");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("*.osm.pbf"));

    // A directory the server would refuse (here a self-intersecting grid left there before)
    // fails the import, with the reason, instead of passing silently.
    std::fs::write(
        out.join("grids.geojson"),
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","id":"G1","properties":{"name":"一网格","community":"c1"},
        "geometry":{"type":"Polygon","coordinates":[[[106.529,29.469],[106.533,29.473],[106.533,29.469],[106.529,29.473],[106.529,29.469]]]}}]}"#,
    )
    .expect("write bowtie grid");
    let refused = Command::new(env!("CARGO_BIN_EXE_servicemap"))
        .args(["import", "osm"])
        .arg(&xml)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run servicemap");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{stderr}");
    assert!(
        stderr.contains("cannot be served") && stderr.contains("[geometry] grids feature 'G1'"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// Import, then serve: the imported directory passes start-up validation and answers
/// walking-time nearest and an isochrone over HTTP, through the same wiring as `serve`.
#[actix_web::test]
async fn serve_on_the_imported_directory_walks() {
    let dir = tmp_dir("serve");
    let (out, _) = import_fixture(&dir, None);
    let service = servicemap::service::Service::load(&out).expect("the imported directory serves");
    let c = common::client(service).await;

    // From the corner at node 1 to the convenience store at (0.5, 0.5) thousandths.
    let (lon, lat) = node_lonlat(0.0, 0.0);
    let r = c
        .get(&format!(
            "/nearest?lon={lon}&lat={lat}&category=convenience_store&k=1&route=true"
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json();
    assert_eq!(body["query"]["mode"], "walk");
    let f = &body["features"][0];
    assert_eq!(f["id"], "osm-n30");
    let walk_m = f["properties"]["walk_m"].as_f64().expect("walk_m");
    // At least the straight line (~72 m), at most around the block and in (~160 m).
    assert!((72.0..200.0).contains(&walk_m), "{walk_m}");
    assert_eq!(f["properties"]["route"]["type"], "LineString");

    // A 5-minute isochrone from node 5 reaches the apartment block at (1.3, 1.35).
    let (lon, lat) = node_lonlat(1.0, 1.0);
    let r = c
        .get(&format!("/isochrone?lon={lon}&lat={lat}&minutes=5"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let iso = r.json();
    let p = &iso["features"][0]["properties"];
    assert!(p["area_m2"].as_f64().expect("area") > 10_000.0, "{p}");
    assert!(p["households"].as_u64().expect("households") >= 61, "{p}");

    // No grids were imported: the locate endpoint says so instead of guessing.
    let r = c.get(&format!("/locate?lon={lon}&lat={lat}")).await;
    assert!(
        r.status >= 400 && r.content_type == "application/problem+json",
        "{}",
        r.status
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn compressed_xml_imports_like_plain_xml() {
    use std::io::Write as _;
    let dir = tmp_dir("compressed");
    let (xml_out, xml_summary) = import_fixture(&dir, None);
    let xml = fixture_xml();
    let gz = dir.join("fixture.osm.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(xml.as_bytes()).expect("gzip");
    std::fs::write(&gz, enc.finish().expect("gzip")).expect("write gz");
    let bz2 = dir.join("fixture.osm.bz2");
    let mut enc = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    enc.write_all(xml.as_bytes()).expect("bzip2");
    std::fs::write(&bz2, enc.finish().expect("bzip2")).expect("write bz2");
    for (input, sub) in [(&gz, "out-gz"), (&bz2, "out-bz2")] {
        let out = dir.join(sub);
        let summary = import_osm(input, &out, &OsmImportOptions::default()).expect("import");
        for name in [
            "walkways.geojson",
            "facilities.geojson",
            "buildings.geojson",
            "water.geojson",
        ] {
            let a = std::fs::read(xml_out.join(name)).expect("xml file");
            let b = std::fs::read(out.join(name)).expect("compressed file");
            assert!(
                a == b,
                "{name} differs between {} and plain XML",
                input.display()
            );
        }
        assert_eq!(summary.walkway_segments, xml_summary.walkway_segments);
    }
    // A truncated archive is an error naming the file, not a silently short import.
    let cut = dir.join("cut.osm.gz");
    let bytes = std::fs::read(&gz).expect("gz");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write");
    let err = import_osm(&cut, &dir.join("out-cut"), &OsmImportOptions::default())
        .expect_err("truncated gzip");
    assert!(err.to_string().contains("cut.osm.gz"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// A small town with a tunnel under a street (no shared node: grade-separated), a footway that
/// crosses the street without a shared node on the same grade (a data-quality finding), the
/// categories the mapping gained, a supermarket mapped as node and area, and buildings mapped
/// as nodes (one of them also as an outline).
fn grade_fixture_xml() -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<osm version=\"0.6\" generator=\"test\">\n",
    );
    let nodes: [(i64, f64, f64, Tags); 20] = [
        (1001, 0.0, 0.0, &[]),
        (1002, 0.0, 1.0, &[]),
        (1003, 0.0, 2.0, &[]),
        (1004, -1.0, 1.0, &[]),
        (1005, 1.0, 1.0, &[]),
        (1006, -1.0, 1.5, &[]),
        (1007, 1.0, 1.5, &[]),
        (1008, -1.0, 0.5, &[]),
        (1009, 1.0, 0.5, &[]),
        (1010, 0.3, 0.3, &[("shop", "hairdresser"), ("name", "Cut")]),
        (1011, 0.3, 0.2, &[("shop", "dry_cleaning")]),
        (1012, -0.3, 0.2, &[("shop", "mobile_phone_repair")]),
        (1013, 0.5, 1.7, &[("shop", "supermarket"), ("name", "Mart")]),
        (1014, 0.4, 1.6, &[]),
        (1015, 0.4, 1.8, &[]),
        (1016, 0.6, 1.8, &[]),
        (1017, 0.6, 1.6, &[]),
        (1018, -0.4, 1.8, &[("building", "house")]),
        (
            1019,
            -0.5,
            1.8,
            &[("building", "apartments"), ("building:flats", "24")],
        ),
        (1020, -0.6, 1.8, &[("building", "apartments")]),
    ];
    for (id, a, b, t) in nodes {
        s += &node(id, a, b, t);
    }
    s += &node(1021, 0.4, -0.2, &[]);
    s += &node(1022, 0.4, -0.1, &[]);
    s += &node(1023, 0.5, -0.1, &[]);
    s += &node(1024, 0.5, -0.2, &[]);
    // A house mapped both as a node and as an outline.
    s += &node(1025, -0.3, -0.3, &[("building", "house")]);
    s += &node(1026, -0.4, -0.4, &[]);
    s += &node(1027, -0.4, -0.2, &[]);
    s += &node(1028, -0.2, -0.2, &[]);
    s += &node(1029, -0.2, -0.4, &[]);
    let street: Tags = &[("highway", "residential"), ("name", "A")];
    s += &way(2001, &[1001, 1002, 1003], street);
    s += &way(2002, &[1004, 1002, 1005], &[("highway", "footway")]);
    s += &way(
        2003,
        &[1006, 1007],
        &[("highway", "footway"), ("tunnel", "yes"), ("layer", "-1")],
    );
    s += &way(2004, &[1004, 1006], &[("highway", "footway")]);
    s += &way(2005, &[1005, 1007], &[("highway", "footway")]);
    s += &way(2006, &[1004, 1008, 1009, 1005], &[("highway", "footway")]);
    s += &way(
        2010,
        &[1014, 1015, 1016, 1017, 1014],
        &[
            ("building", "retail"),
            ("shop", "supermarket"),
            ("name", "Mart"),
        ],
    );
    s += &way(
        2012,
        &[1026, 1027, 1028, 1029, 1026],
        &[("building", "house")],
    );
    s += &way(
        2011,
        &[1021, 1022, 1023, 1024, 1021],
        &[("shop", "supermarket"), ("name", "Other")],
    );
    s += "</osm>\n";
    s
}

#[test]
fn grade_separation_findings_mapping_and_places_mapped_twice() {
    let dir = tmp_dir("grade");
    let xml = dir.join("grade.osm");
    std::fs::write(&xml, grade_fixture_xml()).expect("write");
    let out = dir.join("out");
    let summary = import_osm(&xml, &out, &OsmImportOptions::default()).expect("import");
    let ds = store::read_dir(&out).expect("reads");

    // The tunnel keeps its tags; the street it passes under does not get them.
    let walkways = by_id(ds.layer(LayerId::Walkways).expect("walkways"));
    let tunnel = walkways["osm-w2003-0"];
    assert_eq!(tunnel.str_prop("tunnel"), Some("yes"));
    assert_eq!(tunnel.properties["layer"].to_value(), -1);
    assert_eq!(walkways["osm-w2001-0"].properties.get("tunnel"), None);

    // Validation: no violation; the same-grade crossing without a node is the one finding.
    let report = store::validate(&ds);
    assert!(report.violations.is_empty(), "{:?}", report.violations);
    assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
    let f = &report.findings[0];
    assert_eq!(f.kind, "crossing_without_shared_node");
    assert!(
        f.features.iter().any(|w| w.starts_with("osm-w2006-"))
            && f.features.iter().any(|w| w.starts_with("osm-w2001-")),
        "{f:?}"
    );
    let (lon, lat) = node_lonlat(0.0, 0.5);
    assert!(close((f.at.x, f.at.y), (lon, lat)), "{f:?}");
    servicemap::service::Service::load(&out).expect("serves despite the finding");

    // The same directory without the OSM origin is held to the strict rules.
    let manifest_path = out.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).expect("manifest"))
            .expect("json");
    assert_eq!(manifest["origin"], "openstreetmap");
    manifest.as_object_mut().expect("object").remove("origin");
    std::fs::write(&manifest_path, manifest.to_string()).expect("write");
    let strict = store::validate(&store::read_dir(&out).expect("reads"));
    assert_eq!(strict.of_rule("noding").len(), 1, "{:?}", strict.violations);
    assert!(strict.findings.is_empty());

    // Mapping: barber, laundry, repair; the supermarket mapped as node and area once.
    let facilities = ds.layer(LayerId::Facilities).expect("facilities");
    let cat = |id: &str| {
        facilities
            .iter()
            .find(|f| f.id == id)
            .and_then(|f| f.str_prop("category"))
    };
    assert_eq!(cat("osm-n1010"), Some("barber"));
    assert_eq!(cat("osm-n1011"), Some("laundry"));
    assert_eq!(cat("osm-n1012"), Some("repair"));
    assert_eq!(cat("osm-n1013"), Some("supermarket"));
    assert_eq!(cat("osm-w2010"), None, "the area of the node's supermarket");
    assert_eq!(cat("osm-w2011"), Some("supermarket"), "another supermarket");
    assert_eq!(summary.facilities_mapped_twice, 1);
    assert_eq!(summary.facilities_by_category.get("supermarket"), Some(&2));

    // Buildings mapped as nodes.
    let buildings = by_id(ds.layer(LayerId::Buildings).expect("buildings"));
    let homes = |id: &str| {
        let b = Building::from_feature(buildings[id]).expect("building");
        (b.households, buildings[id].str_prop("households_source"))
    };
    assert_eq!(homes("osm-n1018"), (1, Some("single_family")));
    assert_eq!(homes("osm-n1019"), (24, Some("building:flats")));
    assert_eq!(homes("osm-n1020"), (1, Some("node")));
    // The house mapped twice is the outline only.
    assert!(!buildings.contains_key("osm-n1025"));
    assert_eq!(homes("osm-w2012"), (1, Some("single_family")));
    assert_eq!(summary.building_nodes_in_areas, 1);
    std::fs::remove_dir_all(&dir).ok();
}
