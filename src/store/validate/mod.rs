//! Validation of a data directory: every rule of `docs/data-format.md`, fast enough to run at
//! service start-up (the service refuses to start on a broken directory).
//!
//! One rule group per file. Geometry is projected once to local metres ([`LocalProj`]);
//! candidate pairs come from bulk-loaded R-trees so nothing is quadratic in the number of
//! features. Rules that need a layer the directory does not have are skipped.

mod buildings;
mod geometry;
mod network;
pub mod places;
mod refs;
mod rollup;
mod table;
mod tiling;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use geo::{Area, BoundingRect, Coord, CoordsIter, Geometry, Polygon, Rect};

use crate::model::{Feature, LayerId, LocalProj};

use super::Dataset;

/// The rule codes a [`Violation`] carries.
pub mod rule {
    /// Geometry type of the layer, closed rings with ≥ 4 positions, no self-intersection,
    /// RFC 7946 winding.
    pub const GEOMETRY: &str = "geometry";
    /// Required properties present with the right type (data-format table).
    pub const PROPERTIES: &str = "properties";
    /// A `community`/`grid`/`microgrid`/`compound` property names an existing feature, and
    /// the hierarchy agrees (a micro-grid's community is its grid's community).
    pub const IDS: &str = "ids";
    /// Feature counts match `manifest.json`'s `expected_counts`.
    pub const COUNTS: &str = "counts";
    /// Communities tile the boundary, grids their community, micro-grids their grid.
    pub const TILING: &str = "tiling";
    /// Buildings, facilities and compounds lie in the areas they name.
    pub const CONTAINMENT: &str = "containment";
    /// Building figures sum to their micro-grid's, grid's and community's; 60+ ≤ residents;
    /// households ≤ residents.
    pub const ROLLUP: &str = "rollup";
    /// Grid households within the manifest's `grid_households` range.
    pub const GRID_HOUSEHOLDS: &str = "grid_households";
    /// Facility categories exist in `categories.json`.
    pub const CATEGORY: &str = "category";
    /// The walkways form one connected network.
    pub const CONNECTIVITY: &str = "connectivity";
    /// Walkways cross only at shared vertices unless grade-separated (bridge, tunnel, `layer`,
    /// `level`).
    pub const NODING: &str = "noding";
    /// Only bridges and tunnels cross or lie in water.
    pub const WATER: &str = "water";
    /// Walkway elevations: finite, within −100..9000 m, one per position; on every walkway when
    /// `manifest.json` sets `walkway_elevations_required`.
    pub const ELEVATION: &str = "elevation";
    /// Every named place of facts.md inside the boundary, in its community, and within 50 m
    /// of its compound; only for the modelled dataset (`manifest.json` `generator`).
    pub const NAMED_PLACES: &str = "named_places";
    /// No two building footprints share ground.
    pub const BUILDING_OVERLAP: &str = "building_overlap";
    /// A building that names a compound stands inside it (every vertex of its footprint).
    pub const BUILDING_IN_COMPOUND: &str = "building_in_compound";
}

/// One broken rule: which layer, which feature, which rule, and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    pub layer: String,
    pub feature_id: Option<String>,
    pub rule: &'static str,
    pub message: String,
}

impl Violation {
    fn new(
        layer: impl fmt::Display,
        feature_id: Option<&str>,
        rule: &'static str,
        message: String,
    ) -> Self {
        Violation {
            layer: layer.to_string(),
            feature_id: feature_id.map(str::to_string),
            rule,
            message,
        }
    }

    fn feature(layer: LayerId, id: &str, rule: &'static str, message: String) -> Self {
        Violation::new(layer, Some(id), rule, message)
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.feature_id {
            Some(id) => write!(
                f,
                "[{}] {} feature '{}': {}",
                self.rule, self.layer, id, self.message
            ),
            None => write!(f, "[{}] {}: {}", self.rule, self.layer, self.message),
        }
    }
}

/// A data-quality finding: something a real-world source (an OpenStreetMap import) gets wrong
/// that the service can live with, so it is reported, never a reason to refuse the data.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// `crossing_without_shared_node` or `walkway_in_water`.
    pub kind: &'static str,
    pub layer: String,
    /// The features involved: the two walkways of a crossing; the walkway and the water.
    pub features: Vec<String>,
    /// Where, WGS84 (x = lon, y = lat).
    pub at: Coord<f64>,
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}: {}", self.kind, self.layer, self.message)
    }
}

