//! Figures that tell a planner whether a dataset looks like a city: the street network's
//! orientation, intersections, dead ends, grades; households per grid and micro-grid; where
//! the named places of the default data fall. `servicemap stats DIR` prints them, for the
//! model and for any import; a test holds the default data to the ranges of issue 13.
//!
//! Lengths, bearings and areas are geodesic on the WGS84 ellipsoid (Karney, via `geo`), so
//! the figures agree with OSMnx and a GIS; point-in-polygon and metre offsets use the
//! dataset's one local projection.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use geo::{
    Bearing, Contains, Coord, Distance, Euclidean, Geodesic, GeodesicArea, Geometry, LineString,
    MultiPolygon, Point,
};

use crate::model::{Feature, LayerId, LocalProj};
use crate::store::Dataset;
use crate::store::validate::point_segment_distance;

/// Bins of the orientation histogram (10° each), as OSMnx's `orientation_entropy` default.
pub const ORIENTATION_BINS: usize = 36;

/// Grade above which a link counts as steep (8%: the usual limit for a street).
pub const STEEP_GRADE: f64 = 0.08;

/// One walkway segment (two consecutive vertices): what the network figures are built from.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// Geodesic length, metres.
    pub length_m: f64,
    /// Initial geodesic bearing, degrees clockwise from north in [0, 360).
    pub bearing_deg: f64,
    /// |Δelevation| / length, when both vertices have an elevation.
    pub grade: Option<f64>,
    pub kind: Option<String>,
}

/// Shannon entropy (natural log) of the length-weighted distribution of bidirectional
/// bearings over [`ORIENTATION_BINS`] bins centred on 0°, 10°, … — what OSMnx's
/// `orientation_entropy` computes: every bearing counts with its reverse (a street runs both
/// ways), and the first bin spans 355°–5° so that north–south streets fall in one bin. A
/// perfect grid gives ln 4 ≈ 1.386, bearings spread evenly ln 36 ≈ 3.58. Returns `None`
/// when the total weight is zero.
#[must_use]
pub fn orientation_entropy(bearings: &[(f64, f64)]) -> Option<f64> {
    let width = 360.0 / ORIENTATION_BINS as f64;
    let mut bins = [0.0_f64; ORIENTATION_BINS];
    for &(bearing_deg, weight) in bearings {
        for b in [bearing_deg, bearing_deg + 180.0] {
            let shifted = (b + width / 2.0).rem_euclid(360.0);
            let k = ((shifted / width) as usize).min(ORIENTATION_BINS - 1);
            bins[k] += weight;
        }
    }
    let total: f64 = bins.iter().sum();
    if total <= 0.0 {
        return None;
    }
    Some(
        -bins
            .iter()
            .filter(|&&w| w > 0.0)
            .map(|&w| {
                let p = w / total;
                p * p.ln()
            })
            .sum::<f64>(),
    )
}

/// Share of the weight whose bearing lies within `tol_deg` of north, east, south or west.
#[must_use]
pub fn axis_share(bearings: &[(f64, f64)], tol_deg: f64) -> Option<f64> {
    let total: f64 = bearings.iter().map(|b| b.1).sum();
    if total <= 0.0 {
        return None;
    }
    let near: f64 = bearings
        .iter()
        .filter(|(b, _)| {
            let off = b.rem_euclid(90.0);
            off <= tol_deg || off >= 90.0 - tol_deg
        })
        .map(|b| b.1)
        .sum();
    Some(near / total)
}

/// Length-weighted quantile `q` in [0, 1] of `(value, weight)` pairs; `None` when empty.
#[must_use]
pub fn weighted_quantile(values: &[(f64, f64)], q: f64) -> Option<f64> {
    let mut v: Vec<(f64, f64)> = values.iter().copied().filter(|p| p.1 > 0.0).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = v.iter().map(|p| p.1).sum();
    let mut acc = 0.0;
    for (x, w) in &v {
        acc += w;
        if acc >= q * total {
            return Some(*x);
        }
    }
    v.last().map(|p| p.0)
}

/// Node structure of a walkway network: vertices are joined where their WGS84 positions are
/// equal to 1e-7°, as the data format nodes junctions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeCounts {
    /// Nodes of the simplified network: dead ends and junctions (vertices with other than two
    /// distinct neighbours).
    pub nodes: usize,
    /// Nodes where three or more distinct neighbours meet.
    pub intersections: usize,
    /// Nodes with one neighbour.
    pub dead_ends: usize,
}

fn key(c: geo::Coord<f64>) -> (i64, i64) {
    ((c.x * 1e7).round() as i64, (c.y * 1e7).round() as i64)
}

/// Count nodes, intersections and dead ends of `lines` (each a walkway's vertices). A vertex
/// is a node of the simplified network when its number of distinct neighbours is not two,
/// as OSMnx 2 simplifies: how a street is cut into features does not change the counts.
#[must_use]
pub fn node_counts(lines: &[&LineString<f64>]) -> NodeCounts {
    let mut nbrs: BTreeMap<(i64, i64), BTreeSet<(i64, i64)>> = BTreeMap::new();
    for ls in lines {
        let pts: Vec<(i64, i64)> = ls.0.iter().map(|&c| key(c)).collect();
        for w in pts.windows(2) {
            if w[0] != w[1] {
                nbrs.entry(w[0]).or_default().insert(w[1]);
                nbrs.entry(w[1]).or_default().insert(w[0]);
            }
        }
    }
    let mut out = NodeCounts::default();
    for set in nbrs.values() {
        let d = set.len();
        if d != 2 {
            out.nodes += 1;
        }
        if d >= 3 {
            out.intersections += 1;
        }
        if d == 1 {
            out.dead_ends += 1;
        }
    }
    out
}

/// Figures of the walkway network.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NetworkStats {
    pub walkways: usize,
    pub length_km: f64,
    /// OSMnx orientation entropy over 36 bins, length-weighted.
    pub orientation_entropy: Option<f64>,
    /// Share of length within ±5° of north–south or east–west.
    pub axis_share_5deg: Option<f64>,
    pub nodes: NodeCounts,
    /// Intersections (3+ neighbours) per km² of the boundary, when there is a boundary.
    pub intersections_per_km2: Option<f64>,
    /// Dead ends over all nodes of the simplified network.
    pub dead_end_share: Option<f64>,
    /// Walkways drawn as a single straight segment (two points).
    pub two_point_share: Option<f64>,
    /// Length-weighted median grade of streets and of footways (fraction, 0.04 = 4%).
    pub street_grade_median: Option<f64>,
    pub footway_grade_median: Option<f64>,
    /// Share of street length steeper than [`STEEP_GRADE`].
    pub street_steep_share: Option<f64>,
    /// Of all walkway length steeper than [`STEEP_GRADE`], the share that is stairs.
    pub steep_stairs_share: Option<f64>,
}

