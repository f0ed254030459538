//! `store::validate` on a small valid dataset built in code, and on one broken copy per rule:
//! each broken copy must fire exactly the expected rule and name the layer and feature.

// Test helpers may unwrap, expect and panic: a failing test should stop loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use geo::{Coord, Geometry, LineString, Point, Polygon};
use serde_json::{Map, Value, json};

use servicemap::model::{Feature, LayerId};
use servicemap::store::validate::{places, rule};
use servicemap::store::write::{layer_text, round7, write_atomic};
use servicemap::store::{self, Report, StoreError};

/// Fixture unit in degrees (~240 m east, ~280 m north) and origin, in Lijiatuo.
const UNIT_DEG: f64 = 0.0025;
const LON0: f64 = 106.52;
const LAT0: f64 = 29.46;

/// A position in fixture units, rounded like the files so that written == read.
fn c(x: f64, y: f64) -> Coord<f64> {
    Coord {
        x: round7(LON0 + x * UNIT_DEG),
        y: round7(LAT0 + y * UNIT_DEG),
    }
}

/// Counter-clockwise rectangle in fixture units.
fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Geometry<f64> {
    Geometry::Polygon(Polygon::new(
        LineString::from(vec![c(x0, y0), c(x1, y0), c(x1, y1), c(x0, y1), c(x0, y0)]),
        vec![],
    ))
}

