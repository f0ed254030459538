//! Siting: choose new facility sites that cover the most uncovered weight (households, or
//! residents 60+ for elder services), greedily one after another (the classic (1 − 1/e)
//! approximation of maximum coverage; exact for a single site).

use serde::Serialize;

/// One chosen site.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pick {
    /// Index of the candidate.
    pub candidate: usize,
    /// Weight newly covered by this site (after the earlier picks).
    pub added_weight: u64,
    /// Indices (into the uncovered list) of the buildings it newly covers.
    pub buildings: Vec<usize>,
}

/// `reach[i]` lists the candidates uncovered building `i` (weight `weights[i]`) can walk to
/// within the threshold. Picks up to `count` candidates, each maximising the newly covered
/// weight (ties to the lower index); stops early when no candidate adds anything.
#[must_use]
pub fn greedy(
    weights: &[u64],
    reach: &[Vec<usize>],
    n_candidates: usize,
    count: usize,
) -> Vec<Pick> {
    // Inverted lists: candidate -> buildings that reach it.
    let mut by_candidate: Vec<Vec<usize>> = vec![Vec::new(); n_candidates];
    let mut gain = vec![0u64; n_candidates];
    for (i, cands) in reach.iter().enumerate() {
        for &c in cands {
            by_candidate[c].push(i);
            gain[c] += weights[i];
        }
    }
    let mut covered = vec![false; weights.len()];
    let mut picks = Vec::new();
    for _ in 0..count {
        let Some((best, &g)) = gain
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(&a.0)))
        else {
            break;
        };
        if g == 0 {
            break;
        }
        let mut newly = Vec::new();
        for &i in &by_candidate[best] {
            if !covered[i] {
                covered[i] = true;
                newly.push(i);
                for &c in &reach[i] {
                    gain[c] -= weights[i];
                }
            }
        }
        picks.push(Pick {
            candidate: best,
            added_weight: g,
            buildings: newly,
        });
    }
    picks
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn single_pick_is_the_brute_force_optimum_and_picks_never_overlap() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for _ in 0..200 {
            let n_c = rng.random_range(1..12);
            let n_b = rng.random_range(0..30);
            let weights: Vec<u64> = (0..n_b).map(|_| rng.random_range(1..50)).collect();
            let reach: Vec<Vec<usize>> = (0..n_b)
                .map(|_| {
                    let mut v: Vec<usize> = (0..n_c).filter(|_| rng.random_bool(0.3)).collect();
                    v.dedup();
                    v
                })
                .collect();
            let brute = (0..n_c)
                .map(|c| {
                    reach
                        .iter()
                        .zip(&weights)
                        .filter(|(r, _)| r.contains(&c))
                        .map(|(_, w)| *w)
                        .sum::<u64>()
                })
                .max()
                .unwrap_or(0);
            let picks = greedy(&weights, &reach, n_c, 3);
            assert_eq!(picks.first().map_or(0, |p| p.added_weight), brute);
            let mut seen = std::collections::BTreeSet::new();
            for p in &picks {
                assert!(p.added_weight > 0);
                let sum: u64 = p.buildings.iter().map(|&i| weights[i]).sum();
                assert_eq!(sum, p.added_weight);
                for &i in &p.buildings {
                    assert!(seen.insert(i), "building {i} covered twice");
                }
            }
        }
    }
}
