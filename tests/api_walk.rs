//! The walking endpoints over HTTP (`/nearest` in walk mode, `/isochrone`, `/profiles`),
//! through the same `App` the server runs: on the fixture, and on the default data in
//! `geodata/` (loaded once per test binary).

// Test helpers may unwrap, expect and panic: a failing test should stop loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::sync::Arc;

use common::{client, fixture_copy, mini_service};
use geo::{Area, Contains, Distance, Haversine, MultiPolygon, Point};
use serde_json::Value;
use servicemap::model::{Crs, FacilityId};
use servicemap::service::Service;
use servicemap::walk::{DEFAULT_MAX_SNAP_M, NearestQuery, Origin, Profile, Searcher, nearest};

/// 马王坪, the reference origin on the default data.
const MWP: (f64, f64) = (106.533, 29.470);
/// The 融汇 side of the peninsula, across the Yangtze from the north bank.
const RONGHUI: (f64, f64) = (106.512, 29.476);

/// `geodata/` loaded once for every test of this binary.
fn geodata() -> Arc<Service> {
    Arc::clone(common::geodata())
}

fn features(v: &Value) -> &Vec<Value> {
    v["features"].as_array().expect("features")
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn ids(v: &Value) -> Vec<String> {
    features(v)
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect()
}

fn point(c: &Value) -> Point<f64> {
    Point::new(num(&c[0]), num(&c[1]))
}

/// A GeoJSON geometry object (Polygon or MultiPolygon) as a geo MultiPolygon.
fn multipolygon(g: &Value) -> MultiPolygon<f64> {
    let gj: geojson::Geometry = serde_json::from_value(g.clone()).expect("GeoJSON geometry");
    let geom = geo::Geometry::<f64>::try_from(gj.value).expect("convertible");
    match geom {
        geo::Geometry::MultiPolygon(mp) => mp,
        geo::Geometry::Polygon(p) => MultiPolygon(vec![p]),
        other => panic!("not a polygon: {other:?}"),
    }
}

/// Checks every walk-mode feature must pass: sorted by `walk_min`, `walk_m ≥ distance_m`,
/// and with routes, a LineString from the query point to the facility.
fn check_walk_features(v: &Value, origin: Point<f64>, with_route: bool) {
    let fs = features(v);
    let t: Vec<f64> = fs
        .iter()
        .map(|f| num(&f["properties"]["walk_min"]))
        .collect();
    assert!(t.windows(2).all(|w| w[0] <= w[1]), "not sorted: {t:?}");
    for (i, f) in fs.iter().enumerate() {
        let p = &f["properties"];
        assert_eq!(p["rank"], i + 1);
        let (walk_m, dist_m) = (num(&p["walk_m"]), num(&p["distance_m"]));
        // The network runs in a local projection good to ~0.1 % against haversine, so allow
        // that much plus the centimetre rounding.
        assert!(
            walk_m >= dist_m * 0.998 - 0.02,
            "{}: walked {walk_m} m < straight {dist_m} m",
            f["id"]
        );
        if !with_route {
            assert!(p.get("route").is_none());
            continue;
        }
        let route = &p["route"];
        assert_eq!(route["type"], "LineString", "{route}");
        let coords = route["coordinates"].as_array().unwrap();
        assert!(coords.len() >= 2);
        let first = point(&coords[0]);
        let last = point(coords.last().unwrap());
        let fac = point(&f["geometry"]["coordinates"]);
        assert!(
            Haversine.distance(first, origin) < 1.0,
            "route starts {} m from the origin",
            Haversine.distance(first, origin)
        );
        assert!(
            Haversine.distance(last, fac) < 1.0,
            "route ends {} m from the facility",
            Haversine.distance(last, fac)
        );
        // The route is at least as long as its straight span and about as long as walk_m.
        let len: f64 = coords
            .windows(2)
            .map(|w| Haversine.distance(point(&w[0]), point(&w[1])))
            .sum();
        assert!(
            (len - walk_m).abs() <= 0.02 * walk_m + 2.0,
            "{}: route {len} m vs walk_m {walk_m}",
            f["id"]
        );
    }
}

// ---------------------------------------------------------------- fixture

#[actix_web::test]
async fn fixture_walk_is_the_default_and_routes_are_returned() {
    let c = client(mini_service()).await;
    let r = c
        .get("/nearest?lon=106.53&lat=29.47&category=convenience_store,pharmacy&k=4&route=true")
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.content_type, "application/geo+json");
    let v = r.json();
    assert_eq!(v["query"]["mode"], "walk");
    assert_eq!(v["query"]["profile"], "standard");
    assert_eq!(v["query"]["route"], true);
    assert!(num(&v["query"]["snap_m"]) < 300.0);
    assert!(!features(&v).is_empty());
    check_walk_features(&v, Point::new(106.53, 29.47), true);

    // Straight stays as it was: no walking properties.
    let s = c
        .get("/nearest?lon=106.53&lat=29.47&category=convenience_store,pharmacy&k=4&mode=straight")
        .await
        .json();
    assert_eq!(s["query"]["mode"], "straight");
    assert!(features(&s)[0]["properties"].get("walk_min").is_none());
    assert!(s["query"].get("profile").is_none());

    // max_min cuts by time, max_m by walked metres.
    let all = c.get("/nearest?lon=106.53&lat=29.47&k=100").await.json();
    let cut = c
        .get("/nearest?lon=106.53&lat=29.47&k=100&max_min=5")
        .await
        .json();
    assert!(features(&cut).len() < features(&all).len());
    assert!(
        features(&cut)
            .iter()
            .all(|f| num(&f["properties"]["walk_min"]) <= 5.0)
    );
    let near = c
        .get("/nearest?lon=106.53&lat=29.47&k=100&max_m=400")
        .await
        .json();
    assert!(
        features(&near)
            .iter()
            .all(|f| num(&f["properties"]["walk_m"]) <= 400.0)
    );
}

