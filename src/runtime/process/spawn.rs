//! Starting one agent process: argv only, a cleared environment plus an
//! allow-list, its own process group, and (on Linux) death with coordops.

use std::process::Stdio;

use super::{ProcessAgent, ENV_ALLOW_LIST};

/// Builds the command for one attempt of `agent`.
pub(super) fn command(agent: &ProcessAgent) -> Option<tokio::process::Command> {
    let (program, args) = agent.command.split_first()?;
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for name in ENV_ALLOW_LIST {
        if let Some(value) = std::env::var_os(name) {
            cmd.env(name, value);
        }
    }
    cmd.envs(&agent.env);
    cmd.envs(&agent.secrets);
    if let Some(cwd) = &agent.cwd {
        cmd.current_dir(cwd);
    }
    #[cfg(unix)]
    cmd.process_group(0);
    #[cfg(target_os = "linux")]
    die_with_parent(&mut cmd);
    Some(cmd)
}

/// `kill -9` of coordops runs no cleanup: have the kernel send SIGKILL to
/// the agent when its parent goes away.
///
/// PR_SET_PDEATHSIG fires when the *thread* that forked the child exits,
/// not the process. Children are spawned from the supervisor task, which
/// runs on a runtime worker thread (or the thread driving a current-thread
/// runtime): those live as long as the run. Never spawn from
/// `spawn_blocking` threads, which exit when idle.
#[cfg(target_os = "linux")]
fn die_with_parent(cmd: &mut tokio::process::Command) {
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    // SAFETY: the closure runs in the forked child before exec and calls only
    // prctl and getppid, both async-signal-safe; it allocates nothing (the
    // error is built from a raw errno).
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died between fork and prctl: then the
            // signal will never come, so do not start at all.
            if libc::getppid() != parent {
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}

/// `cannot start `./agent.py`: permission denied (os error 13)`.
pub(super) fn spawn_error(program: &str, error: &std::io::Error) -> String {
    format!("cannot start `{program}`: {}", os_reason(error))
}

/// An OS error as a clause: `no such file or directory (os error 2)`.
pub(crate) fn os_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spawn_errors_name_the_program_and_the_os_reason() {
        let e = std::io::Error::from_raw_os_error(13);
        assert_eq!(
            spawn_error("./agent.py", &e),
            "cannot start `./agent.py`: permission denied (os error 13)"
        );
    }
}
