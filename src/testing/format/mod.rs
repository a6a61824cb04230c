//! The machine-readable forms of a `coordops test` run: JSON, JUnit XML and
//! GitHub Actions annotations.

pub mod coverage;
pub mod github;
pub mod json;
pub mod junit;

use serde::Serialize;

use super::TestReport;
use crate::diagnostics::Diagnostic;

/// One failed expectation (or why a test could not run), located.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FailureView {
    /// The diagnostic's code (`ops::test::failed`, `ops::test::invalid`).
    pub code: &'static str,
    /// The expectation as written (`expect status complete`).
    pub expectation: String,
    /// What it wanted; `None` for a test that could not run.
    pub expected: Option<String>,
    /// What the run did; `None` for a test that could not run.
    pub actual: Option<String>,
    /// The diagnostic's message.
    pub message: String,
    /// The playbook it is written in.
    pub file: String,
    /// 1-based line of the expectation.
    pub line: usize,
    /// 1-based column (in characters).
    pub col: usize,
}

/// The located failures of one test, in order.
pub fn failures(test: &TestReport) -> Vec<FailureView> {
    test.failures
        .iter()
        .enumerate()
        .map(|(i, d)| view(d, test.mismatches.get(i)))
        .collect()
}

fn view(d: &Diagnostic, mismatch: Option<&super::Mismatch>) -> FailureView {
    let (file, expectation, (line, col)) = match (&d.source, d.primary_span()) {
        (Some(source), Some(span)) => (
            source.name().to_string(),
            source.slice(span).to_string(),
            source.line_col(span.start),
        ),
        (Some(source), None) => (source.name().to_string(), String::new(), (1, 1)),
        _ => (String::new(), String::new(), (1, 1)),
    };
    FailureView {
        code: d.code,
        expectation,
        expected: mismatch.map(|m| m.expected.clone()),
        actual: mismatch.map(|m| m.actual.clone()),
        message: d.message.clone(),
        file,
        line,
        col,
    }
}

/// Milliseconds as seconds with three decimals (`1.500`).
pub fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}
