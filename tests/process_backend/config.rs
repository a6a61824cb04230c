//! The backends file: paths, checks, secrets, errors.

use super::*;

/// A fake environment: no test mutates the process environment.
fn fake_env(name: &str) -> Option<String> {
    match name {
        "PATH" => std::env::var("PATH").ok(),
        "GITHUB_TOKEN" => Some("ghp-0123456789".to_string()),
        "NPM_TOKEN" => Some("npm-abcdef".to_string()),
        "SHORT" => Some("abc".to_string()),
        _ => None,
    }
}

fn parse_in(dir: &Path, text: &str) -> Result<BackendsConfig, String> {
    BackendsConfig::parse_with_env(text, &dir.join("backends.toml"), &playbook(), &fake_env)
        .map_err(|e| e.to_string())
}

/// Parses with the file in tests/fixtures/backends/ (so `../agents/…` and
/// `cwd = "../agents"` resolve to the fixture agents).
fn parse_config(text: &str) -> Result<BackendsConfig, String> {
    parse_in(&root().join("tests/fixtures/backends"), text)
}

#[test]
fn the_backends_file_parses_with_defaults() {
    let config = parse_config(
        r#"
        [agents.ECHO]
        command = ["python3", "echo.py"]
        env = { A = "1" }
        cwd = "../agents"
        [agents.SLEEPER]
        command = ["sh", "x.sh"]
        grace = "5s"
        [agents.SIM]
        backend = "simulated"
        "#,
    )
    .expect("valid");
    assert_eq!(config.approvals, ApprovalPolicy::Ask);
    let Some(AgentBackendConfig::Process(echo)) = config.backend_for("ECHO") else {
        panic!("ECHO runs as a process");
    };
    assert_eq!(echo.grace, Duration::from_secs(2));
    assert_eq!(
        echo.cwd,
        Some(root().join("tests/fixtures/backends/../agents"))
    );
    assert_eq!(echo.env["A"], "1");
    // Bare names stay bare (looked up on PATH); arguments are verbatim.
    assert_eq!(echo.command, ["python3", "echo.py"]);
    let Some(AgentBackendConfig::Process(sleeper)) = config.backend_for("SLEEPER") else {
        panic!("SLEEPER runs as a process");
    };
    assert_eq!(sleeper.grace, Duration::from_secs(5));
    assert_eq!(
        config.backend_for("SIM"),
        Some(&AgentBackendConfig::Simulated)
    );
    assert_eq!(config.backend_for("FAILER"), None);
    assert_eq!(config.process_agents().len(), 2);
    assert_eq!(
        config.simulated_agents().into_iter().collect::<Vec<_>>(),
        ["SIM"]
    );
    assert_eq!(
        config.unmapped_agents(),
        ["FAILER", "FORKER", "GARBAGE", "WAITER"]
    );

    let config = parse_config(
        "[defaults]\ngrace = \"500ms\"\napprovals = \"grant\"\n[agents.ECHO]\ncommand = [\"true\"]\n",
    )
    .expect("valid");
    assert_eq!(config.approvals, ApprovalPolicy::Grant);
    assert_eq!(
        config.process_agents()["ECHO"].grace,
        Duration::from_secs(1) / 2
    );
}

#[test]
fn a_program_path_is_relative_to_the_backends_file() {
    let config = parse_config(
        "[agents.ECHO]\ncommand = [\"../agents/echo.py\", \"--flag\", \"rel/arg\"]\ncwd = \"..\"\n",
    )
    .expect("valid");
    let echo = &config.process_agents()["ECHO"];
    let program = root().join("tests/fixtures/backends/../agents/echo.py");
    assert_eq!(
        echo.command,
        [program.to_string_lossy().as_ref(), "--flag", "rel/arg"]
    );
    assert_eq!(echo.cwd, Some(root().join("tests/fixtures/backends/..")));
}

