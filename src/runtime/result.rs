//! The result of a run: final status, payload, every step, gates, escalation
//! and the ordered event log. Serialisable; `docs/run-result.md` documents
//! the JSON form.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunStatus {
    /// Every step the workflow needed succeeded.
    Complete,
    /// Completed, but some parallel group passed its gate with failures, or
    /// an early decision (`stop when …`) cancelled branches.
    Partial,
    /// A step or gate failed, or `fail` ran.
    Failed,
    /// Handed to the coordinator's superior with an escalation record.
    Escalated,
    /// Stopped by `abort` or an interrupt; partial results kept.
    Aborted,
    /// No route matched: not this coordinator's domain.
    Ignored,
    /// The run stopped without finishing (rebuilt from a journal whose run
    /// was killed): what was in flight is listed as aborted.
    Unfinished,
    /// The run stopped to wait for a person's decision on an approval;
    /// `coordops approve` and `coordops resume` continue it.
    Waiting,
}

impl RunStatus {
    /// The word used in reports and tests (`complete`, `partial`, …).
    pub fn word(self) -> &'static str {
        match self {
            RunStatus::Complete => "complete",
            RunStatus::Partial => "partial",
            RunStatus::Failed => "failed",
            RunStatus::Escalated => "escalated",
            RunStatus::Aborted => "aborted",
            RunStatus::Ignored => "ignored",
            RunStatus::Unfinished => "unfinished",
            RunStatus::Waiting => "waiting",
        }
    }
}

/// How one step ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum StepOutcome {
    /// The agent answered and every quality check passed.
    Success,
    /// The agent reported a failure, or a check failed (`quality_check`).
    Failure {
        /// The failure kind (`rejected`, `quality_check`, …).
        kind: String,
        /// What went wrong.
        message: String,
    },
    /// No answer before the deadline.
    Timeout,
    /// Its `when` guard was false.
    Skipped,
    /// Cancelled: a gate was decided, or the run was aborted.
    Aborted {
        /// Why.
        reason: String,
    },
}

impl StepOutcome {
    /// The word used in reports and tests.
    pub fn word(&self) -> &'static str {
        match self {
            StepOutcome::Success => "success",
            StepOutcome::Failure { .. } => "failure",
            StepOutcome::Timeout => "timeout",
            StepOutcome::Skipped => "skipped",
            StepOutcome::Aborted { .. } => "aborted",
        }
    }
}

/// One attempt at an agent task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    /// 1 for the first attempt.
    pub number: u32,
    /// Virtual time the attempt started, in ms since the run began.
    pub started_ms: u64,
    /// How long it took.
    pub duration_ms: u64,
    /// `success`, `failure` or `timeout`.
    pub outcome: String,
    /// The failure kind, for failures.
    pub kind: Option<String>,
    /// The failure message, for failures.
    pub message: Option<String>,
    /// The last lines the agent process wrote to stderr (bounded: at most
    /// 20 lines of 500 characters, 8 KiB in all); omitted when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stderr: Vec<String>,
}

/// What happened to one step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// The bound name, or `AGENT.task` when unbound.
    pub name: String,
    /// Where the task call is written, `WORKFLOW.N`, plus `[INDEX]` inside a
    /// `parallel for`: the step's identity across runs, and how a scenario
    /// or `given step` targets it. Absent for approvals, recoveries and
    /// route fast paths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `task`, `approval`, `recovery` or `workflow`.
    pub kind: String,
    /// The agent, for tasks.
    pub agent: Option<String>,
    /// The task, for tasks.
    pub task: Option<String>,
    /// How it ended.
    pub outcome: StepOutcome,
    /// Whether it was marked `critical`.
    pub critical: bool,
    /// Virtual start time in ms.
    pub started_ms: u64,
    /// Total time including retries and backoff.
    pub duration_ms: u64,
    /// Each attempt, in order.
    pub attempts: Vec<Attempt>,
    /// The outputs of the successful attempt.
    pub outputs: Map<String, Value>,
    /// Whether the simulated backend served the step in a real run
    /// (`backend = "simulated"`); omitted when false, always false in dry runs.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub simulated: bool,
}

