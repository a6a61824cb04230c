//! The process backend, the backends file and `coordops run`, with real
//! processes (tests/fixtures/agents/) on the real clock: every timeout and
//! grace period here is a few hundred milliseconds.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::{json, Map, Value};
use tokio_util::sync::CancellationToken;

use coordops::ast::Playbook;
use coordops::runtime::backend::{AgentBackend, TaskOutcome, TaskRequest};
use coordops::runtime::config::{AgentBackendConfig, ApprovalPolicy, BackendsConfig};
use coordops::runtime::process::{ProcessAgent, ProcessBackend};
use coordops::runtime::result::{RunResult, RunStatus, StepOutcome};
use coordops::runtime::routing_backend::RoutingBackend;
use coordops::runtime::simulated::{Scenario, SimulatedBackend};
use coordops::runtime::{context, run, RunRequest};

const PLAYBOOK: &str = "tests/fixtures/backends/agents.ops";
const BACKENDS: &str = "tests/fixtures/backends/agents.toml";

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
    ProcessAgent {
        command: vec![interpreter.to_string(), script(name)],
        env: BTreeMap::new(),
        cwd: None,
        grace: Duration::from_millis(200),
    }
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
        timeout: Duration::from_millis(450),
        cancel: cancel.clone(),
        idempotency_key: "test-run/1:1".to_string(),
        deadline: "2026-01-01T00:00:00.450Z".to_string(),
        assignment: Default::default(),
    }
}

