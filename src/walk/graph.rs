//! The walking graph: walkway vertices as nodes, straight pieces between consecutive vertices
//! as edges, stored in flat vectors with a CSR adjacency. Built once, then shared read-only.

use std::collections::HashMap;

use geo::Polygon;
use rstar::RTree;
use rstar::primitives::Line;

use crate::model::{LocalProj, Walkway, WalkwayKind};

use super::chains::Chains;
use super::profile::{PROFILE_COUNT, Profile};
use super::water::{GridSpec, Water};

/// Index of a node in [`WalkGraph`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub u32);

/// Index of an edge in [`WalkGraph`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EdgeId(pub u32);

impl NodeId {
    #[must_use]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl EdgeId {
    #[must_use]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// One straight piece of walkway between two consecutive vertices.
#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    pub from: NodeId,
    pub to: NodeId,
    /// Horizontal length in local metres.
    pub run_m: f64,
    /// Length along the slope, `hypot(run_m, climb_m)`: the distance actually walked.
    pub length_m: f64,
    /// Elevation of `to` minus elevation of `from`, metres (0 when the walkway has none).
    pub climb_m: f64,
    pub kind: WalkwayKind,
    /// Index of the walkway in the slice given to [`WalkGraph::build`].
    pub walkway: u32,
    /// Traversal seconds per profile, `[forward (from→to), backward]`; `+∞` = impassable.
    cost_s: [[f64; 2]; PROFILE_COUNT],
}

impl Edge {
    /// Seconds to walk the whole edge in profile `p`, `from`→`to` when `forward`.
    /// `f64::INFINITY` when the profile cannot use it.
    #[inline]
    #[must_use]
    pub fn cost_s(&self, p: Profile, forward: bool) -> f64 {
        self.cost_s[p.index()][usize::from(!forward)]
    }
}

/// An entry of a node's adjacency: an incident edge and the node at its other end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Adjacent {
    pub edge: EdgeId,
    pub head: NodeId,
    /// True when walking this entry goes `from`→`to` along the edge.
    pub forward: bool,
}

/// Build options.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GraphOptions {
    /// Cell size of the isochrone raster and the water mask, metres. 20–30 m follows
    /// street-level detail without costing much time.
    pub cell_m: f64,
}

impl Default for GraphOptions {
    fn default() -> Self {
        GraphOptions { cell_m: 25.0 }
    }
}

pub(crate) type SegmentEntry = crate::index::LineEntry<EdgeId>;

/// The walking network in local metres. Immutable after [`WalkGraph::build`]; `Send + Sync`,
/// so the API shares one behind an `Arc` and gives each worker thread its own
/// [`Searcher`](super::Searcher).
#[derive(Debug)]
pub struct WalkGraph {
    proj: LocalProj,
    node_xy: Vec<[f64; 2]>,
    edges: Vec<Edge>,
    /// CSR: the adjacency of node `n` is `adj[adj_start[n]..adj_start[n + 1]]`.
    adj_start: Vec<u32>,
    adj: Vec<Adjacent>,
    /// Per profile, the cost of walking each adjacency entry, in `adj` order: the search
    /// reads it sequentially instead of chasing the (large) `Edge` records.
    adj_cost_s: [Vec<f64>; PROFILE_COUNT],
    /// Slope length of each adjacency entry's edge, in `adj` order.
    adj_length_m: Vec<f64>,
    /// Every edge as a segment, for the nearest walkway at any distance: only a point that
    /// snaps to nothing within reach asks (the snapping index answers every other), so it is
    /// built at the first such question, not at start-up (issue 15: 4 ms of start-up and
    /// 1.2 MB resident on the default data; that first question pays the 4 ms).
    segments: std::sync::OnceLock<RTree<SegmentEntry>>,
    /// The raster cells each edge's samples fall in, for isochrones: built at the first
    /// isochrone, not at start-up (start-up resident memory is budgeted).
    edge_cells: std::sync::OnceLock<super::isochrone::EdgeCells>,
    /// The snapping index (issue 15: cheaper per point than the R-tree's nearest iterator).
    pub(crate) snap_grid: super::snapgrid::SnapGrid,
    water: Water,
    /// The degree-2 chains folded, for whole-network searches.
    chains: Chains,
}

