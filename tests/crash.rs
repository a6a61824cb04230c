//! Crash tests: a real `coordops run` with real agent processes
//! (tests/fixtures/durable/worker.sh, which logs every invocation) is killed
//! with `kill -9` at a random moment, then `coordops resume` (itself killed
//! again in some iterations, or stopped by SIGTERM as at a reboot) until a
//! resume ends normally. Checked each time: the final report equals an
//! uninterrupted run's (apart from times and the run id); no attempt whose
//! end was journalled is ever started again; every journal reads back with
//! `coordops report`; no agent process is left behind.
//!
//! The kill moment is chosen by synchronising on what happened (the k-th
//! line of the invocation log, for a random k) plus a small random extra
//! delay; the randomness comes from a seeded PRNG whose seed every failure
//! prints. `COORDOPS_CRASH_ITERATIONS` (default 50) sets how many killed
//! runs; `COORDOPS_CRASH_SEED` replays one.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

use crate::support::{alive, group_alive, normalise, root, signal, wait_exit, wait_for, Rng};

const PLAYBOOK: &str = "tests/fixtures/durable/crash.ops";
const SIGNAL: &str = "CRASH:RUN";
/// Killed runs in CI; more with `COORDOPS_CRASH_ITERATIONS`.
const DEFAULT_ITERATIONS: u64 = 50;
/// Kills of a resume per iteration at most, so every iteration ends.
const MAX_KILLS: usize = 4;
/// Iterations run side by side: the agents mostly sleep.
const WORKERS: u64 = 3;

/// One line of the invocation log.
#[derive(Debug, Clone)]
struct Invocation {
    task: String,
    key: String,
    attempt: u64,
    pid: i32,
    done: bool,
}

/// A temp dir with a backends file whose agent logs to `inv.log`.
struct Setup {
    dir: TempDir,
    log: PathBuf,
    journal: PathBuf,
    report: PathBuf,
    backends: PathBuf,
}

impl Setup {
    fn new() -> Self {
        let dir = TempDir::new().expect("tempdir");
        let log = dir.path().join("inv.log");
        let backends = dir.path().join("backends.toml");
        let worker = root().join("tests/fixtures/durable/worker.sh");
        std::fs::write(
            &backends,
            format!(
                "[agents.W]\ncommand = [{:?}]\nenv = {{ CRASH_LOG = {:?} }}\ngrace = \"1s\"\n\n\
                 [defaults]\napprovals = \"grant\"\n",
                worker.to_string_lossy(),
                log.to_string_lossy()
            ),
        )
        .expect("backends file");
        Setup {
            journal: dir.path().join("run.jsonl"),
            report: dir.path().join("report.json"),
            log,
            backends,
            dir,
        }
    }

    /// Starts `coordops ARGS… --format json --output report.json`.
    fn spawn(&self, args: &[&std::ffi::OsStr]) -> Child {
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("stderr.txt"))
            .expect("stderr file");
        Command::new(env!("CARGO_BIN_EXE_coordops"))
            .current_dir(root())
            .args(args)
            .args(["--format", "json", "--output"])
            .arg(&self.report)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("coordops starts")
    }

    fn run(&self) -> Child {
        self.spawn(&[
            "run".as_ref(),
            PLAYBOOK.as_ref(),
            "--signal".as_ref(),
            SIGNAL.as_ref(),
            "--backends".as_ref(),
            self.backends.as_os_str(),
            "--journal".as_ref(),
            self.journal.as_os_str(),
        ])
    }

    fn resume(&self) -> Child {
        self.spawn(&["resume".as_ref(), self.journal.as_os_str()])
    }

    fn invocations(&self) -> Vec<Invocation> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        // A line is complete once its newline is written (one write each).
        text.split_inclusive('\n')
            .filter(|l| l.ends_with('\n'))
            .map(|line| {
                let f: Vec<&str> = line.trim_end().split('\t').collect();
                assert_eq!(f.len(), 6, "a log line: {line:?}");
                Invocation {
                    task: f[1].to_string(),
                    key: f[2].to_string(),
                    attempt: f[3].parse().expect("attempt"),
                    pid: f[4].parse().expect("pid"),
                    done: f[5] == "done",
                }
            })
            .collect()
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.txt")).unwrap_or_default()
    }

    /// `(key, attempt)` of every attempt the journal records an answer
    /// (or a timeout) for.
    fn journalled_ends(&self) -> BTreeSet<(String, u64)> {
        let text = std::fs::read_to_string(&self.journal).unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            // An attempt an interrupt stopped (`aborted`) is sent again.
            .filter(|e| e["type"] == "attempt_end" && e["outcome"] != "aborted")
            .map(|e| {
                (
                    e["key"].as_str().unwrap_or_default().to_string(),
                    e["attempt"].as_u64().unwrap_or_default(),
                )
            })
            .collect()
    }

    /// `coordops report JOURNAL --format json`: its exit code and report.
    fn report_from_journal(&self) -> (Option<i32>, Value) {
        let out = Command::new(env!("CARGO_BIN_EXE_coordops"))
            .current_dir(root())
            .arg("report")
            .arg(&self.journal)
            .args(["--format", "json"])
            .output()
            .expect("coordops report");
        let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (out.status.code(), report)
    }
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// What an uninterrupted run did.
struct Baseline {
    /// Its normalised report.
    report: Value,
    /// The lines of its invocation log.
    lines: usize,
    /// Every `(key without the run id, attempt)` it sent.
    sent: BTreeSet<(String, u64)>,
}

