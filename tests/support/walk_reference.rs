//! A plain reference Dijkstra for the walk engine, shared by the oracle tests (`walk_oracle`
//! on synthetic towns, `import_real` on imported OpenStreetMap extracts).
//!
//! The reference builds its own adjacency list from the walkways (vertices keyed by their
//! projected position), splits segments at the snapped origins and targets into virtual
//! nodes, and runs a textbook BinaryHeap Dijkstra. Only the per-segment cost formula
//! (`Profile::segment_cost_s`) and the snapping are shared with the engine.

// Test helpers may unwrap, expect and panic: a failing test should stop loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]
// Each test crate that includes this module uses a part of it.
#![allow(dead_code)]

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use servicemap::model::{LocalProj, Walkway};
use servicemap::walk::{Nearest, Origin, Profile, Snap, SnappedPoints, WalkGraph};

pub type Key = (u64, u64);

pub fn key(xy: [f64; 2]) -> Key {
    ((xy[0] + 0.0).to_bits(), (xy[1] + 0.0).to_bits())
}

/// One segment of the reference network, both directions.
#[derive(Clone, Copy)]
struct Seg {
    /// Index of the walkway it belongs to.
    walkway: usize,
    a: usize,
    b: usize,
    cost_ab: f64,
    cost_ba: f64,
    len_m: f64,
}

/// The reference network: nodes keyed by projected position, segments in a plain list.
pub struct Reference {
    pub node_of: HashMap<Key, usize>,
    segs: Vec<Seg>,
    n: usize,
}

impl Reference {
    /// The network of `walkways` projected with `proj` (the engine's projection, so that
    /// positions match bit for bit), with the costs of profile `p`.
    pub fn new(walkways: &[Walkway], proj: &LocalProj, p: Profile) -> Reference {
        let mut node_of = HashMap::new();
        let mut segs = Vec::new();
        for (wi, w) in walkways.iter().enumerate() {
            let xy: Vec<[f64; 2]> = w
                .lonlat
                .iter()
                .map(|&(lon, lat)| {
                    let (x, y) = proj.to_xy(lon, lat);
                    [x, y]
                })
                .collect();
            for i in 1..xy.len() {
                let n = node_of.len();
                let a = *node_of.entry(key(xy[i - 1])).or_insert(n);
                let n = node_of.len();
                let b = *node_of.entry(key(xy[i])).or_insert(n);
                if a == b {
                    continue;
                }
                let run = (xy[i][0] - xy[i - 1][0]).hypot(xy[i][1] - xy[i - 1][1]);
                let rise = w.elevation_m.as_ref().map_or(0.0, |e| e[i] - e[i - 1]);
                segs.push(Seg {
                    walkway: wi,
                    a,
                    b,
                    cost_ab: p.segment_cost_s(w.kind, run, rise),
                    cost_ba: p.segment_cost_s(w.kind, run, -rise),
                    len_m: run.hypot(rise),
                });
            }
        }
        let n = node_of.len();
        Reference { node_of, segs, n }
    }

    /// The reference segment matching an engine snap (same walkway, same end positions).
    fn seg_of(&self, g: &WalkGraph, s: &Snap) -> usize {
        let e = g.edge(s.edge);
        let a = self.node_of[&key(g.node_xy(e.from))];
        let b = self.node_of[&key(g.node_xy(e.to))];
        let w = e.walkway as usize;
        // A walkway passing the same two positions twice gives equal segments: any will do.
        (0..self.segs.len())
            .find(|&i| self.segs[i].walkway == w && self.segs[i].a == a && self.segs[i].b == b)
            .expect("every engine edge is a reference segment")
    }

