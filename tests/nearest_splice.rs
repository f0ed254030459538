//! `/nearest` splices each facility's Feature from bytes serialised at load: without
//! `properties=` the response must be byte for byte what the former rendering (a
//! `serde_json::Value` tree built from the dataset's features) printed, on seeded random
//! queries over the default data; `properties=` keeps only the chosen facility properties.

// Test helpers may unwrap, expect and panic: a failing test should stop loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::sync::Arc;

use common::client;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value, json};
use servicemap::api::features::feature_value;
use servicemap::api::nearest::{NearestParams, parse};
use servicemap::model::geojson::round7;
use servicemap::model::{LayerId, LonLat};
use servicemap::query::{NearestAnswer, NearestMode};
use servicemap::service::Service;
use servicemap::walk::Searcher;

fn cm(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// The rendering `/nearest` used before facilities were serialised once at load, kept here
/// as the oracle of the spliced bytes.
fn old_render(svc: &Service, p: &NearestParams, answer: &NearestAnswer) -> String {
    let coords = p.coords;
    let features = svc.dataset.layer(LayerId::Facilities).unwrap();
    let mut out: Vec<Value> = Vec::new();
    for (rank, h) in answer.hits.iter().enumerate() {
        let feature = &features[h.facility.index()];
        let mut extra = Map::new();
        extra.insert("distance_m".into(), json!(cm(h.distance_m)));
        if let Some(w) = &h.walk {
            extra.insert(
                "walk_min".into(),
                json!((w.walk_s / 60.0 * 1e6).round() / 1e6),
            );
            extra.insert("walk_m".into(), json!(cm(w.walk_m)));
            if let Some(line) = &w.route {
                extra.insert(
                    "route".into(),
                    servicemap::api::walk::line_json(line, coords),
                );
            }
        }
        extra.insert("rank".into(), json!(rank + 1));
        out.push(feature_value(feature, coords, Some(extra)));
    }
    let (lon_out, lat_out) = coords.from_wgs84(p.req.at.lon, p.req.at.lat);
    let mut query = json!({
        "lon": round7(lon_out),
        "lat": round7(lat_out),
        "coords": coords.as_str(),
        "categories": answer.categories,
        "k": p.req.k.get(),
        "max_m": p.req.max_m,
        "mode": p.req.mode.as_str(),
    });
    if let (NearestMode::Walk(w), Some(m)) = (p.req.mode, query.as_object_mut()) {
        m.insert("profile".into(), json!(w.profile.as_str()));
        m.insert("max_min".into(), json!(w.max_min));
        m.insert("route".into(), json!(w.route));
        m.insert("max_snap_m".into(), json!(w.max_snap_m));
        m.insert("snap_m".into(), json!(answer.snap_m.map(cm)));
    }
    json!({
        "type": "FeatureCollection",
        "query": query,
        "numberReturned": out.len(),
        "features": out,
    })
    .to_string()
}

/// A seeded random `/nearest` query string over the default data.
fn random_query(rng: &mut ChaCha8Rng, cats: &[String]) -> String {
    let LonLat { lon, lat } = LonLat {
        lon: rng.random_range(106.515..106.545),
        lat: rng.random_range(29.455..29.485),
    };
    let mut q = format!("lon={lon:.6}&lat={lat:.6}&k={}", rng.random_range(1..=12));
    if rng.random_bool(0.7) {
        let c = &cats[rng.random_range(0..cats.len())];
        q += &format!("&category={c}");
    }
    match rng.random_range(0..3) {
        0 => q += "&mode=straight",
        1 => q += "&mode=walk&route=true",
        _ => q += "&profile=elder&max_min=20",
    }
    if rng.random_bool(0.3) {
        q += "&coords=gcj02";
    }
    if rng.random_bool(0.2) {
        q += "&max_m=600";
    }
    q
}

#[actix_web::test]
async fn spliced_nearest_equals_the_former_rendering_byte_for_byte() {
    let svc: Arc<Service> = Arc::clone(common::geodata());
    let c = client(Arc::clone(&svc)).await;
    let cats = svc.category_ids();
    let mut rng = ChaCha8Rng::seed_from_u64(15);
    let mut searcher = Searcher::new();
    let mut compared = 0;
    for _ in 0..120 {
        let qs = random_query(&mut rng, &cats);
        let r = c.get(&format!("/nearest?{qs}")).await;
        let p = parse(&qs, &svc).unwrap();
        match svc.nearest(&p.req, &mut searcher) {
            Ok(answer) => {
                assert_eq!(r.status, 200, "{qs}: {}", r.text());
                assert_eq!(r.text(), old_render(&svc, &p, &answer), "{qs}");
                compared += usize::from(!answer.hits.is_empty());
            }
            // Off the network: the problem is the API's business, not the rendering's.
            Err(_) => assert_ne!(r.status, 200, "{qs}"),
        }
    }
    assert!(compared > 50, "only {compared} queries found facilities");
}

#[actix_web::test]
async fn properties_chooses_the_facility_fields_and_keeps_the_computed_ones() {
    let svc: Arc<Service> = Arc::clone(common::geodata());
    let c = client(Arc::clone(&svc)).await;
    let base = "/nearest?lon=106.533&lat=29.47&k=5&route=true";
    let all = c.get(base).await.json();
    let some = c.get(&format!("{base}&properties=name,category")).await;
    assert_eq!(some.status, 200, "{}", some.text());
    let some = some.json();
    assert_eq!(some["query"]["properties"], json!(["name", "category"]));
    let fa = all["features"].as_array().unwrap();
    let fs = some["features"].as_array().unwrap();
    assert_eq!(fa.len(), fs.len());
    assert!(!fa.is_empty());
    for (a, s) in fa.iter().zip(fs) {
        assert_eq!(a["id"], s["id"]);
        assert_eq!(a["geometry"], s["geometry"]);
        let keys: Vec<&str> = s["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "name",
                "category",
                "distance_m",
                "walk_min",
                "walk_m",
                "route",
                "rank"
            ]
        );
        for k in keys {
            assert_eq!(a["properties"][k], s["properties"][k], "{k}");
        }
    }
    // Empty: only the computed properties.
    let none = c.get(&format!("{base}&properties=")).await.json();
    let p0 = none["features"][0]["properties"].as_object().unwrap();
    assert!(
        p0.keys()
            .all(|k| ["distance_m", "walk_min", "walk_m", "route", "rank"].contains(&k.as_str()))
    );
    // Unknown: a 400 problem naming the parameter and listing the known names.
    let bad = c.get(&format!("{base}&properties=name,colour")).await;
    let pr = bad.problem(400);
    let detail = pr["detail"].as_str().unwrap();
    assert!(
        detail.contains("properties") || pr["invalid-params"].to_string().contains("properties"),
        "{pr}"
    );
    assert!(
        detail.contains("colour") && detail.contains("category"),
        "{detail}"
    );
}

