//! Coverage gaps: the buildings whose nearest facility is beyond the threshold, and the
//! micro-grids holding them, ranked by uncovered households.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::Building;

/// A micro-grid (or other unit) with households left out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GapUnit {
    pub unit: String,
    pub uncovered_buildings: u64,
    pub uncovered_households: u64,
    pub uncovered_residents: u64,
    pub uncovered_residents_60plus: u64,
}

/// Indices of uncovered buildings (in input order) and the units holding them, ranked by
/// uncovered households (descending), ties by id. `unit_of` picks the unit of a building.
#[must_use]
pub fn gaps<'a>(
    buildings: &'a [Building],
    walk_s: &[f64],
    threshold_s: f64,
    unit_of: impl Fn(&'a Building) -> Option<&'a str>,
) -> (Vec<usize>, Vec<GapUnit>) {
    let mut uncovered = Vec::new();
    let mut units: BTreeMap<&str, GapUnit> = BTreeMap::new();
    for (i, (b, &t)) in buildings.iter().zip(walk_s).enumerate() {
        if t <= threshold_s {
            continue;
        }
        uncovered.push(i);
        if let Some(u) = unit_of(b) {
            let g = units.entry(u).or_insert_with(|| GapUnit {
                unit: u.to_string(),
                uncovered_buildings: 0,
                uncovered_households: 0,
                uncovered_residents: 0,
                uncovered_residents_60plus: 0,
            });
            g.uncovered_buildings += 1;
            g.uncovered_households += b.households;
            g.uncovered_residents += b.residents;
            g.uncovered_residents_60plus += b.residents_60plus;
        }
    }
    let mut ranked: Vec<GapUnit> = units.into_values().collect();
    ranked.sort_by(|a, b| {
        b.uncovered_households
            .cmp(&a.uncovered_households)
            .then(a.unit.cmp(&b.unit))
    });
    (uncovered, ranked)
}
