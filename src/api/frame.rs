//! The fused outer layer of every request: `HEAD` routed as `GET`, error responses made
//! problem documents ([`super::error`]), and the request counted with its final status
//! ([`super::metrics`]).
//!
//! These were three `from_fn` layers, each boxing two futures a request and the problem layer
//! copying the path and method into fresh strings before every call; the metrics layer asked
//! actix for the route pattern as a new `String`, formatted the status and looked its series up
//! by label three times. Issue 15's straight-line target is CPU a request (the host's two
//! cores are shared by server and clients), so this layer is one hand-written service that
//! boxes only the inner future, and allocates nothing else on the way of an answer that is not
//! an error.
//! What it does, and in which order, is what the three layers did.

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::{Method, Uri};
use actix_web::web;

use super::error::{problem_error, problem_response};
use super::metrics::{Metrics, Recorder};

/// Route label of a request no route matched (and of errors that lost their request).
const UNMATCHED: &str = "unmatched";

/// The layer (see the module documentation). Outermost but for compression.
#[derive(Clone)]
pub struct Frame {
    pub metrics: web::Data<Metrics>,
}

impl<S, B> Transform<S, ServiceRequest> for Frame
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<BoxBody>;
    type Error = actix_web::Error;
    type Transform = FrameService<S>;
    type InitError = ();
    type Future = Ready<Result<FrameService<S>, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(FrameService {
            service,
            recorder: Rc::new(Recorder::new(self.metrics.clone())),
        }))
    }
}

/// [`Frame`] around one worker's service.
pub struct FrameService<S> {
    service: S,
    recorder: Rc<Recorder>,
}

impl<S, B> Service<ServiceRequest> for FrameService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<BoxBody>;
    type Error = actix_web::Error;
    type Future = FrameFuture<S::Future>;

    actix_web::dev::forward_ready!(service);

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        let started = Instant::now();
        // `HEAD` on every `GET` route (RFC 9110 §9.3.2): routed as the `GET`, so status and
        // headers are the same; the HTTP/1 codec remembers the request was `HEAD` and sends no
        // body. Before anything else, so metrics and problems see `GET`, as they did.
        if req.method() == Method::HEAD {
            req.head_mut().method = Method::GET;
        }
        FrameFuture {
            started,
            method: req.method().clone(),
            // Only an error that lost its request needs it (a problem's `instance`); a clone
            // shares the bytes.
            uri: req.uri().clone(),
            recorder: Rc::clone(&self.recorder),
            inner: Box::pin(self.service.call(req)),
        }
    }
}

/// The inner answer, then problems and metrics.
pub struct FrameFuture<F> {
    /// Boxed: the layers inside are opaque types to this one (`App::wrap` returns `impl
    /// ServiceFactory`), so it cannot know their futures are `Unpin`; one small box where
    /// `from_fn` made two a layer.
    inner: Pin<Box<F>>,
    started: Instant,
    method: Method,
    uri: Uri,
    recorder: Rc<Recorder>,
}

impl<F, B> Future for FrameFuture<F>
where
    F: Future<Output = Result<ServiceResponse<B>, actix_web::Error>>,
    B: MessageBody + 'static,
{
    type Output = Result<ServiceResponse<BoxBody>, actix_web::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let Poll::Ready(answer) = this.inner.as_mut().poll(cx) else {
            return Poll::Pending;
        };
        match answer {
            Ok(res) => {
                let res = problem_response(res);
                let seconds = this.started.elapsed().as_secs_f64();
                // Resources are named by their pattern (`super::configure`), and the name of
                // the matched one is found without building a string.
                let route = res.request().match_name().unwrap_or(UNMATCHED);
                this.recorder
                    .observe(route, &this.method, res.status().as_u16(), seconds);
                Poll::Ready(Ok(res))
            }
            Err(err) => {
                let api = problem_error(&err, &this.uri, this.method.as_str());
                let seconds = this.started.elapsed().as_secs_f64();
                this.recorder.observe(
                    UNMATCHED,
                    &this.method,
                    actix_web::ResponseError::status_code(&api).as_u16(),
                    seconds,
                );
                Poll::Ready(Err(api.into()))
            }
        }
    }
}
