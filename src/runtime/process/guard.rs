//! The guard: one tiny watcher process per attempt that kills the agent's
//! process group if coordops dies without finishing it (`kill -9`, a
//! crash, an OOM kill).
//!
//! `PR_SET_PDEATHSIG` (spawn.rs) kills the agent process itself, but not
//! what it started (`sh` → `sleep`, `make test`, `git`): those would live on
//! under PID 1, still in the agent's group. So each attempt also starts
//!
//! ```text
//! /bin/sh -c 'read -r line; [ "$line" = done ] || …kill -s KILL -- "-$1"' sh PGID
//! ```
//!
//! (the group id as an argument, never in the script) whose stdin is one
//! end of a socket pair; only coordops holds the other end, which is
//! close-on-exec (std creates it so), so no agent inherits it. When the
//! attempt's group is finished normally coordops writes `done` and the guard
//! exits without killing; when coordops dies, the kernel closes its end, the
//! guard reads end-of-file and sends SIGKILL to the group.
//!
//! The guard leads a process group of its own: a Ctrl-C in the terminal
//! or a signal to coordops's group (`kill -9 -- -PGID`) must not take it
//! down with coordops, since that is exactly when it has work to do. It
//! gets no `PR_SET_PDEATHSIG` for the same reason, and its stdout and
//! stderr are `/dev/null` (it never holds coordops's output open).
//!
//! Races, and what covers them:
//! - coordops dies after starting the agent but before the guard: the agent
//!   still has `PR_SET_PDEATHSIG`; whatever it started in that instant is
//!   not covered.
//! - the guard cannot be started: logged, and the attempt goes on (the agent
//!   still has `PR_SET_PDEATHSIG`).
//! - coordops dies after reaping the agent and killing what was left of its
//!   group, but before writing `done`: the guard kills a group id that is
//!   no longer in use, unless the kernel handed that id to a new process
//!   group in those few instructions (it would have to cycle through the
//!   whole pid space first). `done` is written right after the group is
//!   finished to keep that window as small as it can be.
//! - the call is abandoned without finishing the group (the supervisor is
//!   dropped): its end of the socket closes, so the guard kills the group,
//!   as [`super::group::Group`]'s drop does.
//!
//! Normally the guard is reaped by [`Guard::reap`] right after `done`; a
//! dropped guard is reaped by tokio in the background.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::process::Stdio;
use std::time::Duration;

/// The watcher script: `$1` is the process group to kill.
pub(super) const SCRIPT: &str =
    r#"read -r line; [ "$line" = done ] || { [ "$1" -gt 1 ] && kill -s KILL -- "-$1"; }"#;

/// How long a told guard may take to exit before it is killed.
const EXIT_WAIT: Duration = Duration::from_secs(5);

/// A running guard for one attempt's process group.
pub(super) struct Guard {
    child: tokio::process::Child,
    /// coordops's end of the line; `None` once `done` was written.
    line: Option<UnixStream>,
    pgid: i32,
}

impl Guard {
    /// Starts a guard for process group `pgid`; `None` (logged) when there is
    /// no such group to guard or the guard cannot be started.
    pub(super) fn start(pgid: i32, label: &str) -> Option<Guard> {
        if pgid <= 1 {
            tracing::debug!(%label, pgid, "no process group to guard");
            return None;
        }
        let started = UnixStream::pair().and_then(|(ours, theirs)| {
            let child = tokio::process::Command::new("/bin/sh")
                .args(["-c", SCRIPT, "sh", &pgid.to_string()])
                .env_clear()
                .current_dir("/")
                .stdin(Stdio::from(std::os::fd::OwnedFd::from(theirs)))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()?;
            Ok((child, ours))
        });
        match started {
            Ok((child, line)) => {
                tracing::debug!(%label, pgid, guard = ?child.id(), "started the process group's guard");
                Some(Guard {
                    child,
                    line: Some(line),
                    pgid,
                })
            }
            Err(e) => {
                tracing::warn!(
                    %label,
                    pgid,
                    error = %e,
                    "cannot start a guard for the agent's process group: if coordops is killed, \
                     processes the agent started may outlive it"
                );
                None
            }
        }
    }

    /// The group is finished: tells the guard to exit without killing.
    /// Call right after the group was killed and its leader reaped.
    pub(super) fn done(&mut self) {
        if let Some(mut line) = self.line.take() {
            // A guard that is already gone (killed from outside) cannot be
            // told; coordops ignores SIGPIPE while it runs agents.
            if let Err(e) = line.write_all(b"done\n") {
                tracing::debug!(pgid = self.pgid, error = %e, "cannot tell the guard the group is done");
            }
        }
    }

    /// Tells the guard the group is done (if not yet) and waits for it to
    /// exit, so no zombie is left; kills it if it does not exit soon.
    pub(super) async fn reap(mut self) {
        self.done();
        let status = match tokio::time::timeout(EXIT_WAIT, self.child.wait()).await {
            Ok(status) => status,
            Err(_) => {
                tracing::debug!(pgid = self.pgid, "the guard did not exit: SIGKILL");
                let _ = self.child.start_kill();
                self.child.wait().await
            }
        };
        tracing::debug!(pgid = self.pgid, ?status, "guard reaped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_is_no_guard_for_group_0_or_1() {
        assert!(Guard::start(0, "test").is_none());
        assert!(Guard::start(1, "test").is_none());
        assert!(Guard::start(-7, "test").is_none());
    }

    /// A `sleep 300` leading a process group of its own.
    fn sleeper() -> (tokio::process::Child, i32) {
        let child = tokio::process::Command::new("sleep")
            .arg("300")
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .expect("sleep starts");
        let pid = child.id().and_then(|p| i32::try_from(p).ok()).unwrap_or(0);
        (child, pid)
    }

    /// A cap far above any real wait: reaching it fails the test.
    const HANG_GUARD: Duration = Duration::from_secs(60);

    #[tokio::test]
    async fn a_guard_whose_line_closes_kills_the_group() {
        use std::os::unix::process::ExitStatusExt;
        let (mut sleeper, pgid) = sleeper();
        let guard = Guard::start(pgid, "test").expect("the guard starts");
        // What coordops's death does: its end of the line closes.
        drop(guard);
        let status = tokio::time::timeout(HANG_GUARD, sleeper.wait())
            .await
            .expect("the group was killed")
            .expect("sleep reaped");
        assert_eq!(status.signal(), Some(libc::SIGKILL));
    }

    #[tokio::test]
    async fn a_guard_told_done_exits_without_killing() {
        let (mut sleeper, pgid) = sleeper();
        let mut guard = Guard::start(pgid, "test").expect("the guard starts");
        guard.done();
        let status = tokio::time::timeout(HANG_GUARD, guard.child.wait())
            .await
            .expect("the guard exited")
            .expect("guard reaped");
        assert!(status.success(), "{status}");
        assert!(
            matches!(sleeper.try_wait(), Ok(None)),
            "the group was killed"
        );
        let _ = sleeper.start_kill();
        let _ = sleeper.wait().await;
    }
}
