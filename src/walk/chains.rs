//! The walk graph with its degree-2 chains folded: a search graph for whole-network searches.
//!
//! Walkways are curved polylines and every inner vertex is a graph node, so most nodes of the
//! default data (about nine in ten) have exactly two neighbours. A shortest path entering
//! such a chain can only walk it to the other end, so a search needs only the *core* nodes
//! (degree ≠ 2) joined by one folded edge per chain, carrying the chain's summed cost in each
//! direction. The labels of the inner nodes follow afterwards from a sweep along each chain
//! from both ends, with no heap: the time at an inner node is the better of walking to either
//! end (plus that end's label) and of walking to a seed on the chain itself.
//!
//! [`WalkGraph`] node and edge ids stay as they are; this is an extra view built with the
//! graph. Used by [`nearest_node_times_s`] (coverage's backward multi-source search) and by
//! [`Searcher::run_folded`](super::Searcher::run_folded) (the isochrones' forward search).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::graph::{EdgeId, NodeId, WalkGraph};
use super::profile::{PROFILE_COUNT, Profile};
use super::snap::SnappedPoints;

/// Marks a node that is inside a chain (not a core node).
const INNER: u32 = u32::MAX;

/// The folded view of a [`WalkGraph`].
#[derive(Debug, Clone, Default)]
pub struct Chains {
    /// Core index of every graph node, or [`INNER`].
    core_of: Vec<u32>,
    /// Graph node of every core index.
    core_node: Vec<NodeId>,
    /// Chain `c` runs through nodes `nodes[node_off[c]..=node_off[c + 1] - 1]`, from its
    /// first core end to its last; its edges are `steps[node_off[c] - c..node_off[c + 1] - c - 1]`.
    node_off: Vec<u32>,
    nodes: Vec<NodeId>,
    /// Edge index `<< 1`, with the low bit set when the edge's `from` is the earlier node of
    /// the chain (walking the chain forward walks the edge forward).
    steps: Vec<u32>,
    /// Per profile, per step: seconds to walk it `[along the chain, against it]`, read
    /// sequentially by the sweeps instead of the (large) edge records.
    step_s: [Vec<[f64; 2]>; PROFILE_COUNT],
    /// Chain of every inner node (`u32::MAX` for core nodes).
    inner_chain: Vec<u32>,
    /// Chain of every edge.
    edge_chain: Vec<u32>,
    /// Core adjacency (CSR by core index): the core node at the chain's other end.
    adj_start: Vec<u32>,
    adj_head: Vec<u32>,
    /// Per profile, per adjacency entry: seconds to walk the chain from the head to this
    /// core node (what a backward search adds).
    adj_in_s: [Vec<f64>; PROFILE_COUNT],
    /// Per adjacency entry: the chain as a forward search leaving this core node walks it,
    /// with everything the walk needs to find its steps, so a settled core node reaches
    /// them in two dependent loads (`adj_start`, then this) rather than four.
    legs: Vec<Leg>,
    /// Per step: the edge's length along the slope, metres (the distance a search adds).
    step_m: Vec<f64>,
}

