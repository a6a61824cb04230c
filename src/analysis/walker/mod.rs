//! The main checking walk over routes, workflows, rules, agents and tests.
//!
//! It resolves every name, tracks which results are bound on every path,
//! type-checks expressions (through [`types`](super::types)), checks setting
//! ranges and reports unreachable statements.

mod bindings;
mod branches;
mod declarations;
mod expectations;
mod handlers;
mod statements;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::rc::Rc;

use crate::ast::{Expr, Playbook, SignalDecl, Span};
use crate::diagnostics::Diagnostic;

use super::symbols::Symbols;
use super::types::{Env, Root};
use super::values;
use bindings::{Bindings, Results, WorkflowScope};

/// Escalation types of the seed's escalation format.
pub const ESCALATION_TYPES: &[&str] = &["Boundary", "QualityGate", "Resource", "Conflict"];
/// Final statuses a test can expect.
pub const STATUSES: &[&str] = &[
    "complete",
    "partial",
    "failed",
    "escalated",
    "aborted",
    "ignored",
];
/// Step outcomes a test can expect.
pub const OUTCOMES: &[&str] = &["success", "failure", "timeout", "skipped", "aborted"];
/// Decisions a test can give an approval.
pub const DECISIONS: &[&str] = &["granted", "denied", "never"];

/// Signals that can reach each workflow (`None`: unknown).
pub type Reach<'a> = BTreeMap<&'a str, Option<Vec<&'a SignalDecl>>>;

/// What a step handler is attached to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum HandlerSite {
    Step,
    Approval,
    TopLevel,
}

/// The timeout that bounds a statement, with where it was written.
#[derive(Clone, Copy)]
struct Enclosing {
    millis: u64,
    span: Span,
    what: &'static str,
}

/// Checks the `test` blocks of a test file against `playbook`.
pub fn check_tests(
    playbook: &Playbook,
    symbols: &Symbols<'_>,
    tests: &[&crate::ast::TestCase],
    out: &mut Vec<Diagnostic>,
) {
    Walker::new(playbook, symbols, out).test_cases(playbook, tests);
}

/// Runs the walk over the whole playbook.
pub fn check(
    playbook: &Playbook,
    symbols: &Symbols<'_>,
    reach: &Reach<'_>,
    out: &mut Vec<Diagnostic>,
) {
    let mut walker = Walker::new(playbook, symbols, out);
    walker.agents(playbook);
    walker.signal_defaults(playbook);
    walker.routes(playbook);
    for rule in playbook.rules() {
        let env = Env::default().with("signal", Root::Signal(None));
        walker.handler(rule, &env, HandlerSite::TopLevel);
    }
    for workflow in playbook.workflows() {
        walker.signals = Rc::new(reach.get(workflow.name.name.as_str()).cloned().flatten());
        let enclosing = workflow.timeout.as_ref().map(|t| {
            values::timeout(t, walker.out);
            Enclosing {
                millis: t.millis,
                span: t.span,
                what: "the workflow's",
            }
        });
        group_labels(workflow, walker.out);
        let mut bindings = Bindings::default();
        walker.results = Rc::default();
        walker.block(&workflow.body, &mut bindings, enclosing);
    }
    walker.signals = Rc::new(None);
    walker.tests(playbook);
}

struct Walker<'a, 'o> {
    /// What decides where the playbook's rules can run.
    present: super::scope::Present,
    /// Every `parallel` group's name (`gate.group`), sorted.
    groups: Vec<String>,
    symbols: &'o Symbols<'a>,
    out: &'o mut Vec<Diagnostic>,
    /// Signals reaching the workflow being walked.
    signals: Rc<Option<Vec<&'a SignalDecl>>>,
    /// Declared outputs of the workflow's step results, shared with the
    /// scopes that snapshot them (copied on write while one is alive).
    results: Rc<Results>,
}

impl<'a, 'o> Walker<'a, 'o> {
    fn new(playbook: &Playbook, symbols: &'o Symbols<'a>, out: &'o mut Vec<Diagnostic>) -> Self {
        Walker {
            present: super::scope::Present::of(playbook),
            groups: playbook
                .workflows()
                .flat_map(|w| super::scope::group_names(&w.name.name, &w.body))
                .map(|(_, name)| name)
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect(),
            symbols,
            out,
            signals: Rc::new(None),
            results: Rc::default(),
        }
    }
}

impl<'a> Walker<'a, '_> {
    /// The names in scope at a statement, given the bindings before it.
    fn scope<'b>(&self, bindings: &'b Bindings) -> WorkflowScope<'a, 'b> {
        WorkflowScope {
            signals: self.signals.clone(),
            bindings,
            results: self.results.clone(),
        }
    }
}

/// Group labels name groups in reports and `gate.group`: one per workflow.
fn group_labels(workflow: &crate::ast::Workflow, out: &mut Vec<Diagnostic>) {
    let mut seen: std::collections::HashMap<&str, Span> = std::collections::HashMap::new();
    workflow.body.walk(&mut |s| {
        if let crate::ast::Stmt::Parallel(crate::ast::ParallelStmt {
            label: Some(label), ..
        }) = s
        {
            match seen.get(label.name.as_str()) {
                Some(first) => out.push(super::symbols::duplicate("group", label, *first)),
                None => {
                    seen.insert(&label.name, label.span);
                }
            }
        }
    });
}

/// Whether an expression mentions `name` as a path root.
pub fn mentions(expr: &Expr, name: &str) -> bool {
    expr.mentions(name)
}
