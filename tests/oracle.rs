//! The R-tree queries against brute-force scans, on random queries with fixed seeds.

// Test helpers may unwrap, expect and panic: a failing test should stop loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use geo::{Intersects, Point};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value};
use servicemap::index::{Indexes, distance_m};
use servicemap::model::{Feature, LayerId};
use servicemap::store::Dataset;

const CATS: [&str; 5] = [
    "elder_canteen",
    "clinic",
    "kindergarten",
    "pharmacy",
    "convenience_store",
];

/// A dataset of `n` random facilities over roughly the subdistrict (3 × 3 km), some stacked on
/// the same position so ties are exercised.
fn random_facilities(n: usize, seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut features = Vec::with_capacity(n);
    let mut last = Point::new(106.53, 29.47);
    for i in 0..n {
        let p = if i % 17 == 0 {
            last
        } else {
            Point::new(
                rng.random_range(106.515..106.545),
                rng.random_range(29.455..29.485),
            )
        };
        last = p;
        let mut props = Map::new();
        props.insert("name".into(), Value::String(format!("facility {i}")));
        props.insert(
            "category".into(),
            Value::String(CATS[rng.random_range(0..CATS.len())].into()),
        );
        // Ids in shuffled order so the id tie-break differs from file order.
        features.push(Feature {
            id: format!("f{:05}", (i * 7919) % 100_003),
            geometry: geo::Geometry::Point(p),
            elevation_m: None,
            properties: props.into(),
        });
    }
    let mut layers = BTreeMap::new();
    layers.insert(LayerId::Facilities, features.into());
    Dataset {
        dir: PathBuf::from("(random)"),
        layers,
        taxonomy: None,
        manifest: None,
    }
}

/// Brute force: every facility of the categories within `max_m`, sorted by distance then id.
fn brute_nearest(
    ds: &Dataset,
    lon: f64,
    lat: f64,
    cats: &[&str],
    k: usize,
    max_m: Option<f64>,
) -> Vec<(String, f64)> {
    let mut all: Vec<(String, f64)> = ds.layers[&LayerId::Facilities]
        .iter()
        .filter(|f| cats.contains(&f.str_prop("category").unwrap()))
        .map(|f| {
            let geo::Geometry::Point(p) = f.geometry else {
                unreachable!()
            };
            (f.id.clone(), distance_m(Point::new(lon, lat), p))
        })
        .filter(|(_, d)| max_m.is_none_or(|m| *d <= m))
        .collect();
    all.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    all.truncate(k);
    all
}

#[test]
fn nearest_straight_equals_brute_force() {
    for seed in [1_u64, 2, 3] {
        let ds = random_facilities(3_000, seed);
        let idx = Indexes::build(&ds).unwrap();
        let facilities = idx.facilities();
        let mut rng = ChaCha8Rng::seed_from_u64(seed + 100);
        for q in 0..400 {
            // Queries inside and well outside the data.
            let lon = rng.random_range(106.50..106.56);
            let lat = rng.random_range(29.44..29.50);
            let n_cats = rng.random_range(1..=CATS.len());
            let cats: Vec<&str> = CATS
                .iter()
                .copied()
                .filter(|_| rng.random_bool(0.6))
                .take(n_cats)
                .collect();
            let cats = if cats.is_empty() {
                vec![CATS[q % CATS.len()]]
            } else {
                cats
            };
            // Every fourth query asks for every category (the all-facilities tree).
            let all_cats = q % 4 == 0;
            let cats = if all_cats { CATS.to_vec() } else { cats };
            let k = rng.random_range(1..=12);
            let max_m = if rng.random_bool(0.3) {
                Some(rng.random_range(10.0..800.0))
            } else {
                None
            };
            let got: Vec<(String, f64)> = idx
                .nearest_straight(
                    lon,
                    lat,
                    if all_cats { None } else { Some(&cats) },
                    k,
                    max_m,
                )
                .iter()
                .map(|h| (facilities.id(h.facility).to_string(), h.distance_m))
                .collect();
            let want = brute_nearest(&ds, lon, lat, &cats, k, max_m);
            assert_eq!(
                got, want,
                "seed {seed} query {q}: ({lon}, {lat}) {cats:?} k={k} max_m={max_m:?}"
            );
        }
    }
}

#[test]
fn nearest_edge_cases() {
    let ds = random_facilities(200, 9);
    let idx = Indexes::build(&ds).unwrap();
    assert!(
        idx.nearest_straight(106.53, 29.47, Some(&["clinic"]), 0, None)
            .is_empty()
    );
    assert!(
        idx.nearest_straight(106.53, 29.47, Some(&["no_such_category"]), 5, None)
            .is_empty()
    );
    let all = idx.nearest_straight::<&str>(106.53, 29.47, None, 10_000, None);
    assert_eq!(all.len(), 200, "k beyond the data returns everything");
}

/// Brute force: the area of `layer` holding the point with the smallest id.
fn brute_area(ds: &Dataset, layer: LayerId, lon: f64, lat: f64) -> Option<String> {
    ds.layer(layer)?
        .iter()
        .filter(|f| f.geometry.intersects(&Point::new(lon, lat)))
        .map(|f| f.id.clone())
        .min()
}

#[test]
fn locate_equals_brute_force() {
    let ds = servicemap::store::read_dir(&common::mini_dir()).unwrap();
    let idx = Indexes::build(&ds).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    // Grid lines of the fixture, so points on shared edges and corners are drawn often.
    let xs = [106.52, 106.525, 106.53, 106.535, 106.54];
    let ys = [29.46, 29.465, 29.47, 29.475, 29.48];
    for q in 0..5_000 {
        let lon = if q % 5 == 0 {
            xs[rng.random_range(0..xs.len())]
        } else {
            rng.random_range(106.515..106.545)
        };
        let lat = if q % 7 == 0 {
            ys[rng.random_range(0..ys.len())]
        } else {
            rng.random_range(29.455..29.485)
        };
        let at = idx.locate(lon, lat);
        for (layer, got) in [
            (LayerId::Boundary, at.boundary),
            (LayerId::Communities, at.community),
            (LayerId::Grids, at.grid),
            (LayerId::Microgrids, at.microgrid),
            (LayerId::Compounds, at.compound),
        ] {
            let got = got.map(|i| ds.layer(layer).unwrap()[i].id.clone());
            assert_eq!(
                got,
                brute_area(&ds, layer, lon, lat),
                "{layer} at ({lon}, {lat})"
            );
        }
    }
}

#[test]
fn facilities_are_linked_to_their_grid_and_community() {
    let ds = servicemap::store::read_dir(&common::mini_dir()).unwrap();
    let idx = Indexes::build(&ds).unwrap();
    for (f, fac) in ds
        .layer(LayerId::Facilities)
        .unwrap()
        .iter()
        .zip(idx.facilities().iter())
    {
        let (lon, lat) = (fac.position.x(), fac.position.y());
        let want_c = f
            .str_prop("community")
            .map(str::to_string)
            .or_else(|| brute_area(&ds, LayerId::Communities, lon, lat));
        let want_g = f
            .str_prop("grid")
            .map(str::to_string)
            .or_else(|| brute_area(&ds, LayerId::Grids, lon, lat));
        assert_eq!(fac.community.map(str::to_string), want_c, "{}", f.id);
        assert_eq!(fac.grid.map(str::to_string), want_g, "{}", f.id);
        assert!(
            fac.community.is_some() && fac.grid.is_some(),
            "{} lies inside the fixture",
            f.id
        );
    }
}
