//! Workflow statements, step options and handlers.

use serde::Serialize;

use super::{DurationLit, Expr, Ident, RetryPolicy, Span, StrLit};

/// `{ statements }`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Block {
    /// The statements in order.
    pub stmts: Vec<Stmt>,
    /// From `{` to `}`.
    pub span: Span,
}

/// One statement of a workflow.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "stmt", rename_all = "snake_case")]
pub enum Stmt {
    /// `[name =] AGENT.task(args) options`
    Call(CallStmt),
    /// `[name =] run WORKFLOW options`
    Run(RunStmt),
    /// `let name = expr`
    Let(LetStmt),
    /// `if cond { … } else { … }`
    If(IfStmt),
    /// `parallel [for x in list] [gate G [stop when …]] [timeout D] { … }`
    Parallel(ParallelStmt),
    /// `exclusive LOCK { … }`
    Exclusive(ExclusiveStmt),
    /// `approve NAME "message" options`
    Approve(ApproveStmt),
    /// `abort "reason"`
    Abort(AbortStmt),
    /// `fail "message" { details }`
    Fail(FailStmt),
    /// `escalate TYPE "title" { details }`
    Escalate(Escalate),
    /// `complete "summary" { payload } next "…"`
    Complete(CompleteStmt),
}

impl Stmt {
    /// The span of the whole statement.
    pub fn span(&self) -> Span {
        match self {
            Stmt::Call(x) => x.span,
            Stmt::Run(x) => x.span,
            Stmt::Let(x) => x.span,
            Stmt::If(x) => x.span,
            Stmt::Parallel(x) => x.span,
            Stmt::Exclusive(x) => x.span,
            Stmt::Approve(x) => x.span,
            Stmt::Abort(x) => x.span,
            Stmt::Fail(x) => x.span,
            Stmt::Escalate(x) => x.span,
            Stmt::Complete(x) => x.span,
        }
    }
}

/// `AGENT.task(name: value, …)`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Call {
    /// The agent.
    pub agent: Ident,
    /// The task.
    pub task: Ident,
    /// Named arguments in source order.
    pub args: Vec<Arg>,
    /// The whole call.
    pub span: Span,
}

/// A named argument `name: value`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Arg {
    /// The argument's name.
    pub name: Ident,
    /// Its value.
    pub value: Expr,
}

/// An agent task call as a step.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CallStmt {
    /// The name its result is bound to.
    pub binding: Option<Ident>,
    /// The call.
    pub call: Call,
    /// Timeout, retry, guard, lock, critical and handlers.
    pub options: Vec<StepOption>,
    /// The whole statement.
    pub span: Span,
}

/// Running another workflow as a step.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunStmt {
    /// The name its result is bound to.
    pub binding: Option<Ident>,
    /// The workflow to run.
    pub workflow: Ident,
    /// Step options.
    pub options: Vec<StepOption>,
    /// The whole statement.
    pub span: Span,
}

/// `let name = expr`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LetStmt {
    /// The bound name.
    pub name: Ident,
    /// The value.
    pub value: Expr,
    /// The whole statement.
    pub span: Span,
}

/// `if cond { … } else if cond { … } else { … }`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IfStmt {
    /// The `if` and each `else if`, tried in order.
    pub branches: Vec<CondBlock>,
    /// Runs when no condition holds.
    pub else_block: Option<Block>,
    /// The whole statement.
    pub span: Span,
}

/// A condition and the block it guards.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CondBlock {
    /// The condition.
    pub condition: Expr,
    /// Runs when it holds.
    pub block: Block,
}

/// `parallel [for x in list] [gate G [stop when …]] [timeout D] { branches }`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ParallelStmt {
    /// `parallel NAME …`: the group's name in reports and `gate.group`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<Ident>,
    /// `for x in list`: one branch per element.
    pub each: Option<ForEach>,
    /// Quality gate for the group.
    pub gate: Option<GateLit>,
    /// `stop when passed|failed|decided`: an opt-in early decision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop: Option<StopWhen>,
    /// Time limit for the whole group.
    pub timeout: Option<DurationLit>,
    /// Each statement is one branch.
    pub body: Block,
    /// The whole statement.
    pub span: Span,
}

/// A group's gate as written: `gate 80%`, `gate tolerate 1`, `gate at least 2`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GateLit {
    /// What the gate requires.
    #[serde(flatten)]
    pub rule: GateRule,
    /// Where it was written (from `gate`).
    #[serde(skip)]
    pub span: Span,
}

/// What a gate requires of the counted branches (successes + failures).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum GateRule {
    /// `gate P%`: successes × 100 ≥ P × counted.
    Percent {
        /// The percentage.
        #[serde(rename = "threshold")]
        value: u64,
    },
    /// `gate tolerate N`: failures ≤ N.
    Tolerate {
        /// Most failures tolerated.
        tolerate: u64,
    },
    /// `gate at least K`: successes ≥ K.
    AtLeast {
        /// Fewest successes required.
        at_least: u64,
    },
}

/// When a group may stop before every branch has ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopWhen {
    /// As soon as the gate is sure to pass.
    Passed,
    /// As soon as the gate can no longer pass (fail fast).
    Failed,
    /// As soon as the verdict is known either way.
    Decided,
}

