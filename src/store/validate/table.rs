//! The counts table of a [`super::Report`].

use std::collections::BTreeMap;

use crate::model::LayerId;

use super::network::NetStats;
use super::rollup::{FIGURES, totals};
use super::tiling::boundary_area_m2;
use super::{Ctx, group_digits};

/// The rows of the counts table, in a fixed order: layers, people, areas and lengths,
/// compounds, facilities by category.
pub(super) fn counts(ctx: &Ctx<'_>, net: &NetStats) -> Vec<(String, String)> {
    let mut rows: Vec<(String, String)> = Vec::new();
    let count = |n: usize| group_digits(u64::try_from(n).unwrap_or(u64::MAX));
    for (layer, features) in &ctx.ds.layers {
        rows.push((format!("{layer} (features)"), count(features.len())));
    }
    if let Some(b) = ctx.ds.layer(LayerId::Buildings) {
        let t = totals(b);
        let labels = [
            "households",
            "residents",
            "residents aged 60+",
            "children aged 0–6",
        ];
        debug_assert_eq!(labels.len(), FIGURES.len());
        for (label, v) in labels.iter().zip(t) {
            rows.push(((*label).to_string(), group_digits(v)));
        }
    }
    let area_km2 = boundary_area_m2(ctx).map(|m2| m2 / 1e6);
    if let Some(a) = area_km2 {
        rows.push(("boundary area (km²)".into(), format!("{a:.2}")));
    }
    if let Some(components) = net.components {
        let km = net.length_m / 1000.0;
        rows.push(("walkway length (km)".into(), format!("{km:.1}")));
        if let Some(a) = area_km2.filter(|a| *a > 0.0) {
            rows.push((
                "walkway density (km per km²)".into(),
                format!("{:.1}", km / a),
            ));
        }
        rows.push(("walkway connected components".into(), count(components)));
    }
    if let Some(c) = ctx.ds.layer(LayerId::Compounds) {
        let old = c
            .iter()
            .filter(|f| {
                f.properties
                    .get("old")
                    .and_then(crate::model::PropValue::as_bool)
                    == Some(true)
            })
            .count();
        rows.push((
            "old compounds (老旧小区)".into(),
            format!("{} of {}", count(old), count(c.len())),
        ));
    }
    if let Some(f) = ctx.ds.layer(LayerId::Facilities) {
        let mut by_cat: BTreeMap<&str, usize> = BTreeMap::new();
        for x in f {
            *by_cat
                .entry(x.str_prop("category").unwrap_or("(none)"))
                .or_default() += 1;
        }
        for (cat, n) in by_cat {
            rows.push((format!("facilities: {cat}"), count(n)));
        }
    }
    rows
}

/// Display width of a cell: CJK characters take two columns in a terminal.
fn width(s: &str) -> usize {
    s.chars()
        .map(|c| {
            if ('\u{2E80}'..='\u{9FFF}').contains(&c) || ('\u{FF00}'..='\u{FFEF}').contains(&c) {
                2
            } else {
                1
            }
        })
        .sum()
}

/// A Markdown table with padded columns, the values right-aligned.
pub(super) fn render(rows: &[(String, String)]) -> String {
    let (h0, h1) = ("figure", "value");
    let w0 = rows
        .iter()
        .map(|(k, _)| width(k))
        .chain([width(h0)])
        .max()
        .unwrap_or(0);
    let w1 = rows
        .iter()
        .map(|(_, v)| width(v))
        .chain([width(h1)])
        .max()
        .unwrap_or(0);
    let pad_right = |s: &str, w: usize| format!("{s}{}", " ".repeat(w.saturating_sub(width(s))));
    let pad_left = |s: &str, w: usize| format!("{}{s}", " ".repeat(w.saturating_sub(width(s))));
    let mut out = format!("| {} | {} |\n", pad_right(h0, w0), pad_left(h1, w1));
    out.push_str(&format!(
        "| {} | {}: |\n",
        "-".repeat(w0),
        "-".repeat(w1.saturating_sub(1).max(1))
    ));
    for (k, v) in rows {
        out.push_str(&format!("| {} | {} |\n", pad_right(k, w0), pad_left(v, w1)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_aligned_columns() {
        let rows = vec![
            ("grids (features)".to_string(), "214".to_string()),
            ("households".into(), "80,123".into()),
        ];
        let t = render(&rows);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines.iter().all(|l| width(l) == width(lines[0])), "{t}");
        assert!(lines[2].ends_with("    214 |"), "{t}");
        assert!(lines[1].ends_with(": |"), "{t}");
    }

    #[test]
    fn cjk_counts_double() {
        assert_eq!(width("老旧"), 4);
        assert_eq!(width("km²"), 3);
    }
}
