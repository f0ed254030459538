//! HTTP API (actix-web): wiring only. Each resource has its own file; the answers come from
//! [`crate::service::Service`] and [`crate::index`], which know nothing about HTTP.
//!
//! Tests and the server use the same wiring: [`app`] builds the whole `App` from an
//! [`AppState`], and [`ROUTES`] is the single table of routes (the contract test checks it
//! against `openapi.yaml`).

pub mod audit;
pub mod categories;
pub mod coverage;
pub mod edits;
pub mod error;
pub mod features;
pub mod frame;
pub mod gaps;
pub mod health;
pub mod isochrone;
pub mod locate;
pub mod metrics;
pub mod nearest;
pub mod nearest_batch;
pub mod openapi;
pub mod page;
pub mod params;
pub mod profiles;
pub mod scenarios;
pub mod siting;
pub mod snapshot;
pub mod tiles;
pub mod timeout;
pub mod walk;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{App, HttpRequest, HttpServer, web};
use clap::Args;

use crate::service::Service;
use snapshot::Live;

pub use error::{ApiError, ProblemKind};
pub use metrics::Metrics;

/// Flags of `servicemap serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Data directory to serve.
    #[arg(long = "data", env = "SERVICEMAP_DATA", default_value = "geodata")]
    pub data_dir: PathBuf,
    /// Address to bind.
    #[arg(long, env = "SERVICEMAP_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// Allowed CORS origins, comma-separated; `*` allows any.
    #[arg(long, env = "SERVICEMAP_CORS_ORIGINS", default_value = "*")]
    pub cors_origins: String,
    /// HTTP worker threads; 0 means one per CPU core.
    #[arg(long, env = "SERVICEMAP_WORKERS", default_value_t = 0)]
    pub workers: usize,
    /// Bearer tokens allowed to write, one `NAME ROLE ARGON2-HASH` a line (make lines with
    /// `servicemap token`). `SERVICEMAP_TOKENS` may hold the same lines instead.
    #[arg(long = "tokens", env = "SERVICEMAP_TOKENS_FILE")]
    pub tokens_file: Option<PathBuf>,
    /// Writes a second each token may make on average (429 with Retry-After beyond).
    #[arg(long, env = "SERVICEMAP_WRITE_RATE", default_value_t = 50.0)]
    pub write_rate: f64,
    /// Writes a token may make in a burst before the rate applies.
    #[arg(long, env = "SERVICEMAP_WRITE_BURST", default_value_t = 200.0)]
    pub write_burst: f64,
    /// Largest write body in bytes (413 beyond).
    #[arg(long, env = "SERVICEMAP_BODY_MAX_BYTES", default_value_t = edits::BODY_MAX_BYTES_DEFAULT)]
    pub body_max_bytes: usize,
    /// Seconds any request may take before it is answered with a 503 `timeout` problem.
    #[arg(long, env = "SERVICEMAP_REQUEST_TIMEOUT_S", default_value_t = timeout::REQUEST_TIMEOUT_S_DEFAULT, value_parser = parse_timeout_s)]
    pub request_timeout_s: f64,
    /// Megabytes the walking-nearest tables may take (over it, queries search instead).
    #[arg(long, env = "SERVICEMAP_NEAREST_TABLES_MB", default_value_t = crate::budgets::NEAREST_TABLES_BYTES >> 20)]
    pub nearest_tables_mb: usize,
    /// Megabytes of finished vector tiles kept.
    #[arg(long, env = "SERVICEMAP_TILE_CACHE_MB", default_value_t = crate::budgets::TILE_CACHE_BYTES >> 20)]
    pub tile_cache_mb: usize,
    /// Megabytes of tile geometry kept prepared (least recently drawn zooms dropped beyond).
    #[arg(long, env = "SERVICEMAP_TILE_GEOMETRY_MB", default_value_t = crate::budgets::TILE_GEOMETRY_BYTES >> 20)]
    pub tile_geometry_mb: usize,
}

/// `--request-timeout-s`: a positive, finite number of seconds.
fn parse_timeout_s(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= 86_400.0 => Ok(v),
        _ => Err(format!("'{s}' is not a number of seconds in (0, 86400]")),
    }
}

/// Which origins may call the API from a browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigins {
    Any,
    List(Vec<String>),
}

impl CorsOrigins {
    /// Parse `--cors-origins`: `*`, or origins separated by commas.
    #[must_use]
    pub fn parse(s: &str) -> CorsOrigins {
        let list: Vec<String> = s
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(str::to_string)
            .collect();
        if list.is_empty() || list.iter().any(|o| o == "*") {
            CorsOrigins::Any
        } else {
            CorsOrigins::List(list)
        }
    }

