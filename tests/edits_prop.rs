//! Property tests of the write path (issue 12), on scratch copies of the fixture:
//! - random and malformed bodies, on every write route, never make the server fail (no 5xx,
//!   no panic) and a refused write changes nothing;
//! - a random sequence of writes, replayed from the journal after a restart, gives the same
//!   data as applying it live, and the compacted files alone give it too.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use actix_web::test::TestRequest;
use actix_web::web;
use proptest::prelude::*;
use serde_json::{Value, json};
use servicemap::api::AppState;
use servicemap::api::edits::{Editing, RateLimiter};
use servicemap::api::snapshot::Live;
use servicemap::edit::tokens::new_token;
use servicemap::edit::{Editor, Role, Tokens};
use servicemap::model::LayerId;
use servicemap::model::geojson::feature_json;

mod common;

fn token() -> &'static (String, String) {
    static T: OnceLock<(String, String)> = OnceLock::new();
    T.get_or_init(|| new_token("prop", &Role::Editor).unwrap())
}

fn scratch() -> std::path::PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    common::fixture_copy(&format!("prop-{}", N.fetch_add(1, Ordering::Relaxed)), &[])
}

fn state(dir: &Path) -> (AppState, Arc<Live>) {
    let (editor, live) = Editor::open(dir).unwrap();
    let mut st = AppState::live(Arc::clone(&live));
    st.editing = Some(web::Data::new(Editing {
        editor,
        tokens: Tokens::parse(&token().1).unwrap(),
        limiter: RateLimiter::new(1e9, 1e9),
        body_max_bytes: 16 * 1024,
    }));
    (st, live)
}

fn layer_json(live: &Live, layer: LayerId) -> Vec<Value> {
    live.load()
        .dataset
        .layer(layer)
        .unwrap_or(&[])
        .iter()
        .map(feature_json)
        .collect()
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-200.0f64..200.0).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "[a-z_ 食堂]{0,8}".prop_map(Value::from),
        Just(json!("Feature")),
        Just(json!("Point")),
        Just(json!("elder_canteen")),
    ];
    leaf.prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("type".to_string()),
                    Just("id".to_string()),
                    Just("geometry".to_string()),
                    Just("coordinates".to_string()),
                    Just("properties".to_string()),
                    Just("category".to_string()),
                    "[a-z]{1,5}",
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Bodies close to a real feature: the right shape with wrong parts.
fn featureish() -> impl Strategy<Value = Value> {
    (
        prop_oneof![
            Just("Point"),
            Just("LineString"),
            Just("Polygon"),
            Just("Nope")
        ],
        prop::collection::vec(prop::collection::vec(-200.0f64..200.0, 0..4), 0..4),
        (106.515f64..106.545, 29.455f64..29.485),
        prop_oneof![
            Just("elder_canteen"),
            Just("clinic"),
            Just("spaceport"),
            Just("")
        ],
        prop::option::of(prop_oneof![
            Just(json!("f01")),
            Just(json!(3)),
            Just(json!("new"))
        ]),
        any::<bool>(),
    )
        .prop_map(|(kind, coords, (lon, lat), cat, id, point)| {
            let coordinates = if point {
                json!([lon, lat])
            } else {
                json!(coords)
            };
            let mut f = json!({
                "type": "Feature",
                "geometry": {"type": kind, "coordinates": coordinates},
                "properties": {"category": cat, "name": "n"},
            });
            if let Some(id) = id {
                f["id"] = id;
            }
            f
        })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        json_value().prop_map(|v| v.to_string().into_bytes()),
        featureish().prop_map(|v| v.to_string().into_bytes()),
        prop::collection::vec(any::<u8>(), 0..64),
    ]
}

