//! Time `store::read_dir` and `store::validate` on a data directory, optionally after writing
//! a synthetic directory of the default dataset's size (a lattice with jittered, exactly shared
//! edges: ~1,260 micro-grids, 210 grids, 28 communities, 6,300 buildings, 90 compounds,
//! 1,500 facilities, ~36,000 3D walkways, a river with a wavy bank).
//!
//! ```text
//! cargo run --release --example validate_time -- --synthetic /tmp/sm-synth
//! cargo run --release --example validate_time -- geodata
//! ```

// A benchmark or tool whose setup fails should stop loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use geo::{Coord, Geometry, LineString, Point, Polygon};
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value, json};

use servicemap::model::{Feature, LayerId, LocalProj};
use servicemap::store;
use servicemap::store::write::{layer_text, write_atomic};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `RUST_LOG=servicemap=debug` shows the time of each validation stage.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = match args.as_slice() {
        [flag, out] if flag == "--synthetic" => {
            let out = PathBuf::from(out);
            let t = Instant::now();
            write_synthetic(&out)?;
            println!(
                "wrote {} in {:.2} s",
                out.display(),
                t.elapsed().as_secs_f64()
            );
            out
        }
        [dir] => PathBuf::from(dir),
        _ => return Err("usage: validate_time DIR | validate_time --synthetic OUT".into()),
    };
    let t = Instant::now();
    let ds = store::read_dir(&dir)?;
    let read_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let report = store::validate(&ds);
    let validate_s = t.elapsed().as_secs_f64();
    println!("{}", report.render_table());
    for v in report.violations.iter().take(20) {
        println!("{v}");
    }
    println!(
        "read_dir {read_s:.3} s, validate {validate_s:.3} s, {} violation(s)",
        report.violations.len()
    );
    Ok(())
}

/// Micro-grid lattice (columns × rows), cell size, lattice subdivisions per cell side.
const MX: usize = 42;
const MY: usize = 30;
const CELL_M: f64 = 95.0;
const SUB: usize = 6;
/// Micro-grids per grid (x, y) and grids per community (x, y).
const GRID: (usize, usize) = (2, 3);
const COMM: (usize, usize) = (3, 3);

