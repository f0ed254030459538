//! Water in local metres: a segment index of the shores (to refuse snapping across water),
//! the water as one union of polygons (to cut isochrones exactly, as vectors) and a raster of
//! which grid cells have their centre in water (so the isochrone closing does not bridge
//! rivers before the cut).

use geo::{BoundingRect, Polygon, Rect};
use rstar::RTree;
use rstar::primitives::Line;

use crate::model::LocalProj;

/// A regular grid in local metres: cell `(ix, iy)` covers
/// `[x0 + ix·cell_m, x0 + (ix+1)·cell_m) × [y0 + iy·cell_m, y0 + (iy+1)·cell_m)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GridSpec {
    pub x0_m: f64,
    pub y0_m: f64,
    pub cell_m: f64,
    pub nx: usize,
    pub ny: usize,
}

impl GridSpec {
    /// Cell column of `x_m`, clamped into the grid.
    #[must_use]
    pub fn col(&self, x_m: f64) -> usize {
        clamp_index((x_m - self.x0_m) / self.cell_m, self.nx)
    }

    /// Cell row of `y_m`, clamped into the grid.
    #[must_use]
    pub fn row(&self, y_m: f64) -> usize {
        clamp_index((y_m - self.y0_m) / self.cell_m, self.ny)
    }
}

fn clamp_index(v: f64, n: usize) -> usize {
    if v.is_nan() || v < 0.0 || n == 0 {
        0
    } else {
        // Truncation is the floor here because v >= 0; the cast saturates on huge values.
        (v as usize).min(n - 1)
    }
}

type ShoreSegment = crate::index::LineEntry<()>;

/// Water polygons projected to local metres, indexed for crossing tests and rasterised.
#[derive(Debug, Clone)]
pub struct Water {
    polygons_m: Vec<Polygon<f64>>,
    /// The union of `polygons_m` (overlapping water features counted once) grown by
    /// [`SHORE_MARGIN_M`], each part with its bounding box, for cutting isochrones.
    union_m: Vec<(Polygon<f64>, Rect<f64>)>,
    shores: RTree<ShoreSegment>,
    pub(crate) grid: GridSpec,
    /// Row-major, `grid.nx * grid.ny`: true where the cell centre lies in water.
    mask: Vec<bool>,
    /// Row-major like `mask`: true where the cell or one of its eight neighbours has its
    /// centre in water (found once here, not nine lookups per reached building per contour).
    near: Vec<bool>,
}

/// How far isochrones keep off the water polygons, metres: two steps of the 7-decimal output
/// grid, so rounding never leaves a sliver over water.
pub const SHORE_MARGIN_M: f64 = 0.02;

/// A connector shorter than this at either end may touch a shore without counting as a
/// crossing: riverside walkways often run exactly along the water polygon's edge.
const SHORE_TOLERANCE_M: f64 = 0.5;

