//! The effects boundary: everything non-deterministic the interpreter does
//! goes through [`Effects`] and the clock of the runtime it runs on, so the
//! interpreter is a deterministic function of the playbook, the signal and
//! what the effects answered, and when (docs/durability.md).
//!
//! | effect | through |
//! |---|---|
//! | agent calls, approvals | [`Effects::backend`] |
//! | journal writes | [`Effects::recorder`] |
//! | interrupts | [`Effects::cancel`] |
//! | the clock, timers, timeouts | tokio's clock: [`Clock`] picks it |
//!
//! Retry jitter is not an effect: it is drawn from a hash of the step's
//! idempotency key and attempt number.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::backend::AgentBackend;
use super::record::Recorder;

/// What a run does to the world, and how it is told to stop.
#[derive(Clone)]
pub struct Effects {
    /// Performs agent attempts and asks for approvals.
    pub backend: Arc<dyn AgentBackend>,
    /// Is handed every entry of the run, in order (the journal).
    pub recorder: Option<Arc<dyn Recorder>>,
    /// Cancelled to interrupt the run.
    pub cancel: CancellationToken,
}

impl Effects {
    /// Effects with `backend`, no recorder, and a fresh cancellation token.
    pub fn new(backend: Arc<dyn AgentBackend>) -> Effects {
        Effects {
            backend,
            recorder: None,
            cancel: CancellationToken::new(),
        }
    }

    /// The same, with every entry handed to `recorder`.
    pub fn recorded(mut self, recorder: Option<Arc<dyn Recorder>>) -> Effects {
        self.recorder = recorder;
        self
    }
}

/// The clock a run's runtime gives the interpreter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// Paused: time moves only when every task waits on a timer, straight
    /// to the next one (dry runs, replays; a replay may switch it to real
    /// time once, at its horizon).
    Virtual,
    /// The wall clock.
    Real,
}

/// A current-thread runtime with `clock`, I/O and timers: what dry runs,
/// replays and resumes run on.
pub fn runtime(clock: Clock) -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(clock == Clock::Virtual)
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}
