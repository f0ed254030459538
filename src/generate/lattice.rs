//! A warped street lattice: nodes are street junctions, cells are blocks. Every area of the
//! model (boundary, communities, grids, micro-grids, compounds) is a union of cells and of
//! halves of cells cut along a diagonal (where an outline would step round a block's
//! corner, see `builder::cuts`), so they tile exactly: neighbours share the very same
//! vertices.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::terrain::Terrain;

/// Displacement of the lattice node at (`bx`, `by`), metres. The long waves (650–900 m)
/// turn streets by up to about 30° from the axes, differently from one neighbourhood to the
/// next, as hillside streets bend along the slopes; the short ones (170–310 m) bend
/// single blocks. Every partial derivative stays well under 1, so no block folds over.
fn warp(bx: f64, by: f64) -> (f64, f64) {
    use std::f64::consts::TAU;
    let dx = 45.0 * (TAU * by / 700.0 + 0.7).sin()
        + 30.0 * (TAU * (bx + by) / 900.0).sin()
        + 11.0 * (by / 310.0).sin()
        + 7.0 * ((bx + by) / 170.0).sin();
    let dy = 45.0 * (TAU * bx / 650.0 + 1.9).sin()
        + 30.0 * (TAU * (bx - by) / 800.0).cos()
        + 11.0 * (bx / 290.0).sin()
        + 7.0 * ((bx - by) / 210.0).cos();
    (dx, dy)
}

/// Cell index in the lattice (row-major).
pub type CellIx = usize;

#[derive(Debug, Clone)]
pub struct Lattice {
    /// Number of cells across and up; nodes are (nx+1) × (ny+1).
    pub nx: usize,
    pub ny: usize,
    /// Node positions in local metres, row-major over (nx+1) × (ny+1).
    pub nodes: Vec<(f64, f64)>,
}

impl Lattice {
    /// A lattice of `cell_m` blocks covering [x0, x1] × [y0, y1], warped by smooth waves so
    /// streets curve, with a little jitter.
    pub fn new(x0: f64, y0: f64, x1: f64, y1: f64, cell_m: f64, rng: &mut ChaCha8Rng) -> Self {
        let nx = ((x1 - x0) / cell_m).ceil() as usize;
        let ny = ((y1 - y0) / cell_m).ceil() as usize;
        let mut nodes = Vec::with_capacity((nx + 1) * (ny + 1));
        for j in 0..=ny {
            for i in 0..=nx {
                let bx = x0 + i as f64 * cell_m;
                let by = y0 + j as f64 * cell_m;
                let (dx, dy) = warp(bx, by);
                let jx = rng.random_range(-3.5..3.5);
                let jy = rng.random_range(-3.5..3.5);
                nodes.push((bx + dx + jx, by + dy + jy));
            }
        }
        Lattice { nx, ny, nodes }
    }

    #[must_use]
    pub fn node_ix(&self, i: usize, j: usize) -> usize {
        j * (self.nx + 1) + i
    }

    #[must_use]
    pub fn cell_ix(&self, i: usize, j: usize) -> CellIx {
        j * self.nx + i
    }

    #[must_use]
    pub fn cell_ij(&self, c: CellIx) -> (usize, usize) {
        (c % self.nx, c / self.nx)
    }

    #[must_use]
    pub fn cell_count(&self) -> usize {
        self.nx * self.ny
    }

    /// Corner node indices of a cell, counter-clockwise from south-west.
    #[must_use]
    pub fn corners(&self, c: CellIx) -> [usize; 4] {
        let (i, j) = self.cell_ij(c);
        [
            self.node_ix(i, j),
            self.node_ix(i + 1, j),
            self.node_ix(i + 1, j + 1),
            self.node_ix(i, j + 1),
        ]
    }

    #[must_use]
    pub fn centre(&self, c: CellIx) -> (f64, f64) {
        let k = self.corners(c);
        let (mut x, mut y) = (0.0, 0.0);
        for n in k {
            x += self.nodes[n].0;
            y += self.nodes[n].1;
        }
        (x / 4.0, y / 4.0)
    }

    /// Area of a cell in m² (shoelace over its four corners).
    #[must_use]
    pub fn area_m2(&self, c: CellIx) -> f64 {
        let k = self.corners(c);
        let mut a = 0.0;
        for t in 0..4 {
            let (x1, y1) = self.nodes[k[t]];
            let (x2, y2) = self.nodes[k[(t + 1) % 4]];
            a += x1 * y2 - x2 * y1;
        }
        a / 2.0
    }

    /// A point inside the cell: bilinear interpolation of its corners at (u, v) ∈ [0,1]².
    #[must_use]
    pub fn point_in_cell(&self, c: CellIx, u: f64, v: f64) -> (f64, f64) {
        let k = self.corners(c);
        let p = |n: usize| self.nodes[k[n]];
        let (a, b, cc, d) = (p(0), p(1), p(2), p(3));
        let x =
            (1.0 - u) * (1.0 - v) * a.0 + u * (1.0 - v) * b.0 + u * v * cc.0 + (1.0 - u) * v * d.0;
        let y =
            (1.0 - u) * (1.0 - v) * a.1 + u * (1.0 - v) * b.1 + u * v * cc.1 + (1.0 - u) * v * d.1;
        (x, y)
    }

