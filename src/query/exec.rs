//! How heavy work leaves the event loop: one bounded policy for every walk-engine and planner
//! call, so a burst of isochrones or coverage reports never holds `/locate` up.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
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

/// The heavy jobs' workers: [`heavy_jobs_max`] threads that live as long as the process, fed
/// in arrival order (first come, first served, so a burst from one client cannot starve
/// another's request) from a queue of at most [`QUEUE_PER_CORE`] jobs per core: beyond that
/// the caller is told to retry ([`QueryError::Busy`]) instead of piling up latency. Cheap
/// requests (`/locate`, features, small walking-nearest) never enter: they run on the event
/// loops, which a bounded number of heavy threads cannot crowd out.
///
/// Why not tokio's blocking pool behind a gate (as before): each actix worker has a runtime
/// and a blocking pool of its own, whose threads exit after 10 s idle, so a heavy request
/// after a pause (and the first of each worker) paid a thread start, and its per-thread
/// scratch (the searcher, coverage's node labels) was built again on the new thread; queued
/// jobs each held a parked thread. Here the threads and their scratch stay, and a queued job
/// is a boxed closure (issue 15: the first `/coverage` on a fresh server took 2–3 ms more
/// than the next).
struct Pool {
    state: Mutex<State>,
    ready: Condvar,
    waiting_max: usize,
    /// Heavy jobs that may run at once, on the pool's threads or inline ([`inline_small`]).
    slots: usize,
    /// Threads that started; 0 only if the system refused every thread (then jobs go to
    /// tokio's blocking pool, unbounded but still answered).
    workers: AtomicUsize,
}

/// The queue and the jobs running, under one lock so that a job run inline and the pool's
/// threads share the same [`Pool::slots`].
struct State {
    queue: VecDeque<Job>,
    running: usize,
}

type Job = Box<dyn FnOnce() + Send + 'static>;

/// How many heavy jobs may wait per core before new ones are refused with a 503.
pub const QUEUE_PER_CORE: usize = 32;

/// Seconds a refused caller is told to wait before retrying.
pub const RETRY_AFTER_S: u32 = 1;

impl Pool {
    fn global() -> &'static Pool {
        static POOL: OnceLock<&'static Pool> = OnceLock::new();
        POOL.get_or_init(|| {
            let n = heavy_jobs_max();
            Pool::start(n, n * QUEUE_PER_CORE)
        })
    }

    /// A pool of `workers` threads (leaked: they serve until the process exits).
    fn start(workers: usize, waiting_max: usize) -> &'static Pool {
        let pool: &'static Pool = Box::leak(Box::new(Pool {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                running: 0,
            }),
            ready: Condvar::new(),
            waiting_max,
            slots: workers,
            workers: AtomicUsize::new(0),
        }));
        for i in 0..workers {
            match std::thread::Builder::new()
                .name(format!("heavy-{i}"))
                .spawn(move || {
                    crate::sys::set_own_niceness(HEAVY_NICE, "heavy-query thread");
                    pool.work();
                }) {
                Ok(_) => {
                    pool.workers.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => tracing::warn!(error = %e, "cannot start a heavy-query thread"),
            }
        }
        pool
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A poisoned lock only means a job panicked while queueing; the state is still valid.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queue `job`, or refuse when the queue is full.
    fn submit(&self, job: Job) -> Result<(), QueryError> {
        let mut st = self.lock();
        if st.queue.len() >= self.waiting_max {
            return Err(QueryError::Busy {
                retry_after_s: RETRY_AFTER_S,
            });
        }
        st.queue.push_back(job);
        drop(st);
        self.ready.notify_one();
        Ok(())
    }

    /// Take a slot for a job the caller runs itself: only when no heavy job runs or waits, so
    /// it jumps no queue and no more than [`Pool::slots`] heavy jobs run at once.
    ///
    /// Not whenever a slot is free: a job run inline holds up every cheap request of its event
    /// loop. Under a burst (16 connections asking for isochrones, 2 slots) a slot was often
    /// free, the event loops ran isochrones back to back, and `/locate` beside them waited its
    /// connection's turn: 0.13 ms p50 alone, 1.9–2.6 ms during the burst (0.18 ms now). A job
    /// that finds heavy work already running goes to the pool, whose threads yield to the
    /// event loops ([`HEAVY_NICE`]); a lone request (the sequential client of the p50 target)
    /// still runs inline.
    fn try_take_slot(&self) -> bool {
        if self.workers.load(Ordering::Relaxed) == 0 {
            return false;
        }
        let mut st = self.lock();
        if st.queue.is_empty() && st.running == 0 {
            st.running += 1;
            true
        } else {
            false
        }
    }

    /// Give a slot back; a worker waiting for one (a job queued meanwhile) is woken.
    fn release_slot(&self) {
        let mut st = self.lock();
        st.running -= 1;
        let wake = !st.queue.is_empty();
        drop(st);
        if wake {
            self.ready.notify_one();
        }
    }

    /// A worker: run jobs in arrival order, for ever, whenever a slot is free. A panicking
    /// job is caught here (its caller sees its answer channel closed, a 500) so the worker
    /// lives on.
    fn work(&self) {
        loop {
            let job = {
                let mut st = self.lock();
                loop {
                    if st.running < self.slots
                        && let Some(job) = st.queue.pop_front()
                    {
                        st.running += 1;
                        break job;
                    }
                    st = self.ready.wait(st).unwrap_or_else(PoisonError::into_inner);
                }
            };
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            self.release_slot();
        }
    }
}

