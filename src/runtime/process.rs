//! The process backend: one configured command per agent, one child process
//! per attempt.
//!
//! Protocol (docs/backends.md): the child reads one JSON object on stdin,
//! `{"run_id","agent","task","args","attempt","timeout_ms"}`, and prints one
//! JSON object on stdout, `{"status":"success","outputs":{…}}` or
//! `{"status":"failure","kind":"…","message":"…"}`. A non-zero exit, a death
//! by signal, or stdout that is not such an object is a failure of kind
//! `backend` whose message is stderr's last line.
//!
//! Every child runs in its own process group with a cleared environment plus
//! an allow-list. Stdin is written and stdout and stderr are read at the same
//! time (no pipe deadlocks), each capped. When the attempt is abandoned (the
//! request's `cancel` token fires, or the call's future is dropped) a
//! supervisor task sends SIGTERM to the group, waits the grace period, sends
//! SIGKILL and reaps the child. Whatever is left of the group when the child
//! ends (background grandchildren) is killed too: nothing outlives its
//! attempt.
//!
//! The interpreter drops a call's future at a timeout, so the kill sequence
//! cannot live in that future: it runs in a spawned supervisor task. Call
//! [`ProcessBackend::drain`] before the runtime shuts down so every
//! supervisor finishes.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{json, Map, Value};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::backend::{AgentBackend, ApprovalRequest, Decision, TaskOutcome, TaskRequest};

/// Most bytes of stdout kept; a reply longer than this is a `backend` failure.
pub const MAX_STDOUT: usize = 1 << 20;
/// Most bytes of stderr kept (the tail).
pub const MAX_STDERR: usize = 64 << 10;
/// Most characters of the stderr line used as a failure message.
const MAX_MESSAGE: usize = 1_000;
/// How long to wait for the pipes to close once the group is gone (a process
/// that left the group can hold them open).
const PIPE_DRAIN: Duration = Duration::from_millis(500);

/// Variables a child inherits from coordops; everything else is cleared.
pub const ENV_ALLOW_LIST: [&str; 3] = ["PATH", "HOME", "LANG"];

/// The failure kind for anything that goes wrong between coordops and the
/// agent process.
pub const BACKEND_KIND: &str = "backend";

/// How one agent is run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessAgent {
    /// The program and its arguments (never a shell string).
    pub command: Vec<String>,
    /// Extra environment variables, set after the allow-list.
    pub env: BTreeMap<String, String>,
    /// The working directory; coordops's own when `None`.
    pub cwd: Option<PathBuf>,
    /// Time between SIGTERM and SIGKILL when an attempt is abandoned.
    pub grace: Duration,
}

/// Runs agent tasks as child processes.
pub struct ProcessBackend {
    agents: HashMap<String, Arc<ProcessAgent>>,
    /// Process groups that may still have members.
    live: Arc<Mutex<HashSet<i32>>>,
    /// Supervisor tasks not yet awaited by [`drain`](Self::drain).
    supervisors: Mutex<Vec<JoinHandle<()>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

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
    async fn call(&self, request: TaskRequest) -> TaskOutcome {
        let Some(agent) = self.agents.get(&request.agent).cloned() else {
            return failure(format!(
                "no command is configured for agent `{}`",
                request.agent
            ));
        };
        let input = json!({
            "run_id": request.run_id,
            "agent": request.agent,
            "task": request.task,
            "args": Value::Object(request.args.clone()),
            "attempt": request.attempt,
            "timeout_ms": u64::try_from(request.timeout.as_millis()).unwrap_or(u64::MAX),
        });
        let mut input = serde_json::to_vec(&input).unwrap_or_default();
        input.push(b'\n');
        // Cancelled when the interpreter abandons the attempt, and when this
        // future is dropped (which is how a timeout reaches us).
        let stop = request.cancel.child_token();
        let _stop_on_drop = stop.clone().drop_guard();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let live = self.live.clone();
        let label = format!(
            "{}.{} attempt {}",
            request.agent, request.task, request.attempt
        );
        let handle = tokio::spawn(async move {
            let outcome = supervise(&agent, &label, input, stop, live).await;
            let _ = tx.send(outcome);
        });
        {
            let mut supervisors = lock(&self.supervisors);
            supervisors.retain(|h| !h.is_finished());
            supervisors.push(handle);
        }
        rx.await
            .unwrap_or_else(|_| failure("the agent's supervisor task ended early".to_string()))
    }

    async fn approve(&self, _request: ApprovalRequest) -> Decision {
        // Processes decide no approvals: the routing backend's policy does.
        std::future::pending().await
    }
}

fn failure(message: String) -> TaskOutcome {
    TaskOutcome::Failure {
        kind: BACKEND_KIND.to_string(),
        message,
    }
}

/// How the child's life ended, before its output is read.
enum End {
    Exited(std::io::Result<ExitStatus>),
    Cancelled,
}

