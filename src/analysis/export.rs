//! Reports as GeoJSON (for maps and QGIS) and CSV (for Excel): units with their figures.
//! Shared by the HTTP API and `servicemap report`.

use std::collections::HashMap;

use geo::{Geometry, LineString, Polygon};
use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Value, json};

use crate::model::geojson::round7;
use crate::model::{Crs, Feature, LayerId};
use crate::store::Dataset;
use crate::store::write::geometry_json;

use super::audit::{CategoryResult, UnitAudit};
use super::coverage::{Level, SUBDISTRICT, UnitCoverage};
use super::planner::CoverageReport;

/// The layer holding the units of a level.
#[must_use]
pub fn layer_of(level: Level) -> LayerId {
    match level {
        Level::Microgrid => LayerId::Microgrids,
        Level::Grid => LayerId::Grids,
        Level::Community => LayerId::Communities,
        Level::Subdistrict => LayerId::Boundary,
    }
}

/// Unit features of a level by id (the boundary's single feature stands for the subdistrict).
fn units_by_id(ds: &Dataset, level: Level) -> HashMap<&str, &Feature> {
    let feats = ds.layer(layer_of(level)).unwrap_or_default();
    if level == Level::Subdistrict {
        return feats
            .first()
            .map(|f| (SUBDISTRICT, f))
            .into_iter()
            .collect();
    }
    feats.iter().map(|f| (f.id.as_str(), f)).collect()
}

fn geometry_in(f: Option<&Feature>, crs: Crs) -> Value {
    f.map_or(Value::Null, |f| {
        geometry_json(&crs.geometry_from_wgs84(&f.geometry), None)
    })
}

/// Features of the units of a level: the unit's polygon (in `crs`) with `properties` plus its name.
fn unit_features<'a>(
    ds: &Dataset,
    level: Level,
    crs: Crs,
    rows: impl Iterator<Item = (&'a str, Map<String, Value>)>,
) -> Vec<Value> {
    let units = units_by_id(ds, level);
    rows.map(|(id, mut p)| {
        let f = units.get(id).copied();
        if let Some(name) = f.and_then(|f| f.str_prop("name")) {
            p.insert("name".into(), json!(name));
        }
        json!({ "type": "Feature", "id": id, "geometry": geometry_in(f, crs), "properties": p })
    })
    .collect()
}

/// A share rounded to 4 decimals (0.01 percentage points) for reading.
fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Properties of a unit's coverage (rounded for reading), in the order they are written;
/// `name` (the unit's, from its layer) last and only when known.
#[derive(Debug, Serialize)]
pub struct CoverageProps<'a> {
    pub unit: &'a str,
    pub buildings: u64,
    pub households: u64,
    pub households_covered: u64,
    pub share: Option<f64>,
    pub residents: u64,
    pub residents_covered: u64,
    pub residents_60plus: u64,
    pub residents_60plus_covered: u64,
    pub children_0_6: u64,
    pub children_0_6_covered: u64,
    pub median_walk_min: Option<f64>,
    pub p90_walk_min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
}

impl<'a> CoverageProps<'a> {
    #[must_use]
    pub fn of(u: &'a UnitCoverage, name: Option<&'a str>) -> CoverageProps<'a> {
        let r2 = |x: f64| (x * 100.0).round() / 100.0;
        CoverageProps {
            unit: &u.unit,
            buildings: u.buildings,
            households: u.households,
            households_covered: u.households_covered,
            share: u.share.map(round4),
            residents: u.residents,
            residents_covered: u.residents_covered,
            residents_60plus: u.residents_60plus,
            residents_60plus_covered: u.residents_60plus_covered,
            children_0_6: u.children_0_6,
            children_0_6_covered: u.children_0_6_covered,
            median_walk_min: u.median_walk_min.map(r2),
            p90_walk_min: u.p90_walk_min.map(r2),
            name,
        }
    }
}

