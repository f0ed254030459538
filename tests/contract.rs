//! The contract: every registered route is in `openapi.yaml` (and nothing else is), and real
//! responses of every route validate against the schemas the spec gives for their status and
//! media type. `$ref`s resolve against the whole spec, which is the root resource of each
//! validator.

// Test helpers may unwrap, expect and panic: a failing test should stop loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;

use common::{Reply, client, fixture_copy, mini_service};
use serde_json::Value;
use servicemap::api::ROUTES;
use servicemap::service::Service;

fn spec() -> Value {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml")).unwrap();
    serde_yaml::from_str(&text).expect("openapi.yaml parses")
}

/// Follow a local `$ref` (`#/components/...`) to its target.
fn deref<'a>(spec: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => spec
            .pointer(r.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("dangling $ref {r}")),
        None => v,
    }
}

/// A validator for `schema`, with the whole spec as its root so `#/components/...` resolve.
fn validator(spec: &Value, schema: &Value) -> jsonschema::Validator {
    let mut root = spec.clone();
    let m = root.as_object_mut().unwrap();
    m.insert(
        "$schema".into(),
        "https://json-schema.org/draft/2020-12/schema".into(),
    );
    for (k, v) in schema.as_object().unwrap() {
        m.insert(k.clone(), v.clone());
    }
    jsonschema::validator_for(&root).expect("schema compiles")
}

