//! Second half of the model: micro-grids, buildings, compounds, walkways, facilities, water,
//! and the features of every layer.

use std::collections::{BTreeMap, BTreeSet};

use geo::{Coord, LineString, Polygon};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use crate::model::{Feature, LayerId, WalkwayKind};
use crate::store::write::round7;

use super::lattice::CellIx;
use super::partition::{self, NONE};
use super::places::{UNITS, taxonomy};
use super::terrain::{
    HUAXI_CENTRELINE, HUAXI_HALF_WIDTH_M, YANGTZE_CENTRELINE, YANGTZE_HALF_WIDTH_M,
};
use super::walkways;
use super::{
    AREA_TARGET_M2, COMPOUNDS_TOTAL, GenResult, MICROGRIDS_TOTAL, Model, ModelBuilder,
    OLD_COMPOUNDS, SEED, SERVICE_POINTS_TOTAL, props, rings_feature, share_60plus,
};

/// Placeholder phone: the 0000 exchange does not exist, and the note says so.
fn phone(n: usize) -> String {
    format!("023-0000-{:04}（示例号码）", n % 10_000)
}

struct Bldg {
    cell: CellIx,
    households: u64,
    residents: u64,
    residents_60plus: u64,
    children_0_6: u64,
    floors: u64,
}

