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

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

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
        run_id: "test-run".to_string(),
        agent: agent.to_string(),
        task: "work".to_string(),
        args: args.as_object().cloned().unwrap_or_default(),
        attempt: 2,
        timeout: GENEROUS,
        cancel: cancel.clone(),
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

/// Whether `pid` is a live process (a zombie counts as dead: in containers
/// nobody may reap the orphans).
fn alive(pid: i32) -> bool {
    if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        let state = stat
            .rsplit(')')
            .next()
            .and_then(|r| r.split_whitespace().next());
        return state != Some("Z");
    }
    std::process::Command::new("kill")
        .args(["-0", &pid.to_string()])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
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

// ── the protocol ────────────────────────────────────────────────────────────

#[tokio::test]
async fn a_success_carries_the_outputs_and_the_child_sees_the_request() {
    let backend = backend(&[("ECHO", agent("python3", "echo.py"))]);
    let cancel = CancellationToken::new();
    let reply = backend
        .call(request("ECHO", json!({"message": "hi"}), &cancel))
        .await;
    let expected = json!({
        "message": "hi", "attempt": 2, "agent": "ECHO", "task": "work",
        "run_id": "test-run", "timeout_ms": 30_000,
    });
    assert_eq!(
        reply.outcome,
        TaskOutcome::Success(expected.as_object().cloned().unwrap_or_default())
    );
    assert!(reply.stderr_tail.is_empty());
    assert!(!reply.simulated);
    backend.drain().await;
    assert_eq!(backend.live_groups(), 0);
}

#[tokio::test]
async fn a_failure_keeps_its_kind_and_message_and_the_stderr_tail() {
    let backend = backend(&[("F", agent("python3", "fail.py"))]);
    let reply = call(&backend, "F").await;
    assert_eq!(reply.outcome, failure("rejected", "non-fast-forward"));
    assert_eq!(reply.stderr_tail, ["about to refuse"]);
}

#[tokio::test]
async fn garbage_on_stdout_is_a_protocol_failure_stating_the_cause() {
    let backend = backend(&[("G", agent("python3", "garbage.py"))]);
    let reply = call(&backend, "G").await;
    let (kind, message) = kind_of(&reply.outcome);
    assert_eq!(kind, "protocol");
    assert!(
        message.starts_with("stdout is not one JSON object: expected"),
        "{message}"
    );
    // The stderr lines are kept on the attempt, not used as the message.
    assert_eq!(reply.stderr_tail, ["first complaint", "last words"]);
}

