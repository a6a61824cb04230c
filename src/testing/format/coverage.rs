//! How `--coverage` is shown: a table per playbook and for the run, the
//! uncovered items at their lines, and the JSON form.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{json, Value};

use crate::source::SourceFile;
use crate::testing::coverage::{coverage, Item, Kind, Ratio};
use crate::testing::suite::Suite;

/// One playbook's coverage.
pub struct PlaybookCoverage<'s> {
    /// The playbook's source.
    pub file: &'s SourceFile,
    /// Its coverable items, covered or not.
    pub items: Vec<Item>,
}

/// The coverage of every playbook that ran at least one test (a playbook
/// none of whose tests ran is not counted).
pub fn of_suite(suite: &Suite) -> Vec<PlaybookCoverage<'_>> {
    suite
        .playbooks
        .iter()
        .filter_map(|run| {
            let playbook = run.playbook.as_ref()?;
            let results: Vec<_> = run.tests.iter().filter_map(|t| t.result.as_ref()).collect();
            (!results.is_empty()).then(|| PlaybookCoverage {
                file: &run.file,
                items: coverage(playbook, &results),
            })
        })
        .collect()
}

/// The run's total over every counted playbook.
pub fn total(coverages: &[PlaybookCoverage<'_>]) -> Ratio {
    coverages.iter().fold(Ratio::default(), |sum, c| {
        sum.plus(Ratio::of(&c.items, None))
    })
}

/// Why the run's total is below `pct` percent (`--fail-under`), or `None`
/// when it is not.
pub fn below(coverages: &[PlaybookCoverage<'_>], pct: f64) -> Option<String> {
    if coverages.is_empty() {
        return Some(format!(
            "error: --fail-under {pct}%: no coverage was measured, as no playbook ran a test \
             (a playbook with errors runs none)\n"
        ));
    }
    let total = total(coverages);
    (total.percent() < pct).then(|| {
        format!(
            "error: coverage {} ({} of {} items) is below --fail-under {pct}%\n",
            percent(total),
            total.covered,
            total.total
        )
    })
}

/// `83.3%`: one decimal, rounded down so a total never reads as reaching a
/// threshold it misses.
pub fn percent(ratio: Ratio) -> String {
    let tenths = (ratio.percent() * 10.0).floor() / 10.0;
    format!("{tenths:.1}%")
}

fn row(out: &mut String, label: &str, ratio: Ratio) {
    let _ = writeln!(
        out,
        "  {label:<18} {:>7} {:>7} {:>7}",
        ratio.covered,
        ratio.total,
        percent(ratio)
    );
}

/// The tables and the uncovered listing, for humans.
pub fn human(coverages: &[PlaybookCoverage<'_>]) -> String {
    let mut out = String::new();
    for c in coverages {
        let _ = writeln!(out, "\ncoverage of {}", c.file.name());
        let _ = writeln!(
            out,
            "  {:<18} {:>7} {:>7} {:>7}",
            "item", "covered", "total", "%"
        );
        for kind in Kind::ALL {
            let ratio = Ratio::of(&c.items, Some(kind));
            if ratio.total > 0 {
                row(&mut out, kind.word(), ratio);
            }
        }
        row(&mut out, "total", Ratio::of(&c.items, None));
        uncovered_lines(&mut out, c);
    }
    if coverages.is_empty() {
        let _ = writeln!(out, "\ncoverage: nothing measured (no playbook ran a test)");
        return out;
    }
    let total = total(coverages);
    let _ = writeln!(
        out,
        "\ncoverage: {} ({} of {} items)",
        percent(total),
        total.covered,
        total.total
    );
    out
}

/// Line -> (an offset on it, the items not exercised there).
fn lines<'c>(c: &'c PlaybookCoverage<'_>) -> BTreeMap<usize, (usize, Vec<&'c str>)> {
    let mut lines: BTreeMap<usize, (usize, Vec<&str>)> = BTreeMap::new();
    for item in c.items.iter().filter(|i| !i.covered) {
        let line = c.file.line_col(item.span.start).0;
        let entry = lines.entry(line).or_insert((item.span.start, Vec::new()));
        entry.1.push(&item.name);
    }
    lines
}

/// Each line holding an uncovered item, in line order, with what on it
/// was not exercised.
fn uncovered_lines(out: &mut String, c: &PlaybookCoverage<'_>) {
    let lines = lines(c);
    if !lines.is_empty() {
        let _ = writeln!(out, "  uncovered:");
    }
    for (line, (offset, names)) in lines {
        let text = c.file.slice(c.file.line_span(offset)).trim();
        let _ = writeln!(out, "    {}:{line}: {text}", c.file.name());
        let _ = writeln!(out, "      not exercised: {}", names.join(", "));
    }
}

/// A GitHub Actions `::notice` per line holding an uncovered item (for
/// `--format github`), escaped as `diagnostics::github` escapes.
pub fn github_notices(coverages: &[PlaybookCoverage<'_>]) -> String {
    use crate::diagnostics::github::{escape_data, escape_property};
    let mut out = String::new();
    for c in coverages {
        for (line, (_, names)) in lines(c) {
            let _ = writeln!(
                out,
                "::notice file={},line={line},title=not covered by tests::{}",
                escape_property(c.file.name()),
                escape_data(&format!("not exercised: {}", names.join(", ")))
            );
        }
    }
    out
}

/// The `coverage` member of the JSON document.
pub fn json(coverages: &[PlaybookCoverage<'_>]) -> Value {
    let ratio =
        |r: Ratio| json!({ "covered": r.covered, "total": r.total, "percent": r.percent() });
    let playbooks: Vec<Value> = coverages
        .iter()
        .map(|c| {
            let kinds: serde_json::Map<String, Value> = Kind::ALL
                .iter()
                .map(|k| (k.word().to_string(), ratio(Ratio::of(&c.items, Some(*k)))))
                .collect();
            let uncovered: Vec<Value> = c
                .items
                .iter()
                .filter(|i| !i.covered)
                .map(|i| {
                    let (line, col) = c.file.line_col(i.span.start);
                    json!({ "kind": i.kind.word(), "item": i.name, "line": line, "col": col })
                })
                .collect();
            json!({
                "file": c.file.name(),
                "kinds": kinds,
                "total": ratio(Ratio::of(&c.items, None)),
                "uncovered": uncovered,
            })
        })
        .collect();
    json!({ "playbooks": playbooks, "total": ratio(total(coverages)) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measuring_nothing_never_meets_a_threshold() {
        assert!(below(&[], 0.0).is_some_and(|e| e.contains("no coverage was measured")));
        assert!(human(&[]).contains("nothing measured"));
    }

    #[test]
    fn percentages_round_down_to_one_decimal() {
        let r = |covered, total| percent(Ratio { covered, total });
        assert_eq!(r(15, 19), "78.9%");
        assert_eq!(r(2, 3), "66.6%");
        assert_eq!(r(899, 1000), "89.9%");
        assert_eq!(r(0, 0), "100.0%");
    }
}