#[actix_web::test]
async fn fixture_isochrone_and_profiles() {
    let c = client(mini_service()).await;
    let r = c
        .get("/isochrone?lon=106.53&lat=29.47&minutes=15,5,10")
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.content_type, "application/geo+json");
    let v = r.json();
    let fs = features(&v);
    let minutes: Vec<f64> = fs
        .iter()
        .map(|f| num(&f["properties"]["minutes"]))
        .collect();
    assert_eq!(minutes, [5.0, 10.0, 15.0], "ascending");
    assert_eq!(fs[0]["id"], "5min");
    for f in fs {
        assert_eq!(f["geometry"]["type"], "MultiPolygon");
        let mp = multipolygon(&f["geometry"]);
        assert!(mp.unsigned_area() > 0.0);
    }
    // The origin is inside its own 5-minute area.
    assert!(multipolygon(&fs[0]["geometry"]).contains(&Point::new(106.53, 29.468)));

    // skipGeometry=true: the same contours and figures (the area is still the polygon's),
    // every geometry null, and the query says so.
    let r = c
        .get("/isochrone?lon=106.53&lat=29.47&minutes=15,5,10&skipGeometry=true")
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let skipped = r.json();
    assert_eq!(skipped["query"]["skipGeometry"], true);
    assert!(v["query"].get("skipGeometry").is_none());
    let sf = features(&skipped);
    assert_eq!(sf.len(), fs.len());
    for (a, b) in fs.iter().zip(sf) {
        assert!(b["geometry"].is_null(), "{b}");
        assert_eq!(a["id"], b["id"]);
        assert_eq!(a["properties"], b["properties"]);
    }
    assert!(num(&sf[2]["properties"]["area_m2"]) > 0.0);

    let p = c.get("/profiles").await;
    assert_eq!(p.status, 200);
    let p = p.json();
    assert_eq!(p["default"], "standard");
    assert_eq!(p["walk_network"], true);
    let ids: Vec<&str> = p["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["standard", "elder", "wheelchair"]);
    assert_eq!(p["profiles"][2]["uses_stairs"], false);
    assert!(p["model"]["slopes"].as_str().unwrap().contains("Tobler"));
    assert!(!p["profiles"][0]["sources"].as_array().unwrap().is_empty());
}

