//! Named places (issue 13): every named place of facts.md lies inside the boundary, in the
//! community it belongs to, and within 50 m of the compound that stands at it. Only the
//! modelled dataset promises this (its manifest names `servicemap generate`); an import or a
//! hand-made directory is not Lijiatuo's model and is never held to it.

use crate::analysis::stats::{NamedPlace, PlaceCheck, check_places};
use crate::store::Dataset;

use super::{Violation, rule};

/// The pseudo-layer named in violations: the places are not a layer of the directory but
/// the facts the directory must agree with.
pub const LAYER: &str = "named_places";

/// One violation per place of `places` that is not where it must be in `ds`, naming the
/// place and everything wrong with it. Exposed so that a test can move a place.
#[must_use]
pub fn check_named_places(ds: &Dataset, places: &[NamedPlace]) -> Vec<Violation> {
    check_places(ds, places)
        .iter()
        .zip(places)
        .filter(|(c, _)| !c.ok())
        .map(|(c, p)| Violation::new(LAYER, Some(c.name), rule::NAMED_PLACES, message(c, p)))
        .collect()
}

fn message(c: &PlaceCheck, p: &NamedPlace) -> String {
    let mut wrong = Vec::new();
    if c.outside_boundary_m > 0.0 {
        wrong.push(if c.outside_boundary_m.is_finite() {
            format!("lies {:.0} m outside the boundary", c.outside_boundary_m)
        } else {
            "has no boundary to lie in".to_string()
        });
    }
    if c.community_found.as_deref() != Some(c.community_expected) {
        wrong.push(format!(
            "lies in {} instead of community {}",
            c.community_found
                .as_deref()
                .map_or_else(|| "no community".to_string(), |f| format!("community {f}")),
            c.community_expected
        ));
    }
    if let (Some(d), Some(name)) = (c.compound_m, p.compound)
        && d > 50.0
    {
        wrong.push(if d.is_finite() {
            format!("is {d:.0} m from its compound {name} (at most 50 m)")
        } else {
            format!("has no compound named {name}")
        });
    }
    format!(
        "the named place at ({}, {}) (facts.md) {}; move the community, boundary or compound outlines so that it is in place",
        p.lon,
        p.lat,
        wrong.join(", ")
    )
}
