//! Shared helpers of the integration tests: the fixture, scratch copies of it, and requests
//! against the same `App` the server runs.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use actix_web::body::MessageBody;
use actix_web::dev::ServiceResponse;
use actix_web::test;
use servicemap::api::{AppState, app};
use servicemap::service::Service;

/// The default data directory (`geodata/`), or `$SERVICEMAP_GEODATA` to run the data-level
/// tests on another directory (an import).
pub fn geodata_dir() -> PathBuf {
    std::env::var_os("SERVICEMAP_GEODATA").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("geodata"),
        PathBuf::from,
    )
}

/// The default data, loaded once per test binary through the one loader.
pub fn geodata() -> &'static std::sync::Arc<Service> {
    static SVC: std::sync::OnceLock<std::sync::Arc<Service>> = std::sync::OnceLock::new();
    SVC.get_or_init(|| std::sync::Arc::new(Service::load(&geodata_dir()).expect("geodata loads")))
}

/// The hand-made fixture directory.
pub fn mini_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mini")
}

pub fn mini_service() -> Service {
    Service::load(&mini_dir()).expect("fixture loads")
}

/// A scratch copy of the fixture without the `drop` layers, in a directory unique to this
/// test process and `name`.
pub fn fixture_copy(name: &str, drop: &[&str]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("servicemap-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(mini_dir()).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        if drop.iter().any(|d| file == format!("{d}.geojson")) {
            continue;
        }
        std::fs::copy(&path, dir.join(&file)).unwrap();
    }
    dir
}

/// A response's status, content type and body.
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
    pub headers: actix_web::http::header::HeaderMap,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).to_string()
    }

    /// Assert an RFC 9457 problem with this status; returns the document.
    pub fn problem(&self, status: u16) -> serde_json::Value {
        assert_eq!(self.status, status, "status of {}", self.text());
        assert_eq!(
            self.content_type,
            "application/problem+json",
            "{}",
            self.text()
        );
        let p = self.json();
        for key in ["type", "title", "detail", "instance"] {
            assert!(
                p[key].as_str().is_some_and(|s| !s.is_empty()),
                "problem lacks {key}: {p}"
            );
        }
        assert_eq!(p["status"], status);
        p
    }
}

async fn reply<B: MessageBody>(res: ServiceResponse<B>) -> Reply {
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = test::read_body(res).await.to_vec();
    Reply {
        status,
        content_type,
        body,
        headers,
    }
}

/// Run requests against one app instance built from `service`.
pub struct Client<S> {
    app: S,
}

/// What a test client can be built from: a service to load into a fresh state, or a state
/// already shared by several clients.
pub trait IntoState {
    fn into_state(self) -> AppState;
}

impl IntoState for Service {
    fn into_state(self) -> AppState {
        AppState::new(self)
    }
}

/// A service shared by several tests (loaded once per test binary).
impl IntoState for std::sync::Arc<Service> {
    fn into_state(self) -> AppState {
        AppState::shared(self)
    }
}

impl IntoState for AppState {
    fn into_state(self) -> AppState {
        self
    }
}

/// Run requests against one app instance built from `state` (a service, or a shared, already
/// loaded state).
pub async fn client(
    state: impl IntoState,
) -> Client<
    impl actix_web::dev::Service<
        actix_http::Request,
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
    >,
> {
    Client {
        app: test::init_service(app(state.into_state())).await,
    }
}

impl<S, B> Client<S>
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: MessageBody,
{
    pub async fn get(&self, uri: &str) -> Reply {
        self.send(test::TestRequest::get().uri(uri)).await
    }

    pub async fn send(&self, req: test::TestRequest) -> Reply {
        match self.app.call(req.to_request()).await {
            Ok(res) => reply(res).await,
            // Errors that escape the middleware render themselves, as the server would.
            Err(e) => {
                let res = e.error_response();
                let status = res.status().as_u16();
                let headers = res.headers().clone();
                let content_type = headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                let body = actix_web::body::to_bytes(res.into_body())
                    .await
                    .map(|b| b.to_vec())
                    .unwrap_or_default();
                Reply {
                    status,
                    content_type,
                    body,
                    headers,
                }
            }
        }
    }
}

// ---- the real binary on a loopback port, for clients that speak HTTP (GDAL) ---------------

/// A running `servicemap serve`; killed when dropped, pass or fail.
pub struct Server(pub std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn healthy(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(2)));
    if s.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    buf.starts_with("HTTP/1.1 200")
}

/// Serve `dir` with the test build of the binary on a free loopback port.
pub fn serve(dir: &Path) -> (Server, u16) {
    let port = free_port();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_servicemap"))
        .args(["serve", "--data"])
        .arg(dir)
        .args(["--bind", &format!("127.0.0.1:{port}"), "--workers", "1"])
        .env("SERVICEMAP_LOG", "warn")
        .stdout(std::process::Stdio::null())
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
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A random small town for the folded-graph oracle tests: 2–12 × 2–12 blocks, up to half the
/// streets missing, some stairs, flat or hilly, 0–6 shape points a walkway (the degree-2
/// chains the folding walks), sometimes a river.
pub fn random_town_spec(
    rng: &mut rand_chacha::ChaCha8Rng,
    seed: u64,
) -> servicemap::walk::synthetic::TownSpec {
    use rand::Rng;
    let mut spec = servicemap::walk::synthetic::TownSpec::small(seed);
    spec.nx = rng.random_range(2..=12);
    spec.ny = rng.random_range(2..=12);
    spec.p_missing = rng.random_range(0.0..0.5);
    spec.p_stairs = rng.random_range(0.0..0.4);
    spec.relief_m = if rng.random_bool(0.2) {
        0.0
    } else {
        rng.random_range(5.0..80.0)
    };
    spec.shape_points = rng.random_range(0..=6);
    spec.river = spec.ny >= 5 && rng.random_bool(0.3);
    spec
}

/// A walkway from local-metre points around (106.53, 29.47), with their elevations: the
/// hand-made networks of the folded-graph oracle tests.
pub fn walkway(
    kind: servicemap::model::WalkwayKind,
    pts: &[(f64, f64)],
    elev: &[f64],
) -> servicemap::model::Walkway {
    let proj = servicemap::model::LocalProj::new(106.53, 29.47);
    servicemap::model::Walkway {
        id: "w".into(),
        kind,
        name: None,
        lonlat: pts.iter().map(|&(x, y)| proj.to_lonlat(x, y)).collect(),
        elevation_m: Some(elev.to_vec()),
    }
}
