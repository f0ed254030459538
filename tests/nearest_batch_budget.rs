//! `POST /nearest/batch` with the nearest tables' memory budget spent (issue 15): the batch
//! builds the tables it needs for itself and drops them, and still equals `GET /nearest`
//! origin by origin, which answers by the search when no table fits: the table lookup is
//! checked against the plain search here. A process of its own: the budget is set once.

// Test helpers may unwrap, expect and panic: a failing test should stop loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::sync::Arc;

use actix_web::test::TestRequest;
use common::client;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use servicemap::budgets::{self, MemoryBudgets};
use servicemap::service::Service;

#[actix_web::test]
async fn a_batch_over_the_tables_budget_equals_single_queries() {
    assert!(budgets::set(MemoryBudgets {
        nearest_tables_bytes: 0,
        ..MemoryBudgets::default()
    }));
    let svc: Arc<Service> = Arc::clone(common::geodata());
    let c = client(Arc::clone(&svc)).await;
    let mut rng = ChaCha8Rng::seed_from_u64(31);
    let pts: Vec<(f64, f64)> = (0..120)
        .map(|_| {
            (
                (rng.random_range(106.510..106.550_f64) * 1e6).round() / 1e6,
                (rng.random_range(29.450..29.490_f64) * 1e6).round() / 1e6,
            )
        })
        .collect();
    let features: Vec<serde_json::Value> = pts
        .iter()
        .map(|(lon, lat)| {
            serde_json::json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]}})
        })
        .collect();
    let body = serde_json::json!({"type": "FeatureCollection", "features": features}).to_string();
    let mut answered = 0;
    for params in [
        "k=5&category=park&max_min=60",
        "k=3&category=pharmacy,elder_canteen",
        "k=2&profile=elder&max_min=20",
    ] {
        let r = c
            .send(
                TestRequest::post()
                    .uri(&format!(
                        "/nearest/batch?{params}&properties=&skipGeometry=true"
                    ))
                    .insert_header(("content-type", "application/geo+json"))
                    .set_payload(body.clone()),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let batch = r.json();
        let feats = batch["features"].as_array().unwrap();
        let mut at = 0;
        for (i, (lon, lat)) in pts.iter().enumerate() {
            let single = c
                .get(&format!(
                    "/nearest?lon={lon}&lat={lat}&{params}&properties=&skipGeometry=true"
                ))
                .await;
            if single.status != 200 {
                assert_eq!(feats[at]["properties"]["origin"], i, "{params} origin {i}");
                at += 1;
                continue;
            }
            for want in single.json()["features"].as_array().unwrap() {
                let mut got = feats[at].clone();
                assert_eq!(got["properties"]["origin"], i, "{params} origin {i}");
                got["properties"].as_object_mut().unwrap().remove("origin");
                assert_eq!(&got, want, "{params} origin {i}");
                at += 1;
                answered += 1;
            }
        }
        assert_eq!(at, feats.len(), "{params}: no extra features");
    }
    assert!(answered > 300, "most origins must be answered ({answered})");
    // Nothing was kept: the budget holds.
    let world = svc.walk.as_deref().expect("the default data walks");
    assert_eq!(world.nearest_tables.bytes(), 0);
}
