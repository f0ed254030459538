//! Rule `geometry`: the layer's geometry type, closed rings with ≥ 4 positions, simple rings
//! (no self-intersection), holes inside their exterior, RFC 7946 winding (exterior
//! counter-clockwise, holes clockwise).
//!
//! geo's `Validation` compares every pair of ring edges, which is quadratic in the ring size;
//! a boundary or river traced with thousands of vertices would take seconds. This checks the
//! same properties with an R-tree over the edges, and a unit test compares it with geo's on
//! random polygons.

use geo::line_intersection::{LineIntersection, line_intersection};
use geo::{Coord, Geometry, Line, LineString, Polygon};
use rstar::RTree;
use rstar::primitives::Line as RLine;

use crate::index::LineEntry;
use crate::model::{GeometryKind, LayerId};

use super::{Ctx, Only, Violation, fmt_lonlat, rule};

pub(super) fn check(ctx: &Ctx<'_>, only: &Only<'_>, out: &mut Vec<Violation>) {
    for (&layer, features) in &ctx.ds.layers {
        for f in features.iter().filter(|f| only(layer, f)) {
            let problems = match (layer.geometry_kind(), &f.geometry) {
                (GeometryKind::Point, Geometry::Point(_)) => Vec::new(),
                (GeometryKind::LineString, Geometry::LineString(ls)) => line_problems(ls),
                (GeometryKind::Polygon, Geometry::Polygon(p)) => polygon_problems(p),
                // A building is a Point or its footprint (issue 13).
                (GeometryKind::Point, Geometry::Polygon(p)) if layer == LayerId::Buildings => {
                    polygon_problems(p)
                }
                (GeometryKind::Polygon, Geometry::MultiPolygon(mp)) if layer == LayerId::Water => {
                    mp.0.iter()
                        .enumerate()
                        .flat_map(|(i, p)| {
                            polygon_problems(p)
                                .into_iter()
                                .map(move |m| format!("polygon {i}: {m}"))
                        })
                        .collect()
                }
                (kind, g) => vec![format!(
                    "geometry is a {}, the {layer} layer holds {}",
                    geometry_name(g),
                    match kind {
                        GeometryKind::Point if layer == LayerId::Buildings =>
                            "Points or Polygons (footprints)",
                        GeometryKind::Point => "Points",
                        GeometryKind::LineString => "LineStrings",
                        GeometryKind::Polygon if layer == LayerId::Water =>
                            "Polygons or MultiPolygons",
                        GeometryKind::Polygon => "Polygons",
                    }
                )],
            };
            out.extend(
                problems
                    .into_iter()
                    .map(|m| Violation::feature(layer, &f.id, rule::GEOMETRY, m)),
            );
        }
    }
}

/// A walkway needs two distinct positions to be walked along.
fn line_problems(ls: &LineString<f64>) -> Vec<String> {
    match dedup(&ls.0).len() {
        0 | 1 if ls.0.len() < 2 => vec![format!(
            "has {} position(s): a LineString needs at least 2",
            ls.0.len()
        )],
        0 | 1 => vec!["all positions are equal: the walkway has no length".to_string()],
        _ => Vec::new(),
    }
}

fn geometry_name(g: &Geometry<f64>) -> &'static str {
    match g {
        Geometry::Point(_) => "Point",
        Geometry::Line(_) => "Line",
        Geometry::LineString(_) => "LineString",
        Geometry::Polygon(_) => "Polygon",
        Geometry::MultiPoint(_) => "MultiPoint",
        Geometry::MultiLineString(_) => "MultiLineString",
        Geometry::MultiPolygon(_) => "MultiPolygon",
        Geometry::GeometryCollection(_) => "GeometryCollection",
        Geometry::Rect(_) => "Rect",
        Geometry::Triangle(_) => "Triangle",
    }
}

fn ring_name(i: usize) -> String {
    if i == 0 {
        "exterior ring".to_string()
    } else {
        format!("hole {}", i - 1)
    }
}

