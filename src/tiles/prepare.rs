//! Geometry for tiles: project to one zoom's global pixel grid, simplify, snap to integers and
//! keep polygons valid (once per feature and zoom); then per tile, clip with the buffer and
//! shift to the tile's own grid.
//!
//! Snapping to integers is where valid polygons go bad (a thin part collapses, a ring touches
//! itself), so every polygon is checked after snapping and after clipping; a ring that
//! collapsed is dropped, and a polygon that stays invalid falls back to a gentler
//! simplification, then to none, then to a rebuild by boolean union.

use geo::orient::{Direction, Orient};
use geo::{
    Area, BooleanOps, BoundingRect, Coord, Geometry, LineString, MapCoords, MultiLineString,
    MultiPolygon, Polygon, Rect, Simplify, SimplifyVwPreserve, Validation,
};

use super::matrix::{BUFFER, EXTENT, TileId, pixels_per_world};

/// Douglas–Peucker tolerance, in tile units (1/4096 of a tile): below a pixel on a 512 px
/// tile, so the simplification is invisible at the zoom it is made for.
pub const SIMPLIFY_UNITS: f64 = 1.0;
/// Visvalingam tolerance (triangle area, square tile units) of the fallback simplification.
const VW_AREA_UNITS: f64 = 0.5;

/// A feature's geometry on a pixel grid (whole numbers). Lines and areas are kept as multi
/// geometries: clipping may cut one into several.
#[derive(Debug, Clone, PartialEq)]
pub enum PixelGeom {
    Point(Coord<f64>),
    Lines(MultiLineString<f64>),
    Areas(MultiPolygon<f64>),
}

/// A prepared geometry and its bounding box `[min_x, min_y, max_x, max_y]` on the same grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    pub geom: PixelGeom,
    pub bbox: [f64; 4],
}

impl PixelGeom {
    /// As a geo geometry (for encoding and tests).
    #[must_use]
    pub fn to_geometry(&self) -> Geometry<f64> {
        match self {
            PixelGeom::Point(c) => Geometry::Point((*c).into()),
            PixelGeom::Lines(m) if m.0.len() == 1 => Geometry::LineString(m.0[0].clone()),
            PixelGeom::Lines(m) => Geometry::MultiLineString(m.clone()),
            PixelGeom::Areas(m) if m.0.len() == 1 => Geometry::Polygon(m.0[0].clone()),
            PixelGeom::Areas(m) => Geometry::MultiPolygon(m.clone()),
        }
    }

    fn bbox(&self) -> Option<[f64; 4]> {
        let r: Rect<f64> = match self {
            PixelGeom::Point(c) => Rect::new(*c, *c),
            PixelGeom::Lines(m) => m.bounding_rect()?,
            PixelGeom::Areas(m) => m.bounding_rect()?,
        };
        Some([r.min().x, r.min().y, r.max().x, r.max().y])
    }

    fn shifted(&self, dx: f64, dy: f64) -> PixelGeom {
        let f = |c: Coord<f64>| Coord {
            x: c.x - dx,
            y: c.y - dy,
        };
        match self {
            PixelGeom::Point(c) => PixelGeom::Point(f(*c)),
            PixelGeom::Lines(m) => PixelGeom::Lines(m.map_coords(f)),
            PixelGeom::Areas(m) => PixelGeom::Areas(m.map_coords(f)),
        }
    }
}

fn round(c: Coord<f64>) -> Coord<f64> {
    Coord {
        x: c.x.round(),
        y: c.y.round(),
    }
}

/// Consecutive duplicates removed (snapping merges neighbours).
fn dedup(ls: &LineString<f64>) -> Vec<Coord<f64>> {
    let mut out: Vec<Coord<f64>> = Vec::with_capacity(ls.0.len());
    for &c in &ls.0 {
        if out.last() != Some(&c) {
            out.push(c);
        }
    }
    out
}

/// A snapped line, or `None` when it collapsed to a point.
fn snap_line(ls: &LineString<f64>) -> Option<LineString<f64>> {
    let snapped = LineString::new(ls.0.iter().map(|&c| round(c)).collect());
    let pts = dedup(&snapped);
    (pts.len() >= 2).then(|| LineString::new(pts))
}

