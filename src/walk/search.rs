//! Bounded multi-source Dijkstra with reusable per-thread state.

use super::chains::ChainWalk;
use super::graph::{EdgeId, NodeId, WalkGraph};
use super::profile::Profile;
use super::snap::Snap;

/// A starting point of a search: a snapped position plus the time and distance already
/// spent reaching it (by default the connector from the point to the walkway at flat speed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Origin {
    pub snap: Snap,
    /// Seconds already spent when standing at the snapped position.
    pub start_s: f64,
    /// Metres already walked when standing at the snapped position.
    pub start_m: f64,
}

impl Origin {
    /// An origin that counts the connector (`snap.offset_m`) at the profile's flat speed.
    #[must_use]
    pub fn new(snap: Snap, p: Profile) -> Origin {
        Origin {
            snap,
            start_s: snap.connector_s(p),
            start_m: snap.offset_m,
        }
    }

    /// An origin that starts at the snapped position with nothing spent.
    #[must_use]
    pub fn at_snap(snap: Snap) -> Origin {
        Origin {
            snap,
            start_s: 0.0,
            start_m: 0.0,
        }
    }
}

/// How a reached position was reached: over a settled node, or straight along the edge an
/// origin sits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Node(NodeId),
    SameEdge { origin: u32 },
}

/// Time and distance to a position on the network.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reach {
    pub time_s: f64,
    pub dist_m: f64,
    pub via: Via,
}

const NO_PRED: u32 = u32::MAX;
const ORIGIN_FLAG: u32 = 1 << 31;

/// A frontier entry: a node and its tentative time, as one integer key whose unsigned order
/// is `f64::total_cmp`'s order of the time, then the node id. Comparing two entries is one
/// 128-bit integer compare instead of `total_cmp` (two bit transforms each) plus a tie-break.
/// The lowest 32 bits carry a word for the search (the folded search's first leg + 1);
/// they never decide the order, as a node is pushed again only with a lower time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct HeapItem(u128);

impl HeapItem {
    #[inline]
    fn new(time_s: f64, node: u32) -> HeapItem {
        HeapItem::with_aux(time_s, node, 0)
    }

    #[inline]
    fn with_aux(time_s: f64, node: u32, aux: u32) -> HeapItem {
        HeapItem(
            (u128::from(total_order_bits(time_s)) << 64)
                | (u128::from(node) << 32)
                | u128::from(aux),
        )
    }

    #[inline]
    fn time_s(self) -> f64 {
        from_total_order_bits((self.0 >> 64) as u64)
    }

    #[inline]
    fn node(self) -> u32 {
        (self.0 >> 32) as u32
    }

    #[inline]
    fn aux(self) -> u32 {
        self.0 as u32
    }
}

/// The bits of `t` as an unsigned integer ordered as `f64::total_cmp` orders floats: the
/// same transform `total_cmp` applies (flip the magnitude bits of negatives), then the sign
/// bit flipped so that signed order becomes unsigned order.
#[inline]
fn total_order_bits(t: f64) -> u64 {
    let b = t.to_bits() as i64;
    let k = b ^ ((((b >> 63) as u64) >> 1) as i64);
    (k as u64) ^ (1 << 63)
}

/// The inverse of [`total_order_bits`] (the magnitude flip is its own inverse, as it keeps
/// the sign bit).
#[inline]
fn from_total_order_bits(u: u64) -> f64 {
    let k = (u ^ (1 << 63)) as i64;
    f64::from_bits((k ^ ((((k >> 63) as u64) >> 1) as i64)) as u64)
}

/// A 4-ary min-heap of [`HeapItem`]s. Half the levels of a binary heap, and a node's four
/// children share a cache line (16-byte items), so a pop's sift-down touches half the lines.
/// Items pop in increasing key order, so the sequence of settled nodes (earliest time, then
/// lowest node id) is the same as with any other exact priority queue.
#[derive(Debug, Default)]
struct Frontier {
    items: Vec<HeapItem>,
}

impl Frontier {
    #[inline]
    fn clear(&mut self) {
        self.items.clear();
    }

    #[inline]
    fn peek(&self) -> Option<HeapItem> {
        self.items.first().copied()
    }

    #[inline]
    fn push(&mut self, item: HeapItem) {
        let items = &mut self.items;
        let mut i = items.len();
        items.push(item);
        while i > 0 {
            let parent = (i - 1) / 4;
            let up = items[parent];
            if up <= item {
                break;
            }
            items[i] = up;
            i = parent;
        }
        items[i] = item;
    }

    #[inline]
    fn pop(&mut self) -> Option<HeapItem> {
        let items = &mut self.items;
        let last = items.pop()?;
        let n = items.len();
        if n == 0 {
            return Some(last);
        }
        let top = items[0];
        // Sift `last` down from the root into the hole. The least of four children is found
        // by a tournament of index selections (conditional moves, not branches: which child
        // is least is a coin toss the branch predictor loses); only a last, partial family
        // takes the loop.
        let mut i = 0;
        loop {
            let c = 4 * i + 1;
            let m = if c + 3 < n {
                let a = c + usize::from(items[c + 1] < items[c]);
                let b = c + 2 + usize::from(items[c + 3] < items[c + 2]);
                if items[b] < items[a] { b } else { a }
            } else if c < n {
                (c + 1..n).fold(c, |m, k| if items[k] < items[m] { k } else { m })
            } else {
                break;
            };
            let min = items[m];
            if min >= last {
                break;
            }
            items[i] = min;
            i = m;
        }
        items[i] = last;
        Some(top)
    }
}

