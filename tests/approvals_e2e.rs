//! Approvals from people, end to end on the real binary with real agent
//! processes (tests/fixtures/durable/release.ops, served by worker.sh which
//! logs every invocation): a run with stdin not a terminal suspends at its
//! approval (exit 5, WAITING); `coordops runs` lists it; `coordops approve`
//! records a decision; `coordops resume` takes the granted, denied or timed
//! out path without invoking the agents that ran before the approval again,
//! and a resume killed after the decision resumes again without asking.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::SystemTime;

use serde_json::Value;
use tempfile::TempDir;

use crate::support::{normalise, root, signal, wait_exit, wait_for};

const PLAYBOOK: &str = "tests/fixtures/durable/release.ops";

/// A temp dir coordops runs in (its journals go to `.coordops/runs/`), with
/// a backends file whose agent logs to `inv.log`.
struct Release {
    dir: TempDir,
    backends: PathBuf,
}

impl Release {
    fn new() -> Self {
        Release::holding("")
    }

    /// With `task` held in flight until [`Release::hold_until`] exists.
    fn holding(task: &str) -> Self {
        let dir = TempDir::new().expect("tempdir");
        let backends = dir.path().join("backends.toml");
        std::fs::write(
            &backends,
            format!(
                "[agents.W]\ncommand = [{:?}]\n\
                 env = {{ CRASH_LOG = {:?}, HOLD_TASK = {task:?}, HOLD_UNTIL = {:?} }}\n",
                root()
                    .join("tests/fixtures/durable/worker.sh")
                    .to_string_lossy(),
                dir.path().join("inv.log").to_string_lossy(),
                dir.path().join("go").to_string_lossy(),
            ),
        )
        .expect("backends file");
        Release { dir, backends }
    }

    /// The file whose existence lets a held task go on.
    fn hold_until(&self) -> PathBuf {
        self.dir.path().join("go")
    }

    /// `coordops ARGS…` in the temp dir, stdin not a terminal.
    fn coordops(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_coordops"))
            .current_dir(self.dir.path())
            .env("COLUMNS", "100")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("coordops runs")
    }

    /// `coordops run` on `signal`: it suspends; the journal's path.
    fn suspended_run(&self, signal: &str) -> String {
        let playbook = root().join(PLAYBOOK);
        let out = self.coordops(&[
            "run",
            &playbook.to_string_lossy(),
            "--signal",
            signal,
            "--backends",
            &self.backends.to_string_lossy(),
            "--format",
            "json",
        ]);
        let report = json(&out);
        assert_eq!(out.status.code(), Some(5), "{}", text(&out));
        assert_eq!(report["status"], "WAITING", "{report}");
        // The event lines name the suspension (docs/backends.md, "Seeing a run").
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(" SUSPEND waiting for `release`"),
            "{stderr}"
        );
        let runs = self.dir.path().join(".coordops/runs");
        let journals: Vec<PathBuf> = std::fs::read_dir(&runs)
            .expect("the runs folder")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
            .collect();
        assert_eq!(journals.len(), 1, "{journals:?}");
        let journal = &journals[0];
        let last = entries(journal).pop().expect("entries");
        assert_eq!(last["type"], "suspend", "{last}");
        assert_eq!(last["waiting_for"], serde_json::json!(["release"]));
        journal.to_string_lossy().into_owned()
    }

    /// The task of every invocation that started, in order.
    fn invoked(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("inv.log"))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.ends_with("\tstart"))
            .map(|l| l.split('\t').nth(1).unwrap_or_default().to_string())
            .collect()
    }

    /// `coordops resume JOURNAL --format json`: its exit code and report,
    /// which `coordops report` gives back the same.
    fn resume(&self, journal: &str) -> (Option<i32>, Value) {
        let out = self.coordops(&["resume", journal, "--format", "json"]);
        let report = json(&out);
        let again = self.coordops(&["report", journal, "--format", "json"]);
        assert_eq!(again.status.code(), out.status.code(), "{}", text(&again));
        if out.status.code() == Some(5) {
            // A resume that suspends again says, as `run` does, how to go on.
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr.contains("waiting for approval `")
                    && stderr.contains(&format!("decide: coordops approve {journal} ")),
                "{stderr}"
            );
            // A waiting run's report is rebuilt from its entries: the same
            // but for the replayed clock's milliseconds (the replay runs a
            // millisecond or so ahead of the recorded times).
            let run_id = report["run_id"].as_str().unwrap_or_default();
            let timeless = |mut r: Value| {
                for wait in r["waiting_for"].as_array_mut().into_iter().flatten() {
                    if let Some(wait) = wait.as_object_mut() {
                        for key in ["deadline", "deadline_ms", "requested_at"] {
                            wait.remove(key);
                        }
                    }
                }
                normalise(&r, run_id)
            };
            assert_eq!(
                timeless(json(&again)),
                timeless(report.clone()),
                "the journal reads back"
            );
        } else {
            assert_eq!(json(&again), report, "the journal reads back exactly");
        }
        (out.status.code(), report)
    }
}

fn text(out: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not a JSON report ({e}):\n{}", text(out)))
}

