//! Crash test of the edit journal (issue 12): the real binary on a scratch copy of the
//! fixture, up to 1,000 concurrent authenticated writes a round, `kill -9` at a random moment,
//! 10 rounds. After every restart each acknowledged write is present, no feature is half
//! written (every edited feature is exactly one that was sent), `servicemap validate` passes
//! on the directory, and the debug log never holds the token.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use servicemap::edit::Role;
use servicemap::edit::tokens::new_token;
use servicemap::model::LayerId;

mod common;

const ROUNDS: usize = 10;
const WRITES_PER_ROUND: usize = 1000;
const CLIENTS: usize = 16;

/// One HTTP/1.1 request on its own connection; `None` when the server is gone.
fn http(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{auth}Content-Type: application/geo+json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let status = out.split(' ').nth(1)?.parse().ok()?;
    let body = out
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    Some((status, body))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(dir: &Path, tokens: &Path, log: &Path) -> (Child, u16) {
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_servicemap"))
        .args(["serve", "--data"])
        .arg(dir)
        .args(["--bind", &format!("127.0.0.1:{port}"), "--tokens"])
        .arg(tokens)
        .args([
            "--write-rate",
            "1000000",
            "--write-burst",
            "1000000",
            "--workers",
            "2",
        ])
        .env("SERVICEMAP_LOG", "debug")
        .stdout(Stdio::null())
        .stderr(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .unwrap(),
        )
        .spawn()
        .unwrap();
    // Wait for /healthz (start-up replays and compacts the journal first).
    loop {
        if http(port, "GET", "/healthz", None, "").is_some_and(|(s, _)| s == 200) {
            return (child, port);
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "the server exited ({status}): {}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A new elder canteen at a random point inside the fixture's grids.
fn canteen(id: &str, rng: &mut ChaCha8Rng) -> Value {
    json!({
        "type": "Feature",
        "id": id,
        "geometry": {"type": "Point", "coordinates": [
            106.5205 + rng.random_range(0.0..0.019),
            29.4605 + rng.random_range(0.0..0.019),
        ]},
        "properties": {"name": format!("食堂 {id}"), "category": "elder_canteen"},
    })
}

#[test]
fn acknowledged_writes_survive_kill_9() {
    let dir = common::fixture_copy("crash", &[]);
    let work = dir.with_extension("crash-work");
    std::fs::create_dir_all(&work).unwrap();
    let (token, line) = new_token("crash", &Role::Editor).unwrap();
    let tokens = work.join("tokens");
    std::fs::write(&tokens, format!("{line}\n")).unwrap();
    let log = work.join("server.log");
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    // Every body sent, by id, and the ids acknowledged (201).
    let mut sent: BTreeMap<String, Value> = BTreeMap::new();
    let mut acked: BTreeSet<String> = BTreeSet::new();
    let originals: BTreeSet<String> = servicemap::store::read_dir(&dir)
        .unwrap()
        .layer(LayerId::Facilities)
        .unwrap()
        .iter()
        .map(|f| f.id.clone())
        .collect();

    for round in 0..ROUNDS {
        let (mut server, port) = start(&dir, &tokens, &log);
        let bodies: Vec<(String, Value)> = (0..WRITES_PER_ROUND)
            .map(|i| {
                let id = format!("crash-{round}-{i}");
                let b = canteen(&id, &mut rng);
                (id, b)
            })
            .collect();
        for (id, b) in &bodies {
            sent.insert(id.clone(), b.clone());
        }
        let queue = Arc::new(Mutex::new(bodies));
        let round_acked = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..CLIENTS)
            .map(|_| {
                let (queue, round_acked, stop, token) = (
                    queue.clone(),
                    round_acked.clone(),
                    stop.clone(),
                    token.clone(),
                );
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let Some((id, body)) = queue.lock().unwrap().pop() else {
                            return;
                        };
                        match http(
                            port,
                            "POST",
                            "/collections/facilities/items",
                            Some(&token),
                            &body.to_string(),
                        ) {
                            Some((201, _)) => round_acked.lock().unwrap().push(id),
                            Some((status, text)) => {
                                panic!("{id}: {status} {text}")
                            }
                            None => return, // the server was killed mid-request
                        }
                    }
                })
            })
            .collect();
        // Kill at a random moment of the burst (the last round lets it finish first).
        if round + 1 < ROUNDS {
            std::thread::sleep(Duration::from_millis(rng.random_range(20..1500)));
        } else {
            while !queue.lock().unwrap().is_empty() {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        server.kill().unwrap(); // SIGKILL
        server.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
        for c in clients {
            c.join().unwrap();
        }
        let n = round_acked.lock().unwrap().len();
        eprintln!("round {round}: {n} of {WRITES_PER_ROUND} writes acknowledged before kill -9");
        acked.extend(round_acked.lock().unwrap().drain(..));

        // Restart: replay and compaction, then the files hold every acknowledged write.
        let (mut server, port) = start(&dir, &tokens, &log);
        let (status, _) = http(port, "GET", "/changes?limit=1", None, "").unwrap();
        assert_eq!(status, 200);
        server.kill().unwrap();
        server.wait().unwrap();
        let ds = servicemap::store::read_dir(&dir).unwrap();
        let present: BTreeMap<&str, &servicemap::model::Feature> = ds
            .layer(LayerId::Facilities)
            .unwrap()
            .iter()
            .map(|f| (f.id.as_str(), f))
            .collect();
        for id in &acked {
            assert!(
                present.contains_key(id.as_str()),
                "round {round}: acknowledged {id} lost"
            );
        }
        for (id, f) in &present {
            if originals.contains(*id) {
                continue;
            }
            let body = sent
                .get(*id)
                .unwrap_or_else(|| panic!("{id} was never sent"));
            assert_eq!(
                Value::from(&f.properties),
                body["properties"],
                "{id} is not the feature sent"
            );
        }
        let out = Command::new(env!("CARGO_BIN_EXE_servicemap"))
            .arg("validate")
            .arg(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "round {round}: validate fails: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    assert!(
        acked.len() >= WRITES_PER_ROUND,
        "the last round runs to the end"
    );

    // A wrong token too, then the log: it must hold neither.
    let (mut server, port) = start(&dir, &tokens, &log);
    let wrong = "not-a-real-token-0123456789";
    let (status, _) = http(
        port,
        "DELETE",
        "/collections/facilities/items/f01",
        Some(wrong),
        "",
    )
    .unwrap();
    assert_eq!(status, 401);
    // SIGHUP re-reads a hand edit (POST /admin/reload is tested in tests/edits.rs).
    let path = dir.join("facilities.geojson");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replacen("林荫社区老年食堂", "林荫社区长者食堂", 1),
    )
    .unwrap();
    // The shell's own `kill`: a fresh Debian image may lack procps' /bin/kill.
    let hup = Command::new("sh")
        .args(["-c", &format!("kill -HUP {}", server.id())])
        .status()
        .unwrap();
    assert!(hup.success());
    let renamed = (0..1200).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        http(port, "GET", "/collections/facilities/items/f01", None, "")
            .is_some_and(|(_, body)| body.contains("林荫社区长者食堂"))
    });
    assert!(renamed, "SIGHUP did not reload the directory");
    server.kill().unwrap();
    server.wait().unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("writes committed"),
        "the debug log is captured"
    );
    assert!(!text.contains(&token), "the token appears in the log");
    assert!(!text.contains(wrong), "a wrong token appears in the log");
    std::fs::remove_dir_all(&dir).ok();
    std::fs::remove_dir_all(&work).ok();
}
