//! `Searcher::run_folded` (Dijkstra over the core nodes, walking the degree-2 chains) against
//! `Searcher::run` (plain Dijkstra over every node), which is its oracle: on random towns, on
//! a hand-made network of rings, loops, parallel edges and stairs, and on the default data,
//! for every profile, 1–3 random origins and random bounds (fixed seeds). Every node's time
//! and distance must be bit for bit the same, the settled sets equal, and the routes too.

// Test helpers may unwrap, expect and panic: a failing test should stop loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use servicemap::model::{LocalProj, Walkway, WalkwayKind};
use servicemap::walk::synthetic::town;
use servicemap::walk::{NodeId, Origin, Profile, Searcher, WalkGraph};

mod common;
use common::walkway as ww;

/// Compares the two searches' results; `routes_of` picks the nodes whose routes are compared
/// (all of them on small graphs). Returns the number of nodes reached.
fn assert_same(
    label: &str,
    g: &WalkGraph,
    plain: &Searcher,
    folded: &Searcher,
    routes_every: usize,
) -> usize {
    let bits = |r: Option<(f64, f64)>| r.map(|(t, d)| (t.to_bits(), d.to_bits()));
    for n in 0..g.node_count() {
        let v = NodeId(n as u32);
        assert_eq!(
            bits(plain.node_reach(v)),
            bits(folded.node_reach(v)),
            "{label}: node {n}: plain {:?}, folded {:?}",
            plain.node_reach(v),
            folded.node_reach(v)
        );
        if n % routes_every == 0 {
            assert_eq!(
                plain.path_edges(g, v),
                folded.path_edges(g, v),
                "{label}: route to node {n}"
            );
        }
    }
    let mut a: Vec<NodeId> = plain.settled().to_vec();
    let mut b: Vec<NodeId> = folded.settled().to_vec();
    a.sort_unstable();
    b.sort_unstable();
    assert_eq!(a.len(), b.len(), "{label}: settled counts");
    assert_eq!(a, b, "{label}: settled sets");
    // The edges the folded search records as reached (the isochrone's polygon draws them)
    // are exactly those with a settled end, as the plain search's adjacency gives them.
    let mut want: Vec<u32> = a
        .iter()
        .flat_map(|&u| g.adjacent(u).iter().map(|x| x.edge.0))
        .collect();
    want.sort_unstable();
    want.dedup();
    let got: Vec<u32> = folded
        .edges_reached()
        .expect("run_folded records its reached edges")
        .map(|e| e.0)
        .collect();
    assert_eq!(got, want, "{label}: edges with a settled end");
    assert!(
        plain.edges_reached().is_none(),
        "{label}: plain run records none"
    );
    assert_eq!(plain.origins(), folded.origins());
    assert_eq!(plain.profile(), folded.profile());
    assert_eq!(plain.max_s().to_bits(), folded.max_s().to_bits());
    a.len()
}

/// 1–3 origins snapped from random points of `[x0, x1] × [y0, y1]`, sometimes exactly at a
/// node (its edge's end: fraction 0 or 1), sometimes twice the same.
fn random_origins(
    rng: &mut ChaCha8Rng,
    g: &WalkGraph,
    p: Profile,
    bounds: [f64; 4],
) -> Vec<Origin> {
    let count = rng.random_range(1..=3);
    let mut out: Vec<Origin> = Vec::new();
    for _ in 0..50 {
        if out.len() == count {
            break;
        }
        let r: f64 = rng.random();
        if r < 0.15 && !out.is_empty() {
            out.push(out[0]);
            continue;
        }
        let (x, y) = if r < 0.4 {
            let xy = g.node_xy(NodeId(rng.random_range(0..g.node_count() as u32)));
            (xy[0], xy[1])
        } else {
            (
                rng.random_range(bounds[0]..bounds[2]),
                rng.random_range(bounds[1]..bounds[3]),
            )
        };
        // Sometimes any edge, even one the profile cannot walk (it reaches nothing past it).
        let snap = if rng.random_bool(0.2) {
            g.snap(x, y, 300.0)
        } else {
            g.snap_for(x, y, 300.0, p)
        };
        if let Ok(s) = snap {
            out.push(if rng.random_bool(0.5) {
                Origin::new(s, p)
            } else {
                Origin::at_snap(s)
            });
        }
    }
    out
}

