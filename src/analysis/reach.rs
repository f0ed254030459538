//! Walking times from every building to its nearest facility of a set, in one search.
//!
//! Coverage asks "how long does each building's walk to the nearest facility take?". Walking
//! is not symmetric on hills (uphill is slower), so the search runs *backwards* from the
//! facilities over reversed edges: a node's label is the time to walk from it to the nearest
//! facility. One search answers every building, instead of one search per building.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

use crate::walk::chains::{PointEnds, partial_s};
use crate::walk::{EdgeId, NodeId, Origin, Profile, Searcher, Snap, SnappedPoints, WalkGraph};

#[derive(PartialEq)]
struct Item {
    time_s: f64,
    node: u32,
}
impl Eq for Item {}
impl Ord for Item {
    fn cmp(&self, o: &Self) -> Ordering {
        o.time_s
            .total_cmp(&self.time_s)
            .then(o.node.cmp(&self.node))
    }
}
impl PartialOrd for Item {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

/// Seconds from every building (`buildings`, snapped for `p`) to the nearest of `targets`
/// (snapped facility positions; each target's connector to the network is walked at the
/// profile's flat speed and counted). `INFINITY` where no target can be reached (or the
/// building could not be snapped). Searches no further than `max_s`.
#[must_use]
pub fn times_to_nearest_s(
    graph: &WalkGraph,
    buildings: &SnappedPoints,
    targets: &[Snap],
    p: Profile,
    max_s: f64,
) -> Vec<f64> {
    let ends = PointEnds::build(graph, buildings, p);
    times_to_nearest_at_s(graph, buildings, &ends, targets, p, max_s)
}

/// [`times_to_nearest_s`] with the buildings' chain ends already built (`ends`, for `p`, from
/// `buildings` on `graph`: the world keeps them). Only the core nodes are searched; a building
/// reads the labels of its chain's two ends, except on the few chains holding a target, which
/// are swept node by node and read as the plain search would.
#[must_use]
pub fn times_to_nearest_at_s(
    graph: &WalkGraph,
    buildings: &SnappedPoints,
    ends: &PointEnds,
    targets: &[Snap],
    p: Profile,
    max_s: f64,
) -> Vec<f64> {
    debug_assert_eq!(ends.profile, p);
    debug_assert_eq!(ends.ends.len(), buildings.len());
    NODE_S.with(|cell| match cell.try_borrow_mut() {
        Ok(mut node_s) => folded_times_s(graph, buildings, ends, targets, p, max_s, &mut node_s),
        // Only if a search re-entered on this thread: a fresh buffer is as correct.
        Err(_) => folded_times_s(graph, buildings, ends, targets, p, max_s, &mut Vec::new()),
    })
}

thread_local! {
    /// The per-node labels of coverage's searches, kept per thread and reused: a graph-sized
    /// `Vec` is over glibc's mmap threshold (64 kB, src/sys.rs), so a fresh one cost every
    /// uncached `/coverage` ~30 page faults and an munmap with its TLB shootdown (issue 15).
    static NODE_S: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
}

/// [`times_to_nearest_at_s`] with the per-node labels in `node_s` (any contents; resized).
fn folded_times_s(
    graph: &WalkGraph,
    buildings: &SnappedPoints,
    ends: &PointEnds,
    targets: &[Snap],
    p: Profile,
    max_s: f64,
    node_s: &mut Vec<f64>,
) -> Vec<f64> {
    let ch = graph.chains();
    let (seeded, on_edge) = seed(graph, targets, p, max_s, node_s);
    let node_s = &mut node_s[..];
    let core_s = ch.core_times_s(node_s, &seeded, p, max_s);
    // Chains holding a target (on an inner node or an edge of theirs): labelled node by node.
    let mut special = vec![false; ch.chain_count()];
    let mut any_special = false;
    for v in &seeded {
        if let Some(c) = ch.chain_of_inner(*v) {
            special[c] = true;
            any_special = true;
        }
    }
    for e in on_edge.keys() {
        if let Some(c) = ch.chain_of_edge(*e) {
            special[c] = true;
            any_special = true;
        }
    }
    if any_special {
        ch.write_core_times(&core_s, node_s);
        for (c, _) in special.iter().enumerate().filter(|(_, s)| **s) {
            ch.sweep_chain(c, &core_s, node_s, p, max_s);
        }
    }
    ends.ends
        .iter()
        .enumerate()
        .map(|(i, end)| {
            if end.chain == u32::MAX {
                return f64::INFINITY;
            }
            let t = if special[end.chain as usize] {
                match buildings.snap(i, p) {
                    Some(b) => time_on_edge(graph, node_s, &on_edge, b, p),
                    None => f64::INFINITY,
                }
            } else {
                (core_s[end.first as usize] + end.to_first_s)
                    .min(core_s[end.last as usize] + end.to_last_s)
            };
            if t <= max_s { t } else { f64::INFINITY }
        })
        .collect()
}

/// Targets on an edge: (fraction along it, connector seconds).
type OnEdge = HashMap<EdgeId, Vec<(f64, f64)>>;

/// Per-node seeds of a backward search from `targets` into `node_s` (made one per node, all
/// `INFINITY` but the seeds): the seconds from each end of a target's edge to the target.
/// Returns the nodes seeded and the targets by edge.
fn seed(
    graph: &WalkGraph,
    targets: &[Snap],
    p: Profile,
    max_s: f64,
    node_s: &mut Vec<f64>,
) -> (Vec<NodeId>, OnEdge) {
    node_s.clear();
    node_s.resize(graph.node_count(), f64::INFINITY);
    let mut seeded: Vec<NodeId> = Vec::with_capacity(targets.len() * 2);
    let mut on_edge: OnEdge = HashMap::new();
    for t in targets {
        let e = graph.edge(t.edge);
        let conn = t.connector_s(p);
        on_edge.entry(t.edge).or_default().push((t.fraction, conn));
        // From `from`, walk forward to the target; from `to`, backward.
        for (n, s) in [
            (e.from, conn + partial_s(e.cost_s(p, true), t.fraction)),
            (e.to, conn + partial_s(e.cost_s(p, false), 1.0 - t.fraction)),
        ] {
            if s < node_s[n.index()] && s <= max_s {
                node_s[n.index()] = s;
                seeded.push(n);
            }
        }
    }
    (seeded, on_edge)
}

/// A building's time from the labels of its edge's ends and the targets on its edge.
fn time_on_edge(graph: &WalkGraph, node_s: &[f64], on_edge: &OnEdge, b: &Snap, p: Profile) -> f64 {
    let e = graph.edge(b.edge);
    let g = b.fraction;
    let mut best = (node_s[e.from.index()] + partial_s(e.cost_s(p, false), g))
        .min(node_s[e.to.index()] + partial_s(e.cost_s(p, true), 1.0 - g));
    if let Some(ts) = on_edge.get(&b.edge) {
        for &(f, conn) in ts {
            let walk = if f >= g {
                partial_s(e.cost_s(p, true), f - g)
            } else {
                partial_s(e.cost_s(p, false), g - f)
            };
            best = best.min(walk + conn);
        }
    }
    best + b.connector_s(p)
}

/// [`times_to_nearest_s`] by a plain backward Dijkstra over every node of the graph: the
/// oracle the folded search is tested against.
#[must_use]
pub fn times_to_nearest_s_plain(
    graph: &WalkGraph,
    buildings: &SnappedPoints,
    targets: &[Snap],
    p: Profile,
    max_s: f64,
) -> Vec<f64> {
    times_with(graph, buildings, targets, p, max_s, plain_node_times_s)
}

/// Plain backward Dijkstra from the seeds in `node_s` over every node.
fn plain_node_times_s(
    graph: &WalkGraph,
    node_s: &mut [f64],
    _seeded: &[NodeId],
    p: Profile,
    max_s: f64,
) {
    let mut heap: BinaryHeap<Item> = node_s
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_finite())
        .map(|(n, &s)| Item {
            time_s: s,
            node: n as u32,
        })
        .collect();
    while let Some(Item { time_s, node }) = heap.pop() {
        if time_s > node_s[node as usize] {
            continue;
        }
        for a in graph.adjacent(NodeId(node)) {
            // Walking head -> node is the opposite direction of this adjacency entry.
            let c = graph.edge(a.edge).cost_s(p, !a.forward);
            let t = time_s + c;
            if t < node_s[a.head.index()] && t <= max_s {
                node_s[a.head.index()] = t;
                heap.push(Item {
                    time_s: t,
                    node: a.head.0,
                });
            }
        }
    }
}

