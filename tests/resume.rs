//! `coordops resume` on the real binary with real agent processes that log
//! every invocation: a run killed (`kill -9`) while its second step is in
//! flight resumes to COMPLETE without calling the first step's agent again;
//! a changed playbook is refused (or, with --allow-changed, its divergence
//! shown); an ended run has nothing to resume.
//!
//! The tests wait for what the agents did (a line in their log), never on
//! wall-clock budgets; the caps are hang guards only.

use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use crate::support::root;
use assert_cmd::Command;
use predicates::prelude::*;
use tempfile::TempDir;

const CAP: Duration = Duration::from_secs(60);

/// A temp dir with a copy of the fixture playbook and a backends file whose
/// WORKER logs to `log` and blocks its `block` task until `release` exists.
struct Setup {
    dir: TempDir,
}

impl Setup {
    fn new(block: &str) -> Setup {
        let dir = tempfile::tempdir().expect("temp dir");
        let fixture = root().join("tests/fixtures/resume");
        std::fs::copy(fixture.join("resume.ops"), dir.path().join("resume.ops")).expect("copy");
        let text = format!(
            "[agents.WORKER]\ncommand = [\"python3\", {worker:?}]\n\
             env = {{ LOG = {log:?}, BLOCK_TASK = {block:?}, RELEASE = {release:?} }}\n",
            worker = fixture.join("worker.py").to_string_lossy(),
            log = dir.path().join("log").to_string_lossy(),
            release = dir.path().join("release").to_string_lossy(),
        );
        std::fs::write(dir.path().join("backends.toml"), text).expect("backends");
        Setup { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn log(&self) -> Vec<String> {
        std::fs::read_to_string(self.path("log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Invocations of `task`: (key, attempt) per line.
    fn invocations(&self, task: &str) -> Vec<String> {
        self.log()
            .into_iter()
            .filter(|l| l.starts_with(&format!("{task} ")))
            .collect()
    }

    /// Waits until the log has `n` lines `started TASK PID`; the pids.
    fn wait_started(&self, task: &str, n: usize) -> Vec<i32> {
        let start = Instant::now();
        let prefix = format!("started {task} ");
        loop {
            let pids: Vec<i32> = self
                .log()
                .iter()
                .filter_map(|l| l.strip_prefix(&prefix)?.trim().parse().ok())
                .collect();
            if pids.len() >= n {
                return pids;
            }
            assert!(start.elapsed() < CAP, "gave up waiting for {prefix}#{n}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn release(&self) {
        std::fs::write(self.path("release"), "").expect("release");
    }

    /// Starts `coordops ARGS…` in the background (cwd: the temp dir).
    fn spawn(&self, args: &[&str]) -> Child {
        StdCommand::new(env!("CARGO_BIN_EXE_coordops"))
            .current_dir(self.dir.path())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("coordops starts")
    }

    /// `coordops run` of the fixture, in the background.
    fn spawn_run(&self) -> Child {
        self.spawn(&[
            "run",
            "resume.ops",
            "--signal",
            "RESUME:GO",
            "--backends",
            "backends.toml",
            "--journal",
            "run.jsonl",
        ])
    }

    fn coordops(&self) -> Command {
        let mut cmd = crate::support::coordops();
        // A hang guard only: a command that never ends fails the test.
        cmd.current_dir(self.dir.path()).timeout(CAP);
        cmd
    }
}

fn kill9(child: &mut Child) {
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
}

/// Runs until the second step is in flight, then kills coordops.
fn killed_in_step_two() -> Setup {
    let setup = Setup::new("second");
    let mut run = setup.spawn_run();
    let pids = setup.wait_started("second", 1);
    kill9(&mut run);
    // `kill -9` of coordops takes its agents with it.
    wait_gone(&pids);
    setup
}

/// Waits until each of `pids` is gone, failing after [`CAP`].
fn wait_gone(pids: &[i32]) {
    for &pid in pids {
        let start = Instant::now();
        while alive(pid) {
            assert!(start.elapsed() < CAP, "agent {pid} outlived coordops");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
fn a_run_killed_mid_step_resumes_to_complete_without_redoing_finished_steps() {
    let setup = killed_in_step_two();
    setup.release();
    setup
        .coordops()
        .args(["resume", "run.jsonl", "--format", "json"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("\"status\": \"COMPLETE\""));
    assert_eq!(setup.invocations("first").len(), 1, "{:?}", setup.log());
    let second = setup.invocations("second");
    assert_eq!(second.len(), 2, "{:?}", setup.log());
    assert_eq!(
        second[0], second[1],
        "sent again with the same key and attempt"
    );
    assert_eq!(setup.invocations("third").len(), 1, "{:?}", setup.log());
    // The journal is one run: its report is the resumed run's, COMPLETE.
    setup
        .coordops()
        .args(["report", "run.jsonl"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("**Status:** COMPLETE"));
    let journal = std::fs::read_to_string(setup.path("run.jsonl")).expect("journal");
    assert_eq!(journal.matches("\"type\":\"start\"").count(), 1);
    assert_eq!(journal.matches("\"type\":\"resume\"").count(), 1);
    assert_eq!(
        journal
            .matches("\"type\":\"step\",\"name\":\"one\"")
            .count(),
        1,
        "a replayed step is not written again"
    );
    // Nothing left to resume now.
    setup
        .coordops()
        .args(["resume", "run.jsonl"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("nothing to resume").and(predicate::str::contains("COMPLETE")),
        );
}

#[test]
fn the_attempt_sent_again_shows_as_any_attempt_and_the_journal_keeps_one_record_of_it() {
    let setup = killed_in_step_two();
    setup.release();
    let output = setup
        .coordops()
        .args(["resume", "run.jsonl", "-vv"])
        .env_remove("COORDOPS_LOG")
        .output()
        .expect("resume runs");
    assert_eq!(output.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with('+'))
        .map(|l| l.split_once(' ').map_or(l, |(_, rest)| rest))
        .collect();
    let shown = |prefix: &str| lines.iter().filter(|l| l.starts_with(prefix)).count();
    // The attempt in flight is sent again: it shows, with its request.
    assert_eq!(shown("SPAWN two WORKER.second attempt 1"), 1, "{stderr}");
    assert_eq!(shown("REQUEST two "), 1, "{stderr}");
    assert_eq!(shown("SPAWN three WORKER.third attempt 1"), 1, "{stderr}");
    // What the journal answers is not shown again.
    assert_eq!(shown("SPAWN one"), 0, "{stderr}");
    assert_eq!(shown("REQUEST one "), 0, "{stderr}");
    // The journal keeps the one record of the original attempt (the
    // `end` entry lists the run's events again: entries are whole lines).
    let journal = std::fs::read_to_string(setup.path("run.jsonl")).expect("journal");
    let entries = |start: &str| journal.lines().filter(|l| l.starts_with(start)).count();
    let spawns_of_two = journal
        .lines()
        .filter(|l| {
            l.starts_with("{\"type\":\"event\"")
                && l.contains("\"kind\":\"SPAWN\",\"step\":\"two\"")
        })
        .count();
    assert_eq!(spawns_of_two, 1, "{journal}");
    assert_eq!(
        entries("{\"type\":\"attempt\",\"step\":\"two\""),
        1,
        "{journal}"
    );
}

#[test]
fn a_resumed_run_killed_again_resumes_again() {
    let setup = killed_in_step_two();
    let mut resume = setup.spawn(&["resume", "run.jsonl"]);
    setup.wait_started("second", 2);
    kill9(&mut resume);
    setup.release();
    setup
        .coordops()
        .args(["resume", "run.jsonl"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("**Status:** COMPLETE"));
    assert_eq!(setup.invocations("first").len(), 1, "{:?}", setup.log());
    assert_eq!(setup.invocations("second").len(), 3, "{:?}", setup.log());
    assert_eq!(setup.invocations("third").len(), 1, "{:?}", setup.log());
}

#[test]
fn a_changed_playbook_is_refused_unless_allowed_and_then_its_divergence_is_shown() {
    let setup = killed_in_step_two();
    let path = setup.path("resume.ops");
    let text = std::fs::read_to_string(&path).expect("playbook");
    std::fs::write(
        &path,
        text.replace("two = WORKER.second(", "two = WORKER.third("),
    )
    .expect("edit");
    setup
        .coordops()
        .args(["resume", "run.jsonl"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("changed since the run started")
                .and(predicate::str::contains("nothing was started")),
        );
    assert_eq!(setup.log().len(), 3, "nothing ran: {:?}", setup.log());
    setup
        .coordops()
        .args(["resume", "run.jsonl", "--allow-changed"])
        .assert()
        .code(0)
        .stderr(
            predicate::str::contains("leaves the recorded path")
                .and(predicate::str::contains("WORKER.third"))
                .and(predicate::str::contains("recorded: WORKER.second"))
                .and(predicate::str::contains("two = WORKER.third")),
        );
    let journal = std::fs::read_to_string(setup.path("run.jsonl")).expect("journal");
    assert!(journal.contains("\"allow_changed\":true"), "{journal}");
    assert!(journal.contains("\"divergences\":[\""), "{journal}");
}

#[test]
fn a_dry_run_journal_and_a_missing_journal_cannot_be_resumed() {
    let setup = Setup::new("none");
    setup
        .coordops()
        .args([
            "dry-run",
            "resume.ops",
            "--signal",
            "RESUME:GO",
            "--journal",
            "dry.jsonl",
        ])
        .assert()
        .code(0);
    setup
        .coordops()
        .args(["resume", "dry.jsonl"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nothing to resume"));
    setup
        .coordops()
        .args(["resume", "missing.jsonl"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read journal"));
}

#[test]
fn a_run_still_going_cannot_be_resumed_beside_it() {
    let setup = Setup::new("second");
    let mut run = setup.spawn_run();
    setup.wait_started("second", 1);
    setup
        .coordops()
        .args(["resume", "run.jsonl"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "another coordops process is writing",
        ));
    assert_eq!(setup.invocations("second").len(), 1, "{:?}", setup.log());
    setup.release();
    let start = Instant::now();
    while run.try_wait().expect("try_wait").is_none() {
        assert!(start.elapsed() < CAP, "the run did not end");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(setup.invocations("third").len(), 1, "{:?}", setup.log());
}

#[test]
fn lines_added_above_keep_the_path_and_the_key_of_the_attempt_in_flight() {
    let setup = killed_in_step_two();
    let path = setup.path("resume.ops");
    let text = std::fs::read_to_string(&path).expect("playbook");
    std::fs::write(&path, format!("# A note added later\n\n{text}")).expect("edit");
    setup.release();
    setup
        .coordops()
        .args(["resume", "run.jsonl", "--allow-changed"])
        .assert()
        .code(0)
        .stderr(predicate::str::contains(
            "takes the recorded path as far as the journal goes",
        ));
    assert_eq!(setup.invocations("first").len(), 1, "{:?}", setup.log());
    let second = setup.invocations("second");
    assert_eq!(second.len(), 2, "{:?}", setup.log());
    assert_eq!(second[0], second[1], "the key it was first sent with");
}

#[test]
fn sigterm_during_a_resume_aborts_it_with_a_record_and_no_agent_left_and_it_resumes_again() {
    let setup = killed_in_step_two();
    let mut resume = setup.spawn(&["resume", "run.jsonl", "--output", "report.md"]);
    let pids = setup.wait_started("second", 2);
    let pid = i32::try_from(resume.id()).expect("pid");
    // SAFETY: kill(2) on the pid of a child we started and have not reaped.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = resume.wait().expect("exits");
    assert_eq!(status.code(), Some(4));
    let report = std::fs::read_to_string(setup.path("report.md")).expect("report");
    assert!(report.contains("**Status:** ABORTED"), "{report}");
    assert_eq!(setup.invocations("third").len(), 0, "{:?}", setup.log());
    wait_gone(&pids);
    // Stopped by a signal (as by a reboot), the run resumes like a killed one.
    setup.release();
    setup
        .coordops()
        .args(["resume", "run.jsonl"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("**Status:** COMPLETE"));
    assert_eq!(setup.invocations("first").len(), 1, "{:?}", setup.log());
    assert_eq!(setup.invocations("second").len(), 3, "{:?}", setup.log());
    assert_eq!(setup.invocations("third").len(), 1, "{:?}", setup.log());
    setup
        .coordops()
        .args(["report", "run.jsonl"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("**Status:** COMPLETE"));
}

use crate::support::alive;

#[test]
fn an_unfinished_journal_replays_as_a_test_without_calling_agents() {
    let setup = killed_in_step_two();
    let before = setup.log();
    setup
        .coordops()
        .args(["test", "--replay", "run.jsonl"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("run.jsonl ... ok (unfinished)"));
    assert_eq!(setup.log(), before, "no agent was called");
}

#[test]
fn a_real_run_s_journal_replays_as_a_test_without_calling_agents() {
    let setup = Setup::new("none");
    setup
        .coordops()
        .args([
            "run",
            "resume.ops",
            "--signal",
            "RESUME:GO",
            "--backends",
            "backends.toml",
            "--journal",
            "run.jsonl",
        ])
        .assert()
        .code(0);
    let before = setup.log();
    assert_eq!(before.len(), 3, "{before:?}");
    setup
        .coordops()
        .args(["test", "--replay", "run.jsonl"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("run.jsonl ... ok (complete)"));
    assert_eq!(setup.log(), before, "no agent was called");
}

/// Agents without a `cwd` work where the run started; a resume started in
/// another directory runs them there too, not where it was started.
#[test]
fn a_resume_from_another_directory_runs_agents_where_the_run_started() {
    let started = tempfile::tempdir().expect("tempdir");
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let agent = started.path().join("agent.sh");
    std::fs::write(
        &agent,
        "#!/bin/sh\ncat >/dev/null\nprintf '{\"status\":\"success\",\"outputs\":{\"value\":\"%s\"}}\\n' \"$(pwd -P)\"\n",
    )
    .expect("agent");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&agent, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let backends = started.path().join("backends.toml");
    std::fs::write(
        &backends,
        format!(
            "[agents.W]\ncommand = [{:?}]\n",
            agent.display().to_string()
        ),
    )
    .expect("backends");
    let journal = started.path().join("run.jsonl");
    let report = elsewhere.path().join("report.json");
    let playbook = root().join("tests/fixtures/durable/release.ops");
    let coordops = |dir: &Path| {
        let mut cmd = crate::support::coordops();
        cmd.current_dir(dir).timeout(Duration::from_secs(60));
        cmd
    };
    // Nobody at a terminal: the run suspends at the approval.
    coordops(started.path())
        .args(["run", "--signal", "REL:RELEASE", "--journal"])
        .arg(&journal)
        .arg("--backends")
        .arg(&backends)
        .arg(&playbook)
        .assert()
        .code(5);
    coordops(elsewhere.path())
        .arg("approve")
        .arg(&journal)
        .args(["release", "--grant"])
        .assert()
        .success();
    coordops(elsewhere.path())
        .args(["resume", "--format", "json", "--output"])
        .arg(&report)
        .arg(&journal)
        .assert()
        .success();
    let result: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("json");
    let here = started.path().canonicalize().expect("canonical");
    let published = result["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["name"] == "published")
        .expect("published step");
    assert_eq!(
        published["outputs"]["value"],
        here.display().to_string(),
        "the agent worked where the run started"
    );
}
