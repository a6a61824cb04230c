//! The process backend: one configured command per agent, one child process
//! per attempt.
//!
//! Protocol v1 (docs/backends.md, [`super::protocol`]): the child reads one
//! JSON object on stdin, the [`Request`](super::protocol::Request), and prints one
//! JSON object on stdout, `{"status":"success","outputs":{…}}` or
//! `{"status":"failure","kind":"…","message":"…"}`. Anything else is a
//! failure of a kind that says what went wrong: `spawn`, `exit`, `protocol`
//! or `output_too_large` ([`kinds`]); each attempt keeps a bounded tail of
//! the child's stderr ([`Reply::stderr_tail`]).
//!
//! Every child runs in its own process group with a cleared environment plus
//! an allow-list, and on Linux dies with coordops (`PR_SET_PDEATHSIG`); a
//! guard process per attempt (`guard.rs`) kills the rest of its group if
//! coordops dies without finishing it.
//! Stdin is written and stdout and stderr are read at the same time (no pipe
//! deadlocks), each capped; stdout past its cap kills the group at once.
//! When the attempt is abandoned (the request's `cancel` token fires, or the
//! call's future is dropped) a supervisor task sends SIGTERM to the group,
//! waits the grace period, sends SIGKILL and reaps the child. Whatever is
//! left of the group when the child ends (background grandchildren) is
//! killed too: nothing outlives its attempt.
//!
//! The interpreter drops a call's future at a timeout, so the kill sequence
//! cannot live in that future: it runs in a spawned supervisor task. Call
//! [`ProcessBackend::drain`] before the runtime shuts down so every
//! supervisor finishes.

mod group;
#[cfg(unix)]
mod guard;
mod pipes;
mod reply;
mod spawn;
pub(crate) use spawn::os_reason;

/// No guard process where there are no process groups.
#[cfg(not(unix))]
mod guard {
    pub(super) struct Guard;

    impl Guard {
        pub(super) fn start(_pgid: i32, _label: &str) -> Option<Guard> {
            None
        }
        pub(super) fn done(&mut self) {}
        pub(super) async fn reap(self) {}
    }
}

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::process::ExitStatus;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::AsyncWriteExt;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::backend::{
    kinds, AgentBackend, ApprovalRequest, Decision, Reply, StderrTail, TaskOutcome, TaskRequest,
};
use group::{signal_group, Group, Signal};

pub use super::reply::parse_reply;
pub use pipes::{stderr_tail, TAIL_BYTES, TAIL_LINES, TAIL_LINE_CHARS};

/// Most bytes of stdout read; past this the agent is killed at once and the
/// attempt fails with `output_too_large`.
pub const MAX_STDOUT: usize = 1 << 20;
/// Most bytes of stderr kept (the tail the stderr lines are cut from).
pub const MAX_STDERR: usize = StderrTail::CAP;
/// How long to wait for the pipes to close once the group is gone (a process
/// that left the group can hold them open).
const PIPE_DRAIN: Duration = Duration::from_secs(1);

/// Variables a child inherits from coordops; everything else is cleared.
pub const ENV_ALLOW_LIST: [&str; 3] = ["PATH", "HOME", "LANG"];

/// How one agent is run.
#[derive(Clone, PartialEq, Eq)]
pub struct ProcessAgent {
    /// The program and its arguments (never a shell string). A program
    /// given as a path is absolute once the backends file is loaded.
    pub command: Vec<String>,
    /// Extra environment variables, set after the allow-list.
    pub env: BTreeMap<String, String>,
    /// Secrets passed from coordops's environment: name → value. Never
    /// printed by `Debug`.
    pub secrets: BTreeMap<String, String>,
    /// The working directory; coordops's own when `None`.
    pub cwd: Option<PathBuf>,
    /// Time between SIGTERM and SIGKILL when an attempt is abandoned.
    pub grace: Duration,
}

impl ProcessAgent {
    /// An agent running `command` with nothing else configured and the
    /// default grace period.
    pub fn new(command: Vec<String>) -> Self {
        ProcessAgent {
            command,
            env: BTreeMap::new(),
            secrets: BTreeMap::new(),
            cwd: None,
            grace: super::config::DEFAULT_GRACE,
        }
    }
}

impl std::fmt::Debug for ProcessAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessAgent")
            .field("command", &self.command)
            .field("env", &self.env)
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .field("cwd", &self.cwd)
            .field("grace", &self.grace)
            .finish()
    }
}

