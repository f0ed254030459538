//! Edits without loss (issue 12): OGC API – Features Part 4 writes through the same app the
//! server runs, on scratch copies of the fixture (never `geodata/` in place): round trips,
//! ETag / If-Match, tokens and roles, refusals that change nothing, history, the change feed,
//! journal replay after a restart and a torn last record.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::Path;
use std::sync::OnceLock;

use actix_web::test::TestRequest;
use actix_web::web;
use serde_json::{Value, json};
use servicemap::api::AppState;
use servicemap::api::edits::{Editing, RateLimiter};
use servicemap::edit::tokens::new_token;
use servicemap::edit::{Editor, Role, Tokens};

mod common;
use common::{Reply, fixture_copy};

struct Toks {
    editor: String,
    grid: String,
    lines: String,
}

/// An editor token and a grid token for `500113006001-g1` (Argon2 is slow on purpose: once).
fn toks() -> &'static Toks {
    static T: OnceLock<Toks> = OnceLock::new();
    T.get_or_init(|| {
        let (editor, l1) = new_token("office", &Role::Editor).unwrap();
        let (grid, l2) = new_token("wang", &Role::Grid(vec!["500113006001-g1".into()])).unwrap();
        Toks {
            editor,
            grid,
            lines: format!("{l1}\n{l2}\n"),
        }
    })
}

fn state(dir: &Path, rate: f64) -> AppState {
    state_limited(dir, RateLimiter::new(rate, rate))
}

fn state_limited(dir: &Path, limiter: RateLimiter) -> AppState {
    let (editor, live) = Editor::open(dir).unwrap();
    let mut st = AppState::live(live);
    st.editing = Some(web::Data::new(Editing {
        editor,
        tokens: Tokens::parse(&toks().lines).unwrap(),
        limiter,
        body_max_bytes: 64 * 1024,
    }));
    st
}

fn canteen(id: Option<&str>, lon: f64, lat: f64) -> Value {
    let mut f = json!({
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {"name": "新开老年食堂", "category": "elder_canteen", "address": "新路1号"},
    });
    if let Some(id) = id {
        f["id"] = json!(id);
    }
    f
}

fn with_token(req: TestRequest, token: Option<&str>) -> TestRequest {
    match token {
        Some(t) => req.insert_header(("authorization", format!("Bearer {t}"))),
        None => req,
    }
}

/// A write with a JSON body of `content_type`, as `token` (none: anonymous).
fn write(req: TestRequest, content_type: &str, body: &Value, token: Option<&str>) -> TestRequest {
    with_token(
        req.insert_header(("content-type", content_type))
            .set_payload(body.to_string()),
        token,
    )
}

fn post(uri: &str, body: &Value, token: Option<&str>) -> TestRequest {
    write(
        TestRequest::post().uri(uri),
        "application/geo+json",
        body,
        token,
    )
}

fn put(uri: &str, body: &Value, token: Option<&str>) -> TestRequest {
    write(
        TestRequest::put().uri(uri),
        "application/geo+json",
        body,
        token,
    )
}

fn patch(uri: &str, body: &Value, token: Option<&str>) -> TestRequest {
    write(
        TestRequest::patch().uri(uri),
        "application/merge-patch+json",
        body,
        token,
    )
}

fn delete(uri: &str, token: Option<&str>) -> TestRequest {
    with_token(TestRequest::delete().uri(uri), token)
}

fn etag(r: &Reply) -> String {
    r.headers
        .get("etag")
        .expect("ETag")
        .to_str()
        .unwrap()
        .to_string()
}

