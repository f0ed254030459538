//! GDAL's OGC API – Features driver against the real binary: `ogrinfo` must list every layer
//! and read items with a spatial filter. Needs `ogrinfo` (Debian: gdal-bin); CI installs it.

// Test helpers may unwrap, expect and panic: a failing test should stop loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Kills the server when the test ends, pass or fail.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn healthy(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    buf.starts_with("HTTP/1.1 200")
}

fn start() -> (Server, u16) {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_servicemap"))
        .args(["serve", "--data"])
        .arg(common::mini_dir())
        .args(["--bind", &format!("127.0.0.1:{port}"), "--workers", "1"])
        .env("SERVICEMAP_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("the servicemap binary starts");
    let mut server = Server(child);
    // Wait for readiness by polling, not by a deadline: a loaded CI machine is only slower.
    loop {
        if healthy(port) {
            return (server, port);
        }
        if let Some(status) = server.0.try_wait().unwrap() {
            panic!("servicemap serve exited early with {status}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

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
    let (_server, port) = start();
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
