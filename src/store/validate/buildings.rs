//! Rules `building_overlap` (no two building footprints share ground) and
//! `building_in_compound` (a building that names a compound stands inside it).
//!
//! Buildings may be Points (an OpenStreetMap import, a hand-placed building) or Polygon
//! footprints (the generated model, issue 13); only footprints can overlap, and a Point is
//! checked against its compound like a footprint's every vertex. Candidate pairs come from an
//! R-tree of footprint boxes, so the rule is not quadratic in the number of buildings.

use geo::{Area, BooleanOps, BoundingRect, Coord, Geometry, Polygon};

use crate::model::LayerId;

use super::{Ctx, Violation, covers_within, distance_to_boundary_m, rule};

/// Shared ground up to this area is coordinate rounding (~1 cm), not an overlap.
const OVERLAP_TOL_M2: f64 = 0.5;
/// A vertex this close outside its compound's outline counts as on it.
const EDGE_TOL_M: f64 = 1.0;

/// Footprints of the buildings layer in metres, with the feature index.
fn footprints(ctx: &Ctx<'_>) -> Vec<(usize, Polygon<f64>)> {
    ctx.ds
        .layer(LayerId::Buildings)
        .unwrap_or(&[])
        .iter()
        .enumerate()
        .filter_map(|(i, f)| match &f.geometry {
            Geometry::Polygon(p) => Some((i, ctx.proj.project(p))),
            _ => None,
        })
        .collect()
}

pub(super) fn check_overlap(ctx: &Ctx<'_>, out: &mut Vec<Violation>) {
    let Some(features) = ctx.ds.layer(LayerId::Buildings) else {
        return;
    };
    let polys = footprints(ctx);
    let pairs = super::tiling::candidate_pairs(polys.iter().map(|(_, p)| p.bounding_rect()));
    for (a, b) in pairs {
        let shared_m2 = polys[a].1.intersection(&polys[b].1).unsigned_area();
        if shared_m2 > OVERLAP_TOL_M2 {
            let (fa, fb) = (&features[polys[a].0], &features[polys[b].0]);
            out.push(Violation::feature(
                LayerId::Buildings,
                &fa.id,
                rule::BUILDING_OVERLAP,
                format!(
                    "footprint overlaps building '{}' by {shared_m2:.1} m²: move or shrink one of them",
                    fb.id
                ),
            ));
        }
    }
}