/// Cost of walking `fraction` of an edge whose full cost is `cost_s`. Zero for a zero
/// fraction even on an impassable edge (standing at its end node costs nothing).
#[inline]
pub(crate) fn partial_s(cost_s: f64, fraction: f64) -> f64 {
    if fraction <= 0.0 {
        0.0
    } else {
        cost_s * fraction
    }
}

/// An edge as [`Searcher::reach`] enters it from its ends (see [`Searcher::edge_entry`]).
// Every field is in seconds, and units go in names (house style).
#[allow(clippy::struct_field_names)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct EdgeEntry {
    from_s: f64,
    to_s: f64,
    forward_s: f64,
    backward_s: f64,
    max_s: f64,
}

impl EdgeEntry {
    /// The time `reach` gives the position at `fraction` of the edge: the least finite one
    /// within the bound of entering from either settled end (from `from` on a tie).
    #[must_use]
    pub(crate) fn time_s(&self, fraction: f64) -> Option<f64> {
        let within = |t: f64| t.is_finite() && t <= self.max_s;
        let from = self.from_s + partial_s(self.forward_s, fraction);
        let to = self.to_s + partial_s(self.backward_s, 1.0 - fraction);
        match (within(from), within(to)) {
            (true, true) => Some(if to < from { to } else { from }),
            (true, false) => Some(from),
            (false, true) => Some(to),
            (false, false) => None,
        }
    }
}

/// Per-node state of a search, together so that relaxing or checking a node touches one
/// cache line instead of one per array. 24 bytes: the settled mark is the stamp's low bit
/// (generations are even), not a stamp of its own; at 32 bytes the states of an isochrone's
/// nodes took a third more cache lines, read again when its polygon is drawn.
#[derive(Debug, Clone, Copy)]
struct NodeState {
    /// The generation whose label this is, plus 1 once the node is settled in it; stale
    /// (unreached) when not the current generation or the one after it.
    stamp: u32,
    /// Edge index with the direction bit in the lowest bit, or `ORIGIN_FLAG | origin`.
    pred: u32,
    time_s: f64,
    dist_m: f64,
}

impl Default for NodeState {
    fn default() -> Self {
        NodeState {
            stamp: 0,
            pred: NO_PRED,
            time_s: 0.0,
            dist_m: 0.0,
        }
    }
}

impl NodeState {
    /// Labelled in generation `g` (settled or not).
    #[inline]
    fn labelled(&self, g: u32) -> bool {
        self.stamp & !1 == g
    }

    /// Settled in generation `g`.
    #[inline]
    fn settled(&self, g: u32) -> bool {
        self.stamp == g | 1
    }
}

/// Per-query state of a shortest-path search, reused across queries. Resetting is O(1):
/// a node's entries count only when its stamp equals the current generation, so a query
/// touches only the nodes it reaches and allocates nothing once warmed up.
///
/// One `Searcher` per thread (e.g. `thread_local!` or one per actix worker); the graph
/// itself is shared immutably.
#[derive(Debug, Default)]
pub struct Searcher {
    generation: u32,
    node: Vec<NodeState>,
    heap: Frontier,
    settled: Vec<NodeId>,
    origins: Vec<Origin>,
    profile: Profile,
    max_s: f64,
    pub(crate) target_stamp: Vec<u32>,
    pub(crate) target_slot: Vec<u32>,
    /// The edges with a settled end, as [`Searcher::run_folded`]'s walks step onto them: a
    /// bitset by edge id and its non-zero words (unsorted). The isochrone's polygon needs
    /// exactly this set; gathering it afterwards from the settled nodes' adjacency read
    /// every settled node's adjacency again, which the folded search never loads for the
    /// nine in ten nodes inside chains (~460 of an isochrone's ~4,000 L2 misses).
    reached_bits: Vec<u64>,
    reached_words: Vec<u32>,
    /// Whether `reached_*` belong to the current search (only `run_folded` records them).
    reached_valid: bool,
}

impl Searcher {
    #[must_use]
    pub fn new() -> Searcher {
        Searcher::default()
    }

    /// Run a full search from `origins`, settling every node reachable within `max_s`
    /// seconds. Origins on edges the profile cannot walk reach nothing past their edge.
    pub fn run(&mut self, graph: &WalkGraph, origins: &[Origin], profile: Profile, max_s: f64) {
        self.start(graph, origins, profile, max_s);
        // `settle_next` without its per-node `Option`s and repeated bounds checks: the same
        // nodes settle in the same order (earliest time, then lowest node id).
        let generation = self.generation;
        while let Some(top) = self.heap.pop() {
            let ui = top.node() as usize;
            let st = &mut self.node[ui];
            if st.settled(generation) || top.time_s() > st.time_s {
                continue;
            }
            st.stamp = generation | 1;
            let (t, d) = (st.time_s, st.dist_m);
            let u = NodeId(top.node());
            self.settled.push(u);
            self.relax_adjacent(graph, u, t, d);
        }
    }

