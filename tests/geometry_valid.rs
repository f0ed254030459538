//! Every polygon the service returns is valid by OGC Simple Features as GEOS (the engine of
//! PostGIS, QGIS and shapely) judges it, wound as RFC 7946 asks, closed, and written with at
//! most 7 decimals; isochrones keep out of water and hold the households they report.
//!
//! GEOS is the oracle (the `geos` crate over Debian's libgeos, installed by `.ci/run`); geo's
//! own `Validation` is checked too. Isochrones are computed in-process for speed (thousands of
//! them, random origins in the boundary, 1–30 minutes, every profile, unions of several
//! origins, a fixed seed); a few go through HTTP to check what clients actually receive.

// Test helpers may unwrap, expect and panic: a failing test should stop loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::sync::Arc;

use geo::{Contains, Coord, LineString, MapCoords, MultiPolygon, Point, Polygon, Validation};
use geos::Geom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use servicemap::analysis::WalkWorld;
use servicemap::model::{LayerId, WalkwayKind};
use servicemap::service::Service;
use servicemap::store::write::round7;
use servicemap::walk::{Contour, EdgeId, Origin, Profile, Searcher, isochrones};

use common::client;

/// `geodata/` loaded once for every test of this binary.
fn geodata() -> Arc<Service> {
    Arc::clone(common::geodata())
}

/// The polygons of a layer (Polygon and MultiPolygon features), WGS84.
fn layer_polygons(svc: &Service, layer: LayerId) -> Vec<Polygon<f64>> {
    let mut out = Vec::new();
    for f in svc.dataset.layer(layer).unwrap_or(&[]) {
        match &f.geometry {
            geo::Geometry::Polygon(p) => out.push(p.clone()),
            geo::Geometry::MultiPolygon(mp) => out.extend(mp.0.iter().cloned()),
            _ => {}
        }
    }
    out
}

/// The geometry as written out: every coordinate rounded to 7 decimals.
fn as_written(mp: &MultiPolygon<f64>) -> MultiPolygon<f64> {
    mp.map_coords(|c| Coord {
        x: round7(c.x),
        y: round7(c.y),
    })
}

fn signed_area(r: &LineString<f64>) -> f64 {
    r.0.windows(2)
        .map(|w| w[0].x * w[1].y - w[1].x * w[0].y)
        .sum::<f64>()
        / 2.0
}

