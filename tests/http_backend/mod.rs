//! The HTTP backend (`backend = "http"`), through the real binary
//! (`coordops run --backends FILE`) against a real server on 127.0.0.1
//! started by each test (server.rs).
//!
//! Nothing here depends on wall-clock budgets: each run ends by itself
//! (an answer, a 1s playbook timeout, a refused connection), and the tests
//! look at what the server received and what coordops wrote.

mod resume;
mod server;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

use crate::support::root;
use server::{Answer, Received, Server};

const PLAYBOOK: &str = "tests/fixtures/http/http.ops";
/// The secret the agent's header carries.
const TOKEN: &str = "tok_Hy7secretHttpValue42";
/// A cap on any wait for the server, far above any real duration.
const HANG_GUARD: Duration = Duration::from_secs(60);

/// A backends file in `dir` with TOOLSMITH at `url`, plus `extra` keys.
fn backends(dir: &TempDir, url: &str, extra: &str) -> PathBuf {
    let text = format!(
        "[agents.TOOLSMITH]\nbackend = \"http\"\nurl = {url:?}\n\
         headers = {{ Authorization = \"Bearer ${{HTTP_TOKEN}}\", X-Team = \"ops\" }}\n\
         secrets = [\"HTTP_TOKEN\"]\n{extra}"
    );
    let path = dir.path().join("backends.toml");
    std::fs::write(&path, text).expect("backends file");
    path
}

/// What one `coordops run` left behind.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    report: Value,
    report_text: String,
    journal: String,
}

impl Run {
    /// The only step's attempts: `(outcome, kind, message)`.
    fn attempts(&self) -> Vec<(String, String, String)> {
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        self.report["steps"][0]["attempts"]
            .as_array()
            .expect("attempts")
            .iter()
            .map(|a| (text(&a["outcome"]), text(&a["kind"]), text(&a["message"])))
            .collect()
    }

    fn status(&self) -> &str {
        self.report["status"].as_str().unwrap_or_default()
    }
}

/// `coordops run PLAYBOOK --signal SIGNAL` with TOOLSMITH at `url`.
fn run(signal: &str, url: &str, extra: &str, flags: &[&str]) -> Run {
    let dir = tempfile::tempdir().expect("tempdir");
    let report = dir.path().join("report.json");
    let journal = dir.path().join("run.jsonl");
    let output = crate::support::coordops()
        .env("HTTP_TOKEN", TOKEN)
        .env_remove("COORDOPS_LOG")
        .args(["run", PLAYBOOK, "--signal", signal, "--backends"])
        .arg(backends(&dir, url, extra))
        .args(["--format", "json", "--output"])
        .arg(&report)
        .arg("--journal")
        .arg(&journal)
        .args(flags)
        .timeout(HANG_GUARD)
        .output()
        .expect("coordops runs");
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        report: serde_json::from_str(&read(&report)).unwrap_or(Value::Null),
        report_text: read(&report),
        journal: read(&journal),
    }
}

fn fetch(server: &Server, extra: &str) -> Run {
    run("HTTP:FETCH", &server.url("agents/toolsmith"), extra, &[])
}

fn kinds(run: &Run) -> Vec<String> {
    run.attempts()
        .into_iter()
        .map(|(_, kind, _)| kind)
        .collect()
}