    /// [`Searcher::run`] on the folded graph: the heap holds only core nodes (degree ≠ 2) and
    /// the origins' edge ends, and a settled node walks each chain leaving it node by node.
    /// About nine in ten nodes of the default data lie inside chains, where a path can only
    /// walk through, so nine in ten heap pushes and pops are saved.
    ///
    /// Afterwards every node's time ([`Searcher::node_reach`]) is bit for bit `run`'s (each
    /// step adds the same costs in the same order), and [`Searcher::settled`] holds the same
    /// nodes, though not in order of time. Ties between equal times are broken as `run`
    /// breaks them, so distances and routes are `run`'s too — except where a step costs
    /// nothing (or rounds away against a huge start time): a node that `run` settles later,
    /// reached over such a step at an equal time, is ranked here by its id alone, so its
    /// successors may keep another of the equally fast routes (review of the twelfth
    /// session; walkway edges of zero length between distinct positions are the only real
    /// case). Not to be driven with [`Searcher::settle_next`].
    pub fn run_folded(
        &mut self,
        graph: &WalkGraph,
        origins: &[Origin],
        profile: Profile,
        max_s: f64,
    ) {
        self.start(graph, origins, profile, max_s);
        self.reached_bits.resize(graph.edge_count().div_ceil(64), 0);
        self.reached_valid = true;
        let ch = graph.chains();
        let generation = self.generation;
        while let Some(top) = self.heap.pop() {
            let u = NodeId(top.node());
            let st = &mut self.node[u.index()];
            // An inner seed improved by a chain walk is settled already (and its entry stale).
            if st.settled(generation) || top.time_s() > st.time_s {
                continue;
            }
            st.stamp = generation | 1;
            let (t, d) = (st.time_s, st.dist_m);
            self.settled.push(u);
            // The node's first leg rides on the heap entries the walks push (not on the
            // seeds'), so settling it loads its legs with no look-up before.
            let first = match top.aux() {
                0 => ch.core_index(u).map(|core| ch.first_leg(core)),
                k => Some(Some(k - 1)),
            };
            match first {
                Some(Some(first)) => {
                    let mut k = first as usize;
                    loop {
                        let leg = ch.leg(k);
                        let w = ch.leg_walk(leg, profile);
                        if leg.forward() {
                            self.walk_along(graph, &w, 0, t, d, leg.head_legs);
                        } else {
                            self.walk_against(graph, &w, w.steps.len(), t, d, leg.head_legs);
                        }
                        if leg.last() {
                            break;
                        }
                        k += 1;
                    }
                }
                // A core node with no chains (an isolated node).
                Some(None) => {}
                None => {
                    // A seed inside a chain (an origin's edge end): both ways along its chain.
                    if let Some(c) = ch.chain_of_inner(u) {
                        let w = ch.chain_walk(c, profile);
                        let i = w.nodes.iter().position(|&v| v == u).unwrap_or(0);
                        // (Chain ends are core nodes with legs; `u32::MAX` would only make
                        // their pop look them up.)
                        let legs_of = |v: Option<&NodeId>| {
                            v.and_then(|&v| ch.core_index(v))
                                .and_then(|core| ch.first_leg(core))
                                .unwrap_or(u32::MAX)
                        };
                        self.walk_along(graph, &w, i, t, d, legs_of(w.nodes.last()));
                        self.walk_against(graph, &w, i, t, d, legs_of(w.nodes.first()));
                    }
                }
            }
        }
    }

    /// Walk chain `w` forward from its node `i`, labelled `t` s and `d` m (`end_legs` is the
    /// far end's first leg): each inner node
    /// is labelled while the walk beats its label, and the far core end is relaxed.
    /// Where the walk stops the other wave (from the other end, or a seed) is at least as
    /// good, and stays so on: it falls in the walking direction while this one rises.
    // Inlined into `run_folded`'s pop loop the folded search measured ~15 % faster
    // (iso_loop split), more than the compiler's own choice.
    #[allow(clippy::inline_always)]
    #[inline(always)]
    fn walk_along(
        &mut self,
        graph: &WalkGraph,
        w: &ChainWalk<'_>,
        i: usize,
        t: f64,
        d: f64,
        end_legs: u32,
    ) {
        let m = w.steps.len();
        let (mut t, mut d) = (t, d);
        for j in i..m {
            // Node `j` is settled, so step `j` has a settled end, walkable or not.
            self.mark_reached(w.steps[j] >> 1);
            // The same additions `relax_adjacent` makes, in the same order.
            let th = t + w.step_s[j][0];
            if !(th.is_finite() && th <= self.max_s) {
                return;
            }
            let dh = d + w.step_m[j];
            // The low bit of a step says its edge is walked forward when walking along.
            let pred = w.steps[j];
            if j + 1 == m {
                self.relax_end(graph, w.nodes[m], end_legs, th, dh, pred);
                return;
            }
            if !self.label_inner(graph, w.nodes[j + 1], th, dh, pred) {
                return;
            }
            (t, d) = (th, dh);
        }
    }

