//! Helpers shared by the integration tests: the coordops binary as they run
//! it, the repository root, waiting on what a process did (never on a
//! wall-clock budget), live-process checks, and a small seeded PRNG for
//! tests whose randomness must be replayable.

use std::path::Path;

use serde_json::Value;
use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

/// How long to wait for a process to do something before failing: a hang
/// guard, never a budget.
pub const CAP: Duration = Duration::from_secs(60);

/// The repository root, where the tests run coordops.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The coordops binary as the tests run it: in the repository root, 80
/// columns wide, with no colour or log settings from the environment.
pub fn coordops() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_coordops"));
    cmd.current_dir(root())
        .env_remove("COORDOPS_LOG")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("CLICOLOR")
        .env("COLUMNS", "80");
    cmd
}

/// `git` with no configuration but `home`'s own (`HOME` is `home`: no
/// system file, no `GIT_CONFIG_GLOBAL`, no `XDG_CONFIG_HOME`) and no other
/// `GIT_*` variable from the environment (a hook's `GIT_DIR`, a shell's
/// identity), so a fresh CI machine and a developer's shell run it alike.
pub fn git(home: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new("git");
    for name in git_variables() {
        cmd.env_remove(name);
    }
    cmd.env_remove("XDG_CONFIG_HOME")
        .env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1");
    cmd
}

/// The names of the `GIT_*` variables set in the environment (a git hook
/// sets `GIT_DIR` and `GIT_INDEX_FILE`): tests that run git, or coordops
/// running git, remove them.
pub fn git_variables() -> impl Iterator<Item = std::ffi::OsString> {
    std::env::vars_os()
        .map(|(name, _)| name)
        .filter(|name| name.to_string_lossy().starts_with("GIT_"))
}

/// Runs `cmd`, fails the test (showing stderr) unless it exits 0, and
/// returns its stdout.
pub fn stdout_of(cmd: &mut assert_cmd::Command) -> String {
    let out = cmd.output().expect("coordops runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// Runs `cmd` as [`stdout_of`] does and parses its stdout as JSON.
pub fn json_of(cmd: &mut assert_cmd::Command) -> Value {
    serde_json::from_str(&stdout_of(cmd)).expect("a JSON document")
}

/// `coordops dry-run ARGS…` from the repository root, its JSON report
/// parsed (showing stderr when there is none).
pub fn dry_run_json(args: &[&str]) -> Value {
    let output = coordops()
        .arg("dry-run")
        .args(args)
        .args(["--format", "json"])
        .output()
        .expect("runs");
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stderr)))
}

/// A single-threaded runtime on virtual time (its clock paused): sleeps and
/// timeouts pass at once, in order.
pub fn virtual_time() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("runtime")
}

/// A temporary directory holding `files` (name, text), folders made as
/// needed.
pub fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::TempDir::new().expect("temp dir");
    for (name, text) in files {
        let path = dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(path, text).expect("write");
    }
    dir
}

/// Waits until `done` holds; `Err` after [`CAP`].
pub fn wait_for(what: &str, mut done: impl FnMut() -> bool) -> Result<(), String> {
    let start = Instant::now();
    while !done() {
        if start.elapsed() >= CAP {
            return Err(format!("gave up waiting for {what} after {CAP:?}"));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(())
}

/// Whether `pid` is a live process (a zombie counts as gone: in containers
/// nobody may reap orphans).
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => false,
    }
}

/// Whether any live process is in process group `pgid` (an agent's group:
/// what it started, as well as itself).
pub fn group_alive(pgid: i32) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    entries.flatten().any(|entry| {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            return false;
        };
        let Some((_, rest)) = stat.rsplit_once(')') else {
            return false;
        };
        // After the command name: state, ppid, pgrp, …
        let fields: Vec<&str> = rest.split_whitespace().take(3).collect();
        fields.len() == 3 && !fields[0].starts_with(['Z', 'X']) && fields[2].parse() == Ok(pgid)
    })
}

/// Sends `signal` to a child we started and have not reaped yet.
pub fn signal(child: &Child, signal: i32) {
    let pid = i32::try_from(child.id()).expect("pid");
    // SAFETY: kill(2) on the pid of a child we started and have not reaped
    // (its pid cannot have been reused).
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
}

/// Waits for `child` to exit; `Err` after [`CAP`].
pub fn wait_exit(child: &mut Child) -> Result<ExitStatus, String> {
    let mut status = None;
    wait_for("coordops to exit", || {
        status = child.try_wait().ok().flatten();
        status.is_some()
    })?;
    status.ok_or_else(|| "no exit status".to_string())
}

/// SplitMix64: a tiny seeded PRNG, so a failing random test can be replayed
/// from the seed it prints.
pub struct Rng(u64);

impl Rng {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// A report without what differs between two equal runs: times, durations
/// (also inside texts: `granted after 1ms`), timestamps, the run id, and the order in which concurrent things happened (events,
/// and which steps a handoff saw finished first): every list is compared
/// as a multiset.
pub fn normalise(report: &Value, run_id: &str) -> Value {
    fn strip(value: &mut Value, run_id: &str) {
        match value {
            Value::Object(map) => {
                for key in [
                    "run_id",
                    "started_at",
                    "duration_ms",
                    "started_ms",
                    "at_ms",
                    "at",
                    "timestamp",
                    "requested_at",
                    "deadline",
                    "deadline_ms",
                ] {
                    map.remove(key);
                }
                map.values_mut().for_each(|v| strip(v, run_id));
            }
            Value::Array(items) => {
                items.iter_mut().for_each(|v| strip(v, run_id));
                items.sort_by_key(|v| v.to_string());
            }
            Value::String(s) => {
                let text = if run_id.is_empty() {
                    s.clone()
                } else {
                    s.replace(run_id, "RUN")
                };
                *s = durations().replace_all(&text, "DURATION").into_owned();
            }
            _ => {}
        }
    }
    let mut report = report.clone();
    strip(&mut report, run_id);
    report
}

/// Durations as reports write them (`1ms`, `2s`, `1m30s`, `0.3s`).
fn durations() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(r"\b\d+(\.\d+)?(ms|s|m|h)(\d+(ms|s|m))*\b").expect("a regex")
    })
}

#[test]
fn group_alive_sees_what_a_group_leader_started() {
    use std::os::unix::process::CommandExt;
    let mut leader = std::process::Command::new("sh")
        .args(["-c", "sleep 300 & wait"])
        .process_group(0)
        .spawn()
        .expect("sh starts");
    let pgid = i32::try_from(leader.id()).expect("pid");
    assert!(group_alive(pgid));
    // SAFETY: kill(2) on the process group of a child we started and have
    // not reaped.
    assert_eq!(unsafe { libc::kill(-pgid, libc::SIGKILL) }, 0);
    wait_exit(&mut leader).expect("the leader dies");
    wait_for("the group to be gone", || !group_alive(pgid)).expect("gone");
}

/// The `item` of each uncovered entry of one playbook's JSON coverage.
pub fn uncovered_items(playbook: &serde_json::Value) -> Vec<&str> {
    playbook["uncovered"]
        .as_array()
        .map(|items| items.iter().filter_map(|u| u["item"].as_str()).collect())
        .unwrap_or_default()
}
