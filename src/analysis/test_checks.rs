//! Checks of `test` blocks that go past single names: the one signal a test
//! sends and its fields against the signal's declaration, the steps its
//! `expect step` lines name, and test names defined twice. The same checks
//! serve a playbook's own blocks and `*.test.ops` files, and the test runner
//! uses [`sent_signal`] and [`context`] to build what it runs.

use std::collections::{BTreeSet, HashMap};

use serde_json::{Map, Value};

use super::types::{self, Env};
use crate::ast::{ExprKind, Playbook, SignalPattern, Span, Stmt, TestCase, TestSignal};
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
    for sent in &test.signals {
        misspelt_signal(playbook, sent, out);
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

/// Warns when `sent` is neither declared nor named by a route, yet close to
/// a name that is: a typo that a wildcard route would quietly take. A name
/// close to none is taken as meant (a test of a wildcard route).
fn misspelt_signal(playbook: &Playbook, sent: &TestSignal, out: &mut Vec<Diagnostic>) {
    let mut known: Vec<&str> = playbook.signals().map(|s| s.name.name.as_str()).collect();
    known.extend(playbook.routes().filter_map(|r| match &r.pattern {
        SignalPattern::Exact { name, .. } => Some(name.as_str()),
        _ => None,
    }));
    if known.contains(&sent.name.name.as_str()) {
        return;
    }
    if let Some(best) = super::closest_word(&sent.name.name, known.iter().copied()) {
        out.push(
            Diagnostic::warning(
                codes::LINT_MISSPELT_SIGNAL,
                format!(
                    "signal `{}` is not declared and no route names it",
                    sent.name.name
                ),
            )
            .with_primary(sent.name.span, format!("did you mean `{best}`?"))
            .with_help(format!(
                "did you mean `{best}`? An unknown signal is only taken by a wildcard route"
            )),
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

/// Where a test name was first met: at a span of the file being checked,
/// or in another file (the playbook, or one of its other test files).
pub type Seen = HashMap<String, Option<Span>>;

/// Reports each test of `tests` whose name is already in `seen` (pointing
/// at the first when it is in the same file), and adds the others to it;
/// `local` says whether `tests` are in the file being checked.
pub fn duplicates<'t>(
    seen: &mut Seen,
    tests: impl IntoIterator<Item = &'t TestCase>,
    local: bool,
    out: &mut Vec<Diagnostic>,
) {
    for test in tests {
        let Some(name) = test.name.as_plain() else {
            continue;
        };
        match seen.get(&name) {
            Some(first) => {
                let problem = Diagnostic::error(
                    codes::CHECK_DUPLICATE,
                    format!("test \"{name}\" is defined twice"),
                )
                .with_primary(test.name.span, "a second test of this name");
                let problem = match first {
                    Some(first) => problem.with_secondary(*first, "first defined here"),
                    None => problem,
                };
                let whence = if first.is_some() {
                    ""
                } else {
                    " (the first is in the playbook or another of its test files)"
                };
                out.push(problem.with_help(format!(
                    "test names are unique across a playbook and its test files{whence}; \
                     rename one (`--filter` and reports select tests by name)"
                )));
            }
            None => {
                seen.insert(name, local.then_some(test.name.span));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    fn playbook(tests: &str) -> Playbook {
        let text = format!(
            "agent A {{ task build\n task ship }}\n\
             signal OPS:GO {{ target: string\n dry: bool = false }}\n\
             route OPS:GO => w\n\
             workflow w {{\n  built = A.build()\n  A.ship()\n  approve ok \"ok?\"\n}}\n{tests}"
        );
        crate::syntax::parse(&SourceFile::new("t.ops", text))
            .playbook
            .expect("parses")
    }

    fn codes_of(tests: &str) -> Vec<(&'static str, String)> {
        let p = playbook(tests);
        let mut out = Vec::new();
        for test in p.tests() {
            signal(&p, test, &mut out);
        }
        out.into_iter().map(|d| (d.code, d.message)).collect()
    }

    #[test]
    fn a_test_sends_exactly_one_signal() {
        let found = codes_of("test \"none\" {\n  expect status complete\n}\n");
        assert_eq!(found[0].0, codes::TEST_INVALID);
        assert!(found[0].1.contains("sends no signal"), "{found:?}");
        let found = codes_of(
            "test \"two\" {\n  signal OPS:GO { target: \"a\" }\n  signal OPS:GO { target: \"b\" }\n}\n",
        );
        assert!(found[0].1.contains("more than one signal"), "{found:?}");
    }

    #[test]
    fn fields_are_known_present_and_typed() {
        let found = codes_of("test \"t\" {\n  signal OPS:GO { target: \"a\", dri: true }\n}\n");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].1.contains("has no field `dri`"), "{found:?}");
        let found = codes_of("test \"t\" {\n  signal OPS:GO { dry: true }\n}\n");
        assert!(found[0].1.contains("needs `target`"), "{found:?}");
        let found = codes_of("test \"t\" {\n  signal OPS:GO { target: \"a\", dry: \"yes\" }\n}\n");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, codes::CHECK_TYPE_MISMATCH);
        assert!(codes_of("test \"t\" {\n  signal OPS:GO { target: \"a\" }\n}\n").is_empty());
    }

    #[test]
    fn step_names_are_bindings_approvals_tasks_and_runs() {
        let names = step_names(&playbook(""));
        for name in ["built", "ok", "A.build", "A.ship", "run w"] {
            assert!(names.contains(name), "{name}: {names:?}");
        }
        assert!(!names.contains("ship"));
    }

    #[test]
    fn a_name_seen_before_is_a_duplicate() {
        let p = playbook(
            "test \"a\" {\n  signal OPS:GO { target: \"x\" }\n}\ntest \"a\" {\n  signal OPS:GO { target: \"y\" }\n}\n",
        );
        let mut out = Vec::new();
        duplicates(&mut HashMap::new(), p.tests(), true, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].code, codes::CHECK_DUPLICATE);
        // The first definition is labelled when it is in the same file.
        let first = p.tests().next().map(|t| t.name.span);
        let secondary: Vec<_> = out[0].labels.iter().filter(|l| !l.primary).collect();
        assert_eq!(secondary.len(), 1);
        assert_eq!(Some(secondary[0].span.start), first.map(|s| s.start));
        // Met in another file first: no label there, the help says where.
        let mut seen = HashMap::new();
        let mut out = Vec::new();
        duplicates(&mut seen, p.tests().take(1), false, &mut out);
        duplicates(&mut seen, p.tests().skip(1), true, &mut out);
        assert_eq!(out.len(), 1);
        assert!(out[0].labels.iter().all(|l| l.primary));
        assert!(out[0]
            .help
            .as_deref()
            .is_some_and(|h| h.contains("another of its test files")));
    }
}
