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

use geozero::ToGeo;
use geozero::ToMvt;
use geozero::mvt::tile::{self, GeomType};

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

/// Snap every polygon; `Some` only when something is left and the result is valid. The cheap
/// sufficient test ([`certainly_valid`]) answers almost always; geo's full validation (pairwise
/// segment tests, quadratic in a ring's length) only decides what it leaves open, so the answer
/// is geo's either way.
fn snap_valid(polys: &[Polygon<f64>]) -> Option<MultiPolygon<f64>> {
    let mp = MultiPolygon::new(polys.iter().filter_map(snap_polygon).collect());
    (!mp.0.is_empty() && (certainly_valid(&mp) || mp.is_valid())).then_some(mp)
}

/// A ring's edge for [`certainly_valid`]: its ends as integers, its ring and position.
#[derive(Clone, Copy)]
struct Edge {
    a: [i64; 2],
    b: [i64; 2],
    ring: u32,
    at: u32,
    min_x: i64,
    max_x: i64,
    min_y: i64,
    max_y: i64,
}

/// Sign of the cross product (b − a) × (c − a): which side of a→b the point c is on.
fn orient(a: [i64; 2], b: [i64; 2], c: [i64; 2]) -> i128 {
    let cross = i128::from(b[0] - a[0]) * i128::from(c[1] - a[1])
        - i128::from(b[1] - a[1]) * i128::from(c[0] - a[0]);
    cross.signum()
}

/// Whether c, collinear with a–b, lies on the closed segment a–b.
fn on_segment(a: [i64; 2], b: [i64; 2], c: [i64; 2]) -> bool {
    a[0].min(b[0]) <= c[0]
        && c[0] <= a[0].max(b[0])
        && a[1].min(b[1]) <= c[1]
        && c[1] <= a[1].max(b[1])
}

/// Whether two closed segments share any point (crossing, touching or overlapping).
fn segments_meet(p: &Edge, q: &Edge) -> bool {
    let (d1, d2) = (orient(q.a, q.b, p.a), orient(q.a, q.b, p.b));
    let (d3, d4) = (orient(p.a, p.b, q.a), orient(p.a, p.b, q.b));
    if d1 * d2 < 0 && d3 * d4 < 0 {
        return true;
    }
    (d1 == 0 && on_segment(q.a, q.b, p.a))
        || (d2 == 0 && on_segment(q.a, q.b, p.b))
        || (d3 == 0 && on_segment(p.a, p.b, q.a))
        || (d4 == 0 && on_segment(p.a, p.b, q.b))
}

/// Whether a point not on the ring is inside it (even–odd crossing count, exact on integers).
fn inside_ring(c: [i64; 2], ring: &[[i64; 2]]) -> bool {
    let mut inside = false;
    for w in ring.windows(2) {
        let (a, b) = (w[0], w[1]);
        if (a[1] > c[1]) != (b[1] > c[1]) {
            // x of the edge at c's y, compared without division: sign by the edge's direction.
            let lhs = i128::from(c[0] - a[0]) * i128::from(b[1] - a[1]);
            let rhs = i128::from(b[0] - a[0]) * i128::from(c[1] - a[1]);
            if (b[1] > a[1] && lhs < rhs) || (b[1] < a[1] && lhs > rhs) {
                inside = !inside;
            }
        }
    }
    inside
}

/// Most rings or polygons [`certainly_valid`] compares pairwise before leaving the answer to geo.
const NESTING_PAIRS_MAX: usize = 32;