#[test]
fn a_reply_in_the_body_completes_the_step() {
    let server = Server::start(vec![Answer::success(r#"{"hash":"abc123"}"#)]);
    let run = fetch(&server, "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.status(), "COMPLETE");
    assert_eq!(run.report["steps"][0]["outputs"]["hash"], "abc123");
    let received = server.received();
    assert_eq!(received.len(), 1);
    let request: &Received = &received[0];
    assert_eq!(request.line, "POST /agents/toolsmith HTTP/1.1");
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.header("x-team"), Some("ops"));
    // The agent gets the real secret.
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    let body = request.json();
    assert_eq!(body["protocol"], 1);
    assert_eq!(body["agent"], "TOOLSMITH");
    assert_eq!(body["task"], "fetch");
    assert_eq!(body["args"]["item"], "widget");
    assert_eq!(body["attempt"], 1);
    assert_eq!(
        request.header("idempotency-key"),
        body["idempotency_key"].as_str()
    );
}

#[test]
fn a_500_is_retried_with_the_same_idempotency_key() {
    let server = Server::start(vec![
        Answer::status(500, "database is down"),
        Answer::success("{}"),
    ]);
    let run = fetch(&server, "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let attempts = run.attempts();
    assert_eq!(attempts[0].0, "failure");
    assert_eq!(attempts[0].1, "server_error");
    assert!(
        attempts[0]
            .2
            .contains("answered 500 Internal Server Error: database is down"),
        "{attempts:?}"
    );
    assert_eq!(attempts[1].0, "success");
    let received = server.received();
    assert_eq!(received.len(), 2);
    let key = |r: &Received| r.header("idempotency-key").map(str::to_string);
    assert!(key(&received[0]).is_some());
    assert_eq!(key(&received[0]), key(&received[1]));
    assert_eq!(received[1].json()["attempt"], 2);
}

#[test]
fn a_429_waits_as_long_as_its_retry_after_asks() {
    let server = Server::start(vec![
        Answer::with_header(429, "Retry-After", "1"),
        Answer::success("{}"),
    ]);
    let run = fetch(&server, "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(kinds(&run)[0], "too_many_requests");
    assert!(
        run.stderr.contains(
            "RETRY TOOLSMITH.fetch attempt 1 failed (too_many_requests); retry 1 of 2 in 1s (as the agent's Retry-After asked)"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(server.received().len(), 2);
}

#[test]
fn a_404_is_not_retried() {
    let server = Server::start(vec![Answer::status(404, "no such agent")]);
    let run = fetch(&server, "");
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert_eq!(run.status(), "FAILED");
    let attempts = run.attempts();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].1, "rejected_request");
    assert!(attempts[0]
        .2
        .contains("answered 404 Not Found: no such agent"));
    assert_eq!(server.received().len(), 1);
}

#[test]
fn a_body_that_is_not_a_reply_is_a_protocol_failure() {
    let server = Server::start(vec![Answer::status(200, "<html>hello</html>")]);
    let run = fetch(&server, "");
    assert_eq!(run.code, 4, "{}", run.stderr);
    let attempts = run.attempts();
    // `protocol` is not retried by default.
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].1, "protocol");
    assert!(
        attempts[0]
            .2
            .starts_with("the response body is not one JSON object"),
        "{attempts:?}"
    );
}

#[test]
fn a_body_past_max_reply_is_not_read_further() {
    // A body that never ends: only stopping at the limit ends the attempt.
    let server = Server::start(vec![Answer::Endless]);
    let run = fetch(&server, "max_reply = \"16KiB\"\n");
    assert_eq!(run.code, 4, "{}", run.stderr);
    let attempts = run.attempts();
    assert_eq!(attempts.len(), 3, "retried like any other kind");
    assert_eq!(attempts[0].1, "output_too_large");
    assert!(attempts[0].2.contains("larger than 16 KiB (`max_reply`)"));
    // A declared length over the limit is refused before reading.
    let big = "y".repeat(20 << 10);
    let server = Server::start(vec![Answer::status(200, &big)]);
    let run = fetch(&server, "max_reply = \"16KiB\"\n");
    assert_eq!(kinds(&run)[0], "output_too_large");
}

#[test]
fn a_refused_connection_is_a_network_failure() {
    // A port held bound but never listening: connections to it are
    // refused, and no test running alongside can take it meanwhile (a port
    // that was merely free a moment ago could be handed to another test's
    // server).
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket
        .bind(([127, 0, 0, 1], 0).into())
        .expect("bind 127.0.0.1:0");
    let port = socket.local_addr().expect("its address").port();
    let run = run("HTTP:FETCH", &format!("http://127.0.0.1:{port}/x"), "", &[]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    let attempts = run.attempts();
    assert_eq!(attempts.len(), 3);
    assert_eq!(attempts[0].1, "network");
    assert!(
        attempts[0].2.contains("got no response") && attempts[0].2.contains("refused"),
        "{attempts:?}"
    );
}

#[test]
fn an_agent_that_never_answers_times_out() {
    let server = Server::start(vec![Answer::Hang]);
    let run = run("HTTP:SLOW", &server.url("slow"), "", &[]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert_eq!(run.report["steps"][0]["outcome"]["status"], "timeout");
    assert_eq!(run.attempts()[0].0, "timeout");
    // coordops gave up without an answer, so it may be gone before the
    // server's thread has read the request: wait for it (a hang guard).
    assert_eq!(server.wait_for(1, HANG_GUARD).len(), 1);
}

#[test]
fn the_header_secret_is_never_shown() {
    // The server quotes the token back: in an error body, then in outputs.
    let server = Server::start(vec![
        Answer::status(503, &format!("bad token {TOKEN}")),
        Answer::success(&format!(r#"{{"echo":"Bearer {TOKEN}"}}"#)),
    ]);
    let run = run("HTTP:FETCH", &server.url("agents/toolsmith"), "", &["-vv"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        server.received()[0].header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    for (what, text) in [
        ("stdout", &run.stdout),
        ("stderr", &run.stderr),
        ("journal", &run.journal),
        ("report", &run.report_text),
    ] {
        assert!(!text.contains(TOKEN), "{what} shows the secret:\n{text}");
    }
    assert_eq!(run.report["steps"][0]["outputs"]["echo"], "Bearer ***");
    assert!(run.journal.contains("bad token ***"), "{}", run.journal);
}

#[test]
fn bad_http_agents_are_refused_before_anything_starts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let refuse = |text: &str, expected: &str| {
        let path = dir.path().join("b.toml");
        std::fs::write(&path, text).expect("write");
        let out = crate::support::coordops()
            .env("HTTP_TOKEN", TOKEN)
            .args(["run", PLAYBOOK, "--signal", "HTTP:FETCH", "--backends"])
            .arg(&path)
            .timeout(HANG_GUARD)
            .output()
            .expect("coordops runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(expected), "{expected}\n{stderr}");
        assert!(stderr.contains("b.toml"), "{stderr}");
    };
    refuse(
        "[agents.TOOLSMITH]\nbackend = \"http\"\nurl = \"localhost:8080/x\"\n",
        "`agents.TOOLSMITH.url`: `localhost:8080/x` is not an `http` or `https` URL",
    );
    refuse(
        "[agents.TOOLSMITH]\nbackend = \"http\"\nurl = \"http://127.0.0.1:9/x\"\nheaders = { Authorization = \"Bearer ${OTHER}\" }\nsecrets = [\"HTTP_TOKEN\"]\n",
        "`agents.TOOLSMITH.headers`: header `Authorization`: `${OTHER}` names no secret of this agent",
    );
    refuse(
        "[agents.TOOLSMITH]\nbackend = \"http\"\nurl = \"http://127.0.0.1:9/x\"\nheaders = { \"Bad Name\" = \"x\" }\n",
        "`agents.TOOLSMITH.headers`: `Bad Name` is not a valid header name",
    );
    refuse(
        "[agents.TOOLSMITH]\nbackend = \"http\"\n",
        "`agents.TOOLSMITH.url` is missing",
    );
    refuse(
        "[agents.TOOLSMITH]\nbackend = \"http\"\nurl = \"http://127.0.0.1:9/x\"\ncommand = [\"sh\"]\n",
        "`agents.TOOLSMITH.command` does not apply to an HTTP agent",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_attempt_stops_waiting_for_its_answer() {
    use std::collections::HashMap;
    use std::sync::Arc;

    use coordops::runtime::backend::{kinds, AgentBackend, TaskOutcome, TaskRequest};
    use coordops::runtime::http::{HttpAgent, HttpBackend, DEFAULT_MAX_REPLY};
    use tokio_util::sync::CancellationToken;

    let server = Arc::new(Server::start(vec![Answer::Hang]));
    let agent = HttpAgent {
        url: server.url("hang").parse().expect("url"),
        headers: Default::default(),
        secrets: Default::default(),
        max_reply: DEFAULT_MAX_REPLY,
    };
    let backend =
        HttpBackend::new(HashMap::from([("TOOLSMITH".to_string(), agent)])).expect("client");
    assert!(backend.serves("TOOLSMITH") && !backend.serves("OTHER"));
    let cancel = CancellationToken::new();
    let request = TaskRequest {
        run_id: "r".into(),
        agent: "TOOLSMITH".into(),
        task: "slow".into(),
        args: Default::default(),
        attempt: 1,
        timeout: Duration::from_secs(600),
        cancel: cancel.clone(),
        idempotency_key: "r/1:1".into(),
        deadline: String::new(),
        assignment: Default::default(),
        stderr: Default::default(),
        step: None,
    };
    let call = tokio::spawn(async move { backend.call(request).await });
    // Cancel once the request has arrived.
    let waiting = server.clone();
    tokio::task::spawn_blocking(move || waiting.wait_for(1, HANG_GUARD))
        .await
        .expect("the server saw the request");
    cancel.cancel();
    let reply = tokio::time::timeout(HANG_GUARD, call)
        .await
        .expect("the call ends")
        .expect("no panic");
    assert!(
        matches!(&reply.outcome, TaskOutcome::Failure { kind, .. } if kind == kinds::CANCELLED),
        "{reply:?}"
    );
}

#[test]
fn a_retry_after_past_the_steps_budget_is_not_waited_for() {
    let server = Server::start(vec![Answer::with_header(429, "Retry-After", "60")]);
    let run = run("HTTP:BUDGET", &server.url("x"), "", &[]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(
        run.stderr.contains("attempt 1 failed (too_many_requests); no retry: the step's budget (`within 5s`) would run out first"),
        "{}",
        run.stderr
    );
    assert_eq!(server.received().len(), 1);
}

#[test]
fn a_scenario_cannot_script_an_http_agent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let scenario = dir.path().join("s.toml");
    std::fs::write(
        &scenario,
        "[task.\"TOOLSMITH.fetch\"]\noutcome = \"success\"\n",
    )
    .expect("scenario");
    let out = crate::support::coordops()
        .env("HTTP_TOKEN", TOKEN)
        .args(["run", PLAYBOOK, "--signal", "HTTP:FETCH", "--backends"])
        .arg(backends(&dir, "http://127.0.0.1:9/x", ""))
        .arg("--scenario")
        .arg(&scenario)
        .timeout(HANG_GUARD)
        .output()
        .expect("coordops runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "scripts tasks of agents that run as processes or over HTTP: `TOOLSMITH.fetch`"
        ),
        "{stderr}"
    );
}

#[test]
fn http_agents_are_mapped_and_their_secrets_redacted() {
    use coordops::runtime::config::{AgentBackendConfig, BackendsConfig};
    use coordops::testing::harness::{load_checked, Strictness};

    let (_, playbook) =
        load_checked(&root().join(PLAYBOOK), Strictness::All).unwrap_or_else(|e| panic!("{e}"));
    let env = |name: &str| (name == "SHARED_TOKEN").then(|| TOKEN.to_string());
    let text = "[agents.TOOLSMITH]\nurl = \"https://agents.example.com/t\"\n\
                headers = { X-Key = \"k-${SHARED_TOKEN}\" }\n\
                max_reply = \"512KiB\"\n\n[defaults]\nsecrets = [\"SHARED_TOKEN\"]\n";
    let config = BackendsConfig::parse_with_env(text, Path::new("b.toml"), &playbook, &env)
        .unwrap_or_else(|e| panic!("{e}"));
    // A `url` without `backend` is an HTTP agent; `defaults.secrets` apply.
    let Some(AgentBackendConfig::Http(agent)) = config.backend_for("TOOLSMITH") else {
        panic!("not an HTTP agent: {config:?}");
    };
    assert_eq!(agent.max_reply, 512 << 10);
    assert_eq!(agent.headers["x-key"], format!("k-{TOKEN}").as_str());
    assert!(config.unmapped_agents().is_empty());
    assert_eq!(
        config.secret_values(),
        vec![("SHARED_TOKEN".to_string(), TOKEN.to_string())]
    );
    assert!(!format!("{config:?}").contains(TOKEN));
    assert_eq!(config.http_agents().len(), 1);
    assert!(config.process_agents().is_empty());
}

#[test]
fn https_to_a_server_without_tls_is_a_network_failure() {
    // The TLS handshake runs (rustls) and fails: the server speaks plain HTTP.
    let server = Server::start(vec![Answer::status(400, "plain HTTP")]);
    let url = server.url("x").replacen("http://", "https://", 1);
    let run = run("HTTP:SLOW", &url, "", &[]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    let attempts = run.attempts();
    assert_eq!(attempts[0].1, "network", "{attempts:?}");
    assert!(attempts[0].2.contains("got no response"), "{attempts:?}");
}