/// The walkways of `ds` as segments.
#[must_use]
pub fn segments(ds: &Dataset) -> Vec<Segment> {
    let mut out = Vec::new();
    for f in ds.layer(LayerId::Walkways).unwrap_or(&[]) {
        let Geometry::LineString(ls) = &f.geometry else {
            continue;
        };
        let kind = f.str_prop("kind").map(str::to_string);
        let z = f.elevation_m.as_deref();
        for (i, w) in ls.0.windows(2).enumerate() {
            let (a, b) = (Point::from(w[0]), Point::from(w[1]));
            let length_m = Geodesic.distance(a, b);
            if length_m <= 0.0 {
                continue;
            }
            let grade = z
                .and_then(|z| Some((z.get(i)?, z.get(i + 1)?)))
                .map(|(za, zb)| (zb - za).abs() / length_m);
            out.push(Segment {
                length_m,
                bearing_deg: Geodesic.bearing(a, b).rem_euclid(360.0),
                grade,
                kind: kind.clone(),
            });
        }
    }
    out
}

fn polygons(f: &Feature) -> Option<MultiPolygon<f64>> {
    match &f.geometry {
        Geometry::Polygon(p) => Some(MultiPolygon(vec![p.clone()])),
        Geometry::MultiPolygon(m) => Some(m.clone()),
        _ => None,
    }
}

/// Area of the boundary layer in km² (geodesic), when there is one.
#[must_use]
pub fn boundary_area_km2(ds: &Dataset) -> Option<f64> {
    let b = ds.layer(LayerId::Boundary)?;
    let a: f64 = b
        .iter()
        .filter_map(polygons)
        .map(|m| m.geodesic_area_unsigned())
        .sum();
    (a > 0.0).then_some(a / 1e6)
}

/// Network figures of `ds`'s walkways.
#[must_use]
pub fn network_stats(ds: &Dataset) -> NetworkStats {
    let walkways = ds.layer(LayerId::Walkways).unwrap_or(&[]);
    let segs = segments(ds);
    let bearings: Vec<(f64, f64)> = segs.iter().map(|s| (s.bearing_deg, s.length_m)).collect();
    let lines: Vec<&LineString<f64>> = walkways
        .iter()
        .filter_map(|f| match &f.geometry {
            Geometry::LineString(ls) => Some(ls),
            _ => None,
        })
        .collect();
    let nodes = node_counts(&lines);
    let grades = |kind: &str| -> Vec<(f64, f64)> {
        segs.iter()
            .filter(|s| s.kind.as_deref() == Some(kind))
            .filter_map(|s| Some((s.grade?, s.length_m)))
            .collect()
    };
    let street = grades("street");
    let share = |num: f64, den: f64| (den > 0.0).then(|| num / den);
    let street_len: f64 = street.iter().map(|g| g.1).sum();
    let street_steep: f64 = street
        .iter()
        .filter(|g| g.0 > STEEP_GRADE)
        .map(|g| g.1)
        .sum();
    let steep: Vec<&Segment> = segs
        .iter()
        .filter(|s| s.grade.is_some_and(|g| g > STEEP_GRADE))
        .collect();
    let steep_len: f64 = steep.iter().map(|s| s.length_m).sum();
    let steep_stairs: f64 = steep
        .iter()
        .filter(|s| s.kind.as_deref() == Some("stairs"))
        .map(|s| s.length_m)
        .sum();
    let two_point = lines.iter().filter(|ls| ls.0.len() == 2).count();
    NetworkStats {
        walkways: walkways.len(),
        length_km: segs.iter().map(|s| s.length_m).sum::<f64>() / 1000.0,
        orientation_entropy: orientation_entropy(&bearings),
        axis_share_5deg: axis_share(&bearings, 5.0),
        intersections_per_km2: boundary_area_km2(ds).map(|a| nodes.intersections as f64 / a),
        dead_end_share: share(nodes.dead_ends as f64, nodes.nodes as f64),
        two_point_share: share(two_point as f64, lines.len() as f64),
        street_grade_median: weighted_quantile(&street, 0.5),
        footway_grade_median: weighted_quantile(&grades("footway"), 0.5),
        street_steep_share: share(street_steep, street_len),
        steep_stairs_share: share(steep_stairs, steep_len),
        nodes,
    }
}

/// A turn sharper than this (degrees) ends a leg of an outline; gentler bends (a warped
/// street, a chamfer of 45° is not one) are part of the leg.
const LEG_TURN_DEG: f64 = 30.0;
/// A step of a staircase turns by a right angle, give or take this (degrees).
const STEP_TURN_TOL_DEG: f64 = 30.0;
/// A leg longer than this is a side of the area, not a step of a staircase.
pub const STEP_MAX_M: f64 = 120.0;

/// Share of the length of outlines (rings in local metres, closed or not) that lies on
/// staircase steps: legs (runs between turns sharper than 30°) of at most [`STEP_MAX_M`]
/// whose two end turns are both right angles (90° ± 30°) of opposite hands — the saw-tooth
/// edge of a union of lattice blocks, in whatever direction the lattice runs. A rectangle
/// (four turns of one hand) scores 0, a diagonal staircase of 50 m steps 1, the same
/// staircase cut along its diagonal 0. `None` when the outlines have no length.
#[must_use]
pub fn staircase_share(rings: &[&LineString<f64>]) -> Option<f64> {
    let (mut total, mut steps) = (0.0_f64, 0.0_f64);
    for ring in rings {
        let mut pts: Vec<geo::Coord<f64>> = ring.0.clone();
        if pts.len() > 1 && pts.first() == pts.last() {
            pts.pop();
        }
        pts.dedup();
        let n = pts.len();
        if n < 3 {
            continue;
        }
        let len = |i: usize| {
            let (a, b) = (pts[i], pts[(i + 1) % n]);
            (b.x - a.x).hypot(b.y - a.y)
        };
        // Signed turn at vertex i (degrees, left positive).
        let turn = |i: usize| {
            let (a, b, c) = (pts[(i + n - 1) % n], pts[i], pts[(i + 1) % n]);
            let (ux, uy, vx, vy) = (b.x - a.x, b.y - a.y, c.x - b.x, c.y - b.y);
            (ux * vy - uy * vx).atan2(ux * vx + uy * vy).to_degrees()
        };
        let ring_len: f64 = (0..n).map(len).sum();
        total += ring_len;
        let corners: Vec<usize> = (0..n).filter(|&i| turn(i).abs() >= LEG_TURN_DEG).collect();
        if corners.len() < 2 {
            continue;
        }
        let right = |t: f64| (t.abs() - 90.0).abs() <= STEP_TURN_TOL_DEG;
        for (k, &from) in corners.iter().enumerate() {
            let to = corners[(k + 1) % corners.len()];
            // Length of the leg from corner `from` to corner `to` (round the ring).
            let mut leg = 0.0;
            let mut i = from;
            loop {
                leg += len(i);
                i = (i + 1) % n;
                if i == to {
                    break;
                }
            }
            let (ta, tb) = (turn(from), turn(to));
            if leg <= STEP_MAX_M && right(ta) && right(tb) && ta.signum() != tb.signum() {
                steps += leg;
            }
        }
    }
    (total > 0.0).then(|| steps / total)
}