impl Chains {
    /// Fold the degree-2 chains of `g`.
    #[must_use]
    pub fn build(g: &WalkGraph) -> Chains {
        let n = g.node_count();
        let degree = |v: NodeId| g.adjacent(v).len();
        let mut core_of = vec![INNER; n];
        let mut core_node = Vec::new();
        for (v, core) in core_of.iter_mut().enumerate() {
            if degree(NodeId(v as u32)) != 2 {
                *core = core_node.len() as u32;
                core_node.push(NodeId(v as u32));
            }
        }
        let mut edge_done = vec![false; g.edge_count()];
        let mut node_off: Vec<u32> = vec![0];
        let mut nodes: Vec<NodeId> = Vec::new();
        let mut steps: Vec<u32> = Vec::new();
        let mut inner_chain = vec![u32::MAX; n];
        let mut walk_from = |start: NodeId,
                             first: usize,
                             core_of: &mut Vec<u32>,
                             core_node: &mut Vec<NodeId>,
                             edge_done: &mut Vec<bool>| {
            nodes.push(start);
            let mut a = g.adjacent(start)[first];
            let at = loop {
                edge_done[a.edge.index()] = true;
                steps.push((a.edge.0 << 1) | u32::from(a.forward));
                let at = a.head;
                nodes.push(at);
                if core_of[at.index()] != INNER || at == start {
                    break at;
                }
                // A degree-2 node: leave by the other entry (by edge, since a pair of
                // parallel edges has the same head twice).
                let adj = g.adjacent(at);
                let next = if adj[0].edge == a.edge {
                    adj[1]
                } else {
                    adj[0]
                };
                if edge_done[next.edge.index()] {
                    // A ring of degree-2 nodes closing on itself: `at` becomes its core.
                    break at;
                }
                a = next;
            };
            if core_of[at.index()] == INNER {
                // Only in a ring without any core node; make both ends (the same node) core.
                core_of[at.index()] = core_node.len() as u32;
                core_node.push(at);
            }
            node_off.push(nodes.len() as u32);
        };
        for ci in 0..core_node.len() {
            let v = core_node[ci];
            for k in 0..g.adjacent(v).len() {
                if !edge_done[g.adjacent(v)[k].edge.index()] {
                    walk_from(v, k, &mut core_of, &mut core_node, &mut edge_done);
                }
            }
        }
        // Rings with no core node: start at any node of them and make it core.
        for e in 0..g.edge_count() {
            if edge_done[e] {
                continue;
            }
            let v = g.edge(EdgeId(e as u32)).from;
            if core_of[v.index()] == INNER {
                core_of[v.index()] = core_node.len() as u32;
                core_node.push(v);
            }
            let k = g
                .adjacent(v)
                .iter()
                .position(|a| a.edge.index() == e)
                .unwrap_or(0);
            walk_from(v, k, &mut core_of, &mut core_node, &mut edge_done);
        }
        let chain_count = node_off.len() - 1;
        let mut edge_chain = vec![u32::MAX; g.edge_count()];
        for c in 0..chain_count {
            let (s, t) = (node_off[c] as usize, node_off[c + 1] as usize);
            for &v in &nodes[s + 1..t - 1] {
                inner_chain[v.index()] = c as u32;
            }
            for &st in &steps[s - c..t - c - 1] {
                edge_chain[(st >> 1) as usize] = c as u32;
            }
        }
        // Core adjacency: each chain once from its first end (walked forward) and once from
        // its last end (walked backward).
        let cores = core_node.len();
        let mut adj_start = vec![0u32; cores + 1];
        for c in 0..chain_count {
            let (s, t) = (node_off[c] as usize, node_off[c + 1] as usize - 1);
            adj_start[core_of[nodes[s].index()] as usize + 1] += 1;
            adj_start[core_of[nodes[t].index()] as usize + 1] += 1;
        }
        for i in 0..cores {
            adj_start[i + 1] += adj_start[i];
        }
        let mut fill: Vec<u32> = adj_start[..cores].to_vec();
        let entries = adj_start[cores] as usize;
        let mut adj_head = vec![0u32; entries];
        let mut adj_in_s: [Vec<f64>; PROFILE_COUNT] = std::array::from_fn(|_| vec![0.0; entries]);
        let mut legs = vec![Leg::default(); entries];
        for c in 0..chain_count {
            let (s, t) = (node_off[c] as usize, node_off[c + 1] as usize - 1);
            let (first, last) = (core_of[nodes[s].index()], core_of[nodes[t].index()]);
            let st = &steps[s - c..t - c];
            for (here, head, forward) in [(first, last, true), (last, first, false)] {
                let i = fill[here as usize] as usize;
                fill[here as usize] += 1;
                adj_head[i] = head;
                legs[i] = Leg {
                    node_start: s as u32,
                    step_start: (s - c) as u32,
                    len_flags: (((t - s) as u32) << 2) | u32::from(forward),
                    head_legs: adj_start[head as usize],
                };
                for p in Profile::ALL {
                    // Walking from the head to here: against the chain when leaving at the
                    // first end, along it when leaving at the last.
                    adj_in_s[p.index()][i] = chain_cost_s(g, st, p, !forward);
                }
            }
        }
        for core in 0..cores {
            if adj_start[core + 1] > adj_start[core] {
                legs[adj_start[core + 1] as usize - 1].len_flags |= LEG_LAST;
            }
        }
        let step_s = Profile::ALL.map(|p| {
            steps
                .iter()
                .map(|&st| [step_cost_s(g, st, p, true), step_cost_s(g, st, p, false)])
                .collect()
        });
        let step_m = steps
            .iter()
            .map(|&st| g.edge(EdgeId(st >> 1)).length_m)
            .collect();
        Chains {
            core_of,
            core_node,
            node_off,
            nodes,
            steps,
            step_s,
            inner_chain,
            edge_chain,
            adj_start,
            adj_head,
            adj_in_s,
            legs,
            step_m,
        }
    }

