//! Snapping points onto the walking network, never across water.

use super::graph::{EdgeId, WalkGraph};
use super::profile::Profile;

/// Default largest distance from a point to the walkway it may join, metres.
pub const DEFAULT_MAX_SNAP_M: f64 = 300.0;

/// A point joined to the network: the nearest admissible position on an edge.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Snap {
    pub edge: EdgeId,
    /// Position along the edge, 0 = its `from` node, 1 = its `to` node.
    pub fraction: f64,
    /// Straight distance from the point to the snapped position, metres.
    pub offset_m: f64,
    /// The point that was snapped, local metres.
    pub point_xy: [f64; 2],
    /// The snapped position on the edge, local metres.
    pub snapped_xy: [f64; 2],
}

impl Snap {
    /// Seconds to walk the connector from the point to the network at the profile's flat speed.
    #[must_use]
    pub fn connector_s(&self, p: Profile) -> f64 {
        self.offset_m / p.flat_speed_m_per_s()
    }
}

/// Why a point cannot join the network.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SnapError {
    #[error(
        "the point is {distance_m:.0} m from the nearest walkway, more than the {max_snap_m:.0} m allowed"
    )]
    TooFar { distance_m: f64, max_snap_m: f64 },
    #[error(
        "every walkway within {max_snap_m:.0} m is across water (the nearest is {nearest_m:.0} m away)"
    )]
    AcrossWater { nearest_m: f64, max_snap_m: f64 },
    #[error("the network has no walkway this profile may use")]
    NoWalkway,
    #[error("the position is not a finite number")]
    NotFinite,
}

impl WalkGraph {
    /// Snap `(x_m, y_m)` (local metres) onto the nearest edge within `max_snap_m` whose
    /// connector does not cross water. Candidates are tried nearest first.
    ///
    /// Errors: [`SnapError::TooFar`] with the distance to the nearest walkway when none is
    /// within `max_snap_m`; [`SnapError::AcrossWater`] when all within reach are across water.
    pub fn snap(&self, x_m: f64, y_m: f64, max_snap_m: f64) -> Result<Snap, SnapError> {
        self.snap_where(x_m, y_m, max_snap_m, 0, |_| true)
    }

    /// Like [`WalkGraph::snap`] but only onto edges the profile may walk in at least one
    /// direction (a wheelchair never joins the network on a stair).
    pub fn snap_for(
        &self,
        x_m: f64,
        y_m: f64,
        max_snap_m: f64,
        p: Profile,
    ) -> Result<Snap, SnapError> {
        self.snap_where(x_m, y_m, max_snap_m, 1 + p.index(), |e| {
            let edge = self.edge(e);
            edge.cost_s(p, true).is_finite() || edge.cost_s(p, false).is_finite()
        })
    }

    /// Snap a WGS84 position; see [`WalkGraph::snap_for`].
    pub fn snap_lonlat(
        &self,
        lon: f64,
        lat: f64,
        max_snap_m: f64,
        p: Profile,
    ) -> Result<Snap, SnapError> {
        let (x, y) = self.proj().to_xy(lon, lat);
        self.snap_for(x, y, max_snap_m, p)
    }

    /// Straight distance (m) from `(x_m, y_m)` to the nearest edge, water ignored; `None`
    /// for an empty graph. For diagnostics and checks.
    #[must_use]
    pub fn nearest_walkway_m(&self, x_m: f64, y_m: f64) -> Option<f64> {
        self.segments()
            .nearest_neighbor_iter_with_distance_2(&[x_m, y_m])
            .next()
            .map(|(_, d2)| d2.sqrt())
    }

