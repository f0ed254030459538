//! Ridges of the modelled terrain, traced over the street lattice's junctions: the crest
//! lines units are bounded by where no street or water is near (issue 13), written as
//! `ridges.geojson`.
//!
//! Traced as water would be on the terrain turned upside down (D8 flow): every junction
//! drains to the neighbour of its eight up the steepest ascent, so paths climb the slopes,
//! gather on the crests and run up them to the summits; a junction on such a path that
//! stands above its two neighbours across some direction, and gathers enough ground below
//! it, is on a ridge. What is kept is what the stats check holds: every vertex a crest
//! across its line within [`CREST_OFFSET_M`] (see `analysis::ridges`), on lines of at
//! least [`MIN_LENGTH_M`].

use std::collections::BTreeSet;

use serde_json::json;

use crate::analysis::ridges::{CREST_OFFSET_M, crest_vertices};
use crate::model::{Feature, LocalProj};
use crate::store::write::round7;

use super::lattice::{CellIx, Lattice};
use super::props;
use super::terrain::Terrain;

/// A junction is a candidate crest when it stands at least this far above both neighbours
/// across some direction (metres). Low, because the check every kept vertex must pass
/// (the ground 60 m to either side of the line no higher) is what decides: at 0.5 m, with 6
/// junctions gathered and 200 m lines, 21 ridges of 6.3 km were kept; at 0.1 m, 2 and 100 m,
/// 92 of 24.0 km, the spurs between the terraces included, every vertex still a crest.
const CREST_DROP_M: f64 = 0.1;
/// Junctions (about 2,500 m² each) that must drain up through a junction for it to be on a
/// ridge: one alone is the top of a slope, not a crest line.
const MIN_CATCHMENT_NODES: u32 = 2;
/// Shortest ridge kept, metres: two blocks.
const MIN_LENGTH_M: f64 = 100.0;

/// The ridges of the model as paths over lattice junctions.
pub struct Ridges {
    pub lines: Vec<Vec<usize>>,
    /// Lattice sides (node pairs, lower index first) a ridge runs along.
    sides: BTreeSet<(usize, usize)>,
}

impl Ridges {
    /// Trace the ridges of `terrain` over the junctions of the `land` blocks of `lat`.
    #[must_use]
    pub fn trace(lat: &Lattice, terrain: &Terrain, land: &[bool]) -> Self {
        let nn = lat.nodes.len();
        let mut on_land = vec![false; nn];
        for c in (0..lat.cell_count()).filter(|&c| land[c]) {
            for k in lat.corners(c) {
                on_land[k] = true;
            }
        }
        let z: Vec<f64> = (0..nn)
            .map(|k| {
                let (x, y) = lat.nodes[k];
                if on_land[k] {
                    round2(terrain.elevation_m(x, y))
                } else {
                    f64::NAN
                }
            })
            .collect();
        let (w, h) = (lat.nx + 1, lat.ny + 1);
        let at = |k: usize, di: isize, dj: isize| -> Option<usize> {
            let (i, j) = (k % w, k / w);
            let a = i.checked_add_signed(di)?;
            let b = j.checked_add_signed(dj)?;
            (a < w && b < h && on_land[b * w + a]).then_some(b * w + a)
        };
        const EIGHT: [(isize, isize); 8] = [
            (1, 0),
            (1, 1),
            (0, 1),
            (-1, 1),
            (-1, 0),
            (-1, -1),
            (0, -1),
            (1, -1),
        ];
        // Steepest ascent among the eight neighbours.
        let up: Vec<Option<usize>> = (0..nn)
            .map(|k| {
                if !on_land[k] {
                    return None;
                }
                let (x, y) = lat.nodes[k];
                let mut best: Option<(f64, usize)> = None;
                for (di, dj) in EIGHT {
                    let Some(m) = at(k, di, dj) else { continue };
                    let (xm, ym) = lat.nodes[m];
                    let slope = (z[m] - z[k]) / (xm - x).hypot(ym - y);
                    if slope > 0.0 && best.is_none_or(|b| slope > b.0) {
                        best = Some((slope, m));
                    }
                }
                best.map(|b| b.1)
            })
            .collect();
        // Ground gathered: passed up from the lowest junction to the highest.
        let mut order: Vec<usize> = (0..nn).filter(|&k| on_land[k]).collect();
        order.sort_by(|&a, &b| z[a].total_cmp(&z[b]).then(a.cmp(&b)));
        let mut gathered = vec![1u32; nn];
        for &k in &order {
            if let Some(m) = up[k] {
                gathered[m] += gathered[k];
            }
        }
        // A crest across one of the four directions of the lattice.
        let crest = |k: usize| -> bool {
            [(1, 0), (0, 1), (1, 1), (1, -1)]
                .into_iter()
                .any(|(di, dj)| match (at(k, di, dj), at(k, -di, -dj)) {
                    (Some(a), Some(b)) => {
                        z[k] - z[a] >= CREST_DROP_M && z[k] - z[b] >= CREST_DROP_M
                    }
                    _ => false,
                })
        };
        let on_ridge: Vec<bool> = (0..nn)
            .map(|k| on_land[k] && crest(k) && gathered[k] >= MIN_CATCHMENT_NODES)
            .collect();
        let next = |k: usize| up[k].filter(|&m| on_ridge[k] && on_ridge[m]);
        // Each junction's main donor along a ridge: the one gathering most (lowest index on
        // a tie), through which the line runs on; the others end where they join.
        let mut main_donor: Vec<Option<usize>> = vec![None; nn];
        let mut has_donor = vec![false; nn];
        for k in 0..nn {
            if let Some(m) = next(k) {
                has_donor[m] = true;
                if main_donor[m].is_none_or(|d| gathered[k] > gathered[d]) {
                    main_donor[m] = Some(k);
                }
            }
        }
        let mut paths: Vec<Vec<usize>> = Vec::new();
        for k in 0..nn {
            if !on_ridge[k] || has_donor[k] || next(k).is_none() {
                continue;
            }
            let mut path = vec![k];
            let mut cur = k;
            while let Some(m) = next(cur) {
                path.push(m);
                if main_donor[m] != Some(cur) {
                    break;
                }
                cur = m;
            }
            paths.push(path);
        }
        // Keep the runs of vertices the stats check holds to be crests; cutting a line
        // changes the direction at its new ends, so repeat until nothing changes.
        let elevation = |x: f64, y: f64| terrain.elevation_m(x, y);
        let mut lines: Vec<Vec<usize>> = Vec::new();
        let mut todo = paths;
        while let Some(path) = todo.pop() {
            let pts: Vec<(f64, f64)> = path.iter().map(|&k| lat.nodes[k]).collect();
            let zs: Vec<f64> = path.iter().map(|&k| z[k]).collect();
            let ok = crest_vertices(&pts, &zs, &elevation, CREST_OFFSET_M);
            if ok.iter().all(|&o| o) {
                if length_m(lat, &path) >= MIN_LENGTH_M {
                    lines.push(path);
                }
                continue;
            }
            let mut run: Vec<usize> = Vec::new();
            for (k, &o) in path.iter().zip(&ok) {
                if o {
                    run.push(*k);
                } else if !run.is_empty() {
                    todo.push(std::mem::take(&mut run));
                }
            }
            if !run.is_empty() {
                todo.push(run);
            }
            todo.retain(|p| p.len() >= 2 && length_m(lat, p) >= MIN_LENGTH_M);
        }
        lines.sort();
        let mut sides = BTreeSet::new();
        for l in &lines {
            for s in l.windows(2) {
                sides.insert((s[0].min(s[1]), s[0].max(s[1])));
            }
        }
        Ridges { lines, sides }
    }