    /// [`Searcher::walk_along`] backward, from node `i` towards node 0.
    // Inlined into `run_folded`'s pop loop the folded search measured ~15 % faster
    // (iso_loop split), more than the compiler's own choice.
    #[allow(clippy::inline_always)]
    #[inline(always)]
    fn walk_against(
        &mut self,
        graph: &WalkGraph,
        w: &ChainWalk<'_>,
        i: usize,
        t: f64,
        d: f64,
        end_legs: u32,
    ) {
        let (mut t, mut d) = (t, d);
        for j in (0..i).rev() {
            // Node `j + 1` is settled, so step `j` has a settled end, walkable or not.
            self.mark_reached(w.steps[j] >> 1);
            let th = t + w.step_s[j][1];
            if !(th.is_finite() && th <= self.max_s) {
                return;
            }
            let dh = d + w.step_m[j];
            let pred = w.steps[j] ^ 1;
            if j == 0 {
                self.relax_end(graph, w.nodes[0], end_legs, th, dh, pred);
                return;
            }
            if !self.label_inner(graph, w.nodes[j], th, dh, pred) {
                return;
            }
            (t, d) = (th, dh);
        }
    }

    /// Record edge `e` as having a settled end (see `reached_bits`).
    #[allow(clippy::inline_always)]
    #[inline(always)]
    fn mark_reached(&mut self, e: u32) {
        let wi = (e / 64) as usize;
        let word = &mut self.reached_bits[wi];
        if *word == 0 {
            self.reached_words.push(wi as u32);
        }
        *word |= 1u64 << (e % 64);
    }

    /// After [`Searcher::run_folded`]: the edges with a settled end, as the non-zero words
    /// (unsorted, each once) of a bitset by edge id, and the bitset. `None` after any other
    /// search, whose edges must be gathered from the settled nodes' adjacency.
    #[must_use]
    pub(crate) fn reached_edge_bits(&self) -> Option<(&[u32], &[u64])> {
        self.reached_valid
            .then_some((self.reached_words.as_slice(), self.reached_bits.as_slice()))
    }