fn layer_bytes(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "geojson"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().to_string(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[actix_web::test]
async fn create_get_replace_patch_delete_round_trip_with_etags() {
    let dir = fixture_copy("edits-roundtrip", &[]);
    let c = common::client(state(&dir, 1e6)).await;
    let ed = Some(toks().editor.as_str());

    let r = c
        .send(post(
            "/collections/facilities/items",
            &canteen(Some("fx1"), 106.535, 29.465),
            ed,
        ))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let loc = r.headers.get("location").unwrap().to_str().unwrap();
    assert!(loc.ends_with("/collections/facilities/items/fx1"), "{loc}");
    let created_tag = etag(&r);

    let g = c.get("/collections/facilities/items/fx1").await;
    assert_eq!(g.status, 200);
    assert_eq!(
        etag(&g),
        created_tag,
        "GET answers the ETag the write returned"
    );
    assert_eq!(g.json()["properties"]["category"], "elder_canteen");
    // The service fills in the grid by point-in-polygon, as for features read from files.
    assert_eq!(g.json()["properties"]["grid"], "500113006002-g1");

    // PUT with the current ETag replaces.
    let mut body = canteen(None, 106.5352, 29.4652);
    body["properties"]["name"] = json!("改名食堂");
    let r = c
        .send(
            put("/collections/facilities/items/fx1", &body, ed)
                .insert_header(("if-match", created_tag.clone())),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let put_tag = etag(&r);
    assert_ne!(put_tag, created_tag);
    assert_eq!(
        c.get("/collections/facilities/items/fx1").await.json()["properties"]["name"],
        "改名食堂"
    );

    // The old ETag no longer matches: 412, nothing changes.
    let r = c
        .send(
            patch(
                "/collections/facilities/items/fx1",
                &json!({"properties": {"name": "x"}}),
                ed,
            )
            .insert_header(("if-match", created_tag.clone())),
        )
        .await;
    let p = r.problem(412);
    assert!(
        p["detail"].as_str().unwrap().contains("GET it again"),
        "{p}"
    );
    assert_eq!(etag(&r), put_tag, "the 412 names the current ETag");
    assert_eq!(
        c.get("/collections/facilities/items/fx1").await.json()["properties"]["name"],
        "改名食堂"
    );

    // PATCH (merge patch) with the current one: a member removed, one set.
    let r = c
        .send(
            patch(
                "/collections/facilities/items/fx1",
                &json!({"properties": {"address": null, "phone": "023-1"}}),
                ed,
            )
            .insert_header(("if-match", put_tag.clone())),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let f = c.get("/collections/facilities/items/fx1").await.json();
    assert_eq!(f["properties"]["phone"], "023-1");
    assert!(f["properties"].get("address").is_none());
    assert_eq!(f["properties"]["name"], "改名食堂");

    // A create with an id in use: 409.
    c.send(post(
        "/collections/facilities/items",
        &canteen(Some("fx1"), 106.535, 29.465),
        ed,
    ))
    .await
    .problem(409);

    // DELETE: 204, then 404.
    let r = c
        .send(delete("/collections/facilities/items/fx1", ed))
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    c.get("/collections/facilities/items/fx1")
        .await
        .problem(404);
    c.send(delete("/collections/facilities/items/fx1", ed))
        .await
        .problem(404);

    // History of the feature: who, what, before and after, in order.
    let h = c
        .get("/collections/facilities/items/fx1/history")
        .await
        .json();
    let ops: Vec<&str> = h["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["op"].as_str().unwrap())
        .collect();
    assert_eq!(ops, ["create", "replace", "patch", "delete"]);
    let changes = h["changes"].as_array().unwrap();
    assert!(changes.iter().all(|c| c["who"] == "office"));
    assert!(changes[0]["before"].is_null());
    assert_eq!(changes[1]["before"]["properties"]["name"], "新开老年食堂");
    assert_eq!(changes[1]["after"]["properties"]["name"], "改名食堂");
    assert!(changes[3]["after"].is_null());
    c.get("/collections/nope/items/fx1/history")
        .await
        .problem(404);
    c.get("/collections/facilities/items/never/history")
        .await
        .problem(404);
    let f01 = c
        .get("/collections/facilities/items/f01/history")
        .await
        .json();
    assert_eq!(
        f01["changes"].as_array().unwrap().len(),
        0,
        "an unedited feature: empty"
    );

    // The change feed pages by sequence number.
    let feed = c.get("/changes?since=0&limit=2").await.json();
    assert_eq!(feed["changes"].as_array().unwrap().len(), 2);
    assert_eq!(feed["latest"], 4);
    let next = feed["next"].as_u64().unwrap();
    let rest = c.get(&format!("/changes?since={next}")).await.json();
    assert_eq!(rest["changes"].as_array().unwrap().len(), 2);
    assert_eq!(rest["changes"][1]["seq"], 4);
    c.get("/changes?limit=0").await.problem(400);
    c.get("/changes?since=-1").await.problem(400);
    let far = c.get("/changes?since=32589158477190044730").await.json();
    assert_eq!(far["changes"].as_array().unwrap().len(), 0);
    std::fs::remove_dir_all(dir).ok();
}

#[actix_web::test]
async fn tokens_and_roles() {
    let dir = fixture_copy("edits-auth", &[]);
    let before = layer_bytes(&dir);
    let c = common::client(state(&dir, 1e6)).await;
    let body = canteen(None, 106.5235, 29.4645);

    // No token, a wrong token, a malformed header: 401 problems with a Bearer challenge.
    for token in [None, Some("wrong-token")] {
        let r = c
            .send(post("/collections/facilities/items", &body, token))
            .await;
        r.problem(401);
        let challenge = r.headers.get("www-authenticate").unwrap().to_str().unwrap();
        assert!(challenge.starts_with("Bearer"), "{challenge}");
    }
    let r = c
        .send(
            post("/collections/facilities/items", &body, None)
                .insert_header(("authorization", "Basic abc")),
        )
        .await;
    r.problem(401);
    c.send(delete("/collections/facilities/items/f01", Some("x")))
        .await
        .problem(401);

    // A grid token inside its grid (500113006001-g1 is 106.52–106.53, 29.46–29.47).
    let grid = Some(toks().grid.as_str());
    let r = c
        .send(post("/collections/facilities/items", &body, grid))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    // f01 lies in its grid: it may patch it…
    let r = c
        .send(patch(
            "/collections/facilities/items/f01",
            &json!({"properties": {"name": "新名"}}),
            grid,
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // A building in its grid may be drawn as a footprint, and a footprint building then stays
    // the grid worker's to keep (its grid is where its interior point lies).
    let (x, y, d) = (106.526, 29.4626, 0.0001);
    let footprint = json!({"type": "Polygon", "coordinates": [[
        [x - d, y - d], [x + d, y - d], [x + d, y + d], [x - d, y + d], [x - d, y - d]
    ]]});
    for body in [
        json!({"geometry": footprint}),
        json!({"properties": {"floors": 9}}),
    ] {
        let r = c
            .send(patch("/collections/buildings/items/b002", &body, grid))
            .await;
        assert_eq!(r.status, 200, "{body}: {}", r.text());
    }
    // …but not move it into another grid,
    let p = c
        .send(patch(
            "/collections/facilities/items/f01",
            &json!({"geometry": {"type": "Point", "coordinates": [106.535, 29.465]}}),
            grid,
        ))
        .await
        .problem(403);
    assert!(
        p["detail"].as_str().unwrap().contains("500113006002-g1"),
        "{p}"
    );
    // nor touch f02 (in 500113006002-g2), nor create outside, nor edit grids or walkways.
    c.send(delete("/collections/facilities/items/f02", grid))
        .await
        .problem(403);
    c.send(post(
        "/collections/facilities/items",
        &canteen(None, 106.535, 29.465),
        grid,
    ))
    .await
    .problem(403);
    c.send(patch(
        "/collections/grids/items/500113006001-g1",
        &json!({"properties": {"volunteers": 13}}),
        grid,
    ))
    .await
    .problem(403);
    // Reload is for editors.
    c.send(with_token(TestRequest::post().uri("/admin/reload"), grid))
        .await
        .problem(403);
    // Read-only layers refuse every token.
    c.send(patch(
        "/collections/boundary/items/500113006",
        &json!({"properties": {}}),
        Some(&toks().editor),
    ))
    .await
    .problem(405);
    // The refusals changed nothing on disk (the two accepted writes are in the journal).
    assert_eq!(layer_bytes(&dir), before);
    std::fs::remove_dir_all(dir).ok();
}

#[actix_web::test]
async fn refused_writes_change_nothing_and_name_the_rule() {
    let dir = fixture_copy("edits-refuse", &[]);
    let c = common::client(state(&dir, 1e6)).await;
    let ed = Some(toks().editor.as_str());
    let items = c
        .get("/collections/facilities/items?limit=1000")
        .await
        .json();
    let feed0 = c.get("/changes").await.json();

    // An unknown category: the `category` rule.
    let mut bad = canteen(None, 106.5235, 29.4645);
    bad["properties"]["category"] = json!("spaceport");
    let p = c
        .send(post("/collections/facilities/items", &bad, ed))
        .await
        .problem(422);
    assert!(p["detail"].as_str().unwrap().contains("category"), "{p}");
    assert!(
        p["violations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["rule"] == "category"),
        "{p}"
    );

    // A grid that no longer tiles its community: moved off by 5 m.
    let p = c
        .send(patch(
            "/collections/grids/items/500113006001-g1",
            &json!({"geometry": {"type": "Polygon", "coordinates": [[[106.52, 29.46], [106.5295, 29.46], [106.5295, 29.47], [106.52, 29.47], [106.52, 29.46]]]}}),
            ed,
        ))
        .await
        .problem(422);
    assert!(
        p["violations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["rule"] == "tiling"),
        "{p}"
    );

    // A facility with a line for a geometry, a body that is no Feature, no JSON, a number id.
    let mut line = canteen(None, 0.0, 0.0);
    line["geometry"] =
        json!({"type": "LineString", "coordinates": [[106.52, 29.46], [106.521, 29.461]]});
    c.send(post("/collections/facilities/items", &line, ed))
        .await
        .problem(422);
    c.send(post(
        "/collections/facilities/items",
        &json!({"type": "FeatureCollection", "features": []}),
        ed,
    ))
    .await
    .problem(400);
    c.send(with_token(
        TestRequest::post()
            .uri("/collections/facilities/items")
            .set_payload("{not json"),
        ed,
    ))
    .await
    .problem(400);
    c.send(post(
        "/collections/facilities/items",
        &canteen(None, 106.5235, 29.4645)
            .as_object()
            .map(|o| {
                let mut o = o.clone();
                o.insert("id".into(), json!(7));
                Value::Object(o)
            })
            .unwrap(),
        ed,
    ))
    .await
    .problem(400);
    // A patch that changes the id.
    c.send(patch(
        "/collections/facilities/items/f01",
        &json!({"id": "other"}),
        ed,
    ))
    .await
    .problem(400);
    // Unknown collection and feature.
    c.send(post(
        "/collections/nope/items",
        &canteen(None, 106.5235, 29.4645),
        ed,
    ))
    .await
    .problem(404);
    c.send(put(
        "/collections/facilities/items/nope",
        &canteen(None, 106.5235, 29.4645),
        ed,
    ))
    .await
    .problem(404);

    assert_eq!(
        c.get("/collections/facilities/items?limit=1000")
            .await
            .json()["features"],
        items["features"]
    );
    assert_eq!(c.get("/changes").await.json()["latest"], feed0["latest"]);
    std::fs::remove_dir_all(dir).ok();
}

#[actix_web::test]
async fn coverage_changes_at_once_when_a_canteen_opens() {
    let dir = fixture_copy("edits-coverage", &[]);
    let c = common::client(state(&dir, 1e6)).await;
    let uri = "/coverage?category=elder_canteen&minutes=5&profile=elder&level=grid";
    let before = c.get(uri).await;
    assert_eq!(before.status, 200, "{}", before.text());
    let r = c
        .send(post(
            "/collections/facilities/items",
            &canteen(Some("new-canteen"), 106.5385, 29.4635),
            Some(&toks().editor),
        ))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let after = c.get(uri).await;
    assert_eq!(after.status, 200);
    assert_ne!(
        before.json(),
        after.json(),
        "coverage must see the new canteen"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[actix_web::test]
async fn journal_replays_after_restart_and_a_torn_tail_is_dropped() {
    let dir = fixture_copy("edits-replay", &[]);
    let ed = Some(toks().editor.as_str());
    {
        let c = common::client(state(&dir, 1e6)).await;
        for i in 0..3 {
            let r = c
                .send(post(
                    "/collections/facilities/items",
                    &canteen(
                        Some(&format!("r{i}")),
                        106.5236 + f64::from(i) * 1e-4,
                        29.4645,
                    ),
                    ed,
                ))
                .await;
            assert_eq!(r.status, 201, "{}", r.text());
        }
    }
    // A write cut short by a crash: half a record at the end of the journal.
    let journal = dir.join("edits.journal");
    let whole = std::fs::read(&journal).unwrap();
    assert!(!whole.is_empty(), "the writes are journaled");
    let mut torn = whole.clone();
    torn.extend_from_slice(&whole[..whole.len() / 3 * 2 / 3]);
    std::fs::write(&journal, &torn).unwrap();

    // Restart: the three writes are there, the torn record is gone, the journal is compacted
    // into the layer files and the directory passes `servicemap validate`'s rules.
    let c = common::client(state(&dir, 1e6)).await;
    for i in 0..3 {
        assert_eq!(
            c.get(&format!("/collections/facilities/items/r{i}"))
                .await
                .status,
            200
        );
    }
    assert_eq!(
        std::fs::metadata(&journal).unwrap().len(),
        0,
        "compacted at start-up"
    );
    let (_, report) = servicemap::store::load_valid(&dir).unwrap();
    assert!(report.violations.is_empty());
    let ds = servicemap::store::read_dir(&dir).unwrap();
    assert!(
        ds.layer(servicemap::model::LayerId::Facilities)
            .unwrap()
            .iter()
            .any(|f| f.id == "r2")
    );
    // History survives compaction and restarts.
    let feed = c.get("/changes").await.json();
    assert_eq!(feed["latest"], 3);
    let h = c
        .get("/collections/facilities/items/r1/history")
        .await
        .json();
    assert_eq!(h["changes"][0]["who"], "office");
    std::fs::remove_dir_all(dir).ok();
}

#[actix_web::test]
async fn reload_keeps_the_old_snapshot_when_the_directory_is_broken() {
    let dir = fixture_copy("edits-reload", &[]);
    let c = common::client(state(&dir, 1e6)).await;
    let ed = Some(toks().editor.as_str());
    let reload = || with_token(TestRequest::post().uri("/admin/reload"), ed);
    c.send(with_token(TestRequest::post().uri("/admin/reload"), None))
        .await
        .problem(401);

    // A hand edit that breaks two rules: the reload lists both, the old data keeps serving.
    let path = dir.join("facilities.geojson");
    let good = std::fs::read_to_string(&path).unwrap();
    let broken = good
        .replacen(
            "\"category\":\"elder_canteen\"",
            "\"category\":\"moon_base\"",
            1,
        )
        .replacen(
            "\"category\":\"kindergarten\"",
            "\"category\":\"sky_school\"",
            1,
        );
    std::fs::write(&path, broken).unwrap();
    let p = c.send(reload()).await.problem(422);
    let v = p["violations"].as_array().unwrap();
    assert!(v.len() >= 2, "{p}");
    assert_eq!(
        c.get("/collections/facilities/items/f01").await.json()["properties"]["category"],
        "elder_canteen"
    );

    // A good hand edit is picked up.
    std::fs::write(
        &path,
        good.replacen("林荫社区老年食堂", "林荫社区长者食堂", 1),
    )
    .unwrap();
    let r = c.send(reload()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        c.get("/collections/facilities/items/f01").await.json()["properties"]["name"],
        "林荫社区长者食堂"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[actix_web::test]
async fn limits_body_size_and_rate() {
    let dir = fixture_copy("edits-limits", &[]);
    // A bucket of two that refills once in 1,000 s: at 2 a second the bucket refilled between
    // requests whenever a busy host (the writer runs under SCHED_IDLE) took over 0.5 s a write.
    let c = common::client(state_limited(&dir, RateLimiter::new(0.001, 2.0))).await;
    let ed = Some(toks().editor.as_str());
    let mut big = canteen(None, 106.5235, 29.4645);
    big["properties"]["note"] = json!("x".repeat(70 * 1024));
    c.send(post("/collections/facilities/items", &big, ed))
        .await
        .problem(413);
    // Two in the bucket (one used by the 413 above), then 429 with Retry-After.
    let mut saw_429 = false;
    for _ in 0..2 {
        let r = c
            .send(patch(
                "/collections/facilities/items/f01",
                &json!({"properties": {"n": 1}}),
                ed,
            ))
            .await;
        if r.status == 429 {
            r.problem(429);
            let secs: u64 = r
                .headers
                .get("retry-after")
                .unwrap()
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!(secs >= 1);
            saw_429 = true;
        }
    }
    assert!(saw_429);
    std::fs::remove_dir_all(dir).ok();
}

#[actix_web::test]
async fn read_only_app_refuses_writes_with_a_problem() {
    let c = common::client(common::mini_service()).await;
    c.send(post(
        "/collections/facilities/items",
        &canteen(None, 106.5235, 29.4645),
        None,
    ))
    .await
    .problem(405);
    c.get("/changes").await.problem(405);
}

#[actix_web::test]
async fn an_edit_remakes_only_the_tiles_it_touches() {
    use servicemap::tiles::{Source, TileId, Tiler, matrix::lonlat_to_world};
    let dir = fixture_copy("edits-tiles", &[]);
    let st = state(&dir, 1e6);
    let live = st.service.clone();
    let c = common::client(st).await;
    // Every z16 tile over the fixture's extent, composite and facilities, before the edit.
    let bounds = live.load().tiles.bounds().expect("extent");
    let z = 16u32;
    let n = f64::from(1u32 << z);
    let (x0, y0) = lonlat_to_world(bounds[0], bounds[3]);
    let (x1, y1) = lonlat_to_world(bounds[2], bounds[1]);
    let tiles: Vec<TileId> = ((x0 * n) as u32..=(x1 * n) as u32)
        .flat_map(|x| ((y0 * n) as u32..=(y1 * n) as u32).map(move |y| (x, y)))
        .map(|(x, y)| TileId::new(z, x, y).unwrap())
        .collect();
    assert!(tiles.len() >= 4, "{} tiles", tiles.len());
    let paths = |t: TileId| {
        [
            format!("/tiles/WebMercatorQuad/{}/{}/{}", t.z, t.y, t.x),
            format!(
                "/collections/facilities/tiles/WebMercatorQuad/{}/{}/{}",
                t.z, t.y, t.x
            ),
        ]
    };
    let mut before = Vec::new();
    for &t in &tiles {
        for p in paths(t) {
            let r = c.get(&p).await;
            assert_eq!(r.status, 200, "{p}");
            before.push((t, p, etag(&r)));
        }
    }
    let (lon, lat) = (106.5385, 29.4635);
    let r = c
        .send(post(
            "/collections/facilities/items",
            &canteen(Some("tile-canteen"), lon, lat),
            Some(&toks().editor),
        ))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    // The tile the canteen lies in; a tile is touched when its buffered square holds it.
    let (wx, wy) = lonlat_to_world(lon, lat);
    let touched = |t: TileId| {
        let [a, b, c, d] = t.buffered_world_bounds();
        a <= wx && wx <= c && b <= wy && wy <= d
    };
    let snapshot = live.load_full();
    let fresh = Tiler::build(&snapshot.dataset);
    // Before any request: the new snapshot already holds every untouched tile (carried over
    // by the writer), and none of the touched ones.
    for (t, p, _) in &before {
        let source = if p.starts_with("/tiles") {
            Source::Composite
        } else {
            Source::Layer(servicemap::model::LayerId::Facilities)
        };
        assert_eq!(
            snapshot.tiles.cached(&source, *t).is_some(),
            !touched(*t),
            "{p}: carried over exactly when untouched"
        );
    }
    let (mut kept, mut remade) = (0, 0);
    for (t, p, old_tag) in &before {
        let r = c
            .send(
                TestRequest::get()
                    .uri(p)
                    .insert_header(("if-none-match", old_tag.as_str())),
            )
            .await;
        let source = if p.starts_with("/tiles") {
            Source::Composite
        } else {
            Source::Layer(servicemap::model::LayerId::Facilities)
        };
        let want = fresh.tile(&source, *t, None).unwrap();
        if touched(*t) {
            assert_eq!(r.status, 200, "{p}: the canteen's tile must be remade");
            assert_ne!(&etag(&r), old_tag, "{p}");
            assert_eq!(
                r.body, want.mvt,
                "{p}: remade tile differs from a fresh tiler's"
            );
            remade += 1;
        } else {
            assert_eq!(r.status, 304, "{p}: an untouched tile keeps its ETag");
            let full = c.get(p).await;
            assert_eq!(
                full.body, want.mvt,
                "{p}: kept tile differs from a fresh tiler's"
            );
            kept += 1;
        }
    }
    assert!(remade >= 2 && kept >= 2, "remade {remade}, kept {kept}");
    std::fs::remove_dir_all(dir).ok();
}

/// `--request-timeout-s`: a request still waiting past the limit is a 503 `timeout` problem
/// (with `Retry-After`) — a write waiting on the writer, a coverage waiting on the heavy pool —
/// while one answered at once is unaffected. A timed-out write is still committed by the
/// writer, as the detail warns: a later write through the same writer (which runs writes in
/// order) finds it applied.
#[actix_web::test]
async fn requests_past_the_timeout_are_a_503_problem() {
    let dir = fixture_copy("edits-timeout", &[]);
    let patient = state(&dir, 1e6);
    let mut hasty = patient.clone();
    // Shorter than any wait on another thread: only an answer ready at once gets through.
    hasty.request_timeout = std::time::Duration::from_nanos(1);
    let c = common::client(hasty).await;

    let r = c
        .send(post(
            "/collections/facilities/items",
            &canteen(Some("late-canteen"), 106.5385, 29.4635),
            Some(&toks().editor),
        ))
        .await;
    let p = r.problem(503);
    assert_eq!(p["type"], "urn:servicemap:problem:timeout");
    let detail = p["detail"].as_str().unwrap();
    assert!(detail.contains("--request-timeout-s"), "{detail}");
    assert!(detail.contains("may still have been applied"), "{detail}");
    assert!(r.headers.contains_key("retry-after"), "{:?}", r.headers);

    // A heavy read goes to a heavy-query thread; one that answers before the handler's first
    // poll is over (the threads stay warm, and this fixture is tiny) is a 200 — legitimately,
    // it was on time — so it is asked again until one is late. A broken limit never gives 503.
    let mut late = None;
    for _ in 0..50 {
        let r = c
            .get("/coverage?category=elder_canteen&minutes=5&profile=elder&level=grid")
            .await;
        if r.status == 503 {
            late = Some(r);
            break;
        }
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let p = late
        .expect("no read past a 1 ns limit was a 503")
        .problem(503);
    assert_eq!(p["type"], "urn:servicemap:problem:timeout");
    assert!(
        !p["detail"].as_str().unwrap().contains("applied"),
        "a read has nothing to check: {p}"
    );
    assert_eq!(c.get("/healthz").await.status, 200);

    // The timed-out create went through: the writer commits in order, so once a later write
    // is acknowledged the first one is in the snapshot.
    let c = common::client(patient).await;
    let r = c
        .send(post(
            "/collections/facilities/items",
            &canteen(Some("next-canteen"), 106.5386, 29.4636),
            Some(&toks().editor),
        ))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = c.get("/collections/facilities/items/late-canteen").await;
    assert_eq!(r.status, 200, "{}", r.text());
    std::fs::remove_dir_all(dir).ok();
}
