//! Targeted scenarios: a scenario file's `[step."TARGET"]` entries and a
//! test's `given step` lines script one step, or some `parallel for`
//! elements, apart from the other calls of the same `AGENT.task`.
//! Precedence: element index > element argument > step > task > default.

use std::path::Path;

use predicates::prelude::*;

use crate::support::{coordops, dry_run_json, root};
use coordops::ast::Playbook;
use coordops::diagnostics::{codes, render_all, RenderOptions};
use coordops::runtime::result::{RunResult, StepOutcome};
use coordops::runtime::simulate;
use coordops::runtime::simulated::Scenario;
use coordops::source::SourceFile;
use coordops::{analysis, testing};

const PLAYBOOK: &str = "tests/fixtures/targeted/targeted.ops";

fn load(path: &str) -> SourceFile {
    let text = std::fs::read_to_string(root().join(path)).expect("fixture loads");
    SourceFile::new(path, text)
}

/// Runs OPS:SHIP of the fixture under `scenario` (TOML); the result and the
/// scenario's unused `step` entries.
fn ship(scenario: &str) -> (RunResult, Vec<(String, Option<String>)>) {
    let file = load(PLAYBOOK);
    let checked = analysis::parse_and_check(&file);
    assert!(checked.diagnostics.is_empty(), "{:?}", checked.diagnostics);
    let playbook = checked.playbook.expect("parses");
    run_with(&file, &playbook, "OPS:SHIP", scenario, "targeted")
}

/// The failure kind (or `success`) of the step with `id`.
fn kind_of(result: &RunResult, id: &str) -> String {
    let step = result
        .steps
        .iter()
        .find(|s| s.id.as_deref() == Some(id))
        .unwrap_or_else(|| panic!("no step {id}"));
    match &step.outcome {
        StepOutcome::Failure { kind, .. } => kind.clone(),
        other => other.word().to_string(),
    }
}

#[test]
fn steps_carry_their_position_and_element_as_id() {
    let (result, _) = ship("");
    let ids: Vec<(&str, &str)> = result
        .steps
        .iter()
        .map(|s| (s.id.as_deref().unwrap_or("-"), s.name.as_str()))
        .collect();
    let mut ids = ids;
    ids.sort();
    assert_eq!(
        ids,
        [
            ("ship.1", "build"),
            ("ship.2", "RELEASE_MANAGER.build"),
            ("ship.3[0]", "TOOLSMITH.check"),
            ("ship.3[1]", "TOOLSMITH.check"),
            ("ship.3[2]", "TOOLSMITH.check"),
            ("ship.3[3]", "TOOLSMITH.check"),
        ]
    );
}

#[test]
fn element_index_beats_argument_beats_step_beats_task_beats_default() {
    let (result, unused) = ship(
        r#"
[task."TOOLSMITH.check"]
outcome = "failure"
kind = "task"

[task."RELEASE_MANAGER.build"]
outcome = "failure"
kind = "task"

[step."ship.build"]
outcome = "success"

[step."ship.2"]
outcome = "success"

[step."ship.3"]
outcome = "failure"
kind = "step"

[step."ship.3[name=broken-skill]"]
outcome = "failure"
kind = "argument"

[step."ship.3[name=format]"]
outcome = "failure"
kind = "shadowed"

[step."ship.3[2]"]
outcome = "failure"
kind = "index"
"#,
    );
    assert_eq!(kind_of(&result, "ship.1"), "success", "step beats task");
    assert_eq!(kind_of(&result, "ship.3[0]"), "step", "step beats task");
    assert_eq!(
        kind_of(&result, "ship.3[1]"),
        "argument",
        "argument beats step"
    );
    assert_eq!(
        kind_of(&result, "ship.3[2]"),
        "index",
        "index beats argument"
    );
    assert_eq!(kind_of(&result, "ship.3[3]"), "step");
    assert_eq!(
        unused,
        [(
            "ship.3[name=format]".to_string(),
            Some("ship.3[2]".to_string())
        )]
    );
}

#[test]
fn without_a_step_entry_the_task_and_then_the_default_apply() {
    let (result, unused) =
        ship("[task.\"TOOLSMITH.check\"]\noutcome = \"failure\"\nkind = \"task\"\n");
    assert_eq!(kind_of(&result, "ship.1"), "success");
    assert_eq!(kind_of(&result, "ship.3[1]"), "task");
    assert!(unused.is_empty());
}

