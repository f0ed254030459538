//! Import a city from OpenStreetMap (`.osm.pbf` or `.osm` XML) into a data directory, and
//! copy a user's own administrative layer in (`geojson`). See `docs/osm-import.md`.
//!
//! The OSM import streams the file three times, keeping only what it needs:
//! 1. relations: water/building/facility multipolygons and the ids of their member ways;
//! 2. ways: walkable highways, closed areas of interest, and those member ways (node ids only);
//! 3. nodes: coordinates (and `ele`) of the nodes those ways use, kept as a sorted
//!    `Vec<(id, lat_e7, lon_e7)>`, plus tagged nodes that are facilities.
//!
//! Memory is therefore bounded by the ways of interest and their nodes, not by the file.

pub mod geojson;
pub mod geometry;
pub mod sink;
pub mod source;
pub mod tags;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Instant;

use geo::{Coord, Geometry, LineString, Point};
use serde_json::{Map, Value, json};

use crate::model::{Feature, LayerId, WalkwayKind};
use crate::store::write::write_atomic;
use geometry::Components;
use sink::LayerWriter;
use source::{Format, Member, MemberKind, Visitor, Wants, tag};
use tags::{BuildingUse, CategoryTable, Excluded, Mapped};

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{0}: unknown file type; name it *.osm.pbf (PBF) or *.osm (XML)")]
    UnknownFormat(PathBuf),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Input(String),
    #[error("built-in table: {0}")]
    Table(String),
}

/// A lon/lat box in WGS84 degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bbox {
    pub min_lon: f64,
    pub min_lat: f64,
    pub max_lon: f64,
    pub max_lat: f64,
}

impl FromStr for Bbox {
    type Err = String;
    /// `minlon,minlat,maxlon,maxlat`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let v: Vec<f64> = s
            .split(',')
            .map(|p| p.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|_| format!("bbox '{s}': give four numbers minlon,minlat,maxlon,maxlat"))?;
        let [min_lon, min_lat, max_lon, max_lat] = v[..] else {
            return Err(format!(
                "bbox '{s}': give four numbers minlon,minlat,maxlon,maxlat"
            ));
        };
        let ok = min_lon < max_lon
            && min_lat < max_lat
            && (-180.0..=180.0).contains(&min_lon)
            && (-180.0..=180.0).contains(&max_lon)
            && (-90.0..=90.0).contains(&min_lat)
            && (-90.0..=90.0).contains(&max_lat);
        if !ok {
            return Err(format!(
                "bbox '{s}': need -180 <= minlon < maxlon <= 180 and -90 <= minlat < maxlat <= 90"
            ));
        }
        Ok(Bbox {
            min_lon,
            min_lat,
            max_lon,
            max_lat,
        })
    }
}

impl Bbox {
    fn contains_e7(&self, lat_e7: i32, lon_e7: i32) -> bool {
        self.contains(f64::from(lon_e7) / 1e7, f64::from(lat_e7) / 1e7)
    }

    fn contains(&self, lon: f64, lat: f64) -> bool {
        (self.min_lon..=self.max_lon).contains(&lon) && (self.min_lat..=self.max_lat).contains(&lat)
    }

    fn intersects(&self, r: &geo::Rect<f64>) -> bool {
        r.min().x <= self.max_lon
            && r.max().x >= self.min_lon
            && r.min().y <= self.max_lat
            && r.max().y >= self.min_lat
    }
}

/// Options of `servicemap import osm`.
#[derive(Debug, Clone, Default)]
pub struct OsmImportOptions {
    pub bbox: Option<Bbox>,
    /// Dataset name for `manifest.json`; the file name without extensions when absent.
    pub name: Option<String>,
    /// Draw progress bars (only ever on a terminal).
    pub progress: bool,
}

/// What an import read, kept and skipped.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportSummary {
    pub source: String,
    pub nodes_read: u64,
    pub ways_read: u64,
    pub relations_read: u64,
    /// OSM ways that gave at least one kept walkway segment.
    pub walkway_ways_kept: u64,
    pub walkway_segments: u64,
    /// Segments dropped because they are not connected to the largest network.
    pub dropped_disconnected_segments: u64,
    pub dropped_disconnected_m: f64,
    /// Highways not walkable, by reason (`foot=no`, `access=private`, `motor road`, `other`).
    pub excluded_highways: BTreeMap<String, u64>,
    pub facilities_by_category: BTreeMap<String, u64>,
    /// Features with a facility key (shop, amenity, ...) no rule maps, by `key=value`.
    pub unmapped_skipped: BTreeMap<String, u64>,
    pub buildings: u64,
    /// Buildings whose households came from `building:flats` rather than the estimate.
    pub buildings_with_flats: u64,
    pub households: u64,
    pub non_residential_buildings_skipped: u64,
    pub water_polygons: u64,
    /// Areas (closed ways, multipolygons) that could not be built: nodes or members missing.
    pub incomplete_areas: u64,
    pub elapsed_s: f64,
}

