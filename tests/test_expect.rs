//! The `expect` forms of `test` blocks on the real binary: each family
//! passes on `expectations.ops` and fails, at its own line with expected
//! and actual, on `expectations_failing.ops`; unknown names stop `check`.

use predicates::prelude::*;

use crate::support::{coordops, root};
use coordops::diagnostics::{codes, render_all, RenderOptions};
use coordops::source::SourceFile;
use coordops::{syntax, testing};

const PASSING: &str = "tests/fixtures/testing/expectations.ops";
const FAILING: &str = "tests/fixtures/testing/expectations_failing.ops";
const NAMES: &str = "tests/fixtures/testing/expect_names.ops";

fn reports(path: &str) -> Vec<testing::TestReport> {
    let text = std::fs::read_to_string(root().join(path)).expect("fixture loads");
    let file = SourceFile::new(path, text);
    let playbook = syntax::parse(&file).playbook.expect("fixture parses");
    testing::run_tests(&playbook, &file, None)
}

#[test]
fn every_expectation_family_holds_on_the_passing_fixture() {
    coordops()
        .args(["test", PASSING])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("test result: 3 passed, 0 failed"));
    coordops().args(["check", PASSING]).assert().code(0);
}

#[test]
fn each_family_fails_at_its_own_line_with_expected_and_actual() {
    let reports = reports(FAILING);
    assert_eq!(reports.len(), 2);
    let failures: Vec<_> = reports.iter().flat_map(|r| &r.failures).collect();
    let mismatches: Vec<_> = reports.iter().flat_map(|r| &r.mismatches).collect();
    // Every `expect` line of the fixture fails, once.
    assert_eq!(failures.len(), 13, "{mismatches:#?}");
    assert!(failures.iter().all(|d| d.code == codes::TEST_FAILED));
    let pairs: Vec<(&str, &str)> = mismatches
        .iter()
        .map(|m| (m.expected.as_str(), m.actual.as_str()))
        .collect();
    for pair in [
        (
            "payload.version == \"1.5.0\"",
            "payload.version = \"1.4.0\"",
        ),
        (
            "step ship.2[1] failure(rejected)",
            "step ship.2[1] failure(invalid): broken skill",
        ),
        ("step build attempts 3", "step build attempts 2"),
        (
            "step build attempts at 0s, 10s",
            "step build attempts at 0s, 15s",
        ),
        ("gate checks 3 of 3", "gate checks passed 2 of 3"),
        ("approval ship_ok denied", "approval ship_ok granted"),
        ("duration <= 30s", "duration 35s"),
        (
            "escalation QualityGate \"Gate checks failed\"",
            "escalation QualityGate \"Gate probes failed: 0/1\"",
        ),
    ] {
        assert!(pairs.contains(&pair), "{pair:?} not in {pairs:#?}");
    }
    let rendered = render_all(
        &reports
            .iter()
            .flat_map(|r| r.failures.clone())
            .collect::<Vec<_>>(),
        RenderOptions {
            color: false,
            width: 100,
        },
    );
    insta::assert_snapshot!(rendered);
}

#[test]
fn json_and_junit_carry_expected_and_actual_of_the_new_forms() {
    let out = coordops()
        .args(["test", "--format", "json", FAILING])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let doc: serde_json::Value = serde_json::from_slice(&out).expect("one JSON document");
    let failures = &doc["playbooks"][0]["tests"][0]["failures"];
    let events = failures
        .as_array()
        .and_then(|f| {
            f.iter()
                .find(|f| f["expected"] == "events [SPAWN build, COMPLETE, RETRY build]")
        })
        .expect("the events failure");
    assert!(
        events["actual"]
            .as_str()
            .is_some_and(|a| a.starts_with("events [ROUTE, SPAWN build, RETRY build")),
        "{events}"
    );
    assert_eq!(events["line"], 43);
    coordops()
        .args(["test", "--format", "junit", FAILING])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "expected: gate probes decided at 2 of 2&#10;actual:   gate probes failed 0 of 1, decided at 1 of 2, critical core failed",
        ));
}

#[test]
fn unknown_names_in_expectations_stop_check_and_test() {
    let assert = coordops()
        .args(["--color", "never", "check", NAMES])
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    for needle in [
        "there is no step `biuld`",
        "workflow `ship` has 2 task calls, so no step 9",
        "an expectation names an element by its index",
        "only a failure has a kind, not `success`",
        "there is no approval `shipok`",
        "`maybe` is not a valid approval outcome",
        "there is no parallel group `chekcs`",
        "`won` is not a valid gate verdict",
        "3 of 2: more successes than branches counted",
        "`SPWAN` is not a valid event kind",
        "there is no step `nobody`",
        "invalid regex",
    ] {
        assert!(stderr.contains(needle), "{needle} not in\n{stderr}");
    }
    assert!(stderr.contains(codes::CHECK_UNDEFINED_STEP));
    coordops()
        .args(["test", NAMES])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "has errors, its tests did not run",
        ));
}

/// docs/language.md §13 shows the passing fixture, as it is.
#[test]
fn the_language_docs_show_the_passing_fixture() {
    let docs = std::fs::read_to_string(root().join("docs/language.md")).expect("docs");
    let marker =
        "Every family, on one playbook (`tests/fixtures/testing/expectations.ops`):\n\n```ops\n";
    let start = docs.find(marker).expect("§13 shows every family") + marker.len();
    let shown = &docs[start..start + docs[start..].find("```").expect("closed")];
    let fixture = std::fs::read_to_string(root().join(PASSING)).expect("fixture");
    let body = fixture.split_once('\n').expect("a comment line").1;
    assert_eq!(shown, body);
}
