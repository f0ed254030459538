//! The writer builds each next snapshot from the previous one, sharing what an edit did not
//! touch (`Service::next_after_edit`, issue 12). Oracle: a snapshot built from scratch on the
//! same data. After every accepted edit of a random sequence (fixed seeds) — facilities moved,
//! created, deleted, recategorised; buildings moved; walkways renamed, annotated, nudged,
//! deleted; compounds annotated — the two must give the same walking nearest facilities
//! (every category and profile, from points all over the fixture), the same coverage, the
//! same places located and the same vector tiles (the base map and a coverage source).
//! Coverage is asked before each edit too, so that cached walking times are carried over and
//! the carried ones are checked against fresh ones.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use geo::{MapCoordsInPlace, Translate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use servicemap::analysis::Level;
use servicemap::edit::apply;
use servicemap::model::{Feature, LayerId};
use servicemap::service::Service;
use servicemap::store::{self, Dataset};
use servicemap::tiles::{CoverageKey, Source, TileId};
use servicemap::walk::{
    DEFAULT_MAX_SNAP_M, NearestQuery, Origin, Profile, Searcher, TableScratch, nearest,
};

mod common;

const PROFILES: [Profile; 3] = [Profile::Standard, Profile::Elder, Profile::Wheelchair];

/// One random edit of a layer the writer takes: (layer, feature id, the feature after).
fn random_edit(ds: &Dataset, rng: &mut ChaCha8Rng, n: usize) -> (LayerId, String, Option<Feature>) {
    let layers = [
        LayerId::Facilities,
        LayerId::Facilities,
        LayerId::Buildings,
        LayerId::Walkways,
        LayerId::Walkways,
        LayerId::Compounds,
    ];
    let layer = layers[rng.random_range(0..layers.len())];
    let features = ds.layer(layer).unwrap();
    let mut f = features[rng.random_range(0..features.len())].clone();
    let step_deg = [1e-6, 1e-5, 1e-4, 5e-4, 2e-3][rng.random_range(0..5)];
    let (dx, dy) = (rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0));
    match (layer, rng.random_range(0..4)) {
        (LayerId::Facilities, 0) => {
            f.id = format!("f-swap{n}");
            f.geometry.translate_mut(dx * step_deg, dy * step_deg);
        }
        (LayerId::Facilities, 1) => return (layer, f.id, None),
        (LayerId::Facilities, 2) => {
            let categories: Vec<servicemap::model::PropValue> = ds
                .layer(LayerId::Facilities)
                .unwrap()
                .iter()
                .filter_map(|g| g.properties.get("category").cloned())
                .collect();
            let c = categories[rng.random_range(0..categories.len())].clone();
            f.properties.insert("category", c);
        }
        (LayerId::Facilities | LayerId::Buildings, _) => {
            f.geometry.translate_mut(dx * step_deg, dy * step_deg);
        }
        (LayerId::Walkways, 0) => {
            f.properties
                .insert("name", format!("路{n}").as_str().into());
        }
        (LayerId::Walkways, 1) => {
            f.properties
                .insert("note", format!("edit {n}").as_str().into());
        }
        (LayerId::Walkways, 2) => return (layer, f.id, None),
        (LayerId::Walkways, _) => {
            // Nudge one inner vertex: the walk changes, the noding mostly stays.
            let count = geo::CoordsIter::coords_count(&f.geometry);
            let k = rng.random_range(1..count.saturating_sub(1).max(2));
            let i = std::cell::Cell::new(0);
            f.geometry.map_coords_in_place(|c| {
                let moved = if i.get() == k {
                    geo::Coord {
                        x: c.x + dx * step_deg,
                        y: c.y + dy * step_deg,
                    }
                } else {
                    c
                };
                i.set(i.get() + 1);
                moved
            });
            f.elevation_m = None;
        }
        _ => {
            f.properties
                .insert("note", format!("edit {n}").as_str().into());
        }
    }
    (layer, f.id.clone(), Some(f))
}

