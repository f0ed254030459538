//! How heavy work leaves the event loop: one bounded policy for every walk-engine and planner
//! call, so a burst of isochrones or coverage reports never holds `/locate` up.

use std::cell::RefCell;
use std::sync::{Condvar, Mutex, OnceLock, PoisonError};

use crate::walk::Searcher;

use super::QueryError;

thread_local! {
    // The searcher keeps per-node scratch sized to the graph and resets in O(1); keeping one
    // per blocking-pool thread means a request allocates nothing graph-sized.
    static SEARCHER: RefCell<Searcher> = RefCell::new(Searcher::new());
}

/// Run `f` with this thread's searcher.
pub fn with_searcher<R>(f: impl FnOnce(&mut Searcher) -> R) -> R {
    SEARCHER.with(|cell| match cell.try_borrow_mut() {
        Ok(mut s) => f(&mut s),
        // Only reachable if `f` itself re-entered; a fresh searcher is correct, just slower.
        Err(_) => f(&mut Searcher::new()),
    })
}

/// A counting semaphore over the heavy jobs running at once. The blocking pool grows to
/// hundreds of threads; without a bound a burst of isochrones makes that many runnable
/// threads, and the scheduler's fair share leaves the event loops (and `/locate`) a sliver
/// of the CPU. Waiting threads sleep on the condvar and cost nothing.
struct Gate {
    free: Mutex<usize>,
    freed: Condvar,
}

/// Releases its slot on drop, so a panicking job cannot leak it.
struct Permit(&'static Gate);

impl Gate {
    fn global() -> &'static Gate {
        static GATE: OnceLock<Gate> = OnceLock::new();
        GATE.get_or_init(|| Gate {
            free: Mutex::new(heavy_jobs_max()),
            freed: Condvar::new(),
        })
    }

    fn acquire(&'static self) -> Permit {
        // A poisoned lock only means another job panicked; the count itself is still valid.
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        while *free == 0 {
            free = self
                .freed
                .wait(free)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *free -= 1;
        Permit(self)
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut free = self.0.free.lock().unwrap_or_else(PoisonError::into_inner);
        *free += 1;
        self.0.freed.notify_one();
    }
}

/// How many heavy jobs may run at once: one fewer than the cores (at least one), so one
/// core's worth of CPU always stays with the event loops.
#[must_use]
pub fn heavy_jobs_max() -> usize {
    std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .saturating_sub(1)
        .max(1)
}

/// Run heavy work on the blocking pool, at most [`heavy_jobs_max`] jobs at once.
pub async fn offload<R: Send + 'static>(
    f: impl FnOnce(&mut Searcher) -> R + Send + 'static,
) -> Result<R, QueryError> {
    tokio::task::spawn_blocking(move || {
        let _permit = Gate::global().acquire();
        with_searcher(f)
    })
    .await
    .map_err(|e| QueryError::Internal(format!("a background job failed: {e}")))
}

/// Largest network (nodes) on which a walking-nearest search runs inline on the event loop:
/// even a search that settles every node of such a graph takes well under a millisecond
/// (4.7k nodes of the default data: ~0.3 ms), less than the hop to the blocking pool costs.
/// Larger networks (a whole city) go to the blocking pool like isochrones.
pub const INLINE_NODES_MAX: usize = 20_000;

/// Run a bounded walk-engine query: inline when the network has at most
/// [`INLINE_NODES_MAX`] nodes, else through [`offload`].
pub async fn small_or_offload<R: Send + 'static>(
    node_count: usize,
    f: impl FnOnce(&mut Searcher) -> R + Send + 'static,
) -> Result<R, QueryError> {
    if node_count <= INLINE_NODES_MAX {
        Ok(with_searcher(f))
    } else {
        offload(f).await
    }
}
