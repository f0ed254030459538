//! How much of the graph a 15-minute isochrone reaches, from the same 200 seeded origins as
//! `iso_loop seeded`: nodes settled, adjacency entries relaxed, raster window cells, and how
//! far apart consecutive settled node ids are (memory locality of the search).
//!
//! ```text
//! cargo run --release --example iso_stats
//! SERVICEMAP_GEODATA=target/peers/osm-Helsinki cargo run --release --example iso_stats
//! ```

// A tool whose setup fails should stop loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::PathBuf;

use servicemap::walk::{NodeId, Origin, Profile, Searcher};

fn main() {
    let dir = std::env::var_os("SERVICEMAP_GEODATA").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("geodata"),
        PathBuf::from,
    );
    let svc = servicemap::service::Service::load(&dir).expect("data directory");
    let world = svc.walk.as_deref().expect("walkways");
    let graph = &world.graph;
    let grid = *graph.water().grid();
    println!(
        "nodes {} edges {} buildings {} grid {}x{} cells of {} m",
        graph.node_count(),
        graph.edge_count(),
        world.building_snaps.len(),
        grid.nx,
        grid.ny,
        grid.cell_m
    );
    let mut s = Searcher::new();
    let p = Profile::Standard;
    let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
    let (mut n, mut settled, mut entries, mut cells, mut jump) =
        (0usize, 0usize, 0usize, 0usize, 0u64);
    while n < 200 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let xy = graph.node_xy(NodeId((seed % graph.node_count() as u64) as u32));
        let Ok(snap) = graph.snap_for(xy[0] + 7.0, xy[1] - 5.0, 300.0, p) else {
            continue;
        };
        s.run(graph, &[Origin::new(snap, p)], p, 15.0 * 60.0);
        n += 1;
        settled += s.settled().len();
        let (mut c0, mut r0, mut c1, mut r1) = (usize::MAX, usize::MAX, 0, 0);
        let mut prev = 0_i64;
        for &u in s.settled() {
            jump += (i64::from(u.0) - prev).unsigned_abs();
            prev = i64::from(u.0);
            let [x, y] = graph.node_xy(u);
            let (c, r) = (grid.col(x), grid.row(y));
            (c0, r0, c1, r1) = (c0.min(c), r0.min(r), c1.max(c), r1.max(r));
            entries += graph.adjacent(u).len();
        }
        // The isochrone's window is padded by two cells on each side.
        cells += (c1 + 5 - c0) * (r1 + 5 - r0);
    }
    println!(
        "per isochrone: {} nodes settled, {} adjacency entries, {} window cells, mean id step {}",
        settled / n,
        entries / n,
        cells / n,
        jump / settled.max(1) as u64
    );
}
