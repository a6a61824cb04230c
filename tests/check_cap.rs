//! `coordops check` shows at most `MAX_SHOWN_PER_FILE` diagnostics per file
//! in the human format; counts, exit codes and the machine formats cover all.

use crate::support::coordops;
use coordops::diagnostics::MAX_SHOWN_PER_FILE;
use coordops::testing::generate::unused_agents;

const HIDDEN: usize = 7;

/// Runs `coordops check ARGS… FILE` on a playbook with `MAX + HIDDEN`
/// unused-agent warnings; returns (exit code, stdout, stderr).
fn check(args: &[&str]) -> (Option<i32>, String, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("many.ops");
    std::fs::write(&path, unused_agents(MAX_SHOWN_PER_FILE + HIDDEN)).expect("write");
    let out = coordops()
        .current_dir(dir.path())
        .arg("check")
        .args(args)
        .arg("many.ops")
        .output()
        .expect("runs");
    (
        out.status.code(),
        String::from_utf8(out.stdout).expect("UTF-8"),
        String::from_utf8(out.stderr).expect("UTF-8"),
    )
}

#[test]
fn human_output_shows_the_cap_then_one_line_for_the_rest() {
    let (code, _, stderr) = check(&["--deny-warnings"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(
        stderr.matches("[many.ops:").count(),
        MAX_SHOWN_PER_FILE,
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "… and {HIDDEN} more in many.ops (0 errors, {HIDDEN} warnings; `--format json` lists them all)"
        )),
        "{stderr}"
    );
    let total = MAX_SHOWN_PER_FILE + HIDDEN;
    assert!(
        stderr.contains(&format!(
            "failed: 1 file checked, 0 errors, {total} warnings (warnings denied)"
        )),
        "{stderr}"
    );
}

#[test]
fn json_lists_every_diagnostic() {
    let (code, stdout, _) = check(&["--format", "json"]);
    assert_eq!(code, Some(0));
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    let listed = report["diagnostics"].as_array().map_or(0, Vec::len);
    assert_eq!(listed, MAX_SHOWN_PER_FILE + HIDDEN);
}
