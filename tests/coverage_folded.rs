//! Coverage's backward search on the folded graph (degree-2 chains as single edges) against a
//! plain backward Dijkstra over every node, on random towns with fixed seeds and on the
//! default data, for every profile: the same buildings reached, the same times.

// Test helpers may unwrap, expect and panic: a failing test should stop loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use servicemap::analysis::reach::{times_to_nearest_s, times_to_nearest_s_plain};
use servicemap::model::{LocalProj, WalkwayKind};
use servicemap::walk::chains::nearest_node_times_s;
use servicemap::walk::synthetic::town;
use servicemap::walk::{NodeId, Profile, Snap, SnappedPoints, WalkGraph};

mod common;
use common::walkway as ww;

fn assert_same_times(label: &str, folded: &[f64], plain: &[f64]) {
    assert_eq!(folded.len(), plain.len(), "{label}");
    for (i, (&f, &r)) in folded.iter().zip(plain).enumerate() {
        assert_eq!(
            f.is_finite(),
            r.is_finite(),
            "{label}: building {i} reached by one search only: folded {f}, plain {r}"
        );
        if r.is_finite() {
            assert!(
                (f - r).abs() <= 1e-6 * r.abs().max(1.0),
                "{label}: building {i}: folded {f} s, plain {r} s"
            );
        }
    }
}

fn targets_of(points: &SnappedPoints, tag: Option<u32>, p: Profile) -> Vec<Snap> {
    (0..points.len())
        .filter(|&i| tag.is_none_or(|t| points.tag(i) == t))
        .filter_map(|i| points.snap(i, p).copied())
        .collect()
}

#[test]
fn folded_search_equals_plain_dijkstra_on_random_towns() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x00c0_0e4a);
    let mut compared = 0usize;
    for case in 0..50u64 {
        let mut spec = common::random_town_spec(&mut rng, 7000 + case);
        spec.facilities = rng.random_range(1..30);
        spec.buildings = rng.random_range(10..80);
        let t = town(&spec);
        if t.walkways.is_empty() {
            continue;
        }
        let g = WalkGraph::build(&t.walkways, &t.water, &t.proj);
        assert!(g.chains().core_count() <= g.node_count());
        let facilities = SnappedPoints::build(&g, &t.facilities, &t.facility_tags, 300.0);
        let buildings = SnappedPoints::build(&g, &t.buildings, &[], 300.0);
        for p in Profile::ALL {
            let mut tags: Vec<Option<u32>> = (0..spec.categories).map(Some).collect();
            tags.push(None);
            for tag in tags {
                let targets = targets_of(&facilities, tag, p);
                for max_s in [f64::INFINITY, rng.random_range(30.0..400.0)] {
                    let label = format!("case {case} {p} tag {tag:?} max {max_s}");
                    let folded = times_to_nearest_s(&g, &buildings, &targets, p, max_s);
                    let plain = times_to_nearest_s_plain(&g, &buildings, &targets, p, max_s);
                    assert_same_times(&label, &folded, &plain);
                    compared += folded.iter().filter(|t| t.is_finite()).count();
                }
            }
        }
    }
    assert!(
        compared > 10_000,
        "too few reached buildings compared: {compared}"
    );
}

#[test]
fn folded_search_equals_plain_dijkstra_on_the_default_data() {
    let w = common::geodata()
        .walk
        .as_deref()
        .expect("geodata has walkways");
    let g = &w.graph;
    assert!(
        g.chains().core_count() * 2 < g.node_count(),
        "the default data folds: {} core nodes of {}",
        g.chains().core_count(),
        g.node_count()
    );
    for p in Profile::ALL {
        for cat in &w.category_ids {
            let targets = w.category_snaps(cat, p);
            for max_s in [f64::INFINITY, 600.0] {
                let label = format!("{cat} {p} max {max_s}");
                let folded = times_to_nearest_s(g, &w.building_snaps, &targets, p, max_s);
                let plain = times_to_nearest_s_plain(g, &w.building_snaps, &targets, p, max_s);
                assert_same_times(&label, &folded, &plain);
            }
        }
    }
}

