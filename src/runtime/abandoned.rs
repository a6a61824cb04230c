//! The guard that records a step dropped before it finishes, with the
//! attempts it started and what stopped it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::engine::Engine;
use super::result::{Attempt, StepOutcome, StepRecord};

/// Records a step that is dropped before it finishes (a decided gate, a
/// group, workflow or run timeout, an interrupt), so reports never lose it:
/// the attempts that ended are kept, and the one still running is recorded
/// with the outcome of what stopped it.
///
/// The guard holds the step's record while it runs (no copy): the step
/// adds its attempts through [`Abandoned::ended`] and takes the record back
/// with [`Abandoned::finish`].
pub struct Abandoned<'e, 'p> {
    engine: &'e Engine<'p>,
    record: StepRecord,
    /// Whether the record is still written on drop.
    armed: bool,
    /// When the running attempt was sent ([`NOT_RUNNING`] between attempts).
    spawned: Arc<AtomicU64>,
    /// The running attempt's number.
    current: u32,
    /// The attempt the step is waiting to start (during a backoff delay).
    waiting: Option<u32>,
}

/// `Abandoned::spawned` while no attempt is running.
pub(super) const NOT_RUNNING: u64 = u64::MAX;

impl<'e, 'p> Abandoned<'e, 'p> {
    pub(super) fn new(engine: &'e Engine<'p>, record: StepRecord) -> Self {
        Abandoned {
            engine,
            record,
            armed: true,
            spawned: Arc::new(AtomicU64::new(NOT_RUNNING)),
            current: 0,
            waiting: None,
        }
    }

    /// The cell the attempt sets when it is sent (see `Work::spawned`).
    pub(super) fn spawned(&self) -> Arc<AtomicU64> {
        self.spawned.clone()
    }

    /// Attempt `number` is about to run.
    pub(super) fn begin(&mut self, number: u32) {
        self.current = number;
        self.waiting = None;
        self.spawned.store(NOT_RUNNING, Ordering::Relaxed);
    }

    /// The backoff before attempt `number` began.
    pub(super) fn waiting(&mut self, number: u32) {
        self.waiting = Some(number);
    }

    /// An attempt ended: keep it.
    pub(super) fn ended(&mut self, attempt: Attempt) {
        self.spawned.store(NOT_RUNNING, Ordering::Relaxed);
        self.record.attempts.push(attempt);
    }

    /// The record of the step so far.
    pub(super) fn record(&mut self) -> &mut StepRecord {
        &mut self.record
    }

    /// The step finished normally: record nothing on drop.
    pub(super) fn disarm(&mut self) {
        self.armed = false;
    }

    /// The step finished (or ended itself): its record, which the guard no
    /// longer writes on drop.
    pub(super) fn finish(mut self) -> StepRecord {
        self.armed = false;
        std::mem::replace(&mut self.record, empty_record())
    }
}

/// A record with nothing in it (allocates nothing), left behind when a
/// guard hands its record on.
fn empty_record() -> StepRecord {
    StepRecord {
        id: None,
        name: String::new(),
        kind: String::new(),
        agent: None,
        task: None,
        outcome: StepOutcome::Skipped,
        critical: false,
        started_ms: 0,
        duration_ms: 0,
        attempts: Vec::new(),
        outputs: serde_json::Map::new(),
        simulated: false,
    }
}

impl Drop for Abandoned<'_, '_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let mut record = std::mem::replace(&mut self.record, empty_record());
        let engine = self.engine;
        let (timeout, reason) = engine
            .with_log(|log| log.abandon.clone())
            .unwrap_or((false, "interrupted".to_string()));
        let reason = match self.waiting {
            Some(n) => in_backoff(&reason, n),
            None => reason,
        };
        let now = engine.now_ms();
        let spawned = self.spawned.load(Ordering::Relaxed);
        if spawned != NOT_RUNNING {
            record.attempts.push(Attempt {
                number: self.current,
                started_ms: spawned,
                duration_ms: now.saturating_sub(spawned),
                outcome: if timeout { "timeout" } else { "aborted" }.into(),
                kind: timeout.then(|| "timeout".to_string()),
                message: Some(reason.clone()),
                stderr: Vec::new(),
            });
        }
        record.outcome = if timeout {
            StepOutcome::Timeout
        } else {
            StepOutcome::Aborted {
                reason: reason.clone(),
            }
        };
        record.duration_ms = now.saturating_sub(record.started_ms);
        engine.event(super::result::EventKind::Abort, Some(&record.name), reason);
        engine.with_log(|log| log.steps.push(record));
    }
}

/// What stopped a step during the backoff before attempt `number`.
pub(super) fn in_backoff(reason: &str, number: u32) -> String {
    format!("{reason} during the backoff, before attempt {number} started")
}