    /// `class`: which admissibility `admissible` is (0: every edge, `1 + profile index`: the
    /// profile's), under which a node's snap is remembered.
    fn snap_where(
        &self,
        x_m: f64,
        y_m: f64,
        max_snap_m: f64,
        class: usize,
        admissible: impl Fn(EdgeId) -> bool,
    ) -> Result<Snap, SnapError> {
        if !x_m.is_finite() || !y_m.is_finite() {
            return Err(SnapError::NotFinite);
        }
        let p = [x_m, y_m];
        // A point exactly at a node snapped before (in this class) snaps where it did: the
        // snap is the first admissible, dry candidate in (distance, edge id) order, which
        // does not depend on the reach once the reach covers it (issue 15: a batch of every
        // node snapped each one through the grid on every request).
        let node = self.snap_grid.node_at(p, self.node_positions());
        if let Some(n) = node
            && let Some((e, d2)) = self.snap_grid.node_snap(n, class, p)
            && max_snap_m >= 0.0
            && d2 <= max_snap_m * max_snap_m
            && let Some(snap) = self.snap_onto(e, p)
        {
            return Ok(snap);
        }
        // The nearest admissible edge's distance, for the error when all in reach are across
        // water.
        let mut nearest_m: Option<f64> = None;
        let found = with_snap_scratch(|scratch| {
            self.snap_grid.visit(p, max_snap_m, scratch, |e, d2| {
                if !admissible(e) {
                    return None;
                }
                nearest_m.get_or_insert(d2.sqrt());
                self.snap_onto(e, p)
            })
        });
        if let (Some(snap), Some(n)) = (&found, node) {
            self.snap_grid.remember_node_snap(n, class, snap.edge);
        }
        if let Some(snap) = found {
            return Ok(snap);
        }
        if let Some(d) = nearest_m {
            return Err(SnapError::AcrossWater {
                nearest_m: d,
                max_snap_m,
            });
        }
        // Nothing admissible within reach (rare: a point off the network): the distance to
        // the nearest admissible walkway however far, from the R-tree.
        let farther = self
            .segments()
            .nearest_neighbor_iter_with_distance_2(&[x_m, y_m])
            .find(|(entry, _)| admissible(entry.data));
        match farther {
            None => Err(SnapError::NoWalkway),
            Some((_, d2)) => Err(SnapError::TooFar {
                distance_m: d2.sqrt(),
                max_snap_m,
            }),
        }
    }

    /// `p` joined to edge `e` at its nearest position, unless that connector crosses water.
    fn snap_onto(&self, e: EdgeId, p: [f64; 2]) -> Option<Snap> {
        let edge = self.edge(e);
        let a = self.node_xy(edge.from);
        let b = self.node_xy(edge.to);
        let fraction = project_fraction(a, b, p);
        let snapped_xy = [
            a[0] + (b[0] - a[0]) * fraction,
            a[1] + (b[1] - a[1]) * fraction,
        ];
        if self.water().crosses(p, snapped_xy) {
            return None;
        }
        let offset_m = (snapped_xy[0] - p[0]).hypot(snapped_xy[1] - p[1]);
        Some(Snap {
            edge: e,
            fraction,
            offset_m,
            point_xy: p,
            snapped_xy,
        })
    }

    /// The snap [`WalkGraph::snap_for`] must give, by brute force over every edge: the
    /// nearest admissible edge within `max_snap_m` whose connector does not cross water,
    /// ties to the lower edge id. The oracle of the snapping index's tests.
    #[must_use]
    pub fn snap_brute_force(
        &self,
        x_m: f64,
        y_m: f64,
        max_snap_m: f64,
        p: Profile,
    ) -> Option<Snap> {
        let pt = [x_m, y_m];
        let mut best: Option<(f64, EdgeId)> = None;
        for (i, edge) in self.edges().iter().enumerate() {
            if !(edge.cost_s(p, true).is_finite() || edge.cost_s(p, false).is_finite()) {
                continue;
            }
            let (a, b) = (self.node_xy(edge.from), self.node_xy(edge.to));
            let d2 = super::snapgrid::segment_d2(a, b, pt);
            if d2 > max_snap_m * max_snap_m || best.is_some_and(|(bd, _)| bd <= d2) {
                continue;
            }
            let f = project_fraction(a, b, pt);
            let s = [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f];
            if !self.water().crosses(pt, s) {
                best = Some((d2, EdgeId(i as u32)));
            }
        }
        let (_, e) = best?;
        let edge = self.edge(e);
        let (a, b) = (self.node_xy(edge.from), self.node_xy(edge.to));
        let fraction = project_fraction(a, b, pt);
        let snapped_xy = [
            a[0] + (b[0] - a[0]) * fraction,
            a[1] + (b[1] - a[1]) * fraction,
        ];
        Some(Snap {
            edge: e,
            fraction,
            offset_m: (snapped_xy[0] - x_m).hypot(snapped_xy[1] - y_m),
            point_xy: pt,
            snapped_xy,
        })
    }
}

thread_local! {
    /// Per-thread candidate list of the snapping index, so a snap allocates nothing.
    static SNAP_SCRATCH: std::cell::RefCell<Vec<(f64, u32)>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn with_snap_scratch<R>(f: impl FnOnce(&mut Vec<(f64, u32)>) -> R) -> R {
    SNAP_SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut v) => f(&mut v),
        Err(_) => f(&mut Vec::new()),
    })
}