/// Query points: a lattice over the fixture's walkways and a little beyond.
fn probes(svc: &Service) -> Vec<(f64, f64)> {
    let world = svc.walk.as_ref().unwrap();
    let proj = world.graph.proj();
    let (mut lo, mut hi) = ([f64::MAX; 2], [f64::MIN; 2]);
    for n in 0..world.graph.node_count() {
        let xy = world.graph.node_xy(servicemap::walk::NodeId(n as u32));
        for d in 0..2 {
            lo[d] = lo[d].min(xy[d]);
            hi[d] = hi[d].max(xy[d]);
        }
    }
    let mut out = Vec::new();
    for i in 0..=5 {
        for j in 0..=5 {
            let x = lo[0] - 50.0 + (hi[0] - lo[0] + 100.0) * f64::from(i) / 5.0;
            let y = lo[1] - 50.0 + (hi[1] - lo[1] + 100.0) * f64::from(j) / 5.0;
            out.push(proj.to_lonlat(x, y));
        }
    }
    out
}

/// Everything compared: per probe, profile and category, the ranked facility ids with walked
/// seconds and metres (or the snapping error); per category and profile, the grid coverage.
fn answers(svc: &Service, at: &[(f64, f64)]) -> Vec<String> {
    let world = svc.walk.as_ref().unwrap();
    let planner = svc.planner.as_ref().unwrap();
    let mut searcher = Searcher::new();
    let mut out = Vec::new();
    for &(lon, lat) in at {
        for p in PROFILES {
            let snap = match world.graph.snap_lonlat(lon, lat, DEFAULT_MAX_SNAP_M, p) {
                Ok(s) => s,
                Err(e) => {
                    out.push(format!("{lon},{lat} {p:?}: {e}"));
                    continue;
                }
            };
            for c in &world.category_ids {
                let tag = [world.category_tag(c).unwrap()];
                let hits = nearest(
                    &world.graph,
                    &world.facility_snaps,
                    &mut searcher,
                    &[Origin::new(snap, p)],
                    &NearestQuery {
                        profile: p,
                        k: 3,
                        max_s: 3600.0,
                        tags: Some(&tag),
                        with_route: true,
                    },
                );
                let ranked: Vec<String> = hits
                    .iter()
                    .map(|h| {
                        format!(
                            "{} {:.9} {:.9} {:?}",
                            world
                                .facilities
                                .id(servicemap::model::FacilityId::new(h.target)),
                            h.walk_s,
                            h.walk_m,
                            h.route
                        )
                    })
                    .collect();
                out.push(format!("{lon},{lat} {p:?} {c}: {ranked:?}"));
                // The same from the nearest tables (carried over or built fresh).
                let mut by_table = Vec::new();
                let answered = world.nearest_from_tables(
                    &Origin::new(snap, p),
                    &NearestQuery {
                        profile: p,
                        k: 3,
                        max_s: 3600.0,
                        tags: Some(&tag),
                        with_route: false,
                    },
                    &mut TableScratch::default(),
                    &mut by_table,
                );
                let ranked: Vec<String> = by_table
                    .iter()
                    .map(|h| {
                        format!(
                            "{} {:.9} {:.9}",
                            world
                                .facilities
                                .id(servicemap::model::FacilityId::new(h.target)),
                            h.walk_s,
                            h.walk_m
                        )
                    })
                    .collect();
                out.push(format!(
                    "{lon},{lat} {p:?} {c} table {answered}: {ranked:?}"
                ));
            }
        }
    }
    for c in &world.category_ids {
        for p in PROFILES {
            let report = planner.coverage(c, 10.0, p, Level::Grid, None);
            out.push(format!("coverage {c} {p:?}: {report:?}"));
        }
    }
    // The indexes and tiles, shared per layer between snapshots.
    for layer in LayerId::ALL {
        let index = svc.indexes.layer(layer).map(|l| (l.extent, &l.properties));
        let tiles = svc.tiles.layer(layer).map(|l| (l.bounds, &l.fields));
        out.push(format!("{layer}: {index:?} {tiles:?}"));
    }
    out.push(format!("categories {:?}", svc.category_ids()));
    // The tables themselves, label for label.
    for (tag, p, table) in world.nearest_tables.built() {
        out.push(format!("table {tag:?} {p:?}: {table:?}"));
    }
    for &(lon, lat) in at {
        out.push(format!("{lon},{lat}: {:?}", svc.indexes.locate(lon, lat)));
        let z = 16u8;
        let n = f64::from(1u32 << z);
        let x = ((lon + 180.0) / 360.0 * n) as u32;
        let y = ((1.0 - lat.to_radians().tan().asinh() / std::f64::consts::PI) / 2.0 * n) as u32;
        let tile = TileId { z, x, y };
        let coverage = Source::Coverage(CoverageKey {
            category: world.category_ids[0].clone(),
            minutes: 10.0,
            profile: Profile::Elder,
            level: Level::Microgrid,
        });
        for source in [Source::Composite, coverage] {
            let bytes = svc
                .tiles
                .tile(&source, tile, Some(planner))
                .map(|t| t.mvt.clone());
            out.push(format!("tile {source:?} {tile:?}: {bytes:?}"));
        }
    }
    out
}

