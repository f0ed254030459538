//! A uniform bucket grid over the walk edges for snapping: point → edges in ascending
//! distance. Issue 15: the batch endpoint snaps every origin, and the R-tree's
//! nearest-neighbour iterator (a heap allocated per call, nodes visited through pointers)
//! was ~1.5 µs an origin, more than the table lookup it feeds.
//!
//! Each edge is listed in every cell its bounding box overlaps (CSR over cells). A query
//! scans rings of cells around the point's cell; after ring `k`, every edge not yet seen
//! lies outside the `(2k+1)²` block, so at least the distance from the point to that block's
//! border away. Candidates closer than that bound are final and come out in ascending
//! `(distance², edge id)` order: ties between equally near edges go to the lower edge id,
//! which is what the brute-force oracle in the tests does too.

use super::graph::{Edge, EdgeId};

/// Margin taken off the ring bound for the rounding of cell indices (coordinates are local
/// metres, tens of kilometres at most, so their rounding is ~1e-11 m).
const BOUND_SLACK_M: f64 = 1e-6;

/// Edges per cell the grid aims at: enough that a 3 × 3 block around a point usually holds
/// its nearest edge, few enough that the block's distance computations stay cheap.
///
/// The cell is sized from the network's bounding box, which a town fills unevenly (the
/// default data: 7.4 × 3.7 km, its walkways mostly in the centre), so its dense cells hold
/// far more than the average. At 2 (59 m cells there) an off-network origin (a building
/// 10-35 m from a walkway) took ~3.4 µs to snap, at 1 (41 m) ~2.4 µs; smaller cells gained
/// nothing more (more rings to scan). Cells and node lists cost 8 bytes a cell, ~130 KB
/// there (issue 15).
const EDGES_PER_CELL: f64 = 1.0;

/// Cells at most per edge, bounding the grid's memory on sparse or very spread-out networks.
const CELLS_PER_EDGE_MAX: f64 = 4.0;

#[derive(Debug, Clone)]
pub(crate) struct SnapGrid {
    x0_m: f64,
    y0_m: f64,
    cell_m: f64,
    nx: i64,
    ny: i64,
    /// Cell `c`'s edges are `items[start[c]..start[c + 1]]`, ascending by edge id.
    start: Vec<u32>,
    items: Vec<u32>,
    /// Each edge's end points (local metres), read by the distance test without touching
    /// the (large) edge records.
    segs: Vec<[[f64; 2]; 2]>,
    /// Each edge's cell range `[x_lo, y_lo, x_hi, y_hi]`, to skip an edge already seen in an
    /// inner ring.
    span: Vec<[u32; 4]>,
    /// Cell `c`'s graph nodes are `node_items[node_start[c]..node_start[c + 1]]`: a point
    /// sent at a node's exact position (a batch of every node, pandana's use) is found in
    /// O(1) and answered from [`SnapGrid::node_snaps`].
    node_start: Vec<u32>,
    node_items: Vec<u32>,
    /// Per node and snap class, the edge a point exactly at the node snapped onto, once
    /// snapped ([`NO_EDGE`] until then).
    node_snaps: NodeSnaps,
}

/// Snap classes remembered per node: any walkway, then step-free per profile.
pub(crate) const SNAP_CLASSES: usize = 1 + crate::walk::profile::PROFILE_COUNT;

/// Not snapped yet.
const NO_EDGE: u32 = u32::MAX;

/// The snap of each node's exact position per class, filled lazily by whichever thread snaps
/// it first (a snap is a pure function of the point, so racing writers store the same value;
/// relaxed ordering suffices). Filled lazily rather than at build time: snapping every node
/// up front would add ~20 ms to start-up and to every walkway edit's rebuild.
#[derive(Debug, Default)]
struct NodeSnaps(Vec<std::sync::atomic::AtomicU32>);

impl Clone for NodeSnaps {
    fn clone(&self) -> Self {
        use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
        NodeSnaps(
            self.0
                .iter()
                .map(|a| AtomicU32::new(a.load(Relaxed)))
                .collect(),
        )
    }
}

