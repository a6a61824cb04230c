//! The protocol: replies, failure kinds, stderr tails, the environment.

use super::*;

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
