//! The walk engine against a plain reference Dijkstra written here, on many random towns.
//!
//! The reference builds its own adjacency list from the walkways (vertices keyed by their
//! projected position), splits segments at the snapped origins and targets into virtual
//! nodes, and runs a textbook BinaryHeap Dijkstra. Only the per-segment cost formula
//! (`Profile::segment_cost_s`) and the snapping are shared with the engine.

// Test helpers may unwrap, expect and panic: a failing test should stop loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use geo::{Intersects, Point};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use servicemap::model::WalkwayKind;
use servicemap::walk::synthetic::{Town, TownSpec, town};
use servicemap::walk::{
    NearestQuery, Origin, Profile, Searcher, Snap, SnappedPoints, WalkGraph, isochrones, nearest,
};

type Key = (u64, u64);

fn key(xy: [f64; 2]) -> Key {
    ((xy[0] + 0.0).to_bits(), (xy[1] + 0.0).to_bits())
}

/// One segment of the reference network, both directions.
#[derive(Clone, Copy)]
struct Seg {
    a: usize,
    b: usize,
    cost_ab: f64,
    cost_ba: f64,
    len_m: f64,
}

/// The reference network: nodes keyed by projected position, segments in a plain list.
struct Reference {
    node_of: HashMap<Key, usize>,
    segs: Vec<Seg>,
    n: usize,
}

impl Reference {
    fn new(town: &Town, p: Profile) -> Reference {
        let mut node_of = HashMap::new();
        let mut segs = Vec::new();
        for w in &town.walkways {
            let xy: Vec<[f64; 2]> = w
                .lonlat
                .iter()
                .map(|&(lon, lat)| {
                    let (x, y) = town.proj.to_xy(lon, lat);
                    [x, y]
                })
                .collect();
            for i in 1..xy.len() {
                let n = node_of.len();
                let a = *node_of.entry(key(xy[i - 1])).or_insert(n);
                let n = node_of.len();
                let b = *node_of.entry(key(xy[i])).or_insert(n);
                if a == b {
                    continue;
                }
                let run = (xy[i][0] - xy[i - 1][0]).hypot(xy[i][1] - xy[i - 1][1]);
                let rise = w.elevation_m.as_ref().map_or(0.0, |e| e[i] - e[i - 1]);
                segs.push(Seg {
                    a,
                    b,
                    cost_ab: p.segment_cost_s(w.kind, run, rise),
                    cost_ba: p.segment_cost_s(w.kind, run, -rise),
                    len_m: run.hypot(rise),
                });
            }
        }
        let n = node_of.len();
        Reference { node_of, segs, n }
    }

    /// The reference segment matching an engine snap (same end positions).
    fn seg_of(&self, g: &WalkGraph, s: &Snap) -> usize {
        let e = g.edge(s.edge);
        let a = self.node_of[&key(g.node_xy(e.from))];
        let b = self.node_of[&key(g.node_xy(e.to))];
        let hits: Vec<usize> = (0..self.segs.len())
            .filter(|&i| self.segs[i].a == a && self.segs[i].b == b)
            .collect();
        assert_eq!(hits.len(), 1, "synthetic towns have no parallel segments");
        hits[0]
    }

