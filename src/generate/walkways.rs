//! The walking network of the model: the lattice's streets and lanes, diagonal footpaths,
//! stairs where the slope is steep, bridges over 花溪河, and the Lijiatuo Yangtze bridge.

use std::collections::BTreeSet;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::model::WalkwayKind;

use super::lattice::{CellIx, Lattice};
use super::partition::NONE;
use super::terrain::Terrain;

/// A walkway between two lattice nodes.
#[derive(Debug, Clone)]
pub struct Segment {
    pub a: usize,
    pub b: usize,
    pub kind: WalkwayKind,
    pub name: Option<&'static str>,
}

/// Every this many rows and columns of the lattice is a main line: a street, always built.
pub(super) const MAIN_EVERY: usize = 5;

/// Passes over the stubs left by the thinning, and the chance each stub goes in a pass.
const STUB_PASSES: usize = 3;
const STUB_PRUNE: f64 = 0.6;

/// Share of lanes between two micro-grids of one grid left unbuilt (the edge then runs
/// along a wall or a slope, not a path); main lines are always built. The lanes that run
/// along units' edges, their cuts' paths (`builder`) and the lanes inside micro-grids share
/// what issue 13 allows a network (at most 200 intersections per km²): inside a micro-grid
/// a lane is the exception (dropped 90%, 97% where few live; it was 60% and 80%), so that
/// 65% of the lanes between micro-grids, 60% of those between grids and all along the
/// subdistrict's edge can be built, and units' outlines run along walkways.
const LANE_DROP_UNIT_EDGE: f64 = 0.35;

/// Share of lanes along the subdistrict's edge left unbuilt: none. The edge of a
/// subdistrict is drawn along a road, a riverside walk or a path on the hillside, and a
/// corner of a block given out to even the edge (`builder::cuts`) trades its two lanes for
/// a path along the cut.
const LANE_DROP_LAND_EDGE: f64 = 0.0;

/// Share of lanes between two grids (and so between two communities) left unbuilt. A
/// grid's edge is mostly a street or lane its grid worker walks along, not a wall across a
/// block; all of them built (with paths along the cuts) left too few intersections to the
/// lanes between micro-grids, whose outlines then followed walkways least (69%).
const LANE_DROP_GRID_EDGE: f64 = 0.4;

/// Steeper than this (rise over run), a link is built as stairs: 1:10, a little over the
/// 1:12 (8.3%) that a ramp may have, so every link a wheelchair may use is rampable.
pub const STAIRS_GRADE: f64 = 0.10;

/// Steeper than this, a stretch of a main line is no street (vehicles go round by the
/// gentler lines) but a lane or, past [`STAIRS_GRADE`], stairs.
const STREET_MAX_GRADE: f64 = 0.08;

/// Named streets (names are real; their courses in the model are approximate): a row or
/// column of the lattice nearest to `at` (lat for rows, lon for columns) between `from` and `to`.
struct NamedLine {
    name: &'static str,
    horizontal: bool,
    at: f64,
    from: f64,
    to: f64,
}

const NAMED: [NamedLine; 4] = [
    NamedLine {
        name: "马王坪正街",
        horizontal: true,
        at: 29.4695,
        from: 106.528,
        to: 106.540,
    },
    NamedLine {
        name: "李家沱正街",
        horizontal: true,
        at: 29.4725,
        from: 106.524,
        to: 106.532,
    },
    NamedLine {
        name: "渝南大道",
        horizontal: false,
        at: 106.5245,
        from: 29.455,
        to: 29.4715,
    },
    NamedLine {
        name: "巴南大道",
        horizontal: true,
        at: 29.4640,
        from: 106.546,
        to: 106.568,
    },
];

fn crosses_creek(t: &Terrain, p: (f64, f64), q: (f64, f64)) -> bool {
    let len = (q.0 - p.0).hypot(q.1 - p.1);
    let steps = (len / 3.0).ceil().max(1.0) as usize;
    (0..=steps).any(|s| {
        let f = s as f64 / steps as f64;
        t.in_creek(p.0 + f * (q.0 - p.0), p.1 + f * (q.1 - p.1), 4.0)
    })
}