/// Everything wrong with one multipolygon as GEOS, geo and RFC 7946 see it (empty when valid).
fn problems(mp: &MultiPolygon<f64>) -> Vec<String> {
    let mut out = Vec::new();
    for (i, p) in mp.0.iter().enumerate() {
        for (k, r) in std::iter::once(p.exterior())
            .chain(p.interiors())
            .enumerate()
        {
            if r.0.len() < 4 || r.0.first() != r.0.last() {
                out.push(format!(
                    "polygon {i} ring {k}: not closed or under 4 positions"
                ));
                continue;
            }
            let a = signed_area(r);
            if (k == 0) != (a > 0.0) {
                out.push(format!(
                    "polygon {i} ring {k}: wound the wrong way (signed area {a:e})"
                ));
            }
        }
    }
    if !mp.is_valid() {
        out.push(format!(
            "geo: {}",
            mp.validation_errors()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    match geos::Geometry::try_from(mp) {
        Ok(g) => match g.is_valid_reason() {
            Ok(reason) if reason == "Valid Geometry" => {}
            Ok(reason) => out.push(format!("GEOS: {reason}")),
            Err(e) => out.push(format!("GEOS failed: {e}")),
        },
        Err(e) => out.push(format!("GEOS cannot read it: {e}")),
    }
    out
}

/// A random point inside the boundary, given in WGS84.
fn random_point(rng: &mut ChaCha8Rng, boundary: &[Polygon<f64>]) -> (f64, f64) {
    use geo::BoundingRect;
    let bb = boundary
        .iter()
        .filter_map(BoundingRect::bounding_rect)
        .reduce(|a, b| {
            geo::Rect::new(
                Coord {
                    x: a.min().x.min(b.min().x),
                    y: a.min().y.min(b.min().y),
                },
                Coord {
                    x: a.max().x.max(b.max().x),
                    y: a.max().y.max(b.max().y),
                },
            )
        })
        .expect("a boundary");
    loop {
        let lon = rng.random_range(bb.min().x..bb.max().x);
        let lat = rng.random_range(bb.min().y..bb.max().y);
        if boundary.iter().any(|b| b.contains(&Point::new(lon, lat))) {
            return (lon, lat);
        }
    }
}

const PROFILES: [Profile; 3] = [Profile::Standard, Profile::Elder, Profile::Wheelchair];

/// One random isochrone request: origins (1, or 2–4 for a union), minutes, profile.
struct Ask {
    origins: Vec<(f64, f64)>,
    minutes: Vec<f64>,
    profile: Profile,
}

impl Ask {
    /// The engine's contours for this request; `None` when an origin does not snap.
    fn isochrones(&self, w: &WalkWorld, searcher: &mut Searcher) -> Option<Vec<Contour>> {
        let origins = self
            .origins
            .iter()
            .map(|&(lon, lat)| {
                w.graph
                    .snap_lonlat(lon, lat, 300.0, self.profile)
                    .ok()
                    .map(|s| Origin::new(s, self.profile))
            })
            .collect::<Option<Vec<Origin>>>()?;
        Some(isochrones(
            &w.graph,
            searcher,
            &origins,
            self.profile,
            &w.building_snaps,
            &w.population,
            &self.minutes,
        ))
    }
}

fn random_ask(rng: &mut ChaCha8Rng, boundary: &[Polygon<f64>]) -> Ask {
    let n_origins = if rng.random_bool(0.2) {
        rng.random_range(2..=4)
    } else {
        1
    };
    let origins = (0..n_origins)
        .map(|_| random_point(rng, boundary))
        .collect();
    // Whole minutes and odd fractions both: contours cut edges anywhere.
    let mut minutes: Vec<f64> = (0..rng.random_range(1..=3))
        .map(|_| {
            if rng.random_bool(0.5) {
                f64::from(rng.random_range(1..=30))
            } else {
                (rng.random_range(1.0..30.0_f64) * 100.0).round() / 100.0
            }
        })
        .collect();
    minutes.sort_by(f64::total_cmp);
    minutes.dedup();
    Ask {
        origins,
        minutes,
        profile: PROFILES[rng.random_range(0..PROFILES.len())],
    }
}

#[test]
fn thousands_of_random_isochrones_are_valid() {
    let svc = geodata();
    let w = svc.walk.as_ref().expect("a walk world");
    let boundary = layer_polygons(&svc, LayerId::Boundary);
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    let mut searcher = Searcher::new();
    let (mut polygons, mut empty, mut unsnappable, mut invalid) = (0usize, 0usize, 0usize, 0usize);
    let mut first_problems = Vec::new();
    while polygons < 2_000 {
        let ask = random_ask(&mut rng, &boundary);
        let Some(cs) = ask.isochrones(w, &mut searcher) else {
            unsnappable += 1;
            continue;
        };
        for c in &cs {
            if c.polygon.0.is_empty() {
                empty += 1;
                continue;
            }
            polygons += 1;
            let p = problems(&as_written(&c.polygon));
            if !p.is_empty() {
                invalid += 1;
                if first_problems.len() < 5 {
                    first_problems.push(format!(
                        "{:?} {} min {}: {}",
                        ask.origins,
                        c.minutes,
                        ask.profile.as_str(),
                        p.join(" | ")
                    ));
                }
            }
        }
    }
    eprintln!(
        "{polygons} isochrone polygons checked ({empty} empty, {unsnappable} asks off the network): {invalid} invalid"
    );
    assert_eq!(invalid, 0, "invalid isochrones, first: {first_problems:#?}");
}

/// Every polygon of a GeoJSON geometry value, with the decimals as written.
fn polygons_of(g: &Value) -> (MultiPolygon<f64>, usize) {
    let mut max_decimals = 0;
    let pos = |p: &Value, max_decimals: &mut usize| -> Coord<f64> {
        for v in p.as_array().expect("position") {
            let s = v.to_string();
            let d = s.split_once('.').map_or(0, |(_, f)| f.len());
            *max_decimals = (*max_decimals).max(d);
        }
        Coord {
            x: p[0].as_f64().expect("x"),
            y: p[1].as_f64().expect("y"),
        }
    };
    let poly = |rings: &Value, max_decimals: &mut usize| -> Polygon<f64> {
        let rs: Vec<LineString<f64>> = rings
            .as_array()
            .expect("rings")
            .iter()
            .map(|r| {
                LineString(
                    r.as_array()
                        .expect("ring")
                        .iter()
                        .map(|p| pos(p, max_decimals))
                        .collect(),
                )
            })
            .collect();
        let mut it = rs.into_iter();
        let ext = it.next().expect("exterior");
        Polygon::new(ext, it.collect())
    };
    let mp = match g["type"].as_str() {
        Some("Polygon") => MultiPolygon(vec![poly(&g["coordinates"], &mut max_decimals)]),
        Some("MultiPolygon") => MultiPolygon(
            g["coordinates"]
                .as_array()
                .expect("polygons")
                .iter()
                .map(|p| poly(p, &mut max_decimals))
                .collect(),
        ),
        other => panic!("not a polygon: {other:?}"),
    };
    (mp, max_decimals)
}

#[actix_web::test]
async fn polygons_over_http_are_valid_wound_and_rounded() {
    let c = client(geodata()).await;
    let uris = [
        "/isochrone?lon=106.533&lat=29.470&minutes=5,10,15".to_string(),
        "/isochrone?lon=106.514&lat=29.476&minutes=7.5,30&profile=elder".to_string(),
        "/isochrone?origins=106.533,29.470;106.552,29.471&minutes=15&profile=wheelchair"
            .to_string(),
        "/isochrone?lon=106.539&lat=29.466&minutes=15&coords=gcj02".to_string(),
        "/coverage?category=elder_canteen&minutes=15&profile=elder&level=microgrid".to_string(),
        "/coverage?category=pharmacy&level=community&coords=bd09".to_string(),
        "/gaps?category=elder_canteen&minutes=5&profile=elder".to_string(),
        "/audit?level=grid".to_string(),
    ];
    let mut checked = 0;
    for uri in &uris {
        let r = c.get(uri).await;
        assert_eq!(r.status, 200, "{uri}: {}", r.text());
        let v = r.json();
        for f in v["features"].as_array().expect("features") {
            let g = &f["geometry"];
            if !matches!(g["type"].as_str(), Some("Polygon" | "MultiPolygon")) {
                continue;
            }
            let (mp, decimals) = polygons_of(g);
            assert!(decimals <= 7, "{uri} {}: {decimals} decimals", f["id"]);
            let p = problems(&mp);
            assert!(p.is_empty(), "{uri} {}: {p:?}", f["id"]);
            // An isochrone's area_m2 is the ellipsoidal area of the polygon it comes with.
            if let (Some(a), false) = (f["properties"]["area_m2"].as_f64(), uri.contains("coords="))
            {
                let want = geo::GeodesicArea::geodesic_area_unsigned(&mp);
                assert!(
                    (a - want).abs() <= 1.0,
                    "{uri} {}: area_m2 {a}, polygon {want}",
                    f["id"]
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 1_000, "only {checked} polygons checked");
}

/// Cells a bridge stroke touches lie within a cell diagonal of the bridge (25 m cells).
const DECK_REACH_M: f64 = 25.0 * std::f64::consts::SQRT_2 + 0.5;

#[test]
fn isochrones_keep_out_of_water_and_hold_the_households_they_report() {
    let svc = geodata();
    let w = svc.walk.as_ref().expect("a walk world");
    let proj = *w.graph.proj();
    let boundary = layer_polygons(&svc, LayerId::Boundary);
    let to_geos = |mp: &MultiPolygon<f64>| geos::Geometry::try_from(mp).expect("GEOS reads it");
    let water_m: Vec<Polygon<f64>> = layer_polygons(&svc, LayerId::Water)
        .iter()
        .map(|p| proj.project(p))
        .collect();
    let water = to_geos(&MultiPolygon(water_m))
        .unary_union()
        .expect("union");
    // The decks of bridges may stay over water: everything near a bridge walkway.
    let bridges: Vec<geos::Geometry> = svc
        .dataset
        .layer(LayerId::Walkways)
        .unwrap_or(&[])
        .iter()
        .filter(|f| f.str_prop("kind") == Some("bridge"))
        .filter_map(|f| match &f.geometry {
            geo::Geometry::LineString(ls) => Some(proj.project(ls)),
            _ => None,
        })
        .map(|ls| {
            geos::Geometry::try_from(&ls)
                .expect("line")
                .buffer(DECK_REACH_M, 8)
                .expect("buffer")
        })
        .collect();
    // And so may the square a building the data places in water keeps around itself.
    let mut allowed = bridges;
    for b in w.buildings.iter() {
        let (x, y) = proj.to_xy(b.position.x(), b.position.y());
        let pt = geos::Geometry::try_from(&Point::new(x, y)).expect("point");
        if water.contains(&pt).expect("contains") {
            allowed.push(pt.buffer(1.0, 8).expect("buffer"));
        }
    }
    let open_water = if allowed.is_empty() {
        water
    } else {
        let allowed = geos::Geometry::create_geometry_collection(allowed)
            .expect("collection")
            .unary_union()
            .expect("union");
        water.difference(&allowed).expect("difference")
    };
    let positions: Vec<Point<f64>> = w.buildings.iter().map(|b| b.position).collect();

    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut searcher = Searcher::new();
    let (mut checked, mut worst_water_m2, mut worst_hh) = (0usize, 0.0_f64, 0.0_f64);
    let (mut wet, mut off) = (Vec::new(), Vec::new());
    while checked < 200 {
        let ask = random_ask(&mut rng, &boundary);
        let Some(cs) = ask.isochrones(w, &mut searcher) else {
            continue;
        };
        for c in cs.iter().filter(|c| !c.polygon.0.is_empty()) {
            checked += 1;
            let written = as_written(&c.polygon);
            let poly_m = to_geos(&proj.project(&written));
            let wet_m2 = poly_m
                .intersection(&open_water)
                .expect("intersection")
                .area()
                .expect("area");
            worst_water_m2 = worst_water_m2.max(wet_m2);
            if wet_m2 > 1.0 {
                wet.push(format!(
                    "{:?} {} min: {wet_m2:.1} m²",
                    ask.origins, c.minutes
                ));
            }
            let held: u64 = positions
                .iter()
                .zip(&w.population)
                .filter(|(pt, _)| written.contains(*pt))
                .map(|(_, pop)| pop.households)
                .sum();
            let rel = (held as f64 - c.households as f64).abs() / (c.households.max(1) as f64);
            worst_hh = worst_hh.max(rel);
            if rel > 0.01 {
                off.push(format!(
                    "{:?} {} min {}: holds {held}, reports {}",
                    ask.origins,
                    c.minutes,
                    ask.profile.as_str(),
                    c.households
                ));
            }
        }
    }
    eprintln!(
        "{checked} isochrones: worst open-water overlap {worst_water_m2:.2} m², {} over 1 m²; worst household mismatch {:.2}%, {} over 1%",
        wet.len(),
        worst_hh * 100.0,
        off.len()
    );
    assert!(wet.is_empty(), "isochrones over open water: {wet:#?}");
    assert!(off.is_empty(), "households held ≠ reported: {off:#?}");
}

/// Every point of a bridge an isochrone reaches and draws lies in its polygon: the water is
/// cut, but not from the deck of a reached bridge. Origins on bridges (seeded), so that decks
/// meet at corners and meet the shore in every way the data has. This once failed: a cut of
/// two deck pieces meeting at a corner came out of i_overlay with a hole wound the wrong way,
/// and whole deck cells went with the water.
#[test]
fn reached_bridge_decks_stay_in_the_polygon() {
    let svc = geodata();
    let w = svc.walk.as_ref().expect("a walk world");
    let g = &w.graph;
    let proj = *g.proj();
    let bridges: Vec<usize> = (0..g.edge_count())
        .filter(|&i| g.edges()[i].kind == WalkwayKind::Bridge)
        .collect();
    assert!(bridges.len() > 10, "{} bridge edges", bridges.len());
    let cell_m = g.water().grid().cell_m;
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut searcher = Searcher::new();
    let (mut checked, mut outside) = (0usize, Vec::new());
    for _ in 0..60 {
        let e = EdgeId(bridges[rng.random_range(0..bridges.len())] as u32);
        let (lon, lat) = g.to_lonlat(g.point_on_edge(e, rng.random_range(0.1..0.9)));
        let ask = Ask {
            origins: vec![(lon, lat)],
            minutes: vec![f64::from(rng.random_range(2..=20))],
            profile: PROFILES[rng.random_range(0..PROFILES.len())],
        };
        let Some(cs) = ask.isochrones(w, &mut searcher) else {
            continue;
        };
        let p = ask.profile;
        for c in &cs {
            let t_s = c.minutes * 60.0 - 1.0;
            let poly = geos::Geometry::try_from(&proj.project(&as_written(&c.polygon)))
                .expect("GEOS reads it");
            for &i in &bridges {
                let id = EdgeId(i as u32);
                let edge = &g.edges()[i];
                let (tp, tq) = (
                    searcher.node_time_s(edge.from),
                    searcher.node_time_s(edge.to),
                );
                // Where the raster samples the edge: both ends, and two samples per cell
                // length along it (a stroke may cut a cell's corner between two samples, and
                // that cell stay unset).
                let (a, b) = (g.node_xy(edge.from), g.node_xy(edge.to));
                let n = ((b[0] - a[0]).hypot(b[1] - a[1]) / cell_m * 2.0) as u32 + 1;
                for k in 0..=n {
                    let f = f64::from(k) * (1.0 / f64::from(n));
                    // An upper bound of the time there (an origin on the edge may be sooner).
                    let t =
                        (tp + f * edge.cost_s(p, true)).min(tq + (1.0 - f) * edge.cost_s(p, false));
                    if t > t_s {
                        continue;
                    }
                    let [x, y] = g.point_on_edge(id, f);
                    let pt = geos::Geometry::try_from(&Point::new(x, y)).expect("point");
                    let d_m = poly.distance(&pt).expect("distance");
                    checked += 1;
                    // Rounding moves an outline by a centimetre, and an unreached building's
                    // square hole is at most a metre across.
                    if d_m > 1.0 {
                        outside.push(format!(
                            "{:?} {} min {}: edge {i} at {f}: {d_m:.1} m out",
                            ask.origins,
                            c.minutes,
                            p.as_str()
                        ));
                    }
                }
            }
        }
    }
    eprintln!("{checked} reached deck points, {} outside", outside.len());
    assert!(checked > 1000, "only {checked} deck points reached");
    assert!(
        outside.is_empty(),
        "deck points out of their isochrone: {outside:#?}"
    );
}
