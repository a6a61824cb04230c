//! What a journal recorded of one run, indexed for replay: each attempt's
//! answer by (idempotency key, attempt), each approval's decision by name,
//! the last recorded time (the horizon's clock) and how many entries of
//! each identity the journal already holds (so a resume appends only what
//! is new).

use std::collections::{HashMap, HashSet, VecDeque};

use super::super::backend::Decision;
use super::super::record::{ApprovalDecision, AttemptEnd, AttemptStart, Entry, RunStart};
use super::super::result::{EventKind, RunResult, RunStatus, StepOutcome};

/// One recorded attempt: when it was sent and, if it was, how it was answered.
#[derive(Clone, Debug)]
pub struct RecordedAttempt {
    /// The `attempt` entry.
    pub start: AttemptStart,
    /// The `attempt_end` entry, when the journal has one.
    pub end: Option<AttemptEnd>,
}

/// One recorded approval: its decision and when, or none (it timed out).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordedDecision {
    /// Granted or denied; `None` when it timed out without a decision.
    pub decision: Option<Decision>,
    /// Milliseconds since the run began.
    pub at_ms: u64,
}

/// A run's journal, indexed for replay.
#[derive(Clone, Debug)]
pub struct History {
    /// The run's `start` entry.
    pub start: RunStart,
    /// Attempts by ([`ReplayKeys`] key, attempt number).
    pub attempts: HashMap<(String, u32), RecordedAttempt>,
    /// Decisions by approval name, in the order they were made.
    pub decisions: HashMap<String, VecDeque<RecordedDecision>>,
    /// Deadlines of approvals that waited for a person, by name, in order
    /// (from `approval_wait` entries).
    pub waits: HashMap<String, Vec<u64>>,
    /// The latest time the run itself recorded (ms since the run began):
    /// decisions appended by `coordops approve` while it was stopped do
    /// not count (they are delivered after the horizon).
    pub last_ms: u64,
    /// How the run ended, if its journal says it did (an `end` entry no
    /// `resume` follows; the end of a WAITING run, or of one an interrupt
    /// stopped, does not count: those can be resumed).
    pub ended: Option<Box<RunResult>>,
    /// The journal's last `end`, whatever its status and whatever follows.
    pub last_end: Option<Box<RunResult>>,
    /// How many entries of each identity (see [`identity`]) it holds.
    pub identities: HashMap<String, usize>,
    /// The entries of the attempts a resume sends again (sent, never
    /// answered): their `SPAWN` event and `attempt` entry, each as
    /// (identity, which occurrence of it, from 1).
    pub resent: HashSet<(String, usize)>,
    /// The number of resumes so far.
    pub resumes: usize,
    /// The `decision` entries themselves (who, when, how, note), in order.
    pub decision_entries: Vec<ApprovalDecision>,
}

/// The summary of a run an interrupt (Ctrl-C, SIGTERM, SIGHUP) stopped:
/// such a run can be resumed, as after a `kill -9`.
pub const INTERRUPTED: &str = "Aborted: interrupted";

/// Whether `entry` records what an interrupt did (an attempt or a step it
/// stopped): a resume does that work again.
fn interrupted(entry: &Entry) -> bool {
    match entry {
        Entry::AttemptEnd(e) => e.outcome == "aborted",
        Entry::Step(s) => {
            matches!(&s.outcome, StepOutcome::Aborted { reason } if reason.starts_with("interrupted"))
        }
        _ => false,
    }
}

/// The identity of an entry across replays: what makes a replayed entry
/// "the same" as a recorded one, whatever its times. `None` for entries
/// that are never deduplicated (start, end, suspend, resume, and what an
/// interrupt stopped).
pub fn identity(entry: &Entry) -> Option<String> {
    if interrupted(entry) {
        return None;
    }
    Some(match entry {
        Entry::Start(_) | Entry::End(_) | Entry::Suspend(_) | Entry::Resume(_) => return None,
        Entry::Route(_) => "route".to_string(),
        Entry::Event(e) => format!("event {:?} {}", e.kind, e.step.as_deref().unwrap_or("")),
        Entry::Attempt(a) => format!("attempt {} {}", attempt_key(a), a.attempt),
        Entry::AttemptEnd(e) => format!("end {} {}", end_key(e), e.attempt),
        Entry::Step(s) => format!("step {} {}", s.id.as_deref().unwrap_or(""), s.name),
        Entry::Gate(g) => format!("gate {}", g.group),
        Entry::Handoff(h) => format!("handoff {}", h.step),
        Entry::ApprovalWait(w) => format!("wait {}", w.name),
        Entry::Decision(d) => format!("decision {} {}", d.name, d.at_ms),
    })
}