impl ModelBuilder {
    pub(super) fn finish(mut self) -> GenResult<Model> {
        let mut rng = std::mem::replace(&mut self.rng, ChaCha8Rng::seed_from_u64(0));
        let compounds = self.compounds(&mut rng)?;
        let n = self.lat.cell_count();
        let lat = &self.lat;
        let proj = self.proj;

        // ---- micro-grids: 1,241 in all, shared out by block count and households.
        let total_cells: usize = self.grids.iter().map(|g| g.1.len()).sum();
        let total_hh: u64 = self.hh.iter().sum();
        let mut want: Vec<f64> = self
            .grids
            .iter()
            .map(|(_, cells)| {
                let h: u64 = cells.iter().map(|&c| self.hh[c]).sum();
                MICROGRIDS_TOTAL as f64
                    * (0.5 * cells.len() as f64 / total_cells as f64
                        + 0.5 * h as f64 / total_hh as f64)
            })
            .collect();
        let mut m_count: Vec<usize> = want
            .iter()
            .zip(&self.grids)
            .map(|(w, g)| (w.floor() as usize).clamp(1, g.1.len()))
            .collect();
        while m_count.iter().sum::<usize>() != MICROGRIDS_TOTAL {
            let more = m_count.iter().sum::<usize>() < MICROGRIDS_TOTAL;
            let pick = (0..m_count.len())
                .filter(|&g| {
                    if more {
                        m_count[g] < self.grids[g].1.len()
                    } else {
                        m_count[g] > 1
                    }
                })
                .max_by(|&a, &b| {
                    let da = want[a] - m_count[a] as f64;
                    let db = want[b] - m_count[b] as f64;
                    if more {
                        da.total_cmp(&db).then(b.cmp(&a))
                    } else {
                        db.total_cmp(&da).then(b.cmp(&a))
                    }
                })
                .ok_or("cannot place 1,241 micro-grids")?;
            if more {
                m_count[pick] += 1;
            } else {
                m_count[pick] -= 1;
            }
            want[pick] += 0.0;
        }
        let mut micro_of = vec![NONE; n];
        let mut micros: Vec<(usize, Vec<CellIx>)> = Vec::new(); // (grid index, cells)
        for (g, (_, cells)) in self.grids.iter().enumerate() {
            let w: Vec<f64> = self.hh.iter().map(|&h| h as f64 + 2.0).collect();
            let barrier =
                |a: CellIx, b: CellIx| super::unit_barrier(lat, &self.terrain, &self.ridges, a, b);
            let label = partition::split(lat, cells, &w, m_count[g], &barrier);
            let base = micros.len();
            for k in 0..m_count[g] {
                micros.push((
                    g,
                    cells
                        .iter()
                        .copied()
                        .filter(|&c| label[c] == k as u32)
                        .collect(),
                ));
            }
            for &c in cells {
                micro_of[c] = (base + label[c] as usize) as u32;
            }
        }
        if let Some((g, _)) = micros.iter().find(|m| m.1.is_empty()) {
            return Err(format!("a micro-grid of grid {g} is empty"));
        }
        // Every micro-grid is inhabited (a micro-grid is a few buildings' households): one
        // that fell on open space takes a few households from its grid's fullest block,
        // so the grid's total stays as calibrated.
        for (g, cells) in &micros {
            if cells.iter().any(|&c| self.hh[c] > 0) {
                continue;
            }
            let donor = self.grids[*g]
                .1
                .iter()
                .copied()
                .max_by(|&a, &b| self.hh[a].cmp(&self.hh[b]).then(b.cmp(&a)))
                .ok_or("a grid without blocks")?;
            let take = (self.hh[donor] / 3).clamp(1, 12);
            if self.hh[donor] <= take {
                return Err(format!("grid {g} has too few households to share"));
            }
            self.hh[donor] -= take;
            self.hh[cells[0]] += take;
        }

        // ---- walkways.
        let segments = walkways::lattice_walkways(
            lat,
            &self.terrain,
            &self.land,
            &micro_of,
            &self.grid_of,
            &self.hh,
            &mut rng,
        );
        let edge_set: BTreeSet<(usize, usize)> = segments
            .iter()
            .map(|s| (s.a.min(s.b), s.a.max(s.b)))
            .collect();
        let network_nodes: BTreeSet<usize> = segments.iter().flat_map(|s| [s.a, s.b]).collect();

        // ---- buildings. Households are pooled per micro-grid and compound (so every
        // micro-grid, grid and community keeps its calibrated total and stays inhabited) and
        // housed as Chongqing houses them (facts.md): towers of 100–400 households in the
        // newer compounds, old blocks of 5–7 storeys with 20–60 households, village houses.
        let mut compound_of = vec![usize::MAX; n];
        for (k, cp) in compounds.iter().enumerate() {
            for &c in &cp.cells {
                compound_of[c] = k;
            }
        }
        // A newer compound's households are pooled over its whole share of a grid, not per
        // micro-grid (about 65 households, too few for a tower): its towers hold 100–400
        // households each, as Chongqing builds them. Elsewhere pools are per micro-grid.
        let new_compound =
            |c: CellIx| compound_of[c] != usize::MAX && !compounds[compound_of[c]].old;
        let mut pools: BTreeMap<(bool, u32, usize), Vec<CellIx>> = BTreeMap::new();
        for &c in &self.land_cells {
            if self.hh[c] > 0 {
                let key = if new_compound(c) {
                    (true, self.grid_of[c], compound_of[c])
                } else {
                    (false, micro_of[c], compound_of[c])
                };
                pools.entry(key).or_default().push(c);
            }
        }
        // Buildings draw from a stream of their own, so the facilities and grids drawn
        // after them do not move when the housing model changes.
        let mut brng = ChaCha8Rng::seed_from_u64(SEED ^ 0xb1d6);
        let mut bldgs: Vec<Bldg> = Vec::new();
        for ((new_compound, _, cp), mut cells) in pools {
            let h: u64 = cells.iter().map(|&c| self.hh[c]).sum();
            // Fullest blocks first: the buildings stand where the households were; a
            // compound's towers go first to the fullest block of each of its micro-grids.
            cells.sort_by(|&a, &b| self.hh[b].cmp(&self.hh[a]).then(a.cmp(&b)));
            if new_compound {
                // A tower stands on a block that fronts a walkway (its entrance and the fire
                // engines' access), the fullest of those first.
                let fronts = |c: CellIx| {
                    let k = lat.corners(c);
                    (0..4).any(|t| {
                        let (a, b) = (k[t], k[(t + 1) % 4]);
                        edge_set.contains(&(a.min(b), a.max(b)))
                    })
                };
                cells.sort_by(|&a, &b| {
                    fronts(b)
                        .cmp(&fronts(a))
                        .then(self.hh[b].cmp(&self.hh[a]))
                        .then(a.cmp(&b))
                });
                let mut seen = BTreeSet::new();
                let (first, rest): (Vec<CellIx>, Vec<CellIx>) =
                    cells.iter().partition(|&&c| seen.insert(micro_of[c]));
                cells = first.into_iter().chain(rest).collect();
            }
            let village = UNITS[self.community[cells[0]] as usize].village;
            let (nb, floors_lo, floors_hi) = if village && cp == usize::MAX {
                (h.div_ceil(2), 2, 4)
            } else if new_compound && h >= 100 {
                (
                    ((h as f64 / 250.0).round() as u64)
                        .clamp(h.div_ceil(400), h / 100)
                        .max(1),
                    18,
                    34,
                )
            } else if new_compound && h >= 2 * SMALL_HIGHRISE_FLOORS.0 {
                // A small high-rise (小高层) where the compound's share is under a tower: two
                // to six households a floor, so its storeys follow from its households.
                let (lo, hi) = small_highrise_floors(h);
                (1, lo, hi)
            } else if h >= 20 {
                // Old walk-up blocks (and a newer compound's 洋房 of the same size): 6–8
                // storeys of 20–60 households, as old Chongqing builds them.
                (h.div_ceil(60).max((h as f64 / 40.0).round() as u64), 6, 8)
            } else {
                (1, 2, 4)
            };
            let nb = nb.clamp(1, h);
            for b in 0..nb {
                let share = h / nb + u64::from(b < h % nb);
                let c = cells[b as usize % cells.len()];
                // The block's centre for the 60+ share; the footprint is laid out below,
                // once every building of the block is known.
                let (x, y) = lat.point_in_cell(c, 0.5, 0.5);
                let residents = ((share as f64) * brng.random_range(2.35..2.9))
                    .round()
                    .max(share as f64) as u64;
                let s60 = share_60plus(&self.terrain, x, y, village) * brng.random_range(0.8..1.2);
                let residents_60plus = ((residents as f64) * s60).round() as u64;
                let children_0_6 =
                    ((residents as f64) * brng.random_range(0.03..0.065)).round() as u64;
                let floors = brng.random_range(floors_lo..=floors_hi);
                bldgs.push(Bldg {
                    cell: c,
                    households: share,
                    residents,
                    residents_60plus,
                    children_0_6,
                    floors,
                });
            }
        }

        // Every micro-grid stays inhabited: one whose households all went into a tower
        // standing in a neighbouring micro-grid gets a building of its own, its households
        // taken from the fullest tower of its grid (which keeps 100 or more).
        let mut housed = vec![false; micros.len()];
        for b in &bldgs {
            housed[micro_of[b.cell] as usize] = true;
        }
        for (m, (g, cells)) in micros.iter().enumerate() {
            if housed[m] {
                continue;
            }
            // On a block fronting a walkway if the micro-grid has one, the fullest first.
            let fronts = |c: CellIx| {
                let k = lat.corners(c);
                (0..4).any(|t| {
                    let (a, b) = (k[t], k[(t + 1) % 4]);
                    edge_set.contains(&(a.min(b), a.max(b)))
                })
            };
            let Some(&cell) = cells.iter().max_by(|&&a, &&b| {
                fronts(a)
                    .cmp(&fronts(b))
                    .then(self.hh[a].cmp(&self.hh[b]))
                    .then(b.cmp(&a))
            }) else {
                continue;
            };
            // What a building can spare: a tower keeps 100 households, a small high-rise two
            // a floor, a block 20, a house 1.
            let spare = |b: &Bldg| {
                let keep = match b.floors {
                    18.. => 100,
                    10..=17 => (2 * b.floors).max(20),
                    5..=9 => 20,
                    _ => 1,
                };
                b.households.saturating_sub(keep)
            };
            let want: u64 = brng.random_range(24..=48);
            let donor = (0..bldgs.len())
                .filter(|&i| self.grid_of[bldgs[i].cell] as usize == *g)
                .max_by(|&a, &b| spare(&bldgs[a]).cmp(&spare(&bldgs[b])).then(b.cmp(&a)))
                .filter(|&i| spare(&bldgs[i]) >= 4)
                .ok_or_else(|| {
                    format!("micro-grid {m} has no households and its grid none to spare")
                })?;
            let take = want.min(spare(&bldgs[donor]));
            let d = &mut bldgs[donor];
            let part = |v: u64| v * take / d.households;
            let moved = [
                part(d.residents).max(take),
                part(d.residents_60plus),
                part(d.children_0_6),
            ];
            d.households -= take;
            d.residents -= moved[0];
            d.residents_60plus = d.residents_60plus.saturating_sub(moved[1]).min(d.residents);
            d.children_0_6 = d.children_0_6.saturating_sub(moved[2]);
            // 24–48 households (fewer where the grid has little to spare): a walk-up block of
            // 6–8 storeys (in a newer compound a 洋房 of that height) or a low house, never a
            // high-rise of one household a floor.
            let floors = if take >= 20 {
                brng.random_range(6..=8)
            } else {
                brng.random_range(2..=4)
            };
            bldgs.push(Bldg {
                cell,
                households: take,
                residents: moved[0],
                residents_60plus: moved[1].min(moved[0]),
                children_0_6: moved[2],
                floors,
            });
            housed[m] = true;
        }

        // ---- natural outlines: where a unit's edge steps round a block's corner, the block
        // is cut along its diagonal and the corner goes to the neighbour, so the edge runs
        // straight across instead of in a saw-tooth.
        let mut crowded = vec![0usize; n];
        for b in &bldgs {
            crowded[b.cell] += 1;
        }
        let crowded: Vec<bool> = crowded.iter().map(|&k| k > MAX_BUILDINGS_IN_CUT).collect();
        let mut cuts = self.cuts(&micro_of, &compound_of, &segments, &crowded);
        // Two cuts meeting at a vertex may still pinch a unit there: such cuts are taken
        // back until every unit is one simple piece.
        loop {
            let cut_cells: Vec<CellIx> = (0..n).filter(|&c| cuts[c].is_some()).collect();
            let mut undo: BTreeSet<CellIx> = BTreeSet::new();
            // `compound`: the area is a compound, whose own cuts (see `cuts`) are taken back
            // first, so a compound's corner never costs a unit's outline its cut.
            let mut check = |cells: &[CellIx], gains: &dyn Fn(&Cut) -> bool, compound: bool| {
                let rings = rings_with(lat, &cuts, &cut_cells, cells, gains);
                let exteriors = rings.iter().filter(|r| lat.ring_area_m2(r) > 0.0).count();
                if exteriors != 1 {
                    let involved: Vec<CellIx> = cells
                        .iter()
                        .copied()
                        .filter(|&c| cuts[c].is_some())
                        .chain(
                            cut_cells
                                .iter()
                                .copied()
                                .filter(|&c| cuts[c].is_some_and(|x| gains(&x))),
                        )
                        .collect();
                    let own: Vec<CellIx> = involved
                        .iter()
                        .copied()
                        .filter(|&c| cuts[c].is_some_and(|x| x.micro == micro_of[c]))
                        .collect();
                    if compound && !own.is_empty() {
                        undo.extend(own);
                    } else {
                        undo.extend(involved);
                    }
                }
            };
            for (m, (_, cells)) in micros.iter().enumerate() {
                check(cells, &|x| x.micro == m as u32, false);
            }
            for (g, (_, cells)) in self.grids.iter().enumerate() {
                check(
                    cells,
                    &|x| x.micro != NONE && micros[x.micro as usize].0 == g,
                    false,
                );
            }
            for u in 0..UNITS.len() {
                let cells = self.community_cells(u);
                check(
                    &cells,
                    &|x| x.micro != NONE && self.grids[micros[x.micro as usize].0].0 == u,
                    false,
                );
            }
            for (k, cp) in compounds.iter().enumerate() {
                check(&cp.cells, &|x| x.compound == k, true);
            }
            check(&self.land_cells, &|x| x.micro != NONE, false);
            if undo.is_empty() {
                break;
            }
            for c in undo {
                cuts[c] = None;
            }
        }
        let cut_cells: Vec<CellIx> = (0..n).filter(|&c| cuts[c].is_some()).collect();

        // ---- paths along the cuts: where a unit's outline runs across a block, a footway
        // (or stairs) runs along it, as lanes run along the units' other edges (on the
        // default data 68% of community outlines lay along a walkway or water, 92% with
        // these paths); a corner given out of the subdistrict gives up the lanes round it
        // (`cuts` lets it only where they lead nowhere else), which the path replaces. A
        // path that would meet the network at one end only is built along a grid's or the
        // subdistrict's edge alone: between two micro-grids it would be one more dead end
        // (with them all, 19.8% of nodes were dead ends, the most issue 13 allows is 20%).
        let mut segments = segments;
        let mut paths = Vec::new();
        for &c in &cut_cells {
            // A compound's own cut moves no unit's outline.
            let Some(x) = cuts[c].filter(|x| x.micro != micro_of[c]) else {
                continue;
            };
            let between_grids = x.micro == NONE
                || micro_of[c] == NONE
                || micros[x.micro as usize].0 != micros[micro_of[c] as usize].0;
            let k = lat.corners(c);
            let (p, q, r) = (k[(x.corner + 3) % 4], k[x.corner], k[(x.corner + 1) % 4]);
            let mut street = false;
            if x.micro == NONE {
                segments.retain(|s| {
                    let e = (s.a.min(s.b), s.a.max(s.b));
                    let side = e == (p.min(q), p.max(q)) || e == (q.min(r), q.max(r));
                    street |= side && s.kind == WalkwayKind::Street;
                    !side
                });
            }
            paths.extend(
                walkways::cut_path(lat, &self.terrain, p, r, street).map(|s| (s, between_grids)),
            );
        }
        let mut on_network = vec![false; lat.nodes.len()];
        for s in &segments {
            on_network[s.a] = true;
            on_network[s.b] = true;
        }
        segments.extend(
            paths
                .into_iter()
                .filter(|(s, between_grids)| {
                    (on_network[s.a] && on_network[s.b])
                        || (*between_grids && (on_network[s.a] || on_network[s.b]))
                })
                .map(|(s, _)| s),
        );
        let edge_set: BTreeSet<(usize, usize)> = segments
            .iter()
            .map(|s| (s.a.min(s.b), s.a.max(s.b)))
            .collect();
        let rings_of = |cells: &[CellIx], gains: &dyn Fn(&Cut) -> bool| -> Vec<Vec<usize>> {
            rings_with(lat, &cuts, &cut_cells, cells, gains)
        };

        let bridge = self.bridge_ends(&network_nodes);
        let footprints = self.footprints(&bldgs, &edge_set, &cuts, bridge);

        // ---- features.
        let mut layers: BTreeMap<LayerId, Vec<Feature>> = BTreeMap::new();
        let mut grid_sums: Vec<[u64; 4]> = vec![[0; 4]; self.grids.len()];
        let mut micro_sums: Vec<[u64; 4]> = vec![[0; 4]; micros.len()];
        let mut unit_sums: Vec<[u64; 4]> = vec![[0; 4]; UNITS.len()];
        let mut total = [0u64; 4];
        let mut buildings = Vec::with_capacity(bldgs.len());
        for (k, b) in bldgs.iter().enumerate() {
            let (u, g, m) = (
                self.community[b.cell] as usize,
                self.grid_of[b.cell] as usize,
                micro_of[b.cell] as usize,
            );
            let v = [
                b.households,
                b.residents,
                b.residents_60plus,
                b.children_0_6,
            ];
            for i in 0..4 {
                grid_sums[g][i] += v[i];
                micro_sums[m][i] += v[i];
                unit_sums[u][i] += v[i];
                total[i] += v[i];
            }
            let mut p = props(json!({
                "households": b.households,
                "residents": b.residents,
                "residents_60plus": b.residents_60plus,
                "children_0_6": b.children_0_6,
                "floors": b.floors,
                "height_m": height_m(b.floors),
                "microgrid": micro_id(&self.grids, &micros, m),
                "grid": grid_id(&self.grids, g),
                "community": UNITS[u].code,
            }));
            if compound_of[b.cell] != usize::MAX {
                p.insert(
                    "compound".into(),
                    json!(format!("CP{:03}", compound_of[b.cell] + 1)),
                );
            }
            buildings.push(footprint_feature(
                &proj,
                format!("B{:05}", k + 1),
                &footprints[k],
                p,
            ));
        }
        if total[1] < 200_000 {
            return Err(format!(
                "only {} residents; the published figure is 200,000+",
                total[1]
            ));
        }

        let boundary_rings = rings_of(&self.land_cells, &|x| x.micro != NONE);
        // Holes are clockwise: the signed sum is the area.
        let area_m2: f64 = boundary_rings.iter().map(|r| lat.ring_area_m2(r)).sum();
        let boundary = rings_feature(
            lat,
            &proj,
            "500113006".into(),
            &boundary_rings,
            props(json!({
                "name": "李家沱街道",
                "name_en": "Lijiatuo Subdistrict",
                "code": "500113006",
                "district": "巴南区",
                "office_address": "李家沱街道办事处（模拟位置）",
                "contact": phone(1),
                "households": total[0],
                "residents": total[1],
                "modelled": true,
            })),
        )?;
        layers.insert(LayerId::Boundary, vec![boundary]);

        let mut communities = Vec::new();
        for (u, unit) in UNITS.iter().enumerate() {
            let cells = self.community_cells(u);
            let grids = &self.grids;
            communities.push(rings_feature(
                lat,
                &proj,
                unit.code.into(),
                &rings_of(&cells, &|x| {
                    x.micro != NONE && grids[micros[x.micro as usize].0].0 == u
                }),
                props(json!({
                    "name": unit.name,
                    "code": unit.code,
                    "kind": if unit.village { "village" } else { "community" },
                    "grids": unit.grids,
                    "households": unit_sums[u][0],
                    "residents": unit_sums[u][1],
                    "residents_60plus": unit_sums[u][2],
                    "children_0_6": unit_sums[u][3],
                    "office_address": format!("{}党群服务中心（模拟位置）", unit.name),
                    "contact": phone(100 + u),
                    "secretary": format!("书记（示例）{}", unit.code),
                })),
            )?);
        }
        layers.insert(LayerId::Communities, communities);

        let mut grids_out = Vec::new();
        let mut volunteers_total = 0u64;
        for (g, (u, cells)) in self.grids.iter().enumerate() {
            let volunteers: u64 = rng.random_range(9..=17);
            volunteers_total += volunteers;
            let k = g - self.grids.iter().position(|x| x.0 == *u).unwrap_or(0) + 1;
            grids_out.push(rings_feature(
                lat,
                &proj,
                grid_id(&self.grids, g),
                &rings_of(cells, &|x| {
                    x.micro != NONE && micros[x.micro as usize].0 == g
                }),
                props(json!({
                    "name": format!("{}第{}网格", UNITS[*u].name, k),
                    "community": UNITS[*u].code,
                    "households": grid_sums[g][0],
                    "residents": grid_sums[g][1],
                    "residents_60plus": grid_sums[g][2],
                    "children_0_6": grid_sums[g][3],
                    "grid_worker": format!("专职网格员（示例）{}", grid_id(&self.grids, g)),
                    "grid_worker_phone": phone(1000 + g),
                    "part_time_workers": 3,
                    "volunteers": volunteers,
                })),
            )?);
        }
        layers.insert(LayerId::Grids, grids_out);

        let mut micro_out = Vec::new();
        for (m, (g, cells)) in micros.iter().enumerate() {
            let id = micro_id(&self.grids, &micros, m);
            micro_out.push(rings_feature(
                lat,
                &proj,
                id.clone(),
                &rings_of(cells, &|x| x.micro == m as u32),
                props(json!({
                    "name": format!("微网格{}", &id[id.len() - 3..]),
                    "grid": grid_id(&self.grids, *g),
                    "community": UNITS[self.grids[*g].0].code,
                    "households": micro_sums[m][0],
                    "residents": micro_sums[m][1],
                    "residents_60plus": micro_sums[m][2],
                    "children_0_6": micro_sums[m][3],
                    "leader": format!("楼栋长（示例）{id}"),
                })),
            )?);
        }
        layers.insert(LayerId::Microgrids, micro_out);

        let mut compounds_out = Vec::new();
        for (k, cp) in compounds.iter().enumerate() {
            let hh_sum: u64 = bldgs
                .iter()
                .filter(|b| compound_of[b.cell] == k)
                .map(|b| b.households)
                .sum();
            compounds_out.push(rings_feature(
                lat,
                &proj,
                format!("CP{:03}", k + 1),
                &rings_of(&cp.cells, &|x| x.compound == k),
                props(json!({
                    "name": cp.name,
                    "community": UNITS[cp.unit].code,
                    "old": cp.old,
                    "open": cp.old,
                    "property_company": cp.company,
                    "property_party_branch": cp.party_branch,
                    "households": hh_sum,
                })),
            )?);
            // The grid, where the compound lies in one (larger compounds span grids).
            let g0 = self.grid_of[cp.cells[0]];
            if cp.cells.iter().all(|&c| self.grid_of[c] == g0)
                && let Some(f) = compounds_out.last_mut()
            {
                f.properties
                    .insert("grid", json!(grid_id(&self.grids, g0 as usize)).into());
            }
        }
        layers.insert(LayerId::Compounds, compounds_out);
        layers.insert(LayerId::Buildings, buildings);

        // ---- walkway features.
        let mut walk_out = Vec::new();
        for (k, chain) in walkways::chains(&segments).iter().enumerate() {
            walk_out.push(self.chain_feature(k, chain));
        }
        walk_out.push(self.yangtze_bridge(&network_nodes, walk_out.len()));
        layers.insert(LayerId::Walkways, walk_out);

        // ---- facilities.
        let street_set: BTreeSet<(usize, usize)> = segments
            .iter()
            .filter(|s| s.kind == WalkwayKind::Street)
            .map(|s| (s.a.min(s.b), s.a.max(s.b)))
            .collect();
        // A compound's edge blocks: where its gates open (a block of the compound with a
        // neighbour outside it).
        let gate: Vec<bool> = (0..n)
            .map(|c| {
                compound_of[c] != usize::MAX
                    && self
                        .lat
                        .neighbours(c)
                        .any(|nb| compound_of[nb] != compound_of[c])
            })
            .collect();
        // Facilities carry no compound: a block cut for a compound's outline alone offers
        // them all its sides, as it did before compounds had cuts of their own.
        let unit_cuts: Vec<Option<Cut>> = (0..n)
            .map(|c| cuts[c].filter(|x| x.micro != micro_of[c]))
            .collect();
        let facilities = self.facilities(&mut rng, &edge_set, &street_set, &gate, &unit_cuts)?;
        layers.insert(LayerId::Facilities, facilities);

        // ---- water.
        layers.insert(LayerId::Water, self.water());

        let count = |l: LayerId| layers.get(&l).map_or(0, Vec::len);
        let expected: BTreeMap<&str, usize> = LayerId::ALL
            .iter()
            .map(|&l| (l.as_str(), count(l)))
            .collect();
        let manifest = json!({
            "name": "李家沱街道 (Lijiatuo Subdistrict, Banan, Chongqing) — modelled dataset",
            "modelled": true,
            "note": "A model calibrated to published figures. Names, NBS codes and figures are facts \
                     (see geodata/README.md for sources); positions of boundaries, grids, buildings and \
                     facilities are modelled. Names of people and phone numbers are placeholders.",
            "seed": SEED,
            "generator": crate::store::manifest::GENERATOR_MODEL,
            "expected_counts": expected,
            "grid_households": [300, 500],
            "walkway_elevations_required": true,
            "figures": {
                "area_km2": (area_m2 / 1e4).round() / 100.0,
                "households": total[0],
                "residents": total[1],
                "residents_60plus": total[2],
                "children_0_6": total[3],
                "grid_volunteers": volunteers_total,
                "old_compounds": OLD_COMPOUNDS,
                "party_mass_service_points": SERVICE_POINTS_TOTAL,
            }
        });
        let ridges = self.ridges.features(&self.lat, &self.terrain, &self.proj);
        Ok(Model {
            layers,
            taxonomy: taxonomy(),
            manifest,
            ridges,
        })
    }