impl ImportSummary {
    #[must_use]
    pub fn unmapped_total(&self) -> u64 {
        self.unmapped_skipped.values().sum()
    }

    /// The summary as a Markdown table (the top ten unmapped tags listed by count).
    #[must_use]
    pub fn render_table(&self) -> String {
        let mut rows: Vec<(String, String)> = vec![
            ("source".into(), self.source.clone()),
            ("nodes read".into(), self.nodes_read.to_string()),
            ("ways read".into(), self.ways_read.to_string()),
            ("relations read".into(), self.relations_read.to_string()),
            (
                "walkway ways kept".into(),
                self.walkway_ways_kept.to_string(),
            ),
            ("walkway segments".into(), self.walkway_segments.to_string()),
            (
                "dropped disconnected segments".into(),
                format!(
                    "{} ({:.0} m)",
                    self.dropped_disconnected_segments, self.dropped_disconnected_m
                ),
            ),
        ];
        for (why, n) in &self.excluded_highways {
            rows.push((format!("highways excluded: {why}"), n.to_string()));
        }
        let fac_total: u64 = self.facilities_by_category.values().sum();
        rows.push(("facilities".into(), fac_total.to_string()));
        for (c, n) in &self.facilities_by_category {
            rows.push((format!("  {c}"), n.to_string()));
        }
        rows.push((
            "unmapped features skipped".into(),
            self.unmapped_total().to_string(),
        ));
        let mut top: Vec<(&String, &u64)> = self.unmapped_skipped.iter().collect();
        top.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (t, n) in top.into_iter().take(10) {
            rows.push((format!("  {t}"), n.to_string()));
        }
        rows.extend([
            ("buildings (residential)".into(), self.buildings.to_string()),
            (
                "  with building:flats".into(),
                self.buildings_with_flats.to_string(),
            ),
            (
                "  households (incl. estimates)".into(),
                self.households.to_string(),
            ),
            (
                "non-residential buildings skipped".into(),
                self.non_residential_buildings_skipped.to_string(),
            ),
            ("water polygons".into(), self.water_polygons.to_string()),
            (
                "incomplete areas skipped".into(),
                self.incomplete_areas.to_string(),
            ),
            ("elapsed".into(), format!("{:.1} s", self.elapsed_s)),
        ]);
        let mut s = String::from("| figure | value |\n| --- | --- |\n");
        for (k, v) in rows {
            s.push_str(&format!("| {k} | {v} |\n"));
        }
        s
    }
}

fn add_counts(a: &mut BTreeMap<String, u64>, b: BTreeMap<String, u64>) {
    for (k, n) in b {
        *a.entry(k).or_insert(0) += n;
    }
}

/// Facility-relevant tags of a feature, kept until its position is known.
#[derive(Debug, Clone, PartialEq)]
struct FacilityInfo {
    category: String,
    name: Option<String>,
    opening_hours: Option<String>,
}

/// What an area (closed way or multipolygon) is; one area may be several at once (a school
/// building is a facility and a non-residential building).
#[derive(Debug, Clone, Default, PartialEq)]
struct AreaInfo {
    facility: Option<FacilityInfo>,
    /// What the tags say about the homes of a residential building.
    building: Option<tags::BuildingTags>,
    water_name: Option<Option<String>>,
}

impl AreaInfo {
    /// Classify an area's tags; counts unmapped facility candidates and non-residential
    /// buildings into `counts`.
    fn classify(table: &CategoryTable, tags: &[(&str, &str)], counts: &mut Counts) -> AreaInfo {
        let mut info = AreaInfo::default();
        match table.classify(tags) {
            Mapped::Category(c) => info.facility = Some(facility_info(c, tags)),
            Mapped::Unmapped(t) => *counts.unmapped.entry(t).or_insert(0) += 1,
            Mapped::None => {}
        }
        match tags::building_use(tags) {
            BuildingUse::Residential { single_family } => {
                info.building = Some(tags::BuildingTags::parse(tags, single_family));
            }
            BuildingUse::NonResidential => counts.non_residential += 1,
            BuildingUse::NotABuilding => {}
        }
        if tags::is_water(tags) {
            info.water_name = Some(tags::name(tags).map(str::to_string));
        }
        info
    }