/// Plain backward Dijkstra over every node from the seeds in `node_s`.
fn plain(g: &WalkGraph, node_s: &mut [f64], p: Profile) {
    let mut todo: Vec<bool> = vec![true; node_s.len()];
    while let Some(u) = (0..node_s.len())
        .filter(|&i| todo[i] && node_s[i].is_finite())
        .min_by(|&a, &b| node_s[a].total_cmp(&node_s[b]))
    {
        todo[u] = false;
        for a in g.adjacent(NodeId(u as u32)) {
            let t = node_s[u] + g.edge(a.edge).cost_s(p, !a.forward);
            if t < node_s[a.head.index()] {
                node_s[a.head.index()] = t;
            }
        }
    }
}

#[test]
fn rings_chains_and_inner_seeds_match_plain_dijkstra() {
    let proj = LocalProj::new(106.53, 29.47);
    let ws = vec![
        // A ring of degree-2 nodes with no core node at all.
        ww(
            WalkwayKind::Footway,
            &[
                (0.0, 0.0),
                (50.0, 0.0),
                (50.0, 40.0),
                (0.0, 30.0),
                (0.0, 0.0),
            ],
            &[0.0, 5.0, 9.0, 2.0, 0.0],
        ),
        // A curved street from a dead end to a junction, stairs in the middle.
        ww(
            WalkwayKind::Street,
            &[(200.0, 0.0), (230.0, 10.0), (260.0, 5.0), (300.0, 0.0)],
            &[0.0, 3.0, 4.0, 6.0],
        ),
        ww(
            WalkwayKind::Stairs,
            &[(300.0, 0.0), (320.0, 0.0), (340.0, 0.0)],
            &[6.0, 14.0, 20.0],
        ),
        ww(
            WalkwayKind::Street,
            &[(300.0, 0.0), (300.0, 60.0), (280.0, 90.0), (300.0, 0.0)],
            &[6.0, 7.0, 9.0, 6.0],
        ),
        ww(
            WalkwayKind::Footway,
            &[(300.0, 0.0), (300.0, -50.0)],
            &[6.0, 1.0],
        ),
    ];
    let g = WalkGraph::build(&ws, &[], &proj);
    let ch = g.chains();
    assert!(ch.core_count() < g.node_count());
    let mut edges_in_chains = 0;
    for c in 0..ch.chain_count() {
        edges_in_chains += ch.chain_steps(c).len();
        assert_eq!(ch.chain_nodes(c).len(), ch.chain_steps(c).len() + 1);
    }
    assert_eq!(
        edges_in_chains,
        g.edge_count(),
        "every edge in exactly one chain"
    );
    for p in Profile::ALL {
        for seeds in [vec![1usize], vec![0], vec![2, 6], vec![5, 9, 3], vec![]] {
            let mut want = vec![f64::INFINITY; g.node_count()];
            for (k, &v) in seeds.iter().enumerate() {
                if v < want.len() {
                    want[v] = 3.0 * k as f64;
                }
            }
            let mut got = want.clone();
            let seeded: Vec<NodeId> = seeds
                .iter()
                .filter(|&&v| v < got.len())
                .map(|&v| NodeId(v as u32))
                .collect();
            plain(&g, &mut want, p);
            nearest_node_times_s(&g, &mut got, &seeded, p, f64::INFINITY);
            for (v, (w, x)) in want.iter().zip(&got).enumerate() {
                assert!(
                    w.is_finite() == x.is_finite()
                        && (!w.is_finite() || (w - x).abs() <= 1e-9 * w.abs().max(1.0)),
                    "{p} seeds {seeds:?} node {v}: plain {w}, folded {x}"
                );
            }
        }
    }
}
