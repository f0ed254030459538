//! Time the writer's next snapshot after one edit, in process (no HTTP, no fsync): the
//! validation of the edited data and the build of the next `Service`, each stage in the debug
//! log. Issue 12 budgets a walkway edit's swap at 50 ms on the default data.
//!
//! ```text
//! RUST_LOG=servicemap=debug cargo run --release --example swap_time -- geodata walkways 5
//! ```

// A benchmark or tool whose setup fails should stop loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::PathBuf;
use std::time::Instant;

use servicemap::edit;
use servicemap::model::LayerId;
use servicemap::service::Service;
use servicemap::store;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = PathBuf::from(args.first().map_or("geodata", String::as_str));
    let layer =
        LayerId::parse(args.get(1).map_or("walkways", String::as_str)).ok_or("unknown layer")?;
    let rounds: usize = args.get(2).map_or(Ok(5), |s| s.parse())?;
    let (base, _) = store::load_valid(&dir)?;
    let mut prev = Service::from_dataset(base.clone())?;
    let mut base = base;
    let mut ms = Vec::new();
    for round in 0..rounds {
        let f = &base.layer(layer).ok_or("layer absent")?[round * 7];
        let mut after = f.clone();
        after
            .properties
            .insert("note".into(), format!("swap_time {round}").into());
        let t = Instant::now();
        let mut next = base.clone();
        let id = after.id.clone();
        edit::apply(&mut next, layer, &id, Some(after));
        let clone_ms = t.elapsed().as_secs_f64() * 1e3;
        let t_validate = Instant::now();
        let violations = store::validate_change(&next, &base, &[layer]);
        assert!(violations.is_empty(), "{violations:?}");
        let validate_ms = t_validate.elapsed().as_secs_f64() * 1e3;
        let t_build = Instant::now();
        let service = edit::next_snapshot(&prev, &next, &[layer])?;
        let build_ms = t_build.elapsed().as_secs_f64() * 1e3;
        let total = t.elapsed().as_secs_f64() * 1e3;
        println!(
            "{layer} edit {round}: clone+apply {clone_ms:.1} ms, validate {validate_ms:.1} ms, build {build_ms:.1} ms, total {total:.1} ms"
        );
        ms.push(total);
        prev = service;
        base = next;
    }
    ms.sort_by(f64::total_cmp);
    println!("median {:.1} ms", ms[ms.len() / 2]);
    Ok(())
}