fn failure(kind: &str, message: &str) -> TaskOutcome {
    TaskOutcome::Failure {
        kind: kind.to_string(),
        message: message.to_string(),
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

/// Waits up to a second for `pid` to die.
async fn wait_dead(pid: i32) -> bool {
    for _ in 0..50 {
        if !alive(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

fn read_pid(path: &Path) -> i32 {
    std::fs::read_to_string(path)
        .expect("the agent wrote its grandchild's pid")
        .trim()
        .parse()
        .expect("a pid")
}

// ── the protocol ────────────────────────────────────────────────────────────

#[tokio::test]
async fn a_success_carries_the_outputs_and_the_child_sees_the_request() {
    let backend = backend(&[("ECHO", agent("python3", "echo.py"))]);
    let cancel = CancellationToken::new();
    let outcome = backend
        .call(request("ECHO", json!({"message": "hi"}), &cancel))
        .await;
    let expected = json!({
        "message": "hi", "attempt": 2, "agent": "ECHO", "task": "work",
        "run_id": "test-run", "timeout_ms": 450,
    });
    assert_eq!(
        outcome,
        TaskOutcome::Success(expected.as_object().cloned().unwrap_or_default())
    );
    backend.drain().await;
    assert_eq!(backend.live_groups(), 0);
}

#[tokio::test]
async fn a_failure_keeps_its_kind_and_message() {
    let backend = backend(&[("F", agent("python3", "fail.py"))]);
    let outcome = backend
        .call(request("F", json!({}), &CancellationToken::new()))
        .await;
    assert_eq!(outcome, failure("rejected", "non-fast-forward"));
}

#[tokio::test]
async fn garbage_on_stdout_is_a_backend_failure_with_stderrs_last_line() {
    let backend = backend(&[("G", agent("python3", "garbage.py"))]);
    let outcome = backend
        .call(request("G", json!({}), &CancellationToken::new()))
        .await;
    assert_eq!(outcome, failure("backend", "last words"));
}

#[tokio::test]
async fn a_non_zero_exit_is_a_backend_failure_even_with_a_valid_reply() {
    let backend = backend(&[("X", agent("python3", "exit_nonzero.py"))]);
    let outcome = backend
        .call(request("X", json!({}), &CancellationToken::new()))
        .await;
    assert_eq!(outcome, failure("backend", "boom: exit 3"));
}

#[tokio::test]
async fn without_stderr_the_message_says_what_went_wrong() {
    let mut silent = agent("sh", "sleep_forever.sh");
    silent.command = vec!["sh".into(), "-c".into(), "exit 7".into()];
    let mut empty = agent("sh", "sleep_forever.sh");
    empty.command = vec!["sh".into(), "-c".into(), "cat >/dev/null".into()];
    let mut missing = agent("sh", "sleep_forever.sh");
    missing.command = vec!["/nonexistent/agent-binary".into()];
    let backend = backend(&[("S", silent), ("E", empty), ("M", missing)]);
    let cancel = CancellationToken::new();
    assert_eq!(
        backend.call(request("S", json!({}), &cancel)).await,
        failure("backend", "the agent process exited with status 7")
    );
    assert_eq!(
        backend.call(request("E", json!({}), &cancel)).await,
        failure("backend", "the agent process printed nothing on stdout")
    );
    match backend.call(request("M", json!({}), &cancel)).await {
        TaskOutcome::Failure { kind, message } => {
            assert_eq!(kind, "backend");
            assert!(
                message.starts_with("cannot start `/nonexistent/agent-binary`"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_reply_over_one_mib_is_a_backend_failure() {
    let mut big = agent("python3", "echo.py");
    big.command = vec![
        "python3".into(),
        "-c".into(),
        "import sys; sys.stdin.read(); sys.stdout.write('x' * (3 << 20)); print('too big', file=sys.stderr)".into(),
    ];
    let backend = backend(&[("B", big)]);
    let outcome = backend
        .call(request("B", json!({}), &CancellationToken::new()))
        .await;
    assert_eq!(outcome, failure("backend", "too big"));
}

#[tokio::test]
async fn the_environment_is_cleared_except_the_allow_list_and_the_agents_env() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env_file = dir.path().join("env.txt");
    let mut env_agent = agent("sh", "env.sh");
    env_agent.env.insert("EXTRA".into(), "from config".into());
    env_agent
        .env
        .insert("ENV_FILE".into(), env_file.to_string_lossy().into_owned());
    let backend = backend(&[("ENV", env_agent)]);
    let outcome = backend
        .call(request("ENV", json!({}), &CancellationToken::new()))
        .await;
    assert_eq!(outcome, TaskOutcome::Success(Map::new()));
    let text = std::fs::read_to_string(&env_file).expect("env written");
    let env: BTreeMap<&str, &str> = text.lines().filter_map(|l| l.split_once('=')).collect();
    // PWD, SHLVL, _ and OLDPWD: what a shell itself may export.
    let allowed = [
        "PATH", "HOME", "LANG", "EXTRA", "ENV_FILE", "PWD", "SHLVL", "_", "OLDPWD",
    ];
    let extra: Vec<&&str> = env.keys().filter(|k| !allowed.contains(*k)).collect();
    assert!(extra.is_empty(), "leaked into the agent: {extra:?}");
    assert_eq!(env.get("EXTRA"), Some(&"from config"));
    if let Ok(path) = std::env::var("PATH") {
        assert_eq!(env.get("PATH"), Some(&path.as_str()));
    }
    // cargo sets CARGO_MANIFEST_DIR for this test binary; the child must not see it.
    assert!(!env.contains_key("CARGO_MANIFEST_DIR"));
}

// ── cancellation and process groups ────────────────────────────────────────

#[tokio::test]
async fn cancelling_terminates_a_process_that_traps_nothing() {
    let mut sleeper = agent("sh", "sleep_forever.sh");
    sleeper.grace = Duration::from_secs(1);
    let backend = backend(&[("SLEEP", sleeper)]);
    let cancel = CancellationToken::new();
    let started = Instant::now();
    let stopper = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        stopper.cancel();
    });
    let outcome = backend.call(request("SLEEP", json!({}), &cancel)).await;
    assert!(matches!(outcome, TaskOutcome::Failure { ref kind, .. } if kind == "cancelled"));
    backend.drain().await;
    // SIGTERM was enough: no wait for the 1s grace period on top.
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(backend.live_groups(), 0);
}

#[tokio::test]
async fn a_process_ignoring_sigterm_is_killed_after_the_grace_period() {
    let backend = backend(&[("TRAP", agent("sh", "trap_term.sh"))]);
    let cancel = CancellationToken::new();
    let stopper = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        stopper.cancel();
    });
    let started = Instant::now();
    let outcome = backend.call(request("TRAP", json!({}), &cancel)).await;
    backend.drain().await;
    let elapsed = started.elapsed();
    assert!(matches!(outcome, TaskOutcome::Failure { ref kind, .. } if kind == "cancelled"));
    assert!(
        elapsed >= Duration::from_millis(350),
        "killed before the grace period: {elapsed:?}"
    );
    assert!(elapsed < Duration::from_millis(1500), "{elapsed:?}");
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
    let call = backend.call(request("FORK", json!({}), &cancel));
    assert!(tokio::time::timeout(Duration::from_millis(400), call)
        .await
        .is_err());
    backend.drain().await;
    let grandchild = read_pid(&pid_file);
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
    let started = Instant::now();
    let outcome = backend
        .call(request("FORK", json!({}), &CancellationToken::new()))
        .await;
    assert!(started.elapsed() < Duration::from_secs(2));
    let grandchild = read_pid(&pid_file);
    assert_eq!(
        outcome,
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

/// Runs `signal` as `coordops run` does, on a real-time runtime.
fn run_for_real(signal: &str, process: ProcessAgentMap) -> RunResult {
    let playbook = playbook();
    let context = context::build(&playbook, signal, &[]).expect("context");
    let process = Arc::new(ProcessBackend::new(process));
    let simulated = Arc::new(SimulatedBackend::new(&playbook, Scenario::default()));
    let backend = Arc::new(RoutingBackend::new(
        process.clone(),
        simulated,
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
        let result = run(request, backend, CancellationToken::new()).await;
        process.drain().await;
        assert_eq!(process.live_groups(), 0);
        result
    })
}

type ProcessAgentMap = HashMap<String, ProcessAgent>;

#[test]
fn a_timeout_records_the_step_and_kills_the_whole_group() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pid_file = dir.path().join("grandchild.pid");
    let mut forker = agent("python3", "fork_grandchild.py");
    forker
        .env
        .insert("PID_FILE".into(), pid_file.to_string_lossy().into_owned());
    let started = Instant::now();
    let result = run_for_real("PROC:FORK", HashMap::from([("FORKER".to_string(), forker)]));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(result.status, RunStatus::Failed, "{}", result.summary);
    let step = result
        .steps
        .iter()
        .find(|s| s.agent.as_deref() == Some("FORKER"))
        .expect("the FORKER step is recorded");
    assert_eq!(step.outcome, StepOutcome::Timeout, "{step:?}");
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
    );
    assert_eq!(result.status, RunStatus::Complete, "{}", result.summary);
    assert_eq!(result.payload["echoed"], "from mixed");
    // SIM is simulated: the placeholder output.
    assert_eq!(result.payload["noted"], "note-text-1");
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
    for (policy, status) in [
        (ApprovalPolicy::Grant, RunStatus::Complete),
        (ApprovalPolicy::Deny, RunStatus::Failed),
    ] {
        let process = Arc::new(ProcessBackend::new(HashMap::new()));
        let simulated = Arc::new(SimulatedBackend::new(&playbook, Scenario::default()));
        let backend = Arc::new(RoutingBackend::new(process, simulated, policy));
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

fn parse_config(text: &str) -> Result<BackendsConfig, String> {
    BackendsConfig::parse(text, Path::new("conf/backends.toml"), &playbook())
}

#[test]
fn the_backends_file_parses_with_defaults() {
    let config = parse_config(
        r#"
        [agents.ECHO]
        command = ["python3", "echo.py"]
        env = { A = "1" }
        cwd = "agents"
        [agents.SLEEPER]
        command = ["sh", "x.sh"]
        grace = "5s"
        [agents.SIM]
        backend = "simulated"
        "#,
    )
    .expect("valid");
    assert_eq!(config.approvals, ApprovalPolicy::Never);
    let AgentBackendConfig::Process(echo) = &config.agents["ECHO"] else {
        panic!("ECHO runs as a process");
    };
    assert_eq!(echo.grace, Duration::from_secs(2));
    assert_eq!(echo.cwd, Some(PathBuf::from("conf/agents")));
    assert_eq!(echo.env["A"], "1");
    let AgentBackendConfig::Process(sleeper) = &config.agents["SLEEPER"] else {
        panic!("SLEEPER runs as a process");
    };
    assert_eq!(sleeper.grace, Duration::from_secs(5));
    assert_eq!(config.agents["SIM"], AgentBackendConfig::Simulated);
    assert_eq!(config.process_agents().len(), 2);

    let config = parse_config(
        "[defaults]\ngrace = \"500ms\"\napprovals = \"grant\"\n[agents.ECHO]\ncommand = [\"a\"]\n",
    )
    .expect("valid");
    assert_eq!(config.approvals, ApprovalPolicy::Grant);
    assert_eq!(
        config.process_agents()["ECHO"].grace,
        Duration::from_millis(500)
    );
}

#[test]
fn backends_file_errors_name_the_file_and_the_key() {
    let cases = [
        (
            "[agents.ECH0]\ncommand = [\"a\"]\n",
            "`agents.ECH0` names an agent the playbook does not declare (did you mean `ECHO`?)",
        ),
        (
            "[agents.ECHO]\ncommand = []\n",
            "`agents.ECHO.command` is empty",
        ),
        (
            "[agents.ECHO]\ncommand = [\"\"]\n",
            "`agents.ECHO.command` is empty",
        ),
        (
            "[agents.ECHO]\nenv = { A = \"1\" }\n",
            "`agents.ECHO.command` is missing",
        ),
        (
            "[agents.ECHO]\ncommand = [\"a\"]\ngrace = \"soon\"\n",
            "`agents.ECHO.grace` `soon` is not a duration",
        ),
        (
            "[defaults]\ngrace = \"2 seconds\"\n",
            "`defaults.grace` `2 seconds` is not a duration",
        ),
        (
            "[agents.SIM]\nbackend = \"simulated\"\ncommand = [\"a\"]\n",
            "`agents.SIM.command` does not apply to a simulated agent",
        ),
        (
            "[agents.ECHO]\ncomand = [\"a\"]\n",
            "unknown field `comand`",
        ),
        (
            "[defaults]\napprovals = \"maybe\"\n",
            "unknown variant `maybe`",
        ),
        (
            "[agents.ECHO]\ncommand = \"python3 echo.py\"\n",
            "invalid type",
        ),
    ];
    for (text, expected) in cases {
        let error = parse_config(text).expect_err(text);
        assert!(
            error.contains("backends file `conf/backends.toml`"),
            "{error}"
        );
        assert!(
            error.contains(expected),
            "{text:?}\n  gave: {error}\n  want: {expected}"
        );
    }
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
        .timeout(Duration::from_secs(10));
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
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").collect();
    assert_eq!(leftovers.len(), 1, "temporary files left behind");
}

#[test]
fn coordops_run_times_out_a_hanging_agent_and_exits_4() {
    let started = Instant::now();
    coordops_run("PROC:HANG", &["--format", "json"])
        .assert()
        .code(4)
        .stdout(predicate::str::contains("\"timeout\""));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn coordops_run_rejects_bad_configuration() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[agents.NOBODY]\ncommand = [\"true\"]\n").expect("write");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_coordops"));
    cmd.current_dir(root())
        .args(["run", PLAYBOOK, "--signal", "PROC:ECHO", "--backends"])
        .arg(&bad)
        .assert()
        .code(2)
        .stdout("")
        .stderr(
            predicate::str::contains("bad.toml").and(predicate::str::contains("`agents.NOBODY`")),
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

    Command::new(env!("CARGO_BIN_EXE_coordops"))
        .current_dir(root())
        .args(["run", PLAYBOOK, "--signal", "PROC:ECHO", "--backends"])
        .arg(dir.path().join("missing.toml"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read backends file"));
}
