//! No request can make the server fail: random, hostile and malformed query strings on every
//! route answer 2xx or a problem+json 4xx — never a 5xx, never a panic (fixed seeds).

// Test helpers may unwrap, expect and panic: a failing test should stop loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use servicemap::api::ROUTES;

/// Parameter names the routes know, plus some they do not.
const NAMES: [&str; 30] = [
    "lon",
    "lat",
    "k",
    "category",
    "max_m",
    "coords",
    "mode",
    "profile",
    "max_min",
    "route",
    "max_snap_m",
    "minutes",
    "origins",
    "bbox",
    "limit",
    "offset",
    "f",
    "level",
    "standard",
    "target_share",
    "community",
    "count",
    "candidates",
    "grid",
    "name",
    "id",
    "x",
    "",
    "lon[]",
    "%ZZ",
];

/// Values: numbers at and past every bound, non-numbers, huge and empty strings, lists.
const VALUES: [&str; 36] = [
    "106.53",
    "29.47",
    "0",
    "-1",
    "1e308",
    "-1e308",
    "NaN",
    "inf",
    "-inf",
    "1e-320",
    "180.0001",
    "90.0000001",
    "5",
    "10001",
    "99999999999999999999",
    "abc",
    "",
    "elder_canteen",
    "elder_canteen,,clinic",
    "walk",
    "straight",
    "elder",
    "wheelchair",
    "gcj02",
    "bd09",
    "grid",
    "mofcom",
    "106.52,29.46,106.54,29.48",
    "106.54,29.48,106.52,29.46",
    "1,2;3,4;5",
    "106.53,29.47;106.52,29.46",
    "true",
    "%00",
    "中文",
    "5,10,15,20,25,30,35",
    "0x10",
];

/// Percent-encode what a URI cannot carry raw; `%` stays, so broken escapes (`%ZZ`) get through.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~,;%".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn random_query(rng: &mut ChaCha8Rng) -> String {
    let n = rng.random_range(0..6);
    (0..n)
        .map(|_| {
            let name = NAMES[rng.random_range(0..NAMES.len())];
            let value = VALUES[rng.random_range(0..VALUES.len())];
            let value = if rng.random_bool(0.1) {
                value.repeat(200)
            } else {
                value.to_string()
            };
            format!("{}={}", encode(name), encode(&value))
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn concrete(path: &str, rng: &mut ChaCha8Rng) -> String {
    const IDS: [&str; 6] = ["facilities", "walkways", "grids", "nope", "..", "f01"];
    path.split('/')
        .map(|seg| {
            if seg.starts_with('{') {
                IDS[rng.random_range(0..IDS.len())]
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[actix_web::test]
async fn random_queries_on_every_route_never_fail_the_server() {
    let c = common::client(common::mini_service()).await;
    let mut rng = ChaCha8Rng::seed_from_u64(9457);
    let mut checked = 0;
    for _ in 0..100 {
        for route in ROUTES {
            let uri = format!(
                "{}?{}",
                concrete(route.path, &mut rng),
                random_query(&mut rng)
            );
            let r = if route.path == "/scenarios" {
                let body = [
                    "{}",
                    "[",
                    "{\"add\": 3}",
                    "{\"remove\": [\"x\"]}",
                    "null",
                    "\"\u{0}\"",
                ][rng.random_range(0..6)];
                c.send(
                    actix_web::test::TestRequest::post()
                        .uri(&uri)
                        .insert_header(("content-type", "application/json"))
                        .set_payload(body),
                )
                .await
            } else {
                c.get(&uri).await
            };
            assert!(r.status < 500, "{uri}: {} {}", r.status, r.text());
            if r.status >= 400 {
                assert_eq!(r.content_type, "application/problem+json", "{uri}");
                let p = r.json();
                assert!(
                    p["detail"].as_str().is_some_and(|d| !d.is_empty()),
                    "{uri}: {p}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 100 * ROUTES.len());
}
