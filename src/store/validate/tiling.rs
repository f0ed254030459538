//! Rules `tiling` (communities tile the boundary, grids their community, micro-grids their
//! grid) and `containment` (buildings, facilities and compounds lie in the areas they name).
//!
//! Boolean operations are the slow part, so they run only where a cheap test finds something
//! suspicious: a vertex of one sibling strictly inside another (overlap), a vertex of a child
//! outside its parent (protrusion), or a sum of child areas that differs from the parent's
//! area by more than the tolerance (gap, or an overlap no vertex revealed).

use std::collections::HashSet;

use geo::{Area, BooleanOps, MultiPolygon, Polygon, unary_union};
use rstar::RTree;
use rstar::primitives::{GeomWithData, Rectangle};

use crate::model::LayerId;

use super::{
    AreaM, Ctx, Only, Violation, covers_within, distance_to_boundary_m, rule, strictly_inside,
};

/// Gaps, overlaps and protrusions up to this area are rounding, not errors.
const AREA_TOL_M2: f64 = 1.0;
/// Vertices this close to an edge count as on it (coordinates are rounded to ~1 cm).
const VERTEX_TOL_M: f64 = 0.05;
/// Points and compound vertices may lie this far outside the area they name.
const EDGE_TOL_M: f64 = 1.0;

/// (child layer, property naming the parent, parent layer); `None` key: the parent is the
/// whole boundary.
const LEVELS: [(LayerId, Option<&str>, LayerId); 3] = [
    (LayerId::Communities, None, LayerId::Boundary),
    (LayerId::Grids, Some("community"), LayerId::Communities),
    (LayerId::Microgrids, Some("grid"), LayerId::Grids),
];

fn noun(layer: LayerId) -> &'static str {
    match layer {
        LayerId::Boundary => "boundary",
        LayerId::Communities => "community",
        LayerId::Grids => "grid",
        LayerId::Microgrids => "micro-grid",
        LayerId::Compounds => "compound",
        _ => "feature",
    }
}