/// What `validate` found: the counts table, every violation and every data-quality finding.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// (figure, value) rows, e.g. ("grids", "214").
    pub counts: Vec<(String, String)>,
    pub violations: Vec<Violation>,
    /// Only in directories that follow OpenStreetMap's rules (`manifest.json` `origin`).
    pub findings: Vec<Finding>,
}

impl Report {
    /// The counts as a Markdown table with aligned columns (readable in a terminal too);
    /// numbers are right-aligned.
    #[must_use]
    pub fn render_table(&self) -> String {
        table::render(&self.counts)
    }

    /// The findings as a GeoJSON FeatureCollection of points (what `validate --report`
    /// writes): properties `kind`, `layer`, `features` (ids) and `message`.
    #[must_use]
    pub fn findings_geojson(&self) -> serde_json::Value {
        let round = |v: f64| (v * 1e7).round() / 1e7;
        let features: Vec<serde_json::Value> = self
            .findings
            .iter()
            .map(|f| {
                serde_json::json!({
                    "type": "Feature",
                    "geometry": { "type": "Point", "coordinates": [round(f.at.x), round(f.at.y)] },
                    "properties": {
                        "kind": f.kind,
                        "layer": f.layer,
                        "features": f.features,
                        "message": f.message,
                    }
                })
            })
            .collect();
        serde_json::json!({ "type": "FeatureCollection", "features": features })
    }

    /// The violations of one rule, for tests and summaries.
    #[must_use]
    pub fn of_rule(&self, rule: &str) -> Vec<&Violation> {
        self.violations.iter().filter(|v| v.rule == rule).collect()
    }
}

/// Check a dataset against every rule. Never fails: every problem becomes a [`Violation`].
#[must_use]
pub fn validate(ds: &Dataset) -> Report {
    // Each stage's time goes to the debug log: start-up has a budget of 1 s in release.
    let mut stages = crate::stages::Stages::start("validate");
    let ctx = Ctx::new(ds);
    stages.lap("project");
    // The rules only read the dataset, so they run as tasks on rayon's pool (start-up time,
    // issue 15). At start-up validation runs beside the build of the indexes and the walking
    // graph, one serial task of about 30 ms CPU: the thread that validates takes the largest
    // rule first (network) and the rest in order of size, and the small tasks come last, so
    // the build's thread, once free, steals what is left instead of waiting while one
    // thread finishes a fixed half. Violations are concatenated in the rule order of a
    // sequential run, so the report (and the first violation named) is the same.
    let rule = |name: &'static str, f: &(dyn Fn(&mut Vec<Violation>) + Sync)| {
        let mut stage = crate::stages::Stages::start("validate rule");
        let mut out = Vec::new();
        f(&mut out);
        stage.lap(name);
        out
    };
    let (network, (((geometry, tiling), (refs, (containment, (buildings, rollup)))), places)) =
        rayon::join(
            || {
                let mut stage = crate::stages::Stages::start("validate rule");
                let mut out = Vec::new();
                let mut findings = Vec::new();
                let net = network::check(
                    &ctx,
                    &mut network::Sink::for_dataset(ds, &mut out, &mut findings),
                );
                stage.lap("network");
                (out, findings, net)
            },
            || {
                rayon::join(
                    || {
                        rayon::join(
                            || {
                                rayon::join(
                                    || {
                                        rule("geometry", &|out| {
                                            geometry::check(&ctx, &|_, _| true, out);
                                        })
                                    },
                                    || rule("tiling", &|out| tiling::check_tiling(&ctx, out)),
                                )
                            },
                            || {
                                rayon::join(
                                    || {
                                        rule("properties, ids, counts, categories", &|out| {
                                            refs::check_properties(&ctx, &|_, _| true, out);
                                            refs::check_ids(&ctx, &|_, _| true, out);
                                            refs::check_counts(&ctx, out);
                                            refs::check_categories(&ctx, out);
                                        })
                                    },
                                    || {
                                        rayon::join(
                                            || {
                                                rule("containment", &|out| {
                                                    tiling::check_containment(
                                                        &ctx,
                                                        &|_, _| true,
                                                        out,
                                                    );
                                                })
                                            },
                                            || {
                                                rayon::join(
                                                    || {
                                                        rule("buildings", &|out| {
                                                            buildings::check_in_compound(&ctx, out);
                                                            buildings::check_overlap(&ctx, out);
                                                        })
                                                    },
                                                    || {
                                                        rule("rollup", &|out| {
                                                            rollup::check(&ctx, out);
                                                        })
                                                    },
                                                )
                                            },
                                        )
                                    },
                                )
                            },
                        )
                    },
                    || {
                        ds.manifest
                            .as_ref()
                            .is_some_and(super::Manifest::is_generated_model)
                            .then(|| {
                                let places = &crate::generate::NAMED_PLACES;
                                (places.len(), places::check_named_places(ds, places))
                            })
                    },
                )
            },
        );
    let (network_violations, findings, net) = network;
    let mut out = geometry;
    for part in [
        refs,
        tiling,
        containment,
        buildings,
        rollup,
        network_violations,
    ] {
        out.extend(part);
    }
    stages.lap("rules (tasks on the pool)");
    let mut counts = table::counts(&ctx, &net);
    if let Some((n, wrong)) = places {
        counts.push((
            "named places in place (facts.md)".to_string(),
            format!("{} of {}", n - wrong.len(), n),
        ));
        out.extend(wrong);
    }
    Report {
        counts,
        violations: out,
        findings,
    }
}

