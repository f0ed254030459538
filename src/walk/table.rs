//! Walking-nearest from precomputed tables: for every node, the [`TABLE_K`] facilities (of one
//! category, or of all) nearest by walking time *from* that node, so a query is a lookup at
//! the two ends of the origin's edge instead of a Dijkstra (issue 15: the search settled
//! thousands of curve vertices per query).
//!
//! # Building
//! A backward multi-source k-label Dijkstra: walking is asymmetric on hills, so the labels
//! spread from the facilities' snapped positions over *reversed* edges (the cost of a label
//! arriving at node `x` over the edge to `y` is the cost of walking `x → y`). Queue entries are
//! `(seconds, facility, node)`; a node keeps the first [`TABLE_K`] distinct facilities popped
//! for it and ignores the rest. Pops come in `(seconds, facility)` order, so each node's list
//! is its `TABLE_K` best in the order the search ranks them (time, then facility index).
//!
//! # Why a query is exact for `k ≤ TABLE_K`
//! An origin stands at fraction `f` of edge `(a, b)`. Any walk from it to a facility `j`
//! either stays on the edge (`j` snapped onto the same edge: walked straight along it, as the
//! search does), or leaves through `a` or `b`, so `t(o, j) = min(same edge, s_a + t(a, j),
//! s_b + t(b, j))` with `s_a`, `s_b` the partial-edge times. Let `j` be among the `k` best from
//! the origin and leave through `a`. If `j` were not in `a`'s list, `a` would list `TABLE_K ≥ k`
//! facilities `g` ranked before `j` at `a`; each has `t(o, g) ≤ s_a + t(a, g) ≤ s_a + t(a, j)
//! = t(o, j)` (ties broken by the same facility index), so `k` facilities would rank before
//! `j` from the origin: a contradiction. So every answer appears among the candidates with its
//! exact time, and any other candidate's value is at least its true time, so it cannot push
//! an answer out. Several categories: the categories are disjoint, and the best `k` of a
//! union are among the best `k` of each part, so the per-category lists merge exactly.
//! The bound `max_s` only filters (every prefix of a path is shorter than the path).
//!
//! Times are the search's up to rounding (the sums are added in another order, ~1e-12 s).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::graph::{NodeId, WalkGraph};
use super::nearest::{Nearest, NearestQuery};
use super::profile::Profile;
use super::search::{Origin, partial_s};
use super::snap::SnappedPoints;

/// Facilities kept per node: the default `k` of `/nearest` (and of the peer benchmark). A
/// larger `k` falls back to the search. Each label is 20 bytes, so a table over the default
/// data's 13,114 nodes is at most 1.3 MB; 10 would double every table for a `k` asked rarely.
pub const TABLE_K: usize = 5;

/// The [`TABLE_K`] nearest facilities (of a subset) from every node, for one profile.
#[derive(Debug, Clone, PartialEq)]
pub struct NearestTable {
    profile: Profile,
    /// Node `n`'s labels are `start[n]..start[n + 1]`, ascending by (seconds, facility).
    start: Vec<u32>,
    target: Vec<u32>,
    /// Seconds from the node to the facility's point (its connector included).
    time_s: Vec<f64>,
    /// Metres of that walk (connector included).
    dist_m: Vec<f64>,
}

#[derive(Debug, Clone, Copy)]
struct Item {
    time_s: f64,
    dist_m: f64,
    target: u32,
    node: u32,
}