/// Runs one attempt's process to its end and reaps it.
async fn supervise(
    agent: &ProcessAgent,
    label: &str,
    input: Vec<u8>,
    stop: CancellationToken,
    live: Arc<Mutex<HashSet<i32>>>,
) -> TaskOutcome {
    let Some((program, args)) = agent.command.split_first() else {
        return failure("the agent's command is empty".to_string());
    };
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for name in ENV_ALLOW_LIST {
        if let Some(value) = std::env::var_os(name) {
            cmd.env(name, value);
        }
    }
    cmd.envs(&agent.env);
    if let Some(cwd) = &agent.cwd {
        cmd.current_dir(cwd);
    }
    #[cfg(unix)]
    cmd.process_group(0);
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => {
            tracing::debug!(%label, %program, error = %e, "agent process failed to start");
            return failure(format!("cannot start `{program}`: {e}"));
        }
    };
    let pid = child.id().and_then(|p| i32::try_from(p).ok()).unwrap_or(0);
    tracing::debug!(%label, pid, command = ?agent.command, "spawned agent process");
    let mut group = Group::new(pid, live);

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
    let io = async move {
        let ((), out, err) = tokio::join!(
            writer,
            read_capped(stdout, MAX_STDOUT),
            read_tail(stderr, MAX_STDERR)
        );
        (out, err)
    };
    tokio::pin!(io);
    let mut output = None;

    let end = loop {
        tokio::select! {
            r = &mut io, if output.is_none() => output = Some(r),
            status = child.wait() => break End::Exited(status),
            () = stop.cancelled() => break End::Cancelled,
        }
    };
    let end = match end {
        End::Exited(status) => End::Exited(status),
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
            End::Cancelled
        }
    };
    // The leader is reaped; kill what is left of its group (background
    // grandchildren), so the pipes close and nothing outlives the attempt.
    group.finish();
    let (stdout, stderr) = match output {
        Some(o) => o,
        None => tokio::time::timeout(PIPE_DRAIN, &mut io)
            .await
            .unwrap_or_else(|_| {
                tracing::debug!(%label, pid, "pipes still open after the group was killed: output dropped");
                ((Vec::new(), true), Vec::new())
            }),
    };
    match end {
        End::Cancelled => TaskOutcome::Failure {
            kind: "cancelled".to_string(),
            message: "cancelled: the process group was terminated".to_string(),
        },
        End::Exited(Err(e)) => failure(format!("cannot wait for the agent process: {e}")),
        End::Exited(Ok(status)) => {
            let outcome = interpret(status, &stdout, &stderr);
            tracing::debug!(%label, pid, %status, ?outcome, "agent process ended");
            outcome
        }
    }
}

/// Turns an exit status and the captured output into an outcome.
fn interpret(status: ExitStatus, stdout: &(Vec<u8>, bool), stderr: &[u8]) -> TaskOutcome {
    let last_line = last_line(stderr);
    let fail = |reason: String| failure(last_line.clone().unwrap_or(reason));
    if !status.success() {
        return fail(describe_status(status));
    }
    let (bytes, truncated) = stdout;
    if *truncated {
        return fail(format!(
            "the reply on stdout is longer than {MAX_STDOUT} bytes"
        ));
    }
    match parse_reply(bytes) {
        Ok(outcome) => outcome,
        Err(reason) => fail(reason),
    }
}

fn describe_status(status: ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("the agent process was killed by signal {signal}");
        }
    }
    match status.code() {
        Some(code) => format!("the agent process exited with status {code}"),
        None => format!("the agent process ended: {status}"),
    }
}

/// Parses the one JSON object a child prints.
pub fn parse_reply(bytes: &[u8]) -> Result<TaskOutcome, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "stdout is not UTF-8".to_string())?;
    if text.trim().is_empty() {
        return Err("the agent process printed nothing on stdout".to_string());
    }
    let value: Value = serde_json::from_str(text.trim())
        .map_err(|e| format!("stdout is not one JSON object: {e}"))?;
    let Value::Object(mut reply) = value else {
        return Err("stdout is JSON but not an object".to_string());
    };
    let string = |reply: &Map<String, Value>, key: &str| -> Result<Option<String>, String> {
        match reply.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("`{key}` in the reply must be a string")),
        }
    };
    match string(&reply, "status")?.as_deref() {
        Some("success") => match reply.remove("outputs") {
            None | Some(Value::Null) => Ok(TaskOutcome::Success(Map::new())),
            Some(Value::Object(outputs)) => Ok(TaskOutcome::Success(outputs)),
            Some(_) => Err("`outputs` in the reply must be an object".to_string()),
        },
        Some("failure") => {
            let kind = string(&reply, "kind")?
                .filter(|k| !k.trim().is_empty())
                .unwrap_or_else(|| "error".to_string());
            let message = string(&reply, "message")?.unwrap_or_default();
            Ok(TaskOutcome::Failure { kind, message })
        }
        Some(other) => Err(format!(
            "`status` in the reply is `{other}`, not `success` or `failure`"
        )),
        None => Err("the reply has no `status`".to_string()),
    }
}

/// The last non-blank line of `bytes`, shortened.
fn last_line(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    let line = text.lines().rev().map(str::trim).find(|l| !l.is_empty())?;
    let mut line: String = line.chars().take(MAX_MESSAGE).collect();
    if line.len() < text.len() && line.chars().count() == MAX_MESSAGE {
        line.push('…');
    }
    Some(line)
}

