//! The process backend, the backends file and `coordops run`, with real
//! processes (tests/fixtures/agents/) on the real clock.
//!
//! No test here depends on how fast a process starts: agents that must
//! answer get generous timeouts, and a test that needs a process stopped
//! waits until the agent says it is ready (it writes its pid to a file),
//! then cancels. Durations are asserted only as lower bounds (a grace period
//! was honoured) or as hang guards far above any real duration.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::{json, Map, Value};
use tokio_util::sync::CancellationToken;

use crate::support::root;
use coordops::ast::Playbook;
use coordops::runtime::backend::{AgentBackend, Reply, TaskOutcome, TaskRequest};
use coordops::runtime::config::{AgentBackendConfig, ApprovalPolicy, BackendsConfig};
use coordops::runtime::process::{ProcessAgent, ProcessBackend, TAIL_LINES};
use coordops::runtime::result::{RunResult, RunStatus, StepOutcome};
use coordops::runtime::routing_backend::RoutingBackend;
use coordops::runtime::simulated::{Scenario, SimulatedBackend};
use coordops::runtime::{context, run, RunRequest};

const PLAYBOOK: &str = "tests/fixtures/backends/agents.ops";
const BACKENDS: &str = "tests/fixtures/backends/agents.toml";

/// The most any single wait here may take before the test fails as hung.
const HANG_GUARD: Duration = Duration::from_secs(60);
/// A timeout or grace period that a working test never reaches.
const GENEROUS: Duration = Duration::from_secs(30);

fn script(name: &str) -> String {
    root()
        .join("tests/fixtures/agents")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// An agent run by an interpreter: the executable bit does not matter.
fn agent(interpreter: &str, name: &str) -> ProcessAgent {
    let mut agent = ProcessAgent::new(vec![interpreter.to_string(), script(name)]);
    agent.grace = GENEROUS;
    agent
}

fn shell(code: &str) -> ProcessAgent {
    ProcessAgent::new(vec!["sh".into(), "-c".into(), code.into()])
}

fn backend(agents: &[(&str, ProcessAgent)]) -> ProcessBackend {
    ProcessBackend::new(
        agents
            .iter()
            .map(|(n, a)| ((*n).to_string(), a.clone()))
            .collect::<HashMap<_, _>>(),
    )
}

fn request(agent: &str, args: Value, cancel: &CancellationToken) -> TaskRequest {
    TaskRequest {
        run_id: "test-run".into(),
        agent: agent.to_string(),
        task: "work".to_string(),
        args: std::sync::Arc::new(args.as_object().cloned().unwrap_or_default()),
        attempt: 2,
        timeout: GENEROUS,
        cancel: cancel.clone(),
        idempotency_key: "test-run/1:1".into(),
        deadline: "2026-01-01T00:00:30.000Z".to_string(),
        assignment: Default::default(),
        stderr: Default::default(),
        step: None,
    }
}

/// One call under the hang guard.
async fn call(backend: &ProcessBackend, agent: &str) -> Reply {
    tokio::time::timeout(
        HANG_GUARD,
        backend.call(request(agent, json!({}), &CancellationToken::new())),
    )
    .await
    .expect("the call ended")
}

fn failure(kind: &str, message: &str) -> TaskOutcome {
    TaskOutcome::failure(kind, message)
}

fn kind_of(outcome: &TaskOutcome) -> (&str, &str) {
    match outcome {
        TaskOutcome::Failure { kind, message } => (kind.as_str(), message.as_str()),
        TaskOutcome::Success(_) => ("success", ""),
    }
}

use crate::support::alive;

/// The fields of `/proc/PID/stat` after the command name: state, ppid,
/// pgrp, …
fn stat_fields(pid: i32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    Some(rest.split_whitespace().map(str::to_string).collect())
}

/// The parent of `pid`, from `/proc`.
fn ppid_of(pid: i32) -> Option<i32> {
    stat_fields(pid)?.get(1)?.parse().ok()
}

/// The process group of `pid`, from `/proc`.
fn pgid_of(pid: i32) -> Option<i32> {
    stat_fields(pid)?.get(2)?.parse().ok()
}

/// The guard that `parent` started for process group `pgid`: its child
/// running `/bin/sh -c SCRIPT sh PGID`, zombie or not.
fn guard_of(parent: i32, pgid: i32) -> Option<i32> {
    let want = pgid.to_string();
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
            if ppid_of(pid)? != parent {
                return None;
            }
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let args: Vec<&[u8]> = cmdline
                .split(|b| *b == 0)
                .filter(|a| !a.is_empty())
                .collect();
            let is_guard = args.first() == Some(&&b"/bin/sh"[..])
                && args.len() == 5
                && args.last() == Some(&want.as_bytes());
            is_guard.then_some(pid)
        })
}

/// Sends SIGKILL to `pid` (a process a test left behind on purpose, or
/// must not leave behind).
fn kill_pid(pid: i32) {
    if pid > 1 {
        let _ = std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// The pause between two polls.
fn poll_interval() -> Duration {
    Duration::from_secs(1) / 20
}

/// Polls `done` until it holds or the hang guard passes.
fn poll_until(mut done: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < HANG_GUARD {
        if done() {
            return true;
        }
        std::thread::sleep(poll_interval());
    }
    done()
}

/// Like [`poll_until`], without blocking the runtime.
async fn poll_until_async(mut done: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < HANG_GUARD {
        if done() {
            return true;
        }
        tokio::time::sleep(poll_interval()).await;
    }
    done()
}

/// Waits for `pid` to die (zombies count as dead).
async fn wait_dead(pid: i32) -> bool {
    poll_until_async(|| !alive(pid)).await
}

fn pid_in(path: &Path) -> Option<i32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Waits for the agent to write its pid to `path`.
async fn wait_for_pid(path: &Path) -> i32 {
    assert!(
        poll_until_async(|| pid_in(path).is_some()).await,
        "the agent never wrote {}",
        path.display()
    );
    pid_in(path).unwrap_or(0)
}

fn read_pid(path: &Path) -> i32 {
    pid_in(path).expect("the agent wrote a pid")
}

/// An agent that writes its pid to `dir/ready.pid` once it is ready.
fn with_ready_file(mut agent: ProcessAgent, dir: &Path) -> (ProcessAgent, PathBuf) {
    let ready = dir.join("ready.pid");
    agent
        .env
        .insert("READY_FILE".into(), ready.to_string_lossy().into_owned());
    (agent, ready)
}

/// The fixture playbook.
fn playbook() -> Playbook {
    let file = coordops::source::load(&root().join(PLAYBOOK)).expect("loads");
    coordops::syntax::parse(&file).playbook.expect("parses")
}

mod cli;
mod config;
mod processes;
mod protocol;
mod runs;