#[tokio::test]
async fn replies_that_break_the_contract_are_protocol_failures() {
    let backend = backend(&[
        ("EMPTY", shell("cat >/dev/null")),
        (
            "TYPES",
            shell(r#"cat >/dev/null; echo '{"status":"success","outputs":[1]}'"#),
        ),
        (
            "STATUS",
            shell(r#"cat >/dev/null; echo '{"status":"done"}'"#),
        ),
        (
            "TWO",
            shell(r#"cat >/dev/null; echo '{"status":"success"}{"status":"success"}'"#),
        ),
    ]);
    for (agent, expected) in [
        ("EMPTY", "the agent process printed nothing on stdout"),
        (
            "TYPES",
            "`outputs` in the reply must be an object, not an array",
        ),
        (
            "STATUS",
            "`status` in the reply is `done`, not `success` or `failure`",
        ),
        (
            "TWO",
            "stdout is not one JSON object: trailing characters at line 1 column 21",
        ),
    ] {
        assert_eq!(
            call(&backend, agent).await.outcome,
            failure("protocol", expected),
            "{agent}"
        );
    }
}

#[tokio::test]
async fn a_non_zero_exit_is_an_exit_failure_even_with_a_valid_reply() {
    let backend = backend(&[("X", agent("python3", "exit_nonzero.py"))]);
    let reply = call(&backend, "X").await;
    assert_eq!(
        reply.outcome,
        failure("exit", "the agent process exited with status 3")
    );
    assert_eq!(reply.stderr_tail, ["boom: exit 3"]);
}

#[tokio::test]
async fn death_by_a_signal_is_an_exit_failure_naming_the_signal() {
    let backend = backend(&[("K", shell("cat >/dev/null; kill -9 $$"))]);
    assert_eq!(
        call(&backend, "K").await.outcome,
        failure("exit", "the agent process was killed by signal 9 (SIGKILL)")
    );
}

#[tokio::test]
async fn the_stderr_tail_is_bounded() {
    let backend = backend(&[("N", agent("sh", "noisy_fail.sh"))]);
    let reply = call(&backend, "N").await;
    assert_eq!(
        reply.outcome,
        failure("exit", "the agent process exited with status 5")
    );
    assert_eq!(reply.stderr_tail.len(), TAIL_LINES);
    assert_eq!(
        reply.stderr_tail.first().map(String::as_str),
        Some("log line 11")
    );
    assert_eq!(
        reply.stderr_tail.last().map(String::as_str),
        Some("log line 30")
    );
}

#[tokio::test]
async fn a_program_that_cannot_start_is_a_spawn_failure_with_the_os_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plain = dir.path().join("agent.py");
    std::fs::write(&plain, "print('never runs')\n").expect("write");
    let plain = plain.to_string_lossy().into_owned();
    let backend = backend(&[
        (
            "M",
            ProcessAgent::new(vec!["/nonexistent/agent-binary".into()]),
        ),
        ("P", ProcessAgent::new(vec![plain.clone()])),
    ]);
    let reply = call(&backend, "M").await;
    assert_eq!(
        reply.outcome,
        failure(
            "spawn",
            "cannot start `/nonexistent/agent-binary`: no such file or directory (os error 2)"
        )
    );
    assert_eq!(
        call(&backend, "P").await.outcome,
        failure(
            "spawn",
            &format!("cannot start `{plain}`: permission denied (os error 13)")
        )
    );
    assert_eq!(backend.live_groups(), 0);
}

#[tokio::test]
async fn an_agent_that_never_stops_writing_is_cut_off_at_once() {
    // With a grace period longer than the hang guard, only an immediate
    // SIGKILL at the limit lets this call end.
    let mut flood = agent("sh", "flood.sh");
    flood.grace = HANG_GUARD * 2;
    let backend = backend(&[("FLOOD", flood)]);
    let reply = call(&backend, "FLOOD").await;
    let (kind, message) = kind_of(&reply.outcome);
    assert_eq!(kind, "output_too_large", "{message}");
    assert_eq!(
        message,
        "the agent wrote more than 1 MiB on stdout: it was stopped at once"
    );
    assert_eq!(reply.stderr_tail, ["flooding stdout"]);
    tokio::time::timeout(HANG_GUARD, backend.drain())
        .await
        .expect("drained");
    assert_eq!(backend.live_groups(), 0);
}

#[tokio::test]
async fn a_large_reply_that_ends_is_output_too_large_too() {
    let backend = backend(&[(
        "B",
        ProcessAgent::new(vec![
            "python3".into(),
            "-c".into(),
            "import sys; sys.stdin.read(); sys.stdout.write('x' * (3 << 20))".into(),
        ]),
    )]);
    assert_eq!(
        kind_of(&call(&backend, "B").await.outcome).0,
        "output_too_large"
    );
}

#[tokio::test]
async fn the_environment_is_cleared_except_the_allow_list_env_and_secrets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env_file = dir.path().join("env.txt");
    let mut env_agent = agent("sh", "env.sh");
    env_agent.env.insert("EXTRA".into(), "from config".into());
    env_agent
        .env
        .insert("ENV_FILE".into(), env_file.to_string_lossy().into_owned());
    env_agent
        .secrets
        .insert("API_TOKEN".into(), "s3cr3t-value".into());
    let backend = backend(&[("ENV", env_agent)]);
    let reply = call(&backend, "ENV").await;
    assert_eq!(reply.outcome, TaskOutcome::Success(Map::new()));
    let text = std::fs::read_to_string(&env_file).expect("env written");
    let env: BTreeMap<&str, &str> = text.lines().filter_map(|l| l.split_once('=')).collect();
    // PWD, SHLVL, _ and OLDPWD: what a shell itself may export.
    let allowed = [
        "PATH",
        "HOME",
        "LANG",
        "EXTRA",
        "ENV_FILE",
        "API_TOKEN",
        "PWD",
        "SHLVL",
        "_",
        "OLDPWD",
    ];
    let extra: Vec<&&str> = env.keys().filter(|k| !allowed.contains(*k)).collect();
    assert!(extra.is_empty(), "leaked into the agent: {extra:?}");
    assert_eq!(env.get("EXTRA"), Some(&"from config"));
    assert_eq!(env.get("API_TOKEN"), Some(&"s3cr3t-value"));
    if let Ok(path) = std::env::var("PATH") {
        assert_eq!(env.get("PATH"), Some(&path.as_str()));
    }
    // cargo sets CARGO_MANIFEST_DIR for this test binary; the child must not see it.
    assert!(!env.contains_key("CARGO_MANIFEST_DIR"));
}

#[test]
fn secrets_never_show_in_debug_output() {
    let mut a = ProcessAgent::new(vec!["true".into()]);
    a.secrets.insert("API_TOKEN".into(), "s3cr3t-value".into());
    let text = format!("{a:?}");
    assert!(text.contains("API_TOKEN"), "{text}");
    assert!(!text.contains("s3cr3t-value"), "{text}");
}

// ── cancellation and process groups ────────────────────────────────────────

#[tokio::test]
async fn cancelling_terminates_a_process_that_traps_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    // SIGTERM must be enough: with a grace period beyond the hang guard, a
    // call that waited for SIGKILL would fail the guard.
    let mut sleeper = agent("sh", "sleep_forever.sh");
    sleeper.grace = HANG_GUARD * 2;
    let (sleeper, ready) = with_ready_file(sleeper, dir.path());
    let backend = backend(&[("SLEEP", sleeper)]);
    let cancel = CancellationToken::new();
    let call = backend.call(request("SLEEP", json!({}), &cancel));
    tokio::pin!(call);
    let pid = tokio::select! {
        reply = &mut call => panic!("answered before being cancelled: {reply:?}"),
        pid = wait_for_pid(&ready) => pid,
    };
    cancel.cancel();
    let reply = tokio::time::timeout(HANG_GUARD, call)
        .await
        .expect("SIGTERM ended it");
    assert_eq!(kind_of(&reply.outcome).0, "cancelled");
    tokio::time::timeout(HANG_GUARD, backend.drain())
        .await
        .expect("drained");
    assert!(wait_dead(pid).await, "agent {pid} survived");
    assert_eq!(backend.live_groups(), 0);
}