    fn middleware(&self) -> Cors {
        let base = Cors::default()
            .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
            .allow_any_header()
            .expose_headers(["ETag", "Location", "Retry-After"])
            .max_age(3600);
        match self {
            CorsOrigins::Any => base.allow_any_origin().send_wildcard(),
            CorsOrigins::List(list) => list.iter().fold(base, |c, o| c.allowed_origin(o)),
        }
    }
}

/// Everything the app shares across workers. Built once, outside `HttpServer::new`; cloning
/// is cheap (reference counts).
#[derive(Clone)]
pub struct AppState {
    /// The current snapshot; writes swap in the next one.
    pub service: web::Data<Live>,
    pub metrics: web::Data<Metrics>,
    pub cors: CorsOrigins,
    /// Writes, history and reload; `None` serves read-only (write routes answer 405).
    pub editing: Option<web::Data<edits::Editing>>,
    /// How long any request may take (a 503 `timeout` problem beyond).
    pub request_timeout: Duration,
}

impl AppState {
    /// State for a loaded service, any CORS origin, a fresh metrics registry, read-only.
    #[must_use]
    pub fn new(service: Service) -> AppState {
        AppState::shared(Arc::new(service))
    }

    /// Like [`AppState::new`] over a service shared with others (tests, benches).
    #[must_use]
    pub fn shared(service: Arc<Service>) -> AppState {
        AppState::live(Arc::new(Live::new(service)))
    }

    /// State over a live snapshot the writer swaps.
    #[must_use]
    pub fn live(live: Arc<Live>) -> AppState {
        AppState {
            service: web::Data::from(live),
            metrics: web::Data::new(Metrics::new()),
            cors: CorsOrigins::Any,
            editing: None,
            request_timeout: Duration::from_secs_f64(timeout::REQUEST_TIMEOUT_S_DEFAULT),
        }
    }
}

