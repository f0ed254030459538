//! Per-tile render times of the composite source at one zoom, uncached (prepared geometry
//! warm, as `benches/tiles.rs`): each tile of the data's extent rendered `REPS` times, its
//! median taken, then the p50 / p90 / max over the tiles — issue 11's "a z14 tile p50 ≤ 1 ms"
//! read over every tile a client may ask for, beside the bench's single densest tile.
//!
//!     cargo run --release --example tile_times [ZOOM=14] [REPS=101]

// A measuring tool: a broken data directory should stop it loudly.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::Path;
use std::time::Instant;

use servicemap::tiles::{Source, TileId, Tiler, matrix};

fn main() {
    let mut args = std::env::args().skip(1);
    let z: u8 = args.next().map_or(14, |s| s.parse().expect("zoom"));
    let reps: usize = args.next().map_or(101, |s| s.parse().expect("repetitions"));
    let ds =
        servicemap::store::read_dir(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/geodata")))
            .expect("geodata");
    let tiler = Tiler::build(&ds);
    let b = tiler.bounds().expect("data has an extent");
    let (c0, r0, c1, r1) = matrix::tile_range(z, b);
    let tiles: Vec<TileId> = (r0..=r1)
        .flat_map(|y| (c0..=c1).map(move |x| (x, y)))
        .map(|(x, y)| TileId::new(z.into(), x, y).expect("tile in range"))
        .collect();
    // Warm: every feature prepared for the zoom once, as after a server's first tiles. Tiles
    // of the extent's corners that hold nothing are left out: they would flatter the p50.
    let all = tiles.len();
    let tiles: Vec<TileId> = tiles
        .into_iter()
        .filter(|&t| {
            !tiler
                .render(&Source::Composite, t, None)
                .expect("renders")
                .is_empty()
        })
        .collect();
    let mut medians_us: Vec<f64> = tiles
        .iter()
        .map(|&t| {
            let mut us: Vec<f64> = (0..reps)
                .map(|_| {
                    let s = Instant::now();
                    let bytes = tiler.render(&Source::Composite, t, None).expect("renders");
                    std::hint::black_box(bytes);
                    s.elapsed().as_secs_f64() * 1e6
                })
                .collect();
            us.sort_by(f64::total_cmp);
            us[us.len() / 2]
        })
        .collect();
    medians_us.sort_by(f64::total_cmp);
    let at = |q: f64| medians_us[((medians_us.len() - 1) as f64 * q).round() as usize];
    println!(
        "z{z}: {} tiles holding features (of {all} in the extent), median render per tile: \
         p50 {:.0} µs, p90 {:.0} µs, max {:.0} µs",
        tiles.len(),
        at(0.5),
        at(0.9),
        at(1.0)
    );
}
