//! Declarations: coordinator, agents, tasks, signals, routes, locks, workflows.

use serde::Serialize;

use super::{Block, Call, Expr, Ident, Span, StrLit};

/// A duration literal such as `30s` or `1h30m`, in milliseconds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DurationLit {
    /// The value in milliseconds.
    pub millis: u64,
    /// Where it was written.
    pub span: Span,
}

/// A percentage literal such as `80%`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PercentLit {
    /// The value as written (0–100 is checked by analysis).
    pub value: u64,
    /// Where it was written.
    pub span: Span,
}

/// An integer literal used as a setting (`retry 3`, `max_concurrent 1`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IntLit {
    /// The value.
    pub value: i64,
    /// Where it was written.
    pub span: Span,
}

/// `retry N backoff D xF max D jitter within D on [KIND, …]` (or `except [KIND, …]`)
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RetryPolicy {
    /// Retries after the first attempt (so `retry 3` allows 4 attempts).
    pub retries: IntLit,
    /// Delay before the first retry.
    pub backoff: Option<DurationLit>,
    /// Factor applied to the delay after each retry (`x2`).
    pub multiplier: Option<Multiplier>,
    /// Upper bound on any single delay (`max 30s`).
    pub max_delay: Option<DurationLit>,
    /// `jitter`: each delay is drawn uniformly between zero and its value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jitter: Option<Span>,
    /// `within D`: the step's total budget across attempts, from its start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub within: Option<DurationLit>,
    /// Failure kinds the policy applies to; empty means the default set.
    pub on: Vec<Ident>,
    /// `except [KIND, …]`: failure kinds the policy does not retry (Temporal's
    /// `NonRetryableErrorTypes`); the default exclusions still hold.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub except: Vec<Ident>,
    /// The whole policy.
    pub span: Span,
}

/// A backoff multiplier such as `x2` or `x1.5`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Multiplier {
    /// The factor.
    pub value: f64,
    /// Where it was written.
    pub span: Span,
}

/// A setting shared by the coordinator, agents, tasks and steps.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "setting", rename_all = "snake_case")]
pub enum Setting {
    /// `reports_to NAME`
    ReportsTo(Ident),
    /// `gate 80%`
    Gate(PercentLit),
    /// `timeout 30s`
    Timeout(DurationLit),
    /// `retry …`
    Retry(RetryPolicy),
    /// `max_concurrent N`
    MaxConcurrent(IntLit),
}

impl Setting {
    /// The span of the whole setting.
    pub fn span(&self) -> Span {
        match self {
            Setting::ReportsTo(x) => x.span,
            Setting::Gate(x) => x.span,
            Setting::Timeout(x) => x.span,
            Setting::Retry(x) => x.span,
            Setting::MaxConcurrent(x) => x.span,
        }
    }
}

/// `coordinator NAME "doc" { settings }`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Coordinator {
    /// The coordinator's name.
    pub name: Ident,
    /// Optional description.
    pub doc: Option<StrLit>,
    /// Defaults for the whole playbook, in source order.
    pub settings: Vec<Setting>,
    /// The whole declaration.
    pub span: Span,
}

/// `agent NAME "doc" { tasks, checks, forbids, settings }`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Agent {
    /// The agent's name.
    pub name: Ident,
    /// Optional description (its role).
    pub doc: Option<StrLit>,
    /// Agent-wide defaults (`timeout`, `retry`, `max_concurrent`).
    pub settings: Vec<Setting>,
    /// The tasks it can perform.
    pub tasks: Vec<TaskDecl>,
    /// Quality checks applied to every task's output.
    pub checks: Vec<Check>,
    /// Actions the agent must never take.
    pub forbids: Vec<StrLit>,
    /// `outputs { … }` blocks: fields every task of the agent returns (a
    /// valid agent has at most one).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<OutputsDecl>,
    /// The whole declaration.
    pub span: Span,
}

/// `task NAME "doc" { settings, checks, forbids }`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TaskDecl {
    /// The task's name.
    pub name: Ident,
    /// Optional description.
    pub doc: Option<StrLit>,
    /// Task settings (`timeout`, `retry`).
    pub settings: Vec<Setting>,
    /// Quality checks applied to this task's output.
    pub checks: Vec<Check>,
    /// Actions forbidden while doing this task.
    pub forbids: Vec<StrLit>,
    /// `outputs { … }` blocks: what the task returns (a valid task has at
    /// most one).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<OutputsDecl>,
    /// The whole declaration.
    pub span: Span,
}