    /// Nodes of the folded search graph.
    #[must_use]
    pub fn core_count(&self) -> usize {
        self.core_node.len()
    }

    /// Folded edges (chains).
    #[must_use]
    pub fn chain_count(&self) -> usize {
        self.node_off.len() - 1
    }

    /// The graph nodes of chain `c` in order, both core ends included.
    #[must_use]
    pub fn chain_nodes(&self, c: usize) -> &[NodeId] {
        &self.nodes[self.node_off[c] as usize..self.node_off[c + 1] as usize]
    }

    /// The edges of chain `c` in order: edge index `<< 1`, low bit set when the edge's
    /// `from` comes first in the chain.
    #[must_use]
    pub fn chain_steps(&self, c: usize) -> &[u32] {
        &self.steps[self.step_range(c)]
    }

    fn step_range(&self, c: usize) -> std::ops::Range<usize> {
        self.node_off[c] as usize - c..self.node_off[c + 1] as usize - c - 1
    }

    /// Core index of `v`, `None` for an inner node.
    #[inline]
    pub(crate) fn core_index(&self, v: NodeId) -> Option<u32> {
        let c = self.core_of[v.index()];
        (c != INNER).then_some(c)
    }

    /// The index of the first of the [`Leg`]s of core node `core` (core index): the chains
    /// leaving it, as a forward search walks them, up to the one marked [`Leg::last`]. A loop
    /// chain is two legs, one from each end. `None` for an isolated node.
    #[inline]
    pub(crate) fn first_leg(&self, core: u32) -> Option<u32> {
        let k = self.adj_start[core as usize];
        (self.adj_start[core as usize + 1] > k).then_some(k)
    }

    #[inline]
    pub(crate) fn leg(&self, k: usize) -> Leg {
        self.legs[k]
    }

    /// What a forward search walks along chain `c`: its nodes (both ends included), its
    /// steps (see [`Chains::chain_steps`]), their seconds `[along, against]` in profile `p`
    /// and their lengths in metres. Step `j` joins nodes `j` and `j + 1`.
    #[inline]
    pub(crate) fn chain_walk(&self, c: usize, p: Profile) -> ChainWalk<'_> {
        let r = self.step_range(c);
        ChainWalk {
            nodes: self.chain_nodes(c),
            steps: &self.steps[r.clone()],
            step_s: &self.step_s[p.index()][r.clone()],
            step_m: &self.step_m[r],
        }
    }

    /// [`Chains::chain_walk`] of the chain of `leg`.
    #[inline]
    pub(crate) fn leg_walk(&self, leg: Leg, p: Profile) -> ChainWalk<'_> {
        let (n0, s0, m) = (
            leg.node_start as usize,
            leg.step_start as usize,
            (leg.len_flags >> 2) as usize,
        );
        ChainWalk {
            nodes: &self.nodes[n0..=n0 + m],
            steps: &self.steps[s0..s0 + m],
            step_s: &self.step_s[p.index()][s0..s0 + m],
            step_m: &self.step_m[s0..s0 + m],
        }
    }
}

