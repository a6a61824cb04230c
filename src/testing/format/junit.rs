//! `coordops test --format junit`: JUnit XML as CI systems read it.
//!
//! `<testsuites>` holds one `<testsuite>` per playbook (`name`, `package`
//! and each test's `classname` are the playbook's path) and one
//! `<testcase>` per test. Every attribute the common JUnit XSD requires is
//! written: `tests`, `failures`, `errors`, `skipped`, `time` (virtual
//! seconds), `timestamp` (the fixed virtual start of every test run),
//! `hostname` and `id`. A failed expectation is a `<failure>` whose
//! `message` is the diagnostic's and whose text is the expectation, where
//! it is written, and expected against actual; a test that could not run,
//! or a playbook with errors, is an `<error>`.

use std::fmt::Write as _;

use super::{failures, seconds, FailureView};
use crate::output::escape_xml;
use crate::testing::suite::{PlaybookRun, Suite};
use crate::testing::TestReport;

/// The `timestamp` of every suite: the virtual start of every test run.
const TIMESTAMP: &str = "2026-01-01T00:00:00";

/// The whole run as a JUnit XML document.
pub fn to_string(suite: &Suite) -> String {
    let totals = suite.totals();
    let time: u64 = suite
        .playbooks
        .iter()
        .flat_map(|p| &p.tests)
        .filter_map(|t| t.duration_ms)
        .sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"coordops test\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{}\">",
        totals.passed + totals.failed + totals.broken,
        totals.failed - totals.errors,
        totals.errors + totals.broken,
        seconds(time)
    );
    for (id, run) in suite.playbooks.iter().enumerate() {
        testsuite(&mut out, id, run);
    }
    out.push_str("</testsuites>\n");
    out
}

fn testsuite(out: &mut String, id: usize, run: &PlaybookRun) {
    let name = escape_xml(run.file.name());
    let failed = run.tests.iter().filter(|t| t.outcome() == "failed").count();
    let mut errors = run.tests.iter().filter(|t| t.outcome() == "error").count();
    if !run.errors.is_empty() {
        errors += 1;
    }
    let tests = run.tests.len() + usize::from(!run.errors.is_empty());
    let time: u64 = run.tests.iter().filter_map(|t| t.duration_ms).sum();
    let _ = writeln!(
        out,
        "  <testsuite name=\"{name}\" package=\"{name}\" id=\"{id}\" tests=\"{tests}\" \
         failures=\"{failed}\" errors=\"{errors}\" skipped=\"0\" time=\"{}\" \
         timestamp=\"{TIMESTAMP}\" hostname=\"coordops\">",
        seconds(time)
    );
    out.push_str("    <properties/>\n");
    if !run.errors.is_empty() {
        let text: Vec<String> = run
            .errors
            .iter()
            .map(|d| format!("{}: {}", d.code, d.message))
            .collect();
        let _ = writeln!(
            out,
            "    <testcase name=\"(check)\" classname=\"{name}\" time=\"0.000\">\n      \
             <error message=\"{} has errors, its tests did not run\" type=\"ops::check\">{}</error>\n    \
             </testcase>",
            name,
            escape_xml(&text.join("\n"))
        );
    }
    for test in &run.tests {
        testcase(out, &name, test);
    }
    out.push_str("    <system-out/>\n    <system-err/>\n  </testsuite>\n");
}

fn testcase(out: &mut String, classname: &str, test: &TestReport) {
    let _ = write!(
        out,
        "    <testcase name=\"{}\" classname=\"{classname}\" time=\"{}\"",
        escape_xml(&test.name),
        seconds(test.duration_ms.unwrap_or(0))
    );
    if test.passed {
        out.push_str("/>\n");
        return;
    }
    out.push_str(">\n");
    let element = if test.outcome() == "error" {
        "error"
    } else {
        "failure"
    };
    for f in failures(test) {
        let _ = writeln!(
            out,
            "      <{element} message=\"{}\" type=\"{}\">{}</{element}>",
            escape_xml(&f.message),
            f.code,
            escape_xml(&body(&f))
        );
    }
    out.push_str("    </testcase>\n");
}

/// The failure's text: where, what is written, expected against actual.
fn body(f: &FailureView) -> String {
    let mut text = format!("{}:{}:{}: {}", f.file, f.line, f.col, f.expectation);
    if let (Some(expected), Some(actual)) = (&f.expected, &f.actual) {
        let _ = write!(text, "\nexpected: {expected}\nactual:   {actual}");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_have_three_decimals() {
        assert_eq!(seconds(0), "0.000");
        assert_eq!(seconds(61_005), "61.005");
    }
}
