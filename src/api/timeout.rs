//! A bound on how long any request may take (`serve --request-timeout-s`, issue 12 "limits"):
//! past it the caller gets a 503 `timeout` problem instead of a connection held open for as
//! long as the slowest query or a stalled writer takes.

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};

use super::{ApiError, ProblemKind};

/// Default of `--request-timeout-s`: far above any query on the modelled subdistrict (the
/// slowest, a whole-area coverage, takes well under a second) so only a stuck request hits it.
pub const REQUEST_TIMEOUT_S_DEFAULT: f64 = 30.0;

/// Seconds a timed-out caller is told to wait before retrying.
const RETRY_AFTER_S: u32 = 1;

/// The layer that answers a request still waiting past `limit` with a 503 `timeout` problem.
/// Dropping the handler frees the connection; heavy work already handed to the bounded pool
/// finishes there (it cannot be interrupted) but is bounded by that pool, and a write already
/// handed to the writer is still committed — hence the detail tells writers to check before
/// retrying.
///
/// Hand-written rather than `from_fn`, which boxed two futures a request; and the timer is
/// registered only when the answer is not ready at its first poll. Most answers (a straight
/// or table nearest, a locate, a cached tile) are ready then and never touch the timer wheel.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    pub limit: Duration,
}

impl<S, B> Transform<S, ServiceRequest> for Deadline
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    S::Future: Unpin,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = DeadlineService<S>;
    type InitError = ();
    type Future = Ready<Result<DeadlineService<S>, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(DeadlineService {
            service,
            limit: self.limit,
        }))
    }
}

/// [`Deadline`] around one worker's service.
pub struct DeadlineService<S> {
    service: S,
    limit: Duration,
}

impl<S, B> Service<ServiceRequest> for DeadlineService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    S::Future: Unpin,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = DeadlineFuture<S::Future>;

    actix_web::dev::forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let deadline = tokio::time::Instant::now() + self.limit;
        let is_write = !matches!(req.method().as_str(), "GET" | "HEAD" | "OPTIONS");
        DeadlineFuture {
            answer: self.service.call(req),
            deadline,
            limit: self.limit,
            is_write,
            timer: None,
        }
    }
}

/// The answer, or the timeout problem once the deadline has passed.
pub struct DeadlineFuture<F> {
    answer: F,
    deadline: tokio::time::Instant,
    limit: Duration,
    is_write: bool,
    /// Made at the first poll that finds the answer pending.
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<F, B> Future for DeadlineFuture<F>
where
    F: Future<Output = Result<ServiceResponse<B>, actix_web::Error>> + Unpin,
{
    type Output = Result<ServiceResponse<B>, actix_web::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Poll::Ready(r) = Pin::new(&mut this.answer).poll(cx) {
            return Poll::Ready(r);
        }
        // The clock is read as well as the timer: the timer wheel rounds a deadline up to its
        // next millisecond tick, and a handler that became ready meanwhile would win that race.
        if tokio::time::Instant::now() >= this.deadline {
            return Poll::Ready(Err(timeout_problem(this.limit, this.is_write).into()));
        }
        let deadline = this.deadline;
        let timer = this
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if timer.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Err(timeout_problem(this.limit, this.is_write).into()));
        }
        Poll::Pending
    }
}

/// The 503 `timeout` problem of a request that took longer than `limit`.
fn timeout_problem(limit: Duration, is_write: bool) -> ApiError {
    let secs = limit.as_secs_f64();
    let detail = if is_write {
        format!(
            "the request took longer than the server's limit of {secs} s (serve --request-timeout-s); the change may still have been applied: read the feature or GET /changes before retrying"
        )
    } else {
        format!(
            "the request took longer than the server's limit of {secs} s (serve --request-timeout-s); retry later, or ask for less (a smaller area, fewer categories or a shorter walk)"
        )
    };
    ApiError::new(ProblemKind::Timeout, detail)
        .with_header("Retry-After", RETRY_AFTER_S.to_string())
}