impl WalkGraph {
    /// Build with [`GraphOptions::default`]. `water` is in WGS84; `proj` maps WGS84 to the local
    /// metres everything is computed in.
    #[must_use]
    pub fn build(walkways: &[Walkway], water: &[Polygon<f64>], proj: &LocalProj) -> WalkGraph {
        Self::build_with(walkways, water, proj, GraphOptions::default())
    }

    /// Build the graph. Vertices at identical WGS84 positions become one node. Consecutive
    /// duplicate vertices are skipped. Walkways without elevation are flat; a walkway whose
    /// elevation list has the wrong length is treated as flat too.
    #[must_use]
    pub fn build_with(
        walkways: &[Walkway],
        water: &[Polygon<f64>],
        proj: &LocalProj,
        opts: GraphOptions,
    ) -> WalkGraph {
        Self::build_reusing(walkways, water, proj, opts, None)
    }

    /// [`WalkGraph::build_with`], taking the water raster of `same_water` (a graph built
    /// over the same water polygons) when the new graph's raster grid is the same: the
    /// water's union and buffer are the costly part and depend only on the water and grid.
    #[must_use]
    pub fn build_reusing(
        walkways: &[Walkway],
        water: &[Polygon<f64>],
        proj: &LocalProj,
        opts: GraphOptions,
        same_water: Option<&WalkGraph>,
    ) -> WalkGraph {
        let started = std::time::Instant::now();
        // Sized once for every vertex: growing the map rehashed it a dozen times.
        let vertices: usize = walkways.iter().map(|w| w.lonlat.len()).sum();
        let mut node_of: HashMap<(u64, u64), NodeId> = HashMap::with_capacity(vertices);
        let mut node_xy: Vec<[f64; 2]> = Vec::new();
        let mut edges: Vec<Edge> = Vec::with_capacity(vertices);
        let mut node = |lon: f64, lat: f64, node_xy: &mut Vec<[f64; 2]>| -> NodeId {
            // +0.0 normalises -0.0 so both spellings of zero merge.
            let key = ((lon + 0.0).to_bits(), (lat + 0.0).to_bits());
            *node_of.entry(key).or_insert_with(|| {
                let (x, y) = proj.to_xy(lon, lat);
                node_xy.push([x, y]);
                NodeId((node_xy.len() - 1) as u32)
            })
        };
        for (wi, w) in walkways.iter().enumerate() {
            let elev = w.elevation_m.as_ref().filter(|e| e.len() == w.lonlat.len());
            let ids: Vec<NodeId> = w
                .lonlat
                .iter()
                .map(|&(lon, lat)| node(lon, lat, &mut node_xy))
                .collect();
            for i in 1..ids.len() {
                let (a, b) = (ids[i - 1], ids[i]);
                if a == b {
                    continue;
                }
                let pa = node_xy[a.index()];
                let pb = node_xy[b.index()];
                let run_m = (pb[0] - pa[0]).hypot(pb[1] - pa[1]);
                let climb_m = elev.map_or(0.0, |e| e[i] - e[i - 1]);
                let mut cost_s = [[0.0; 2]; PROFILE_COUNT];
                for p in Profile::ALL {
                    cost_s[p.index()] = [
                        p.segment_cost_s(w.kind, run_m, climb_m),
                        p.segment_cost_s(w.kind, run_m, -climb_m),
                    ];
                }
                edges.push(Edge {
                    from: a,
                    to: b,
                    run_m,
                    length_m: run_m.hypot(climb_m),
                    climb_m,
                    kind: w.kind,
                    walkway: wi as u32,
                    cost_s,
                });
            }
        }
        // CSR adjacency by counting sort.
        // Held for the graph's life: no spare capacity (the edges were sized by vertices).
        edges.shrink_to_fit();
        node_xy.shrink_to_fit();
        let n = node_xy.len();
        let mut adj_start = vec![0u32; n + 1];
        for e in &edges {
            adj_start[e.from.index() + 1] += 1;
            adj_start[e.to.index() + 1] += 1;
        }
        for i in 0..n {
            adj_start[i + 1] += adj_start[i];
        }
        let mut fill: Vec<u32> = adj_start[..n].to_vec();
        let placeholder = Adjacent {
            edge: EdgeId(0),
            head: NodeId(0),
            forward: true,
        };
        let mut adj = vec![placeholder; edges.len() * 2];
        for (i, e) in edges.iter().enumerate() {
            let id = EdgeId(i as u32);
            adj[fill[e.from.index()] as usize] = Adjacent {
                edge: id,
                head: e.to,
                forward: true,
            };
            fill[e.from.index()] += 1;
            adj[fill[e.to.index()] as usize] = Adjacent {
                edge: id,
                head: e.from,
                forward: false,
            };
            fill[e.to.index()] += 1;
        }
        let adj_cost_s = Profile::ALL.map(|p| {
            adj.iter()
                .map(|a| edges[a.edge.index()].cost_s(p, a.forward))
                .collect()
        });
        let adj_length_m = adj.iter().map(|a| edges[a.edge.index()].length_m).collect();
        let snap_grid = super::snapgrid::SnapGrid::build(&node_xy, &edges);
        let edges_ms = started.elapsed().as_secs_f64() * 1e3;
        let grid = grid_around(&node_xy, opts.cell_m);
        let water = match same_water {
            Some(g) if g.water.grid == grid && g.proj == *proj => g.water.clone(),
            _ => Water::build(water, proj, grid),
        };
        // Where a snapshot's graph time goes (issue 12's swap budget).
        tracing::debug!(
            edges_adjacency_rtree_ms = edges_ms,
            water_ms = started.elapsed().as_secs_f64() * 1e3 - edges_ms,
            "walk graph built"
        );
        let mut g = WalkGraph {
            proj: *proj,
            node_xy,
            edges,
            adj_start,
            adj,
            adj_cost_s,
            adj_length_m,
            segments: std::sync::OnceLock::new(),
            edge_cells: std::sync::OnceLock::new(),
            snap_grid,
            water,
            chains: Chains::default(),
        };
        g.chains = Chains::build(&g);
        g
    }

