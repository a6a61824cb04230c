//! Approvals decided by people in `coordops run` on the real binary: a run
//! without a terminal suspends (exit 5, WAITING, journal ending in
//! `suspend`), `coordops approve` records decisions, `defaults.approvals`
//! decides unattended runs, and `coordops runs` lists what waits.
//!
//! The agent is a shell script that logs every call; the tests wait on what
//! the processes did (files written, processes gone), never on time.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use crate::support::{self, root};
use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

const PLAYBOOK: &str = "tests/fixtures/approvals/approvals.ops";
/// How long to wait for a process to do something before failing.
const CAP: Duration = Duration::from_secs(60);

fn coordops() -> Command {
    let mut cmd = support::coordops();
    cmd.env("USER", "tester");
    cmd
}

/// A backends file in `dir` serving WORKER, with `approvals` if given.
fn backends(dir: &Path, approvals: Option<&str>) -> PathBuf {
    let worker = root().join("tests/fixtures/approvals/worker.sh");
    let mut text = format!(
        "[agents.WORKER]\ncommand = [{:?}]\nenv = {{ CALL_LOG = {:?} }}\ngrace = \"1s\"\n",
        worker.to_string_lossy(),
        dir.join("calls.log").to_string_lossy()
    );
    if let Some(policy) = approvals {
        text.push_str(&format!("\n[defaults]\napprovals = \"{policy}\"\n"));
    }
    let path = dir.join(format!("backends-{}.toml", approvals.unwrap_or("ask")));
    std::fs::write(&path, text).expect("backends file");
    path
}

/// `coordops run PLAYBOOK --signal SIGNAL --backends FILE --journal JOURNAL`.
fn run_command(signal: &str, backends: &Path, journal: &Path) -> Command {
    let mut cmd = coordops();
    cmd.args(["run", PLAYBOOK, "--signal", signal, "--backends"])
        .arg(backends)
        .arg("--journal")
        .arg(journal);
    cmd
}

/// Runs `signal` (stdin not a terminal) with its journal at `journal`.
fn run(dir: &Path, signal: &str, approvals: Option<&str>, journal: &Path) -> Output {
    run_command(signal, &backends(dir, approvals), journal)
        .arg("--output")
        .arg(dir.join("report.md"))
        .output()
        .expect("coordops runs")
}