    /// Choose the 90 compounds: the named ones of the article first, then the densest blocks.
    fn compounds(&self, rng: &mut ChaCha8Rng) -> GenResult<Vec<Compound>> {
        let n = self.lat.cell_count();
        let mut taken = vec![false; n];
        let mut out: Vec<Compound> = Vec::new();
        let unit_ix = |code: &str| UNITS.iter().position(|u| u.code == code);
        let named: [NamedCompound; 4] = [
            (
                "融汇江山",
                Some("500113006014"),
                (106.515, 29.464),
                false,
                "融汇物业",
            ),
            (
                "香缇缙山",
                Some("500113006013"),
                (106.514, 29.476),
                false,
                "江岸物业（模拟）",
            ),
            (
                "合建新村（老旧开放式小区）",
                Some("500113006006"),
                (106.531, 29.4655),
                true,
                "社区托管（无专业物业）",
            ),
            (
                "群乐佳苑",
                Some("500113006201"),
                (106.546, 29.471),
                false,
                "渝南物业（模拟）",
            ),
        ];
        // Compounds per unit: one for each village that has one named (群乐佳苑), the rest
        // shared by the communities' grids (largest remainder), at least one each; each grows
        // to its share of about 3/4 of its community's households, so compounds hold most of
        // them (facts.md: gated compounds are how Chongqing lives).
        let mut count = vec![0usize; UNITS.len()];
        for (_, code, ..) in &named {
            if let Some(u) = code.and_then(unit_ix) {
                count[u] += usize::from(UNITS[u].village);
            }
        }
        let town: Vec<usize> = (0..UNITS.len()).filter(|&u| !UNITS[u].village).collect();
        let spare = COMPOUNDS_TOTAL - count.iter().sum::<usize>();
        let town_grids: usize = town.iter().map(|&u| UNITS[u].grids).sum();
        let ideal = |u: usize| spare as f64 * UNITS[u].grids as f64 / town_grids as f64;
        for &u in &town {
            count[u] = (ideal(u).floor() as usize).max(1);
        }
        let mut by_rest = town.clone();
        by_rest.sort_by(|&a, &b| {
            (ideal(b) - ideal(b).floor())
                .total_cmp(&(ideal(a) - ideal(a).floor()))
                .then(a.cmp(&b))
        });
        for &u in by_rest.iter().cycle() {
            if count.iter().sum::<usize>() >= COMPOUNDS_TOTAL {
                break;
            }
            count[u] += 1;
        }
        let mut unit_hh = vec![0u64; UNITS.len()];
        for &c in &self.land_cells {
            unit_hh[self.community[c] as usize] += self.hh[c];
        }
        let quota: Vec<u64> = (0..UNITS.len())
            .map(|u| {
                let share = if UNITS[u].village { 0.3 } else { 0.78 };
                (share * unit_hh[u] as f64 / count[u].max(1) as f64) as u64
            })
            .collect();
        for (name, code, (lon, la), old, company) in named {
            let (x, y) = self.proj.to_xy(lon, la);
            let want_unit = code.and_then(unit_ix);
            let seed = self
                .land_cells
                .iter()
                .copied()
                // The block at the named point itself (facts.md), inhabited or not: the
                // compound must stand where the place is.
                .filter(|&c| want_unit.is_none_or(|u| self.community[c] as usize == u))
                .min_by(|&a, &b| {
                    let pa = self.lat.centre(a);
                    let pb = self.lat.centre(b);
                    (pa.0 - x)
                        .hypot(pa.1 - y)
                        .total_cmp(&(pb.0 - x).hypot(pb.1 - y))
                        .then(a.cmp(&b))
                })
                .ok_or_else(|| format!("no block for compound {name}"))?;
            let unit = self.community[seed] as usize;
            let cells = self.grow_compound(seed, quota[unit], &mut taken);
            // The draw that once sized a compound: kept so the walkways drawn after the
            // compounds stay as they were.
            let _: usize = rng.random_range(2..=5);
            out.push(Compound {
                name: name.to_string(),
                unit: self.community[seed] as usize,
                old,
                company: company.to_string(),
                party_branch: company == "融汇物业"
                    || company.starts_with("江岸")
                    || company.starts_with("渝南"),
                cells,
            });
        }
        const SUFFIX: [&str; 8] = ["花园", "苑", "小区", "家园", "新村", "雅居", "嘉园", "名都"];
        const COMPANIES: [&str; 6] = [
            "融汇物业",
            "江岸物业（模拟）",
            "渝南物业（模拟）",
            "锦程物业（模拟）",
            "山城物业（模拟）",
            "嘉和物业（模拟）",
        ];
        let mut used_names: BTreeSet<String> = out.iter().map(|c| c.name.clone()).collect();
        let mut placed = vec![0usize; UNITS.len()];
        for cp in &out {
            placed[cp.unit] += 1;
        }
        let mut plan: Vec<usize> = Vec::new();
        for (u, &k) in count.iter().enumerate() {
            plan.extend(std::iter::repeat_n(u, k.saturating_sub(placed[u])));
        }
        for unit in plan {
            // Seed: the fullest free block of the community clear of other compounds.
            let seed = self
                .land_cells
                .iter()
                .copied()
                .filter(|&c| self.community[c] as usize == unit && self.hh[c] > 0 && !taken[c])
                .max_by(|&a, &b| {
                    let free = |c: CellIx| self.lat.neighbours(c).all(|nb| !taken[nb]);
                    free(a)
                        .cmp(&free(b))
                        .then(self.hh[a].cmp(&self.hh[b]))
                        .then(b.cmp(&a))
                })
                .ok_or_else(|| format!("no free block for a compound of {}", UNITS[unit].name))?;
            let cells = self.grow_compound(seed, quota[unit], &mut taken);
            let short = UNITS[unit]
                .name
                .trim_end_matches("社区")
                .trim_end_matches('村');
            let mut k = 0;
            let name = loop {
                let base = format!("{short}{}", SUFFIX[(out.len() + k) % SUFFIX.len()]);
                let cand = if k < SUFFIX.len() {
                    base
                } else {
                    format!("{base}{}期", k / SUFFIX.len() + 1)
                };
                if used_names.insert(cand.clone()) {
                    break cand;
                }
                k += 1;
            };
            let company = COMPANIES[rng.random_range(0..COMPANIES.len())];
            out.push(Compound {
                name,
                unit,
                old: false,
                company: company.to_string(),
                party_branch: COMPANIES[..5].contains(&company),
                cells,
            });
        }
        if out.len() != COMPOUNDS_TOTAL {
            return Err(format!(
                "placed {} compounds, need {COMPOUNDS_TOTAL}",
                out.len()
            ));
        }
        // The 33 old compounds (老旧小区) are the ones nearest the old centre (合建新村 is one).
        let (ox, oy) = self.proj.to_xy(106.531, 29.469);
        let mut by_age: Vec<usize> = (4..out.len()).collect();
        by_age.sort_by(|&a, &b| {
            let pa = self.lat.centre(out[a].cells[0]);
            let pb = self.lat.centre(out[b].cells[0]);
            (pa.0 - ox)
                .hypot(pa.1 - oy)
                .total_cmp(&(pb.0 - ox).hypot(pb.1 - oy))
                .then(a.cmp(&b))
        });
        let already = out.iter().filter(|c| c.old).count();
        for &k in by_age.iter().take(OLD_COMPOUNDS - already) {
            out[k].old = true;
            out[k].company = if UNITS[out[k].unit].name == "光明社区" {
                "光明社区红色物业（模拟）".into()
            } else {
                "社区托管（无专业物业）".into()
            };
            out[k].party_branch = false;
        }
        Ok(out)
    }