/// One route: its path pattern (exactly as in `openapi.yaml`) and how it is registered.
pub struct Route {
    pub path: &'static str,
    register: fn(&mut web::ServiceConfig, &'static str),
}

/// Every route the app serves (GET, and HEAD through [`frame::Frame`]; other methods get a
/// 405 problem). `configure` registers exactly these.
pub const ROUTES: &[Route] = &[
    Route {
        path: "/",
        register: |c, p| {
            c.service(resource(p).get(page::root));
        },
    },
    Route {
        path: "/map/{file}",
        register: |c, p| {
            c.service(resource(p).get(page::file));
        },
    },
    Route {
        path: "/conformance",
        register: |c, p| {
            c.service(resource(p).get(features::conformance));
        },
    },
    Route {
        path: "/collections",
        register: |c, p| {
            c.service(resource(p).get(features::collections));
        },
    },
    Route {
        path: "/collections/{collectionId}",
        register: |c, p| {
            c.service(resource(p).get(features::collection));
        },
    },
    Route {
        path: "/collections/{collectionId}/items",
        register: |c, p| {
            c.service(resource(p).get(features::items).post(edits::create));
        },
    },
    Route {
        path: "/collections/{collectionId}/queryables",
        register: |c, p| {
            c.service(resource(p).get(features::queryables));
        },
    },
    Route {
        path: "/collections/{collectionId}/items/{featureId}",
        register: |c, p| {
            c.service(
                resource(p)
                    .get(features::item)
                    .put(edits::replace)
                    .patch(edits::patch)
                    .delete(edits::delete),
            );
        },
    },
    // Edits (OGC API – Features Part 4 above; history, change feed, reload): src/api/edits.rs.
    Route {
        path: "/collections/{collectionId}/items/{featureId}/history",
        register: |c, p| {
            c.service(resource(p).get(edits::history));
        },
    },
    Route {
        path: "/changes",
        register: |c, p| {
            c.service(resource(p).get(edits::changes));
        },
    },
    Route {
        path: "/admin/reload",
        register: |c, p| {
            c.service(resource(p).post(edits::reload));
        },
    },
    Route {
        path: "/locate",
        register: |c, p| {
            c.service(resource(p).get(locate::get));
        },
    },
    Route {
        path: "/nearest",
        register: |c, p| {
            c.service(resource(p).get(nearest::get));
        },
    },
    Route {
        path: "/nearest/batch",
        register: |c, p| {
            c.service(resource(p).post(nearest_batch::post));
        },
    },
    Route {
        path: "/isochrone",
        register: |c, p| {
            c.service(resource(p).get(isochrone::get));
        },
    },
    Route {
        path: "/profiles",
        register: |c, p| {
            c.service(resource(p).get(profiles::get));
        },
    },
    Route {
        path: "/categories",
        register: |c, p| {
            c.service(resource(p).get(categories::get));
        },
    },
    Route {
        path: "/healthz",
        register: |c, p| {
            c.service(resource(p).get(health::get));
        },
    },
    Route {
        path: "/metrics",
        register: |c, p| {
            c.service(resource(p).get(metrics::get));
        },
    },
    Route {
        path: "/openapi.yaml",
        register: |c, p| {
            c.service(resource(p).get(openapi::yaml));
        },
    },
    Route {
        path: "/coverage",
        register: |c, p| {
            c.service(resource(p).get(coverage::get));
        },
    },
    Route {
        path: "/gaps",
        register: |c, p| {
            c.service(resource(p).get(gaps::get));
        },
    },
    Route {
        path: "/audit",
        register: |c, p| {
            c.service(resource(p).get(audit::get));
        },
    },
    Route {
        path: "/scenarios",
        register: |c, p| {
            c.service(resource(p).post(scenarios::post));
        },
    },
    Route {
        path: "/siting",
        register: |c, p| {
            c.service(resource(p).get(siting::get));
        },
    },
    // Vector tiles (OGC API – Tiles, TileJSON, MapLibre style): src/api/tiles.rs.
    Route {
        path: "/tileMatrixSets",
        register: |c, p| {
            c.service(resource(p).get(tiles::tile_matrix_sets));
        },
    },
    Route {
        path: "/tileMatrixSets/{tileMatrixSetId}",
        register: |c, p| {
            c.service(resource(p).get(tiles::tile_matrix_set));
        },
    },
    Route {
        path: "/collections/{collectionId}/tiles",
        register: |c, p| {
            c.service(resource(p).get(tiles::collection_tilesets));
        },
    },
    Route {
        path: "/collections/{collectionId}/tiles/{tileMatrixSetId}",
        register: |c, p| {
            c.service(resource(p).get(tiles::collection_tileset));
        },
    },
    Route {
        path: "/collections/{collectionId}/tiles/{tileMatrixSetId}/tilejson.json",
        register: |c, p| {
            c.service(resource(p).get(tiles::collection_tilejson));
        },
    },
    Route {
        path: "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
        register: |c, p| {
            c.service(resource(p).get(tiles::collection_tile));
        },
    },
    Route {
        path: "/collections/{collectionId}/tiles/{tileMatrixSetId}/xyz/{tileMatrix}/{tileCol}/{tileRow}.pbf",
        register: |c, p| {
            c.service(resource(p).get(tiles::collection_tile_xyz));
        },
    },
    Route {
        path: "/tiles",
        register: |c, p| {
            c.service(resource(p).get(tiles::composite_tilesets));
        },
    },
    Route {
        path: "/tiles/{tileMatrixSetId}",
        register: |c, p| {
            c.service(resource(p).get(tiles::composite_tileset));
        },
    },
    Route {
        path: "/tiles/{tileMatrixSetId}/tilejson.json",
        register: |c, p| {
            c.service(resource(p).get(tiles::composite_tilejson));
        },
    },
    Route {
        path: "/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
        register: |c, p| {
            c.service(resource(p).get(tiles::composite_tile));
        },
    },
    Route {
        path: "/tiles/{tileMatrixSetId}/xyz/{tileMatrix}/{tileCol}/{tileRow}.pbf",
        register: |c, p| {
            c.service(resource(p).get(tiles::composite_tile_xyz));
        },
    },
    Route {
        path: "/coverage/tiles/{tileMatrixSetId}/tilejson.json",
        register: |c, p| {
            c.service(resource(p).get(tiles::coverage_tilejson));
        },
    },
    Route {
        path: "/coverage/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
        register: |c, p| {
            c.service(resource(p).get(tiles::coverage_tile));
        },
    },
    Route {
        path: "/styles/default.json",
        register: |c, p| {
            c.service(resource(p).get(tiles::style));
        },
    },
    Route {
        path: "/fonts/{fontstack}/{range}",
        register: |c, p| {
            c.service(resource(p).get(tiles::glyphs));
        },
    },
];

/// Register every route plus the extractor error handlers (so even actix's own parse errors
/// are problem documents).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::QueryConfig::default()
            .error_handler(|e, _| ApiError::bad_param("query string", e.to_string()).into()),
    )
    .app_data(
        web::PathConfig::default().error_handler(|e, _| ApiError::not_found(e.to_string()).into()),
    );
    // actix tries routes in registration order: the static paths (compared as strings) first,
    // so `/nearest`, `/isochrone` and `/healthz` are not matched against the regexes of the
    // dynamic patterns before them (2-3 % of a straight-line `/nearest` under wrk). No dynamic
    // pattern matches a static path of the table (`static_paths_are_not_shadowed`), so the
    // order does not change which route answers.
    let is_static = |r: &&Route| !r.path.contains('{');
    for r in ROUTES.iter().filter(is_static) {
        (r.register)(cfg, r.path);
    }
    for r in ROUTES.iter().filter(|r| !is_static(r)) {
        (r.register)(cfg, r.path);
    }
}