#[test]
fn every_route_is_in_the_spec_and_every_spec_path_is_routed() {
    let spec = spec();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = spec["paths"].as_object().unwrap();
    let routed: BTreeSet<&str> = ROUTES.iter().map(|r| r.path).collect();
    for path in &routed {
        let item = paths
            .get(*path)
            .unwrap_or_else(|| panic!("route {path} is missing from openapi.yaml"));
        // `/scenarios` takes a body (POST); every other route answers GET.
        let method = if item.get("post").is_some() {
            "post"
        } else {
            "get"
        };
        assert!(
            item.get(method).is_some(),
            "{path}: the spec must describe GET (or POST)"
        );
        // Path parameters of the pattern are declared.
        let params: Vec<&str> = item[method]["parameters"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|p| deref(&spec, p)["name"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        for seg in path.split('/').filter(|s| s.starts_with('{')) {
            // `{tileRow}.pbf`: the name is what the braces hold.
            let name = seg[1..].split('}').next().unwrap_or_default();
            assert!(
                params.contains(&name),
                "{path}: parameter {name} undeclared"
            );
        }
    }
    for path in paths.keys() {
        assert!(
            routed.contains(path.as_str()),
            "openapi.yaml describes {path}, which no route serves"
        );
    }
}

#[actix_web::test]
async fn real_responses_validate_against_the_spec() {
    let spec = spec();
    let c = client(mini_service()).await;
    let script = format!(
        "/map/{}",
        servicemap::api::page::a_script().expect("the map page has a script")
    );
    // (route pattern, request): every route at least once, successes and problems.
    let samples: &[(&str, &str)] = &[
        ("/", "/"),
        ("/", "/?f=xml"),
        ("/", "/?f=html"),
        ("/map/{file}", "/map/nope.js"),
        ("/map/{file}", &script),
        ("/conformance", "/conformance"),
        ("/collections", "/collections"),
        ("/collections/{collectionId}", "/collections/facilities"),
        ("/collections/{collectionId}", "/collections/nope"),
        (
            "/collections/{collectionId}/items",
            "/collections/facilities/items?limit=3&offset=3",
        ),
        (
            "/collections/{collectionId}/items",
            "/collections/walkways/items?bbox=106.52,29.46,106.53,29.47",
        ),
        (
            "/collections/{collectionId}/items",
            "/collections/water/items?coords=gcj02",
        ),
        (
            "/collections/{collectionId}/items",
            "/collections/grids/items?limit=100",
        ),
        (
            "/collections/{collectionId}/items",
            "/collections/boundary/items?limit=99999",
        ),
        (
            "/collections/{collectionId}/items/{featureId}",
            "/collections/compounds/items/cp-02?coords=bd09",
        ),
        (
            "/collections/{collectionId}/items/{featureId}",
            "/collections/compounds/items/none",
        ),
        (
            "/collections/{collectionId}/queryables",
            "/collections/facilities/queryables",
        ),
        (
            "/collections/{collectionId}/queryables",
            "/collections/nope/queryables",
        ),
        (
            "/collections/{collectionId}/items",
            "/collections/facilities/items?filter=category%3D%27elder_canteen%27",
        ),
        (
            "/collections/{collectionId}/items",
            "/collections/facilities/items?filter=nope%3D1",
        ),
        ("/locate", "/locate?lon=106.5225&lat=29.4625"),
        ("/locate", "/locate?lon=106.538&lat=29.478&coords=wgs84"),
        ("/locate", "/locate?lon=106.6&lat=29.47"),
        ("/locate", "/locate?lon=x&lat=29.47"),
        (
            "/nearest",
            "/nearest?lon=106.53&lat=29.47&category=elder_canteen,clinic&k=3",
        ),
        (
            "/nearest",
            "/nearest?lon=106.53&lat=29.47&max_m=200&coords=gcj02",
        ),
        ("/nearest", "/nearest?lon=106.53&lat=29.47&k=1000"),
        (
            "/nearest",
            "/nearest?lon=106.53&lat=29.47&category=elder_canteen,clinic&k=3&route=true",
        ),
        (
            "/nearest",
            "/nearest?lon=106.53&lat=29.47&profile=elder&max_min=10&max_m=900&coords=bd09",
        ),
        (
            "/nearest",
            "/nearest?lon=106.53&lat=29.47&mode=straight&category=clinic",
        ),
        (
            "/nearest",
            "/nearest?lon=106.53&lat=29.47&profile=wheelchair",
        ),
        ("/nearest", "/nearest?lon=106.60&lat=29.47&mode=walk"),
        ("/nearest", "/nearest?lon=106.53&lat=29.47&mode=foo"),
        (
            "/nearest",
            "/nearest?lon=106.53&lat=29.47&mode=straight&category=clinic&properties=&skipGeometry=true",
        ),
        (
            "/nearest",
            "/nearest?lon=106.53&lat=29.47&skipGeometry=maybe",
        ),
        (
            "/isochrone",
            "/isochrone?lon=106.53&lat=29.47&minutes=5,10,15",
        ),
        (
            "/isochrone",
            "/isochrone?origins=106.53,29.47;106.522,29.463&minutes=10&profile=elder&coords=gcj02",
        ),
        ("/isochrone", "/isochrone?lon=106.53&lat=29.47&minutes=1"),
        (
            "/isochrone",
            "/isochrone?lon=106.53&lat=29.47&minutes=5,15&skipGeometry=true",
        ),
        (
            "/isochrone",
            "/isochrone?lon=106.53&lat=29.47&skipGeometry=maybe",
        ),
        ("/isochrone", "/isochrone?lon=106.53&lat=29.47&minutes=0"),
        ("/isochrone", "/isochrone?lon=106.60&lat=29.47"),
        ("/isochrone", "/isochrone?origins=1,2;3"),
        ("/profiles", "/profiles"),
        ("/profiles", "/profiles?f=xml"),
        ("/categories", "/categories"),
        ("/healthz", "/healthz"),
        ("/metrics", "/metrics"),
        ("/openapi.yaml", "/openapi.yaml"),
        (
            "/coverage",
            "/coverage?category=elder_canteen&minutes=5&profile=elder&level=grid",
        ),
        (
            "/coverage",
            "/coverage?category=clinic&level=community&community=500113006001&coords=gcj02",
        ),
        ("/coverage", "/coverage?category=nope"),
        ("/coverage", "/coverage?category=clinic&community=nope"),
        (
            "/gaps",
            "/gaps?category=elder_canteen&minutes=2&profile=elder",
        ),
        ("/gaps", "/gaps?category=clinic&minutes=0"),
        ("/audit", "/audit?level=grid&standard=gb50180"),
        (
            "/audit",
            "/audit?level=community&standard=mofcom&target_share=0.5&coords=bd09",
        ),
        ("/audit", "/audit?standard=iso"),
        (
            "/siting",
            "/siting?category=elder_canteen&count=2&minutes=2&profile=elder",
        ),
        (
            "/siting",
            "/siting?category=clinic&count=1&minutes=2&candidates=106.53,29.47;106.525,29.465",
        ),
        ("/siting", "/siting?category=clinic&count=11"),
        ("/siting", "/siting?category=clinic&candidates=100,20"),
        ("/scenarios", "/scenarios"),
        ("/nearest/batch", "/nearest/batch"),
        ("/tileMatrixSets", "/tileMatrixSets"),
        (
            "/tileMatrixSets/{tileMatrixSetId}",
            "/tileMatrixSets/WebMercatorQuad",
        ),
        (
            "/tileMatrixSets/{tileMatrixSetId}",
            "/tileMatrixSets/WorldCRS84Quad",
        ),
        (
            "/collections/{collectionId}/tiles",
            "/collections/grids/tiles",
        ),
        (
            "/collections/{collectionId}/tiles",
            "/collections/nope/tiles",
        ),
        (
            "/collections/{collectionId}/tiles/{tileMatrixSetId}",
            "/collections/facilities/tiles/WebMercatorQuad",
        ),
        (
            "/collections/{collectionId}/tiles/{tileMatrixSetId}/tilejson.json",
            "/collections/walkways/tiles/WebMercatorQuad/tilejson.json",
        ),
        (
            "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
            "/collections/grids/tiles/WebMercatorQuad/14/6787/13040",
        ),
        (
            "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
            "/collections/grids/tiles/WebMercatorQuad/10/0/0",
        ),
        (
            "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
            "/collections/grids/tiles/WebMercatorQuad/9/424/815",
        ),
        (
            "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
            "/collections/grids/tiles/WebMercatorQuad/14/x/13040",
        ),
        ("/tiles", "/tiles"),
        ("/tiles/{tileMatrixSetId}", "/tiles/WebMercatorQuad"),
        (
            "/tiles/{tileMatrixSetId}/tilejson.json",
            "/tiles/WebMercatorQuad/tilejson.json",
        ),
        (
            "/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
            "/tiles/WebMercatorQuad/16/27149/52161",
        ),
        (
            "/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
            "/tiles/WebMercatorQuad/14/99999/0",
        ),
        (
            "/tiles/{tileMatrixSetId}/xyz/{tileMatrix}/{tileCol}/{tileRow}.pbf",
            "/tiles/WebMercatorQuad/xyz/14/13040/6787.pbf",
        ),
        (
            "/tiles/{tileMatrixSetId}/xyz/{tileMatrix}/{tileCol}/{tileRow}.pbf",
            "/tiles/WebMercatorQuad/xyz/14/13040/x.pbf",
        ),
        (
            "/collections/{collectionId}/tiles/{tileMatrixSetId}/xyz/{tileMatrix}/{tileCol}/{tileRow}.pbf",
            "/collections/grids/tiles/WebMercatorQuad/xyz/14/13040/6787.pbf",
        ),
        (
            "/collections/{collectionId}/tiles/{tileMatrixSetId}/xyz/{tileMatrix}/{tileCol}/{tileRow}.pbf",
            "/collections/grids/tiles/WebMercatorQuad/xyz/9/0/0.pbf",
        ),
        (
            "/coverage/tiles/{tileMatrixSetId}/tilejson.json",
            "/coverage/tiles/WebMercatorQuad/tilejson.json?category=clinic&minutes=10",
        ),
        (
            "/coverage/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
            "/coverage/tiles/WebMercatorQuad/14/6787/13040?category=elder_canteen&profile=elder&level=microgrid",
        ),
        (
            "/coverage/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
            "/coverage/tiles/WebMercatorQuad/14/6787/13040?category=nope",
        ),
        ("/styles/default.json", "/styles/default.json"),
        ("/fonts/{fontstack}/{range}", "/fonts/Noto%20Sans/0-255"),
        ("/fonts/{fontstack}/{range}", "/fonts/Noto%20Sans/3-7"),
        // A read-only app: the edit routes answer 405 problems (writes: see below).
        (
            "/collections/{collectionId}/items/{featureId}/history",
            "/collections/facilities/items/f01/history",
        ),
        ("/changes", "/changes?since=0"),
        ("/admin/reload", "/admin/reload"),
    ];
    // (route pattern, body) posted.
    let posts: &[(&str, &str)] = &[
        (
            "/scenarios",
            r#"{"minutes": 5, "profile": "elder", "level": "community", "remove": ["f01"], "move": [{"id": "f02", "lon": 106.53, "lat": 29.47}], "add": {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [106.525, 29.465]}, "properties": {"category": "clinic"}}]}}"#,
        ),
        ("/scenarios", r#"{"remove": ["nope"]}"#),
        (
            "/nearest/batch",
            r#"{"type": "FeatureCollection", "features": [{"type": "Feature", "id": "home", "geometry": {"type": "Point", "coordinates": [106.53, 29.47]}}, {"type": "Feature", "geometry": {"type": "Point", "coordinates": [106.5, 29.5]}}]}"#,
        ),
        (
            "/nearest/batch",
            r#"{"type": "FeatureCollection", "features": [{"geometry": {"type": "LineString"}}]}"#,
        ),
        ("/scenarios", r#"{"remove": "f01"}"#),
        (
            "/scenarios",
            r#"{"add": {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [100, 20]}, "properties": {"category": "clinic"}}]}}"#,
        ),
    ];
    let covered: BTreeSet<&str> = samples.iter().map(|(p, _)| *p).collect();
    let routed: BTreeSet<&str> = ROUTES.iter().map(|r| r.path).collect();
    assert_eq!(covered, routed, "every route needs a sample");

    // The full example body is itself valid against the request schema.
    let body_schema = validator(
        &spec,
        &spec["paths"]["/scenarios"]["post"]["requestBody"]["content"]["application/json"]["schema"],
    );
    assert!(body_schema.is_valid(&serde_json::from_str::<Value>(posts[0].1).unwrap()));
    assert!(!body_schema.is_valid(&serde_json::from_str::<Value>(posts[2].1).unwrap()));
    let mut requests = Vec::new();
    for (pattern, uri) in samples {
        requests.push((*pattern, uri.to_string(), c.get(uri).await));
    }
    for (pattern, body) in posts {
        let req = actix_web::test::TestRequest::post()
            .uri(pattern)
            .insert_header(("content-type", "application/json"))
            .set_payload(body.to_string());
        requests.push((
            *pattern,
            format!("POST {pattern} {body}"),
            c.send(req).await,
        ));
    }
    check(&spec, &requests);

    // A directory without walkways: walking requests are layer-unavailable problems.
    let dir = fixture_copy("contract-nowalk", &["walkways"]);
    let c = client(Service::load(&dir).unwrap()).await;
    let mut requests = Vec::new();
    for (pattern, uri) in [
        ("/nearest", "/nearest?lon=106.53&lat=29.47&k=2"),
        ("/nearest", "/nearest?lon=106.53&lat=29.47&mode=walk"),
        ("/isochrone", "/isochrone?lon=106.53&lat=29.47"),
        ("/profiles", "/profiles"),
        ("/coverage", "/coverage?category=clinic"),
    ] {
        requests.push((pattern, uri.to_string(), c.get(uri).await));
    }
    check(&spec, &requests);
    std::fs::remove_dir_all(dir).ok();
}

/// Validate each (route pattern, request, reply) against the spec's response for its status.
fn check(spec: &Value, requests: &[(&str, String, Reply)]) {
    let spec = spec.clone();
    for (pattern, uri, r) in requests {
        let item = &spec["paths"][*pattern];
        let method = ["POST ", "PUT ", "PATCH ", "DELETE "]
            .into_iter()
            .find(|m| uri.starts_with(m))
            .map(|m| m.trim().to_lowercase());
        let op = match method {
            Some(m) => &item[m.as_str()],
            None if r.status == 405 => item.get("post").unwrap_or(&item["get"]),
            None => &item["get"],
        };
        assert!(op.is_object(), "{uri}: no such operation in the spec");
        for name in response_header_names(&spec, op, r.status) {
            assert!(
                r.headers.contains_key(name.as_str()),
                "{uri}: the spec promises header {name} with {}",
                r.status
            );
        }
        let response = op["responses"]
            .get(r.status.to_string())
            .map(|v| deref(&spec, v))
            .unwrap_or_else(|| {
                panic!(
                    "{uri}: status {} is not in the spec for {pattern}",
                    r.status
                )
            });
        if response.get("content").is_none() {
            assert!(
                r.body.is_empty(),
                "{uri}: {} has no content in the spec",
                r.status
            );
            continue;
        }
        let media = response["content"]
            .get(&r.content_type)
            .or_else(|| {
                // `text/plain; version=0.0.4; charset=utf-8` is declared as `text/plain`.
                let base = r.content_type.split(';').next().unwrap_or("");
                response["content"].get(base)
            })
            .unwrap_or_else(|| {
                panic!(
                    "{uri}: content type {} is not declared for {}",
                    r.content_type, r.status
                )
            });
        let schema = &media["schema"];
        let instance = if r.content_type.contains("json") {
            r.json()
        } else {
            Value::String(r.text())
        };
        let v = validator(&spec, schema);
        let errors: Vec<String> = v
            .iter_errors(&instance)
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect();
        assert!(
            errors.is_empty(),
            "{uri} ({}): {errors:#?}\n{instance}",
            r.status
        );
    }
}

/// Headers the spec declares for a response (the ones a client relies on: ETag, Location,
/// WWW-Authenticate, Retry-After).
fn response_header_names(spec: &Value, op: &Value, status: u16) -> Vec<String> {
    op["responses"]
        .get(status.to_string())
        .map(|v| deref(spec, v))
        .and_then(|r| r["headers"].as_object())
        .map(|h| h.keys().map(|k| k.to_lowercase()).collect())
        .unwrap_or_default()
}

#[actix_web::test]
async fn write_responses_validate_against_the_spec() {
    use actix_web::test::TestRequest;
    use servicemap::edit::{Editor, Role, Tokens, tokens::new_token};
    let spec = spec();
    let dir = fixture_copy("contract-writes", &[]);
    let (editor, live) = Editor::open(&dir).unwrap();
    let (token, line) = new_token("contract", &Role::Editor).unwrap();
    let (grid_token, grid_line) =
        new_token("g", &Role::Grid(vec!["500113006001-g1".into()])).unwrap();
    let mut state = servicemap::api::AppState::live(live);
    state.editing = Some(actix_web::web::Data::new(servicemap::api::edits::Editing {
        editor,
        tokens: Tokens::parse(&format!("{line}\n{grid_line}")).unwrap(),
        limiter: servicemap::api::edits::RateLimiter::new(1e6, 1e6),
        body_max_bytes: 4096,
    }));
    let c = common::client(state).await;
    let bearer = format!("Bearer {token}");
    let feature = r#"{"type":"Feature","id":"cx","geometry":{"type":"Point","coordinates":[106.5236,29.4645]},"properties":{"name":"n","category":"elder_canteen"}}"#;
    let bad_cat = r#"{"type":"Feature","geometry":{"type":"Point","coordinates":[106.5236,29.4645]},"properties":{"category":"nope"}}"#;
    let big = format!(
        r#"{{"type":"Feature","properties":{{"x":"{}"}}}}"#,
        "x".repeat(5000)
    );
    let items = "/collections/{collectionId}/items";
    let item = "/collections/{collectionId}/items/{featureId}";
    // (pattern, method, uri, body, authorization, if-match)
    type Write<'a> = (
        &'a str,
        &'a str,
        &'a str,
        String,
        Option<String>,
        Option<&'a str>,
    );
    let writes: Vec<Write> = vec![
        (
            items,
            "POST",
            "/collections/facilities/items",
            feature.into(),
            Some(bearer.clone()),
            None,
        ),
        (
            items,
            "POST",
            "/collections/facilities/items",
            feature.into(),
            Some(bearer.clone()),
            None,
        ),
        (
            items,
            "POST",
            "/collections/facilities/items",
            bad_cat.into(),
            Some(bearer.clone()),
            None,
        ),
        (
            items,
            "POST",
            "/collections/facilities/items",
            "{".into(),
            Some(bearer.clone()),
            None,
        ),
        (
            items,
            "POST",
            "/collections/facilities/items",
            big,
            Some(bearer.clone()),
            None,
        ),
        (
            items,
            "POST",
            "/collections/facilities/items",
            feature.into(),
            None,
            None,
        ),
        (
            items,
            "POST",
            "/collections/boundary/items",
            feature.into(),
            Some(bearer.clone()),
            None,
        ),
        (
            items,
            "POST",
            "/collections/nope/items",
            feature.into(),
            Some(bearer.clone()),
            None,
        ),
        (
            item,
            "PUT",
            "/collections/facilities/items/cx",
            feature.into(),
            Some(bearer.clone()),
            None,
        ),
        (
            item,
            "PUT",
            "/collections/facilities/items/cx",
            feature.into(),
            Some(bearer.clone()),
            Some("\"stale\""),
        ),
        (
            item,
            "PATCH",
            "/collections/facilities/items/cx",
            r#"{"properties":{"name":"m"}}"#.into(),
            Some(bearer.clone()),
            None,
        ),
        (
            item,
            "PATCH",
            "/collections/facilities/items/f02",
            r#"{"properties":{"name":"m"}}"#.into(),
            Some(format!("Bearer {grid_token}")),
            None,
        ),
        (
            item,
            "DELETE",
            "/collections/facilities/items/cx",
            String::new(),
            Some(bearer.clone()),
            None,
        ),
        (
            item,
            "DELETE",
            "/collections/facilities/items/cx",
            String::new(),
            Some(bearer.clone()),
            None,
        ),
        (
            "/admin/reload",
            "POST",
            "/admin/reload",
            String::new(),
            Some(bearer.clone()),
            None,
        ),
        (
            "/admin/reload",
            "POST",
            "/admin/reload",
            String::new(),
            Some("Bearer wrong".into()),
            None,
        ),
    ];
    let mut requests = Vec::new();
    for (pattern, method, uri, body, auth, if_match) in writes {
        let mut req = TestRequest::default()
            .method(method.parse().unwrap())
            .uri(uri)
            .set_payload(body.clone());
        if !body.is_empty() {
            let ct = if method == "PATCH" {
                "application/merge-patch+json"
            } else {
                "application/geo+json"
            };
            req = req.insert_header(("content-type", ct));
        }
        if let Some(a) = auth {
            req = req.insert_header(("authorization", a));
        }
        if let Some(m) = if_match {
            req = req.insert_header(("if-match", m));
        }
        requests.push((pattern, format!("{method} {uri}"), c.send(req).await));
    }
    let statuses: Vec<u16> = requests.iter().map(|r| r.2.status).collect();
    assert_eq!(
        statuses,
        [
            201, 409, 422, 400, 413, 401, 405, 404, 200, 412, 200, 403, 204, 404, 200, 401
        ]
    );
    for (pattern, uri) in [
        (
            "/collections/{collectionId}/items/{featureId}/history",
            "/collections/facilities/items/cx/history",
        ),
        ("/changes", "/changes?since=1&limit=2"),
        ("/changes", "/changes?limit=0"),
        (
            "/collections/{collectionId}/items/{featureId}",
            "/collections/facilities/items/f01",
        ),
    ] {
        requests.push((pattern, uri.to_string(), c.get(uri).await));
    }
    check(&spec, &requests);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn the_validator_really_checks() {
    // Guard against a vacuous contract test: a wrong document must fail.
    let spec = spec();
    let v = validator(
        &spec,
        &serde_json::json!({ "$ref": "#/components/schemas/Located" }),
    );
    assert!(!v.is_valid(&serde_json::json!({ "community": 3 })));
    let v = validator(
        &spec,
        &serde_json::json!({ "$ref": "#/components/schemas/NearestResult" }),
    );
    let bad = serde_json::json!({
        "type": "FeatureCollection", "numberReturned": 1,
        "query": {"lon": 1, "lat": 1, "coords": "wgs84", "categories": [], "k": 1, "mode": "straight"},
        "features": [{"type": "Feature", "id": "a", "geometry": {"type": "Point", "coordinates": [1, 2]}, "properties": {"name": "x", "category": "y"}}]
    });
    assert!(
        !v.is_valid(&bad),
        "a nearest feature without distance_m must fail"
    );
    let walk_without_time = serde_json::json!({
        "type": "FeatureCollection", "numberReturned": 1,
        "query": {"lon": 1, "lat": 1, "coords": "wgs84", "categories": [], "k": 1, "mode": "walk",
                  "profile": "standard", "max_min": null, "route": false, "max_snap_m": 300, "snap_m": 3},
        "features": [{"type": "Feature", "id": "a", "geometry": {"type": "Point", "coordinates": [1, 2]}, "properties": {"name": "x", "category": "y", "distance_m": 1, "rank": 1}}]
    });
    assert!(
        !v.is_valid(&walk_without_time),
        "a walk-mode feature without walk_min must fail"
    );
    let v = validator(
        &spec,
        &serde_json::json!({ "$ref": "#/components/schemas/IsochroneResult" }),
    );
    assert!(!v.is_valid(&serde_json::json!({
        "type": "FeatureCollection", "numberReturned": 1,
        "query": {"origins": [{"lon": 1, "lat": 2, "snap_m": 0}], "minutes": [5], "profile": "standard", "max_snap_m": 300, "coords": "wgs84"},
        "features": [{"type": "Feature", "id": "5min", "geometry": {"type": "MultiPolygon", "coordinates": []}, "properties": {"minutes": 5}}]
    })), "an isochrone feature without households must fail");
}
