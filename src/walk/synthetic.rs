//! Synthetic hilly towns for tests and benchmarks (no real data needed): a jittered, noded
//! street grid with elevations, stairs on steep or random links, missing links, shape points,
//! an optional river with a single bridge, and buildings and facilities off the streets.

use geo::{LineString, Polygon};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::model::{LocalProj, Walkway, WalkwayKind};

use super::isochrone::Population;

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TownSpec {
    pub seed: u64,
    /// Grid nodes across and up.
    pub nx: usize,
    pub ny: usize,
    /// Block side, metres.
    pub block_m: f64,
    /// Random shift of each grid node, metres (keep below a quarter block).
    pub jitter_m: f64,
    /// Probability that a grid link is missing.
    pub p_missing: f64,
    /// Probability that a link is stairs regardless of slope; links steeper than 15 % are stairs.
    pub p_stairs: f64,
    /// Height of the hills, metres (0 = flat town without elevation data).
    pub relief_m: f64,
    /// Extra shape points per link (0 = straight two-point walkways).
    pub shape_points: usize,
    /// A river across the middle, crossed by a single bridge.
    pub river: bool,
    pub buildings: usize,
    pub facilities: usize,
    /// Facilities get tags `0..categories`.
    pub categories: u32,
}

impl TownSpec {
    /// A small town for oracle tests.
    #[must_use]
    pub fn small(seed: u64) -> TownSpec {
        TownSpec {
            seed,
            nx: 9,
            ny: 8,
            block_m: 50.0,
            jitter_m: 8.0,
            p_missing: 0.2,
            p_stairs: 0.1,
            relief_m: 40.0,
            shape_points: 1,
            river: false,
            buildings: 40,
            facilities: 25,
            categories: 4,
        }
    }

    /// About the size of Lijiatuo: ~11 km², 48 m blocks, ~25 km of walkway per km²,
    /// tens of thousands of edges, hills of 200 m and a river with one bridge.
    #[must_use]
    pub fn lijiatuo_like(seed: u64) -> TownSpec {
        TownSpec {
            seed,
            nx: 70,
            ny: 70,
            block_m: 48.0,
            jitter_m: 8.0,
            p_missing: 0.35,
            p_stairs: 0.05,
            relief_m: 200.0,
            shape_points: 2,
            river: true,
            buildings: 8000,
            facilities: 600,
            categories: 30,
        }
    }
}

/// A generated town, in WGS84 like the real layers.
#[derive(Debug, Clone)]
pub struct Town {
    pub proj: LocalProj,
    pub walkways: Vec<Walkway>,
    pub water: Vec<Polygon<f64>>,
    pub buildings: Vec<(f64, f64)>,
    pub population: Vec<Population>,
    pub facilities: Vec<(f64, f64)>,
    pub facility_tags: Vec<u32>,
    /// Row of grid nodes just south of the river and the bridge's column, when there is one.
    pub river_rows: Option<(usize, usize)>,
    pub spec: TownSpec,
}

/// Round like the data files (7 decimals), so shared vertices stay identical.
fn round7(v: f64) -> f64 {
    (v * 1e7).round() / 1e7
}

