//! Walk engine benchmarks on the default data and on a synthetic Lijiatuo-sized hilly town: ~11 km², 48 m blocks, ~27 km of walkway per km², ~19k edges, a river with one
//! bridge, 8,000 buildings and 600 facilities in 30 categories.
//!
//! `cargo bench --bench walk`

// A benchmark or tool whose setup fails should stop loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use servicemap::walk::synthetic::{TownSpec, town};
use servicemap::walk::{
    NearestQuery, Origin, Profile, Searcher, SnappedPoints, WalkGraph, isochrones, nearest,
};

fn bench_walk(c: &mut Criterion) {
    let town = town(&TownSpec::lijiatuo_like(42));
    let graph = WalkGraph::build(&town.walkways, &town.water, &town.proj);
    eprintln!(
        "synthetic town: {} walkways, {} nodes, {} edges, {:.0} km of walkway",
        town.walkways.len(),
        graph.node_count(),
        graph.edge_count(),
        graph.edges().iter().map(|e| e.length_m).sum::<f64>() / 1000.0
    );
    c.bench_function("graph_build", |b| {
        b.iter(|| {
            WalkGraph::build(
                black_box(&town.walkways),
                black_box(&town.water),
                &town.proj,
            )
        });
    });

    let facilities = SnappedPoints::build(&graph, &town.facilities, &town.facility_tags, 300.0);
    let buildings = SnappedPoints::build(&graph, &town.buildings, &[], 300.0);
    let side_m = town.spec.nx as f64 * town.spec.block_m;
    // Centre of the southern half, away from the river.
    let snap = graph
        .snap_for(side_m * 0.5, side_m * 0.25, 300.0, Profile::Standard)
        .expect("snap");
    let origins = [Origin::new(snap, Profile::Standard)];
    let mut searcher = Searcher::new();

    for (name, tags) in [
        ("nearest_k5_3_categories", &[0u32, 1, 2][..]),
        ("nearest_k5_1_category", &[0u32][..]),
    ] {
        let q = NearestQuery {
            profile: Profile::Standard,
            k: 5,
            max_s: 1800.0,
            tags: Some(tags),
            with_route: true,
        };
        let found = nearest(&graph, &facilities, &mut searcher, &origins, &q);
        eprintln!(
            "{name}: {} found, farthest {:.0} s, {} nodes settled",
            found.len(),
            found.last().map_or(0.0, |n| n.walk_s),
            searcher.settled().len()
        );
        c.bench_function(name, |b| {
            b.iter(|| nearest(&graph, &facilities, &mut searcher, black_box(&origins), &q));
        });
    }

    c.bench_function("search_15min_no_polygon", |b| {
        b.iter(|| searcher.run(&graph, black_box(&origins), Profile::Standard, 900.0));
    });

    for (name, minutes) in [
        ("isochrone_15min", &[15.0][..]),
        ("isochrone_5_10_15min", &[5.0, 10.0, 15.0][..]),
    ] {
        let cs = isochrones(
            &graph,
            &mut searcher,
            &origins,
            Profile::Standard,
            &buildings,
            &town.population,
            minutes,
        );
        let last = cs.last().expect("contour");
        eprintln!(
            "{name}: {:.2} km², {} buildings, {} residents, {} polygons, {} nodes settled",
            last.area_m2 / 1e6,
            last.buildings,
            last.residents,
            last.polygon.0.len(),
            searcher.settled().len()
        );
        c.bench_function(name, |b| {
            b.iter(|| {
                isochrones(
                    &graph,
                    &mut searcher,
                    black_box(&origins),
                    Profile::Standard,
                    &buildings,
                    &town.population,
                    minutes,
                )
            });
        });
    }
}

/// The same benchmarks on the default data (`geodata/`, or `$SERVICEMAP_GEODATA`), from
/// 马王坪, the old centre.
fn bench_geodata(c: &mut Criterion) {
    use servicemap::analysis::WalkWorld;
    use servicemap::model::{LayerId, Walkway};
    let dir = std::env::var_os("SERVICEMAP_GEODATA").map_or_else(
        || std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("geodata"),
        std::path::PathBuf::from,
    );
    let svc = servicemap::service::Service::load(&dir).expect("data directory");
    let ds = &svc.dataset;
    let world: &WalkWorld = svc.walk.as_deref().expect("walkways");
    let walkways: Vec<Walkway> = ds
        .layer(LayerId::Walkways)
        .unwrap_or(&[])
        .iter()
        .map(|f| Walkway::from_feature(f).expect("walkway"))
        .collect();
    let water: Vec<geo::Polygon<f64>> = ds
        .layer(LayerId::Water)
        .unwrap_or(&[])
        .iter()
        .filter_map(|f| match &f.geometry {
            geo::Geometry::Polygon(p) => Some(p.clone()),
            _ => None,
        })
        .collect();
    let proj = *world.graph.proj();
    c.bench_function("geodata_graph_build", |b| {
        b.iter(|| WalkGraph::build(black_box(&walkways), &water, &proj));
    });
    let graph = &world.graph;
    let snap = graph
        .snap_lonlat(106.533, 29.470, 300.0, Profile::Standard)
        .expect("snap");
    let origins = [Origin::new(snap, Profile::Standard)];
    let mut searcher = Searcher::new();
    let one_cat = [world.category_tag("elder_canteen").expect("elder canteens")];
    let q = NearestQuery {
        profile: Profile::Standard,
        k: 5,
        max_s: 1800.0,
        tags: Some(&one_cat),
        with_route: true,
    };
    c.bench_function("geodata_nearest_k5_elder_canteen_with_routes", |b| {
        b.iter(|| {
            nearest(
                graph,
                &world.facility_snaps,
                &mut searcher,
                black_box(&origins),
                &q,
            )
        });
    });
    let cs = isochrones(
        graph,
        &mut searcher,
        &origins,
        Profile::Standard,
        &world.building_snaps,
        &world.population,
        &[15.0],
    );
    eprintln!(
        "geodata 15 min from 马王坪: {:.2} km², {} residents, {} nodes settled",
        cs[0].area_m2 / 1e6,
        cs[0].residents,
        searcher.settled().len()
    );
    c.bench_function("geodata_isochrone_15min", |b| {
        b.iter(|| {
            isochrones(
                graph,
                &mut searcher,
                black_box(&origins),
                Profile::Standard,
                &world.building_snaps,
                &world.population,
                &[15.0],
            )
        });
    });
}

criterion_group!(benches, bench_walk, bench_geodata);
criterion_main!(benches);
