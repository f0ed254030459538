//! The one place the crate talks to the C library directly.
//!
//! glibc's malloc keeps memory freed by a thread in that thread's arena for reuse instead of
//! returning it to the system. Start-up parses and indexes the data on several threads, and
//! every edit retires a whole snapshot; what they free stays resident until `malloc_trim`
//! hands the free pages of every arena back (issue 15: resident memory at start and flat
//! through a soak). Measured on the default data: 22.8 MB held by malloc after start-up,
//! 17.9 MB of it in use.
#![allow(unsafe_code)]

/// Return the free pages of every malloc arena to the system. Cheap when little is free;
/// call it when a burst of freeing is over, not per request.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: malloc_trim only walks the allocator's own free lists under its locks;
        // it takes no pointer from us and is safe to call from any thread at any time.
        unsafe {
            libc::malloc_trim(0);
        }
    }
}

/// CPU time the calling thread has used, in seconds (`CLOCK_THREAD_CPUTIME_ID`); 0 where the
/// clock is not available. Stage timings log it beside wall time: on a shared host a stage's
/// wall time says as much about the neighbours as about the stage.
#[must_use]
pub fn thread_cpu_s() -> f64 {
    #[cfg(target_os = "linux")]
    {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes one timespec we own for the duration of the call.
        let ok = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &raw mut ts) } == 0;
        if ok {
            return ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9;
        }
        0.0
    }
    #[cfg(not(target_os = "linux"))]
    {
        0.0
    }
}

/// Most malloc arenas the server uses (`M_ARENA_MAX`): one per core plus one for the main
/// and background threads. glibc's default is eight per core: under the soak's mix (actix
/// workers, tokio's blocking threads, rayon) a 2-core machine reached all 16, each keeping
/// what its threads freed. Measured with `bench/mem_by_endpoint.sh` (the whole mix, default
/// data, release build): 67.5 MB at the end of 20 s with 2 arenas against 90 MB after 10 s
/// with 16. Two arenas on two cores made both HTTP workers share one arena's lock:
/// `/nearest` (walk) fell from 64,300 to 54,000 req/s; with three it is back at 64,300 for
/// 4 MB more at the peak of 30 s of the mix (69.1 against 65.1 MB, ending 55.1 against 54.1).
#[must_use]
pub fn malloc_arenas_max() -> i32 {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
    i32::try_from(cores + 1).unwrap_or(i32::MAX)
}

/// Cap glibc's arenas at [`malloc_arenas_max`] (an explicit `MALLOC_ARENA_MAX` in the
/// environment wins, so an operator can still try other values), fix the mmap threshold, and
/// set malloc up for the load ([`malloc_for_serving`] undoes that once the data is loaded).
/// Call before any thread starts: arenas already created are kept.
pub fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
            let arenas = malloc_arenas_max();
            // SAFETY: mallopt only sets a parameter of the allocator under its own lock; no
            // pointer is passed.
            unsafe {
                libc::mallopt(libc::M_ARENA_MAX, arenas);
            }
        }
        // A fixed mmap threshold: glibc raises its own up to 32 MB each time a large block
        // is freed, after which every response buffer of a coverage report, an isochrone or
        // a batch chunk (100 kB–6 MB) comes from an arena's heap and leaves holes there
        // between two trims. Fixed at 64 kB they are mapped and unmapped whole. The whole
        // soak mix for 40 s (`bench/mem_by_endpoint.sh all`, 3 arenas): peak 70.2 → 65.1 MB,
        // end 57.4 → 53.6 MB. Kept through the load too: raised to 32 MB while loading
        // (boot2), resident memory after start rose 0.3 MB for no page faults saved beyond
        // what the top pad below saves.
        set_unless_tuned(
            libc::M_MMAP_THRESHOLD,
            MMAP_THRESHOLD_BYTES,
            "mmap_threshold",
            "MALLOC_MMAP_THRESHOLD_",
        );
        malloc_for_loading();
    }
}

/// `mallopt(param, value)` unless the operator set that parameter through the environment
/// (`GLIBC_TUNABLES` `glibc.malloc.<tunable>` or the older `MALLOC_<NAME>_`): theirs wins.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn set_unless_tuned(param: libc::c_int, value: i32, tunable: &str, var: &str) {
    let tuned = std::env::var("GLIBC_TUNABLES").is_ok_and(|t| t.contains(tunable))
        || std::env::var_os(var).is_some();
    if !tuned {
        // SAFETY: mallopt only sets a parameter of the allocator under its own lock; no
        // pointer is passed.
        unsafe {
            libc::mallopt(param, value);
        }
    }
}

/// While the data loads, each arena's heap grows (and, after frees, keeps) 1 MB beyond what
/// it needs, so the load's temporaries of 64 kB and more (file texts, parse buffers, hash
/// maps sized for every vertex) mostly come from the top of a heap, reusing pages it already
/// touched, instead of each being a fresh mapping of zeroed pages. The trims after the load
/// ([`trim_own_arena_top`], [`release_free_memory`]) hand back what the load freed. Measured
/// on the default data (`perf stat`, one start to ready, 5 starts each alternating, loaded
/// host; RSS from 9 starts each): page faults 10,358 → 9,413, RssAnon 19,828 → 19,788 kB.
/// A 16 MB pad (boot2) saved more faults (7,545) but left 0.3 MB more resident after start
/// (the long-lived blocks it placed in the heaps, fragmented there), and 4 MB 0.14 MB:
/// issue 15's start-up memory budget is what limits the pad.
fn malloc_for_loading() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    set_unless_tuned(
        libc::M_TOP_PAD,
        LOAD_TOP_PAD_BYTES,
        "top_pad",
        "MALLOC_TOP_PAD_",
    );
}

