//! Rebuilding a run's result from its journal: exact when the run ended,
//! `UNFINISHED` with what was in flight when it was killed, `WAITING` with
//! the approvals it waits for when it suspended.

use std::collections::BTreeMap;

use serde_json::Map;

use crate::report::human_duration;
use crate::runtime::record::{ApprovalWait, AttemptStart, Entry, Suspend};
use crate::runtime::result::{Attempt, RunResult, RunStatus, StepOutcome, StepRecord};

/// A rebuilt run.
#[derive(Debug)]
pub struct Rebuilt {
    /// The run's result.
    pub result: RunResult,
    /// The agents the playbook declares (for the Markdown report).
    pub agents: Vec<String>,
    /// Whether the journal recorded the run's end.
    pub finished: bool,
}

/// The idempotency key an attempt's request carries (its step's name in
/// journals written before keys were unique).
fn attempt_key(a: &AttemptStart) -> String {
    a.request
        .get("idempotency_key")
        .and_then(|k| k.as_str())
        .map_or_else(|| a.step.clone(), str::to_string)
}

/// The result of the run recorded by `entries` (which start with its
/// `start` entry).
pub fn rebuild(entries: &[Entry]) -> Result<Rebuilt, String> {
    let Some(Entry::Start(start)) = entries.first() else {
        return Err("the journal records no run start".to_string());
    };
    let agents = start.agents.clone();
    // The run's end: the last `end` no `resume` follows (a run suspended
    // and resumed, or resumed after its WAITING end, goes on).
    let last = entries
        .iter()
        .rev()
        .find(|e| matches!(e, Entry::End(_) | Entry::Resume(_)));
    if let Some(Entry::End(result)) = last {
        if result.run_id != start.run_id {
            return Err(format!(
                "the journal's end belongs to run `{}`, not to `{}` that it starts: two runs wrote the same file",
                result.run_id, start.run_id
            ));
        }
        return Ok(Rebuilt {
            result: (**result).clone(),
            agents,
            finished: true,
        });
    }
    let mut result = RunResult::begun(start);
    // The approvals asked of a person, and the last suspend not followed
    // by a resume.
    let mut waits: Vec<ApprovalWait> = Vec::new();
    let mut suspended: Option<&Suspend> = None;
    // Steps with attempts sent and no step record yet, by idempotency key
    // (unique per step: `parallel for` branches share a name, not a key).
    let mut open: BTreeMap<String, (AttemptStart, Vec<Attempt>)> = BTreeMap::new();
    let mut last_ms = 0;
    for entry in entries {
        match entry {
            Entry::Start(_) | Entry::End(_) => {}
            Entry::ApprovalWait(wait) => {
                last_ms = last_ms.max(wait.at_ms);
                waits.retain(|w| w.name != wait.name);
                waits.push(wait.clone());
            }
            Entry::Decision(decision) => result.decisions.push(decision.clone()),
            Entry::Suspend(suspend) => {
                last_ms = last_ms.max(suspend.at_ms);
                suspended = Some(suspend);
            }
            Entry::Resume(resume) => {
                last_ms = last_ms.max(resume.at_ms);
                suspended = None;
            }
            Entry::Route(route) => result.route = Some(route.clone()),
            Entry::Event(event) => {
                last_ms = last_ms.max(event.at_ms);
                result.events.push(event.clone());
            }
            Entry::Attempt(a) => {
                last_ms = last_ms.max(a.at_ms);
                let key = attempt_key(a);
                let done = open.remove(&key).map(|(_, done)| done);
                open.insert(key, (a.clone(), done.unwrap_or_default()));
            }
            Entry::AttemptEnd(end) => {
                last_ms = last_ms.max(end.at_ms);
                let key = if end.key.is_empty() {
                    &end.step
                } else {
                    &end.key
                };
                if let Some((start, done)) = open.get_mut(key) {
                    done.push(Attempt {
                        number: end.attempt,
                        started_ms: start.at_ms,
                        duration_ms: end.at_ms.saturating_sub(start.at_ms),
                        outcome: end.outcome.clone(),
                        kind: end.kind.clone(),
                        message: end.message.clone(),
                        stderr: end.stderr.clone(),
                    });
                }
            }
            Entry::Step(step) => {
                // The step's record closes its open attempts: the oldest
                // step of that name whose last attempt was answered, else
                // (an attempt dropped unanswered) the oldest of that name.
                let named = || open.iter().filter(|(_, (a, _))| a.step == step.name);
                let closed = named()
                    .filter(|(_, (a, done))| done.iter().any(|d| d.number == a.attempt))
                    .min_by_key(|(_, (a, _))| a.at_ms)
                    .or_else(|| named().min_by_key(|(_, (a, _))| a.at_ms))
                    .map(|(key, _)| key.clone());
                if let Some(key) = closed {
                    open.remove(&key);
                }
                result.steps.push(step.clone());
            }
            Entry::Gate(gate) => result.gates.push(gate.clone()),
            Entry::Handoff(h) => result.handoffs.push(h.clone()),
        }
    }
    let reason = if suspended.is_some() {
        format!(
            "in flight when the run suspended at +{}: `coordops resume` sends it again",
            human_duration(last_ms)
        )
    } else {
        format!(
            "in flight when the run stopped (the journal ends at +{})",
            human_duration(last_ms)
        )
    };
    let mut in_flight = Vec::new();
    for (_, (attempt, mut attempts)) in open {
        let name = attempt.step.clone();
        let answered = attempts.iter().any(|a| a.number == attempt.attempt);
        if !answered {
            attempts.push(Attempt {
                number: attempt.attempt,
                started_ms: attempt.at_ms,
                duration_ms: last_ms.saturating_sub(attempt.at_ms),
                outcome: "aborted".to_string(),
                kind: None,
                message: Some(reason.clone()),
                stderr: Vec::new(),
            });
        }
        in_flight.push(format!(
            "{name} ({}.{} attempt {})",
            attempt.agent, attempt.task, attempt.attempt
        ));
        let started_ms = attempts.first().map_or(attempt.at_ms, |a| a.started_ms);
        result.steps.push(StepRecord {
            id: None,
            name,
            kind: "task".to_string(),
            agent: Some(attempt.agent.clone()),
            task: Some(attempt.task.clone()),
            outcome: StepOutcome::Aborted {
                reason: reason.clone(),
            },
            critical: false,
            started_ms,
            duration_ms: last_ms.saturating_sub(started_ms),
            attempts,
            outputs: Map::new(),
            simulated: false,
        });
    }
    result.steps.sort_by_key(|s| s.started_ms);
    result.duration_ms = last_ms;
    if let Some(suspend) = suspended {
        result.status = RunStatus::Waiting;
        result.waiting_for = waits
            .into_iter()
            .filter(|w| suspend.waiting_for.contains(&w.name))
            .collect();
        let names: Vec<String> = suspend
            .waiting_for
            .iter()
            .map(|n| format!("`{n}`"))
            .collect();
        result.summary = format!("Waiting for a decision on approval {}.", names.join(", "));
        return Ok(Rebuilt {
            result,
            agents,
            finished: false,
        });
    }
    result.summary = if in_flight.is_empty() {
        format!(
            "The run did not finish: its journal ends at +{} with no step in flight.",
            human_duration(last_ms)
        )
    } else {
        format!(
            "The run did not finish: its journal ends at +{} with {} step(s) in flight: {}.",
            human_duration(last_ms),
            in_flight.len(),
            in_flight.join(", ")
        )
    };
    Ok(Rebuilt {
        result,
        agents,
        finished: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::record::{Resume, RunStart};

    fn entries(lines: &[&str]) -> Vec<Entry> {
        lines
            .iter()
            .map(|l| serde_json::from_str(l).expect("an entry"))
            .collect()
    }

    const START: &str = r#"{"type":"start","run_id":"r","coordinator":"C","signal":"S:X","context":{},"started_at":"2026-01-01T00:00:00Z","quality_gate":80,"agents":["A"],"version":2,"started_unix_ms":1767225600000}"#;
    const ATTEMPT: &str = r#"{"type":"attempt","step":"work","agent":"A","task":"t","attempt":1,"at_ms":5,"request":{"idempotency_key":"r/1:1"}}"#;
    const WAIT: &str = r#"{"type":"approval_wait","name":"go","message":"Go?","at_ms":10,"deadline_ms":3600010,"requested_at":"2026-01-01T00:00:00.010Z","deadline":"2026-01-01T01:00:00.010Z"}"#;
    const SUSPEND: &str = r#"{"type":"suspend","at_ms":12,"waiting_for":["go"]}"#;
    const DECISION: &str = r#"{"type":"decision","name":"go","granted":true,"by":"alice","at":"2026-01-01T00:05:00.000Z","at_ms":300000,"via":"command"}"#;
    const RESUME: &str = r#"{"type":"resume","at":"2026-01-01T00:06:00.000Z","at_ms":360000}"#;

    #[test]
    fn a_journal_ending_in_suspend_is_waiting_with_its_approvals_and_decisions() {
        let rebuilt =
            rebuild(&entries(&[START, ATTEMPT, WAIT, SUSPEND, DECISION])).expect("rebuilt");
        let result = rebuilt.result;
        assert_eq!(result.status, RunStatus::Waiting);
        assert_eq!(result.waiting_for.len(), 1);
        assert_eq!(result.waiting_for[0].message, "Go?");
        assert_eq!(result.decisions.len(), 1);
        assert_eq!(result.decisions[0].by, "alice");
        assert_eq!(result.summary, "Waiting for a decision on approval `go`.");
        // The attempt in flight is sent again on resume.
        let work = &result.steps[0];
        assert!(
            matches!(&work.outcome, StepOutcome::Aborted { reason } if reason.contains("`coordops resume` sends it again"))
        );
        assert_eq!(result.duration_ms, 12);
    }

    #[test]
    fn a_resumed_run_that_stops_again_is_unfinished() {
        let rebuilt =
            rebuild(&entries(&[START, WAIT, SUSPEND, DECISION, RESUME])).expect("rebuilt");
        assert_eq!(rebuilt.result.status, RunStatus::Unfinished);
        assert!(rebuilt.result.waiting_for.is_empty());
        assert_eq!(rebuilt.result.decisions.len(), 1);
    }

    fn start() -> Entry {
        Entry::Start(RunStart::for_tests(1))
    }

    fn end(status: RunStatus) -> Entry {
        let Ok(Rebuilt { mut result, .. }) = rebuild(&[start()]) else {
            unreachable!("a start alone rebuilds");
        };
        result.status = status;
        Entry::End(Box::new(result))
    }

    fn resume() -> Entry {
        Entry::Resume(Resume {
            at: String::new(),
            at_ms: 5,
            allow_changed: false,
            divergences: Vec::new(),
        })
    }

    #[test]
    fn an_end_that_a_resume_follows_is_not_the_run_s_end() {
        let waiting = [start(), end(RunStatus::Waiting), resume()];
        let rebuilt = rebuild(&waiting).expect("rebuilds");
        assert!(!rebuilt.finished);
        assert_eq!(rebuilt.result.status, RunStatus::Unfinished);

        let resumed = [
            start(),
            end(RunStatus::Waiting),
            resume(),
            end(RunStatus::Complete),
        ];
        let rebuilt = rebuild(&resumed).expect("rebuilds");
        assert!(rebuilt.finished);
        assert_eq!(rebuilt.result.status, RunStatus::Complete);
    }
}
