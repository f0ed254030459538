//! The modelled Lijiatuo dataset generator.
//!
//! Names, codes and published figures come from `facts.md`; positions are modelled. The
//! model is built on a warped street lattice (see [`lattice`]): every area is a union of
//! blocks, or of the halves of blocks cut along a diagonal where a unit's edge would step
//! round a block's corner, so units tile exactly and their edges follow streets without a
//! saw-tooth. A fixed seed and
//! ordered collections make the output byte-identical on every run.

mod builder;
mod facilities;
mod lattice;
mod partition;
mod places;
mod ridges;
mod terrain;
mod walkways;

use std::collections::BTreeMap;
use std::path::Path;

use geo::{Coord, LineString, Point, Polygon};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value};

use crate::model::{Feature, LayerId, LocalProj};
use crate::store::write::{layer_text, round7, write_atomic};

use lattice::{CellIx, Lattice};
pub use places::{NAMED_PLACES, SUBDISTRICT_CODE, taxonomy};
use terrain::Terrain;

/// The seed of the model. Change it and every file changes.
pub const SEED: u64 = 0x5e41_cea1_2026;
/// Published area of the subdistrict, m².
pub const AREA_TARGET_M2: f64 = 11.2e6;
/// Block size of the lattice, metres.
const CELL_M: f64 = 50.0;
/// Households in all: 214 grids × ~375, so that residents ≥ 200,000 at ~2.6 per household.
const HOUSEHOLDS_TOTAL: u64 = 80_400;
/// Most households one block can hold (~240 households per hectare: dense Chongqing high-rise).
const MAX_HOUSEHOLDS_PER_CELL: f64 = 60.0;
/// Land beyond the units' anchors and the named places (modelled): the fields and hamlets
/// of 其龙村 on the south-east hills.
const BUILT_UP_LINKS: [(f64, f64); 1] = [(106.5705, 29.4590)];
/// Area each administrative village grows to, km²: with three grids of about 300
/// households that is under 5,000 residents per km², a village at the edge.
const VILLAGE_AREA_KM2: f64 = 0.85;
pub const GRIDS_TOTAL: usize = 214;
pub const MICROGRIDS_TOTAL: usize = 1_241;
pub const COMPOUNDS_TOTAL: usize = 90;
pub const OLD_COMPOUNDS: usize = 33;
pub const SERVICE_POINTS_TOTAL: usize = 55;

/// The whole model in memory, one Vec of features per layer.
pub struct Model {
    pub layers: BTreeMap<LayerId, Vec<Feature>>,
    pub taxonomy: crate::model::Taxonomy,
    pub manifest: Value,
    /// The crest lines of the terrain (`ridges.geojson`): written beside the layers, not
    /// served (see `analysis::ridges`).
    pub ridges: Vec<Feature>,
}

type GenResult<T> = Result<T, String>;

/// Why the modelled dataset could not be built or written.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// A modelling step could not meet a published figure (a bug of the generator).
    #[error("the model could not be built: {0}")]
    Model(String),
    #[error("cannot write the dataset: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot encode the dataset: {0}")]
    Json(#[from] serde_json::Error),
}

/// A Polygon feature from rings of lattice nodes (one exterior, any holes).
fn rings_feature(
    lat: &Lattice,
    proj: &LocalProj,
    id: String,
    rings: &[Vec<usize>],
    properties: Map<String, Value>,
) -> GenResult<Feature> {
    let to_ls = |ring: &[usize]| -> LineString<f64> {
        LineString(
            ring.iter()
                .map(|&n| {
                    let (x, y) = lat.nodes[n];
                    let (lon, lat_) = proj.to_lonlat(x, y);
                    Coord {
                        x: round7(lon),
                        y: round7(lat_),
                    }
                })
                .collect(),
        )
    };
    let mut exteriors = Vec::new();
    let mut holes = Vec::new();
    for r in rings {
        if lat.ring_area_m2(r) > 0.0 {
            exteriors.push(to_ls(r));
        } else {
            holes.push(to_ls(r));
        }
    }
    if exteriors.len() != 1 {
        return Err(format!(
            "{id}: outline has {} exterior rings (expected 1)",
            exteriors.len()
        ));
    }
    let ext = exteriors.remove(0);
    Ok(Feature {
        id,
        geometry: geo::Geometry::Polygon(Polygon::new(ext, holes)),
        elevation_m: None,
        properties: properties.into(),
    })
}

