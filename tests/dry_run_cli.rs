//! The real binary's `dry-run` and `routes`: exit codes, usage errors,
//! report formats, `--output`, byte-stable output, and route explanations.

use std::path::PathBuf;

use crate::support::{coordops, root};
use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use tempfile::TempDir;

const PLAYBOOK: &str = "playbooks/coord_ops.ops";

fn scenario(name: &str) -> String {
    format!("tests/fixtures/scenarios/{name}.toml")
}

/// `coordops dry-run playbooks/coord_ops.ops --signal SIGNAL ARGS…`
fn dry_run(signal: &str, args: &[&str]) -> Command {
    let mut cmd = coordops();
    cmd.args(["dry-run", PLAYBOOK, "--signal", signal])
        .args(args);
    cmd
}

/// Writes a scenario to a temporary file.
fn scenario_file(dir: &TempDir, text: &str) -> PathBuf {
    let path = dir.path().join("scenario.toml");
    std::fs::write(&path, text).expect("write scenario");
    path
}

fn stdout_of(cmd: &mut Command) -> String {
    let output = cmd.output().expect("runs");
    String::from_utf8(output.stdout).expect("UTF-8")
}

// ── exit codes of finished runs ─────────────────────────────────────────────

#[test]
fn a_complete_run_exits_0() {
    dry_run("OPS:COMMIT", &[])
        .assert()
        .code(0)
        .stderr("")
        .stdout(
            predicate::str::starts_with("## Ops Result: OPS:COMMIT\n")
                .and(predicate::str::contains("**Status:** COMPLETE\n"))
                .and(predicate::str::contains("## Ops Quality Report"))
                .and(predicate::str::contains("## Run Log")),
        );
}

#[test]
fn an_ignored_signal_exits_0() {
    dry_run("SCHED:SWAP", &[])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("**Status:** IGNORED\n"));
}

#[test]
fn a_partial_run_exits_3() {
    coordops()
        .args([
            "dry-run",
            "tests/fixtures/runtime/gates.ops",
            "--signal",
            "GATE:PARTIAL",
            "--scenario",
            "tests/fixtures/runtime/gates_partial.toml",
        ])
        .assert()
        .code(3)
        .stdout(
            predicate::str::contains("**Status:** PARTIAL\n")
                .and(predicate::str::contains("PASSED (2/3 = 66.7% ≥ 60%)"))
                .and(predicate::str::contains(
                    "### Partial Success\n- c failed: unavailable: skill index unreachable\n",
                )),
        );
}

#[test]
fn failed_escalated_and_aborted_runs_exit_4() {
    let cases: [(&str, &[&str], &str); 3] = [
        (
            "OPS:RELEASE",
            &["--set", "version=1.4.0"],
            "release_not_ready",
        ),
        ("OPS:AUDIT", &[], "audit_one_agent_fails"),
        ("OPS:COMMIT", &[], "abort_mid_pipeline"),
    ];
    for ((signal, sets, name), status) in cases.into_iter().zip(["FAILED", "ESCALATED", "ABORTED"])
    {
        dry_run(signal, sets)
            .args(["--scenario", &scenario(name)])
            .assert()
            .code(4)
            .stdout(predicate::str::contains(format!("**Status:** {status}\n")));
    }
}

// ── refusing to run ─────────────────────────────────────────────────────────

#[test]
fn a_playbook_with_errors_exits_1_without_running() {
    for command in ["dry-run", "routes"] {
        coordops()
            .args([
                "--color",
                "never",
                command,
                "tests/fixtures/runtime/broken.ops",
                "--signal",
                "RUN:GO",
            ])
            .assert()
            .code(1)
            .stdout("")
            .stderr(predicate::str::contains("ops::check::undefined_agent").and(
                predicate::str::contains(
                    "has 1 error(s); fix them before running it (`coordops check`)",
                ),
            ));
    }
}

#[test]
fn a_set_without_equals_exits_2() {
    dry_run("OPS:COMMIT", &["--set", "simple"])
        .assert()
        .code(2)
        .stdout("")
        .stderr("error: `--set simple` must look like `--set key=value`\n");
}