fn target() -> impl Strategy<Value = (&'static str, &'static str)> {
    prop_oneof![
        Just(("POST", "/collections/facilities/items")),
        Just(("PUT", "/collections/facilities/items/f01")),
        Just(("PATCH", "/collections/facilities/items/f01")),
        Just(("POST", "/collections/grids/items")),
        Just(("PATCH", "/collections/grids/items/500113006001-g1")),
        Just(("PUT", "/collections/walkways/items/w01")),
        Just(("POST", "/collections/buildings/items")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn malformed_writes_never_fail_the_server_and_refusals_change_nothing(
        writes in prop::collection::vec((target(), body()), 1..6)
    ) {
        let dir = scratch();
        actix_web::rt::System::new().block_on(async {
            let (st, live) = state(&dir);
            let c = common::client(st).await;
            for ((method, uri), bytes) in writes {
                let before: Vec<Vec<Value>> =
                    LayerId::ALL.iter().map(|l| layer_json(&live, *l)).collect();
                let seq_before = c.get("/changes").await.json()["latest"].clone();
                let ct = if method == "PATCH" { "application/merge-patch+json" } else { "application/geo+json" };
                let r = c
                    .send(
                        TestRequest::default()
                            .method(method.parse().unwrap())
                            .uri(uri)
                            .insert_header(("content-type", ct))
                            .insert_header(("authorization", format!("Bearer {}", token().0)))
                            .set_payload(bytes.clone()),
                    )
                    .await;
                assert!(r.status < 500, "{method} {uri} {}: {} {}", String::from_utf8_lossy(&bytes), r.status, r.text());
                if r.status >= 400 {
                    r.problem(r.status);
                    let after: Vec<Vec<Value>> =
                        LayerId::ALL.iter().map(|l| layer_json(&live, *l)).collect();
                    assert!(after == before, "a refused write changed data");
                    assert_eq!(c.get("/changes").await.json()["latest"], seq_before);
                }
            }
        });
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn journal_replay_equals_live_application(
        ops in prop::collection::vec(
            (0u8..4, any::<u8>(), 106.5205f64..106.5395, 29.4605f64..29.4795, "[a-z]{1,6}"),
            1..16,
        )
    ) {
        let dir = scratch();
        let live_state = actix_web::rt::System::new().block_on(async {
            let (st, live) = state(&dir);
            let c = common::client(st).await;
            let auth = ("authorization", format!("Bearer {}", token().0));
            let mut ids: Vec<String> = vec!["f01".into(), "f02".into()];
            for (i, (kind, pick, lon, lat, name)) in ops.into_iter().enumerate() {
                let target = ids[usize::from(pick) % ids.len()].clone();
                let uri = format!("/collections/facilities/items/{target}");
                let point = json!({"type": "Point", "coordinates": [lon, lat]});
                let req = match kind {
                    0 => TestRequest::post().uri("/collections/facilities/items").set_payload(
                        json!({"type": "Feature", "id": format!("p{i}"), "geometry": point,
                               "properties": {"name": name, "category": "elder_canteen"}}).to_string()),
                    1 => TestRequest::patch().uri(&uri)
                        .insert_header(("content-type", "application/merge-patch+json"))
                        .set_payload(json!({"properties": {"name": name}}).to_string()),
                    2 => TestRequest::put().uri(&uri).set_payload(
                        json!({"type": "Feature", "geometry": point,
                               "properties": {"name": name, "category": "clinic"}}).to_string()),
                    _ => TestRequest::delete().uri(&uri),
                };
                let r = c.send(req.insert_header(auth.clone())).await;
                assert!(r.status < 500, "{}", r.text());
                match (kind, r.status) {
                    (0, 201) => ids.push(format!("p{i}")),
                    (3, 204) => ids.retain(|x| *x != target),
                    _ => {}
                }
                if ids.is_empty() {
                    ids.push("f03".into());
                }
            }
            LayerId::ALL.iter().map(|l| layer_json(&live, *l)).collect::<Vec<_>>()
        });
        // Give the old writer a moment to see its channel closed is not needed: it is idle
        // and the journal is only read here.
        let replayed = {
            let (editor, live) = Editor::open(&dir).unwrap();
            drop(editor);
            LayerId::ALL.iter().map(|l| layer_json(&live, *l)).collect::<Vec<_>>()
        };
        prop_assert!(replayed == live_state, "replay differs from live");
        let files = servicemap::service::Service::load(&dir).unwrap();
        let from_files: Vec<Vec<Value>> = LayerId::ALL
            .iter()
            .map(|l| files.dataset.layer(*l).unwrap_or(&[]).iter().map(feature_json).collect())
            .collect();
        prop_assert!(from_files == live_state, "compacted files differ from live");
        std::fs::remove_dir_all(&dir).ok();
    }
}