fn props(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn feature(id: &str, geometry: Geometry<f64>, p: Value) -> Feature {
    Feature {
        id: id.to_string(),
        geometry,
        elevation_m: None,
        properties: props(p).into(),
    }
}

/// A 3D walkway: elevation rises 10 m per fixture unit northwards.
fn walkway(id: &str, kind: &str, pts: &[(f64, f64)]) -> Feature {
    Feature {
        id: id.to_string(),
        geometry: Geometry::LineString(LineString::from(
            pts.iter().map(|&(x, y)| c(x, y)).collect::<Vec<_>>(),
        )),
        elevation_m: Some(pts.iter().map(|&(_, y)| 200.0 + 10.0 * y).collect()),
        properties: props(json!({ "kind": kind })).into(),
    }
}

struct Fixture {
    layers: BTreeMap<LayerId, Vec<Feature>>,
    categories: Option<Value>,
    manifest: Option<Value>,
}

/// The walkway network's node columns and rows (fixture units).
const XS: [f64; 4] = [0.5, 1.5, 2.5, 3.5];
const ROWS: [f64; 3] = [0.5, 1.0, 1.8];

impl Fixture {
    /// A 4 × 2 unit boundary; 2 communities of 2 grids of 2 micro-grids (1 × 1 units); two
    /// buildings per micro-grid (100 households each, so 400 per grid); a compound per
    /// community; 3 facilities; a river strip at y 1.3–1.5 crossed by one bridge; a 3D
    /// walkway grid with a bank street that passes under the bridge without a node.
    fn valid() -> Fixture {
        let mut layers = BTreeMap::new();
        layers.insert(
            LayerId::Boundary,
            vec![feature(
                "b",
                rect(0.0, 0.0, 4.0, 2.0),
                json!({"name": "Fixture"}),
            )],
        );
        let fig = |n: u64| json!({"households": 100 * n, "residents": 250 * n, "residents_60plus": 60 * n, "children_0_6": 10 * n});
        let with = |base: Value, extra: Value| {
            let mut m = props(base);
            m.extend(props(extra));
            Value::Object(m)
        };
        let (mut communities, mut grids, mut micro, mut buildings) =
            (vec![], vec![], vec![], vec![]);
        for (ci, cx) in [(1, 0.0), (2, 2.0)] {
            let cid = format!("c{ci}");
            communities.push(feature(
                &cid,
                rect(cx, 0.0, cx + 2.0, 2.0),
                with(json!({"name": format!("Community {ci}"), "code": format!("50011300600{ci}"), "kind": "community"}), fig(8)),
            ));
            for (gi, gy) in [(1, 0.0), (2, 1.0)] {
                let gid = format!("{cid}-g{gi}");
                grids.push(feature(
                    &gid,
                    rect(cx, gy, cx + 2.0, gy + 1.0),
                    with(
                        json!({"name": format!("Grid {gid}"), "community": cid}),
                        fig(4),
                    ),
                ));
                for (mi, mx) in [(1, cx), (2, cx + 1.0)] {
                    let mid = format!("{gid}-m{mi}");
                    micro.push(feature(
                        &mid,
                        rect(mx, gy, mx + 1.0, gy + 1.0),
                        with(json!({"name": format!("Micro-grid {mid}"), "grid": gid, "community": cid}), fig(2)),
                    ));
                    for (bi, (dx, dy)) in [(0.3, 0.3), (0.7, 0.6)].into_iter().enumerate() {
                        let mut p = with(
                            json!({"microgrid": mid, "grid": gid, "community": cid, "floors": 6}),
                            fig(1),
                        );
                        if gi == 1 && mi == 1 {
                            p["compound"] = json!(format!("k{ci}"));
                        }
                        buildings.push(feature(
                            &format!("{mid}-b{bi}"),
                            Geometry::Point(Point(c(mx + dx, gy + dy))),
                            p,
                        ));
                    }
                }
            }
        }
        layers.insert(LayerId::Communities, communities);
        layers.insert(LayerId::Grids, grids);
        layers.insert(LayerId::Microgrids, micro);
        layers.insert(LayerId::Buildings, buildings);
        layers.insert(
            LayerId::Compounds,
            vec![
                feature(
                    "k1",
                    rect(0.2, 0.2, 0.8, 0.8),
                    json!({"name": "Old compound", "community": "c1", "old": true}),
                ),
                feature(
                    "k2",
                    rect(2.2, 0.2, 2.8, 0.8),
                    json!({"name": "New compound", "community": "c2", "old": false}),
                ),
            ],
        );
        let fac = |id: &str, x: f64, y: f64, cat: &str, com: &str, grid: &str| {
            feature(
                id,
                Geometry::Point(Point(c(x, y))),
                json!({"name": id, "category": cat, "community": com, "grid": grid}),
            )
        };
        layers.insert(
            LayerId::Facilities,
            vec![
                fac("f1", 1.2, 0.4, "elder_canteen", "c1", "c1-g1"),
                fac("f2", 3.2, 1.2, "clinic", "c2", "c2-g2"),
                fac("f3", 2.6, 1.7, "elder_canteen", "c2", "c2-g2"),
            ],
        );
        layers.insert(
            LayerId::Water,
            vec![feature(
                "river",
                rect(-0.5, 1.3, 4.5, 1.5),
                json!({"name": "Yangtze"}),
            )],
        );
        let mut ways = Vec::new();
        for (ri, y) in ROWS.iter().enumerate() {
            for i in 0..XS.len() - 1 {
                ways.push(walkway(
                    &format!("h{ri}-{i}"),
                    "street",
                    &[(XS[i], *y), (XS[i + 1], *y)],
                ));
            }
        }
        for (i, x) in XS.iter().enumerate() {
            ways.push(walkway(
                &format!("v{i}"),
                "footway",
                &[(*x, ROWS[0]), (*x, ROWS[1])],
            ));
        }
        ways.push(walkway("bridge", "bridge", &[(1.5, 1.0), (1.5, 1.8)]));
        ways.push(walkway("spur", "stairs", &[(0.5, 1.0), (0.5, 1.2)]));
        // Passes under the bridge at (1.5, 1.2) without a shared position: allowed.
        ways.push(walkway(
            "bank",
            "street",
            &[(0.5, 1.2), (1.0, 1.2), (2.5, 1.2)],
        ));
        layers.insert(LayerId::Walkways, ways);
        let categories = json!({"note": "fixture", "categories": [
            {"id": "elder_canteen", "name_zh": "社区老年食堂", "name_en": "Elder canteen", "domain": "elderly",
             "gb50180": {"tier_min": 10, "max_m": 500.0, "max_walk_min": null}, "mofcom": null},
            {"id": "clinic", "name_zh": "社区卫生服务站", "name_en": "Clinic", "domain": "medical",
             "gb50180": {"tier_min": 15, "max_m": 1000.0, "max_walk_min": null}, "mofcom": null}
        ]});
        let mut fixture = Fixture {
            layers,
            categories: Some(categories),
            manifest: None,
        };
        let counts: Map<String, Value> = fixture
            .layers
            .iter()
            .map(|(l, fs)| (l.to_string(), json!(fs.len())))
            .collect();
        fixture.manifest = Some(json!({
            "name": "validate fixture", "modelled": true, "note": "built by tests/validate.rs",
            "expected_counts": counts, "grid_households": [300, 500],
            "walkway_elevations_required": true
        }));
        fixture
    }

    fn get(&mut self, layer: LayerId, id: &str) -> &mut Feature {
        self.layers
            .get_mut(&layer)
            .and_then(|fs| fs.iter_mut().find(|f| f.id == id))
            .unwrap_or_else(|| panic!("fixture has no {layer} '{id}'"))
    }

    /// Add a feature, keeping the manifest's count in step so only the rule under test fires.
    fn push(&mut self, layer: LayerId, f: Feature) {
        let fs = self.layers.entry(layer).or_default();
        fs.push(f);
        let n = fs.len();
        if let Some(m) = &mut self.manifest {
            m["expected_counts"][layer.as_str()] = json!(n);
        }
    }

    /// Write the fixture as a data directory under the system temp dir.
    fn write(&self, name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("servicemap-validate-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create fixture dir");
        for (layer, fs) in &self.layers {
            write_atomic(&dir.join(layer.file_name()), &layer_text(fs, None)).expect("write layer");
        }
        if let Some(c) = &self.categories {
            write_atomic(&dir.join("categories.json"), &c.to_string()).expect("write categories");
        }
        if let Some(m) = &self.manifest {
            write_atomic(&dir.join("manifest.json"), &m.to_string()).expect("write manifest");
        }
        dir
    }

    /// Write, read back and validate.
    fn check(&self, name: &str) -> Report {
        let dir = self.write(name);
        let ds = store::read_dir(&dir).expect("fixture reads");
        let report = store::validate(&ds);
        let _ = std::fs::remove_dir_all(&dir);
        report
    }
}

fn show(r: &Report) -> String {
    r.violations.iter().map(|v| format!("\n  {v}")).collect()
}

/// Every violation is of `rule`, and one of them names `layer` and `id`.
fn assert_only(r: &Report, rule: &str, layer: LayerId, id: Option<&str>) {
    assert!(
        !r.violations.is_empty(),
        "expected a '{rule}' violation, got none"
    );
    assert!(
        r.violations.iter().all(|v| v.rule == rule),
        "only '{rule}' should fire:{}",
        show(r)
    );
    assert!(
        r.violations
            .iter()
            .any(|v| v.layer == layer.as_str() && v.feature_id.as_deref() == id),
        "expected a '{rule}' violation naming {layer} {id:?}:{}",
        show(r)
    );
}

fn row<'a>(r: &'a Report, figure: &str) -> Option<&'a str> {
    r.counts
        .iter()
        .find(|(k, _)| k == figure)
        .map(|(_, v)| v.as_str())
}