#[test]
fn an_unknown_signal_field_exits_2() {
    dry_run("OPS:COMMIT", &["--set", "colour=red"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains(
            "signal `OPS:COMMIT` has no field `colour`: its fields are `files`, `branch`, `message`, `user_facing`, `simple`",
        ));
}

#[test]
fn a_badly_typed_field_exits_2() {
    dry_run("OPS:COMMIT", &["--set", "simple=yes"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "`simple` is declared `bool`, but `yes` is not `true` or `false`",
        ));
    dry_run("OPS:PR_STATUS", &["--set", "pr_number=forty-two"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "`pr_number` is declared `int`, but `forty-two` is not an integer",
        ));
}

#[test]
fn a_missing_required_field_exits_2() {
    dry_run("OPS:RELEASE", &[])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains(
            "signal `OPS:RELEASE` needs `version` (string): pass `--set version=…`",
        ));
}

#[test]
fn bad_scenarios_exit_2() {
    let cases = [
        ("this is = = not toml\n", "is invalid: TOML parse error"),
        (
            "[task.\"RELEASE_MANAGER.deploy\"]\nlatency = \"1s\"\n",
            "names what the playbook does not declare: task `RELEASE_MANAGER.deploy`",
        ),
        (
            "[approval]\nship_it = \"granted\"\n",
            "names what the playbook does not declare: approval `ship_it`",
        ),
        (
            "[task.push]\nlatency = \"1s\"\n",
            "task `push`: name tasks as `AGENT.task`",
        ),
        (
            "[task.\"RELEASE_MANAGER.push\"]\nlatency = \"soon\"\n",
            "task `RELEASE_MANAGER.push`: latency `soon` is not a duration such as `30s`",
        ),
        (
            "[task.\"RELEASE_MANAGER.push\"]\nattempts = [{ latency = \"1x\" }]\n",
            "latency `1x` is not a duration",
        ),
        (
            "[task.\"RELEASE_MANAGER.push\"]\noutcome = \"maybe\"\n",
            "outcome `maybe` must be success, failure or timeout",
        ),
        (
            "[task.\"RELEASE_MANAGER.push\"]\nlatencyy = \"1s\"\n",
            "unknown field `latencyy`",
        ),
        ("[approval]\nrelease_approval = \"perhaps\"\n", "is invalid"),
        (
            "interrupt_after = \"later\"\n",
            "interrupt_after `later` is not a duration such as `30s`",
        ),
    ];
    for (text, message) in cases {
        let dir = TempDir::new().unwrap();
        let path = scenario_file(&dir, text);
        dry_run("OPS:COMMIT", &["--scenario", path.to_str().unwrap()])
            .assert()
            .code(2)
            .stdout("")
            .stderr(
                predicate::str::contains(message).and(predicate::str::contains(format!(
                    "scenario `{}`",
                    path.display()
                ))),
            );
    }
}

#[test]
fn missing_files_exit_2() {
    let dir = TempDir::new().unwrap();
    coordops()
        .args(["--color", "never", "dry-run"])
        .arg(dir.path().join("nope.ops"))
        .args(["--signal", "OPS:COMMIT"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("ops::io::not_found"));
    let missing = dir.path().join("nope.toml");
    dry_run("OPS:COMMIT", &["--scenario", missing.to_str().unwrap()])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("error: cannot read scenario"));
}

#[test]
fn usage_errors_exit_2() {
    coordops()
        .args(["dry-run", PLAYBOOK])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--signal <SIGNAL>"));
    dry_run("OPS:COMMIT", &["--now", "yesterday"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "`--now yesterday` is not an RFC 3339 time",
        ));
    dry_run("OPS:COMMIT", &["--format", "yaml"])
        .assert()
        .code(2);
}

// ── formats and output ──────────────────────────────────────────────────────

