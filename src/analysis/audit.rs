//! Living-circle audit: for each unit, every category a standard requires, the share of
//! households within the standard's distance or time, whether that meets the target share,
//! the unit's compliance rate (达标率) and the categories it misses.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::{Building, Category, Threshold};

use super::coverage::{Level, by_unit};

/// Which standard to audit against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Standard {
    Gb50180,
    Mofcom,
}

impl std::str::FromStr for Standard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "gb50180" => Ok(Standard::Gb50180),
            "mofcom" => Ok(Standard::Mofcom),
            _ => Err(format!("unknown standard '{s}': use gb50180 or mofcom")),
        }
    }
}

impl Standard {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Standard::Gb50180 => "gb50180",
            Standard::Mofcom => "mofcom",
        }
    }

    /// The category's threshold under this standard, if it lists the category.
    #[must_use]
    pub fn threshold(self, c: &Category) -> Option<&Threshold> {
        match self {
            Standard::Gb50180 => c.gb50180.as_ref(),
            Standard::Mofcom => c.mofcom.as_ref(),
        }
    }
}

/// The walking time a threshold allows, in seconds. A distance threshold is turned into time
/// at `flat_speed_m_per_s` (GB 50180 derives its distances from walking time the same way:
/// 15 minutes ≈ 1,000 m), so hills and stairs count against it as they do for residents.
#[must_use]
pub fn threshold_s(t: &Threshold, flat_speed_m_per_s: f64) -> f64 {
    match (t.max_walk_min, t.max_m) {
        (Some(min), _) => min * 60.0,
        (None, Some(m)) => m / flat_speed_m_per_s,
        (None, None) => f64::from(t.tier_min) * 60.0,
    }
}

/// One category's result in one unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryResult {
    pub category: String,
    pub tier_min: u32,
    pub threshold_walk_min: f64,
    pub households: u64,
    pub households_covered: u64,
    pub share: f64,
    pub met: bool,
}

/// Audit of one unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnitAudit {
    pub unit: String,
    pub required: usize,
    pub met: usize,
    /// met / required (达标率).
    pub compliance_rate: f64,
    pub missing: Vec<String>,
    pub categories: Vec<CategoryResult>,
}

/// Audit every unit at `level`. `times` holds, per required category id, the per-building
/// walking time (s) to its nearest facility; a category is met in a unit when at least
/// `target_share` of the unit's households are within its threshold.
#[must_use]
pub fn audit(
    buildings: &[Building],
    required: &[(&Category, &Threshold, f64)],
    times: &BTreeMap<String, Vec<f64>>,
    level: Level,
    target_share: f64,
) -> Vec<UnitAudit> {
    let mut units: BTreeMap<String, UnitAudit> = BTreeMap::new();
    for (cat, thr, limit_s) in required {
        let Some(t) = times.get(&cat.id) else {
            continue;
        };
        for cov in by_unit(buildings, t, *limit_s, level) {
            let met = cov.households > 0 && cov.share >= target_share;
            let u = units.entry(cov.unit.clone()).or_insert_with(|| UnitAudit {
                unit: cov.unit.clone(),
                required: 0,
                met: 0,
                compliance_rate: 0.0,
                missing: Vec::new(),
                categories: Vec::new(),
            });
            u.required += 1;
            if met {
                u.met += 1;
            } else {
                u.missing.push(cat.id.clone());
            }
            u.categories.push(CategoryResult {
                category: cat.id.clone(),
                tier_min: thr.tier_min,
                threshold_walk_min: limit_s / 60.0,
                households: cov.households,
                households_covered: cov.households_covered,
                share: cov.share,
                met,
            });
        }
    }
    units
        .into_values()
        .map(|mut u| {
            u.compliance_rate = if u.required == 0 {
                1.0
            } else {
                u.met as f64 / u.required as f64
            };
            u
        })
        .collect()
}
