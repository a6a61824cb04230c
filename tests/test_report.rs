//! `coordops test --format …` and `--filter`: the outputs CI reads, on the
//! real binary.

use crate::support::{coordops, json_of, root};
use predicates::prelude::*;

/// Failing, invalid and broken fixtures: every kind of result.
const MIXED: [&str; 3] = [
    "tests/fixtures/testing/failing.ops",
    "tests/fixtures/testing/invalid.ops",
    "tests/fixtures/check/undefined_agent.ops",
];

fn stdout_of(format: &str) -> String {
    let out = coordops()
        .args(["--color", "never", "test", "--format", format])
        .args(MIXED)
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("test result: 0 passed, 3 failed").or(predicate::function(
                |_: &str| format == "github" || format == "human",
            )),
        )
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).expect("utf-8")
}

#[test]
fn a_filter_that_matches_nothing_is_an_error() {
    coordops()
        .args([
            "test",
            "playbooks/coord_ops.ops",
            "--filter",
            "no such test",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "error: --filter `no such test` matches no test (1 playbook(s) declare",
        ));
}

#[test]
fn human_output_keeps_the_summary_line() {
    let stdout = stdout_of("human");
    insta::assert_snapshot!(stdout);
}

#[test]
fn json_output_has_tests_failures_and_totals() {
    let stdout = stdout_of("json");
    let doc: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON document");
    assert_eq!(doc["totals"]["failed"], 3);
    assert_eq!(doc["totals"]["errors"], 2);
    assert_eq!(doc["totals"]["playbooks_with_errors"], 1);
    let failure = &doc["playbooks"][0]["tests"][0]["failures"][0];
    assert_eq!(failure["expected"], "status complete");
    assert_eq!(failure["actual"], "status failed");
    assert_eq!(
        (failure["line"].clone(), failure["col"].clone()),
        (11.into(), 3.into())
    );
    insta::assert_snapshot!(stdout);
}

#[test]
fn github_output_annotates_each_failed_expectation() {
    let stdout = stdout_of("github");
    assert!(stdout.contains(
        "::error file=tests/fixtures/testing/failing.ops,line=11,col=3,endLine=11,endColumn=25,title=ops%3A%3Atest%3A%3Afailed::test \"a failing audit still completes\": expected status complete"
    ), "{stdout}");
    assert!(
        stdout.ends_with("\ntest result: 0 passed, 3 failed, 1 playbook with errors\n"),
        "{stdout}"
    );
    insta::assert_snapshot!(stdout);
}

/// Attributes the common JUnit XSD (Jenkins / windyroad `JUnit.xsd`)
/// requires on each element.
const REQUIRED: [(&str, &[&str]); 4] = [
    ("testsuites", &["tests", "failures", "errors", "time"]),
    (
        "testsuite",
        &[
            "name",
            "package",
            "id",
            "tests",
            "failures",
            "errors",
            "time",
            "timestamp",
            "hostname",
        ],
    ),
    ("testcase", &["name", "classname", "time"]),
    ("failure", &["message", "type"]),
];

#[test]
fn junit_output_is_well_formed_and_counts_agree() {
    let stdout = stdout_of("junit");
    let doc = roxmltree::Document::parse(&stdout).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    for node in doc.descendants().filter(|n| n.is_element()) {
        let name = node.tag_name().name();
        if let Some((_, attrs)) = REQUIRED.iter().find(|(tag, _)| *tag == name) {
            for attr in *attrs {
                assert!(node.attribute(*attr).is_some(), "<{name}> lacks {attr}");
            }
        }
    }
    let suites: Vec<_> = root
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert_eq!(suites.len(), 3);
    for suite in &suites {
        let cases: Vec<_> = suite
            .children()
            .filter(|n| n.has_tag_name("testcase"))
            .collect();
        let count = |tag: &str| {
            cases
                .iter()
                .filter(|c| c.children().any(|n| n.has_tag_name(tag)))
                .count()
        };
        assert_eq!(
            suite.attribute("tests"),
            Some(cases.len().to_string().as_str())
        );
        assert_eq!(
            suite.attribute("failures"),
            Some(count("failure").to_string().as_str())
        );
        assert_eq!(
            suite.attribute("errors"),
            Some(count("error").to_string().as_str())
        );
        let order: Vec<&str> = suite
            .children()
            .filter(|n| n.is_element())
            .map(|n| n.tag_name().name())
            .collect();
        assert_eq!(order.first(), Some(&"properties"));
        assert_eq!(&order[order.len() - 2..], ["system-out", "system-err"]);
    }
    let failure = doc
        .descendants()
        .find(|n| n.has_tag_name("failure"))
        .expect("a failure");
    assert!(failure
        .text()
        .unwrap_or_default()
        .contains("expected: status complete\nactual:   status failed"));
    assert_eq!(
        (
            root.attribute("tests"),
            root.attribute("failures"),
            root.attribute("errors")
        ),
        (Some("4"), Some("1"), Some("3"))
    );
    insta::assert_snapshot!(stdout);
}

const COVERAGE: &str = "tests/fixtures/testing/coverage.ops";