/// Every problem of one polygon, as actionable messages; empty when valid.
pub(crate) fn polygon_problems(p: &Polygon<f64>) -> Vec<String> {
    let rings: Vec<&LineString<f64>> = std::iter::once(p.exterior()).chain(p.interiors()).collect();
    let mut problems = Vec::new();
    let mut simple_rings = Vec::with_capacity(rings.len());
    for (i, ring) in rings.iter().enumerate() {
        let n = ring.0.len();
        if n > 0 && ring.0[0] != ring.0[n - 1] {
            problems.push(format!(
                "{} is not closed: repeat its first position at the end",
                ring_name(i)
            ));
            continue;
        }
        let distinct = dedup(&ring.0);
        if n < 4 || distinct.len() < 4 {
            problems.push(format!(
                "{} has {n} positions ({} distinct): a ring needs at least 4, the last equal to the first",
                ring_name(i),
                distinct.len().saturating_sub(1)
            ));
            continue;
        }
        let area2 = signed_area2(&distinct);
        if i == 0 && area2 < 0.0 {
            problems.push("exterior ring is clockwise: reverse it (RFC 7946 wants exterior rings counter-clockwise)".into());
        } else if i > 0 && area2 > 0.0 {
            problems.push(format!(
                "{} is counter-clockwise: reverse it (RFC 7946 wants holes clockwise)",
                ring_name(i)
            ));
        }
        simple_rings.push((i, distinct));
    }
    if let Some(m) = first_crossing(&simple_rings) {
        problems.push(m);
    }
    // A hole must lie inside the exterior: its rings do not cross (checked above), so one
    // vertex that is not on the exterior decides.
    if let Some((0, ext)) = simple_rings.first() {
        let ext_poly = Polygon::new(LineString::from(ext.clone()), vec![]);
        for (i, hole) in simple_rings.iter().skip(1) {
            use geo::CoordinatePosition;
            use geo::coordinate_position::CoordPos;
            let outside = hole
                .iter()
                .any(|c| ext_poly.coordinate_position(c) == CoordPos::Outside);
            if outside {
                problems.push(format!("{} lies outside the exterior ring", ring_name(*i)));
            }
        }
    }
    problems
}

/// Drop consecutive repeated positions (they are harmless, but they break edge adjacency).
fn dedup(c: &[Coord<f64>]) -> Vec<Coord<f64>> {
    let mut v: Vec<Coord<f64>> = Vec::with_capacity(c.len());
    for &p in c {
        if v.last() != Some(&p) {
            v.push(p);
        }
    }
    v
}

/// Twice the signed area of a closed ring; positive when counter-clockwise.
fn signed_area2(ring: &[Coord<f64>]) -> f64 {
    ring.windows(2)
        .map(|w| w[0].x * w[1].y - w[1].x * w[0].y)
        .sum()
}

type Edge = LineEntry<(usize, usize)>;

