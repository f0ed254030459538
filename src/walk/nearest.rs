//! Walking-nearest: the k nearest targets of chosen categories with one bounded search.

use geo::LineString;

use super::graph::WalkGraph;
use super::profile::Profile;
use super::search::{Origin, Reach, Searcher, Via, partial_s};
use super::snap::SnappedPoints;

/// What to look for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NearestQuery<'a> {
    pub profile: Profile,
    /// How many targets to return at most.
    pub k: usize,
    /// Ignore targets farther than this many seconds.
    pub max_s: f64,
    /// Accept only targets whose tag is in this list; `None` accepts all.
    pub tags: Option<&'a [u32]>,
    /// Also return each route as a WGS84 polyline.
    pub with_route: bool,
}

/// One target found, nearest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Nearest {
    /// Index of the target in the [`SnappedPoints`] (and the caller's slice it was built from).
    pub target: usize,
    /// Seconds from the origin point to the target point, both connectors included.
    pub walk_s: f64,
    /// Metres walked, both connectors included.
    pub walk_m: f64,
    /// WGS84 route: origin → its snap → nodes → target snap → target.
    pub route: Option<LineString<f64>>,
}

#[derive(Debug, Clone, Copy)]
struct Candidate {
    target: u32,
    walk_s: f64,
    walk_m: f64,
    via: Via,
}