fn random_max_s(rng: &mut ChaCha8Rng, hi: f64) -> f64 {
    match rng.random_range(0..4) {
        0 => f64::INFINITY,
        1 => 0.0,
        _ => rng.random_range(1.0..hi),
    }
}

#[test]
fn folded_search_equals_plain_on_random_towns() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x15_0c4a_1115);
    let (mut plain, mut folded) = (Searcher::new(), Searcher::new());
    let mut reached = 0usize;
    for case in 0..40u64 {
        let spec = common::random_town_spec(&mut rng, 8100 + case);
        let t = town(&spec);
        if t.walkways.is_empty() {
            continue;
        }
        let g = WalkGraph::build(&t.walkways, &t.water, &t.proj);
        let bounds = [
            -20.0,
            -20.0,
            spec.nx as f64 * spec.block_m,
            spec.ny as f64 * spec.block_m,
        ];
        for p in Profile::ALL {
            for _ in 0..4 {
                let origins = random_origins(&mut rng, &g, p, bounds);
                let max_s = random_max_s(&mut rng, 600.0);
                plain.run(&g, &origins, p, max_s);
                folded.run_folded(&g, &origins, p, max_s);
                let label = format!("case {case} {p} max {max_s} origins {origins:?}");
                reached += assert_same(&label, &g, &plain, &folded, 1);
            }
        }
    }
    assert!(reached > 20_000, "too few nodes compared: {reached}");
}

/// Rings without a core node, a loop chain back to its junction, parallel edges and
/// parallel chains, stairs (impassable in a wheelchair) inside chains, a dead end, and a
/// mirror-symmetric diamond (the same costs both ways round, so times tie exactly).
fn odd_network() -> Vec<Walkway> {
    let f = WalkwayKind::Footway;
    let s = WalkwayKind::Street;
    vec![
        // A ring of degree-2 nodes with no core node at all.
        ww(
            f,
            &[
                (0.0, 0.0),
                (50.0, 0.0),
                (50.0, 40.0),
                (0.0, 30.0),
                (0.0, 0.0),
            ],
            &[0.0, 5.0, 9.0, 2.0, 0.0],
        ),
        // A curved street from a dead end to a junction, then stairs on to another dead end.
        ww(
            s,
            &[(200.0, 0.0), (230.0, 10.0), (260.0, 5.0), (300.0, 0.0)],
            &[0.0, 3.0, 4.0, 6.0],
        ),
        ww(
            WalkwayKind::Stairs,
            &[(300.0, 0.0), (320.0, 0.0), (340.0, 0.0), (360.0, 3.0)],
            &[6.0, 14.0, 20.0, 21.0],
        ),
        // A loop chain from the junction back to itself.
        ww(
            s,
            &[(300.0, 0.0), (300.0, 60.0), (280.0, 90.0), (300.0, 0.0)],
            &[6.0, 7.0, 9.0, 6.0],
        ),
        // Parallel: a straight edge and a curved chain between the same two junctions, and
        // a second straight edge over the same two nodes.
        ww(f, &[(300.0, 0.0), (300.0, -50.0)], &[6.0, 1.0]),
        ww(
            f,
            &[(300.0, 0.0), (320.0, -20.0), (310.0, -40.0), (300.0, -50.0)],
            &[6.0, 4.0, 3.0, 1.0],
        ),
        ww(s, &[(300.0, -50.0), (300.0, 0.0)], &[1.0, 6.0]),
        ww(f, &[(300.0, -50.0), (300.0, -120.0)], &[1.0, 0.0]),
        // A mirror-symmetric diamond on the flat: two chains of the same shape from
        // (300, -120) to (300, -320), one to the east and one to the west.
        ww(
            f,
            &[
                (300.0, -120.0),
                (340.0, -170.0),
                (350.0, -220.0),
                (340.0, -270.0),
                (300.0, -320.0),
            ],
            &[0.0; 5],
        ),
        ww(
            f,
            &[
                (300.0, -120.0),
                (260.0, -170.0),
                (250.0, -220.0),
                (260.0, -270.0),
                (300.0, -320.0),
            ],
            &[0.0; 5],
        ),
        ww(f, &[(300.0, -320.0), (300.0, -400.0)], &[0.0, 0.0]),
        // A second core-less ring, with stairs in it.
        ww(
            WalkwayKind::Stairs,
            &[(500.0, 0.0), (520.0, 0.0), (520.0, 20.0)],
            &[0.0, 4.0, 8.0],
        ),
        ww(
            f,
            &[(520.0, 20.0), (500.0, 20.0), (500.0, 0.0)],
            &[8.0, 3.0, 0.0],
        ),
    ]
}