/// Squared distance from `p` to the segment `a`–`b`, with the clamped projection the snap
/// uses for its fraction and offset.
#[inline]
pub(crate) fn segment_d2(a: [f64; 2], b: [f64; 2], p: [f64; 2]) -> f64 {
    let d = [b[0] - a[0], b[1] - a[1]];
    let len2 = d[0] * d[0] + d[1] * d[1];
    let t = if len2 > 0.0 {
        (((p[0] - a[0]) * d[0] + (p[1] - a[1]) * d[1]) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let q = [a[0] + d[0] * t, a[1] + d[1] * t];
    (p[0] - q[0]) * (p[0] - q[0]) + (p[1] - q[1]) * (p[1] - q[1])
}

/// Candidates `(distance², edge)` nearest first, ties to the lower edge id.
fn by_distance(a: &(f64, u32), b: &(f64, u32)) -> std::cmp::Ordering {
    a.0.total_cmp(&b.0).then(a.1.cmp(&b.1))
}

impl SnapGrid {
    pub(crate) fn build(node_xy: &[[f64; 2]], edges: &[Edge]) -> SnapGrid {
        let segs: Vec<[[f64; 2]; 2]> = edges
            .iter()
            .map(|e| [node_xy[e.from.index()], node_xy[e.to.index()]])
            .collect();
        let [x0, y0, x1, y1] = super::graph::xy_bounds(segs.iter().flatten());
        let (w, h) = ((x1 - x0).max(1.0), (y1 - y0).max(1.0));
        let n = segs.len().max(1) as f64;
        let mut cell_m = (w * h * EDGES_PER_CELL / n).sqrt().max(1.0);
        // Long, thin networks: keep the cell count near the edge count.
        while (w / cell_m).ceil() * (h / cell_m).ceil() > CELLS_PER_EDGE_MAX * n {
            cell_m *= 1.25;
        }
        let nx = ((w / cell_m).floor() as i64 + 1).max(1);
        let ny = ((h / cell_m).floor() as i64 + 1).max(1);
        let mut grid = SnapGrid {
            x0_m: x0,
            y0_m: y0,
            cell_m,
            nx,
            ny,
            start: vec![0; (nx * ny) as usize + 1],
            items: Vec::new(),
            segs,
            span: Vec::new(),
            node_start: Vec::new(),
            node_items: Vec::new(),
            node_snaps: NodeSnaps(
                (0..node_xy.len() * SNAP_CLASSES)
                    .map(|_| std::sync::atomic::AtomicU32::new(NO_EDGE))
                    .collect(),
            ),
        };
        grid.span = grid
            .segs
            .iter()
            .map(|[a, b]| {
                let (ax, ay) = grid.cell_of(*a);
                let (bx, by) = grid.cell_of(*b);
                [
                    ax.min(bx) as u32,
                    ay.min(by) as u32,
                    ax.max(bx) as u32,
                    ay.max(by) as u32,
                ]
            })
            .collect();
        for s in &grid.span {
            for y in s[1]..=s[3] {
                for x in s[0]..=s[2] {
                    grid.start[(i64::from(y) * nx + i64::from(x)) as usize + 1] += 1;
                }
            }
        }
        for c in 0..(nx * ny) as usize {
            grid.start[c + 1] += grid.start[c];
        }
        let mut fill: Vec<u32> = grid.start[..(nx * ny) as usize].to_vec();
        grid.items = vec![0; grid.start[(nx * ny) as usize] as usize];
        // Edges in id order, so each cell's list is ascending.
        for (e, s) in grid.span.iter().enumerate() {
            for y in s[1]..=s[3] {
                for x in s[0]..=s[2] {
                    let c = (i64::from(y) * nx + i64::from(x)) as usize;
                    grid.items[fill[c] as usize] = e as u32;
                    fill[c] += 1;
                }
            }
        }
        // Nodes by cell (counting sort), for the exact-position lookup.
        let cells = (nx * ny) as usize;
        let node_cell: Vec<usize> = node_xy
            .iter()
            .map(|&p| {
                let (x, y) = grid.cell_of(p);
                (y * nx + x) as usize
            })
            .collect();
        grid.node_start = vec![0; cells + 1];
        for &c in &node_cell {
            grid.node_start[c + 1] += 1;
        }
        for c in 0..cells {
            grid.node_start[c + 1] += grid.node_start[c];
        }
        let mut fill: Vec<u32> = grid.node_start[..cells].to_vec();
        grid.node_items = vec![0; node_xy.len()];
        for (n, &c) in node_cell.iter().enumerate() {
            grid.node_items[fill[c] as usize] = n as u32;
            fill[c] += 1;
        }
        grid
    }

    /// The node standing exactly at `p` (`node_xy` as given to [`SnapGrid::build`]), if any.
    // Exact equality is the point: only a point bit-identical to the node is answered from
    // the node's remembered snap.
    #[allow(clippy::float_cmp)]
    pub(crate) fn node_at(&self, p: [f64; 2], node_xy: &[[f64; 2]]) -> Option<usize> {
        // The clamped cell, as the nodes were filed: a point outside the grid equals no node.
        let (x, y) = self.cell_of(p);
        let c = (y * self.nx + x) as usize;
        let r = *self.node_start.get(c)? as usize..*self.node_start.get(c + 1)? as usize;
        self.node_items.get(r)?.iter().find_map(|&n| {
            let q = node_xy.get(n as usize)?;
            (q[0] == p[0] && q[1] == p[1]).then_some(n as usize)
        })
    }

    /// The edge node `n`'s exact position `p` snapped onto in snap class `class`, with its
    /// squared distance from `p` (computed as [`SnapGrid::visit`] does), if it was snapped
    /// before.
    pub(crate) fn node_snap(&self, n: usize, class: usize, p: [f64; 2]) -> Option<(EdgeId, f64)> {
        let e = self
            .node_snaps
            .0
            .get(n * SNAP_CLASSES + class)?
            .load(std::sync::atomic::Ordering::Relaxed);
        let [a, b] = *self.segs.get(e as usize)?;
        Some((EdgeId(e), segment_d2(a, b, p)))
    }

    /// Remember that node `n`'s exact position snaps onto `e` in snap class `class`.
    pub(crate) fn remember_node_snap(&self, n: usize, class: usize, e: EdgeId) {
        if let Some(slot) = self.node_snaps.0.get(n * SNAP_CLASSES + class) {
            slot.store(e.0, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// The cell holding `p`, clamped into the grid.
    fn cell_of(&self, p: [f64; 2]) -> (i64, i64) {
        (
            (((p[0] - self.x0_m) / self.cell_m).floor() as i64).clamp(0, self.nx - 1),
            (((p[1] - self.y0_m) / self.cell_m).floor() as i64).clamp(0, self.ny - 1),
        )
    }

    /// Visit the edges within `max_m` of `p` in ascending `(distance², edge id)` order until
    /// `visit` breaks; `None` when it never did. `scratch` is reused between calls.
    pub(crate) fn visit<R>(
        &self,
        p: [f64; 2],
        max_m: f64,
        scratch: &mut Vec<(f64, u32)>,
        mut visit: impl FnMut(EdgeId, f64) -> Option<R>,
    ) -> Option<R> {
        scratch.clear();
        if self.segs.is_empty() || max_m.is_nan() || max_m < 0.0 {
            return None;
        }
        let max2 = max_m * max_m;
        // The point's cell, unclamped: it may lie outside the grid.
        let fx = ((p[0] - self.x0_m) / self.cell_m).floor();
        let fy = ((p[1] - self.y0_m) / self.cell_m).floor();
        // Far outside (or not finite): no edge within reach that a ring walk would find soon;
        // the grid spans every edge, so its box bounds them all.
        let outside_x = (self.x0_m - p[0]).max(p[0] - (self.x0_m + self.nx as f64 * self.cell_m));
        let outside_y = (self.y0_m - p[1]).max(p[1] - (self.y0_m + self.ny as f64 * self.cell_m));
        if !fx.is_finite() || !fy.is_finite() || outside_x.max(outside_y) > max_m + self.cell_m {
            return None;
        }
        let (cx, cy) = (fx as i64, fy as i64);
        // Candidates `scratch[done..]` are seen but not yet visited.
        let mut done = 0;
        for k in 0_i64.. {
            let fresh = scratch.len();
            self.ring(cx, cy, k, p, scratch);
            // Ring 0 is one cell, which lists each edge once.
            if k > 0 && scratch.len() - fresh > 1 {
                // One edge may overlap several cells of the ring.
                scratch[fresh..].sort_unstable_by_key(|a| a.1);
                let mut w = fresh + 1;
                for r in fresh + 1..scratch.len() {
                    if scratch[r].1 != scratch[w - 1].1 {
                        scratch[w] = scratch[r];
                        w += 1;
                    }
                }
                scratch.truncate(w);
            }
            let (lo_x, lo_y, hi_x, hi_y) = (cx - k, cy - k, cx + k, cy + k);
            let whole = lo_x <= 0 && lo_y <= 0 && hi_x >= self.nx - 1 && hi_y >= self.ny - 1;
            // Every unseen edge is at least `bound` away.
            let bound = if whole {
                f64::INFINITY
            } else {
                let bx0 = self.x0_m + lo_x as f64 * self.cell_m;
                let by0 = self.y0_m + lo_y as f64 * self.cell_m;
                let bx1 = self.x0_m + (hi_x + 1) as f64 * self.cell_m;
                let by1 = self.y0_m + (hi_y + 1) as f64 * self.cell_m;
                let inside = (p[0] - bx0).min(bx1 - p[0]).min(p[1] - by0).min(by1 - p[1]);
                (inside - BOUND_SLACK_M).max(0.0)
            };
            // Past the reach every unseen edge is out of it: the seen ones are all there is.
            let bound2 = if bound > max_m {
                f64::INFINITY
            } else {
                bound * bound
            };
            // Candidates come out smallest first. Most snaps take the first one (issue 15:
            // sorting every candidate of the cell was a good part of a batch's snapping), so
            // the smallest is found by a scan, and the rest are sorted only after a few picks.
            // Keys are distinct (an edge is a candidate once), so the order is the sort's.
            let mut picks = 0;
            let mut sorted = false;
            while done < scratch.len() {
                if !sorted {
                    let rest = &mut scratch[done..];
                    if picks < 4 {
                        let mut m = 0;
                        for i in 1..rest.len() {
                            if by_distance(&rest[i], &rest[m]).is_lt() {
                                m = i;
                            }
                        }
                        rest.swap(0, m);
                        picks += 1;
                    } else {
                        rest.sort_unstable_by(by_distance);
                        sorted = true;
                    }
                }
                let (d2, e) = scratch[done];
                // An unseen edge may still be nearer than this one.
                if d2 >= bound2 {
                    break;
                }
                // Nothing seen or unseen is within reach any more.
                if d2 > max2 {
                    return None;
                }
                done += 1;
                if let Some(r) = visit(EdgeId(e), d2) {
                    return Some(r);
                }
            }
            if bound > max_m {
                return None;
            }
        }
        None
    }

    /// Push `(distance², edge)` for the edges of ring `k` around cell `(cx, cy)` not seen in
    /// an inner ring.
    fn ring(&self, cx: i64, cy: i64, k: i64, p: [f64; 2], out: &mut Vec<(f64, u32)>) {
        let (lo_x, lo_y, hi_x, hi_y) = (cx - k, cy - k, cx + k, cy + k);
        let mut cell = |x: i64, y: i64| {
            if x < 0 || y < 0 || x >= self.nx || y >= self.ny {
                return;
            }
            let c = (y * self.nx + x) as usize;
            for &e in &self.items[self.start[c] as usize..self.start[c + 1] as usize] {
                let s = self.span[e as usize];
                // Seen already when its cells reach into the inner block.
                if k > 0
                    && i64::from(s[0]) < hi_x
                    && i64::from(s[2]) > lo_x
                    && i64::from(s[1]) < hi_y
                    && i64::from(s[3]) > lo_y
                {
                    continue;
                }
                let [a, b] = self.segs[e as usize];
                out.push((segment_d2(a, b, p), e));
            }
        };
        if k == 0 {
            cell(cx, cy);
            return;
        }
        let (x_from, x_to) = (lo_x.max(0), hi_x.min(self.nx - 1));
        for y in [lo_y, hi_y] {
            if (0..self.ny).contains(&y) {
                for x in x_from..=x_to {
                    cell(x, y);
                }
            }
        }
        for y in (lo_y + 1).max(0)..=(hi_y - 1).min(self.ny - 1) {
            cell(lo_x, y);
            cell(hi_x, y);
        }
    }
}
