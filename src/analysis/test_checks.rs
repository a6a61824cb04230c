//! Checks of `test` blocks that go past single names: the one signal a test
//! sends and its fields against the signal's declaration, the steps its
//! `expect step` lines name, and test names defined twice. The same checks
//! serve a playbook's own blocks and `*.test.ops` files, and the test runner
//! uses [`sent_signal`] and [`context`] to build what it runs.

use std::collections::{BTreeSet, HashMap};

use serde_json::{Map, Value};

use super::types::{self, Env};
use crate::ast::{ExprKind, Playbook, Span, Stmt, TestCase, TestSignal};
use crate::diagnostics::{codes, Diagnostic};
use crate::runtime::eval::{eval, Scope};

/// The one signal `test` (named `name`) sends, or where and why it does not
/// send exactly one.
pub fn sent_signal<'t>(test: &'t TestCase, name: &str) -> Result<&'t TestSignal, (Span, String)> {
    let Some(signal) = test.signals.first() else {
        return Err((
            test.name.span,
            format!("test \"{name}\" sends no signal: add `signal NS:NAME`"),
        ));
    };
    if let Some(extra) = test.signals.get(1) {
        return Err((
            extra.span,
            format!("test \"{name}\" sends more than one signal; split it into two tests"),
        ));
    }
    Ok(signal)
}

/// The context `signal` builds in `playbook`: its fields, then declared
/// defaults; an unknown or missing required field is an error.
pub fn context(playbook: &Playbook, signal: &TestSignal) -> Result<Map<String, Value>, String> {
    let values = match signal.context.as_ref().map(|c| eval(c, &Scope::default())) {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    crate::runtime::context::from_values(playbook, &signal.name.name, values)
}

/// Reports what would stop `test` from running (`ops::test::invalid`) and
/// each field whose value does not have the declared type.
pub fn signal(playbook: &Playbook, test: &TestCase, out: &mut Vec<Diagnostic>) {
    let name = test
        .name
        .as_plain()
        .unwrap_or_else(|| "(interpolated name)".to_string());
    for signal in &test.signals {
        let declared = playbook.signals().find(|s| s.name.name == signal.name.name);
        let Some(ExprKind::Map { entries }) = signal.context.as_ref().map(|c| &c.kind) else {
            continue;
        };
        for entry in entries {
            let actual = types::infer(&Env::default(), &entry.value, out);
            let field =
                declared.and_then(|d| d.fields.iter().find(|f| f.name.name == entry.key.name));
            let Some(field) = field else { continue };
            let expected = types::declared_type(&field.ty, &mut Vec::new());
            if !expected.compatible(&actual) {
                out.push(
                    Diagnostic::error(
                        codes::CHECK_TYPE_MISMATCH,
                        format!(
                            "`{}` is {actual}, but signal `{}` declares it {expected}",
                            entry.key.name, signal.name.name
                        ),
                    )
                    .with_primary(entry.value.span, format!("{actual}"))
                    .with_secondary(field.ty.span, "declared type")
                    .with_help("give a value of the declared type"),
                );
            }
        }
    }
    let problem = sent_signal(test, &name)
        .and_then(|s| context(playbook, s).map_err(|e| (s.span, e)).map(|_| ()));
    if let Err((span, message)) = problem {
        out.push(
            Diagnostic::error(codes::TEST_INVALID, message)
                .with_primary(span, "this test cannot run")
                .with_help("a test sends one declared signal with every required field"),
        );
    }
}

/// Every name a step can have in a run's report: a bound result
/// (`x = A.t`, `x = run w`, `approve x`), `AGENT.task` for any declared
/// task (unbound calls, recoveries, route calls) and `run WORKFLOW`.
pub fn step_names(playbook: &Playbook) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for workflow in playbook.workflows() {
        names.insert(format!("run {}", workflow.name.name));
        workflow.body.walk(&mut |stmt| {
            let bound = match stmt {
                Stmt::Call(c) => c.binding.as_ref(),
                Stmt::Run(r) => r.binding.as_ref(),
                Stmt::Approve(a) => Some(&a.name),
                _ => None,
            };
            names.extend(bound.map(|b| b.name.clone()));
        });
    }
    for agent in playbook.agents() {
        for task in &agent.tasks {
            names.insert(format!("{}.{}", agent.name.name, task.name.name));
        }
    }
    names
}

/// Reports each test of `tests` whose name is already in `seen` (the names
/// met so far, with where), and adds the others to it.
pub fn duplicates<'t>(
    seen: &mut HashMap<String, Span>,
    tests: impl IntoIterator<Item = &'t TestCase>,
    out: &mut Vec<Diagnostic>,
) {
    for test in tests {
        let Some(name) = test.name.as_plain() else {
            continue;
        };
        match seen.get(&name) {
            Some(_) => out.push(
                Diagnostic::error(
                    codes::CHECK_DUPLICATE,
                    format!("test \"{name}\" is defined twice"),
                )
                .with_primary(test.name.span, "a second test of this name")
                .with_help(
                    "test names are unique across a playbook and its test files; \
                     rename one (`--filter` and reports select tests by name)",
                ),
            ),
            None => {
                seen.insert(name, test.name.span);
            }
        }
    }
}
