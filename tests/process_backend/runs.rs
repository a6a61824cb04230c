//! Whole runs through the interpreter with the routing backend.

use super::*;

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
