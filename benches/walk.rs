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
    for (name, minutes) in [
        ("geodata_isochrone_15min", &[15.0][..]),
        ("geodata_isochrone_5_10_15min", &[5.0, 10.0, 15.0][..]),
    ] {
        c.bench_function(name, |b| {
            b.iter(|| {
                isochrones(
                    graph,
                    &mut searcher,
                    black_box(&origins),
                    Profile::Standard,
                    &world.building_snaps,
                    &world.population,
                    minutes,
                )
            });
        });
    }
}

/// Walking nearest from the nearest tables against the search on the default data (issue 15):
/// one query (k = 5, one category, 60 minutes, no route, the peer benchmark's query) from
/// origins on every node in turn, a table build, and a batch of every node of the network on
/// every core (snap + lookup, as `POST /nearest/batch` does per origin before rendering).
fn bench_tables(c: &mut Criterion) {
    use rayon::prelude::*;
    use servicemap::model::{CategoryId, K, LonLat};
    use servicemap::query::{NearestMode, NearestRequest, WalkOptions, with_walk_scratch};
    use servicemap::walk::{NearestTable, NodeId, TableScratch};
    let dir = std::env::var_os("SERVICEMAP_GEODATA").map_or_else(
        || std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("geodata"),
        std::path::PathBuf::from,
    );
    let svc = servicemap::service::Service::load(&dir).expect("data directory");
    let world = svc.walk.as_deref().expect("walkways");
    let graph = &world.graph;
    let p = Profile::Standard;
    let category = "eatery";
    let tag = [world.category_tag(category).expect("category")];
    let q = NearestQuery {
        profile: p,
        k: 5,
        max_s: 3600.0,
        tags: Some(&tag),
        with_route: false,
    };
    let nodes: Vec<LonLat> = (0..graph.node_count())
        .map(|n| {
            let (lon, lat) = graph.to_lonlat(graph.node_xy(NodeId(n as u32)));
            LonLat { lon, lat }
        })
        .collect();
    let origins: Vec<Origin> = (0..graph.node_count())
        .step_by(7)
        .filter_map(|n| {
            let xy = graph.node_xy(NodeId(n as u32));
            graph.snap_for(xy[0], xy[1], 300.0, p).ok()
        })
        .map(|s| Origin::new(s, p))
        .collect();
    let mut searcher = Searcher::new();
    let mut scratch = TableScratch::default();
    let mut out = Vec::new();
    let mut i = 0;
    c.bench_function("geodata_nearest_k5_eatery_search", |b| {
        b.iter(|| {
            i = (i + 1) % origins.len();
            nearest(
                graph,
                &world.facility_snaps,
                &mut searcher,
                black_box(&origins[i..=i]),
                &q,
            )
        });
    });
    c.bench_function("geodata_nearest_k5_eatery_table", |b| {
        b.iter(|| {
            i = (i + 1) % origins.len();
            world.nearest_from_tables(black_box(&origins[i]), &q, &mut scratch, &mut out)
        });
    });
    let table = world.nearest_table(Some(tag[0]), p).expect("within budget");
    eprintln!(
        "table of {category} ({p:?}): {} bytes over {} nodes",
        table.bytes(),
        graph.node_count()
    );
    c.bench_function("geodata_table_build_eatery", |b| {
        b.iter(|| {
            NearestTable::build(graph, &world.facility_snaps, p, |j| {
                world.facility_snaps.tag(j) == tag[0]
            })
        });
    });
    let template = NearestRequest {
        at: nodes[0],
        categories: Some(vec![
            CategoryId::parse("category", category).expect("category id"),
        ]),
        k: K::new(5).expect("k"),
        max_m: None,
        mode: NearestMode::Walk(WalkOptions {
            profile: p,
            max_min: Some(60.0),
            route: false,
            max_snap_m: 300.0,
        }),
    };
    let NearestMode::Walk(w) = template.mode else {
        unreachable!()
    };
    let tags = svc.walk_tags(&template);
    let batch = || {
        nodes
            .par_chunks(64)
            .map(|chunk| {
                with_walk_scratch(|searcher, table| {
                    let mut hits = Vec::with_capacity(5);
                    let mut found = 0;
                    for &at in chunk {
                        let req = NearestRequest {
                            at,
                            categories: None,
                            ..template
                        };
                        if svc
                            .walk_hits(
                                world,
                                &req,
                                w,
                                tags.as_deref(),
                                None,
                                searcher,
                                table,
                                &mut hits,
                            )
                            .is_ok()
                        {
                            found += hits.len();
                        }
                    }
                    found
                })
            })
            .sum::<usize>()
    };
    eprintln!("batch of every node ({}): {} hits", nodes.len(), batch());
    let mut group = c.benchmark_group("geodata_batch_every_node");
    group.sample_size(20);
    group.bench_function("snap_and_table", |b| b.iter(batch));
    group.bench_function("snap_only", |b| {
        b.iter(|| {
            nodes
                .par_chunks(64)
                .map(|chunk| {
                    chunk
                        .iter()
                        .filter(|at| graph.snap_lonlat(at.lon, at.lat, 300.0, p).is_ok())
                        .count()
                })
                .sum::<usize>()
        });
    });
    group.finish();
    let (a, b2) = (
        geo::Point::new(nodes[0].lon, nodes[0].lat),
        geo::Point::new(nodes[nodes.len() / 2].lon, nodes[nodes.len() / 2].lat),
    );
    c.bench_function("geodesic_distance_m", |b| {
        b.iter(|| servicemap::index::distance_m(black_box(a), black_box(b2)));
    });
}

criterion_group!(benches, bench_walk, bench_geodata, bench_tables);
criterion_main!(benches);
