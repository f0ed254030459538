//! Coverage of one category: per building, is the nearest facility within the threshold; per
//! unit, how many households (residents, residents 60+, children 0–6) that covers, and the
//! household-weighted median and 90th-percentile walking time.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::Building;

pub use crate::model::Level;

// The unit a building belongs to is analysis knowledge; the level itself is a domain value.
impl Level {
    /// The unit id of a building at this level (`None` when the building carries none).
    #[must_use]
    pub fn unit_of(self, b: &Building) -> Option<&str> {
        match self {
            Level::Microgrid => b.microgrid.as_deref(),
            Level::Grid => b.grid.as_deref(),
            Level::Community => b.community.as_deref(),
            Level::Subdistrict => Some(SUBDISTRICT),
        }
    }
}

/// Unit id used for the whole area at `Level::Subdistrict`.
pub const SUBDISTRICT: &str = "subdistrict";

/// Coverage figures of one unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnitCoverage {
    pub unit: String,
    pub buildings: u64,
    pub households: u64,
    pub households_covered: u64,
    /// households_covered / households; `None` when the unit has no households, where no
    /// share exists (0 would paint an empty unit as the worst served).
    pub share: Option<f64>,
    pub residents: u64,
    pub residents_covered: u64,
    pub residents_60plus: u64,
    pub residents_60plus_covered: u64,
    pub children_0_6: u64,
    pub children_0_6_covered: u64,
    /// Household-weighted median walking time to the nearest facility, minutes; `None` when
    /// more than half the households reach none.
    pub median_walk_min: Option<f64>,
    /// Household-weighted 90th percentile, minutes; `None` when over 10% reach none.
    pub p90_walk_min: Option<f64>,
}

impl UnitCoverage {
    /// A unit with nobody in it (yet).
    #[must_use]
    pub fn empty(unit: &str) -> UnitCoverage {
        UnitCoverage {
            unit: unit.to_string(),
            buildings: 0,
            households: 0,
            households_covered: 0,
            share: None,
            residents: 0,
            residents_covered: 0,
            residents_60plus: 0,
            residents_60plus_covered: 0,
            children_0_6: 0,
            children_0_6_covered: 0,
            median_walk_min: None,
            p90_walk_min: None,
        }
    }
}

/// Household-weighted quantile of walking times (seconds, `INFINITY` = unreachable), in
/// minutes: the first time in ascending order at which the households so far reach `q` of
/// `total`. Found by selection, not a sort (issue 15: sorting every building's time was a
/// tenth of a fresh coverage request); `times` is left partly reordered. Among equal times
/// the order changes nothing, so this is exactly the time a sorted walk stops at.
fn weighted_quantile_min(times: &mut [(f64, u64)], total: u64, q: f64) -> Option<f64> {
    if total == 0 {
        return None;
    }
    let need = q * total as f64;
    let mut v = times;
    // Households of the times before `v` (all smaller than any time in `v`).
    let mut acc = 0u64;
    while !v.is_empty() {
        let mid = v.len() / 2;
        let (left, &mut (t, w), right) = v.select_nth_unstable_by(mid, |x, y| x.0.total_cmp(&y.0));
        let below: u64 = left.iter().map(|p| p.1).sum();
        if (acc + below) as f64 >= need {
            v = left;
        } else if (acc + below + w) as f64 >= need {
            return t.is_finite().then_some(t / 60.0);
        } else {
            acc += below + w;
            v = right;
        }
    }
    None
}

/// Aggregate per-building times (`walk_s[i]` for `buildings[i]`, `INFINITY` = no facility
/// reachable) into per-unit coverage at `level`, covered meaning `walk_s <= threshold_s`.
/// Units come out sorted by id; buildings without a unit at that level are skipped.
#[must_use]
pub fn by_unit(
    buildings: &[Building],
    walk_s: &[f64],
    threshold_s: f64,
    level: Level,
) -> Vec<UnitCoverage> {
    by_unit_with(buildings, walk_s, threshold_s, level, &[])
}

