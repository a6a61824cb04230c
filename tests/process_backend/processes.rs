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

/// Whether `pid` is still a child of this test process: running, or a
/// zombie nobody reaped (a pid reused by another child would not match
/// the guard's command line).
#[cfg(target_os = "linux")]
fn still_our_child(pid: i32, guarded_pgid: i32) -> bool {
    let me = i32::try_from(std::process::id()).unwrap_or(0);
    if ppid_of(pid) != Some(me) {
        return false;
    }
    let zombie = stat_fields(pid).is_some_and(|f| f.first().map(String::as_str) == Some("Z"));
    zombie || guard_of(me, guarded_pgid) == Some(pid)
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn each_attempt_has_a_guard_that_is_reaped_when_it_ends() {
    let dir = tempfile::tempdir().expect("tempdir");
    let go = dir.path().join("go");
    let waiter = shell(
        r#"cat >/dev/null
echo $$ > "$READY_FILE.tmp" && mv "$READY_FILE.tmp" "$READY_FILE"
while [ ! -e "$GO_FILE" ]; do sleep 1; done
echo '{"status":"success","outputs":{"went":true}}'"#,
    );
    let (mut waiter, ready) = with_ready_file(waiter, dir.path());
    waiter
        .env
        .insert("GO_FILE".into(), go.to_string_lossy().into_owned());
    let backend = backend(&[("GO", waiter)]);
    let cancel = CancellationToken::new();
    let call = backend.call(request("GO", json!({}), &cancel));
    tokio::pin!(call);
    let agent = tokio::select! {
        reply = &mut call => panic!("answered before being told to: {reply:?}"),
        pid = wait_for_pid(&ready) => pid,
    };
    let me = i32::try_from(std::process::id()).unwrap_or(0);
    let guard = tokio::select! {
        reply = &mut call => panic!("answered before being told to: {reply:?}"),
        found = poll_until_async(|| guard_of(me, agent).is_some()) => {
            found.then(|| guard_of(me, agent)).flatten()
        }
    };
    let guard_group = guard.and_then(pgid_of);
    // The agent did not inherit coordops's end of the guard's line.
    let sockets: Vec<String> = std::fs::read_dir(format!("/proc/{agent}/fd"))
        .expect("the agent's descriptors")
        .flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .map(|target| target.to_string_lossy().into_owned())
        .filter(|target| target.starts_with("socket:"))
        .collect();
    std::fs::write(&go, "").expect("go file");
    let reply = tokio::time::timeout(HANG_GUARD, call)
        .await
        .expect("the agent answered");
    tokio::time::timeout(HANG_GUARD, backend.drain())
        .await
        .expect("drained");
    assert_eq!(
        reply.outcome,
        TaskOutcome::Success(
            json!({"went": true})
                .as_object()
                .cloned()
                .unwrap_or_default()
        )
    );
    assert_eq!(sockets, Vec::<String>::new(), "the agent holds a socket");
    let guard = guard.expect("a guard watched the agent's group");
    assert_eq!(guard_group, Some(guard), "the guard leads its own group");
    assert!(
        poll_until_async(|| !still_our_child(guard, agent)).await,
        "guard {guard} was left behind after the attempt"
    );
}