#[tokio::test]
async fn a_process_ignoring_sigterm_is_killed_after_the_grace_period() {
    let dir = tempfile::tempdir().expect("tempdir");
    let grace = Duration::from_secs(2);
    let mut trap = agent("sh", "trap_term.sh");
    trap.grace = grace;
    let (trap, ready) = with_ready_file(trap, dir.path());
    let backend = backend(&[("TRAP", trap)]);
    let cancel = CancellationToken::new();
    let call = backend.call(request("TRAP", json!({}), &cancel));
    tokio::pin!(call);
    let pid = tokio::select! {
        reply = &mut call => panic!("answered before being cancelled: {reply:?}"),
        pid = wait_for_pid(&ready) => pid,
    };
    let cancelled_at = Instant::now();
    cancel.cancel();
    let reply = tokio::time::timeout(HANG_GUARD, call)
        .await
        .expect("SIGKILL ended it");
    assert_eq!(kind_of(&reply.outcome).0, "cancelled");
    tokio::time::timeout(HANG_GUARD, backend.drain())
        .await
        .expect("drained");
    // The grace period was honoured (a lower bound: load cannot break it).
    assert!(
        cancelled_at.elapsed() >= grace,
        "killed before the grace period: {:?}",
        cancelled_at.elapsed()
    );
    assert!(wait_dead(pid).await, "agent {pid} survived");
    assert_eq!(backend.live_groups(), 0);
}

#[tokio::test]
async fn a_dropped_call_still_kills_its_group() {
    // What the interpreter does at a timeout: drop the call's future.
    let dir = tempfile::tempdir().expect("tempdir");
    let pid_file = dir.path().join("grandchild.pid");
    let mut forker = agent("python3", "fork_grandchild.py");
    forker
        .env
        .insert("PID_FILE".into(), pid_file.to_string_lossy().into_owned());
    let backend = backend(&[("FORK", forker)]);
    let cancel = CancellationToken::new();
    let grandchild = {
        let call = backend.call(request("FORK", json!({}), &cancel));
        tokio::select! {
            reply = call => panic!("answered: {reply:?}"),
            pid = wait_for_pid(&pid_file) => pid,
        }
        // The call's future is dropped here.
    };
    tokio::time::timeout(HANG_GUARD, backend.drain())
        .await
        .expect("drained");
    assert!(
        wait_dead(grandchild).await,
        "grandchild {grandchild} survived"
    );
    assert_eq!(backend.live_groups(), 0);
}

#[tokio::test]
async fn background_processes_do_not_outlive_a_successful_attempt() {
    // The grandchild keeps stdout open: reading to EOF must not hang.
    let dir = tempfile::tempdir().expect("tempdir");
    let pid_file = dir.path().join("grandchild.pid");
    let mut forker = agent("python3", "fork_grandchild.py");
    forker
        .env
        .insert("PID_FILE".into(), pid_file.to_string_lossy().into_owned());
    forker.env.insert("FORK_MODE".into(), "exit".into());
    let backend = backend(&[("FORK", forker)]);
    let reply = call(&backend, "FORK").await;
    let grandchild = read_pid(&pid_file);
    assert_eq!(
        reply.outcome,
        TaskOutcome::Success(
            json!({"grandchild": grandchild})
                .as_object()
                .cloned()
                .unwrap_or_default()
        )
    );
    assert!(
        wait_dead(grandchild).await,
        "grandchild {grandchild} survived"
    );
}

// ── whole runs through the interpreter ─────────────────────────────────────

fn playbook() -> Playbook {
    let file = coordops::source::load(&root().join(PLAYBOOK)).expect("loads");
    coordops::syntax::parse(&file).playbook.expect("parses")
}

