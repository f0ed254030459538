//! Planner benchmarks on the default data: coverage of one category for every building, all
//! categories, and siting three new elder canteens.

// A benchmark or tool whose setup fails should stop loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::Path;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use servicemap::analysis::reach::{
    times_to_nearest_at_s, times_to_nearest_s, times_to_nearest_s_plain,
};
use servicemap::analysis::{Level, Planner, coverage, export};
use servicemap::model::Crs;
use servicemap::walk::{Profile, Snap};

fn service() -> servicemap::service::Service {
    servicemap::service::Service::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/geodata")))
        .expect("geodata")
}

fn bench(c: &mut Criterion) {
    let svc = service();
    let w = svc.walk.clone().expect("walkways");
    let p = Profile::Standard;
    // What the peer benchmark's 11 uncached `GET /coverage?level=subdistrict` requests do
    // in process: a fresh planner (empty cache), every category, the GeoJSON answer as bytes.
    c.bench_function(
        "coverage 11 categories uncached, subdistrict GeoJSON bytes",
        |b| {
            b.iter(|| {
                let planner = Planner::new(Arc::clone(&w));
                w.category_ids
                    .iter()
                    .map(|cat| {
                        let r = planner
                            .coverage(cat, 15.0, p, Level::Subdistrict, None)
                            .expect("coverage");
                        let answer = export::CoverageCollection::new(&r, &svc.dataset, Crs::Wgs84)
                            .with_paging(None);
                        serde_json::to_vec(&answer).expect("json").len()
                    })
                    .sum::<usize>()
            });
        },
    );
    // The searches alone: folded with the buildings' chain ends kept by the world (as the
    // server runs), folded building the ends on each call, and by a plain backward Dijkstra
    // over every node (before the folding).
    type Times<'a> = Box<dyn Fn(&[Snap]) -> Vec<f64> + 'a>;
    let searches: [(&str, Times<'_>); 3] = [
        (
            "folded",
            Box::new(|t: &[Snap]| {
                times_to_nearest_at_s(
                    &w.graph,
                    &w.building_snaps,
                    &w.building_ends[p.index()],
                    t,
                    p,
                    f64::INFINITY,
                )
            }),
        ),
        (
            "folded, ends built per call",
            Box::new(|t: &[Snap]| {
                times_to_nearest_s(&w.graph, &w.building_snaps, t, p, f64::INFINITY)
            }),
        ),
        (
            "plain Dijkstra",
            Box::new(|t: &[Snap]| {
                times_to_nearest_s_plain(&w.graph, &w.building_snaps, t, p, f64::INFINITY)
            }),
        ),
    ];
    for (name, times) in &searches {
        c.bench_function(
            &format!("coverage all categories, times only, {name}"),
            |b| {
                b.iter(|| {
                    w.category_ids
                        .iter()
                        .map(|cat| times(&w.category_snaps(cat, p)).len())
                        .sum::<usize>()
                });
            },
        );
    }
    c.bench_function(
        "coverage one category (elder_canteen, all buildings, grid level)",
        |b| {
            b.iter(|| {
                let t = times_to_nearest_s(
                    &w.graph,
                    &w.building_snaps,
                    &w.category_snaps("elder_canteen", p),
                    p,
                    f64::INFINITY,
                );
                coverage::by_unit(&w.buildings, &t, 900.0, Level::Grid)
            });
        },
    );
    c.bench_function("coverage all categories (all buildings, grid level)", |b| {
        b.iter(|| {
            w.category_ids
                .iter()
                .map(|cat| {
                    let t = times_to_nearest_s(
                        &w.graph,
                        &w.building_snaps,
                        &w.category_snaps(cat, p),
                        p,
                        f64::INFINITY,
                    );
                    coverage::by_unit(&w.buildings, &t, 900.0, Level::Grid).len()
                })
                .sum::<usize>()
        });
    });
    // The same searches by a plain backward Dijkstra over every node (before the folding).
    let planner = Planner::new(Arc::clone(&w));
    c.bench_function("siting count=3 elder_canteen 10 min elder", |b| {
        b.iter(|| {
            planner
                .siting("elder_canteen", 3, 10.0, Profile::Elder, None, None)
                .expect("siting")
        });
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