/// The layers each rule group reads besides the per-feature rules (geometry, properties, ids,
/// counts, categories), which always run. A group none of whose layers changed gives on the
/// changed data exactly what it gave on the base data.
const TILING_READS: &[LayerId] = &AREAL;
const CONTAINMENT_READS: &[LayerId] = &[
    LayerId::Boundary,
    LayerId::Communities,
    LayerId::Grids,
    LayerId::Microgrids,
    LayerId::Compounds,
    LayerId::Buildings,
    LayerId::Facilities,
];
const ROLLUP_READS: &[LayerId] = &[
    LayerId::Buildings,
    LayerId::Communities,
    LayerId::Grids,
    LayerId::Microgrids,
];
const BUILDINGS_READS: &[LayerId] = &[LayerId::Buildings, LayerId::Compounds];
const NETWORK_READS: &[LayerId] = &[LayerId::Walkways, LayerId::Water];
const NAMED_PLACES_READS: &[LayerId] = &AREAL;

/// The violations of `ds`, which differs from the valid `base` only in the `changed` layers:
/// the same list, in the same order, as `validate(ds).violations`, at the cost of the rules
/// those layers can break (the writer's check of each edit, issue 12). Every rule group
/// that reads no changed layer is skipped: on the base data it found nothing, and its inputs
/// are the same. The one input every rule shares, the local projection, comes from the whole
/// data's extent; when a change moves it, everything is checked.
///
/// `base` must pass every rule (the writer's invariant); otherwise use [`validate`].
#[must_use]
pub fn validate_change(ds: &Dataset, base: &Dataset, changed: &[LayerId]) -> Vec<Violation> {
    // The features of the changed layers that differ from the base (new or edited).
    let mut edited: Vec<(LayerId, &str)> = Vec::new();
    for &layer in changed {
        let before: HashMap<&str, &Feature> = base
            .layer(layer)
            .unwrap_or_default()
            .iter()
            .map(|f| (f.id.as_str(), f))
            .collect();
        edited.extend(
            ds.layer(layer)
                .unwrap_or_default()
                .iter()
                .filter(|f| before.get(f.id.as_str()) != Some(f))
                .map(|f| (layer, f.id.as_str())),
        );
    }
    validate_edit(ds, &base.projection(), changed, &edited)
}