#[test]
fn valid_fixture_passes_every_rule_and_counts_add_up() {
    let r = Fixture::valid().check("valid");
    assert!(
        r.violations.is_empty(),
        "valid fixture has violations:{}",
        show(&r)
    );
    assert_eq!(row(&r, "communities (features)"), Some("2"));
    assert_eq!(row(&r, "microgrids (features)"), Some("8"));
    assert_eq!(row(&r, "households"), Some("1,600"));
    assert_eq!(row(&r, "residents"), Some("4,000"));
    assert_eq!(row(&r, "residents aged 60+"), Some("960"));
    assert_eq!(row(&r, "walkway connected components"), Some("1"));
    assert_eq!(row(&r, "old compounds (老旧小区)"), Some("1 of 2"));
    assert_eq!(row(&r, "facilities: elder_canteen"), Some("2"));
    assert_eq!(row(&r, "facilities: clinic"), Some("1"));
    // 4 × 2 units of ~241.9 m × ~277.0 m: about 0.54 km².
    let km2: f64 = row(&r, "boundary area (km²)")
        .and_then(|v| v.parse().ok())
        .expect("area row");
    assert!((km2 - 0.54).abs() < 0.011, "{km2}");
    let table = r.render_table();
    assert!(table.starts_with("| figure"), "{table}");
    assert!(table.contains("| households"), "{table}");
}

#[test]
fn an_osm_like_directory_without_admin_layers_passes() {
    let mut f = Fixture::valid();
    f.layers.retain(|l, _| {
        matches!(
            l,
            LayerId::Walkways | LayerId::Facilities | LayerId::Buildings | LayerId::Water
        )
    });
    f.manifest = None;
    let r = f.check("osm-like");
    assert!(r.violations.is_empty(), "{}", show(&r));
    assert_eq!(row(&r, "communities (features)"), None);
}

