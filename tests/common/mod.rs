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

pub async fn client(
    service: Service,
) -> Client<
    impl actix_web::dev::Service<
        actix_http::Request,
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
    >,
> {
    client_of(AppState::new(service)).await
}

/// Run requests against one app instance built from `state` (a shared, already loaded service).
pub async fn client_of(
    state: AppState,
) -> Client<
    impl actix_web::dev::Service<
        actix_http::Request,
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
    >,
> {
    Client {
        app: test::init_service(app(state)).await,
    }
}

/// Like [`client`], over a service shared by several tests (loaded once per test binary).
pub async fn client_shared(
    service: std::sync::Arc<Service>,
) -> Client<
    impl actix_web::dev::Service<
        actix_http::Request,
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
    >,
> {
    client_of(AppState::shared(service)).await
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