    /// The footprint of every building, in metres (a quadrilateral).
    ///
    /// A block's buildings share it in a grid of slots inside a street margin; each footprint
    /// is the lattice's bilinear image of a rectangle of its slot, so its sides are straight,
    /// it follows the block's skew (buildings line up with their streets), footprints of one
    /// block never meet (disjoint slots) and those of two blocks never meet (blocks tile),
    /// and a building of a compound stands inside it (a compound is a union of blocks).
    /// Slots whose centre is in a creek are used last; a block crossed by a diagonal
    /// footpath keeps its buildings to the slots the path leaves free.
    fn footprints(
        &self,
        bldgs: &[Bldg],
        edge_set: &BTreeSet<(usize, usize)>,
        cuts: &[Option<Cut>],
        bridge: ((f64, f64), (f64, f64)),
    ) -> Vec<[(f64, f64); 4]> {
        // A stream of its own, so the layout does not move the households drawn before it.
        let mut frng = ChaCha8Rng::seed_from_u64(SEED ^ 0xf007);
        let lat = &self.lat;
        let mut by_cell: BTreeMap<CellIx, Vec<usize>> = BTreeMap::new();
        for (i, b) in bldgs.iter().enumerate() {
            by_cell.entry(b.cell).or_default().push(i);
        }
        let mut out = vec![[(0.0, 0.0); 4]; bldgs.len()];
        // Street margin: a fifth of the block's half-width keeps walls off the centrelines.
        const MARGIN: f64 = 0.1;
        for (c, ids) in by_cell {
            let k = lat.corners(c);
            let node = |n: usize| lat.nodes[k[n]];
            let dist = |p: (f64, f64), q: (f64, f64)| (p.0 - q.0).hypot(p.1 - q.1);
            // Side lengths of the block along u and along v, metres.
            let su = 0.5 * (dist(node(0), node(1)) + dist(node(3), node(2)));
            let sv = 0.5 * (dist(node(0), node(3)) + dist(node(1), node(2)));
            let has = |a: usize, b: usize| edge_set.contains(&(k[a].min(k[b]), k[a].max(k[b])));
            // A block cut for a unit's outline (see `cuts`) keeps its buildings on its own
            // side of the cut: the triangle at the given-away corner holds none.
            let keep_side = cuts[c].map(|x| {
                if x.corner == 0 || x.corner == 3 {
                    std::cmp::Ordering::Greater
                } else {
                    std::cmp::Ordering::Less
                }
            });
            let diagonal = if let Some(x) = cuts[c] {
                Some(x.corner % 2 == 0)
            } else if has(0, 2) {
                Some(false)
            } else if has(1, 3) {
                Some(true)
            } else {
                None
            };
            let build_slots = |extra: usize| -> Vec<Slot> {
                let mut slots: Vec<Slot> = Vec::new();
                if let Some(anti) = diagonal {
                    // The path (or the cut) runs u = v (corners 0–2) or u + v = 1 (corners
                    // 1–3) through the corners of a g × g grid of slots: the slots it does not
                    // cross take the buildings, each footprint kept to its slot's corner away
                    // from the path.
                    let off = |g: usize| {
                        if keep_side.is_some() {
                            (g * g - g) / 2
                        } else {
                            g * g - g
                        }
                    };
                    let g = (2..=ids.len() + 1)
                        .find(|&g| off(g) >= ids.len())
                        .unwrap_or(2)
                        + extra;
                    let w = (1.0 - 2.0 * MARGIN) / g as f64;
                    for r in 0..g {
                        for q in 0..g {
                            let side = if anti {
                                (q + r).cmp(&(g - 1))
                            } else {
                                q.cmp(&r)
                            };
                            if keep_side.is_some_and(|k| k != side) {
                                continue;
                            }
                            let corner = match (anti, side) {
                                (_, std::cmp::Ordering::Equal) => continue,
                                (false, std::cmp::Ordering::Greater) => (true, false),
                                (false, std::cmp::Ordering::Less) => (false, true),
                                (true, std::cmp::Ordering::Less) => (false, false),
                                (true, std::cmp::Ordering::Greater) => (true, true),
                            };
                            slots.push((
                                MARGIN + q as f64 * w,
                                MARGIN + r as f64 * w,
                                w,
                                w,
                                Some(corner),
                            ));
                        }
                    }
                } else {
                    let cols = (ids.len() as f64).sqrt().ceil() as usize;
                    let rows = ids.len().div_ceil(cols) + extra;
                    let cols = cols + extra;
                    let (w, h) = (
                        (1.0 - 2.0 * MARGIN) / cols as f64,
                        (1.0 - 2.0 * MARGIN) / rows as f64,
                    );
                    for r in 0..rows {
                        for q in 0..cols {
                            slots.push((MARGIN + q as f64 * w, MARGIN + r as f64 * h, w, h, None));
                        }
                    }
                    // Stable: dry slots first, in row order.
                    slots.sort_by_key(|&(u0, v0, w, h, _)| {
                        let (x, y) = lat.point_in_cell(c, u0 + 0.5 * w, v0 + 0.5 * h);
                        self.terrain.in_creek(x, y, 8.0)
                    });
                }
                slots
            };
            // No footprint under the bridge's ramp: slots it passes over (within 3 m) are
            // left empty, the block divided finer until the rest hold its buildings.
            let clear = |&(u0, v0, w, h, _): &Slot| {
                let quad = [(u0, v0), (u0 + w, v0), (u0 + w, v0 + h), (u0, v0 + h)]
                    .map(|(u, v)| lat.point_in_cell(c, u, v));
                !segment_near_quad(bridge, &quad, 3.0)
            };
            let mut slots = build_slots(0);
            for extra in 1..=6 {
                if slots.iter().all(clear) {
                    break;
                }
                let mut finer = build_slots(extra);
                finer.retain(clear);
                if finer.len() >= ids.len() {
                    slots = finer;
                    break;
                }
            }
            for (n, &i) in ids.iter().enumerate() {
                let (u0, v0, w, h, corner) = slots[n];
                let (mut fu, mut fv) = footprint_m(bldgs[i].floors);
                // A slab lies along the longer side of its slot.
                if (fu > fv) != (w * su >= h * sv) {
                    std::mem::swap(&mut fu, &mut fv);
                }
                // At most 82% of the slot each way: a gap of at least 9% of a slot between
                // neighbours.
                let (du, dv) = ((fu / su).min(0.82 * w), (fv / sv).min(0.82 * h));
                let (ou, ov): (f64, f64) = (frng.random(), frng.random());
                let (ou, ov) = match corner {
                    // Away from the diagonal path, which passes through the slot's inner corner.
                    Some((hi_u, hi_v)) => (
                        if hi_u { 1.0 - 0.15 * ou } else { 0.15 * ou },
                        if hi_v { 1.0 - 0.15 * ov } else { 0.15 * ov },
                    ),
                    None => (ou, ov),
                };
                let (a0, b0) = (u0 + (w - du) * ou, v0 + (h - dv) * ov);
                let quad = [(a0, b0), (a0 + du, b0), (a0 + du, b0 + dv), (a0, b0 + dv)]
                    .map(|(u, v)| lat.point_in_cell(c, u, v));
                out[i] = quad;
            }
        }
        out
    }