#[test]
fn geometry_clockwise_exterior_ring() {
    let mut f = Fixture::valid();
    if let Geometry::Polygon(p) = &mut f.get(LayerId::Microgrids, "c1-g1-m1").geometry {
        p.exterior_mut(|e| e.0.reverse());
    }
    assert_only(
        &f.check("winding"),
        rule::GEOMETRY,
        LayerId::Microgrids,
        Some("c1-g1-m1"),
    );
}

#[test]
fn geometry_self_intersecting_compound() {
    let mut f = Fixture::valid();
    f.get(LayerId::Compounds, "k1").geometry = Geometry::Polygon(Polygon::new(
        LineString::from(vec![
            c(0.2, 0.2),
            c(0.8, 0.8),
            c(0.8, 0.2),
            c(0.2, 0.8),
            c(0.2, 0.2),
        ]),
        vec![],
    ));
    let r = f.check("bowtie");
    assert_only(&r, rule::GEOMETRY, LayerId::Compounds, Some("k1"));
    assert!(
        r.violations
            .iter()
            .any(|v| v.message.contains("intersects itself")),
        "{}",
        show(&r)
    );
}

#[test]
fn geometry_wrong_type_for_the_layer() {
    let mut f = Fixture::valid();
    f.get(LayerId::Facilities, "f2").geometry =
        Geometry::LineString(LineString::from(vec![c(3.2, 1.2), c(3.3, 1.2)]));
    assert_only(
        &f.check("wrong-type"),
        rule::GEOMETRY,
        LayerId::Facilities,
        Some("f2"),
    );
}

#[test]
fn geometry_walkway_without_length() {
    let mut f = Fixture::valid();
    // On a node of the network, so connectivity holds and only the geometry rule fires.
    f.push(
        LayerId::Walkways,
        walkway("dot", "footway", &[(0.5, 0.5), (0.5, 0.5)]),
    );
    let r = f.check("dot");
    assert_only(&r, rule::GEOMETRY, LayerId::Walkways, Some("dot"));
    assert!(
        r.violations[0].message.contains("no length"),
        "{}",
        show(&r)
    );
}

#[test]
fn properties_unknown_walkway_kind() {
    let mut f = Fixture::valid();
    f.get(LayerId::Walkways, "v2")
        .properties
        .insert("kind", json!("road").into());
    assert_only(
        &f.check("kind"),
        rule::PROPERTIES,
        LayerId::Walkways,
        Some("v2"),
    );
}

#[test]
fn properties_height_m_is_a_positive_number_that_agrees_with_floors() {
    // 6 floors at 3 m: valid.
    let mut f = Fixture::valid();
    f.get(LayerId::Buildings, "c1-g1-m1-b0")
        .properties
        .insert("height_m", json!(18.0).into());
    let r = f.check("height-ok");
    assert!(r.violations.is_empty(), "{}", show(&r));
    // Not a number, zero, negative: a type error.
    for bad in [json!("18 m"), json!(0), json!(-3.0)] {
        let mut f = Fixture::valid();
        f.get(LayerId::Buildings, "c1-g1-m1-b0")
            .properties
            .insert("height_m", bad.clone().into());
        let r = f.check("height-type");
        assert_only(
            &r,
            rule::PROPERTIES,
            LayerId::Buildings,
            Some("c1-g1-m1-b0"),
        );
        assert!(
            r.violations[0].message.contains("height_m"),
            "{bad}: {}",
            show(&r)
        );
    }
    // 6 floors in 59 m (feet, say) or in 6 m: floors and height disagree.
    for bad in [59.0, 6.0] {
        let mut f = Fixture::valid();
        f.get(LayerId::Buildings, "c1-g1-m1-b0")
            .properties
            .insert("height_m", json!(bad).into());
        let r = f.check("height-floors");
        assert_only(
            &r,
            rule::PROPERTIES,
            LayerId::Buildings,
            Some("c1-g1-m1-b0"),
        );
        assert!(
            r.violations[0].message.contains("a storey"),
            "{bad}: {}",
            show(&r)
        );
    }
}