#[test]
fn format_json_is_the_run_result() {
    let stdout = stdout_of(&mut dry_run(
        "OPS:COMMIT",
        &[
            "--format",
            "json",
            "--scenario",
            &scenario("push_rejected_then_fetch"),
        ],
    ));
    let json: Value = serde_json::from_str(&stdout).expect("valid JSON");
    assert!(stdout.ends_with("}\n"));
    assert_eq!(json["run_id"], "dry-run-ops-commit");
    assert_eq!(json["coordinator"], "COORD_OPS");
    assert_eq!(json["signal"], "OPS:COMMIT");
    assert_eq!(json["status"], "COMPLETE");
    assert_eq!(json["started_at"], "2026-01-01T00:00:00Z");
    assert_eq!(json["duration_ms"], 25_000);
    assert_eq!(json["route"]["label"], "commit");
    // The commit on the branch after the fetch and rebase, not the local one.
    assert_eq!(json["payload"]["commit"], "def456");
    let steps = json["steps"].as_array().unwrap();
    assert_eq!(steps[1]["name"], "push");
    assert_eq!(steps[1]["attempts"].as_array().unwrap().len(), 2);
    assert_eq!(steps[1]["attempts"][0]["kind"], "rejected");
    assert_eq!(steps[2]["kind"], "recovery");
    assert!(json["events"].as_array().unwrap().len() > 5);
    assert!(json["escalation"].is_null());
    assert_eq!(json["gates"], serde_json::json!([]));
}

#[test]
fn format_json_of_an_escalation() {
    let stdout = stdout_of(&mut dry_run(
        "OPS:AUDIT",
        &[
            "--format",
            "json",
            "--scenario",
            &scenario("audit_one_agent_fails"),
        ],
    ));
    let json: Value = serde_json::from_str(&stdout).expect("valid JSON");
    assert_eq!(json["status"], "ESCALATED");
    assert_eq!(json["escalation"]["kind"], "QualityGate");
    assert_eq!(json["escalation"]["reports_to"], "ORCHESTRATOR");
    assert_eq!(json["gates"][0]["successes"], 2);
    assert_eq!(json["gates"][0]["counted"], 3);
    assert_eq!(json["gates"][0]["passed"], false);
}

#[test]
fn now_moves_every_timestamp() {
    let stdout = stdout_of(&mut dry_run(
        "OPS:RELEASE",
        &[
            "--set",
            "version=1.4.0",
            "--format",
            "json",
            "--now",
            "2030-06-01T12:00:00Z",
            "--scenario",
            &scenario("release_approval_never"),
        ],
    ));
    let json: Value = serde_json::from_str(&stdout).expect("valid JSON");
    assert_eq!(json["started_at"], "2030-06-01T12:00:00Z");
    assert_eq!(json["escalation"]["timestamp"], "2030-06-02T12:00:00Z");
}

#[test]
fn output_writes_the_report_to_a_file() {
    let dir = TempDir::new().unwrap();
    for format in ["md", "json"] {
        let path = dir.path().join(format!("run.{format}"));
        let args = [
            "--scenario",
            &scenario("commit_times_out_twice"),
            "--format",
            format,
        ];
        dry_run("OPS:COMMIT", &args)
            .arg("--output")
            .arg(&path)
            .assert()
            .code(0)
            .stdout("")
            .stderr("");
        let written = std::fs::read_to_string(&path).expect("report written");
        assert_eq!(written, stdout_of(&mut dry_run("OPS:COMMIT", &args)));
    }
    // Only the two reports: no temporary file is left behind.
    let mut files: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, ["run.json", "run.md"]);
}

#[test]
fn output_replaces_an_existing_file_whole() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("run.md");
    std::fs::write(&path, "x".repeat(100_000)).unwrap();
    dry_run("OPS:AUDIT", &[])
        .arg("--output")
        .arg(&path)
        .assert()
        .code(0);
    let written = std::fs::read_to_string(&path).unwrap();
    assert!(written.starts_with("## Ops Result: OPS:AUDIT\n"));
    assert!(!written.contains('x'.to_string().repeat(10).as_str()));
}