/// 20 items, counted by hand in the fixture: 2 routes, 5 task calls, an
/// `if` and an `else` arm, 4 gate outcomes (the group has a critical call),
/// 1 call that may retry, 2 handlers (a step's, an approval's), 1 rule,
/// 3 approval decisions.
#[test]
fn coverage_counts_every_kind_of_item() {
    let doc = json_of(coordops().args(["test", COVERAGE, "--coverage", "--format", "json"]));
    let playbook = &doc["coverage"]["playbooks"][0];
    let counts: Vec<(String, u64, u64)> = playbook["kinds"]
        .as_object()
        .expect("kinds")
        .iter()
        .map(|(k, v)| {
            let n = |f: &str| v[f].as_u64().expect("count");
            (k.clone(), n("covered"), n("total"))
        })
        .collect();
    let expected = [
        ("approval outcomes", 2, 3),
        ("branches", 2, 2),
        ("gate outcomes", 2, 4),
        ("handlers", 2, 2),
        ("retries", 1, 1),
        ("routes", 1, 2),
        ("rules", 1, 1),
        ("steps", 5, 5),
    ];
    let expected: Vec<(String, u64, u64)> = expected
        .iter()
        .map(|(k, c, t)| ((*k).to_string(), *c, *t))
        .collect();
    assert_eq!(counts, expected);
    assert_eq!(doc["coverage"]["total"]["covered"], 16);
    assert_eq!(doc["coverage"]["total"]["total"], 20);
    let uncovered = crate::support::uncovered_items(playbook);
    assert_eq!(
        uncovered,
        [
            "route #2",
            "gate ship#1: passed with failures",
            "gate ship#1: failed",
            "approval go: timeout"
        ]
    );
}

/// `coordops test COVERAGE --coverage`'s stdout (exit 0).
fn coverage_output() -> String {
    let out = coordops()
        .args(["test", COVERAGE, "--coverage"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).expect("utf-8")
}

#[test]
fn coverage_table_and_uncovered_lines() {
    insta::assert_snapshot!(coverage_output());
}

#[test]
fn fail_under_passes_at_and_fails_below_the_total() {
    // 16 of 20 items = 80%.
    coordops()
        .args(["test", COVERAGE, "--fail-under", "80"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("coverage: 80.0% (16 of 20 items)"));
    coordops()
        .args(["test", COVERAGE, "--fail-under", "80.1"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("test result: 4 passed, 0 failed"))
        .stderr(predicate::str::contains(
            "error: coverage 80.0% (16 of 20 items) is below --fail-under 80.1%",
        ));
    coordops()
        .args(["test", COVERAGE, "--fail-under", "150"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("from 0 to 100"));
}

#[test]
fn coverage_of_the_seed_playbook() {
    let out = coordops()
        .args(["test", "playbooks/coord_ops.ops", "--coverage"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).expect("utf-8");
    let table: String = text
        .lines()
        .skip_while(|l| !l.starts_with("coverage of"))
        .take_while(|l| !l.contains("uncovered:"))
        .map(|l| format!("{l}\n"))
        .collect();
    insta::assert_snapshot!(table);
}

/// docs/testing.md shows the fixture's coverage output as it is.
#[test]
fn the_documented_coverage_output_is_current() {
    let text = coverage_output();
    let start = text.find("coverage of").expect("a table");
    let docs = std::fs::read_to_string(root().join("docs/testing.md")).expect("docs");
    assert!(
        docs.contains(&text[start..]),
        "docs/testing.md should show:\n{}",
        &text[start..]
    );
}

/// Every JSON document matches docs/test-report.schema.json: failures,
/// errors, broken playbooks, and coverage.
#[test]
fn json_output_matches_the_committed_schema() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("docs/test-report.schema.json")).expect("schema"),
    )
    .expect("the schema is JSON");
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&schema)
        .expect("the schema compiles");
    let mixed = coordops()
        .args(["test", "--format", "json", "--coverage"])
        .args(MIXED)
        .arg(COVERAGE)
        .output()
        .expect("runs");
    let doc: serde_json::Value = serde_json::from_slice(&mixed.stdout).expect("JSON");
    assert!(
        doc["coverage"]["playbooks"]
            .as_array()
            .is_some_and(|p| p.len() == 2),
        "{doc}"
    );
    // `--replay`: a journal that leaves the recorded path and one that
    // does not, against a copy of the seed whose audit route ignores.
    let dir = tempfile::tempdir().expect("temp dir");
    let seed = std::fs::read_to_string(root().join("playbooks/coord_ops.ops")).expect("seed");
    let changed = dir.path().join("coord_ops.ops");
    std::fs::write(
        &changed,
        seed.replacen(
            "route audit:      OPS:AUDIT      => full_audit",
            "route audit: OPS:AUDIT => ignore",
            1,
        ),
    )
    .expect("write");
    let replay = coordops()
        .args(["test", "--format", "json", "--playbook"])
        .arg(&changed)
        .args(["--replay", "tests/fixtures/replay/audit.jsonl"])
        .arg("tests/fixtures/replay/release.jsonl")
        .output()
        .expect("runs");
    let replayed: serde_json::Value = serde_json::from_slice(&replay.stdout).expect("JSON");
    assert_eq!(replayed["totals"]["failed"], 1, "{replayed}");
    for doc in [&doc, &replayed] {
        let errors: Vec<String> = validator
            .iter_errors(doc)
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }
}

#[test]
fn github_coverage_adds_a_notice_per_uncovered_line() {
    coordops()
        .args(["test", COVERAGE, "--coverage", "--format", "github"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "::notice file=tests/fixtures/testing/coverage.ops,line=25,title=not covered by tests::\
             not exercised: gate ship#1: passed with failures, gate ship#1: failed\n",
        ))
        .stdout(predicate::str::contains("coverage: 80.0% (16 of 20 items)"));
}
