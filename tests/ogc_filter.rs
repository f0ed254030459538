//! OGC API – Features Part 3 on the default data: queryables, CQL2 filters (comparison,
//! logical, S_INTERSECTS) checked against the equality and bbox filters the API already had,
//! and HEAD on GET routes.

// Test helpers may unwrap, expect and panic: a failing test should stop loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::sync::Arc;

use actix_web::test::TestRequest;

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn ids(v: &serde_json::Value) -> Vec<String> {
    let mut out: Vec<String> = v["features"]
        .as_array()
        .unwrap_or_else(|| panic!("not a FeatureCollection: {v}"))
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

#[actix_web::test]
async fn queryables_list_properties_and_geometry() {
    let c = common::client(Arc::clone(common::geodata())).await;
    let r = c.get("/collections/facilities/queryables").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.content_type, "application/schema+json");
    let q = r.json();
    assert_eq!(q["type"], "object");
    assert_eq!(q["properties"]["category"]["type"], "string");
    assert_eq!(q["properties"]["geometry"]["format"], "geometry-point");
    let r = c.get("/collections/nope/queryables").await;
    r.problem(404);
}

#[actix_web::test]
async fn cql2_filters_agree_with_the_simple_filters() {
    let c = common::client(Arc::clone(common::geodata())).await;
    let simple = c
        .get("/collections/facilities/items?category=elder_canteen&limit=10000")
        .await
        .json();
    let n = ids(&simple).len();
    assert!(n > 0);
    let cql = c
        .get(&format!(
            "/collections/facilities/items?limit=10000&filter={}",
            enc("category = 'elder_canteen'")
        ))
        .await;
    assert_eq!(cql.status, 200, "{}", cql.text());
    assert_eq!(ids(&cql.json()), ids(&simple));

    // NOT and OR partition the layer.
    let all = c
        .get("/collections/facilities/items?limit=10000")
        .await
        .json();
    let not = c
        .get(&format!(
            "/collections/facilities/items?limit=10000&filter={}",
            enc("NOT (category = 'elder_canteen')")
        ))
        .await
        .json();
    assert_eq!(ids(&not).len() + n, ids(&all).len());
    let either = c
        .get(&format!(
            "/collections/facilities/items?limit=10000&filter={}",
            enc("category = 'elder_canteen' OR category = 'pharmacy'")
        ))
        .await
        .json();
    let clinics = c
        .get("/collections/facilities/items?category=pharmacy&limit=10000")
        .await
        .json();
    assert_eq!(ids(&either).len(), n + ids(&clinics).len());

    // S_INTERSECTS with a box equals bbox=.
    let b = "106.52,29.46,106.54,29.48";
    let by_bbox = c
        .get(&format!(
            "/collections/buildings/items?limit=10000&bbox={b}"
        ))
        .await
        .json();
    let by_cql = c
        .get(&format!(
            "/collections/buildings/items?limit=10000&filter={}",
            enc(&format!("S_INTERSECTS(geometry, BBOX({b}))"))
        ))
        .await;
    assert_eq!(by_cql.status, 200, "{}", by_cql.text());
    assert!(!ids(&by_bbox).is_empty());
    assert_eq!(ids(&by_cql.json()), ids(&by_bbox));

    // Numeric comparison.
    let big = c
        .get(&format!(
            "/collections/buildings/items?limit=10000&filter={}",
            enc("households >= 100")
        ))
        .await
        .json();
    for f in big["features"].as_array().unwrap() {
        assert!(f["properties"]["households"].as_f64().unwrap() >= 100.0);
    }
}

#[actix_web::test]
async fn bad_filters_are_400_naming_what_to_change() {
    let c = common::client(Arc::clone(common::geodata())).await;
    for (q, want) in [
        ("filter=categroy%20%3D%20%27x%27", "queryable"),
        ("filter=%3D%3D%3D", "CQL2"),
        ("filter-lang=cql2-text", "filter"),
        ("filter=category%3D%27x%27&filter-lang=sql", "filter-lang"),
        (
            "filter=category%3D%27x%27&filter-crs=EPSG:3857",
            "filter-crs",
        ),
    ] {
        let r = c.get(&format!("/collections/facilities/items?{q}")).await;
        let p = r.problem(400);
        assert!(p["detail"].as_str().unwrap().contains(want), "{q}: {p}");
    }
}

#[actix_web::test]
async fn head_answers_like_get_on_every_get_route() {
    let c = common::client(Arc::clone(common::geodata())).await;
    for uri in [
        "/",
        "/collections",
        "/collections/facilities/items?limit=1",
        "/collections/facilities/queryables",
        "/locate?lon=106.533&lat=29.47",
        "/healthz",
    ] {
        let get = c.get(uri).await;
        let head = c
            .send(
                TestRequest::default()
                    .method(actix_web::http::Method::HEAD)
                    .uri(uri),
            )
            .await;
        assert_eq!(head.status, get.status, "{uri}");
        assert_eq!(head.content_type, get.content_type, "{uri}");
    }
}