#[test]
fn output_is_not_touched_when_the_run_cannot_start_or_write() {
    let dir = TempDir::new().unwrap();
    // A bad scenario: nothing runs and nothing is written.
    let bad = scenario_file(
        &dir,
        "[task.\"RELEASE_MANAGER.push\"]\nlatency = \"soon\"\n",
    );
    let fresh = dir.path().join("fresh.md");
    dry_run("OPS:COMMIT", &["--scenario", bad.to_str().unwrap()])
        .arg("--output")
        .arg(&fresh)
        .assert()
        .code(2);
    assert!(!fresh.exists());
    // An existing report survives a failed start.
    let existing = dir.path().join("existing.md");
    std::fs::write(&existing, "previous report\n").unwrap();
    dry_run("OPS:RELEASE", &[])
        .arg("--output")
        .arg(&existing)
        .assert()
        .code(2);
    assert_eq!(
        std::fs::read_to_string(&existing).unwrap(),
        "previous report\n"
    );
    // A folder that does not exist: exit 2, nothing partial anywhere.
    let nowhere = dir.path().join("missing").join("run.md");
    dry_run("OPS:COMMIT", &[])
        .arg("--output")
        .arg(&nowhere)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("error: cannot write"));
    assert!(!nowhere.exists());
    let mut files: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, ["existing.md", "scenario.toml"]);
}

#[test]
fn output_is_byte_stable_across_runs() {
    let cases: [(&str, &[&str]); 3] = [
        (
            "OPS:AUDIT",
            &[
                "--scenario",
                "tests/fixtures/scenarios/audit_failure_first.toml",
            ],
        ),
        (
            "OPS:COMMIT",
            &[
                "--scenario",
                "tests/fixtures/scenarios/push_rejected_then_fetch.toml",
            ],
        ),
        (
            "OPS:RELEASE",
            &[
                "--set",
                "version=1.4.0",
                "--scenario",
                "tests/fixtures/scenarios/release_approval_never.toml",
            ],
        ),
    ];
    for (signal, args) in cases {
        for format in ["md", "json"] {
            let first = dry_run(signal, args)
                .args(["--format", format])
                .output()
                .unwrap();
            let second = dry_run(signal, args)
                .args(["--format", format])
                .output()
                .unwrap();
            assert!(!first.stdout.is_empty());
            assert_eq!(first.stdout, second.stdout, "{signal} {format}");
            assert_eq!(first.status.code(), second.status.code());
        }
    }
}

#[test]
fn a_day_of_virtual_time_takes_no_real_time() {
    let started = std::time::Instant::now();
    dry_run(
        "OPS:RELEASE",
        &[
            "--set",
            "version=1.4.0",
            "--scenario",
            &scenario("release_approval_never"),
        ],
    )
    .assert()
    .code(4)
    .stdout(predicate::str::contains("**Duration:** 24h\n"));
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

// ── routes ──────────────────────────────────────────────────────────────────

#[test]
fn routes_prints_the_routing_table() {
    let assert = coordops()
        .args(["routes", PLAYBOOK])
        .assert()
        .code(0)
        .stderr("");
    let stdout = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0], ["#", "LABEL", "PATTERN", "WHEN", "TARGET"]);
    assert_eq!(
        rows[1],
        [
            "0",
            "quick_commit",
            "OPS:COMMIT",
            "signal.simple",
            "task",
            "RELEASE_MANAGER.commit"
        ]
    );
    assert_eq!(
        rows[3],
        ["2", "commit", "OPS:COMMIT", "-", "workflow", "commit_pr"]
    );
    assert_eq!(rows.len(), 13, "a header and 12 routes");
    assert_eq!(rows[12], ["11", "other_domains", "*", "-", "ignore"]);
    insta::assert_snapshot!("routes_table", stdout);
}

#[test]
fn routes_explains_a_matching_guard() {
    coordops()
        .args([
            "routes",
            PLAYBOOK,
            "--signal",
            "OPS:COMMIT",
            "--set",
            "simple=true",
        ])
        .assert()
        .code(0)
        .stdout(
            "signal OPS:COMMIT:\n  \
             ✓ #0 quick_commit: OPS:COMMIT => task RELEASE_MANAGER.commit — matched\n\
             routed by #0 to task RELEASE_MANAGER.commit\n",
        );
}

