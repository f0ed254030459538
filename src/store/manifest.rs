//! `manifest.json`: an optional description of a data directory and the counts it promises.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What a data directory says about itself. Every field is optional in the file so that a
/// hand-written manifest may list only the counts it cares about.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Manifest {
    /// Human name of the dataset, e.g. `李家沱街道 (modelled)`.
    pub name: String,
    /// True when positions are modelled rather than surveyed.
    pub modelled: bool,
    pub note: String,
    /// Layer id (`communities`, `grids`, …) → the exact number of features that layer must have.
    pub expected_counts: BTreeMap<String, usize>,
    /// Inclusive range `[min, max]` of households every grid must have, when the place sets
    /// one (Lijiatuo: 300–500). Not a generic rule: other cities size grids differently.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grid_households: Option<[u64; 2]>,
    /// True when every walkway must carry elevations (the modelled dataset promises a hilly
    /// network). Imported data may know elevations only where OSM tags `ele`; walkways without
    /// them are walked as flat, so mixing is allowed unless this is set.
    pub walkway_elevations_required: bool,
    /// How the directory was made. `openstreetmap` (written by `import osm`) means OSM's rules:
    /// walkways connect only where they share a node, so a crossing without one (and a
    /// walkway in water that is not tagged a bridge or tunnel) is reported as a data-quality
    /// finding rather than a reason to refuse the data. Absent (the modelled dataset, a
    /// hand-made directory): every rule is strict.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// The command that wrote the directory; [`GENERATOR_MODEL`] for the modelled Lijiatuo
    /// dataset, whose named places (facts.md) `validate` then holds to their communities.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generator: Option<String>,
}

/// The `generator` the modelled dataset's manifest carries (`servicemap generate`).
pub const GENERATOR_MODEL: &str = "servicemap generate --out geodata";

/// The `origin` an OpenStreetMap import writes.
pub const ORIGIN_OPENSTREETMAP: &str = "openstreetmap";

impl Manifest {
    /// True when the directory follows OpenStreetMap's rules (see [`Manifest::origin`]).
    #[must_use]
    pub fn is_openstreetmap(&self) -> bool {
        self.origin.as_deref() == Some(ORIGIN_OPENSTREETMAP)
    }

    /// True when the directory is the modelled Lijiatuo dataset written by
    /// `servicemap generate` (into any directory: the command line is recorded as the
    /// committed data's, so a copy or a fresh run says the same).
    #[must_use]
    pub fn is_generated_model(&self) -> bool {
        self.generator.as_deref() == Some(GENERATOR_MODEL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_partial_manifest() {
        let m: Manifest = serde_json::from_str(
            r#"{"expected_counts": {"grids": 214}, "grid_households": [300, 500]}"#,
        )
        .expect("parses");
        assert_eq!(m.expected_counts.get("grids"), Some(&214));
        assert_eq!(m.grid_households, Some([300, 500]));
        assert!(!m.modelled);
        assert!(m.name.is_empty());
    }
}
