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
    /// households_covered / households (0 when the unit has no households).
    pub share: f64,
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
            share: 0.0,
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

/// Household-weighted quantile of walking times (seconds, `INFINITY` = unreachable), in minutes.
fn weighted_quantile_min(mut pairs: Vec<(f64, u64)>, q: f64) -> Option<f64> {
    let total: u64 = pairs.iter().map(|p| p.1).sum();
    if total == 0 {
        return None;
    }
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let need = q * total as f64;
    let mut acc = 0u64;
    for (t, w) in pairs {
        acc += w;
        if acc as f64 >= need {
            return t.is_finite().then_some(t / 60.0);
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
    struct Acc {
        cov: UnitCoverage,
        times: Vec<(f64, u64)>,
    }
    let mut units: BTreeMap<&str, Acc> = BTreeMap::new();
    for (b, &t) in buildings.iter().zip(walk_s) {
        let Some(unit) = level.unit_of(b) else {
            continue;
        };
        let acc = units.entry(unit).or_insert_with(|| Acc {
            cov: UnitCoverage::empty(unit),
            times: Vec::new(),
        });
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
    units
        .into_values()
        .map(|mut a| {
            a.cov.share = if a.cov.households == 0 {
                0.0
            } else {
                a.cov.households_covered as f64 / a.cov.households as f64
            };
            a.cov.median_walk_min = weighted_quantile_min(a.times.clone(), 0.5);
            a.cov.p90_walk_min = weighted_quantile_min(a.times, 0.9);
            a.cov
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
        assert!((g1.share - 0.25).abs() < 1e-12);
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
}
