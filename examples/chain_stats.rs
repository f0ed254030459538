#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]
use servicemap::walk::{NodeId, Origin, Profile, Searcher};
use std::path::PathBuf;
fn main() {
    let dir = std::env::var_os("SERVICEMAP_GEODATA").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("geodata"),
        PathBuf::from,
    );
    let svc = servicemap::service::Service::load(&dir).expect("data directory");
    let world = svc.walk.as_deref().expect("walkways");
    let g = &world.graph;
    let ch = g.chains();
    println!(
        "nodes {} edges {} cores {} chains {}",
        g.node_count(),
        g.edge_count(),
        ch.core_count(),
        ch.chain_count()
    );
    let p = Profile::Standard;
    let mut s = Searcher::new();
    let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
    let (mut settled, mut cores, mut n) = (0usize, 0usize, 0usize);
    let mut lens = vec![0usize; 12];
    for c in 0..ch.chain_count() {
        let l = ch.chain_steps(c).len();
        lens[l.min(11)] += 1;
    }
    println!("chain length histogram (steps, 11 = 11+): {lens:?}");
    while n < 200 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let xy = g.node_xy(NodeId((seed % g.node_count() as u64) as u32));
        if let Ok(snap) = g.snap_for(xy[0] + 7.0, xy[1] - 5.0, 300.0, p) {
            s.run_folded(g, &[Origin::new(snap, p)], p, 900.0);
            settled += s.settled().len();
            cores += s
                .settled()
                .iter()
                .filter(|v| g.adjacent(**v).len() != 2)
                .count();
            n += 1;
        }
    }
    println!(
        "mean settled {} of which degree != 2: {}",
        settled / n,
        cores / n
    );
}