/// Generate a town from `spec`; the same spec always gives the same town.
#[must_use]
pub fn town(spec: &TownSpec) -> Town {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let proj = LocalProj::new(106.53, 29.47);
    let b = spec.block_m;
    let ll = |x: f64, y: f64| {
        let (lon, lat) = proj.to_lonlat(x, y);
        (round7(lon), round7(lat))
    };
    let hill = |x: f64, y: f64| {
        let (w, h) = (spec.nx as f64 * b, spec.ny as f64 * b);
        175.0
            + spec.relief_m
                * (0.5 * (x / w)
                    + 0.3
                        * (std::f64::consts::TAU * x / w * 1.5).sin()
                        * (std::f64::consts::TAU * y / h).cos()
                    + 0.2 * (y / h))
    };
    // River between grid rows r and r + 2; row r + 1 exists only at the bridge column.
    let river = spec.river.then(|| (spec.ny / 2 - 1, spec.nx / 3));
    let mut pos = vec![[0.0; 2]; spec.nx * spec.ny];
    for j in 0..spec.ny {
        for i in 0..spec.nx {
            let jx = rng.random_range(-spec.jitter_m..=spec.jitter_m);
            let jy = rng.random_range(-spec.jitter_m..=spec.jitter_m);
            pos[j * spec.nx + i] = [i as f64 * b + jx, j as f64 * b + jy];
        }
    }
    let node_exists = |i: usize, j: usize| match river {
        Some((r, bi)) => j != r + 1 || i == bi,
        None => true,
    };
    let mut walkways = Vec::new();
    let mut links: Vec<((usize, usize), (usize, usize))> = Vec::new();
    for j in 0..spec.ny {
        for i in 0..spec.nx {
            if i + 1 < spec.nx {
                links.push(((i, j), (i + 1, j)));
            }
            if j + 1 < spec.ny {
                links.push(((i, j), (i, j + 1)));
            }
        }
    }
    for ((i0, j0), (i1, j1)) in links {
        if !node_exists(i0, j0) || !node_exists(i1, j1) {
            continue;
        }
        let is_bridge =
            matches!(river, Some((r, bi)) if i0 == bi && i1 == bi && (j0 == r || j0 == r + 1));
        if !is_bridge && rng.random_bool(spec.p_missing) {
            continue;
        }
        let a = pos[j0 * spec.nx + i0];
        let c = pos[j1 * spec.nx + i1];
        let mut pts = vec![a];
        for k in 1..=spec.shape_points {
            let f = k as f64 / (spec.shape_points + 1) as f64;
            let wob = rng.random_range(-3.0..=3.0);
            // Shift perpendicular to the link a little so shape points are not collinear.
            let (dx, dy) = (c[0] - a[0], c[1] - a[1]);
            let l = dx.hypot(dy).max(1e-9);
            pts.push([a[0] + dx * f - dy / l * wob, a[1] + dy * f + dx / l * wob]);
        }
        pts.push(c);
        let elev: Vec<f64> = if is_bridge {
            // A bridge deck is level between its bridgeheads.
            let z = hill(a[0], a[1]).max(hill(c[0], c[1]));
            vec![z; pts.len()]
        } else {
            pts.iter().map(|p| hill(p[0], p[1])).collect()
        };
        let run = (c[0] - a[0]).hypot(c[1] - a[1]);
        let slope = ((elev[elev.len() - 1] - elev[0]) / run).abs();
        let kind = if is_bridge {
            WalkwayKind::Bridge
        } else if slope > 0.15 || rng.random_bool(spec.p_stairs) {
            WalkwayKind::Stairs
        } else if rng.random_bool(0.3) {
            WalkwayKind::Footway
        } else {
            WalkwayKind::Street
        };
        let id = format!("w{}", walkways.len());
        walkways.push(Walkway {
            id,
            kind,
            name: None,
            lonlat: pts.iter().map(|p| ll(p[0], p[1])).collect(),
            elevation_m: (spec.relief_m > 0.0).then_some(elev),
        });
    }
    let (xmax, ymax) = ((spec.nx - 1) as f64 * b, (spec.ny - 1) as f64 * b);
    let mut water = Vec::new();
    let in_water = |y: f64| {
        river.is_some_and(|(r, _)| y > r as f64 * b + 0.3 * b && y < (r + 2) as f64 * b - 0.3 * b)
    };
    if let Some((r, _)) = river {
        let (y0, y1) = (r as f64 * b + 0.3 * b, (r + 2) as f64 * b - 0.3 * b);
        let (x0, x1) = (-10.0 * b, xmax + 10.0 * b);
        let ring = vec![ll(x0, y0), ll(x1, y0), ll(x1, y1), ll(x0, y1), ll(x0, y0)];
        water.push(Polygon::new(LineString::from(ring), vec![]));
    }
    let random_land_point = |rng: &mut ChaCha8Rng| loop {
        let x = rng.random_range(0.0..=xmax);
        let y = rng.random_range(0.0..=ymax);
        if !in_water(y) {
            return ll(x, y);
        }
    };
    let mut buildings = Vec::with_capacity(spec.buildings);
    let mut population = Vec::with_capacity(spec.buildings);
    for _ in 0..spec.buildings {
        buildings.push(random_land_point(&mut rng));
        let households = rng.random_range(10..=120u64);
        let residents = households * rng.random_range(2..=3u64);
        population.push(Population {
            households,
            residents,
            residents_60plus: residents / rng.random_range(3..=6u64),
        });
    }
    let mut facilities = Vec::with_capacity(spec.facilities);
    let mut facility_tags = Vec::with_capacity(spec.facilities);
    for _ in 0..spec.facilities {
        facilities.push(random_land_point(&mut rng));
        facility_tags.push(rng.random_range(0..spec.categories.max(1)));
    }
    Town {
        proj,
        walkways,
        water,
        buildings,
        population,
        facilities,
        facility_tags,
        river_rows: river,
        spec: *spec,
    }
}
