//! `POST /nearest/batch` equals `GET /nearest` origin by origin (seeded random origins over
//! the default data, both modes), in GeoJSON and CSV; limits and bad rows are problems.

// Test helpers may unwrap, expect and panic: a failing test should stop loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]
// CSV numbers are the JSON numbers printed shortest-round-trip: equal exactly or wrong.
#![allow(clippy::float_cmp)]

mod common;

use std::sync::Arc;

use actix_web::test::TestRequest;
use common::client;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use servicemap::service::Service;

fn origins(seed: u64, n: usize) -> Vec<(f64, f64)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            (
                (rng.random_range(106.510..106.550_f64) * 1e6).round() / 1e6,
                (rng.random_range(29.450..29.490_f64) * 1e6).round() / 1e6,
            )
        })
        .collect()
}

fn geojson_body(pts: &[(f64, f64)]) -> String {
    let features: Vec<Value> = pts
        .iter()
        .enumerate()
        .map(|(i, (lon, lat))| {
            let mut f = json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]}});
            // Every other origin is named; the rest are named by their position.
            if i % 2 == 0 {
                f["id"] = json!(format!("o{i}"));
            }
            f
        })
        .collect();
    json!({"type": "FeatureCollection", "features": features}).to_string()
}

fn post(uri: &str, content_type: &str, body: String) -> TestRequest {
    TestRequest::post()
        .uri(uri)
        .insert_header(("content-type", content_type))
        .set_payload(body)
}

#[actix_web::test]
async fn batch_equals_the_single_query_endpoint_on_random_origins() {
    let svc: Arc<Service> = Arc::clone(common::geodata());
    let c = client(svc).await;
    let pts = origins(9, 150);
    let mut errors = 0;
    for params in [
        "k=4&category=pharmacy,elder_canteen",
        "mode=straight&k=7",
        "profile=elder&max_min=15&route=true&k=3&coords=gcj02",
        "mode=straight&k=3&properties=&skipGeometry=true",
    ] {
        let r = c
            .send(post(
                &format!("/nearest/batch?{params}"),
                "application/geo+json",
                geojson_body(&pts),
            ))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(r.content_type.starts_with("application/geo+json"));
        let batch = r.json();
        assert_eq!(batch["query"]["origins"], pts.len());
        let feats = batch["features"].as_array().unwrap();
        let mut at = 0;
        for (i, (lon, lat)) in pts.iter().enumerate() {
            let label = if i % 2 == 0 {
                json!(format!("o{i}"))
            } else {
                json!(i)
            };
            let single = c
                .get(&format!("/nearest?lon={lon}&lat={lat}&{params}"))
                .await;
            if single.status != 200 {
                // The origin's one record carries the same problem detail.
                let f = &feats[at];
                assert_eq!(f["properties"]["origin"], label);
                assert_eq!(f["geometry"], Value::Null);
                assert_eq!(
                    f["properties"]["error"],
                    single.problem(single.status)["detail"]
                );
                at += 1;
                errors += 1;
                continue;
            }
            for want in single.json()["features"].as_array().unwrap() {
                let mut got = feats[at].clone();
                assert_eq!(got["properties"]["origin"], label, "{params} origin {i}");
                got["properties"].as_object_mut().unwrap().remove("origin");
                assert_eq!(&got, want, "{params} origin {i}");
                at += 1;
            }
        }
        assert_eq!(at, feats.len(), "{params}: no extra features");
    }
    assert!(errors < 3 * pts.len() / 2, "most origins must be answered");
}

