//! The point and area features of an import: facilities (from nodes and areas, one per place),
//! residential buildings with their households (from areas and nodes), and water polygons.

use std::collections::HashMap;

use geo::{BoundingRect as _, Geometry, Intersects as _, MultiPolygon, Point};
use rstar::primitives::GeomWithData;
use rstar::{AABB, RTree};
use serde_json::{Map, Value, json};

use super::Sinks;
use super::passes::{AreaInfo, FacilityInfo, Passes};
use super::summary::ImportSummary;
use crate::import::{geometry, tags};
use crate::model::{Bbox, Feature};

/// Positions of the facilities written from nodes, by (category, name): an area with the same
/// category and name containing one of them is the same place mapped twice.
#[derive(Debug, Default)]
pub(super) struct NodePlaces(HashMap<(String, Option<String>), Vec<Point<f64>>>);

impl NodePlaces {
    /// Whether a node facility like `f` lies in (or on the edge of) `mp`.
    fn has_inside(&self, f: &FacilityInfo, mp: &geo::MultiPolygon<f64>) -> bool {
        self.0
            .get(&(f.category.clone(), f.name.clone()))
            .is_some_and(|ps| ps.iter().any(|p| mp.intersects(p)))
    }
}

/// Write the facilities mapped as nodes, in id order; returns where they are.
pub(super) fn write_node_facilities(
    passes: &Passes,
    summary: &mut ImportSummary,
    sinks: &mut Sinks,
) -> std::io::Result<NodePlaces> {
    let mut places = NodePlaces::default();
    for f in &passes.node_facilities {
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
        sinks.facilities.push(&feature)?;
        places
            .0
            .entry((f.info.category.clone(), f.info.name.clone()))
            .or_default()
            .push(Point::new(lonlat.0, lonlat.1));
    }
    Ok(places)
}

/// The residential buildings mapped as nodes, and which of them lie in a residential building
/// area: the same building mapped twice, where the outline wins (it has a footprint).
pub(super) struct BuildingNodes {
    tree: RTree<GeomWithData<[f64; 2], usize>>,
    inside_area: Vec<bool>,
}

impl BuildingNodes {
    pub(super) fn new(passes: &Passes) -> BuildingNodes {
        let points = passes
            .node_buildings
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let lonlat = [f64::from(b.lon_e7) / 1e7, f64::from(b.lat_e7) / 1e7];
                GeomWithData::new(lonlat, i)
            })
            .collect();
        BuildingNodes {
            tree: RTree::bulk_load(points),
            inside_area: vec![false; passes.node_buildings.len()],
        }
    }

    /// Mark the building nodes in (or on the edge of) `mp`.
    fn mark_inside(&mut self, mp: &MultiPolygon<f64>) {
        let Some(r) = mp.bounding_rect() else {
            return;
        };
        let env = AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]);
        for p in self.tree.locate_in_envelope(&env) {
            let [x, y] = *p.geom();
            if mp.intersects(&Point::new(x, y)) {
                self.inside_area[p.data] = true;
            }
        }
    }
}

/// Write the residential buildings mapped as nodes, in id order, except those inside a
/// building area (see [`BuildingNodes`]). Without a footprint there is nothing to estimate
/// from: `building:flats` where tagged, else one home.
pub(super) fn write_node_buildings(
    passes: &Passes,
    seen: &BuildingNodes,
    summary: &mut ImportSummary,
    sinks: &mut Sinks,
) -> std::io::Result<()> {
    for (b, inside) in passes.node_buildings.iter().zip(&seen.inside_area) {
        if *inside {
            summary.building_nodes_in_areas += 1;
            continue;
        }
        let (fid, osm_id) = osm_ref('n', b.id);
        let h = tags::households(&b.tags, 0.0);
        let source = if h.source == "estimate" {
            "node"
        } else {
            h.source
        };
        let mut p = Map::new();
        p.insert("households".into(), json!(h.households));
        p.insert("residents".into(), json!(tags::residents(h.households)));
        if let Some(l) = h.levels {
            p.insert("floors".into(), json!(l));
        }
        p.insert("households_source".into(), json!(source));
        p.insert("osm_id".into(), json!(osm_id));
        summary.households += h.households;
        summary.buildings_with_flats += u64::from(h.source == "building:flats");
        let (lon, lat) = (f64::from(b.lon_e7) / 1e7, f64::from(b.lat_e7) / 1e7);
        sinks.buildings.push(&point_feature(fid, lon, lat, p))?;
    }
    Ok(())
}

/// What writing an area checks against: the box, the facilities written from nodes, the
/// building nodes.
pub(super) struct Seen<'a> {
    pub(super) bbox: Option<Bbox>,
    pub(super) places: &'a NodePlaces,
    pub(super) buildings: &'a mut BuildingNodes,
}

/// Write what the areas give: closed ways, then multipolygon relations, one at a time. An
/// area facility already written from a node inside it (same category and name) is skipped;
/// building nodes inside a residential building area are marked in `seen.buildings`.
pub(super) fn write_areas(
    passes: &Passes,
    seen: &mut Seen<'_>,
    summary: &mut ImportSummary,
    sinks: &mut Sinks,
) -> std::io::Result<()> {
    let store = &passes.store;
    for (id, info, refs) in &passes.way_areas {
        let mp = store
            .ring(refs)
            .map(|r| geometry::multipolygon(vec![r], vec![]));
        emit_area('w', *id, info, mp, seen, summary, sinks)?;
    }
    for r in &passes.relations {
        let rings = |ids: &[i64]| -> Option<Vec<Vec<(f64, f64)>>> {
            geometry::assemble_rings(&passes.member_refs(ids)?)?
                .iter()
                .map(|ring| store.ring(ring))
                .collect()
        };
        let mp = match (rings(&r.outer), rings(&r.inner)) {
            (Some(o), Some(i)) if !o.is_empty() => Some(geometry::multipolygon(o, i)),
            _ => None,
        };
        emit_area('r', r.id, &r.info, mp, seen, summary, sinks)?;
    }
    Ok(())
}

/// Write the features an area gives: a facility, a residential building, water.
fn emit_area(
    kind: char,
    id: i64,
    info: &AreaInfo,
    mp: Option<geo::MultiPolygon<f64>>,
    seen: &mut Seen<'_>,
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
    let bbox = seen.bbox;
    let centroid_inside = bbox.is_none_or(|b| b.contains(lon, lat));
    let facility = info.facility.as_ref().filter(|f| {
        let twice = seen.places.has_inside(f, &mp);
        summary.facilities_mapped_twice += u64::from(twice && centroid_inside);
        !twice
    });
    if let Some(f) = facility
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
        seen.buildings.mark_inside(&mp);
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
    if let Some(name) = &info.water_name
        && bbox.is_none_or(|b| mp.bounding_rect().is_some_and(|r| b.intersects(&r)))
    {
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
            properties: p.into(),
        })?;
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
        properties: props.into(),
    }
}
