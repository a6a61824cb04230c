//! Suspending a run to wait for a person (status WAITING).
//!
//! When an approval has nobody to decide it ([`Decision::Suspend`]), the
//! interpreter records `suspend` after the approvals' `approval_wait`
//! entries, **seals** the run's recorder so that nothing after it reaches
//! the journal or the progress display, and cancels the run: agents still
//! at work in other branches are stopped, and their attempts stay in the
//! journal exactly as a `kill -9` would leave them (an `attempt` without an
//! `attempt_end`), so that `coordops resume` sends them again with the same
//! idempotency key.
//!
//! [`Decision::Suspend`]: super::backend::Decision::Suspend

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::engine::Engine;
use super::record::{ApprovalWait, Entry, Recorder, Suspend};

/// A recorder that passes entries on until it is sealed, then drops them.
pub struct Sealable {
    inner: Arc<dyn Recorder>,
    sealed: AtomicBool,
}

impl Sealable {
    /// Passes entries to `inner` until [`Self::seal`].
    pub fn new(inner: Arc<dyn Recorder>) -> Self {
        Sealable {
            inner,
            sealed: AtomicBool::new(false),
        }
    }

    /// From now on, nothing is recorded.
    pub fn seal(&self) {
        self.sealed.store(true, Ordering::SeqCst);
    }
}

impl Recorder for Sealable {
    fn record(&self, entry: &Entry) {
        if !self.sealed.load(Ordering::SeqCst) {
            self.inner.record(entry);
        }
    }
}

/// How much of the run's log the journal holds when the run suspended
/// (what was recorded later is dropped from the result too).
#[derive(Clone, Copy, Debug, Default)]
pub struct SealedAt {
    /// Events recorded.
    pub events: usize,
    /// Steps recorded.
    pub steps: usize,
    /// Gates recorded.
    pub gates: usize,
    /// Handoffs recorded.
    pub handoffs: usize,
    /// Milliseconds since the run began.
    pub at_ms: u64,
}

impl Engine<'_> {
    /// Records that `wait` waits for a person (until its decision or the
    /// run suspends).
    pub(super) fn waiting(&self, wait: ApprovalWait) {
        self.note(Entry::ApprovalWait(wait.clone()));
        self.with_log(|log| log.pending.push(wait));
    }

    /// `name` no longer waits (decided, timed out or interrupted).
    pub(super) fn not_waiting(&self, name: &str) {
        self.with_log(|log| {
            if let Some(i) = log.pending.iter().position(|w| w.name == name) {
                log.pending.remove(i);
            }
        });
    }

    /// Suspends the run: records `suspend` naming every approval waiting
    /// for a person, seals the recorder and cancels the run. Once only.
    pub(super) fn suspend(&self) {
        let at_ms = self.now_ms();
        let first = self.with_log(|log| {
            if log.sealed.is_some() {
                return false;
            }
            let waiting_for = log.pending.iter().map(|w| w.name.clone()).collect();
            if let Some(r) = &self.recorder {
                r.record(&Entry::Suspend(Suspend { at_ms, waiting_for }));
            }
            if let Some(seal) = &self.seal {
                seal.seal();
            }
            log.sealed = Some(SealedAt {
                events: log.events.len(),
                steps: log.steps.len(),
                gates: log.gates.len(),
                handoffs: log.handoffs.len(),
                at_ms,
            });
            true
        });
        if first {
            tracing::debug!(at_ms, "run suspended: waiting for approvals");
            self.cancel.cancel();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::runtime::record::Resume;

    #[derive(Default)]
    struct Collect(Mutex<Vec<Entry>>);

    impl Recorder for Collect {
        fn record(&self, entry: &Entry) {
            crate::sync::lock(&self.0).push(entry.clone());
        }
    }

    #[test]
    fn a_sealed_recorder_drops_everything_after_the_seal() {
        let inner = Arc::new(Collect::default());
        let sealable = Sealable::new(inner.clone());
        let entry = |ms| {
            Entry::Resume(Resume {
                at: String::new(),
                at_ms: ms,
                allow_changed: false,
                divergences: Vec::new(),
            })
        };
        sealable.record(&entry(1));
        sealable.seal();
        sealable.record(&entry(2));
        assert_eq!(*crate::sync::lock(&inner.0), vec![entry(1)]);
    }
}