pub(super) fn check_in_compound(ctx: &Ctx<'_>, out: &mut Vec<Violation>) {
    let Some(features) = ctx.ds.layer(LayerId::Buildings) else {
        return;
    };
    for f in features {
        let Some(id) = f.str_prop("compound") else {
            continue;
        };
        let Some(compound) = ctx.area(LayerId::Compounds, id) else {
            continue; // the ids rule reports an unknown compound
        };
        let vertices: Vec<Coord<f64>> = match &f.geometry {
            Geometry::Point(p) => vec![ctx.xy(p.0)],
            Geometry::Polygon(p) => ctx.proj.project(p).exterior().0.clone(),
            _ => continue, // the geometry rule reports it
        };
        let worst_m = vertices
            .iter()
            .filter(|&&v| !covers_within(&compound.poly, v, EDGE_TOL_M))
            .map(|&v| distance_to_boundary_m(&compound.poly, v))
            .fold(0.0, f64::max);
        if worst_m > 0.0 {
            out.push(Violation::feature(
                LayerId::Buildings,
                &f.id,
                rule::BUILDING_IN_COMPOUND,
                format!(
                    "reaches {worst_m:.1} m outside its compound '{id}': move the building or correct 'compound'"
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use geo::{LineString, Point};
    use serde_json::json;

    use crate::model::Feature;
    use crate::store::Dataset;

    use super::super::{rule, validate};
    use super::*;

    /// A square of `side_m` metres at (x, y) metres east and north of (106.53, 29.47),
    /// counter-clockwise, in WGS84.
    fn square(x: f64, y: f64, side_m: f64) -> Polygon<f64> {
        let (m_lon, m_lat) = (
            1.0 / (111_320.0 * 29.47_f64.to_radians().cos()),
            1.0 / 110_574.0,
        );
        let at = |dx: f64, dy: f64| (106.53 + (x + dx) * m_lon, 29.47 + (y + dy) * m_lat);
        Polygon::new(
            LineString::from(vec![
                at(0.0, 0.0),
                at(side_m, 0.0),
                at(side_m, side_m),
                at(0.0, side_m),
                at(0.0, 0.0),
            ]),
            vec![],
        )
    }

    fn feature(id: &str, geometry: Geometry<f64>, properties: serde_json::Value) -> Feature {
        let serde_json::Value::Object(properties) = properties else {
            unreachable!("an object literal")
        };
        Feature {
            id: id.into(),
            geometry,
            elevation_m: None,
            properties: properties.into(),
        }
    }

    fn dataset(buildings: Vec<Feature>, compounds: Vec<Feature>) -> Dataset {
        let mut layers = BTreeMap::new();
        layers.insert(LayerId::Buildings, std::sync::Arc::new(buildings));
        layers.insert(LayerId::Compounds, std::sync::Arc::new(compounds));
        Dataset {
            dir: "hand-made".into(),
            layers,
            taxonomy: None,
            manifest: None,
        }
    }

    fn building(id: &str, g: Polygon<f64>, compound: Option<&str>) -> Feature {
        let mut p = json!({"households": 100, "residents": 260});
        if let Some(c) = compound {
            p["compound"] = json!(c);
        }
        feature(id, Geometry::Polygon(g), p)
    }

    fn compound(id: &str, g: Polygon<f64>) -> Feature {
        feature(id, Geometry::Polygon(g), json!({"name": "测试小区"}))
    }

    #[test]
    fn overlapping_footprints_are_named() {
        let ds = dataset(
            vec![
                building("B1", square(0.0, 0.0, 20.0), None),
                // 10 × 20 m of B1's ground.
                building("B2", square(10.0, 0.0, 20.0), None),
                // Touching B2's edge only: not an overlap.
                building("B3", square(30.0, 0.0, 20.0), None),
                // Far away.
                building("B4", square(200.0, 200.0, 20.0), None),
            ],
            vec![],
        );
        let report = validate(&ds);
        let v = report.of_rule(rule::BUILDING_OVERLAP);
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(v[0].layer, "buildings");
        assert_eq!(v[0].feature_id.as_deref(), Some("B1"));
        assert!(v[0].message.contains("'B2'"), "{}", v[0].message);
        let m2: f64 = v[0]
            .message
            .split_whitespace()
            .find_map(|w| w.parse().ok())
            .expect("an area");
        assert!((m2 - 200.0).abs() < 2.0, "{}", v[0].message);
    }

    #[test]
    fn points_never_overlap() {
        let p = Geometry::Point(Point::new(106.53, 29.47));
        let ds = dataset(
            vec![
                feature("B1", p.clone(), json!({"households": 1, "residents": 2})),
                feature("B2", p, json!({"households": 1, "residents": 2})),
            ],
            vec![],
        );
        assert!(validate(&ds).of_rule(rule::BUILDING_OVERLAP).is_empty());
    }

    #[test]
    fn a_building_outside_its_compound_is_named() {
        let ds = dataset(
            vec![
                building("B1", square(10.0, 10.0, 20.0), Some("CP001")),
                // Sticks 15 m out of the compound's east side.
                building("B2", square(65.0, 10.0, 30.0), Some("CP001")),
                // Not in a compound: nothing to check.
                building("B3", square(300.0, 0.0, 20.0), None),
                feature(
                    "B4",
                    Geometry::Point(square(500.0, 500.0, 1.0).exterior().0[0].into()),
                    json!({"households": 1, "residents": 2, "compound": "CP001"}),
                ),
            ],
            vec![compound("CP001", square(0.0, 0.0, 80.0))],
        );
        let report = validate(&ds);
        let v = report.of_rule(rule::BUILDING_IN_COMPOUND);
        assert_eq!(v.len(), 2, "{v:?}");
        assert_eq!(v[0].feature_id.as_deref(), Some("B2"));
        assert!(
            v[0].message.contains("m outside its compound 'CP001'"),
            "{}",
            v[0].message
        );
        let out_m: f64 = v[0]
            .message
            .split_whitespace()
            .find_map(|w| w.parse().ok())
            .expect("metres");
        assert!((out_m - 15.0).abs() < 0.5, "{}", v[0].message);
        assert_eq!(v[1].feature_id.as_deref(), Some("B4"));
        assert!(v.iter().all(|v| v.layer == "buildings"));
    }
}