#[test]
fn a_step_script_leaves_the_other_calls_of_its_task_alone() {
    // Only the unbound build is scripted; the bound one, the same task, is not.
    let (result, _) = ship(
        "[step.\"ship.2\"]\nattempts = [{ outcome = \"failure\" }, { outcome = \"success\" }]\n",
    );
    let attempts = |id: &str| {
        result
            .steps
            .iter()
            .find(|s| s.id.as_deref() == Some(id))
            .map(|s| s.attempts.len())
    };
    assert_eq!(kind_of(&result, "ship.1"), "success");
    assert_eq!(attempts("ship.1"), Some(1));
    // `retry 0`: its first scripted attempt fails the step.
    assert_eq!(kind_of(&result, "ship.2"), "error");
    assert_eq!(attempts("ship.2"), Some(1));
}

#[test]
fn an_argument_matches_a_string_unquoted_or_quoted() {
    for target in ["ship.3[name=lint]", "ship.3[name = \\\"lint\\\"]"] {
        let (result, unused) = ship(&format!("[step.\"{target}\"]\noutcome = \"failure\"\n"));
        assert_eq!(kind_of(&result, "ship.3[0]"), "error", "{target}");
        assert_eq!(kind_of(&result, "ship.3[1]"), "success", "{target}");
        assert!(unused.is_empty());
    }
}

/// Runs OPS:X of an inline playbook under `scenario`.
fn inline(playbook: &str, scenario: &str) -> (RunResult, Vec<(String, Option<String>)>) {
    let file = SourceFile::new("inline.ops", playbook.to_string());
    let playbook = coordops::syntax::parse(&file).playbook.expect("parses");
    run_with(&file, &playbook, "OPS:X", scenario, "inline")
}

/// Dry-runs `signal` under `scenario`: the result, and the scenario's
/// targeted entries no attempt used.
fn run_with(
    file: &SourceFile,
    playbook: &Playbook,
    signal: &str,
    scenario: &str,
    run_id: &str,
) -> (RunResult, Vec<(String, Option<String>)>) {
    let scenario = Scenario::parse(scenario).expect("scenario parses");
    let request = coordops::testing::harness::request(file, playbook, signal, &[], run_id)
        .unwrap_or_else(|e| panic!("{e}"));
    let result = simulate(request, scenario.clone(), None, |_| {}).expect("runs");
    (result, scenario.unmatched())
}

#[test]
fn numbers_match_by_their_text_and_nested_elements_by_their_index_path() {
    let playbook = "signal OPS:X\nroute OPS:X => w\n\
        agent A { task t { retry 0 } }\n\
        workflow w {\n  parallel for row in [[1, 2], [3, 4]] gate 0% {\n    \
        parallel for n in row gate 0% {\n      A.t(n: n)\n    }\n  }\n  complete\n}\n";
    let (result, unused) = inline(
        playbook,
        "[step.\"w.1[n=3]\"]\noutcome = \"failure\"\nkind = \"three\"\n\n\
         [step.\"w.1[0.1]\"]\noutcome = \"failure\"\nkind = \"second\"\n",
    );
    assert!(unused.is_empty(), "{unused:?}");
    assert_eq!(kind_of(&result, "w.1[0.0]"), "success");
    assert_eq!(kind_of(&result, "w.1[0.1]"), "second");
    assert_eq!(kind_of(&result, "w.1[1.0]"), "three");
    assert_eq!(kind_of(&result, "w.1[1.1]"), "success");
}

#[test]
fn two_matching_arguments_the_target_that_sorts_first_wins() {
    let playbook = "signal OPS:X\nroute OPS:X => w\n\
        agent A { task t { retry 0 } }\n\
        workflow w {\n  parallel for n in [\"a\"] gate 0% {\n    A.t(n: n, m: n)\n  }\n  complete\n}\n";
    let (result, unused) = inline(
        playbook,
        "[step.\"w.1[n=a]\"]\noutcome = \"failure\"\nkind = \"n\"\n\n\
         [step.\"w.1[m=a]\"]\noutcome = \"failure\"\nkind = \"m\"\n",
    );
    assert_eq!(kind_of(&result, "w.1[0]"), "m");
    assert_eq!(
        unused,
        [("w.1[n=a]".to_string(), Some("w.1[m=a]".to_string()))]
    );
}

