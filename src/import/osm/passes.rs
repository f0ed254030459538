//! The three streaming passes over an OSM file (see the module doc of `osm`) and what they keep:
//! multipolygon relations, walkable ways and areas, and the positions of the nodes those use.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use super::summary::{ImportSummary, add_counts};
use crate::import::ImportError;
use crate::import::source::{self, Format, Member, MemberKind, Visitor, Wants, tag};
use crate::import::tags::{self, BuildingUse, CategoryTable, Excluded, Mapped};
use crate::model::Bbox;
use crate::model::WalkwayKind;

/// Facility-relevant tags of a feature, kept until its position is known.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct FacilityInfo {
    pub(super) category: String,
    pub(super) name: Option<String>,
    pub(super) opening_hours: Option<String>,
}

/// What an area (closed way or multipolygon) is; one area may be several at once (a school
/// building is a facility and a non-residential building).
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct AreaInfo {
    pub(super) facility: Option<FacilityInfo>,
    /// What the tags say about the homes of a residential building.
    pub(super) building: Option<tags::BuildingTags>,
    /// `None`: not water; `Some(None)`: unnamed water; `Some(Some(name))`: named water.
    #[allow(clippy::option_option)]
    pub(super) water_name: Option<Option<String>>,
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

pub(super) fn facility_info(category: &str, tags: &[(&str, &str)]) -> FacilityInfo {
    FacilityInfo {
        category: category.to_string(),
        name: tags::name(tags).map(str::to_string),
        opening_hours: tag(tags, "opening_hours").map(str::to_string),
    }
}

/// Counters every pass may add to.
#[derive(Debug, Default)]
pub(super) struct Counts {
    pub(super) unmapped: BTreeMap<String, u64>,
    pub(super) non_residential: u64,
    pub(super) read: u64,
}

impl Counts {
    fn merge(&mut self, o: Counts) {
        add_counts(&mut self.unmapped, o.unmapped);
        self.non_residential += o.non_residential;
        self.read += o.read;
    }
}

// ---- pass 1: relations ----

pub(super) struct RelationArea {
    pub(super) id: i64,
    pub(super) info: AreaInfo,
    pub(super) outer: Vec<i64>,
    pub(super) inner: Vec<i64>,
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

pub(super) struct WalkWay {
    pub(super) id: i64,
    pub(super) kind: WalkwayKind,
    pub(super) name: Option<String>,
    pub(super) refs: Vec<i64>,
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

pub(super) struct NodeFacility {
    pub(super) id: i64,
    pub(super) lat_e7: i32,
    pub(super) lon_e7: i32,
    pub(super) info: FacilityInfo,
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
pub(super) struct NodeStore {
    pub(super) coords: Vec<(i64, i32, i32)>,
    pub(super) ele_m: Vec<(i64, f64)>,
}

impl NodeStore {
    pub(super) fn lonlat(&self, id: i64) -> Option<(f64, f64)> {
        let i = self.coords.binary_search_by_key(&id, |c| c.0).ok()?;
        let (_, lat, lon) = self.coords[i];
        Some((f64::from(lon) / 1e7, f64::from(lat) / 1e7))
    }

    pub(super) fn e7(&self, id: i64) -> Option<(i32, i32)> {
        let i = self.coords.binary_search_by_key(&id, |c| c.0).ok()?;
        Some((self.coords[i].1, self.coords[i].2))
    }

    pub(super) fn ele(&self, id: i64) -> Option<f64> {
        let i = self.ele_m.binary_search_by_key(&id, |c| c.0).ok()?;
        Some(self.ele_m[i].1)
    }

    pub(super) fn ring(&self, refs: &[i64]) -> Option<Vec<(f64, f64)>> {
        refs.iter().map(|r| self.lonlat(*r)).collect()
    }
}

/// Everything the three passes kept, sorted by OSM id.
pub(super) struct Passes {
    /// Multipolygon relations that are facilities, buildings or water.
    pub(super) relations: Vec<RelationArea>,
    pub(super) walkways: Vec<WalkWay>,
    /// Closed ways that are facilities, buildings or water: (way id, what, node ids).
    pub(super) way_areas: Vec<(i64, AreaInfo, Vec<i64>)>,
    /// Member ways of `relations`: (way id, node ids).
    pub(super) members: Vec<(i64, Vec<i64>)>,
    pub(super) node_facilities: Vec<NodeFacility>,
    pub(super) store: NodeStore,
}

impl Passes {
    /// The node lists of member ways `ids`; `None` when one is missing from the extract.
    pub(super) fn member_refs(&self, ids: &[i64]) -> Option<Vec<&[i64]>> {
        ids.iter()
            .map(|id| {
                self.members
                    .binary_search_by_key(id, |m| m.0)
                    .ok()
                    .map(|i| self.members[i].1.as_slice())
            })
            .collect()
    }
}

/// Stream `input` three times (relations, ways, nodes) and fill the read counts of `summary`.
pub(super) fn read(
    input: &Path,
    table: &CategoryTable,
    bbox: Option<Bbox>,
    show_progress: bool,
    summary: &mut ImportSummary,
) -> Result<Passes, ImportError> {
    let format = Format::from_path(input)?;
    let t0 = Instant::now();

    let mut rels = source::scan(input, format, "1/3 relations", show_progress, || {
        RelationPass {
            table,
            areas: Vec::new(),
            counts: Counts::default(),
        }
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

    let mut ways = source::scan(input, format, "2/3 ways", show_progress, || WayPass {
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

    let mut nodes = source::scan(input, format, "3/3 nodes", show_progress, || NodePass {
        table,
        needed: &needed,
        bbox,
        coords: Vec::new(),
        ele_m: Vec::new(),
        facilities: Vec::new(),
        counts: Counts::default(),
    })?;
    nodes.coords.sort_unstable_by_key(|c| c.0);
    nodes.coords.dedup_by_key(|c| c.0);
    nodes.ele_m.sort_by_key(|c| c.0);
    nodes.facilities.sort_by_key(|f| f.id);
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
    Ok(Passes {
        relations: rels.areas,
        walkways: ways.walkways,
        way_areas: ways.areas,
        members: ways.members,
        node_facilities: nodes.facilities,
        store,
    })
}