/// A chain leaving a core node (an entry of the core adjacency), for forward searches.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Leg {
    /// Index of the chain's first node in `Chains::nodes`.
    node_start: u32,
    /// Index of the chain's first step in `Chains::steps`.
    step_start: u32,
    /// Steps `<< 2`, [`LEG_LAST`] on the last leg of its core node, and the low bit set when
    /// the core node is the chain's first end (leaving it walks the chain forward).
    len_flags: u32,
    /// [`Chains::first_leg`] of the node at the chain's other end: a search pushes it with
    /// that node, so settling the node goes straight to its legs.
    pub head_legs: u32,
}

const LEG_LAST: u32 = 2;

impl Leg {
    /// Whether leaving the core node walks the chain forward (from its first end).
    #[inline]
    pub(crate) fn forward(self) -> bool {
        self.len_flags & 1 == 1
    }

    /// Whether this is the last leg of its core node.
    #[inline]
    pub(crate) fn last(self) -> bool {
        self.len_flags & LEG_LAST != 0
    }
}

/// One chain as a forward search walks it (see [`Chains::chain_walk`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChainWalk<'a> {
    pub nodes: &'a [NodeId],
    pub steps: &'a [u32],
    pub step_s: &'a [[f64; 2]],
    pub step_m: &'a [f64],
}

/// Seconds to walk the steps of a chain in order (`along`) or in reverse.
fn chain_cost_s(g: &WalkGraph, steps: &[u32], p: Profile, along: bool) -> f64 {
    let cost = |s: u32| step_cost_s(g, s, p, along);
    if along {
        steps.iter().map(|&s| cost(s)).sum()
    } else {
        steps.iter().rev().map(|&s| cost(s)).sum()
    }
}

/// Seconds to walk one step of a chain, along the chain or against it.
#[inline]
fn step_cost_s(g: &WalkGraph, step: u32, p: Profile, along: bool) -> f64 {
    let e = g.edge(EdgeId(step >> 1));
    let edge_forward = step & 1 == 1;
    e.cost_s(p, edge_forward == along)
}

struct Item {
    /// The label's bits: for non-negative floats their order as integers is their order as
    /// numbers, and an integer compare is cheaper in the heap's sift-down than `total_cmp`
    /// with a tie-break (the order among equal labels changes no label).
    key: u64,
    core: u32,
}
impl Item {
    fn new(time_s: f64, core: u32) -> Item {
        // `+ 0.0` turns a `-0.0` (whose bits sort above every positive label) into `+0.0`.
        Item {
            key: (time_s + 0.0).to_bits(),
            core,
        }
    }
    fn time_s(&self) -> f64 {
        f64::from_bits(self.key)
    }
}
impl Eq for Item {}
impl Ord for Item {
    fn cmp(&self, o: &Self) -> Ordering {
        o.key.cmp(&self.key)
    }
}
impl PartialOrd for Item {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl PartialEq for Item {
    fn eq(&self, o: &Self) -> bool {
        self.key == o.key
    }
}

/// Backward multi-source search: given `node_s` holding, per graph node, the seconds from
/// that node to a target adjacent to it (`+∞` where none; `seeded` lists the nodes that are
/// not), fill every node with the seconds to walk from it to the nearest target in profile
/// `p` — what a plain backward Dijkstra over all nodes gives, up to rounding. Labels above
/// `max_s` become `+∞`.
pub fn nearest_node_times_s(
    g: &WalkGraph,
    node_s: &mut [f64],
    seeded: &[NodeId],
    p: Profile,
    max_s: f64,
) {
    let ch = g.chains();
    let core_s = ch.core_times_s(node_s, seeded, p, max_s);
    ch.write_core_times(&core_s, node_s);
    for c in 0..ch.chain_count() {
        ch.sweep_chain(c, &core_s, node_s, p, max_s);
    }
}

impl Chains {
    /// The first half of [`nearest_node_times_s`]: the labels of the core nodes only (by core
    /// index), from the seeds in `node_s` (which it does not change). Seeds on inner nodes
    /// reach their chain's core ends along the chain.
    pub(crate) fn core_times_s(
        &self,
        node_s: &[f64],
        seeded: &[NodeId],
        p: Profile,
        max_s: f64,
    ) -> Vec<f64> {
        let ch = self;
        let mut core_s: Vec<f64> = ch.core_node.iter().map(|v| node_s[v.index()]).collect();
        let step_s = &ch.step_s[p.index()];
        let mut chain_seen = vec![false; ch.chain_count()];
        for &v in seeded {
            let c = ch.inner_chain[v.index()];
            if c == u32::MAX || chain_seen[c as usize] {
                continue;
            }
            chain_seen[c as usize] = true;
            let c = c as usize;
            let nodes = ch.chain_nodes(c);
            let steps = ch.step_range(c);
            let st = &step_s[steps.clone()];
            let m = st.len();
            // Towards the first end: x = the best time from node j - 1 to a seed at j or beyond.
            let mut x = f64::INFINITY;
            for j in (1..m).rev() {
                x = x.min(node_s[nodes[j].index()]);
                x += st[j - 1][0];
            }
            let first = ch.core_of[nodes[0].index()] as usize;
            core_s[first] = core_s[first].min(x);
            let mut y = f64::INFINITY;
            for j in 1..m {
                y = y.min(node_s[nodes[j].index()]);
                y += st[j][1];
            }
            let last = ch.core_of[nodes[m].index()] as usize;
            core_s[last] = core_s[last].min(y);
        }
        // Dijkstra on the core graph, walking each chain towards the node being labelled.
        let mut heap = BinaryHeap::with_capacity(ch.core_count());
        for (ci, s) in core_s.iter_mut().enumerate() {
            if s.is_finite() && *s <= max_s {
                heap.push(Item::new(*s, ci as u32));
            } else {
                *s = f64::INFINITY;
            }
        }
        let in_s = &ch.adj_in_s[p.index()];
        while let Some(item) = heap.pop() {
            let (time_s, core) = (item.time_s(), item.core);
            if time_s > core_s[core as usize] {
                continue;
            }
            let r = ch.adj_start[core as usize] as usize..ch.adj_start[core as usize + 1] as usize;
            for (&h, &c) in ch.adj_head[r.clone()].iter().zip(&in_s[r]) {
                let t = time_s + c;
                if t < core_s[h as usize] && t <= max_s {
                    core_s[h as usize] = t;
                    heap.push(Item::new(t, h));
                }
            }
        }
        core_s
    }