fn point_feature(
    proj: &LocalProj,
    id: String,
    x: f64,
    y: f64,
    properties: Map<String, Value>,
) -> Feature {
    let (lon, lat) = proj.to_lonlat(x, y);
    Feature {
        id,
        geometry: geo::Geometry::Point(Point::new(round7(lon), round7(lat))),
        elevation_m: None,
        properties: properties.into(),
    }
}

fn props(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Households per hectare before calibration: dense old centre by the bridgehead, newer
/// high-rise on the 融汇 side, the 九公里 and 八公里 clusters, sparse villages at the edge.
fn density(t: &Terrain, x: f64, y: f64) -> f64 {
    const BUMPS: [(f64, f64, f64, f64); 8] = [
        (106.531, 29.469, 210.0, 520.0),
        (106.514, 29.476, 160.0, 650.0),
        (106.507, 29.466, 120.0, 380.0),
        (106.552, 29.464, 80.0, 420.0),
        (106.546, 29.471, 90.0, 260.0),
        (106.564, 29.483, 70.0, 330.0),
        (106.522, 29.463, 60.0, 400.0),
        (106.538, 29.473, 90.0, 300.0),
    ];
    let mut d = 18.0;
    for (lon, lat, h, s) in BUMPS {
        let (bx, by) = t.proj.to_xy(lon, lat);
        d += h * (-((x - bx).powi(2) + (y - by).powi(2)) / (2.0 * s * s)).exp();
    }
    // Villages and the outer hills are sparse.
    let edge = t.outer_depth_m(x, y);
    if edge < 350.0 {
        d *= 0.25 + 0.75 * (edge.max(0.0) / 350.0);
    }
    d
}

/// What a unit pays, in metres of growth, to spread across a main street (a lattice line
/// every [`walkways::MAIN_EVERY`] blocks, always built): six blocks, so a unit fills the
/// land up to the street before it crosses, and its outline runs along the street rather
/// than through the blocks beside it. Tried at 50–600 m on the default data: below 200 m
/// fewer outlines follow streets, above 400 m grids and the boundary step more (their
/// sizes are fixed, so they must cross somewhere).
const STREET_BARRIER_M: f64 = 300.0;
/// What a unit pays to spread across 花溪河: a community or grid on both banks is the
/// exception (the creek is bridged only every few hundred metres).
const CREEK_BARRIER_M: f64 = 400.0;

/// What a unit pays to spread across a ridge (see [`ridges`]) where no main street runs
/// along it: two blocks, so units stop at a crest, as a planner draws them, where no street
/// or water offers an edge. Tried at 100–300 m on the default data: all put more outline
/// along walkways, water or ridges (micro-grids 76.2–76.8% against 75.2% at 0), but from
/// 135 m the lanes built along the moved unit edges take the network over 200
/// intersections per km² (201–204), and at 300 m compounds step more (18.1%).
const RIDGE_BARRIER_M: f64 = 100.0;

/// The barrier between two neighbouring blocks `a` and `b` for units growing over them:
/// [`STREET_BARRIER_M`] where a main street runs between them, [`CREEK_BARRIER_M`] where
/// 花溪河 does (their centres on either bank), [`RIDGE_BARRIER_M`] where a ridge runs along
/// the side between them and no main street does; the sum where several do.
fn unit_barrier(
    lat: &Lattice,
    terrain: &Terrain,
    ridges: &ridges::Ridges,
    a: CellIx,
    b: CellIx,
) -> f64 {
    let ((ia, ja), (ib, jb)) = (lat.cell_ij(a), lat.cell_ij(b));
    // The side between two blocks of one row lies on node column max(i); of one column, on
    // node row max(j).
    let street = if ja == jb {
        ia.max(ib) % walkways::MAIN_EVERY == 0
    } else {
        ja.max(jb) % walkways::MAIN_EVERY == 0
    };
    let ((xa, ya), (xb, yb)) = (lat.centre(a), lat.centre(b));
    let (da, db) = (
        terrain.huaxi.signed_distance(xa, ya),
        terrain.huaxi.signed_distance(xb, yb),
    );
    let creek = da.signum() != db.signum()
        && da.abs().min(db.abs()) <= 60.0
        && (terrain.in_creek(xa, ya, 60.0) || terrain.in_creek(xb, yb, 60.0));
    let ridge = !street && ridges.between(lat, a, b);
    f64::from(u8::from(street)) * STREET_BARRIER_M
        + f64::from(u8::from(creek)) * CREEK_BARRIER_M
        + f64::from(u8::from(ridge)) * RIDGE_BARRIER_M
}

/// The modelled ground: elevation in metres at a point in local metres of the returned
/// frame, what the walkways' elevations and the ridges are drawn from (`stats` checks the
/// ridges of the model against it).
pub fn model_ground() -> (LocalProj, impl Fn(f64, f64) -> f64) {
    let t = Terrain::new();
    (t.proj, move |x, y| t.elevation_m(x, y))
}

/// Share of 60+ residents of the newer town away from the old centre: with the older
/// centre and villages the whole comes to about Chongqing's 21.87% (2020 census).
const SHARE_60PLUS_TOWN: f64 = 0.185;

/// Share of residents aged 60+: older in the old centre and the villages.
fn share_60plus(t: &Terrain, x: f64, y: f64, village: bool) -> f64 {
    if village {
        return 0.33;
    }
    let (cx, cy) = t.proj.to_xy(106.531, 29.469);
    let d = (x - cx).hypot(y - cy);
    SHARE_60PLUS_TOWN + 0.10 * (-(d / 900.0).powi(2)).exp()
}

/// Build the whole model.
pub fn build() -> GenResult<Model> {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let terrain = Terrain::new();
    let proj = terrain.proj;
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for &(x, y) in &terrain.outer {
        x0 = x0.min(x);
        y0 = y0.min(y);
        x1 = x1.max(x);
        y1 = y1.max(y);
    }
    let lat = Lattice::new(
        x0 - 100.0,
        y0 - 100.0,
        x1 + 100.0,
        y1 + 100.0,
        CELL_M,
        &mut rng,
    );

    // Calibrate the outer limit so the land is 11.2 km².
    let area_of = |land: &[bool]| -> f64 {
        land.iter()
            .enumerate()
            .filter(|(_, l)| **l)
            .map(|(c, _)| lat.area_m2(c))
            .sum()
    };
    // Every named place of facts.md lies in the subdistrict: the land is what lies within a
    // calibrated reach of the units' anchors and the named places.
    let keep: Vec<(f64, f64)> = places::UNITS
        .iter()
        .map(|u| u.anchor)
        .chain(places::NAMED_PLACES.iter().map(|p| (p.lon, p.lat)))
        .chain(BUILT_UP_LINKS)
        .map(|(lon, la)| proj.to_xy(lon, la))
        .collect();
    let (mut lo, mut hi) = (100.0_f64, 3000.0_f64);
    for _ in 0..30 {
        let mid = 0.5 * (lo + hi);
        if area_of(&lattice::land_cells(&lat, &terrain, mid, &keep)) > AREA_TARGET_M2 {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    let land = lattice::land_cells(&lat, &terrain, 0.5 * (lo + hi), &keep);
    let land_cells: Vec<CellIx> = (0..lat.cell_count()).filter(|&c| land[c]).collect();
    let ridges = ridges::Ridges::trace(&lat, &terrain, &land);
    let area_m2 = area_of(&land);
    if (area_m2 - AREA_TARGET_M2).abs() > 0.03 * AREA_TARGET_M2 {
        return Err(format!(
            "land area {area_m2:.0} m² is not within 3% of 11.2 km²"
        ));
    }

    // Households per block.
    let n = lat.cell_count();
    let mut hh_f = vec![0.0; n];
    for &c in &land_cells {
        let (x, y) = lat.centre(c);
        let corners = lat.corners(c);
        let zs: Vec<f64> = corners
            .iter()
            .map(|&k| terrain.elevation_m(lat.nodes[k].0, lat.nodes[k].1))
            .collect();
        let relief = zs.iter().copied().fold(f64::MIN, f64::max)
            - zs.iter().copied().fold(f64::MAX, f64::min);
        let noise: f64 = rng.random_range(0.45..1.55);
        let open_space = rng.random_bool(0.09) || relief > 16.0 || terrain.in_creek(x, y, 25.0);
        if !open_space {
            hh_f[c] = density(&terrain, x, y) * lat.area_m2(c) / 10_000.0 * noise;
        }
    }
    // Scale to the total, respecting the per-block cap.
    let mut scale = 1.0;
    for _ in 0..60 {
        let total: f64 = hh_f
            .iter()
            .map(|h| (h * scale).min(MAX_HOUSEHOLDS_PER_CELL))
            .sum();
        scale *= HOUSEHOLDS_TOTAL as f64 / total;
    }
    let scaled: Vec<f64> = hh_f
        .iter()
        .map(|h| (h * scale).min(MAX_HOUSEHOLDS_PER_CELL))
        .collect();
    let mut hh: Vec<u64> = scaled.iter().map(|h| h.floor() as u64).collect();
    let short = HOUSEHOLDS_TOTAL - hh.iter().sum::<u64>();
    let mut frac: Vec<(f64, CellIx)> = land_cells
        .iter()
        .map(|&c| (scaled[c] - scaled[c].floor(), c))
        .collect();
    frac.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, c) in frac.iter().take(short as usize) {
        hh[c] += 1;
    }

    // Communities: grown from their anchors and from the named places each must hold, to
    // their share of households; villages grow to an area instead, so they stay sparse.
    let units = &places::UNITS;
    let mut seeds: Vec<(CellIx, u32)> = Vec::new();
    for (u, unit) in units.iter().enumerate() {
        let points = std::iter::once(unit.anchor).chain(
            places::NAMED_PLACES
                .iter()
                .filter(|p| p.community == unit.code)
                .map(|p| (p.lon, p.lat)),
        );
        for (lon, la) in points {
            let (x, y) = proj.to_xy(lon, la);
            let seed = land_cells
                .iter()
                .copied()
                .filter(|c| !seeds.iter().any(|s| s.0 == *c))
                .min_by(|&a, &b| {
                    let pa = lat.centre(a);
                    let pb = lat.centre(b);
                    (pa.0 - x)
                        .hypot(pa.1 - y)
                        .total_cmp(&(pb.0 - x).hypot(pb.1 - y))
                        .then(a.cmp(&b))
                })
                .ok_or("no land")?;
            seeds.push((seed, u as u32));
        }
    }
    let weight: Vec<f64> = hh.iter().map(|&h| h as f64 + 0.3).collect();
    let total_w: f64 = land_cells.iter().map(|&c| weight[c]).sum();
    let town_grids: usize = units.iter().filter(|u| !u.village).map(|u| u.grids).sum();
    let want: Vec<f64> = units
        .iter()
        .map(|u| {
            if u.village {
                VILLAGE_AREA_KM2
            } else {
                // Villages hold a few per cent of the households.
                0.97 * total_w * u.grids as f64 / town_grids as f64
            }
        })
        .collect();
    let measure = |l: u32, c: CellIx| {
        if units[l as usize].village {
            lat.area_m2(c) / 1e6
        } else {
            weight[c]
        }
    };
    let barrier = |a: CellIx, b: CellIx| unit_barrier(&lat, &terrain, &ridges, a, b);
    let community =
        partition::grow_to_wants(&lat, &land, &land_cells, &seeds, &measure, &want, &barrier);

    // Grids: split each community into its grids of 300–500 households.
    let mut grid_of = vec![partition::NONE; n];
    let mut grids: Vec<(usize, Vec<CellIx>)> = Vec::new(); // (unit index, cells)
    for (u, unit) in units.iter().enumerate() {
        let cells: Vec<CellIx> = land_cells
            .iter()
            .copied()
            .filter(|&c| community[c] == u as u32)
            .collect();
        if cells.len() < unit.grids {
            return Err(format!(
                "{} got {} blocks for {} grids",
                unit.name,
                cells.len(),
                unit.grids
            ));
        }
        let w: Vec<f64> = hh.iter().map(|&h| h as f64 + 0.05).collect();
        let label = partition::split(&lat, &cells, &w, unit.grids, &barrier);
        let base = grids.len();
        for k in 0..unit.grids {
            grids.push((
                u,
                cells
                    .iter()
                    .copied()
                    .filter(|&c| label[c] == k as u32)
                    .collect(),
            ));
        }
        for &c in &cells {
            grid_of[c] = (base + label[c] as usize) as u32;
        }
    }
    // The published 300–500 households per grid is a hard figure, and a spread one: each
    // grid's households are recalibrated to a target spread evenly over the range in the
    // order of the split's raw totals (households are modelled anyway). Village grids stay
    // near 300 so villages keep under 5,000 residents per km².
    for village in [false, true] {
        let mut order: Vec<(u64, usize)> = grids
            .iter()
            .enumerate()
            .filter(|(_, (u, _))| units[*u].village == village)
            .map(|(g, (_, cells))| (cells.iter().map(|&c| hh[c]).sum(), g))
            .collect();
        order.sort_unstable();
        let (lo, hi) = if village {
            (300.0, 330.0)
        } else {
            (305.0, 495.0)
        };
        let n = order.len() as f64;
        for (rank, &(_, g)) in order.iter().enumerate() {
            let target = (lo + (hi - lo) * (rank as f64 + 0.5) / n).round() as u64;
            rescale(&mut hh, &grids[g].1, target);
        }
    }
    let bad: Vec<String> = grids
        .iter()
        .enumerate()
        .filter_map(|(g, (u, cells))| {
            let total: u64 = cells.iter().map(|&c| hh[c]).sum();
            (!(300..=500).contains(&total))
                .then(|| format!("grid {g} of {} has {total} households", units[*u].name))
        })
        .collect();
    if !bad.is_empty() {
        return Err(bad.join("; "));
    }
    ModelBuilder {
        rng,
        terrain,
        proj,
        lat,
        land,
        land_cells,
        hh,
        community,
        grid_of,
        grids,
        ridges,
    }
    .finish()
}

/// Set the households of `cells` to sum to `target`, keeping their proportions (largest
/// remainder rounding); blocks with none get an even share when all are empty.
fn rescale(hh: &mut [u64], cells: &[CellIx], target: u64) {
    let total: u64 = cells.iter().map(|&c| hh[c]).sum();
    let ideal: Vec<f64> = if total == 0 {
        vec![target as f64 / cells.len() as f64; cells.len()]
    } else {
        cells
            .iter()
            .map(|&c| hh[c] as f64 * target as f64 / total as f64)
            .collect()
    };
    let mut assigned = 0;
    for (k, &c) in cells.iter().enumerate() {
        hh[c] = ideal[k].floor() as u64;
        assigned += hh[c];
    }
    let mut order: Vec<usize> = (0..cells.len()).collect();
    order.sort_by(|&a, &b| {
        (ideal[b] - ideal[b].floor())
            .total_cmp(&(ideal[a] - ideal[a].floor()))
            .then(a.cmp(&b))
    });
    for &k in order.iter().cycle().take((target - assigned) as usize) {
        hh[cells[k]] += 1;
    }
}

struct ModelBuilder {
    rng: ChaCha8Rng,
    terrain: Terrain,
    proj: LocalProj,
    lat: Lattice,
    land: Vec<bool>,
    land_cells: Vec<CellIx>,
    hh: Vec<u64>,
    community: Vec<u32>,
    grid_of: Vec<u32>,
    grids: Vec<(usize, Vec<CellIx>)>,
    ridges: ridges::Ridges,
}

/// Write every layer of the modelled dataset into `out`.
pub fn write_dataset(out: &Path) -> Result<(), GenerateError> {
    let model = build().map_err(GenerateError::Model)?;
    std::fs::create_dir_all(out)?;
    for (layer, features) in &model.layers {
        let text = layer_text(features, None);
        write_atomic(&out.join(layer.file_name()), &text)?;
    }
    let cats = serde_json::to_string_pretty(&model.taxonomy)? + "\n";
    write_atomic(&out.join("categories.json"), &cats)?;
    let manifest = serde_json::to_string_pretty(&model.manifest)? + "\n";
    write_atomic(&out.join("manifest.json"), &manifest)?;
    write_atomic(
        &out.join(crate::analysis::ridges::RIDGES_FILE),
        &layer_text(&model.ridges, None),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_the_exact_counts() {
        let m = build().expect("model builds");
        let count = |l: LayerId| m.layers.get(&l).map_or(0, Vec::len);
        assert_eq!(count(LayerId::Communities), 23);
        assert_eq!(count(LayerId::Grids), 214);
        assert_eq!(count(LayerId::Microgrids), 1241);
        assert_eq!(count(LayerId::Compounds), 90);
    }
}