impl Water {
    /// Project `water_wgs84` with `proj` and rasterise it on `grid`.
    #[must_use]
    pub fn build(water_wgs84: &[Polygon<f64>], proj: &LocalProj, grid: GridSpec) -> Water {
        let polygons_m: Vec<Polygon<f64>> = water_wgs84.iter().map(|p| proj.project(p)).collect();
        let mut segs = Vec::new();
        for p in &polygons_m {
            for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
                for l in ring.lines() {
                    segs.push(ShoreSegment::new(
                        Line::new([l.start.x, l.start.y], [l.end.x, l.end.y]),
                        (),
                    ));
                }
            }
        }
        let mut mask = vec![false; grid.nx * grid.ny];
        for p in &polygons_m {
            fill_polygon(p, &grid, &mut mask);
        }
        let near = near_mask(&mask, grid.nx, grid.ny);
        // unary_union reads the fill rule off the first ring's winding, so wind all alike.
        let oriented: Vec<Polygon<f64>> = polygons_m
            .iter()
            .map(|p| geo::Orient::orient(p, geo::orient::Direction::Default))
            .collect();
        // Grown by two output steps (1e-7 degree ≈ 1 cm) so that the shore, once isochrones
        // are cut on that grid, never rounds onto the water side.
        let grow = geo::algorithm::buffer::BufferStyle::new(SHORE_MARGIN_M)
            .line_join(geo::algorithm::buffer::LineJoin::Miter(2.0));
        let union_m = geo::Buffer::buffer_with_style(&geo::unary_union(&oriented), grow)
            .0
            .into_iter()
            .map(|p| geo::Orient::orient(&p, geo::orient::Direction::Default))
            .filter_map(|p| p.bounding_rect().map(|bb| (p, bb)))
            .collect();
        Water {
            polygons_m,
            union_m,
            shores: RTree::bulk_load(segs),
            grid,
            mask,
            near,
        }
    }

    /// The water polygons in local metres.
    #[must_use]
    pub fn polygons_m(&self) -> &[Polygon<f64>] {
        &self.polygons_m
    }

    /// The water's union polygons (local metres), in a fixed order.
    #[must_use]
    pub fn union_polygons(&self) -> impl ExactSizeIterator<Item = &Polygon<f64>> {
        self.union_m.iter().map(|(p, _)| p)
    }

    /// The union polygon at position `i` of [`Water::union_polygons`].
    #[must_use]
    pub fn union_polygon(&self, i: usize) -> &Polygon<f64> {
        &self.union_m[i].0
    }

    /// The positions, in [`Water::union_polygons`] order, of the union polygons whose
    /// bounding box meets `window`.
    pub fn union_ids_in(&self, window: Rect<f64>) -> impl Iterator<Item = usize> + '_ {
        use geo::Intersects;
        self.union_m
            .iter()
            .enumerate()
            .filter(move |(_, (_, bb))| bb.intersects(&window))
            .map(|(i, _)| i)
    }

    /// The raster grid (shared with isochrones).
    #[must_use]
    pub fn grid(&self) -> &GridSpec {
        &self.grid
    }

    /// Whether the centre of cell `(ix, iy)` of [`Water::grid`] is in water.
    #[must_use]
    pub fn cell_is_water(&self, ix: usize, iy: usize) -> bool {
        ix < self.grid.nx && iy < self.grid.ny && self.mask[iy * self.grid.nx + ix]
    }

    /// Which of the `w` cells from `(ix0, iy)` along a row have their centre in water; the
    /// run must lie inside the grid.
    #[must_use]
    pub fn water_run(&self, ix0: usize, iy: usize, w: usize) -> &[bool] {
        let start = iy * self.grid.nx + ix0;
        &self.mask[start..start + w]
    }

    /// Whether the centre of cell `(ix, iy)` or of one of its eight neighbours is in water
    /// (cells beyond the grid are dry); `false` outside the grid.
    #[must_use]
    pub fn near_water(&self, ix: usize, iy: usize) -> bool {
        ix < self.grid.nx && iy < self.grid.ny && self.near[iy * self.grid.nx + ix]
    }

    /// Whether the straight segment `a`→`b` (local metres) crosses a shore anywhere except
    /// within half a metre of its ends. A segment wholly inside water (a point on a
    /// bridge joining the bridge) does not cross.
    #[must_use]
    pub fn crosses(&self, a: [f64; 2], b: [f64; 2]) -> bool {
        let len = (b[0] - a[0]).hypot(b[1] - a[1]);
        if len <= 2.0 * SHORE_TOLERANCE_M {
            return false;
        }
        let t_lo = SHORE_TOLERANCE_M / len;
        let t_hi = 1.0 - t_lo;
        let env = rstar::AABB::from_corners(
            [a[0].min(b[0]), a[1].min(b[1])],
            [a[0].max(b[0]), a[1].max(b[1])],
        );
        self.shores.locate_in_envelope_intersecting(&env).any(|s| {
            let l = s.geom();
            match segment_intersection_t(a, b, l.from, l.to) {
                Some(t) => t > t_lo && t < t_hi,
                None => false,
            }
        })
    }
}

/// Parameter `t` along `a`→`b` where it meets segment `c`→`d`, if they intersect.
/// Collinear overlaps count as meeting at their first common point.
fn segment_intersection_t(a: [f64; 2], b: [f64; 2], c: [f64; 2], d: [f64; 2]) -> Option<f64> {
    let r = [b[0] - a[0], b[1] - a[1]];
    let s = [d[0] - c[0], d[1] - c[1]];
    let denom = r[0] * s[1] - r[1] * s[0];
    let ca = [c[0] - a[0], c[1] - a[1]];
    if denom.abs() < 1e-12 {
        // Parallel: only a collinear overlap matters.
        if (ca[0] * r[1] - ca[1] * r[0]).abs() > 1e-9 {
            return None;
        }
        let rr = r[0] * r[0] + r[1] * r[1];
        let t0 = (ca[0] * r[0] + ca[1] * r[1]) / rr;
        let t1 = ((d[0] - a[0]) * r[0] + (d[1] - a[1]) * r[1]) / rr;
        let (lo, hi) = (t0.min(t1), t0.max(t1));
        if hi < 0.0 || lo > 1.0 {
            return None;
        }
        return Some(lo.max(0.0));
    }
    let t = (ca[0] * s[1] - ca[1] * s[0]) / denom;
    let u = (ca[0] * r[1] - ca[1] * r[0]) / denom;
    ((0.0..=1.0).contains(&t) && (0.0..=1.0).contains(&u)).then_some(t)
}

