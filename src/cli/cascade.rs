//! `--emit jsonl`: the coordinator's cascade signals (the seed's "Emitting
//! Cascade Signals"), streamed on stdout for an upstream orchestrator, one
//! JSON object per line as in `emit_to_orchestrator`:
//!
//! ```json
//! {"source": "COORD_OPS", "signal": "COORD_OPS:SPAWN", "timestamp": "2026-01-01T00:00:00.000Z", "payload": {…}}
//! ```
//!
//! Every run ends with exactly one COMPLETE, FAILURE (`"scope": "run"`) or
//! ESCALATE line. Lines are redacted and flushed one by one.

use std::sync::{mpsc, Mutex};
use std::time::{Duration, SystemTime};

use serde_json::{json, Value};

use crate::output;
use crate::runtime::record::{Entry, Recorder};
use crate::runtime::result::{EventKind, RunResult, RunStatus, StepOutcome, StepRecord};
use crate::sync::lock;

/// Where the run is, to name and date the signals.
#[derive(Clone, Debug, Default)]
pub struct CascadeState {
    coordinator: String,
    started_at: String,
    started: Option<SystemTime>,
    run_id: String,
    signal: String,
    /// The steps that succeeded so far (for a suspended run's last line).
    done: Vec<String>,
    /// Whether the run's last line was sent (a suspend ends the stream).
    ended: bool,
}

impl CascadeState {
    fn timestamp(&self, at_ms: u64) -> String {
        match self.started {
            Some(start) => {
                humantime::format_rfc3339_millis(start + Duration::from_millis(at_ms)).to_string()
            }
            None => self.started_at.clone(),
        }
    }

    fn signal(&self, name: &str, at_ms: u64, payload: Value) -> Value {
        json!({
            "source": self.coordinator,
            "signal": format!("{}:{name}", self.coordinator),
            "timestamp": self.timestamp(at_ms),
            "payload": payload,
        })
    }

    /// The signals `entry` gives rise to (none for most entries).
    pub fn signals(&mut self, entry: &Entry) -> Vec<Value> {
        if self.ended {
            return Vec::new();
        }
        match entry {
            Entry::Start(start) => {
                self.coordinator = start.coordinator.clone();
                self.started_at = start.started_at.clone();
                self.started = humantime::parse_rfc3339(&start.started_at).ok();
                self.run_id = start.run_id.clone();
                self.signal = start.signal.clone();
                Vec::new()
            }
            Entry::Attempt(a) => vec![self.signal(
                "SPAWN",
                a.at_ms,
                json!({
                    "step": a.step,
                    "agent": a.agent,
                    "task": a.task,
                    "attempt": a.attempt,
                    "timeout_ms": a.request.get("timeout_ms").cloned().unwrap_or(Value::Null),
                }),
            )],
            Entry::Handoff(h) => {
                let payload = serde_json::to_value(h).unwrap_or(Value::Null);
                vec![self.signal("HANDOFF", h.at_ms, payload)]
            }
            Entry::Event(e) if e.kind == EventKind::Abort => vec![self.signal(
                "ABORT",
                e.at_ms,
                json!({ "step": e.step, "reason": e.detail }),
            )],
            Entry::Step(step) => {
                if step.outcome == StepOutcome::Success {
                    self.done.push(step.name.clone());
                }
                self.step_failure(step).into_iter().collect()
            }
            Entry::Suspend(s) => {
                self.ended = true;
                vec![self.suspended(s.at_ms, &s.waiting_for)]
            }
            Entry::End(result) => {
                self.ended = true;
                vec![self.end(result)]
            }
            _ => Vec::new(),
        }
    }

    fn step_failure(&self, step: &StepRecord) -> Option<Value> {
        let (kind, message) = match &step.outcome {
            StepOutcome::Failure { kind, message } => (kind.clone(), message.clone()),
            StepOutcome::Timeout => (
                "timeout".to_string(),
                "no answer before the deadline".to_string(),
            ),
            _ => return None,
        };
        Some(self.signal(
            "FAILURE",
            step.started_ms.saturating_add(step.duration_ms),
            json!({
                "scope": "step",
                "step": step.name,
                "agent": step.agent,
                "task": step.task,
                "critical": step.critical,
                "attempts": step.attempts.len(),
                "kind": kind,
                "message": message,
            }),
        ))
    }