    /// The blocks to cut along a diagonal so units' outlines do not step round block
    /// corners. A block's corner goes to the micro-grid (and with it the grid and
    /// community) that holds both blocks beside that corner and the one beyond it: there
    /// the outline stepped round the corner, and now runs across the block. The block keeps
    /// a side on its own micro-grid (so that stays in one piece), its buildings (laid out
    /// on its side of the cut) and its facilities; it has no diagonal footpath and few buildings (`crowded`), holds no
    /// named place in the corner, and no neighbour of a cut block is cut (two cuts meeting
    /// at a corner would pinch a unit there). The subdistrict's edge is cut first, then
    /// community edges, grid edges, and those between micro-grids. A compound follows the cut where both blocks
    /// beside the corner are in it, and must not be split from one of them.
    fn cuts(
        &self,
        micro_of: &[u32],
        compound_of: &[usize],
        segments: &[walkways::Segment],
        crowded: &[bool],
    ) -> Vec<Option<Cut>> {
        let lat = &self.lat;
        let land = &self.land;
        let edge_set: BTreeSet<(usize, usize)> = segments
            .iter()
            .map(|s| (s.a.min(s.b), s.a.max(s.b)))
            .collect();
        let named: BTreeSet<(usize, usize)> = segments
            .iter()
            .filter(|s| s.name.is_some())
            .map(|s| (s.a.min(s.b), s.a.max(s.b)))
            .collect();
        let mut degree = vec![0usize; lat.nodes.len()];
        for s in segments {
            degree[s.a] += 1;
            degree[s.b] += 1;
        }
        let places: Vec<(f64, f64)> = super::places::NAMED_PLACES
            .iter()
            .map(|p| self.proj.to_xy(p.lon, p.lat))
            .collect();
        let mut cands: Vec<(u8, CellIx, usize, u32)> = Vec::new();
        for c in 0..lat.cell_count() {
            let k = lat.corners(c);
            let path = |a: usize, b: usize| edge_set.contains(&(k[a].min(k[b]), k[a].max(k[b])));
            if path(0, 2) || path(1, 3) || crowded[c] {
                continue;
            }
            for t in 0..4 {
                let (Some(a), Some(b), Some(d)) = (
                    lat.across(c, (t + 3) % 4),
                    lat.across(c, t),
                    lat.beyond_corner(c, t),
                ) else {
                    continue;
                };
                // Outside the land every block is micro-grid NONE: the same rule cuts the
                // subdistrict's own edge, a corner of land given to the outside or a corner
                // of an outside block taken in.
                let (to, mb) = (micro_of[a], micro_of[b]);
                if to == micro_of[c] || mb == micro_of[c] {
                    continue;
                }
                // Both blocks beside the corner in one micro-grid, or at least in one
                // community (micro-grids are small: along a community's edge the blocks
                // beside a corner are often two of the neighbour's micro-grids); the
                // block beyond the corner may be any. A corner taken into the subdistrict
                // may lie where two communities meet its edge (it goes to the first).
                let one_unit = to == mb
                    || (to != NONE
                        && mb != NONE
                        && (self.community[a] == self.community[b] || !land[c]));
                if !one_unit {
                    continue;
                }
                // No unit may come to touch itself at a corner of the block (a pinched
                // outline is not a simple polygon): around each corner the pieces of every
                // micro-grid, grid, community and compound stay in one run.
                let k_tri = if compound_of[a] == compound_of[b] {
                    compound_of[a]
                } else {
                    usize::MAX
                };
                let levels: [&dyn Fn(CellIx) -> u64; 4] = [
                    &|x| u64::from(micro_of[x]),
                    &|x| u64::from(self.grid_of[x]),
                    &|x| u64::from(self.community[x]),
                    &|x| compound_of[x] as u64,
                ];
                let ring = |cells: &[Option<CellIx>]| cells.iter().all(Option::is_some);
                let (e, f, g, h) = (
                    lat.beyond_corner(c, t + 1),
                    lat.across(c, t + 1),
                    lat.beyond_corner(c, t + 3),
                    lat.across(c, t + 2),
                );
                if !ring(&[e, f, g, h]) {
                    continue;
                }
                let (e, f, g, h) = (
                    e.unwrap_or(c),
                    f.unwrap_or(c),
                    g.unwrap_or(c),
                    h.unwrap_or(c),
                );
                let pinches = levels.iter().enumerate().any(|(lv, l)| {
                    let tri = if lv == 3 { k_tri as u64 } else { l(a) };
                    let lc = l(c);
                    // Cyclic orders of the pieces round the cut corner and round the two
                    // ends of the cut, before and after.
                    new_pinch(&[lc, l(a), l(d), l(b)], &[tri, l(a), l(d), l(b)])
                        || new_pinch(&[lc, l(b), l(e), l(f)], &[lc, tri, l(b), l(e), l(f)])
                        || new_pinch(&[lc, l(h), l(g), l(a)], &[lc, l(h), l(g), l(a), tri])
                });
                if pinches {
                    continue;
                }
                // A corner given to the outside takes no walkway out with it but the lanes
                // round the corner itself, which a path along the cut replaces (a street
                // cuts the corner, unless it is a named one): the corner's node then meets
                // no other walkway.
                let side = |t: usize| path(t % 4, (t + 1) % 4);
                if to == NONE && (side(t) || side(t + 3)) {
                    let (p, q, r) = (k[(t + 3) % 4], k[t], k[(t + 1) % 4]);
                    let lanes = [(p.min(q), p.max(q)), (q.min(r), q.max(r))];
                    let only_lanes = degree[q]
                        == lanes.iter().filter(|e| edge_set.contains(e)).count()
                        && lanes.iter().all(|e| !named.contains(e));
                    if !only_lanes || walkways::cut_path(lat, &self.terrain, p, r, false).is_none()
                    {
                        continue;
                    }
                }
                let keeps_side = !land[c]
                    || [lat.across(c, t + 1), lat.across(c, t + 2)]
                        .into_iter()
                        .flatten()
                        .any(|e| land[e] && micro_of[e] == micro_of[c]);
                let (ka, kb, kc) = (compound_of[a], compound_of[b], compound_of[c]);
                if !keeps_side || (ka != kb && kc != usize::MAX && (kc == ka || kc == kb)) {
                    continue;
                }
                let tri = [k[(t + 3) % 4], k[t], k[(t + 1) % 4]].map(|n| lat.nodes[n]);
                if places.iter().any(|&p| in_triangle(&tri, p)) {
                    continue;
                }
                // The subdistrict's edge first: it has no neighbour to share its steps with
                // (a community's step can be cut from either side of it).
                let level = if !land[a] || !land[c] {
                    0
                } else if self.community[a] != self.community[c] {
                    1
                } else if self.grid_of[a] != self.grid_of[c] {
                    2
                } else {
                    3
                };
                cands.push((level, c, t, to));
            }
        }
        // Compounds are not a tiling: a compound's outline may step round a block's corner
        // where the units' do not. There the corner alone changes compound (the triangle
        // stays in its block's micro-grid): taken in where both blocks beside it are in the
        // compound, given up where neither is. Last, after the units' cuts.
        for c in 0..lat.cell_count() {
            let k = lat.corners(c);
            let path = |a: usize, b: usize| edge_set.contains(&(k[a].min(k[b]), k[a].max(k[b])));
            if !land[c] || path(0, 2) || path(1, 3) || crowded[c] {
                continue;
            }
            for t in 0..4 {
                let near = [
                    lat.across(c, (t + 3) % 4),
                    lat.across(c, t),
                    lat.beyond_corner(c, t),
                    lat.beyond_corner(c, t + 1),
                    lat.across(c, t + 1),
                    lat.beyond_corner(c, t + 3),
                    lat.across(c, t + 2),
                ];
                let [
                    Some(a),
                    Some(b),
                    Some(d),
                    Some(e),
                    Some(f),
                    Some(g),
                    Some(h),
                ] = near
                else {
                    continue;
                };
                let l = |x: CellIx| compound_of[x] as u64;
                let (ka, kc) = (l(a), l(c));
                if ka != l(b) || ka == kc {
                    continue;
                }
                let pinches = new_pinch(&[kc, ka, l(d), l(b)], &[ka, ka, l(d), l(b)])
                    || new_pinch(&[kc, l(b), l(e), l(f)], &[kc, ka, l(b), l(e), l(f)])
                    || new_pinch(&[kc, l(h), l(g), ka], &[kc, l(h), l(g), ka, ka]);
                if !pinches {
                    cands.push((4, c, t, micro_of[c]));
                }
            }
        }
        cands.sort_unstable();
        let mut cuts: Vec<Option<Cut>> = vec![None; lat.cell_count()];
        // Land given out less land taken in, m²: held so that the subdistrict keeps its
        // published 11.20 km² (see OUTLINE_AREA_TOLERANCE_M2).
        let mut net_m2 = 0.0_f64;
        let land_m2: f64 = self.land_cells.iter().map(|&c| lat.area_m2(c)).sum();
        // A cut of the subdistrict's edge the balance refused is tried again once the
        // balance has swung the other way (a corner given out pays for one taken in), pass
        // after pass, until a pass places none.
        let mut pending = cands;
        loop {
            let mut deferred = Vec::new();
            let mut placed = 0usize;
            for (level, c, t, to) in pending {
                if cuts[c].is_some() || lat.neighbours(c).any(|nb| cuts[nb].is_some()) {
                    continue;
                }
                let k = lat.corners(c);
                let tri_m2 =
                    lat.ring_area_m2(&[k[(t + 3) % 4], k[t], k[(t + 1) % 4], k[(t + 3) % 4]]);
                let delta = if to == NONE {
                    tri_m2
                } else if !land[c] {
                    -tri_m2
                } else {
                    0.0
                };
                if (land_m2 - (net_m2 + delta) - AREA_TARGET_M2).abs() > OUTLINE_AREA_TOLERANCE_M2 {
                    deferred.push((level, c, t, to));
                    continue;
                }
                net_m2 += delta;
                placed += 1;
                let a = lat.across(c, (t + 3) % 4).unwrap_or(c);
                let b = lat.across(c, t).unwrap_or(c);
                cuts[c] = Some(Cut {
                    corner: t,
                    micro: to,
                    compound: if compound_of[a] == compound_of[b] {
                        compound_of[a]
                    } else {
                        usize::MAX
                    },
                });
            }
            if placed == 0 || deferred.is_empty() {
                break;
            }
            pending = deferred;
        }
        cuts
    }

