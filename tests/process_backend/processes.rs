//! Cancellation and process groups: nothing outlives its attempt.

use super::*;

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

/// Sends SIGKILL to `pid` (a process a test left behind on purpose).
fn kill_pid(pid: i32) {
    if pid > 1 {
        let _ = std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// Runs `detach_stdout.py` (`reply` = `none` prints no reply) and returns
/// its reply, after killing the descendant it left holding stdout open.
async fn call_detacher(reply: &str) -> Reply {
    let dir = tempfile::tempdir().expect("tempdir");
    let pid_file = dir.path().join("detached.pid");
    let mut detacher = agent("python3", "detach_stdout.py");
    detacher
        .env
        .insert("PID_FILE".into(), pid_file.to_string_lossy().into_owned());
    detacher.env.insert("REPLY".into(), reply.into());
    let backend = backend(&[("DETACH", detacher)]);
    let answer = call(&backend, "DETACH").await;
    let detached = read_pid(&pid_file);
    // It left the group on purpose: coordops does not track it.
    kill_pid(detached);
    assert!(wait_dead(detached).await, "{detached} survived SIGKILL");
    answer
}

#[tokio::test]
async fn a_reply_is_kept_when_a_detached_descendant_holds_stdout_open() {
    let reply = call_detacher("json").await;
    assert_eq!(
        reply.outcome,
        TaskOutcome::Success(
            json!({"kept": true})
                .as_object()
                .cloned()
                .unwrap_or_default()
        )
    );
}

#[tokio::test]
async fn a_missing_reply_says_a_descendant_held_stdout_open() {
    let reply = call_detacher("none").await;
    assert_eq!(
        kind_of(&reply.outcome),
        (
            "protocol",
            "the agent process printed nothing on stdout (stdout was still held open by a \
             descendant process that left the agent's process group)"
        )
    );
}