/// `(key without the run id, attempt)` of every invocation.
fn sent(invocations: &[Invocation], run_id: &str) -> BTreeSet<(String, u64)> {
    invocations
        .iter()
        .map(|i| (i.key.replacen(run_id, "RUN", 1), i.attempt))
        .collect()
}

/// The uninterrupted run.
fn baseline() -> Baseline {
    let setup = Setup::new();
    let mut run = setup.run();
    let status = wait_exit(&mut run).expect("the baseline run ends");
    assert_eq!(status.code(), Some(0), "{}", setup.stderr());
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&setup.report).expect("report"))
            .expect("a JSON report");
    assert_eq!(report["status"], "COMPLETE");
    let run_id = report["run_id"].as_str().expect("run id").to_string();
    let invocations = setup.invocations();
    assert_eq!(
        invocations.iter().filter(|i| !i.done).count(),
        10,
        "7 steps, 3 `parallel for` elements… {invocations:?}"
    );
    Baseline {
        report: normalise(&report, &run_id),
        lines: invocations.len(),
        sent: sent(&invocations, &run_id),
    }
}

/// One killed-and-resumed run: how many `kill -9`s landed, or what went
/// wrong.
fn iteration(seed: u64, baseline: &Baseline) -> Result<(usize, String), String> {
    let (expected, lines) = (&baseline.report, baseline.lines);
    let mut rng = Rng::new(seed);
    let setup = Setup::new();
    let mut child = setup.run();
    let (mut kills, mut kill_9s) = (0, 0);
    // Whether a SIGTERM ended a process ABORTED (as it journals).
    let mut aborted_before = false;
    // `(key, attempt)` journalled as ended before the current process started.
    let mut ended_before: BTreeSet<(String, u64)> = BTreeSet::new();
    let mut seen = 0;
    let mut phases = Vec::new();
    loop {
        // Kill the first run after at least one agent started (so its
        // journal has begun), a resume anywhere (even before it starts one).
        let may_kill = kills == 0 || (kills < MAX_KILLS && rng.below(2) == 0);
        let (mut killed, mut terminated) = (false, false);
        if may_kill {
            // The first run always dies before its last agent is done.
            let k = if kills == 0 {
                1 + rng.below(lines as u64 - 1) as usize
            } else {
                seen + rng.below(lines as u64 / 2 + 1) as usize
            };
            wait_for("the k-th invocation line or coordops's exit", || {
                setup.invocations().len() >= k || child.try_wait().ok().flatten().is_some()
            })?;
            // Some resumes are stopped as at a reboot (SIGTERM) instead.
            let how = if kills > 0 && rng.below(3) == 0 {
                libc::SIGTERM
            } else {
                libc::SIGKILL
            };
            std::thread::sleep(Duration::from_micros(rng.below(30_000)));
            if child.try_wait().ok().flatten().is_none() {
                signal(&child, how);
                killed = true;
                terminated = how == libc::SIGTERM;
                kill_9s += usize::from(!terminated);
            }
        }
        let status = wait_exit(&mut child)?;
        let invocations = setup.invocations();
        let started: Vec<&Invocation> = invocations[seen..].iter().filter(|i| !i.done).collect();
        phases.push(format!(
            "{} after {} line(s): {}",
            match (killed, terminated) {
                (true, true) => "terminated",
                (true, false) => "killed",
                _ => "ended",
            },
            invocations.len(),
            started
                .iter()
                .map(|i| format!("{}#{}", i.task, i.attempt))
                .collect::<Vec<_>>()
                .join(" ")
        ));
        let context = || format!("phases: {phases:?}\nstderr:\n{}", setup.stderr());
        // No agent outlives coordops, nor what it started (each agent
        // leads its own process group and leaves a `sleep 300` in it).
        for inv in &invocations[seen..] {
            wait_for(
                &format!("agent pid {} and its group to be gone", inv.pid),
                || !alive(inv.pid) && !group_alive(inv.pid),
            )
            .map_err(|e| format!("{e}: an agent outlived coordops\n{}", context()))?;
        }
        // Within one process an attempt starts once; and never again once
        // an earlier process journalled its end.
        let mut here = BTreeSet::new();
        for inv in &started {
            let id = (inv.key.clone(), inv.attempt);
            if ended_before.contains(&id) {
                return Err(format!(
                    "{} attempt {} ({}) was started again after its end was journalled\n{}",
                    inv.key,
                    inv.attempt,
                    inv.task,
                    context()
                ));
            }
            if !here.insert(id) {
                return Err(format!(
                    "{} attempt {} was started twice by one process\n{}",
                    inv.key,
                    inv.attempt,
                    context()
                ));
            }
        }
        // Every journal reads back: a killed run's as UNFINISHED, unless
        // the kill landed after its `end` line (then it is the final
        // report); a run that ended, as exactly the report it wrote.
        let (code, rebuilt) = setup.report_from_journal();
        let finished = if killed {
            // SIGTERM: the run stops its agents and ends ABORTED (exit 4).
            // A process killed before it wrote anything (a SIGTERM before
            // coordops handles signals, too) leaves the journal as it was:
            // UNFINISHED, or ABORTED by an earlier SIGTERM.
            let handled = terminated && status.code() == Some(4);
            aborted_before |= handled;
            let stopped = rebuilt["status"] == "UNFINISHED"
                || (aborted_before && rebuilt["status"] == "ABORTED");
            if code == Some(0) && rebuilt["status"] == "COMPLETE" {
                Some(rebuilt)
            } else if code != Some(4) || !stopped || (handled && rebuilt["status"] != "ABORTED") {
                return Err(format!(
                    "the killed run's journal reads back as {code:?} {}\n{}",
                    rebuilt["status"],
                    context()
                ));
            } else {
                None
            }
        } else {
            if status.code() != Some(0) {
                return Err(format!("coordops exited with {status}\n{}", context()));
            }
            let written: Value = std::fs::read_to_string(&setup.report)
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok())
                .ok_or_else(|| format!("no JSON report\n{}", context()))?;
            if code != Some(0) || rebuilt != written {
                return Err(format!(
                    "`coordops report` gives {code:?} and another report than the run\n{}",
                    context()
                ));
            }
            Some(written)
        };
        if let Some(report) = finished {
            let run_id = report["run_id"].as_str().unwrap_or_default().to_string();
            let got = normalise(&report, &run_id);
            if got != *expected {
                return Err(format!(
                    "the final report differs from the uninterrupted run's:\n{}\n---- expected\n{}\n{}",
                    serde_json::to_string_pretty(&got).unwrap_or_default(),
                    serde_json::to_string_pretty(expected).unwrap_or_default(),
                    context()
                ));
            }
            // At-least-once, with one key per step: what was sent again
            // was sent with the key (and attempt number) it had before, and
            // nothing else was sent.
            if let Some(other) = invocations.iter().find(|i| !i.key.starts_with(&run_id)) {
                return Err(format!(
                    "{} is not a key of {run_id}\n{}",
                    other.key,
                    context()
                ));
            }
            let now = sent(&invocations, &run_id);
            if now != baseline.sent {
                return Err(format!(
                    "sent {now:?}, an uninterrupted run sends {:?}\n{}",
                    baseline.sent,
                    context()
                ));
            }
            return Ok((kill_9s, phases.join("; ")));
        }
        kills += 1;
        ended_before = setup.journalled_ends();
        seen = setup.invocations().len();
        child = setup.resume();
    }
}

