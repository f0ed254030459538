//! Isochrones in a loop on the default data, for `perf record` / `perf stat` (no criterion
//! warm-up or setup of other benchmarks in the profile), and a digest of many isochrones'
//! outputs to check that a speed-up changes nothing.
//!
//! ```text
//! cargo run --release --example iso_loop -- loop 2000      # 15-minute isochrones from 马王坪
//! cargo run --release --example iso_loop -- split 2000     # the same, search (folded / plain) and polygon timed apart
//! cargo run --release --example iso_loop -- split 2000 seeded  # the same from the seeded origins
//! cargo run --release --example iso_loop -- write 20000    # its GeoJSON answer written, as the API does
//! cargo run --release --example iso_loop -- digest 400 out.txt  # from 400 seeded origins
//! cargo run --release --example iso_loop -- seeded 2000    # 15-minute isochrones, 200 seeded origins
//! SERVICEMAP_GEODATA=target/peers/osm-Helsinki cargo run --release --example iso_loop -- seeded 2000
//! ```
//!
//! `loop` needs the default data (its origin is 马王坪); `seeded` and `digest` run on any data
//! directory, such as an OpenStreetMap import.

// A benchmark or tool whose setup fails should stop loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::fmt::Write as _;
use std::path::PathBuf;

use servicemap::walk::{NodeId, Origin, Profile, Searcher, contours, isochrones};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = args.first().map_or("loop", String::as_str);
    let n: usize = args.get(1).map_or(2000, |s| s.parse().expect("count"));
    let dir = std::env::var_os("SERVICEMAP_GEODATA").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("geodata"),
        PathBuf::from,
    );
    let svc = servicemap::service::Service::load(&dir).expect("data directory");
    let world = svc.walk.as_deref().expect("walkways");
    let graph = &world.graph;
    let mut searcher = Searcher::new();
    let p = Profile::Standard;
    match mode {
        "loop" => {
            let snap = graph.snap_lonlat(106.533, 29.470, 300.0, p).expect("snap");
            let origins = [Origin::new(snap, p)];
            let mut area = 0.0;
            for _ in 0..n {
                let cs = isochrones(
                    graph,
                    &mut searcher,
                    &origins,
                    p,
                    &world.building_snaps,
                    &world.population,
                    &[15.0],
                );
                area += cs[0].area_m2;
            }
            println!("{n} isochrones, mean area {:.3} m²", area / n as f64);
        }
        "seeded" => {
            // The same fixed-step walk through the nodes as `digest`, 200 origins cycled, so a
            // profile of an imported city weighs its isochrones like the peer benchmark does.
            let origins = seeded_origins(graph, p);
            let mut area = 0.0;
            for k in 0..n {
                let cs = isochrones(
                    graph,
                    &mut searcher,
                    &origins[k % origins.len()..][..1],
                    p,
                    &world.building_snaps,
                    &world.population,
                    &[15.0],
                );
                area += cs[0].area_m2;
            }
            println!("{n} isochrones, mean area {:.3} m²", area / n as f64);
        }
        "split" => {
            // The loop's isochrone timed in its two phases: the search, then the polygon and
            // the counts from it (medians over `n` runs each). Half the runs search with the
            // plain `run` instead of the isochrone's `run_folded`, each after the previous
            // run's polygon as in the loop, for a comparison in the same seconds.
            // `split N seeded`: the `seeded` mode's origins, cycled, on any data.
            let origins = if args.get(2).is_some_and(|a| a == "seeded") {
                seeded_origins(graph, p)
            } else {
                let snap = graph.snap_lonlat(106.533, 29.470, 300.0, p).expect("snap");
                vec![Origin::new(snap, p)]
            };
            let (mut plain_us, mut search_us, mut polygon_us) =
                (Vec::new(), Vec::new(), Vec::new());
            // SPLIT_EVICT_MB=8: write that much memory before each run (caches cold, as
            // between the requests of a server).
            let evict_mb: usize = std::env::var("SPLIT_EVICT_MB")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let mut junk = vec![0u8; evict_mb << 20];
            for k in 0..n {
                for b in junk.iter_mut().step_by(64) {
                    *b = b.wrapping_add(k as u8);
                }
                let t0 = std::time::Instant::now();
                // Each origin twice in a row, once per search, which goes first alternating
                // (the second finds the first one's nodes in the cache).
                let o = &origins[(k / 2) % origins.len()..][..1];
                let folded = (k % 2 == 0) == ((k / 2) % 2 == 0);
                if folded {
                    searcher.run_folded(graph, o, p, 15.0 * 60.0);
                } else {
                    searcher.run(graph, o, p, 15.0 * 60.0);
                }
                let t1 = std::time::Instant::now();
                let cs = contours(
                    graph,
                    &searcher,
                    &world.building_snaps,
                    &world.population,
                    &[15.0],
                );
                let t2 = std::time::Instant::now();
                assert_eq!(cs.len(), 1);
                let us = (t1 - t0).as_secs_f64() * 1e6;
                if folded {
                    search_us.push(us);
                } else {
                    plain_us.push(us);
                }
                polygon_us.push((t2 - t1).as_secs_f64() * 1e6);
            }
            let median = |v: &mut Vec<f64>| {
                v.sort_by(f64::total_cmp);
                v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
            };
            println!(
                "{n} isochrones: search {:.1} µs (plain run {:.1} µs), polygon and counts {:.1} µs (medians), {} nodes settled",
                median(&mut search_us),
                median(&mut plain_us),
                median(&mut polygon_us),
                searcher.settled().len()
            );
            std::hint::black_box(&junk);
        }
        "write" => {
            // The HTTP answer's GeoJSON written `n` times for the loop's isochrone (what
            // `GET /isochrone` adds to the in-process work besides parsing and actix).
            let (req, output) =
                servicemap::api::isochrone::parse("lon=106.533&lat=29.470&minutes=15")
                    .expect("query");
            let answer = svc.isochrone(&req, &mut searcher).expect("isochrone");
            let t0 = std::time::Instant::now();
            let mut bytes = 0;
            for _ in 0..n {
                bytes += servicemap::api::isochrone::write_collection(&req, output, &answer).len();
            }
            println!(
                "{n} answers written: {:.2} µs each, {} bytes",
                t0.elapsed().as_secs_f64() * 1e6 / n as f64,
                bytes / n.max(1)
            );
        }
        "digest" => {
            let path = args.get(2).expect("output file");
            let mut out = String::new();
            // A fixed-step walk through the nodes, the same on every run.
            let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
            for k in 0..n {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let node = NodeId((seed % graph.node_count() as u64) as u32);
                let xy = graph.node_xy(node);
                let Ok(snap) = graph.snap_for(xy[0] + 7.0, xy[1] - 5.0, 300.0, p) else {
                    continue;
                };
                let minutes: &[f64] = if k % 4 == 0 {
                    &[5.0, 10.0, 15.0]
                } else {
                    &[15.0]
                };
                let cs = isochrones(
                    graph,
                    &mut searcher,
                    &[Origin::new(snap, p)],
                    p,
                    &world.building_snaps,
                    &world.population,
                    minutes,
                );
                for c in cs {
                    writeln!(
                        out,
                        "{k} {} area {:.6} b {} r {} polys {}",
                        c.minutes,
                        c.area_m2,
                        c.buildings,
                        c.residents,
                        c.polygon.0.len()
                    )
                    .unwrap();
                    for poly in &c.polygon.0 {
                        for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
                            out.push_str("  ");
                            for q in &ring.0 {
                                write!(out, " {:.7},{:.7}", q.x, q.y).unwrap();
                            }
                            out.push('\n');
                        }
                    }
                }
            }
            std::fs::write(path, out).expect("write digest");
        }
        _ => panic!("mode: loop, split, write, seeded or digest"),
    }
}

/// 200 origins from a fixed-step walk through the nodes (the same on every run), snapped
/// 7 m east and 5 m south of the node, as `digest` makes them.
fn seeded_origins(graph: &servicemap::walk::WalkGraph, p: Profile) -> Vec<Origin> {
    let mut origins = Vec::new();
    let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
    while origins.len() < 200 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let xy = graph.node_xy(NodeId((seed % graph.node_count() as u64) as u32));
        if let Ok(snap) = graph.snap_for(xy[0] + 7.0, xy[1] - 5.0, 300.0, p) {
            origins.push(Origin::new(snap, p));
        }
    }
    origins
}