    /// The 4-neighbours of a cell that exist in the lattice.
    pub fn neighbours(&self, c: CellIx) -> impl Iterator<Item = CellIx> + '_ {
        let (i, j) = self.cell_ij(c);
        let mut v = [usize::MAX; 4];
        if i > 0 {
            v[0] = c - 1;
        }
        if i + 1 < self.nx {
            v[1] = c + 1;
        }
        if j > 0 {
            v[2] = c - self.nx;
        }
        if j + 1 < self.ny {
            v[3] = c + self.nx;
        }
        v.into_iter().filter(|&n| n != usize::MAX)
    }

    /// The cell across side `t` (0 south, 1 east, 2 north, 3 west: the side from corner `t`
    /// to corner `t + 1`), if the lattice has it.
    #[must_use]
    pub fn across(&self, c: CellIx, t: usize) -> Option<CellIx> {
        let (i, j) = self.cell_ij(c);
        let (di, dj) = [(0, -1), (1, 0), (0, 1), (-1, 0)][t % 4];
        self.offset(i, j, di, dj)
    }

    /// The cell diagonally across corner `t` (0 south-west, 1 south-east, 2 north-east,
    /// 3 north-west), if the lattice has it.
    #[must_use]
    pub fn beyond_corner(&self, c: CellIx, t: usize) -> Option<CellIx> {
        let (i, j) = self.cell_ij(c);
        let (di, dj) = [(-1, -1), (1, -1), (1, 1), (-1, 1)][t % 4];
        self.offset(i, j, di, dj)
    }

    fn offset(&self, i: usize, j: usize, di: isize, dj: isize) -> Option<CellIx> {
        let a = i.checked_add_signed(di)?;
        let b = j.checked_add_signed(dj)?;
        (a < self.nx && b < self.ny).then(|| self.cell_ix(a, b))
    }

    /// Directed edges (interior on the left) of one piece of cell `c`: the whole block
    /// (`cut` None), or, for a block cut along the diagonal that does not touch corner `t`,
    /// the triangle at corner `t` (`Some((t, true))`) or the rest (`Some((t, false))`).
    #[must_use]
    pub fn piece_edges(&self, c: CellIx, cut: Option<(usize, bool)>) -> Vec<(usize, usize)> {
        let k = self.corners(c);
        let ring: Vec<usize> = match cut {
            None => k.to_vec(),
            Some((t, true)) => vec![k[(t + 3) % 4], k[t], k[(t + 1) % 4]],
            Some((t, false)) => vec![k[(t + 1) % 4], k[(t + 2) % 4], k[(t + 3) % 4]],
        };
        (0..ring.len())
            .map(|i| (ring[i], ring[(i + 1) % ring.len()]))
            .collect()
    }

    /// Rings of a set of pieces given by their directed edges (interior on the left): an
    /// edge met in both directions lies between two pieces of the set and is dropped.
    /// Exterior rings come out counter-clockwise, holes clockwise; where the set touches
    /// itself at a corner only, the ring turns towards the interior, so rings stay simple.
    #[must_use]
    pub fn rings(&self, edges: &[(usize, usize)]) -> Vec<Vec<usize>> {
        use std::collections::{BTreeMap, BTreeSet};
        let all: BTreeSet<(usize, usize)> = edges.iter().copied().collect();
        let mut out: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        let mut count = 0usize;
        for &(a, b) in edges {
            if !all.contains(&(b, a)) {
                out.entry(a).or_default().push(b);
                count += 1;
            }
        }
        let mut rings = Vec::new();
        let mut used = 0usize;
        while used < count {
            let Some((&start, _)) = out.iter().find(|(_, v)| !v.is_empty()) else {
                break;
            };
            let mut ring = vec![start];
            let mut prev = start;
            let mut cur = {
                let v = out.get_mut(&start).map(|v| v.remove(0));
                used += 1;
                v.unwrap_or(start)
            };
            while cur != start {
                ring.push(cur);
                let Some(nexts) = out.get_mut(&cur) else {
                    break;
                };
                if nexts.is_empty() {
                    break;
                }
                let pick = if nexts.len() == 1 {
                    0
                } else {
                    // Choose the left-most turn: keeps the ring on one side of a pinch.
                    let (px, py) = self.nodes[prev];
                    let (cx, cy) = self.nodes[cur];
                    let din = (cx - px, cy - py);
                    let mut best = 0;
                    let mut best_angle = f64::NEG_INFINITY;
                    for (t, &n) in nexts.iter().enumerate() {
                        let (nx2, ny2) = self.nodes[n];
                        let dout = (nx2 - cx, ny2 - cy);
                        let cross = din.0 * dout.1 - din.1 * dout.0;
                        let dot = din.0 * dout.0 + din.1 * dout.1;
                        let angle = cross.atan2(dot);
                        if angle > best_angle {
                            best_angle = angle;
                            best = t;
                        }
                    }
                    best
                };
                let next = nexts.remove(pick);
                used += 1;
                prev = cur;
                cur = next;
            }
            ring.push(start);
            rings.push(ring);
        }
        rings
    }

    /// Signed area of a ring of node indices (positive when counter-clockwise).
    #[must_use]
    pub fn ring_area_m2(&self, ring: &[usize]) -> f64 {
        let mut a = 0.0;
        for w in ring.windows(2) {
            let (x1, y1) = self.nodes[w[0]];
            let (x2, y2) = self.nodes[w[1]];
            a += x1 * y2 - x2 * y1;
        }
        a / 2.0
    }
}