/// Properties of a unit's coverage (rounded for reading).
#[must_use]
pub fn coverage_properties(u: &UnitCoverage) -> Map<String, Value> {
    obj(serde_json::to_value(CoverageProps::of(u, None)).unwrap_or(Value::Null))
}

/// A unit's geometry written straight from the layer (converted to `crs`, 7 decimals), with
/// no intermediate `Value` tree or converted copy of the polygon.
struct UnitGeometry<'a>(&'a Geometry<f64>, Crs);

/// Positions of a ring, converted and rounded as [`geometry_json`] writes them.
struct Ring<'a>(&'a LineString<f64>, Crs);

impl Serialize for Ring<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.0.len()))?;
        for c in &self.0.0 {
            let (x, y) = self.1.from_wgs84(c.x, c.y);
            seq.serialize_element(&[round7(x), round7(y)])?;
        }
        seq.end()
    }
}

struct Rings<'a>(&'a Polygon<f64>, Crs);

impl Serialize for Rings<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = self.0;
        let mut seq = s.serialize_seq(Some(1 + p.interiors().len()))?;
        seq.serialize_element(&Ring(p.exterior(), self.1))?;
        for r in p.interiors() {
            seq.serialize_element(&Ring(r, self.1))?;
        }
        seq.end()
    }
}

impl Serialize for UnitGeometry<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let crs = self.1;
        match self.0 {
            Geometry::Polygon(p) => {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("type", "Polygon")?;
                m.serialize_entry("coordinates", &Rings(p, crs))?;
                m.end()
            }
            Geometry::MultiPolygon(mp) => {
                let polys: Vec<Rings<'_>> = mp.0.iter().map(|p| Rings(p, crs)).collect();
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("type", "MultiPolygon")?;
                m.serialize_entry("coordinates", &polys)?;
                m.end()
            }
            // Units are polygons; anything else goes the general way.
            other => geometry_json(&crs.geometry_from_wgs84(other), None).serialize(s),
        }
    }
}

/// One unit of a coverage answer.
#[derive(Serialize)]
struct CoverageFeature<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a str,
    geometry: Option<UnitGeometry<'a>>,
    properties: CoverageProps<'a>,
}

/// A coverage report as a FeatureCollection, written by serde as it goes (issue 15: the
/// answer was built as a `serde_json::Value` tree, then written).
#[derive(Serialize)]
pub struct CoverageCollection<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    category: &'a str,
    minutes: f64,
    profile: &'a str,
    level: &'a str,
    coords: &'a str,
    summary: CoverageProps<'a>,
    features: Vec<CoverageFeature<'a>>,
    /// The HTTP answer's `community` and `numberReturned` (the CLI's file has neither).
    #[serde(flatten)]
    paging: Option<Paging<'a>>,
}

#[derive(Serialize)]
struct Paging<'a> {
    /// The community asked for, null when none.
    community: Option<&'a str>,
    #[serde(rename = "numberReturned")]
    number_returned: usize,
}

impl<'a> CoverageCollection<'a> {
    /// The report's units with their polygons from `ds` (in `crs`).
    #[must_use]
    pub fn new(r: &'a CoverageReport, ds: &'a Dataset, crs: Crs) -> CoverageCollection<'a> {
        let units = units_by_id(ds, r.level);
        let features = r
            .units
            .iter()
            .map(|u| {
                let f = units.get(u.unit.as_str()).copied();
                CoverageFeature {
                    kind: "Feature",
                    id: &u.unit,
                    geometry: f.map(|f| UnitGeometry(&f.geometry, crs)),
                    properties: CoverageProps::of(u, f.and_then(|f| f.str_prop("name"))),
                }
            })
            .collect();
        CoverageCollection {
            kind: "FeatureCollection",
            category: &r.category,
            minutes: r.minutes,
            profile: r.profile,
            level: r.level.as_str(),
            coords: crs.as_str(),
            summary: CoverageProps::of(&r.total, None),
            features,
            paging: None,
        }
    }

    /// Every unit's geometry `null` (`skipGeometry=true`): for a client that reads the figures
    /// only, the polygons are nearly all of the bytes (the subdistrict's outline is ~18 kB).
    #[must_use]
    pub fn without_geometry(mut self) -> CoverageCollection<'a> {
        for f in &mut self.features {
            f.geometry = None;
        }
        self
    }

    /// With the HTTP answer's `community` (the one asked for, or null) and `numberReturned`.
    #[must_use]
    pub fn with_paging(mut self, community: Option<&'a str>) -> CoverageCollection<'a> {
        self.paging = Some(Paging {
            community,
            number_returned: self.features.len(),
        });
        self
    }
}