/// Runs agent tasks as child processes.
pub struct ProcessBackend {
    agents: HashMap<String, Arc<ProcessAgent>>,
    /// Process groups that may still have members.
    live: Arc<Mutex<HashSet<i32>>>,
    /// Supervisor tasks not yet awaited by [`drain`](Self::drain).
    supervisors: Mutex<Vec<JoinHandle<()>>>,
}

pub(crate) use crate::sync::lock;

impl ProcessBackend {
    /// A backend serving `agents`.
    pub fn new(agents: HashMap<String, ProcessAgent>) -> Self {
        ProcessBackend {
            agents: agents.into_iter().map(|(k, v)| (k, Arc::new(v))).collect(),
            live: Arc::default(),
            supervisors: Mutex::default(),
        }
    }

    /// Whether `agent` runs as a process here.
    pub fn serves(&self, agent: &str) -> bool {
        self.agents.contains_key(agent)
    }

    /// Waits until every started process has ended and been reaped
    /// (including kill sequences still in their grace period).
    pub async fn drain(&self) {
        loop {
            let handles = std::mem::take(&mut *lock(&self.supervisors));
            if handles.is_empty() {
                return;
            }
            for handle in handles {
                let _ = handle.await;
            }
        }
    }

    /// Sends SIGKILL to every process group still alive, at once (a second
    /// Ctrl-C, just before exiting).
    pub fn kill_all_now(&self) {
        for pgid in lock(&self.live).iter() {
            signal_group(*pgid, Signal::Kill);
        }
    }

    /// The number of process groups still tracked as alive (for tests).
    pub fn live_groups(&self) -> usize {
        lock(&self.live).len()
    }
}

#[async_trait]
impl AgentBackend for ProcessBackend {
    async fn call(&self, request: TaskRequest) -> Reply {
        let Some(agent) = self.agents.get(&request.agent).cloned() else {
            return TaskOutcome::failure(
                kinds::CONFIGURATION,
                format!("no command is configured for agent `{}`", request.agent),
            )
            .into();
        };
        let mut input = serde_json::to_vec(&request.to_protocol()).unwrap_or_default();
        input.push(b'\n');
        // Cancelled when the interpreter abandons the attempt, and when this
        // future is dropped (which is how a timeout reaches us).
        let stop = request.cancel.child_token();
        let _stop_on_drop = stop.clone().drop_guard();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let live = self.live.clone();
        let tail = request.stderr.clone();
        let label = format!(
            "{}.{} attempt {}",
            request.agent, request.task, request.attempt
        );
        // The supervisor runs on a runtime worker thread, which outlives the
        // child: PR_SET_PDEATHSIG is tied to the spawning thread.
        let handle = tokio::spawn(async move {
            let reply = supervise(&agent, &label, input, stop, live, tail).await;
            let _ = tx.send(reply);
        });
        {
            let mut supervisors = lock(&self.supervisors);
            supervisors.retain(|h| !h.is_finished());
            supervisors.push(handle);
        }
        rx.await.unwrap_or_else(|_| {
            TaskOutcome::failure(kinds::EXIT, "the agent's supervisor task ended early").into()
        })
    }

    async fn approve(&self, _request: ApprovalRequest) -> Decision {
        // Processes decide no approvals: the routing backend's policy does.
        std::future::pending().await
    }
}

/// How the child's life ended, before its output is read.
enum End {
    Exited(std::io::Result<ExitStatus>),
    Cancelled,
    TooLarge,
}