impl PartialEq for Item {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Item {}
impl Ord for Item {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed for the max-heap: earliest time, then lowest facility index, first.
        other
            .time_s
            .total_cmp(&self.time_s)
            .then_with(|| other.target.cmp(&self.target))
            .then_with(|| other.node.cmp(&self.node))
    }
}
impl PartialOrd for Item {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl NearestTable {
    /// The table of the targets `accept`s (by index in `targets`) for profile `p`.
    #[must_use]
    pub fn build(
        graph: &WalkGraph,
        targets: &SnappedPoints,
        p: Profile,
        accept: impl Fn(usize) -> bool,
    ) -> NearestTable {
        const K: usize = TABLE_K;
        let n = graph.node_count();
        let mut count = vec![0u8; n];
        let mut slot_target = vec![u32::MAX; n * K];
        let mut slot_time = vec![0.0f64; n * K];
        let mut slot_dist = vec![0.0f64; n * K];
        let mut heap = BinaryHeap::new();
        for j in 0..targets.len() {
            if !accept(j) {
                continue;
            }
            let Some(s) = targets.snap(j, p) else {
                continue;
            };
            let e = graph.edge(s.edge);
            let c = s.connector_s(p);
            let f = s.fraction;
            // From `from` the point is ahead (walked forward), from `to` behind.
            for (node, t, d) in [
                (
                    e.from,
                    c + partial_s(e.cost_s(p, true), f),
                    s.offset_m + f * e.length_m,
                ),
                (
                    e.to,
                    c + partial_s(e.cost_s(p, false), 1.0 - f),
                    s.offset_m + (1.0 - f) * e.length_m,
                ),
            ] {
                if t.is_finite() {
                    heap.push(Item {
                        time_s: t,
                        dist_m: d,
                        target: j as u32,
                        node: node.0,
                    });
                }
            }
        }
        let has = |slots: &[u32], count: &[u8], x: usize, j: u32| {
            slots[x * K..x * K + usize::from(count[x])].contains(&j)
        };
        while let Some(it) = heap.pop() {
            let y = it.node as usize;
            let c = usize::from(count[y]);
            if c == K || has(&slot_target, &count, y, it.target) {
                continue;
            }
            slot_target[y * K + c] = it.target;
            slot_time[y * K + c] = it.time_s;
            slot_dist[y * K + c] = it.dist_m;
            count[y] += 1;
            for a in graph.adjacent(NodeId(it.node)) {
                let x = a.head.index();
                if usize::from(count[x]) == K || has(&slot_target, &count, x, it.target) {
                    continue;
                }
                let e = graph.edge(a.edge);
                // Walking x → y: against the adjacency's direction from y.
                let t = it.time_s + e.cost_s(p, !a.forward);
                if t.is_finite() {
                    heap.push(Item {
                        time_s: t,
                        dist_m: it.dist_m + e.length_m,
                        target: it.target,
                        node: a.head.0,
                    });
                }
            }
        }
        let total: usize = count.iter().map(|&c| usize::from(c)).sum();
        let mut table = NearestTable {
            profile: p,
            start: Vec::with_capacity(n + 1),
            target: Vec::with_capacity(total),
            time_s: Vec::with_capacity(total),
            dist_m: Vec::with_capacity(total),
        };
        table.start.push(0);
        for (x, &c) in count.iter().enumerate() {
            let r = x * K..x * K + usize::from(c);
            table.target.extend_from_slice(&slot_target[r.clone()]);
            table.time_s.extend_from_slice(&slot_time[r.clone()]);
            table.dist_m.extend_from_slice(&slot_dist[r]);
            table.start.push(table.target.len() as u32);
        }
        table
    }

    #[must_use]
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// Heap bytes held by the table.
    #[must_use]
    pub fn bytes(&self) -> usize {
        self.start.capacity() * 4
            + self.target.capacity() * 4
            + self.time_s.capacity() * 8
            + self.dist_m.capacity() * 8
    }

    /// Upper bound of [`NearestTable::bytes`] for a graph of `nodes` nodes and `targets` targets.
    #[must_use]
    pub fn bytes_max(nodes: usize, targets: usize) -> usize {
        (nodes + 1) * 4 + nodes * targets.min(TABLE_K) * 20
    }

    /// The labels of node `n`: (facility, seconds, metres), best first.
    #[inline]
    fn labels(&self, n: NodeId) -> impl Iterator<Item = (u32, f64, f64)> + '_ {
        let r = self.start[n.index()] as usize..self.start[n.index() + 1] as usize;
        self.target[r.clone()]
            .iter()
            .zip(&self.time_s[r.clone()])
            .zip(&self.dist_m[r])
            .map(|((&j, &t), &d)| (j, t, d))
    }
}