    /// A suspended run's last line: a run-scope FAILURE of kind `waiting`,
    /// naming the approvals it waits for (`coordops approve`, then
    /// `coordops resume`).
    fn suspended(&self, at_ms: u64, waiting_for: &[String]) -> Value {
        self.signal(
            "FAILURE",
            at_ms,
            json!({
                "scope": "run",
                "run_id": self.run_id,
                "signal": self.signal,
                "status": "waiting",
                "kind": "waiting",
                "message": format!("waiting for approval: {}", waiting_for.join(", ")),
                "waiting_for": waiting_for,
                "partial_results": self.done,
                "duration_ms": at_ms,
            }),
        )
    }

    fn end(&self, r: &RunResult) -> Value {
        let at = r.duration_ms;
        let status = r.status.word();
        match r.status {
            RunStatus::Complete | RunStatus::Partial | RunStatus::Ignored => self.signal(
                "COMPLETE",
                at,
                json!({
                    "run_id": r.run_id,
                    "signal": r.signal,
                    "status": status,
                    "summary": r.summary,
                    "deliverables": Value::Object(r.payload.clone()),
                    "next_steps": r.next_steps,
                    "duration_ms": r.duration_ms,
                }),
            ),
            RunStatus::Escalated => {
                let record = r
                    .escalation
                    .as_ref()
                    .and_then(|e| serde_json::to_value(e).ok())
                    .unwrap_or_else(|| json!({ "issue": r.summary }));
                self.signal("ESCALATE", at, record)
            }
            RunStatus::Failed | RunStatus::Aborted | RunStatus::Unfinished | RunStatus::Waiting => {
                let kind = match r.status {
                    RunStatus::Failed => last_failure_kind(r).unwrap_or("failed"),
                    _ => status,
                };
                let done: Vec<&str> = r
                    .steps
                    .iter()
                    .filter(|s| s.outcome == StepOutcome::Success)
                    .map(|s| s.name.as_str())
                    .collect();
                self.signal(
                    "FAILURE",
                    at,
                    json!({
                        "scope": "run",
                        "run_id": r.run_id,
                        "signal": r.signal,
                        "status": status,
                        "kind": kind,
                        "message": r.summary,
                        "partial_results": done,
                        "deliverables": Value::Object(r.payload.clone()),
                        "duration_ms": r.duration_ms,
                    }),
                )
            }
        }
    }
}

/// The kind of the last failed step, if any.
fn last_failure_kind(r: &RunResult) -> Option<&str> {
    r.steps.iter().rev().find_map(|s| match &s.outcome {
        StepOutcome::Failure { kind, .. } => Some(kind.as_str()),
        StepOutcome::Timeout => Some("timeout"),
        _ => None,
    })
}

/// Streams the cascade signals on stdout; a [`Recorder`].
///
/// The lines are written by a thread of their own: a reader that stops
/// reading blocks that thread only, never the run (whose Ctrl-C and SIGTERM
/// must keep working). [`Cascade::finish`] waits for the last line.
#[derive(Debug)]
pub struct Cascade {
    state: Mutex<CascadeState>,
    lines: Mutex<Option<mpsc::Sender<String>>>,
    written: Mutex<mpsc::Receiver<()>>,
}

impl Cascade {
    /// A new stream, with its writer thread.
    pub fn new() -> Cascade {
        let (lines, pending) = mpsc::channel::<String>();
        let (done, written) = mpsc::channel();
        std::thread::spawn(move || {
            for line in pending {
                output::stdout_json(&line);
            }
            let _ = done.send(());
        });
        Cascade {
            state: Mutex::default(),
            lines: Mutex::new(Some(lines)),
            written: Mutex::new(written),
        }
    }

    /// Ends the stream and waits up to `limit` for every line to be written;
    /// `false` when the reader stopped reading (what is left is dropped).
    pub fn finish(&self, limit: Duration) -> bool {
        drop(lock(&self.lines).take());
        lock(&self.written).recv_timeout(limit).is_ok()
    }
}

impl Default for Cascade {
    fn default() -> Self {
        Cascade::new()
    }
}

impl Recorder for Cascade {
    fn record(&self, entry: &Entry) {
        let signals = lock(&self.state).signals(entry);
        let lines = lock(&self.lines);
        let Some(sender) = lines.as_ref() else {
            return;
        };
        for signal in signals {
            let mut line = serde_json::to_string(&signal).unwrap_or_default();
            line.push('\n');
            let _ = sender.send(line);
        }
    }
}