/// [`validate_change`] when the caller knows what it changed (the writer, which edits its
/// base in place): `base_projection` is the valid base's [`Dataset::projection`], `changed`
/// the layers edited (created, replaced or deleted features), `edited` the (layer, id) of
/// every created or replaced feature now in `ds` (a superset does no harm).
#[must_use]
pub fn validate_edit(
    ds: &Dataset,
    base_projection: &LocalProj,
    changed: &[LayerId],
    edited: &[(LayerId, &str)],
) -> Vec<Violation> {
    if ds.projection() != *base_projection {
        return validate(ds).violations;
    }
    let reads = |layers: &[LayerId]| changed.iter().any(|c| layers.contains(c));
    // Each stage's time goes to the debug log (the writer's swap budget, issue 12).
    let mut stages = crate::stages::Stages::start("validate_change");
    let ctx = Ctx::new(ds);
    stages.lap("project");
    // Every feature not edited passed the per-feature rules on the base and is the same now.
    let mut by_layer: HashMap<LayerId, HashSet<&str>> = HashMap::new();
    for &(layer, id) in edited {
        by_layer.entry(layer).or_default().insert(id);
    }
    let edited = by_layer;
    let is_edited = |layer: LayerId, f: &Feature| {
        edited
            .get(&layer)
            .is_some_and(|ids| ids.contains(f.id.as_str()))
    };
    let mut out = Vec::new();
    geometry::check(&ctx, &is_edited, &mut out);
    stages.lap("geometry");
    refs::check_properties(&ctx, &is_edited, &mut out);
    // A reference of an unchanged feature can break only when a layer it may name changed
    // (a grid deleted); otherwise only the edited features' references need a look.
    if reads(&refs::REFERABLE) {
        refs::check_ids(&ctx, &|_, _| true, &mut out);
    } else {
        refs::check_ids(&ctx, &is_edited, &mut out);
    }
    refs::check_counts(&ctx, &mut out);
    refs::check_categories(&ctx, &mut out);
    stages.lap("properties, ids, counts, categories");
    if reads(TILING_READS) {
        tiling::check_tiling(&ctx, &mut out);
        stages.lap("tiling");
    }
    if reads(CONTAINMENT_READS) {
        // Each feature against the areas it names: with those areas unchanged, only the
        // edited features can newly lie outside.
        if reads(&[LayerId::Communities, LayerId::Grids, LayerId::Microgrids]) {
            tiling::check_containment(&ctx, &|_, _| true, &mut out);
        } else {
            tiling::check_containment(&ctx, &is_edited, &mut out);
        }
        stages.lap("containment");
    }
    if reads(BUILDINGS_READS) {
        buildings::check_in_compound(&ctx, &mut out);
        buildings::check_overlap(&ctx, &mut out);
    }
    if reads(ROLLUP_READS) {
        rollup::check(&ctx, &mut out);
        stages.lap("rollup");
    }
    if reads(NETWORK_READS) {
        let mut findings = Vec::new();
        // Water unchanged: only the edited walkways can newly cross water or another
        // walkway (connectivity and elevation stay whole-network checks).
        let only = (!changed.contains(&LayerId::Water))
            .then(|| edited.get(&LayerId::Walkways))
            .flatten();
        network::check_only(
            &ctx,
            only,
            &mut network::Sink::for_dataset(ds, &mut out, &mut findings),
        );
        stages.lap("network");
    }
    if reads(NAMED_PLACES_READS)
        && ds
            .manifest
            .as_ref()
            .is_some_and(super::Manifest::is_generated_model)
    {
        out.extend(places::check_named_places(
            ds,
            &crate::generate::NAMED_PLACES,
        ));
    }
    out
}

/// Which features a per-feature rule looks at (all, or those an edit changed).
pub(crate) type Only<'f> = dyn Fn(LayerId, &Feature) -> bool + 'f;

/// An areal feature projected to local metres.
pub(crate) struct AreaM<'a> {
    pub feature: &'a Feature,
    /// Polygon in metres (as stored: winding is checked separately, areas use `unsigned_area`).
    pub poly: Polygon<f64>,
    pub area_m2: f64,
    pub bbox: Rect<f64>,
}

/// Everything the rules share, computed once.
pub(crate) struct Ctx<'a> {
    pub ds: &'a Dataset,
    pub proj: LocalProj,
    /// Polygon features of the areal layers (boundary, communities, grids, micro-grids,
    /// compounds) in metres; features of another geometry type are left out (the geometry
    /// rule reports them).
    pub areas: BTreeMap<LayerId, Vec<AreaM<'a>>>,
    /// Layer → feature id → index into `areas[layer]`.
    pub area_index: BTreeMap<LayerId, HashMap<&'a str, usize>>,
}

const AREAL: [LayerId; 5] = [
    LayerId::Boundary,
    LayerId::Communities,
    LayerId::Grids,
    LayerId::Microgrids,
    LayerId::Compounds,
];

impl<'a> Ctx<'a> {
    fn new(ds: &'a Dataset) -> Self {
        let proj = ds.projection();
        let mut areas = BTreeMap::new();
        let mut area_index = BTreeMap::new();
        for layer in AREAL {
            let Some(features) = ds.layer(layer) else {
                continue;
            };
            let mut v = Vec::with_capacity(features.len());
            let mut idx = HashMap::with_capacity(features.len());
            for f in features {
                let Geometry::Polygon(p) = &f.geometry else {
                    continue;
                };
                let poly = proj.project(p);
                let Some(bbox) = poly.bounding_rect() else {
                    continue;
                };
                idx.insert(f.id.as_str(), v.len());
                v.push(AreaM {
                    feature: f,
                    area_m2: poly.unsigned_area(),
                    poly,
                    bbox,
                });
            }
            areas.insert(layer, v);
            area_index.insert(layer, idx);
        }
        Ctx {
            ds,
            proj,
            areas,
            area_index,
        }
    }

