//! What the tiler's per-zoom prepared geometry costs (issue 11 against issue 15's memory
//! targets): render every composite tile of the data's extent zoom by zoom, uncached, and
//! print the bytes the tiler keeps for it (MVT commands per feature and zoom, the per-zoom
//! slot tables, the interned tile properties) beside the process's VmRSS, and what the same
//! geometry would take as `f64` vertex pairs (how it was kept before). Linux only.
//!
//!   cargo run --release --example tile_memory -- [DATA_DIR]     # default: geodata

use std::path::PathBuf;

use geo::CoordsIter;
use servicemap::tiles::{PixelGeom, Source, TileId, Tiler, ZOOM_MAX, ZOOM_MIN, matrix, prepare};

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Heap bytes of a prepared geometry kept as geo's `f64` types.
fn f64_bytes(g: &PixelGeom) -> usize {
    match g {
        PixelGeom::Point(_) => 16,
        PixelGeom::Lines(m) => 24 + m.0.len() * 24 + m.coords_count() * 16,
        PixelGeom::Areas(m) => {
            24 + m
                .0
                .iter()
                .map(|p| 48 + p.interiors().len() * 24)
                .sum::<usize>()
                + m.coords_count() * 16
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "geodata".into()));
    let ds = servicemap::store::read_dir(&dir)?;
    let tiler = Tiler::build(&ds);
    let b = tiler.bounds().ok_or("the data has no extent")?;
    println!("start: VmRSS {} kB", rss_kb());
    // The same features as f64 pairs (what the zooms' entries held before), zooms so far.
    let mut as_f64 = 0;
    for z in ZOOM_MIN..=ZOOM_MAX {
        let (c0, r0, c1, r1) = matrix::tile_range(z, b);
        let mut n = 0;
        for y in r0..=r1 {
            for x in c0..=c1 {
                let t = TileId::new(z.into(), x, y)?;
                tiler.render(&Source::Composite, t, None)?;
                n += 1;
            }
        }
        for l in tiler.layers() {
            for (i, f) in ds.layer(l.id).unwrap_or(&[]).iter().enumerate() {
                if l.is_prepared(i, z) {
                    let world = geo::MapCoords::map_coords(&f.geometry, |c| {
                        let (x, y) = matrix::lonlat_to_world(c.x, c.y);
                        geo::Coord { x, y }
                    });
                    as_f64 += prepare::prepare(&world, z).map_or(0, |p| f64_bytes(&p.geom));
                }
            }
        }
        println!(
            "after z{z:<2} ({n:>5} tiles): kept {:>6} kB (geometry as f64 pairs {:>6} kB)  VmRSS {:>6} kB",
            tiler.prepared_bytes() / 1024,
            as_f64 / 1024,
            rss_kb()
        );
    }
    Ok(())
}