    /// Copy the core labels (by core index) into the per-node labels.
    pub(crate) fn write_core_times(&self, core_s: &[f64], node_s: &mut [f64]) {
        for (&v, &s) in self.core_node.iter().zip(core_s) {
            node_s[v.index()] = s;
        }
    }

    /// Label the inner nodes of chain `c`: the better of the sweeps from both ends (labels
    /// `core_s`), each picking up the seeds in `node_s` on the way.
    pub(crate) fn sweep_chain(
        &self,
        c: usize,
        core_s: &[f64],
        node_s: &mut [f64],
        p: Profile,
        max_s: f64,
    ) {
        let nodes = self.chain_nodes(c);
        let st = &self.step_s[p.index()][self.step_range(c)];
        let m = st.len();
        if m < 2 {
            return;
        }
        let mut x = core_s[self.core_of[nodes[0].index()] as usize];
        for j in 1..m {
            // Walking from node j to node j - 1 is step j - 1 against the chain.
            x += st[j - 1][1];
            let v = nodes[j].index();
            x = x.min(node_s[v]);
            node_s[v] = x;
        }
        let mut y = core_s[self.core_of[nodes[m].index()] as usize];
        for j in (1..m).rev() {
            y += st[j][0];
            let v = nodes[j].index();
            y = y.min(node_s[v]);
            node_s[v] = if y <= max_s { y } else { f64::INFINITY };
        }
    }

    /// The chain an edge belongs to.
    #[must_use]
    pub fn chain_of_edge(&self, e: EdgeId) -> Option<usize> {
        let c = *self.edge_chain.get(e.index())?;
        (c != u32::MAX).then_some(c as usize)
    }