/// [`by_unit`] that also reports every unit of `units` (the level's layer), with zero
/// figures and `share: None` where no building lies, so a choropleth has no holes.
#[must_use]
pub fn by_unit_with<'a>(
    buildings: &'a [Building],
    walk_s: &[f64],
    threshold_s: f64,
    level: Level,
    units_listed: &[&'a str],
) -> Vec<UnitCoverage> {
    struct Acc<'a> {
        cov: UnitCoverage,
        times: Vec<(f64, u64)>,
        id: &'a str,
    }
    let new_acc = |u: &'a str| Acc {
        cov: UnitCoverage::empty(u),
        times: Vec::new(),
        id: u,
    };
    // Units by id (sorted, for the output order) pointing into `accs`; consecutive buildings
    // mostly share a unit (and at the subdistrict level all do), so the last one is tried
    // first instead of searching the map for every building.
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    let mut accs: Vec<Acc<'_>> = Vec::new();
    for &u in units_listed {
        index.entry(u).or_insert_with(|| {
            accs.push(new_acc(u));
            accs.len() - 1
        });
    }
    let mut last: Option<usize> = None;
    for (b, &t) in buildings.iter().zip(walk_s) {
        let Some(unit) = level.unit_of(b) else {
            continue;
        };
        let k = match last {
            Some(k) if accs[k].id == unit => k,
            _ => {
                let k = *index.entry(unit).or_insert_with(|| {
                    let mut a = new_acc(unit);
                    if level == Level::Subdistrict {
                        a.times.reserve_exact(buildings.len());
                    }
                    accs.push(a);
                    accs.len() - 1
                });
                last = Some(k);
                k
            }
        };
        let acc = &mut accs[k];
        let c = &mut acc.cov;
        let covered = t <= threshold_s;
        c.buildings += 1;
        c.households += b.households;
        c.residents += b.residents;
        c.residents_60plus += b.residents_60plus;
        c.children_0_6 += b.children_0_6;
        if covered {
            c.households_covered += b.households;
            c.residents_covered += b.residents;
            c.residents_60plus_covered += b.residents_60plus;
            c.children_0_6_covered += b.children_0_6;
        }
        acc.times.push((t, b.households));
    }
    index
        .into_values()
        .map(|k| {
            let a = &mut accs[k];
            a.cov.share = (a.cov.households > 0)
                .then(|| a.cov.households_covered as f64 / a.cov.households as f64);
            let total: u64 = a.times.iter().map(|p| p.1).sum();
            a.cov.median_walk_min = weighted_quantile_min(&mut a.times, total, 0.5);
            a.cov.p90_walk_min = weighted_quantile_min(&mut a.times, total, 0.9);
            std::mem::replace(&mut a.cov, UnitCoverage::empty(""))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::Point;

    fn b(id: &str, grid: &str, hh: u64) -> Building {
        Building {
            id: id.into(),
            position: Point::new(0.0, 0.0),
            households: hh,
            residents: hh * 2,
            residents_60plus: hh / 2,
            children_0_6: 1,
            microgrid: None,
            grid: Some(grid.into()),
            community: Some("c".into()),
        }
    }

    #[test]
    fn sums_shares_and_weighted_quantiles() {
        let bs = vec![b("1", "g1", 10), b("2", "g1", 30), b("3", "g2", 5)];
        let t = vec![60.0, 1200.0, f64::INFINITY];
        let by_grid = by_unit(&bs, &t, 900.0, Level::Grid);
        assert_eq!(by_grid.len(), 2);
        let g1 = &by_grid[0];
        assert_eq!((g1.households, g1.households_covered), (40, 10));
        assert!((g1.share.expect("households") - 0.25).abs() < 1e-12);
        // 30 of 40 households need 20 minutes: the weighted median is 20.
        assert_eq!(g1.median_walk_min, Some(20.0));
        let g2 = &by_grid[1];
        assert_eq!(g2.households_covered, 0);
        assert_eq!(g2.median_walk_min, None);
        let all = by_unit(&bs, &t, 900.0, Level::Subdistrict);
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].households, 45);
        assert_eq!(
            all[0].p90_walk_min, None,
            "5 of 45 households (11%) reach nothing"
        );
    }

    /// The quantile by a full sort and walk, as it was computed before the selection.
    fn quantile_by_sort(times: &[(f64, u64)], total: u64, q: f64) -> Option<f64> {
        if total == 0 {
            return None;
        }
        let mut sorted = times.to_vec();
        sorted.sort_by(|x, y| x.0.total_cmp(&y.0));
        let need = q * total as f64;
        let mut acc = 0u64;
        for (t, w) in sorted {
            acc += w;
            if acc as f64 >= need {
                return t.is_finite().then_some(t / 60.0);
            }
        }
        None
    }

    #[test]
    fn selected_quantiles_equal_the_sorted_walk() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(15);
        for case in 0..2000 {
            let n = rng.random_range(0..60);
            // Few distinct times (ties), zero weights and unreachable buildings on purpose.
            let times: Vec<(f64, u64)> = (0..n)
                .map(|_| {
                    let t = match rng.random_range(0..10) {
                        0 => f64::INFINITY,
                        _ => f64::from(rng.random_range(0..12_u32)) * 75.5,
                    };
                    (t, rng.random_range(0..4))
                })
                .collect();
            let total: u64 = times.iter().map(|p| p.1).sum();
            let mut work = times.clone();
            for q in [0.5, 0.9, 0.1, 1.0] {
                assert_eq!(
                    weighted_quantile_min(&mut work, total, q),
                    quantile_by_sort(&times, total, q),
                    "case {case}, q {q}: {times:?}"
                );
            }
        }
    }

    #[test]
    fn listed_units_without_households_have_no_share() {
        let bs = vec![b("1", "g1", 10), b("2", "g3", 0)];
        let t = vec![60.0, 60.0];
        let u = by_unit_with(&bs, &t, 900.0, Level::Grid, &["g1", "g2", "g3"]);
        let ids: Vec<&str> = u.iter().map(|c| c.unit.as_str()).collect();
        assert_eq!(ids, ["g1", "g2", "g3"]);
        assert_eq!(u[0].share, Some(1.0));
        // g2: listed, no building; g3: a building without households. Neither has a share.
        assert_eq!((u[1].buildings, u[1].share), (0, None));
        assert_eq!((u[2].buildings, u[2].share), (1, None));
    }
}
