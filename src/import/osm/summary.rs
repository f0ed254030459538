//! What an OSM import read, kept and skipped, and its Markdown table.

use std::collections::BTreeMap;

/// What an import read, kept and skipped.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportSummary {
    pub source: String,
    pub nodes_read: u64,
    pub ways_read: u64,
    pub relations_read: u64,
    /// OSM ways that gave at least one kept walkway segment.
    pub walkway_ways_kept: u64,
    pub walkway_segments: u64,
    /// Segments dropped because they are not connected to the largest network.
    pub dropped_disconnected_segments: u64,
    pub dropped_disconnected_m: f64,
    /// Highways not walkable, by reason (`foot=no`, `access=private`, `motor road`, `other`).
    pub excluded_highways: BTreeMap<String, u64>,
    pub facilities_by_category: BTreeMap<String, u64>,
    /// Features with a facility key (shop, amenity, ...) no rule maps, by `key=value`.
    pub unmapped_skipped: BTreeMap<String, u64>,
    pub buildings: u64,
    /// Buildings whose households came from `building:flats` rather than the estimate.
    pub buildings_with_flats: u64,
    pub households: u64,
    pub non_residential_buildings_skipped: u64,
    pub water_polygons: u64,
    /// Areas (closed ways, multipolygons) that could not be built: nodes or members missing.
    pub incomplete_areas: u64,
    pub elapsed_s: f64,
}

impl ImportSummary {
    #[must_use]
    pub fn unmapped_total(&self) -> u64 {
        self.unmapped_skipped.values().sum()
    }

    /// The summary as a Markdown table (the top ten unmapped tags listed by count).
    #[must_use]
    pub fn render_table(&self) -> String {
        let mut rows: Vec<(String, String)> = vec![
            ("source".into(), self.source.clone()),
            ("nodes read".into(), self.nodes_read.to_string()),
            ("ways read".into(), self.ways_read.to_string()),
            ("relations read".into(), self.relations_read.to_string()),
            (
                "walkway ways kept".into(),
                self.walkway_ways_kept.to_string(),
            ),
            ("walkway segments".into(), self.walkway_segments.to_string()),
            (
                "dropped disconnected segments".into(),
                format!(
                    "{} ({:.0} m)",
                    self.dropped_disconnected_segments, self.dropped_disconnected_m
                ),
            ),
        ];
        for (why, n) in &self.excluded_highways {
            rows.push((format!("highways excluded: {why}"), n.to_string()));
        }
        let fac_total: u64 = self.facilities_by_category.values().sum();
        rows.push(("facilities".into(), fac_total.to_string()));
        for (c, n) in &self.facilities_by_category {
            rows.push((format!("  {c}"), n.to_string()));
        }
        rows.push((
            "unmapped features skipped".into(),
            self.unmapped_total().to_string(),
        ));
        let mut top: Vec<(&String, &u64)> = self.unmapped_skipped.iter().collect();
        top.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (t, n) in top.into_iter().take(10) {
            rows.push((format!("  {t}"), n.to_string()));
        }
        rows.extend([
            ("buildings (residential)".into(), self.buildings.to_string()),
            (
                "  with building:flats".into(),
                self.buildings_with_flats.to_string(),
            ),
            (
                "  households (incl. estimates)".into(),
                self.households.to_string(),
            ),
            (
                "non-residential buildings skipped".into(),
                self.non_residential_buildings_skipped.to_string(),
            ),
            ("water polygons".into(), self.water_polygons.to_string()),
            (
                "incomplete areas skipped".into(),
                self.incomplete_areas.to_string(),
            ),
            ("elapsed".into(), format!("{:.1} s", self.elapsed_s)),
        ]);
        let mut s = String::from("| figure | value |\n| --- | --- |\n");
        for (k, v) in rows {
            s.push_str(&format!("| {k} | {v} |\n"));
        }
        s
    }
}

/// Add the counts of `b` into `a`.
pub(super) fn add_counts(a: &mut BTreeMap<String, u64>, b: BTreeMap<String, u64>) {
    for (k, n) in b {
        *a.entry(k).or_insert(0) += n;
    }
}
