//! GDAL's OGC API – Features driver against the real binary: `ogrinfo` must list every layer
//! and read items with a spatial filter. Needs `ogrinfo` (Debian: gdal-bin); CI installs it.

// Test helpers may unwrap, expect and panic: a failing test should stop loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::process::Command;

fn ogrinfo(args: &[&str]) -> String {
    let out = match Command::new("ogrinfo").args(args).output() {
        Ok(out) => out,
        Err(e) => panic!(
            "cannot run ogrinfo ({e}): install GDAL's command-line tools (Debian/Ubuntu: apt-get install gdal-bin)"
        ),
    };
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        out.status.success(),
        "ogrinfo {args:?} failed:\n{stdout}\n{stderr}"
    );
    assert!(
        !stderr.contains("ERROR"),
        "ogrinfo {args:?} reported errors:\n{stderr}"
    );
    stdout
}

#[test]
fn ogrinfo_lists_every_layer_and_reads_with_a_spatial_filter() {
    let (_server, port) = common::serve(&common::mini_dir());
    let url = format!("OAPIF:http://127.0.0.1:{port}");

    let summary = ogrinfo(&["-ro", "-al", "-so", &url]);
    for layer in [
        "boundary",
        "communities",
        "grids",
        "microgrids",
        "buildings",
        "compounds",
        "facilities",
        "water",
        "walkways",
    ] {
        assert!(
            summary.contains(&format!("Layer name: {layer}\n")),
            "layer {layer} not listed:\n{summary}"
        );
    }
    assert!(
        summary.contains("Feature Count: 15"),
        "facilities count:\n{summary}"
    );

    let items = ogrinfo(&[
        "-ro",
        &url,
        "facilities",
        "-spat",
        "106.52",
        "29.46",
        "106.54",
        "29.48",
    ]);
    let n = items.matches("OGRFeature(facilities)").count();
    assert_eq!(n, 15, "every fixture facility lies in the box:\n{items}");
    assert!(items.contains("POINT (106.5235 29.4655)"), "{items}");

    // A smaller box: only what lies in it (GDAL pages through `next` links).
    let sw = ogrinfo(&[
        "-ro",
        &url,
        "facilities",
        "-spat",
        "106.52",
        "29.46",
        "106.525",
        "29.465",
    ]);
    assert_eq!(sw.matches("OGRFeature(facilities)").count(), 1, "{sw}");

    let walk = ogrinfo(&[
        "-ro", &url, "walkways", "-spat", "106.52", "29.46", "106.53", "29.47",
    ]);
    assert!(
        walk.contains("LINESTRING Z"),
        "walkways keep elevation:\n{walk}"
    );
}