#[test]
fn secrets_come_from_the_environment_and_defaults_are_extended() {
    let config = parse_config(
        r#"
        [defaults]
        secrets = ["GITHUB_TOKEN"]
        [agents.ECHO]
        command = ["true"]
        secrets = ["NPM_TOKEN"]
        [agents.FAILER]
        command = ["true"]
        "#,
    )
    .expect("valid");
    let agents = config.process_agents();
    assert_eq!(
        agents["ECHO"].secrets.keys().collect::<Vec<_>>(),
        ["GITHUB_TOKEN", "NPM_TOKEN"]
    );
    assert_eq!(
        agents["FAILER"].secrets.keys().collect::<Vec<_>>(),
        ["GITHUB_TOKEN"]
    );
    assert_eq!(
        config.secret_values(),
        [
            ("GITHUB_TOKEN".to_string(), "ghp-0123456789".to_string()),
            ("NPM_TOKEN".to_string(), "npm-abcdef".to_string()),
        ]
    );
}

#[test]
fn backends_file_errors_name_the_file_the_key_and_the_cause() {
    let dir = root().join("tests/fixtures/backends");
    let agents = root().join("tests/fixtures/backends/../agents");
    let cases = [
        (
            "[agents.ECH0]\ncommand = [\"a\"]\n".to_string(),
            "`agents.ECH0` names an agent the playbook does not declare (did you mean `ECHO`?)".to_string(),
        ),
        ("[agents.ECHO]\ncommand = []\n".into(), "`agents.ECHO.command` is empty".into()),
        ("[agents.ECHO]\ncommand = [\"\"]\n".into(), "`agents.ECHO.command` is empty".into()),
        (
            "[agents.ECHO]\nenv = { A = \"1\" }\n".into(),
            "`agents.ECHO.command` is missing".into(),
        ),
        (
            "[agents.ECHO]\ncommand = [\"true\"]\ngrace = \"soon\"\n".into(),
            "`agents.ECHO.grace` `soon` is not a duration".into(),
        ),
        (
            "[defaults]\ngrace = \"2 seconds\"\n".into(),
            "`defaults.grace` `2 seconds` is not a duration".into(),
        ),
        (
            "[agents.ECHO]\ncommand = [\"true\"]\ngrace = \"100000d\"\n".into(),
            "`agents.ECHO.grace` `100000d` is over the limit: a duration is at most 365 days (`365d`)".into(),
        ),
        (
            "[defaults]\ngrace = \"366d\"\n".into(),
            "`defaults.grace` `366d` is over the limit: a duration is at most 365 days (`365d`)".into(),
        ),
        (
            "[agents.SIM]\nbackend = \"simulated\"\ncommand = [\"a\"]\n".into(),
            "`agents.SIM.command` does not apply to a simulated agent".into(),
        ),
        (
            "[agents.SIM]\nbackend = \"simulated\"\nsecrets = [\"GITHUB_TOKEN\"]\n".into(),
            "`agents.SIM.secrets` does not apply to a simulated agent".into(),
        ),
        ("[agents.ECHO]\ncomand = [\"a\"]\n".into(), "unknown field `comand`".into()),
        ("[defaults]\napprovals = \"maybe\"\n".into(), "unknown variant `maybe`".into()),
        (
            "[agents.ECHO]\ncommand = \"python3 echo.py\"\n".into(),
            "invalid type".into(),
        ),
        (
            "[agents.ECHO]\ncommand = [\"no-such-program-coordops\"]\n".into(),
            "`agents.ECHO.command`: `no-such-program-coordops` is not found on PATH".into(),
        ),
        (
            "[agents.ECHO]\ncommand = [\"./missing.py\"]\n".into(),
            format!(
                "`agents.ECHO.command`: `./missing.py` (`{}`): no such file or directory (os error 2)",
                dir.join("missing.py").display()
            ),
        ),
        (
            "[agents.ECHO]\ncommand = [\"../agents/not_executable.py\", \"--x\"]\n".into(),
            "`agents.ECHO.command`: `../agents/not_executable.py` is not executable (chmod +x it, or run it through its interpreter: [\"python3\", \"../agents/not_executable.py\", \"--x\"])".into(),
        ),
        (
            "[agents.ECHO]\ncommand = [\"../agents\"]\n".into(),
            "`agents.ECHO.command`: `../agents` (".into(),
        ),
        (
            "[agents.ECHO]\ncommand = [\"true\"]\ncwd = \"nowhere\"\n".into(),
            format!(
                "`agents.ECHO.cwd`: `{}`: no such file or directory (os error 2)",
                dir.join("nowhere").display()
            ),
        ),
        (
            "[agents.ECHO]\ncommand = [\"true\"]\ncwd = \"../agents/echo.py\"\n".into(),
            format!("`agents.ECHO.cwd`: `{}` is not a directory", agents.join("echo.py").display()),
        ),
        (
            "[agents.ECHO]\ncommand = [\"true\"]\nsecrets = [\"MISSING_TOKEN\"]\n".into(),
            "`agents.ECHO.secrets`: `MISSING_TOKEN` is not set in coordops's environment".into(),
        ),
        (
            "[defaults]\nsecrets = [\"MISSING_TOKEN\"]\n".into(),
            "`defaults.secrets`: `MISSING_TOKEN` is not set".into(),
        ),
        (
            "[agents.ECHO]\ncommand = [\"true\"]\nsecrets = [\"SHORT\"]\n".into(),
            "`agents.ECHO.secrets`: the value of `SHORT` is shorter than 6 characters".into(),
        ),
        (
            "[agents.ECHO]\ncommand = [\"true\"]\nsecrets = [\"GITHUB_TOKEN\"]\nenv = { GITHUB_TOKEN = \"x\" }\n".into(),
            "`agents.ECHO.env`: `GITHUB_TOKEN` is also listed in `agents.ECHO.secrets`".into(),
        ),
        (
            "[defaults]\nsecrets = [\"GITHUB_TOKEN\"]\n[agents.ECHO]\ncommand = [\"true\"]\nenv = { GITHUB_TOKEN = \"x\" }\n".into(),
            "`agents.ECHO.env`: `GITHUB_TOKEN` is also listed in `defaults.secrets`".into(),
        ),
        (
            "[agents]\nECHO = 3\n".into(),
            "invalid type: integer `3`, expected a table of the agent's settings".into(),
        ),
        ("[agent.ECHO]\ncommand = [\"true\"]\n".into(), "unknown field `agent`".into()),
        (
            "defaults = \"grant\"\n".into(),
            "invalid type: string \"grant\", expected a table of defaults".into(),
        ),
    ];
    for (text, expected) in cases {
        let error = parse_config(&text).expect_err(&text);
        assert!(!error.contains("Raw"), "no Rust type names: {error}");
        let file = format!("backends file `{}`", dir.join("backends.toml").display());
        assert!(error.contains(&file), "{error}");
        assert!(
            error.contains(&expected),
            "{text:?}\n  gave: {error}\n  want: {expected}"
        );
    }
}