/// Ask for coverage of every category, filling the planner's cache (carried to the next).
fn warm(svc: &Service) {
    let world = svc.walk.as_ref().unwrap();
    for c in &world.category_ids {
        for p in PROFILES {
            let _ = svc.planner.as_ref().unwrap().times(c, p);
            // Nearest tables too, so that carried ones are compared with fresh ones.
            let _ = world.nearest_table(world.category_tag(c), p);
        }
    }
}

#[test]
fn a_snapshot_built_from_the_previous_answers_as_one_built_from_scratch() {
    let base = store::read_dir(&common::mini_dir()).unwrap();
    let at = probes(&Service::from_dataset(base.clone()).unwrap());
    let (mut accepted, mut refused, mut kept_graph) = (0, 0, 0);
    let (mut kept_tables, mut dropped_tables) = (0, 0);
    for seed in 0..3 {
        let mut rng = ChaCha8Rng::seed_from_u64(1200 + seed);
        let mut data = base.clone();
        let mut svc = Service::from_dataset(data.clone()).unwrap();
        for n in 0..25 {
            warm(&svc);
            let mut next = data.clone();
            let mut changed = Vec::new();
            // Sometimes two edits in one batch, as group commit does.
            for _ in 0..=usize::from(n % 3 == 0) {
                let (layer, id, after) = random_edit(&next, &mut rng, n);
                apply(&mut next, layer, &id, after);
                changed.push(layer);
            }
            changed.sort_unstable();
            changed.dedup();
            if !store::validate_change(&next, &data, &changed).is_empty() {
                refused += 1;
                continue;
            }
            accepted += 1;
            let incremental = Service::next_after_edit(&svc, next.clone(), &changed)
                .expect("the next snapshot builds");
            let fresh = Service::from_dataset(next.clone()).expect("the data serves");
            let (w_inc, w_old) = (
                incremental.walk.as_ref().unwrap(),
                svc.walk.as_ref().unwrap(),
            );
            if std::sync::Arc::ptr_eq(&w_inc.graph, &w_old.graph) {
                kept_graph += 1;
            }
            let (before, after) = (w_old.nearest_tables.built(), w_inc.nearest_tables.built());
            kept_tables += after.len();
            dropped_tables += before.len() - after.len();
            // What the writer does before the swap: the tables the old snapshot had and this
            // one could not take over are built again, so readers keep their lookups.
            w_inc.rebuild_tables_of(w_old);
            for (tag, p, _) in &before {
                let tag = match tag {
                    None => None,
                    Some(t) => match w_inc.category_tag(&w_old.category_ids[*t as usize]) {
                        Some(t) => Some(t),
                        None => continue,
                    },
                };
                assert_eq!(
                    w_inc.tables_built(tag.as_ref().map(std::slice::from_ref), *p),
                    Some(true),
                    "seed {seed} edit {n}: table {tag:?} {p:?} rebuilt"
                );
            }
            assert_eq!(
                incremental.dataset.layers, fresh.dataset.layers,
                "seed {seed} edit {n}: served data"
            );
            let (a, b) = (answers(&incremental, &at), answers(&fresh, &at));
            for (x, y) in a.iter().zip(&b) {
                assert_eq!(x, y, "seed {seed} edit {n} ({changed:?})");
            }
            assert_eq!(a.len(), b.len());
            data = next;
            svc = incremental;
        }
    }
    // Both paths were taken: graphs shared and graphs rebuilt, edits refused and accepted.
    assert!(
        accepted >= 30 && refused >= 1,
        "{accepted} accepted, {refused} refused"
    );
    assert!(
        kept_graph >= 10 && kept_graph < accepted,
        "graph kept {kept_graph} of {accepted}"
    );
    // Nearest tables were carried over and dropped.
    assert!(
        kept_tables >= 10 && dropped_tables >= 10,
        "nearest tables kept {kept_tables}, dropped {dropped_tables}"
    );
}

