//! `test` blocks: a signal, injected outcomes and expectations.

use serde::Serialize;

use super::{DurationLit, Expr, Ident, Span, StrLit};

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
    /// `expect escalation QualityGate`
    Escalation {
        /// The expected escalation type.
        kind: Ident,
        /// The whole line.
        span: Span,
    },
    /// `expect step NAME skipped`
    Step {
        /// The bound step name.
        step: Ident,
        /// The expected outcome (`success`, `failure`, `timeout`, `skipped`, …).
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

impl Expect {
    /// The whole `expect` line.
    pub fn span(&self) -> Span {
        match self {
            Expect::Status { span, .. }
            | Expect::Route { span, .. }
            | Expect::Escalation { span, .. }
            | Expect::Step { span, .. }
            | Expect::Holds { span, .. } => *span,
        }
    }
}