/// A snapped ring, or `None` when it collapsed (fewer than 3 distinct corners, or no area).
fn snap_ring(ring: &LineString<f64>) -> Option<LineString<f64>> {
    let snapped = LineString::new(ring.0.iter().map(|&c| round(c)).collect());
    let mut pts = dedup(&snapped);
    if let Some(&first) = pts.first()
        && pts.last() != Some(&first)
    {
        pts.push(first);
    }
    let ring = LineString::new(pts);
    (ring.0.len() >= 4 && Polygon::new(ring.clone(), vec![]).unsigned_area() > 0.0).then_some(ring)
}

/// A snapped polygon with collapsed holes dropped; `None` when the exterior collapsed.
fn snap_polygon(p: &Polygon<f64>) -> Option<Polygon<f64>> {
    let exterior = snap_ring(p.exterior())?;
    let holes = p.interiors().iter().filter_map(snap_ring).collect();
    Some(Polygon::new(exterior, holes))
}

/// Snap every polygon; `Some` only when something is left and the result is valid.
fn snap_valid(polys: &[Polygon<f64>]) -> Option<MultiPolygon<f64>> {
    let mp = MultiPolygon::new(polys.iter().filter_map(snap_polygon).collect());
    (!mp.0.is_empty() && mp.is_valid()).then_some(mp)
}

/// Make a snapped polygon valid by a boolean union with nothing (which resolves
/// self-intersections), snapping again; `None` when even that fails.
fn rebuild(polys: &[Polygon<f64>]) -> Option<MultiPolygon<f64>> {
    let snapped = MultiPolygon::new(polys.iter().filter_map(snap_polygon).collect());
    let unioned = snapped.union(&MultiPolygon::new(vec![]));
    snap_valid(&unioned.0)
}

/// Snap polygons to the grid keeping them valid: the simplified shape when it stays valid,
/// else a topology-preserving simplification, else the unsimplified shape, else a rebuild.
/// `None` when the polygons are smaller than the grid (nothing to draw at this zoom).
fn valid_areas(original: &MultiPolygon<f64>, eps: f64) -> Option<MultiPolygon<f64>> {
    let simplified = original.simplify(eps);
    if let Some(mp) = snap_valid(&simplified.0) {
        return Some(mp);
    }
    let vw = original.simplify_vw_preserve(VW_AREA_UNITS * eps * eps);
    if let Some(mp) = snap_valid(&vw.0) {
        return Some(mp);
    }
    if let Some(mp) = snap_valid(&original.0) {
        return Some(mp);
    }
    rebuild(&original.0)
}

/// MVT 2.1 winding: exterior rings have a positive area by the surveyor's formula in tile
/// coordinates (y down), interior rings negative — geo's default orientation of the numbers.
fn oriented(mp: MultiPolygon<f64>) -> MultiPolygon<f64> {
    mp.orient(Direction::Default)
}

/// Prepare a world-coordinate geometry (see [`super::matrix`]) for zoom `z`: projected to the
/// zoom's global pixel grid, simplified, snapped and valid. `None` when nothing is left.
#[must_use]
pub fn prepare(world: &Geometry<f64>, z: u8) -> Option<Prepared> {
    let k = pixels_per_world(z);
    let scale = |c: Coord<f64>| Coord {
        x: c.x * k,
        y: c.y * k,
    };
    let eps = SIMPLIFY_UNITS;
    let geom = match world {
        Geometry::Point(p) => PixelGeom::Point(round(scale(p.0))),
        Geometry::LineString(ls) => {
            let ls = ls.map_coords(scale).simplify(eps);
            PixelGeom::Lines(MultiLineString::new(vec![snap_line(&ls)?]))
        }
        Geometry::MultiLineString(m) => {
            let m = m.map_coords(scale).simplify(eps);
            let lines: Vec<_> = m.0.iter().filter_map(snap_line).collect();
            if lines.is_empty() {
                return None;
            }
            PixelGeom::Lines(MultiLineString::new(lines))
        }
        Geometry::Polygon(p) => {
            let mp = MultiPolygon::new(vec![p.map_coords(scale)]);
            PixelGeom::Areas(oriented(valid_areas(&mp, eps)?))
        }
        Geometry::MultiPolygon(m) => {
            PixelGeom::Areas(oriented(valid_areas(&m.map_coords(scale), eps)?))
        }
        // Layers hold only the kinds above (the store validates them); anything else has no
        // tile representation.
        _ => return None,
    };
    let bbox = geom.bbox()?;
    Some(Prepared { geom, bbox })
}

/// The buffered square of `tile` on its zoom's global pixel grid.
#[must_use]
pub fn clip_box(tile: TileId) -> [f64; 4] {
    let (ox, oy) = tile.pixel_origin();
    let b = f64::from(BUFFER);
    let e = f64::from(EXTENT);
    [ox - b, oy - b, ox + e + b, oy + e + b]
}