    /// Breadth-first from `seed` over untaken inhabited blocks of the same community (a
    /// compound may span grids) until it holds `households`.
    /// The land cells of community `u` (index into `UNITS`).
    fn community_cells(&self, u: usize) -> Vec<CellIx> {
        self.land_cells
            .iter()
            .copied()
            .filter(|&c| self.community[c] == u as u32)
            .collect()
    }

    fn grow_compound(&self, seed: CellIx, households: u64, taken: &mut [bool]) -> Vec<CellIx> {
        let mut cells = vec![seed];
        taken[seed] = true;
        let mut held = self.hh[seed];
        let mut i = 0;
        while i < cells.len() && held < households {
            let c = cells[i];
            for nb in self.lat.neighbours(c) {
                if held < households
                    && !taken[nb]
                    && self.land[nb]
                    && self.hh[nb] > 0
                    && self.community[nb] == self.community[seed]
                    && !self.pinches(nb, &cells)
                {
                    taken[nb] = true;
                    held += self.hh[nb];
                    cells.push(nb);
                }
            }
            i += 1;
        }
        cells
    }

    /// Whether adding block `c` to `cells` would make two of them meet only at a corner
    /// (the outline would touch itself there: not a simple polygon).
    fn pinches(&self, c: CellIx, cells: &[CellIx]) -> bool {
        let (i, j) = self.lat.cell_ij(c);
        let at = |di: isize, dj: isize| -> bool {
            let (Some(a), Some(b)) = (i.checked_add_signed(di), j.checked_add_signed(dj)) else {
                return false;
            };
            a < self.lat.nx && b < self.lat.ny && cells.contains(&self.lat.cell_ix(a, b))
        };
        [(-1, -1), (-1, 1), (1, -1), (1, 1)]
            .into_iter()
            .any(|(di, dj)| at(di, dj) && !at(di, 0) && !at(0, dj))
    }