    /// The chain an inner node lies in (`None` for a core node).
    #[must_use]
    pub fn chain_of_inner(&self, v: NodeId) -> Option<usize> {
        let c = self.inner_chain[v.index()];
        (c != u32::MAX).then_some(c as usize)
    }
}

/// Where a snapped point meets the folded graph in one profile: the chain of its edge, the
/// chain's two core ends (core indices) and the seconds to walk from the point (connector
/// included) to each end along the chain. With no target on the chain, the point's time to
/// the nearest target is the better of the two ends' labels plus these, so the buildings of
/// a coverage search read two core labels each instead of the chains being swept node by node
/// and each building's edge record being looked up (a cache miss per building: the largest
/// share of a fresh `/coverage` request's time before).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChainEnd {
    /// The chain of the point's edge; `u32::MAX` when the point is not snapped in this profile.
    pub chain: u32,
    pub first: u32,
    pub last: u32,
    pub to_first_s: f64,
    pub to_last_s: f64,
}

impl ChainEnd {
    const NONE: ChainEnd = ChainEnd {
        chain: u32::MAX,
        first: u32::MAX,
        last: u32::MAX,
        to_first_s: f64::INFINITY,
        to_last_s: f64::INFINITY,
    };
}

/// [`ChainEnd`]s of every point of a [`SnappedPoints`] in one profile (built once for the
/// buildings with the world: 32 bytes a building and profile).
#[derive(Debug, Clone, PartialEq)]
pub struct PointEnds {
    pub profile: Profile,
    pub ends: Vec<ChainEnd>,
}

impl PointEnds {
    /// The chain ends of every point of `points` on `g` in profile `p`.
    #[must_use]
    pub fn build(g: &WalkGraph, points: &SnappedPoints, p: Profile) -> PointEnds {
        let ch = g.chains();
        // Edge -> (chain, step within it), and per global step the seconds from its first
        // node back to the chain's first end and from its second node on to the last end.
        let mut edge_at = vec![(u32::MAX, 0u32); g.edge_count()];
        debug_assert_eq!(ch.edge_chain.len(), g.edge_count());
        let step_s = &ch.step_s[p.index()];
        let mut to_first = vec![0.0f64; ch.steps.len()];
        let mut to_last = vec![0.0f64; ch.steps.len()];
        for c in 0..ch.chain_count() {
            let r = ch.step_range(c);
            let st = &step_s[r.clone()];
            let mut acc = 0.0;
            for (j, k) in r.clone().enumerate() {
                edge_at[(ch.steps[k] >> 1) as usize] = (c as u32, j as u32);
                to_first[k] = acc;
                acc += st[j][1];
            }
            let mut acc = 0.0;
            for (j, k) in r.enumerate().rev() {
                to_last[k] = acc;
                acc += st[j][0];
            }
        }
        let ends = (0..points.len())
            .map(|i| {
                let Some(b) = points.snap(i, p) else {
                    return ChainEnd::NONE;
                };
                let (c, j) = edge_at[b.edge.index()];
                if c == u32::MAX {
                    return ChainEnd::NONE;
                }
                let k = ch.step_range(c as usize).start + j as usize;
                let e = g.edge(b.edge);
                // To the edge's `from` walks it backward from the point, to `to` forward.
                let to_from = partial_s(e.cost_s(p, false), b.fraction);
                let to_to = partial_s(e.cost_s(p, true), 1.0 - b.fraction);
                let (to_earlier, to_later) = if ch.steps[k] & 1 == 1 {
                    (to_from, to_to)
                } else {
                    (to_to, to_from)
                };
                let nodes = ch.chain_nodes(c as usize);
                let conn = b.connector_s(p);
                ChainEnd {
                    chain: c,
                    first: ch.core_of[nodes[0].index()],
                    last: ch.core_of[nodes[nodes.len() - 1].index()],
                    to_first_s: conn + to_earlier + to_first[k],
                    to_last_s: conn + to_later + to_last[k],
                }
            })
            .collect();
        PointEnds { profile: p, ends }
    }
}

/// Seconds of the part of an edge of `cost_s` covering `fraction` of it (0 for none, even
/// on an impassable edge).
#[must_use]
pub fn partial_s(cost_s: f64, fraction: f64) -> f64 {
    if fraction <= 0.0 {
        0.0
    } else {
        cost_s * fraction
    }
}
