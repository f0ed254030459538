//! Rules on the walking network: `connectivity` (one connected network), `noding` (walkways
//! cross only at shared vertices unless grade-separated: a bridge, a tunnel, another `layer`
//! or `level`), `water` (only bridges and tunnels cross or lie in water) and `elevation`
//! (finite, plausible; on every walkway when the manifest requires it).
//!
//! In a directory whose manifest says it came from OpenStreetMap, ways connect only where they
//! share a node (OSM's own rule), so a crossing without one is a data-quality [`Finding`], not
//! a violation: the walk engine simply does not connect them. The same holds for walkways
//! drawn through water without a bridge or tunnel tag.
//!
//! Segments are kept in degrees, not metres: noding is about identical coordinates, and a
//! projection would turn equal coordinates into nearly equal ones.

use std::collections::{HashMap, HashSet};

use geo::line_intersection::{LineIntersection, line_intersection};
use geo::{Coord, Geometry, Line, LineString, Polygon};
use rstar::primitives::Line as RLine;
use rstar::{AABB, RTree};

use crate::index::LineEntry;
use crate::model::LayerId;

use super::{Ctx, Finding, Violation, fmt_lonlat, rule};

/// Elevations outside this range (metres above sea level) are data errors.
const ELEVATION_RANGE_M: (f64, f64) = (-100.0, 9000.0);
/// How many ids of stray walkways a connectivity message lists.
const LIST_IDS: usize = 8;

/// Figures of the network for the counts table.
#[derive(Debug, Clone, Default)]
pub(crate) struct NetStats {
    pub length_m: f64,
    /// Connected components; `None` when the directory has no walkways.
    pub components: Option<usize>,
}

struct Way<'a> {
    id: &'a str,
    bridge: bool,
    grade: Grade<'a>,
    coords: &'a [Coord<f64>],
}

/// What a walkway's properties say about its grade (see `docs/data-format.md`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Grade<'a> {
    tunnel: bool,
    layer: i64,
    level: Option<&'a str>,
}

impl Grade<'_> {
    fn of(f: &crate::model::Feature) -> Grade<'_> {
        Grade {
            tunnel: f.str_prop("tunnel").is_some_and(|t| t != "no"),
            layer: f
                .properties
                .get("layer")
                .and_then(crate::model::PropValue::as_i64)
                .unwrap_or(0),
            // Level 0 is the ground, where a way without `level` is too.
            level: f.str_prop("level").filter(|l| l.trim() != "0"),
        }
    }
}

/// Whether two walkways pass one over the other rather than meet: a bridge (never in the
/// segment tree), a tunnel beside a non-tunnel, or different `layer` or `level`.
fn separated(a: &Way<'_>, b: &Way<'_>) -> bool {
    a.bridge || b.bridge || a.grade != b.grade
}

/// Where a network problem goes: strict directories refuse it, OpenStreetMap imports report it.
pub(super) struct Sink<'o> {
    pub violations: &'o mut Vec<Violation>,
    pub findings: &'o mut Vec<Finding>,
    /// True for an OpenStreetMap import (see the module doc).
    pub lenient: bool,
}

impl<'o> Sink<'o> {
    /// A sink for `ds`, lenient when it is an OpenStreetMap import.
    pub fn for_dataset(
        ds: &super::Dataset,
        violations: &'o mut Vec<Violation>,
        findings: &'o mut Vec<Finding>,
    ) -> Sink<'o> {
        Sink {
            violations,
            findings,
            lenient: ds
                .manifest
                .as_ref()
                .is_some_and(super::super::Manifest::is_openstreetmap),
        }
    }

    fn push(
        &mut self,
        kind: &'static str,
        rule: &'static str,
        ways: Vec<String>,
        at: Coord<f64>,
        message: String,
    ) {
        if self.lenient {
            self.findings.push(Finding {
                kind,
                layer: LayerId::Walkways.to_string(),
                features: ways,
                at,
                message,
            });
        } else {
            self.violations.push(Violation::feature(
                LayerId::Walkways,
                ways.first().map_or("", String::as_str),
                rule,
                message,
            ));
        }
    }
}