#[test]
fn ids_dangling_grid_reference() {
    let mut f = Fixture::valid();
    f.get(LayerId::Facilities, "f2")
        .properties
        .insert("grid", json!("c2-g9").into());
    let r = f.check("dangling");
    assert_only(&r, rule::IDS, LayerId::Facilities, Some("f2"));
    assert_eq!(r.violations.len(), 1, "{}", show(&r));
}

#[test]
fn ids_hierarchy_disagrees() {
    let mut f = Fixture::valid();
    f.get(LayerId::Microgrids, "c1-g1-m1")
        .properties
        .insert("community", json!("c2").into());
    assert_only(
        &f.check("hierarchy"),
        rule::IDS,
        LayerId::Microgrids,
        Some("c1-g1-m1"),
    );
}

#[test]
fn counts_differ_from_the_manifest() {
    let mut f = Fixture::valid();
    if let Some(m) = &mut f.manifest {
        m["expected_counts"]["communities"] = json!(23);
    }
    let r = f.check("counts");
    assert_only(&r, rule::COUNTS, LayerId::Communities, None);
    assert!(r.violations[0].message.contains("23"), "{}", show(&r));
}

#[test]
fn tiling_overlapping_grids() {
    let mut f = Fixture::valid();
    f.get(LayerId::Grids, "c1-g1").geometry = rect(0.0, 0.0, 2.2, 1.0);
    let r = f.check("overlap");
    assert_only(&r, rule::TILING, LayerId::Grids, Some("c1-g1"));
    assert!(
        r.violations
            .iter()
            .any(|v| v.message.contains("overlaps grid 'c2-g1'")),
        "the overlap itself must be named:{}",
        show(&r)
    );
}

#[test]
fn tiling_overlap_inside_one_parent_with_vertices_only_on_edges() {
    // Micro-grid m1 widened over m2 along their shared rows: no vertex of either lies strictly
    // inside the other, so only the area sum reveals it.
    let mut f = Fixture::valid();
    f.get(LayerId::Microgrids, "c2-g1-m1").geometry = rect(2.0, 0.0, 3.5, 1.0);
    let r = f.check("overlap-edges");
    assert_only(&r, rule::TILING, LayerId::Microgrids, Some("c2-g1-m1"));
}

#[test]
fn tiling_gap_in_a_grid() {
    let mut f = Fixture::valid();
    f.get(LayerId::Microgrids, "c2-g2-m2").geometry = rect(3.0, 1.0, 3.8, 2.0);
    let r = f.check("gap");
    assert_only(&r, rule::TILING, LayerId::Grids, Some("c2-g2"));
    assert!(
        r.violations[0].message.contains("uncovered"),
        "{}",
        show(&r)
    );
}

#[test]
fn containment_building_outside_its_microgrid() {
    // A building in no compound: moving one of a compound out of its micro-grid would take
    // it out of its compound too (rule building_in_compound).
    let mut f = Fixture::valid();
    f.get(LayerId::Buildings, "c1-g2-m1-b0").geometry = Geometry::Point(Point(c(1.3, 1.3)));
    let r = f.check("building-outside");
    assert_only(
        &r,
        rule::CONTAINMENT,
        LayerId::Buildings,
        Some("c1-g2-m1-b0"),
    );
    assert_eq!(
        r.violations.len(),
        1,
        "still inside its grid and community:{}",
        show(&r)
    );
}

#[test]
fn building_footprints_pass_every_rule() {
    let mut f = Fixture::valid();
    f.get(LayerId::Buildings, "c1-g1-m1-b0").geometry = rect(0.25, 0.25, 0.35, 0.35);
    f.get(LayerId::Buildings, "c2-g2-m2-b1").geometry = rect(3.65, 1.55, 3.75, 1.65);
    let r = f.check("footprints");
    assert!(r.violations.is_empty(), "{}", show(&r));
}

#[test]
fn building_overlap_names_the_building() {
    let mut f = Fixture::valid();
    // Both inside compound k1 and micro-grid c1-g1-m1; they share 0.05 × 0.05 units.
    f.get(LayerId::Buildings, "c1-g1-m1-b0").geometry = rect(0.25, 0.25, 0.45, 0.45);
    f.get(LayerId::Buildings, "c1-g1-m1-b1").geometry = rect(0.4, 0.4, 0.6, 0.6);
    let r = f.check("building-overlap");
    assert_only(
        &r,
        rule::BUILDING_OVERLAP,
        LayerId::Buildings,
        Some("c1-g1-m1-b0"),
    );
    assert_eq!(r.violations.len(), 1, "{}", show(&r));
    assert!(
        r.violations[0].message.contains("'c1-g1-m1-b1'"),
        "{}",
        show(&r)
    );
}