/// The first place where edges of the rings meet other than at the shared vertex of two
/// consecutive edges of one ring. Rings of different indices may touch at a single point
/// (OGC allows a hole to touch the exterior at a vertex) but not cross or share a stretch.
fn first_crossing(rings: &[(usize, Vec<Coord<f64>>)]) -> Option<String> {
    let mut edges: Vec<Edge> = Vec::new();
    for (ri, (_, ring)) in rings.iter().enumerate() {
        for (ei, w) in ring.windows(2).enumerate() {
            edges.push(LineEntry::new(
                RLine::new([w[0].x, w[0].y], [w[1].x, w[1].y]),
                (ri, ei),
            ));
        }
    }
    let line = |e: &Edge| Line::new(Coord::from(e.geom().from), Coord::from(e.geom().to));
    let tree = RTree::bulk_load(edges);
    let mut found: Option<(usize, usize, usize, usize, Coord<f64>)> = None;
    for (a, b) in tree.intersection_candidates_with_other_tree(&tree) {
        let ((ra, ea), (rb, eb)) = (a.data, b.data);
        if (ra, ea) >= (rb, eb) {
            continue;
        }
        let Some(x) = line_intersection(line(a), line(b)) else {
            continue;
        };
        let n_edges = rings[ra].1.len() - 1;
        let adjacent = ra == rb && (eb == ea + 1 || (ea == 0 && eb == n_edges - 1));
        let bad_at = match x {
            LineIntersection::Collinear { intersection }
                if intersection.start != intersection.end =>
            {
                Some(intersection.start)
            }
            LineIntersection::Collinear { intersection } => {
                (!adjacent && ra == rb).then_some(intersection.start)
            }
            LineIntersection::SinglePoint {
                intersection,
                is_proper,
            } => {
                if adjacent {
                    None
                } else if ra == rb || is_proper {
                    Some(intersection)
                } else {
                    None
                }
            }
        };
        if let Some(at) = bad_at {
            // Keep the lowest pair so the message does not depend on the R-tree's order.
            if found.is_none_or(|f| (ra, ea, rb, eb) < (f.0, f.1, f.2, f.3)) {
                found = Some((ra, ea, rb, eb, at));
            }
        }
    }
    found.map(|(ra, ea, rb, eb, at)| {
        let (na, nb) = (ring_name(rings[ra].0), ring_name(rings[rb].0));
        if ra == rb {
            format!(
                "{na} intersects itself near {} (edges {ea} and {eb}): the polygon is not simple",
                fmt_lonlat(at)
            )
        } else {
            format!(
                "{na} and {nb} cross near {} (edges {ea} and {eb})",
                fmt_lonlat(at)
            )
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::Validation;
    use rand::{Rng, SeedableRng};

    fn poly(c: &[(f64, f64)]) -> Polygon<f64> {
        Polygon::new(LineString::from(c.to_vec()), vec![])
    }

    #[test]
    fn accepts_a_ccw_square_and_rejects_cw() {
        let sq = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0), (0.0, 0.0)];
        assert!(polygon_problems(&poly(&sq)).is_empty());
        let mut cw = sq.to_vec();
        cw.reverse();
        let p = polygon_problems(&poly(&cw));
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("clockwise"), "{p:?}");
    }

    #[test]
    fn rejects_a_bowtie_and_a_short_ring() {
        let bowtie = poly(&[(0.0, 0.0), (1.0, 1.0), (1.0, 0.0), (0.0, 1.0), (0.0, 0.0)]);
        assert!(
            polygon_problems(&bowtie)
                .iter()
                .any(|m| m.contains("intersects itself"))
        );
        let short = poly(&[(0.0, 0.0), (1.0, 0.0), (0.0, 0.0)]);
        assert!(
            polygon_problems(&short)
                .iter()
                .any(|m| m.contains("at least 4"))
        );
    }

    #[test]
    fn checks_holes() {
        let ext = LineString::from(vec![
            (0.0, 0.0),
            (10.0, 0.0),
            (10.0, 10.0),
            (0.0, 10.0),
            (0.0, 0.0),
        ]);
        let hole_cw = LineString::from(vec![
            (2.0, 2.0),
            (2.0, 4.0),
            (4.0, 4.0),
            (4.0, 2.0),
            (2.0, 2.0),
        ]);
        assert!(polygon_problems(&Polygon::new(ext.clone(), vec![hole_cw.clone()])).is_empty());
        let mut hole_ccw = hole_cw.clone();
        hole_ccw.0.reverse();
        assert!(
            polygon_problems(&Polygon::new(ext.clone(), vec![hole_ccw]))
                .iter()
                .any(|m| m.contains("hole 0"))
        );
        let outside = LineString::from(vec![
            (20.0, 2.0),
            (20.0, 4.0),
            (22.0, 4.0),
            (22.0, 2.0),
            (20.0, 2.0),
        ]);
        assert!(
            polygon_problems(&Polygon::new(ext.clone(), vec![outside]))
                .iter()
                .any(|m| m.contains("outside"))
        );
        let crossing = LineString::from(vec![
            (8.0, 2.0),
            (8.0, 4.0),
            (12.0, 4.0),
            (12.0, 2.0),
            (8.0, 2.0),
        ]);
        assert!(
            polygon_problems(&Polygon::new(ext, vec![crossing]))
                .iter()
                .any(|m| m.contains("cross"))
        );
    }

    /// Oracle: on random rings (star-shaped ones are simple, shuffled ones mostly not) the
    /// R-tree check agrees with geo's quadratic `Validation` about self-intersection.
    #[test]
    fn agrees_with_geo_validation_on_random_rings() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let (mut simple, mut not_simple) = (0, 0);
        for case in 0..400 {
            let n = rng.random_range(3..30);
            let mut angles: Vec<f64> = (0..n)
                .map(|_| rng.random_range(0.0..std::f64::consts::TAU))
                .collect();
            angles.sort_by(f64::total_cmp);
            let mut pts: Vec<(f64, f64)> = angles
                .iter()
                .map(|a| {
                    let r = rng.random_range(1.0..10.0);
                    (
                        (r * a.cos() * 1e3).round() / 1e3,
                        (r * a.sin() * 1e3).round() / 1e3,
                    )
                })
                .collect();
            if case % 2 == 1 {
                // Swap two vertices: usually makes the ring cross itself.
                let (i, j) = (rng.random_range(0..n), rng.random_range(0..n));
                pts.swap(i, j);
            }
            let mut ring = pts.clone();
            ring.push(pts[0]);
            let mut p = poly(&ring);
            // Compare simplicity only: make the winding whatever RFC 7946 wants.
            if signed_area2(&p.exterior().0) < 0.0 {
                p.exterior_mut(|e| e.0.reverse());
            }
            let ours = polygon_problems(&p)
                .iter()
                .all(|m| !m.contains("intersects itself"));
            let theirs = p.is_valid() || geo::Area::unsigned_area(&p) == 0.0;
            assert_eq!(
                ours,
                theirs,
                "case {case}: {ring:?}: ours {:?}",
                polygon_problems(&p)
            );
            if ours {
                simple += 1;
            } else {
                not_simple += 1;
            }
        }
        assert!(
            simple > 100 && not_simple > 50,
            "{simple} simple, {not_simple} not"
        );
    }
}