/// Per-thread scratch of [`nearest_by_table`]; once warmed up a query allocates nothing.
#[derive(Debug, Default)]
pub struct TableScratch {
    /// (seconds, facility, metres).
    cands: Vec<(f64, u32, f64)>,
}

/// Why a table query could not answer (the caller runs the search instead).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableMiss {
    /// `k` is above [`TABLE_K`].
    TooMany,
    /// A route geometry was asked for; tables hold no paths.
    Route,
    /// A table of another profile was given.
    Profile,
}

/// [`nearest()`](super::nearest::nearest) for one origin from the `tables` of the accepted
/// targets (one table per category asked, or the one of all targets): the same targets in the
/// same order, times equal up to rounding. Results go into `out` (cleared first); routes are
/// never filled in (ask the search for those).
///
/// `q.tags` must select exactly the targets the tables were built over: it picks the targets
/// snapped onto the origin's own edge, which are reached straight along it.
pub fn nearest_by_table(
    graph: &WalkGraph,
    targets: &SnappedPoints,
    tables: &[&NearestTable],
    origin: &Origin,
    q: &NearestQuery<'_>,
    scratch: &mut TableScratch,
    out: &mut Vec<Nearest>,
) -> Result<(), TableMiss> {
    out.clear();
    if q.k > TABLE_K {
        return Err(TableMiss::TooMany);
    }
    if q.with_route {
        return Err(TableMiss::Route);
    }
    let p = q.profile;
    if tables.iter().any(|t| t.profile != p) {
        return Err(TableMiss::Profile);
    }
    if q.k == 0 || targets.is_empty() {
        return Ok(());
    }
    let cands = &mut scratch.cands;
    cands.clear();
    let admit = |t: f64| t.is_finite() && t <= q.max_s;
    let e = graph.edge(origin.snap.edge);
    let f = origin.snap.fraction;
    // The two ends as the search starts them (same sums, same bound).
    for (node, t0, d0) in [
        (
            e.from,
            origin.start_s + partial_s(e.cost_s(p, false), f),
            origin.start_m + f * e.length_m,
        ),
        (
            e.to,
            origin.start_s + partial_s(e.cost_s(p, true), 1.0 - f),
            origin.start_m + (1.0 - f) * e.length_m,
        ),
    ] {
        if !admit(t0) {
            continue;
        }
        for table in tables {
            for (j, t, d) in table.labels(node) {
                let total = t0 + t;
                if admit(total) {
                    cands.push((total, j, d0 + d));
                }
            }
        }
    }
    // Targets on the origin's own edge, walked straight along it.
    for &j in targets.on_edge(origin.snap.edge, p) {
        if q.tags
            .is_some_and(|tags| !tags.contains(&targets.tag(j as usize)))
        {
            continue;
        }
        let Some(s) = targets.snap(j as usize, p) else {
            continue;
        };
        let (t, d) = if s.fraction >= f {
            (
                partial_s(e.cost_s(p, true), s.fraction - f),
                (s.fraction - f) * e.length_m,
            )
        } else {
            (
                partial_s(e.cost_s(p, false), f - s.fraction),
                (f - s.fraction) * e.length_m,
            )
        };
        let reach_s = origin.start_s + t;
        if !admit(reach_s) {
            continue;
        }
        let total = reach_s + s.connector_s(p);
        if admit(total) {
            cands.push((total, j, origin.start_m + d + s.offset_m));
        }
    }
    cands.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    for &(t, j, d) in cands.iter() {
        if out.len() == q.k {
            break;
        }
        // The first (best) candidate of each target is its time; later ones are longer walks.
        if out.iter().any(|n| n.target == j as usize) {
            continue;
        }
        out.push(Nearest {
            target: j as usize,
            walk_s: t,
            walk_m: d,
            route: None,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::walk::synthetic::{TownSpec, town};
    use crate::walk::{Searcher, nearest};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    const PROFILES: [Profile; 3] = [Profile::Standard, Profile::Elder, Profile::Wheelchair];

    /// Table answers equal the search's on random towns, origins, profiles, `k`, `max_s` and
    /// category sets (fixed seeds).
    #[test]
    fn tables_answer_as_the_search_on_random_towns() {
        let mut rng = ChaCha8Rng::seed_from_u64(15);
        let mut searcher = Searcher::new();
        let mut scratch = TableScratch::default();
        let mut out = Vec::new();
        let mut compared = 0;
        for seed in 0..12u64 {
            let mut spec = TownSpec::small(500 + seed);
            spec.nx = rng.random_range(4..=10);
            spec.ny = rng.random_range(4..=10);
            spec.facilities = rng.random_range(3..40);
            spec.relief_m = if seed % 4 == 0 {
                0.0
            } else {
                rng.random_range(5.0..60.0)
            };
            spec.river = seed % 3 == 0;
            let t = town(&spec);
            let g = WalkGraph::build(&t.walkways, &t.water, &t.proj);
            let targets = SnappedPoints::build(&g, &t.facilities, &t.facility_tags, 300.0);
            for p in PROFILES {
                let all = NearestTable::build(&g, &targets, p, |_| true);
                let per_tag: Vec<NearestTable> = (0..spec.categories)
                    .map(|c| NearestTable::build(&g, &targets, p, |j| targets.tag(j) == c))
                    .collect();
                for _ in 0..40 {
                    let (w, h) = (spec.nx as f64 * spec.block_m, spec.ny as f64 * spec.block_m);
                    let (x, y) = (rng.random_range(-20.0..w), rng.random_range(-20.0..h));
                    let Ok(s) = g.snap_for(x, y, 300.0, p) else {
                        continue;
                    };
                    let origin = Origin::new(s, p);
                    let k = rng.random_range(1..=TABLE_K);
                    let max_s = [30.0, 120.0, 400.0, 7200.0][rng.random_range(0..4)];
                    let tags: Option<Vec<u32>> = match rng.random_range(0..3) {
                        0 => None,
                        1 => Some(vec![rng.random_range(0..spec.categories)]),
                        _ => Some(vec![0, 2]),
                    };
                    let tables: Vec<&NearestTable> = match &tags {
                        None => vec![&all],
                        Some(ts) => ts.iter().map(|&c| &per_tag[c as usize]).collect(),
                    };
                    let q = NearestQuery {
                        profile: p,
                        k,
                        max_s,
                        tags: tags.as_deref(),
                        with_route: false,
                    };
                    let want = nearest(&g, &targets, &mut searcher, &[origin], &q);
                    nearest_by_table(&g, &targets, &tables, &origin, &q, &mut scratch, &mut out)
                        .expect("answerable");
                    assert_same(&want, &out, &format!("seed {seed} {p:?} {q:?}"));
                    compared += 1;
                }
            }
        }
        assert!(compared > 500, "only {compared} queries compared");
    }

    /// Same targets in the same order with times within 1e-6 s and metres within 1e-6 m;
    /// where times tie (within 1e-9 s) the order inside the tie may differ (both sides
    /// break ties by index, but sums added in another order may round a tie apart).
    pub(crate) fn assert_same(want: &[Nearest], got: &[Nearest], what: &str) {
        assert_eq!(want.len(), got.len(), "{what}: {want:?} vs {got:?}");
        for (i, (a, b)) in want.iter().zip(got).enumerate() {
            assert!(
                (a.walk_s - b.walk_s).abs() <= 1e-6,
                "{what}: rank {i}: {a:?} vs {b:?}"
            );
            if a.target == b.target {
                assert!(
                    (a.walk_m - b.walk_m).abs() <= 1e-6,
                    "{what}: rank {i} metres: {a:?} vs {b:?}"
                );
            } else {
                // Must be a tie: the same set of targets at this time on both sides.
                let tied = |xs: &[Nearest], t: f64| {
                    let mut v: Vec<usize> = xs
                        .iter()
                        .filter(|n| (n.walk_s - t).abs() <= 1e-9)
                        .map(|n| n.target)
                        .collect();
                    v.sort_unstable();
                    v
                };
                assert!(
                    (a.walk_s - b.walk_s).abs() <= 1e-9
                        && tied(want, a.walk_s) == tied(got, a.walk_s),
                    "{what}: rank {i}: {a:?} vs {b:?}"
                );
            }
        }
    }
}