    /// Does a ridge run along the side between neighbouring blocks `a` and `b`?
    #[must_use]
    pub fn between(&self, lat: &Lattice, a: CellIx, b: CellIx) -> bool {
        let ((ia, ja), (ib, jb)) = (lat.cell_ij(a), lat.cell_ij(b));
        let (p, q) = if ja == jb {
            let i = ia.max(ib);
            (lat.node_ix(i, ja), lat.node_ix(i, ja + 1))
        } else {
            let j = ja.max(jb);
            (lat.node_ix(ia, j), lat.node_ix(ia + 1, j))
        };
        self.sides.contains(&(p.min(q), p.max(q)))
    }

    /// The ridges as LineString features with elevations: `crest_m` the highest vertex,
    /// `low_m` the lowest, `length_m`.
    #[must_use]
    pub fn features(&self, lat: &Lattice, terrain: &Terrain, proj: &LocalProj) -> Vec<Feature> {
        self.lines
            .iter()
            .enumerate()
            .map(|(n, line)| {
                let coords: Vec<geo::Coord<f64>> = line
                    .iter()
                    .map(|&k| {
                        let (lon, lat_) = proj.to_lonlat(lat.nodes[k].0, lat.nodes[k].1);
                        geo::Coord {
                            x: round7(lon),
                            y: round7(lat_),
                        }
                    })
                    .collect();
                let zs: Vec<f64> = line
                    .iter()
                    .map(|&k| round2(terrain.elevation_m(lat.nodes[k].0, lat.nodes[k].1)))
                    .collect();
                let crest = zs.iter().copied().fold(f64::MIN, f64::max);
                let low = zs.iter().copied().fold(f64::MAX, f64::min);
                Feature {
                    id: format!("R{:03}", n + 1),
                    geometry: geo::Geometry::LineString(geo::LineString(coords)),
                    elevation_m: Some(zs),
                    properties: props(json!({
                        "crest_m": crest,
                        "low_m": low,
                        "length_m": (length_m(lat, line) * 10.0).round() / 10.0,
                    }))
                    .into(),
                }
            })
            .collect()
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn length_m(lat: &Lattice, path: &[usize]) -> f64 {
    path.windows(2)
        .map(|w| {
            let (a, b) = (lat.nodes[w[0]], lat.nodes[w[1]]);
            (b.0 - a.0).hypot(b.1 - a.1)
        })
        .sum()
}
