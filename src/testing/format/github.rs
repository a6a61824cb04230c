//! `coordops test --format github`: a GitHub Actions annotation at each
//! failed expectation with its expected and actual (rendered by
//! `diagnostics::github`, which escapes them), then a blank line and the
//! summary line.

use crate::diagnostics::github;
use crate::testing::suite::Suite;

/// Every annotation (playbook errors, then each test's warnings and
/// failures, the test named in the message), then the summary line.
pub fn to_string(suite: &Suite) -> String {
    let mut diagnostics = Vec::new();
    for run in &suite.playbooks {
        diagnostics.extend(run.errors.iter().cloned());
        for test in &run.tests {
            for d in &test.warnings {
                let mut d = d.clone();
                d.message = format!("test \"{}\": {}", test.name, d.message);
                diagnostics.push(d);
            }
            // A failure carries its expected and actual on their own lines.
            for (i, d) in test.failures.iter().enumerate() {
                let mut d = d.clone();
                d.message = match test.mismatches.get(i) {
                    Some(m) => format!(
                        "test \"{}\": {}\nexpected: {}\nactual:   {}",
                        test.name, d.message, m.expected, m.actual
                    ),
                    None => format!("test \"{}\": {}", test.name, d.message),
                };
                diagnostics.push(d);
            }
        }
    }
    let mut out = github::to_string(&diagnostics);
    out.push('\n');
    out.push_str(&suite.totals().line());
    out.push('\n');
    out
}
