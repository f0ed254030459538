//! Coverage on the default data agrees with the walk engine: the one backward search from the
//! facilities gives every building the same time as a forward search from that building.

use std::path::Path;
use std::sync::OnceLock;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use servicemap::analysis::reach::times_to_nearest_s;
use servicemap::analysis::{Level, WalkWorld, coverage};
use servicemap::walk::{NearestQuery, Origin, Profile, Searcher, nearest};

fn world() -> &'static WalkWorld {
    static W: OnceLock<WalkWorld> = OnceLock::new();
    W.get_or_init(|| {
        let ds =
            servicemap::store::read_dir(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/geodata")))
                .expect("geodata reads");
        WalkWorld::from_dataset(&ds).expect("world builds")
    })
}

#[test]
fn backward_times_equal_forward_nearest_for_sampled_buildings() {
    let w = world();
    let mut searcher = Searcher::new();
    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    for p in [Profile::Standard, Profile::Elder, Profile::Wheelchair] {
        for cat in ["elder_canteen", "kindergarten", "pharmacy"] {
            let targets = w.category_snaps(cat, p);
            assert!(!targets.is_empty(), "{cat}");
            let times = times_to_nearest_s(&w.graph, &w.building_snaps, &targets, p, f64::INFINITY);
            let tag = [w.category_tag(cat).expect("tag")];
            for _ in 0..40 {
                let i = rng.random_range(0..w.buildings.len());
                let Some(b) = w.building_snaps.snap(i, p) else {
                    assert!(times[i].is_infinite());
                    continue;
                };
                let q = NearestQuery {
                    profile: p,
                    k: 1,
                    max_s: f64::INFINITY,
                    tags: Some(&tag),
                    with_route: false,
                };
                let found = nearest(
                    &w.graph,
                    &w.facility_snaps,
                    &mut searcher,
                    &[Origin::new(*b, p)],
                    &q,
                );
                let forward = found.first().map_or(f64::INFINITY, |n| n.walk_s);
                if forward.is_infinite() {
                    assert!(times[i].is_infinite(), "{cat} {p:?} building {i}");
                } else {
                    assert!(
                        (forward - times[i]).abs() < 1e-6,
                        "{cat} {p:?} building {i}: forward {forward} backward {}",
                        times[i]
                    );
                }
            }
        }
    }
}

#[test]
fn coverage_totals_roll_up_and_more_time_never_covers_less() {
    let w = world();
    let targets = w.category_snaps("elder_canteen", Profile::Elder);
    let times = times_to_nearest_s(
        &w.graph,
        &w.building_snaps,
        &targets,
        Profile::Elder,
        f64::INFINITY,
    );
    let total_hh: u64 = w.buildings.iter().map(|b| b.households).sum();
    let mut last = 0;
    for minutes in [5.0, 10.0, 15.0, 30.0] {
        let by_grid = coverage::by_unit(&w.buildings, &times, minutes * 60.0, Level::Grid);
        assert_eq!(by_grid.len(), 214);
        let all = coverage::by_unit(&w.buildings, &times, minutes * 60.0, Level::Subdistrict);
        assert_eq!(all[0].households, total_hh);
        let covered: u64 = by_grid.iter().map(|g| g.households_covered).sum();
        assert_eq!(covered, all[0].households_covered);
        assert!(covered >= last);
        last = covered;
    }
}