/// `check NAME "doc": EXPR` — a boolean over the task's `output`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Check {
    /// The check's name.
    pub name: Ident,
    /// Optional description.
    pub doc: Option<StrLit>,
    /// The condition that must hold.
    pub condition: Expr,
    /// The whole declaration.
    pub span: Span,
}

/// `outputs { hash: string, files: list<string> }` — declared task outputs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OutputsDecl {
    /// The declared fields in source order (a default is an analysis error).
    pub fields: Vec<FieldDecl>,
    /// The whole block, from `outputs` to `}`.
    pub span: Span,
}

/// `signal NS:NAME "doc" { field: type = default }`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SignalDecl {
    /// The signal's name, e.g. `OPS:COMMIT`.
    pub name: Ident,
    /// Optional description.
    pub doc: Option<StrLit>,
    /// Context fields the signal carries.
    pub fields: Vec<FieldDecl>,
    /// The whole declaration.
    pub span: Span,
}

/// A signal context field: `version: string`, `simple: bool = false`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FieldDecl {
    /// The field's name.
    pub name: Ident,
    /// Its declared type.
    pub ty: TypeRef,
    /// Default value; a field without one is required.
    pub default: Option<Expr>,
    /// The whole declaration.
    pub span: Span,
}

/// A type such as `string`, `bool` or `list<string>`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TypeRef {
    /// The type's name.
    pub name: Ident,
    /// The element type of a `list<…>`.
    pub element: Option<Ident>,
    /// The whole type.
    pub span: Span,
}

impl std::fmt::Display for TypeRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.element {
            Some(element) => write!(f, "{}<{}>", self.name.name, element.name),
            None => f.write_str(&self.name.name),
        }
    }
}

/// `route [label:] PATTERN [when EXPR] => TARGET`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Route {
    /// Optional label naming the route.
    pub label: Option<Ident>,
    /// Which signals it matches.
    pub pattern: SignalPattern,
    /// Extra condition over the signal's fields.
    pub guard: Option<Expr>,
    /// What runs when it matches.
    pub target: RouteTarget,
    /// The whole route.
    pub span: Span,
}

/// A signal pattern.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SignalPattern {
    /// `OPS:COMMIT`
    Exact {
        /// The full signal name.
        name: String,
        /// Where it was written.
        span: Span,
    },
    /// `OPS:*`
    Namespace {
        /// The namespace before `:*`.
        namespace: String,
        /// Where it was written.
        span: Span,
    },
    /// `*`
    Any {
        /// Where it was written.
        span: Span,
    },
}

impl SignalPattern {
    /// Whether a signal called `signal` matches this pattern.
    pub fn matches(&self, signal: &str) -> bool {
        match self {
            SignalPattern::Exact { name, .. } => name == signal,
            SignalPattern::Namespace { namespace, .. } => signal
                .split_once(':')
                .is_some_and(|(ns, _)| ns == namespace),
            SignalPattern::Any { .. } => true,
        }
    }

    /// Where the pattern was written.
    pub fn span(&self) -> Span {
        match self {
            SignalPattern::Exact { span, .. }
            | SignalPattern::Namespace { span, .. }
            | SignalPattern::Any { span } => *span,
        }
    }
}

/// What a route runs.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RouteTarget {
    /// A workflow by name.
    Workflow(Ident),
    /// A single agent task (the fast path).
    Task(Call),
    /// Drop the signal: not our domain (`IGNORED`).
    Ignore {
        /// Where `ignore` was written.
        span: Span,
    },
    /// Escalate straight away.
    Escalate(super::Escalate),
}

/// `lock NAME "doc"` — a named mutual-exclusion lock.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LockDecl {
    /// The lock's name.
    pub name: Ident,
    /// Optional description (what it protects).
    pub doc: Option<StrLit>,
    /// The whole declaration.
    pub span: Span,
}

/// `workflow NAME "doc" [timeout D] { steps }`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Workflow {
    /// The workflow's name.
    pub name: Ident,
    /// Optional description.
    pub doc: Option<StrLit>,
    /// Overall time limit.
    pub timeout: Option<DurationLit>,
    /// The steps.
    pub body: Block,
    /// The whole declaration.
    pub span: Span,
}
