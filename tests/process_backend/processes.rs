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