    fn is_empty(&self) -> bool {
        self.facility.is_none() && self.building.is_none() && self.water_name.is_none()
    }
}

fn facility_info(category: &str, tags: &[(&str, &str)]) -> FacilityInfo {
    FacilityInfo {
        category: category.to_string(),
        name: tags::name(tags).map(str::to_string),
        opening_hours: tag(tags, "opening_hours").map(str::to_string),
    }
}

/// Counters every pass may add to.
#[derive(Debug, Default)]
struct Counts {
    unmapped: BTreeMap<String, u64>,
    non_residential: u64,
    read: u64,
}

impl Counts {
    fn merge(&mut self, o: Counts) {
        add_counts(&mut self.unmapped, o.unmapped);
        self.non_residential += o.non_residential;
        self.read += o.read;
    }
}

// ---- pass 1: relations ----

struct RelationArea {
    id: i64,
    info: AreaInfo,
    outer: Vec<i64>,
    inner: Vec<i64>,
}

struct RelationPass<'t> {
    table: &'t CategoryTable,
    areas: Vec<RelationArea>,
    counts: Counts,
}

impl Visitor for RelationPass<'_> {
    fn wants(&self) -> Wants {
        Wants {
            nodes: false,
            ways: false,
            relations: true,
        }
    }

    fn relation(&mut self, id: i64, members: &[Member<'_>], tags: &[(&str, &str)]) {
        self.counts.read += 1;
        if tag(tags, "type") != Some("multipolygon") {
            return;
        }
        let info = AreaInfo::classify(self.table, tags, &mut self.counts);
        if info.is_empty() {
            return;
        }
        let ways = |role: &str| -> Vec<i64> {
            members
                .iter()
                .filter(|m| m.kind == MemberKind::Way && m.role == role)
                .map(|m| m.id)
                .collect()
        };
        // An empty role is an outer ring by old convention.
        let mut outer = ways("outer");
        outer.extend(ways(""));
        self.areas.push(RelationArea {
            id,
            info,
            outer,
            inner: ways("inner"),
        });
    }

    fn merge(&mut self, other: Self) {
        self.areas.extend(other.areas);
        self.counts.merge(other.counts);
    }
}

// ---- pass 2: ways ----

struct WalkWay {
    id: i64,
    kind: WalkwayKind,
    name: Option<String>,
    refs: Vec<i64>,
}

struct WayPass<'a> {
    table: &'a CategoryTable,
    /// Sorted ids of the member ways of pass 1's multipolygons.
    member_ids: &'a [i64],
    walkways: Vec<WalkWay>,
    areas: Vec<(i64, AreaInfo, Vec<i64>)>,
    members: Vec<(i64, Vec<i64>)>,
    excluded: BTreeMap<String, u64>,
    counts: Counts,
}

impl Visitor for WayPass<'_> {
    fn wants(&self) -> Wants {
        Wants {
            nodes: false,
            ways: true,
            relations: false,
        }
    }

    fn way(&mut self, id: i64, refs: &[i64], tags: &[(&str, &str)]) {
        self.counts.read += 1;
        if self.member_ids.binary_search(&id).is_ok() {
            self.members.push((id, refs.to_vec()));
        }
        match tags::walkway_kind(tags) {
            Ok(Some(kind)) => {
                let mut r = refs.to_vec();
                r.dedup();
                self.walkways.push(WalkWay {
                    id,
                    kind,
                    name: tags::name(tags).map(str::to_string),
                    refs: r,
                });
            }
            Ok(None) => {}
            Err(why) => {
                let label = match why {
                    Excluded::FootNo => "foot=no",
                    Excluded::Private => "access=private",
                    Excluded::MotorRoad => "motor road (motorway/trunk, no sidewalk)",
                    Excluded::Other => "not for walking (construction, cycleway, ...)",
                };
                *self.excluded.entry(label.to_string()).or_insert(0) += 1;
            }
        }
        let closed = refs.len() >= 4 && refs.first() == refs.last();
        // Highways are lines unless tagged `area=yes` (a market square can be a pedestrian
        // area); only areas give facilities, buildings and water.
        if closed && (tag(tags, "highway").is_none() || tag(tags, "area") == Some("yes")) {
            let info = AreaInfo::classify(self.table, tags, &mut self.counts);
            if !info.is_empty() {
                self.areas.push((id, info, refs.to_vec()));
            }
        }
    }

    fn merge(&mut self, other: Self) {
        self.walkways.extend(other.walkways);
        self.areas.extend(other.areas);
        self.members.extend(other.members);
        add_counts(&mut self.excluded, other.excluded);
        self.counts.merge(other.counts);
    }
}