/// A coverage report as a FeatureCollection of units (geometry in `crs`), with the whole
/// area's figures in `summary`.
#[must_use]
pub fn coverage_geojson(r: &CoverageReport, ds: &Dataset, crs: Crs) -> Value {
    serde_json::to_value(CoverageCollection::new(r, ds, crs)).unwrap_or(Value::Null)
}

fn csv_field(v: &Value) -> String {
    let s = match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// Rows of objects as CSV with the given columns (UTF-8 with BOM, so Excel reads Chinese names).
#[must_use]
pub fn csv(columns: &[&str], rows: &[Map<String, Value>]) -> String {
    let mut s = String::from("\u{feff}");
    s.push_str(&columns.join(","));
    s.push('\n');
    for r in rows {
        let line: Vec<String> = columns
            .iter()
            .map(|c| csv_field(r.get(*c).unwrap_or(&Value::Null)))
            .collect();
        s.push_str(&line.join(","));
        s.push('\n');
    }
    s
}

/// Column order of coverage CSV.
pub const COVERAGE_COLUMNS: [&str; 14] = [
    "unit",
    "name",
    "buildings",
    "households",
    "households_covered",
    "share",
    "residents",
    "residents_covered",
    "residents_60plus",
    "residents_60plus_covered",
    "children_0_6",
    "children_0_6_covered",
    "median_walk_min",
    "p90_walk_min",
];

/// A coverage report as CSV: one row per unit, then the total.
#[must_use]
pub fn coverage_csv(r: &CoverageReport, ds: &Dataset) -> String {
    let units = units_by_id(ds, r.level);
    let mut rows: Vec<Map<String, Value>> = r
        .units
        .iter()
        .map(|u| {
            let mut p = coverage_properties(u);
            if let Some(name) = units.get(u.unit.as_str()).and_then(|f| f.str_prop("name")) {
                p.insert("name".into(), json!(name));
            }
            p
        })
        .collect();
    let mut total = coverage_properties(&r.total);
    total.insert("unit".into(), json!("TOTAL"));
    rows.push(total);
    csv(&COVERAGE_COLUMNS, &rows)
}

/// Properties of a unit's audit.
#[must_use]
pub fn audit_properties(a: &UnitAudit) -> Map<String, Value> {
    obj(json!({
        "unit": a.unit,
        "required": a.required,
        "met": a.met,
        "compliance_rate": (a.compliance_rate * 10_000.0).round() / 10_000.0,
        "missing": a.missing,
        "categories": a.categories.iter().map(|c| Value::Object(category_result(c))).collect::<Vec<_>>(),
    }))
}

/// One category's result in a unit, rounded for reading.
fn category_result(c: &CategoryResult) -> Map<String, Value> {
    obj(json!({
        "category": c.category,
        "tier_min": c.tier_min,
        "threshold_walk_min": (c.threshold_walk_min * 100.0).round() / 100.0,
        "households": c.households,
        "households_covered": c.households_covered,
        "share": c.share.map(round4),
        "met": c.met,
    }))
}

/// An audit as a FeatureCollection of units.
#[must_use]
pub fn audit_geojson(
    audits: &[UnitAudit],
    summary: &UnitAudit,
    level: Level,
    standard: &str,
    ds: &Dataset,
    crs: Crs,
) -> Value {
    let features = unit_features(
        ds,
        level,
        crs,
        audits
            .iter()
            .map(|a| (a.unit.as_str(), audit_properties(a))),
    );
    json!({
        "type": "FeatureCollection",
        "standard": standard,
        "level": level.as_str(),
        "coords": crs.as_str(),
        "summary": audit_properties(summary),
        "features": features,
    })
}

/// An audit as CSV: one row per unit and category.
#[must_use]
pub fn audit_csv(audits: &[UnitAudit], ds: &Dataset, level: Level) -> String {
    let units = units_by_id(ds, level);
    let mut rows = Vec::new();
    for a in audits {
        let name = units
            .get(a.unit.as_str())
            .and_then(|f| f.str_prop("name"))
            .unwrap_or("");
        for c in &a.categories {
            let mut row = category_result(c);
            row.insert("unit".into(), json!(a.unit));
            row.insert("name".into(), json!(name));
            row.insert(
                "compliance_rate".into(),
                json!((a.compliance_rate * 10_000.0).round() / 10_000.0),
            );
            rows.push(row);
        }
    }
    csv(
        &[
            "unit",
            "name",
            "compliance_rate",
            "category",
            "tier_min",
            "threshold_walk_min",
            "households",
            "households_covered",
            "share",
            "met",
        ],
        &rows,
    )
}

/// Gaps as one FeatureCollection a map can draw: first every micro-grid in scope
/// (`kind: "microgrid"`, Polygons, ranked by uncovered households, with their households and
/// covered `share`, `null` where nobody lives), then the uncovered buildings
/// (`kind: "building"`, Points). `buildings` are the planner's buildings the report indexes.
///
/// The whole answer as one tree; [`GapsGeojson`] writes the same bytes a few features at a
/// time (what `/gaps` streams) and this form is its oracle.
#[must_use]
pub fn gaps_geojson(
    r: &super::planner::GapReport,
    buildings: &[crate::model::Building],
    ds: &Dataset,
    crs: Crs,
) -> Value {
    let g = GapsGeojson::new(r, buildings, ds, crs);
    let mut v = g.head_value();
    let features: Vec<Value> = (0..g.len()).filter_map(|i| g.feature(i)).collect();
    if let Value::Object(m) = &mut v {
        m.insert("features".into(), Value::Array(features));
    }
    v
}

/// The gaps FeatureCollection of [`gaps_geojson`], rendered piecewise so the answer never
/// exists whole in memory: one feature's tree at a time, serialised to bytes. A gaps answer
/// carries every micro-grid polygon, and as a `Value` tree it took ~30 MB per request (4 at
/// once lifted resident memory by ~121 MB under the soak mix).
pub struct GapsGeojson<'a> {
    r: &'a super::planner::GapReport,
    buildings: &'a [crate::model::Building],
    units: HashMap<&'a str, &'a Feature>,
    crs: Crs,
}

