//! `coordops test --format json`: one document for the whole run
//! (documented in docs/testing.md).

use serde_json::{json, Value};

use super::failures;
use crate::testing::suite::{PlaybookRun, Suite};

/// The version of the document's shape.
pub const VERSION: u64 = 1;

/// The run as a JSON value; `coverage`, when given, is added as is.
pub fn to_value(suite: &Suite, coverage: Option<Value>) -> Value {
    let totals = suite.totals();
    let mut doc = json!({
        "version": VERSION,
        "playbooks": suite.playbooks.iter().map(playbook).collect::<Vec<_>>(),
        "totals": {
            "tests": totals.passed + totals.failed,
            "passed": totals.passed,
            "failed": totals.failed,
            "errors": totals.errors,
            "playbooks_with_errors": totals.broken,
        },
    });
    if let (Some(coverage), Some(map)) = (coverage, doc.as_object_mut()) {
        map.insert("coverage".into(), coverage);
    }
    doc
}

/// The run as pretty-printed JSON, ending with a newline.
pub fn to_string(suite: &Suite, coverage: Option<Value>) -> String {
    let mut text =
        serde_json::to_string_pretty(&to_value(suite, coverage)).unwrap_or_else(|_| "{}".into());
    text.push('\n');
    text
}

fn playbook(run: &PlaybookRun) -> Value {
    let errors: Vec<Value> = run
        .errors
        .iter()
        .map(|d| json!({ "code": d.code, "message": d.message }))
        .collect();
    json!({
        "file": run.file.name(),
        "errors": errors,
        "tests": run.tests.iter().zip(&run.sources).map(|(t, source)| json!({
            "name": t.name,
            "file": source.name(),
            "status": t.outcome(),
            "run_status": t.status,
            "duration_ms": t.duration_ms,
            "failures": failures(t),
        })).collect::<Vec<_>>(),
    })
}
