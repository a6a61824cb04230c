//! Process groups: signalling them, and tracking which are still alive.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use super::lock;

/// A signal coordops sends to an agent's process group.
#[derive(Clone, Copy, Debug)]
pub(super) enum Signal {
    Term,
    Kill,
}

/// Sends `signal` to process group `pgid`. Refuses ids below 2: `kill(0)`
/// would signal our own group and `kill(-1)` every process we may signal.
pub(super) fn signal_group(pgid: i32, signal: Signal) -> bool {
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
pub(super) struct Group {
    pgid: i32,
    live: Arc<Mutex<HashSet<i32>>>,
    finished: bool,
}

impl Group {
    pub(super) fn new(pgid: i32, live: Arc<Mutex<HashSet<i32>>>) -> Self {
        if pgid > 1 {
            lock(&live).insert(pgid);
        }
        Group {
            pgid,
            live,
            finished: false,
        }
    }

    pub(super) fn signal(&self, signal: Signal, child: &mut tokio::process::Child) {
        if !signal_group(self.pgid, signal) && matches!(signal, Signal::Kill) {
            // No group (not unix) or it is already gone: the child alone.
            let _ = child.start_kill();
        }
    }

    /// The leader has been reaped: kill what is left and stop tracking.
    pub(super) fn finish(&mut self) {
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
    fn pid_0_and_1_are_never_signalled() {
        assert!(!signal_group(0, Signal::Kill));
        assert!(!signal_group(1, Signal::Kill));
        assert!(!signal_group(-5, Signal::Kill));
    }
}