#[test]
fn building_outside_its_compound_names_the_building() {
    let mut f = Fixture::valid();
    // Compound k1 is 0.2–0.8 units; the footprint reaches 0.1 unit (about 24 m) east of it,
    // still in its micro-grid.
    f.get(LayerId::Buildings, "c1-g1-m1-b1").geometry = rect(0.65, 0.5, 0.9, 0.7);
    let r = f.check("building-outside-compound");
    assert_only(
        &r,
        rule::BUILDING_IN_COMPOUND,
        LayerId::Buildings,
        Some("c1-g1-m1-b1"),
    );
    assert!(
        r.violations[0].message.contains("compound 'k1'"),
        "{}",
        show(&r)
    );
}

#[test]
fn containment_compound_outside_its_community() {
    let mut f = Fixture::valid();
    f.get(LayerId::Compounds, "k2")
        .properties
        .insert("community", json!("c1").into());
    assert_only(
        &f.check("compound-outside"),
        rule::CONTAINMENT,
        LayerId::Compounds,
        Some("k2"),
    );
}

#[test]
fn rollup_off_by_one() {
    let mut f = Fixture::valid();
    f.get(LayerId::Buildings, "c2-g2-m1-b1")
        .properties
        .insert("households", json!(101).into());
    let r = f.check("rollup");
    assert_only(&r, rule::ROLLUP, LayerId::Microgrids, Some("c2-g2-m1"));
    let named: Vec<_> = r
        .violations
        .iter()
        .map(|v| (v.layer.as_str(), v.feature_id.as_deref()))
        .collect();
    assert_eq!(
        named,
        [
            ("microgrids", Some("c2-g2-m1")),
            ("grids", Some("c2-g2")),
            ("communities", Some("c2"))
        ]
    );
}

#[test]
fn rollup_more_elderly_than_residents() {
    let mut f = Fixture::valid();
    // Moves people between two buildings of one micro-grid: sums stay, but b0 now has more
    // residents aged 60+ (60) than residents (50).
    for (id, households, residents) in [("c1-g2-m2-b0", 20, 50), ("c1-g2-m2-b1", 180, 450)] {
        let b = f.get(LayerId::Buildings, id);
        b.properties.insert("households", json!(households).into());
        b.properties.insert("residents", json!(residents).into());
    }
    let r = f.check("elderly");
    assert_only(&r, rule::ROLLUP, LayerId::Buildings, Some("c1-g2-m2-b0"));
    assert_eq!(r.violations.len(), 1, "{}", show(&r));
}

#[test]
fn grid_households_outside_the_manifest_range() {
    let mut f = Fixture::valid();
    if let Some(m) = &mut f.manifest {
        m["grid_households"] = json!([300, 350]);
    }
    let r = f.check("grid-range");
    assert_only(&r, rule::GRID_HOUSEHOLDS, LayerId::Grids, Some("c1-g1"));
    assert_eq!(r.violations.len(), 4, "{}", show(&r));
}

#[test]
fn category_unknown() {
    let mut f = Fixture::valid();
    f.get(LayerId::Facilities, "f3")
        .properties
        .insert("category", json!("spa").into());
    assert_only(
        &f.check("category"),
        rule::CATEGORY,
        LayerId::Facilities,
        Some("f3"),
    );
}

#[test]
fn category_file_missing() {
    let mut f = Fixture::valid();
    f.categories = None;
    assert_only(
        &f.check("no-categories"),
        rule::CATEGORY,
        LayerId::Facilities,
        None,
    );
}

#[test]
fn connectivity_isolated_walkway() {
    let mut f = Fixture::valid();
    f.push(
        LayerId::Walkways,
        walkway("island", "footway", &[(3.0, 0.2), (3.4, 0.2)]),
    );
    let r = f.check("island");
    assert_only(&r, rule::CONNECTIVITY, LayerId::Walkways, Some("island"));
    assert!(
        r.violations[0].message.contains("2 separate networks"),
        "{}",
        show(&r)
    );
}

