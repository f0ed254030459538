//! The writer checks an edit with `store::validate_change` (only the rules the edited layers
//! can break, issue 12). Oracle: the full `store::validate` of the same would-be data. On
//! random edits (fixed seed) of every layer — moves, vertex nudges, deletions, copies,
//! dropped or mistyped properties, alone and two layers at once — both must give the same
//! violations in the same order, so an edit is refused exactly when the full check refuses it.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use geo::{MapCoordsInPlace, Translate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use servicemap::edit::apply;
use servicemap::model::{Feature, LayerId};
use servicemap::store::{self, Dataset};

mod common;

/// One random change of one feature of `layer`: what `apply` stores for it.
fn random_edit(
    ds: &Dataset,
    layer: LayerId,
    rng: &mut ChaCha8Rng,
    n: usize,
) -> (String, Option<Feature>) {
    let features = ds.layer(layer).unwrap_or(&[]);
    if features.is_empty() {
        // The first edit of a pair deleted the layer's only feature (the boundary).
        return (String::new(), None);
    }
    let mut f = features[rng.random_range(0..features.len())].clone();
    // From a nudge well inside any tolerance to a move across several blocks.
    let step_deg = [1e-7, 1e-6, 1e-5, 1e-4, 1e-3][rng.random_range(0..5)];
    match rng.random_range(0..6) {
        0 => {
            let (dx, dy) = (rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0));
            f.geometry.translate_mut(dx * step_deg, dy * step_deg);
        }
        1 => {
            let count = geo::CoordsIter::coords_count(&f.geometry);
            let k = rng.random_range(0..count.max(1));
            let (dx, dy) = (rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0));
            let i = std::cell::Cell::new(0);
            f.geometry.map_coords_in_place(|c| {
                let c = if i.get() == k {
                    geo::Coord {
                        x: c.x + dx * step_deg,
                        y: c.y + dy * step_deg,
                    }
                } else {
                    c
                };
                i.set(i.get() + 1);
                c
            });
        }
        2 => return (f.id, None),
        3 => {
            f.id = format!("{}-copy{n}", f.id);
            f.geometry.translate_mut(step_deg, -step_deg);
        }
        4 => {
            let keys: Vec<String> = f.properties.keys().map(str::to_string).collect();
            if !keys.is_empty() {
                f.properties.remove(&keys[rng.random_range(0..keys.len())]);
            }
        }
        _ => {
            let keys: Vec<String> = f.properties.keys().map(str::to_string).collect();
            if !keys.is_empty() {
                let bogus = [
                    Value::from(-3),
                    Value::from("x"),
                    Value::Null,
                    Value::from(1.5),
                ];
                let key = keys[rng.random_range(0..keys.len())].clone();
                f.properties
                    .insert(&key, bogus[rng.random_range(0..bogus.len())].clone().into());
            }
        }
    }
    (f.id.clone(), Some(f))
}

#[test]
fn incremental_validation_refuses_exactly_what_the_full_one_refuses() {
    let base = store::read_dir(&common::mini_dir()).unwrap();
    assert!(
        store::validate(&base).violations.is_empty(),
        "the fixture is valid"
    );
    let layers: Vec<LayerId> = base
        .layers
        .iter()
        .filter(|(_, fs)| !fs.is_empty())
        .map(|(l, _)| *l)
        .collect();
    assert!(layers.contains(&LayerId::Walkways) && layers.contains(&LayerId::Grids));
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let (mut refused, mut accepted) = (0, 0);
    let mut rules_seen = std::collections::BTreeSet::new();
    for n in 0..240 {
        let mut next = base.clone();
        let mut changed = Vec::new();
        for _ in 0..=usize::from(n % 4 == 0) {
            let layer = layers[rng.random_range(0..layers.len())];
            let (id, after) = random_edit(&next, layer, &mut rng, n);
            apply(&mut next, layer, &id, after);
            changed.push(layer);
        }
        changed.sort_unstable();
        changed.dedup();
        let full = store::validate(&next).violations;
        let incremental = store::validate_change(&next, &base, &changed);
        assert_eq!(
            incremental, full,
            "edit {n} of {changed:?}: the incremental check differs from the full one"
        );
        if full.is_empty() {
            accepted += 1;
        } else {
            refused += 1;
            rules_seen.extend(full.iter().map(|v| v.rule));
        }
    }
    // The edits exercised both outcomes and more than one kind of rule.
    assert!(
        accepted >= 20 && refused >= 20,
        "{accepted} accepted, {refused} refused"
    );
    assert!(rules_seen.len() >= 4, "rules seen: {rules_seen:?}");
}

/// Walkway edits alone, the writer's commonest heavy case: `validate_change` checks the
/// noding and water of the edited walkways only (against the rest), and must still name the
/// same crossings, at the same positions, as the whole-network check.
#[test]
fn walkway_edits_are_checked_locally_with_the_same_verdict() {
    let base = store::read_dir(&common::mini_dir()).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(1212);
    let mut rules_seen = std::collections::BTreeMap::new();
    for n in 0..300 {
        let mut next = base.clone();
        for _ in 0..=usize::from(n % 5 == 0) {
            let (id, after) = random_edit(&next, LayerId::Walkways, &mut rng, n);
            apply(&mut next, LayerId::Walkways, &id, after);
        }
        let full = store::validate(&next).violations;
        let incremental = store::validate_change(&next, &base, &[LayerId::Walkways]);
        assert_eq!(incremental, full, "walkway edit {n}");
        for v in &full {
            *rules_seen.entry(v.rule).or_insert(0) += 1;
        }
    }
    for rule in ["noding", "water", "connectivity", "properties"] {
        assert!(rules_seen.contains_key(rule), "rules seen: {rules_seen:?}");
    }
}
