//! Export servicemap's own walking graph, with its costs, for the peer benchmark
//! (`bench/peers/`): the peers (pgRouting, pandana, networkx) then route over exactly the
//! network and the walking times servicemap uses, instead of a re-implementation of its
//! cost model that could drift.
//!
//! ```text
//! cargo run --release --example export_graph -- DATA_DIR OUT_DIR
//! ```
//!
//! servicemap joins facilities and buildings to the network part-way along an edge (a snap:
//! edge, fraction, straight connector walked at the flat speed). Node-based peers cannot do
//! that, so the export splits every edge at the snapped positions of the points on it and
//! adds each point as a node hanging off its snapped position by a connector edge. Costs
//! along an edge are linear in the fraction walked (that is how servicemap prices partial
//! edges), so the split graph gives the same times as servicemap's search, up to rounding.
//!
//! Files written to OUT_DIR:
//! * `nodes.csv`: `node,kind,x_m,y_m,lon,lat`. `kind` is `walk` (a walkway vertex, the node
//!   ids of servicemap's graph), `snap` (a point's snapped position on an edge) or `point`
//!   (the facility or building itself). `walk` nodes carry the walkway's own WGS84 numbers,
//!   so a query sent at them snaps back onto the very node.
//! * `edges.csv`: `edge,source,target,length_m,standard_fwd_s,standard_bwd_s,elder_fwd_s,
//!   elder_bwd_s,wheelchair_fwd_s,wheelchair_bwd_s`; `inf` = impassable in that direction.
//!   Points are split at their snaps onto any walkway (the snaps of `standard` and `elder`);
//!   `wheelchair` snaps step-free points elsewhere, so its columns are exact only for
//!   walk-to-walk routing.
//! * `facilities.csv`: `facility,id,category,lon,lat,point_node,snap_node,offset_m`
//!   (nodes empty when the facility cannot be snapped).
//! * `buildings.csv`: `building,id,lon,lat,households,residents,point_node,snap_node,offset_m`.
//! * `meta.json`: counts, the projection's origin.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use servicemap::model::{LayerId, Walkway};
use servicemap::walk::{EdgeId, Profile, Snap};

/// A point snapped onto an edge: where along it, and the node standing for its snapped position.
struct OnEdge {
    fraction: f64,
    snap_node: u32,
}