pub(super) fn check_tiling(ctx: &Ctx<'_>, out: &mut Vec<Violation>) {
    for (child_layer, key, parent_layer) in LEVELS {
        let (Some(children), Some(parents)) =
            (ctx.areas.get(&child_layer), ctx.areas.get(&parent_layer))
        else {
            continue;
        };
        if parents.is_empty() {
            continue;
        }
        // Parent group of each child: index into `parents`, or 0 for "the boundary" (all
        // boundary polygons together form one parent).
        let group_of = |c: &AreaM<'_>| -> Option<usize> {
            match key {
                None => Some(0),
                Some(k) => ctx
                    .area_index
                    .get(&parent_layer)?
                    .get(c.feature.str_prop(k)?)
                    .copied(),
            }
        };
        let parent_shapes: Vec<(String, MultiPolygon<f64>, f64)> = match key {
            None => vec![(
                parents
                    .iter()
                    .map(|p| p.feature.id.as_str())
                    .collect::<Vec<_>>()
                    .join("+"),
                MultiPolygon(parents.iter().map(|p| p.poly.clone()).collect()),
                parents.iter().map(|p| p.area_m2).sum(),
            )],
            Some(_) => parents
                .iter()
                .map(|p| {
                    (
                        p.feature.id.clone(),
                        MultiPolygon(vec![p.poly.clone()]),
                        p.area_m2,
                    )
                })
                .collect(),
        };
        let mut groups: Vec<Vec<usize>> = vec![Vec::new(); parent_shapes.len()];
        for (i, c) in children.iter().enumerate() {
            if let Some(g) = group_of(c) {
                groups[g].push(i);
            }
        }
        // Protrusions: a child vertex outside its parent, then the exact area outside.
        let mut outside_in_group = vec![0.0; groups.len()];
        let mut protruding: HashSet<usize> = HashSet::new();
        let mut protrusion_checked: HashSet<usize> = HashSet::new();
        for (g, members) in groups.iter().enumerate() {
            let (parent_id, parent, _) = &parent_shapes[g];
            for &i in members {
                let c = &children[i];
                let suspicious = c
                    .poly
                    .exterior()
                    .0
                    .iter()
                    .any(|&v| !parent.0.iter().any(|p| covers_within(p, v, VERTEX_TOL_M)));
                if suspicious {
                    protrusion_checked.insert(i);
                    let a = c.poly.difference(parent).unsigned_area();
                    if a > AREA_TOL_M2 {
                        outside_in_group[g] += a;
                        protruding.insert(i);
                        report_outside(child_layer, parent_layer, c, parent_id, a, out);
                    }
                }
            }
        }
        // Overlaps between siblings anywhere in the layer (also across parents). Siblings
        // whose vertices all lie on each other's edges can still overlap (a shared edge moved
        // along itself); within one parent the area sum below catches that, across parents
        // one of them protrudes from its parent, so pairs with a protruding child are
        // computed exactly too.
        let pairs = candidate_pairs(children.iter().map(|a| Some(a.bbox)));
        let mut overlap_in_group = vec![0.0; groups.len()];
        let mut pair_checked: HashSet<(usize, usize)> = HashSet::new();
        for &(i, j) in &pairs {
            let suspicious = protruding.contains(&i)
                || protruding.contains(&j)
                || vertex_inside_other(&children[i].poly, &children[j].poly);
            if !suspicious {
                continue;
            }
            pair_checked.insert((i, j));
            let a = overlap_m2(&children[i].poly, &children[j].poly);
            if a > AREA_TOL_M2 {
                report_overlap(child_layer, children, i, j, a, out);
                if let (Some(gi), Some(gj)) = (group_of(&children[i]), group_of(&children[j]))
                    && gi == gj
                {
                    overlap_in_group[gi] += a;
                }
            }
        }
        for (g, members) in groups.iter().enumerate() {
            let (parent_id, parent, parent_m2) = &parent_shapes[g];
            let sum_m2: f64 = members.iter().map(|&i| children[i].area_m2).sum();
            let covered_estimate = sum_m2 - overlap_in_group[g] - outside_in_group[g];
            if (parent_m2 - covered_estimate).abs() <= AREA_TOL_M2 {
                continue;
            }
            // The estimate does not add up: find what the vertex tests missed, exactly.
            let member_set: HashSet<usize> = members.iter().copied().collect();
            for &(i, j) in &pairs {
                if pair_checked.contains(&(i, j))
                    || !(member_set.contains(&i) && member_set.contains(&j))
                {
                    continue;
                }
                let a = overlap_m2(&children[i].poly, &children[j].poly);
                if a > AREA_TOL_M2 {
                    report_overlap(child_layer, children, i, j, a, out);
                }
            }
            for &i in members {
                if protrusion_checked.contains(&i) {
                    continue;
                }
                let a = children[i].poly.difference(parent).unsigned_area();
                if a > AREA_TOL_M2 {
                    report_outside(child_layer, parent_layer, &children[i], parent_id, a, out);
                }
            }
            let union = unary_union(members.iter().map(|&i| &children[i].poly));
            let gap_m2 = parent.difference(&union).unsigned_area();
            if gap_m2 > AREA_TOL_M2 {
                let what = match key {
                    None => parent_layer.to_string(),
                    Some(_) => format!("{} '{parent_id}'", noun(parent_layer)),
                };
                let msg = if members.is_empty() {
                    format!(
                        "no {child_layer} cover it ({gap_m2:.1} m²): every part of the {what} belongs to one"
                    )
                } else {
                    format!(
                        "its {child_layer} leave {gap_m2:.1} m² uncovered: extend a neighbouring {} to close the gap",
                        noun(child_layer)
                    )
                };
                let id = key.map(|_| parent_id.as_str());
                out.push(Violation::new(parent_layer, id, rule::TILING, msg));
            }
        }
    }
}

