//! Write a synthetic grid city as OSM XML, for measuring `servicemap import osm` at scale.
//!
//! `cargo run --release --example synth_osm -- OUT.osm BLOCKS_PER_SIDE`
//!
//! Streets every 0.001° (~100 m) with a node every 20 m, split into ways of ten blocks; four
//! residential buildings and one tagged node (a facility, or a tag the importer skips) per block;
//! a footway across every fifth block and steps on every seventh. About 3.5 kB of XML a block:
//! 92 blocks a side gives ~30 MB of XML, 290 a side gives ~30 MB of PBF.

// A benchmark or tool whose setup fails should stop loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::fmt::Write as _;
use std::io::Write as _;

const LAT0: f64 = 29.40;
const LON0: f64 = 106.45;
const BLOCK_DEG: f64 = 0.001;
/// Nodes per block edge, the intersection included.
const STEPS: i64 = 5;

const POI_TAGS: &[&[(&str, &str)]] = &[
    &[("shop", "convenience"), ("name", "便利店")],
    &[("amenity", "restaurant"), ("name", "小面馆")],
    &[("amenity", "pharmacy")],
    &[("shop", "hairdresser")],
    &[("amenity", "bench")],
    &[("amenity", "kindergarten"), ("name", "幼儿园")],
    &[("leisure", "fitness_station")],
    &[
        ("shop", "supermarket"),
        ("opening_hours", "Mo-Su 08:00-22:00"),
    ],
];

/// Deterministic jitter in [-1, 1) from an id (splitmix64), so coordinate deltas are as
/// irregular as in real data and the PBF compresses like a real extract.
fn jitter(id: i64, salt: u64) -> f64 {
    let mut z = (id as u64)
        .wrapping_add(salt)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 52) as f64 - 1.0
}

/// Up to ~2 m of noise, in degrees.
const JITTER_DEG: f64 = 0.00002;

struct Ids {
    next: i64,
}

impl Ids {
    fn take(&mut self) -> i64 {
        self.next += 1;
        self.next
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(out), Some(n)) = (args.get(1), args.get(2)) else {
        return Err("usage: synth_osm OUT.osm BLOCKS_PER_SIDE".into());
    };
    let n: i64 = n.parse()?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(out)?);
    writeln!(
        w,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<osm version=\"0.6\" generator=\"synth_osm\">"
    )?;

    // Street nodes: a lattice with STEPS nodes per block edge along both axes. Node id of
    // lattice point (i, j) where i, j count 1/STEPS of a block; only points on a street exist.
    let side = n * STEPS + 1;
    let lattice_id = |i: i64, j: i64| 1 + i * side + j;
    let mut nodes = String::new();
    for i in 0..side {
        for j in 0..side {
            if i % STEPS == 0 || j % STEPS == 0 {
                let id = lattice_id(i, j);
                let lat = LAT0 + i as f64 * BLOCK_DEG / STEPS as f64 + JITTER_DEG * jitter(id, 1);
                let lon = LON0 + j as f64 * BLOCK_DEG / STEPS as f64 + JITTER_DEG * jitter(id, 2);
                writeln!(
                    nodes,
                    "<node id=\"{id}\" version=\"1\" lat=\"{lat:.7}\" lon=\"{lon:.7}\"/>"
                )?;
            }
        }
        w.write_all(nodes.as_bytes())?;
        nodes.clear();
    }
    let mut ids = Ids {
        next: side * side + 1,
    };
    let mut ways = String::new();
    let mut way_id = 0_i64;
    let mut write_way =
        |ways: &mut String, refs: &[i64], tags: &[(&str, &str)]| -> std::fmt::Result {
            way_id += 1;
            write!(ways, "<way id=\"{way_id}\" version=\"1\">")?;
            for r in refs {
                write!(ways, "<nd ref=\"{r}\"/>")?;
            }
            for (k, v) in tags {
                write!(ways, "<tag k=\"{k}\" v=\"{v}\"/>")?;
            }
            writeln!(ways, "</way>")
        };
    // Streets: rows and columns, ten blocks per way.
    let highway = |k: i64| {
        if k % 10 == 0 {
            "secondary"
        } else {
            "residential"
        }
    };
    for k in 0..=n {
        for start in (0..n).step_by(10) {
            let end = (start + 10).min(n);
            let row: Vec<i64> = (start * STEPS..=end * STEPS)
                .map(|j| lattice_id(k * STEPS, j))
                .collect();
            write_way(
                &mut ways,
                &row,
                &[("highway", highway(k)), ("name", "横街")],
            )?;
            let col: Vec<i64> = (start * STEPS..=end * STEPS)
                .map(|i| lattice_id(i, k * STEPS))
                .collect();
            write_way(
                &mut ways,
                &col,
                &[("highway", highway(k)), ("name", "纵街")],
            )?;
        }
    }
    // Blocks: buildings, a POI, footways and steps.
    for bi in 0..n {
        for bj in 0..n {
            let lat = LAT0 + bi as f64 * BLOCK_DEG;
            let lon = LON0 + bj as f64 * BLOCK_DEG;
            for (q, (dy, dx)) in [(0.2, 0.2), (0.2, 0.6), (0.6, 0.2), (0.6, 0.6)]
                .into_iter()
                .enumerate()
            {
                let corners = [(0.0, 0.0), (0.0, 0.25), (0.25, 0.25), (0.25, 0.0)];
                let mut refs = Vec::with_capacity(5);
                for (cy, cx) in corners {
                    let id = ids.take();
                    let (la, lo) = (
                        lat + (dy + cy) * BLOCK_DEG + JITTER_DEG * jitter(id, 1),
                        lon + (dx + cx) * BLOCK_DEG + JITTER_DEG * jitter(id, 2),
                    );
                    writeln!(
                        nodes,
                        "<node id=\"{id}\" version=\"1\" lat=\"{la:.7}\" lon=\"{lo:.7}\"/>"
                    )?;
                    refs.push(id);
                }
                refs.push(refs[0]);
                let levels = (6 + (bi + bj + q as i64) % 28).to_string();
                write_way(
                    &mut ways,
                    &refs,
                    &[("building", "residential"), ("building:levels", &levels)],
                )?;
            }
            let poi = ids.take();
            let (la, lo) = (lat + 0.5 * BLOCK_DEG, lon + 0.5 * BLOCK_DEG);
            write!(
                nodes,
                "<node id=\"{poi}\" version=\"1\" lat=\"{la:.7}\" lon=\"{lo:.7}\">"
            )?;
            for (k, v) in POI_TAGS[((bi * 31 + bj * 17) % POI_TAGS.len() as i64) as usize] {
                write!(nodes, "<tag k=\"{k}\" v=\"{v}\"/>")?;
            }
            writeln!(nodes, "</node>")?;
            let (sw, ne) = (
                lattice_id(bi * STEPS, bj * STEPS),
                lattice_id((bi + 1) * STEPS, (bj + 1) * STEPS),
            );
            if (bi + bj) % 5 == 0 {
                write_way(&mut ways, &[sw, poi, ne], &[("highway", "footway")])?;
            } else if (bi * 3 + bj) % 7 == 0 {
                write_way(&mut ways, &[sw, poi, ne], &[("highway", "steps")])?;
            }
        }
        w.write_all(nodes.as_bytes())?;
        nodes.clear();
    }
    w.write_all(ways.as_bytes())?;
    writeln!(w, "</osm>")?;
    w.flush()?;
    Ok(())
}
