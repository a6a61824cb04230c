//! Where a real run's report goes: an `--output` that cannot be written is
//! refused before any agent starts, and a report that could not be written
//! at the end still leaves the status line and the way to rebuild it.

use std::path::Path;

use tempfile::TempDir;

use crate::support::{self, dir_with};

const PLAYBOOK: &str = r#"coordinator T "Report output" {
  reports_to ORCHESTRATOR
}

agent A "Does real work" {
  task go { timeout 30s }
}

signal T:GO "Go" {}

route T:GO => A.go()
"#;

/// An agent that records that it ran, removes `$DOOMED` (the report's
/// folder) and succeeds.
const AGENT: &str = "#!/bin/sh\ncat >/dev/null\necho ran > \"$MARK\"\nrm -rf \"$DOOMED\"\n\
                     echo '{\"status\":\"success\"}'\n";

/// A folder with the playbook, the agent and a backends file wiring it up.
fn project() -> TempDir {
    let dir = dir_with(&[("p.ops", PLAYBOOK), ("agent.sh", AGENT)]);
    let agent = dir.path().join("agent.sh");
    make_executable(&agent);
    let backends = format!(
        "[agents.A]\ncommand = [\"./agent.sh\"]\nenv = {{ MARK = {:?}, DOOMED = {:?} }}\n",
        dir.path().join("ran").to_string_lossy(),
        dir.path().join("out").to_string_lossy(),
    );
    std::fs::write(dir.path().join("b.toml"), backends).expect("backends file");
    dir
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

fn run(dir: &TempDir, output: &str) -> std::process::Output {
    support::coordops()
        .current_dir(dir.path())
        .args(["run", "p.ops", "--signal", "T:GO", "--backends", "b.toml"])
        .args(["--journal", "run.jsonl", "--output", output])
        .output()
        .expect("coordops runs")
}

#[test]
fn an_output_in_a_missing_folder_is_refused_before_any_agent_starts() {
    let dir = project();
    let out = run(&dir, "missing/report.md");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot write the report to `missing/report.md`")
            && stderr.contains("nothing was started"),
        "{stderr}"
    );
    assert!(!dir.path().join("ran").exists(), "the agent did not run");
    assert!(
        !dir.path().join("run.jsonl").exists(),
        "no run was journalled"
    );
}

#[test]
fn a_directory_as_output_is_refused_before_any_agent_starts() {
    let dir = project();
    std::fs::create_dir(dir.path().join("out")).expect("mkdir");
    let out = run(&dir, "out");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("nothing was started"), "{stderr}");
    assert!(!dir.path().join("ran").exists(), "the agent did not run");
}

#[test]
fn a_report_that_cannot_be_written_at_the_end_still_says_how_the_run_ended() {
    let dir = project();
    std::fs::create_dir(dir.path().join("out")).expect("mkdir");
    // The agent removes the report's folder while the run goes on.
    let out = run(&dir, "out/report.md");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(dir.path().join("ran").exists(), "the agent ran: {stderr}");
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("error: cannot write `out/report.md`"),
        "{stderr}"
    );
    assert!(
        stderr.contains(": COMPLETE in ")
            && stderr.contains("report not written, journal run.jsonl"),
        "the status line says how the run ended and where its journal is: {stderr}"
    );
    assert!(
        stderr.contains("coordops report run.jsonl --output FILE"),
        "{stderr}"
    );
    let rebuilt = support::stdout_of(
        support::coordops()
            .current_dir(dir.path())
            .args(["report", "run.jsonl"]),
    );
    assert!(rebuilt.contains("**Status:** COMPLETE"), "{rebuilt}");
}