#[test]
fn a_program_is_looked_up_on_the_path_the_agent_gets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).expect("mkdir");
    std::fs::copy(script("echo.py"), bin.join("my-agent")).expect("copy");
    let text = format!(
        "[agents.ECHO]\ncommand = [\"my-agent\"]\nenv = {{ PATH = {:?} }}\n",
        bin.display()
    );
    let config = parse_in(dir.path(), &text).expect("found on the agent's PATH");
    assert_eq!(config.process_agents()["ECHO"].command, ["my-agent"]);
    let error = parse_in(dir.path(), "[agents.ECHO]\ncommand = [\"my-agent\"]\n")
        .expect_err("not on coordops's PATH");
    assert!(error.contains("`my-agent` is not found on PATH"), "{error}");
}

#[test]
fn every_key_of_an_agent_is_checked_without_repeating_a_problem() {
    let error = parse_config(
        "[agents.ECHO]\nurl = \"localhost:8080/x\"\nheaders = { \"Bad Name\" = \"x\" }\nmax_reply = \"0\"\n\
         [agents.SLEEPER]\nbackend = 3\ncommand = [\"./nope.sh\"]\n\
         [agents.SIM]\nbackend = \"simulated\"\ncwd = \".\"\ngrace = \"2s\"\n\
         [agents.FAILER]\nurl = 8\n",
    )
    .expect_err("invalid");
    let keys: Vec<&str> = error
        .lines()
        .map(|l| l.split('`').nth(3).unwrap_or(l))
        .collect();
    assert_eq!(
        keys,
        [
            "agents.ECHO.url",
            "agents.ECHO.headers",
            "agents.ECHO.max_reply",
            "agents.SLEEPER.backend",
            "agents.SIM.cwd",
            "agents.SIM.grace",
            "agents.FAILER.url",
        ],
        "{error}"
    );
}