#[actix_web::test]
async fn skip_geometry_nulls_the_geometries_and_keeps_everything_else() {
    let svc: Arc<Service> = Arc::clone(common::geodata());
    let c = client(Arc::clone(&svc)).await;
    for base in [
        "/nearest?lon=106.533&lat=29.47&k=5&mode=straight&category=pharmacy,eatery",
        "/nearest?lon=106.533&lat=29.47&k=5&max_min=60&coords=gcj02",
    ] {
        let full = c.get(base).await.json();
        let skipped = c.get(&format!("{base}&skipGeometry=true")).await;
        assert_eq!(skipped.status, 200, "{}", skipped.text());
        let skipped = skipped.json();
        assert_eq!(skipped["query"]["skipGeometry"], json!(true));
        assert!(full["query"].get("skipGeometry").is_none());
        let fa = full["features"].as_array().unwrap();
        let fs = skipped["features"].as_array().unwrap();
        assert_eq!(fa.len(), 5);
        assert_eq!(fa.len(), fs.len());
        for (a, s) in fa.iter().zip(fs) {
            assert_eq!(a["id"], s["id"]);
            assert_eq!(a["properties"], s["properties"]);
            assert!(a["geometry"].is_object(), "{a}");
            assert_eq!(s["geometry"], Value::Null, "{s}");
        }
        // `false` is the default, byte for byte.
        let off = c.get(&format!("{base}&skipGeometry=false")).await;
        assert_eq!(off.json(), full);
    }
    let bad = c
        .get("/nearest?lon=106.533&lat=29.47&skipGeometry=maybe")
        .await;
    let pr = bad.problem(400);
    assert!(pr.to_string().contains("skipGeometry"), "{pr}");
}