/// Seeds every node next to a target, completes the node labels with `search`, then reads
/// each building's time off its edge.
fn times_with(
    graph: &WalkGraph,
    buildings: &SnappedPoints,
    targets: &[Snap],
    p: Profile,
    max_s: f64,
    search: fn(&WalkGraph, &mut [f64], &[NodeId], Profile, f64),
) -> Vec<f64> {
    let mut node_s = Vec::new();
    let (seeded, on_edge) = seed(graph, targets, p, max_s, &mut node_s);
    search(graph, &mut node_s, &seeded, p, max_s);
    (0..buildings.len())
        .map(|i| {
            let Some(b) = buildings.snap(i, p) else {
                return f64::INFINITY;
            };
            let t = time_on_edge(graph, &node_s, &on_edge, b, p);
            if t <= max_s { t } else { f64::INFINITY }
        })
        .collect()
}

/// For each building in `which`, the candidates it can walk to within `max_s`: candidates are
/// graph nodes when `candidates` is `None` (in no particular order), or the given snapped
/// points (in their order). Runs one bounded forward search per building (from the
/// building, as residents walk).
#[must_use]
pub fn candidates_within(
    graph: &WalkGraph,
    searcher: &mut Searcher,
    buildings: &SnappedPoints,
    which: &[usize],
    candidates: Option<&[Snap]>,
    p: Profile,
    max_s: f64,
) -> Vec<Vec<usize>> {
    which
        .iter()
        .map(|&i| {
            let Some(b) = buildings.snap(i, p) else {
                return Vec::new();
            };
            // The folded search: the same labels and settled set as `run` (the lists below
            // are sets to the siting greedy, so the settled order does not matter).
            searcher.run_folded(graph, &[Origin::new(*b, p)], p, max_s);
            match candidates {
                None => searcher
                    .settled()
                    .iter()
                    .filter(|n| searcher.node_time_s(**n) <= max_s)
                    .map(|n| n.index())
                    .collect(),
                Some(cs) => cs
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| {
                        searcher
                            .reach(graph, c)
                            .is_some_and(|r| r.time_s + c.connector_s(p) <= max_s)
                    })
                    .map(|(k, _)| k)
                    .collect(),
            }
        })
        .collect()
}