/// Fraction along `a`→`b` of the point nearest to `p`, clamped to [0, 1].
fn project_fraction(a: [f64; 2], b: [f64; 2], p: [f64; 2]) -> f64 {
    let d = [b[0] - a[0], b[1] - a[1]];
    let len2 = d[0] * d[0] + d[1] * d[1];
    if len2 <= 0.0 {
        return 0.0;
    }
    (((p[0] - a[0]) * d[0] + (p[1] - a[1]) * d[1]) / len2).clamp(0.0, 1.0)
}

/// Which snapping a profile uses: 0 = any walkway, 1 = step-free walkways only.
#[must_use]
pub(crate) fn variant(p: Profile) -> usize {
    usize::from(p.stairs_vertical_m_per_s().is_none())
}

/// Points (facilities, buildings) snapped once, with an edge → points index so one search
/// can find every point on the edges it reaches. Each point is snapped twice: onto any
/// walkway, and onto step-free walkways (used by profiles that cannot take stairs).
#[derive(Debug, Clone)]
pub struct SnappedPoints {
    xy_m: Vec<[f64; 2]>,
    snaps: [Vec<Option<Snap>>; 2],
    tags: Vec<u32>,
    /// Per variant, CSR over edges: points on edge `e` are `by_edge[start[e]..start[e+1]]`.
    edge_start: [Vec<u32>; 2],
    by_edge: [Vec<u32>; 2],
    errors: Vec<(usize, SnapError)>,
    /// The raster cells of the points' connectors and their order by x, for isochrones:
    /// built at the first isochrone, not at start-up (start-up resident memory is budgeted).
    raster: std::sync::OnceLock<super::isochrone::PointCells>,
}

impl SnappedPoints {
    /// Snap `lonlat` (WGS84) onto `graph`. `tags[i]` is a caller-defined small integer for
    /// point `i` (for facilities, the index of its category) used to filter searches; pass
    /// an empty slice when there are none (all tags are then 0; a slice of any other wrong
    /// length is treated the same). Points that cannot be
    /// snapped stay in the set, unreachable, and are listed by [`SnappedPoints::errors`].
    #[must_use]
    pub fn build(
        graph: &WalkGraph,
        lonlat: &[(f64, f64)],
        tags: &[u32],
        max_snap_m: f64,
    ) -> SnappedPoints {
        let xy: Vec<[f64; 2]> = lonlat
            .iter()
            .map(|&(lon, lat)| {
                let (x, y) = graph.proj().to_xy(lon, lat);
                [x, y]
            })
            .collect();
        let mut errors = Vec::new();
        let mut any = Vec::with_capacity(xy.len());
        let mut step_free = Vec::with_capacity(xy.len());
        // On every core: the buildings' snaps are most of a snapshot's rebuild after a
        // walkway edit (issue 12's swap budget); the order of the results is the points'.
        let snapped: Vec<(Result<Snap, SnapError>, Result<Snap, SnapError>)> = {
            use rayon::prelude::*;
            xy.par_iter()
                .with_min_len(256)
                .map(|p| {
                    let s_any = graph.snap(p[0], p[1], max_snap_m);
                    let s_free = match &s_any {
                        Ok(s) if graph.edge(s.edge).kind != crate::model::WalkwayKind::Stairs => {
                            s_any.clone()
                        }
                        _ => graph.snap_for(p[0], p[1], max_snap_m, Profile::Wheelchair),
                    };
                    (s_any, s_free)
                })
                .collect()
        };
        for (i, (s_any, s_free)) in snapped.into_iter().enumerate() {
            if let Err(e) = &s_any {
                errors.push((i, e.clone()));
            }
            any.push(s_any.ok());
            step_free.push(s_free.ok());
        }
        let tags = if tags.len() == xy.len() {
            tags.to_vec()
        } else {
            vec![0; xy.len()]
        };
        let (s0, b0) = index_by_edge(graph.edge_count(), &any);
        let (s1, b1) = index_by_edge(graph.edge_count(), &step_free);
        SnappedPoints {
            xy_m: xy,
            snaps: [any, step_free],
            tags,
            edge_start: [s0, s1],
            by_edge: [b0, b1],
            errors,
            raster: std::sync::OnceLock::new(),
        }
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.tags.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.tags.is_empty()
    }