#[actix_web::test]
async fn fixture_bad_walking_input_is_a_problem() {
    let c = client(mini_service()).await;
    let cases: &[(&str, u16, &str)] = &[
        (
            "/nearest?lon=106.53&lat=29.47&profile=runner",
            400,
            "profile",
        ),
        ("/nearest?lon=106.53&lat=29.47&mode=foo", 400, "mode"),
        ("/nearest?lon=106.53&lat=29.47&max_min=0", 400, "max_min"),
        ("/nearest?lon=106.53&lat=29.47&max_min=121", 400, "max_min"),
        ("/nearest?lon=106.53&lat=29.47&route=yes", 400, "route"),
        (
            "/nearest?lon=106.53&lat=29.47&max_snap_m=5000",
            400,
            "max_snap_m",
        ),
        (
            "/nearest?lon=106.53&lat=29.47&mode=straight&profile=elder",
            400,
            "mode=walk only",
        ),
        ("/nearest?lon=106.60&lat=29.47", 422, "max_snap_m"),
        ("/isochrone?lon=106.53&lat=29.47&minutes=0", 400, "minutes"),
        (
            "/isochrone?lon=106.53&lat=29.47&minutes=100",
            400,
            "minutes",
        ),
        (
            "/isochrone?lon=106.53&lat=29.47&minutes=1,2,3,4,5,6,7",
            400,
            "at most 6",
        ),
        (
            "/isochrone?lon=106.53&lat=29.47&minutes=5,,10",
            400,
            "minutes",
        ),
        (
            "/isochrone?lon=106.53&lat=29.47&profile=runner",
            400,
            "profile",
        ),
        ("/isochrone?lon=NaN&lat=29.47", 400, "lon"),
        ("/isochrone?lat=29.47", 400, "origins"),
        ("/isochrone?origins=106.53,29.47;106.52", 400, "lon,lat"),
        ("/isochrone?origins=106.53;29.47", 400, "origins"),
        ("/isochrone?origins=106.53,x", 400, "origins"),
        (
            "/isochrone?origins=106.53,29.47&lon=106.53",
            400,
            "not both",
        ),
        ("/isochrone?lon=106.53&lat=29.47&k=3", 400, "'k'"),
        (
            "/isochrone?lon=106.53&lat=29.47&skipGeometry=yes",
            400,
            "skipGeometry",
        ),
        (
            "/isochrone?lon=106.53&lat=29.47&max_snap_m=-1",
            400,
            "max_snap_m",
        ),
        (
            "/isochrone?lon=106.60&lat=29.47",
            422,
            "m from the nearest walkway",
        ),
        (
            "/isochrone?origins=106.53,29.47;106.60,29.47",
            422,
            "origin 2",
        ),
        ("/profiles?x=1", 400, "'x'"),
    ];
    for (uri, status, needle) in cases {
        let r = c.get(uri).await;
        let p = r.problem(*status);
        let detail = p["detail"].as_str().unwrap();
        assert!(detail.contains(needle), "{uri}: {detail}");
        if *status == 422 {
            assert_eq!(p["type"], "urn:servicemap:problem:off-network", "{uri}");
        }
    }
    let many = vec!["106.53,29.47"; 51].join(";");
    c.get(&format!("/isochrone?origins={many}"))
        .await
        .problem(400);
}

#[actix_web::test]
async fn a_directory_without_walkways_says_so() {
    let dir = fixture_copy("nowalk", &["walkways"]);
    let c = client(Service::load(&dir).expect("loads without walkways")).await;
    // Without a network the default is straight, as before.
    let v = c.get("/nearest?lon=106.53&lat=29.47&k=2").await.json();
    assert_eq!(v["query"]["mode"], "straight");
    for uri in [
        "/nearest?lon=106.53&lat=29.47&mode=walk",
        "/nearest?lon=106.53&lat=29.47&profile=elder",
        "/isochrone?lon=106.53&lat=29.47",
    ] {
        let p = c.get(uri).await.problem(404);
        assert_eq!(
            p["type"], "urn:servicemap:problem:layer-unavailable",
            "{uri}"
        );
        assert!(p["detail"].as_str().unwrap().contains("walkways"), "{p}");
    }
    let p = c.get("/profiles").await.json();
    assert_eq!(p["walk_network"], false);
    std::fs::remove_dir_all(dir).ok();
}

// ---------------------------------------------------------------- geodata