struct UnionFind(Vec<usize>);
impl UnionFind {
    fn find(&mut self, mut x: usize) -> usize {
        while self.0[x] != x {
            self.0[x] = self.0[self.0[x]];
            x = self.0[x];
        }
        x
    }
    fn union(&mut self, a: usize, b: usize) -> bool {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return false;
        }
        self.0[ra.max(rb)] = ra.min(rb);
        true
    }
}

/// Build the lattice walkways. `micro` labels micro-grids and `grid` grids (lanes on units'
/// edges are kept more than those inside them, and all on the subdistrict's edge: units
/// follow streets); `hh` thins lanes where few people live.
pub fn lattice_walkways(
    lat: &Lattice,
    t: &Terrain,
    land: &[bool],
    micro: &[u32],
    grid: &[u32],
    hh: &[u64],
    rng: &mut ChaCha8Rng,
) -> Vec<Segment> {
    let z = |n: usize| t.elevation_m(lat.nodes[n].0, lat.nodes[n].1);
    let mut kept: Vec<(usize, usize, bool)> = Vec::new(); // (a, b, is_bridge)
    let mut dropped: Vec<(usize, usize)> = Vec::new();
    let cell_at = |i: isize, j: isize| -> Option<CellIx> {
        (i >= 0 && j >= 0 && (i as usize) < lat.nx && (j as usize) < lat.ny)
            .then(|| lat.cell_ix(i as usize, j as usize))
    };
    let mut consider = |a: usize,
                        b: usize,
                        c1: Option<CellIx>,
                        c2: Option<CellIx>,
                        bridge_line: bool,
                        rng: &mut ChaCha8Rng| {
        let l1 = c1.is_some_and(|c| land[c]);
        let l2 = c2.is_some_and(|c| land[c]);
        if !l1 && !l2 {
            return;
        }
        let (p, q) = (lat.nodes[a], lat.nodes[b]);
        if crosses_creek(t, p, q) {
            if bridge_line {
                kept.push((a, b, true));
            }
            return;
        }
        let interior = l1
            && l2
            && c1
                .zip(c2)
                .is_some_and(|(x, y)| micro[x] == micro[y] && micro[x] != NONE);
        let grid_edge = l1
            && l2
            && c1
                .zip(c2)
                .is_some_and(|(x, y)| grid[x] != grid[y] && grid[x] != NONE && grid[y] != NONE);
        let people = c1.map_or(0, |c| hh[c]) + c2.map_or(0, |c| hh[c]);
        // Main lines (every fifth row and column) are streets and always kept; the lanes
        // between are thinned (those inside a micro-grid most, where few live more), so
        // blocks vary in size and lanes end at doors and hillsides rather than every 50 m.
        let (ia, ja) = (a % (lat.nx + 1), a / (lat.nx + 1));
        let (ib, jb) = (b % (lat.nx + 1), b / (lat.nx + 1));
        let main_line = (ja == jb && ja % MAIN_EVERY == 0) || (ia == ib && ia % MAIN_EVERY == 0);
        let p_drop = if main_line {
            0.0
        } else if l1 != l2 {
            LANE_DROP_LAND_EDGE
        } else if grid_edge {
            LANE_DROP_GRID_EDGE
        } else if !interior {
            LANE_DROP_UNIT_EDGE
        } else if people < 12 {
            0.97
        } else {
            0.9
        };
        if rng.random_bool(p_drop) {
            dropped.push((a, b));
        } else {
            kept.push((a, b, false));
        }
    };
    for j in 0..=lat.ny {
        for i in 0..lat.nx {
            let (ii, jj) = (i as isize, j as isize);
            consider(
                lat.node_ix(i, j),
                lat.node_ix(i + 1, j),
                cell_at(ii, jj - 1),
                cell_at(ii, jj),
                j % 5 == 0,
                rng,
            );
        }
    }
    for i in 0..=lat.nx {
        for j in 0..lat.ny {
            let (ii, jj) = (i as isize, j as isize);
            consider(
                lat.node_ix(i, j),
                lat.node_ix(i, j + 1),
                cell_at(ii - 1, jj),
                cell_at(ii, jj),
                false,
                rng,
            );
        }
    }
    // Diagonal footpaths and hillside steps through some blocks (fewer than before the
    // paths along units' cuts, which are diagonal too: 6% of empty blocks, 1.5% of others).
    for c in 0..lat.cell_count() {
        if !land[c] {
            continue;
        }
        let p = if hh[c] < 5 { 0.06 } else { 0.015 };
        if rng.random_bool(p) {
            let k = lat.corners(c);
            let (a, b) = if rng.random_bool(0.5) {
                (k[0], k[2])
            } else {
                (k[1], k[3])
            };
            if !crosses_creek(t, lat.nodes[a], lat.nodes[b]) {
                kept.push((a, b, false));
            }
        }
    }
    // Reconnect: put back dropped lanes that join separate pieces, then keep the largest piece.
    let mut uf = UnionFind((0..lat.nodes.len()).collect());
    for &(a, b, _) in &kept {
        uf.union(a, b);
    }
    for &(a, b) in &dropped {
        if uf.union(a, b) {
            kept.push((a, b, false));
        }
    }
    // Most stubs the thinning left are taken back out (passes from the tips inward), so a
    // lane that leads nowhere is the exception, as in a city: 8–20% of junctions and ends.
    let is_main = |a: usize, b: usize| {
        let (ia, ja) = (a % (lat.nx + 1), a / (lat.nx + 1));
        let (ib, jb) = (b % (lat.nx + 1), b / (lat.nx + 1));
        (ja == jb && ja % MAIN_EVERY == 0) || (ia == ib && ia % MAIN_EVERY == 0)
    };
    for _ in 0..STUB_PASSES {
        let mut degree = vec![0u32; lat.nodes.len()];
        for &(a, b, _) in &kept {
            degree[a] += 1;
            degree[b] += 1;
        }
        kept.retain(|&(a, b, bridge)| {
            let stub = degree[a] == 1 || degree[b] == 1;
            !stub || bridge || is_main(a, b) || !rng.random_bool(STUB_PRUNE)
        });
    }
    let mut size = vec![0usize; lat.nodes.len()];
    for &(a, _, _) in &kept {
        let r = uf.find(a);
        size[r] += 1;
    }
    let biggest = (0..size.len())
        .max_by_key(|&r| (size[r], usize::MAX - r))
        .unwrap_or(0);
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (a, b, bridge) in kept {
        if uf.find(a) != biggest || !seen.insert((a.min(b), a.max(b))) {
            continue;
        }
        let (p, q) = (lat.nodes[a], lat.nodes[b]);
        let len = (q.0 - p.0).hypot(q.1 - p.1);
        let grade = (z(b) - z(a)).abs() / len;
        let (ia, ja) = (a % (lat.nx + 1), a / (lat.nx + 1));
        let (ib, jb) = (b % (lat.nx + 1), b / (lat.nx + 1));
        let main_line = (ja == jb && ja % MAIN_EVERY == 0) || (ia == ib && ia % MAIN_EVERY == 0);
        let kind = if bridge {
            WalkwayKind::Bridge
        } else if grade > STAIRS_GRADE {
            WalkwayKind::Stairs
        } else if main_line && grade <= STREET_MAX_GRADE {
            WalkwayKind::Street
        } else {
            WalkwayKind::Footway
        };
        let name = if kind == WalkwayKind::Stairs || kind == WalkwayKind::Bridge {
            None
        } else {
            street_name(lat, t, a, b)
        };
        let kind = if name.is_some() {
            WalkwayKind::Street
        } else {
            kind
        };
        out.push(Segment { a, b, kind, name });
    }
    out
}