#[test]
fn routes_explains_a_false_guard() {
    coordops()
        .args(["routes", PLAYBOOK, "--signal", "OPS:COMMIT", "--set", "simple=false"])
        .assert()
        .code(0)
        .stdout(
            "signal OPS:COMMIT:\n  \
             ✗ #0 quick_commit: OPS:COMMIT => task RELEASE_MANAGER.commit — guard `signal.simple` is false\n  \
             ✗ #1 pr_status: OPS:PR_STATUS => task RELEASE_MANAGER.pr_status — pattern `OPS:PR_STATUS` does not match `OPS:COMMIT`\n  \
             ✓ #2 commit: OPS:COMMIT => workflow commit_pr — matched\n\
             routed by #2 to workflow commit_pr\n",
        );
    // Without --set, the declared default (false) applies.
    coordops()
        .args(["routes", PLAYBOOK, "--signal", "OPS:COMMIT"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "quick_commit: OPS:COMMIT => task RELEASE_MANAGER.commit — guard `signal.simple` is false",
        ));
}

#[test]
fn routes_explains_other_domains_and_no_match() {
    coordops()
        .args(["routes", PLAYBOOK, "--signal", "SCHED:SWAP"])
        .assert()
        .code(0)
        .stdout(
            predicate::str::contains("✓ #11 other_domains: * => ignore — matched\n")
                .and(predicate::str::ends_with("routed by #11 to ignore\n")),
        );
    coordops()
        .args([
            "routes",
            "tests/fixtures/runtime/routing.ops",
            "--signal",
            "OPS:OTHER",
        ])
        .assert()
        .code(0)
        .stdout(
            predicate::str::contains(
                "✗ #6 undeclared: OPS:* => workflow full — guard `signal.urgent == true` is unknown\n",
            )
            .and(predicate::str::ends_with("no route matched: IGNORED\n")),
        );
}

#[test]
fn routes_rejects_bad_sets() {
    coordops()
        .args([
            "routes",
            PLAYBOOK,
            "--signal",
            "OPS:COMMIT",
            "--set",
            "simple=maybe",
        ])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("`simple` is declared `bool`"));
    coordops()
        .args(["routes", PLAYBOOK, "--signal", "OPS:COMMIT", "--set", "=x"])
        .assert()
        .code(2);
}

#[test]
fn dry_run_reports_every_signal_of_the_playbook_with_its_exit_code() {
    let root = root();
    let cases: [(&str, &[&str], i32); 11] = [
        ("OPS:COMMIT", &[], 0),
        ("OPS:COMMIT", &["--set", "simple=true"], 0),
        ("OPS:PR", &[], 0),
        ("OPS:RELEASE", &["--set", "version=1.4.0"], 0),
        ("OPS:DOCS", &[], 0),
        ("OPS:SKILL", &["--set", "skill_name=pre-flight"], 0),
        ("OPS:AGENT", &["--set", "agent_name=SECURITY_REVIEWER"], 0),
        ("OPS:AUDIT", &[], 0),
        ("OPS:SYNTHESIZE", &[], 0),
        ("OPS:PR_STATUS", &["--set", "pr_number=42"], 0),
        ("OPS:DEPLOY", &[], 4),
    ];
    assert!(root.join(PLAYBOOK).exists());
    for (signal, args, code) in cases {
        dry_run(signal, args)
            .assert()
            .code(code)
            .stdout(predicate::str::starts_with(format!(
                "## Ops Result: {signal}\n"
            )));
    }
}

// ── where the report goes ───────────────────────────────────────────────────

#[cfg(unix)]
#[test]
fn output_to_dev_null_writes_to_the_device_and_keeps_it() {
    use std::os::unix::fs::FileTypeExt;
    dry_run("OPS:COMMIT", &["--output", "/dev/null"])
        .assert()
        .code(0);
    let meta = std::fs::metadata("/dev/null").expect("/dev/null exists");
    assert!(
        meta.file_type().is_char_device(),
        "`--output /dev/null` must not replace the device with a file"
    );
}