    /// Times and distances from `origins` (snap, start_s, start_m) to every node and to every
    /// point in `points` (virtual nodes appended after the real ones, in order).
    fn dijkstra(
        &self,
        g: &WalkGraph,
        origins: &[(Snap, f64, f64)],
        points: &[Option<Snap>],
    ) -> RefResult {
        // Split segments at every virtual point, sorted by fraction.
        let mut on_seg: HashMap<usize, Vec<(f64, usize)>> = HashMap::new();
        let n_real = self.n;
        let mut n = n_real;
        let mut origin_nodes = Vec::new();
        for (s, t0, d0) in origins {
            on_seg
                .entry(self.seg_of(g, s))
                .or_default()
                .push((s.fraction, n));
            origin_nodes.push((n, *t0, *d0));
            n += 1;
        }
        let mut point_nodes = Vec::new();
        for p in points {
            match p {
                Some(s) => {
                    on_seg
                        .entry(self.seg_of(g, s))
                        .or_default()
                        .push((s.fraction, n));
                    point_nodes.push(Some(n));
                    n += 1;
                }
                None => point_nodes.push(None),
            }
        }
        let mut adj: Vec<Vec<(usize, f64, f64)>> = vec![Vec::new(); n];
        let link = |adj: &mut Vec<Vec<(usize, f64, f64)>>,
                    a: usize,
                    b: usize,
                    cab: f64,
                    cba: f64,
                    len: f64| {
            if cab.is_finite() {
                adj[a].push((b, cab, len));
            }
            if cba.is_finite() {
                adj[b].push((a, cba, len));
            }
        };
        for (i, s) in self.segs.iter().enumerate() {
            match on_seg.get_mut(&i) {
                None => link(&mut adj, s.a, s.b, s.cost_ab, s.cost_ba, s.len_m),
                Some(list) => {
                    list.sort_by(|x, y| x.0.total_cmp(&y.0));
                    let mut chain = vec![(0.0, s.a)];
                    chain.extend(list.iter().copied());
                    chain.push((1.0, s.b));
                    for w in chain.windows(2) {
                        let df = w[1].0 - w[0].0;
                        let part = |c: f64| if df <= 0.0 { 0.0 } else { c * df };
                        link(
                            &mut adj,
                            w[0].1,
                            w[1].1,
                            part(s.cost_ab),
                            part(s.cost_ba),
                            s.len_m * df,
                        );
                    }
                }
            }
        }
        let mut time = vec![f64::INFINITY; n];
        let mut dist = vec![f64::INFINITY; n];
        let mut heap = BinaryHeap::new();
        for &(v, t0, d0) in &origin_nodes {
            if t0 < time[v] {
                time[v] = t0;
                dist[v] = d0;
                heap.push(Reverse((t0.to_bits(), v)));
            }
        }
        while let Some(Reverse((tb, u))) = heap.pop() {
            let t = f64::from_bits(tb);
            if t > time[u] {
                continue;
            }
            for &(v, c, l) in &adj[u] {
                let nt = t + c;
                if nt < time[v] {
                    time[v] = nt;
                    dist[v] = dist[u] + l;
                    heap.push(Reverse((nt.to_bits(), v)));
                }
            }
        }
        let pt_time = point_nodes
            .iter()
            .map(|v| v.map_or(f64::INFINITY, |v| time[v]))
            .collect();
        let pt_dist = point_nodes
            .iter()
            .map(|v| v.map_or(f64::INFINITY, |v| dist[v]))
            .collect();
        let mut node_time = time;
        node_time.truncate(n_real);
        RefResult {
            node_time,
            pt_time,
            pt_dist,
        }
    }
}

/// Reference answers: per real node, and per point (time and distance, `+inf` when unreached).
struct RefResult {
    node_time: Vec<f64>,
    pt_time: Vec<f64>,
    pt_dist: Vec<f64>,
}

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

#[test]
fn search_matches_reference_dijkstra_on_random_towns() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed_0001);
    let mut searcher = Searcher::new();
    let mut compared = 0usize;
    for case in 0..60u64 {
        let spec = random_spec(&mut rng, 1000 + case);
        let town = town(&spec);
        if town.walkways.is_empty() {
            continue;
        }
        let g = WalkGraph::build(&town.walkways, &town.water, &town.proj);
        let targets = SnappedPoints::build(&g, &town.facilities, &town.facility_tags, 300.0);
        for p in Profile::ALL {
            let origins = random_origins(&mut rng, &g, &town, p);
            if origins.is_empty() {
                continue;
            }
            let reference = Reference::new(&town, p);
            let o: Vec<(Snap, f64, f64)> = origins
                .iter()
                .map(|o| (o.snap, o.start_s, o.start_m))
                .collect();
            let pts: Vec<Option<Snap>> = (0..targets.len())
                .map(|i| targets.snap(i, p).copied())
                .collect();
            let RefResult {
                node_time: node_t,
                pt_time: pt_t,
                pt_dist: pt_d,
            } = reference.dijkstra(&g, &o, &pts);
            let max_s = if rng.random_bool(0.5) {
                f64::INFINITY
            } else {
                rng.random_range(30.0..600.0)
            };
            searcher.run(&g, &origins, p, max_s);
            for n in 0..g.node_count() {
                let id = servicemap::walk::NodeId(n as u32);
                let r = reference.node_of[&key(g.node_xy(id))];
                let want = node_t[r];
                let got = searcher.node_time_s(id);
                if want.is_finite() && want <= max_s {
                    assert!(
                        (got - want).abs() < 1e-6,
                        "case {case} {p}: node {n}: {got} vs {want}"
                    );
                    compared += 1;
                } else {
                    assert!(
                        got.is_infinite(),
                        "case {case} {p}: node {n} beyond the bound reached at {got}"
                    );
                }
            }
            for (i, s) in pts.iter().enumerate() {
                let got = s.and_then(|s| searcher.reach(&g, &s));
                if pt_t[i].is_finite() && pt_t[i] <= max_s {
                    let r =
                        got.unwrap_or_else(|| panic!("case {case} {p}: target {i} not reached"));
                    assert!(
                        (r.time_s - pt_t[i]).abs() < 1e-6,
                        "case {case} {p}: target {i}: {} vs {}",
                        r.time_s,
                        pt_t[i]
                    );
                    assert!(
                        (r.dist_m - pt_d[i]).abs() < 1e-6,
                        "case {case} {p}: target {i}: {} m vs {} m",
                        r.dist_m,
                        pt_d[i]
                    );
                    compared += 1;
                } else {
                    assert!(
                        got.is_none(),
                        "case {case} {p}: target {i} beyond the bound"
                    );
                }
            }
        }
    }
    assert!(compared > 5000, "too few comparisons: {compared}");
}