pub(super) fn check(ctx: &Ctx<'_>, sink: &mut Sink<'_>) -> NetStats {
    check_only(ctx, None, sink)
}

/// [`check`], with the crossing rules (`noding`, `water`) looking only at the walkways whose
/// ids are in `only` (and whatever they meet) when given: the writer's check of a walkway
/// edit, where every other pair passed on the base data (issue 12). Same violations, same
/// order, as the whole check when the others are unchanged and the water too.
pub(super) fn check_only(
    ctx: &Ctx<'_>,
    only: Option<&HashSet<&str>>,
    sink: &mut Sink<'_>,
) -> NetStats {
    let Some(features) = ctx.ds.layer(LayerId::Walkways) else {
        return NetStats::default();
    };
    let ways: Vec<Way<'_>> = features
        .iter()
        .filter_map(|f| match &f.geometry {
            Geometry::LineString(ls) if !ls.0.is_empty() => Some(Way {
                id: &f.id,
                bridge: f.str_prop("kind") == Some("bridge")
                    || f.str_prop("bridge").is_some_and(|b| b != "no"),
                grade: Grade::of(f),
                coords: &ls.0,
            }),
            _ => None,
        })
        .collect();
    let length_m = ways
        .iter()
        .flat_map(|w| w.coords.windows(2))
        .map(|s| {
            let (a, b) = (ctx.xy(s[0]), ctx.xy(s[1]));
            (a.x - b.x).hypot(a.y - b.y)
        })
        .sum();
    let components = connectivity(&ways, sink.violations);
    match only {
        None => {
            let segments = segment_tree(&ways, |_| true);
            noding(&ways, &segments, sink);
            water(ctx, &ways, &segments, |_| true, sink);
        }
        Some(ids) => {
            let edited = |w: &Way<'_>| ids.contains(w.id);
            let segments = segment_tree(&ways, edited);
            noding_against(&ways, &segments, sink);
            water(ctx, &ways, &segments, edited, sink);
        }
    }
    elevation(ctx, sink.violations);
    NetStats {
        length_m,
        components: Some(components),
    }
}

