//! Coverage gaps: the buildings whose nearest facility is beyond the threshold, and the
//! micro-grids ranked by uncovered households (every micro-grid, so a map has no holes).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::Building;

/// A micro-grid (or other unit) with households left out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GapUnit {
    pub unit: String,
    /// Households of the unit's buildings in scope.
    pub households: u64,
    /// Covered share of those households; `None` when there are none.
    pub share: Option<f64>,
    pub uncovered_buildings: u64,
    pub uncovered_households: u64,
    pub uncovered_residents: u64,
    pub uncovered_residents_60plus: u64,
}

/// Indices of uncovered buildings (in input order) and the units, ranked by uncovered
/// households (descending), ties by id. `unit_of` picks the unit of a building; every unit of
/// `units_listed` is ranked too, also those nobody lives in. A building with a walking time of
/// `NEG_INFINITY` is out of scope: neither counted nor listed.
#[must_use]
pub fn gaps<'a>(
    buildings: &'a [Building],
    walk_s: &[f64],
    threshold_s: f64,
    unit_of: impl Fn(&'a Building) -> Option<&'a str>,
    units_listed: &[&'a str],
) -> (Vec<usize>, Vec<GapUnit>) {
    let empty = |u: &str| GapUnit {
        unit: u.to_string(),
        households: 0,
        share: None,
        uncovered_buildings: 0,
        uncovered_households: 0,
        uncovered_residents: 0,
        uncovered_residents_60plus: 0,
    };
    let mut uncovered = Vec::new();
    let mut units: BTreeMap<&str, GapUnit> = units_listed.iter().map(|&u| (u, empty(u))).collect();
    for (i, (b, &t)) in buildings.iter().zip(walk_s).enumerate() {
        if t == f64::NEG_INFINITY {
            continue;
        }
        let mut g = unit_of(b).map(|u| units.entry(u).or_insert_with(|| empty(u)));
        if let Some(g) = g.as_deref_mut() {
            g.households += b.households;
        }
        if t <= threshold_s {
            continue;
        }
        uncovered.push(i);
        if let Some(g) = g {
            g.uncovered_buildings += 1;
            g.uncovered_households += b.households;
            g.uncovered_residents += b.residents;
            g.uncovered_residents_60plus += b.residents_60plus;
        }
    }
    let mut ranked: Vec<GapUnit> = units
        .into_values()
        .map(|mut g| {
            g.share = (g.households > 0)
                .then(|| (g.households - g.uncovered_households) as f64 / g.households as f64);
            g
        })
        .collect();
    ranked.sort_by(|a, b| {
        b.uncovered_households
            .cmp(&a.uncovered_households)
            .then(a.unit.cmp(&b.unit))
    });
    (uncovered, ranked)
}