#[test]
fn recoveries_and_route_fast_paths_have_no_id() {
    let (result, _) = inline(
        "signal OPS:X { fast: bool = true }\n\
         route OPS:X when signal.fast => A.t()\nroute OPS:X => w\n\
         agent A { task t\n task fix }\n\
         workflow w {\n  A.t() on failure => A.fix() then retry\n  complete\n}\n",
        "",
    );
    assert_eq!(result.steps.len(), 1);
    assert_eq!(result.steps[0].id, None, "a route's direct call");
    let file = load("tests/fixtures/scenarios/push_rejected_then_fetch.toml");
    let json = dry_run_json(&[
        "playbooks/coord_ops.ops",
        "--signal",
        "OPS:COMMIT",
        "--scenario",
        file.name(),
    ]);
    let steps = json["steps"].as_array().expect("steps");
    let recovery = steps
        .iter()
        .find(|s| s["kind"] == "recovery")
        .expect("a recovery ran");
    assert!(recovery.get("id").is_none(), "{recovery}");
    assert!(steps.iter().filter(|s| s["kind"] == "task").all(|s| s["id"]
        .as_str()
        .is_some_and(|id| id.starts_with("commit_pr."))));
}

#[test]
fn the_language_reference_example_passes() {
    let doc = std::fs::read_to_string(root().join("docs/language.md")).expect("docs");
    let example = doc
        .split("```ops\n")
        .map(|b| b.split("```").next().unwrap_or_default())
        .find(|b| b.contains("given step ship.2"))
        .expect("the `given step` example");
    let file = SourceFile::new("example.ops", example.to_string());
    let checked = analysis::parse_and_check(&file);
    assert!(checked.diagnostics.is_empty(), "{:?}", checked.diagnostics);
    let playbook = checked.playbook.expect("parses");
    let reports = testing::run_tests(&playbook, &file, None);
    assert_eq!(reports.len(), 2);
    for r in &reports {
        assert!(r.passed && r.warnings.is_empty(), "{}", r.name);
    }
}

#[test]
fn given_step_tests_pass() {
    coordops()
        .args(["test", PLAYBOOK])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("test result: 4 passed, 0 failed"))
        .stderr(predicate::str::is_empty());
}

#[test]
fn an_unmatched_given_step_is_a_warning_at_its_line() {
    let file = load("tests/fixtures/targeted/unmatched.ops");
    let playbook = coordops::syntax::parse(&file).playbook.expect("parses");
    let reports = testing::run_tests(&playbook, &file, None);
    assert_eq!(reports.len(), 1);
    assert!(reports[0].passed, "a warning does not fail the test");
    assert!(reports[0]
        .warnings
        .iter()
        .all(|d| d.code == codes::RUN_UNMATCHED_TARGET && !d.is_error()));
    let rendered = render_all(
        &reports[0].warnings,
        RenderOptions {
            color: false,
            width: 80,
        },
    );
    insta::assert_snapshot!(rendered);
}

#[test]
fn the_explained_unmatched_target_example_warns_and_its_correction_does_not() {
    let text = coordops::explain::explanation(codes::RUN_UNMATCHED_TARGET).expect("explained");
    let example = |heading: &str| {
        let section = text
            .split(&format!("## {heading}\n"))
            .nth(1)
            .expect("section");
        let body = section.split("```ops\n").nth(1).expect("example");
        body.split("\n```").next().expect("closed").to_string()
    };
    for (heading, warnings) in [("Wrong", 1), ("Corrected", 0)] {
        let file = SourceFile::new("example.ops", example(heading));
        let checked = analysis::parse_and_check(&file);
        assert!(checked.diagnostics.is_empty(), "{heading} checks clean");
        let playbook = checked.playbook.expect("parses");
        let reports = testing::run_tests(&playbook, &file, None);
        // The typo scripts nothing, so the Wrong test's expectation fails too.
        assert_eq!(
            reports.iter().all(|r| r.passed),
            heading == "Corrected",
            "{heading}"
        );
        let found: usize = reports.iter().map(|r| r.warnings.len()).sum();
        assert_eq!(found, warnings, "{heading}");
    }
}

// ── scenario files on the real binary ───────────────────────────────────────