/// The `q.k` targets nearest by walking time from `origins` (several origins: nearest from
/// any). Runs a single search that stops once the frontier is later than the k-th best
/// target found, or at `q.max_s`. Ties are broken by target index.
#[must_use]
pub fn nearest(
    graph: &WalkGraph,
    targets: &SnappedPoints,
    searcher: &mut Searcher,
    origins: &[Origin],
    q: &NearestQuery<'_>,
) -> Vec<Nearest> {
    if q.k == 0 || targets.is_empty() {
        return Vec::new();
    }
    let p = q.profile;
    searcher.start(graph, origins, p, q.max_s);
    let generation_mark = next_target_generation(searcher, targets.len());
    let accept = |j: usize| q.tags.is_none_or(|tags| tags.contains(&targets.tag(j)));
    let mut cands: Vec<Candidate> = Vec::new();
    // The k best (time, target) so far, ascending: the k-th time bounds the search. Kept
    // per offer in O(k) (times only decrease, so every other candidate stays at or above
    // the last of these); recomputing it over all candidates after each settled node was
    // quadratic where thousands of facilities stand together (a burst of canteens).
    let mut best: Vec<(f64, u32)> = Vec::with_capacity(q.k + 1);
    let mut kth_s = f64::INFINITY;
    let mut dirty = false;

    let offer = |searcher: &mut Searcher,
                 cands: &mut Vec<Candidate>,
                 best: &mut Vec<(f64, u32)>,
                 j: usize,
                 r: Reach,
                 dirty: &mut bool| {
        let Some(snap) = targets.snap(j, p) else {
            return;
        };
        let walk_s = r.time_s + snap.connector_s(p);
        if !(walk_s.is_finite() && walk_s <= q.max_s) {
            return;
        }
        let c = Candidate {
            target: j as u32,
            walk_s,
            walk_m: r.dist_m + snap.offset_m,
            via: r.via,
        };
        if searcher.target_stamp[j] == generation_mark {
            let slot = searcher.target_slot[j] as usize;
            if walk_s < cands[slot].walk_s {
                cands[slot] = c;
                keep_best(best, walk_s, j as u32, q.k);
                *dirty = true;
            }
        } else {
            searcher.target_stamp[j] = generation_mark;
            searcher.target_slot[j] = cands.len() as u32;
            cands.push(c);
            keep_best(best, walk_s, j as u32, q.k);
            *dirty = true;
        }
    };

    // Targets on an origin's own edge can be reached straight along it.
    for o in origins {
        for &j in targets.on_edge(o.snap.edge, p) {
            let j = j as usize;
            if !accept(j) {
                continue;
            }
            if let Some(snap) = targets.snap(j, p)
                && let Some(r) = searcher.reach(graph, snap)
                && matches!(r.via, Via::SameEdge { .. })
            {
                offer(searcher, &mut cands, &mut best, j, r, &mut dirty);
            }
        }
    }
    loop {
        if dirty {
            dirty = false;
            if q.k > 0 && best.len() >= q.k {
                kth_s = best[q.k - 1].0;
            }
        }
        match searcher.peek_time_s() {
            // Every target not yet final is at least as far as the frontier.
            Some(t) if t < kth_s => {}
            _ => break,
        }
        let Some(u) = searcher.settle_next(graph) else {
            break;
        };
        let Some((t_u, d_u)) = searcher.node_reach(u) else {
            continue;
        };
        for a in graph.adjacent(u) {
            let list = targets.on_edge(a.edge, p);
            if list.is_empty() {
                continue;
            }
            let e = graph.edge(a.edge);
            for &j in list {
                let j = j as usize;
                if !accept(j) {
                    continue;
                }
                let Some(snap) = targets.snap(j, p) else {
                    continue;
                };
                // From `from` walk forward to the fraction; from `to` walk backward.
                let (frac, cost) = if a.forward {
                    (snap.fraction, e.cost_s(p, true))
                } else {
                    (1.0 - snap.fraction, e.cost_s(p, false))
                };
                let r = Reach {
                    time_s: t_u + partial_s(cost, frac),
                    dist_m: d_u + frac * e.length_m,
                    via: Via::Node(u),
                };
                offer(searcher, &mut cands, &mut best, j, r, &mut dirty);
            }
        }
    }
    let order =
        |a: &Candidate, b: &Candidate| a.walk_s.total_cmp(&b.walk_s).then(a.target.cmp(&b.target));
    // The k best first, then only they are sorted: where many facilities stand together
    // (a burst of edits adding canteens in one block) sorting every candidate was most of
    // a query's time. Same order as a full sort: targets are unique, so `order` is total.
    if cands.len() > q.k && q.k > 0 {
        cands.select_nth_unstable_by(q.k - 1, order);
    }
    cands.truncate(q.k);
    cands.sort_by(order);
    cands
        .into_iter()
        .map(|c| {
            let route = if q.with_route {
                targets.snap(c.target as usize, p).map(|snap| {
                    let xy = searcher.route_xy(graph, c.via, snap);
                    LineString::from(
                        xy.into_iter()
                            .map(|pt| graph.to_lonlat(pt))
                            .collect::<Vec<_>>(),
                    )
                })
            } else {
                None
            };
            Nearest {
                target: c.target as usize,
                walk_s: c.walk_s,
                walk_m: c.walk_m,
                route,
            }
        })
        .collect()
}

/// Note that target `j` is now reached in `t` seconds (new, or sooner than before) in the
/// ascending list of the `k` best.
fn keep_best(best: &mut Vec<(f64, u32)>, t: f64, j: u32, k: usize) {
    if k == 0 {
        return;
    }
    if let Some(i) = best.iter().position(|b| b.1 == j) {
        best[i].0 = t;
    } else if best.len() < k {
        best.push((t, j));
    } else if t < best[k - 1].0 {
        best[k - 1] = (t, j);
    } else {
        return;
    }
    best.sort_by(|a, b| a.0.total_cmp(&b.0));
}

/// Size the per-target scratch and return the stamp marking this query's candidates.
fn next_target_generation(searcher: &mut Searcher, n: usize) -> u32 {
    if searcher.target_stamp.len() < n {
        searcher.target_stamp.resize(n, 0);
        searcher.target_slot.resize(n, 0);
    }
    // The node generation was just advanced by `start`; reuse it so the reset stays O(1).
    searcher.generation_for_targets()
}