#[actix_web::test]
async fn geodata_walk_nearest_matches_the_engine() {
    let svc = geodata();
    let c = client(Arc::clone(&svc)).await;
    let r = c
        .get(&format!(
            "/nearest?lon={}&lat={}&category=elder_canteen&k=5&route=true",
            MWP.0, MWP.1
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["query"]["mode"], "walk", "walk is the default on geodata");
    assert_eq!(features(&v).len(), 5);
    check_walk_features(&v, Point::new(MWP.0, MWP.1), true);

    // The same answer straight from the engine on the Service's own WalkWorld.
    let world = svc.walk.as_ref().expect("geodata has walkways");
    let p = Profile::Standard;
    let snap = world
        .graph
        .snap_lonlat(MWP.0, MWP.1, DEFAULT_MAX_SNAP_M, p)
        .expect("马王坪 snaps");
    let tag = [world.category_tag("elder_canteen").unwrap()];
    let direct = nearest(
        &world.graph,
        &world.facility_snaps,
        &mut Searcher::new(),
        &[Origin::new(snap, p)],
        &NearestQuery {
            profile: p,
            k: 5,
            max_s: 120.0 * 60.0,
            tags: Some(&tag),
            with_route: false,
        },
    );
    assert_eq!(direct.len(), 5);
    for (f, d) in features(&v).iter().zip(&direct) {
        assert_eq!(f["id"], world.facilities.id(FacilityId::new(d.target)));
        let got = num(&f["properties"]["walk_min"]);
        assert!(
            (got - d.walk_s / 60.0).abs() <= 1e-6,
            "{}: {got} vs {}",
            f["id"],
            d.walk_s / 60.0
        );
        assert!((num(&f["properties"]["walk_m"]) - d.walk_m).abs() <= 0.005 + 1e-9);
        assert_eq!(f["properties"]["category"], "elder_canteen");
    }
}

#[actix_web::test]
async fn geodata_profiles_change_the_times() {
    // Not 马王坪 itself: there the nearest step-free walkway (42 m) is a step-free pocket
    // closed by stairs (the regenerated hillside of issue 13: three buildings, the same
    // 5,625 m² wheelchair isochrone at 5 and 30 minutes), so a wheelchair rightly reaches
    // no canteen. 150 m south-west the step-free network reaches 11 of them.
    const STEP_FREE: (f64, f64) = (106.532, 29.469);
    let c = client(geodata()).await;
    let get = |profile: &'static str| {
        format!(
            "/nearest?lon={}&lat={}&category=elder_canteen&k=20&profile={profile}",
            STEP_FREE.0, STEP_FREE.1
        )
    };
    let std_v = c.get(&get("standard")).await.json();
    let eld_v = c.get(&get("elder")).await.json();
    let whl = c.get(&get("wheelchair")).await;
    assert_eq!(whl.status, 200, "{}", whl.text());
    let whl_v = whl.json();
    assert_eq!(eld_v["query"]["profile"], "elder");
    assert!(!features(&whl_v).is_empty(), "wheelchair reaches canteens");
    check_walk_features(&eld_v, Point::new(STEP_FREE.0, STEP_FREE.1), false);
    check_walk_features(&whl_v, Point::new(STEP_FREE.0, STEP_FREE.1), false);
    let time_of = |v: &Value, id: &Value| {
        features(v)
            .iter()
            .find(|f| &f["id"] == id)
            .map(|f| num(&f["properties"]["walk_min"]))
    };
    let first = &features(&std_v)[0];
    let id = &first["id"];
    let t_std = num(&first["properties"]["walk_min"]);
    let t_eld = time_of(&eld_v, id).expect("the same canteen is among the elder's 20");
    assert!(t_eld > t_std, "elder {t_eld} vs standard {t_std}");
    let mut compared = 0;
    for f in features(&std_v) {
        if let Some(t_w) = time_of(&whl_v, &f["id"]) {
            // Slower on the flat and never on stairs: never faster than the standard walker.
            assert!(t_w >= num(&f["properties"]["walk_min"]), "{}", f["id"]);
            compared += 1;
        }
    }
    assert!(compared > 0);
}