fn report_overlap(
    layer: LayerId,
    children: &[AreaM<'_>],
    i: usize,
    j: usize,
    a: f64,
    out: &mut Vec<Violation>,
) {
    out.push(Violation::feature(
        layer,
        &children[i].feature.id,
        rule::TILING,
        format!(
            "overlaps {} '{}' by {a:.1} m²: move their shared edge so each place belongs to one",
            noun(layer),
            children[j].feature.id
        ),
    ));
}

fn report_outside(
    layer: LayerId,
    parent_layer: LayerId,
    c: &AreaM<'_>,
    parent_id: &str,
    a: f64,
    out: &mut Vec<Violation>,
) {
    let whose = if parent_layer == LayerId::Boundary {
        "the boundary".to_string()
    } else {
        format!("its {} '{parent_id}'", noun(parent_layer))
    };
    out.push(Violation::feature(
        layer,
        &c.feature.id,
        rule::TILING,
        format!("extends {a:.1} m² outside {whose}: clip it to its parent"),
    ));
}

/// Pairs (i < j) of boxes that intersect, sorted (tree order is not file order, and reports
/// must be the same on every run), from an R-tree self-join: not quadratic in the count.
/// `None` boxes (empty geometry) pair with nothing but keep their index.
pub(super) fn candidate_pairs(
    boxes: impl IntoIterator<Item = Option<geo::Rect<f64>>>,
) -> Vec<(usize, usize)> {
    let items: Vec<GeomWithData<Rectangle<[f64; 2]>, usize>> = boxes
        .into_iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let (lo, hi) = (r?.min(), r?.max());
            Some(GeomWithData::new(
                Rectangle::from_corners([lo.x, lo.y], [hi.x, hi.y]),
                i,
            ))
        })
        .collect();
    let tree = RTree::bulk_load(items);
    let mut pairs: Vec<(usize, usize)> = tree
        .intersection_candidates_with_other_tree(&tree)
        .filter(|(a, b)| a.data < b.data)
        .map(|(a, b)| (a.data, b.data))
        .collect();
    pairs.sort_unstable();
    pairs
}

/// True when some vertex of either polygon lies strictly inside the other.
fn vertex_inside_other(a: &Polygon<f64>, b: &Polygon<f64>) -> bool {
    a.exterior()
        .0
        .iter()
        .any(|&v| strictly_inside(b, v, VERTEX_TOL_M))
        || b.exterior()
            .0
            .iter()
            .any(|&v| strictly_inside(a, v, VERTEX_TOL_M))
}

fn overlap_m2(a: &Polygon<f64>, b: &Polygon<f64>) -> f64 {
    a.intersection(b).unsigned_area()
}

/// Points (buildings, facilities) and compounds against the areas their properties name.
/// `only` limits the features checked (the edited ones, when the areas they must lie in
/// did not change).
pub(super) fn check_containment(ctx: &Ctx<'_>, only: &Only<'_>, out: &mut Vec<Violation>) {
    let point_rules: [(LayerId, &[(&str, LayerId)]); 2] = [
        (
            LayerId::Buildings,
            &[
                ("microgrid", LayerId::Microgrids),
                ("grid", LayerId::Grids),
                ("community", LayerId::Communities),
            ],
        ),
        (
            LayerId::Facilities,
            &[
                ("grid", LayerId::Grids),
                ("community", LayerId::Communities),
            ],
        ),
    ];
    for (layer, keys) in point_rules {
        let Some(features) = ctx.ds.layer(layer) else {
            continue;
        };
        for f in features.iter().filter(|f| only(layer, f)) {
            // A footprint stands where its interior point does (the walking engine and
            // coverage place it there too); its outline is held to its compound by the
            // building_in_compound rule.
            let p = match &f.geometry {
                geo::Geometry::Point(p) => *p,
                g if layer == LayerId::Buildings => {
                    let Some(p) = crate::model::building_position(g) else {
                        continue;
                    };
                    p
                }
                _ => continue,
            };
            let xy = ctx.xy(p.0);
            for &(key, area_layer) in keys {
                let Some(id) = f.str_prop(key) else { continue };
                let Some(area) = ctx.area(area_layer, id) else {
                    continue;
                }; // the ids rule reports it
                if !covers_within(&area.poly, xy, EDGE_TOL_M) {
                    let d = distance_to_boundary_m(&area.poly, xy);
                    out.push(Violation::feature(
                        layer,
                        &f.id,
                        rule::CONTAINMENT,
                        format!(
                            "lies {d:.1} m outside its {} '{id}': move the point or correct '{key}'",
                            noun(area_layer)
                        ),
                    ));
                }
            }
        }
    }
    let Some(compounds) = ctx.areas.get(&LayerId::Compounds) else {
        return;
    };
    for c in compounds
        .iter()
        .filter(|c| only(LayerId::Compounds, c.feature))
    {
        let Some(id) = c.feature.str_prop("community") else {
            continue;
        };
        let Some(community) = ctx.area(LayerId::Communities, id) else {
            continue;
        };
        let worst_m = c
            .poly
            .exterior()
            .0
            .iter()
            .filter(|&&v| !covers_within(&community.poly, v, EDGE_TOL_M))
            .map(|&v| distance_to_boundary_m(&community.poly, v))
            .fold(0.0, f64::max);
        if worst_m > 0.0 {
            out.push(Violation::feature(
                LayerId::Compounds,
                &c.feature.id,
                rule::CONTAINMENT,
                format!(
                    "reaches {worst_m:.1} m outside its community '{id}': clip it or correct 'community'"
                ),
            ));
        }
    }
}

