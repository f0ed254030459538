//! The walk engine against a plain reference Dijkstra (`support/walk_reference.rs`), on many
//! random towns.

// Test helpers may unwrap, expect and panic: a failing test should stop loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

#[path = "support/walk_reference.rs"]
mod walk_reference;

use walk_reference::{RefResult, Reference, assert_same_nearest, brute_nearest, key, target_snaps};

use geo::{Intersects, Point};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use servicemap::model::WalkwayKind;
use servicemap::walk::synthetic::{Town, TownSpec, town};
use servicemap::walk::{
    NearestQuery, Origin, Profile, Searcher, Snap, SnappedPoints, WalkGraph, isochrones, nearest,
};

fn random_spec(rng: &mut ChaCha8Rng, seed: u64) -> TownSpec {
    let mut spec = TownSpec::small(seed);
    spec.nx = rng.random_range(3..=12);
    spec.ny = rng.random_range(3..=12);
    spec.p_missing = rng.random_range(0.0..0.45);
    spec.p_stairs = rng.random_range(0.0..0.3);
    spec.relief_m = if rng.random_bool(0.2) {
        0.0
    } else {
        rng.random_range(5.0..80.0)
    };
    spec.shape_points = rng.random_range(0..=2);
    spec.river = spec.ny >= 5 && rng.random_bool(0.3);
    spec.facilities = rng.random_range(1..40);
    spec.buildings = 10;
    spec
}

fn random_origins(rng: &mut ChaCha8Rng, g: &WalkGraph, town: &Town, p: Profile) -> Vec<Origin> {
    let (w, h) = (
        town.spec.nx as f64 * town.spec.block_m,
        town.spec.ny as f64 * town.spec.block_m,
    );
    let count = rng.random_range(1..=3);
    let mut out = Vec::new();
    for _ in 0..50 {
        if out.len() == count {
            break;
        }
        let (x, y) = (rng.random_range(-20.0..w), rng.random_range(-20.0..h));
        if let Ok(s) = g.snap_for(x, y, 300.0, p) {
            out.push(Origin::new(s, p));
        }
    }
    out
}

/// One random case of the oracle tests: a town, its graph, its snapped facilities, a profile,
/// origins on it, the reference network and the reference answer for every facility.
struct Case<'a> {
    label: String,
    /// Facility tags are `0..categories`.
    categories: u32,
    town: &'a Town,
    g: &'a WalkGraph,
    targets: &'a SnappedPoints,
    p: Profile,
    origins: Vec<Origin>,
    pts: Vec<Option<Snap>>,
    reference: Reference,
    rr: RefResult,
}