/// Reads to the end, keeping the first `cap` bytes; `true` if more came.
async fn read_capped(pipe: Option<impl AsyncRead + Unpin>, cap: usize) -> (Vec<u8>, bool) {
    let mut kept = Vec::new();
    let mut truncated = false;
    let Some(mut pipe) = pipe else {
        return (kept, truncated);
    };
    let mut buf = vec![0u8; 8 << 10];
    loop {
        match pipe.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = cap.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
                truncated |= n > room;
            }
        }
    }
    (kept, truncated)
}

/// Reads to the end, keeping the last `cap` bytes.
async fn read_tail(pipe: Option<impl AsyncRead + Unpin>, cap: usize) -> Vec<u8> {
    let mut kept = Vec::new();
    let Some(mut pipe) = pipe else {
        return kept;
    };
    let mut buf = vec![0u8; 8 << 10];
    loop {
        match pipe.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                kept.extend_from_slice(&buf[..n]);
                if kept.len() > cap {
                    kept.drain(..kept.len() - cap);
                }
            }
        }
    }
    kept
}

#[derive(Clone, Copy, Debug)]
enum Signal {
    Term,
    Kill,
}

/// Sends `signal` to process group `pgid`. Refuses ids below 2: `kill(0)`
/// would signal our own group and `kill(-1)` every process we may signal.
fn signal_group(pgid: i32, signal: Signal) -> bool {
    if pgid <= 1 {
        return false;
    }
    #[cfg(unix)]
    {
        let sig = match signal {
            Signal::Term => libc::SIGTERM,
            Signal::Kill => libc::SIGKILL,
        };
        // SAFETY: kill(2) has no memory-safety preconditions; a negative
        // argument names the process group, and pgid > 1 was checked above.
        unsafe { libc::kill(-pgid, sig) == 0 }
    }
    #[cfg(not(unix))]
    {
        let _ = signal;
        false
    }
}

/// A child's process group, registered as live until [`finish`](Self::finish);
/// dropped unfinished (the runtime shut down mid-attempt), it kills the group.
struct Group {
    pgid: i32,
    live: Arc<Mutex<HashSet<i32>>>,
    finished: bool,
}

impl Group {
    fn new(pgid: i32, live: Arc<Mutex<HashSet<i32>>>) -> Self {
        if pgid > 1 {
            lock(&live).insert(pgid);
        }
        Group {
            pgid,
            live,
            finished: false,
        }
    }

    fn signal(&self, signal: Signal, child: &mut tokio::process::Child) {
        if !signal_group(self.pgid, signal) && matches!(signal, Signal::Kill) {
            // No group (not unix) or it is already gone: the child alone.
            let _ = child.start_kill();
        }
    }

    /// The leader has been reaped: kill what is left and stop tracking.
    fn finish(&mut self) {
        if signal_group(self.pgid, Signal::Kill) {
            tracing::debug!(
                pgid = self.pgid,
                "killed what was left of the process group"
            );
        }
        lock(&self.live).remove(&self.pgid);
        self.finished = true;
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if !self.finished {
            tracing::debug!(
                pgid = self.pgid,
                "supervisor dropped: SIGKILL to the process group"
            );
            signal_group(self.pgid, Signal::Kill);
            lock(&self.live).remove(&self.pgid);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_parse() {
        assert_eq!(
            parse_reply(br#"{"status":"success","outputs":{"a":1}}"#),
            Ok(TaskOutcome::Success(
                json!({"a": 1}).as_object().cloned().unwrap_or_default()
            ))
        );
        assert_eq!(
            parse_reply(b"  {\"status\":\"success\"}\n"),
            Ok(TaskOutcome::Success(Map::new()))
        );
        assert_eq!(
            parse_reply(br#"{"status":"failure","kind":"rejected","message":"no"}"#),
            Ok(TaskOutcome::Failure {
                kind: "rejected".into(),
                message: "no".into()
            })
        );
        assert_eq!(
            parse_reply(br#"{"status":"failure"}"#),
            Ok(TaskOutcome::Failure {
                kind: "error".into(),
                message: String::new()
            })
        );
        for bad in [
            &b""[..],
            b"hello",
            b"[1]",
            br#"{"status":"maybe"}"#,
            br#"{"status":"success","outputs":[1]}"#,
            br#"{"status":"success"} {"status":"success"}"#,
            br#"{"outputs":{}}"#,
        ] {
            assert!(
                parse_reply(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn the_last_stderr_line_is_the_message() {
        assert_eq!(last_line(b"one\ntwo\n\n  \n"), Some("two".to_string()));
        assert_eq!(last_line(b"  \n"), None);
        let long = "x".repeat(5_000);
        assert_eq!(
            last_line(long.as_bytes()).map(|l| l.chars().count()),
            Some(MAX_MESSAGE + 1)
        );
    }

    #[test]
    fn pid_0_and_1_are_never_signalled() {
        assert!(!signal_group(0, Signal::Kill));
        assert!(!signal_group(1, Signal::Kill));
        assert!(!signal_group(-5, Signal::Kill));
    }
}