#[actix_web::test]
async fn csv_in_csv_out_matches_the_geojson_answer() {
    let svc: Arc<Service> = Arc::clone(common::geodata());
    let c = client(svc).await;
    // More origins than one rendering task of the CSV walking path (64), so tasks join in order.
    let pts = origins(21, 200);
    let params = "k=3&category=pharmacy";
    let geo = c
        .send(post(
            &format!("/nearest/batch?{params}"),
            "application/json",
            geojson_body(&pts),
        ))
        .await
        .json();
    let mut csv = String::from("lon,lat,id\n");
    for (i, (lon, lat)) in pts.iter().enumerate() {
        // An id with a comma and a quote travels quoted.
        csv += &format!("{lon},{lat},\"o{i}, \"\"x\"\"\"\r\n");
    }
    let r = c
        .send(post(&format!("/nearest/batch?{params}"), "text/csv", csv))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.content_type.starts_with("text/csv"));
    let text = r.text();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("origin,rank,id,name,category,lon,lat,distance_m,walk_min,walk_m,error")
    );
    let rows: Vec<&str> = lines.collect();
    let feats = geo["features"].as_array().unwrap();
    assert_eq!(rows.len(), feats.len());
    for (row, f) in rows.iter().zip(feats) {
        let p = &f["properties"];
        let i = match &p["origin"] {
            Value::String(s) => s[1..].parse::<usize>().unwrap(),
            v => usize::try_from(v.as_u64().unwrap()).unwrap(),
        };
        let prefix = format!("\"o{i}, \"\"x\"\"\",");
        assert!(row.starts_with(&prefix), "{row}");
        let rest: Vec<&str> = row[prefix.len()..].split(',').collect();
        if p.get("error").is_some() {
            assert!(rest[..9].iter().all(|c| c.is_empty()), "{row}");
            continue;
        }
        assert_eq!(rest[0], p["rank"].to_string());
        assert_eq!(rest[1], f["id"].as_str().unwrap());
        assert_eq!(
            rest[6].parse::<f64>().unwrap(),
            p["distance_m"].as_f64().unwrap()
        );
        assert_eq!(
            rest[7].parse::<f64>().unwrap(),
            p["walk_min"].as_f64().unwrap()
        );
    }
}

#[actix_web::test]
async fn limits_and_bad_rows_are_problems() {
    let svc: Arc<Service> = Arc::clone(common::geodata());
    let c = client(svc).await;
    let mut csv = String::from("lon,lat\n");
    for _ in 0..100_001 {
        csv += "106.533,29.47\n";
    }
    let r = c.send(post("/nearest/batch", "text/csv", csv)).await;
    let p = r.problem(413);
    assert!(p["detail"].as_str().unwrap().contains("100000"), "{p}");

    let r = c
        .send(post(
            "/nearest/batch",
            "text/csv",
            "lon,lat\n106.533,29.47\n106.533,north\n".into(),
        ))
        .await;
    let d = r.problem(400)["detail"].as_str().unwrap().to_string();
    assert!(d.contains("origin 1") && d.contains("lat"), "{d}");

    let r = c
        .send(post(
            "/nearest/batch",
            "application/geo+json",
            r#"{"type":"FeatureCollection","features":[{"geometry":{"type":"Point","coordinates":[106.53,29.47]}},{"geometry":{"type":"LineString","coordinates":[]}}]}"#.into(),
        ))
        .await;
    let d = r.problem(400)["detail"].as_str().unwrap().to_string();
    assert!(d.contains("origin 1") && d.contains("Point"), "{d}");

    let r = c
        .send(post("/nearest/batch?lon=1", "text/csv", "lon,lat\n".into()))
        .await;
    r.problem(400);
    let r = c
        .send(post("/nearest/batch", "text/plain", "lon,lat\n".into()))
        .await;
    assert!(
        r.problem(400)["detail"]
            .as_str()
            .unwrap()
            .contains("text/csv")
    );
    let r = c
        .send(post(
            "/nearest/batch?route=true",
            "text/csv",
            "lon,lat\n".into(),
        ))
        .await;
    r.problem(400);
    let r = c
        .send(post(
            "/nearest/batch?skipGeometry=true",
            "text/csv",
            "lon,lat\n".into(),
        ))
        .await;
    assert!(r.problem(400).to_string().contains("skipGeometry"));
}

