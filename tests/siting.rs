//! Siting on a small hand-made network picks the known optimum.

// Test helpers may unwrap, expect and panic: a failing test should stop loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use geo::{Geometry, LineString, Point};
use serde_json::{Map, Value, json};
use servicemap::analysis::{Planner, WalkWorld};
use servicemap::model::{Category, Feature, LayerId, Taxonomy};
use servicemap::store::Dataset;
use servicemap::walk::Profile;

const LON0: f64 = 106.50;
const LAT0: f64 = 29.47;
/// ~100 m of longitude at 29.47° N.
const STEP: f64 = 0.001_032;

fn props(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn feature(id: &str, geometry: Geometry<f64>, elevation_m: Option<Vec<f64>>, p: Value) -> Feature {
    Feature {
        id: id.into(),
        geometry,
        elevation_m,
        properties: props(p).into(),
    }
}

/// A flat street of 11 nodes 100 m apart; buildings 10 m off it: 30 households near node 2,
/// 50 near node 6, 10 near node 8; one shop at node 10.
fn dataset() -> Dataset {
    let node = |i: usize| (LON0 + i as f64 * STEP, LAT0);
    let walkways = (0..10)
        .map(|i| {
            let (a, b) = (node(i), node(i + 1));
            feature(
                &format!("w{i}"),
                Geometry::LineString(LineString::from(vec![a, b])),
                Some(vec![200.0, 200.0]),
                json!({"kind": "street"}),
            )
        })
        .collect();
    let off = 0.00009; // ~10 m north
    let bld = |id: &str, i: usize, hh: u64| {
        let (x, y) = node(i);
        feature(
            id,
            Geometry::Point(Point::new(x, y + off)),
            None,
            json!({"households": hh, "residents": hh * 2}),
        )
    };
    let buildings = vec![
        bld("a1", 2, 10),
        bld("a2", 2, 10),
        bld("a3", 2, 10),
        bld("b1", 6, 20),
        bld("b2", 6, 30),
        bld("c1", 8, 10),
    ];
    let (sx, sy) = node(10);
    let facilities = vec![feature(
        "shop",
        Geometry::Point(Point::new(sx, sy + off)),
        None,
        json!({"name": "shop", "category": "convenience_store"}),
    )];
    let mut layers = BTreeMap::new();
    layers.insert(LayerId::Walkways, walkways);
    layers.insert(LayerId::Buildings, buildings);
    layers.insert(LayerId::Facilities, facilities);
    let taxonomy = Taxonomy {
        note: String::new(),
        categories: vec![Category {
            id: "convenience_store".into(),
            name_zh: "便利店".into(),
            name_en: "Convenience store".into(),
            domain: "shopping".into(),
            gb50180: None,
            mofcom: None,
        }],
    };
    Dataset {
        dir: PathBuf::from("hand-made"),
        layers: layers.into_iter().map(|(k, v)| (k, v.into())).collect(),
        taxonomy: Some(taxonomy),
        manifest: None,
    }
}

#[test]
fn one_site_goes_where_it_covers_most_households() {
    let world = WalkWorld::from_dataset(&dataset()).expect("world");
    let planner = Planner::new(Arc::new(world));
    // 2 minutes at 4 km/h ≈ 133 m: node 7 reaches the 50 households by node 6 (100 m + 10 m)
    // and the 10 by node 8 — 60, more than any other point.
    let sites = planner
        .siting("convenience_store", 1, 2.0, Profile::Standard, None, None)
        .expect("siting");
    assert_eq!(sites.len(), 1);
    assert_eq!(sites[0].added_households, 60);
    assert!(
        (sites[0].lon - (LON0 + 7.0 * STEP)).abs() < 1e-7,
        "site at {}",
        sites[0].lon
    );
    // Restricted to candidates, it takes the best of those.
    let cands = [(LON0 + 2.0 * STEP, LAT0), (LON0 + 6.0 * STEP, LAT0)];
    let sites = planner
        .siting(
            "convenience_store",
            2,
            2.0,
            Profile::Standard,
            Some(&cands),
            None,
        )
        .expect("siting");
    assert_eq!(
        sites
            .iter()
            .map(|s| (s.candidate, s.added_households))
            .collect::<Vec<_>>(),
        vec![(Some(1), 50), (Some(0), 30)]
    );
}