    /// The snap of point `i` used by profile `p`, or `None` when it could not be snapped.
    #[must_use]
    pub fn snap(&self, i: usize, p: Profile) -> Option<&Snap> {
        self.snaps[variant(p)].get(i).and_then(Option::as_ref)
    }

    /// Every point's position in local metres, snapped or not.
    #[must_use]
    pub fn positions_xy(&self) -> &[[f64; 2]] {
        &self.xy_m
    }

    #[must_use]
    pub fn tag(&self, i: usize) -> u32 {
        self.tags[i]
    }

    /// Points that could not be snapped onto any walkway, with why.
    #[must_use]
    pub fn errors(&self) -> &[(usize, SnapError)] {
        &self.errors
    }

    /// The raster cells of the points' connectors on `graph` (built at the first call; the
    /// points must have been snapped onto `graph`).
    pub(crate) fn raster_cells(&self, graph: &WalkGraph) -> &super::isochrone::PointCells {
        self.raster
            .get_or_init(|| super::isochrone::PointCells::build(graph, self))
    }

    /// Indices of the points snapped onto edge `e` for profile `p`.
    #[inline]
    #[must_use]
    pub fn on_edge(&self, e: EdgeId, p: Profile) -> &[u32] {
        let v = variant(p);
        let s = &self.edge_start[v];
        &self.by_edge[v][s[e.index()] as usize..s[e.index() + 1] as usize]
    }
}