// ---- pass 3: nodes ----

struct NodeFacility {
    id: i64,
    lat_e7: i32,
    lon_e7: i32,
    info: FacilityInfo,
}

struct NodePass<'a> {
    table: &'a CategoryTable,
    /// Sorted ids of every node a kept way uses.
    needed: &'a [i64],
    bbox: Option<Bbox>,
    coords: Vec<(i64, i32, i32)>,
    ele_m: Vec<(i64, f64)>,
    facilities: Vec<NodeFacility>,
    counts: Counts,
}

impl Visitor for NodePass<'_> {
    fn wants(&self) -> Wants {
        Wants {
            nodes: true,
            ways: false,
            relations: false,
        }
    }

    fn node(&mut self, id: i64, lat_e7: i32, lon_e7: i32, tags: &[(&str, &str)]) {
        self.counts.read += 1;
        if self.needed.binary_search(&id).is_ok() {
            self.coords.push((id, lat_e7, lon_e7));
            if let Some(e) = tags::ele_m(tags) {
                self.ele_m.push((id, e));
            }
        }
        if tags.is_empty() || self.bbox.is_some_and(|b| !b.contains_e7(lat_e7, lon_e7)) {
            return;
        }
        match self.table.classify(tags) {
            Mapped::Category(c) => {
                self.facilities.push(NodeFacility {
                    id,
                    lat_e7,
                    lon_e7,
                    info: facility_info(c, tags),
                });
            }
            Mapped::Unmapped(t) => *self.counts.unmapped.entry(t).or_insert(0) += 1,
            Mapped::None => {}
        }
    }

    fn merge(&mut self, other: Self) {
        self.coords.extend(other.coords);
        self.ele_m.extend(other.ele_m);
        self.facilities.extend(other.facilities);
        self.counts.merge(other.counts);
    }
}

/// Node positions by id, sorted for binary search: 16 bytes a node.
struct NodeStore {
    coords: Vec<(i64, i32, i32)>,
    ele_m: Vec<(i64, f64)>,
}

impl NodeStore {
    fn lonlat(&self, id: i64) -> Option<(f64, f64)> {
        let i = self.coords.binary_search_by_key(&id, |c| c.0).ok()?;
        let (_, lat, lon) = self.coords[i];
        Some((f64::from(lon) / 1e7, f64::from(lat) / 1e7))
    }

    fn e7(&self, id: i64) -> Option<(i32, i32)> {
        let i = self.coords.binary_search_by_key(&id, |c| c.0).ok()?;
        Some((self.coords[i].1, self.coords[i].2))
    }

    fn ele(&self, id: i64) -> Option<f64> {
        let i = self.ele_m.binary_search_by_key(&id, |c| c.0).ok()?;
        Some(self.ele_m[i].1)
    }

    fn ring(&self, refs: &[i64]) -> Option<Vec<(f64, f64)>> {
        refs.iter().map(|r| self.lonlat(*r)).collect()
    }
}

fn osm_ref(kind: char, id: i64) -> (String, String) {
    let long = match kind {
        'n' => "node",
        'w' => "way",
        _ => "relation",
    };
    (format!("osm-{kind}{id}"), format!("{long}/{id}"))
}

fn point_feature(id: String, lon: f64, lat: f64, props: Map<String, Value>) -> Feature {
    Feature {
        id,
        geometry: Geometry::Point(Point::new(lon, lat)),
        elevation_m: None,
        properties: props,
    }
}

/// The four layers being written.
struct Sinks {
    walkways: LayerWriter,
    facilities: LayerWriter,
    buildings: LayerWriter,
    water: LayerWriter,
}