/// Runs `signal` as `coordops run` does, on a real-time runtime; `simulated`
/// agents are routed to the simulated backend.
fn run_for_real(signal: &str, process: ProcessAgentMap, simulated_agents: &[&str]) -> RunResult {
    let playbook = playbook();
    let context = context::build(&playbook, signal, &[]).expect("context");
    let process = Arc::new(ProcessBackend::new(process));
    let simulated = Arc::new(SimulatedBackend::new(&playbook, Scenario::default()));
    let backend = Arc::new(RoutingBackend::new(
        process.clone(),
        simulated,
        simulated_agents.iter().map(|a| (*a).to_string()),
        ApprovalPolicy::Never,
    ));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let request = RunRequest {
            playbook: &playbook,
            source: None,
            signal: signal.to_string(),
            context,
            run_id: "test".to_string(),
            now: SystemTime::now(),
        };
        let result =
            tokio::time::timeout(HANG_GUARD, run(request, backend, CancellationToken::new()))
                .await
                .expect("the run ended");
        process.drain().await;
        assert_eq!(process.live_groups(), 0);
        result
    })
}

type ProcessAgentMap = HashMap<String, ProcessAgent>;

#[test]
fn a_timeout_records_the_step_and_kills_the_whole_group() {
    // FORKER.fork has a 10s timeout: time enough to start python and write
    // the pid file even on a loaded machine; the agent never answers.
    let dir = tempfile::tempdir().expect("tempdir");
    let pid_file = dir.path().join("grandchild.pid");
    let mut forker = agent("python3", "fork_grandchild.py");
    forker
        .env
        .insert("PID_FILE".into(), pid_file.to_string_lossy().into_owned());
    let result = run_for_real(
        "PROC:FORK",
        HashMap::from([("FORKER".to_string(), forker)]),
        &[],
    );
    assert_eq!(result.status, RunStatus::Failed, "{}", result.summary);
    let step = result
        .steps
        .iter()
        .find(|s| s.agent.as_deref() == Some("FORKER"))
        .expect("the FORKER step is recorded");
    assert_eq!(step.outcome, StepOutcome::Timeout, "{step:?}");
    assert!(!step.simulated);
    let grandchild = read_pid(&pid_file);
    let dead = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime")
        .block_on(wait_dead(grandchild));
    assert!(dead, "grandchild {grandchild} survived the timeout");
}

#[test]
fn process_and_simulated_agents_share_a_run() {
    let result = run_for_real(
        "PROC:MIXED",
        HashMap::from([("ECHO".to_string(), agent("python3", "echo.py"))]),
        &["SIM"],
    );
    assert_eq!(result.status, RunStatus::Complete, "{}", result.summary);
    assert_eq!(result.payload["echoed"], "from mixed");
    // SIM is simulated: the placeholder output, and the step says so.
    assert_eq!(result.payload["noted"], "note-text-1");
    let simulated: Vec<(&str, bool)> = result
        .steps
        .iter()
        .map(|s| (s.name.as_str(), s.simulated))
        .collect();
    assert_eq!(simulated, [("said", false), ("noted", true)]);
    let json = serde_json::to_value(&result).expect("serialises");
    assert_eq!(json["steps"][1]["simulated"], true);
    assert!(json["steps"][0].get("simulated").is_none());
}