    /// Every edge as a segment in an R-tree (built at the first call).
    pub(crate) fn segments(&self) -> &RTree<SegmentEntry> {
        self.segments.get_or_init(|| {
            RTree::bulk_load(
                self.edges
                    .iter()
                    .enumerate()
                    .map(|(i, e)| {
                        SegmentEntry::new(
                            Line::new(self.node_xy[e.from.index()], self.node_xy[e.to.index()]),
                            EdgeId(i as u32),
                        )
                    })
                    .collect(),
            )
        })
    }

    /// The raster cells of every edge (built at the first call).
    pub(crate) fn edge_cells(&self) -> &super::isochrone::EdgeCells {
        self.edge_cells
            .get_or_init(|| super::isochrone::EdgeCells::build(self))
    }

    /// The folded search graph (degree-2 chains as single edges).
    #[must_use]
    pub fn chains(&self) -> &Chains {
        &self.chains
    }

    #[must_use]
    pub fn proj(&self) -> &LocalProj {
        &self.proj
    }

    #[must_use]
    pub fn node_count(&self) -> usize {
        self.node_xy.len()
    }

    #[must_use]
    pub fn edge_count(&self) -> usize {
        self.edges.len()
    }

    /// Every node's position (local metres), by node index.
    pub(crate) fn node_positions(&self) -> &[[f64; 2]] {
        &self.node_xy
    }

    /// Position of a node in local metres.
    #[inline]
    #[must_use]
    pub fn node_xy(&self, n: NodeId) -> [f64; 2] {
        self.node_xy[n.index()]
    }

    #[inline]
    #[must_use]
    pub fn edge(&self, e: EdgeId) -> &Edge {
        &self.edges[e.index()]
    }

    #[must_use]
    pub fn edges(&self) -> &[Edge] {
        &self.edges
    }

    /// Edges incident to `n`, each with the node at its other end.
    #[inline]
    #[must_use]
    pub fn adjacent(&self, n: NodeId) -> &[Adjacent] {
        let i = n.index();
        &self.adj[self.adj_start[i] as usize..self.adj_start[i + 1] as usize]
    }