/// Staircase shares of the outlines of the subdistrict, its communities, grids and
/// micro-grids, and of the compounds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct OutlineStats {
    pub boundary: Option<f64>,
    pub compounds: Option<f64>,
    pub communities: Option<f64>,
    pub grids: Option<f64>,
    pub microgrids: Option<f64>,
}

/// [`staircase_share`] of every ring of a layer's polygons, in the dataset's local metres.
#[must_use]
pub fn layer_staircase_share(ds: &Dataset, layer: LayerId) -> Option<f64> {
    let rings = layer_rings(ds, layer);
    let refs: Vec<&LineString<f64>> = rings.iter().collect();
    staircase_share(&refs)
}

/// Outline figures of `ds`'s administrative units.
#[must_use]
pub fn outline_stats(ds: &Dataset) -> OutlineStats {
    OutlineStats {
        boundary: layer_staircase_share(ds, LayerId::Boundary),
        compounds: layer_staircase_share(ds, LayerId::Compounds),
        communities: layer_staircase_share(ds, LayerId::Communities),
        grids: layer_staircase_share(ds, LayerId::Grids),
        microgrids: layer_staircase_share(ds, LayerId::Microgrids),
    }
}

/// An outline within this of a walkway's centre-line or of water follows it (metres): half
/// the width of a Chongqing street from kerb to kerb (12–16 m), so an edge drawn on the
/// kerb or the property line of a street counts, one across the middle of a block does not.
pub const FOLLOW_TOL_M: f64 = 8.0;

/// A straight piece of a line in local metres, from one end to the other.
pub type Seg2 = ((f64, f64), (f64, f64));

/// Outlines are measured at points this far apart at most (metres).
const FOLLOW_STEP_M: f64 = 2.0;

/// Lines (walkway centre-lines, water edges) in local metres, bucketed on a square grid so
/// that "is a point within `tol_m` of one" looks at a few of them.
struct NearLines {
    tol_m: f64,
    cell_m: f64,
    buckets: BTreeMap<(i64, i64), Vec<usize>>,
    lines: Vec<Seg2>,
}

impl NearLines {
    fn new(lines: Vec<Seg2>, tol_m: f64) -> Self {
        let cell_m = (4.0 * tol_m).max(1.0);
        let mut buckets: BTreeMap<(i64, i64), Vec<usize>> = BTreeMap::new();
        let ix = |v: f64| (v / cell_m).floor() as i64;
        for (k, &(a, b)) in lines.iter().enumerate() {
            let (x0, x1) = (a.0.min(b.0) - tol_m, a.0.max(b.0) + tol_m);
            let (y0, y1) = (a.1.min(b.1) - tol_m, a.1.max(b.1) + tol_m);
            for i in ix(x0)..=ix(x1) {
                for j in ix(y0)..=ix(y1) {
                    buckets.entry((i, j)).or_default().push(k);
                }
            }
        }
        NearLines {
            tol_m,
            cell_m,
            buckets,
            lines,
        }
    }

    fn near(&self, p: (f64, f64)) -> bool {
        let key = (
            (p.0 / self.cell_m).floor() as i64,
            (p.1 / self.cell_m).floor() as i64,
        );
        self.buckets.get(&key).is_some_and(|ks| {
            ks.iter().any(|&k| {
                let ((ax, ay), (bx, by)) = self.lines[k];
                point_segment_distance(
                    Coord { x: p.0, y: p.1 },
                    Coord { x: ax, y: ay },
                    Coord { x: bx, y: by },
                ) <= self.tol_m
            })
        })
    }
}

/// Share of the length of outlines (rings in local metres) that lies within `tol_m` of one
/// of `lines` (walkway centre-lines, water edges) or inside one of `water` (a unit edge on
/// the middle of a creek follows it): the outline is measured at points at most 2 m apart,
/// each standing for its piece of the ring. `None` when the outlines have no length.
#[must_use]
pub fn following_share(
    rings: &[&LineString<f64>],
    lines: &[Seg2],
    water: &[geo::Polygon<f64>],
    tol_m: f64,
) -> Option<f64> {
    let index = NearLines::new(lines.to_vec(), tol_m);
    let (mut total, mut near) = (0.0_f64, 0.0_f64);
    for ring in rings {
        for w in ring.0.windows(2) {
            let (a, b) = (w[0], w[1]);
            let len = (b.x - a.x).hypot(b.y - a.y);
            if len <= 0.0 {
                continue;
            }
            let pieces = (len / FOLLOW_STEP_M).ceil().max(1.0);
            let piece = len / pieces;
            for k in 0..pieces as usize {
                let f = (k as f64 + 0.5) / pieces;
                let p = (a.x + f * (b.x - a.x), a.y + f * (b.y - a.y));
                total += piece;
                if index.near(p) || water.iter().any(|wp| wp.contains(&Point::new(p.0, p.1))) {
                    near += piece;
                }
            }
        }
    }
    (total > 0.0).then(|| near / total)
}

/// Rings of every polygon of a layer, in the dataset's local metres.
fn layer_rings(ds: &Dataset, layer: LayerId) -> Vec<LineString<f64>> {
    let proj = ds.projection();
    ds.layer(layer)
        .unwrap_or(&[])
        .iter()
        .filter_map(polygons)
        .flat_map(|m| m.0)
        .flat_map(|p| {
            let (exterior, holes) = proj.project(&p).into_inner();
            std::iter::once(exterior).chain(holes)
        })
        .collect()
}

/// Shares of the outlines of communities, grids and micro-grids that follow a walkway or
/// water (within [`FOLLOW_TOL_M`]): the edges a planner draws along streets, the river and
/// 花溪河, rather than across blocks.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FollowStats {
    pub communities: Option<f64>,
    pub grids: Option<f64>,
    pub microgrids: Option<f64>,
}

/// [`following_share`] of the unit layers of `ds` against its walkways and water.
#[must_use]
pub fn follow_stats(ds: &Dataset) -> FollowStats {
    follow_stats_along(ds, &[])
}