/// A parallel group's quality gate verdict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GateRecord {
    /// Which group: its label, or `workflow#n` (the workflow's nth `parallel`).
    pub group: String,
    /// What the gate requires: `threshold` (percent), `tolerate` or `at_least`.
    #[serde(flatten)]
    pub rule: crate::ast::GateRule,
    /// Successful branches.
    pub successes: u64,
    /// Failed or timed-out branches.
    pub failures: u64,
    /// Skipped branches (not counted).
    pub skipped: u64,
    /// Branches counted by the gate (successes + failures).
    pub counted: u64,
    /// All branches.
    pub total: u64,
    /// The verdict.
    pub passed: bool,
    /// `k/n` when the verdict was settled before every branch finished
    /// and the group stopped early (`stop when …`).
    pub decided_at: Option<String>,
    /// Branches cancelled because the group stopped early (not counted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cancelled: Vec<String>,
    /// The critical branch whose failure failed the group.
    pub critical_failed: Option<String>,
}

impl GateRecord {
    /// The percent a percent gate requires (`None` for a count gate).
    pub fn threshold(&self) -> Option<u64> {
        match self.rule {
            crate::ast::GateRule::Percent { value } => Some(value),
            _ => None,
        }
    }

    /// `PASSED (4/5 = 80.0% ≥ 80%)`: the verdict and the comparison that
    /// made it, naming a failed `critical` branch when that decided it and
    /// counting the branches an early decision cancelled.
    pub fn line(&self) -> String {
        let verdict = if self.passed { "PASSED" } else { "FAILED" };
        let mut ratio = self.comparison();
        if !self.cancelled.is_empty() {
            let _ = std::fmt::Write::write_fmt(
                &mut ratio,
                format_args!(", {} cancelled", self.cancelled.len()),
            );
        }
        match &self.critical_failed {
            Some(name) => format!("{verdict} (critical branch `{name}` failed; {ratio})"),
            None => format!("{verdict} ({ratio})"),
        }
    }

    /// `4/5 = 80% ≥ 80%`, `1/4 failed ≤ 1 tolerated`, `2/4 succeeded ≥ 2 required`.
    fn comparison(&self) -> String {
        use crate::ast::GateRule;
        let (s, c) = (self.successes, self.counted);
        if self.total == 0 {
            return "no branches".to_string();
        }
        if c == 0 {
            return match self.rule {
                GateRule::Percent { value } => {
                    format!("0/0: no branch counted, {value}% needs one")
                }
                rule => format!("0/0: no branch counted, `{rule}` needs one"),
            };
        }
        let threshold = match self.rule {
            GateRule::Percent { value } => value,
            GateRule::Tolerate { tolerate } => {
                let f = self.failures;
                let ok = f <= tolerate;
                return format!(
                    "{f}/{c} failed {} {tolerate} tolerated",
                    if ok { "≤" } else { ">" }
                );
            }
            GateRule::AtLeast { at_least } => {
                let ok = s >= at_least;
                return format!(
                    "{s}/{c} succeeded {} {at_least} required",
                    if ok { "≥" } else { "<" }
                );
            }
        };
        let meets = s * 100 >= threshold * c;
        let cmp = if meets { "≥" } else { "<" };
        format!(
            "{s}/{c} = {}% {cmp} {threshold}%",
            percent_text(s, c, threshold, meets)
        )
    }

    /// `3/4 = 75%`: successes over counted, without a comparison.
    pub fn ratio(&self) -> String {
        let (s, c) = (self.successes, self.counted);
        if c == 0 {
            return "0/0".to_string();
        }
        format!("{s}/{c} = {}%", percent_text(s, c, 0, true))
    }
}

/// Exact percents stay whole (`4/5 = 80`); others get a tenth (`66.7`).
fn percent_text(s: u64, c: u64, threshold: u64, meets: bool) -> String {
    if (s * 100).is_multiple_of(c) {
        format!("{}", s * 100 / c)
    } else {
        let tenths = percent_tenths(s, c, threshold, meets);
        format!("{}.{}", tenths / 10, tenths % 10)
    }
}

/// `successes / counted` in tenths of a percent, rounded half up, but never
/// shown at or above the threshold when the comparison fails (79.96% is
/// `79.9%`, not `80.0%`, below an 80% gate).
fn percent_tenths(successes: u64, counted: u64, threshold: u64, meets: bool) -> u64 {
    let rounded = (successes * 2000 + counted) / (2 * counted);
    if !meets && rounded >= threshold * 10 {
        (threshold * 10).saturating_sub(1)
    } else {
        rounded
    }
}

#[cfg(test)]
mod gate_line_tests {
    use super::*;

