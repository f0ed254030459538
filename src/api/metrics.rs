//! Prometheus metrics: requests, errors and a latency histogram per route pattern, recorded
//! by the fused layer ([`super::frame`]) through a per-worker [`Recorder`]; `GET /metrics`
//! renders them in the text exposition format.
//!
//! Labels use the matched route pattern (`/collections/{collectionId}/items`), never the raw
//! path, so a scan of random URLs cannot grow the label set without bound.

use std::cell::RefCell;
use std::collections::HashMap;

use actix_web::http::Method;
use actix_web::{HttpResponse, web};
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry,
    TextEncoder,
};

use super::error::ApiError;

/// The metrics of one server (all workers share it).
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    errors: IntCounterVec,
    latency: HistogramVec,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with the service's metrics.
    ///
    /// # Panics
    /// Never in practice: metric names and labels are constants that the unit test registers.
    #[must_use]
    #[allow(clippy::expect_used)]
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "servicemap_http_requests_total",
                "HTTP requests by route pattern, method and status",
            ),
            &["route", "method", "status"],
        )
        .expect("valid metric");
        let errors = IntCounterVec::new(
            Opts::new(
                "servicemap_http_errors_total",
                "HTTP responses with status >= 400 by route pattern and status",
            ),
            &["route", "status"],
        )
        .expect("valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "servicemap_http_request_duration_seconds",
                "Time to answer, by route pattern",
            )
            .buckets(vec![
                0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05,
                0.1, 0.25, 1.0,
            ]),
            &["route"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(requests.clone()))
            .expect("unique metric");
        registry
            .register(Box::new(errors.clone()))
            .expect("unique metric");
        registry
            .register(Box::new(latency.clone()))
            .expect("unique metric");
        Metrics {
            registry,
            requests,
            errors,
            latency,
        }
    }

    /// Count one request the slow way, straight through the label lookups (the tests'
    /// reference for [`Recorder`]).
    #[cfg(test)]
    fn observe(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let status_s = status.to_string();
        self.requests
            .with_label_values(&[route, method, &status_s])
            .inc();
        if status >= 400 {
            self.errors.with_label_values(&[route, &status_s]).inc();
        }
        self.latency.with_label_values(&[route]).observe(seconds);
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> Result<String, ApiError> {
        let mut buf = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .map_err(ApiError::internal)?;
        String::from_utf8(buf).map_err(ApiError::internal)
    }
}

/// One worker's handles on the series of [`Metrics`], found once per route, method and
/// status instead of per request: `with_label_values` hashes the labels and takes the vector's
/// lock each time, and the status label was a fresh `String` per request. The handles share
/// the registry's counters, so `/metrics` renders the same numbers.
pub struct Recorder {
    metrics: web::Data<Metrics>,
    routes: RefCell<HashMap<Box<str>, RouteSeries>>,
}

/// The series of one route label.
struct RouteSeries {
    latency: Histogram,
    /// (method, status) -> requests and, for status >= 400, errors; a route sees a few.
    by_status: Vec<(Method, u16, IntCounter, Option<IntCounter>)>,
}

impl Recorder {
    #[must_use]
    pub fn new(metrics: web::Data<Metrics>) -> Recorder {
        Recorder {
            metrics,
            routes: RefCell::new(HashMap::new()),
        }
    }

    /// Count one answered request under `route` (the matched pattern, `unmatched` when none).
    pub fn observe(&self, route: &str, method: &Method, status: u16, seconds: f64) {
        let mut routes = self.routes.borrow_mut();
        if !routes.contains_key(route) {
            let latency = self.metrics.latency.with_label_values(&[route]);
            routes.insert(
                route.into(),
                RouteSeries {
                    latency,
                    by_status: Vec::new(),
                },
            );
        }
        let Some(series) = routes.get_mut(route) else {
            return;
        };
        let found = series
            .by_status
            .iter()
            .position(|(m, s, _, _)| *s == status && m == method);
        let at = found.unwrap_or_else(|| {
            let status_s = status.to_string();
            let requests =
                self.metrics
                    .requests
                    .with_label_values(&[route, method.as_str(), &status_s]);
            let errors =
                (status >= 400).then(|| self.metrics.errors.with_label_values(&[route, &status_s]));
            series
                .by_status
                .push((method.clone(), status, requests, errors));
            series.by_status.len() - 1
        });
        let (_, _, requests, errors) = &series.by_status[at];
        requests.inc();
        if let Some(e) = errors {
            e.inc();
        }
        series.latency.observe(seconds);
    }
}

/// `GET /metrics`.
pub async fn get(metrics: web::Data<Metrics>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(metrics.render()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_observations() {
        let m = Metrics::new();
        m.observe("/nearest", "GET", 200, 0.001);
        m.observe("/nearest", "GET", 400, 0.001);
        let text = m.render().unwrap_or_default();
        assert!(
            text.contains(
                "servicemap_http_requests_total{method=\"GET\",route=\"/nearest\",status=\"200\"} 1"
            ),
            "{text}"
        );
        assert!(text.contains("servicemap_http_errors_total{route=\"/nearest\",status=\"400\"} 1"));
        assert!(
            text.contains("servicemap_http_request_duration_seconds_bucket{route=\"/nearest\"")
        );
    }

    /// The per-worker handles count exactly what the label lookups count.
    #[test]
    fn recorder_renders_as_the_label_lookups() {
        let calls: [(&str, Method, u16, f64); 7] = [
            ("/nearest", Method::GET, 200, 0.000_07),
            ("/nearest", Method::GET, 200, 0.003),
            ("/nearest", Method::GET, 400, 0.000_2),
            ("/nearest", Method::POST, 405, 0.000_2),
            ("unmatched", Method::GET, 404, 0.000_01),
            ("/healthz", Method::GET, 200, 2.0),
            ("/nearest", Method::GET, 400, 0.5),
        ];
        let direct = Metrics::new();
        let via = web::Data::new(Metrics::new());
        let recorder = Recorder::new(via.clone());
        for (route, method, status, s) in &calls {
            direct.observe(route, method.as_str(), *status, *s);
            recorder.observe(route, method, *status, *s);
        }
        let (a, b) = (
            direct.render().unwrap_or_default(),
            via.render().unwrap_or_default(),
        );
        assert!(a.contains("route=\"unmatched\",status=\"404\"} 1"), "{a}");
        assert_eq!(a, b);
    }
}