/// Runs `check` on 60 random towns (seeds from `seed_base`) × every profile with origins.
fn for_each_random_case(
    rng: &mut ChaCha8Rng,
    seed_base: u64,
    mut check: impl FnMut(&mut ChaCha8Rng, &Case<'_>),
) {
    for case in 0..60u64 {
        let spec = random_spec(rng, seed_base + case);
        let town = town(&spec);
        if town.walkways.is_empty() {
            continue;
        }
        let g = WalkGraph::build(&town.walkways, &town.water, &town.proj);
        let targets = SnappedPoints::build(&g, &town.facilities, &town.facility_tags, 300.0);
        for p in Profile::ALL {
            let origins = random_origins(rng, &g, &town, p);
            if origins.is_empty() {
                continue;
            }
            let reference = Reference::new(&town.walkways, &town.proj, p);
            let pts = target_snaps(&targets, p);
            let rr = reference.dijkstra(&g, &origins, &pts);
            let c = Case {
                label: format!("case {case} {p}"),
                categories: spec.categories,
                town: &town,
                g: &g,
                targets: &targets,
                p,
                origins,
                pts,
                reference,
                rr,
            };
            check(rng, &c);
        }
    }
}

#[test]
fn search_matches_reference_dijkstra_on_random_towns() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed_0001);
    let mut searcher = Searcher::new();
    let mut compared = 0usize;
    for_each_random_case(&mut rng, 1000, |rng, c| {
        let (g, label) = (c.g, &c.label);
        let max_s = if rng.random_bool(0.5) {
            f64::INFINITY
        } else {
            rng.random_range(30.0..600.0)
        };
        searcher.run(g, &c.origins, c.p, max_s);
        for n in 0..g.node_count() {
            let id = servicemap::walk::NodeId(n as u32);
            let want = c.rr.node_time[c.reference.node_of[&key(g.node_xy(id))]];
            let got = searcher.node_time_s(id);
            if want.is_finite() && want <= max_s {
                assert!(
                    (got - want).abs() < 1e-6,
                    "{label}: node {n}: {got} vs {want}"
                );
                compared += 1;
            } else {
                assert!(
                    got.is_infinite(),
                    "{label}: node {n} beyond the bound reached at {got}"
                );
            }
        }
        for (i, s) in c.pts.iter().enumerate() {
            let got = s.and_then(|s| searcher.reach(g, &s));
            let (want_s, want_m) = (c.rr.pt_time[i], c.rr.pt_dist[i]);
            if want_s.is_finite() && want_s <= max_s {
                let r = got.unwrap_or_else(|| panic!("{label}: target {i} not reached"));
                assert!(
                    (r.time_s - want_s).abs() < 1e-6,
                    "{label}: target {i}: {} vs {want_s}",
                    r.time_s
                );
                assert!(
                    (r.dist_m - want_m).abs() < 1e-6,
                    "{label}: target {i}: {} m vs {want_m} m",
                    r.dist_m
                );
                compared += 1;
            } else {
                assert!(got.is_none(), "{label}: target {i} beyond the bound");
            }
        }
    });
    assert!(compared > 5000, "too few comparisons: {compared}");
}

#[test]
fn nearest_matches_brute_force() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed_0002);
    let mut searcher = Searcher::new();
    let mut checked = 0;
    for_each_random_case(&mut rng, 2000, |rng, c| {
        let k = rng.random_range(1..=6);
        let tags: Vec<u32> = (0..c.categories).filter(|_| rng.random_bool(0.6)).collect();
        let use_tags = rng.random_bool(0.7);
        let max_s = if rng.random_bool(0.5) {
            1e9
        } else {
            rng.random_range(60.0..900.0)
        };
        let accept = |i: usize| !use_tags || tags.contains(&c.town.facility_tags[i]);
        let want = brute_nearest(&c.rr, &c.pts, c.p, accept, max_s, k);
        let q = NearestQuery {
            profile: c.p,
            k,
            max_s,
            tags: use_tags.then_some(tags.as_slice()),
            with_route: true,
        };
        let got = nearest(c.g, c.targets, &mut searcher, &c.origins, &q);
        checked += assert_same_nearest(&got, &want, &c.label);
        for gi in &got {
            let route = gi.route.as_ref().expect("route asked for");
            assert!(route.0.len() >= 2 || gi.walk_m < 1e-9);
        }
    });
    assert!(checked > 300, "too few nearest results checked: {checked}");
}

#[test]
fn wheelchair_routes_never_use_stairs() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed_0003);
    let mut searcher = Searcher::new();
    let mut paths = 0;
    for case in 0..30u64 {
        let mut spec = random_spec(&mut rng, 3000 + case);
        spec.p_stairs = 0.3;
        let town = town(&spec);
        if town.walkways.is_empty() {
            continue;
        }
        let g = WalkGraph::build(&town.walkways, &town.water, &town.proj);
        let origins = random_origins(&mut rng, &g, &town, Profile::Wheelchair);
        searcher.run(&g, &origins, Profile::Wheelchair, f64::INFINITY);
        for &n in searcher.settled() {
            for e in searcher.path_edges(&g, n) {
                assert_ne!(
                    g.edge(e).kind,
                    WalkwayKind::Stairs,
                    "case {case}: wheelchair path over stairs"
                );
            }
            paths += 1;
        }
        for o in &origins {
            assert_ne!(g.edge(o.snap.edge).kind, WalkwayKind::Stairs);
        }
    }
    assert!(paths > 100);
}

