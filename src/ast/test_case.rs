//! `test` blocks: a signal, injected outcomes and expectations.

use serde::Serialize;

use super::{DurationLit, Expr, Ident, IntLit, Span, StrLit};

/// `test "name" { signal …  given …  expect … }`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TestCase {
    /// The test's name.
    pub name: StrLit,
    /// The signal sent, with its context.
    pub signals: Vec<TestSignal>,
    /// Injected outcomes and approval decisions.
    pub givens: Vec<Given>,
    /// What must hold after the run.
    pub expects: Vec<Expect>,
    /// The whole test.
    pub span: Span,
}

/// `signal OPS:AUDIT { field: value }`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TestSignal {
    /// The signal name.
    pub name: Ident,
    /// Context fields (a map expression).
    pub context: Option<Expr>,
    /// The whole line.
    pub span: Span,
}

/// A `given` line.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "given", rename_all = "snake_case")]
pub enum Given {
    /// `given AGENT.task OUTCOME then OUTCOME …` — one outcome per attempt.
    Task {
        /// The agent.
        agent: Ident,
        /// The task.
        task: Ident,
        /// Outcomes for successive attempts.
        outcomes: Vec<Outcome>,
        /// The whole line.
        span: Span,
    },
    /// `given step TARGET OUTCOME then OUTCOME …` — one step or some
    /// `parallel for` elements (see [`crate::analysis::targets`]).
    Step {
        /// The target as written (`release.push`, `audit/1[2]`).
        target: Ident,
        /// Outcomes for successive attempts.
        outcomes: Vec<Outcome>,
        /// The whole line.
        span: Span,
    },
    /// `given approval NAME granted|denied|never`
    Approval {
        /// The approval step's name.
        name: Ident,
        /// The decision.
        decision: Ident,
        /// The whole line.
        span: Span,
    },
}

/// One simulated attempt outcome.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Outcome {
    /// What happens.
    pub kind: OutcomeKind,
    /// How long it takes (`after 45s`).
    pub latency: Option<DurationLit>,
    /// The whole outcome.
    pub span: Span,
}

/// The kinds of simulated outcome.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum OutcomeKind {
    /// `succeeds { outputs }`
    Succeeds {
        /// Outputs (a map expression).
        outputs: Option<Expr>,
    },
    /// `fails(kind) "message"`
    Fails {
        /// The failure kind.
        kind: Option<Ident>,
        /// The failure message.
        message: Option<StrLit>,
    },
    /// `times out`
    TimesOut,
}

/// An `expect` line.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "expect", rename_all = "snake_case")]
pub enum Expect {
    /// `expect status partial`
    Status {
        /// The expected final status.
        status: Ident,
        /// The whole line.
        span: Span,
    },
    /// `expect route LABEL`
    Route {
        /// The label of the route expected to match.
        route: Ident,
        /// The whole line.
        span: Span,
    },
    /// `expect escalation QualityGate` or `… "title"` / `… /title regex/`
    Escalation {
        /// The expected escalation type.
        kind: Ident,
        /// The expected title: a string (equal) or a regex (whole match).
        #[serde(skip_serializing_if = "Option::is_none")]
        title: Option<Expr>,
        /// The whole line.
        span: Span,
    },
    /// `expect step NAME skipped`
    Step {
        /// The bound step name.
        step: Ident,
        /// The expected outcome (`success`, `failure`, `timeout`, `skipped`, …).
        outcome: Ident,
        /// The failure kind, for `failure(KIND)`.
        #[serde(skip_serializing_if = "Option::is_none")]
        kind: Option<Ident>,
        /// The whole line.
        span: Span,
    },
    /// `expect step NAME attempts 3` or `… attempts at 0s, 45s`
    Attempts {
        /// The step (name, `AGENT.task` or id).
        step: Ident,
        /// The expected number of attempts, when given as a count.
        count: Option<IntLit>,
        /// The expected start time of each attempt since the run began.
        starts: Vec<DurationLit>,
        /// The whole line.
        span: Span,
    },
    /// `expect gate GROUP passed|failed|K of N|decided at K of N|critical BRANCH`
    Gate {
        /// The group: its label or `WORKFLOW#N`.
        group: Ident,
        /// What must hold of its verdict.
        verdict: GateExpect,
        /// The whole line.
        span: Span,
    },
    /// `expect events [KIND step, …]`: a subsequence of the event log.
    Events {
        /// The events, in order.
        events: Vec<EventPattern>,
        /// The whole line.
        span: Span,
    },
    /// `expect duration <= 15m`
    Duration {
        /// The comparison (`<=`, `>=`, `<`, `>`).
        op: String,
        /// The bound.
        bound: DurationLit,
        /// The whole line.
        span: Span,
    },
    /// `expect approval NAME granted|denied|timeout|skipped`
    Approval {
        /// The approval step's name.
        name: Ident,
        /// The expected outcome.
        outcome: Ident,
        /// The whole line.
        span: Span,
    },
    /// `expect EXPR` — a boolean over the run result.
    Holds {
        /// The condition.
        condition: Expr,
        /// The whole line.
        span: Span,
    },
}

/// What an `expect gate` line requires of a verdict.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum GateExpect {
    /// `passed` or `failed`.
    Verdict {
        /// The word.
        word: Ident,
    },
    /// `K of N`: successes out of branches counted.
    Count {
        /// Successes.
        successes: u64,
        /// Branches counted.
        counted: u64,
    },
    /// `decided at K of N`: the group stopped early after N branches.
    Decided {
        /// The `K/N` text the report shows (`decided_at`).
        at: String,
    },
    /// `critical BRANCH`: this critical branch's failure failed the group.
    Critical {
        /// The branch.
        branch: Ident,
    },
}

/// One item of `expect events [...]`: `SPAWN commit` or `GATE`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EventPattern {
    /// The event kind as the log writes it (`SPAWN`).
    pub kind: Ident,
    /// The step concerned, when given.
    pub step: Option<Ident>,
}

impl Expect {
    /// The whole `expect` line.
    pub fn span(&self) -> Span {
        match self {
            Expect::Status { span, .. }
            | Expect::Route { span, .. }
            | Expect::Escalation { span, .. }
            | Expect::Step { span, .. }
            | Expect::Attempts { span, .. }
            | Expect::Gate { span, .. }
            | Expect::Events { span, .. }
            | Expect::Duration { span, .. }
            | Expect::Approval { span, .. }
            | Expect::Holds { span, .. } => *span,
        }
    }
}