    /// The adjacency of `n` with, for each entry, its cost in profile `p` (s) and length (m).
    #[inline]
    pub(crate) fn adjacent_costs(&self, n: NodeId, p: Profile) -> (&[Adjacent], &[f64], &[f64]) {
        let i = n.index();
        let r = self.adj_start[i] as usize..self.adj_start[i + 1] as usize;
        (
            &self.adj[r.clone()],
            &self.adj_cost_s[p.index()][r.clone()],
            &self.adj_length_m[r],
        )
    }

    /// Point at `fraction` (0 = `from`, 1 = `to`) along edge `e`, local metres.
    #[must_use]
    pub fn point_on_edge(&self, e: EdgeId, fraction: f64) -> [f64; 2] {
        let edge = self.edge(e);
        let a = self.node_xy(edge.from);
        let b = self.node_xy(edge.to);
        [
            a[0] + (b[0] - a[0]) * fraction,
            a[1] + (b[1] - a[1]) * fraction,
        ]
    }

    /// The water index and mask the graph was built with.
    #[must_use]
    pub fn water(&self) -> &Water {
        &self.water
    }

    /// Convert local metres to WGS84 `(lon, lat)`.
    #[must_use]
    pub fn to_lonlat(&self, xy: [f64; 2]) -> (f64, f64) {
        self.proj.to_lonlat(xy[0], xy[1])
    }
}

/// `[min x, min y, max x, max y]` of local metre points; a zero box when there are none.
pub(crate) fn xy_bounds<'a>(points: impl IntoIterator<Item = &'a [f64; 2]>) -> [f64; 4] {
    let mut b = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    for p in points {
        b = [
            b[0].min(p[0]),
            b[1].min(p[1]),
            b[2].max(p[0]),
            b[3].max(p[1]),
        ];
    }
    if b[0].is_finite() { b } else { [0.0; 4] }
}

/// A grid covering all nodes with a margin of at least 400 m, so the connectors of points
/// snapped from up to [`DEFAULT_MAX_SNAP_M`](super::DEFAULT_MAX_SNAP_M) away stay inside it.
fn grid_around(node_xy: &[[f64; 2]], cell_m: f64) -> GridSpec {
    let cell_m = if cell_m.is_finite() && cell_m > 0.5 {
        cell_m
    } else {
        GraphOptions::default().cell_m
    };
    let [x0, y0, x1, y1] = xy_bounds(node_xy);
    let margin = (400.0 / cell_m).ceil() * cell_m;
    let x0_m = ((x0 - margin) / cell_m).floor() * cell_m;
    let y0_m = ((y0 - margin) / cell_m).floor() * cell_m;
    let nx = ((x1 + margin - x0_m) / cell_m).ceil() as usize + 1;
    let ny = ((y1 + margin - y0_m) / cell_m).ceil() as usize + 1;
    GridSpec {
        x0_m,
        y0_m,
        cell_m,
        nx,
        ny,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ww(id: &str, kind: WalkwayKind, pts: &[(f64, f64)], elev: Option<Vec<f64>>) -> Walkway {
        Walkway {
            id: id.into(),
            kind,
            name: None,
            lonlat: pts.to_vec(),
            elevation_m: elev,
        }
    }

    #[test]
    fn merges_shared_vertices_and_costs_both_directions() {
        let proj = LocalProj::new(106.53, 29.47);
        let a = (106.530, 29.470);
        let b = (106.531, 29.470);
        let c = (106.531, 29.471);
        let ws = vec![
            ww("s", WalkwayKind::Street, &[a, b], Some(vec![200.0, 210.0])),
            ww("t", WalkwayKind::Stairs, &[b, c], None),
        ];
        let g = WalkGraph::build(&ws, &[], &proj);
        assert_eq!(g.node_count(), 3);
        assert_eq!(g.edge_count(), 2);
        let e = g.edge(EdgeId(0));
        assert!((e.run_m - 97.0).abs() < 1.0, "{}", e.run_m);
        assert!((e.climb_m - 10.0).abs() < 1e-12);
        assert!(e.length_m > e.run_m);
        assert!(e.cost_s(Profile::Standard, true) > e.cost_s(Profile::Standard, false));
        let stairs = g.edge(EdgeId(1));
        assert!(stairs.cost_s(Profile::Wheelchair, true).is_infinite());
        assert_eq!(g.adjacent(NodeId(1)).len(), 2);
        let _: &dyn Send = &g;
        let _: &dyn Sync = &g;
    }
}