#[test]
fn folded_search_equals_plain_on_rings_loops_and_parallel_edges() {
    let proj = LocalProj::new(106.53, 29.47);
    let g = WalkGraph::build(&odd_network(), &[], &proj);
    let ch = g.chains();
    assert!(ch.core_count() < g.node_count());
    let mut rng = ChaCha8Rng::seed_from_u64(0x15_0c4a_0dd5);
    let (mut plain, mut folded) = (Searcher::new(), Searcher::new());
    let mut reached = 0usize;
    for p in Profile::ALL {
        for round in 0..300 {
            let origins = random_origins(&mut rng, &g, p, [-20.0, -420.0, 560.0, 100.0]);
            let max_s = random_max_s(&mut rng, 400.0);
            plain.run(&g, &origins, p, max_s);
            folded.run_folded(&g, &origins, p, max_s);
            let label = format!("round {round} {p} max {max_s} origins {origins:?}");
            reached += assert_same(&label, &g, &plain, &folded, 1);
        }
        // Every node as an origin, with a bound and without.
        for n in 0..g.node_count() {
            let xy = g.node_xy(NodeId(n as u32));
            let Ok(s) = g.snap_for(xy[0], xy[1], 300.0, p) else {
                continue;
            };
            for max_s in [f64::INFINITY, 60.0] {
                let origins = [Origin::at_snap(s)];
                plain.run(&g, &origins, p, max_s);
                folded.run_folded(&g, &origins, p, max_s);
                let label = format!("node {n} {p} max {max_s}");
                reached += assert_same(&label, &g, &plain, &folded, 1);
            }
        }
    }
    assert!(reached > 5_000, "too few nodes compared: {reached}");
}

#[test]
fn folded_search_equals_plain_on_the_default_data() {
    let w = common::geodata()
        .walk
        .as_deref()
        .expect("geodata has walkways");
    let g = &w.graph;
    let xs: Vec<f64> = (0..g.node_count())
        .map(|n| g.node_xy(NodeId(n as u32))[0])
        .collect();
    let ys: Vec<f64> = (0..g.node_count())
        .map(|n| g.node_xy(NodeId(n as u32))[1])
        .collect();
    let lo = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = |v: &[f64]| v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let bounds = [lo(&xs), lo(&ys), hi(&xs), hi(&ys)];
    let mut rng = ChaCha8Rng::seed_from_u64(0x15_0c4a_9e0d);
    let (mut plain, mut folded) = (Searcher::new(), Searcher::new());
    let mut reached = 0usize;
    for p in Profile::ALL {
        for round in 0..12 {
            let origins = random_origins(&mut rng, g, p, bounds);
            let max_s = if round == 0 {
                f64::INFINITY
            } else {
                rng.random_range(60.0..1800.0)
            };
            plain.run(g, &origins, p, max_s);
            folded.run_folded(g, &origins, p, max_s);
            let label = format!("geodata round {round} {p} max {max_s} origins {origins:?}");
            reached += assert_same(&label, g, &plain, &folded, 97);
        }
    }
    assert!(reached > 50_000, "too few nodes compared: {reached}");
}

