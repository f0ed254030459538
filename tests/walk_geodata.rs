//! Data-level checks of the walk engine on the default data (`geodata/`, or the directory in
//! `$SERVICEMAP_GEODATA`): isochrones agree with the buildings the search reaches and never
//! cover open water.

// Test helpers may unwrap, expect and panic: a failing test should stop loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use geo::{BoundingRect, Distance, Euclidean, Intersects, Point, Polygon};
use servicemap::analysis::WalkWorld;
use servicemap::model::LayerId;
use servicemap::walk::{Origin, Profile, Searcher, isochrones};

mod common;

/// The walking world of the data directory and its water polygons (WGS84).
fn load() -> (&'static WalkWorld, Vec<Polygon<f64>>) {
    let svc = common::geodata();
    let ds = &svc.dataset;
    let mut water = Vec::new();
    for f in ds.layer(LayerId::Water).unwrap_or(&[]) {
        match &f.geometry {
            geo::Geometry::Polygon(p) => water.push(p.clone()),
            geo::Geometry::MultiPolygon(mp) => water.extend(mp.0.iter().cloned()),
            _ => {}
        }
    }
    (svc.walk.as_deref().expect("walkways"), water)
}

/// Named places of Lijiatuo (facts.md) used as origins.
const PLACES: [(f64, f64); 6] = [
    (106.533, 29.470),
    (106.514, 29.476),
    (106.515, 29.464),
    (106.552, 29.471),
    (106.527, 29.461),
    (106.539, 29.466),
];

#[test]
fn isochrones_agree_with_reached_buildings_and_avoid_water() {
    let (w, water) = load();
    let (g, bld, pop, fac_pts) = (
        &w.graph,
        &w.building_snaps,
        &w.population,
        &w.facility_snaps,
    );
    let proj = *g.proj();
    let lonlat: Vec<(f64, f64)> = w
        .buildings
        .iter()
        .map(|b| (b.position.x(), b.position.y()))
        .collect();
    eprintln!(
        "graph: {} nodes, {} edges; buildings unsnapped {}/{}; facilities unsnapped {}/{}",
        g.node_count(),
        g.edge_count(),
        bld.errors().len(),
        bld.len(),
        fac_pts.errors().len(),
        fac_pts.len()
    );
    assert!(
        bld.errors().len() * 100 <= bld.len(),
        "more than 1% of buildings cannot join the network"
    );
    let mut s = Searcher::new();
    let (mut agree, mut total, mut reached_outside, mut water_hits, mut water_checked) =
        (0usize, 0usize, 0, 0, 0);
    let cell = g.water().grid().cell_m;
    for p in [Profile::Standard, Profile::Elder, Profile::Wheelchair] {
        for &(lon, lat) in &PLACES {
            let Ok(snap) = g.snap_lonlat(lon, lat, 300.0, p) else {
                continue;
            };
            let cs = isochrones(
                g,
                &mut s,
                &[Origin::new(snap, p)],
                p,
                bld,
                pop,
                &[5.0, 10.0, 15.0],
            );
            for c in &cs {
                for (i, &(blon, blat)) in lonlat.iter().enumerate() {
                    let reached = bld
                        .snap(i, p)
                        .and_then(|sn| s.reach(g, sn))
                        .is_some_and(|r| r.time_s <= c.minutes * 60.0);
                    let inside = c.polygon.intersects(&Point::new(blon, blat));
                    total += 1;
                    agree += usize::from(reached == inside);
                    reached_outside += usize::from(reached && !inside);
                }
            }
            // Water farther than a cell diagonal from every walkway is never covered.
            let c15 = &cs[2];
            for wp in &water {
                let Some(bb) = wp.bounding_rect() else {
                    continue;
                };
                let w_m = proj.project(wp);
                let n = 120;
                for ix in 0..=n {
                    for iy in 0..=n {
                        let lon =
                            bb.min().x + (bb.max().x - bb.min().x) * f64::from(ix) / f64::from(n);
                        let lat =
                            bb.min().y + (bb.max().y - bb.min().y) * f64::from(iy) / f64::from(n);
                        let pt = Point::new(lon, lat);
                        if !wp.intersects(&pt) {
                            continue;
                        }
                        let (x, y) = proj.to_xy(lon, lat);
                        if g.nearest_walkway_m(x, y)
                            .is_some_and(|m| m <= cell * std::f64::consts::SQRT_2)
                        {
                            continue;
                        }
                        // Cells whose centre is on land may overhang the shore by up to a cell.
                        let shore_m = std::iter::once(w_m.exterior())
                            .chain(w_m.interiors())
                            .map(|r| Euclidean.distance(&Point::new(x, y), r))
                            .fold(f64::INFINITY, f64::min);
                        if shore_m <= cell * std::f64::consts::SQRT_2 {
                            continue;
                        }
                        water_checked += 1;
                        let hit = c15.polygon.intersects(&pt);
                        if hit {
                            eprintln!(
                                "water covered at ({x:.0}, {y:.0}), {shore_m:.0} m from the shore"
                            );
                        }
                        water_hits += usize::from(hit);
                    }
                }
            }
        }
    }
    let rate = agree as f64 / total.max(1) as f64;
    eprintln!(
        "inside/outside agreement {rate:.4} ({agree}/{total}); reached outside {reached_outside}; water covered {water_hits}/{water_checked}"
    );
    assert_eq!(reached_outside, 0);
    assert!(rate >= 0.99, "agreement {rate:.4}");
    assert_eq!(water_hits, 0, "isochrones cover open water");
}
