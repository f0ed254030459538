//! Prometheus metrics: requests, errors and a latency histogram per route pattern, recorded
//! by a middleware; `GET /metrics` renders them in the text exposition format.
//!
//! Labels use the matched route pattern (`/collections/{collectionId}/items`), never the raw
//! path, so a scan of random URLs cannot grow the label set without bound.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
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

/// Middleware: time the request and count it under its route pattern (`unmatched` when no
/// route matched).
pub async fn record(
    metrics: web::Data<Metrics>,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().as_str().to_string();
    let res = next.call(req).await;
    let elapsed = started.elapsed().as_secs_f64();
    match &res {
        Ok(r) => {
            let route = r
                .request()
                .match_pattern()
                .unwrap_or_else(|| "unmatched".into());
            metrics.observe(&route, &method, r.status().as_u16(), elapsed);
        }
        Err(e) => metrics.observe(
            "unmatched",
            &method,
            e.as_response_error().status_code().as_u16(),
            elapsed,
        ),
    }
    res
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
}
