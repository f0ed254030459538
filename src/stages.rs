//! Stage timings to the debug log. Start-up (issue 15) and the writer's snapshot swap (issue 12)
//! have budgets; `SERVICEMAP_LOG=servicemap=debug` shows where each goes, stage by stage.

use std::time::Instant;

/// A clock that logs the time since the previous lap (or its start) under a stage name.
pub(crate) struct Stages {
    what: &'static str,
    clock: Instant,
    /// The thread's CPU time at the start of the stage, seconds ([`crate::sys::thread_cpu_s`]).
    cpu_s: f64,
}

impl Stages {
    /// Start timing the stages of `what` (e.g. "validate"; logged as "validate stage").
    pub(crate) fn start(what: &'static str) -> Stages {
        Stages {
            what,
            clock: Instant::now(),
            cpu_s: crate::sys::thread_cpu_s(),
        }
    }

    /// Log the time of `stage`, just finished, and start the next one.
    /// `cpu_ms` is this thread's CPU time in the stage (work other threads did for it, on
    /// rayon's pool, is not counted).
    pub(crate) fn lap(&mut self, stage: &str) {
        let cpu_s = crate::sys::thread_cpu_s();
        tracing::debug!(
            stage,
            ms = self.clock.elapsed().as_secs_f64() * 1e3,
            cpu_ms = (cpu_s - self.cpu_s) * 1e3,
            thread = ?std::thread::current().id(),
            "{} stage",
            self.what
        );
        self.clock = Instant::now();
        self.cpu_s = cpu_s;
    }
}