    /// One walkway feature: a chain of lattice nodes with its kind and name, as a 3D
    /// polyline.
    fn chain_feature(&self, k: usize, c: &walkways::Chain) -> Feature {
        let mut coords = Vec::with_capacity(3 * c.nodes.len());
        let mut zs = Vec::with_capacity(3 * c.nodes.len());
        let mut push = |x: f64, y: f64, z: f64| {
            let (lon, la) = self.proj.to_lonlat(x, y);
            coords.push(Coord {
                x: round7(lon),
                y: round7(la),
            });
            zs.push(z);
        };
        for (i, &n) in c.nodes.iter().enumerate() {
            let (x, y) = self.lat.nodes[n];
            let z = self.terrain.elevation_m(x, y);
            push(x, y, z);
            // Between two lattice nodes the way bends (a street or path is not drawn with a
            // ruler on a hillside): two inner points, offset sideways along a half sine. The
            // way is graded evenly between the nodes (cut into the slope), so a bend moves
            // no grade onto the hillside beside it. Bridges stay straight.
            if let Some(&m) = c.nodes.get(i + 1)
                && c.kind != WalkwayKind::Bridge
            {
                let (xm, ym) = self.lat.nodes[m];
                let zm = self.terrain.elevation_m(xm, ym);
                let inner = bend((x, y), (xm, ym), n < m, (n.min(m), n.max(m)));
                for (t, (bx, by)) in [1.0 / 3.0, 2.0 / 3.0].into_iter().zip(inner) {
                    push(bx, by, z + t * (zm - z));
                }
            }
        }
        let mut p = props(json!({ "kind": c.kind.as_str() }));
        if let Some(name) = c.name {
            p.insert("name".into(), json!(name));
        }
        Feature {
            id: format!("W{:05}", k + 1),
            geometry: geo::Geometry::LineString(LineString(coords)),
            elevation_m: Some(zs),
            properties: p.into(),
        }
    }

    /// The ends of the Lijiatuo Yangtze River Bridge, metres: the network node nearest the
    /// south bridgehead, and the north bridgehead (Jiulongpo side).
    fn bridge_ends(&self, network: &BTreeSet<usize>) -> ((f64, f64), (f64, f64)) {
        let (sx, sy) = self.proj.to_xy(106.524, 29.472);
        let south = network
            .iter()
            .copied()
            .min_by(|&a, &b| {
                let pa = self.lat.nodes[a];
                let pb = self.lat.nodes[b];
                (pa.0 - sx)
                    .hypot(pa.1 - sy)
                    .total_cmp(&(pb.0 - sx).hypot(pb.1 - sy))
            })
            .unwrap_or(0);
        (self.lat.nodes[south], self.proj.to_xy(106.530, 29.483))
    }

    /// The Lijiatuo Yangtze River Bridge: from the network node nearest the south bridgehead
    /// across the river to the north bridgehead (Jiulongpo side).
    fn yangtze_bridge(&self, network: &BTreeSet<usize>, k: usize) -> Feature {
        let ((ax, ay), (bx, by)) = self.bridge_ends(network);
        let za = self.terrain.elevation_m(ax, ay);
        let zb = 212.0;
        let steps = 12;
        let mut coords = Vec::new();
        let mut zs = Vec::new();
        for i in 0..=steps {
            let f = f64::from(i) / f64::from(steps);
            let (lon, la) = self.proj.to_lonlat(ax + f * (bx - ax), ay + f * (by - ay));
            coords.push(Coord {
                x: round7(lon),
                y: round7(la),
            });
            zs.push(za + f * (zb - za));
        }
        Feature {
            id: format!("W{:05}", k + 1),
            geometry: geo::Geometry::LineString(LineString(coords)),
            elevation_m: Some(zs),
            properties: props(
                json!({ "kind": WalkwayKind::Bridge.as_str(), "name": "李家沱长江大桥" }),
            )
            .into(),
        }
    }

    fn water(&self) -> Vec<Feature> {
        let ring = |pts: Vec<(f64, f64)>| -> Polygon<f64> {
            let coords = pts
                .into_iter()
                .map(|(x, y)| {
                    let (lon, la) = self.proj.to_lonlat(x, y);
                    Coord {
                        x: round7(lon),
                        y: round7(la),
                    }
                })
                .collect();
            Polygon::new(LineString(coords), vec![])
        };
        let y = super::terrain::Polyline::from_lonlat(&self.proj, &YANGTZE_CENTRELINE);
        let h = super::terrain::Polyline::from_lonlat(&self.proj, &HUAXI_CENTRELINE);
        vec![
            Feature {
                id: "yangtze".into(),
                geometry: geo::Geometry::Polygon(ring(y.band(YANGTZE_HALF_WIDTH_M))),
                elevation_m: None,
                properties: props(
                    json!({ "name": "长江", "name_en": "Yangtze River", "water_level_m": 175 }),
                )
                .into(),
            },
            Feature {
                id: "huaxi".into(),
                geometry: geo::Geometry::Polygon(ring(h.band(HUAXI_HALF_WIDTH_M))),
                elevation_m: None,
                properties: props(json!({ "name": "花溪河", "name_en": "Huaxi River" })).into(),
            },
        ]
    }
}

/// A block cut along its diagonal for a unit's outline: the triangle at `corner` (0 south-
/// west, 1 south-east, 2 north-east, 3 north-west) belongs to micro-grid `micro` (and to
/// compound `compound`, `usize::MAX` for none); the rest stays with the block.
#[derive(Debug, Clone, Copy)]
pub(super) struct Cut {
    pub(super) corner: usize,
    pub(super) micro: u32,
    pub(super) compound: usize,
}

/// How far from the published 11.20 km² the cuts of the subdistrict's edge may take its
/// area, m²: it is published to 0.01 km², so this keeps it 11.20 with 1,000 m² to spare (a
/// 50 m block's corner is about 1,250 m²). Held as ±1,500 m² about the land before the
/// cuts, wherever that fell, it refused 20 of the edge's cuts.
const OUTLINE_AREA_TOLERANCE_M2: f64 = 4_000.0;