fn contains_lonlat(poly: &geo::MultiPolygon<f64>, lonlat: (f64, f64)) -> bool {
    poly.intersects(&Point::new(lonlat.0, lonlat.1))
}

#[test]
fn isochrone_contains_reached_buildings_and_excludes_the_rest() {
    let mut searcher = Searcher::new();
    let (mut agree, mut total, mut reached_outside) = (0usize, 0usize, 0usize);
    for seed in 0..6u64 {
        let mut spec = TownSpec::small(4000 + seed);
        spec.nx = 30;
        spec.ny = 30;
        spec.p_missing = 0.3;
        spec.river = seed % 2 == 0;
        spec.buildings = 1500;
        spec.relief_m = 60.0;
        let town = town(&spec);
        let g = WalkGraph::build(&town.walkways, &town.water, &town.proj);
        let bld = SnappedPoints::build(&g, &town.buildings, &[], 300.0);
        let origin = g
            .snap_for(700.0, 800.0, 300.0, Profile::Standard)
            .expect("snap");
        let minutes = [5.0, 10.0, 15.0];
        let cs = isochrones(
            &g,
            &mut searcher,
            &[Origin::new(origin, Profile::Standard)],
            Profile::Standard,
            &bld,
            &town.population,
            &minutes,
        );
        assert_eq!(cs.len(), 3);
        assert!(cs[0].area_m2 < cs[1].area_m2 && cs[1].area_m2 < cs[2].area_m2);
        assert!(cs[0].residents <= cs[1].residents && cs[1].residents <= cs[2].residents);
        for c in &cs {
            let t = c.minutes * 60.0;
            let (mut count, mut households, mut residents, mut residents_60plus) = (0, 0, 0, 0);
            for (i, &ll) in town.buildings.iter().enumerate() {
                let Some(s) = bld.snap(i, Profile::Standard) else {
                    continue;
                };
                let reached = searcher.reach(&g, s).is_some_and(|r| r.time_s <= t);
                let inside = contains_lonlat(&c.polygon, ll);
                total += 1;
                if reached == inside {
                    agree += 1;
                }
                if reached {
                    count += 1;
                    let pop = town.population[i];
                    households += pop.households;
                    residents += pop.residents;
                    residents_60plus += pop.residents_60plus;
                    if !inside {
                        reached_outside += 1;
                    }
                }
            }
            assert_eq!(count, c.buildings);
            assert_eq!(
                (households, residents, residents_60plus),
                (c.households, c.residents, c.residents_60plus),
                "the contour's sums are those of the buildings reached"
            );
        }
    }
    let rate = agree as f64 / total as f64;
    eprintln!("inside/outside agreement {rate:.4} ({agree}/{total})");
    assert_eq!(
        reached_outside, 0,
        "every reached building lies inside its contour"
    );
    assert!(rate >= 0.99, "agreement {rate:.4} ({agree}/{total})");
}