/// Tiling figures for the counts table: boundary area in m² (sum of boundary polygons).
pub(super) fn boundary_area_m2(ctx: &Ctx<'_>) -> Option<f64> {
    let b = ctx.areas.get(&LayerId::Boundary)?;
    if b.is_empty() {
        return None;
    }
    Some(b.iter().map(|a| a.area_m2).sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Polygon<f64> {
        Polygon::new(
            geo::LineString::from(vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1)]),
            vec![],
        )
    }

    #[test]
    fn vertex_test_finds_containment_but_not_touching() {
        assert!(!vertex_inside_other(
            &rect(0.0, 0.0, 10.0, 10.0),
            &rect(10.0, 0.0, 20.0, 10.0)
        ));
        assert!(vertex_inside_other(
            &rect(0.0, 0.0, 12.0, 10.0),
            &rect(10.0, 1.0, 20.0, 9.0)
        ));
        // Every vertex on the other's edges: the vertex test misses it (see check_tiling).
        assert!(!vertex_inside_other(
            &rect(0.0, 0.0, 12.0, 10.0),
            &rect(10.0, 0.0, 20.0, 10.0)
        ));
        // A plus sign: no vertex inside, yet they overlap; the area sum catches it instead.
        assert!(!vertex_inside_other(
            &rect(0.0, 4.0, 10.0, 6.0),
            &rect(4.0, 0.0, 6.0, 10.0)
        ));
        assert!(
            (overlap_m2(&rect(0.0, 4.0, 10.0, 6.0), &rect(4.0, 0.0, 6.0, 10.0)) - 4.0).abs() < 1e-9
        );
    }

    #[test]
    fn candidate_pairs_match_brute_force() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let polys: Vec<Polygon<f64>> = (0..200)
            .map(|_| {
                let (x, y) = (rng.random_range(0.0..1000.0), rng.random_range(0.0..1000.0));
                let (w, h) = (rng.random_range(1.0..80.0), rng.random_range(1.0..80.0));
                rect(x, y, x + w, y + h)
            })
            .collect();
        let feature = crate::model::Feature {
            id: "x".into(),
            geometry: geo::Geometry::Point(geo::Point::new(0.0, 0.0)),
            elevation_m: None,
            properties: (serde_json::Map::new()).into(),
        };
        let areas: Vec<AreaM<'_>> = polys
            .iter()
            .map(|p| AreaM {
                feature: &feature,
                poly: p.clone(),
                area_m2: p.unsigned_area(),
                bbox: geo::BoundingRect::bounding_rect(p).expect("non-empty"),
            })
            .collect();
        let mut brute = Vec::new();
        for i in 0..areas.len() {
            for j in i + 1..areas.len() {
                if geo::Intersects::intersects(&areas[i].bbox, &areas[j].bbox) {
                    brute.push((i, j));
                }
            }
        }
        assert!(!brute.is_empty());
        assert_eq!(candidate_pairs(areas.iter().map(|a| Some(a.bbox))), brute);
    }
}
