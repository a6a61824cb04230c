//! Running a playbook's `test` blocks.
//!
//! Each test is a dry run: its `given` lines become a simulated scenario,
//! its `signal` line the signal and context, and its `expect` lines are
//! checked against the run's result. A failed expectation is a diagnostic
//! (`ops::test::failed`) pointing at the `expect` line.

pub mod coverage;
pub mod expect;
pub mod format;
pub mod fuzz;
pub mod generate;
pub mod harness;
pub mod suite;
pub mod test_file;

use std::time::{Duration, SystemTime};

use serde::Serialize;
use serde_json::Value;

use crate::ast::{Given, OutcomeKind, Playbook, Span, TestCase};
use crate::diagnostics::Diagnostic;
use crate::runtime::eval::{eval, Scope};
use crate::runtime::result::RunResult;
use crate::runtime::simulated::{ApprovalScript, AttemptScript, Scenario, TaskScript};
use crate::runtime::{simulate, RunRequest};
use crate::source::SourceFile;

use crate::diagnostics::codes::{RUN_UNMATCHED_TARGET, TEST_INVALID};

pub use expect::Mismatch;

// The start time of every test run (reports are byte-stable).
use harness::EPOCH_SECS as TEST_EPOCH_SECS;

/// The outcome of one test.
#[derive(Debug, Serialize)]
pub struct TestReport {
    /// The test's name.
    pub name: String,
    /// Whether every expectation held.
    pub passed: bool,
    /// Why not (one diagnostic per failed expectation).
    #[serde(skip)]
    pub failures: Vec<Diagnostic>,
    /// Warnings that do not fail the test (`given step` lines no attempt
    /// used).
    #[serde(skip)]
    pub warnings: Vec<Diagnostic>,
    /// The run's final status, when it ran.
    pub status: Option<String>,
    /// The run's virtual duration in ms, when it ran.
    pub duration_ms: Option<u64>,
    /// Expected against actual for each failed expectation, in the order
    /// of `failures` (empty for a test that could not run).
    #[serde(skip)]
    pub mismatches: Vec<Mismatch>,
    /// The run's result, when it ran (what coverage is computed from).
    #[serde(skip)]
    pub result: Option<RunResult>,
}

impl TestReport {
    /// `passed`, `failed` (an expectation failed) or `error` (the test
    /// could not run).
    pub fn outcome(&self) -> &'static str {
        if self.passed {
            "passed"
        } else if self.result.is_none() {
            "error"
        } else {
            "failed"
        }
    }
}

/// Runs every test of `playbook` (whose source is `file`), in order.
/// `filter` keeps only tests whose name contains it.
pub fn run_tests(playbook: &Playbook, file: &SourceFile, filter: Option<&str>) -> Vec<TestReport> {
    run_tests_of(playbook, file, file, playbook.tests(), filter)
}

/// Runs `tests`, written in `file`, against `playbook`, whose source is
/// `source` (the same file for a playbook's own blocks, another for a
/// `*.test.ops` file). `filter` keeps only tests whose name contains it.
pub fn run_tests_of<'t>(
    playbook: &Playbook,
    source: &SourceFile,
    file: &SourceFile,
    tests: impl Iterator<Item = &'t TestCase>,
    filter: Option<&str>,
) -> Vec<TestReport> {
    tests
        .filter_map(|test| {
            let name = test
                .name
                .as_plain()
                .unwrap_or_else(|| file.slice(test.name.span).to_string());
            if filter.is_some_and(|f| !name.contains(f)) {
                return None;
            }
            Some(run_one(playbook, source, file, test, name))
        })
        .collect()
}

fn invalid(file: &SourceFile, span: Span, name: &str, message: String) -> TestReport {
    TestReport {
        name: name.to_string(),
        passed: false,
        failures: vec![Diagnostic::error(TEST_INVALID, message)
            .with_primary(span, "in this test")
            .in_file(file)],
        warnings: Vec::new(),
        status: None,
        duration_ms: None,
        mismatches: Vec::new(),
        result: None,
    }
}