#[test]
fn noding_crossing_without_a_shared_position() {
    let mut f = Fixture::valid();
    f.push(
        LayerId::Walkways,
        walkway(
            "diag",
            "footway",
            &[(0.5, 0.5), (1.0, 0.25), (1.0, 0.75), (1.5, 1.0)],
        ),
    );
    let r = f.check("noding");
    assert_only(&r, rule::NODING, LayerId::Walkways, Some("h0-0"));
    assert!(r.violations[0].message.contains("'diag'"), "{}", show(&r));
    assert_eq!(r.violations.len(), 1, "{}", show(&r));
}

#[test]
fn water_crossed_by_a_footway() {
    let mut f = Fixture::valid();
    f.push(
        LayerId::Walkways,
        walkway("jetty", "footway", &[(3.5, 1.8), (3.5, 1.4)]),
    );
    let r = f.check("water-cross");
    assert_only(&r, rule::WATER, LayerId::Walkways, Some("jetty"));
    assert!(
        r.violations[0].message.contains("crosses water 'river'"),
        "{}",
        show(&r)
    );
}

#[test]
fn water_entered_from_the_bank_without_a_proper_crossing() {
    let mut f = Fixture::valid();
    f.push(
        LayerId::Walkways,
        walkway("slipway", "footway", &[(3.5, 1.8), (3.5, 1.5), (3.5, 1.4)]),
    );
    let r = f.check("water-in");
    assert_only(&r, rule::WATER, LayerId::Walkways, Some("slipway"));
    assert!(
        r.violations[0].message.contains("lies in water"),
        "{}",
        show(&r)
    );
}

#[test]
fn elevation_missing_on_one_walkway() {
    let mut f = Fixture::valid();
    f.get(LayerId::Walkways, "h1-1").elevation_m = None;
    let r = f.check("no-elevation");
    assert_only(&r, rule::ELEVATION, LayerId::Walkways, Some("h1-1"));
    assert_eq!(r.violations.len(), 1, "{}", show(&r));
}

#[test]
fn elevation_may_be_partial_when_the_manifest_does_not_require_it() {
    // OpenStreetMap imports know elevations only where `ele` is tagged.
    let mut f = Fixture::valid();
    if let Some(m) = &mut f.manifest {
        m["walkway_elevations_required"] = json!(false);
    }
    f.get(LayerId::Walkways, "h1-1").elevation_m = None;
    let r = f.check("partial-elevation");
    assert!(r.violations.is_empty(), "{}", show(&r));
}

#[test]
fn elevation_out_of_range() {
    let mut f = Fixture::valid();
    f.get(LayerId::Walkways, "v3").elevation_m = Some(vec![205.0, 9500.0]);
    assert_only(
        &f.check("high"),
        rule::ELEVATION,
        LayerId::Walkways,
        Some("v3"),
    );
}

#[test]
fn load_valid_refuses_a_broken_directory() {
    let mut f = Fixture::valid();
    let dir = f.write("load-valid-ok");
    let (ds, report) = store::load_valid(&dir).expect("valid directory loads");
    assert!(
        ds.manifest
            .as_ref()
            .is_some_and(|m| m.grid_households == Some([300, 500]))
    );
    assert!(!report.counts.is_empty());
    f.get(LayerId::Facilities, "f1")
        .properties
        .insert("category", json!("spa").into());
    let dir2 = f.write("load-valid-broken");
    match store::load_valid(&dir2) {
        Err(StoreError::Invalid { count, first, .. }) => {
            assert_eq!(count, 1);
            assert!(first.contains("'f1'"), "{first}");
        }
        other => panic!("expected Invalid, got {:?}", other.map(|_| ())),
    }
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&dir2);
}

