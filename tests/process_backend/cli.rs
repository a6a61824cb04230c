//! `coordops run`: the real binary, its reports, its refusals, `kill -9`.

use super::*;

/// A fresh journal path in a temporary folder that outlives the test (so
/// runs never write into the source tree).
fn scratch_journal() -> PathBuf {
    static DIR: std::sync::OnceLock<Option<tempfile::TempDir>> = std::sync::OnceLock::new();
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let base = DIR
        .get_or_init(|| tempfile::tempdir().ok())
        .as_ref()
        .map_or_else(std::env::temp_dir, |d| d.path().to_path_buf());
    base.join(format!("run-{n}.jsonl"))
}

fn coordops_run(signal: &str, args: &[&str]) -> Command {
    let mut cmd = crate::support::coordops();
    cmd.args(["run", PLAYBOOK, "--signal", signal, "--backends", BACKENDS])
        .arg("--journal")
        .arg(scratch_journal())
        .args(args)
        .timeout(HANG_GUARD);
    cmd
}

#[test]
fn coordops_run_completes_with_real_agents() {
    coordops_run("PROC:ECHO", &["--set", "message=hi there"])
        .assert()
        .code(0)
        .stderr(predicate::str::contains("error").not())
        .stdout(
            predicate::str::starts_with("## Ops Result: PROC:ECHO\n")
                .and(predicate::str::contains("**Status:** COMPLETE"))
                .and(predicate::str::contains("hi there")),
        );
}

#[test]
fn coordops_run_writes_a_json_report_atomically() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("run.json");
    coordops_run("PROC:FAIL", &["--format", "json", "--output"])
        .arg(&out)
        .assert()
        .code(4)
        .stdout("");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("report")).expect("JSON");
    assert_eq!(report["status"], "FAILED");
    let text = report.to_string();
    assert!(text.contains("non-fast-forward"), "{text}");
    assert_eq!(
        report["steps"][0]["attempts"][0]["stderr"],
        json!(["about to refuse"])
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").collect();
    assert_eq!(leftovers.len(), 1, "temporary files left behind");
}

#[test]
fn coordops_run_shows_the_stderr_of_failed_steps_in_markdown() {
    coordops_run("PROC:GARBAGE", &[])
        .assert()
        .code(4)
        .stdout(
            predicate::str::contains("### Agent stderr")
                .and(predicate::str::contains(
                    "GARBAGE.babble attempt 1 (protocol), last 2 lines of stderr:\n\n```text\nfirst complaint\nlast words\n```\n",
                ))
                .and(predicate::str::contains("protocol: stdout is not one JSON object")),
        );
}

#[test]
fn coordops_run_times_out_a_hanging_agent_and_exits_4() {
    // The agent never answers: the 1s timeout fires however loaded the
    // machine is. The hang guard is the only bound on time.
    coordops_run("PROC:HANG", &["--format", "json"])
        .assert()
        .code(4)
        .stdout(predicate::str::contains("\"timeout\""));
}

/// Writes a backends file for the fixture playbook into `dir`.
fn backends_file(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("b.toml");
    std::fs::write(&path, text).expect("write");
    path
}

fn coordops_run_with(backends: &Path) -> Command {
    let mut cmd = crate::support::coordops();
    cmd.args(["run", PLAYBOOK, "--signal", "PROC:ECHO", "--backends"])
        .arg(backends)
        .arg("--journal")
        .arg(scratch_journal())
        .timeout(HANG_GUARD);
    cmd
}

#[test]
fn every_problem_of_the_backends_file_is_reported_in_file_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = backends_file(
        dir.path(),
        "[defaults]\ngrace = \"soon\"\n\
         [agents.FAILER]\ncommand = [\"nope-cmd-coordops\"]\ngrace = \"100000d\"\n\
         [agents.ECHO]\ncommand = [\"./nope.sh\"]\ncomand = [\"x\"]\ncwd = \"nowhere\"\n\
         [agents.SLEEPER]\ncommand = \"sh x.sh\"\n",
    );
    let output = coordops_run_with(&path).output().expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let file = format!("error: backends file `{}`: ", path.display());
    let expected = [
        "line 2, column 9: `defaults.grace` `soon` is not a duration",
        "line 4, column 11: `agents.FAILER.command`: `nope-cmd-coordops` is not found on PATH",
        "line 5, column 9: `agents.FAILER.grace` `100000d` is over the limit",
        "line 7, column 11: `agents.ECHO.command`: `./nope.sh` (",
        "line 8, column 10: `agents.ECHO.comand`: unknown field `comand`",
        "line 9, column 7: `agents.ECHO.cwd`: ",
        "line 11, column 11: `agents.SLEEPER.command`: invalid type: string \"sh x.sh\", expected a sequence",
    ];
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), expected.len(), "{stderr}");
    for (line, want) in lines.iter().zip(expected) {
        assert!(
            line.starts_with(&format!("{file}{want}")),
            "{line}\n  want: {want}"
        );
    }
}