fn props(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

struct Lattice {
    pts: Vec<Coord<f64>>,
    nx: usize,
}

impl Lattice {
    fn new(rng: &mut impl Rng) -> Lattice {
        let (nx, ny) = (MX * SUB + 1, MY * SUB + 1);
        let step = CELL_M / SUB as f64;
        let mut pts = Vec::with_capacity(nx * ny);
        for j in 0..ny {
            for i in 0..nx {
                // Interior points move; boundary points stay so the boundary is a rectangle
                // traced with many vertices.
                let inner = i > 0 && j > 0 && i + 1 < nx && j + 1 < ny;
                let (dx, dy) = if inner {
                    (
                        rng.random_range(-0.3..0.3) * step,
                        rng.random_range(-0.3..0.3) * step,
                    )
                } else {
                    (0.0, 0.0)
                };
                pts.push(Coord {
                    x: i as f64 * step + dx,
                    y: j as f64 * step + dy,
                });
            }
        }
        Lattice { pts, nx }
    }

    fn at(&self, i: usize, j: usize) -> Coord<f64> {
        self.pts[j * self.nx + i]
    }

    /// The counter-clockwise ring around micro-grid cells [x0, x1) × [y0, y1).
    fn ring(&self, x0: usize, y0: usize, x1: usize, y1: usize, proj: &LocalProj) -> Polygon<f64> {
        let (a, b, c, d) = (x0 * SUB, y0 * SUB, x1 * SUB, y1 * SUB);
        let mut r = Vec::new();
        r.extend((a..c).map(|i| self.at(i, b)));
        r.extend((b..d).map(|j| self.at(c, j)));
        r.extend((a + 1..=c).rev().map(|i| self.at(i, d)));
        r.extend((b + 1..=d).rev().map(|j| self.at(a, j)));
        r.push(r[0]);
        let ll: Vec<Coord<f64>> = r
            .iter()
            .map(|p| {
                let (x, y) = proj.to_lonlat(p.x, p.y);
                Coord { x, y }
            })
            .collect();
        Polygon::new(LineString::from(ll), vec![])
    }
}

fn write_synthetic(out: &Path) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(out)?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2026);
    let proj = LocalProj::new(106.50, 29.44);
    let ll = |x: f64, y: f64| {
        let (lon, lat) = proj.to_lonlat(x, y);
        Coord { x: lon, y: lat }
    };
    let lat = Lattice::new(&mut rng);
    let poly = |p: Polygon<f64>| Geometry::Polygon(p);
    let mut layers: Vec<(LayerId, Vec<Feature>)> = Vec::new();
    let f = |id: String, geometry: Geometry<f64>, p: Value| Feature {
        id,
        geometry,
        elevation_m: None,
        properties: props(p).into(),
    };
    layers.push((
        LayerId::Boundary,
        vec![f(
            "b".into(),
            poly(lat.ring(0, 0, MX, MY, &proj)),
            json!({"name": "synthetic"}),
        )],
    ));
    let (gx_n, gy_n) = (MX / GRID.0, MY / GRID.1);
    let comm_of = |gx: usize, gy: usize| format!("c{}-{}", gx / COMM.0, gy / COMM.1);
    let grid_of = |mx: usize, my: usize| format!("g{}-{}", mx / GRID.0, my / GRID.1);
    // Buildings first: their sums feed the areas.
    let per_building = [13u64, 32, 7, 2];
    let buildings_per_micro = 5usize;
    let figs = |n: u64| {
        json!({"households": per_building[0] * n, "residents": per_building[1] * n,
               "residents_60plus": per_building[2] * n, "children_0_6": per_building[3] * n})
    };
    let merge = |a: Value, b: Value| {
        let mut m = props(a);
        m.extend(props(b));
        Value::Object(m)
    };
    let cell_centre = |mx: usize, my: usize, fx: f64, fy: f64| {
        ll(
            (mx as f64 + 0.5 + fx) * CELL_M,
            (my as f64 + 0.5 + fy) * CELL_M,
        )
    };
    let (mut micro, mut buildings) = (Vec::new(), Vec::new());
    for my in 0..MY {
        for mx in 0..MX {
            let (g, c) = (grid_of(mx, my), comm_of(mx / GRID.0, my / GRID.1));
            let id = format!("m{mx}-{my}");
            micro.push(f(
                id.clone(),
                poly(lat.ring(mx, my, mx + 1, my + 1, &proj)),
                merge(
                    json!({"name": id, "grid": g, "community": c}),
                    figs(buildings_per_micro as u64),
                ),
            ));
            for b in 0..buildings_per_micro {
                let p = cell_centre(
                    mx,
                    my,
                    rng.random_range(-0.25..0.25),
                    rng.random_range(-0.25..0.25),
                );
                buildings.push(f(
                    format!("{id}-b{b}"),
                    Geometry::Point(Point(p)),
                    merge(json!({"microgrid": id, "grid": g, "community": c}), figs(1)),
                ));
            }
        }
    }
    let mut grids = Vec::new();
    for gy in 0..gy_n {
        for gx in 0..gx_n {
            let n = (GRID.0 * GRID.1 * buildings_per_micro) as u64;
            grids.push(f(
                format!("g{gx}-{gy}"),
                poly(lat.ring(
                    gx * GRID.0,
                    gy * GRID.1,
                    (gx + 1) * GRID.0,
                    (gy + 1) * GRID.1,
                    &proj,
                )),
                merge(
                    json!({"name": format!("g{gx}-{gy}"), "community": comm_of(gx, gy)}),
                    figs(n),
                ),
            ));
        }
    }
    let mut communities = Vec::new();
    for cy in 0..gy_n.div_ceil(COMM.1) {
        for cx in 0..gx_n.div_ceil(COMM.0) {
            let (gx0, gy0) = (cx * COMM.0, cy * COMM.1);
            let (gx1, gy1) = ((gx0 + COMM.0).min(gx_n), (gy0 + COMM.1).min(gy_n));
            let n = ((gx1 - gx0) * (gy1 - gy0) * GRID.0 * GRID.1 * buildings_per_micro) as u64;
            let id = format!("c{cx}-{cy}");
            communities.push(f(
                id.clone(),
                poly(lat.ring(
                    gx0 * GRID.0,
                    gy0 * GRID.1,
                    gx1 * GRID.0,
                    gy1 * GRID.1,
                    &proj,
                )),
                merge(
                    json!({"name": id, "code": id, "kind": "community"}),
                    figs(n),
                ),
            ));
        }
    }
    let mut compounds = Vec::new();
    for k in 0..90 {
        let (mx, my) = (rng.random_range(0..MX), rng.random_range(0..MY));
        let c = comm_of(mx / GRID.0, my / GRID.1);
        let (x0, y0) = ((mx as f64 + 0.3) * CELL_M, (my as f64 + 0.3) * CELL_M);
        let (x1, y1) = (x0 + 0.4 * CELL_M, y0 + 0.4 * CELL_M);
        let ring = vec![ll(x0, y0), ll(x1, y0), ll(x1, y1), ll(x0, y1), ll(x0, y0)];
        compounds.push(f(
            format!("k{k}"),
            poly(Polygon::new(LineString::from(ring), vec![])),
            json!({"name": format!("k{k}"), "community": c, "old": k % 3 == 0}),
        ));
    }
    let cats = [
        "elder_canteen",
        "clinic",
        "pharmacy",
        "supermarket",
        "kindergarten",
        "primary_school",
        "library",
        "bus_stop",
        "restaurant",
        "barber",
    ];
    let mut facilities = Vec::new();
    for k in 0..1500 {
        let (mx, my) = (rng.random_range(0..MX), rng.random_range(0..MY));
        let p = cell_centre(
            mx,
            my,
            rng.random_range(-0.25..0.25),
            rng.random_range(-0.25..0.25),
        );
        facilities.push(f(
            format!("f{k}"),
            Geometry::Point(Point(p)),
            json!({"name": format!("f{k}"), "category": cats[k % cats.len()],
                   "community": comm_of(mx / GRID.0, my / GRID.1), "grid": grid_of(mx, my)}),
        ));
    }
    // A river west of the walkways with a wavy east bank of 600 vertices.
    let height_m = MY as f64 * CELL_M;
    let mut bank: Vec<Coord<f64>> = (0..=600)
        .map(|i| {
            let y = -200.0 + (height_m + 400.0) * f64::from(i) / 600.0;
            ll(40.0 + 15.0 * (y / 60.0).sin(), y)
        })
        .collect();
    bank.push(ll(-400.0, height_m + 200.0));
    bank.push(ll(-400.0, -200.0));
    bank.push(bank[0]);
    let water = vec![f(
        "river".into(),
        poly(Polygon::new(LineString::from(bank), vec![])),
        json!({"name": "river"}),
    )];
    // Walkways: a noded lattice every 25 m east of the river, each edge with a midpoint.
    let step = 25.0;
    let (nx, ny) = (
        ((MX as f64 * CELL_M - 80.0) / step) as usize,
        (height_m / step) as usize,
    );
    let node = |i: usize, j: usize| (80.0 + i as f64 * step, j as f64 * step);
    let mut ways = Vec::new();
    let mut way = |id: String, a: (f64, f64), b: (f64, f64)| {
        let m = ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0);
        let pts = [a, m, b];
        ways.push(Feature {
            id,
            geometry: Geometry::LineString(LineString::from(
                pts.iter().map(|p| ll(p.0, p.1)).collect::<Vec<_>>(),
            )),
            elevation_m: Some(pts.iter().map(|p| 180.0 + p.1 / 20.0).collect()),
            properties: props(json!({"kind": "street"})).into(),
        });
    };
    for j in 0..=ny {
        for i in 0..=nx {
            if i < nx {
                way(format!("h{i}-{j}"), node(i, j), node(i + 1, j));
            }
            if j < ny {
                way(format!("v{i}-{j}"), node(i, j), node(i, j + 1));
            }
        }
    }
    layers.extend([
        (LayerId::Communities, communities),
        (LayerId::Grids, grids),
        (LayerId::Microgrids, micro),
        (LayerId::Buildings, buildings),
        (LayerId::Compounds, compounds),
        (LayerId::Facilities, facilities),
        (LayerId::Water, water),
        (LayerId::Walkways, ways),
    ]);
    for (layer, fs) in &layers {
        write_atomic(&out.join(layer.file_name()), &layer_text(fs, None))?;
    }
    let categories: Vec<Value> = cats
        .iter()
        .map(|c| json!({"id": c, "name_zh": c, "name_en": c, "domain": "services", "gb50180": null, "mofcom": null}))
        .collect();
    write_atomic(
        &out.join("categories.json"),
        &json!({"note": "synthetic", "categories": categories}).to_string(),
    )?;
    let counts: Map<String, Value> = layers
        .iter()
        .map(|(l, fs)| (l.to_string(), json!(fs.len())))
        .collect();
    write_atomic(
        &out.join("manifest.json"),
        &json!({"name": "synthetic", "modelled": true, "note": "examples/validate_time.rs",
                "expected_counts": counts, "grid_households": [300, 500]})
        .to_string(),
    )?;
    Ok(())
}