/// A sufficient test of OGC validity for polygons on an integer grid, in O(n log n) for the
/// usual shapes: `true` when no two rings meet anywhere, no ring meets itself except where
/// consecutive edges join (without folding back), every hole lies inside its exterior and in
/// no other hole, and no polygon lies inside another. Valid shapes it does not prove (a hole
/// touching its exterior at a corner, a polygon inside another's hole, many holes) get
/// `false`: the caller then asks geo's full validation. Never `true` for an invalid shape.
#[must_use]
pub fn certainly_valid(mp: &MultiPolygon<f64>) -> bool {
    let mut rings: Vec<Vec<[i64; 2]>> = Vec::new();
    // (polygon, index of its exterior in `rings`, number of rings)
    let mut polys: Vec<(usize, usize)> = Vec::with_capacity(mp.0.len());
    for p in &mp.0 {
        polys.push((rings.len(), 1 + p.interiors().len()));
        for r in std::iter::once(p.exterior()).chain(p.interiors()) {
            let mut pts = Vec::with_capacity(r.0.len());
            for c in &r.0 {
                // Only whole numbers well inside i64: the grid's coordinates.
                if c.x.fract() != 0.0 || c.y.fract() != 0.0 || c.x.abs() > 1e15 || c.y.abs() > 1e15
                {
                    return false;
                }
                #[allow(clippy::cast_possible_truncation)]
                pts.push([c.x as i64, c.y as i64]);
            }
            let closed = pts.first() == pts.last();
            let distinct = pts.windows(2).all(|w| w[0] != w[1]);
            if pts.len() < 4 || !closed || !distinct {
                return false;
            }
            rings.push(pts);
        }
    }
    let mut edges: Vec<Edge> = Vec::new();
    for (ri, r) in rings.iter().enumerate() {
        for (i, w) in r.windows(2).enumerate() {
            let (a, b) = (w[0], w[1]);
            #[allow(clippy::cast_possible_truncation)]
            edges.push(Edge {
                a,
                b,
                ring: ri as u32,
                at: i as u32,
                min_x: a[0].min(b[0]),
                max_x: a[0].max(b[0]),
                min_y: a[1].min(b[1]),
                max_y: a[1].max(b[1]),
            });
        }
    }
    edges.sort_unstable_by_key(|e| e.min_x);
    for (i, e) in edges.iter().enumerate() {
        for f in &edges[i + 1..] {
            if f.min_x > e.max_x {
                break;
            }
            if f.min_y > e.max_y || f.max_y < e.min_y {
                continue;
            }
            if e.ring == f.ring {
                let n = (rings[e.ring as usize].len() - 1) as u32;
                let (lo, hi) = (e.at.min(f.at), e.at.max(f.at));
                if hi == lo + 1 || (lo == 0 && hi == n - 1) {
                    // Consecutive edges share a corner; they must not fold back onto each
                    // other (a spike): then the far ends and the corner are collinear with
                    // both far ends on the same side of it.
                    let (corner, p, q) = if hi == lo + 1 {
                        let (first, second) = if e.at == lo { (e, f) } else { (f, e) };
                        (first.b, first.a, second.b)
                    } else {
                        let (first, last) = if e.at == lo { (e, f) } else { (f, e) };
                        (first.a, first.b, last.a)
                    };
                    let dot = i128::from(p[0] - corner[0]) * i128::from(q[0] - corner[0])
                        + i128::from(p[1] - corner[1]) * i128::from(q[1] - corner[1]);
                    if orient(corner, p, q) == 0 && dot > 0 {
                        return false;
                    }
                    continue;
                }
            }
            if segments_meet(e, f) {
                return false;
            }
        }
    }
    // No ring meets another or itself: only nesting is left to check, by one corner each.
    let holes: usize = polys.iter().map(|&(_, n)| n - 1).sum();
    if polys.len() > NESTING_PAIRS_MAX || holes > NESTING_PAIRS_MAX {
        return false;
    }
    for (pi, &(ext, n)) in polys.iter().enumerate() {
        for h in ext + 1..ext + n {
            if !inside_ring(rings[h][0], &rings[ext]) {
                return false;
            }
            for other in ext + 1..ext + n {
                if other != h && inside_ring(rings[h][0], &rings[other]) {
                    return false;
                }
            }
        }
        for (qi, &(other_ext, _)) in polys.iter().enumerate() {
            if qi != pi && inside_ring(rings[ext][0], &rings[other_ext]) {
                return false;
            }
        }
    }
    true
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

/// A feature prepared for one zoom as the tiler keeps it between tiles: its MVT geometry
/// commands on the zoom's global grid (encoded once, by geozero) and its bounding box there.
/// MVT encodes every vertex but the first as a step from the one before, so moving the whole
/// geometry to a tile's grid changes only the first `MoveTo`: a feature inside a tile's
/// buffered square is a copy with two numbers replaced — no geometry is rebuilt, and as a
/// translation of whole numbers it stays exactly as valid as it was prepared. Half the memory
/// of the vertices as `f64` pairs, too.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    /// MVT `GeomType` as protobuf's number.
    kind: i32,
    /// `[min_x, min_y, max_x, max_y]` on the zoom's global grid (whole numbers; at zoom 18
    /// the grid is 2^30 wide, inside `i32`).
    bbox: [i64; 4],
    commands: Box<[u32]>,
}