    /// Times and distances from `origins` (their snap, start time and start distance) to every
    /// node and to every point in `points` (virtual nodes appended after the real ones, in
    /// order).
    pub fn dijkstra(
        &self,
        g: &WalkGraph,
        origins: &[Origin],
        points: &[Option<Snap>],
    ) -> RefResult {
        // Split segments at every virtual point, sorted by fraction.
        let mut on_seg: HashMap<usize, Vec<(f64, usize)>> = HashMap::new();
        let n_real = self.n;
        let mut n = n_real;
        let mut origin_nodes = Vec::new();
        for o in origins {
            let s = &o.snap;
            on_seg
                .entry(self.seg_of(g, s))
                .or_default()
                .push((s.fraction, n));
            origin_nodes.push((n, o.start_s, o.start_m));
            n += 1;
        }
        let mut point_nodes = Vec::new();
        for p in points {
            match p {
                Some(s) => {
                    on_seg
                        .entry(self.seg_of(g, s))
                        .or_default()
                        .push((s.fraction, n));
                    point_nodes.push(Some(n));
                    n += 1;
                }
                None => point_nodes.push(None),
            }
        }
        let mut adj: Vec<Vec<(usize, f64, f64)>> = vec![Vec::new(); n];
        let link = |adj: &mut Vec<Vec<(usize, f64, f64)>>,
                    a: usize,
                    b: usize,
                    cab: f64,
                    cba: f64,
                    len: f64| {
            if cab.is_finite() {
                adj[a].push((b, cab, len));
            }
            if cba.is_finite() {
                adj[b].push((a, cba, len));
            }
        };
        for (i, s) in self.segs.iter().enumerate() {
            match on_seg.get_mut(&i) {
                None => link(&mut adj, s.a, s.b, s.cost_ab, s.cost_ba, s.len_m),
                Some(list) => {
                    list.sort_by(|x, y| x.0.total_cmp(&y.0));
                    let mut chain = vec![(0.0, s.a)];
                    chain.extend(list.iter().copied());
                    chain.push((1.0, s.b));
                    for w in chain.windows(2) {
                        let df = w[1].0 - w[0].0;
                        let part = |c: f64| if df <= 0.0 { 0.0 } else { c * df };
                        link(
                            &mut adj,
                            w[0].1,
                            w[1].1,
                            part(s.cost_ab),
                            part(s.cost_ba),
                            s.len_m * df,
                        );
                    }
                }
            }
        }
        let mut time = vec![f64::INFINITY; n];
        let mut dist = vec![f64::INFINITY; n];
        let mut heap = BinaryHeap::new();
        for &(v, t0, d0) in &origin_nodes {
            if t0 < time[v] {
                time[v] = t0;
                dist[v] = d0;
                heap.push(Reverse((t0.to_bits(), v)));
            }
        }
        while let Some(Reverse((tb, u))) = heap.pop() {
            let t = f64::from_bits(tb);
            if t > time[u] {
                continue;
            }
            for &(v, c, l) in &adj[u] {
                let nt = t + c;
                if nt < time[v] {
                    time[v] = nt;
                    dist[v] = dist[u] + l;
                    heap.push(Reverse((nt.to_bits(), v)));
                }
            }
        }
        let pt_time = point_nodes
            .iter()
            .map(|v| v.map_or(f64::INFINITY, |v| time[v]))
            .collect();
        let pt_dist = point_nodes
            .iter()
            .map(|v| v.map_or(f64::INFINITY, |v| dist[v]))
            .collect();
        let mut node_time = time;
        node_time.truncate(n_real);
        RefResult {
            node_time,
            pt_time,
            pt_dist,
        }
    }
}

/// Reference answers: per real node, and per point (time and distance, `+inf` when unreached).
pub struct RefResult {
    pub node_time: Vec<f64>,
    pub pt_time: Vec<f64>,
    pub pt_dist: Vec<f64>,
}

/// Every target's snap for profile `p`, in target order, as `Reference::dijkstra` takes them.
pub fn target_snaps(targets: &SnappedPoints, p: Profile) -> Vec<Option<Snap>> {
    (0..targets.len())
        .map(|i| targets.snap(i, p).copied())
        .collect()
}

/// The brute-force answer of a nearest query: every accepted target reached within `max_s`
/// (its reference time plus its connector), as (time_s, dist_m, index), nearest first, ties
/// by index, the first `k`.
pub fn brute_nearest(
    rr: &RefResult,
    pts: &[Option<Snap>],
    p: Profile,
    accept: impl Fn(usize) -> bool,
    max_s: f64,
    k: usize,
) -> Vec<(f64, f64, usize)> {
    let mut want: Vec<(f64, f64, usize)> = (0..pts.len())
        .filter(|&i| accept(i))
        .filter_map(|i| {
            let s = pts[i]?;
            let t = rr.pt_time[i] + s.connector_s(p);
            (t <= max_s).then_some((t, rr.pt_dist[i] + s.offset_m, i))
        })
        .collect();
    want.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.2.cmp(&b.2)));
    want.truncate(k);
    want
}

/// Asserts that the engine's nearest answer has the brute-force times and distances (to
/// 1e-6), naming `ctx` on failure; returns how many results were compared.
pub fn assert_same_nearest(got: &[Nearest], want: &[(f64, f64, usize)], ctx: &str) -> usize {
    assert_eq!(got.len(), want.len(), "{ctx}: count");
    for (gi, wi) in got.iter().zip(want) {
        assert!(
            (gi.walk_s - wi.0).abs() < 1e-6,
            "{ctx}: {} s vs {} s",
            gi.walk_s,
            wi.0
        );
        assert!(
            (gi.walk_m - wi.1).abs() < 1e-6,
            "{ctx}: {} m vs {} m",
            gi.walk_m,
            wi.1
        );
    }
    got.len()
}