/// Union-find over exact vertex coordinates (the data are noded, so walkways that meet share
/// a position bit for bit). Returns the number of components.
fn connectivity(ways: &[Way<'_>], out: &mut Vec<Violation>) -> usize {
    let key = |c: &Coord<f64>| (c.x.to_bits(), c.y.to_bits());
    let vertices: usize = ways.iter().map(|w| w.coords.len()).sum();
    let mut vertex: HashMap<(u64, u64), u32> = HashMap::with_capacity(vertices);
    let mut parent: Vec<u32> = Vec::with_capacity(vertices);
    fn find(parent: &mut [u32], mut v: u32) -> u32 {
        while parent[v as usize] != v {
            let p = parent[v as usize];
            parent[v as usize] = parent[p as usize]; // path halving
            v = parent[v as usize];
        }
        v
    }
    let mut first_vertex = Vec::with_capacity(ways.len());
    for w in ways {
        let mut prev: Option<u32> = None;
        for c in w.coords {
            let next = u32::try_from(parent.len()).unwrap_or(u32::MAX);
            let v = *vertex.entry(key(c)).or_insert_with(|| {
                parent.push(next);
                next
            });
            if let Some(p) = prev {
                let (a, b) = (find(&mut parent, p), find(&mut parent, v));
                if a != b {
                    parent[a as usize] = b;
                }
            }
            prev = Some(v);
        }
        first_vertex.push(prev.unwrap_or(0));
    }
    let roots: Vec<u32> = first_vertex.iter().map(|&v| find(&mut parent, v)).collect();
    let mut size: HashMap<u32, usize> = HashMap::new();
    for &r in &roots {
        *size.entry(r).or_default() += 1;
    }
    let n = size.len();
    if n > 1 {
        // Largest by walkway count; ties go to the component of the earlier walkway so the
        // report does not depend on hashing.
        let biggest = size.values().copied().max().unwrap_or(0);
        let main = roots
            .iter()
            .copied()
            .find(|r| size[r] == biggest)
            .unwrap_or(0);
        let stray: Vec<&str> = ways
            .iter()
            .zip(&roots)
            .filter(|(_, r)| **r != main)
            .map(|(w, _)| w.id)
            .collect();
        let listed = stray
            .iter()
            .take(LIST_IDS)
            .map(|s| format!("'{s}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let more = if stray.len() > LIST_IDS {
            format!(" and {} more", stray.len() - LIST_IDS)
        } else {
            String::new()
        };
        out.push(Violation::new(
            LayerId::Walkways,
            stray.first().copied(),
            rule::CONNECTIVITY,
            format!(
                "the walkways form {n} separate networks; the largest holds {biggest} of {} walkways. \
                 Not connected to it: {listed}{more}. Join them at a shared position or remove them",
                ways.len()
            ),
        ));
    }
    n
}

/// (walkway index, segment index) of a segment.
type Seg = LineEntry<(u32, u32)>;

fn as_u32(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// The segments of every walkway that is not a bridge: bridges pass over streets and water,
/// so no rule here looks at them.
fn segment_tree(ways: &[Way<'_>], keep: impl Fn(&Way<'_>) -> bool) -> RTree<Seg> {
    let segs: Vec<Seg> = ways
        .iter()
        .enumerate()
        .filter(|(_, w)| !w.bridge && keep(w))
        .flat_map(|(wi, w)| {
            w.coords.windows(2).enumerate().map(move |(si, s)| {
                LineEntry::new(
                    RLine::new([s[0].x, s[0].y], [s[1].x, s[1].y]),
                    (as_u32(wi), as_u32(si)),
                )
            })
        })
        .collect();
    RTree::bulk_load(segs)
}

fn line_of(s: &RLine<[f64; 2]>) -> Line<f64> {
    Line::new(Coord::from(s.from), Coord::from(s.to))
}

/// Improper meetings of two walkways: (walkway a, walkway b) with a < b → (segment of a,
/// segment of b) of the first meeting in segment order, and where. The first in segment
/// order, not in R-tree order, so that a check of a few walkways names the same position
/// as the whole check.
type Meetings = HashMap<(u32, u32), ((u32, u32), Coord<f64>)>;

/// Record the meeting of segments `a` and `b` (of different walkways) if improper.
fn meet(ways: &[Way<'_>], a: &Seg, b: &Seg, bad: &mut Meetings) {
    let (a, b) = if a.data.0 <= b.data.0 { (a, b) } else { (b, a) };
    let ((wa, sa), (wb, sb)) = (a.data, b.data);
    if wa == wb
        || bad.get(&(wa, wb)).is_some_and(|(k, _)| *k <= (sa, sb))
        || separated(&ways[wa as usize], &ways[wb as usize])
    {
        return;
    }
    let (la, lb) = (line_of(a.geom()), line_of(b.geom()));
    let Some(x) = line_intersection(la, lb) else {
        return;
    };
    let shared =
        la.start == lb.start || la.start == lb.end || la.end == lb.start || la.end == lb.end;
    let at = match x {
        LineIntersection::SinglePoint { .. } if shared => None,
        LineIntersection::SinglePoint { intersection, .. } => Some(intersection),
        LineIntersection::Collinear { intersection }
            if intersection.start == intersection.end && shared =>
        {
            None
        }
        LineIntersection::Collinear { intersection } => Some(intersection.start),
    };
    if let Some(at) = at {
        bad.insert((wa, wb), ((sa, sb), at));
    }
}

fn noding(ways: &[Way<'_>], segments: &RTree<Seg>, sink: &mut Sink<'_>) {
    let mut bad = Meetings::new();
    for (a, b) in segments.intersection_candidates_with_other_tree(segments) {
        meet(ways, a, b, &mut bad);
    }
    report_noding(ways, bad, sink);
}

/// Noding of the walkways in `edited` (their segments) against every walkway: each segment
/// of the network is looked up in the small tree of the edited segments.
fn noding_against(ways: &[Way<'_>], edited: &RTree<Seg>, sink: &mut Sink<'_>) {
    let mut bad = Meetings::new();
    let Some(reach) = (edited.size() > 0).then(|| edited.root().envelope()) else {
        return;
    };
    for (wi, w) in ways.iter().enumerate().filter(|(_, w)| !w.bridge) {
        for (si, s) in w.coords.windows(2).enumerate() {
            let env = AABB::from_corners([s[0].x, s[0].y], [s[1].x, s[1].y]);
            if !rstar::Envelope::intersects(&reach, &env) {
                continue;
            }
            let a = LineEntry::new(
                RLine::new([s[0].x, s[0].y], [s[1].x, s[1].y]),
                (as_u32(wi), as_u32(si)),
            );
            for b in edited.locate_in_envelope_intersecting(&env) {
                meet(ways, &a, b, &mut bad);
            }
        }
    }
    report_noding(ways, bad, sink);
}

fn report_noding(ways: &[Way<'_>], bad: Meetings, sink: &mut Sink<'_>) {
    let mut bad: Vec<((u32, u32), Coord<f64>)> =
        bad.into_iter().map(|(k, (_, at))| (k, at)).collect();
    bad.sort_by_key(|(k, _)| *k);
    for ((wa, wb), at) in bad {
        let (a, b) = (ways[wa as usize].id, ways[wb as usize].id);
        let message = if sink.lenient {
            format!(
                "'{a}' crosses '{b}' at {} without a shared node, on the same grade: they do not connect; if people cross there, add the node in OpenStreetMap, otherwise tag the bridge, tunnel or layer",
                fmt_lonlat(at)
            )
        } else {
            format!(
                "meets walkway '{b}' at {} without a shared position: split both there, or make one a bridge or a tunnel",
                fmt_lonlat(at)
            )
        };
        sink.push(
            FINDING_CROSSING,
            rule::NODING,
            vec![a.to_string(), b.to_string()],
            at,
            message,
        );
    }
}

/// Finding kinds (the `kind` of a feature in `validate --report`).
pub(super) const FINDING_CROSSING: &str = "crossing_without_shared_node";
pub(super) const FINDING_WATER: &str = "walkway_in_water";

/// Where a walkway first meets water: the water feature, the position, and whether it
/// crosses an edge (otherwise a segment lies inside).
struct WaterHit {
    water: usize,
    at: Coord<f64>,
    crossing: bool,
}

/// Water edges carry the index of their water feature.
type WaterEdge = LineEntry<usize>;

/// `segments` holds the segments of the walkways `keep` selects (all, or the edited ones).
fn water(
    ctx: &Ctx<'_>,
    ways: &[Way<'_>],
    segments: &RTree<Seg>,
    keep: impl Fn(&Way<'_>) -> bool,
    sink: &mut Sink<'_>,
) {
    let Some(water) = ctx.ds.layer(LayerId::Water) else {
        return;
    };
    let polys: Vec<(&str, Vec<&Polygon<f64>>)> = water
        .iter()
        .map(|f| {
            let ps = match &f.geometry {
                Geometry::Polygon(p) => vec![p],
                Geometry::MultiPolygon(mp) => mp.0.iter().collect(),
                _ => Vec::new(),
            };
            (f.id.as_str(), ps)
        })
        .collect();
    let rings = |ps: &[&Polygon<f64>]| -> Vec<LineString<f64>> {
        ps.iter()
            .flat_map(|p| {
                std::iter::once(p.exterior().clone()).chain(p.interiors().iter().cloned())
            })
            .collect()
    };
    let edges: Vec<WaterEdge> = polys
        .iter()
        .enumerate()
        .flat_map(|(wi, (_, ps))| {
            rings(ps).into_iter().flat_map(move |r| {
                r.lines()
                    .map(move |l| {
                        LineEntry::new(RLine::new([l.start.x, l.start.y], [l.end.x, l.end.y]), wi)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    if edges.is_empty() {
        return;
    }
    let edge_tree = RTree::bulk_load(edges);
    let max_x = edge_tree.root().envelope().upper()[0];
    let mut found: HashMap<u32, WaterHit> = HashMap::new();
    // The segment and distance along it of each walkway's first crossing: the first in
    // segment order, not R-tree order, so that checking a few walkways agrees with the whole.
    let mut first: HashMap<u32, (u32, f64)> = HashMap::new();
    // Walkways with a segment near a water edge (bounding boxes meet).
    let mut near_edge: HashSet<u32> = HashSet::new();
    // Crossings: a walkway segment properly crossing a water edge.
    for (s, e) in segments.intersection_candidates_with_other_tree(&edge_tree) {
        let (wi, si) = s.data;
        // Tunnels pass under water, as bridges pass over it.
        if ways[wi as usize].grade.tunnel {
            continue;
        }
        near_edge.insert(wi);
        if let Some(LineIntersection::SinglePoint {
            intersection,
            is_proper: true,
        }) = line_intersection(line_of(s.geom()), line_of(e.geom()))
        {
            let along =
                (intersection.x - s.geom().from[0]).hypot(intersection.y - s.geom().from[1]);
            let earlier = first
                .get(&wi)
                .is_none_or(|&(fs, fa)| (si, along, e.data) < (fs, fa, found[&wi].water));
            if earlier {
                first.insert(wi, (si, along));
                found.insert(
                    wi,
                    WaterHit {
                        water: e.data,
                        at: intersection,
                        crossing: true,
                    },
                );
            }
        }
    }
    // Lying in water without crossing an edge: the midpoint of some segment is inside (by ray
    // casting against the edge tree; a segment from the bank into the water touches the bank
    // only at its end, so its midpoint is inside). A walkway no water edge comes near is on
    // one side throughout, so its first segment decides.
    let water_env = edge_tree.root().envelope();
    for (wi, w) in ways.iter().enumerate() {
        let wi = as_u32(wi);
        if w.bridge || w.grade.tunnel || !keep(w) || found.contains_key(&wi) {
            continue;
        }
        let n_test = if near_edge.contains(&wi) {
            usize::MAX
        } else {
            1
        };
        for s in w.coords.windows(2).take(n_test) {
            let m = Coord {
                x: f64::midpoint(s[0].x, s[1].x),
                y: f64::midpoint(s[0].y, s[1].y),
            };
            if !rstar::Envelope::contains_point(&water_env, &[m.x, m.y]) {
                continue;
            }
            if let Some(k) = inside_water(&edge_tree, m, max_x) {
                found.insert(
                    wi,
                    WaterHit {
                        water: k,
                        at: m,
                        crossing: false,
                    },
                );
                break;
            }
        }
    }
    let mut found: Vec<(u32, WaterHit)> = found.into_iter().collect();
    found.sort_by_key(|(k, _)| *k);
    for (
        wi,
        WaterHit {
            water: k,
            at,
            crossing,
        },
    ) in found
    {
        let verb = if crossing { "crosses" } else { "lies in" };
        let id = ways[wi as usize].id;
        let message = if sink.lenient {
            format!(
                "'{id}' {verb} water '{}' at {} without a bridge or tunnel tag: check it in OpenStreetMap",
                polys[k].0,
                fmt_lonlat(at)
            )
        } else {
            format!(
                "{verb} water '{}' at {}: only bridges and tunnels may; reroute it or set kind to bridge",
                polys[k].0,
                fmt_lonlat(at)
            )
        };
        sink.push(
            FINDING_WATER,
            rule::WATER,
            vec![id.to_string(), polys[k].0.to_string()],
            at,
            message,
        );
    }
}

/// The water feature `p` lies inside, by the parity of edges crossed by a ray to the east.
fn inside_water(edges: &RTree<WaterEdge>, p: Coord<f64>, max_x: f64) -> Option<usize> {
    let ray = AABB::from_corners([p.x, p.y], [max_x.max(p.x), p.y]);
    let mut parity: HashMap<usize, bool> = HashMap::new();
    for e in edges.locate_in_envelope_intersecting(&ray) {
        let (a, b) = (e.geom().from, e.geom().to);
        // Half-open rule so a ray through a vertex counts it once.
        if (a[1] > p.y) != (b[1] > p.y) {
            let x = a[0] + (p.y - a[1]) * (b[0] - a[0]) / (b[1] - a[1]);
            if x > p.x {
                *parity.entry(e.data).or_default() ^= true;
            }
        }
    }
    let mut inside: Vec<usize> = parity
        .into_iter()
        .filter(|(_, odd)| *odd)
        .map(|(k, _)| k)
        .collect();
    inside.sort_unstable();
    inside.first().copied()
}

fn elevation(ctx: &Ctx<'_>, out: &mut Vec<Violation>) {
    let Some(features) = ctx.ds.layer(LayerId::Walkways) else {
        return;
    };
    let with: HashSet<&str> = features
        .iter()
        .filter(|f| f.elevation_m.is_some())
        .map(|f| f.id.as_str())
        .collect();
    let required = ctx
        .ds
        .manifest
        .as_ref()
        .is_some_and(|m| m.walkway_elevations_required);
    if with.is_empty() && !required {
        return;
    }
    let (lo, hi) = ELEVATION_RANGE_M;
    for f in features {
        match &f.elevation_m {
            None if !required => {}
            None => out.push(Violation::feature(
                LayerId::Walkways,
                &f.id,
                rule::ELEVATION,
                format!(
                    "has no elevations while manifest.json requires them ({} other walkways have them): give every position a third value (metres)",
                    with.len()
                ),
            )),
            Some(z) => {
                if let Some((i, v)) = z.iter().enumerate().find(|(_, v)| !v.is_finite() || **v < lo || **v > hi) {
                    out.push(Violation::feature(
                        LayerId::Walkways,
                        &f.id,
                        rule::ELEVATION,
                        format!("elevation {v} m at position {i} is outside {lo}..{hi} m"),
                    ));
                }
                let n = super::n_coords(&f.geometry);
                if z.len() != n {
                    out.push(Violation::feature(
                        LayerId::Walkways,
                        &f.id,
                        rule::ELEVATION,
                        format!("has {} elevations for {n} positions", z.len()),
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn way<'a>(id: &'a str, coords: &'a [Coord<f64>]) -> Way<'a> {
        Way {
            id,
            bridge: false,
            grade: Grade::default(),
            coords,
        }
    }

    fn c(x: f64, y: f64) -> Coord<f64> {
        Coord { x, y }
    }

    #[test]
    fn counts_components() {
        let a = [c(0.0, 0.0), c(1.0, 0.0)];
        let b = [c(1.0, 0.0), c(1.0, 1.0)];
        let d = [c(5.0, 5.0), c(6.0, 5.0)];
        let mut out = Vec::new();
        assert_eq!(connectivity(&[way("a", &a), way("b", &b)], &mut out), 1);
        assert!(out.is_empty());
        assert_eq!(
            connectivity(&[way("a", &a), way("b", &b), way("d", &d)], &mut out),
            2
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].feature_id.as_deref(), Some("d"));
    }

    #[test]
    fn noding_flags_crossings_and_t_junctions_only() {
        let h = [c(0.0, 0.0), c(2.0, 0.0)];
        let v_cross = [c(1.0, -1.0), c(1.0, 1.0)];
        let v_touch = [c(1.5, 0.0), c(1.5, 1.0)];
        let v_node = [c(2.0, 0.0), c(2.0, 1.0)];
        for (other, expected) in [(&v_cross, 1), (&v_touch, 1), (&v_node, 0)] {
            let ways = [way("h", &h), way("v", other)];
            let (mut out, mut findings) = (Vec::new(), Vec::new());
            let mut sink = Sink {
                violations: &mut out,
                findings: &mut findings,
                lenient: false,
            };
            noding(&ways, &segment_tree(&ways, |_| true), &mut sink);
            assert_eq!(out.len(), expected, "{other:?}: {out:?}");
            assert!(findings.is_empty());
        }
    }

    #[test]
    fn grade_reads_properties_and_level_zero_is_the_ground() {
        let f = |props: serde_json::Value| crate::model::Feature {
            id: "w".into(),
            geometry: Geometry::LineString(LineString::from(vec![(0.0, 0.0), (1.0, 0.0)])),
            elevation_m: None,
            properties: (props.as_object().cloned().unwrap_or_default()).into(),
        };
        let ground = f(serde_json::json!({"kind": "footway", "level": "0"}));
        assert_eq!(Grade::of(&ground), Grade::default());
        let tunnel = f(serde_json::json!({"kind": "footway", "tunnel": "yes", "layer": -1}));
        assert_eq!(
            Grade::of(&tunnel),
            Grade {
                tunnel: true,
                layer: -1,
                level: None
            }
        );
        let not_tunnel = f(serde_json::json!({"kind": "footway", "tunnel": "no"}));
        assert_eq!(Grade::of(&not_tunnel), Grade::default());
    }

    #[test]
    fn grade_separated_crossings_are_no_problem_and_osm_crossings_are_findings() {
        let h = [c(0.0, 0.0), c(2.0, 0.0)];
        let v = [c(1.0, -1.0), c(1.0, 1.0)];
        let tunnel = Grade {
            tunnel: true,
            ..Grade::default()
        };
        let upper = Grade {
            layer: 1,
            ..Grade::default()
        };
        let indoor = Grade {
            level: Some("1"),
            ..Grade::default()
        };
        for (grade, lenient, violations, findings) in [
            (Grade::default(), false, 1, 0),
            (Grade::default(), true, 0, 1),
            (tunnel, false, 0, 0),
            (tunnel, true, 0, 0),
            (upper, false, 0, 0),
            (upper, true, 0, 0),
            (indoor, false, 0, 0),
        ] {
            let mut under = way("v", &v);
            under.grade = grade;
            let ways = [way("h", &h), under];
            let (mut out, mut found) = (Vec::new(), Vec::new());
            let mut sink = Sink {
                violations: &mut out,
                findings: &mut found,
                lenient,
            };
            noding(&ways, &segment_tree(&ways, |_| true), &mut sink);
            assert_eq!(
                (out.len(), found.len()),
                (violations, findings),
                "{grade:?} lenient={lenient}"
            );
            if let Some(f) = found.first() {
                assert_eq!(f.kind, FINDING_CROSSING);
                assert_eq!(f.features, ["h", "v"]);
                assert_eq!(f.at, c(1.0, 0.0));
            }
        }
    }

    #[test]
    fn ray_casting_finds_inside() {
        let sq: Vec<WaterEdge> = [(0.0, 0.0), (4.0, 0.0), (4.0, 4.0), (0.0, 4.0), (0.0, 0.0)]
            .windows(2)
            .map(|w| LineEntry::new(RLine::new([w[0].0, w[0].1], [w[1].0, w[1].1]), 7))
            .collect();
        let t = RTree::bulk_load(sq);
        assert_eq!(inside_water(&t, c(2.0, 2.0), 4.0), Some(7));
        assert_eq!(inside_water(&t, c(5.0, 2.0), 4.0), None);
        assert_eq!(inside_water(&t, c(-1.0, 2.0), 4.0), None);
        // Through a vertex's height: counted once.
        assert_eq!(inside_water(&t, c(2.0, 0.0 + 1e-12), 4.0), Some(7));
    }
}