/// MVT's zigzag encoding of a signed parameter.
#[allow(clippy::cast_sign_loss)]
fn zigzag(v: i64) -> u32 {
    #[allow(clippy::cast_possible_truncation)]
    let v = v as i32;
    ((v << 1) ^ (v >> 31)) as u32
}

/// The inverse of [`zigzag`].
#[allow(clippy::cast_possible_wrap)]
fn unzigzag(u: u32) -> i64 {
    i64::from(((u >> 1) as i32) ^ -((u & 1) as i32))
}

impl Encoded {
    /// Encode a prepared geometry (on its zoom's global grid). `None` if geozero cannot (a
    /// geometry with nothing to draw).
    #[must_use]
    pub fn new(p: &Prepared) -> Option<Encoded> {
        let f = p.geom.to_geometry().to_mvt_unscaled().ok()?;
        // A first MoveTo and its two parameters, which [`Encoded::translated`] rewrites.
        if f.geometry.len() < 3 {
            return None;
        }
        #[allow(clippy::cast_possible_truncation)]
        let bbox = p.bbox.map(|v| v as i64);
        Some(Encoded {
            kind: f.r#type?,
            bbox,
            commands: f.geometry.into_boxed_slice(),
        })
    }

    /// Bytes this entry takes on the heap (itself and its commands).
    #[must_use]
    pub fn heap_bytes(&self) -> usize {
        std::mem::size_of::<Encoded>() + 4 * self.commands.len()
    }

    /// The first vertex on the global grid.
    fn first(&self) -> (i64, i64) {
        (unzigzag(self.commands[1]), unzigzag(self.commands[2]))
    }

    /// The commands moved by `(-dx, -dy)`.
    fn translated(&self, dx: i64, dy: i64) -> Vec<u32> {
        let mut g = self.commands.to_vec();
        let (x, y) = self.first();
        g[1] = zigzag(x - dx);
        g[2] = zigzag(y - dy);
        g
    }
}

/// A feature's geometry in a tile: MVT `GeomType` (as protobuf's number) and commands.
pub type TileGeometry = (i32, Vec<u32>);