    /// After [`Searcher::run_folded`]: the edges with a settled end (walkable or not), in
    /// increasing id order, as its walks recorded them. `None` after any other search.
    #[must_use]
    pub fn edges_reached(&self) -> Option<impl Iterator<Item = EdgeId> + '_> {
        let (words, bits) = self.reached_edge_bits()?;
        let mut words = words.to_vec();
        words.sort_unstable();
        Some(words.into_iter().flat_map(move |wi| {
            let mut b = bits[wi as usize];
            std::iter::from_fn(move || {
                (b != 0).then(|| {
                    let e = EdgeId(wi * 64 + b.trailing_zeros());
                    b &= b - 1;
                    e
                })
            })
        }))
    }

    /// Label inner node `v` with time `t`, distance `d` and predecessor step `pred` when that
    /// beats its label; false (the walk stops) when it does not.
    // An exact tie is what `run`'s strict `<` leaves to the order of relaxing.
    #[allow(clippy::float_cmp)]
    // Inlined into `run_folded`'s pop loop the folded search measured ~15 % faster
    // (iso_loop split), more than the compiler's own choice.
    #[allow(clippy::inline_always)]
    #[inline(always)]
    fn label_inner(&mut self, graph: &WalkGraph, v: NodeId, t: f64, d: f64, pred: u32) -> bool {
        let generation = self.generation;
        let st = &mut self.node[v.index()];
        if !st.labelled(generation) || t < st.time_s {
            // Settled once, at its first label: a later wave may still lower it.
            let first = !st.settled(generation);
            st.stamp = generation | 1;
            st.time_s = t;
            st.dist_m = d;
            st.pred = pred;
            if first {
                self.settled.push(v);
            }
            true
        } else if t == st.time_s {
            let old = st.pred;
            let wins = self.tie_wins(graph, pred, old);
            if wins {
                let st = &mut self.node[v.index()];
                st.dist_m = d;
                st.pred = pred;
            }
            wins
        } else {
            false
        }
    }

    /// Relax core node `v` (a chain's end, first leg `legs`) as `relax_adjacent` does, ties
    /// broken as `run` breaks them (the entry on the heap has the same time already).
    // An exact tie is what `run`'s strict `<` leaves to the order of relaxing.
    #[allow(clippy::float_cmp)]
    // Inlined into `run_folded`'s pop loop the folded search measured ~15 % faster
    // (iso_loop split), more than the compiler's own choice.
    #[allow(clippy::inline_always)]
    #[inline(always)]
    fn relax_end(&mut self, graph: &WalkGraph, v: NodeId, legs: u32, t: f64, d: f64, pred: u32) {
        let generation = self.generation;
        let st = &mut self.node[v.index()];
        if st.settled(generation) {
            return;
        }
        if !st.labelled(generation) || t < st.time_s {
            st.stamp = generation;
            st.time_s = t;
            st.dist_m = d;
            st.pred = pred;
            self.heap
                .push(HeapItem::with_aux(t, v.0, legs.wrapping_add(1)));
        } else if t == st.time_s {
            let old = st.pred;
            if self.tie_wins(graph, pred, old) {
                let st = &mut self.node[v.index()];
                st.dist_m = d;
                st.pred = pred;
            }
        }
    }

    /// Whether a candidate label over step `new` beats one over step `old` with the same
    /// time, as in `run`: there the first candidate relaxed wins, and candidates are relaxed
    /// by the origins first (in order), then in the order their tails settle (time, then
    /// node id), then in the order of the tail's adjacency. (A tail settled after the node
    /// itself comes later in that order than the node's own label's tail, so it loses as
    /// `run` ignores it.) The same step again is the same path with its tail relabelled
    /// since, which wins.
    #[cold]
    #[inline(never)]
    fn tie_wins(&self, graph: &WalkGraph, new: u32, old: u32) -> bool {
        if old & ORIGIN_FLAG != 0 {
            return false;
        }
        if old == new {
            return true;
        }
        self.step_key(graph, new) < self.step_key(graph, old)
    }

    /// The order in which `run` relaxes over step `pred`: its tail's settling key, then the
    /// step's place in the tail's adjacency.
    fn step_key(&self, graph: &WalkGraph, pred: u32) -> (u64, u32, usize) {
        let edge = EdgeId(pred >> 1);
        let forward = pred & 1 == 1;
        let e = graph.edge(edge);
        let tail = if forward { e.from } else { e.to };
        let at = graph
            .adjacent(tail)
            .iter()
            .position(|a| a.edge == edge && a.forward == forward)
            .unwrap_or(usize::MAX);
        (total_order_bits(self.node[tail.index()].time_s), tail.0, at)
    }

    /// Prepare a search without settling anything; drive it with [`Searcher::settle_next`].
    pub fn start(&mut self, graph: &WalkGraph, origins: &[Origin], profile: Profile, max_s: f64) {
        let n = graph.node_count();
        if self.node.len() < n {
            self.node.resize(n, NodeState::default());
        }
        // Even: the low bit of a node's stamp is its settled mark.
        self.generation = self.generation.wrapping_add(2);
        if self.generation == 0 {
            // Once every 2 billion queries the stamps are cleared for real.
            for st in &mut self.node {
                st.stamp = 0;
            }
            self.target_stamp.fill(0);
            self.generation = 2;
        }
        self.heap.clear();
        self.settled.clear();
        for &wi in &self.reached_words {
            self.reached_bits[wi as usize] = 0;
        }
        self.reached_words.clear();
        self.reached_valid = false;
        self.origins.clear();
        self.origins.extend_from_slice(origins);
        self.profile = profile;
        self.max_s = max_s;
        for (oi, o) in origins.iter().enumerate() {
            let e = graph.edge(o.snap.edge);
            let f = o.snap.fraction;
            let pred = ORIGIN_FLAG | oi as u32;
            let t_from = o.start_s + partial_s(e.cost_s(profile, false), f);
            self.relax(e.from, t_from, o.start_m + f * e.length_m, pred);
            let t_to = o.start_s + partial_s(e.cost_s(profile, true), 1.0 - f);
            self.relax(e.to, t_to, o.start_m + (1.0 - f) * e.length_m, pred);
        }
    }

    #[inline]
    fn relax(&mut self, n: NodeId, t: f64, d: f64, pred: u32) {
        // Rejects NaN and +inf (impassable) even when the bound itself is infinite.
        if !(t.is_finite() && t <= self.max_s) {
            return;
        }
        let st = &mut self.node[n.index()];
        if !st.labelled(self.generation) || t < st.time_s {
            st.stamp = self.generation;
            st.time_s = t;
            st.dist_m = d;
            st.pred = pred;
            self.heap.push(HeapItem::new(t, n.0));
        }
    }

    /// Earliest time on the frontier (the next node to settle), if any within the bound.
    pub fn peek_time_s(&mut self) -> Option<f64> {
        while let Some(top) = self.heap.peek() {
            let st = &self.node[top.node() as usize];
            if st.settled(self.generation) || top.time_s() > st.time_s {
                self.heap.pop();
                continue;
            }
            return Some(top.time_s());
        }
        None
    }

    /// Settle the next node and relax its edges; `None` when the search is exhausted.
    pub fn settle_next(&mut self, graph: &WalkGraph) -> Option<NodeId> {
        self.peek_time_s()?;
        let top = self.heap.pop()?;
        let u = NodeId(top.node());
        let st = &mut self.node[u.index()];
        st.stamp = self.generation | 1;
        let (t, d) = (st.time_s, st.dist_m);
        self.settled.push(u);
        self.relax_adjacent(graph, u, t, d);
        Some(u)
    }

    /// Relax the edges out of `u`, just settled at time `t` and distance `d`: [`Searcher::relax`]
    /// for every head not yet settled, with one look at the head's state instead of two.
    #[inline]
    fn relax_adjacent(&mut self, graph: &WalkGraph, u: NodeId, t: f64, d: f64) {
        let (adj, cost_s, length_m) = graph.adjacent_costs(u, self.profile);
        let generation = self.generation;
        for ((a, &c), &l) in adj.iter().zip(cost_s).zip(length_m) {
            let st = &mut self.node[a.head.index()];
            if st.settled(generation) {
                continue;
            }
            let th = t + c;
            // Rejects NaN and +inf (impassable) even when the bound itself is infinite.
            if !(th.is_finite() && th <= self.max_s) {
                continue;
            }
            if !st.labelled(generation) || th < st.time_s {
                st.stamp = generation;
                st.time_s = th;
                st.dist_m = d + l;
                st.pred = (a.edge.0 << 1) | u32::from(a.forward);
                self.heap.push(HeapItem::new(th, a.head.0));
            }
        }
    }

    /// The profile of the current search.
    #[must_use]
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// The time bound of the current search, seconds.
    #[must_use]
    pub fn max_s(&self) -> f64 {
        self.max_s
    }

    /// The origins of the current search.
    #[must_use]
    pub fn origins(&self) -> &[Origin] {
        &self.origins
    }

    /// Nodes settled so far: in order of time after [`Searcher::run`] and
    /// [`Searcher::settle_next`], in no particular order after [`Searcher::run_folded`].
    #[must_use]
    pub fn settled(&self) -> &[NodeId] {
        &self.settled
    }

    /// Final time (s) and distance (m) of a settled node; `None` when not settled.
    #[inline]
    #[must_use]
    pub fn node_reach(&self, n: NodeId) -> Option<(f64, f64)> {
        self.node
            .get(n.index())
            .filter(|st| st.settled(self.generation))
            .map(|st| (st.time_s, st.dist_m))
    }

    /// Time of a settled node, or `+∞`.
    #[inline]
    #[must_use]
    pub fn node_time_s(&self, n: NodeId) -> f64 {
        self.node_reach(n).map_or(f64::INFINITY, |r| r.0)
    }

    /// Time and distance to a snapped position, not counting its connector: the best of
    /// entering its edge from either settled end (walking the partial edge in that direction)
    /// and of walking straight from an origin on the same edge. `None` when that exceeds the
    /// search bound or the position is unreachable.
    #[must_use]
    pub fn reach(&self, graph: &WalkGraph, snap: &Snap) -> Option<Reach> {
        let e = graph.edge(snap.edge);
        let f = snap.fraction;
        let p = self.profile;
        let mut best: Option<Reach> = None;
        let mut consider = |time_s: f64, dist_m: f64, via: Via| {
            if time_s.is_finite() && time_s <= self.max_s && best.is_none_or(|b| time_s < b.time_s)
            {
                best = Some(Reach {
                    time_s,
                    dist_m,
                    via,
                });
            }
        };
        if let Some((t, d)) = self.node_reach(e.from) {
            consider(
                t + partial_s(e.cost_s(p, true), f),
                d + f * e.length_m,
                Via::Node(e.from),
            );
        }
        if let Some((t, d)) = self.node_reach(e.to) {
            consider(
                t + partial_s(e.cost_s(p, false), 1.0 - f),
                d + (1.0 - f) * e.length_m,
                Via::Node(e.to),
            );
        }
        for (oi, o) in self.origins.iter().enumerate() {
            if o.snap.edge != snap.edge {
                continue;
            }
            let fo = o.snap.fraction;
            let (t, d) = if f >= fo {
                (partial_s(e.cost_s(p, true), f - fo), (f - fo) * e.length_m)
            } else {
                (partial_s(e.cost_s(p, false), fo - f), (fo - f) * e.length_m)
            };
            consider(
                o.start_s + t,
                o.start_m + d,
                Via::SameEdge { origin: oi as u32 },
            );
        }
        best
    }

    /// What [`Searcher::reach`] reads of edge `e` for a position on it, read once for many
    /// positions (the buildings on one edge): its ends' times and its costs. `None` when an
    /// origin sits on the edge, whose own candidates only `reach` weighs.
    #[must_use]
    pub(crate) fn edge_entry(&self, graph: &WalkGraph, e: EdgeId) -> Option<EdgeEntry> {
        if self.origins.iter().any(|o| o.snap.edge == e) {
            return None;
        }
        let edge = graph.edge(e);
        let p = self.profile;
        Some(EdgeEntry {
            from_s: self.node_time_s(edge.from),
            to_s: self.node_time_s(edge.to),
            forward_s: edge.cost_s(p, true),
            backward_s: edge.cost_s(p, false),
            max_s: self.max_s,
        })
    }

    /// The route to a reached position as local-metre points: origin point, its snap,
    /// the nodes in order, then `snap.snapped_xy` and `snap.point_xy`. Consecutive duplicate
    /// points are dropped.
    #[must_use]
    pub fn route_xy(&self, graph: &WalkGraph, via: Via, snap: &Snap) -> Vec<[f64; 2]> {
        let mut rev: Vec<[f64; 2]> = vec![snap.point_xy, snap.snapped_xy];
        let origin = match via {
            Via::SameEdge { origin } => origin,
            Via::Node(mut n) => loop {
                rev.push(graph.node_xy(n));
                let pred = self.node[n.index()].pred;
                if pred & ORIGIN_FLAG != 0 {
                    break pred & !ORIGIN_FLAG;
                }
                let e = graph.edge(EdgeId(pred >> 1));
                // The lowest bit says the edge was walked forward, so we came from `from`.
                n = if pred & 1 == 1 { e.from } else { e.to };
            },
        };
        if let Some(o) = self.origins.get(origin as usize) {
            rev.push(o.snap.snapped_xy);
            rev.push(o.snap.point_xy);
        }
        rev.reverse();
        rev.dedup();
        rev
    }

    /// The edges walked (in order) on the way to settled node `n`, for checks such as
    /// "a wheelchair route never uses stairs". Excludes the origin's and target's partial edges.
    #[must_use]
    pub fn path_edges(&self, graph: &WalkGraph, mut n: NodeId) -> Vec<EdgeId> {
        let mut out = Vec::new();
        if self.node_reach(n).is_none() {
            return out;
        }
        loop {
            let pred = self.node[n.index()].pred;
            if pred & ORIGIN_FLAG != 0 || pred == NO_PRED {
                break;
            }
            let id = EdgeId(pred >> 1);
            out.push(id);
            let e = graph.edge(id);
            n = if pred & 1 == 1 { e.from } else { e.to };
        }
        out.reverse();
        out
    }
}

