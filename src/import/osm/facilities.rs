//! The point and area features of an import: facilities (from nodes and areas), residential
//! buildings with their households, and water polygons.

use geo::{Geometry, Point};
use serde_json::{Map, Value, json};

use super::Sinks;
use super::passes::{AreaInfo, FacilityInfo, Passes};
use super::summary::ImportSummary;
use crate::import::{geometry, tags};
use crate::model::{Bbox, Feature};

/// Write the facilities mapped as nodes, in id order.
pub(super) fn write_node_facilities(
    passes: &Passes,
    summary: &mut ImportSummary,
    sinks: &mut Sinks,
) -> std::io::Result<()> {
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
    }
    Ok(())
}

/// Write what the areas give: closed ways, then multipolygon relations, one at a time.
pub(super) fn write_areas(
    passes: &Passes,
    bbox: Option<Bbox>,
    summary: &mut ImportSummary,
    sinks: &mut Sinks,
) -> std::io::Result<()> {
    let store = &passes.store;
    for (id, info, refs) in &passes.way_areas {
        let mp = store
            .ring(refs)
            .map(|r| geometry::multipolygon(vec![r], vec![]));
        emit_area('w', *id, info, mp, bbox, summary, sinks)?;
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
        emit_area('r', r.id, &r.info, mp, bbox, summary, sinks)?;
    }
    Ok(())
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
