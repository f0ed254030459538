//! How heavy work leaves the event loop: one bounded policy for every walk-engine and planner
//! call, so a burst of isochrones or coverage reports never holds `/locate` up.

use std::cell::RefCell;
use std::collections::VecDeque;
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

/// Searchers of the heavy jobs, one per job that may run at once. The blocking pool has as
/// many threads as jobs admitted (queued jobs wait on a thread of their own); a searcher per
/// thread would keep graph-sized scratch on every one of them until tokio retires the thread
/// (issue 15: isochrones alone left 13 MB more in use after 30 s of load). Only jobs holding
/// a permit search, so [`heavy_jobs_max`] searchers are enough.
static HEAVY_SEARCHERS: Mutex<Vec<Searcher>> = Mutex::new(Vec::new());

/// Run `f` with a searcher of [`HEAVY_SEARCHERS`] (a new one when all are out), then put it back.
fn with_pooled_searcher<R>(f: impl FnOnce(&mut Searcher) -> R) -> R {
    let pooled = HEAVY_SEARCHERS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .pop();
    let mut searcher = pooled.unwrap_or_default();
    let r = f(&mut searcher);
    let mut pool = HEAVY_SEARCHERS
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if pool.len() < heavy_jobs_max() {
        pool.push(searcher);
    }
    r
}

/// The heavy pool's admission: at most [`heavy_jobs_max`] jobs run at once (one per core, so
/// no core idles while isochrones queue), later ones wait their turn in arrival order (first
/// come, first served, so a burst from one client cannot starve another's request), and at
/// most [`QUEUE_PER_CORE`] per core wait: beyond that the caller is told to retry
/// ([`QueryError::Busy`]) instead of piling up threads and latency. Cheap requests
/// (`/locate`, features, small walking-nearest) never enter: they run on the event loops,
/// which a bounded number of heavy threads cannot crowd out (the blocking pool grows to
/// hundreds of threads; without the bound the scheduler's fair share would leave the event
/// loops a sliver of the CPU). Waiting threads sleep on the condvar and cost nothing.
struct Gate {
    state: Mutex<GateState>,
    turn: Condvar,
    running_max: usize,
    waiting_max: usize,
}

struct GateState {
    running: usize,
    /// Tickets of the jobs admitted and not yet running, oldest first.
    queue: VecDeque<u64>,
    next_ticket: u64,
}

/// How many heavy jobs may wait per core before new ones are refused with a 503.
pub const QUEUE_PER_CORE: usize = 32;

/// Seconds a refused caller is told to wait before retrying.
pub const RETRY_AFTER_S: u32 = 1;

/// A place in the queue, taken on the event loop (never blocks). Dropped without being
/// admitted — the runtime cancelled the blocking task before it started (shutdown), or the
/// job was abandoned — it leaves the queue, so the tickets behind it are not stuck forever.
struct Ticket {
    gate: &'static Gate,
    id: u64,
    admitted: bool,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.admitted {
            return;
        }
        let mut st = self.gate.lock();
        if let Some(at) = st.queue.iter().position(|&t| t == self.id) {
            st.queue.remove(at);
        }
        self.gate.turn.notify_all();
    }
}