#[test]
fn the_validate_command_exits_non_zero_and_names_the_feature() {
    let bin = env!("CARGO_BIN_EXE_servicemap");
    let mut f = Fixture::valid();
    let ok_dir = f.write("cli-ok");
    let ok = Command::new(bin)
        .args(["validate"])
        .arg(&ok_dir)
        .output()
        .expect("run servicemap");
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(
        ok.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(
        stdout.contains("| figure") && stdout.contains("| households"),
        "{stdout}"
    );

    f.get(LayerId::Buildings, "c2-g2-m1-b1")
        .properties
        .insert("households", json!(101).into());
    let bad_dir = f.write("cli-bad");
    let bad = Command::new(bin)
        .args(["validate"])
        .arg(&bad_dir)
        .output()
        .expect("run servicemap");
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success());
    assert!(
        stderr.contains("c2-g2-m1") && stderr.contains("[rollup]"),
        "{stderr}"
    );
    for d in [ok_dir, bad_dir] {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// The committed default data, when this checkout has it.
#[test]
fn the_default_geodata_passes_when_present() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("geodata");
    if !dir.is_dir() {
        return;
    }
    let ds = store::read_dir(&dir).expect("geodata reads");
    let r = store::validate(&ds);
    assert!(
        r.violations.is_empty(),
        "geodata breaks {} rule(s):{}",
        r.violations.len(),
        show(&r)
    );
}

/// Issue 13: named places are a promise of the modelled dataset only. The valid fixture is
/// not Lijiatuo's model, so it passes without the rule; once its manifest claims to be the
/// generated model, every named place of facts.md outside it is named.
#[test]
fn named_places_hold_only_for_the_generated_model() {
    let mut f = Fixture::valid();
    let r = f.check("places-other");
    assert!(r.of_rule(rule::NAMED_PLACES).is_empty(), "{}", show(&r));
    assert_eq!(row(&r, "named places in place (facts.md)"), None);

    if let Some(Value::Object(m)) = f.manifest.as_mut() {
        m.insert(
            "generator".into(),
            json!(servicemap::store::manifest::GENERATOR_MODEL),
        );
    } else {
        panic!("the valid fixture has a manifest");
    }
    let r = f.check("places-claimed");
    assert!(
        r.violations.iter().all(|v| v.rule == rule::NAMED_PLACES),
        "only the named-places rule should fire:{}",
        show(&r)
    );
    // The fixture spans 106.52–106.53 E, 29.46–29.465 N: 八公里 (106.565, 29.483) is far out.
    assert!(
        r.violations.iter().any(|v| v.layer == places::LAYER
            && v.feature_id.as_deref() == Some("八公里")
            && v.message.contains("outside the boundary")),
        "{}",
        show(&r)
    );
    let total = servicemap::generate::NAMED_PLACES.len();
    let wrong = r.of_rule(rule::NAMED_PLACES).len();
    assert_eq!(
        row(&r, "named places in place (facts.md)"),
        Some(format!("{} of {total}", total - wrong).as_str())
    );
}

/// The default data holds every named place; a place moved out of the boundary, or into
/// another community, is named with what is wrong.
#[test]
fn named_places_moved_out_of_the_default_data_are_named() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("geodata");
    let ds = store::read_dir(&dir).expect("geodata reads");
    assert!(
        ds.manifest
            .as_ref()
            .is_some_and(store::Manifest::is_generated_model),
        "geodata/manifest.json names the generator"
    );
    let r = store::validate(&ds);
    assert!(r.violations.is_empty(), "{}", show(&r));
    assert_eq!(
        row(&r, "named places in place (facts.md)"),
        Some("17 of 17")
    );

    let mut moved = servicemap::generate::NAMED_PLACES;
    // 重庆理工大学 5.5 km further south: far outside the boundary.
    let uni = moved
        .iter_mut()
        .find(|p| p.name == "重庆理工大学")
        .expect("listed");
    uni.lat -= 0.05;
    // 马王坪 onto 五园湾's point: inside the boundary but in another community.
    let wuyuan = *moved.iter().find(|p| p.name == "五园湾").expect("listed");
    let mawang = moved
        .iter_mut()
        .find(|p| p.name == "马王坪")
        .expect("listed");
    (mawang.lon, mawang.lat) = (wuyuan.lon, wuyuan.lat);
    let v = places::check_named_places(&ds, &moved);
    assert_eq!(v.len(), 2, "{v:?}");
    assert!(
        v.iter()
            .all(|v| v.rule == rule::NAMED_PLACES && v.layer == places::LAYER)
    );
    let uni = v
        .iter()
        .find(|v| v.feature_id.as_deref() == Some("重庆理工大学"))
        .expect("named");
    assert!(uni.message.contains("m outside the boundary"), "{uni}");
    let mawang = v
        .iter()
        .find(|v| v.feature_id.as_deref() == Some("马王坪"))
        .expect("named");
    assert!(
        mawang.message.contains("instead of community 500113006004"),
        "{mawang}"
    );
}