#[test]
fn coordops_run_rejects_bad_configuration() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = backends_file(dir.path(), "[agents.NOBODY]\ncommand = [\"true\"]\n");
    coordops_run_with(&bad).assert().code(2).stdout("").stderr(
        predicate::str::contains("b.toml").and(predicate::str::contains("`agents.NOBODY`")),
    );

    let scenario = dir.path().join("scenario.toml");
    std::fs::write(&scenario, "[task.\"ECHO.say\"]\noutcome = \"failure\"\n").expect("write");
    coordops_run("PROC:MIXED", &["--scenario"])
        .arg(&scenario)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "scripts tasks of agents that run as processes or over HTTP: `ECHO.say`",
        ));
    // The same for one step of such an agent.
    std::fs::write(&scenario, "[step.\"mixed.said\"]\noutcome = \"failure\"\n").expect("write");
    coordops_run("PROC:MIXED", &["--scenario"])
        .arg(&scenario)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "scripts tasks of agents that run as processes or over HTTP: step `mixed.said` (ECHO)",
        ));

    coordops_run_with(&dir.path().join("missing.toml"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read backends file"));
}

#[test]
fn coordops_run_checks_every_process_agent_before_anything_starts() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A marker the ECHO agent would create if anything started.
    let marker = dir.path().join("started");
    let touch = format!("[\"sh\", \"-c\", \"touch {}\"]", marker.display());
    std::fs::write(dir.path().join("tools.py"), "print('x')\n").expect("write");
    let cases = [
        (
            format!("[agents.ECHO]\ncommand = {touch}\n[agents.FAILER]\ncommand = [\"no-such-program-coordops\"]\n"),
            "`agents.FAILER.command`: `no-such-program-coordops` is not found on PATH".to_string(),
        ),
        (
            format!("[agents.ECHO]\ncommand = {touch}\n[agents.FAILER]\ncommand = [\"./tools.py\"]\n"),
            "`agents.FAILER.command`: `./tools.py` is not executable (chmod +x it, or run it through its interpreter: [\"python3\", \"tools.py\"])".to_string(),
        ),
        (
            format!("[agents.ECHO]\ncommand = {touch}\ncwd = \"nowhere\"\n"),
            format!("`agents.ECHO.cwd`: `{}`: no such file or directory", dir.path().join("nowhere").display()),
        ),
        (
            format!("[agents.ECHO]\ncommand = {touch}\nsecrets = [\"COORDOPS_TEST_MISSING\"]\n"),
            "`agents.ECHO.secrets`: `COORDOPS_TEST_MISSING` is not set in coordops's environment".to_string(),
        ),
        (
            format!("[agents.ECHO]\ncommand = {touch}\nsecrets = [\"COORDOPS_TEST_SHORT\"]\n"),
            "`agents.ECHO.secrets`: the value of `COORDOPS_TEST_SHORT` is shorter than 6 characters".to_string(),
        ),
        (
            format!("[agents.ECHO]\ncommand = {touch}\nsecrets = [\"COORDOPS_TEST_TOKEN\"]\nenv = {{ COORDOPS_TEST_TOKEN = \"x\" }}\n"),
            "`agents.ECHO.env`: `COORDOPS_TEST_TOKEN` is also listed in `agents.ECHO.secrets`".to_string(),
        ),
    ];
    for (text, expected) in cases {
        let path = backends_file(dir.path(), &text);
        let file = format!("error: backends file `{}`: ", path.display());
        coordops_run_with(&path)
            .env_remove("COORDOPS_TEST_MISSING")
            .env("COORDOPS_TEST_SHORT", "abc")
            .env("COORDOPS_TEST_TOKEN", "long-enough-token")
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains(file).and(predicate::str::contains(expected)));
        assert!(!marker.exists(), "an agent started despite: {text}");
    }
}