impl StopWhen {
    /// Whether a settled verdict stops the group.
    pub fn stops_on(self, passed: bool) -> bool {
        match self {
            StopWhen::Passed => passed,
            StopWhen::Failed => !passed,
            StopWhen::Decided => true,
        }
    }

    /// The words as written after `stop when`.
    pub fn word(self) -> &'static str {
        match self {
            StopWhen::Passed => "passed",
            StopWhen::Failed => "failed",
            StopWhen::Decided => "decided",
        }
    }
}

impl std::fmt::Display for GateRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GateRule::Percent { value } => write!(f, "{value}%"),
            GateRule::Tolerate { tolerate } => write!(f, "tolerate {tolerate}"),
            GateRule::AtLeast { at_least } => write!(f, "at least {at_least}"),
        }
    }
}

/// `for x in list`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ForEach {
    /// The loop variable.
    pub var: Ident,
    /// The list iterated over.
    pub iterable: Expr,
}

/// `exclusive LOCK { … }`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExclusiveStmt {
    /// The lock held while the block runs.
    pub lock: Ident,
    /// The guarded steps.
    pub body: Block,
    /// The whole statement.
    pub span: Span,
}

/// `approve NAME "message" options` — wait for an outside decision.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ApproveStmt {
    /// The approval's name (scenarios and tests decide it by name).
    pub name: Ident,
    /// What is asked.
    pub message: StrLit,
    /// Timeout, guard and handlers (`on denied`, `on timeout`).
    pub options: Vec<StepOption>,
    /// The whole statement.
    pub span: Span,
}

/// `abort "reason"`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AbortStmt {
    /// Why.
    pub reason: StrLit,
    /// The whole statement.
    pub span: Span,
}

/// `fail "message" { details }`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FailStmt {
    /// What failed.
    pub message: StrLit,
    /// Extra details (a map expression).
    pub details: Option<Expr>,
    /// The whole statement.
    pub span: Span,
}

/// `escalate TYPE "title" { details }`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Escalate {
    /// Boundary, QualityGate, Resource or Conflict.
    pub kind: Ident,
    /// The escalation's title.
    pub title: StrLit,
    /// Extra details (a map expression).
    pub details: Option<Expr>,
    /// The whole statement.
    pub span: Span,
}

/// `complete "summary" { payload } next "…"`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CompleteStmt {
    /// One-line summary for the report.
    pub summary: Option<StrLit>,
    /// Deliverables (a map expression).
    pub payload: Option<Expr>,
    /// Next steps for the report.
    pub next: Option<StrLit>,
    /// The whole statement.
    pub span: Span,
}

/// An option written after a step.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "option", rename_all = "snake_case")]
pub enum StepOption {
    /// `timeout 30s`
    Timeout(DurationLit),
    /// `retry …`
    Retry(RetryPolicy),
    /// `when expr`: run only if it holds, else SKIPPED.
    When(Expr),
    /// `lock NAME`
    Lock(Ident),
    /// `critical`: its failure fails the enclosing group.
    Critical {
        /// Where `critical` was written.
        span: Span,
    },
    /// `on EVENT => ACTION`
    Handler(Box<Handler>),
}

impl StepOption {
    /// The span of the option.
    pub fn span(&self) -> Span {
        match self {
            StepOption::Timeout(x) => x.span,
            StepOption::Retry(x) => x.span,
            StepOption::When(x) => x.span,
            StepOption::Lock(x) => x.span,
            StepOption::Critical { span } => *span,
            StepOption::Handler(x) => x.span,
        }
    }
}

/// `on EVENT[(kinds)] [when expr] => [AGENT.task() then] ACTION`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Handler {
    /// What it reacts to: `failure`, `timeout`, `denied`, `gate_failed`, …
    pub event: Ident,
    /// Failure kinds narrowing the event: `failure(rejected)`.
    pub kinds: Vec<Ident>,
    /// Extra condition.
    pub guard: Option<Expr>,
    /// A recovery call made before the action.
    pub recovery: Option<super::Call>,
    /// What happens next.
    pub action: HandlerAction,
    /// The whole handler.
    pub span: Span,
}

/// What a handler does.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum HandlerAction {
    /// Try the step again (subject to its retry policy).
    Retry {
        /// Where `retry` was written.
        span: Span,
    },
    /// Treat the failure as handled and go on.
    Continue {
        /// Where `continue` was written.
        span: Span,
    },
    /// Escalate upstream.
    Escalate(Escalate),
    /// Fail the run.
    Fail(FailStmt),
    /// Abort the run.
    Abort(AbortStmt),
}

impl Block {
    /// Calls `f` on every statement, nested blocks included, in source order.
    pub fn walk<'a>(&'a self, f: &mut impl FnMut(&'a Stmt)) {
        for stmt in &self.stmts {
            f(stmt);
            match stmt {
                Stmt::If(i) => {
                    for branch in &i.branches {
                        branch.block.walk(f);
                    }
                    if let Some(e) = &i.else_block {
                        e.walk(f);
                    }
                }
                Stmt::Parallel(p) => p.body.walk(f),
                Stmt::Exclusive(x) => x.body.walk(f),
                _ => {}
            }
        }
    }
}

impl StepOption {
    /// The handler, if this option is one.
    pub fn handler(&self) -> Option<&Handler> {
        match self {
            StepOption::Handler(h) => Some(h),
            _ => None,
        }
    }
}