/// Edges of the shortest tree joining `pts` (Prim's algorithm, ties by index).
fn spanning_tree(pts: &[(f64, f64)]) -> Vec<((f64, f64), (f64, f64))> {
    let n = pts.len();
    let mut edges = Vec::new();
    if n == 0 {
        return edges;
    }
    let d = |a: usize, b: usize| (pts[a].0 - pts[b].0).hypot(pts[a].1 - pts[b].1);
    let mut in_tree = vec![false; n];
    let mut best: Vec<(f64, usize)> = (0..n).map(|k| (d(0, k), 0)).collect();
    in_tree[0] = true;
    for _ in 1..n {
        let Some(next) = (0..n)
            .filter(|&k| !in_tree[k])
            .min_by(|&a, &b| best[a].0.total_cmp(&best[b].0).then(a.cmp(&b)))
        else {
            break;
        };
        in_tree[next] = true;
        edges.push((pts[best[next].1], pts[next]));
        for k in 0..n {
            if !in_tree[k] && d(next, k) < best[k].0 {
                best[k] = (d(next, k), next);
            }
        }
    }
    edges
}

/// Distance from `p` to the segment `a`–`b`, metres.
pub(super) fn segment_distance(a: (f64, f64), b: (f64, f64), p: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (p.0 - a.0 - t * dx).hypot(p.1 - a.1 - t * dy)
}

/// Choose the land cells of the subdistrict: clear of the Yangtze, inside the outer limit,
/// within `reach_m` of one of the `centres` (local metres: the units' anchors and the named
/// places), one 4-connected piece with enclosed gaps filled. Growing the land from the
/// places people know keeps every one of them inside, well away from the edge, and gives an
/// outline of overlapping rounds rather than a shrunken copy of the outer limit.
#[must_use]
pub fn land_cells(
    lat: &Lattice,
    terrain: &Terrain,
    reach_m: f64,
    centres: &[(f64, f64)],
) -> Vec<bool> {
    // Centres too far apart for their rounds to meet are joined along the shortest tree
    // between them (the roads between places), half as wide: the land is one piece at every
    // reach, so its area grows steadily with the reach and the calibration converges.
    let links = spanning_tree(centres);
    let n = lat.cell_count();
    let mut land = vec![false; n];
    for (c, l) in land.iter_mut().enumerate() {
        let corners_clear = lat.corners(c).iter().all(|&k| {
            let (x, y) = lat.nodes[k];
            terrain.bank_distance_m(x, y) > 6.0
        });
        let (cx, cy) = lat.centre(c);
        let reached = centres
            .iter()
            .any(|&(kx, ky)| (cx - kx).hypot(cy - ky) <= reach_m)
            || links
                .iter()
                .any(|&(a, b)| segment_distance(a, b, (cx, cy)) <= 0.5 * reach_m);
        *l = corners_clear && reached && terrain.outer_depth_m(cx, cy) >= 0.0;
    }
    // Keep the largest 4-connected piece.
    let mut comp = vec![usize::MAX; n];
    let mut best = (0usize, usize::MAX);
    let mut k = 0;
    for s in 0..n {
        if !land[s] || comp[s] != usize::MAX {
            continue;
        }
        let mut stack = vec![s];
        comp[s] = k;
        let mut size = 0;
        while let Some(c) = stack.pop() {
            size += 1;
            for nb in lat.neighbours(c) {
                if land[nb] && comp[nb] == usize::MAX {
                    comp[nb] = k;
                    stack.push(nb);
                }
            }
        }
        if size > best.0 {
            best = (size, k);
        }
        k += 1;
    }
    for c in 0..n {
        land[c] = land[c] && comp[c] == best.1;
    }
    // Fill enclosed non-land cells: flood the outside from the lattice edge.
    let mut outside = vec![false; n];
    let mut stack: Vec<usize> = (0..n)
        .filter(|&c| {
            let (i, j) = lat.cell_ij(c);
            (i == 0 || j == 0 || i + 1 == lat.nx || j + 1 == lat.ny) && !land[c]
        })
        .collect();
    for &c in &stack {
        outside[c] = true;
    }
    while let Some(c) = stack.pop() {
        for nb in lat.neighbours(c) {
            if !land[nb] && !outside[nb] {
                outside[nb] = true;
                stack.push(nb);
            }
        }
    }
    for c in 0..n {
        if !outside[c] {
            land[c] = true;
        }
    }
    land
}