#[test]
fn coordops_run_passes_secrets_to_the_agent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env_file = dir.path().join("env.txt");
    let path = backends_file(
        dir.path(),
        &format!(
            "[agents.ECHO]\ncommand = [\"sh\", {:?}]\nenv = {{ ENV_FILE = {:?} }}\nsecrets = [\"COORDOPS_TEST_TOKEN\"]\n",
            script("env.sh"),
            env_file.display().to_string()
        ),
    );
    coordops_run_with(&path)
        .env("COORDOPS_TEST_TOKEN", "long-enough-token")
        .env("COORDOPS_TEST_NOT_PASSED", "other")
        .assert()
        .code(0);
    let env = std::fs::read_to_string(&env_file).expect("env written");
    assert!(
        env.lines()
            .any(|l| l == "COORDOPS_TEST_TOKEN=long-enough-token"),
        "{env}"
    );
    assert!(!env.contains("COORDOPS_TEST_NOT_PASSED"), "{env}");
}

/// `coordops run … PROC:WAIT` with the backends file at `backends`, its
/// output discarded (the caller kills it).
#[cfg(target_os = "linux")]
fn spawn_waiting_run(backends: &Path) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_coordops"))
        .current_dir(root())
        .args(["run", PLAYBOOK, "--signal", "PROC:WAIT", "--backends"])
        .arg(backends)
        .arg("--journal")
        .arg(scratch_journal())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("coordops starts")
}

/// Waits for each file to hold a pid; `None` (after killing `coordops`)
/// when one never does.
#[cfg(target_os = "linux")]
fn wait_for_pids(coordops: &mut std::process::Child, files: &[&Path]) -> Option<Vec<i32>> {
    if !poll_until(|| files.iter().all(|f| pid_in(f).is_some())) {
        let _ = coordops.kill();
        let _ = coordops.wait();
        return None;
    }
    Some(files.iter().map(|f| read_pid(f)).collect())
}

#[cfg(target_os = "linux")]
#[test]
fn agents_do_not_outlive_a_killed_coordops() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ready = dir.path().join("agent.pid");
    let path = backends_file(
        dir.path(),
        &format!(
            "[agents.WAITER]\ncommand = [\"sh\", {:?}]\nenv = {{ READY_FILE = {:?} }}\n",
            script("sleep_forever.sh"),
            ready.display().to_string()
        ),
    );
    let mut coordops = spawn_waiting_run(&path);
    let Some(pids) = wait_for_pids(&mut coordops, &[&ready]) else {
        panic!("the agent never wrote its pid");
    };
    let agent = pids[0];
    assert!(alive(agent), "the agent {agent} is running");
    coordops.kill().expect("kill -9 coordops"); // SIGKILL: no cleanup runs
    let _ = coordops.wait();
    let gone = poll_until(|| !alive(agent));
    if !gone {
        // Do not leave it behind for the next test run.
        kill_pid(agent);
    }
    assert!(gone, "agent {agent} outlived its coordops");
}

#[cfg(target_os = "linux")]
#[test]
fn grandchildren_do_not_outlive_a_killed_coordops() {
    // The grandchild has no PR_SET_PDEATHSIG: the attempt's guard kills it.
    let dir = tempfile::tempdir().expect("tempdir");
    let ready = dir.path().join("agent.pid");
    let grandchild_file = dir.path().join("grandchild.pid");
    let path = backends_file(
        dir.path(),
        &format!(
            "[agents.WAITER]\ncommand = [\"sh\", {:?}]\nenv = {{ READY_FILE = {:?}, GRANDCHILD_FILE = {:?} }}\n",
            script("fork_and_wait.sh"),
            ready.display().to_string(),
            grandchild_file.display().to_string()
        ),
    );
    let mut coordops = spawn_waiting_run(&path);
    let Some(pids) = wait_for_pids(&mut coordops, &[&ready, &grandchild_file]) else {
        panic!("the agent never wrote its pids");
    };
    let (agent, grandchild) = (pids[0], pids[1]);
    let running = alive(agent) && alive(grandchild);
    let coordops_pid = i32::try_from(coordops.id()).unwrap_or(0);
    // The guard watches the agent's group from a group of its own.
    let guard = poll_until(|| guard_of(coordops_pid, agent).is_some())
        .then(|| guard_of(coordops_pid, agent))
        .flatten();
    let guard_group = guard.and_then(pgid_of);
    coordops.kill().expect("kill -9 coordops"); // SIGKILL: no cleanup runs
    let _ = coordops.wait();
    let gone = poll_until(|| !alive(agent) && !alive(grandchild));
    if !gone {
        // Do not leave them behind for the next test run.
        kill_pid(agent);
        kill_pid(grandchild);
    }
    assert!(
        running,
        "agent {agent} and grandchild {grandchild} were running"
    );
    assert!(
        gone,
        "agent {agent} or grandchild {grandchild} outlived coordops"
    );
    let guard = guard.expect("coordops started a guard for the agent's group");
    assert_eq!(guard_group, Some(guard), "the guard leads its own group");
}
