//! A run with HTTP agents that suspends at an approval and is resumed: the
//! resumed run reaches the HTTP agent again (its backend is rebuilt from the
//! backends file), and the step answered before is not sent twice.

use std::path::Path;

use serde_json::Value;

use super::server::{Answer, Server};
use super::{backends, HANG_GUARD, TOKEN};

fn coordops(args: &[&str], extra: &[&Path]) -> (i32, String) {
    let output = crate::support::coordops()
        .env("HTTP_TOKEN", TOKEN)
        .env_remove("COORDOPS_LOG")
        .args(args)
        .args(extra)
        .timeout(HANG_GUARD)
        .output()
        .expect("coordops runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_resumed_run_calls_its_http_agents_again() {
    let server = Server::start(vec![
        Answer::success(r#"{"hash":"h1"}"#),
        Answer::success(r#"{"hash":"h2"}"#),
    ]);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = backends(&dir, &server.url("agents/toolsmith"), "");
    let journal = dir.path().join("run.jsonl");
    let report = dir.path().join("report.json");
    let playbook = "tests/fixtures/http/approve.ops";

    // Nobody at a terminal: the run suspends at the approval.
    let (code, stderr) = coordops(
        &["run", playbook, "--signal", "HTTP:APPROVE", "--backends"],
        &[&file, Path::new("--journal"), &journal],
    );
    assert_eq!(code, 5, "{stderr}");
    assert_eq!(server.received().len(), 1);

    let (code, stderr) = coordops(
        &["approve"],
        &[&journal, Path::new("go"), Path::new("--grant")],
    );
    assert_eq!(code, 0, "{stderr}");

    let (code, stderr) = coordops(
        &["resume", "--format", "json", "--output"],
        &[&report, &journal],
    );
    assert_eq!(code, 0, "{stderr}");
    let result: Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("json");
    assert_eq!(result["status"], "COMPLETE", "{stderr}");
    assert_eq!(result["summary"], "fetched h2");
    let received = server.received();
    assert_eq!(received.len(), 2, "the first fetch is not sent again");
    assert_eq!(received[1].json()["args"]["item"], "h1");
    // The secret header reached the agent on the resumed run too.
    assert_eq!(
        received[1].header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
}
