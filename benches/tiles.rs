//! Vector-tile benchmarks on the default data: the z14 composite (base-map) tile at the
//! middle of the subdistrict, made without the tile cache — once with the per-zoom prepared
//! geometry warm (what a server does after its first tiles: every feature of the tile already
//! simplified, snapped and MVT-encoded for z14, the layers' properties interned; no tile
//! bytes cached), once from a freshly built tiler (the cold first tile: all of that done for
//! the first time) — and the tile list of the
//! HTTP benchmarks (bench/tiles/tilelist.py: every tile of the data's extent) at z12, z14 and
//! z16, uncached, reported per tile. Target (issue 11): z14 composite p50 <= 1 ms uncached;
//! criterion's median of the first benchmark is that p50.

// Helpers may unwrap, expect and panic: a failing test or benchmark should stop loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::Path;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use servicemap::tiles::{Source, TileId, Tiler, matrix};

fn bench(c: &mut Criterion) {
    let ds =
        servicemap::store::read_dir(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/geodata")))
            .expect("geodata");
    let tiler = Tiler::build(&ds);
    let b = tiler.bounds().expect("data has an extent");
    let (x, y) = matrix::tile_of(14, (b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0);
    let tile = TileId::new(14, x, y).expect("tile in range");
    let bytes = tiler
        .render(&Source::Composite, tile, None)
        .expect("renders");
    assert!(!bytes.is_empty(), "the middle tile holds features");
    c.bench_function(
        "z14 composite tile, uncached (prepared geometry warm)",
        |bn| {
            bn.iter(|| tiler.render(&Source::Composite, tile, None));
        },
    );
    c.bench_function(
        "z14 composite tile, cold tiler (first use of every feature)",
        |bn| {
            bn.iter_batched(
                || Tiler::build(&ds),
                |t| t.render(&Source::Composite, tile, None),
                BatchSize::LargeInput,
            );
        },
    );
    // The same list as the wrk and Martin runs: every tile of the data's extent per zoom.
    let mut group = c.benchmark_group("composite tile list, uncached, per tile");
    for z in [12u8, 14, 16] {
        let (c0, r0, c1, r1) = matrix::tile_range(z, b);
        let tiles: Vec<TileId> = (r0..=r1)
            .flat_map(|y| (c0..=c1).map(move |x| (x, y)))
            .map(|(x, y)| TileId::new(z.into(), x, y).expect("tile in range"))
            .collect();
        group.throughput(Throughput::Elements(tiles.len() as u64));
        group.bench_function(format!("z{z} ({} tiles)", tiles.len()), |bn| {
            bn.iter(|| {
                for &t in &tiles {
                    tiler.render(&Source::Composite, t, None).expect("renders");
                }
            });
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
