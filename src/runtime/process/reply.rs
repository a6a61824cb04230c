//! Turning what a child did (its exit status and stdout) into an outcome.

use std::process::ExitStatus;

use crate::runtime::backend::{kinds, TaskOutcome};
use crate::runtime::reply::{human_bytes, parse_reply};

use super::MAX_STDOUT;

/// The outcome of an attempt whose process ended by itself: a non-zero
/// status or a signal is an `exit` failure (even with a valid reply), a
/// reply that breaks the protocol a `protocol` failure. `held_open`: a
/// descendant still held stdout open after the agent's group was killed,
/// so `stdout` is what had arrived by then (a protocol failure says so).
pub(super) fn interpret(status: ExitStatus, stdout: &[u8], held_open: bool) -> TaskOutcome {
    if !status.success() {
        return TaskOutcome::failure(kinds::EXIT, describe_status(status));
    }
    match parse_reply(stdout) {
        Ok(outcome) => outcome,
        Err(reason) if held_open => TaskOutcome::failure(
            kinds::PROTOCOL,
            format!("{reason} (stdout was still held open by a descendant process that left the agent's process group)"),
        ),
        Err(reason) => TaskOutcome::failure(kinds::PROTOCOL, reason),
    }
}

/// The `output_too_large` failure.
pub(super) fn too_large() -> TaskOutcome {
    TaskOutcome::failure(
        kinds::OUTPUT_TOO_LARGE,
        format!(
            "the agent wrote more than {} on stdout: it was stopped at once",
            human_bytes(MAX_STDOUT)
        ),
    )
}

/// `exited with status 7`, `was killed by signal 9 (SIGKILL)`.
pub(super) fn describe_status(status: ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return match signal_name(signal) {
                Some(name) => format!("the agent process was killed by signal {signal} ({name})"),
                None => format!("the agent process was killed by signal {signal}"),
            };
        }
    }
    match status.code() {
        Some(code) => format!("the agent process exited with status {code}"),
        None => format!("the agent process ended: {status}"),
    }
}

#[cfg(unix)]
fn signal_name(signal: i32) -> Option<&'static str> {
    Some(match signal {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        _ => return None,
    })
}