#[test]
fn nearest_matches_brute_force() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed_0002);
    let mut searcher = Searcher::new();
    let mut checked = 0;
    for case in 0..60u64 {
        let spec = random_spec(&mut rng, 2000 + case);
        let town = town(&spec);
        if town.walkways.is_empty() {
            continue;
        }
        let g = WalkGraph::build(&town.walkways, &town.water, &town.proj);
        let targets = SnappedPoints::build(&g, &town.facilities, &town.facility_tags, 300.0);
        for p in Profile::ALL {
            let origins = random_origins(&mut rng, &g, &town, p);
            if origins.is_empty() {
                continue;
            }
            let reference = Reference::new(&town, p);
            let o: Vec<(Snap, f64, f64)> = origins
                .iter()
                .map(|o| (o.snap, o.start_s, o.start_m))
                .collect();
            let pts: Vec<Option<Snap>> = (0..targets.len())
                .map(|i| targets.snap(i, p).copied())
                .collect();
            let rr = reference.dijkstra(&g, &o, &pts);
            let k = rng.random_range(1..=6);
            let tags: Vec<u32> = (0..spec.categories)
                .filter(|_| rng.random_bool(0.6))
                .collect();
            let use_tags = rng.random_bool(0.7);
            let max_s = if rng.random_bool(0.5) {
                1e9
            } else {
                rng.random_range(60.0..900.0)
            };
            // Brute force: every accepted target's reference time including its connector.
            let mut want: Vec<(f64, f64, usize)> = (0..pts.len())
                .filter(|&i| !use_tags || tags.contains(&town.facility_tags[i]))
                .filter_map(|i| {
                    let s = pts[i]?;
                    let t = rr.pt_time[i] + s.connector_s(p);
                    (t <= max_s).then_some((t, rr.pt_dist[i] + s.offset_m, i))
                })
                .collect();
            want.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.2.cmp(&b.2)));
            want.truncate(k);
            let q = NearestQuery {
                profile: p,
                k,
                max_s,
                tags: use_tags.then_some(tags.as_slice()),
                with_route: true,
            };
            let got = nearest(&g, &targets, &mut searcher, &origins, &q);
            assert_eq!(got.len(), want.len(), "case {case} {p}: count");
            for (gi, wi) in got.iter().zip(&want) {
                assert!(
                    (gi.walk_s - wi.0).abs() < 1e-6,
                    "case {case} {p}: {} vs {}",
                    gi.walk_s,
                    wi.0
                );
                assert!(
                    (gi.walk_m - wi.1).abs() < 1e-6,
                    "case {case} {p}: {} m vs {} m",
                    gi.walk_m,
                    wi.1
                );
                let route = gi.route.as_ref().expect("route asked for");
                assert!(route.0.len() >= 2 || gi.walk_m < 1e-9);
                checked += 1;
            }
        }
    }
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
            let mut count = 0;
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
                    if !inside {
                        reached_outside += 1;
                    }
                }
            }
            assert_eq!(count, c.buildings);
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