/// The key a replay finds a step's attempts by, stable when lines are
/// added above its call: its step id plus the call site's occurrence (`#N`
/// of the idempotency key) when the call is written in a workflow;
/// otherwise (a route's task, a recovery) `AGENT.task~N`, the N-th such
/// step of that task in the run.
#[derive(Clone, Debug, Default)]
pub struct ReplayKeys {
    unplaced: HashMap<String, String>,
    counts: HashMap<String, usize>,
}

impl ReplayKeys {
    /// The replay key of the step with `id` (if any), `target`
    /// (`AGENT.task`) and `idempotency_key`.
    pub fn key(&mut self, id: Option<&str>, target: &str, idempotency_key: &str) -> String {
        if let Some(id) = id {
            return match idempotency_key.rsplit_once('#') {
                Some((_, n)) if n.bytes().all(|b| b.is_ascii_digit()) => format!("{id}#{n}"),
                _ => id.to_string(),
            };
        }
        if let Some(key) = self.unplaced.get(idempotency_key) {
            return key.clone();
        }
        let n = self.counts.entry(target.to_string()).or_insert(0);
        *n += 1;
        let key = format!("{target}~{n}");
        self.unplaced
            .insert(idempotency_key.to_string(), key.clone());
        key
    }
}

/// The idempotency key an `attempt` entry's request carries (its step's
/// name in journals written before keys existed).
pub fn attempt_key(a: &AttemptStart) -> String {
    a.request
        .get("idempotency_key")
        .and_then(|k| k.as_str())
        .map_or_else(|| a.step.clone(), str::to_string)
}

fn end_key(e: &AttemptEnd) -> String {
    if e.key.is_empty() {
        e.step.clone()
    } else {
        e.key.clone()
    }
}