impl Searcher {
    /// The current generation, used to stamp per-target scratch in walking-nearest.
    pub(crate) fn generation_for_targets(&self) -> u32 {
        self.generation
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LocalProj, Walkway, WalkwayKind};

    fn proj() -> LocalProj {
        LocalProj::new(106.53, 29.47)
    }

    /// A straight line of walkways through `xs` (metres east) with elevations `zs`.
    fn line(xs: &[f64], zs: &[f64], kind: WalkwayKind) -> Vec<Walkway> {
        let p = proj();
        xs.windows(2)
            .zip(zs.windows(2))
            .enumerate()
            .map(|(i, (x, z))| Walkway {
                id: format!("w{i}"),
                kind,
                name: None,
                lonlat: x.iter().map(|&x| p.to_lonlat(x, 0.0)).collect(),
                elevation_m: Some(z.to_vec()),
            })
            .collect()
    }

    #[test]
    fn heap_keys_order_as_total_cmp_then_node() {
        let times = [
            0.0,
            -0.0,
            1e-300,
            0.5,
            1.0,
            1.0 + f64::EPSILON,
            899.999,
            900.0,
            1e300,
            f64::INFINITY,
            -1.0,
        ];
        for &a in &times {
            assert_eq!(HeapItem::new(a, 7).time_s().to_bits(), a.to_bits());
            for &b in &times {
                for (na, nb) in [(1, 2), (2, 1), (3, 3)] {
                    let want = a.total_cmp(&b).then(na.cmp(&nb));
                    assert_eq!(HeapItem::new(a, na).cmp(&HeapItem::new(b, nb)), want);
                }
            }
        }
    }