/// [`following_share`] of the unit layers of `ds` against its walkways, water and the
/// LineStrings of `more` (ridges).
#[must_use]
pub fn follow_stats_along(ds: &Dataset, more: &[Feature]) -> FollowStats {
    let proj = ds.projection();
    let mut lines: Vec<Seg2> = Vec::new();
    let walkways = ds.layer(LayerId::Walkways).unwrap_or(&[]);
    for f in walkways.iter().chain(more) {
        if let Geometry::LineString(ls) = &f.geometry {
            let local = proj.project(ls);
            lines.extend(
                local
                    .lines()
                    .map(|l| ((l.start.x, l.start.y), (l.end.x, l.end.y))),
            );
        }
    }
    let water: Vec<geo::Polygon<f64>> = layer_rings(ds, LayerId::Water)
        .into_iter()
        .map(|r| geo::Polygon::new(r, vec![]))
        .collect();
    for p in &water {
        lines.extend(
            p.exterior()
                .lines()
                .map(|l| ((l.start.x, l.start.y), (l.end.x, l.end.y))),
        );
    }
    let share = |layer: LayerId| {
        let rings = layer_rings(ds, layer);
        let refs: Vec<&LineString<f64>> = rings.iter().collect();
        following_share(&refs, &lines, &water, FOLLOW_TOL_M)
    };
    FollowStats {
        communities: share(LayerId::Communities),
        grids: share(LayerId::Grids),
        microgrids: share(LayerId::Microgrids),
    }
}

/// A named place of `shared/lijiatuo/facts.md` with the community the model puts it in.
#[derive(Debug, Clone, Copy)]
pub struct NamedPlace {
    pub name: &'static str,
    /// WGS84 degrees (facts.md, ±150 m).
    pub lon: f64,
    pub lat: f64,
    /// NBS code of the community or village it lies in (modelled where facts.md is silent).
    pub community: &'static str,
    /// Name of the compound that stands at this point, when it is one.
    pub compound: Option<&'static str>,
}

/// Where one named place falls in a dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaceCheck {
    pub name: &'static str,
    /// Metres outside the boundary (0 inside).
    pub outside_boundary_m: f64,
    /// Code of the community containing the point, if any.
    pub community_found: Option<String>,
    pub community_expected: &'static str,
    /// Metres from the point to the compound of that name (0 inside it), when it is one.
    pub compound_m: Option<f64>,
}

impl PlaceCheck {
    /// Inside the boundary, in its community, and its compound within 50 m.
    #[must_use]
    pub fn ok(&self) -> bool {
        self.outside_boundary_m == 0.0
            && self.community_found.as_deref() == Some(self.community_expected)
            && self.compound_m.is_none_or(|d| d <= 50.0)
    }
}

fn metres_outside(proj: &LocalProj, m: &MultiPolygon<f64>, lon: f64, lat: f64) -> f64 {
    if m.contains(&Point::new(lon, lat)) {
        return 0.0;
    }
    let (x, y) = proj.to_xy(lon, lat);
    let local = proj.project(m);
    Euclidean.distance(&Point::new(x, y), &local)
}

/// Check each of `places` against the boundary, communities and compounds of `ds`.
#[must_use]
pub fn check_places(ds: &Dataset, places: &[NamedPlace]) -> Vec<PlaceCheck> {
    let proj = ds.projection();
    let boundary: Vec<MultiPolygon<f64>> = ds
        .layer(LayerId::Boundary)
        .unwrap_or(&[])
        .iter()
        .filter_map(polygons)
        .collect();
    let communities: Vec<(&str, MultiPolygon<f64>)> = ds
        .layer(LayerId::Communities)
        .unwrap_or(&[])
        .iter()
        .filter_map(|f| Some((f.id.as_str(), polygons(f)?)))
        .collect();
    let compounds = ds.layer(LayerId::Compounds).unwrap_or(&[]);
    places
        .iter()
        .map(|p| {
            let outside_boundary_m = boundary
                .iter()
                .map(|m| metres_outside(&proj, m, p.lon, p.lat))
                .fold(f64::INFINITY, f64::min);
            let community_found = communities
                .iter()
                .find(|(_, m)| m.contains(&Point::new(p.lon, p.lat)))
                .map(|(id, _)| (*id).to_string());
            let compound_m = p.compound.map(|name| {
                compounds
                    .iter()
                    .filter(|c| c.str_prop("name") == Some(name))
                    .filter_map(polygons)
                    .map(|m| metres_outside(&proj, &m, p.lon, p.lat))
                    .fold(f64::INFINITY, f64::min)
            });
            PlaceCheck {
                name: p.name,
                outside_boundary_m: if outside_boundary_m.is_finite() {
                    outside_boundary_m
                } else {
                    f64::INFINITY
                },
                community_found,
                community_expected: p.community,
                compound_m,
            }
        })
        .collect()
}

/// Figures of buildings, households and residents.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PeopleStats {
    pub buildings: usize,
    pub households: u64,
    pub residents: u64,
    /// Residents aged 60+ over all residents.
    pub share_60plus: Option<f64>,
    /// Households per grid (summed from buildings): min, median, max.
    pub grid_households: Option<(u64, u64, u64)>,
    /// Grids outside the published 300–500 households.
    pub grids_outside_300_500: usize,
    /// Share of grids sitting exactly on the smallest or largest grid's count (a sign of
    /// clamping rather than of a spread).
    pub grids_at_extremes_share: Option<f64>,
    pub microgrids: usize,
    /// Micro-grids where no household lives.
    pub empty_microgrids: usize,
    /// Residents per km² of the densest village (communities with `kind: village`).
    pub max_village_density_per_km2: Option<f64>,
    /// Share of households in buildings of a compound.
    pub compound_household_share: Option<f64>,
    /// Median households of buildings of 18+ floors.
    pub tower_households_median: Option<u64>,
    /// Median households of low-rise blocks of 5–7 floors (facts.md: old blocks of 5–7
    /// storeys hold 20–60 households).
    pub lowrise_households_median: Option<u64>,
    /// Households per building by storey band ([`STOREY_BANDS`]: houses, walk-up blocks,
    /// small high-rises, towers), one entry a band that has buildings.
    pub households_by_storeys: Vec<StoreyBand>,
    /// Buildings of 10+ storeys holding fewer than two households a floor (a high-rise of
    /// one flat a floor is not how a city builds).
    pub highrise_under_2_per_floor: usize,
    /// Communities (not villages) whose compounds hold more than half their households,
    /// out of the communities with households.
    pub communities_mostly_in_compounds: (usize, usize),
    /// Codes of communities (not villages) with households but no building in a compound.
    pub communities_without_compounds: Vec<String>,
}

/// Storey bands of buildings, fewest and most storeys: village houses and small walk-ups
/// (1–4), walk-up blocks (5–9: old Chongqing blocks of 6–8 storeys), small high-rises
/// (小高层, 10–17) and towers (18+).
pub const STOREY_BANDS: [(u64, u64); 4] = [(1, 4), (5, 9), (10, 17), (18, u64::MAX)];

/// Households per building of one storey band.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreyBand {
    /// Fewest and most storeys of the band (`u64::MAX`: no upper limit).
    pub floors: (u64, u64),
    pub buildings: usize,
    /// Households of a building: min, median, max.
    pub households: (u64, u64, u64),
}

impl StoreyBand {
    fn label(&self) -> String {
        match self.floors {
            (lo, u64::MAX) => format!("{lo}+"),
            (lo, hi) => format!("{lo}–{hi}"),
        }
    }
}