#[test]
fn river_is_crossed_only_on_the_bridge() {
    let mut spec = TownSpec::small(5000);
    spec.nx = 24;
    spec.ny = 16;
    spec.p_missing = 0.0;
    spec.p_stairs = 0.0;
    spec.relief_m = 0.0;
    spec.river = true;
    spec.buildings = 600;
    let town = town(&spec);
    let (r, bridge_col) = town.river_rows.expect("river");
    let b = spec.block_m;
    let (y_south, y_north) = (r as f64 * b + 0.3 * b, (r + 2) as f64 * b - 0.3 * b);
    let g = WalkGraph::build(&town.walkways, &town.water, &town.proj);
    let bld = SnappedPoints::build(&g, &town.buildings, &[], 300.0);
    // Start on the south bank, near the bridge column so the far bank is in reach.
    let x_origin = (bridge_col as f64 + 4.0) * b;
    let origin = g
        .snap_for(x_origin, (r as f64 - 1.0) * b, 300.0, Profile::Standard)
        .expect("snap");
    let mut searcher = Searcher::new();
    let cs = isochrones(
        &g,
        &mut searcher,
        &[Origin::new(origin, Profile::Standard)],
        Profile::Standard,
        &bld,
        &town.population,
        &[15.0],
    );
    let poly = &cs[0].polygon;
    // Buildings snap on their own bank, and north-bank nodes are reached over the bridge.
    for i in 0..town.buildings.len() {
        if let Some(s) = bld.snap(i, Profile::Standard) {
            let (bx, by) = (s.point_xy[0], s.point_xy[1]);
            assert!(
                (by < y_south) == (s.snapped_xy[1] < y_south)
                    || (bx - bridge_col as f64 * b).abs() < b,
                "building {i} snapped across the river"
            );
        }
    }
    let mut north = 0;
    for &n in searcher.settled() {
        if g.node_xy(n)[1] > y_north {
            north += 1;
            assert!(
                searcher
                    .path_edges(&g, n)
                    .iter()
                    .any(|&e| g.edge(e).kind == WalkwayKind::Bridge)
            );
        }
    }
    assert!(north > 0, "the far bank must be reachable over the bridge");
    // No point of the river is covered unless it shares a cell with a walkway (the bridge, or
    // a bank walkway whose cell straddles the shore): every covered water point lies within
    // a cell diagonal of some walkway.
    let cell = g.water().grid().cell_m;
    let near_walkway = |x: f64, y: f64| {
        g.edges().iter().any(|e| {
            let (a, c) = (g.node_xy(e.from), g.node_xy(e.to));
            let d = [c[0] - a[0], c[1] - a[1]];
            let t = (((x - a[0]) * d[0] + (y - a[1]) * d[1]) / (d[0] * d[0] + d[1] * d[1]))
                .clamp(0.0, 1.0);
            (a[0] + d[0] * t - x).hypot(a[1] + d[1] * t - y) <= cell * std::f64::consts::SQRT_2
        })
    };
    let mut far_water_points = 0;
    let mut x = -2.0 * b;
    while x < spec.nx as f64 * b {
        let mut y = y_south + 1.0;
        while y < y_north {
            if !near_walkway(x, y) {
                far_water_points += 1;
                let ll = town.proj.to_lonlat(x, y);
                assert!(
                    !contains_lonlat(poly, ll),
                    "river covered at ({x:.0}, {y:.0})"
                );
            }
            y += 5.0;
        }
        x += 5.0;
    }
    assert!(far_water_points > 1000, "{far_water_points}");
    // Without the bridge nothing on the far bank is reached or covered.
    let no_bridge: Vec<_> = town
        .walkways
        .iter()
        .filter(|w| w.kind != WalkwayKind::Bridge)
        .cloned()
        .collect();
    let g2 = WalkGraph::build(&no_bridge, &town.water, &town.proj);
    let bld2 = SnappedPoints::build(&g2, &town.buildings, &[], 300.0);
    let o2 = g2
        .snap_for(x_origin, (r as f64 - 1.0) * b, 300.0, Profile::Standard)
        .expect("snap");
    let cs2 = isochrones(
        &g2,
        &mut searcher,
        &[Origin::new(o2, Profile::Standard)],
        Profile::Standard,
        &bld2,
        &town.population,
        &[15.0],
    );
    use geo::BoundingRect;
    let bb = cs2[0].polygon.bounding_rect().expect("non-empty");
    let (_, y_max) = town.proj.to_xy(bb.max().x, bb.max().y);
    // Only cells straddling the near shore may poke into the river; nothing near the far bank.
    assert!(
        y_max <= y_south + cell + 1e-6,
        "far bank covered without a bridge: top at {y_max:.0} m, shore at {y_south:.0} m"
    );
}