/// Most buildings a block cut for an outline may hold (in half of it): with more, their
/// footprints would shrink below a believable size.
const MAX_BUILDINGS_IN_CUT: usize = 3;

/// Rings of the pieces of `cells` (each whole, or what it kept of a cut) and of the cut
/// corners of `cut_cells` that `gains` gives to the same area.
fn rings_with(
    lat: &super::lattice::Lattice,
    cuts: &[Option<Cut>],
    cut_cells: &[CellIx],
    cells: &[CellIx],
    gains: &dyn Fn(&Cut) -> bool,
) -> Vec<Vec<usize>> {
    let mut edges = Vec::new();
    for &c in cells {
        edges.extend(lat.piece_edges(c, cuts[c].map(|x| (x.corner, false))));
    }
    for &c in cut_cells {
        if let Some(x) = cuts[c].filter(|x| gains(x)) {
            edges.extend(lat.piece_edges(c, Some((x.corner, true))));
        }
    }
    lat.rings(&edges)
}

/// Whether some label (but "none", `u64::MAX` and `u32::MAX`: no compound, outside) runs
/// round a vertex in more pieces `after` than `before` and in more than one: the unit it
/// labels would touch itself there.
fn new_pinch(before: &[u64], after: &[u64]) -> bool {
    let runs = |seq: &[u64], x: u64| {
        let n = seq.len();
        (0..n)
            .filter(|&i| seq[i] == x && seq[(i + n - 1) % n] != x)
            .count()
    };
    after
        .iter()
        .filter(|&&x| x != u64::MAX && x != u64::from(u32::MAX))
        .any(|&x| runs(after, x) > 1 && runs(after, x) > runs(before, x))
}

/// Whether the segment `s` passes within `tol_m` of the quadrilateral `quad` (or through it).
fn segment_near_quad(s: ((f64, f64), (f64, f64)), quad: &[(f64, f64); 4], tol_m: f64) -> bool {
    let near = |p: (f64, f64), a: (f64, f64), b: (f64, f64)| {
        super::lattice::segment_distance(a, b, p) <= tol_m
    };
    let orient = |a: (f64, f64), b: (f64, f64), c: (f64, f64)| {
        (b.0 - a.0) * (c.1 - a.1) - (b.1 - a.1) * (c.0 - a.0)
    };
    (0..4).any(|i| {
        let (a, b) = (quad[i], quad[(i + 1) % 4]);
        let crosses = orient(s.0, s.1, a) * orient(s.0, s.1, b) < 0.0
            && orient(a, b, s.0) * orient(a, b, s.1) < 0.0;
        crosses || near(a, s.0, s.1) || near(s.0, a, b) || near(s.1, a, b)
    })
}

/// Whether `p` lies inside (or on) the triangle `t`.
fn in_triangle(t: &[(f64, f64); 3], p: (f64, f64)) -> bool {
    let side = |a: (f64, f64), b: (f64, f64)| (b.0 - a.0) * (p.1 - a.1) - (b.1 - a.1) * (p.0 - a.0);
    let s = [side(t[0], t[1]), side(t[1], t[2]), side(t[2], t[0])];
    s.iter().all(|&v| v >= 0.0) || s.iter().all(|&v| v <= 0.0)
}

/// (name, community code, anchor, old, property company) of a compound the article names.
type NamedCompound = (
    &'static str,
    Option<&'static str>,
    (f64, f64),
    bool,
    &'static str,
);

pub(super) struct Compound {
    name: String,
    unit: usize,
    old: bool,
    company: String,
    party_branch: bool,
    cells: Vec<CellIx>,
}

fn grid_id(grids: &[(usize, Vec<CellIx>)], g: usize) -> String {
    let u = grids[g].0;
    let first = grids.iter().position(|x| x.0 == u).unwrap_or(0);
    format!("{}-G{:02}", UNITS[u].code, g - first + 1)
}

fn micro_id(grids: &[(usize, Vec<CellIx>)], micros: &[(usize, Vec<CellIx>)], m: usize) -> String {
    let g = micros[m].0;
    let first = micros.iter().position(|x| x.0 == g).unwrap_or(0);
    format!("{}-M{:02}", grid_id(grids, g), m - first + 1)
}

pub(super) fn grid_id_pub(grids: &[(usize, Vec<CellIx>)], g: usize) -> String {
    grid_id(grids, g)
}

/// A building's share of its block: (u0, v0, width, height) in the block's unit square, and
/// which corner of the slot the footprint keeps to (high u?, high v?; None: anywhere in it).
type Slot = (f64, f64, f64, f64, Option<(bool, bool)>);

/// Footprint of a building of `floors` storeys, (long side, short side) in metres, as
/// Chongqing builds them: point towers about 26 × 24 m, small high-rises (10–17) 32 × 16 m,
/// slab blocks of 5–9 storeys 42 × 12 m, village houses 12 × 10 m.
fn footprint_m(floors: u64) -> (f64, f64) {
    match floors {
        18.. => (26.0, 24.0),
        10..=17 => (32.0, 16.0),
        5..=9 => (42.0, 12.0),
        _ => (12.0, 10.0),
    }
}

/// Storeys of a small high-rise (小高层), fewest and most.
const SMALL_HIGHRISE_FLOORS: (u64, u64) = (10, 17);

/// Storeys a small high-rise of `households` may have: two to six households a floor (one
/// or two stair cores of two to three flats), within 10–17 storeys. Needs at least 20
/// households.
fn small_highrise_floors(households: u64) -> (u64, u64) {
    let (lo, hi) = SMALL_HIGHRISE_FLOORS;
    let most = (households / 2).clamp(lo, hi);
    let fewest = households.div_ceil(6).clamp(lo, most);
    (fewest, most)
}

/// Height of a building: 3 m a storey (residential storey height in GB 50096).
fn height_m(floors: u64) -> f64 {
    (floors as f64 * 3.0 * 10.0).round() / 10.0
}

/// A building footprint feature: the quadrilateral in WGS84, counter-clockwise (RFC 7946).
fn footprint_feature(
    proj: &crate::model::LocalProj,
    id: String,
    quad: &[(f64, f64); 4],
    properties: serde_json::Map<String, serde_json::Value>,
) -> Feature {
    let mut ring: Vec<Coord<f64>> = quad
        .iter()
        .map(|&(x, y)| {
            let (lon, lat) = proj.to_lonlat(x, y);
            Coord {
                x: round7(lon),
                y: round7(lat),
            }
        })
        .collect();
    let twice_area: f64 = (0..4)
        .map(|i| {
            let (p, q) = (ring[i], ring[(i + 1) % 4]);
            p.x * q.y - q.x * p.y
        })
        .sum();
    if twice_area < 0.0 {
        ring.reverse();
    }
    ring.push(ring[0]);
    Feature {
        id,
        geometry: geo::Geometry::Polygon(Polygon::new(LineString(ring), vec![])),
        elevation_m: None,
        properties: properties.into(),
    }
}

/// Largest sideways offset of a walkway's bend, metres: under half the 5 m street margin
/// that keeps footprints off a block's edge, so a bent way never touches a building, and
/// small against the 50 m blocks, so two ways from one junction never cross.
const BEND_M: f64 = 2.4;

/// The two inner points of the way from `from` to `to` (at a third and two thirds),
/// offset to one side by up to [`BEND_M`] along a half sine; side and size are fixed by the
/// lattice edge `key` (lower node first), so an edge bends the same way whichever end a
/// chain starts from. `from_is_lo`: `from` is the edge's lower node.
fn bend(
    from: (f64, f64),
    to: (f64, f64),
    from_is_lo: bool,
    key: (usize, usize),
) -> [(f64, f64); 2] {
    // splitmix64 of the edge: a draw that moves nothing else of the model.
    let mut z = (key.0 as u64)
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .wrapping_add(key.1 as u64)
        .wrapping_add(0x632b_e59b_d9b4_e019);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    // Size in [0.4, 1] of BEND_M so the bend shows; the lowest bit picks the side.
    let unit = (z >> 11) as f64 / (1u64 << 53) as f64;
    let amp = BEND_M * (0.4 + 0.6 * unit) * if z & 1 == 0 { 1.0 } else { -1.0 };
    // The side is taken from the lower node towards the higher one.
    let (dx, dy) = if from_is_lo {
        (to.0 - from.0, to.1 - from.1)
    } else {
        (from.0 - to.0, from.1 - to.1)
    };
    let len = dx.hypot(dy).max(1e-9);
    let (nx, ny) = (-dy / len, dx / len);
    let at = |t: f64| {
        let off = amp * (std::f64::consts::PI * t).sin();
        (
            from.0 + t * (to.0 - from.0) + nx * off,
            from.1 + t * (to.1 - from.1) + ny * off,
        )
    };
    [at(1.0 / 3.0), at(2.0 / 3.0)]
}