/// The CSV walking path (rows written straight from the tables' hits, numbers from rounded
/// integers, facility columns spliced) against `GET /nearest` column by column, on origins
/// at walk-network vertices (where several edges tie at distance 0 for the snapping index),
/// a few metres off them, and at random; origins named by position (no id column).
#[actix_web::test]
async fn csv_walking_rows_equal_single_queries_at_vertices() {
    let svc: Arc<Service> = Arc::clone(common::geodata());
    let world = svc.walk.as_deref().expect("walkways");
    let graph = &world.graph;
    let mut rng = ChaCha8Rng::seed_from_u64(33);
    let mut pts: Vec<(f64, f64)> = Vec::new();
    for _ in 0..60 {
        let n = servicemap::walk::NodeId(rng.random_range(0..graph.node_count() as u32));
        let xy = graph.node_xy(n);
        pts.push(graph.to_lonlat(xy));
        let off = [rng.random_range(-6.0..6.0), rng.random_range(-6.0..6.0)];
        pts.push(graph.to_lonlat([xy[0] + off[0], xy[1] + off[1]]));
    }
    pts.extend(origins(34, 30));
    let params = "k=5&category=eatery&max_min=60";
    let mut csv = String::from("lon,lat\n");
    for (lon, lat) in &pts {
        csv += &format!("{lon},{lat}\n");
    }
    let c = client(Arc::clone(&svc)).await;
    let r = c
        .send(post(&format!("/nearest/batch?{params}"), "text/csv", csv))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.text();
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let mut at = 0;
    let mut compared = 0;
    for (i, (lon, lat)) in pts.iter().enumerate() {
        let single = c
            .get(&format!("/nearest?lon={lon}&lat={lat}&{params}"))
            .await;
        if single.status != 200 {
            assert_eq!(rows[at][0], i.to_string());
            assert!(!rows[at][10].is_empty(), "origin {i}: an error column");
            at += 1;
            continue;
        }
        for want in single.json()["features"].as_array().unwrap() {
            let row = &rows[at];
            let p = &want["properties"];
            assert_eq!(row.len(), 11, "{row:?}");
            assert_eq!(row[0], i.to_string());
            assert_eq!(row[1], p["rank"].to_string());
            assert_eq!(row[2], want["id"].as_str().unwrap());
            if let Some(name) = p["name"].as_str() {
                assert_eq!(row[3], name);
            }
            let coords = &want["geometry"]["coordinates"];
            let num = |s: &str| s.parse::<f64>().unwrap();
            assert_eq!(num(row[5]), coords[0].as_f64().unwrap(), "origin {i} lon");
            assert_eq!(num(row[6]), coords[1].as_f64().unwrap(), "origin {i} lat");
            assert_eq!(num(row[7]), p["distance_m"].as_f64().unwrap(), "origin {i}");
            assert_eq!(num(row[8]), p["walk_min"].as_f64().unwrap(), "origin {i}");
            assert_eq!(num(row[9]), p["walk_m"].as_f64().unwrap(), "origin {i}");
            assert_eq!(row[10], "");
            at += 1;
            compared += 1;
        }
    }
    assert_eq!(at, rows.len(), "no extra rows");
    assert!(compared > 400, "{compared} rows compared");
}

/// A CSV line's cells as written (quotes kept), split at the commas outside quotes.
fn cells(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut from, mut quoted) = (0, false);
    for (i, ch) in line.char_indices() {
        match ch {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(&line[from..i]);
                from = i + 1;
            }
            _ => {}
        }
    }
    out.push(&line[from..]);
    out
}

/// `columns=` picks CSV columns: every row is the full answer's row cut down to the chosen
/// columns in the chosen order (hits and per-origin errors alike, origins off the network
/// included); unknown, repeated or empty choices and GeoJSON bodies are 400 problems.
#[actix_web::test]
async fn csv_columns_are_the_full_rows_cut_down() {
    let svc: Arc<Service> = Arc::clone(common::geodata());
    let c = client(svc).await;
    let mut pts = origins(41, 150);
    // Far off the network: an error row.
    pts.push((106.0, 29.0));
    let mut csv = String::from("lon,lat\n");
    for (lon, lat) in &pts {
        csv += &format!("{lon},{lat}\n");
    }
    let full_names = [
        "origin",
        "rank",
        "id",
        "name",
        "category",
        "lon",
        "lat",
        "distance_m",
        "walk_min",
        "walk_m",
        "error",
    ];
    for params in [
        "k=5&category=eatery&max_min=60",
        "k=3&category=pharmacy,park",
        "k=2&mode=straight",
    ] {
        let r = c
            .send(post(
                &format!("/nearest/batch?{params}"),
                "text/csv",
                csv.clone(),
            ))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let full = r.text();
        let full_rows: Vec<Vec<&str>> = full.lines().skip(1).map(cells).collect();
        assert!(full_rows.iter().all(|r| r.len() == 11), "{params}");
        assert_eq!(
            full_rows.iter().any(|r| !r[10].is_empty()),
            !params.contains("straight"),
            "{params}: an error row in walk mode"
        );
        for chosen in [
            vec!["origin", "id", "walk_min", "error"],
            vec!["walk_m", "origin", "lat", "lon", "rank"],
            vec!["id", "name", "category", "lon", "lat", "distance_m"],
            vec!["error"],
            full_names.to_vec(),
        ] {
            let r = c
                .send(post(
                    &format!("/nearest/batch?{params}&columns={}", chosen.join(",")),
                    "text/csv",
                    csv.clone(),
                ))
                .await;
            assert_eq!(r.status, 200, "{}", r.text());
            let text = r.text();
            let mut lines = text.lines();
            assert_eq!(lines.next(), Some(chosen.join(",").as_str()));
            let rows: Vec<&str> = lines.collect();
            assert_eq!(rows.len(), full_rows.len(), "{params} {chosen:?}");
            for (row, full) in rows.iter().zip(&full_rows) {
                let want: Vec<&str> = chosen
                    .iter()
                    .map(|name| full[full_names.iter().position(|n| n == name).unwrap()])
                    .collect();
                assert_eq!(*row, want.join(","), "{params} {chosen:?}");
            }
        }
    }
    for bad in ["nope", "id,id", ",", ""] {
        let r = c
            .send(post(
                &format!("/nearest/batch?columns={bad}"),
                "text/csv",
                csv.clone(),
            ))
            .await;
        let p = r.problem(400);
        assert!(p.to_string().contains("columns"), "{p}");
    }
    let r = c
        .send(post(
            "/nearest/batch?columns=origin",
            "application/geo+json",
            geojson_body(&pts[..3]),
        ))
        .await;
    assert!(r.problem(400).to_string().contains("columns"));
}

