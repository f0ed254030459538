//! The facility taxonomy (`categories.json`) and the planning standards' thresholds.

use serde::{Deserialize, Serialize};

/// A facility category with its living-circle tier under each standard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Category {
    /// Stable snake_case id, e.g. `elder_canteen`.
    pub id: String,
    pub name_zh: String,
    pub name_en: String,
    /// Service domain of the article's promise: shopping, services, medical, dining, education, culture, elderly, transport.
    pub domain: String,
    /// Tier under GB 50180-2018 (《城市居住区规划设计标准》), if the standard lists it.
    pub gb50180: Option<Threshold>,
    /// Tier under the MOFCOM 一刻钟便民生活圈 list, if the list names it.
    pub mofcom: Option<Threshold>,
}

/// A living-circle tier: the walking time of the circle and the distance or time the standard sets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    /// Living-circle tier in minutes (5, 10 or 15; MOFCOM also uses 8).
    pub tier_min: u32,
    /// Walking distance the standard sets, in metres, where it sets one.
    pub max_m: Option<f64>,
    /// Walking time the standard sets, in minutes, where it sets one.
    pub max_walk_min: Option<f64>,
}

/// The taxonomy file as stored: a version note plus the list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Taxonomy {
    pub note: String,
    pub categories: Vec<Category>,
}

impl Taxonomy {
    #[must_use]
    pub fn get(&self, id: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.id == id)
    }
}