fn median_u64(v: &mut [u64]) -> Option<u64> {
    v.sort_unstable();
    (!v.is_empty()).then(|| v[v.len() / 2])
}

/// Building and household figures of `ds`.
#[must_use]
pub fn people_stats(ds: &Dataset) -> PeopleStats {
    let buildings = ds.layer(LayerId::Buildings).unwrap_or(&[]);
    let mut by_grid: BTreeMap<&str, u64> = BTreeMap::new();
    let mut by_micro: BTreeMap<&str, u64> = BTreeMap::new();
    for g in ds.layer(LayerId::Grids).unwrap_or(&[]) {
        by_grid.insert(&g.id, 0);
    }
    for m in ds.layer(LayerId::Microgrids).unwrap_or(&[]) {
        by_micro.insert(&m.id, 0);
    }
    let (mut hh, mut res, mut old, mut in_compound) = (0u64, 0u64, 0u64, 0u64);
    let mut towers = Vec::new();
    let mut lowrise = Vec::new();
    let mut by_band: Vec<Vec<u64>> = vec![Vec::new(); STOREY_BANDS.len()];
    let mut highrise_under_2_per_floor = 0;
    let villages: BTreeSet<&str> = ds
        .layer(LayerId::Communities)
        .unwrap_or(&[])
        .iter()
        .filter(|c| c.str_prop("kind") == Some("village"))
        .map(|c| c.id.as_str())
        .collect();
    // Community code → (households, households in a compound), for communities only.
    let mut by_community: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for b in buildings {
        let h = b.u64_prop("households").unwrap_or(0);
        hh += h;
        res += b.u64_prop("residents").unwrap_or(0);
        old += b.u64_prop("residents_60plus").unwrap_or(0);
        if b.str_prop("compound").is_some() {
            in_compound += h;
        }
        match b.u64_prop("floors") {
            Some(18..) => towers.push(h),
            Some(5..=7) => lowrise.push(h),
            _ => {}
        }
        if let Some(floors) = b.u64_prop("floors") {
            if let Some(k) = STOREY_BANDS
                .iter()
                .position(|&(lo, hi)| (lo..=hi).contains(&floors))
            {
                by_band[k].push(h);
            }
            if floors >= 10 && h < 2 * floors {
                highrise_under_2_per_floor += 1;
            }
        }
        if let Some(c) = b.str_prop("community").filter(|c| !villages.contains(c)) {
            let e = by_community.entry(c).or_default();
            e.0 += h;
            if b.str_prop("compound").is_some() {
                e.1 += h;
            }
        }
        if let Some(g) = b.str_prop("grid").and_then(|g| by_grid.get_mut(g)) {
            *g += h;
        }
        if let Some(m) = b.str_prop("microgrid").and_then(|m| by_micro.get_mut(m)) {
            *m += h;
        }
    }
    let mut grid_hh: Vec<u64> = by_grid.values().copied().collect();
    let grids_outside_300_500 = grid_hh.iter().filter(|h| !(300..=500).contains(*h)).count();
    let grid_households = median_u64(&mut grid_hh).map(|med| {
        (
            grid_hh.first().copied().unwrap_or(0),
            med,
            grid_hh.last().copied().unwrap_or(0),
        )
    });
    let grids_at_extremes_share = grid_households.map(|(lo, _, hi)| {
        grid_hh.iter().filter(|&&h| h == lo || h == hi).count() as f64 / grid_hh.len() as f64
    });
    let max_village_density_per_km2 = ds
        .layer(LayerId::Communities)
        .unwrap_or(&[])
        .iter()
        .filter(|c| c.str_prop("kind") == Some("village"))
        .filter_map(|c| {
            let area_km2 = polygons(c)?.geodesic_area_unsigned() / 1e6;
            let r: u64 = buildings
                .iter()
                .filter(|b| b.str_prop("community") == Some(c.id.as_str()))
                .filter_map(|b| b.u64_prop("residents"))
                .sum();
            (area_km2 > 0.0).then(|| r as f64 / area_km2)
        })
        .reduce(f64::max);
    let share = |num: u64, den: u64| (den > 0).then(|| num as f64 / den as f64);
    PeopleStats {
        buildings: buildings.len(),
        households: hh,
        residents: res,
        share_60plus: share(old, res),
        grid_households,
        grids_outside_300_500,
        grids_at_extremes_share,
        microgrids: by_micro.len(),
        empty_microgrids: by_micro.values().filter(|&&h| h == 0).count(),
        max_village_density_per_km2,
        compound_household_share: share(in_compound, hh),
        tower_households_median: median_u64(&mut towers),
        households_by_storeys: STOREY_BANDS
            .iter()
            .zip(&mut by_band)
            .filter_map(|(&floors, v)| {
                let med = median_u64(v)?;
                Some(StoreyBand {
                    floors,
                    buildings: v.len(),
                    households: (v[0], med, v[v.len() - 1]),
                })
            })
            .collect(),
        highrise_under_2_per_floor,
        lowrise_households_median: median_u64(&mut lowrise),
        communities_mostly_in_compounds: (
            by_community
                .values()
                .filter(|(h, c)| *h > 0 && 2 * c > *h)
                .count(),
            by_community.values().filter(|(h, _)| *h > 0).count(),
        ),
        communities_without_compounds: by_community
            .iter()
            .filter(|(_, (h, c))| *h > 0 && *c == 0)
            .map(|(id, _)| (*id).to_string())
            .collect(),
    }
}

/// Every figure of a dataset.
#[derive(Debug, Clone)]
pub struct Stats {
    pub network: NetworkStats,
    pub people: PeopleStats,
    pub outlines: OutlineStats,
    pub follow: FollowStats,
    /// The ridge layer's figures, when the directory has one (`stats` leaves this `None`;
    /// see [`Stats::with_ridges`]).
    pub ridges: Option<RidgeStats>,
    /// Named places, checked when the dataset is the Lijiatuo model (its boundary is
    /// 500113006); empty otherwise.
    pub places: Vec<PlaceCheck>,
}

/// Compute every figure of `ds`; `places` are checked when the boundary's id is
/// `places_boundary_id`.
#[must_use]
pub fn stats(ds: &Dataset, places: &[NamedPlace], places_boundary_id: &str) -> Stats {
    let is_model = ds
        .layer(LayerId::Boundary)
        .is_some_and(|b| b.iter().any(|f| f.id == places_boundary_id));
    Stats {
        network: network_stats(ds),
        people: people_stats(ds),
        outlines: outline_stats(ds),
        follow: follow_stats(ds),
        ridges: None,
        places: if is_model {
            check_places(ds, places)
        } else {
            Vec::new()
        },
    }
}

/// Figures of a ridge layer: how much of the units' outlines follows a walkway, water or a
/// ridge, and the check of the ridges against the ground.
#[derive(Debug, Clone, PartialEq)]
pub struct RidgeStats {
    pub follow: FollowStats,
    /// `None` when the ground is not known (data other than the model).
    pub check: Option<super::ridges::RidgeCheck>,
}

