//! geo's interior point of a polygon, the same point computed with less work.
//!
//! Every footprint's position is its interior point, asked for twice at start-up (the
//! containment rule and the building index) and once per building write. geo 0.33 finds it
//! by running its sweep-line intersection over every pair of the polygon's edges to keep
//! only the pairs with the scan line, then classifies each candidate midpoint with `relate`
//! (a whole DE-9IM topology graph). On the default data's 3,104 footprints that was 8–11 ms
//! of CPU each time (issue 15, start-up). Here the scan line meets each edge directly, with
//! the same `line_intersection` call in the argument order geo's sweep uses, and a midpoint
//! is classified by `coordinate_position`, which is what `relate` itself falls back to for an
//! isolated point (and a point on an edge is on the boundary in both). The point is the
//! same, bit for bit (tests below: every polygon of the default data and shapes chosen to
//! take each branch).

use std::cmp::Ordering;

use geo::coordinate_position::{CoordPos, CoordinatePosition};
use geo::line_intersection::{LineIntersection, line_intersection};
use geo::{BoundingRect, Coord, CoordsIter, Line, LinesIter, Point, Polygon};

/// `geo::InteriorPoint::interior_point` of `polygon`.
// Exact comparisons on purpose: the same point as geo means the same tests as geo's.
#[allow(clippy::float_cmp)]
#[must_use]
pub fn polygon_interior_point(polygon: &Polygon<f64>) -> Option<Point<f64>> {
    if polygon.exterior().0.len() == 1 {
        return Some(polygon.exterior().0[0].into());
    }
    let bounds = polygon.bounding_rect()?;
    let mut y_mid = f64::midpoint(bounds.min().y, bounds.max().y);
    // As geo: a scan line through a vertex is moved halfway to the next-closest vertex y.
    if polygon.coords_iter().any(|c| c.y == y_mid) {
        let next_closest = polygon
            .coords_iter()
            .filter_map(|c| (c.y != y_mid).then_some((c.y, (c.y - y_mid).abs())))
            .min_by(|a, b| a.1.partial_cmp(&b.1).unwrap_or(Ordering::Less));
        if let Some((closest, _)) = next_closest {
            y_mid = f64::midpoint(y_mid, closest);
        }
    }
    let scan = Line::new(
        Coord {
            x: bounds.min().x,
            y: y_mid,
        },
        Coord {
            x: bounds.max().x,
            y: y_mid,
        },
    );
    // geo's sweep also takes an edge equal to the scan line for the scan line itself (a
    // zero-area polygon): leave that case to geo.
    if polygon.lines_iter().any(|l| l == scan) {
        return geo::InteriorPoint::interior_point(polygon);
    }
    let mut xs: Vec<f64> = Vec::new();
    for edge in polygon.lines_iter() {
        // geo's sweep orders segments by their least x (a stable sort, the scan line last)
        // and intersects (earlier, later): an edge starting at the scan line's x comes first.
        let edge_min_x = if edge.start.x < edge.end.x {
            edge.start.x
        } else {
            edge.end.x
        };
        let met = if edge_min_x.total_cmp(&scan.start.x).is_le() {
            line_intersection(edge, scan)
        } else {
            line_intersection(scan, edge)
        };
        match met {
            Some(LineIntersection::Collinear { intersection }) => {
                xs.push(intersection.start.x);
                xs.push(intersection.end.x);
            }
            Some(LineIntersection::SinglePoint { intersection, .. }) => xs.push(intersection.x),
            None => {}
        }
    }
    xs.sort_by(f64::total_cmp);
    let mut spans: Vec<(f64, f64)> = xs
        .windows(2)
        .map(|w| (f64::midpoint(w[0], w[1]), w[1] - w[0]))
        .collect();
    spans.sort_by(|a, b| b.1.total_cmp(&a.1));
    for (x, _) in spans {
        let c = Coord { x, y: y_mid };
        if polygon.coordinate_position(&c) != CoordPos::Outside {
            return Some(c.into());
        }
    }
    polygon.coords_iter().next().map(Point::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{InteriorPoint, LineString, polygon};

    fn same_as_geo(p: &Polygon<f64>) {
        let ours = polygon_interior_point(p);
        let geos = p.interior_point();
        assert_eq!(
            ours.map(|q| (q.x().to_bits(), q.y().to_bits())),
            geos.map(|q| (q.x().to_bits(), q.y().to_bits())),
            "{p:?}"
        );
    }

    #[test]
    fn every_polygon_of_the_default_data() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("geodata");
        let ds = crate::store::read_dir(&dir).expect("default data reads");
        let mut n = 0;
        for features in ds.layers.values() {
            for f in features.iter() {
                match &f.geometry {
                    geo::Geometry::Polygon(p) => {
                        same_as_geo(p);
                        n += 1;
                    }
                    geo::Geometry::MultiPolygon(mp) => {
                        for p in &mp.0 {
                            same_as_geo(p);
                            n += 1;
                        }
                    }
                    _ => {}
                }
            }
        }
        assert!(n > 3000, "{n} polygons");
    }

    #[test]
    fn shapes_that_take_each_branch() {
        // A U whose centroid is outside, a hole around the centre, a scan line through a
        // vertex, a vertical edge at the left, a horizontal edge at mid height, a spike.
        let shapes = [
            polygon![(x: 0., y: 0.), (x: 3., y: 0.), (x: 3., y: 3.), (x: 2., y: 3.), (x: 2., y: 1.), (x: 1., y: 1.), (x: 1., y: 3.), (x: 0., y: 3.)],
            Polygon::new(
                LineString::from(vec![(0., 0.), (4., 0.), (4., 4.), (0., 4.), (0., 0.)]),
                vec![LineString::from(vec![
                    (1., 1.),
                    (3., 1.),
                    (3., 3.),
                    (1., 3.),
                    (1., 1.),
                ])],
            ),
            polygon![(x: 0., y: 0.), (x: 2., y: 1.), (x: 4., y: 0.), (x: 4., y: 2.), (x: 0., y: 2.)],
            polygon![(x: 0., y: 0.), (x: 1., y: 1.), (x: 0., y: 2.), (x: 3., y: 1.)],
            polygon![(x: 0., y: 0.), (x: 2., y: 0.), (x: 2., y: 1.), (x: 1., y: 1.), (x: 1., y: 2.), (x: 0., y: 2.)],
            polygon![(x: 0., y: 0.), (x: 5., y: 0.5), (x: 0., y: 1.), (x: 1., y: 0.5)],
            polygon![(x: 0., y: 0.), (x: 1., y: 0.), (x: 2., y: 0.)],
            polygon![(x: 1., y: 1.)],
        ];
        for s in &shapes {
            same_as_geo(s);
        }
        // Irregular stars around random centres, in lon/lat-like magnitudes.
        let mut seed = 11u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        for _ in 0..500 {
            let (cx, cy) = (106.5 + next() * 0.1, 29.5 + next() * 0.1);
            let k = 3 + (next() * 12.0) as usize;
            let mut ring: Vec<(f64, f64)> = (0..k)
                .map(|i| {
                    let a = i as f64 / k as f64 * std::f64::consts::TAU;
                    let r = 1e-4 + next() * 1e-3;
                    (cx + r * a.cos(), cy + r * a.sin())
                })
                .collect();
            ring.push(ring[0]);
            same_as_geo(&Polygon::new(LineString::from(ring), vec![]));
        }
    }
}
