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

/// The nearest tables (walk::table) answer exactly as the search on the default data: random
/// origins over the data's extent and on nodes (fixed seed), every profile, k from 1 to
/// TABLE_K, several time bounds, one category, several, and all; routes and k above the
/// tables' depth must fall back.
#[test]
fn nearest_tables_answer_as_the_search() {
    use rand::{Rng, SeedableRng};
    use servicemap::walk::{NearestQuery, NodeId, TABLE_K, TableScratch, nearest};
    let (world, _) = load();
    let g = &world.graph;
    let (mut lo, mut hi) = ([f64::MAX; 2], [f64::MIN; 2]);
    for n in 0..g.node_count() {
        let xy = g.node_xy(NodeId(n as u32));
        for d in 0..2 {
            lo[d] = lo[d].min(xy[d]);
            hi[d] = hi[d].max(xy[d]);
        }
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1515);
    let mut searcher = Searcher::new();
    let mut scratch = TableScratch::default();
    let mut out = Vec::new();
    // Four categories (sizes 1 to 40 on the default data) and all: every table of all 25
    // categories in 3 profiles would be over the tables' memory budget, where the service
    // searches instead.
    let n_cat = world.category_ids.len().min(4) as u32;
    let mut compared = 0;
    for i in 0..900 {
        let p = [Profile::Standard, Profile::Elder, Profile::Wheelchair][i % 3];
        let (x, y) = if i % 4 == 0 {
            let xy = g.node_xy(NodeId(rng.random_range(0..g.node_count() as u32)));
            (xy[0], xy[1])
        } else {
            (
                rng.random_range(lo[0]..hi[0]),
                rng.random_range(lo[1]..hi[1]),
            )
        };
        let Ok(snap) = g.snap_for(x, y, 300.0, p) else {
            continue;
        };
        let origin = Origin::new(snap, p);
        let tags: Option<Vec<u32>> = match i % 5 {
            0 => None,
            1 => Some(vec![rng.random_range(0..n_cat), rng.random_range(0..n_cat)]),
            _ => Some(vec![rng.random_range(0..n_cat)]),
        };
        let q = NearestQuery {
            profile: p,
            k: rng.random_range(1..=TABLE_K),
            max_s: [60.0, 300.0, 900.0, 7200.0][rng.random_range(0..4)],
            tags: tags.as_deref(),
            with_route: false,
        };
        let want = nearest(g, &world.facility_snaps, &mut searcher, &[origin], &q);
        assert!(world.nearest_from_tables(&origin, &q, &mut scratch, &mut out));
        assert_eq!(want.len(), out.len(), "{q:?}: {want:?} vs {out:?}");
        for (a, b) in want.iter().zip(&out) {
            assert!(
                a.target == b.target
                    && (a.walk_s - b.walk_s).abs() <= 1e-6
                    && (a.walk_m - b.walk_m).abs() <= 1e-6,
                "{q:?} from {snap:?}: {want:?} vs {out:?}"
            );
        }
        compared += 1;
        for q in [
            NearestQuery {
                with_route: true,
                ..q
            },
            NearestQuery {
                k: TABLE_K + 1,
                ..q
            },
        ] {
            assert!(!world.nearest_from_tables(&origin, &q, &mut scratch, &mut out));
        }
    }
    assert!(compared > 600, "only {compared} origins snapped");
    // Past the memory budget tables are refused, not built, and the search answers instead.
    let refused: Vec<u32> = (0..world.category_ids.len() as u32)
        .filter(|&t| world.nearest_table(Some(t), Profile::Elder).is_none())
        .collect();
    assert!(!refused.is_empty(), "25 categories fit in the budget?");
    assert!(world.nearest_tables.bytes() <= servicemap::analysis::world::NEAREST_TABLES_BYTES_MAX);
    let xy = g.node_xy(NodeId(0));
    let snap = g.snap_for(xy[0], xy[1], 300.0, Profile::Elder).unwrap();
    let q = NearestQuery {
        profile: Profile::Elder,
        k: 3,
        max_s: 3600.0,
        tags: Some(&refused[..1]),
        with_route: false,
    };
    assert_eq!(world.tables_built(q.tags, q.profile), None);
    assert!(!world.nearest_from_tables(
        &Origin::new(snap, Profile::Elder),
        &q,
        &mut scratch,
        &mut out
    ));
    let tables = world.nearest_tables.built();
    let bytes: usize = tables.iter().map(|t| t.2.bytes()).sum();
    eprintln!(
        "{} tables, {bytes} bytes, {} bytes a table at most",
        tables.len(),
        tables.iter().map(|t| t.2.bytes()).max().unwrap_or(0)
    );
}

/// A one-contour isochrone draws the cells of edges walked whole within it without each run's
/// own time (`rasterise`); with a second, smaller contour every run's time is drawn. The
/// larger contour must come out the same either way, polygon and figures, from seeded origins
/// in every profile and at several sizes.
#[test]
fn one_contour_equals_the_same_contour_beside_a_smaller_one() {
    let (w, _) = load();
    let g = &w.graph;
    let mut s = Searcher::new();
    let mut seed = 0x0123_4567_89AB_CDEF_u64;
    let mut compared = 0;
    for k in 0..120 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let node = servicemap::walk::NodeId((seed % g.node_count() as u64) as u32);
        let p = [Profile::Standard, Profile::Elder, Profile::Wheelchair][k % 3];
        let minutes = [5.0, 10.0, 12.5, 15.0, 20.0][k % 5];
        let xy = g.node_xy(node);
        let Ok(snap) = g.snap_for(xy[0] + 3.0, xy[1] - 4.0, 300.0, p) else {
            continue;
        };
        let run = |s: &mut Searcher, m: &[f64]| {
            isochrones(
                g,
                s,
                &[Origin::new(snap, p)],
                p,
                &w.building_snaps,
                &w.population,
                m,
            )
        };
        let one = run(&mut s, &[minutes]);
        let two = run(&mut s, &[minutes / 2.0, minutes]);
        let (a, b) = (&one[0], &two[1]);
        assert_eq!(a.polygon, b.polygon, "origin {k}: {minutes} min, {p:?}");
        assert_eq!(a.area_m2.to_bits(), b.area_m2.to_bits());
        assert_eq!(
            (a.buildings, a.households, a.residents),
            (b.buildings, b.households, b.residents)
        );
        compared += usize::from(!a.polygon.0.is_empty());
    }
    assert!(compared > 100, "only {compared} isochrones compared");
}