/// How long a finished run waits for an `--emit` reader to take the last
/// signals.
pub const FINISH_LIMIT: Duration = Duration::from_secs(10);

/// Ends `cascade` (if any), warning when its reader stopped reading.
pub fn finish(cascade: Option<&Cascade>) {
    if let Some(cascade) = cascade {
        if !cascade.finish(FINISH_LIMIT) {
            output::stderr(
                "warning: the --emit reader stopped reading: the last cascade signals were not delivered\n",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(json: &str) -> Entry {
        serde_json::from_str(json).expect("a journal entry")
    }

    const START: &str = r#"{"type":"start","run_id":"r","coordinator":"COORD_OPS","signal":"OPS:COMMIT","context":{},"started_at":"2026-01-01T00:00:00Z","quality_gate":80,"agents":["RELEASE_MANAGER"]}"#;

    #[test]
    fn a_suspended_run_ends_with_one_waiting_failure_line() {
        let mut state = CascadeState::default();
        state.signals(&entry(START));
        let step = r#"{"type":"step","id":"w.1","name":"commit","kind":"task","agent":"RELEASE_MANAGER","task":"commit","outcome":{"status":"success"},"critical":false,"started_ms":0,"duration_ms":5,"attempts":[],"outputs":{}}"#;
        state.signals(&entry(step));
        let last = state.signals(&entry(
            r#"{"type":"suspend","at_ms":7000,"waiting_for":["ship"]}"#,
        ));
        assert_eq!(last.len(), 1);
        assert_eq!(last[0]["signal"], "COORD_OPS:FAILURE");
        let payload = &last[0]["payload"];
        assert_eq!(payload["scope"], "run");
        assert_eq!(payload["status"], "waiting");
        assert_eq!(payload["run_id"], "r");
        assert_eq!(payload["waiting_for"], json!(["ship"]));
        assert_eq!(payload["partial_results"], json!(["commit"]));
        // Nothing after the last line, not even the run's end.
        let end = state.signals(&entry(
            r#"{"type":"suspend","at_ms":7001,"waiting_for":["ship"]}"#,
        ));
        assert!(end.is_empty());
    }

    #[test]
    fn spawn_is_named_after_the_coordinator_and_dated_by_the_run_clock() {
        let mut state = CascadeState::default();
        assert!(state.signals(&entry(START)).is_empty());
        let spawn = state.signals(&entry(
            r#"{"type":"attempt","step":"commit","agent":"RELEASE_MANAGER","task":"commit","attempt":2,"at_ms":61500,"request":{"timeout_ms":30000}}"#,
        ));
        assert_eq!(
            spawn,
            vec![json!({
                "source": "COORD_OPS",
                "signal": "COORD_OPS:SPAWN",
                "timestamp": "2026-01-01T00:01:01.500Z",
                "payload": {
                    "step": "commit", "agent": "RELEASE_MANAGER", "task": "commit",
                    "attempt": 2, "timeout_ms": 30000
                }
            })]
        );
    }

    #[test]
    fn failed_steps_and_aborts_are_signalled_successes_are_not() {
        let mut state = CascadeState::default();
        state.signals(&entry(START));
        let ok = r#"{"type":"step","name":"commit","kind":"task","agent":"A","task":"t","outcome":{"status":"success"},"critical":true,"started_ms":0,"duration_ms":10,"attempts":[],"outputs":{}}"#;
        assert!(state.signals(&entry(ok)).is_empty());
        let timeout = ok.replace(r#"{"status":"success"}"#, r#"{"status":"timeout"}"#);
        let failure = &state.signals(&entry(&timeout))[0];
        assert_eq!(failure["signal"], "COORD_OPS:FAILURE");
        assert_eq!(failure["payload"]["scope"], "step");
        assert_eq!(failure["payload"]["kind"], "timeout");
        let abort = state.signals(&entry(
            r#"{"type":"event","at_ms":5,"kind":"ABORT","step":"pr","detail":"interrupted"}"#,
        ));
        assert_eq!(abort[0]["signal"], "COORD_OPS:ABORT");
        assert_eq!(
            abort[0]["payload"],
            json!({"step": "pr", "reason": "interrupted"})
        );
    }
}
