//! `coordops run` on the real binary with real agent processes: runs stopped
//! by SIGTERM and by `kill -9`, a secret that never shows, and agents
//! without a backend refused before anything starts.
//!
//! Nothing here depends on wall-clock budgets: the tests wait (with generous
//! caps) for what the processes did — a pid file written, a process gone.

use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, ExitStatus, Stdio};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use tempfile::TempDir;

use crate::support::{self, alive, root, signal, wait_for};

const PLAYBOOK: &str = "tests/fixtures/runs/runs.ops";
/// A multi-line secret, as a private key or a token file might be.
const SECRET: &str = "ghp_Zx9secretValue123\nsecond-line-secret-456";

fn fixture(name: &str) -> String {
    root()
        .join("tests/fixtures/runs")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// A backends file in `dir` serving SLEEPER (pid file in `dir`) and LEAKY
/// (with the secret), plus `extra` TOML.
fn backends(dir: &TempDir, extra: &str) -> PathBuf {
    let pid_file = dir.path().join("agent.pid");
    let text = format!(
        "[agents.SLEEPER]\ncommand = [{sleeper:?}]\nenv = {{ PID_FILE = {pid:?} }}\ngrace = \"1s\"\n\n\
         [agents.LEAKY]\ncommand = [\"python3\", {leaky:?}]\nsecrets = [\"LEAKY_TOKEN\"]\n\n{extra}",
        sleeper = fixture("pid_sleep.sh"),
        pid = pid_file.to_string_lossy(),
        leaky = fixture("leaky.py"),
    );
    let path = dir.path().join("backends.toml");
    std::fs::write(&path, text).expect("backends file");
    path
}

fn coordops() -> Command {
    let mut cmd = support::coordops();
    cmd.env("LEAKY_TOKEN", SECRET);
    cmd
}

/// Starts `coordops run` on `signal` in the background.
fn spawn_run(dir: &TempDir, signal: &str) -> Child {
    StdCommand::new(env!("CARGO_BIN_EXE_coordops"))
        .current_dir(root())
        .env("LEAKY_TOKEN", SECRET)
        .args(["run", PLAYBOOK, "--signal", signal, "--backends"])
        .arg(backends(dir, ""))
        .arg("--journal")
        .arg(dir.path().join("run.jsonl"))
        .arg("--output")
        .arg(dir.path().join("report.md"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("stderr.txt")).expect("stderr file"))
        .spawn()
        .expect("coordops starts")
}

/// Waits until `done` holds, failing after [`support::CAP`].
fn wait_until(what: &str, done: impl FnMut() -> bool) {
    wait_for(what, done).unwrap_or_else(|e| panic!("{e}"));
}

/// The agent's pid, once it has written it.
fn agent_pid(dir: &TempDir) -> i32 {
    let path = dir.path().join("agent.pid");
    wait_until("the agent's pid file", || path.exists());
    std::fs::read_to_string(&path)
        .expect("pid file")
        .trim()
        .parse()
        .expect("a pid")
}

fn wait_exit(child: &mut Child) -> ExitStatus {
    support::wait_exit(child).unwrap_or_else(|e| panic!("{e}"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Fails if any form of the secret appears in `text`.
fn assert_no_secret(what: &str, text: &str) {
    for line in SECRET.lines() {
        assert!(!text.contains(line), "{what} shows the secret:\n{text}");
    }
    let escaped = serde_json::to_string(SECRET).expect("json");
    assert!(!text.contains(escaped.trim_matches('"')), "{what}:\n{text}");
}

#[test]
fn sigterm_stops_the_agents_and_leaves_an_aborted_report_and_journal() {
    let dir = TempDir::new().expect("tempdir");
    let mut run = spawn_run(&dir, "RUNS:HANG");
    let agent = agent_pid(&dir);
    assert!(alive(agent));
    signal(&run, libc::SIGTERM);
    let status = wait_exit(&mut run);
    assert_eq!(
        status.code(),
        Some(4),
        "{}",
        read(&dir.path().join("stderr.txt"))
    );
    wait_until("the agent to be gone", || !alive(agent));

    let report = read(&dir.path().join("report.md"));
    assert!(report.contains("**Status:** ABORTED"), "{report}");
    let journal = read(&dir.path().join("run.jsonl"));
    let last: Value = serde_json::from_str(journal.lines().last().expect("lines")).expect("json");
    assert_eq!(last["type"], "end");
    assert_eq!(last["status"], "ABORTED");
    let stderr = read(&dir.path().join("stderr.txt"));
    assert!(stderr.contains("terminated (SIGTERM)"), "{stderr}");
    let journal_path = dir.path().join("run.jsonl");
    let resume = format!("continue: coordops resume {}", journal_path.display());
    assert!(stderr.contains(&resume), "how to go on: {stderr}");
    for (what, text) in [
        ("report", &report),
        ("journal", &journal),
        ("stderr", &stderr),
    ] {
        assert_no_secret(what, text);
    }
}

#[test]
fn kill_9_leaves_no_agent_and_a_journal_that_reports_unfinished() {
    let dir = TempDir::new().expect("tempdir");
    let mut run = spawn_run(&dir, "RUNS:HANG");
    let agent = agent_pid(&dir);
    signal(&run, libc::SIGKILL);
    wait_exit(&mut run);
    wait_until("the orphaned agent to be gone", || !alive(agent));
    assert!(!dir.path().join("report.md").exists());

    let journal = dir.path().join("run.jsonl");
    let out = coordops()
        .arg("report")
        .arg(&journal)
        .assert()
        .code(4)
        .get_output()
        .stdout
        .clone();
    let report = String::from_utf8_lossy(&out);
    assert!(report.contains("**Status:** UNFINISHED"), "{report}");
    assert!(
        report.contains("in flight: SLEEPER.hang (SLEEPER.hang attempt 1)"),
        "{report}"
    );
    assert!(
        report.contains("Continue the run with `coordops resume JOURNAL`"),
        "{report}"
    );
    assert_no_secret("journal", &read(&journal));
    assert_no_secret("rebuilt report", &report);
}

#[test]
fn a_secret_never_shows_in_any_artefact() {
    let dir = TempDir::new().expect("tempdir");
    let backends = backends(&dir, "");
    let mut artefacts = Vec::new();
    for format in ["md", "json", "html"] {
        let journal = dir.path().join(format!("{format}.jsonl"));
        let output = dir.path().join(format!("report.{format}"));
        let run = coordops()
            .env("COORDOPS_LOG", "debug")
            .args(["run", PLAYBOOK, "--signal", "RUNS:LEAK", "--backends"])
            .arg(&backends)
            .args(["--format", format, "--journal"])
            .arg(&journal)
            .assert()
            .code(4);
        let out = run.get_output();
        artefacts.push((
            format!("{format} stdout"),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        ));
        artefacts.push((
            format!("{format} stderr"),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ));
        artefacts.push((format!("{format} journal"), read(&journal)));
        coordops()
            .args(["run", PLAYBOOK, "--signal", "RUNS:LEAK", "--backends"])
            .arg(&backends)
            .args(["--format", format, "--output"])
            .arg(&output)
            .arg("--journal")
            .arg(dir.path().join("second.jsonl"))
            .assert()
            .code(4);
        artefacts.push((format!("{format} report file"), read(&output)));
        let rebuilt = coordops()
            .arg("report")
            .arg(&journal)
            .args(["--format", format])
            .output()
            .expect("report");
        artefacts.push((
            format!("{format} rebuilt report"),
            String::from_utf8_lossy(&rebuilt.stdout).into_owned(),
        ));
    }
    // The cascade signals streamed to an orchestrator, and -vv's requests
    // and debug logs.
    let emitted = coordops()
        .args([
            "-vv",
            "run",
            PLAYBOOK,
            "--signal",
            "RUNS:LEAK",
            "--backends",
        ])
        .arg(&backends)
        .args(["--emit", "jsonl", "--output"])
        .arg(dir.path().join("emitted.md"))
        .arg("--journal")
        .arg(dir.path().join("emitted.jsonl"))
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&emitted.stdout).into_owned();
    assert!(stdout.contains(":HANDOFF"), "{stdout}");
    artefacts.push(("--emit jsonl".into(), stdout));
    artefacts.push((
        "-vv stderr".into(),
        String::from_utf8_lossy(&emitted.stderr).into_owned(),
    ));
    for (what, text) in &artefacts {
        assert_no_secret(what, text);
    }
    // The leaks were there to be redacted: outputs, the handoff, the
    // failure message and the stderr tail all show the mask.
    let json = &artefacts[5].1;
    let result: Value = serde_json::from_str(json).expect("a JSON report");
    let first = &result["steps"][0];
    assert_eq!(first["outputs"]["token"], "***");
    assert_eq!(first["outputs"]["header"], "Authorization: Bearer ***!");
    let failure = &result["steps"][1]["outcome"]["message"];
    assert!(
        failure
            .as_str()
            .is_some_and(|m| m.starts_with("auth failed with ***")),
        "{failure}"
    );
    let journal = &artefacts[2].1;
    assert!(
        journal.contains("\"current_state\":[\"first.header = Authorization: Bearer ***"),
        "{journal}"
    );
}

#[test]
fn agents_without_a_backend_are_refused_before_anything_starts() {
    let dir = TempDir::new().expect("tempdir");
    let only_leaky = dir.path().join("only_leaky.toml");
    std::fs::write(
        &only_leaky,
        format!(
            "[agents.LEAKY]\ncommand = [\"python3\", {:?}]\n",
            fixture("leaky.py")
        ),
    )
    .expect("write");
    let journal = dir.path().join("never.jsonl");
    coordops()
        .args(["run", PLAYBOOK, "--signal", "RUNS:HANG", "--backends"])
        .arg(&only_leaky)
        .arg("--journal")
        .arg(&journal)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "gives no backend to 1 agent(s) that RUNS:HANG can reach: `SLEEPER`",
        ))
        .stderr(predicate::str::contains("backend = \"simulated\""))
        .stderr(predicate::str::contains("nothing was started"));
    assert!(!journal.exists(), "nothing ran, nothing was journalled");

    // Simulating is explicit, and the report says so.
    let simulated = backends(&dir, "[agents.SPARE]\nbackend = \"simulated\"\n");
    let out = coordops()
        .args(["run", PLAYBOOK, "--signal", "RUNS:SPARE", "--backends"])
        .arg(&simulated)
        .args(["--format", "json", "--journal"])
        .arg(dir.path().join("spare.jsonl"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let result: Value = serde_json::from_slice(&out).expect("json");
    assert_eq!(result["steps"][0]["simulated"], true);
    coordops()
        .args(["run", PLAYBOOK, "--signal", "RUNS:SPARE", "--backends"])
        .arg(&simulated)
        .arg("--journal")
        .arg(dir.path().join("spare-md.jsonl"))
        .assert()
        .success()
        .stdout(predicate::str::contains("- SPARE: idle (simulated) ("))
        .stdout(
            predicate::str::is_match(r"\| SPARE \| SUCCESS \| \d+m?s \| idle \(simulated\) \|")
                .expect("regex"),
        );
}

#[test]
fn a_real_agent_receives_a_protocol_v1_request_that_follows_the_schema() {
    let dir = TempDir::new().expect("tempdir");
    let capture = dir.path().join("request.json");
    let backends = backends(
        &dir,
        &format!(
            "[agents.CAPTURE]\ncommand = [{:?}]\nenv = {{ CAPTURE_FILE = {:?} }}\n",
            fixture("capture.sh"),
            capture.to_string_lossy()
        ),
    );
    coordops()
        .args(["run", PLAYBOOK, "--signal", "RUNS:CAPTURE", "--backends"])
        .arg(&backends)
        .arg("--journal")
        .arg(dir.path().join("capture.jsonl"))
        .assert()
        .success();
    let schema = |text: String| {
        let schema: Value = serde_json::from_str(&text).expect("schema");
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .build(&schema)
            .expect("compiles")
    };
    let request: Value = serde_json::from_str(&read(&capture)).expect("one JSON request");
    let requests = schema(coordops::runtime::protocol::request_schema());
    let problems: Vec<String> = requests
        .iter_errors(&request)
        .map(|e| e.to_string())
        .collect();
    assert!(problems.is_empty(), "{problems:?}\n{request}");
    assert_eq!(request["protocol"], 1);
    assert_eq!(request["args"]["note"], "hello");
    assert_eq!(request["attempt"], 1);
    // The key names the call's place in the playbook: `line:column`.
    let source = read(&root().join(PLAYBOOK));
    let (line, text) = source
        .lines()
        .enumerate()
        .find(|(_, l)| l.starts_with("route RUNS:CAPTURE"))
        .expect("the CAPTURE route");
    let column = text.find("CAPTURE.take").expect("the call") + 1;
    let key = request["idempotency_key"].as_str().expect("a key");
    assert!(key.starts_with("run-runs-capture-"), "{key}");
    assert!(key.ends_with(&format!("/{}:{column}", line + 1)), "{key}");
    let markdown = request["assignment"]["markdown"]
        .as_str()
        .expect("markdown");
    assert!(markdown.starts_with("## Agent Assignment: CAPTURE\n\n### Task\nKeep the request\n"));
    assert!(
        markdown.contains("### Success Criteria\n- [ ] The request arrived\n"),
        "{markdown}"
    );
    let reply: Value =
        serde_json::from_str(&read(&dir.path().join("request.json.reply"))).expect("reply");
    assert!(schema(coordops::runtime::protocol::reply_schema()).is_valid(&reply));
}

#[test]
fn a_timed_out_attempt_keeps_what_the_agent_wrote_to_stderr() {
    let dir = TempDir::new().expect("tempdir");
    let out = coordops()
        .args(["run", PLAYBOOK, "--signal", "RUNS:DOZE", "--backends"])
        .arg(backends(&dir, ""))
        .args(["--format", "json", "--journal"])
        .arg(dir.path().join("doze.jsonl"))
        .assert()
        .code(4)
        .get_output()
        .stdout
        .clone();
    let result: Value = serde_json::from_slice(&out).expect("json");
    let step = &result["steps"][0];
    assert_eq!(step["outcome"]["status"], "timeout", "{step}");
    let stderr = step["attempts"][0]["stderr"].to_string();
    assert!(stderr.contains("sleeper: waiting as pid"), "{step}");
    let pid: i32 = read(&dir.path().join("agent.pid"))
        .trim()
        .parse()
        .expect("pid");
    wait_until("the timed-out agent to be gone", || !alive(pid));
}

/// Secrets with characters that formatting changes (`|` escaped in Markdown
/// tables, tabs flattened in event lines, quotes and backslashes escaped in
/// JSON, control characters escaped in logs, `n` after a JSON `\`): no
/// alphanumeric run of five or more characters of them may show anywhere.
#[test]
fn secrets_that_formatting_would_change_never_show() {
    let secrets = [
        "Pq7Zx|Kw9Lm2Vb",
        "Tab4Rt\tYu8Io0Pq",
        "Qu0te\"Bs\\Sl4shX",
        "Ctl9Ab\u{1}Cd3Ef5Gh",
        "nWq8Er5Ty2Ui",
    ];
    for secret in secrets {
        let dir = TempDir::new().expect("tempdir");
        let backends = backends(&dir, "");
        let mut texts = Vec::new();
        for (signal, format) in [
            ("RUNS:LEAK", "md"),
            ("RUNS:LEAK", "json"),
            ("RUNS:LEAK", "html"),
            ("RUNS:TYPED", "md"),
        ] {
            let journal = dir.path().join(format!("{format}-{}.jsonl", texts.len()));
            let out = coordops()
                .env("LEAKY_TOKEN", secret)
                .env("COORDOPS_LOG", "debug")
                .args(["run", PLAYBOOK, "--signal", signal, "--backends"])
                .arg(&backends)
                .args(["--format", format, "--journal"])
                .arg(&journal)
                .output()
                .expect("runs");
            assert_eq!(out.status.code(), Some(4), "{signal} {secret:?}");
            if format == "json" {
                let report: Value =
                    serde_json::from_slice(&out.stdout).expect("the JSON report stays JSON");
                assert_eq!(report["status"], "FAILED");
            }
            texts.push(String::from_utf8_lossy(&out.stdout).into_owned());
            texts.push(String::from_utf8_lossy(&out.stderr).into_owned());
            let lines = read(&journal);
            for line in lines.lines() {
                serde_json::from_str::<Value>(line).expect("every journal line stays JSON");
            }
            texts.push(lines);
        }
        let runs: Vec<&str> = secret
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|run| run.len() >= 5)
            .collect();
        assert!(!runs.is_empty());
        for text in &texts {
            for run in &runs {
                assert!(!text.contains(run), "{secret:?}: `{run}` shows in:\n{text}");
            }
        }
    }
}
