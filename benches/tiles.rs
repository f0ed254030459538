//! Vector-tile benchmarks on the default data: the z14 composite (base-map) tile at the
//! middle of the subdistrict, made without the tile cache — once with the per-zoom prepared
//! geometry warm (what a server does after its first tiles), once from a freshly built tiler
//! (every feature simplified and snapped for the first time).

// Helpers may unwrap, expect and panic: a failing test or benchmark should stop loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::Path;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
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
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