async fn no_such_route(req: HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::new(
        ProblemKind::NoSuchRoute,
        format!(
            "no route '{}'; GET / lists the API and /openapi.yaml describes every route",
            req.path()
        ),
    ))
}

/// A resource named by its own pattern: the metrics' route label is then the matched
/// resource's name, which actix finds without building a string (`match_pattern` allocates
/// one a request). Patterns are unique in [`ROUTES`], so the names are too.
fn resource(pattern: &'static str) -> actix_web::Resource {
    web::resource(pattern).name(pattern)
}

/// The whole application: routes, problem+json for every error, metrics, CORS.
pub fn app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let mut app = App::new();
    if let Some(e) = &state.editing {
        app = app.app_data(e.clone());
    }
    app.app_data(state.service.clone())
        .app_data(state.metrics.clone())
        .configure(configure)
        .default_service(web::to(no_such_route))
        // Innermost first: the timeout bounds the handler alone, CORS adds its headers, the
        // frame makes errors problems keeping them and counts every request with its final
        // status (HEAD routed as GET first). Two hand-written layers instead of four `from_fn`
        // ones (issue 15: each boxed two futures a request).
        .wrap(timeout::Deadline {
            limit: state.request_timeout,
        })
        .wrap(state.cors.middleware())
        .wrap(frame::Frame {
            metrics: state.metrics.clone(),
        })
        // Outermost: gzip for clients that ask (the map page's layers shrink ~5×).
        .wrap(actix_web::middleware::Compress::default())
}

/// SIGHUP re-reads the data directory, as `POST /admin/reload` does.
async fn reload_on_sighup(editing: web::Data<edits::Editing>) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        tracing::warn!("cannot listen for SIGHUP; use POST /admin/reload");
        return;
    };
    while hup.recv().await.is_some() {
        match editing.editor.reload().await {
            Ok(()) => tracing::info!("SIGHUP: data directory reloaded"),
            Err(e) => tracing::error!("SIGHUP: reload refused, the old data keeps serving: {e}"),
        }
    }
}

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Load(#[from] crate::service::ServiceError),
    #[error("cannot bind {bind}: {source}")]
    Bind {
        bind: String,
        source: std::io::Error,
    },
    #[error("server stopped: {0}")]
    Stopped(std::io::Error),
    #[error("{dir}: {source}")]
    Edit {
        dir: PathBuf,
        source: crate::edit::EditError,
    },
    #[error("tokens: {0}")]
    Tokens(String),
}

/// The tokens of `--tokens FILE`, else of `SERVICEMAP_TOKENS`, else none (nobody may write).
fn load_tokens(args: &ServeArgs) -> Result<crate::edit::Tokens, ServeError> {
    let text = match &args.tokens_file {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| ServeError::Tokens(format!("cannot read {}: {e}", path.display())))?,
        None => std::env::var("SERVICEMAP_TOKENS").unwrap_or_default(),
    };
    crate::edit::Tokens::parse(&text).map_err(ServeError::Tokens)
}

/// Bind every address `bind` resolves to (as actix's own `bind` does: it fails only when
/// none can be bound), with actix's backlog of 1,024.
fn bind_listeners(bind: &str) -> Result<Vec<std::net::TcpListener>, ServeError> {
    use std::net::ToSocketAddrs;
    let failed = |source| ServeError::Bind {
        bind: bind.to_string(),
        source,
    };
    let mut listeners = Vec::new();
    let mut last_error = None;
    for addr in bind.to_socket_addrs().map_err(failed)? {
        match std::net::TcpListener::bind(addr) {
            Ok(listener) => {
                crate::sys::set_listen_backlog(&listener, 1024);
                listeners.push(listener);
            }
            Err(e) => last_error = Some(e),
        }
    }
    if listeners.is_empty() {
        return Err(failed(last_error.unwrap_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the address resolves to nothing",
            )
        })));
    }
    Ok(listeners)
}