impl History {
    /// Indexes `entries` (one run, starting with its `start`).
    pub fn new(entries: &[Entry]) -> Result<History, String> {
        let Some(Entry::Start(start)) = entries.first() else {
            return Err("the journal records no run start".to_string());
        };
        let mut history = History {
            start: start.clone(),
            attempts: HashMap::new(),
            decisions: HashMap::new(),
            waits: HashMap::new(),
            last_ms: 0,
            ended: None,
            last_end: None,
            identities: HashMap::new(),
            resent: HashSet::new(),
            resumes: 0,
            decision_entries: Vec::new(),
        };
        // Approvals decided by an entry of their own; the others are read
        // from their step records.
        let mut decided_by_entry: HashMap<String, VecDeque<RecordedDecision>> = HashMap::new();
        let mut decided_by_step: HashMap<String, VecDeque<RecordedDecision>> = HashMap::new();
        // Each idempotency key's replay key (ends carry only the former).
        let mut replay_keys: HashMap<String, String> = HashMap::new();
        let mut keys = ReplayKeys::default();
        // Each step's last `SPAWN`, then each attempt's entries, as
        // (identity, occurrence): those of attempts never answered are resent.
        let mut spawned: HashMap<String, (String, usize)> = HashMap::new();
        let mut sent: HashMap<(String, u32), Vec<(String, usize)>> = HashMap::new();
        for entry in entries {
            let occurrence = identity(entry).map(|id| {
                let n = history.identities.entry(id.clone()).or_insert(0);
                *n += 1;
                (id, *n)
            });
            match (entry, occurrence) {
                (Entry::Event(e), Some(seen)) if e.kind == EventKind::Spawn => {
                    spawned.insert(e.step.clone().unwrap_or_default(), seen);
                }
                (Entry::Attempt(a), Some(seen)) => {
                    let target = format!("{}.{}", a.agent, a.task);
                    let replay = keys.key(a.id.as_deref(), &target, &attempt_key(a));
                    let mut own: Vec<_> = spawned.remove(&a.step).into_iter().collect();
                    own.push(seen);
                    sent.insert((replay, a.attempt), own);
                }
                _ => {}
            }
            match entry {
                Entry::Start(_) | Entry::Route(_) | Entry::Gate(_) => {}
                Entry::Event(e) => history.saw(e.at_ms),
                Entry::Handoff(h) => history.saw(h.at_ms),
                Entry::Attempt(a) => {
                    history.saw(a.at_ms);
                    let key = attempt_key(a);
                    let target = format!("{}.{}", a.agent, a.task);
                    let replay = keys.key(a.id.as_deref(), &target, &key);
                    replay_keys.insert(key, replay.clone());
                    history.attempts.insert(
                        (replay, a.attempt),
                        RecordedAttempt {
                            start: a.clone(),
                            end: None,
                        },
                    );
                }
                // Stopped by an interrupt: in flight, as far as a resume goes.
                Entry::AttemptEnd(e) if e.outcome == "aborted" => history.saw(e.at_ms),
                Entry::AttemptEnd(e) => {
                    history.saw(e.at_ms);
                    let key = end_key(e);
                    let replay = replay_keys.get(&key).cloned().unwrap_or(key);
                    if let Some(a) = history.attempts.get_mut(&(replay, e.attempt)) {
                        a.end = Some(e.clone());
                    }
                }
                Entry::Step(s) if interrupted(entry) => {
                    history.saw(s.started_ms.saturating_add(s.duration_ms));
                }
                Entry::Step(s) => {
                    history.saw(s.started_ms.saturating_add(s.duration_ms));
                    if s.kind == "approval" {
                        let word = s.attempts.first().map(|a| a.outcome.as_str());
                        let decision = match word {
                            Some("granted") => Some(Decision::Granted),
                            Some("denied") => Some(Decision::Denied),
                            _ => None,
                        };
                        if word.is_some() {
                            decided_by_step
                                .entry(s.name.clone())
                                .or_default()
                                .push_back(RecordedDecision {
                                    decision,
                                    at_ms: s.started_ms.saturating_add(s.duration_ms),
                                });
                        }
                    }
                }
                Entry::ApprovalWait(w) => {
                    history.saw(w.at_ms);
                    history
                        .waits
                        .entry(w.name.clone())
                        .or_default()
                        .push(w.deadline_ms);
                }
                Entry::Decision(d) => {
                    history.decision_entries.push(d.clone());
                    decided_by_entry
                        .entry(d.name.clone())
                        .or_default()
                        .push_back(RecordedDecision {
                            decision: Some(if d.granted {
                                Decision::Granted
                            } else {
                                Decision::Denied
                            }),
                            at_ms: d.at_ms,
                        });
                }
                Entry::Suspend(s) => history.saw(s.at_ms),
                Entry::Resume(_) => {
                    history.resumes += 1;
                    history.ended = None;
                }
                Entry::End(result) => {
                    history.last_end = Some(result.clone());
                    // A WAITING run, or one an interrupt stopped, goes on.
                    let resumable = result.status == RunStatus::Waiting
                        || (result.status == RunStatus::Aborted && result.summary == INTERRUPTED);
                    if !resumable {
                        history.ended = Some(result.clone());
                    }
                }
            }
        }
        for (key, attempt) in &history.attempts {
            if attempt.end.is_none() {
                history
                    .resent
                    .extend(sent.remove(key).into_iter().flatten());
            }
        }
        decided_by_step.extend(decided_by_entry);
        history.decisions = decided_by_step;
        Ok(history)
    }

    fn saw(&mut self, at_ms: u64) {
        self.last_ms = self.last_ms.max(at_ms);
    }

    /// The recorded attempt `number` of the step with replay key `key`.
    pub fn attempt(&self, key: &str, number: u32) -> Option<&RecordedAttempt> {
        self.attempts.get(&(key.to_string(), number))
    }

    /// The deadline of the `index`th wait of approval `name` (the last one
    /// recorded when there are fewer), if the journal records one.
    pub fn deadline(&self, name: &str, index: usize) -> Option<u64> {
        let waits = self.waits.get(name)?;
        waits.get(index).or(waits.last()).copied()
    }