/// Import an OSM file into `out` (created if needed; other files there are left alone).
pub fn import_osm(
    input: &Path,
    out: &Path,
    opts: &OsmImportOptions,
) -> Result<ImportSummary, ImportError> {
    let started = Instant::now();
    let mut summary = convert(input, out, opts)?;
    summary.elapsed_s = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// The three passes, then the layers streamed into `out`.
fn convert(
    input: &Path,
    out: &Path,
    opts: &OsmImportOptions,
) -> Result<ImportSummary, ImportError> {
    let format = Format::from_path(input)?;
    let table = CategoryTable::embedded().map_err(ImportError::Table)?;
    let mut summary = ImportSummary {
        source: input
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        ..ImportSummary::default()
    };
    let show = opts.progress;
    let t0 = Instant::now();

    let mut rels = source::scan(input, format, "1/3 relations", show, || RelationPass {
        table,
        areas: Vec::new(),
        counts: Counts::default(),
    })?;
    rels.areas.sort_by_key(|a| a.id);
    let mut member_ids: Vec<i64> = rels
        .areas
        .iter()
        .flat_map(|a| a.outer.iter().chain(&a.inner))
        .copied()
        .collect();
    member_ids.sort_unstable();
    member_ids.dedup();
    tracing::debug!(
        elapsed_s = t0.elapsed().as_secs_f64(),
        areas = rels.areas.len(),
        "pass 1: relations"
    );

    let mut ways = source::scan(input, format, "2/3 ways", show, || WayPass {
        table,
        member_ids: &member_ids,
        walkways: Vec::new(),
        areas: Vec::new(),
        members: Vec::new(),
        excluded: BTreeMap::new(),
        counts: Counts::default(),
    })?;
    ways.walkways.sort_by_key(|w| w.id);
    ways.areas.sort_by_key(|a| a.0);
    ways.members.sort_by_key(|m| m.0);
    let mut needed: Vec<i64> = ways
        .walkways
        .iter()
        .flat_map(|w| w.refs.iter())
        .chain(ways.areas.iter().flat_map(|a| a.2.iter()))
        .chain(ways.members.iter().flat_map(|m| m.1.iter()))
        .copied()
        .collect();
    needed.sort_unstable();
    needed.dedup();
    tracing::debug!(
        elapsed_s = t0.elapsed().as_secs_f64(),
        walkways = ways.walkways.len(),
        areas = ways.areas.len(),
        needed_nodes = needed.len(),
        "pass 2: ways"
    );

    let mut nodes = source::scan(input, format, "3/3 nodes", show, || NodePass {
        table,
        needed: &needed,
        bbox: opts.bbox,
        coords: Vec::new(),
        ele_m: Vec::new(),
        facilities: Vec::new(),
        counts: Counts::default(),
    })?;
    nodes.coords.sort_unstable_by_key(|c| c.0);
    nodes.coords.dedup_by_key(|c| c.0);
    nodes.ele_m.sort_by_key(|c| c.0);
    let store = NodeStore {
        coords: std::mem::take(&mut nodes.coords),
        ele_m: std::mem::take(&mut nodes.ele_m),
    };
    tracing::debug!(
        elapsed_s = t0.elapsed().as_secs_f64(),
        nodes = store.coords.len(),
        "pass 3: nodes"
    );

    summary.relations_read = rels.counts.read;
    summary.ways_read = ways.counts.read;
    summary.nodes_read = nodes.counts.read;
    summary.excluded_highways = std::mem::take(&mut ways.excluded);
    for c in [&mut rels.counts, &mut ways.counts, &mut nodes.counts] {
        add_counts(
            &mut summary.unmapped_skipped,
            std::mem::take(&mut c.unmapped),
        );
        summary.non_residential_buildings_skipped += c.non_residential;
    }

    let werr = |path: PathBuf| move |e: std::io::Error| ImportError::Write { path, source: e };
    std::fs::create_dir_all(out).map_err(werr(out.to_path_buf()))?;
    let create = |layer: LayerId| {
        let path = out.join(layer.file_name());
        LayerWriter::create(&path).map_err(werr(path))
    };
    let mut sinks = Sinks {
        walkways: create(LayerId::Walkways)?,
        facilities: create(LayerId::Facilities)?,
        buildings: create(LayerId::Buildings)?,
        water: create(LayerId::Water)?,
    };
    let wio = |layer: LayerId| werr(out.join(layer.file_name()));

    build_walkways(
        &ways.walkways,
        &store,
        opts.bbox,
        &mut summary,
        &mut sinks.walkways,
    )
    .map_err(wio(LayerId::Walkways))?;
    drop(std::mem::take(&mut ways.walkways));
    tracing::debug!(elapsed_s = t0.elapsed().as_secs_f64(), "walkways written");

    // Facilities from nodes.
    nodes.facilities.sort_by_key(|f| f.id);
    for f in &nodes.facilities {
        let (fid, osm_id) = osm_ref('n', f.id);
        let lonlat = (f64::from(f.lon_e7) / 1e7, f64::from(f.lat_e7) / 1e7);
        let feature = facility_feature(
            fid,
            osm_id,
            lonlat,
            &f.info,
            table_taxonomy_name(&f.info.category),
        );
        *summary
            .facilities_by_category
            .entry(f.info.category.clone())
            .or_insert(0) += 1;
        sinks
            .facilities
            .push(&feature)
            .map_err(wio(LayerId::Facilities))?;
    }

    // Areas: closed ways, then multipolygon relations, one at a time.
    for (id, info, refs) in &ways.areas {
        let mp = store
            .ring(refs)
            .map(|r| geometry::multipolygon(vec![r], vec![]));
        emit_area('w', *id, info, mp, opts.bbox, &mut summary, &mut sinks)
            .map_err(werr(out.to_path_buf()))?;
    }
    let member_refs = |ids: &[i64]| -> Option<Vec<&[i64]>> {
        ids.iter()
            .map(|id| {
                ways.members
                    .binary_search_by_key(id, |m| m.0)
                    .ok()
                    .map(|i| ways.members[i].1.as_slice())
            })
            .collect()
    };
    for r in &rels.areas {
        let rings = |ids: &[i64]| -> Option<Vec<Vec<(f64, f64)>>> {
            geometry::assemble_rings(&member_refs(ids)?)?
                .iter()
                .map(|ring| store.ring(ring))
                .collect()
        };
        let mp = match (rings(&r.outer), rings(&r.inner)) {
            (Some(o), Some(i)) if !o.is_empty() => Some(geometry::multipolygon(o, i)),
            _ => None,
        };
        emit_area('r', r.id, &r.info, mp, opts.bbox, &mut summary, &mut sinks)
            .map_err(werr(out.to_path_buf()))?;
    }
    summary.buildings = sinks.buildings.count() as u64;
    summary.water_polygons = sinks.water.count() as u64;
    let mut counts = Map::new();
    for (layer, w) in [
        (LayerId::Walkways, sinks.walkways),
        (LayerId::Facilities, sinks.facilities),
        (LayerId::Buildings, sinks.buildings),
        (LayerId::Water, sinks.water),
    ] {
        let n = w.finish().map_err(wio(layer))?;
        counts.insert(layer.as_str().into(), json!(n));
    }
    write_meta(input, out, opts, counts)?;
    Ok(summary)
}

/// Write the features an area gives: a facility, a residential building, water.
fn emit_area(
    kind: char,
    id: i64,
    info: &AreaInfo,
    mp: Option<geo::MultiPolygon<f64>>,
    bbox: Option<Bbox>,
    summary: &mut ImportSummary,
    sinks: &mut Sinks,
) -> std::io::Result<()> {
    let Some(mp) = mp else {
        summary.incomplete_areas += 1;
        return Ok(());
    };
    let Some((area_m2, (lon, lat))) = geometry::area_and_centroid(&mp) else {
        summary.incomplete_areas += 1;
        return Ok(());
    };
    let (fid, osm_id) = osm_ref(kind, id);
    let centroid_inside = bbox.is_none_or(|b| b.contains(lon, lat));
    if let Some(f) = &info.facility
        && centroid_inside
    {
        let name_zh = table_taxonomy_name(&f.category);
        *summary
            .facilities_by_category
            .entry(f.category.clone())
            .or_insert(0) += 1;
        sinks.facilities.push(&facility_feature(
            fid.clone(),
            osm_id.clone(),
            (lon, lat),
            f,
            name_zh,
        ))?;
    }
    if let Some(b) = &info.building
        && centroid_inside
    {
        let h = tags::households(b, area_m2);
        let mut p = Map::new();
        p.insert("households".into(), json!(h.households));
        p.insert("residents".into(), json!(tags::residents(h.households)));
        if let Some(l) = h.levels {
            p.insert("floors".into(), json!(l));
        }
        p.insert("households_source".into(), json!(h.source));
        p.insert("footprint_m2".into(), json!(area_m2.round()));
        p.insert("osm_id".into(), json!(osm_id));
        summary.households += h.households;
        summary.buildings_with_flats += u64::from(h.source == "building:flats");
        sinks
            .buildings
            .push(&point_feature(fid.clone(), lon, lat, p))?;
    }
    if let Some(name) = &info.water_name {
        use geo::BoundingRect as _;
        if bbox.is_none_or(|b| mp.bounding_rect().is_some_and(|r| b.intersects(&r))) {
            let mut p = Map::new();
            p.insert(
                "name".into(),
                json!(name.clone().unwrap_or_else(|| "未命名水体".to_string())),
            );
            p.insert("osm_id".into(), json!(osm_id));
            let geometry = if mp.0.len() == 1 {
                Geometry::Polygon(mp.0[0].clone())
            } else {
                Geometry::MultiPolygon(mp)
            };
            sinks.water.push(&Feature {
                id: fid,
                geometry,
                elevation_m: None,
                properties: p,
            })?;
        }
    }
    Ok(())
}

/// The Chinese name of a category, the display name of an unnamed facility.
fn table_taxonomy_name(category: &str) -> String {
    tags::taxonomy()
        .ok()
        .and_then(|t| t.get(category).map(|c| c.name_zh.clone()))
        .unwrap_or_else(|| category.to_string())
}

fn facility_feature(
    id: String,
    osm_id: String,
    (lon, lat): (f64, f64),
    f: &FacilityInfo,
    fallback_name: String,
) -> Feature {
    let mut p = Map::new();
    p.insert(
        "name".into(),
        json!(f.name.clone().unwrap_or(fallback_name)),
    );
    p.insert("category".into(), json!(f.category));
    if let Some(h) = &f.opening_hours {
        p.insert("opening_hours".into(), json!(h));
    }
    p.insert("osm_id".into(), json!(osm_id));
    point_feature(id, lon, lat, p)
}

/// Clip walkable ways to the nodes present (and inside the bbox), node them at shared nodes,
/// and keep the largest connected network.
fn build_walkways(
    ways: &[WalkWay],
    store: &NodeStore,
    bbox: Option<Bbox>,
    summary: &mut ImportSummary,
    sink: &mut LayerWriter,
) -> std::io::Result<()> {
    // Runs of consecutive usable nodes, with their positions looked up once; a missing or
    // outside node cuts the way.
    struct Run {
        way: usize,
        nodes: Vec<i64>,
        lonlat: Vec<(f64, f64)>,
    }
    let mut runs: Vec<Run> = Vec::new();
    for (wi, w) in ways.iter().enumerate() {
        let mut cur = Run {
            way: wi,
            nodes: Vec::new(),
            lonlat: Vec::new(),
        };
        for &n in &w.refs {
            let usable = store
                .e7(n)
                .filter(|&(lat, lon)| bbox.is_none_or(|b| b.contains_e7(lat, lon)));
            if let Some((lat, lon)) = usable {
                cur.nodes.push(n);
                cur.lonlat
                    .push((f64::from(lon) / 1e7, f64::from(lat) / 1e7));
            } else if !cur.nodes.is_empty() {
                let next = Run {
                    way: wi,
                    nodes: Vec::new(),
                    lonlat: Vec::new(),
                };
                runs.push(std::mem::replace(&mut cur, next));
            }
        }
        if !cur.nodes.is_empty() {
            runs.push(cur);
        }
    }
    runs.retain(|r| r.nodes.len() >= 2);
    let slices: Vec<&[i64]> = runs.iter().map(|r| r.nodes.as_slice()).collect();
    let cuts = geometry::node_runs(&slices);

    struct Seg<'a> {
        way: usize,
        nodes: &'a [i64],
        lonlat: &'a [(f64, f64)],
        length_m: f64,
    }
    let mut segs: Vec<Seg<'_>> = Vec::new();
    let mut comps = Components::default();
    for (run, ranges) in runs.iter().zip(&cuts) {
        for r in ranges {
            let nodes = &run.nodes[r.clone()];
            let lonlat = &run.lonlat[r.clone()];
            let length_m: f64 = lonlat.windows(2).map(|p| haversine_m(p[0], p[1])).sum();
            if let (Some(a), Some(b)) = (nodes.first(), nodes.last()) {
                comps.join(*a, *b);
            }
            segs.push(Seg {
                way: run.way,
                nodes,
                lonlat,
                length_m,
            });
        }
    }
    // The largest network by length (ties: the one whose root was seen first).
    let mut length_by_comp: BTreeMap<usize, f64> = BTreeMap::new();
    for s in &segs {
        if let Some(c) = s.nodes.first().and_then(|n| comps.component(*n)) {
            *length_by_comp.entry(c).or_insert(0.0) += s.length_m;
        }
    }
    let best = length_by_comp
        .iter()
        .fold(None::<(usize, f64)>, |acc, (&c, &l)| match acc {
            Some((_, bl)) if bl >= l => acc,
            _ => Some((c, l)),
        })
        .map(|(c, _)| c);

    // Segments come in way order; number them per way, dropped ones included, so an id names
    // the same piece whatever the filter keeps.
    let (mut prev_way, mut next_no) = (usize::MAX, 0_usize);
    let mut kept_ways = std::collections::BTreeSet::new();
    for s in &segs {
        if s.way != prev_way {
            (prev_way, next_no) = (s.way, 0);
        }
        let this_no = next_no;
        next_no += 1;
        if s.nodes.first().and_then(|n| comps.component(*n)) != best {
            summary.dropped_disconnected_segments += 1;
            summary.dropped_disconnected_m += s.length_m;
            continue;
        }
        let w = &ways[s.way];
        kept_ways.insert(w.id);
        let coords: Vec<Coord<f64>> = s.lonlat.iter().map(|&(x, y)| Coord { x, y }).collect();
        // All-or-nothing: the data format has a LineString 3D only when every vertex is.
        let elevation_m: Option<Vec<f64>> = if store.ele_m.is_empty() {
            None
        } else {
            s.nodes.iter().map(|n| store.ele(*n)).collect()
        };
        let mut p = Map::new();
        p.insert("kind".into(), json!(w.kind.as_str()));
        if let Some(n) = &w.name {
            p.insert("name".into(), json!(n));
        }
        p.insert("osm_id".into(), json!(format!("way/{}", w.id)));
        sink.push(&Feature {
            id: format!("osm-w{}-{this_no}", w.id),
            geometry: Geometry::LineString(LineString(coords)),
            elevation_m,
            properties: p,
        })?;
    }
    summary.walkway_segments = sink.count() as u64;
    summary.walkway_ways_kept = kept_ways.len() as u64;
    Ok(())
}