/// Load the data and serve until stopped. The address is bound first and connections wait
/// in its backlog while the data loads; they are answered once it is served. A broken data
/// directory fails (naming the file and feature) before anything is answered.
pub fn serve_blocking(args: ServeArgs) -> Result<(), ServeError> {
    let started = Instant::now();
    let mut stages = crate::stages::Stages::start("serve");
    stages.lap("entered");
    // Before the parsing threads start, so they do not each get an arena (issue 15).
    crate::sys::limit_malloc_arenas();
    // Bound before the data loads (issue 15, start-up time): a client that connects during
    // the load waits in the backlog and is answered the moment the server is ready, instead
    // of being refused and retrying (a health check polling every few ms spent a quarter of
    // the 2 cores' start-up CPU on its own retries, taken from the load). A port already in
    // use fails at once, before the data is read.
    let listeners = bind_listeners(&args.bind)?;
    // Before the data loads: every snapshot's caches take their budgets from here.
    crate::budgets::set(crate::budgets::MemoryBudgets {
        nearest_tables_bytes: args.nearest_tables_mb << 20,
        tile_cache_bytes: args.tile_cache_mb << 20,
        tile_geometry_bytes: args.tile_geometry_mb << 20,
    });
    let tokens = load_tokens(&args)?;
    stages.lap("arenas, budgets, tokens");
    // The journal is replayed over the layer files before anything is served.
    let (editor, live) =
        crate::edit::Editor::open(&args.data_dir).map_err(|source| ServeError::Edit {
            dir: args.data_dir.clone(),
            source,
        })?;
    {
        let service = live.load();
        tracing::info!(
            dir = %args.data_dir.display(),
            layers = service.dataset.layers.len(),
            facilities = service.indexes.facilities().len(),
            tokens = if tokens.is_empty() { "none (read-only)" } else { "loaded" },
            load_ms = started.elapsed().as_millis() as u64,
            "data loaded"
        );
    }
    stages.lap("open (load, validate, build, writer)");
    // Parsing and indexing on several threads left freed memory in their malloc arenas:
    // serving's allocator settings first, then hand back what the load freed.
    crate::sys::malloc_for_serving();
    rayon::broadcast(|_| crate::sys::trim_own_arena_top());
    crate::sys::release_free_memory();
    stages.lap("trim");
    crate::sys::spawn_memory_releaser(Duration::from_secs(1));
    // Before binding, so the first heavy request does not pay for starting a thread.
    crate::query::start_heavy_workers();
    stages.lap("threads");
    let mut state = AppState::live(live);
    state.cors = CorsOrigins::parse(&args.cors_origins);
    state.request_timeout = Duration::from_secs_f64(args.request_timeout_s);
    let editing = web::Data::new(edits::Editing {
        editor,
        tokens,
        limiter: edits::RateLimiter::new(args.write_rate, args.write_burst),
        body_max_bytes: args.body_max_bytes,
    });
    state.editing = Some(editing.clone());
    let workers = if args.workers == 0 {
        std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
    } else {
        args.workers
    };
    let bind = args.bind.clone();
    actix_web::rt::System::new().block_on(async move {
        let mut server = HttpServer::new(move || app(state.clone())).workers(workers);
        for listener in listeners {
            server = listener
                .set_nonblocking(true)
                .and_then(|()| server.listen(listener))
                .map_err(|source| ServeError::Bind {
                    bind: bind.clone(),
                    source,
                })?;
        }
        stages.lap("system, listen");
        tracing::info!(%bind, workers, "serving");
        actix_web::rt::spawn(reload_on_sighup(editing));
        server.run().await.map_err(ServeError::Stopped)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::ROUTES;
    use actix_web::dev::ResourceDef;

    /// `configure` registers static paths before dynamic ones; that is only safe while no
    /// dynamic pattern would also match a static path (it would have answered it before).
    #[test]
    fn static_paths_are_not_shadowed() {
        for d in ROUTES.iter().filter(|r| r.path.contains('{')) {
            let def = ResourceDef::new(d.path);
            for s in ROUTES.iter().filter(|r| !r.path.contains('{')) {
                assert!(
                    !def.is_match(s.path),
                    "{} would match the static route {}",
                    d.path,
                    s.path
                );
            }
        }
    }
}