#[test]
fn an_agent_without_a_backend_fails_with_a_configuration_error() {
    // SIM is neither a process nor configured as simulated.
    let result = run_for_real(
        "PROC:MIXED",
        HashMap::from([("ECHO".to_string(), agent("python3", "echo.py"))]),
        &[],
    );
    assert_eq!(result.status, RunStatus::Failed, "{}", result.summary);
    let step = result
        .steps
        .iter()
        .find(|s| s.agent.as_deref() == Some("SIM"))
        .expect("SIM recorded");
    match &step.outcome {
        StepOutcome::Failure { kind, message } => {
            assert_eq!(kind, "configuration");
            assert!(
                message.contains("no backend is configured for agent `SIM`"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn each_attempt_records_its_stderr_tail() {
    let result = run_for_real(
        "PROC:GARBAGE",
        HashMap::from([("GARBAGE".to_string(), agent("python3", "garbage.py"))]),
        &[],
    );
    let step = result
        .steps
        .iter()
        .find(|s| s.agent.as_deref() == Some("GARBAGE"))
        .expect("recorded");
    assert_eq!(step.attempts.len(), 1);
    assert_eq!(step.attempts[0].kind.as_deref(), Some("protocol"));
    assert_eq!(step.attempts[0].stderr, ["first complaint", "last words"]);
    let json = serde_json::to_value(&result).expect("serialises");
    assert_eq!(
        json["steps"][0]["attempts"][0]["stderr"],
        json!(["first complaint", "last words"])
    );
}

#[test]
fn approvals_follow_the_configured_policy() {
    let file = coordops::source::load(&root().join("tests/fixtures/runtime/approvals.ops"))
        .expect("loads");
    let playbook = coordops::syntax::parse(&file).playbook.expect("parses");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let agents: Vec<String> = playbook.agents().map(|a| a.name.name.clone()).collect();
    for (policy, status) in [
        (ApprovalPolicy::Grant, RunStatus::Complete),
        (ApprovalPolicy::Deny, RunStatus::Failed),
    ] {
        let process = Arc::new(ProcessBackend::new(HashMap::new()));
        let simulated = Arc::new(SimulatedBackend::new(&playbook, Scenario::default()));
        let backend = Arc::new(RoutingBackend::new(
            process,
            simulated,
            agents.clone(),
            policy,
        ));
        let request = RunRequest {
            playbook: &playbook,
            source: None,
            signal: "APPROVE:HANDLED".to_string(),
            context: context::build(&playbook, "APPROVE:HANDLED", &[]).expect("context"),
            run_id: "test".to_string(),
            now: SystemTime::now(),
        };
        let result = runtime.block_on(run(request, backend, CancellationToken::new()));
        assert_eq!(result.status, status, "{policy:?}: {}", result.summary);
    }
}

// ── the backends file ──────────────────────────────────────────────────────

/// A fake environment: no test mutates the process environment.
fn fake_env(name: &str) -> Option<String> {
    match name {
        "PATH" => std::env::var("PATH").ok(),
        "GITHUB_TOKEN" => Some("ghp-0123456789".to_string()),
        "NPM_TOKEN" => Some("npm-abcdef".to_string()),
        "SHORT" => Some("abc".to_string()),
        _ => None,
    }
}

fn parse_in(dir: &Path, text: &str) -> Result<BackendsConfig, String> {
    BackendsConfig::parse_with_env(text, &dir.join("backends.toml"), &playbook(), &fake_env)
}

/// Parses with the file in tests/fixtures/backends/ (so `../agents/…` and
/// `cwd = "../agents"` resolve to the fixture agents).
fn parse_config(text: &str) -> Result<BackendsConfig, String> {
    parse_in(&root().join("tests/fixtures/backends"), text)
}

#[test]
fn the_backends_file_parses_with_defaults() {
    let config = parse_config(
        r#"
        [agents.ECHO]
        command = ["python3", "echo.py"]
        env = { A = "1" }
        cwd = "../agents"
        [agents.SLEEPER]
        command = ["sh", "x.sh"]
        grace = "5s"
        [agents.SIM]
        backend = "simulated"
        "#,
    )
    .expect("valid");
    assert_eq!(config.approvals, ApprovalPolicy::Never);
    let Some(AgentBackendConfig::Process(echo)) = config.backend_for("ECHO") else {
        panic!("ECHO runs as a process");
    };
    assert_eq!(echo.grace, Duration::from_secs(2));
    assert_eq!(
        echo.cwd,
        Some(root().join("tests/fixtures/backends/../agents"))
    );
    assert_eq!(echo.env["A"], "1");
    // Bare names stay bare (looked up on PATH); arguments are verbatim.
    assert_eq!(echo.command, ["python3", "echo.py"]);
    let Some(AgentBackendConfig::Process(sleeper)) = config.backend_for("SLEEPER") else {
        panic!("SLEEPER runs as a process");
    };
    assert_eq!(sleeper.grace, Duration::from_secs(5));
    assert_eq!(
        config.backend_for("SIM"),
        Some(&AgentBackendConfig::Simulated)
    );
    assert_eq!(config.backend_for("FAILER"), None);
    assert_eq!(config.process_agents().len(), 2);
    assert_eq!(
        config.simulated_agents().into_iter().collect::<Vec<_>>(),
        ["SIM"]
    );
    assert_eq!(
        config.unmapped_agents(),
        ["FAILER", "FORKER", "GARBAGE", "WAITER"]
    );

    let config = parse_config(
        "[defaults]\ngrace = \"500ms\"\napprovals = \"grant\"\n[agents.ECHO]\ncommand = [\"true\"]\n",
    )
    .expect("valid");
    assert_eq!(config.approvals, ApprovalPolicy::Grant);
    assert_eq!(
        config.process_agents()["ECHO"].grace,
        Duration::from_secs(1) / 2
    );
}

#[test]
fn a_program_path_is_relative_to_the_backends_file() {
    let config = parse_config(
        "[agents.ECHO]\ncommand = [\"../agents/echo.py\", \"--flag\", \"rel/arg\"]\ncwd = \"..\"\n",
    )
    .expect("valid");
    let echo = &config.process_agents()["ECHO"];
    let program = root().join("tests/fixtures/backends/../agents/echo.py");
    assert_eq!(
        echo.command,
        [program.to_string_lossy().as_ref(), "--flag", "rel/arg"]
    );
    assert_eq!(echo.cwd, Some(root().join("tests/fixtures/backends/..")));
}

#[test]
fn secrets_come_from_the_environment_and_defaults_are_extended() {
    let config = parse_config(
        r#"
        [defaults]
        secrets = ["GITHUB_TOKEN"]
        [agents.ECHO]
        command = ["true"]
        secrets = ["NPM_TOKEN"]
        [agents.FAILER]
        command = ["true"]
        "#,
    )
    .expect("valid");
    let agents = config.process_agents();
    assert_eq!(
        agents["ECHO"].secrets.keys().collect::<Vec<_>>(),
        ["GITHUB_TOKEN", "NPM_TOKEN"]
    );
    assert_eq!(
        agents["FAILER"].secrets.keys().collect::<Vec<_>>(),
        ["GITHUB_TOKEN"]
    );
    assert_eq!(
        config.secret_values(),
        [
            ("GITHUB_TOKEN".to_string(), "ghp-0123456789".to_string()),
            ("NPM_TOKEN".to_string(), "npm-abcdef".to_string()),
        ]
    );
}

#[test]
fn backends_file_errors_name_the_file_the_key_and_the_cause() {
    let dir = root().join("tests/fixtures/backends");
    let agents = root().join("tests/fixtures/backends/../agents");
    let cases = [
        (
            "[agents.ECH0]\ncommand = [\"a\"]\n".to_string(),
            "`agents.ECH0` names an agent the playbook does not declare (did you mean `ECHO`?)".to_string(),
        ),
        ("[agents.ECHO]\ncommand = []\n".into(), "`agents.ECHO.command` is empty".into()),
        ("[agents.ECHO]\ncommand = [\"\"]\n".into(), "`agents.ECHO.command` is empty".into()),
        (
            "[agents.ECHO]\nenv = { A = \"1\" }\n".into(),
            "`agents.ECHO.command` is missing".into(),
        ),
        (
            "[agents.ECHO]\ncommand = [\"true\"]\ngrace = \"soon\"\n".into(),
            "`agents.ECHO.grace` `soon` is not a duration".into(),
        ),
        (
            "[defaults]\ngrace = \"2 seconds\"\n".into(),
            "`defaults.grace` `2 seconds` is not a duration".into(),
        ),
        (
            "[agents.SIM]\nbackend = \"simulated\"\ncommand = [\"a\"]\n".into(),
            "`agents.SIM.command` does not apply to a simulated agent".into(),
        ),
        (
            "[agents.SIM]\nbackend = \"simulated\"\nsecrets = [\"GITHUB_TOKEN\"]\n".into(),
            "`agents.SIM.secrets` does not apply to a simulated agent".into(),
        ),
        ("[agents.ECHO]\ncomand = [\"a\"]\n".into(), "unknown field `comand`".into()),
        ("[defaults]\napprovals = \"maybe\"\n".into(), "unknown variant `maybe`".into()),
        (
            "[agents.ECHO]\ncommand = \"python3 echo.py\"\n".into(),
            "invalid type".into(),
        ),
        (
            "[agents.ECHO]\ncommand = [\"no-such-program-coordops\"]\n".into(),
            "`agents.ECHO.command`: `no-such-program-coordops` is not found on PATH".into(),
        ),
        (
            "[agents.ECHO]\ncommand = [\"./missing.py\"]\n".into(),
            format!(
                "`agents.ECHO.command`: `./missing.py` (`{}`): no such file or directory (os error 2)",
                dir.join("./missing.py").display()
            ),
        ),
        (
            "[agents.ECHO]\ncommand = [\"../agents/not_executable.py\", \"--x\"]\n".into(),
            "`agents.ECHO.command`: `../agents/not_executable.py` is not executable (chmod +x it, or run it through its interpreter: [\"python3\", \"../agents/not_executable.py\", \"--x\"])".into(),
        ),
        (
            "[agents.ECHO]\ncommand = [\"../agents\"]\n".into(),
            "`agents.ECHO.command`: `../agents` (".into(),
        ),
        (
            "[agents.ECHO]\ncommand = [\"true\"]\ncwd = \"nowhere\"\n".into(),
            format!(
                "`agents.ECHO.cwd`: `{}`: no such file or directory (os error 2)",
                dir.join("nowhere").display()
            ),
        ),
        (
            "[agents.ECHO]\ncommand = [\"true\"]\ncwd = \"../agents/echo.py\"\n".into(),
            format!("`agents.ECHO.cwd`: `{}` is not a directory", agents.join("echo.py").display()),
        ),
        (
            "[agents.ECHO]\ncommand = [\"true\"]\nsecrets = [\"MISSING_TOKEN\"]\n".into(),
            "`agents.ECHO.secrets`: `MISSING_TOKEN` is not set in coordops's environment".into(),
        ),
        (
            "[defaults]\nsecrets = [\"MISSING_TOKEN\"]\n".into(),
            "`defaults.secrets`: `MISSING_TOKEN` is not set".into(),
        ),
        (
            "[agents.ECHO]\ncommand = [\"true\"]\nsecrets = [\"SHORT\"]\n".into(),
            "`agents.ECHO.secrets`: the value of `SHORT` is shorter than 6 characters".into(),
        ),
        (
            "[agents.ECHO]\ncommand = [\"true\"]\nsecrets = [\"GITHUB_TOKEN\"]\nenv = { GITHUB_TOKEN = \"x\" }\n".into(),
            "`agents.ECHO.env`: `GITHUB_TOKEN` is also listed in `agents.ECHO.secrets`".into(),
        ),
        (
            "[defaults]\nsecrets = [\"GITHUB_TOKEN\"]\n[agents.ECHO]\ncommand = [\"true\"]\nenv = { GITHUB_TOKEN = \"x\" }\n".into(),
            "`agents.ECHO.env`: `GITHUB_TOKEN` is also listed in `defaults.secrets`".into(),
        ),
    ];
    for (text, expected) in cases {
        let error = parse_config(&text).expect_err(&text);
        let file = format!("backends file `{}`", dir.join("backends.toml").display());
        assert!(error.contains(&file), "{error}");
        assert!(
            error.contains(&expected),
            "{text:?}\n  gave: {error}\n  want: {expected}"
        );
    }
}

#[test]
fn a_program_is_looked_up_on_the_path_the_agent_gets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).expect("mkdir");
    std::fs::copy(script("echo.py"), bin.join("my-agent")).expect("copy");
    let text = format!(
        "[agents.ECHO]\ncommand = [\"my-agent\"]\nenv = {{ PATH = {:?} }}\n",
        bin.display()
    );
    let config = parse_in(dir.path(), &text).expect("found on the agent's PATH");
    assert_eq!(config.process_agents()["ECHO"].command, ["my-agent"]);
    let error = parse_in(dir.path(), "[agents.ECHO]\ncommand = [\"my-agent\"]\n")
        .expect_err("not on coordops's PATH");
    assert!(error.contains("`my-agent` is not found on PATH"), "{error}");
}

// ── the command line ───────────────────────────────────────────────────────

fn coordops_run(signal: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_coordops"));
    cmd.current_dir(root())
        .env_remove("NO_COLOR")
        .env_remove("COORDOPS_LOG")
        .env("COLUMNS", "80")
        .args(["run", PLAYBOOK, "--signal", signal, "--backends", BACKENDS])
        .args(args)
        .timeout(HANG_GUARD);
    cmd
}

#[test]
fn coordops_run_completes_with_real_agents() {
    coordops_run("PROC:ECHO", &["--set", "message=hi there"])
        .assert()
        .code(0)
        .stderr("")
        .stdout(
            predicate::str::starts_with("## Ops Result: PROC:ECHO\n")
                .and(predicate::str::contains("**Status:** COMPLETE"))
                .and(predicate::str::contains("hi there")),
        );
}

#[test]
fn coordops_run_writes_a_json_report_atomically() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("run.json");
    coordops_run("PROC:FAIL", &["--format", "json", "--output"])
        .arg(&out)
        .assert()
        .code(4)
        .stdout("");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("report")).expect("JSON");
    assert_eq!(report["status"], "FAILED");
    let text = report.to_string();
    assert!(text.contains("non-fast-forward"), "{text}");
    assert_eq!(
        report["steps"][0]["attempts"][0]["stderr"],
        json!(["about to refuse"])
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").collect();
    assert_eq!(leftovers.len(), 1, "temporary files left behind");
}

#[test]
fn coordops_run_shows_the_stderr_of_failed_steps_in_markdown() {
    coordops_run("PROC:GARBAGE", &[])
        .assert()
        .code(4)
        .stdout(
            predicate::str::contains("### Agent stderr")
                .and(predicate::str::contains(
                    "GARBAGE.babble attempt 1 (protocol), last 2 lines of stderr:\n\n```text\nfirst complaint\nlast words\n```\n",
                ))
                .and(predicate::str::contains("protocol: stdout is not one JSON object")),
        );
}

#[test]
fn coordops_run_times_out_a_hanging_agent_and_exits_4() {
    // The agent never answers: the 1s timeout fires however loaded the
    // machine is. The hang guard is the only bound on time.
    coordops_run("PROC:HANG", &["--format", "json"])
        .assert()
        .code(4)
        .stdout(predicate::str::contains("\"timeout\""));
}

/// Writes a backends file for the fixture playbook into `dir`.
fn backends_file(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("b.toml");
    std::fs::write(&path, text).expect("write");
    path
}

fn coordops_run_with(backends: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_coordops"));
    cmd.current_dir(root())
        .env_remove("NO_COLOR")
        .env_remove("COORDOPS_LOG")
        .args(["run", PLAYBOOK, "--signal", "PROC:ECHO", "--backends"])
        .arg(backends)
        .timeout(HANG_GUARD);
    cmd
}

#[test]
fn coordops_run_rejects_bad_configuration() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = backends_file(dir.path(), "[agents.NOBODY]\ncommand = [\"true\"]\n");
    coordops_run_with(&bad).assert().code(2).stdout("").stderr(
        predicate::str::contains("b.toml").and(predicate::str::contains("`agents.NOBODY`")),
    );

    let scenario = dir.path().join("scenario.toml");
    std::fs::write(&scenario, "[task.\"ECHO.say\"]\noutcome = \"failure\"\n").expect("write");
    coordops_run("PROC:MIXED", &["--scenario"])
        .arg(&scenario)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "scripts tasks of agents that run as processes: `ECHO.say`",
        ));

    coordops_run_with(&dir.path().join("missing.toml"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read backends file"));
}

#[test]
fn coordops_run_checks_every_process_agent_before_anything_starts() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A marker the ECHO agent would create if anything started.
    let marker = dir.path().join("started");
    let touch = format!("[\"sh\", \"-c\", \"touch {}\"]", marker.display());
    std::fs::write(dir.path().join("tools.py"), "print('x')\n").expect("write");
    let cases = [
        (
            format!("[agents.ECHO]\ncommand = {touch}\n[agents.FAILER]\ncommand = [\"no-such-program-coordops\"]\n"),
            "`agents.FAILER.command`: `no-such-program-coordops` is not found on PATH".to_string(),
        ),
        (
            format!("[agents.ECHO]\ncommand = {touch}\n[agents.FAILER]\ncommand = [\"./tools.py\"]\n"),
            "`agents.FAILER.command`: `./tools.py` is not executable (chmod +x it, or run it through its interpreter: [\"python3\", \"tools.py\"])".to_string(),
        ),
        (
            format!("[agents.ECHO]\ncommand = {touch}\ncwd = \"nowhere\"\n"),
            format!("`agents.ECHO.cwd`: `{}`: no such file or directory", dir.path().join("nowhere").display()),
        ),
        (
            format!("[agents.ECHO]\ncommand = {touch}\nsecrets = [\"COORDOPS_TEST_MISSING\"]\n"),
            "`agents.ECHO.secrets`: `COORDOPS_TEST_MISSING` is not set in coordops's environment".to_string(),
        ),
        (
            format!("[agents.ECHO]\ncommand = {touch}\nsecrets = [\"COORDOPS_TEST_SHORT\"]\n"),
            "`agents.ECHO.secrets`: the value of `COORDOPS_TEST_SHORT` is shorter than 6 characters".to_string(),
        ),
        (
            format!("[agents.ECHO]\ncommand = {touch}\nsecrets = [\"COORDOPS_TEST_TOKEN\"]\nenv = {{ COORDOPS_TEST_TOKEN = \"x\" }}\n"),
            "`agents.ECHO.env`: `COORDOPS_TEST_TOKEN` is also listed in `agents.ECHO.secrets`".to_string(),
        ),
    ];
    for (text, expected) in cases {
        let path = backends_file(dir.path(), &text);
        let file = format!("error: backends file `{}`: ", path.display());
        coordops_run_with(&path)
            .env_remove("COORDOPS_TEST_MISSING")
            .env("COORDOPS_TEST_SHORT", "abc")
            .env("COORDOPS_TEST_TOKEN", "long-enough-token")
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains(file).and(predicate::str::contains(expected)));
        assert!(!marker.exists(), "an agent started despite: {text}");
    }
}