fn entries(journal: &Path) -> Vec<Value> {
    std::fs::read_to_string(journal)
        .expect("journal")
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn assert_success(out: &Output) {
    assert!(out.status.success(), "{}", text(out));
}

#[test]
fn a_granted_release_waits_for_a_person_then_completes() {
    let release = Release::new();
    let journal = release.suspended_run("REL:RELEASE");
    assert_eq!(release.invoked(), ["build"]);
    // Resumed before anyone decided (a restart): it waits again, for the
    // same approval.
    let (code, report) = release.resume(&journal);
    assert_eq!(code, Some(5), "{report}");
    assert_eq!(report["waiting_for"][0]["name"], "release", "{report}");

    let runs = release.coordops(&["runs"]);
    assert_success(&runs);
    let listing = String::from_utf8_lossy(&runs.stdout);
    let run_id = Path::new(&journal)
        .file_stem()
        .expect("a file name")
        .to_string_lossy()
        .into_owned();
    let line = listing
        .lines()
        .find(|l| l.contains(&run_id))
        .unwrap_or_else(|| panic!("{run_id} is not listed:\n{listing}"));
    assert!(line.to_uppercase().contains("WAITING"), "{line}");
    assert!(line.contains("REL:RELEASE"), "{line}");
    assert!(line.contains("release"), "{line}");

    let approve = release.coordops(&[
        "approve",
        &journal,
        "release",
        "--grant",
        "--by",
        "alice",
        "--note",
        "ok, ship it",
    ]);
    assert_success(&approve);
    let (code, report) = release.resume(&journal);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["status"], "COMPLETE", "{report}");
    let shown = report.to_string();
    assert!(shown.contains("alice"), "the decision's author: {report}");
    assert!(
        shown.contains("ok, ship it"),
        "the decision's note: {report}"
    );
    assert_eq!(
        release.invoked(),
        ["build", "publish"],
        "build ran before the approval and is not run again"
    );

    let markdown = release.coordops(&["report", &journal]);
    assert_success(&markdown);
    let markdown = String::from_utf8_lossy(&markdown.stdout);
    assert!(markdown.contains("alice"), "{markdown}");
}

#[test]
fn a_denied_release_takes_the_deny_path() {
    let release = Release::new();
    let journal = release.suspended_run("REL:RELEASE");
    assert_success(&release.coordops(&[
        "approve",
        &journal,
        "release",
        "--deny",
        "--by",
        "bob",
        "--note",
        "not today",
    ]));
    let (code, report) = release.resume(&journal);
    assert_eq!(code, Some(4), "{report}");
    assert_eq!(report["status"], "FAILED", "{report}");
    assert_eq!(report["summary"], "Release 1.2.3 was not approved");
    assert!(report.to_string().contains("bob"), "{report}");
    assert_eq!(release.invoked(), ["build"], "nothing is published");
}

#[test]
fn resuming_after_the_approval_deadline_takes_the_timeout_path() {
    let release = Release::new();
    let journal = release.suspended_run("REL:HURRIED");
    let wait = entries(Path::new(&journal))
        .into_iter()
        .find(|e| e["type"] == "approval_wait")
        .expect("an approval_wait entry");
    let deadline = humantime::parse_rfc3339_weak(wait["deadline"].as_str().expect("a deadline"))
        .expect("an RFC 3339 deadline");
    // The deadline is on the wall clock by design: wait until it has passed
    // (a 2s timeout; the guard is generous).
    wait_for("the approval's deadline to pass", || {
        SystemTime::now() > deadline
    })
    .expect("the clock moves");
    let (code, report) = release.resume(&journal);
    assert_eq!(code, Some(4), "{report}");
    assert_eq!(report["status"], "ESCALATED", "{report}");
    assert_eq!(
        report["escalation"]["title"], "No decision on release 1.2.3 within 2s",
        "{report}"
    );
    assert_eq!(release.invoked(), ["build"], "nothing is published");
}

#[test]
fn a_resume_killed_after_the_decision_resumes_again_without_asking() {
    let release = Release::holding("publish");
    let journal = release.suspended_run("REL:RELEASE");
    assert_success(
        &release.coordops(&["approve", &journal, "release", "--grant", "--by", "carol"]),
    );
    let mut resume = Command::new(env!("CARGO_BIN_EXE_coordops"))
        .current_dir(release.dir.path())
        .args(["resume", &journal, "--format", "json"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("resume starts");
    wait_for("publish to start", || {
        release.invoked().iter().any(|t| t == "publish")
    })
    .expect("publish starts");
    signal(&resume, libc::SIGKILL);
    wait_exit(&mut resume).expect("the resume dies");
    std::fs::write(release.hold_until(), "").expect("let publish go");

    let (code, report) = release.resume(&journal);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["status"], "COMPLETE", "{report}");
    assert!(report.to_string().contains("carol"), "{report}");
    let invoked = release.invoked();
    assert_eq!(
        invoked,
        ["build", "publish", "publish"],
        "publish, in flight at the kill, is sent again"
    );
    let decisions = entries(Path::new(&journal))
        .into_iter()
        .filter(|e| e["type"] == "decision")
        .count();
    assert_eq!(decisions, 1, "the decision is not asked for again");
}