/// Group commit applies a batch to the writer's data in place and takes back the writes that
/// break a rule (and, on a failed build or fsync, all): writes submitted together, one of them
/// invalid, must leave exactly the valid ones, served, stored, and passing every rule.
#[test]
fn a_batch_with_a_refused_write_keeps_exactly_the_others() {
    use servicemap::edit::{Editor, Principal, Role, WriteOp, WriteRequest};
    let dir = common::fixture_copy("swap-batch", &[]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let (editor, live) = Editor::open(&dir).unwrap();
    let who = Principal {
        name: "office".into(),
        role: Role::Editor,
    };
    let canteen = |id: &str, category: &str, lon: f64| WriteRequest {
        who: who.clone(),
        collection: "facilities".into(),
        op: WriteOp::Create(serde_json::json!({
            "type": "Feature",
            "id": id,
            "geometry": {"type": "Point", "coordinates": [lon, 29.47]},
            "properties": {"name": "新开老年食堂", "category": category, "address": "新路1号"},
        })),
        if_match: None,
    };
    for round in 0..5 {
        let ids: Vec<String> = (0..6).map(|i| format!("f-batch{round}-{i}")).collect();
        let results = rt.block_on(async {
            // Sent in one poll, so the writer finds them queued together (one batch, or
            // more when it wakes in between: the outcome is the same).
            let writes = ids.iter().enumerate().map(|(i, id)| {
                let category = if i == 3 {
                    "no_such_category"
                } else {
                    "elder_canteen"
                };
                editor.write(canteen(id, category, 106.525 + 0.001 * i as f64))
            });
            futures_util::future::join_all(writes).await
        });
        for (i, r) in results.iter().enumerate() {
            assert_eq!(r.is_ok(), i != 3, "round {round} write {i}: {r:?}");
        }
        let svc = live.load_full();
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(svc.feature("facilities", id).is_ok(), i != 3, "{id}");
        }
        let report = store::validate(
            &store::read_dir(&dir)
                .map(|mut d| {
                    // The stored layer files plus the journal, as a restart reads them.
                    let journal = servicemap::edit::Journal::open(&dir).unwrap();
                    for c in servicemap::edit::EditStore::replay(&journal).unwrap() {
                        servicemap::edit::apply_change(&mut d, &c).unwrap();
                    }
                    d
                })
                .unwrap(),
        );
        assert!(report.violations.is_empty(), "{:?}", report.violations);
    }
}