#[test]
fn coordops_run_passes_secrets_to_the_agent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env_file = dir.path().join("env.txt");
    let path = backends_file(
        dir.path(),
        &format!(
            "[agents.ECHO]\ncommand = [\"sh\", {:?}]\nenv = {{ ENV_FILE = {:?} }}\nsecrets = [\"COORDOPS_TEST_TOKEN\"]\n",
            script("env.sh"),
            env_file.display().to_string()
        ),
    );
    coordops_run_with(&path)
        .env("COORDOPS_TEST_TOKEN", "long-enough-token")
        .env("COORDOPS_TEST_NOT_PASSED", "other")
        .assert()
        .code(0);
    let env = std::fs::read_to_string(&env_file).expect("env written");
    assert!(
        env.lines()
            .any(|l| l == "COORDOPS_TEST_TOKEN=long-enough-token"),
        "{env}"
    );
    assert!(!env.contains("COORDOPS_TEST_NOT_PASSED"), "{env}");
}

#[cfg(target_os = "linux")]
#[test]
fn agents_do_not_outlive_a_killed_coordops() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ready = dir.path().join("agent.pid");
    let path = backends_file(
        dir.path(),
        &format!(
            "[agents.WAITER]\ncommand = [\"sh\", {:?}]\nenv = {{ READY_FILE = {:?} }}\n",
            script("sleep_forever.sh"),
            ready.display().to_string()
        ),
    );
    let mut coordops = std::process::Command::new(env!("CARGO_BIN_EXE_coordops"))
        .current_dir(root())
        .args(["run", PLAYBOOK, "--signal", "PROC:WAIT", "--backends"])
        .arg(&path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("coordops starts");
    let started = poll_until(|| pid_in(&ready).is_some());
    if !started {
        let _ = coordops.kill();
        let _ = coordops.wait();
        panic!("the agent never wrote its pid");
    }
    let agent = read_pid(&ready);
    assert!(alive(agent), "the agent {agent} is running");
    coordops.kill().expect("kill -9 coordops"); // SIGKILL: no cleanup runs
    let _ = coordops.wait();
    let gone = poll_until(|| !alive(agent));
    if !gone {
        // Do not leave it behind for the next test run.
        let _ = std::process::Command::new("kill")
            .args(["-9", &agent.to_string()])
            .status();
    }
    assert!(gone, "agent {agent} outlived its coordops");
}