    /// The projected area `id` of `layer`, if the layer is present and has it as a Polygon.
    pub fn area(&self, layer: LayerId, id: &str) -> Option<&AreaM<'a>> {
        let i = *self.area_index.get(&layer)?.get(id)?;
        self.areas.get(&layer)?.get(i)
    }

    pub fn xy(&self, c: Coord<f64>) -> Coord<f64> {
        let (x, y) = self.proj.to_xy(c.x, c.y);
        Coord { x, y }
    }
}

/// Distance in metres from `p` to the nearest edge of any ring of `poly` (both in metres).
pub(crate) fn distance_to_boundary_m(poly: &Polygon<f64>, p: Coord<f64>) -> f64 {
    std::iter::once(poly.exterior())
        .chain(poly.interiors())
        .flat_map(geo::LineString::lines)
        .map(|l| point_segment_distance(p, l.start, l.end))
        .fold(f64::INFINITY, f64::min)
}

pub(crate) fn point_segment_distance(p: Coord<f64>, a: Coord<f64>, b: Coord<f64>) -> f64 {
    let d = b - a;
    let len2 = d.x * d.x + d.y * d.y;
    let t = if len2 > 0.0 {
        (((p - a).x * d.x + (p - a).y * d.y) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let q = a + d * t;
    (p.x - q.x).hypot(p.y - q.y)
}

/// Where `p` lies with respect to `poly`, allowing `tol_m` metres at the edges: true when
/// inside, on the boundary, or outside by at most `tol_m`.
pub(crate) fn covers_within(poly: &Polygon<f64>, p: Coord<f64>, tol_m: f64) -> bool {
    use geo::CoordinatePosition;
    use geo::coordinate_position::CoordPos;
    match poly.coordinate_position(&p) {
        CoordPos::Inside | CoordPos::OnBoundary => true,
        CoordPos::Outside => distance_to_boundary_m(poly, p) <= tol_m,
    }
}

/// True when `p` is inside `poly` by more than `tol_m` (not merely on or near its boundary).
pub(crate) fn strictly_inside(poly: &Polygon<f64>, p: Coord<f64>, tol_m: f64) -> bool {
    use geo::CoordinatePosition;
    use geo::coordinate_position::CoordPos;
    poly.coordinate_position(&p) == CoordPos::Inside && distance_to_boundary_m(poly, p) > tol_m
}

/// Number of positions of a geometry, for messages.
pub(crate) fn n_coords(g: &Geometry<f64>) -> usize {
    g.coords_count()
}

/// Format a figure with thousands separators: 1241 → "1,241".
pub(crate) fn group_digits(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A position in degrees for messages, 7 decimals like the files.
pub(crate) fn fmt_lonlat(c: Coord<f64>) -> String {
    format!("({:.7}, {:.7})", c.x, c.y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_digits() {
        assert_eq!(group_digits(0), "0");
        assert_eq!(group_digits(999), "999");
        assert_eq!(group_digits(1241), "1,241");
        assert_eq!(group_digits(200_000), "200,000");
        assert_eq!(group_digits(1_234_567), "1,234,567");
    }

    #[test]
    fn point_segment_distance_clamps_to_ends() {
        let a = Coord { x: 0.0, y: 0.0 };
        let b = Coord { x: 10.0, y: 0.0 };
        assert!((point_segment_distance(Coord { x: 5.0, y: 3.0 }, a, b) - 3.0).abs() < 1e-12);
        assert!((point_segment_distance(Coord { x: -3.0, y: 4.0 }, a, b) - 5.0).abs() < 1e-12);
        assert!(
            (point_segment_distance(Coord { x: 1.0, y: 1.0 }, a, a) - 2f64.sqrt()).abs() < 1e-12
        );
    }

    #[test]
    fn covers_within_allows_the_tolerance_only() {
        let sq = Polygon::new(
            geo::LineString::from(vec![(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)]),
            vec![],
        );
        assert!(covers_within(&sq, Coord { x: 5.0, y: 5.0 }, 1.0));
        assert!(covers_within(&sq, Coord { x: 10.0, y: 5.0 }, 0.0));
        assert!(covers_within(&sq, Coord { x: 10.9, y: 5.0 }, 1.0));
        assert!(!covers_within(&sq, Coord { x: 11.1, y: 5.0 }, 1.0));
        assert!(strictly_inside(&sq, Coord { x: 5.0, y: 5.0 }, 0.05));
        assert!(!strictly_inside(&sq, Coord { x: 9.99, y: 5.0 }, 0.05));
    }
}
