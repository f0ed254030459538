//! A bound on how long any request may take (`serve --request-timeout-s`, issue 12 "limits"):
//! past it the caller gets a 503 `timeout` problem instead of a connection held open for as
//! long as the slowest query or a stalled writer takes.

use std::future::Future;
use std::task::Poll;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

use super::{ApiError, ProblemKind};

/// Default of `--request-timeout-s`: far above any query on the modelled subdistrict (the
/// slowest, a whole-area coverage, takes well under a second) so only a stuck request hits it.
pub const REQUEST_TIMEOUT_S_DEFAULT: f64 = 30.0;

/// Seconds a timed-out caller is told to wait before retrying.
const RETRY_AFTER_S: u32 = 1;

/// Answer `req`, or a 503 `timeout` problem once `limit` has passed. Dropping the handler
/// frees the connection; heavy work already handed to the bounded pool finishes there (it
/// cannot be interrupted) but is bounded by that pool, and a write already handed to the
/// writer is still committed — hence the detail tells writers to check before retrying.
pub async fn limit(
    limit: Duration,
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let deadline = tokio::time::Instant::now() + limit;
    let is_write = !matches!(req.method().as_str(), "GET" | "HEAD" | "OPTIONS");
    let mut answer = std::pin::pin!(next.call(req));
    let mut timer = std::pin::pin!(tokio::time::sleep_until(deadline));
    let outcome = std::future::poll_fn(|cx| {
        if let Poll::Ready(r) = answer.as_mut().poll(cx) {
            return Poll::Ready(Some(r));
        }
        // The clock is read as well as the timer: the timer wheel rounds a deadline up to its
        // next millisecond tick, and a handler that became ready meanwhile would win that race.
        if tokio::time::Instant::now() >= deadline || timer.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        Poll::Pending
    })
    .await;
    if let Some(answer) = outcome {
        return answer;
    }
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
    Err(ApiError::new(ProblemKind::Timeout, detail)
        .with_header("Retry-After", RETRY_AFTER_S.to_string())
        .into())
}
