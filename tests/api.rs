//! HTTP behaviour of every endpoint, through the same `App` the server runs.

// Test helpers may unwrap, expect and panic: a failing test should stop loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use actix_web::test::TestRequest;
use common::{client, fixture_copy, mini_service};
use servicemap::model::Crs;
use servicemap::service::Service;

// A point in 林荫社区 (500113006001), grid g1, micro-grid m1, compound 融汇江山 (cp-01).
const LON: f64 = 106.5225;
const LAT: f64 = 29.4625;

#[actix_web::test]
async fn landing_conformance_collections() {
    let c = client(mini_service()).await;
    let r = c.get("/").await;
    assert_eq!(r.status, 200);
    let links = r.json()["links"].as_array().unwrap().clone();
    for rel in ["self", "conformance", "data", "service-desc"] {
        assert!(links.iter().any(|l| l["rel"] == rel), "landing lacks {rel}");
    }
    let desc = links.iter().find(|l| l["rel"] == "service-desc").unwrap();
    assert_eq!(desc["type"], "application/vnd.oai.openapi;version=3.0");
    assert!(desc["href"].as_str().unwrap().ends_with("/openapi.yaml"));

    let conf = c.get("/conformance").await.json();
    let classes: Vec<&str> = conf["conformsTo"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(classes.iter().any(|c| c.ends_with("/conf/core")));
    assert!(classes.iter().any(|c| c.ends_with("/conf/geojson")));
    assert!(classes.iter().any(|c| c.ends_with("/conf/oas30")));

    let cols = c.get("/collections?f=json").await.json();
    let ids: Vec<&str> = cols["collections"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "boundary",
            "communities",
            "grids",
            "microgrids",
            "buildings",
            "compounds",
            "facilities",
            "water",
            "walkways"
        ]
    );
    let fac = c.get("/collections/facilities").await.json();
    assert_eq!(
        fac["extent"]["spatial"]["crs"],
        "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    );
    let bbox = fac["extent"]["spatial"]["bbox"][0].as_array().unwrap();
    assert_eq!(bbox.len(), 4);
    assert!(
        fac["links"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["rel"] == "items" && l["type"] == "application/geo+json")
    );
}

#[actix_web::test]
async fn items_paging_links_and_counts() {
    let c = client(mini_service()).await;
    let r = c.get("/collections/buildings/items").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type, "application/geo+json");
    let page = r.json();
    assert_eq!(page["numberMatched"], 20);
    assert_eq!(page["numberReturned"], 10, "default limit is 10");
    assert!(page["timeStamp"].as_str().unwrap().ends_with('Z'));

    let mut seen = Vec::new();
    let mut uri = "/collections/buildings/items?limit=6".to_string();
    let mut pages = 0;
    loop {
        let p = c.get(&uri).await.json();
        pages += 1;
        seen.extend(
            p["features"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["id"].as_str().unwrap().to_string()),
        );
        let links = p["links"].as_array().unwrap();
        if pages > 1 {
            assert!(
                links.iter().any(|l| l["rel"] == "prev"),
                "page {pages} lacks prev"
            );
        } else {
            assert!(
                !links.iter().any(|l| l["rel"] == "prev"),
                "first page has prev"
            );
        }
        match links.iter().find(|l| l["rel"] == "next") {
            Some(next) => {
                let href = next["href"].as_str().unwrap();
                uri = href[href.find("/collections").unwrap()..].to_string();
            }
            None => break,
        }
    }
    assert_eq!(pages, 4, "20 features by 6");
    let expected: Vec<String> = (1..=20).map(|i| format!("b{i:03}")).collect();
    assert_eq!(
        seen, expected,
        "pages cover every feature once, in file order"
    );

    let tail = c
        .get("/collections/buildings/items?limit=6&offset=18")
        .await
        .json();
    assert_eq!(tail["numberReturned"], 2);
    let beyond = c
        .get("/collections/buildings/items?offset=500")
        .await
        .json();
    assert_eq!(beyond["numberReturned"], 0);
    assert_eq!(beyond["numberMatched"], 20);
}