#[test]
fn kill_9_at_random_moments_then_resume_ends_as_an_uninterrupted_run() {
    let iterations = env_u64("COORDOPS_CRASH_ITERATIONS").unwrap_or(DEFAULT_ITERATIONS);
    let seed = env_u64("COORDOPS_CRASH_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    let baseline = baseline();
    let (failures, kills): (Vec<String>, usize) = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..WORKERS)
            .map(|w| {
                let baseline = &baseline;
                scope.spawn(move || {
                    let (mut failures, mut kills) = (Vec::new(), 0);
                    for i in (w..iterations).step_by(WORKERS as usize) {
                        let iteration_seed = seed.wrapping_add(i);
                        match iteration(iteration_seed, baseline) {
                            Ok((landed, phases)) => {
                                kills += landed;
                                if std::env::var_os("COORDOPS_CRASH_VERBOSE").is_some() {
                                    eprintln!("iteration {i}: {landed} kill(s): {phases}");
                                }
                            }
                            Err(e) => failures.push(format!(
                                "iteration {i} failed; replay it with COORDOPS_CRASH_SEED={iteration_seed} COORDOPS_CRASH_ITERATIONS=1:\n{e}"
                            )),
                        }
                    }
                    (failures, kills)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a worker"))
            .fold((Vec::new(), 0), |(mut all, n), (failures, kills)| {
                all.extend(failures);
                (all, n + kills)
            })
    });
    eprintln!("crash test: {iterations} runs, {kills} kill -9s, seed {seed}");
    assert!(
        failures.is_empty(),
        "{} of {iterations} killed runs failed (seed {seed}):\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    // Nearly every first run dies, and half the resumes: at least one kill
    // per run, over enough runs.
    if iterations >= 20 {
        assert!(kills >= iterations as usize, "only {kills} kills landed");
    }
}

/// Paths in the fixture resolve from the repository root.
#[test]
fn the_crash_fixture_checks_clean() {
    let out = Command::new(env!("CARGO_BIN_EXE_coordops"))
        .current_dir(root())
        .args(["check", PLAYBOOK])
        .output()
        .expect("coordops check");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(Path::new(&root().join("tests/fixtures/durable/worker.sh")).exists());
}