/// A path along the diagonal of a block from node `a` to node `b`, where a unit's outline is
/// cut across the block (`builder::cuts`): a footway, or stairs where it is steep; a street
/// where it carries a `street` round a corner given out of the subdistrict, unless too
/// steep for one. `None` where it would run into 花溪河 or the Yangtze.
#[must_use]
pub fn cut_path(lat: &Lattice, t: &Terrain, a: usize, b: usize, street: bool) -> Option<Segment> {
    let (p, q) = (lat.nodes[a], lat.nodes[b]);
    let len = (q.0 - p.0).hypot(q.1 - p.1);
    let steps = (len / 3.0).ceil().max(1.0) as usize;
    // Clear of the river by more than a bend of the drawn way (`builder::BEND_M`).
    let dry = (0..=steps).all(|s| {
        let f = s as f64 / steps as f64;
        t.bank_distance_m(p.0 + f * (q.0 - p.0), p.1 + f * (q.1 - p.1)) > 4.0
    });
    if !dry || crosses_creek(t, p, q) {
        return None;
    }
    let z = |n: usize| t.elevation_m(lat.nodes[n].0, lat.nodes[n].1);
    let grade = (z(b) - z(a)).abs() / len;
    Some(Segment {
        a,
        b,
        kind: if street && grade <= STREET_MAX_GRADE {
            WalkwayKind::Street
        } else if grade > STAIRS_GRADE {
            WalkwayKind::Stairs
        } else {
            WalkwayKind::Footway
        },
        name: None,
    })
}