fn haversine_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    use geo::{Distance as _, Haversine};
    Haversine.distance(Point::new(a.0, a.1), Point::new(b.0, b.1))
}

/// Write `categories.json` and `manifest.json` into `out`.
fn write_meta(
    input: &Path,
    out: &Path,
    opts: &OsmImportOptions,
    counts: Map<String, Value>,
) -> Result<(), ImportError> {
    let werr = |path: &Path| {
        let path = path.to_path_buf();
        move |e: std::io::Error| ImportError::Write { path, source: e }
    };
    let tax = tags::taxonomy().map_err(ImportError::Table)?;
    let path = out.join("categories.json");
    let text =
        serde_json::to_string_pretty(&tax).map_err(|e| ImportError::Table(e.to_string()))? + "\n";
    write_atomic(&path, &text).map_err(werr(&path))?;

    let file_name = input
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = opts
        .name
        .clone()
        .unwrap_or_else(|| file_name.split('.').next().unwrap_or_default().to_string());
    let bbox_note = opts
        .bbox
        .map(|b| {
            format!(
                ", clipped to {},{},{},{}",
                b.min_lon, b.min_lat, b.max_lon, b.max_lat
            )
        })
        .unwrap_or_default();
    let manifest = json!({
        "name": name,
        "modelled": false,
        "note": format!("Imported from OpenStreetMap (© OpenStreetMap contributors, ODbL) by servicemap import osm{bbox_note}. Households are estimated where building:flats is absent; see docs/osm-import.md."),
        "source": file_name,
        "expected_counts": Value::Object(counts),
    });
    let path = out.join("manifest.json");
    let text = serde_json::to_string_pretty(&manifest)
        .map_err(|e| ImportError::Table(e.to_string()))?
        + "\n";
    write_atomic(&path, &text).map_err(werr(&path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bbox_parsing() {
        let b: Bbox = "106.5,29.4,106.6,29.5".parse().expect("valid");
        assert_eq!(
            b,
            Bbox {
                min_lon: 106.5,
                min_lat: 29.4,
                max_lon: 106.6,
                max_lat: 29.5
            }
        );
        assert!(b.contains(106.55, 29.45));
        assert!(!b.contains(106.65, 29.45));
        assert!("106.6,29.4,106.5,29.5".parse::<Bbox>().is_err());
        assert!("1,2,3".parse::<Bbox>().is_err());
    }
}
