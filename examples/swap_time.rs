//! Time the writer's next snapshot after one edit, in process (no HTTP, no fsync): the
//! validation of the edited data and the build of the next `Service`, each stage in the debug
//! log. Issue 12 budgets a walkway edit's swap at 50 ms on the default data.
//!
//! The edit sets a `note` property; with `--move` it also moves one inner vertex of the
//! feature by ~10 cm (a walkway then walks differently: the graph is rebuilt; an edit the
//! rules refuse, e.g. a shared vertex pulled apart, is skipped and counted).
//!
//! ```text
//! RUST_LOG=servicemap=debug cargo run --release --example swap_time -- geodata walkways 5 [--move]
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
    let moving = args.iter().any(|a| a == "--move");
    let mut refused = 0;
    let (base, _) = store::load_valid(&dir)?;
    let mut prev = Service::from_dataset(base.clone())?;
    let mut base = base;
    let mut ms = Vec::new();
    for round in 0..rounds * 4 {
        if ms.len() == rounds {
            break;
        }
        let f = &base.layer(layer).ok_or("layer absent")?[round * 7];
        let mut after = f.clone();
        after
            .properties
            .insert("note", format!("swap_time {round}").as_str().into());
        if moving {
            let i = std::cell::Cell::new(0);
            geo::MapCoordsInPlace::map_coords_in_place(&mut after.geometry, |c| {
                i.set(i.get() + 1);
                if i.get() == 2 {
                    geo::Coord {
                        x: c.x + 1e-6,
                        y: c.y + 1e-6,
                    }
                } else {
                    c
                }
            });
        }
        let t = Instant::now();
        let mut next = base.clone();
        let id = after.id.clone();
        edit::apply(&mut next, layer, &id, Some(after));
        let clone_ms = t.elapsed().as_secs_f64() * 1e3;
        let t_validate = Instant::now();
        let violations = store::validate_change(&next, &base, &[layer]);
        if !violations.is_empty() {
            refused += 1;
            continue;
        }
        let validate_ms = t_validate.elapsed().as_secs_f64() * 1e3;
        let t_build = Instant::now();
        let service = edit::next_snapshot(&prev, &next, &[layer])?;
        let build_ms = t_build.elapsed().as_secs_f64() * 1e3;
        // The writer applies in place (no clone of its own): its swap is validate + build.
        let swap = validate_ms + build_ms;
        println!(
            "{layer} edit {round}: (clone+apply here {clone_ms:.1} ms) validate {validate_ms:.1} ms + build {build_ms:.1} ms = swap {swap:.1} ms"
        );
        ms.push(swap);
        prev = service;
        base = next;
    }
    ms.sort_by(f64::total_cmp);
    println!(
        "median swap {:.1} ms of {} edits ({refused} refused by the rules, not timed)",
        ms[ms.len() / 2],
        ms.len()
    );
    Ok(())
}