    fn gate(successes: u64, counted: u64, threshold: u64) -> GateRecord {
        let passed = counted > 0 && successes * 100 >= threshold * counted;
        GateRecord {
            group: "w#1".into(),
            rule: crate::ast::GateRule::Percent { value: threshold },
            successes,
            failures: counted - successes,
            skipped: 0,
            counted,
            total: counted,
            passed,
            decided_at: None,
            cancelled: Vec::new(),
            critical_failed: None,
        }
    }

    #[test]
    fn the_line_shows_the_comparison() {
        assert_eq!(gate(2, 3, 67).line(), "FAILED (2/3 = 66.7% < 67%)");
        assert_eq!(gate(4, 5, 80).line(), "PASSED (4/5 = 80% ≥ 80%)");
        assert_eq!(gate(2, 2, 100).line(), "PASSED (2/2 = 100% ≥ 100%)");
        assert_eq!(
            gate(1999, 2000, 100).line(),
            "FAILED (1999/2000 = 99.9% < 100%)"
        );
        let all_skipped = GateRecord {
            skipped: 1,
            total: 1,
            ..gate(0, 0, 0)
        };
        assert_eq!(
            gate(0, 0, 80).line(),
            "FAILED (no branches)",
            "see group.rs"
        );
        assert_eq!(
            all_skipped.line(),
            "FAILED (0/0: no branch counted, 0% needs one)"
        );
    }

    #[test]
    fn a_critical_verdict_is_named() {
        let mut g = gate(2, 3, 50);
        g.passed = false;
        g.critical_failed = Some("git".into());
        assert_eq!(
            g.line(),
            "FAILED (critical branch `git` failed; 2/3 = 66.7% ≥ 50%)"
        );
    }

    #[test]
    fn count_gates_and_cancellations_read_as_counts() {
        use crate::ast::GateRule;
        let tolerate = GateRecord {
            rule: GateRule::Tolerate { tolerate: 1 },
            ..gate(3, 4, 0)
        };
        assert_eq!(tolerate.line(), "PASSED (1/4 failed ≤ 1 tolerated)");
        let mut at_least = GateRecord {
            rule: GateRule::AtLeast { at_least: 2 },
            passed: true,
            decided_at: Some("2/3".into()),
            cancelled: vec!["c".into()],
            ..gate(2, 2, 0)
        };
        assert_eq!(
            at_least.line(),
            "PASSED (2/2 succeeded ≥ 2 required, 1 cancelled)"
        );
        // The JSON names the rule's field and reads back (journal rebuilds).
        let json = serde_json::to_value(&at_least).expect("serialises");
        assert_eq!(json["at_least"], 2);
        assert_eq!(json["cancelled"], serde_json::json!(["c"]));
        assert!(json.get("threshold").is_none());
        let back: GateRecord = serde_json::from_value(json).expect("reads back");
        assert_eq!(back, at_least);
        let percent = serde_json::to_value(gate(4, 5, 80)).expect("serialises");
        assert_eq!(percent["threshold"], 80);
        assert!(percent.get("cancelled").is_none(), "omitted when empty");
        let back: GateRecord = serde_json::from_value(percent).expect("reads back");
        assert_eq!(back.threshold(), Some(80));
        at_least.counted = 0;
        at_least.successes = 0;
        at_least.passed = false;
        assert_eq!(
            at_least.line(),
            "FAILED (0/0: no branch counted, `at least 2` needs one, 1 cancelled)"
        );
    }
}

/// The record sent upstream when a run escalates (the seed's "Ops Escalation").
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EscalationRecord {
    /// Boundary, QualityGate, Resource or Conflict.
    pub kind: String,
    /// The escalation title.
    pub title: String,
    /// The coordinator escalating.
    pub coordinator: String,
    /// Who receives it.
    pub reports_to: String,
    /// When (RFC 3339, from the virtual clock).
    pub timestamp: String,
    /// The original signal.
    pub signal: String,
    /// What was attempted and which agents took part.
    pub context: String,
    /// What went wrong.
    pub issue: String,
    /// Steps that completed before the escalation.
    pub partial_results: Vec<String>,
    /// What the coordinator's superior should do.
    pub recommended: String,
    /// Retry / Abort / Delegate options.
    pub options: Options,
    /// Extra details from the playbook.
    pub details: Map<String, Value>,
}

/// The three options of an escalation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Options {
    /// Conditions for a retry.
    pub retry: String,
    /// Cleanup needed to abort.
    pub abort: String,
    /// Whom to delegate to.
    pub delegate: String,
}