    #[test]
    fn frontier_pops_in_key_order() {
        // Against std's binary heap, with interleaved pushes and pops and repeated times.
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;
        let mut seed = 0x2545_F491_4F6C_DD1D_u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut h = Frontier::default();
        let mut model: BinaryHeap<Reverse<HeapItem>> = BinaryHeap::new();
        for round in 0..20_000 {
            if next() % 3 != 0 || model.is_empty() {
                let it = HeapItem::new((next() % 64) as f64 * 0.25, (next() % 50) as u32);
                h.push(it);
                model.push(Reverse(it));
            } else {
                assert_eq!(h.pop(), model.pop().map(|r| r.0), "round {round}");
            }
            assert_eq!(h.peek(), model.peek().map(|r| r.0));
        }
        while let Some(Reverse(want)) = model.pop() {
            assert_eq!(h.pop(), Some(want));
        }
        assert_eq!(h.pop(), None);
    }

    #[test]
    fn partial_edge_times_in_both_directions() {
        // Two 100 m edges, the first climbing 10 m.
        let g = WalkGraph::build(
            &line(
                &[0.0, 100.0, 200.0],
                &[0.0, 10.0, 10.0],
                WalkwayKind::Street,
            ),
            &[],
            &proj(),
        );
        let p = Profile::Standard;
        let up = g.edge(EdgeId(0)).cost_s(p, true);
        let down = g.edge(EdgeId(0)).cost_s(p, false);
        let flat = g.edge(EdgeId(1)).cost_s(p, true);
        assert!(up > flat && down < up);
        let origin = g.snap(25.0, 0.0, 300.0).expect("snap");
        let mut s = Searcher::new();
        s.run(&g, &[Origin::at_snap(origin)], p, 3600.0);
        // Same edge, ahead: uphill for 50 m.
        let t = g.snap(75.0, 0.0, 300.0).expect("snap");
        let r = s.reach(&g, &t).expect("reached");
        assert!(
            (r.time_s - 0.5 * up).abs() < 1e-6,
            "{} vs {}",
            r.time_s,
            0.5 * up
        );
        assert!(matches!(r.via, Via::SameEdge { origin: 0 }));
        // Same edge, behind: downhill for 15 m.
        let t = g.snap(10.0, 0.0, 300.0).expect("snap");
        assert!((s.reach(&g, &t).expect("reached").time_s - 0.15 * down).abs() < 1e-6);
        // Next edge: 75 % of the climb, then 30 % of the flat edge.
        let t = g.snap(130.0, 0.0, 300.0).expect("snap");
        let r = s.reach(&g, &t).expect("reached");
        assert!((r.time_s - (0.75 * up + 0.3 * flat)).abs() < 1e-6);
        assert!((r.dist_m - (0.75 * g.edge(EdgeId(0)).length_m + 30.0)).abs() < 1e-6);
        let node_1 = g.edge(EdgeId(0)).to;
        assert!((s.node_time_s(node_1) - 0.75 * up).abs() < 1e-6);
        // The bound cuts: with 10 s nothing beyond 10 s is reported.
        s.run(&g, &[Origin::at_snap(origin)], p, 10.0);
        assert!(s.reach(&g, &t).is_none());
        assert!(s.node_reach(node_1).is_none());
    }