#[actix_web::test]
async fn items_bbox_and_property_filters() {
    let c = client(mini_service()).await;
    let canteens = c
        .get("/collections/facilities/items?category=elder_canteen")
        .await
        .json();
    assert_eq!(canteens["numberMatched"], 3);
    assert!(
        canteens["features"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["properties"]["category"] == "elder_canteen")
    );

    // f03 has no community in the file; it is linked by point-in-polygon and filterable.
    let east = c
        .get("/collections/facilities/items?community=500113006002&limit=100")
        .await
        .json();
    let ids: Vec<&str> = east["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["id"].as_str())
        .collect();
    assert!(
        ids.contains(&"f03") && ids.contains(&"f02") && !ids.contains(&"f01"),
        "{ids:?}"
    );

    let sw = c
        .get("/collections/facilities/items?bbox=106.52,29.46,106.525,29.465&limit=100")
        .await
        .json();
    let ids: Vec<&str> = sw["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["id"].as_str())
        .collect();
    assert_eq!(ids, ["f15"]);
    let both = c
        .get("/collections/facilities/items?bbox=106.52,29.46,106.53,29.47&category=clinic")
        .await
        .json();
    assert_eq!(both["numberMatched"], 1);

    // Polygons intersecting the box, not only those inside it.
    let grids = c
        .get("/collections/grids/items?bbox=106.529,29.469,106.531,29.471")
        .await
        .json();
    assert_eq!(grids["numberMatched"], 4);
    // Numbers compare by value.
    let staffed = c
        .get("/collections/grids/items?volunteers=12.0")
        .await
        .json();
    assert_eq!(staffed["numberMatched"], 1);
    let old = c.get("/collections/compounds/items?old=true").await.json();
    assert_eq!(old["features"][0]["id"], "cp-03");

    // Walkways keep their elevation.
    let w = c.get("/collections/walkways/items/wk01").await.json();
    assert_eq!(w["geometry"]["coordinates"][0].as_array().unwrap().len(), 3);
}

#[actix_web::test]
async fn item_by_id() {
    let c = client(mini_service()).await;
    let r = c.get("/collections/facilities/items/f04").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type, "application/geo+json");
    let f = r.json();
    assert_eq!(f["id"], "f04");
    assert_eq!(
        f["geometry"]["coordinates"],
        serde_json::json!([106.5262, 29.4702])
    );
    c.get("/collections/facilities/items/nope")
        .await
        .problem(404);
    c.get("/collections/nope/items/f04").await.problem(404);
}

#[actix_web::test]
async fn locate_returns_units_and_the_three_level_service_list() {
    let c = client(mini_service()).await;
    let r = c.get(&format!("/locate?lon={LON}&lat={LAT}")).await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["subdistrict"]["id"], "500113006");
    assert_eq!(v["community"]["id"], "500113006001");
    assert_eq!(v["grid"]["id"], "500113006001-g1");
    assert_eq!(v["microgrid"]["id"], "500113006001-g1-m1");
    assert_eq!(v["compound"]["id"], "cp-01");
    let contacts = v["service_contacts"].as_array().unwrap();
    let levels: Vec<&str> = contacts
        .iter()
        .filter_map(|c| c["level"].as_str())
        .collect();
    assert_eq!(levels, ["subdistrict", "community", "grid"]);
    assert_eq!(contacts[0]["office_address"], "巴南区李家沱正街1号");
    assert_eq!(contacts[1]["secretary"], "张书记");
    assert_eq!(contacts[2]["grid_worker"], "李网格员");
    assert_eq!(contacts[2]["part_time_workers"], 3);
    assert_eq!(contacts[2]["volunteers"], 12);
    assert_eq!(v["missing_layers"].as_array().unwrap().len(), 0);

    // Not in any compound: compound is null, the rest answered.
    let v = c.get("/locate?lon=106.538&lat=29.478").await.json();
    assert_eq!(v["community"]["id"], "500113006002");
    assert!(v["compound"].is_null());

    let p = c.get("/locate?lon=106.60&lat=29.47").await.problem(404);
    assert_eq!(p["type"], "urn:servicemap:problem:outside-area");
}