#[actix_web::test]
async fn geodata_isochrones_nest_and_union() {
    let c = client(geodata()).await;
    let r = c
        .get(&format!(
            "/isochrone?lon={}&lat={}&minutes=5,10,15",
            MWP.0, MWP.1
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    let fs = features(&v);
    assert_eq!(fs.len(), 3);
    let prop = |f: &Value, k: &str| num(&f["properties"][k]);
    for w in fs.windows(2) {
        for k in ["households", "residents", "residents_60plus", "buildings"] {
            assert!(prop(&w[0], k) <= prop(&w[1], k), "{k} not nested");
        }
        assert!(
            prop(&w[0], "area_m2") < prop(&w[1], "area_m2"),
            "area grows"
        );
        let inner = multipolygon(&w[0]["geometry"]);
        let outer = multipolygon(&w[1]["geometry"]);
        assert!(inner.unsigned_area() < outer.unsigned_area());
    }
    assert!(prop(&fs[2], "households") > 0.0);

    // The union catchment of two origins holds at least what each holds alone.
    let other = (106.539, 29.466);
    let single = |lon: f64, lat: f64| format!("/isochrone?lon={lon}&lat={lat}&minutes=10");
    let a = c.get(&single(MWP.0, MWP.1)).await.json();
    let b = c.get(&single(other.0, other.1)).await.json();
    let u = c
        .get(&format!(
            "/isochrone?origins={},{};{},{}&minutes=10",
            MWP.0, MWP.1, other.0, other.1
        ))
        .await;
    assert_eq!(u.status, 200, "{}", u.text());
    let u = u.json();
    assert_eq!(u["query"]["origins"].as_array().unwrap().len(), 2);
    for k in ["households", "residents", "area_m2"] {
        let uu = prop(&features(&u)[0], k);
        assert!(uu >= prop(&features(&a)[0], k), "{k}");
        assert!(uu >= prop(&features(&b)[0], k), "{k}");
    }
}

#[actix_web::test]
async fn geodata_isochrone_does_not_cross_the_river() {
    let c = client(geodata()).await;
    let r = c
        .get(&format!(
            "/isochrone?lon={}&lat={}&minutes=15",
            RONGHUI.0, RONGHUI.1
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    let mp = multipolygon(&features(&v)[0]["geometry"]);
    assert!(mp.unsigned_area() > 0.0);
    assert!(
        mp.contains(&Point::new(RONGHUI.0, RONGHUI.1))
            || features(&v)[0]["properties"]["buildings"].as_u64() > Some(0),
        "the origin's side is reached"
    );
    // North of the Yangtze, 400 m to 2 km from 融汇 as the crow flies (the river runs at
    // about 29.482–29.487 there, 29.476–29.481 at 106.53).
    let north_bank = [
        (106.53, 29.49),
        (106.515, 29.4885),
        (106.52, 29.4875),
        (106.51, 29.489),
        (106.505, 29.4895),
    ];
    for north in north_bank {
        assert!(
            !mp.contains(&Point::new(north.0, north.1)),
            "15 minutes from 融汇 reach the north bank at {north:?}"
        );
    }
    // Not vacuous: given time, the walk does cross, over the Lijiatuo bridge to its north
    // bridgehead (106.530, 29.483).
    let far = c
        .get(&format!(
            "/isochrone?lon={}&lat={}&minutes=60",
            RONGHUI.0, RONGHUI.1
        ))
        .await
        .json();
    let far_mp = multipolygon(&features(&far)[0]["geometry"]);
    assert!(far_mp.contains(&Point::new(106.52995, 29.48295)));
    assert!(!mp.contains(&Point::new(106.52995, 29.48295)));
}

#[actix_web::test]
async fn geodata_point_in_the_yangtze_is_422() {
    let c = client(geodata()).await;
    for uri in [
        "/nearest?lon=106.52&lat=29.482&category=elder_canteen",
        "/isochrone?lon=106.52&lat=29.482&minutes=10",
    ] {
        let p = c.get(uri).await.problem(422);
        assert_eq!(p["type"], "urn:servicemap:problem:off-network");
        let d = p["detail"].as_str().unwrap();
        assert!(
            d.contains(" m ") && (d.contains("water") || d.contains("max_snap_m")),
            "{uri}: {d}"
        );
    }
}

#[actix_web::test]
async fn geodata_gcj02_input_finds_the_same_facilities() {
    let c = client(geodata()).await;
    let (gx, gy) = Crs::Gcj02.from_wgs84(MWP.0, MWP.1);
    let w = c
        .get(&format!(
            "/nearest?lon={}&lat={}&category=elder_canteen&k=5&route=true",
            MWP.0, MWP.1
        ))
        .await
        .json();
    let g = c
        .get(&format!(
            "/nearest?lon={gx}&lat={gy}&category=elder_canteen&k=5&route=true&coords=gcj02"
        ))
        .await
        .json();
    assert_eq!(ids(&w), ids(&g));
    // Output is in GCJ-02 too, routes included: the route starts at the GCJ-02 input point.
    let start = &features(&g)[0]["properties"]["route"]["coordinates"][0];
    assert!(Haversine.distance(point(start), Point::new(gx, gy)) < 1.0);
    let iso_w = c
        .get(&format!(
            "/isochrone?lon={}&lat={}&minutes=10",
            MWP.0, MWP.1
        ))
        .await
        .json();
    let iso_g = c
        .get(&format!(
            "/isochrone?lon={gx}&lat={gy}&minutes=10&coords=gcj02"
        ))
        .await
        .json();
    assert_eq!(
        features(&iso_w)[0]["properties"]["households"],
        features(&iso_g)[0]["properties"]["households"]
    );
}

/// `/isochrone` writes its GeoJSON straight into bytes; they must be exactly what the former
/// rendering (a `serde_json::Value` tree, kept here as the oracle) printed: same members, same
/// order, same number formatting, in every `coords`, with one and several origins and
/// contours.
#[test]
fn isochrone_bytes_equal_the_value_rendering() {
    use geo::Geometry;
    use serde_json::json;
    use servicemap::api::isochrone::{parse, write_collection};
    use servicemap::model::geojson::{geometry_json, round7};

    let svc = geodata();
    let mut searcher = Searcher::new();
    for qs in [
        "lon=106.533&lat=29.47&minutes=15",
        "lon=106.569712&lat=29.455894",
        "lon=106.512&lat=29.476&minutes=3,7.5,20&profile=elder&coords=gcj02",
        "origins=106.533,29.47;106.522,29.463&minutes=10&profile=wheelchair&coords=bd09",
        "lon=106.533&lat=29.47&minutes=1&max_snap_m=50",
        "lon=106.533&lat=29.47&minutes=5,15&skipGeometry=true&coords=gcj02",
        "lon=106.533&lat=29.47&skipGeometry=false",
    ] {
        let (p, output) = parse(qs).unwrap();
        let coords = output.coords;
        let answer = svc.isochrone(&p, &mut searcher).unwrap();
        let features: Vec<Value> = answer
            .contours
            .iter()
            .map(|c| {
                let g = Geometry::MultiPolygon(coords.geometry_from_wgs84(&c.polygon));
                json!({
                    "type": "Feature",
                    "id": format!("{}min", c.minutes),
                    "geometry": if output.skip_geometry { Value::Null } else { geometry_json(&g, None) },
                    "properties": {
                        "minutes": c.minutes,
                        "profile": p.profile.as_str(),
                        "area_m2": c.area_m2.round(),
                        "buildings": c.buildings,
                        "households": c.households,
                        "residents": c.residents,
                        "residents_60plus": c.residents_60plus,
                    },
                })
            })
            .collect();
        let origins: Vec<Value> = p
            .origins
            .iter()
            .zip(&answer.snap_m)
            .map(|(at, snap_m)| {
                let (x, y) = coords.from_wgs84(at.lon, at.lat);
                json!({"lon": round7(x), "lat": round7(y), "snap_m": (snap_m * 100.0).round() / 100.0})
            })
            .collect();
        let mut query = json!({
            "origins": origins,
            "minutes": p.minutes.as_slice(),
            "profile": p.profile.as_str(),
            "max_snap_m": p.max_snap_m,
            "coords": coords.as_str(),
        });
        if output.skip_geometry {
            query["skipGeometry"] = json!(true);
        }
        let oracle = json!({
            "type": "FeatureCollection",
            "query": query,
            "numberReturned": features.len(),
            "features": features,
        });
        let got = String::from_utf8(write_collection(&p, output, &answer)).unwrap();
        assert_eq!(got, oracle.to_string(), "{qs}");
        assert!(
            answer.contours.iter().any(|c| !c.polygon.0.is_empty()),
            "{qs}"
        );
    }
}