#[test]
fn a_scenario_step_fails_one_of_two_calls_of_the_same_task() {
    coordops()
        .args([
            "dry-run",
            "playbooks/coord_ops.ops",
            "--signal",
            "OPS:COMMIT",
            "--set",
            "user_facing=true",
            "--scenario",
            "tests/fixtures/scenarios/changelog_commit_rejected.toml",
            "--format",
            "json",
        ])
        .assert()
        .failure()
        .stdout(predicate::str::contains(r#""id": "commit_pr.4""#))
        .stdout(predicate::str::contains("CHANGELOG.md: merge conflict"))
        .stderr(predicate::str::contains("unmatched").not());
}

#[test]
fn the_readme_element_targets_script_the_fanout_example() {
    let file = scenario_file(
        "[step.\"full_audit.5[name=broken-skill]\"]\noutcome = \"failure\"\nkind = \"by_name\"\n\n\
         [step.\"full_audit.5[2]\"]\noutcome = \"failure\"\nkind = \"by_index\"\n",
    );
    let path = file.path().to_str().expect("UTF-8");
    let json = dry_run_json(&[
        "playbooks/examples/fanout.ops",
        "--signal",
        "OPS:AUDIT",
        "--set",
        "skills=[\"lint\", \"broken-skill\", \"docs\"]",
        "--scenario",
        path,
    ]);
    let kind = |id: &str| {
        json["steps"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["id"] == id))
            .map(|s| {
                s["outcome"]["kind"]
                    .as_str()
                    .unwrap_or("success")
                    .to_string()
            })
    };
    assert_eq!(kind("full_audit.5[0]").as_deref(), Some("success"));
    assert_eq!(kind("full_audit.5[1]").as_deref(), Some("by_name"));
    assert_eq!(kind("full_audit.5[2]").as_deref(), Some("by_index"));
}

fn scenario_file(text: &str) -> tempfile::NamedTempFile {
    let file = tempfile::Builder::new()
        .suffix(".toml")
        .tempfile()
        .expect("temp file");
    std::fs::write(file.path(), text).expect("write");
    file
}

fn dry_run_ship(scenario: &Path) -> assert_cmd::assert::Assert {
    coordops()
        .args(["dry-run", PLAYBOOK, "--signal", "OPS:SHIP", "--scenario"])
        .arg(scenario)
        .assert()
}

#[test]
fn every_name_in_a_scenario_step_gets_a_did_you_mean() {
    for (target, says) in [
        (
            "shp.build",
            "there is no workflow `shp` (did you mean `ship`?)",
        ),
        (
            "ship.biuld",
            "binds no step `biuld` (did you mean `ship.build`?)",
        ),
        ("ship.4", "workflow `ship` has 3 task calls, so no step 4"),
        (
            "ship.3[nme=lint]",
            "passes no argument `nme` (did you mean `name`?)",
        ),
        ("ship.1[0]", "is not inside a `parallel for`"),
        ("ship.3[0.1]", "its index has 1 part"),
        ("TOOLSMITH.check", "`TOOLSMITH` is an agent"),
        ("ship", "is not a step target"),
        ("ship.3[x]", "neither an element index"),
    ] {
        let file = scenario_file(&format!("[step.\"{target}\"]\noutcome = \"failure\"\n"));
        dry_run_ship(file.path())
            .code(2)
            .stderr(predicate::str::contains(codes::CHECK_UNDEFINED_STEP))
            .stderr(predicate::str::contains(says));
    }
}

#[test]
fn a_step_written_as_a_task_is_pointed_at_given_step() {
    let text = std::fs::read_to_string(root().join(PLAYBOOK))
        .expect("fixture")
        .replace("given step ship.2 fails", "given ship.build fails");
    let found = analysis::check_source(&SourceFile::new("t.ops", text));
    assert!(
        found.iter().any(|d| d.code == codes::CHECK_UNDEFINED_AGENT
            && d.message == "agent `ship` is not defined; `ship` is a workflow"
            && d.help.as_deref()
                == Some("to script one step of it, write `given step ship.build …`")),
        "{found:?}"
    );
}

#[test]
fn an_index_past_a_literal_list_is_out_of_range() {
    let file = load("tests/fixtures/check/undefined_step.ops");
    let found = analysis::check_source(&file);
    assert!(found.iter().any(|d| d.code == codes::CHECK_UNDEFINED_STEP
        && d.message
            .contains("index 2 is out of range: the list has 2 elements")));
}

#[test]
fn a_scenario_step_no_attempt_used_is_a_warning() {
    let file = scenario_file(
        "[step.\"ship.3[name=brokn-skill]\"]\noutcome = \"failure\"\n\n\
         [step.\"ship.3[9]\"]\noutcome = \"failure\"\n",
    );
    dry_run_ship(file.path())
        .code(0)
        .stderr(predicate::str::contains(format!(
            "warning[{}]",
            codes::RUN_UNMATCHED_TARGET
        )))
        .stderr(predicate::str::contains(
            "step `ship.3[name=brokn-skill]` scripted nothing: no attempt of the run matched it",
        ))
        .stderr(predicate::str::contains(
            "step `ship.3[9]` scripted nothing",
        ));
}
