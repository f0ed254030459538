//! Stage timings to the debug log. Start-up (issue 15) and the writer's snapshot swap (issue 12)
//! have budgets; `SERVICEMAP_LOG=servicemap=debug` shows where each goes, stage by stage.

use std::time::Instant;

/// A clock that logs the time since the previous lap (or its start) under a stage name.
pub(crate) struct Stages {
    what: &'static str,
    clock: Instant,
}

impl Stages {
    /// Start timing the stages of `what` (e.g. "validate"; logged as "validate stage").
    pub(crate) fn start(what: &'static str) -> Stages {
        Stages {
            what,
            clock: Instant::now(),
        }
    }

    /// Log the time of `stage`, just finished, and start the next one.
    pub(crate) fn lap(&mut self, stage: &str) {
        tracing::debug!(
            stage,
            ms = self.clock.elapsed().as_secs_f64() * 1e3,
            "{} stage",
            self.what
        );
        self.clock = Instant::now();
    }
}
