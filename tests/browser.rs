//! The HTML report in a real headless Chromium (Debian's `chromium`, driven
//! over the DevTools protocol by `tests/browser/check_report.mjs` with Node's
//! own WebSocket): the COORD_OPS release dry run's page loads without
//! console errors and its timeline has one bar per attempt. Skipped, with
//! the reason, when chromium or node is missing, unless
//! `COORDOPS_REQUIRE_BROWSER=1` (set by `.ci/run`).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn found(program: &str) -> Option<String> {
    let out = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .ok()?;
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !path.is_empty()).then_some(path)
}

/// Whether `node` with `flags` has a global `WebSocket`.
fn has_websocket(node: &str, flags: &[&str]) -> bool {
    Command::new(node)
        .args(flags)
        .args([
            "-e",
            "process.exit(typeof WebSocket === 'function' ? 0 : 1)",
        ])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn the_release_report_loads_cleanly_with_one_bar_per_attempt() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let chromium = found("chromium").or_else(|| found("chromium-browser"));
    let node = found("node");
    let (Some(chromium), Some(node)) = (chromium, node) else {
        let why = "chromium or node is not installed";
        assert!(
            std::env::var("COORDOPS_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "COORDOPS_REQUIRE_BROWSER=1 but {why}"
        );
        eprintln!("skipped: {why}");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let html = dir.path().join("release.html");
    let json = dir.path().join("release.json");
    for (format, path) in [("html", &html), ("json", &json)] {
        let status = Command::new(env!("CARGO_BIN_EXE_coordops"))
            .current_dir(root)
            .args(super::html_report::RELEASE)
            .arg(super::html_report::SCENARIO)
            .args(["--format", format, "--output"])
            .arg(path)
            .status()
            .expect("coordops runs");
        assert!(status.success());
    }
    let mut check = Command::new(&node);
    if !has_websocket(&node, &[]) {
        // Node 20.10 to 21 has it behind a flag; older Node has none.
        assert!(
            has_websocket(&node, &["--experimental-websocket"]),
            "`{node}` has no WebSocket: the browser test needs Node 20.10 or later"
        );
        check.arg("--experimental-websocket");
    }
    check
        .arg(root.join("tests/browser/check_report.mjs"))
        .arg(&chromium)
        .arg(&html);
    if let Ok(shot) = std::env::var("COORDOPS_SCREENSHOT") {
        check.arg(shot);
    }
    let out = check.output().expect("node runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_slice(&out.stdout).expect("one JSON line");
    assert_eq!(seen["errors"], serde_json::json!([]), "console errors");
    let expected = super::html_report::attempts_in(&std::fs::read_to_string(&json).expect("json"));
    assert!(expected > 0);
    assert_eq!(seen["attempts"], expected, "one bar per attempt");
    assert!(seen["svg"].as_u64().unwrap_or(0) > 0, "the flow is drawn");
}
