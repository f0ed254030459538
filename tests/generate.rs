//! The committed `geodata/` is exactly what the generator writes: regenerate into a fresh
//! directory and compare every file byte for byte.

// Test helpers may unwrap, expect and panic: a failing test should stop loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::PathBuf;

#[test]
fn generator_reproduces_geodata_byte_for_byte() {
    let out = std::env::temp_dir().join(format!("servicemap-gen-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    servicemap::generate::write_dataset(&out).expect("generator runs");
    let committed = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("geodata");
    let mut compared = 0;
    for entry in std::fs::read_dir(&out).expect("output dir") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("file name").to_owned();
        let fresh = std::fs::read(&path).expect("fresh file");
        let kept = std::fs::read(committed.join(&name))
            .unwrap_or_else(|e| panic!("geodata/{} missing: {e}", name.to_string_lossy()));
        assert!(
            fresh == kept,
            "geodata/{} differs from the generator's output: run `cargo run --release -- generate --out geodata`",
            name.to_string_lossy()
        );
        compared += 1;
    }
    assert!(
        compared >= 11,
        "expected every layer, categories.json and manifest.json, compared {compared}"
    );
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn default_data_has_the_published_counts() {
    let model = servicemap::generate::build().expect("model builds");
    let count = |l| model.layers.get(&l).map_or(0, Vec::len);
    use servicemap::model::LayerId;
    assert_eq!(count(LayerId::Boundary), 1);
    assert_eq!(count(LayerId::Communities), 23);
    assert_eq!(count(LayerId::Grids), 214);
    assert_eq!(count(LayerId::Microgrids), 1241);
    assert_eq!(count(LayerId::Compounds), 90);
    let facilities = &model.layers[&LayerId::Facilities];
    let points = facilities
        .iter()
        .filter(|f| f.str_prop("category") == Some("party_mass_service_point"))
        .count();
    assert_eq!(points, 55);
    let old = model.layers[&LayerId::Compounds]
        .iter()
        .filter(|f| {
            f.properties
                .get("old")
                .and_then(servicemap::model::PropValue::as_bool)
                == Some(true)
        })
        .count();
    assert_eq!(old, 33);
    let residents: u64 = model.layers[&LayerId::Buildings]
        .iter()
        .filter_map(|b| b.u64_prop("residents"))
        .sum();
    assert!(residents >= 200_000, "{residents} residents");
    for g in &model.layers[&LayerId::Grids] {
        let h = g.u64_prop("households").expect("households");
        assert!((300..=500).contains(&h), "grid {} has {h} households", g.id);
    }
    for name in ["融汇江山", "香缇缙山"] {
        assert!(
            model.layers[&LayerId::Compounds]
                .iter()
                .any(|c| c.str_prop("name") == Some(name)),
            "{name}"
        );
    }
    for name in [
        "颐宁医院",
        "光明社区红色物业服务中心",
        "合建社区新建公共停车场",
        "李家沱街道党群服务中心",
    ] {
        assert!(
            facilities.iter().any(|f| f.str_prop("name") == Some(name)),
            "{name}"
        );
    }
}

/// Issue 13: the default data measured by `servicemap stats` holds the ranges a planner
/// expects: the street network's orientation, junctions, dead ends and grades, named
/// places, people and villages. Not yet held (`servicemap stats geodata` prints it): few
/// two-point walkways (the lattice's 50 m links between junctions are straight).
#[test]
fn default_data_is_in_the_ranges_of_issue_13() {
    use servicemap::analysis::stats;
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("geodata");
    let ds = servicemap::store::read_dir(&dir).expect("geodata reads");
    let s = stats::stats(
        &ds,
        &servicemap::generate::NAMED_PLACES,
        servicemap::generate::SUBDISTRICT_CODE,
    );
    let report = s.render();
    let n = &s.network;
    assert!(n.orientation_entropy.expect("walkways") >= 3.0, "{report}");
    assert!(n.axis_share_5deg.expect("walkways") <= 0.30, "{report}");
    let per_km2 = n.intersections_per_km2.expect("boundary");
    assert!((60.0..=200.0).contains(&per_km2), "{report}");
    let dead = n.dead_end_share.expect("nodes");
    assert!((0.08..=0.20).contains(&dead), "{report}");
    assert!(n.street_grade_median.expect("streets") <= 0.04, "{report}");
    assert!(n.steep_stairs_share.expect("steep links") > 0.5, "{report}");
    assert_eq!(s.places.len(), 17, "{report}");
    for c in &s.places {
        assert!(c.ok(), "{} is not in place: {c:?}\n{report}", c.name);
    }
    let p = &s.people;
    let old = p.share_60plus.expect("residents");
    assert!((0.21..=0.23).contains(&old), "60+ share {old}\n{report}");
    let (lo, med, hi) = p.grid_households.expect("grids");
    assert!(lo >= 300 && hi <= 500, "{report}");
    assert!(hi - lo >= 150 && (350..=450).contains(&med), "{report}");
    assert!(p.grids_at_extremes_share.expect("grids") < 0.05, "{report}");
    assert_eq!(p.grids_outside_300_500, 0, "{report}");
    assert_eq!(p.empty_microgrids, 0, "{report}");
    assert_eq!(p.microgrids, 1241, "{report}");
    let village = p.max_village_density_per_km2.expect("villages");
    assert!(village <= 5000.0, "{report}");
    assert!(p.residents >= 200_000, "{report}");
    let area = stats::boundary_area_km2(&ds).expect("boundary");
    assert!((area - 11.2).abs() <= 0.112, "{area} km²");
}