fn street_name(lat: &Lattice, t: &Terrain, a: usize, b: usize) -> Option<&'static str> {
    let (ia, ja) = (a % (lat.nx + 1), a / (lat.nx + 1));
    let (ib, jb) = (b % (lat.nx + 1), b / (lat.nx + 1));
    let (mx, my) = (
        f64::midpoint(lat.nodes[a].0, lat.nodes[b].0),
        f64::midpoint(lat.nodes[a].1, lat.nodes[b].1),
    );
    let (lon, la) = t.proj.to_lonlat(mx, my);
    for nl in &NAMED {
        if nl.horizontal && ja == jb {
            let (_, y_at) = t.proj.to_xy(nl.from, nl.at);
            let row = ((y_at - lat.nodes[0].1) / 50.0).round() as usize;
            if ja == row && lon >= nl.from && lon <= nl.to {
                return Some(nl.name);
            }
        } else if !nl.horizontal && ia == ib {
            let (x_at, _) = t.proj.to_xy(nl.at, nl.from);
            let col = ((x_at - lat.nodes[0].0) / 50.0).round() as usize;
            if ia == col && la >= nl.from && la <= nl.to {
                return Some(nl.name);
            }
        }
    }
    None
}

/// A walkway of several segments: lattice nodes in order, one kind and name throughout.
#[derive(Debug, Clone)]
pub struct Chain {
    pub nodes: Vec<usize>,
    pub kind: WalkwayKind,
    pub name: Option<&'static str>,
}

/// Join segments into polylines running from junction to junction (or dead end): a street
/// is one feature between the places it meets others, not one per block side. A chain
/// breaks where three or more segments meet, at a dead end, and where the kind or the name
/// changes. Deterministic: chains start from the lowest node and segment indices.
#[must_use]
pub fn chains(segments: &[Segment]) -> Vec<Chain> {
    let mut at: std::collections::BTreeMap<usize, Vec<usize>> = std::collections::BTreeMap::new();
    for (k, s) in segments.iter().enumerate() {
        at.entry(s.a).or_default().push(k);
        at.entry(s.b).or_default().push(k);
    }
    let same = |x: &Segment, y: &Segment| x.kind == y.kind && x.name == y.name;
    // A node where a chain passes straight on: exactly two segments alike.
    let through = |n: usize| -> bool {
        at.get(&n)
            .is_some_and(|v| v.len() == 2 && v[0] != v[1] && same(&segments[v[0]], &segments[v[1]]))
    };
    let mut used = vec![false; segments.len()];
    let mut out = Vec::new();
    let walk = |start: usize, first: usize, used: &mut Vec<bool>| -> Chain {
        let mut nodes = vec![start];
        let (mut node, mut seg) = (start, first);
        loop {
            used[seg] = true;
            let s = &segments[seg];
            node = if s.a == node { s.b } else { s.a };
            nodes.push(node);
            if node == start || !through(node) {
                break;
            }
            let Some(&next) = at[&node].iter().find(|&&k| !used[k]) else {
                break;
            };
            seg = next;
        }
        Chain {
            nodes,
            kind: segments[first].kind,
            name: segments[first].name,
        }
    };
    for (&n, segs) in &at {
        if through(n) {
            continue;
        }
        for &k in segs {
            if !used[k] {
                out.push(walk(n, k, &mut used));
            }
        }
    }
    // Loops where every node is a through node.
    for k in 0..segments.len() {
        if !used[k] {
            out.push(walk(segments[k].a, k, &mut used));
        }
    }
    out
}
