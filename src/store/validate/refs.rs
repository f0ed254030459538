//! Rules `properties`, `ids`, `counts` and `category`: what the properties say, as opposed
//! to where the features are.

use std::collections::{HashMap, HashSet};

use crate::model::{Feature, LayerId, PropValue as Value};

use super::{Ctx, Only, Violation, rule};

/// How a property must look.
#[derive(Clone, Copy)]
enum Kind {
    Str,
    Count,
    /// A number greater than zero (a length, say).
    Positive,
    Bool,
    OneOf(&'static [&'static str]),
}

/// (property, kind, required) per layer, from the table in `docs/data-format.md`.
fn schema(layer: LayerId) -> &'static [(&'static str, Kind, bool)] {
    use Kind::{Bool, Count, OneOf, Positive, Str};
    match layer {
        LayerId::Boundary => &[("name", Str, true)],
        LayerId::Communities => &[
            ("name", Str, true),
            ("code", Str, true),
            ("kind", OneOf(&["community", "village"]), true),
            ("households", Count, false),
            ("residents", Count, false),
        ],
        LayerId::Grids => &[
            ("name", Str, true),
            ("community", Str, true),
            ("households", Count, false),
            ("residents", Count, false),
            ("part_time_workers", Count, false),
            ("volunteers", Count, false),
        ],
        LayerId::Microgrids => &[
            ("name", Str, true),
            ("grid", Str, true),
            ("community", Str, true),
            ("households", Count, false),
            ("residents", Count, false),
        ],
        LayerId::Buildings => &[
            ("households", Count, true),
            ("residents", Count, true),
            ("residents_60plus", Count, false),
            ("children_0_6", Count, false),
            ("floors", Count, false),
            ("height_m", Positive, false),
            ("microgrid", Str, false),
            ("grid", Str, false),
            ("community", Str, false),
            ("compound", Str, false),
        ],
        LayerId::Compounds => &[
            ("name", Str, true),
            ("community", Str, true),
            ("old", Bool, false),
            ("households", Count, false),
        ],
        LayerId::Facilities => &[
            ("name", Str, true),
            ("category", Str, true),
            ("community", Str, false),
            ("grid", Str, false),
            ("opening_hours", Str, false),
        ],
        LayerId::Water => &[("name", Str, true)],
        LayerId::Walkways => &[
            (
                "kind",
                OneOf(&["street", "footway", "stairs", "bridge"]),
                true,
            ),
            ("name", Str, false),
        ],
    }
}

pub(super) fn check_properties(ctx: &Ctx<'_>, only: &Only<'_>, out: &mut Vec<Violation>) {
    for (&layer, features) in &ctx.ds.layers {
        for f in features.iter().filter(|f| only(layer, f)) {
            for &(key, kind, required) in schema(layer) {
                let msg = match (f.properties.get(key), kind) {
                    (None | Some(Value::Null), _) if required => {
                        Some(format!("missing required property '{key}'"))
                    }
                    (None | Some(Value::Null), _) => None,
                    (Some(Value::String(_)), Kind::Str) | (Some(Value::Bool(_)), Kind::Bool) => {
                        None
                    }
                    (Some(v), Kind::Count) if v.as_u64().is_some() => None,
                    (Some(v), Kind::Positive) if v.as_f64().is_some_and(|x| x > 0.0) => None,
                    (Some(Value::String(s)), Kind::OneOf(allowed))
                        if allowed.contains(&s.as_ref()) =>
                    {
                        None
                    }
                    (Some(v), Kind::OneOf(allowed)) => Some(format!(
                        "property '{key}' is {v}: use one of {}",
                        allowed.join(", ")
                    )),
                    (Some(v), Kind::Str) => {
                        Some(format!("property '{key}' is {v}: it must be a string"))
                    }
                    (Some(v), Kind::Count) => Some(format!(
                        "property '{key}' is {v}: it must be a non-negative integer"
                    )),
                    (Some(v), Kind::Positive) => Some(format!(
                        "property '{key}' is {v}: it must be a number greater than 0"
                    )),
                    (Some(v), Kind::Bool) => {
                        Some(format!("property '{key}' is {v}: it must be true or false"))
                    }
                };
                if let Some(m) = msg {
                    out.push(Violation::feature(layer, &f.id, rule::PROPERTIES, m));
                }
            }
            if layer == LayerId::Buildings
                && let Some(m) = storey_height_mismatch(f)
            {
                out.push(Violation::feature(layer, &f.id, rule::PROPERTIES, m));
            }
        }
    }
}

/// Storey heights a building may have, metres: from a low village house (2.2 m) to shops
/// and lobbies on the lower floors of a tower (6 m on average over its storeys).
pub(super) const STOREY_M: std::ops::RangeInclusive<f64> = 2.2..=6.0;

/// Where a building gives both `floors` and `height_m`, whether they disagree: the height
/// per storey outside [`STOREY_M`] (a height in feet, or floors and height of two
/// different buildings).
fn storey_height_mismatch(f: &Feature) -> Option<String> {
    let floors = f.u64_prop("floors").filter(|&n| n > 0)?;
    let height_m = f
        .properties
        .get("height_m")
        .and_then(Value::as_f64)
        .filter(|&h| h > 0.0)?;
    let per_storey = height_m / floors as f64;
    (!STOREY_M.contains(&per_storey)).then(|| {
        format!(
            "height_m {height_m} over {floors} floors is {per_storey:.1} m a storey: \
             correct 'height_m' or 'floors' ({:.1}–{:.1} m a storey)",
            STOREY_M.start(),
            STOREY_M.end()
        )
    })
}