/// The top pad back to glibc's default once the data is loaded (call before the trims that
/// follow the load). `GLIBC_TUNABLES` or `MALLOC_TOP_PAD_` still win.
pub fn malloc_for_serving() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    set_unless_tuned(
        libc::M_TOP_PAD,
        GLIBC_TOP_PAD_BYTES,
        "top_pad",
        "MALLOC_TOP_PAD_",
    );
}

/// Hand back the free memory at the top of the calling thread's malloc arena, with the top
/// pad now in force (call on each thread that loaded, after [`malloc_for_serving`]).
/// `malloc_trim` trims the top of the main arena only; a thread arena's top is trimmed by
/// `free` (glibc's `heap_trim`) when a freed block merges into 64 kB or more. Two adjacent
/// 48 kB blocks (under the 64 kB mmap threshold, so from the arena) freed one after the other
/// are such a block. Without this the rayon workers' arenas kept up to the load's 16 MB top
/// pad of touched pages (0.2-0.3 MB resident after start with a 16 MB pad).
pub fn trim_own_arena_top() {
    let a: Vec<u8> = Vec::with_capacity(48 << 10);
    let b: Vec<u8> = Vec::with_capacity(48 << 10);
    // black_box: an allocation freed unused may be optimised away, and then nothing is freed.
    drop(std::hint::black_box(a));
    drop(std::hint::black_box(b));
}

/// While loading: heaps grow and keep this much beyond their need ([`malloc_for_loading`]).
const LOAD_TOP_PAD_BYTES: i32 = 1 << 20;
/// glibc's default (mallopt(3)).
const GLIBC_TOP_PAD_BYTES: i32 = 128 << 10;

/// Set the calling thread's niceness (Linux: `setpriority(PRIO_PROCESS, tid)` changes that
/// one thread). A warning names `who` when the system refuses; elsewhere it does nothing.
pub fn set_own_niceness(nice: i32, who: &str) {
    #[cfg(target_os = "linux")]
    {
        let tid = rustix::thread::gettid();
        if let Err(e) = rustix::process::setpriority_process(Some(tid), nice) {
            tracing::warn!("cannot lower the priority of the {who}: {e}");
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (nice, who);
    }
}

/// Let a listening socket queue up to `backlog` connections not yet accepted (`listen(2)`
/// again on a listening socket only changes its backlog). `std::net::TcpListener::bind`
/// uses 128; actix's own bind used 1024.
pub fn set_listen_backlog(listener: &std::net::TcpListener, backlog: i32) {
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: listen takes a descriptor we own (borrowed from a live listener) and an
        // integer; no memory is passed.
        unsafe {
            libc::listen(listener.as_raw_fd(), backlog);
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (listener, backlog);
    }
}

/// Allocations from this size up are mapped on their own ([`limit_malloc_arenas`]).
pub const MMAP_THRESHOLD_BYTES: i32 = 64 << 10;

/// Hand free memory back every `interval` on a thread of its own, for as long as the process
/// lives. Heavy requests (coverage, isochrones, batches) free megabytes at a time in the
/// middle of an arena's heap, where glibc's own trimming (top of the heap only) never reaches;
/// without this the soak's resident memory stayed at its high-water mark. `malloc_trim`
/// walks the free lists under each arena's lock: well under a millisecond on this data.
pub fn spawn_memory_releaser(interval: std::time::Duration) {
    let spawned = std::thread::Builder::new()
        .name("release-free-memory".into())
        .spawn(move || {
            loop {
                std::thread::sleep(interval);
                release_free_memory();
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the thread that releases free memory");
    }
}

/// Run the calling thread only when no ordinary thread wants its core (Linux `SCHED_IDLE`).
/// Returns `false` when the system refuses (another OS, or a seccomp policy), so the caller
/// can fall back to a high niceness.
///
/// Why not nice 19 alone (issue 12: `/nearest` within 10 % of idle during a write burst):
/// a nice-19 thread weighs 15 against a reader's 1024, yet once the scheduler picks it, it
/// keeps the core for its slice, and readers that wake (their next request arrived) wait
/// behind it. Measured on this 2-core host with the writer's threads moved to `SCHED_IDLE`
/// by `chrt --idle` (three runs each, alternating): the writer took 2.1–2.3 s of CPU in the
/// 11 s window instead of 2.5–2.8 s, and `/nearest` answered 50,240 / 55,378 / 53,103 req/s
/// during the burst against 45,340 / 48,900 / 49,873 at nice 19. A waking ordinary thread
/// preempts an idle-policy one at once; the writer still gets every cycle readers leave.
#[must_use]
pub fn run_only_when_idle() -> bool {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: sched_setscheduler reads the parameter struct we pass for the duration
        // of the call; pid 0 is the calling thread. Lowering one's own policy needs no
        // privilege.
        unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &raw const param) == 0 }
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}