/// Releases its slot on drop, so a panicking job cannot leak it.
struct Permit(&'static Gate);

impl Gate {
    fn global() -> &'static Gate {
        static GATE: OnceLock<Gate> = OnceLock::new();
        GATE.get_or_init(|| {
            let running_max = heavy_jobs_max();
            Gate {
                state: Mutex::new(GateState {
                    running: 0,
                    queue: VecDeque::new(),
                    next_ticket: 0,
                }),
                turn: Condvar::new(),
                running_max,
                waiting_max: running_max * QUEUE_PER_CORE,
            }
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, GateState> {
        // A poisoned lock only means another job panicked; the counts are still valid.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Join the queue, or refuse when it is full.
    fn enter(&'static self) -> Result<Ticket, QueryError> {
        let mut st = self.lock();
        if st.queue.len() >= self.waiting_max {
            return Err(QueryError::Busy {
                retry_after_s: RETRY_AFTER_S,
            });
        }
        let t = st.next_ticket;
        st.next_ticket += 1;
        st.queue.push_back(t);
        Ok(Ticket {
            gate: self,
            id: t,
            admitted: false,
        })
    }
}

impl Ticket {
    /// Wait (blocking) until this ticket is the oldest and a core is free.
    fn wait(mut self) -> Permit {
        let gate = self.gate;
        let mut st = gate.lock();
        while !(st.running < gate.running_max && st.queue.front() == Some(&self.id)) {
            st = gate.turn.wait(st).unwrap_or_else(PoisonError::into_inner);
        }
        st.queue.pop_front();
        st.running += 1;
        self.admitted = true;
        // The next ticket may be able to start too.
        gate.turn.notify_all();
        Permit(gate)
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut st = self.0.lock();
        st.running -= 1;
        self.0.turn.notify_all();
    }
}

/// How many heavy jobs may run at once: one per core. The event loops stay responsive
/// because cheap requests never queue behind heavy ones (they do not enter the gate) and
/// the heavy threads are bounded; the former `cores − 1` left a core idle under a burst.
/// Read once: `available_parallelism` reads the cgroup files on every call (a profile of the
/// peer benchmark's fresh coverage requests put 7 % of the server's time there, twice a request).
#[must_use]
pub fn heavy_jobs_max() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get))
}

/// Run heavy work on the blocking pool, at most [`heavy_jobs_max`] jobs at once, in arrival
/// order; [`QueryError::Busy`] when the queue is full.
pub async fn offload<R: Send + 'static>(
    f: impl FnOnce(&mut Searcher) -> R + Send + 'static,
) -> Result<R, QueryError> {
    let gate = Gate::global();
    let ticket = gate.enter()?;
    tokio::task::spawn_blocking(move || {
        let _permit = ticket.wait();
        with_pooled_searcher(f)
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, mpsc};

    use super::*;

    fn gate(running_max: usize, waiting_max: usize) -> &'static Gate {
        Box::leak(Box::new(Gate {
            state: Mutex::new(GateState {
                running: 0,
                queue: VecDeque::new(),
                next_ticket: 0,
            }),
            turn: Condvar::new(),
            running_max,
            waiting_max,
        }))
    }

    #[test]
    fn a_full_queue_refuses_with_busy_and_frees_as_jobs_start() {
        let g = gate(1, 2);
        let a = g.enter().unwrap();
        let b = g.enter().unwrap();
        assert!(matches!(g.enter(), Err(QueryError::Busy { .. })));
        let pa = a.wait();
        // `a` left the queue when it started: one place is free again.
        let c = g.enter().unwrap();
        drop(pa);
        drop(b.wait());
        drop(c.wait());
    }

    #[test]
    fn a_ticket_dropped_before_its_turn_leaves_the_queue() {
        let g = gate(1, 4);
        let a = g.enter().unwrap();
        let b = g.enter().unwrap();
        // The runtime cancelled `a`'s task before it ran: `b` is now first in line.
        drop(a);
        assert_eq!(g.lock().queue.iter().copied().collect::<Vec<_>>(), [b.id]);
        drop(b.wait());
        assert!(g.lock().queue.is_empty());
        assert_eq!(g.lock().running, 0);
    }

    #[test]
    fn jobs_start_in_arrival_order() {
        let g = gate(1, 16);
        let hold = g.enter().unwrap();
        let held = hold.wait();
        let tickets: Vec<Ticket> = (0..6).map(|_| g.enter().unwrap()).collect();
        let (tx, rx) = mpsc::channel();
        // Start the waiters in reverse order: admission must still follow the tickets.
        let handles: Vec<_> = tickets
            .into_iter()
            .enumerate()
            .rev()
            .map(|(i, t)| {
                let tx = tx.clone();
                std::thread::spawn(move || {
                    let _p = t.wait();
                    tx.send(i).unwrap();
                })
            })
            .collect();
        drop(held);
        for h in handles {
            h.join().unwrap();
        }
        drop(tx);
        assert_eq!(rx.iter().collect::<Vec<_>>(), (0..6).collect::<Vec<_>>());
    }

    #[test]
    fn never_more_running_than_the_bound() {
        let g = gate(2, 64);
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..12)
            .map(|_| {
                let t = g.enter().unwrap();
                let (running, peak) = (Arc::clone(&running), Arc::clone(&peak));
                std::thread::spawn(move || {
                    let _p = t.wait();
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::yield_now();
                    running.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert!(peak.load(Ordering::SeqCst) <= 2);
        assert!(peak.load(Ordering::SeqCst) >= 1);
    }
}
