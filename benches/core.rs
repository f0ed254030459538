//! In-process query costs: nearest (k=5) and locate, on the fixture or on the directory named
//! by `SERVICEMAP_BENCH_DATA` (e.g. `SERVICEMAP_BENCH_DATA=geodata cargo bench --bench core`).

// A benchmark or tool whose setup fails should stop loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use servicemap::service::Service;

fn data_dir() -> PathBuf {
    std::env::var_os("SERVICEMAP_BENCH_DATA").map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mini")),
        PathBuf::from,
    )
}

/// Query points spread over the data's extent, fixed seed.
fn points(svc: &Service, n: usize) -> Vec<(f64, f64)> {
    let [x0, y0, x1, y1] = svc
        .dataset
        .layers
        .keys()
        .filter_map(|l| svc.indexes.layer(*l).and_then(|li| li.extent))
        .reduce(|a, b| {
            [
                a[0].min(b[0]),
                a[1].min(b[1]),
                a[2].max(b[2]),
                a[3].max(b[3]),
            ]
        })
        .expect("data has an extent");
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    (0..n)
        .map(|_| (rng.random_range(x0..x1), rng.random_range(y0..y1)))
        .collect()
}

fn bench(c: &mut Criterion) {
    let dir = data_dir();
    let svc = Service::load(&dir).expect("bench data loads");
    let pts = points(&svc, 1024);
    let one = [svc
        .indexes
        .facility_categories()
        .next()
        .expect("some facility")
        .to_string()];

    let mut i = 0;
    c.bench_function("nearest_straight k=5, one category", |b| {
        b.iter(|| {
            i = (i + 1) % pts.len();
            let (lon, lat) = pts[i];
            black_box(svc.indexes.nearest_straight(lon, lat, Some(&one), 5, None))
        });
    });
    c.bench_function("nearest_straight k=5, every category", |b| {
        b.iter(|| {
            i = (i + 1) % pts.len();
            let (lon, lat) = pts[i];
            black_box(
                svc.indexes
                    .nearest_straight::<String>(lon, lat, None, 5, None),
            )
        });
    });
    c.bench_function("locate", |b| {
        b.iter(|| {
            i = (i + 1) % pts.len();
            let (lon, lat) = pts[i];
            black_box(svc.indexes.locate(lon, lat))
        });
    });
    // /nearest's answer bytes: the facility Features spliced from the bytes serialised at
    // load (issue 15), for the straight-line k=5 answer of one category.
    c.bench_function("nearest straight k=5 rendered (spliced bytes)", |b| {
        let mut out = Vec::with_capacity(8192);
        b.iter(|| {
            i = (i + 1) % pts.len();
            let (lon, lat) = pts[i];
            let qs = format!("lon={lon}&lat={lat}&k=5&mode=straight&category={}", one[0]);
            let p = servicemap::api::nearest::parse(&qs, &svc).expect("parses");
            let mut s = servicemap::walk::Searcher::new();
            let answer = svc.nearest(&p.req, &mut s).expect("answers");
            out.clear();
            servicemap::api::nearest::write_collection(&svc, &p, &answer, &mut out)
                .expect("renders");
            black_box(out.len())
        });
    });
    // The batch endpoint's engine: walking nearest (k=5, one category) of 1,024 origins on
    // every core; divide by 1,024 for the amortised cost of one origin.
    if svc.walk.is_some() {
        let origins: Vec<servicemap::model::LonLat> = pts
            .iter()
            .map(|&(lon, lat)| servicemap::model::LonLat { lon, lat })
            .collect();
        let qs = format!("k=5&max_min=60&category={}", one[0]);
        let (p, _) = servicemap::api::nearest::parse_options(&qs, &svc).expect("parses");
        c.bench_function("nearest_many walk k=5, 1024 origins", |b| {
            b.iter(|| {
                black_box(
                    svc.nearest_many(&origins, &p.req, None)
                        .expect("answers")
                        .len(),
                )
            });
        });
    }
    c.bench_function("start-up: Service::load", |b| {
        b.iter(|| black_box(Service::load(&dir).expect("loads")));
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
