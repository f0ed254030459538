//! Data-level checks of the walk engine on a real data directory, when one is present:
//! `$SERVICEMAP_GEODATA` or `geodata/` in the crate. Without data the tests pass vacuously
//! (and say so), so the suite does not depend on the generated dataset.

use std::path::PathBuf;

use geo::{BoundingRect, Distance, Euclidean, Intersects, Point, Polygon};
use servicemap::model::{Building, Facility, LayerId, LocalProj, Walkway};
use servicemap::store::read_dir;
use servicemap::walk::{
    Origin, Population, Profile, Searcher, SnappedPoints, WalkGraph, isochrones,
};

struct Data {
    walkways: Vec<Walkway>,
    water: Vec<Polygon<f64>>,
    buildings: Vec<Building>,
    facilities: Vec<Facility>,
    proj: LocalProj,
}

fn load() -> Option<Data> {
    let dir = std::env::var_os("SERVICEMAP_GEODATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("geodata"));
    if !dir.join("walkways.geojson").exists() {
        eprintln!(
            "no walkways in {}: data-level walk checks skipped",
            dir.display()
        );
        return None;
    }
    let ds = read_dir(&dir).expect("readable data directory");
    let walkways: Vec<Walkway> = ds
        .layer(LayerId::Walkways)
        .unwrap_or(&[])
        .iter()
        .map(|f| Walkway::from_feature(f).expect("walkway"))
        .collect();
    let mut water = Vec::new();
    for f in ds.layer(LayerId::Water).unwrap_or(&[]) {
        match &f.geometry {
            geo::Geometry::Polygon(p) => water.push(p.clone()),
            geo::Geometry::MultiPolygon(mp) => water.extend(mp.0.iter().cloned()),
            _ => {}
        }
    }
    let buildings = ds
        .layer(LayerId::Buildings)
        .unwrap_or(&[])
        .iter()
        .map(|f| Building::from_feature(f).expect("building"))
        .collect();
    let facilities = ds
        .layer(LayerId::Facilities)
        .unwrap_or(&[])
        .iter()
        .map(|f| Facility::from_feature(f).expect("facility"))
        .collect();
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for w in &walkways {
        for &(lon, lat) in &w.lonlat {
            x0 = x0.min(lon);
            y0 = y0.min(lat);
            x1 = x1.max(lon);
            y1 = y1.max(lat);
        }
    }
    let proj = LocalProj::new((x0 + x1) / 2.0, (y0 + y1) / 2.0);
    Some(Data {
        walkways,
        water,
        buildings,
        facilities,
        proj,
    })
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
    let Some(d) = load() else { return };
    let g = WalkGraph::build(&d.walkways, &d.water, &d.proj);
    let lonlat: Vec<(f64, f64)> = d
        .buildings
        .iter()
        .map(|b| (b.position.x(), b.position.y()))
        .collect();
    let bld = SnappedPoints::build(&g, &lonlat, &[], 300.0);
    let pop: Vec<Population> = d
        .buildings
        .iter()
        .map(|b| Population {
            households: b.households,
            residents: b.residents,
            residents_60plus: b.residents_60plus,
        })
        .collect();
    let fac: Vec<(f64, f64)> = d
        .facilities
        .iter()
        .map(|f| (f.position.x(), f.position.y()))
        .collect();
    let fac_pts = SnappedPoints::build(&g, &fac, &[], 300.0);
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
                &g,
                &mut s,
                &[Origin::new(snap, p)],
                p,
                &bld,
                &pop,
                &[5.0, 10.0, 15.0],
            );
            for c in &cs {
                for (i, &(blon, blat)) in lonlat.iter().enumerate() {
                    let reached = bld
                        .snap(i, p)
                        .and_then(|sn| s.reach(&g, sn))
                        .is_some_and(|r| r.time_s <= c.minutes * 60.0);
                    let inside = c.polygon.intersects(&Point::new(blon, blat));
                    total += 1;
                    agree += usize::from(reached == inside);
                    reached_outside += usize::from(reached && !inside);
                }
            }
            // Water farther than a cell diagonal from every walkway is never covered.
            let c15 = &cs[2];
            for w in &d.water {
                let Some(bb) = w.bounding_rect() else {
                    continue;
                };
                let w_m = d.proj.project(w);
                let n = 120;
                for ix in 0..=n {
                    for iy in 0..=n {
                        let lon =
                            bb.min().x + (bb.max().x - bb.min().x) * f64::from(ix) / f64::from(n);
                        let lat =
                            bb.min().y + (bb.max().y - bb.min().y) * f64::from(iy) / f64::from(n);
                        let pt = Point::new(lon, lat);
                        if !w.intersects(&pt) {
                            continue;
                        }
                        let (x, y) = d.proj.to_xy(lon, lat);
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
