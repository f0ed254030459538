//! Where the resident memory of a loaded service goes, stage by stage (issue 15's memory
//! target): VmRSS from /proc/self/status after reading, validating, indexing, the walking
//! world and the tiles, with the time of each stage. Linux only.
//!
//!   cargo run --release --example memory_stages -- [DATA_DIR]     # default: geodata

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use servicemap::analysis::WalkWorld;
use servicemap::index::Indexes;
use servicemap::tiles::Tiler;
use servicemap::walk::DEFAULT_MAX_SNAP_M;

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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "geodata".into()));
    let mut last = rss_kb();
    let mut t = Instant::now();
    let mut stage = |name: &str| {
        let now = rss_kb();
        println!(
            "{name:<28} {:>7.1} ms  VmRSS {:>7} kB  (+{} kB)",
            t.elapsed().as_secs_f64() * 1e3,
            now,
            now.saturating_sub(last)
        );
        last = now;
        t = Instant::now();
    };
    stage("start");
    let ds = servicemap::store::read_dir(&dir)?;
    stage("read layers");
    // A second copy while the first is alive: what a dataset keeps (the first read's growth
    // also holds the parser's transient peak, which the allocator keeps for reuse).
    let copy = servicemap::store::read_dir(&dir)?;
    stage("read layers again (kept)");
    drop(copy);
    stage("dropped the copy");
    let report = servicemap::store::validate(&ds);
    drop(report);
    stage("validate");
    let idx = Indexes::build(&ds)?;
    stage("indexes + facilities");
    let world = Arc::new(WalkWorld::build(&ds, &idx, DEFAULT_MAX_SNAP_M)?);
    stage("walking world");
    let tiles = Tiler::build(&ds);
    stage("tiles");
    drop((tiles, world, idx, ds));
    stage("dropped everything");
    let t0 = Instant::now();
    let svc = servicemap::service::Service::load(&dir)?;
    println!(
        "Service::load {:.1} ms, VmRSS {} kB",
        t0.elapsed().as_secs_f64() * 1e3,
        rss_kb()
    );
    drop(svc);
    Ok(())
}