fn fmt_cost(s: f64) -> String {
    if s.is_finite() {
        format!("{s}")
    } else {
        "inf".into()
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [data, out] = args.as_slice() else {
        return Err("usage: export_graph DATA_DIR OUT_DIR".into());
    };
    let out = PathBuf::from(out);
    std::fs::create_dir_all(&out)?;
    // The service's own loader: the graph, snaps and facility order the server answers with.
    let svc = servicemap::service::Service::load(Path::new(data))?;
    let ds = &svc.dataset;
    let world = svc
        .walk
        .as_deref()
        .ok_or("the data directory has no walkways to export")?;
    let g = &world.graph;
    let p_any = Profile::Standard;

    // WGS84 of every walk node, by repeating the graph's first-seen numbering of vertices
    // (WalkGraph keeps only local metres); checked against the graph's own positions.
    let walkways: Vec<Walkway> = ds
        .layer(LayerId::Walkways)
        .unwrap_or_default()
        .iter()
        .map(Walkway::from_feature)
        .collect::<Result<_, _>>()?;
    let mut seen: HashMap<(u64, u64), u32> = HashMap::new();
    let mut node_lonlat: Vec<(f64, f64)> = Vec::with_capacity(g.node_count());
    for w in &walkways {
        for &(lon, lat) in &w.lonlat {
            let key = ((lon + 0.0).to_bits(), (lat + 0.0).to_bits());
            seen.entry(key).or_insert_with(|| {
                node_lonlat.push((lon, lat));
                (node_lonlat.len() - 1) as u32
            });
        }
    }
    if node_lonlat.len() != g.node_count() {
        return Err(format!(
            "node numbering differs: {} vertices vs {} graph nodes",
            node_lonlat.len(),
            g.node_count()
        )
        .into());
    }
    for (i, &(lon, lat)) in node_lonlat.iter().enumerate() {
        let (x, y) = g.proj().to_xy(lon, lat);
        let n = g.node_xy(servicemap::walk::NodeId(i as u32));
        if (x - n[0]).abs() > 1e-6 || (y - n[1]).abs() > 1e-6 {
            return Err(format!("node {i} is not where the graph has it").into());
        }
    }

    let mut nodes = String::from("node,kind,x_m,y_m,lon,lat\n");
    for (i, &(lon, lat)) in node_lonlat.iter().enumerate() {
        let n = g.node_xy(servicemap::walk::NodeId(i as u32));
        writeln!(nodes, "{i},walk,{},{},{lon},{lat}", n[0], n[1])?;
    }
    let mut next_node = g.node_count() as u32;
    let mut on_edge: HashMap<EdgeId, Vec<OnEdge>> = HashMap::new();
    let mut connectors: Vec<(u32, u32, f64)> = Vec::new(); // point, snap, offset_m
    // Adds a point and its snapped position as nodes; returns (point_node, snap_node).
    let mut add_point = |lonlat: (f64, f64),
                         xy: [f64; 2],
                         snap: Option<&Snap>,
                         nodes: &mut String|
     -> Result<Option<(u32, u32)>, std::fmt::Error> {
        let Some(s) = snap else { return Ok(None) };
        let point = next_node;
        let snap_node = next_node + 1;
        next_node += 2;
        writeln!(
            nodes,
            "{point},point,{},{},{},{}",
            xy[0], xy[1], lonlat.0, lonlat.1
        )?;
        let (slon, slat) = g.to_lonlat(s.snapped_xy);
        writeln!(
            nodes,
            "{snap_node},snap,{},{},{slon},{slat}",
            s.snapped_xy[0], s.snapped_xy[1]
        )?;
        on_edge.entry(s.edge).or_default().push(OnEdge {
            fraction: s.fraction.clamp(0.0, 1.0),
            snap_node,
        });
        connectors.push((point, snap_node, s.offset_m));
        Ok(Some((point, snap_node)))
    };

    let mut fac = String::from("facility,id,category,lon,lat,point_node,snap_node,offset_m\n");
    let f_xy = world.facility_snaps.positions_xy();
    for (i, f) in world.facilities.iter().enumerate() {
        let ll = (f.position.x(), f.position.y());
        let snap = world.facility_snaps.snap(i, p_any);
        let ids = add_point(ll, f_xy[i], snap, &mut nodes)?;
        let (pn, sn) = ids.map_or((String::new(), String::new()), |(a, b)| {
            (a.to_string(), b.to_string())
        });
        let off = snap.map_or(String::new(), |s| s.offset_m.to_string());
        writeln!(
            fac,
            "{i},{},{},{},{},{pn},{sn},{off}",
            csv_field(f.id),
            csv_field(f.category),
            ll.0,
            ll.1
        )?;
    }
    let mut bld =
        String::from("building,id,lon,lat,households,residents,point_node,snap_node,offset_m\n");
    let b_xy = world.building_snaps.positions_xy();
    for (i, b) in world.buildings.iter().enumerate() {
        let ll = (b.position.x(), b.position.y());
        let snap = world.building_snaps.snap(i, p_any);
        let ids = add_point(ll, b_xy[i], snap, &mut nodes)?;
        let (pn, sn) = ids.map_or((String::new(), String::new()), |(a, b)| {
            (a.to_string(), b.to_string())
        });
        let off = snap.map_or(String::new(), |s| s.offset_m.to_string());
        writeln!(
            bld,
            "{i},{},{},{},{},{},{pn},{sn},{off}",
            csv_field(&b.id),
            ll.0,
            ll.1,
            b.households,
            b.residents
        )?;
    }

    let mut edges = String::from(
        "edge,source,target,length_m,standard_fwd_s,standard_bwd_s,elder_fwd_s,elder_bwd_s,wheelchair_fwd_s,wheelchair_bwd_s\n",
    );
    let mut next_edge = 0u64;
    let mut push_edge = |edges: &mut String,
                         a: u32,
                         b: u32,
                         length_m: f64,
                         costs: [[f64; 2]; 3]|
     -> std::fmt::Result {
        write!(edges, "{next_edge},{a},{b},{length_m}")?;
        for c in costs {
            write!(edges, ",{},{}", fmt_cost(c[0]), fmt_cost(c[1]))?;
        }
        next_edge += 1;
        edges.push('\n');
        Ok(())
    };
    for (ei, e) in g.edges().iter().enumerate() {
        let full = Profile::ALL.map(|p| [e.cost_s(p, true), e.cost_s(p, false)]);
        let mut pts = on_edge.remove(&EdgeId(ei as u32)).unwrap_or_default();
        pts.sort_by(|a, b| a.fraction.total_cmp(&b.fraction));
        // Pieces from `from` through each snapped position to `to`, priced like servicemap
        // prices a partial edge: the edge's cost times the fraction walked.
        let mut prev_node = e.from.0;
        let mut prev_f = 0.0;
        for pt in pts
            .iter()
            .map(|p| (p.snap_node, p.fraction))
            .chain([(e.to.0, 1.0)])
        {
            let df = pt.1 - prev_f;
            let costs = full.map(|[fw, bw]| [piece(fw, df), piece(bw, df)]);
            push_edge(&mut edges, prev_node, pt.0, e.length_m * df, costs)?;
            prev_node = pt.0;
            prev_f = pt.1;
        }
    }
    for (point, snap, offset_m) in &connectors {
        // The connector is walked at the profile's flat speed in both directions.
        let costs = Profile::ALL.map(|p| {
            let s = offset_m / p.flat_speed_m_per_s();
            [s, s]
        });
        push_edge(&mut edges, *point, *snap, *offset_m, costs)?;
    }

    std::fs::write(out.join("nodes.csv"), nodes)?;
    std::fs::write(out.join("edges.csv"), edges)?;
    std::fs::write(out.join("facilities.csv"), fac)?;
    std::fs::write(out.join("buildings.csv"), bld)?;
    let meta = serde_json::json!({
        "data_dir": data,
        "walk_nodes": g.node_count(),
        "walk_edges": g.edge_count(),
        "nodes": next_node,
        "edges": next_edge,
        "facilities": world.facilities.len(),
        "facilities_unsnapped": world.facility_snaps.errors().len(),
        "buildings": world.buildings.len(),
        "buildings_unsnapped": world.building_snaps.errors().len(),
        "categories": world.category_ids,
    });
    std::fs::write(
        out.join("meta.json"),
        serde_json::to_string_pretty(&meta)? + "\n",
    )?;
    println!("{meta}");
    Ok(())
}

/// Cost of a piece covering `df` of an edge whose full cost is `cost_s` (servicemap's
/// `partial_s`: zero for a zero piece even on an impassable edge).
fn piece(cost_s: f64, df: f64) -> f64 {
    if df <= 0.0 { 0.0 } else { cost_s * df }
}

/// Quote a CSV field when it needs it.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