/// The ground to check ridges against: elevation in local metres of a frame.
pub type Ground<'a> = (LocalProj, &'a dyn Fn(f64, f64) -> f64);

impl Stats {
    /// Add the figures of `ridges` (read with [`super::ridges::read_ridges`]), checked
    /// against `ground` when it is known.
    #[must_use]
    pub fn with_ridges(mut self, ds: &Dataset, ridges: &[Feature], ground: Option<Ground>) -> Self {
        self.ridges = Some(RidgeStats {
            follow: follow_stats_along(ds, ridges),
            check: ground.map(|(proj, z)| {
                super::ridges::check_ridges(ridges, &proj, z, super::ridges::CREST_OFFSET_M)
            }),
        });
        self
    }
}

/// "communities / grids / micro-grids" shares of one following figure.
fn follow_row(f: &FollowStats) -> String {
    format!(
        "{} / {} / {}",
        pct(f.communities),
        pct(f.grids),
        pct(f.microgrids)
    )
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".into(), |v| format!("{:.1}%", 100.0 * v))
}

fn num(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "n/a".into(), |v| format!("{v:.digits$}"))
}

impl Stats {
    /// The figures as an aligned text table, one per line.
    #[must_use]
    pub fn render(&self) -> String {
        let n = &self.network;
        let p = &self.people;
        let mut rows: Vec<(&str, String)> = vec![
            ("walkways", n.walkways.to_string()),
            ("walkway length km", format!("{:.1}", n.length_km)),
            (
                "orientation entropy (36 bins)",
                num(n.orientation_entropy, 3),
            ),
            ("length within ±5° of axes", pct(n.axis_share_5deg)),
            (
                "nodes / intersections / dead ends",
                format!(
                    "{} / {} / {}",
                    n.nodes.nodes, n.nodes.intersections, n.nodes.dead_ends
                ),
            ),
            ("intersections per km²", num(n.intersections_per_km2, 1)),
            ("dead-end share", pct(n.dead_end_share)),
            ("two-point walkways", pct(n.two_point_share)),
            ("median street grade", pct(n.street_grade_median)),
            ("median footway grade", pct(n.footway_grade_median)),
            ("street length steeper than 8%", pct(n.street_steep_share)),
            (
                "steep (>8%) length that is stairs",
                pct(n.steep_stairs_share),
            ),
            (
                "outline on staircase steps: communities / grids / micro-grids",
                format!(
                    "{} / {} / {}",
                    pct(self.outlines.communities),
                    pct(self.outlines.grids),
                    pct(self.outlines.microgrids)
                ),
            ),
            (
                "outline on staircase steps: boundary / compounds",
                format!(
                    "{} / {}",
                    pct(self.outlines.boundary),
                    pct(self.outlines.compounds)
                ),
            ),
            (
                "outline along a walkway or water: communities / grids / micro-grids",
                follow_row(&self.follow),
            ),
        ];
        if let Some(r) = &self.ridges {
            rows.push((
                "outline along a walkway, water or ridge: communities / grids / micro-grids",
                follow_row(&r.follow),
            ));
            rows.push((
                "ridges: lines / km / vertices that are crests",
                r.check.as_ref().map_or_else(
                    || "not checked (the ground is not known)".into(),
                    |c| {
                        format!(
                            "{} / {:.1} / {}{}",
                            c.lines,
                            c.length_km,
                            pct(c.crest_share()),
                            c.first_failure
                                .as_ref()
                                .map_or_else(String::new, |f| format!(" (first failure {f})"))
                        )
                    },
                ),
            ));
        }
        rows.extend([
            ("buildings", p.buildings.to_string()),
            (
                "households / residents",
                format!("{} / {}", p.households, p.residents),
            ),
            ("residents 60+", pct(p.share_60plus)),
            (
                "households per grid min / median / max",
                p.grid_households
                    .map_or_else(|| "n/a".into(), |(a, b, c)| format!("{a} / {b} / {c}")),
            ),
            ("grids outside 300–500", p.grids_outside_300_500.to_string()),
            (
                "grids at the min or max count",
                pct(p.grids_at_extremes_share),
            ),
            (
                "empty micro-grids",
                format!("{} of {}", p.empty_microgrids, p.microgrids),
            ),
            (
                "densest village, residents per km²",
                num(p.max_village_density_per_km2, 0),
            ),
            ("households in compounds", pct(p.compound_household_share)),
            (
                "median households of 18+ floor towers",
                p.tower_households_median
                    .map_or_else(|| "n/a".into(), |v| v.to_string()),
            ),
            (
                "median households of 5–7 floor blocks",
                p.lowrise_households_median
                    .map_or_else(|| "n/a".into(), |v| v.to_string()),
            ),
            (
                "communities mostly in compounds",
                format!(
                    "{} of {}",
                    p.communities_mostly_in_compounds.0, p.communities_mostly_in_compounds.1
                ),
            ),
            (
                "communities without compounds",
                if p.communities_without_compounds.is_empty() {
                    "none".into()
                } else {
                    p.communities_without_compounds.join(" ")
                },
            ),
        ]);
        let bands: Vec<(String, String)> = p
            .households_by_storeys
            .iter()
            .map(|b| {
                let (lo, med, hi) = b.households;
                (
                    format!("households a building, {} storeys", b.label()),
                    format!(
                        "{} buildings, min / median / max {lo} / {med} / {hi}",
                        b.buildings
                    ),
                )
            })
            .collect();
        for (k, v) in &bands {
            rows.push((k, v.clone()));
        }
        rows.push((
            "10+ storey buildings under 2 households a floor",
            p.highrise_under_2_per_floor.to_string(),
        ));
        let placed = self.places.iter().filter(|c| c.ok()).count();
        let places_row = format!("{placed} of {} in place", self.places.len());
        if !self.places.is_empty() {
            rows.push(("named places (facts.md)", places_row));
        }
        let width = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
        let mut out = String::new();
        for (k, v) in rows {
            let pad = width - k.chars().count();
            let _ = writeln!(out, "{k}{}  {v}", " ".repeat(pad));
        }
        for c in self.places.iter().filter(|c| !c.ok()) {
            let _ = writeln!(
                out,
                "  {}: {:.0} m outside the boundary, in {} (expected {}){}",
                c.name,
                c.outside_boundary_m,
                c.community_found.as_deref().unwrap_or("no community"),
                c.community_expected,
                c.compound_m
                    .map_or_else(String::new, |d| format!(", compound {d:.0} m away")),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Coord, Destination};

    /// Lines from (0,0)-ish origins at `bearings`, each `len_m` long, as WGS84 around Lijiatuo.
    fn spokes(bearings: &[f64], len_m: f64) -> Vec<(f64, f64)> {
        bearings.iter().map(|&b| (b, len_m)).collect()
    }

    #[test]
    fn a_perfect_grid_has_entropy_ln_4() {
        let e = orientation_entropy(&spokes(&[0.0, 90.0, 180.0, 270.0, 0.0, 90.0], 50.0))
            .expect("weights");
        assert!((e - 4.0_f64.ln()).abs() < 1e-12, "{e}");
        // Slight wobble within a bin (±4°) does not change it.
        let e = orientation_entropy(&spokes(&[359.0, 4.0, 86.0, 94.0], 50.0)).expect("weights");
        assert!((e - 4.0_f64.ln()).abs() < 1e-12, "{e}");
        assert_eq!(
            axis_share(&spokes(&[359.0, 4.0, 86.0, 94.0], 1.0), 5.0),
            Some(1.0)
        );
    }

    #[test]
    fn evenly_spread_bearings_have_entropy_ln_36() {
        // One bearing per bin centre over half the circle: with their reverses every bin
        // holds the same weight.
        let b: Vec<f64> = (0..18).map(|k| f64::from(k) * 10.0).collect();
        let e = orientation_entropy(&spokes(&b, 10.0)).expect("weights");
        assert!((e - 36.0_f64.ln()).abs() < 1e-12, "{e}");
        assert!((e - 3.5835).abs() < 1e-3);
        // A fine uniform spread comes to the same.
        let b: Vec<f64> = (0..3600).map(|k| f64::from(k) * 0.1).collect();
        let e = orientation_entropy(&spokes(&b, 1.0)).expect("weights");
        assert!((e - 36.0_f64.ln()).abs() < 1e-9, "{e}");
        assert_eq!(orientation_entropy(&[]), None);
        let share = axis_share(&spokes(&b, 1.0), 5.0).expect("weights");
        assert!((share - 4.0 * 10.1 / 360.0).abs() < 0.01, "{share}");
    }

    #[test]
    fn length_weights_the_entropy() {
        // Two bearings with weights 3:1 (and their reverses): entropy of (3/8,3/8,1/8,1/8).
        let e = orientation_entropy(&[(0.0, 3.0), (45.0, 1.0)]).expect("weights");
        let want = -(2.0 * 0.375 * 0.375_f64.ln() + 2.0 * 0.125 * 0.125_f64.ln());
        assert!((e - want).abs() < 1e-12);
    }

    #[test]
    fn weighted_median_follows_length() {
        assert_eq!(
            weighted_quantile(&[(0.1, 1.0), (0.02, 5.0)], 0.5),
            Some(0.02)
        );
        assert_eq!(
            weighted_quantile(&[(0.1, 5.0), (0.02, 1.0)], 0.5),
            Some(0.1)
        );
        assert_eq!(weighted_quantile(&[], 0.5), None);
    }

    fn grid_lines(n: usize, step_deg: f64) -> Vec<LineString<f64>> {
        let (lon0, lat0) = (106.53, 29.47);
        let mut out = Vec::new();
        for i in 0..n {
            for j in 0..n {
                let c = |a: usize, b: usize| Coord {
                    x: lon0 + a as f64 * step_deg,
                    y: lat0 + b as f64 * step_deg,
                };
                if i + 1 < n {
                    out.push(LineString(vec![c(i, j), c(i + 1, j)]));
                }
                if j + 1 < n {
                    out.push(LineString(vec![c(i, j), c(i, j + 1)]));
                }
            }
        }
        out
    }

    #[test]
    fn a_grid_network_has_its_junctions_counted() {
        // 4×4 lattice: 4 inner crossings (degree 4), 8 edge tees (degree 3), 4 corners (2,
        // not nodes of the simplified network).
        let lines = grid_lines(4, 0.0005);
        let refs: Vec<&LineString<f64>> = lines.iter().collect();
        let n = node_counts(&refs);
        assert_eq!(n.intersections, 12);
        assert_eq!(n.dead_ends, 0);
        assert_eq!(n.nodes, 12);
        // A cul-de-sac off a corner adds a dead end and turns the corner into a tee.
        let mut lines = lines;
        let corner = Coord {
            x: 106.53,
            y: 29.47,
        };
        let p = Geodesic.destination(Point::from(corner), 225.0, 40.0);
        lines.push(LineString(vec![corner, p.0]));
        let refs: Vec<&LineString<f64>> = lines.iter().collect();
        let n = node_counts(&refs);
        assert_eq!((n.intersections, n.dead_ends, n.nodes), (13, 1, 14));
        // A bend inside a polyline is not a node, nor is a vertex where two walkways meet end
        // to end.
        let bent = LineString(vec![
            Coord {
                x: 106.60,
                y: 29.40,
            },
            Coord {
                x: 106.601,
                y: 29.401,
            },
            Coord {
                x: 106.602,
                y: 29.40,
            },
        ]);
        let n = node_counts(&[&bent]);
        assert_eq!((n.nodes, n.dead_ends, n.intersections), (2, 2, 0));
        let halves = [
            LineString(bent.0[..2].to_vec()),
            LineString(bent.0[1..].to_vec()),
        ];
        let n = node_counts(&[&halves[0], &halves[1]]);
        assert_eq!((n.nodes, n.dead_ends, n.intersections), (2, 2, 0));
    }

    fn ring(pts: &[(f64, f64)]) -> LineString<f64> {
        let mut v: Vec<(f64, f64)> = pts.to_vec();
        v.push(pts[0]);
        LineString::from(v)
    }

    #[test]
    fn following_share_measures_outline_along_streets_and_water() {
        // A 100 m square block: a street along its south side (bent 3 m off it, still within
        // the 8 m; it stops 8 m short of the corners, so the east and west sides are not
        // near it), another 20 m north of its north side (too far).
        let square = ring(&[(0.0, 0.0), (100.0, 0.0), (100.0, 100.0), (0.0, 100.0)]);
        let streets = [
            ((8.0, 0.0), (50.0, 3.0)),
            ((50.0, 3.0), (92.0, 0.0)),
            ((0.0, 120.0), (100.0, 120.0)),
        ];
        let share = following_share(&[&square], &streets, &[], FOLLOW_TOL_M).expect("length");
        assert!((share - 0.25).abs() < 1e-9, "{share}");
        // A creek's band 20 m wide over the middle of the west side (y 10–90): the side lies
        // inside it, and 8 m on past its ends near its banks: 96 m more.
        let creek = geo::Polygon::new(
            ring(&[(-10.0, 10.0), (10.0, 10.0), (10.0, 90.0), (-10.0, 90.0)]),
            vec![],
        );
        let mut lines = streets.to_vec();
        lines.extend(
            creek
                .exterior()
                .lines()
                .map(|l| ((l.start.x, l.start.y), (l.end.x, l.end.y))),
        );
        let share = following_share(&[&square], &lines, &[creek], FOLLOW_TOL_M).expect("length");
        assert!((share - 196.0 / 400.0).abs() < 1e-9, "{share}");
        // A street along half the east side, and on 20 m past the corner: 58 m of that side
        // and the last 8 m of the south side.
        let half = [((100.0, -20.0), (100.0, 50.0))];
        let share = following_share(&[&square], &half, &[], FOLLOW_TOL_M).expect("length");
        assert!((share - 66.0 / 400.0).abs() < 1e-9, "{share}");
        assert_eq!(following_share(&[], &half, &[], FOLLOW_TOL_M), None);
    }

    #[test]
    fn staircase_share_finds_saw_tooth_outlines() {
        // A square and a triangle have no steps.
        let square = ring(&[(0.0, 0.0), (100.0, 0.0), (100.0, 100.0), (0.0, 100.0)]);
        assert_eq!(staircase_share(&[&square]), Some(0.0));
        let triangle = ring(&[(0.0, 0.0), (200.0, 0.0), (0.0, 200.0)]);
        assert_eq!(staircase_share(&[&triangle]), Some(0.0));
        // The same triangle with its hypotenuse drawn as a staircase of 50 m blocks: the six
        // inner legs are steps (300 of 800 m); the first and last legs turn the same way
        // at both ends, so they are sides, not steps.
        let stairs = [
            (0.0, 0.0),
            (200.0, 0.0),
            (200.0, 50.0),
            (150.0, 50.0),
            (150.0, 100.0),
            (100.0, 100.0),
            (100.0, 150.0),
            (50.0, 150.0),
            (50.0, 200.0),
            (0.0, 200.0),
        ];
        let share = staircase_share(&[&ring(&stairs)]).expect("length");
        assert!((share - 300.0 / 800.0).abs() < 1e-12, "{share}");
        // Whatever the direction of the lattice: the staircase turned by 30° scores the same.
        let (sin, cos) = 30.0_f64.to_radians().sin_cos();
        let turned: Vec<(f64, f64)> = stairs
            .iter()
            .map(|&(x, y)| (x * cos - y * sin, x * sin + y * cos))
            .collect();
        let share = staircase_share(&[&ring(&turned)]).expect("length");
        assert!((share - 300.0 / 800.0).abs() < 1e-9, "{share}");
        // Each step cut along its diagonal (a chamfer of 45° at every block): no steps.
        let chamfered = ring(&[
            (0.0, 0.0),
            (200.0, 0.0),
            (200.0, 50.0),
            (150.0, 100.0),
            (100.0, 150.0),
            (50.0, 200.0),
            (0.0, 200.0),
        ]);
        assert_eq!(staircase_share(&[&chamfered]), Some(0.0));
        // An L of three blocks: the two legs at its inner corner are steps (100 of 400 m);
        // both rings count by length together.
        let ell = ring(&[
            (0.0, 0.0),
            (100.0, 0.0),
            (100.0, 50.0),
            (50.0, 50.0),
            (50.0, 100.0),
            (0.0, 100.0),
        ]);
        assert_eq!(staircase_share(&[&ell]), Some(0.25));
        assert_eq!(staircase_share(&[&ell, &square]), Some(100.0 / 800.0));
        // A long side between opposite turns is a side of the area, not a step.
        let long = ring(&[
            (0.0, 0.0),
            (400.0, 0.0),
            (400.0, 200.0),
            (200.0, 200.0),
            (200.0, 400.0),
            (0.0, 400.0),
        ]);
        assert_eq!(staircase_share(&[&long]), Some(0.0));
        assert_eq!(staircase_share(&[]), None);
    }

    fn feature(id: &str, geometry: Geometry<f64>, p: serde_json::Value) -> Feature {
        Feature {
            id: id.to_string(),
            geometry,
            elevation_m: None,
            properties: match p {
                serde_json::Value::Object(m) => m.into(),
                _ => crate::model::Props::default(),
            },
        }
    }

    #[test]
    fn households_by_building_type_and_compound_share_per_community() {
        let pt = || Geometry::Point(Point::new(106.53, 29.47));
        let b = |id: &str, h: u64, floors: u64, community: &str, compound: Option<&str>| {
            let mut p = serde_json::json!({
                "households": h, "residents": 2 * h, "residents_60plus": 0,
                "floors": floors, "community": community,
            });
            if let Some(cp) = compound {
                p["compound"] = serde_json::json!(cp);
            }
            feature(id, pt(), p)
        };
        let communities = vec![
            feature("A", pt(), serde_json::json!({ "kind": "community" })),
            feature("B", pt(), serde_json::json!({ "kind": "community" })),
            feature("C", pt(), serde_json::json!({ "kind": "community" })),
            feature("V", pt(), serde_json::json!({ "kind": "village" })),
        ];
        let buildings = vec![
            // A: 300 of 340 households in a compound.
            b("1", 200, 30, "A", Some("CP1")),
            b("2", 100, 24, "A", Some("CP1")),
            b("3", 40, 6, "A", None),
            // B: 150 in a tower of a compound, 160 outside: not mostly.
            b("4", 150, 18, "B", Some("CP2")),
            b("5", 60, 7, "B", None),
            b("6", 100, 17, "B", None),
            // C has no compound at all.
            b("9", 4, 3, "C", None),
            // V, a village without compounds, is left out of both figures.
            b("7", 2, 3, "V", None),
            b("8", 30, 5, "V", None),
            // A 12-storey block of 15 households: under two a floor.
            b("10", 15, 12, "V", None),
        ];
        let ds = Dataset {
            dir: std::path::PathBuf::new(),
            layers: BTreeMap::from([
                (LayerId::Communities, communities.into()),
                (LayerId::Buildings, buildings.into()),
            ]),
            taxonomy: None,
            manifest: None,
        };
        let p = people_stats(&ds);
        // Towers 200, 100, 150 → 150; blocks of 5–7 floors 40, 60, 30 → 40.
        assert_eq!(p.tower_households_median, Some(150));
        assert_eq!(p.lowrise_households_median, Some(40));
        // Bands: 1–4 storeys 4, 2; 5–9: 40, 60, 30; 10–17: 100, 15; 18+: 150, 100, 200.
        let band = |lo: u64| {
            p.households_by_storeys
                .iter()
                .find(|b| b.floors.0 == lo)
                .map(|b| (b.buildings, b.households))
        };
        assert_eq!(band(1), Some((2, (2, 4, 4))));
        assert_eq!(band(5), Some((3, (30, 40, 60))));
        assert_eq!(band(10), Some((2, (15, 100, 100))));
        assert_eq!(band(18), Some((3, (100, 150, 200))));
        assert_eq!(p.highrise_under_2_per_floor, 1);
        assert_eq!(p.communities_mostly_in_compounds, (1, 3));
        assert_eq!(p.communities_without_compounds, vec!["C".to_string()]);
        let s = (450.0 / 701.0_f64 - p.compound_household_share.expect("households")).abs();
        assert!(s < 1e-12);
    }
}