/// The same CSV body posted under other profiles, snapping reaches and categories, and again,
/// answers as `GET /nearest` does every time (origins off the network keep their errors).
#[actix_web::test]
async fn csv_batches_of_the_same_origins_equal_single_queries() {
    let svc: Arc<Service> = Arc::clone(common::geodata());
    let c = client(Arc::clone(&svc)).await;
    let mut pts = origins(35, 40);
    // Off the network under a short reach, and outside the mapped area.
    pts.push((106.5301, 29.4701));
    pts.push((106.40, 29.40));
    let mut csv = String::from("lon,lat\n");
    for (lon, lat) in &pts {
        csv += &format!("{lon},{lat}\n");
    }
    let cols = "columns=origin,id,walk_min,error";
    // Runs in pairs with the same profile and reach, each pair's options other than the last's.
    let runs = [
        "k=3&category=eatery&max_min=60",
        "k=2&category=pharmacy&max_min=30",
        "k=3&category=eatery&max_min=60&profile=elder",
        "k=2&category=eatery&max_min=20&profile=elder",
        "k=3&category=eatery&max_min=60&max_snap_m=15",
        "k=2&category=pharmacy&max_min=30&max_snap_m=15",
        "k=3&category=eatery&max_min=60",
    ];
    let mut errors = 0;
    for params in runs {
        let r = c
            .send(post(
                &format!("/nearest/batch?{params}&{cols}"),
                "text/csv",
                csv.clone(),
            ))
            .await;
        assert_eq!(r.status, 200, "{params}: {}", r.text());
        let text = r.text();
        let rows: Vec<Vec<&str>> = text.lines().skip(1).map(cells).collect();
        let mut at = 0;
        for (i, (lon, lat)) in pts.iter().enumerate() {
            let single = c
                .get(&format!("/nearest?lon={lon}&lat={lat}&{params}"))
                .await;
            if single.status != 200 {
                assert_eq!(rows[at][0], i.to_string(), "{params}");
                assert!(!rows[at][3].is_empty(), "{params}: origin {i} has an error");
                at += 1;
                errors += 1;
                continue;
            }
            for want in single.json()["features"].as_array().unwrap() {
                let row = &rows[at];
                assert_eq!(row[0], i.to_string(), "{params}");
                assert_eq!(row[1], want["id"].as_str().unwrap(), "{params}: origin {i}");
                assert_eq!(
                    row[2].parse::<f64>().unwrap(),
                    want["properties"]["walk_min"].as_f64().unwrap(),
                    "{params}: origin {i}"
                );
                assert_eq!(row[3], "");
                at += 1;
            }
        }
        assert_eq!(at, rows.len(), "{params}: no extra rows");
    }
    assert!(
        errors >= 4,
        "{errors} errors: the off-network origins were tried"
    );
}