/// Which properties refer to which layer.
const REFS: [(&str, LayerId); 4] = [
    ("community", LayerId::Communities),
    ("grid", LayerId::Grids),
    ("microgrid", LayerId::Microgrids),
    ("compound", LayerId::Compounds),
];

/// The layers a property may name.
pub(super) const REFERABLE: [LayerId; 4] = [
    LayerId::Communities,
    LayerId::Grids,
    LayerId::Microgrids,
    LayerId::Compounds,
];

/// `only` limits the features whose references are checked; with a subset, the layers they
/// may name must be those the full check would see.
pub(super) fn check_ids(ctx: &Ctx<'_>, only: &Only<'_>, out: &mut Vec<Violation>) {
    // Only the layers that can be referred to (not the tens of thousands of walkways).
    let ids: HashMap<LayerId, HashSet<&str>> = REFS
        .iter()
        .filter_map(|&(_, l)| Some((l, ctx.ds.layer(l)?.iter().map(|f| f.id.as_str()).collect())))
        .collect();
    for (&layer, features) in &ctx.ds.layers {
        for f in features.iter().filter(|f| only(layer, f)) {
            for (key, target) in REFS {
                let Some(r) = f.str_prop(key) else { continue };
                // A layer the directory does not have cannot be referred to wrongly: skip.
                let Some(known) = ids.get(&target) else {
                    continue;
                };
                if !known.contains(r) {
                    out.push(Violation::feature(
                        layer,
                        &f.id,
                        rule::IDS,
                        format!("property '{key}' names '{r}', which is not a feature of {target}"),
                    ));
                }
            }
        }
    }
    check_hierarchy(ctx, only, out);
}

/// A feature that names both a finer and a coarser unit must agree with the finer unit's own
/// parent: a building's grid is its micro-grid's grid, a micro-grid's community is its grid's
/// community, and so on.
fn check_hierarchy(ctx: &Ctx<'_>, only: &Only<'_>, out: &mut Vec<Violation>) {
    let parents = |layer: LayerId| -> HashMap<&str, &Feature> {
        ctx.ds
            .layer(layer)
            .map(|fs| fs.iter().map(|f| (f.id.as_str(), f)).collect())
            .unwrap_or_default()
    };
    let grids = parents(LayerId::Grids);
    let micro = parents(LayerId::Microgrids);
    for (&layer, features) in &ctx.ds.layers {
        for f in features.iter().filter(|f| only(layer, f)) {
            // (finer key, finer layer's features, coarser key)
            let pairs: [(&str, &HashMap<&str, &Feature>, &str); 3] = [
                ("microgrid", &micro, "grid"),
                ("microgrid", &micro, "community"),
                ("grid", &grids, "community"),
            ];
            for (fine_key, fine_layer, coarse_key) in pairs {
                // A feature of the finer layer itself has no property naming it.
                let fine_id = f.str_prop(fine_key);
                let (Some(fine_id), Some(mine)) = (fine_id, f.str_prop(coarse_key)) else {
                    continue;
                };
                let Some(fine) = fine_layer.get(fine_id) else {
                    continue;
                };
                if let Some(theirs) = fine.str_prop(coarse_key)
                    && theirs != mine
                {
                    out.push(Violation::feature(
                        layer,
                        &f.id,
                        rule::IDS,
                        format!(
                            "{coarse_key} is '{mine}' but its {fine_key} '{fine_id}' belongs to {coarse_key} '{theirs}'"
                        ),
                    ));
                }
            }
        }
    }
}

pub(super) fn check_counts(ctx: &Ctx<'_>, out: &mut Vec<Violation>) {
    let Some(m) = &ctx.ds.manifest else { return };
    for (name, &expected) in &m.expected_counts {
        let Some(layer) = LayerId::parse(name) else {
            out.push(Violation::new(
                "manifest",
                None,
                rule::COUNTS,
                format!("expected_counts names '{name}', which is not a layer"),
            ));
            continue;
        };
        let actual = ctx.ds.layer(layer).map_or(0, <[Feature]>::len);
        if actual != expected {
            out.push(Violation::new(
                layer,
                None,
                rule::COUNTS,
                format!("has {actual} features; manifest.json expects {expected}"),
            ));
        }
    }
}

pub(super) fn check_categories(ctx: &Ctx<'_>, out: &mut Vec<Violation>) {
    let Some(facilities) = ctx.ds.layer(LayerId::Facilities) else {
        return;
    };
    let Some(tax) = &ctx.ds.taxonomy else {
        if !facilities.is_empty() {
            out.push(Violation::new(
                LayerId::Facilities,
                None,
                rule::CATEGORY,
                "the directory has facilities but no categories.json to define their categories"
                    .into(),
            ));
        }
        return;
    };
    let known: HashSet<&str> = tax.categories.iter().map(|c| c.id.as_str()).collect();
    for f in facilities {
        let Some(c) = f.str_prop("category") else {
            continue;
        }; // the properties rule reports it
        if !known.contains(c) {
            out.push(Violation::feature(
                LayerId::Facilities,
                &f.id,
                rule::CATEGORY,
                format!("category '{c}' is not an id in categories.json"),
            ));
        }
    }
}