/// The 3×3 dilation of a row-major `nx × ny` mask (outside the grid counts as unset).
fn near_mask(mask: &[bool], nx: usize, ny: usize) -> Vec<bool> {
    let mut near = vec![false; mask.len()];
    for iy in 0..ny {
        for ix in 0..nx {
            if !mask[iy * nx + ix] {
                continue;
            }
            for y in iy.saturating_sub(1)..=(iy + 1).min(ny - 1) {
                for x in ix.saturating_sub(1)..=(ix + 1).min(nx - 1) {
                    near[y * nx + x] = true;
                }
            }
        }
    }
    near
}

/// Set every cell whose centre is inside `p` (even-odd over its rings, so islands stay dry).
fn fill_polygon(p: &Polygon<f64>, grid: &GridSpec, mask: &mut [bool]) {
    let Some(bb) = p.bounding_rect() else { return };
    let row_lo = grid.row(bb.min().y);
    let row_hi = grid.row(bb.max().y);
    let mut xs = Vec::new();
    for iy in row_lo..=row_hi {
        let yc = grid.y0_m + (iy as f64 + 0.5) * grid.cell_m;
        xs.clear();
        for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
            for l in ring.lines() {
                let (y1, y2) = (l.start.y, l.end.y);
                // Half-open rule so a vertex on the scanline is counted once.
                if (y1 <= yc) != (y2 <= yc) {
                    xs.push(l.start.x + (yc - y1) / (y2 - y1) * (l.end.x - l.start.x));
                }
            }
        }
        xs.sort_by(f64::total_cmp);
        for pair in xs.chunks_exact(2) {
            // Cells whose centre x lies in [pair[0], pair[1]).
            let first = ((pair[0] - grid.x0_m) / grid.cell_m - 0.5).ceil().max(0.0);
            let last = ((pair[1] - grid.x0_m) / grid.cell_m - 0.5).ceil();
            if last <= 0.0 {
                continue;
            }
            let (first, last) = (first as usize, (last as usize).min(grid.nx));
            for ix in first..last {
                mask[iy * grid.nx + ix] = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(x0: f64, y0: f64, x1: f64, y1: f64) -> Polygon<f64> {
        Polygon::new(
            geo::LineString::from(vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]),
            vec![],
        )
    }

    #[test]
    fn crossing_and_mask() {
        // Identity-ish projection: one degree = one metre is not possible with LocalProj, so
        // build polygons in degrees around the origin and compare in projected metres.
        let proj = LocalProj::new(0.0, 0.0);
        let (dx, _) = proj.to_xy(1.0, 0.0);
        let deg = |m: f64| m / dx;
        let poly = square(deg(100.0), deg(-1000.0), deg(200.0), deg(1000.0));
        let grid = GridSpec {
            x0_m: 0.0,
            y0_m: -50.0,
            cell_m: 25.0,
            nx: 16,
            ny: 4,
        };
        let w = Water::build(&[poly], &proj, grid);
        assert!(w.crosses([50.0, 0.0], [250.0, 0.0]));
        assert!(w.crosses([50.0, 0.0], [150.0, 0.0]));
        assert!(!w.crosses([50.0, 0.0], [90.0, 0.0]));
        // Ending on the shore is not a crossing.
        let (sx, _) = proj.to_xy(deg(100.0), 0.0);
        assert!(!w.crosses([50.0, 0.0], [sx, 0.0]));
        // Inside water to inside water (a bridge) is not a crossing.
        assert!(!w.crosses([120.0, 0.0], [180.0, 10.0]));
        // Cells with centres 112.5..187.5 are water: columns 4..=7.
        let wet: Vec<usize> = (0..16).filter(|&ix| w.cell_is_water(ix, 1)).collect();
        assert_eq!(wet, vec![4, 5, 6, 7]);
        // Near water: the 3×3 neighbourhood, against nine lookups of the mask.
        for iy in 0..4_usize {
            for ix in 0..16_usize {
                let nine = (ix.saturating_sub(1)..=ix + 1)
                    .any(|x| (iy.saturating_sub(1)..=iy + 1).any(|y| w.cell_is_water(x, y)));
                assert_eq!(w.near_water(ix, iy), nine, "cell {ix} {iy}");
            }
        }
    }
}