    /// The number of answered attempts the journal holds.
    pub fn answered(&self) -> usize {
        self.attempts.values().filter(|a| a.end.is_some()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::record::ApprovalDecision;
    use crate::runtime::result::{Event, EventKind};
    use serde_json::{json, Map};

    fn start() -> Entry {
        Entry::Start(RunStart::for_tests(1_767_225_600_000))
    }

    fn attempt(key: &str, n: u32, at_ms: u64) -> Entry {
        Entry::Attempt(AttemptStart {
            step: "s".into(),
            id: None,
            agent: "A".into(),
            task: "t".into(),
            attempt: n,
            at_ms,
            request: json!({ "idempotency_key": key }),
        })
    }

    fn end(key: &str, n: u32, at_ms: u64, outcome: &str) -> Entry {
        Entry::AttemptEnd(AttemptEnd {
            step: "s".into(),
            key: key.into(),
            attempt: n,
            at_ms,
            outcome: outcome.into(),
            kind: None,
            message: None,
            stderr: Vec::new(),
            outputs: Map::new(),
            retry_after_ms: None,
        })
    }

    #[test]
    fn a_step_in_a_workflow_is_found_by_its_id_and_occurrence() {
        let mut keys = ReplayKeys::default();
        assert_eq!(keys.key(Some("w.2"), "A.t", "r/9:3"), "w.2");
        assert_eq!(keys.key(Some("w.2[1]"), "A.t", "r/9:3/1#3"), "w.2[1]#3");
        assert_eq!(keys.key(None, "A.fix", "r/30:9"), "A.fix~1");
        assert_eq!(keys.key(None, "A.fix", "r/30:9#2"), "A.fix~2");
        assert_eq!(
            keys.key(None, "A.fix", "r/30:9"),
            "A.fix~1",
            "again for a retry"
        );
    }

    #[test]
    fn attempts_are_indexed_by_key_and_number_with_their_answers() {
        let entries = vec![
            start(),
            attempt("r/1:1", 1, 0),
            end("r/1:1", 1, 40, "failure"),
            attempt("r/1:1", 2, 1040),
            end("r/1:1", 2, 1100, "success"),
            attempt("r/2:1", 1, 1100),
        ];
        let h = History::new(&entries).expect("history");
        assert_eq!(h.attempts.len(), 3);
        assert_eq!(
            h.attempt("A.t~1", 2)
                .and_then(|a| a.end.as_ref())
                .map(|e| e.outcome.as_str()),
            Some("success")
        );
        assert!(h.attempt("A.t~2", 1).is_some_and(|a| a.end.is_none()));
        assert_eq!(h.answered(), 2);
        assert_eq!(h.last_ms, 1100);
        assert_eq!(h.identities.get("attempt r/1:1 1"), Some(&1));
    }

    #[test]
    fn decisions_come_from_decision_entries_and_a_waiting_end_is_not_an_end() {
        let waiting = RunResult {
            status: RunStatus::Waiting,
            duration_ms: 5,
            ..RunResult::begun(&RunStart::for_tests(1))
        };
        let entries = vec![
            start(),
            Entry::Event(Event {
                at_ms: 5,
                kind: EventKind::Approval,
                step: Some("ship".into()),
                detail: "requested".into(),
            }),
            Entry::End(Box::new(waiting)),
            Entry::Decision(ApprovalDecision {
                name: "ship".into(),
                granted: true,
                by: "ann".into(),
                note: None,
                at: "2026-01-01T01:00:00.000Z".into(),
                at_ms: 3_600_000,
                via: "command".into(),
            }),
        ];
        let h = History::new(&entries).expect("history");
        assert!(h.ended.is_none());
        assert!(h.last_end.is_some());
        let d = h.decisions.get("ship").and_then(|q| q.front()).copied();
        assert_eq!(
            d,
            Some(RecordedDecision {
                decision: Some(Decision::Granted),
                at_ms: 3_600_000
            })
        );
        // A decision appended while the run was stopped is past the horizon.
        assert_eq!(h.last_ms, 5);
    }
}
