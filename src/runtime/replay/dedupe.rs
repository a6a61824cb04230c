//! The recorder of a resumed run: hands on only the entries the journal
//! does not already hold, so the journal stays one run across resumes.

use std::collections::{HashMap, HashSet};
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
    /// Recorded entries passed on all the same, as (identity, occurrence).
    also: HashSet<(String, usize)>,
}

impl Appending {
    /// Appends to `inner` what `history` does not hold.
    pub fn new(inner: Arc<dyn Recorder>, history: &History) -> Appending {
        Appending {
            inner,
            recorded: history.identities.clone(),
            produced: Mutex::new(HashMap::new()),
            also: HashSet::new(),
        }
    }

    /// Shows on `inner` what happens in the resumed run: what `history`
    /// does not hold, and the attempts it sends again (their `SPAWN` and
    /// `attempt`, already journalled when they were first sent).
    pub fn showing(inner: Arc<dyn Recorder>, history: &History) -> Appending {
        Appending {
            also: history.resent.clone(),
            ..Appending::new(inner, history)
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
            let n = produced.entry(id.clone()).or_insert(0);
            *n += 1;
            if *n <= recorded && !self.also.contains(&(id, *n)) {
                return;
            }
        }
        self.inner.record(entry);
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::runtime::record::{Resume, RunStart};
    use crate::runtime::result::{Event, EventKind};

    #[derive(Default)]
    struct Memory(Mutex<Vec<Entry>>);

    impl Recorder for Memory {
        fn record(&self, entry: &Entry) {
            crate::sync::lock(&self.0).push(entry.clone());
        }
    }

    fn start() -> Entry {
        Entry::Start(RunStart::for_tests(1))
    }

    fn spawn(step: &str, at_ms: u64) -> Entry {
        Entry::Event(Event {
            at_ms,
            kind: EventKind::Spawn,
            step: Some(step.into()),
            detail: String::new(),
        })
    }

    #[test]
    fn only_what_the_journal_lacks_is_appended_whatever_its_time() {
        let history = History::new(&[start(), spawn("a", 10), spawn("a", 20)]).expect("history");
        let journal = Arc::new(Memory::default());
        let appending = Appending::new(journal.clone(), &history);
        appending.record(&start());
        // The replay's times differ a little: identity, not time, decides.
        appending.record(&spawn("a", 9));
        appending.record(&spawn("a", 19));
        appending.record(&spawn("a", 30));
        appending.record(&spawn("b", 30));
        let resume = Entry::Resume(Resume {
            at: String::new(),
            at_ms: 40,
            allow_changed: false,
            divergences: Vec::new(),
        });
        appending.record(&resume);
        assert_eq!(
            *crate::sync::lock(&journal.0),
            vec![spawn("a", 30), spawn("b", 30), resume]
        );
    }

    #[test]
    fn the_display_also_shows_the_attempts_sent_again() {
        let line = |json: &str| serde_json::from_str::<Entry>(json).expect("an entry");
        let attempt = |step: &str| {
            line(&format!(
                r#"{{"type":"attempt","step":"{step}","agent":"W","task":"t","attempt":1,"at_ms":5,"request":{{"idempotency_key":"k-{step}"}}}}"#
            ))
        };
        let answered = line(
            r#"{"type":"attempt_end","step":"a","key":"k-a","attempt":1,"at_ms":6,"outcome":"success","outputs":{}}"#,
        );
        let recorded = [
            start(),
            spawn("a", 1),
            attempt("a"),
            answered.clone(),
            spawn("b", 7),
            attempt("b"),
        ];
        let history = History::new(&recorded).expect("history");
        let display = Arc::new(Memory::default());
        let journal = Arc::new(Memory::default());
        let showing = Appending::showing(display.clone(), &history);
        let appending = Appending::new(journal.clone(), &history);
        for entry in &recorded[1..] {
            showing.record(entry);
            appending.record(entry);
        }
        // `b` was sent and never answered: the resume sends it again.
        assert_eq!(
            *crate::sync::lock(&display.0),
            vec![spawn("b", 7), attempt("b")]
        );
        assert_eq!(*crate::sync::lock(&journal.0), Vec::<Entry>::new());
    }
}