fn run_one(
    playbook: &Playbook,
    source: &SourceFile,
    file: &SourceFile,
    test: &TestCase,
    name: String,
) -> TestReport {
    let signal = match crate::analysis::test_checks::sent_signal(test, &name) {
        Ok(signal) => signal,
        Err((span, message)) => return invalid(file, span, &name, message),
    };
    let context = match crate::analysis::test_checks::context(playbook, signal) {
        Ok(c) => c,
        Err(e) => return invalid(file, signal.span, &name, e),
    };
    let request = RunRequest {
        playbook,
        source: Some(source),
        signal: signal.name.name.clone(),
        context,
        run_id: format!(
            "test-{}",
            name.to_lowercase()
                .replace(|c: char| !c.is_alphanumeric(), "-")
        ),
        now: SystemTime::UNIX_EPOCH + Duration::from_secs(TEST_EPOCH_SECS),
    };
    let scenario = scenario(test);
    let result = match simulate(request, scenario.clone(), None, |_| {}) {
        Ok(r) => r,
        Err(e) => return invalid(file, test.span, &name, e),
    };
    let run = expect::Run {
        playbook,
        file,
        result: &result,
    };
    let (failures, mismatches): (Vec<Diagnostic>, Vec<Mismatch>) = test
        .expects
        .iter()
        .filter_map(|e| expect::check(e, &run).map(|m| (expect::failure(file, e, &m), m)))
        .unzip();
    let warnings = unmatched(file, test, &scenario);
    TestReport {
        name,
        passed: failures.is_empty(),
        failures,
        warnings,
        status: Some(result.status.word().to_string()),
        duration_ms: Some(result.duration_ms),
        mismatches,
        result: Some(result),
    }
}

/// A warning for each `given step` line no attempt of the run used.
fn unmatched(file: &SourceFile, test: &TestCase, scenario: &Scenario) -> Vec<Diagnostic> {
    let unmatched = scenario.unmatched();
    test.givens
        .iter()
        .filter_map(|g| match g {
            Given::Step { target, span, .. } => {
                let (_, winner) = unmatched.iter().find(|(k, _)| *k == target.name)?;
                let warning = Diagnostic::warning(
                    RUN_UNMATCHED_TARGET,
                    format!(
                        "`given step {}` scripted nothing: {}",
                        target.name,
                        unused_reason(winner.as_deref())
                    ),
                )
                .with_primary(*span, "never used")
                .with_help(
                    "compare it with the step ids and arguments in the report \
                     (`coordops dry-run … --format json`)",
                )
                .in_file(file);
                Some(warning)
            }
            _ => None,
        })
        .collect()
}

/// Why a `step` entry was never used: nothing matched it, or a more
/// precise entry (`winner`) won wherever it matched.
pub fn unused_reason(winner: Option<&str>) -> String {
    match winner {
        Some(w) => format!("wherever it matched, the more precise `{w}` won"),
        None => "no attempt of the run matched it".to_string(),
    }
}

/// The scenario a test's `given` lines describe.
fn scenario(test: &TestCase) -> Scenario {
    let mut scenario = Scenario::default();
    for given in &test.givens {
        match given {
            Given::Task {
                agent,
                task,
                outcomes,
                ..
            } => {
                scenario
                    .task
                    .insert(format!("{}.{}", agent.name, task.name), script(outcomes));
            }
            Given::Step {
                target, outcomes, ..
            } => {
                scenario.step.insert(target.name.clone(), script(outcomes));
            }
            Given::Approval { name, decision, .. } => {
                let script = match decision.name.as_str() {
                    "denied" => ApprovalScript::Denied,
                    "never" => ApprovalScript::Never,
                    _ => ApprovalScript::Granted,
                };
                scenario.approval.insert(name.name.clone(), script);
            }
        }
    }
    scenario
}

/// The script of one `given` line's outcomes, one per attempt.
fn script(outcomes: &[crate::ast::Outcome]) -> TaskScript {
    let attempts = outcomes
        .iter()
        .map(|o| {
            let latency = o
                .latency
                .as_ref()
                .map(|d| crate::analysis::policy::format_duration(d.millis));
            match &o.kind {
                OutcomeKind::Succeeds { outputs } => AttemptScript {
                    outcome: Some("success".into()),
                    latency,
                    outputs: match outputs.as_ref().map(|e| eval(e, &Scope::default())) {
                        Some(Value::Object(map)) => Some(map),
                        _ => None,
                    },
                    ..AttemptScript::default()
                },
                OutcomeKind::Fails { kind, message } => AttemptScript {
                    outcome: Some("failure".into()),
                    latency,
                    kind: kind.as_ref().map(|k| k.name.clone()),
                    message: message.as_ref().map(|m| m.as_plain().unwrap_or_default()),
                    ..AttemptScript::default()
                },
                OutcomeKind::TimesOut => AttemptScript {
                    outcome: Some("timeout".into()),
                    ..AttemptScript::default()
                },
            }
        })
        .collect();
    TaskScript {
        attempts,
        ..TaskScript::default()
    }
}
