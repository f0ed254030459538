//! Walkways from walkable ways: clipped to the nodes present, noded where ways share a node
//! (OpenStreetMap's own rule: ways that cross without one do not connect), and reduced to the
//! largest connected network. Grade separation (`bridge`, `tunnel`, `covered`, `layer`,
//! `level`) is carried into the properties, so a tunnel under a street reads as one.

use std::collections::{BTreeMap, BTreeSet};

use geo::{Coord, Geometry, LineString, Point};
use serde_json::{Map, json};

use super::passes::{NodeStore, WalkWay};
use super::summary::ImportSummary;
use crate::import::geometry::{self, Components};
use crate::import::sink::LayerWriter;
use crate::index::distance_m;
use crate::model::{Bbox, Feature};

/// Clip walkable ways to the nodes present (and inside the bbox), node them at shared nodes,
/// and keep the largest connected network.
pub(super) fn build_walkways(
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
            let length_m: f64 = lonlat
                .windows(2)
                .map(|p| distance_m(Point::new(p[0].0, p[0].1), Point::new(p[1].0, p[1].1)))
                .sum();
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
    let mut kept_ways = BTreeSet::new();
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
        for (k, v) in w.grade.properties() {
            p.insert(k.into(), v);
        }
        p.insert("osm_id".into(), json!(format!("way/{}", w.id)));
        sink.push(&Feature {
            id: format!("osm-w{}-{this_no}", w.id),
            geometry: Geometry::LineString(LineString(coords)),
            elevation_m,
            properties: p.into(),
        })?;
    }
    summary.walkway_segments = sink.count() as u64;
    summary.walkway_ways_kept = kept_ways.len() as u64;
    Ok(())
}