/// `candidates_within` (the siting planner's reach lists, now searched with `run_folded`)
/// against the same lists from `run`, on the default data: the same candidates per building.
#[test]
fn candidates_within_equals_plain_on_the_default_data() {
    use servicemap::analysis::reach::candidates_within;
    let w = common::geodata()
        .walk
        .as_deref()
        .expect("geodata has walkways");
    let g = &w.graph;
    let mut rng = ChaCha8Rng::seed_from_u64(0x15_0c4a_5171);
    let mut searcher = Searcher::new();
    let mut compared = 0usize;
    for p in Profile::ALL {
        let which: Vec<usize> = (0..25)
            .map(|_| rng.random_range(0..w.building_snaps.len()))
            .collect();
        let max_s = rng.random_range(120.0..900.0);
        let cat = &w.category_ids[rng.random_range(0..w.category_ids.len())];
        let cands = w.category_snaps(cat, p);
        for candidates in [None, Some(&cands[..])] {
            let got = candidates_within(
                g,
                &mut searcher,
                &w.building_snaps,
                &which,
                candidates,
                p,
                max_s,
            );
            for (k, &i) in which.iter().enumerate() {
                let mut want: Vec<usize> = Vec::new();
                if let Some(b) = w.building_snaps.snap(i, p) {
                    searcher.run(g, &[Origin::new(*b, p)], p, max_s);
                    want = match candidates {
                        None => searcher
                            .settled()
                            .iter()
                            .filter(|n| searcher.node_time_s(**n) <= max_s)
                            .map(|n| n.index())
                            .collect(),
                        Some(cs) => (0..cs.len())
                            .filter(|&c| {
                                searcher
                                    .reach(g, &cs[c])
                                    .is_some_and(|r| r.time_s + cs[c].connector_s(p) <= max_s)
                            })
                            .collect(),
                    };
                }
                let mut have = got[k].clone();
                have.sort_unstable();
                want.sort_unstable();
                assert_eq!(have, want, "{p} building {i} max {max_s} {cat}");
                compared += want.len();
            }
        }
    }
    assert!(compared > 1000, "too few candidates compared: {compared}");
}

/// Where a step's cost vanishes (here: rounds away against a huge start time), two routes
/// reach a node at exactly the same time and `run_folded` may keep the other one than `run`
/// (see its doc). Times and the settled set must still be bit for bit `run`'s. The network is
/// the one the twelfth session's review built: a and b 1e-5 m apart, both leading to x.
#[test]
fn vanishing_steps_keep_times_and_the_settled_set() {
    let f = WalkwayKind::Footway;
    let flat = [0.0, 0.0];
    let walkways = vec![
        ww(f, &[(0.0, 0.0), (0.0, 30.0)], &flat),
        ww(f, &[(1e-5, 0.0), (0.0, 30.0)], &flat),
        ww(f, &[(1e-5, 0.0), (0.0, 0.0)], &flat),
        ww(f, &[(100.0, 0.0), (1e-5, 0.0)], &flat),
    ];
    let proj = LocalProj::new(106.53, 29.47);
    let g = WalkGraph::build(&walkways, &[], &proj);
    let (mut plain, mut folded) = (Searcher::new(), Searcher::new());
    let mut compared = 0;
    for p in Profile::ALL {
        let s = g.snap_for(100.0, 0.0, 5.0, p).expect("snap at O");
        for start_s in [0.0, 1e6, 1e12] {
            for max_s in [f64::INFINITY, start_s + 60.0] {
                let o = Origin {
                    snap: s,
                    start_s,
                    start_m: 0.0,
                };
                plain.run(&g, &[o], p, max_s);
                folded.run_folded(&g, &[o], p, max_s);
                for n in 0..g.node_count() {
                    let v = NodeId(n as u32);
                    assert_eq!(
                        plain.node_reach(v).map(|r| r.0.to_bits()),
                        folded.node_reach(v).map(|r| r.0.to_bits()),
                        "{p} start {start_s} max {max_s}: time of node {n}"
                    );
                }
                let mut a = plain.settled().to_vec();
                let mut b = folded.settled().to_vec();
                a.sort_unstable();
                b.sort_unstable();
                assert_eq!(a, b, "{p} start {start_s} max {max_s}: settled sets");
                compared += a.len();
            }
        }
    }
    // Without a bound every one of the 4 nodes is reached, in every profile and start.
    assert_eq!(g.node_count(), 4);
    assert!(compared >= 3 * 3 * 4, "nodes compared: {compared}");
}