/// Runs one attempt's process to its end and reaps it.
async fn supervise(
    agent: &ProcessAgent,
    label: &str,
    input: Vec<u8>,
    stop: CancellationToken,
    live: Arc<Mutex<HashSet<i32>>>,
    tail: StderrTail,
) -> Reply {
    let program = agent.command.first().map_or("", String::as_str);
    let Some(mut cmd) = spawn::command(agent) else {
        return TaskOutcome::failure(kinds::SPAWN, "the agent's command is empty").into();
    };
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => {
            tracing::debug!(%label, %program, error = %e, "agent process failed to start");
            return TaskOutcome::failure(kinds::SPAWN, spawn::spawn_error(program, &e)).into();
        }
    };
    let pid = child.id().and_then(|p| i32::try_from(p).ok()).unwrap_or(0);
    tracing::debug!(%label, pid, command = ?agent.command, "spawned agent process");
    let mut group = Group::new(pid, live);
    // Kills the group if coordops dies before finishing it (guard.rs).
    let mut watcher = guard::Guard::start(pid, label);

    let stdin = child.stdin.take();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let writer = async move {
        if let Some(mut stdin) = stdin {
            // A child that exits without reading its input is its own
            // business: its exit status and stdout decide the outcome.
            let _ = stdin.write_all(&input).await;
            let _ = stdin.shutdown().await;
        }
    };
    let overflow = CancellationToken::new();
    // What was read stays here when the readers are given up on.
    let captured = pipes::Captured::default();
    let io = {
        let overflow = overflow.clone();
        let captured = captured.clone();
        let tail = tail.clone();
        async move {
            let ((), truncated, ()) = tokio::join!(
                writer,
                pipes::read_capped(stdout, MAX_STDOUT, &overflow, &captured),
                pipes::read_tail(stderr, &tail)
            );
            truncated
        }
    };
    tokio::pin!(io);
    let mut output = None;

    let end = loop {
        tokio::select! {
            biased;
            () = overflow.cancelled() => break End::TooLarge,
            r = &mut io, if output.is_none() => output = Some(r),
            status = child.wait() => break End::Exited(status),
            () = stop.cancelled() => break End::Cancelled,
        }
    };
    match end {
        End::Exited(_) => {}
        End::TooLarge => {
            tracing::debug!(%label, pid, "stdout past its limit: SIGKILL to the process group");
            group.signal(Signal::Kill, &mut child);
            let status = child.wait().await;
            tracing::debug!(%label, pid, ?status, "agent process reaped");
        }
        End::Cancelled => {
            tracing::debug!(%label, pid, "attempt abandoned: SIGTERM to the process group");
            group.signal(Signal::Term, &mut child);
            let grace = tokio::time::sleep(agent.grace);
            tokio::pin!(grace);
            let exited = loop {
                tokio::select! {
                    r = &mut io, if output.is_none() => output = Some(r),
                    status = child.wait() => break Some(status),
                    () = &mut grace => break None,
                }
            };
            if exited.is_none() {
                tracing::debug!(%label, pid, grace = ?agent.grace, "still running after the grace period: SIGKILL to the process group");
                group.signal(Signal::Kill, &mut child);
                let status = child.wait().await;
                tracing::debug!(%label, pid, ?status, "agent process reaped");
            } else {
                tracing::debug!(%label, pid, status = ?exited, "agent process ended after SIGTERM");
            }
        }
    }
    // The leader is reaped; kill what is left of its group (background
    // grandchildren), so the pipes close and nothing outlives the attempt.
    group.finish();
    // At once: between the leader's reaping and this, a guard woken by
    // coordops's death would signal a group id that may be reused.
    if let Some(watcher) = watcher.as_mut() {
        watcher.done();
    }
    let output = match output {
        Some(o) => Some(o),
        None => tokio::time::timeout(PIPE_DRAIN, &mut io).await.ok(),
    };
    // A process that left the group (`setsid`) can hold the pipes open for
    // as long as it lives: keep what the agent wrote before it exited.
    let held_open = output.is_none();
    let truncated = output.unwrap_or_else(|| overflow.is_cancelled());
    let stdout = captured.bytes();
    if held_open {
        tracing::debug!(
            %label,
            pid,
            stdout_bytes = stdout.len(),
            "pipes still held open by a descendant after the group was killed: using what was read"
        );
    }
    // No zombie is left behind on the normal path.
    if let Some(watcher) = watcher {
        watcher.reap().await;
    }
    let outcome = match end {
        End::Cancelled => TaskOutcome::failure(
            kinds::CANCELLED,
            "cancelled: the process group was terminated",
        ),
        End::TooLarge => reply::too_large(),
        // It exited just as it passed the limit.
        End::Exited(_) if truncated => reply::too_large(),
        End::Exited(Err(e)) => TaskOutcome::failure(
            kinds::EXIT,
            format!("cannot wait for the agent process: {e}"),
        ),
        End::Exited(Ok(status)) => {
            let outcome = reply::interpret(status, &stdout, held_open).redacted();
            tracing::debug!(%label, pid, %status, ?outcome, "agent process ended");
            outcome
        }
    };
    Reply {
        stderr_tail: tail.lines(),
        ..Reply::from(outcome)
    }
}
