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
//! | the clock, timers, timeouts | [`Effects::timers`] ([`Timers`]; locally tokio's clock, which [`Clock`] picks) |
//!
//! Retry jitter is not an effect: it is drawn from a hash of the step's
//! idempotency key and attempt number.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
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
    /// The run's clock; `None`: tokio's, from when the run starts.
    pub timers: Option<Arc<dyn Timers>>,
}

/// The interpreter's clock: the only way it reads the time or waits for it
/// (attempt and step timeouts, retry delays, group and workflow timeouts,
/// approval deadlines). A durable-execution engine implements it with its
/// own durable timers.
pub trait Timers: Send + Sync {
    /// Milliseconds since the run began.
    fn now_ms(&self) -> u64;

    /// Completes when the run's clock reaches `at_ms` (at once if it has).
    fn sleep_until(&self, at_ms: u64) -> BoxFuture<'static, ()>;
}

/// tokio's clock — real, or virtual on a paused runtime — counted from
/// the moment it was made.
#[derive(Clone, Copy, Debug)]
pub struct TokioTimers {
    start: tokio::time::Instant,
}

impl TokioTimers {
    /// A clock whose zero is now.
    pub fn starting_now() -> TokioTimers {
        TokioTimers {
            start: tokio::time::Instant::now(),
        }
    }
}

impl Timers for TokioTimers {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn sleep_until(&self, at_ms: u64) -> BoxFuture<'static, ()> {
        match self.start.checked_add(Duration::from_millis(at_ms)) {
            Some(at) => Box::pin(tokio::time::sleep_until(at)),
            // Past what the clock can count: never.
            None => Box::pin(std::future::pending()),
        }
    }
}

impl Effects {
    /// Effects with `backend`, no recorder, and a fresh cancellation token.
    pub fn new(backend: Arc<dyn AgentBackend>) -> Effects {
        Effects {
            backend,
            recorder: None,
            cancel: CancellationToken::new(),
            timers: None,
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Mutex;
    use std::time::SystemTime;

    use async_trait::async_trait;
    use serde_json::Map;

    use super::*;
    use crate::runtime::backend::{ApprovalRequest, Decision, Reply, TaskOutcome, TaskRequest};
    use crate::runtime::result::RunStatus;

    /// A clock that jumps to a deadline when a wait for it is polled: time
    /// only moves when the interpreter waits through [`Timers`].
    #[derive(Default)]
    struct Jumping(Arc<AtomicU64>);

    impl Timers for Jumping {
        fn now_ms(&self) -> u64 {
            self.0.load(Ordering::SeqCst)
        }
        fn sleep_until(&self, at_ms: u64) -> BoxFuture<'static, ()> {
            let now = Arc::clone(&self.0);
            Box::pin(async move {
                now.fetch_max(at_ms, Ordering::SeqCst);
            })
        }
    }

    /// `flaky` fails once, `hang` never answers.
    #[derive(Default)]
    struct Agents(Mutex<Vec<(String, u32)>>);

    #[async_trait]
    impl AgentBackend for Agents {
        async fn call(&self, request: TaskRequest) -> Reply {
            crate::sync::lock(&self.0).push((request.task.clone(), request.attempt));
            match (request.task.as_str(), request.attempt) {
                ("flaky", 1) => TaskOutcome::failure("network", "reset").into(),
                ("hang", _) => std::future::pending().await,
                _ => TaskOutcome::Success(Map::new()).into(),
            }
        }
        async fn approve(&self, _request: ApprovalRequest) -> Decision {
            Decision::Granted
        }
    }

    const PLAYBOOK: &str = "agent A \"a\" {\n  task flaky \"f\" { timeout 30s }\n  task hang \"h\" { timeout 10m }\n}\n\
signal GEN:GO \"go\" {}\nroute go: GEN:GO => w\n\
workflow w \"w\" {\n  first = A.flaky() retry 1 backoff 1h on [network]\n  second = A.hang()\n    on timeout => continue\n  complete \"done\"\n}\n";

    #[test]
    fn the_interpreter_waits_only_through_its_timers() {
        let file = crate::source::SourceFile::new("t.ops", PLAYBOOK);
        let playbook = crate::analysis::parse_and_check(&file)
            .playbook
            .expect("parses");
        let request = crate::runtime::RunRequest {
            playbook: &playbook,
            source: Some(&file),
            signal: "GEN:GO".into(),
            context: crate::runtime::context::build(&playbook, "GEN:GO", &[]).expect("context"),
            run_id: "r".into(),
            now: SystemTime::UNIX_EPOCH,
        };
        let agents = Arc::new(Agents::default());
        let clock = Arc::new(Jumping::default());
        let mut effects = Effects::new(agents.clone());
        effects.timers = Some(clock.clone());
        // The real clock: a wait on tokio's timers (1 h, 10 min) instead of
        // the run's would hang here; the guard turns that into a failure.
        let runtime = runtime(Clock::Real).expect("runtime");
        let result = runtime
            .block_on(async {
                tokio::time::timeout(
                    Duration::from_secs(60),
                    crate::runtime::run_with(request, effects),
                )
                .await
            })
            .expect("the run waited on a clock other than its timers");
        assert_eq!(result.status, RunStatus::Complete, "{}", result.summary);
        let first = &result.steps[0];
        let starts: Vec<u64> = first.attempts.iter().map(|a| a.started_ms).collect();
        assert_eq!(
            starts,
            vec![0, 3_600_000],
            "the 1 h backoff, on the run's clock"
        );
        let second = &result.steps[1];
        assert_eq!(second.outcome.word(), "timeout");
        assert_eq!(second.started_ms + 600_000, clock.now_ms());
        assert_eq!(
            crate::sync::lock(&agents.0).clone(),
            vec![("flaky".into(), 1), ("flaky".into(), 2), ("hang".into(), 1)]
        );
    }
}