impl<'a> GapsGeojson<'a> {
    #[must_use]
    pub fn new(
        r: &'a super::planner::GapReport,
        buildings: &'a [crate::model::Building],
        ds: &'a Dataset,
        crs: Crs,
    ) -> Self {
        Self {
            r,
            buildings,
            units: units_by_id(ds, Level::Microgrid),
            crs,
        }
    }

    /// Feature slots: micro-grids in rank order, then uncovered buildings.
    #[must_use]
    pub fn len(&self) -> usize {
        self.r.microgrids.len() + self.r.buildings.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Everything but `features` (the last member), with the summary over all buildings.
    fn head_value(&self) -> Value {
        let r = self.r;
        let (mut hh, mut res, mut res60) = (0u64, 0u64, 0u64);
        for b in r
            .buildings
            .iter()
            .filter_map(|&(i, _)| self.buildings.get(i))
        {
            hh += b.households;
            res += b.residents;
            res60 += b.residents_60plus;
        }
        json!({
            "type": "FeatureCollection",
            "category": r.category,
            "minutes": r.minutes,
            "profile": r.profile,
            "community": r.community,
            "coords": self.crs.as_str(),
            "summary": {
                "uncovered_buildings": r.buildings.len(),
                "uncovered_households": hh,
                "uncovered_residents": res,
                "uncovered_residents_60plus": res60,
                "microgrids": r.microgrids.iter().filter(|g| g.uncovered_buildings > 0).count(),
            },
        })
    }

    /// The bytes before the first feature: the head object, opened up to `"features":[`.
    #[must_use]
    pub fn head(&self) -> Vec<u8> {
        let mut out = self.head_value().to_string().into_bytes();
        // `features` is the last member (insertion order): reopen the object for it.
        out.pop();
        out.extend_from_slice(b",\"features\":[");
        out
    }

    /// The bytes after the last feature.
    pub const TAIL: &'static [u8] = b"]}";

    /// Feature slot `i` (`None` for a building index the planner does not hold).
    #[must_use]
    pub fn feature(&self, i: usize) -> Option<Value> {
        let (r, crs) = (self.r, self.crs);
        if let Some(g) = r.microgrids.get(i) {
            let f = self.units.get(g.unit.as_str()).copied();
            let mut p = obj(json!({
                "kind": "microgrid",
                "rank": i + 1,
                "unit": g.unit,
                "households": g.households,
                "share": g.share.map(round4),
                "uncovered_buildings": g.uncovered_buildings,
                "uncovered_households": g.uncovered_households,
                "uncovered_residents": g.uncovered_residents,
                "uncovered_residents_60plus": g.uncovered_residents_60plus,
            }));
            if let Some(name) = f.and_then(|f| f.str_prop("name")) {
                p.insert("name".into(), json!(name));
            }
            return Some(
                json!({ "type": "Feature", "id": g.unit, "geometry": geometry_in(f, crs), "properties": p }),
            );
        }
        let &(bi, walk_min) = r.buildings.get(i - r.microgrids.len())?;
        let b = self.buildings.get(bi)?;
        let g = geo::Geometry::Point(crs.geometry_from_wgs84(&b.position));
        Some(json!({
            "type": "Feature",
            "id": b.id,
            "geometry": geometry_json(&g, None),
            "properties": {
                "kind": "building",
                "households": b.households,
                "residents": b.residents,
                "residents_60plus": b.residents_60plus,
                "children_0_6": b.children_0_6,
                "walk_min": walk_min.map(|m| (m * 100.0).round() / 100.0),
                "microgrid": b.microgrid,
                "grid": b.grid,
                "community": b.community,
            },
        }))
    }

    /// Append feature slots from `*next` on until `out` holds at least `min_bytes` or every
    /// slot is written; `*any` says whether a feature precedes (so a comma goes first).
    pub fn write_features(
        &self,
        next: &mut usize,
        any: &mut bool,
        out: &mut Vec<u8>,
        min_bytes: usize,
    ) {
        while *next < self.len() && out.len() < min_bytes {
            if let Some(f) = self.feature(*next) {
                if *any {
                    out.push(b',');
                }
                *any = true;
                // Writing to a Vec cannot fail, and a Value always serialises.
                let _ = serde_json::to_writer(&mut *out, &f);
            }
            *next += 1;
        }
    }
}

/// Suggested sites as a FeatureCollection of ranked Points.
#[must_use]
pub fn siting_geojson(sites: &[super::planner::Site], crs: Crs) -> Value {
    let features: Vec<Value> = sites
        .iter()
        .map(|s| {
            let g = geo::Geometry::Point(crs.geometry_from_wgs84(&geo::Point::new(s.lon, s.lat)));
            json!({
                "type": "Feature",
                "id": format!("site-{}", s.rank),
                "geometry": geometry_json(&g, None),
                "properties": {
                    "rank": s.rank,
                    "candidate": s.candidate,
                    "added_weight": s.added_weight,
                    "weight": s.weight,
                    "added_households": s.added_households,
                    "added_residents": s.added_residents,
                    "buildings": s.buildings,
                },
            })
        })
        .collect();
    json!({ "type": "FeatureCollection", "coords": crs.as_str(), "features": features })
}