/// Gives a slot taken by [`Pool::try_take_slot`] back, also when the job panics.
struct SlotGuard(&'static Pool);

impl Drop for SlotGuard {
    fn drop(&mut self) {
        self.0.release_slot();
    }
}

/// Start the heavy-query threads now rather than at the first heavy request (the server
/// calls this before it binds).
pub fn start_heavy_workers() {
    let _ = Pool::global();
}

/// Niceness of the heavy-query threads. Cheap requests (`/locate`, features) are answered on
/// the event loops, which under a burst of heavy jobs share the cores with the pool's threads
/// (issue 15: protect `/locate` with priorities, not a cap). At nice 10 a heavy thread weighs
/// 110 against an event loop's 1024: it still takes every cycle the loops leave, so
/// isochrones use every core, but a loop that wakes is scheduled first. On its own this did
/// not move `/locate` under a burst (the loops were running the isochrones inline, see
/// [`Pool::try_take_slot`]); with heavy work kept on the pool it keeps the pool behind the
/// loops. Not `SCHED_IDLE` (the writer's): heavy jobs must still progress while cheap
/// requests keep both cores busy, or a planner's request would wait for a lull.
const HEAVY_NICE: i32 = 10;

/// Run heavy work on the heavy-query threads, at most [`heavy_jobs_max`] jobs at once, in
/// arrival order; [`QueryError::Busy`] when the queue is full. A job whose caller has gone
/// (the request was cancelled while it waited) is skipped.
pub async fn offload<R: Send + 'static>(
    f: impl FnOnce(&mut Searcher) -> R + Send + 'static,
) -> Result<R, QueryError> {
    offload_on(Pool::global(), f).await
}

/// Run a heavy job that is known to be short (well under a millisecond or two, such as a
/// 15-minute isochrone from one origin) on the calling event loop when no heavy job runs or
/// waits ([`Pool::try_take_slot`]); otherwise exactly as [`offload`].
///
/// Why (issue 15: isochrone p50 ≤ 0.4 ms): the hop to a heavy thread and back wakes two
/// threads, often on the other core; with one client on this 2-core VM a 1-minute
/// isochrone took 122–145 µs p50 through the hop and 57–58 µs inline (`wrk -c1`, alternating
/// servers). Inline jobs take the same slots as the pool's threads, so at most one heavy job
/// per core still runs at once, and none jumps the queue. Under a burst heavy work is always
/// running, so jobs go to the pool in arrival order and the event loops stay free for
/// `/locate`.
pub async fn inline_small<R: Send + 'static>(
    f: impl FnOnce(&mut Searcher) -> R + Send + 'static,
) -> Result<R, QueryError> {
    inline_small_on(Pool::global(), f).await
}

async fn inline_small_on<R: Send + 'static>(
    pool: &'static Pool,
    f: impl FnOnce(&mut Searcher) -> R + Send + 'static,
) -> Result<R, QueryError> {
    if !pool.try_take_slot() {
        return offload_on(pool, f).await;
    }
    let _slot = SlotGuard(pool);
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| with_searcher(f)))
        .map_err(|_| QueryError::Internal("a background job failed (it panicked)".to_string()))
}