/// `coordops approve JOURNAL ARGS…`.
fn approve(journal: &Path, args: &[&str]) -> Output {
    coordops()
        .arg("approve")
        .arg(journal)
        .args(args)
        .output()
        .expect("approve")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn lines(path: &Path) -> Vec<Value> {
    read(path)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A suspended APPROVALS:RELEASE run in a fresh folder, and its stderr.
fn suspended() -> (TempDir, PathBuf, String) {
    let dir = TempDir::new().expect("tempdir");
    let journal = dir.path().join("runs/release.jsonl");
    let out = run(dir.path(), "APPROVALS:RELEASE", None, &journal);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    (dir, journal, text(&out.stderr))
}

#[test]
fn without_a_terminal_the_run_suspends_with_exit_5_and_a_waiting_report() {
    let (dir, journal, stderr) = suspended();
    let entries = lines(&journal);
    let n = entries.len();
    assert_eq!(entries[n - 1]["type"], "suspend");
    assert_eq!(
        entries[n - 1]["waiting_for"],
        serde_json::json!(["release"])
    );
    let wait = &entries[n - 2];
    assert_eq!(wait["type"], "approval_wait");
    assert_eq!(wait["message"], "Release 1.2 to production");
    let (at, deadline) = (
        wait["at_ms"].as_u64().expect("at_ms"),
        wait["deadline_ms"].as_u64().expect("deadline_ms"),
    );
    assert_eq!(deadline - at, 24 * 3600 * 1000);
    // The deadline is on the wall clock: 24h after the request.
    let requested = humantime::parse_rfc3339(wait["requested_at"].as_str().expect("at"));
    let due = humantime::parse_rfc3339(wait["deadline"].as_str().expect("deadline"));
    assert_eq!(
        due.expect("rfc3339")
            .duration_since(requested.expect("rfc3339"))
            .expect("later"),
        Duration::from_secs(24 * 3600)
    );
    // Nothing after the suspend, and no end.
    assert!(!entries.iter().any(|e| e["type"] == "end"));
    // The agent ran once (prepare); publish waits for the decision.
    assert_eq!(read(&dir.path().join("calls.log")).lines().count(), 1);

    let report = read(&dir.path().join("report.md"));
    assert!(report.contains("**Status:** WAITING"), "{report}");
    assert!(
        report.contains("- `release` waiting since ")
            && report.contains(": Release 1.2 to production (deadline "),
        "{report}"
    );
    assert!(report.contains("coordops resume JOURNAL"), "{report}");
    let out = coordops()
        .arg("report")
        .arg(&journal)
        .output()
        .expect("report");
    assert_eq!(out.status.code(), Some(5));
    assert_eq!(
        text(&out.stdout),
        report,
        "the run's report is its journal's"
    );

    let json = coordops()
        .args(["report", "--format", "json"])
        .arg(&journal)
        .output()
        .expect("report");
    let json: Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(json["status"], "WAITING");
    assert_eq!(json["waiting_for"][0]["name"], "release");
    assert_eq!(
        json["waiting_for"][0]["message"],
        "Release 1.2 to production"
    );

    assert!(
        stderr.contains(
            "waiting for approval `release`: Release 1.2 to production (times out in 23h59m)"
        ),
        "{stderr}"
    );
    let shown = journal.display();
    assert!(
        stderr.contains(&format!(
            "decide: coordops approve {shown} release --grant (or --deny), then: coordops resume {shown}"
        )),
        "{stderr}"
    );
}

#[test]
fn approve_appends_one_decision_and_refuses_what_it_cannot_decide() {
    let (dir, journal, _) = suspended();
    let before = lines(&journal).len();

    let out = approve(
        &journal,
        &["release", "--grant", "--by", "alice", "--note", "CI green"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("recorded: `release` granted by alice via command at "),
        "{stdout}"
    );
    assert!(stdout.contains("(note: CI green)"), "{stdout}");
    assert!(
        stdout.ends_with(&format!("next: coordops resume {}\n", journal.display())),
        "{stdout}"
    );
    let entries = lines(&journal);
    assert_eq!(entries.len(), before + 1);
    let decision = &entries[before];
    assert_eq!(decision["type"], "decision");
    assert_eq!(decision["granted"], true);
    assert_eq!(decision["by"], "alice");
    assert_eq!(decision["via"], "command");
    assert_eq!(decision["note"], "CI green");
    assert!(decision["at"].as_str().expect("at").ends_with('Z'));

    // The report shows the decision, and that only resuming is left.
    let report = coordops()
        .arg("report")
        .arg(&journal)
        .output()
        .expect("report");
    let report = text(&report.stdout);
    assert!(
        report.contains("- `release` granted by alice via command at "),
        "{report}"
    );
    assert!(
        report.contains("Every approval it waits for is decided"),
        "{report}"
    );

    // A second decision, another name, no decision flag: refused.
    let again = approve(&journal, &["release", "--deny"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        text(&again.stderr)
            .contains("approval `release` was already decided: `release` granted by alice"),
        "{}",
        text(&again.stderr)
    );
    let unknown = approve(&journal, &["shipit", "--grant"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        text(&unknown.stderr)
            .contains("is not waiting for an approval `shipit`; it waits for `release`"),
        "{}",
        text(&unknown.stderr)
    );
    let neither = approve(&journal, &["release"]);
    assert_eq!(neither.status.code(), Some(2));
    assert!(text(&neither.stderr).contains("<--grant|--deny>"));
    assert_eq!(lines(&journal).len(), before + 1, "nothing else appended");
    drop(dir);
}

#[test]
fn approve_refuses_finished_runs_and_unreadable_journals() {
    let dir = TempDir::new().expect("tempdir");
    let journal = dir.path().join("granted.jsonl");
    let out = run(dir.path(), "APPROVALS:RELEASE", Some("grant"), &journal);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let finished = approve(&journal, &["release", "--grant"]);
    assert_eq!(finished.status.code(), Some(2));
    assert!(
        text(&finished.stderr).contains("is COMPLETE, not waiting for an approval: it finished"),
        "{}",
        text(&finished.stderr)
    );

    let killed = dir.path().join("killed.jsonl");
    let start = read(&journal)
        .lines()
        .next()
        .expect("a start line")
        .to_string();
    std::fs::write(&killed, format!("{start}\n")).expect("journal");
    let unfinished = approve(&killed, &["release", "--grant"]);
    assert_eq!(unfinished.status.code(), Some(2));
    assert!(
        text(&unfinished.stderr)
            .contains("is UNFINISHED, not waiting for an approval: it has not suspended"),
        "{}",
        text(&unfinished.stderr)
    );

    let missing = approve(&dir.path().join("missing.jsonl"), &["release", "--grant"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("cannot read journal"));

    let other = dir.path().join("notes.jsonl");
    std::fs::write(&other, "hello\n").expect("write");
    let not_journal = approve(&other, &["release", "--grant"]);
    assert_eq!(not_journal.status.code(), Some(2));
    assert!(
        text(&not_journal.stderr).contains("is not a coordops journal"),
        "{}",
        text(&not_journal.stderr)
    );
}

#[test]
fn policy_decisions_are_journalled_and_reported() {
    let dir = TempDir::new().expect("tempdir");
    for (policy, code, granted) in [("grant", 0, true), ("deny", 4, false)] {
        let journal = dir.path().join(format!("{policy}.jsonl"));
        let out = run(dir.path(), "APPROVALS:RELEASE", Some(policy), &journal);
        assert_eq!(out.status.code(), Some(code), "{}", text(&out.stderr));
        let decision = lines(&journal)
            .into_iter()
            .find(|e| e["type"] == "decision")
            .expect("a decision entry");
        assert_eq!(decision["granted"], granted);
        assert_eq!(decision["via"], "policy");
        assert_eq!(decision["by"], "policy");
        assert!(!lines(&journal).iter().any(|e| e["type"] == "approval_wait"));
        let report = read(&dir.path().join("report.md"));
        let word = if granted { "granted" } else { "denied" };
        assert!(
            report.contains(&format!("- `release` {word} by policy via policy at ")),
            "{report}"
        );
    }
}

use crate::support::alive;

#[test]
fn a_suspend_stops_other_branches_and_leaves_their_attempts_open() {
    let dir = TempDir::new().expect("tempdir");
    let journal = dir.path().join("beside.jsonl");
    let out = run(dir.path(), "APPROVALS:BESIDE", None, &journal);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("ABORT"), "no abort is shown: {stderr}");
    let entries = lines(&journal);
    assert_eq!(entries.last().expect("entries")["type"], "suspend");
    let kinds: Vec<&str> = entries.iter().filter_map(|e| e["type"].as_str()).collect();
    // The hanging branch's attempt was sent and never answered: exactly
    // what `kill -9` leaves, for `coordops resume` to send again.
    assert!(kinds.contains(&"attempt"), "{kinds:?}");
    assert!(!kinds.contains(&"attempt_end"), "{kinds:?}");
    assert!(!kinds.contains(&"step"), "{kinds:?}");
    assert!(!kinds.contains(&"end"), "{kinds:?}");
    // No agent outlives coordops.
    let pid_file = dir.path().join("calls.log.hang");
    if pid_file.exists() {
        let pid: i32 = read(&pid_file).trim().parse().expect("a pid");
        let start = Instant::now();
        while alive(pid) {
            assert!(
                start.elapsed() < CAP,
                "the hanging agent {pid} outlived coordops"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let report = coordops()
        .arg("report")
        .arg(&journal)
        .output()
        .expect("report");
    assert_eq!(report.status.code(), Some(5));
    let report = text(&report.stdout);
    assert!(report.contains("**Status:** WAITING"), "{report}");
    assert!(
        report.contains("`coordops resume` sends it again"),
        "{report}"
    );
}

#[test]
fn runs_lists_journals_newest_first_with_what_they_wait_for() {
    let dir = TempDir::new().expect("tempdir");
    let runs = dir.path().join("runs");
    let out = coordops().arg("runs").arg(&runs).output().expect("runs");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "no runs\n");

    let first = run(
        dir.path(),
        "APPROVALS:RELEASE",
        Some("grant"),
        &runs.join("a.jsonl"),
    );
    assert_eq!(first.status.code(), Some(0));
    // The later run is listed first; the file that is no journal last.
    let second = run(dir.path(), "APPROVALS:RELEASE", None, &runs.join("b.jsonl"));
    assert_eq!(second.status.code(), Some(5));
    std::fs::write(runs.join("junk.jsonl"), "not json\n").expect("write");
    std::fs::write(runs.join("README.txt"), "ignored\n").expect("write");

    let out = coordops().arg("runs").arg(&runs).output().expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let listing = text(&out.stdout).replace(&runs.display().to_string(), "RUNS");
    insta::with_settings!({filters => vec![
        (r"run-approvals-release-\d+-\d+ *", "[RUN]  "),
        (r"\d+[smhd](\d+[smh])? ago", "[AGE] ago"),
        (r"times out in \d+h\d+m", "times out in [LEFT]"),
        (r"junk +", "junk  "),
    ]}, {
        insta::assert_snapshot!(listing);
    });

    let json = coordops()
        .args(["runs", "--format", "json"])
        .arg(&runs)
        .output()
        .expect("runs");
    let json: Value = serde_json::from_slice(&json.stdout).expect("json");
    let statuses: Vec<&str> = json
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|r| r["status"].as_str())
        .collect();
    assert_eq!(statuses.len(), 3);
    assert!(statuses.contains(&"complete") && statuses.contains(&"waiting"));
    let waiting = json
        .as_array()
        .expect("array")
        .iter()
        .find(|r| r["status"] == "waiting")
        .expect("a waiting run");
    assert_eq!(waiting["waiting_for"][0]["name"], "release");
    assert!(waiting["waiting_for"][0]["deadline"].is_string());
}

#[test]
fn two_decisions_at_once_are_taken_one_after_the_other() {
    let (_dir, journal, _) = suspended();
    let spawn = |flag: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_coordops"))
            .arg("approve")
            .arg(&journal)
            .args(["release", flag])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("approve starts")
    };
    let (grant, deny) = (spawn("--grant"), spawn("--deny"));
    let outputs = [
        grant.wait_with_output().expect("grant"),
        deny.wait_with_output().expect("deny"),
    ];
    let codes: Vec<Option<i32>> = outputs.iter().map(|o| o.status.code()).collect();
    assert!(
        codes == [Some(0), Some(2)] || codes == [Some(2), Some(0)],
        "{codes:?}"
    );
    let refused = outputs
        .iter()
        .find(|o| o.status.code() == Some(2))
        .expect("one refused");
    assert!(text(&refused.stderr).contains("was already decided"));
    let decisions = lines(&journal)
        .into_iter()
        .filter(|e| e["type"] == "decision")
        .count();
    assert_eq!(decisions, 1);
}

#[test]
fn a_decision_after_the_deadline_is_recorded_with_a_warning() {
    let dir = TempDir::new().expect("tempdir");
    let journal = dir.path().join("late.jsonl");
    std::fs::write(
        &journal,
        concat!(
            r#"{"type":"start","run_id":"r","coordinator":"C","signal":"S:X","context":{},"started_at":"2026-01-01T00:00:00Z","quality_gate":80,"agents":["A"],"version":2,"started_unix_ms":1767225600000}"#,
            "\n",
            r#"{"type":"approval_wait","name":"go","message":"Go?","at_ms":10,"deadline_ms":3600010,"requested_at":"2026-01-01T00:00:00.010Z","deadline":"2026-01-01T01:00:00.010Z"}"#,
            "\n",
            r#"{"type":"suspend","at_ms":12,"waiting_for":["go"]}"#,
            "\n",
        ),
    )
    .expect("journal");
    let out = approve(&journal, &["go", "--grant"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("recorded: `go` granted by tester via command"),
        "{stdout}"
    );
    assert!(
        stdout.contains("note: the deadline passed at 2026-01-01T01:00:00.010Z: `coordops resume` takes the approval's timeout path"),
        "{stdout}"
    );
    let listing = coordops()
        .arg("runs")
        .arg(dir.path())
        .output()
        .expect("runs");
    let listing = text(&listing.stdout);
    assert!(
        listing.contains("waits for `go` (granted: resume it)"),
        "{listing}"
    );
}

/// Runs APPROVALS:RELEASE on a pseudo-terminal, answering `answer` at the
/// prompt; the exit code, the terminal's transcript and the journal.
fn on_a_terminal(answer: &str) -> (Option<i32>, String, Vec<Value>) {
    let dir = TempDir::new().expect("tempdir");
    let (journal, transcript) = (dir.path().join("j.jsonl"), dir.path().join("t.txt"));
    let out = std::process::Command::new("python3")
        .current_dir(root())
        .env("USER", "carol")
        .env("COLUMNS", "80")
        .arg("tests/fixtures/approvals/answer_in_pty.py")
        .arg(&transcript)
        .arg(answer)
        .arg(env!("CARGO_BIN_EXE_coordops"))
        .args([
            "run",
            PLAYBOOK,
            "--signal",
            "APPROVALS:RELEASE",
            "--backends",
        ])
        .arg(backends(dir.path(), None))
        .arg("--journal")
        .arg(&journal)
        .arg("--output")
        .arg(dir.path().join("report.md"))
        .output()
        .expect("python3 runs");
    let shown =
        String::from_utf8_lossy(&std::fs::read(&transcript).unwrap_or_default()).into_owned();
    (out.status.code(), shown, lines(&journal))
}

#[test]
fn on_a_terminal_a_person_answers_the_prompt() {
    let (code, shown, entries) = on_a_terminal("n");
    assert_eq!(code, Some(4), "{shown}");
    assert!(
        shown.contains("approve `release`? Release 1.2 to production (times out in 23h59m) [y/n] "),
        "{shown}"
    );
    let kinds: Vec<&str> = entries.iter().filter_map(|e| e["type"].as_str()).collect();
    let wait = kinds
        .iter()
        .position(|k| *k == "approval_wait")
        .expect("a wait");
    let decision = kinds
        .iter()
        .position(|k| *k == "decision")
        .expect("a decision");
    assert!(wait < decision, "{kinds:?}");
    let d = &entries[decision];
    assert_eq!(d["granted"], false);
    assert_eq!(d["via"], "terminal");
    assert_eq!(d["by"], "carol");
    assert_eq!(kinds.last(), Some(&"end"));

    let (code, shown, entries) = on_a_terminal("EOF");
    assert_eq!(code, Some(5), "{shown}");
    assert!(
        shown.contains("no answer (end of input): the run suspends"),
        "{shown}"
    );
    assert_eq!(entries.last().expect("entries")["type"], "suspend");
}

#[test]
fn emit_ends_a_suspended_run_with_one_waiting_line() {
    let dir = TempDir::new().expect("tempdir");
    let journal = dir.path().join("release.jsonl");
    let out = run_command("APPROVALS:RELEASE", &backends(dir.path(), None), &journal)
        .arg("--output")
        .arg(dir.path().join("report.md"))
        .args(["--emit", "jsonl"])
        .output()
        .expect("coordops runs");
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    let signals: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let last = signals.last().expect("signals");
    assert!(
        last["signal"]
            .as_str()
            .is_some_and(|s| s.ends_with(":FAILURE")),
        "{last}"
    );
    assert_eq!(last["payload"]["scope"], "run", "{last}");
    assert_eq!(last["payload"]["status"], "waiting", "{last}");
    assert!(!last["payload"]["waiting_for"]
        .as_array()
        .expect("names")
        .is_empty());
    let run_lines = signals.iter().filter(|s| s["payload"]["scope"] == "run");
    assert_eq!(run_lines.count(), 1, "{signals:?}");
}

#[test]
fn approve_never_shows_or_records_a_secret_of_the_run() {
    const SECRET: &str = "tok-approve-0123456789";
    let dir = TempDir::new().expect("tempdir");
    let plain = read(&backends(dir.path(), None));
    let with_secret = dir.path().join("backends-secret.toml");
    std::fs::write(
        &with_secret,
        plain.replace("grace =", "secrets = [\"APPROVE_TOKEN\"]\ngrace ="),
    )
    .expect("backends file");
    let journal = dir.path().join("release.jsonl");
    let out = run_command("APPROVALS:RELEASE", &with_secret, &journal)
        .env("APPROVE_TOKEN", SECRET)
        .output()
        .expect("coordops runs");
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));

    // A person pastes the token into the decision by mistake.
    let out = coordops()
        .env("APPROVE_TOKEN", SECRET)
        .arg("approve")
        .arg(&journal)
        .args(["release", "--grant", "--by", SECRET])
        .args(["--note", &format!("checked with {SECRET}")])
        .output()
        .expect("approve");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(shown.contains("granted by *** via command"), "{shown}");
    assert!(shown.contains("(note: checked with ***)"), "{shown}");
    let recorded = read(&journal);
    assert!(!recorded.contains(SECRET), "{recorded}");
    let decision = lines(&journal).pop().expect("entries");
    assert_eq!(decision["type"], "decision", "{decision}");
    assert_eq!(decision["by"], "***", "{decision}");
}