    #[test]
    fn origin_connector_is_counted() {
        let g = WalkGraph::build(
            &line(&[0.0, 100.0], &[0.0, 0.0], WalkwayKind::Street),
            &[],
            &proj(),
        );
        let p = Profile::Elder;
        let snap = g.snap(50.0, 40.0, 300.0).expect("snap");
        let mut s = Searcher::new();
        s.run(&g, &[Origin::new(snap, p)], p, 3600.0);
        let end = g.edge(EdgeId(0)).to;
        let (t, d) = s.node_reach(end).expect("reached");
        assert!((d - 90.0).abs() < 1e-6);
        assert!((t - 90.0 / p.flat_speed_m_per_s()).abs() < 1e-6);
    }

    #[test]
    fn multi_source_takes_the_nearest_origin_and_reset_is_clean() {
        let xs: Vec<f64> = (0..=10).map(|i| f64::from(i) * 100.0).collect();
        let g = WalkGraph::build(&line(&xs, &[0.0; 11], WalkwayKind::Footway), &[], &proj());
        let p = Profile::Standard;
        let a = Origin::at_snap(g.snap(0.0, 0.0, 1.0).expect("snap"));
        let b = Origin::at_snap(g.snap(1000.0, 0.0, 1.0).expect("snap"));
        let mut s = Searcher::new();
        s.run(&g, &[a, b], p, 3600.0);
        let mid = g.snap(700.0, 0.0, 1.0).expect("snap");
        let r = s.reach(&g, &mid).expect("reached");
        assert!((r.dist_m - 300.0).abs() < 1e-6);
        let route = s.route_xy(&g, r.via, &mid);
        assert!(
            (route[0][0] - 1000.0).abs() < 1e-6 && (route[route.len() - 1][0] - 700.0).abs() < 1e-6
        );
        // A later single-origin query must not see the previous one's nodes.
        s.run(&g, &[a], p, 60.0);
        assert!(s.reach(&g, &mid).is_none());
        assert!(
            s.settled().len() == 1,
            "only the start node within 60 s: {:?}",
            s.settled()
        );
    }

    #[test]
    fn stamps_are_cleared_when_the_generations_run_out() {
        let xs: Vec<f64> = (0..=10).map(|i| f64::from(i) * 100.0).collect();
        let g = WalkGraph::build(&line(&xs, &[0.0; 11], WalkwayKind::Footway), &[], &proj());
        let p = Profile::Standard;
        let a = Origin::at_snap(g.snap(0.0, 0.0, 1.0).expect("snap"));
        let mut s = Searcher::new();
        s.run(&g, &[a], p, 3600.0);
        let all = s.settled().len();
        // The last generation before the wrap, then the wrap itself: a short search must
        // see neither the long one's labels nor their settled marks.
        s.generation = u32::MAX - 3;
        s.run(&g, &[a], p, 3600.0);
        assert_eq!(s.generation, u32::MAX - 1);
        assert_eq!(s.settled().len(), all);
        s.run(&g, &[a], p, 60.0);
        assert_eq!(s.generation, 2);
        assert_eq!(s.settled().len(), 1, "only the start node within 60 s");
        let far = g.snap(700.0, 0.0, 1.0).expect("snap");
        assert!(s.reach(&g, &far).is_none());
        s.run(&g, &[a], p, 3600.0);
        assert_eq!(s.settled().len(), all);
        assert!(s.reach(&g, &far).is_some());
    }

    #[test]
    fn wheelchair_cannot_pass_stairs() {
        let mut ws = line(&[0.0, 100.0], &[0.0, 0.0], WalkwayKind::Street);
        let mut st = line(&[100.0, 130.0], &[0.0, 15.0], WalkwayKind::Stairs);
        st[0].id = "stairs".into();
        ws.extend(st);
        let g = WalkGraph::build(&ws, &[], &proj());
        let o = Origin::at_snap(g.snap(0.0, 0.0, 1.0).expect("snap"));
        let top = g.edge(EdgeId(1)).to;
        let mut s = Searcher::new();
        s.run(&g, &[o], Profile::Standard, 3600.0);
        assert!(s.node_reach(top).is_some());
        s.run(&g, &[o], Profile::Wheelchair, 3600.0);
        assert!(s.node_reach(top).is_none());
        let near_top = g.snap(125.0, 0.0, 1.0).expect("snap");
        assert!(s.reach(&g, &near_top).is_none(), "no partial stairs either");
    }
}