fn index_by_edge(edge_count: usize, snaps: &[Option<Snap>]) -> (Vec<u32>, Vec<u32>) {
    let mut start = vec![0u32; edge_count + 1];
    for s in snaps.iter().flatten() {
        start[s.edge.index() + 1] += 1;
    }
    for i in 0..edge_count {
        start[i + 1] += start[i];
    }
    let mut fill = start[..edge_count].to_vec();
    let mut items = vec![0u32; start[edge_count] as usize];
    for (i, s) in snaps.iter().enumerate() {
        if let Some(s) = s {
            items[fill[s.edge.index()] as usize] = i as u32;
            fill[s.edge.index()] += 1;
        }
    }
    (start, items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LocalProj, Walkway, WalkwayKind};
    use geo::Polygon;

    fn proj() -> LocalProj {
        LocalProj::new(106.53, 29.47)
    }

    fn ww(id: &str, kind: WalkwayKind, xy: &[(f64, f64)]) -> Walkway {
        let p = proj();
        Walkway {
            id: id.into(),
            kind,
            name: None,
            lonlat: xy.iter().map(|&(x, y)| p.to_lonlat(x, y)).collect(),
            elevation_m: None,
        }
    }

    fn rect_wgs(x0: f64, y0: f64, x1: f64, y1: f64) -> Polygon<f64> {
        let p = proj();
        let c = |x, y| p.to_lonlat(x, y);
        Polygon::new(
            geo::LineString::from(vec![c(x0, y0), c(x1, y0), c(x1, y1), c(x0, y1), c(x0, y0)]),
            vec![],
        )
    }

    #[test]
    fn snaps_to_nearest_segment_with_fraction_and_offset() {
        let g = WalkGraph::build(
            &[ww("a", WalkwayKind::Street, &[(0.0, 0.0), (100.0, 0.0)])],
            &[],
            &proj(),
        );
        let s = g.snap(25.0, 10.0, 300.0).expect("snap");
        assert_eq!(s.edge, EdgeId(0));
        assert!((s.fraction - 0.25).abs() < 1e-6);
        assert!((s.offset_m - 10.0).abs() < 1e-6);
        // Beyond the end the projection clamps to the end node.
        let s = g.snap(130.0, 40.0, 300.0).expect("snap");
        assert!((s.fraction - 1.0).abs() < 1e-12);
        assert!((s.offset_m - 50.0).abs() < 1e-6);
    }

    #[test]
    fn too_far_reports_the_distance() {
        let g = WalkGraph::build(
            &[ww("a", WalkwayKind::Street, &[(0.0, 0.0), (100.0, 0.0)])],
            &[],
            &proj(),
        );
        match g.snap(50.0, 400.0, 300.0) {
            Err(SnapError::TooFar {
                distance_m,
                max_snap_m,
            }) => {
                assert!((distance_m - 400.0).abs() < 1e-6);
                assert!((max_snap_m - 300.0).abs() < 1e-12);
            }
            other => panic!("expected TooFar, got {other:?}"),
        }
        assert!(
            g.snap(50.0, 400.0, 500.0).is_ok(),
            "max_snap_m is configurable"
        );
    }

    #[test]
    fn never_snaps_across_water() {
        // Far bank walkway at y = 0, near bank walkway at y = 200; river between y = 20..150.
        let ws = [
            ww("far", WalkwayKind::Street, &[(0.0, 0.0), (300.0, 0.0)]),
            ww("near", WalkwayKind::Street, &[(0.0, 200.0), (300.0, 200.0)]),
        ];
        let water = [rect_wgs(-50.0, 20.0, 350.0, 150.0)];
        let g = WalkGraph::build(&ws, &water, &proj());
        // 160 m north of the far walkway, 40 m from the near one: trivially near.
        let s = g.snap(100.0, 160.0, 300.0).expect("snap");
        assert_eq!(s.edge, EdgeId(1));
        // On the near bank but closer to the far walkway in a straight line? Put the point on
        // the shore side: 10 m from the far walkway is on the far bank, so it snaps there.
        let s = g.snap(100.0, 10.0, 300.0).expect("snap");
        assert_eq!(s.edge, EdgeId(0));
        // Without water the nearest is the far walkway; with water it must be the near one.
        let ws2 = [
            ww("far", WalkwayKind::Street, &[(0.0, 0.0), (300.0, 0.0)]),
            ww("near", WalkwayKind::Street, &[(0.0, 260.0), (300.0, 260.0)]),
        ];
        let water2 = [rect_wgs(-50.0, 20.0, 350.0, 100.0)];
        let dry = WalkGraph::build(&ws2, &[], &proj());
        assert_eq!(dry.snap(100.0, 120.0, 300.0).expect("snap").edge, EdgeId(0));
        let wet = WalkGraph::build(&ws2, &water2, &proj());
        let s = wet.snap(100.0, 120.0, 300.0).expect("snap");
        assert_eq!(s.edge, EdgeId(1), "must not snap across the river");
        assert!((s.offset_m - 140.0).abs() < 1e-6);
        // If the only walkway in reach is across water, the error says so.
        match wet.snap(100.0, 120.0, 130.0) {
            Err(SnapError::AcrossWater { nearest_m, .. }) => {
                assert!((nearest_m - 120.0).abs() < 1e-6);
            }
            other => panic!("expected AcrossWater, got {other:?}"),
        }
    }

    /// The snapping index against brute force over every edge: random points (seeded) over
    /// and around a synthetic town with a river, every walk node (where several edges tie at
    /// distance 0, so the lower edge id must win), all profiles, several reaches.
    #[test]
    fn grid_snap_equals_brute_force() {
        use rand::{Rng, SeedableRng};
        for (seed, n) in [(7_u64, 18_usize), (42, 30)] {
            let spec = crate::walk::synthetic::TownSpec {
                nx: n,
                ny: n,
                ..crate::walk::synthetic::TownSpec::lijiatuo_like(seed)
            };
            let town = crate::walk::synthetic::town(&spec);
            let g = WalkGraph::build(&town.walkways, &town.water, &town.proj);
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
            for i in 0..g.node_count() {
                let p = g.node_xy(crate::walk::NodeId(i as u32));
                for d in 0..2 {
                    lo[d] = lo[d].min(p[d]);
                    hi[d] = hi[d].max(p[d]);
                }
            }
            let mut points: Vec<[f64; 2]> = (0..g.node_count())
                .map(|i| g.node_xy(crate::walk::NodeId(i as u32)))
                .collect();
            for _ in 0..3000 {
                points.push([
                    rng.random_range(lo[0] - 500.0..hi[0] + 500.0),
                    rng.random_range(lo[1] - 500.0..hi[1] + 500.0),
                ]);
            }
            let mut checked = [0_usize; 2];
            for (i, p) in points.iter().enumerate() {
                let profile = Profile::ALL[i % Profile::ALL.len()];
                for max in [300.0, 35.0, 0.0] {
                    let grid = g.snap_for(p[0], p[1], max, profile);
                    let brute = g.snap_brute_force(p[0], p[1], max, profile);
                    match (&grid, &brute) {
                        (Ok(a), Some(b)) => {
                            assert_eq!(a, b, "point {p:?}, {profile:?}, max {max}");
                            checked[0] += 1;
                        }
                        (Err(_), None) => checked[1] += 1,
                        _ => panic!("point {p:?}, {profile:?}, max {max}: {grid:?} vs {brute:?}"),
                    }
                }
            }
            assert!(checked[0] > 1000 && checked[1] > 100, "{checked:?}");
        }
    }

    /// A point at a node's exact position is answered from the node's remembered snap
    /// after its first: cold and warm answers equal the brute force for every node, every
    /// profile and reaches above and below the remembered distance, and `snap` (any
    /// walkway) answers the same warm as cold.
    #[test]
    fn remembered_node_snaps_equal_brute_force() {
        let spec = crate::walk::synthetic::TownSpec {
            nx: 14,
            ny: 14,
            ..crate::walk::synthetic::TownSpec::lijiatuo_like(11)
        };
        let town = crate::walk::synthetic::town(&spec);
        let g = WalkGraph::build(&town.walkways, &town.water, &town.proj);
        let mut warm = 0;
        for i in 0..g.node_count() {
            let p = g.node_xy(crate::walk::NodeId(i as u32));
            let cold = g.snap(p[0], p[1], 300.0);
            assert_eq!(g.snap(p[0], p[1], 300.0), cold, "node {i}, any walkway");
            for profile in Profile::ALL {
                for max in [300.0, 300.0, 40.0, 1e-9, 0.0] {
                    let got = g.snap_for(p[0], p[1], max, profile).ok();
                    let want = g.snap_brute_force(p[0], p[1], max, profile);
                    assert_eq!(got, want, "node {i}, {profile:?}, max {max}");
                    warm += usize::from(got.is_some());
                }
            }
        }
        assert!(warm > 3 * g.node_count(), "{warm}");
    }

    #[test]
    // An exact tie of distances is the case under test.
    #[allow(clippy::float_cmp)]
    fn equidistant_edges_go_to_the_lower_id() {
        // Two parallel walkways 20 m apart, listed high y first: a point midway snaps onto
        // the first listed (edge 0) whichever is found first.
        let ws = [
            ww("n", WalkwayKind::Street, &[(0.0, 20.0), (100.0, 20.0)]),
            ww("s", WalkwayKind::Street, &[(0.0, 0.0), (100.0, 0.0)]),
        ];
        let g = WalkGraph::build(&ws, &[], &proj());
        let s = g.snap(50.0, 10.0, 300.0).expect("snap");
        let brute = g
            .snap_brute_force(50.0, 10.0, 300.0, Profile::Standard)
            .expect("snap");
        assert_eq!(s.edge, brute.edge);
        let d0 = crate::walk::snapgrid::segment_d2(
            g.node_xy(g.edge(EdgeId(0)).from),
            g.node_xy(g.edge(EdgeId(0)).to),
            [50.0, 10.0],
        );
        let d1 = crate::walk::snapgrid::segment_d2(
            g.node_xy(g.edge(EdgeId(1)).from),
            g.node_xy(g.edge(EdgeId(1)).to),
            [50.0, 10.0],
        );
        if d0 == d1 {
            assert_eq!(s.edge, EdgeId(0));
        }
    }

    #[test]
    fn shared_state_is_thread_safe() {
        fn shared<T: Send + Sync>() {}
        fn per_thread<T: Send>() {}
        shared::<WalkGraph>();
        shared::<SnappedPoints>();
        per_thread::<crate::walk::Searcher>();
    }

    #[test]
    fn wheelchair_snaps_off_stairs() {
        let ws = [
            ww("st", WalkwayKind::Stairs, &[(0.0, 0.0), (100.0, 0.0)]),
            ww("rd", WalkwayKind::Street, &[(0.0, 50.0), (100.0, 50.0)]),
        ];
        let g = WalkGraph::build(&ws, &[], &proj());
        assert_eq!(
            g.snap_for(50.0, 5.0, 300.0, Profile::Standard)
                .expect("snap")
                .edge,
            EdgeId(0)
        );
        assert_eq!(
            g.snap_for(50.0, 5.0, 300.0, Profile::Wheelchair)
                .expect("snap")
                .edge,
            EdgeId(1)
        );
        let pts = SnappedPoints::build(&g, &[proj().to_lonlat(50.0, 5.0)], &[], 300.0);
        assert_eq!(pts.snap(0, Profile::Elder).map(|s| s.edge), Some(EdgeId(0)));
        assert_eq!(
            pts.snap(0, Profile::Wheelchair).map(|s| s.edge),
            Some(EdgeId(1))
        );
        assert_eq!(pts.on_edge(EdgeId(1), Profile::Wheelchair), &[0]);
        assert!(pts.on_edge(EdgeId(1), Profile::Standard).is_empty());
    }
}
