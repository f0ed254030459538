//! Coverage on the default data agrees with the walk engine: the one backward search from the
//! facilities gives every building the same time as a forward search from that building.

// Test helpers may unwrap, expect and panic: a failing test should stop loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use servicemap::analysis::reach::times_to_nearest_s;
use servicemap::analysis::{Level, WalkWorld, coverage};
use servicemap::walk::{NearestQuery, Origin, Profile, Searcher, nearest};

mod common;

fn world() -> &'static WalkWorld {
    common::geodata()
        .walk
        .as_deref()
        .expect("geodata has walkways")
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

fn planner() -> &'static servicemap::analysis::Planner {
    common::geodata()
        .planner
        .as_ref()
        .expect("geodata has walkways")
}

#[test]
fn scenarios_move_in_place_is_zero_adding_never_lowers_removing_never_raises() {
    use servicemap::analysis::Change;
    let pl = planner();
    let w = &pl.world;
    let canteens: Vec<servicemap::model::FacilityRef> = w
        .facilities
        .iter()
        .filter(|f| f.category == "elder_canteen")
        .collect();
    let f0 = canteens[0];
    let same = pl
        .scenario(
            &[Change::Move {
                id: f0.id.to_string(),
                lon: f0.position.x(),
                lat: f0.position.y(),
            }],
            15.0,
            Profile::Elder,
            Level::Grid,
            None,
        )
        .expect("scenario");
    assert_eq!(same[0].households_covered_delta, 0);
    assert_eq!(same[0].before.units, same[0].after.units);
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for _ in 0..6 {
        let b = &w.buildings[rng.random_range(0..w.buildings.len())];
        let add = pl
            .scenario(
                &[Change::Add {
                    category: "elder_canteen".into(),
                    lon: b.position.x(),
                    lat: b.position.y(),
                }],
                10.0,
                Profile::Elder,
                Level::Grid,
                None,
            )
            .expect("add");
        assert!(add[0].households_covered_delta >= 0);
        for (bu, au) in add[0].before.units.iter().zip(&add[0].after.units) {
            assert!(
                au.households_covered >= bu.households_covered,
                "{}",
                bu.unit
            );
        }
        let victim = canteens[rng.random_range(0..canteens.len())];
        let rm = pl
            .scenario(
                &[Change::Remove {
                    id: victim.id.to_string(),
                }],
                10.0,
                Profile::Elder,
                Level::Grid,
                None,
            )
            .expect("remove");
        assert!(rm[0].households_covered_delta <= 0);
        for (bu, au) in rm[0].before.units.iter().zip(&rm[0].after.units) {
            assert!(
                au.households_covered <= bu.households_covered,
                "{}",
                bu.unit
            );
        }
    }
}

#[test]
fn siting_adds_what_it_says_when_the_sites_are_added() {
    use servicemap::analysis::Change;
    let pl = planner();
    let sites = pl
        .siting("elder_canteen", 2, 10.0, Profile::Elder, None, None)
        .expect("siting");
    assert_eq!(sites.len(), 2);
    assert!(sites[0].added_weight >= sites[1].added_weight && sites[1].added_weight > 0);
    let adds: Vec<Change> = sites
        .iter()
        .map(|s| Change::Add {
            category: "elder_canteen".into(),
            lon: s.lon,
            lat: s.lat,
        })
        .collect();
    let after = pl
        .scenario(&adds, 10.0, Profile::Elder, Level::Subdistrict, None)
        .expect("scenario");
    let gained = after[0].residents_60plus_covered_delta;
    let promised: u64 = sites.iter().map(|s| s.added_weight).sum();
    // A site on a network node is snapped back to (nearly) the same place; allow a few
    // buildings' worth of rounding at the 7-decimal output.
    assert!(
        (gained - promised as i64).abs() as f64 <= 0.02 * promised as f64 + 5.0,
        "gained {gained}, promised {promised}"
    );
}

#[test]
fn a_community_filter_keeps_exactly_that_communitys_rows() {
    let pl = planner();
    let community = "500113006006";
    let all = pl
        .coverage("elder_canteen", 5.0, Profile::Elder, Level::Grid, None)
        .expect("coverage");
    let one = pl
        .coverage(
            "elder_canteen",
            5.0,
            Profile::Elder,
            Level::Grid,
            Some(community),
        )
        .expect("coverage in");
    // Grids nest in communities, so the filtered rows are the full rows of its grids.
    let theirs: Vec<_> = all
        .units
        .iter()
        .filter(|u| u.unit.starts_with(community))
        .cloned()
        .collect();
    assert!(!theirs.is_empty());
    assert_eq!(one.units, theirs);
    let by_community = pl
        .coverage("elder_canteen", 5.0, Profile::Elder, Level::Community, None)
        .expect("by community");
    let row = by_community
        .units
        .iter()
        .find(|u| u.unit == community)
        .expect("row");
    assert_eq!(one.total.households_covered, row.households_covered);
    assert_eq!(
        one.total.residents_60plus_covered,
        row.residents_60plus_covered
    );
    assert!(
        pl.coverage(
            "elder_canteen",
            5.0,
            Profile::Elder,
            Level::Grid,
            Some("nope")
        )
        .is_err()
    );
    // Siting for the community only counts its buildings: never more than it leaves out.
    let left_out = row.residents_60plus - row.residents_60plus_covered;
    let sites = pl
        .siting(
            "elder_canteen",
            3,
            5.0,
            Profile::Elder,
            None,
            Some(community),
        )
        .expect("siting in");
    let added: u64 = sites.iter().map(|s| s.added_weight).sum();
    assert!(added > 0 && added <= left_out, "{added} > {left_out}");
}
