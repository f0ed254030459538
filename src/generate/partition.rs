//! Split a connected set of lattice cells into contiguous parts by competitive growth from
//! seeds, each part's speed tuned until its weight is near its share.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::lattice::{CellIx, Lattice};

pub const NONE: u32 = u32::MAX;

/// What it costs a part to claim block `b` from its neighbour `a`, in metres of growth on
/// top of the distance: more where a street, 花溪河 or a ridge runs between them, so parts
/// fill the land up to those lines before they cross, and their outlines follow them.
pub type Barrier<'a> = &'a dyn Fn(CellIx, CellIx) -> f64;

#[derive(PartialEq)]
struct Entry {
    cost: f64,
    /// Barrier metres met on the way from the seed.
    crossed: f64,
    label: u32,
    seed: usize,
    cell: CellIx,
}
impl Eq for Entry {}
impl Ord for Entry {
    fn cmp(&self, o: &Self) -> Ordering {
        // Min-heap on cost; ties broken by label then cell for determinism.
        o.cost
            .total_cmp(&self.cost)
            .then(o.label.cmp(&self.label))
            .then(o.cell.cmp(&self.cell))
            .then(o.seed.cmp(&self.seed))
    }
}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

/// Grow parts from labelled `seeds` (`(cell, label)`) over the cells where `region[c]`, each
/// part advancing at its own `speed` (cost = distance from its seed / speed). Every cell is
/// claimed through a neighbour of the same part, so each seed's territory is connected; a
/// part may start from several seeds (a unit that must hold a named place grows from the
/// place too). Cost is the distance from the seed the claim started at, so each seed's
/// territory stays compact, plus the `barrier` metres met on the way (streets, the creek).
/// Returns the label of every lattice cell (`NONE` outside the region).
#[must_use]
pub fn grow_labelled(
    lat: &Lattice,
    region: &[bool],
    seeds: &[(CellIx, u32)],
    speed: &[f64],
    barrier: Barrier,
) -> Vec<u32> {
    let mut label = vec![NONE; lat.cell_count()];
    let mut heap = BinaryHeap::new();
    for (k, &(s, l)) in seeds.iter().enumerate() {
        heap.push(Entry {
            cost: 0.0,
            crossed: 0.0,
            label: l,
            seed: k,
            cell: s,
        });
    }
    while let Some(Entry {
        crossed,
        label: l,
        seed,
        cell,
        ..
    }) = heap.pop()
    {
        if label[cell] != NONE || !region[cell] {
            continue;
        }
        label[cell] = l;
        let (sx, sy) = lat.centre(seeds[seed].0);
        for nb in lat.neighbours(cell) {
            if region[nb] && label[nb] == NONE {
                let (x, y) = lat.centre(nb);
                let crossed = crossed + barrier(cell, nb);
                let cost = ((x - sx).hypot(y - sy) + crossed) / speed[l as usize];
                heap.push(Entry {
                    cost,
                    crossed,
                    label: l,
                    seed,
                    cell: nb,
                });
            }
        }
    }
    label
}

/// Seeds for `n` parts of `cells`: greedy farthest points, starting from the cell farthest
/// from the set's centroid, so parts start spread out.
#[must_use]
pub fn farthest_seeds(lat: &Lattice, cells: &[CellIx], n: usize) -> Vec<CellIx> {
    let centres: Vec<(f64, f64)> = cells.iter().map(|&c| lat.centre(c)).collect();
    let (mx, my) = centres
        .iter()
        .fold((0.0, 0.0), |a, p| (a.0 + p.0, a.1 + p.1));
    let (mx, my) = (mx / cells.len() as f64, my / cells.len() as f64);
    let first = (0..cells.len())
        .max_by(|&a, &b| {
            let da = (centres[a].0 - mx).hypot(centres[a].1 - my);
            let db = (centres[b].0 - mx).hypot(centres[b].1 - my);
            da.total_cmp(&db).then(b.cmp(&a))
        })
        .unwrap_or(0);
    let mut seeds = vec![first];
    let mut dmin: Vec<f64> = centres
        .iter()
        .map(|p| (p.0 - centres[first].0).hypot(p.1 - centres[first].1))
        .collect();
    while seeds.len() < n.min(cells.len()) {
        let next = (0..cells.len())
            .max_by(|&a, &b| dmin[a].total_cmp(&dmin[b]).then(b.cmp(&a)))
            .unwrap_or(0);
        seeds.push(next);
        for (k, p) in centres.iter().enumerate() {
            dmin[k] = dmin[k].min((p.0 - centres[next].0).hypot(p.1 - centres[next].1));
        }
    }
    seeds.into_iter().map(|k| cells[k]).collect()
}

/// Split `cells` (connected) into `n` contiguous parts of even weight. Returns one label per
/// lattice cell (`NONE` outside `cells`).
#[must_use]
pub fn split(
    lat: &Lattice,
    cells: &[CellIx],
    weight: &[f64],
    n: usize,
    barrier: Barrier,
) -> Vec<u32> {
    let mut region = vec![false; lat.cell_count()];
    for &c in cells {
        region[c] = true;
    }
    let seeds = farthest_seeds(lat, cells, n);
    grow_to_targets(
        lat,
        &region,
        cells,
        &seeds,
        weight,
        &vec![1.0; seeds.len()],
        barrier,
    )
}

/// Grow parts from `seeds`, tuning each part's speed until its weight is near its `target`
/// share. Growth keeps parts compact (unlike cell-by-cell balancing, which frays edges);
/// what is left of the imbalance is the caller's to absorb.
#[must_use]
pub fn grow_to_targets(
    lat: &Lattice,
    region: &[bool],
    cells: &[CellIx],
    seeds: &[CellIx],
    weight: &[f64],
    target: &[f64],
    barrier: Barrier,
) -> Vec<u32> {
    let total_w: f64 = cells.iter().map(|&c| weight[c]).sum();
    let total_t: f64 = target.iter().sum();
    let want: Vec<f64> = target.iter().map(|t| total_w * t / total_t).collect();
    let labelled: Vec<(CellIx, u32)> = seeds
        .iter()
        .enumerate()
        .map(|(k, &c)| (c, k as u32))
        .collect();
    grow_to_wants(
        lat,
        region,
        cells,
        &labelled,
        &|_, c| weight[c],
        &want,
        barrier,
    )
}

/// Grow parts from labelled `seeds`, tuning each part's speed until the sum of
/// `weight(label, cell)` over its cells is near `want[label]`: parts may measure themselves
/// differently (villages by area, communities by households).
#[must_use]
pub fn grow_to_wants(
    lat: &Lattice,
    region: &[bool],
    cells: &[CellIx],
    seeds: &[(CellIx, u32)],
    weight: &dyn Fn(u32, CellIx) -> f64,
    want: &[f64],
    barrier: Barrier,
) -> Vec<u32> {
    let n = want.len();
    let mut speed = vec![1.0; n];
    let mut best: Option<(f64, Vec<u32>)> = None;
    for _ in 0..40 {
        let label = grow_labelled(lat, region, seeds, &speed, barrier);
        let mut w = vec![0.0; n];
        for &c in cells {
            if label[c] != NONE {
                w[label[c] as usize] += weight(label[c], c);
            }
        }
        let mut err = 0.0_f64;
        for k in 0..n {
            err = err.max((w[k] - want[k]).abs() / want[k].max(1e-9));
            speed[k] *= (want[k] / w[k].max(want[k] * 0.05)).powf(0.35);
        }
        if best.as_ref().is_none_or(|b| err < b.0) {
            best = Some((err, label));
        }
    }
    best.map(|b| b.1).unwrap_or_default()
}