/// Kinds of run event (the seed's cascade signals, plus a few more).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventKind {
    /// A route was chosen.
    Route,
    /// An agent was asked to start a task attempt.
    Spawn,
    /// A bound result was handed to a later step.
    Handoff,
    /// A failed attempt will be retried.
    Retry,
    /// An attempt passed its deadline.
    Timeout,
    /// A step was skipped by its guard.
    Skip,
    /// A parallel group's gate was decided.
    Gate,
    /// An approval was requested or decided.
    Approval,
    /// Work was cancelled.
    Abort,
    /// The run completed.
    Complete,
    /// A step or the run failed.
    Failure,
    /// The run escalated.
    Escalate,
}

/// One entry of the event log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Virtual time in ms since the run began.
    pub at_ms: u64,
    /// What happened.
    pub kind: EventKind,
    /// The step concerned, if any.
    pub step: Option<String>,
    /// A one-line description.
    pub detail: String,
}

/// Which route matched.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RouteChoice {
    /// Its position in the playbook (0-based).
    pub index: usize,
    /// Its label, if any.
    pub label: Option<String>,
    /// The pattern as written.
    pub pattern: String,
    /// What it runs (`workflow commit_pr`, `task A.t`, `ignore`, `escalate`).
    pub target: String,
}

/// Everything a run produced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    /// Identifier of the run.
    pub run_id: String,
    /// The coordinator's name.
    pub coordinator: String,
    /// The signal received.
    pub signal: String,
    /// Its context, defaults applied.
    pub context: Map<String, Value>,
    /// The route that matched.
    pub route: Option<RouteChoice>,
    /// How it ended.
    pub status: RunStatus,
    /// When it started (RFC 3339).
    pub started_at: String,
    /// Virtual duration in ms.
    pub duration_ms: u64,
    /// One-line summary (`complete "…"`, or why it failed).
    pub summary: String,
    /// Deliverables (`complete { … }`).
    pub payload: Map<String, Value>,
    /// Next steps (`complete … next "…"`).
    pub next_steps: Option<String>,
    /// Every step in the order it started.
    pub steps: Vec<StepRecord>,
    /// Every parallel group's gate.
    pub gates: Vec<GateRecord>,
    /// The coordinator's gate (%), applied in reports to runs without groups.
    pub quality_gate: u64,
    /// The escalation, when the run escalated.
    pub escalation: Option<EscalationRecord>,
    /// The ordered event log.
    pub events: Vec<Event>,
    /// Every handoff in the seed's Handoff format, in order.
    #[serde(default)]
    pub handoffs: Vec<super::record::Handoff>,
    /// The approvals a WAITING run waits for (omitted when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waiting_for: Vec<super::record::ApprovalWait>,
    /// The decisions on approvals the journal records: who, when, how and
    /// why (omitted when none; dry runs record none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub decisions: Vec<super::record::ApprovalDecision>,
    /// The `if` arms, step handlers and top-level rules the run took (what
    /// `coordops test --coverage` counts); not serialised.
    #[serde(skip)]
    pub taken: Taken,
}

impl RunResult {
    /// The result of a run that has only started (`start`): status
    /// UNFINISHED, no route, no steps; what a journal is rebuilt onto.
    pub fn begun(start: &super::record::RunStart) -> RunResult {
        RunResult {
            run_id: start.run_id.clone(),
            coordinator: start.coordinator.clone(),
            signal: start.signal.clone(),
            context: start.context.clone(),
            route: None,
            status: RunStatus::Unfinished,
            started_at: start.started_at.clone(),
            duration_ms: 0,
            summary: String::new(),
            payload: Map::new(),
            next_steps: None,
            steps: Vec::new(),
            gates: Vec::new(),
            quality_gate: start.quality_gate,
            escalation: None,
            events: Vec::new(),
            handoffs: Vec::new(),
            waiting_for: Vec::new(),
            decisions: Vec::new(),
            taken: Taken::default(),
        }
    }
}

/// Source offsets of the blocks, handlers and rules a run took: the start
/// of an `if` arm's block (`else` included), of a handler, of a rule. Not
/// part of a result's identity: two results compare equal whatever they
/// hold (a result read back from a journal has none).
#[derive(Clone, Debug, Default)]
pub struct Taken(pub Vec<usize>);

impl PartialEq for Taken {
    fn eq(&self, _: &Taken) -> bool {
        true
    }
}
