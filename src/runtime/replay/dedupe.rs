//! The recorder of a resumed run: hands on only the entries the journal
//! does not already hold, so the journal stays one run across resumes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::super::record::{Entry, Recorder};
use super::history::{identity, History};

/// Passes each entry to `inner` unless the journal already holds it: an
/// entry whose [`identity`] the history records more often than the
/// replay has produced so far is a replay of a recorded one and is
/// dropped. The replayed `start` is always dropped (the resume writes a
/// `resume` entry instead); `end` and `suspend` are always kept.
pub struct Appending {
    inner: Arc<dyn Recorder>,
    recorded: HashMap<String, usize>,
    produced: Mutex<HashMap<String, usize>>,
}

impl Appending {
    /// Appends to `inner` what `history` does not hold.
    pub fn new(inner: Arc<dyn Recorder>, history: &History) -> Appending {
        Appending {
            inner,
            recorded: history.identities.clone(),
            produced: Mutex::new(HashMap::new()),
        }
    }
}

impl Recorder for Appending {
    fn record(&self, entry: &Entry) {
        if matches!(entry, Entry::Start(_)) {
            return;
        }
        if let Some(id) = identity(entry) {
            let recorded = self.recorded.get(&id).copied().unwrap_or(0);
            let mut produced = crate::sync::lock(&self.produced);
            let n = produced.entry(id).or_insert(0);
            *n += 1;
            if *n <= recorded {
                return;
            }
        }
        self.inner.record(entry);
    }
}