async fn offload_on<R: Send + 'static>(
    pool: &'static Pool,
    f: impl FnOnce(&mut Searcher) -> R + Send + 'static,
) -> Result<R, QueryError> {
    if pool.workers.load(Ordering::Relaxed) == 0 {
        return tokio::task::spawn_blocking(move || with_searcher(f))
            .await
            .map_err(|e| QueryError::Internal(format!("a background job failed: {e}")));
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    pool.submit(Box::new(move || {
        if tx.is_closed() {
            return;
        }
        // One searcher per worker thread, kept: its graph-sized scratch is reused.
        let _ = tx.send(with_searcher(f));
    }))?;
    rx.await
        .map_err(|_| QueryError::Internal("a background job failed (it panicked)".to_string()))
}

/// How many heavy jobs may run at once: one per core. The event loops stay responsive
/// because cheap requests never queue behind heavy ones (they do not enter the queue) and
/// the heavy threads are bounded; the former `cores − 1` left a core idle under a burst.
/// Read once: `available_parallelism` reads the cgroup files on every call (a profile of the
/// peer benchmark's fresh coverage requests put 7 % of the server's time there, twice a request).
#[must_use]
pub fn heavy_jobs_max() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get))
}

/// Largest network (nodes) on which a walking-nearest search runs inline on the event loop:
/// even a search that settles every node of such a graph takes well under a millisecond
/// (4.7k nodes of the default data: ~0.3 ms), less than the hop to a heavy-query thread costs.
/// Larger networks (a whole city) go to the heavy-query threads like isochrones.
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

    use std::sync::{Arc, mpsc};

    use super::*;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    /// Occupy every worker of `pool` until the returned senders are dropped or sent to.
    fn hold(pool: &'static Pool, workers: usize) -> Vec<mpsc::Sender<()>> {
        let (started_tx, started_rx) = mpsc::channel();
        let holds = (0..workers)
            .map(|_| {
                let (tx, rx) = mpsc::channel::<()>();
                let started_tx = started_tx.clone();
                pool.submit(Box::new(move || {
                    started_tx.send(()).unwrap();
                    let _ = rx.recv();
                }))
                .unwrap();
                tx
            })
            .collect();
        for _ in 0..workers {
            started_rx.recv().unwrap();
        }
        holds
    }

    #[test]
    fn a_full_queue_refuses_with_busy_and_frees_as_jobs_start() {
        let pool = Pool::start(1, 2);
        let held = hold(pool, 1);
        let (tx, rx) = mpsc::channel();
        for _ in 0..2 {
            let tx = tx.clone();
            pool.submit(Box::new(move || tx.send(()).unwrap())).unwrap();
        }
        assert!(matches!(
            pool.submit(Box::new(|| {})),
            Err(QueryError::Busy { .. })
        ));
        drop(held);
        rx.recv().unwrap();
        rx.recv().unwrap();
        // Once the queue drains, jobs are taken again; the answer comes back.
        assert_eq!(block_on(offload_on(pool, |_| 7)).unwrap(), 7);
    }

    #[test]
    fn a_job_whose_caller_left_is_skipped() {
        let pool = Pool::start(1, 4);
        let held = hold(pool, 1);
        let ran = Arc::new(AtomicUsize::new(0));
        let r = Arc::clone(&ran);
        // The request is cancelled while its job waits: the future is dropped unpolled past
        // its submission.
        block_on(async {
            let fut = offload_on(pool, move |_| {
                r.fetch_add(1, Ordering::SeqCst);
            });
            let mut fut = Box::pin(fut);
            // Poll once so the job is queued, then drop the future.
            let waker = std::task::Waker::noop();
            let mut cx = std::task::Context::from_waker(waker);
            assert!(fut.as_mut().poll(&mut cx).is_pending());
        });
        drop(held);
        // A later job runs after the skipped one.
        block_on(offload_on(pool, |_| ())).unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn jobs_start_in_arrival_order() {
        let pool = Pool::start(1, 16);
        let held = hold(pool, 1);
        let (tx, rx) = mpsc::channel();
        for i in 0..6 {
            let tx = tx.clone();
            pool.submit(Box::new(move || tx.send(i).unwrap())).unwrap();
        }
        drop(tx);
        drop(held);
        assert_eq!(rx.iter().collect::<Vec<_>>(), (0..6).collect::<Vec<_>>());
    }

    #[test]
    fn never_more_running_than_the_workers() {
        let pool = Pool::start(2, 64);
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let (done_tx, done_rx) = mpsc::channel();
        for _ in 0..12 {
            let (running, peak, done_tx) =
                (Arc::clone(&running), Arc::clone(&peak), done_tx.clone());
            pool.submit(Box::new(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                std::thread::yield_now();
                running.fetch_sub(1, Ordering::SeqCst);
                done_tx.send(()).unwrap();
            }))
            .unwrap();
        }
        for _ in 0..12 {
            done_rx.recv().unwrap();
        }
        assert!(peak.load(Ordering::SeqCst) <= 2);
        assert!(peak.load(Ordering::SeqCst) >= 1);
    }

    #[test]
    fn a_panicking_job_is_a_500_and_the_worker_lives_on() {
        let pool = Pool::start(1, 4);
        let r = block_on(offload_on(pool, |_| -> u8 { panic!("a bug in a job") }));
        assert!(matches!(r, Err(QueryError::Internal(_))), "{r:?}");
        assert_eq!(block_on(offload_on(pool, |_| 3)).unwrap(), 3);
    }

    #[test]
    fn a_short_job_runs_inline_when_a_slot_is_free() {
        let pool = Pool::start(1, 4);
        let here = std::thread::current().id();
        let ran_on = block_on(inline_small_on(pool, |_| std::thread::current().id())).unwrap();
        assert_eq!(ran_on, here);
        // The slot came back: the pool's thread can still run a job.
        let there = block_on(offload_on(pool, |_| std::thread::current().id())).unwrap();
        assert_ne!(there, here);
    }

    #[test]
    fn a_short_job_waits_its_turn_when_every_slot_is_taken() {
        let pool = Pool::start(1, 4);
        let held = hold(pool, 1);
        let here = std::thread::current().id();
        let waiter = std::thread::spawn(move || {
            block_on(inline_small_on(pool, |_| std::thread::current().id())).unwrap()
        });
        // Not inline (the one slot is taken): it runs on the pool's thread once freed.
        drop(held);
        let ran_on = waiter.join().unwrap();
        assert_ne!(ran_on, here);
    }

    #[test]
    fn a_short_job_goes_to_the_pool_while_another_heavy_job_runs() {
        // Two slots, one taken: a slot is free, but running inline would hold up the event
        // loop's cheap requests beside heavy work, so the job goes to the pool's free thread.
        let pool = Pool::start(2, 4);
        let held = hold(pool, 1);
        let here = std::thread::current().id();
        let ran_on = block_on(inline_small_on(pool, |_| std::thread::current().id())).unwrap();
        assert_ne!(ran_on, here);
        drop(held);
    }

    #[test]
    fn a_short_job_does_not_jump_the_queue() {
        let pool = Pool::start(1, 8);
        let held = hold(pool, 1);
        let (tx, rx) = mpsc::channel();
        let first = tx.clone();
        pool.submit(Box::new(move || first.send("queued").unwrap()))
            .unwrap();
        let late = std::thread::spawn(move || {
            block_on(inline_small_on(pool, move |_| tx.send("short").unwrap())).unwrap();
        });
        drop(held);
        late.join().unwrap();
        assert_eq!(rx.iter().collect::<Vec<_>>(), ["queued", "short"]);
    }

    #[test]
    fn an_inline_job_holds_its_slot_until_it_ends() {
        let pool = Pool::start(1, 8);
        let (started_tx, started_rx) = mpsc::channel();
        let (end_tx, end_rx) = mpsc::channel::<()>();
        let inline = std::thread::spawn(move || {
            block_on(inline_small_on(pool, move |_| {
                started_tx.send(std::thread::current().id()).unwrap();
                let _ = end_rx.recv();
            }))
            .unwrap();
        });
        let inline_thread = started_rx.recv().unwrap();
        assert_eq!(inline_thread, inline.thread().id(), "ran inline");
        // The pool's thread is idle but the one slot is the inline job's: a queued job waits.
        let ran = Arc::new(AtomicUsize::new(0));
        let r = Arc::clone(&ran);
        let (done_tx, done_rx) = mpsc::channel();
        pool.submit(Box::new(move || {
            r.fetch_add(1, Ordering::SeqCst);
            done_tx.send(()).unwrap();
        }))
        .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(ran.load(Ordering::SeqCst), 0, "ran beside the inline job");
        end_tx.send(()).unwrap();
        inline.join().unwrap();
        done_rx.recv().unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_panicking_inline_job_is_a_500_and_gives_its_slot_back() {
        let pool = Pool::start(1, 4);
        let r = block_on(inline_small_on(pool, |_| -> u8 {
            panic!("a bug in a short job")
        }));
        assert!(matches!(r, Err(QueryError::Internal(_))), "{r:?}");
        assert_eq!(block_on(offload_on(pool, |_| 5)).unwrap(), 5);
        assert_eq!(block_on(inline_small_on(pool, |_| 6)).unwrap(), 6);
    }

    #[test]
    fn the_same_worker_keeps_its_searcher() {
        let pool = Pool::start(1, 4);
        let a = block_on(offload_on(pool, |s| std::ptr::from_mut(s) as usize)).unwrap();
        let b = block_on(offload_on(pool, |s| std::ptr::from_mut(s) as usize)).unwrap();
        assert_eq!(a, b);
    }
}