/// A prepared feature's geometry in `tile`: clipped to the buffered square and on the tile's
/// grid (`0..EXTENT`, buffer outside). `None` when nothing of it is in the tile. Only a
/// feature crossing the square's edge is decoded, cut (with geo's boolean operations) and
/// encoded again; one inside is the translated copy of its commands.
#[must_use]
pub fn tile_geometry(e: &Encoded, tile: TileId) -> Option<TileGeometry> {
    let cb = clip_box(tile);
    let (ox, oy) = tile.pixel_origin();
    #[allow(clippy::cast_possible_truncation)]
    let (dx, dy) = (ox as i64, oy as i64);
    #[allow(clippy::cast_precision_loss)]
    let bbox = e.bbox.map(|v| v as f64);
    if e.kind == GeomType::Point as i32 {
        #[allow(clippy::cast_precision_loss)]
        let (x, y) = e.first();
        #[allow(clippy::cast_precision_loss)]
        let c = Coord {
            x: x as f64,
            y: y as f64,
        };
        return point_in_box(c, &cb).then(|| (e.kind, e.translated(dx, dy)));
    }
    if disjoint(&bbox, &cb) {
        return None;
    }
    let local = e.translated(dx, dy);
    if inside(&bbox, &cb) {
        return Some((e.kind, local));
    }
    let decoded = tile::Feature {
        r#type: Some(e.kind),
        geometry: local,
        ..tile::Feature::default()
    }
    .to_geo()
    .ok()?;
    let geom = match decoded {
        Geometry::LineString(l) => PixelGeom::Lines(MultiLineString::new(vec![l])),
        Geometry::MultiLineString(m) => PixelGeom::Lines(m),
        Geometry::Polygon(p) => PixelGeom::Areas(MultiPolygon::new(vec![p])),
        Geometry::MultiPolygon(m) => PixelGeom::Areas(m),
        _ => return None,
    };
    let b = f64::from(BUFFER);
    let e_units = f64::from(EXTENT);
    let clipped = clip_local(&geom, [-b, -b, e_units + b, e_units + b])?;
    let f = clipped.to_geometry().to_mvt_unscaled().ok()?;
    Some((f.r#type?, f.geometry))
}

/// Clip a line or area geometry on a tile's grid to the box `clip`, snapping the cut points
/// and keeping polygons valid. `None` when nothing is left.
fn clip_local(geom: &PixelGeom, cb: [f64; 4]) -> Option<PixelGeom> {
    let rect = Rect::new(Coord { x: cb[0], y: cb[1] }, Coord { x: cb[2], y: cb[3] }).to_polygon();
    match geom {
        PixelGeom::Point(_) => None,
        PixelGeom::Lines(m) => {
            let cut = rect.clip(m, false);
            let lines: Vec<_> = cut.0.iter().filter_map(snap_line).collect();
            (!lines.is_empty()).then(|| PixelGeom::Lines(MultiLineString::new(lines)))
        }
        PixelGeom::Areas(m) => {
            let trimmed = match clip_areas_quick(m, cb) {
                Quick::Valid(mp) => return Some(PixelGeom::Areas(oriented(mp))),
                Quick::Empty => return None,
                Quick::Unproved(trimmed) => trimmed,
            };
            // The boolean intersection of the Sutherland–Hodgman result, not of the whole
            // shape: the same area (the edges it runs along the box and back cancel out), but
            // only the vertices in the box to intersect — a subdistrict's boundary crossing a
            // z14 tile has a tenth of its 843 vertices there.
            let cut = trimmed.intersection(&MultiPolygon::new(vec![rect]));
            let valid = snap_valid(&cut.0).or_else(|| rebuild(&cut.0))?;
            Some(PixelGeom::Areas(oriented(valid)))
        }
    }
}

/// One Sutherland–Hodgman pass: the part of the ring `pts` (open: no repeated first point)
/// on the kept side of the line `axis = bound` (`keep_above`: the side of larger numbers).
/// Cut points lie exactly on the line.
fn clip_ring_side(
    pts: &[Coord<f64>],
    axis: usize,
    bound: f64,
    keep_above: bool,
) -> Vec<Coord<f64>> {
    let get = |c: Coord<f64>| if axis == 0 { c.x } else { c.y };
    let kept = |c: Coord<f64>| {
        if keep_above {
            get(c) >= bound
        } else {
            get(c) <= bound
        }
    };
    let cut = |a: Coord<f64>, b: Coord<f64>| {
        let t = (bound - get(a)) / (get(b) - get(a));
        if axis == 0 {
            Coord {
                x: bound,
                y: a.y + t * (b.y - a.y),
            }
        } else {
            Coord {
                x: a.x + t * (b.x - a.x),
                y: bound,
            }
        }
    };
    let mut out = Vec::with_capacity(pts.len() + 4);
    let Some(&last) = pts.last() else {
        return out;
    };
    let mut prev = last;
    for &cur in pts {
        match (kept(prev), kept(cur)) {
            (true, true) => out.push(cur),
            (false, true) => {
                out.push(cut(prev, cur));
                out.push(cur);
            }
            (true, false) => out.push(cut(prev, cur)),
            (false, false) => {}
        }
        prev = cur;
    }
    out
}

/// A closed ring clipped to the box by Sutherland–Hodgman (closed again), or `None` when
/// nothing is left.
fn clip_ring(ring: &LineString<f64>, cb: [f64; 4]) -> Option<LineString<f64>> {
    let mut pts: Vec<Coord<f64>> = ring.0.clone();
    if pts.len() > 1 && pts.first() == pts.last() {
        pts.pop();
    }
    for (axis, bound, keep_above) in [
        (0, cb[0], true),
        (0, cb[2], false),
        (1, cb[1], true),
        (1, cb[3], false),
    ] {
        pts = clip_ring_side(&pts, axis, bound, keep_above);
        if pts.len() < 3 {
            return None;
        }
    }
    pts.push(pts[0]);
    Some(LineString::new(pts))
}

/// What [`clip_areas_quick`] found.
enum Quick {
    /// Nothing of the shape is in the box.
    Empty,
    /// The clipped shape, snapped and proved valid.
    Valid(MultiPolygon<f64>),
    /// The clipped rings unsnapped, not proved valid (a ring cut into several pieces).
    Unproved(MultiPolygon<f64>),
}

/// Polygons clipped to the box ring by ring (Sutherland–Hodgman, linear in the vertices)
/// instead of by a general boolean intersection, kept when the snapped result is proved
/// valid by [`certainly_valid`]. That is the common case of a shape cut once by the tile's
/// buffer; where the cut splits a ring into several pieces, Sutherland–Hodgman joins them by
/// edges running along the box and back, which [`certainly_valid`] rejects as overlapping
/// edges, and the caller intersects the clipped rings with the box to part them.
fn clip_areas_quick(m: &MultiPolygon<f64>, cb: [f64; 4]) -> Quick {
    let polys: Vec<Polygon<f64>> =
        m.0.iter()
            .filter_map(|p| {
                let exterior = clip_ring(p.exterior(), cb)?;
                let holes = p
                    .interiors()
                    .iter()
                    .filter_map(|h| clip_ring(h, cb))
                    .collect();
                Some(Polygon::new(exterior, holes))
            })
            .collect();
    // Every exterior wholly outside the box (Sutherland–Hodgman keeps any ring that enters it).
    if polys.is_empty() {
        return Quick::Empty;
    }
    let snapped = MultiPolygon::new(polys.iter().filter_map(snap_polygon).collect());
    if !snapped.0.is_empty() && certainly_valid(&snapped) {
        Quick::Valid(snapped)
    } else {
        Quick::Unproved(MultiPolygon::new(polys))
    }
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

    /// A tile geometry decoded back to geo (what a client sees).
    fn decoded(g: TileGeometry) -> Geometry<f64> {
        tile::Feature {
            r#type: Some(g.0),
            geometry: g.1,
            ..tile::Feature::default()
        }
        .to_geo()
        .expect("decodes")
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
        let e = Encoded::new(&p).expect("encodes");
        let Geometry::LineString(l) = decoded(tile_geometry(&e, t).expect("crosses")) else {
            panic!("a line expected")
        };
        let xs: Vec<f64> = l.0.iter().map(|c| c.x).collect();
        assert_eq!(xs, vec![-f64::from(BUFFER), f64::from(EXTENT + BUFFER)]);
    }

    #[test]
    fn a_feature_inside_the_tile_is_its_geometry_moved() {
        let t = TileId::new(14, 13040, 6784).expect("tile");
        let [x0, y0, x1, _] = t.world_bounds();
        let w = x1 - x0;
        let (x, y) = (x0 + 0.3 * w, y0 + 0.4 * w);
        let d = 0.2 * w;
        let ring: Geometry<f64> = polygon![
            (x: x, y: y), (x: x + d, y: y), (x: x + d, y: y + d), (x: x + 0.5 * d, y: y + 0.3 * d),
            (x: x, y: y + d), (x: x, y: y)
        ]
        .into();
        let p = prepare(&ring, 14).expect("visible");
        let e = Encoded::new(&p).expect("encodes");
        let (ox, oy) = t.pixel_origin();
        let PixelGeom::Areas(mp) = &p.geom else {
            panic!("an area expected")
        };
        let moved = mp.map_coords(|c| Coord {
            x: c.x - ox,
            y: c.y - oy,
        });
        assert_eq!(
            decoded(tile_geometry(&e, t).expect("inside")),
            Geometry::Polygon(moved.0[0].clone())
        );
        // Far from the tile: nothing.
        let far = TileId::new(14, 13050, 6784).expect("tile");
        assert!(tile_geometry(&e, far).is_none());
    }

    #[test]
    fn the_quick_validity_test_never_passes_an_invalid_polygon() {
        let mp = |p: Polygon<f64>| MultiPolygon::new(vec![p]);
        let square = polygon![(x: 0., y: 0.), (x: 10., y: 0.), (x: 10., y: 10.), (x: 0., y: 10.), (x: 0., y: 0.)];
        let with_hole = polygon!(
            exterior: [(x: 0., y: 0.), (x: 10., y: 0.), (x: 10., y: 10.), (x: 0., y: 10.), (x: 0., y: 0.)],
            interiors: [[(x: 2., y: 2.), (x: 4., y: 2.), (x: 4., y: 4.), (x: 2., y: 2.)]],
        );
        assert!(certainly_valid(&mp(square.clone())));
        assert!(certainly_valid(&mp(with_hole)));
        // Invalid shapes: a bow tie, a spike, a hole outside, overlapping polygons, a hole
        // crossing its exterior.
        let bow_tie = polygon![(x: 0., y: 0.), (x: 10., y: 10.), (x: 10., y: 0.), (x: 0., y: 10.), (x: 0., y: 0.)];
        let spike = polygon![(x: 0., y: 0.), (x: 10., y: 0.), (x: 15., y: 0.), (x: 10., y: 0.), (x: 10., y: 10.), (x: 0., y: 0.)];
        let hole_outside = polygon!(
            exterior: [(x: 0., y: 0.), (x: 10., y: 0.), (x: 10., y: 10.), (x: 0., y: 10.), (x: 0., y: 0.)],
            interiors: [[(x: 20., y: 2.), (x: 24., y: 2.), (x: 24., y: 4.), (x: 20., y: 2.)]],
        );
        let hole_crossing = polygon!(
            exterior: [(x: 0., y: 0.), (x: 10., y: 0.), (x: 10., y: 10.), (x: 0., y: 10.), (x: 0., y: 0.)],
            interiors: [[(x: 8., y: 2.), (x: 14., y: 2.), (x: 14., y: 4.), (x: 8., y: 2.)]],
        );
        let shifted = square.map_coords(|c| Coord {
            x: c.x + 5.,
            y: c.y + 5.,
        });
        let inner = square.map_coords(|c| Coord {
            x: c.x / 5. + 3.,
            y: c.y / 5. + 3.,
        });
        for (name, g) in [
            ("bow tie", mp(bow_tie)),
            ("spike", mp(spike)),
            ("hole outside", mp(hole_outside)),
            ("hole crossing", mp(hole_crossing)),
            ("overlap", MultiPolygon::new(vec![square.clone(), shifted])),
            ("nested", MultiPolygon::new(vec![square.clone(), inner])),
        ] {
            assert!(!g.is_valid(), "{name}: geo agrees it is invalid");
            assert!(!certainly_valid(&g), "{name}");
        }
        // Valid but not proved (a hole touching the exterior at a corner): left to geo.
        let touching = polygon!(
            exterior: [(x: 0., y: 0.), (x: 10., y: 0.), (x: 10., y: 10.), (x: 0., y: 10.), (x: 0., y: 0.)],
            interiors: [[(x: 0., y: 0.), (x: 4., y: 2.), (x: 2., y: 4.), (x: 0., y: 0.)]],
        );
        assert!(!certainly_valid(&mp(touching.clone())));
        assert!(snap_valid(&[touching]).is_some());
    }

    #[test]
    fn the_quick_validity_test_agrees_with_geos_on_random_polygons() {
        use geos::Geom;
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let ring = |rng: &mut rand_chacha::ChaCha8Rng, at: f64, size: u32| {
            let n = rng.random_range(3..7);
            let mut pts: Vec<Coord<f64>> = (0..n)
                .map(|_| Coord {
                    x: at + f64::from(rng.random_range(0..size)),
                    y: at + f64::from(rng.random_range(0..size)),
                })
                .collect();
            pts.push(pts[0]);
            LineString::new(pts)
        };
        let (mut proved, mut checked) = (0, 0);
        for _ in 0..20_000 {
            let polys: Vec<Polygon<f64>> = (0..rng.random_range(1..3))
                .map(|k| {
                    let holes = (0..rng.random_range(0..2))
                        .map(|_| ring(&mut rng, 2.0 + f64::from(k) * 4.0, 4))
                        .collect();
                    Polygon::new(ring(&mut rng, f64::from(k) * 4.0, 8), holes)
                })
                .collect();
            let mp = MultiPolygon::new(polys);
            let Ok(g) = geos::Geometry::try_from(&mp) else {
                continue;
            };
            checked += 1;
            if certainly_valid(&mp) {
                proved += 1;
                assert!(g.is_valid().expect("GEOS answers"), "{mp:?}");
                assert!(mp.is_valid(), "{mp:?}");
            }
        }
        // Not vacuous: many random shapes are valid and proved so.
        assert!(checked > 10_000 && proved > 500, "{proved} of {checked}");
    }
}