fn inside(bbox: &[f64; 4], clip: &[f64; 4]) -> bool {
    bbox[0] >= clip[0] && bbox[1] >= clip[1] && bbox[2] <= clip[2] && bbox[3] <= clip[3]
}

fn disjoint(bbox: &[f64; 4], clip: &[f64; 4]) -> bool {
    bbox[2] < clip[0] || bbox[0] > clip[2] || bbox[3] < clip[1] || bbox[1] > clip[3]
}

/// Whether a point lies in the buffered tile: inclusive on the west and north edges,
/// exclusive on the east and south ones, so a point on a shared edge goes to one tile's body.
#[must_use]
pub fn point_in_box(c: Coord<f64>, clip: &[f64; 4]) -> bool {
    c.x >= clip[0] && c.x < clip[2] && c.y >= clip[1] && c.y < clip[3]
}

/// Clip a prepared geometry to `tile`'s buffered square and shift it to the tile's grid
/// (`0..EXTENT`, buffer outside). `None` when nothing of it is in the tile.
#[must_use]
pub fn clip(p: &Prepared, tile: TileId) -> Option<PixelGeom> {
    let cb = clip_box(tile);
    let (ox, oy) = tile.pixel_origin();
    if let PixelGeom::Point(c) = &p.geom {
        return point_in_box(*c, &cb).then(|| p.geom.shifted(ox, oy));
    }
    if disjoint(&p.bbox, &cb) {
        return None;
    }
    if inside(&p.bbox, &cb) {
        return Some(p.geom.shifted(ox, oy));
    }
    let rect = Rect::new(Coord { x: cb[0], y: cb[1] }, Coord { x: cb[2], y: cb[3] }).to_polygon();
    let clipped = match &p.geom {
        PixelGeom::Point(_) => return None,
        PixelGeom::Lines(m) => {
            let cut = rect.clip(m, false);
            let lines: Vec<_> = cut.0.iter().filter_map(snap_line).collect();
            if lines.is_empty() {
                return None;
            }
            PixelGeom::Lines(MultiLineString::new(lines))
        }
        PixelGeom::Areas(m) => {
            let cut = m.intersection(&MultiPolygon::new(vec![rect]));
            let valid = snap_valid(&cut.0).or_else(|| rebuild(&cut.0))?;
            PixelGeom::Areas(oriented(valid))
        }
    };
    Some(clipped.shifted(ox, oy))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tiles::matrix::lonlat_to_world;
    use geo::{LineString, polygon};

    #[test]
    fn small_polygon_collapses_large_one_stays_valid() {
        let (x, y) = lonlat_to_world(106.53, 29.47);
        let d = 1e-9; // far below a pixel at z10
        let tiny: Geometry<f64> =
            polygon![(x: x, y: y), (x: x + d, y: y), (x: x + d, y: y + d), (x: x, y: y)].into();
        assert!(prepare(&tiny, 10).is_none());
        let d = 1e-4;
        let big: Geometry<f64> =
            polygon![(x: x, y: y), (x: x + d, y: y), (x: x + d, y: y + d), (x: x, y: y)].into();
        let p = prepare(&big, 14).expect("visible");
        let PixelGeom::Areas(mp) = &p.geom else {
            panic!("polygon expected")
        };
        assert!(mp.is_valid());
        assert!(mp.0[0].exterior().0.iter().all(|c| c.x.fract() == 0.0));
        // MVT winding: positive shoelace area in y-down tile numbers.
        assert!(mp.0[0].signed_area() > 0.0);
    }

    #[test]
    fn clipping_cuts_at_the_buffer() {
        let t = TileId::new(14, 13040, 6784).expect("tile");
        let [x0, y0, x1, _] = t.world_bounds();
        let mid_y = y0 + 0.5 * (x1 - x0);
        // A line crossing the whole tile west to east, well beyond the buffer.
        let w = x1 - x0;
        let line: Geometry<f64> = LineString::from(vec![(x0 - w, mid_y), (x1 + w, mid_y)]).into();
        let p = prepare(&line, 14).expect("line");
        let PixelGeom::Lines(m) = clip(&p, t).expect("crosses") else {
            panic!("lines expected")
        };
        let xs: Vec<f64> = m.0[0].0.iter().map(|c| c.x).collect();
        assert_eq!(xs, vec![-f64::from(BUFFER), f64::from(EXTENT + BUFFER)]);
    }
}