#[actix_web::test]
async fn coords_gcj02_and_bd09_round_trip() {
    let c = client(mini_service()).await;
    for crs in [Crs::Gcj02, Crs::Bd09] {
        let (x, y) = crs.from_wgs84(LON, LAT);
        let v = c
            .get(&format!("/locate?lon={x}&lat={y}&coords={}", crs.as_str()))
            .await
            .json();
        assert_eq!(v["community"]["id"], "500113006001", "{crs:?}");
        assert_eq!(v["compound"]["id"], "cp-01", "{crs:?}");
        assert!((v["query"]["lon_wgs84"].as_f64().unwrap() - LON).abs() < 1e-5);

        // Output geometries are written in the requested system.
        let f = c
            .get(&format!(
                "/collections/facilities/items/f04?coords={}",
                crs.as_str()
            ))
            .await
            .json();
        let (ex, ey) = crs.from_wgs84(106.5262, 29.4702);
        let got = f["geometry"]["coordinates"].as_array().unwrap();
        assert!(
            (got[0].as_f64().unwrap() - ex).abs() < 2e-7
                && (got[1].as_f64().unwrap() - ey).abs() < 2e-7
        );
        assert!(
            (got[0].as_f64().unwrap() - 106.5262).abs() > 1e-4,
            "geometry must be shifted"
        );

        // Nearest from the shifted point finds the same facilities as from the WGS84 one.
        let a = c
            .get(&format!("/nearest?lon={LON}&lat={LAT}&k=3"))
            .await
            .json();
        let b = c
            .get(&format!(
                "/nearest?lon={x}&lat={y}&k=3&coords={}",
                crs.as_str()
            ))
            .await
            .json();
        let ids = |v: &serde_json::Value| -> Vec<String> {
            v["features"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["id"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(ids(&a), ids(&b));

        // bbox in the same system selects the same features.
        let (x0, y0) = crs.from_wgs84(106.52, 29.46);
        let (x1, y1) = crs.from_wgs84(106.525, 29.465);
        let sw = c
            .get(&format!(
                "/collections/facilities/items?bbox={x0},{y0},{x1},{y1}&coords={}",
                crs.as_str()
            ))
            .await
            .json();
        assert_eq!(sw["features"][0]["id"], "f15");
    }
}

#[actix_web::test]
async fn nearest_sorted_with_distances() {
    let c = client(mini_service()).await;
    let r = c
        .get("/nearest?lon=106.53&lat=29.47&category=convenience_store,pharmacy&k=4&mode=straight")
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type, "application/geo+json");
    let v = r.json();
    let feats = v["features"].as_array().unwrap();
    assert_eq!(feats.len(), 4);
    let d: Vec<f64> = feats
        .iter()
        .map(|f| f["properties"]["distance_m"].as_f64().unwrap())
        .collect();
    assert!(d.windows(2).all(|w| w[0] <= w[1]), "{d:?}");
    assert!(feats.iter().all(|f| {
        ["convenience_store", "pharmacy"].contains(&f["properties"]["category"].as_str().unwrap())
    }));
    assert_eq!(feats[0]["id"], "f08", "the store 100 m north");
    assert!((d[0] - 100.5).abs() < 0.5, "{}", d[0]);
    assert_eq!(feats[0]["properties"]["rank"], 1);

    let near = c
        .get(
            "/nearest?lon=106.53&lat=29.47&category=convenience_store&k=10&max_m=300&mode=straight",
        )
        .await
        .json();
    assert!(
        near["features"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["properties"]["distance_m"].as_f64().unwrap() <= 300.0)
    );
    let none = c
        .get("/nearest?lon=106.53&lat=29.47&category=library&max_m=10&mode=straight")
        .await
        .json();
    assert_eq!(none["numberReturned"], 0);
    let all = c
        .get("/nearest?lon=106.53&lat=29.47&k=100&mode=straight")
        .await
        .json();
    assert_eq!(all["numberReturned"], 15, "no category: every facility");
}

#[actix_web::test]
async fn categories_health_metrics_openapi() {
    let c = client(mini_service()).await;
    let cats = c.get("/categories").await.json();
    let list = cats["categories"].as_array().unwrap();
    assert_eq!(list.len(), 7);
    let canteen = list.iter().find(|c| c["id"] == "elder_canteen").unwrap();
    assert_eq!(canteen["facilities"], 3);
    assert_eq!(canteen["gb50180"]["max_m"], 500.0);

    let h = c.get("/healthz").await.json();
    assert_eq!(h["status"], "ok");
    assert_eq!(h["layers"]["facilities"], 15);

    c.get("/nearest?lon=x&lat=1").await.problem(400);
    let m = c.get("/metrics").await;
    assert_eq!(m.status, 200);
    assert!(m.content_type.starts_with("text/plain"));
    let text = m.text();
    assert!(
        text.contains(
            "servicemap_http_requests_total{method=\"GET\",route=\"/categories\",status=\"200\"} 1"
        ),
        "{text}"
    );
    assert!(
        text.contains("servicemap_http_errors_total{route=\"/nearest\",status=\"400\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("servicemap_http_request_duration_seconds_bucket{route=\"/healthz\""),
        "{text}"
    );

    let y = c.get("/openapi.yaml").await;
    assert_eq!(y.status, 200);
    assert!(y.text().starts_with("openapi: 3.1"));
    let j = c
        .send(
            TestRequest::get()
                .uri("/openapi.yaml")
                .insert_header(("accept", "application/json")),
        )
        .await;
    assert_eq!(j.json()["openapi"], "3.1.0");
}

#[actix_web::test]
async fn bad_input_is_a_problem_never_a_panic() {
    let c = client(mini_service()).await;
    let cases: &[(&str, u16, &str)] = &[
        ("/nearest?lon=abc&lat=29.47", 400, "lon"),
        ("/nearest?lon=NaN&lat=29.47", 400, "lon"),
        ("/nearest?lon=106.5&lat=inf", 400, "lat"),
        ("/nearest?lon=181&lat=29.47", 400, "lon"),
        ("/nearest?lon=106.5&lat=-91", 400, "lat"),
        ("/nearest?lat=29.47", 400, "lon"),
        ("/nearest?lon=106.5&lat=29.47&k=101", 400, "k"),
        ("/nearest?lon=106.5&lat=29.47&k=0", 400, "k"),
        ("/nearest?lon=106.5&lat=29.47&k=-3", 400, "k"),
        ("/nearest?lon=106.5&lat=29.47&max_m=-1", 400, "max_m"),
        (
            "/nearest?lon=106.5&lat=29.47&category=spaceport",
            400,
            "spaceport",
        ),
        (
            "/nearest?lon=106.5&lat=29.47&category=clinic,,x",
            400,
            "category",
        ),
        ("/nearest?lon=106.5&lat=29.47&mode=walk", 422, "max_snap_m"),
        ("/nearest?lon=106.5&lat=29.47&mode=fly", 400, "mode"),
        (
            "/nearest?lon=106.5&lat=29.47&categroy=clinic",
            400,
            "categroy",
        ),
        (
            "/nearest?lon=106.5&lon=106.6&lat=29.47",
            400,
            "more than once",
        ),
        (
            "/nearest?lon=106.5&lat=29.47&coords=mercator",
            400,
            "coords",
        ),
        ("/nearest?lon=%ZZ&lat=1", 400, "lon"),
        ("/locate?lon=&lat=29.47", 400, "lon"),
        ("/locate?lon=106.53&lat=1e999", 400, "lat"),
        ("/locate?lon=106.6&lat=29.47", 404, "outside"),
        ("/collections/nope", 404, "nope"),
        ("/collections/nope/items", 404, "nope"),
        ("/collections/facilities/items?limit=10001", 400, "limit"),
        ("/collections/facilities/items?limit=0", 400, "limit"),
        ("/collections/facilities/items?limit=ten", 400, "limit"),
        ("/collections/facilities/items?offset=-1", 400, "offset"),
        ("/collections/facilities/items?bbox=1,2,3", 400, "bbox"),
        ("/collections/facilities/items?bbox=1,2,3,x", 400, "bbox"),
        (
            "/collections/facilities/items?bbox=3,2,1,4",
            400,
            "inverted",
        ),
        ("/collections/facilities/items?bbox=0,0,200,1", 400, "bbox"),
        (
            "/collections/facilities/items?category=spaceport",
            400,
            "spaceport",
        ),
        ("/collections/facilities/items?colour=red", 400, "colour"),
        ("/collections/facilities/items?f=html", 400, "f"),
        (
            "/collections/facilities/items?bbox-crs=EPSG:3857",
            400,
            "bbox-crs",
        ),
        ("/collections/facilities/items/zzz", 404, "zzz"),
        ("/categories?x=1", 400, "x"),
        ("/no/such/route", 404, "route"),
    ];
    for (uri, status, needle) in cases {
        let p = c.get(uri).await.problem(*status);
        let detail = p["detail"].as_str().unwrap();
        assert!(
            detail.contains(needle),
            "{uri}: detail '{detail}' should mention '{needle}'"
        );
        assert!(
            p["instance"]
                .as_str()
                .unwrap()
                .starts_with(uri.split('?').next().unwrap())
        );
    }
    for method in [
        actix_web::http::Method::POST,
        actix_web::http::Method::DELETE,
    ] {
        let r = c
            .send(
                TestRequest::default()
                    .method(method)
                    .uri("/nearest?lon=1&lat=1"),
            )
            .await;
        r.problem(405);
        assert_eq!(r.headers.get("allow").unwrap(), "GET");
    }
}

#[actix_web::test]
async fn a_directory_without_grids_still_serves() {
    let dir = fixture_copy("nogrids", &["grids", "microgrids"]);
    let svc = Service::load(&dir).expect("starts without grids");
    let c = client(svc).await;
    let v = c.get(&format!("/locate?lon={LON}&lat={LAT}")).await.json();
    assert_eq!(v["community"]["id"], "500113006001");
    assert!(v["grid"].is_null() && v["microgrid"].is_null());
    assert_eq!(
        v["missing_layers"],
        serde_json::json!(["grids", "microgrids"])
    );
    let levels: Vec<&str> = v["service_contacts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["level"].as_str())
        .collect();
    assert_eq!(levels, ["subdistrict", "community"]);

    let cols = c.get("/collections").await.json();
    assert!(
        !cols["collections"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == "grids")
    );
    for uri in [
        "/collections/grids",
        "/collections/grids/items",
        "/collections/microgrids/items/x",
    ] {
        let p = c.get(uri).await.problem(404);
        assert_eq!(
            p["type"], "urn:servicemap:problem:layer-unavailable",
            "{uri}"
        );
        assert!(p["detail"].as_str().unwrap().contains("no 'grids'") || uri.contains("microgrids"));
    }
    std::fs::remove_dir_all(dir).ok();
}

#[actix_web::test]
async fn a_directory_without_facilities_or_areas_answers_with_problems() {
    let dir = fixture_copy(
        "onlywalk",
        &[
            "boundary",
            "communities",
            "grids",
            "microgrids",
            "compounds",
            "facilities",
        ],
    );
    let c = client(Service::load(&dir).expect("starts with walkways only")).await;
    let p = c.get("/nearest?lon=106.53&lat=29.47").await.problem(404);
    assert_eq!(p["type"], "urn:servicemap:problem:layer-unavailable");
    let p = c.get("/locate?lon=106.53&lat=29.47").await.problem(404);
    assert_eq!(p["type"], "urn:servicemap:problem:layer-unavailable");
    assert_eq!(c.get("/healthz").await.status, 200);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_broken_directory_names_the_file_and_feature() {
    let dir = fixture_copy("broken", &[]);
    let path = dir.join("facilities.geojson");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("\"category\":\"clinic\",", "");
    std::fs::write(&path, text).unwrap();
    let err = Service::load(&dir)
        .expect_err("a facility without category must stop start-up")
        .to_string();
    assert!(
        err.contains("facilities") && err.contains("'f06'") && err.contains("category"),
        "{err}"
    );

    std::fs::write(&path, "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"id\":\"z\",\"geometry\":null,\"properties\":{}}]}").unwrap();
    let err = Service::load(&dir).expect_err("no geometry").to_string();
    assert!(
        err.contains("facilities.geojson") && err.contains("'z'"),
        "{err}"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[actix_web::test]
async fn cors_headers_on_answers_and_problems() {
    let c = client(mini_service()).await;
    for uri in ["/healthz", "/nearest?lon=x&lat=1", "/nope"] {
        let r = c
            .send(
                TestRequest::get()
                    .uri(uri)
                    .insert_header(("origin", "https://map.example")),
            )
            .await;
        assert_eq!(
            r.headers
                .get("access-control-allow-origin")
                .map(|v| v.to_str().unwrap()),
            Some("*"),
            "{uri}"
        );
    }
}

/// What a browser offers (`gzip, deflate, br, zstd`) gets gzip, the one coding the server
/// makes, and it decompresses to the plain answer; a client that offers only codings the
/// server does not make, or refuses gzip, gets the plain bytes.
#[actix_web::test]
async fn answers_are_gzipped_for_clients_that_offer_it() {
    use std::io::Read as _;
    let c = client(mini_service()).await;
    let uri = "/collections/facilities/items?limit=50";
    let plain = c.get(uri).await;
    assert_eq!(plain.status, 200);
    assert!(plain.headers.get("content-encoding").is_none());
    let gz = c
        .send(
            TestRequest::get()
                .uri(uri)
                .insert_header(("accept-encoding", "gzip, deflate, br, zstd")),
        )
        .await;
    assert_eq!(gz.status, 200);
    assert_eq!(gz.headers.get("content-encoding").unwrap(), "gzip");
    assert!(gz.body.len() < plain.body.len(), "gzip is smaller");
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(gz.body.as_slice())
        .read_to_end(&mut unzipped)
        .unwrap();
    // The same answer but for its `timeStamp`, which moves with the clock.
    let same = |bytes: &[u8]| {
        let mut v: serde_json::Value = serde_json::from_slice(bytes).unwrap();
        v.as_object_mut().unwrap().remove("timeStamp");
        v
    };
    assert_eq!(same(&unzipped), same(&plain.body));
    for offer in ["br, zstd", "gzip;q=0, br"] {
        let r = c
            .send(
                TestRequest::get()
                    .uri(uri)
                    .insert_header(("accept-encoding", offer)),
            )
            .await;
        assert_eq!(r.status, 200, "{offer}");
        assert!(r.headers.get("content-encoding").is_none(), "{offer}");
        assert_eq!(same(&r.body), same(&plain.body), "{offer}");
    }
}

#[actix_web::test]
async fn cors_origin_list_is_enforced() {
    use actix_web::test::init_service;
    use servicemap::api::{AppState, CorsOrigins, app};
    assert_eq!(CorsOrigins::parse("*"), CorsOrigins::Any);
    let origins = CorsOrigins::parse("https://a.example, https://b.example");
    assert_eq!(
        origins,
        CorsOrigins::List(vec!["https://a.example".into(), "https://b.example".into()])
    );
    let mut state = AppState::new(mini_service());
    state.cors = origins;
    let svc = init_service(app(state)).await;
    let ok = actix_web::test::call_service(
        &svc,
        TestRequest::get()
            .uri("/healthz")
            .insert_header(("origin", "https://b.example"))
            .to_request(),
    )
    .await;
    assert_eq!(
        ok.headers().get("access-control-allow-origin").unwrap(),
        "https://b.example"
    );
    // actix-cors 0.7 answers but without CORS headers, so the browser withholds the body.
    let other = actix_web::test::call_service(
        &svc,
        TestRequest::get()
            .uri("/healthz")
            .insert_header(("origin", "https://evil.example"))
            .to_request(),
    )
    .await;
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

#[test]
fn a_rule_violation_stops_start_up_naming_the_feature() {
    let dir = fixture_copy("violation", &[]);
    let path = dir.join("grids.geojson");
    let text = std::fs::read_to_string(&path).unwrap().replacen(
        "\"community\":\"500113006002\"",
        "\"community\":\"nowhere\"",
        1,
    );
    std::fs::write(&path, text).unwrap();
    let err = Service::load(&dir)
        .expect_err("a broken reference must stop start-up")
        .to_string();
    assert!(
        err.contains("grids") && err.contains("500113006002-g1") && err.contains("violation"),
        "{err}"
    );
    std::fs::remove_dir_all(dir).ok();
}
