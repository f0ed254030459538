//! Rules `rollup` (building figures sum exactly to the areas above them) and
//! `grid_households` (the manifest's range of households per grid).

use std::collections::HashMap;

use crate::model::{Feature, LayerId};

use super::{Ctx, Violation, group_digits, rule};

/// The figures that roll up, in this order everywhere.
pub(crate) const FIGURES: [&str; 4] = [
    "households",
    "residents",
    "residents_60plus",
    "children_0_6",
];

/// The totals of the four figures over all buildings.
pub(crate) fn totals(buildings: &[Feature]) -> [u64; 4] {
    let mut t = [0u64; 4];
    for b in buildings {
        for (k, key) in FIGURES.iter().enumerate() {
            t[k] = t[k].saturating_add(b.u64_prop(key).unwrap_or(0));
        }
    }
    t
}

pub(super) fn check(ctx: &Ctx<'_>, out: &mut Vec<Violation>) {
    let buildings = ctx.ds.layer(LayerId::Buildings);
    if let Some(buildings) = buildings {
        for b in buildings {
            let (Some(h), Some(r)) = (b.u64_prop("households"), b.u64_prop("residents")) else {
                continue;
            };
            if h > r {
                out.push(Violation::feature(
                    LayerId::Buildings,
                    &b.id,
                    rule::ROLLUP,
                    format!("has {h} households but only {r} residents: a household has at least one resident"),
                ));
            }
            if let Some(old) = b.u64_prop("residents_60plus")
                && old > r
            {
                out.push(Violation::feature(
                    LayerId::Buildings,
                    &b.id,
                    rule::ROLLUP,
                    format!("has {old} residents aged 60+ but only {r} residents"),
                ));
            }
        }
        let levels = [
            ("microgrid", LayerId::Microgrids, "micro-grid"),
            ("grid", LayerId::Grids, "grid"),
            ("community", LayerId::Communities, "community"),
        ];
        for (key, layer, noun) in levels {
            let Some(areas) = ctx.ds.layer(layer) else {
                continue;
            };
            let mut sums: HashMap<&str, [u64; 4]> = HashMap::new();
            for b in buildings {
                let Some(id) = b.str_prop(key) else { continue };
                let s = sums.entry(id).or_default();
                for (k, fig) in FIGURES.iter().enumerate() {
                    s[k] = s[k].saturating_add(b.u64_prop(fig).unwrap_or(0));
                }
            }
            for a in areas {
                let s = sums.get(a.id.as_str()).copied().unwrap_or_default();
                for (k, fig) in FIGURES.iter().enumerate() {
                    let Some(stated) = a.u64_prop(fig) else {
                        continue;
                    };
                    if stated != s[k] {
                        out.push(Violation::feature(
                            layer,
                            &a.id,
                            rule::ROLLUP,
                            format!(
                                "{fig} is {} but its buildings sum to {} ({:+}): correct the {noun} or the buildings",
                                group_digits(stated),
                                group_digits(s[k]),
                                i128::from(s[k]) - i128::from(stated)
                            ),
                        ));
                    }
                }
            }
        }
    }
    check_grid_households(ctx, buildings, out);
}

fn check_grid_households(ctx: &Ctx<'_>, buildings: Option<&[Feature]>, out: &mut Vec<Violation>) {
    let Some([lo, hi]) = ctx.ds.manifest.as_ref().and_then(|m| m.grid_households) else {
        return;
    };
    let Some(grids) = ctx.ds.layer(LayerId::Grids) else {
        return;
    };
    // A grid without its own figure is judged by its buildings' sum, when there are buildings.
    let mut from_buildings: HashMap<&str, u64> = HashMap::new();
    for b in buildings.unwrap_or_default() {
        if let Some(g) = b.str_prop("grid") {
            *from_buildings.entry(g).or_default() += b.u64_prop("households").unwrap_or(0);
        }
    }
    for g in grids {
        let Some(h) = g
            .u64_prop("households")
            .or_else(|| buildings.map(|_| from_buildings.get(g.id.as_str()).copied().unwrap_or(0)))
        else {
            continue;
        };
        if h < lo || h > hi {
            out.push(Violation::feature(
                LayerId::Grids,
                &g.id,
                rule::GRID_HOUSEHOLDS,
                format!("has {h} households; manifest.json's grid_households wants {lo}–{hi}: split or merge grids"),
            ));
        }
    }
}
