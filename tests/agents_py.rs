//! The example agents in playbooks/agents/, driven directly: each call spawns
//! `python3 playbooks/agents/X.py` with one JSON request on stdin, in a
//! scratch git repository (a `tempfile::TempDir`) with a local bare remote.
//! Assertions are on what the agents did to the repositories, never on time.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};
use tempfile::TempDir;

fn agents_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("playbooks/agents")
}

/// python3 and git are required: a missing tool fails the test, loudly.
fn require_tools() {
    for tool in ["python3", "git"] {
        let ok = Command::new(tool)
            .arg("--version")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        assert!(
            ok,
            "`{tool} --version` failed: the playbooks/agents tests need python3 and git on PATH"
        );
    }
}

/// The interpreter `python3` runs (resolved once: version-manager shims such
/// as pyenv's cost more to start than the agents take to run).
fn python3() -> &'static Path {
    static PYTHON: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PYTHON.get_or_init(|| {
        require_tools();
        let out = Command::new("python3")
            .args(["-c", "import sys; print(sys.executable)"])
            .output()
            .expect("python3 runs");
        let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        assert!(path.is_file(), "python3 reports no sys.executable: {out:?}");
        path
    })
}

/// A scratch repository `work` (branch `feature`, with a Makefile `test:`
/// target) whose `origin` is the bare repository `remote.git`.
struct Repo {
    dir: TempDir,
}

impl Repo {
    fn new() -> Repo {
        require_tools();
        let repo = Repo {
            dir: tempfile::tempdir().expect("a temporary directory"),
        };
        repo.git_in(repo.dir.path(), &["init", "-q", "--bare", "remote.git"]);
        repo.git_in(repo.dir.path(), &["init", "-q", "-b", "feature", "work"]);
        let remote = repo.remote().to_string_lossy().into_owned();
        repo.git(&["remote", "add", "origin", &remote]);
        repo.write("Makefile", "test:\n\ttrue\n");
        repo
    }

    fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    fn remote(&self) -> PathBuf {
        self.dir.path().join("remote.git")
    }

    fn write(&self, path: &str, text: &str) {
        let path = self.work().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.work().join(path))
            .unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
    }

    /// The environment coordops gives an agent (PATH, HOME, LANG) plus a
    /// fixed git identity; HOME is the temp dir, so no global config counts.
    fn command(&self, program: &str, cwd: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(cwd)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("LANG", "C.UTF-8")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Agent Test")
            .env("GIT_AUTHOR_EMAIL", "agent@example.invalid")
            .env("GIT_COMMITTER_NAME", "Agent Test")
            .env("GIT_COMMITTER_EMAIL", "agent@example.invalid");
        cmd
    }

    fn git_in(&self, cwd: &Path, args: &[&str]) -> String {
        let out = self
            .command("git", cwd)
            .args(args)
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn git(&self, args: &[&str]) -> String {
        self.git_in(&self.work(), args)
    }

    fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"])
    }

    fn remote_branch(&self, branch: &str) -> String {
        let remote = self.remote();
        self.git_in(
            &remote,
            &["rev-parse", "--verify", &format!("refs/heads/{branch}")],
        )
    }

    /// Runs one task; returns the reply and the agent's stderr.
    fn call(&self, script: &str, task: &str, args: Value) -> (Value, String) {
        self.call_env(script, task, args, &[])
    }

    fn call_env(
        &self,
        script: &str,
        task: &str,
        args: Value,
        env: &[(&str, &str)],
    ) -> (Value, String) {
        let request = json!({
            "protocol": 1, "run_id": "test-run", "idempotency_key": format!("test-{task}-{}", rand_suffix()),
            "agent": script.to_uppercase(), "task": task, "args": args,
            "attempt": 1, "timeout_ms": 30000, "future_field": {"ignored": true},
        });
        let mut cmd = self.command(&python3().to_string_lossy(), &self.work());
        cmd.arg(agents_dir().join(format!("{script}.py")))
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("python3 starts");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(request.to_string().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            out.status.success(),
            "{script}.{task} exited with {}; stderr:\n{stderr}",
            out.status
        );
        assert_eq!(
            stdout.trim().lines().count(),
            1,
            "{script}.{task}: stdout must be exactly one JSON line, got {stdout:?}"
        );
        let reply: Value = serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("{script}.{task}: stdout is not JSON ({e}): {stdout:?}"));
        (reply, stderr)
    }

    /// A successful task's outputs, checked against the declared contract.
    fn ok(&self, script: &str, task: &str, args: Value, contract: &[(&str, &str)]) -> Value {
        let (reply, stderr) = self.call(script, task, args);
        assert_eq!(
            reply["status"], "success",
            "{script}.{task} failed: {reply}\nstderr:\n{stderr}"
        );
        let outputs = &reply["outputs"];
        for (key, ty) in contract {
            let v = &outputs[*key];
            let fits = match *ty {
                "string" => v.is_string(),
                "bool" => v.is_boolean(),
                "int" => v.is_i64(),
                "list<string>" => v.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
                other => panic!("unknown type {other}"),
            };
            assert!(
                fits,
                "{script}.{task}: output `{key}` is not a {ty}: {outputs}"
            );
        }
        outputs.clone()
    }

    /// A failed task's kind and message.
    fn fails(&self, script: &str, task: &str, args: Value) -> (String, String, String) {
        let (reply, stderr) = self.call(script, task, args);
        assert_eq!(
            reply["status"], "failure",
            "{script}.{task} should fail: {reply}"
        );
        (
            reply["kind"].as_str().unwrap_or_default().to_string(),
            reply["message"].as_str().unwrap_or_default().to_string(),
            stderr,
        )
    }

    fn commit(&self, message: &str) -> Value {
        self.ok(
            "release_manager",
            "commit",
            json!({"files": [], "message": message}),
            COMMIT,
        )
    }
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}

const COMMIT: &[(&str, &str)] = &[
    ("hash", "string"),
    ("message", "string"),
    ("tests_passed", "bool"),
    ("secrets_found", "bool"),
    ("files", "list<string>"),
];
const PUSH: &[(&str, &str)] = &[
    ("branch", "string"),
    ("hash", "string"),
    ("remote", "string"),
];
const DOCS: &[(&str, &str)] = &[
    ("broken_links", "int"),
    ("examples_failed", "int"),
    ("format_ok", "bool"),
];
const SKILL: &[(&str, &str)] = &[
    ("name", "string"),
    ("path", "string"),
    ("slash_command", "string"),
    ("registered", "bool"),
    ("significant", "bool"),
    ("yaml_valid", "bool"),
    ("missing_sections", "int"),
];

#[test]
fn the_agent_scripts_are_executable_python3() {
    use std::os::unix::fs::PermissionsExt;
    for name in ["release_manager", "meta_updater", "toolsmith"] {
        let path = agents_dir().join(format!("{name}.py"));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("#!/usr/bin/env python3\n"),
            "{name}.py shebang"
        );
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert!(mode & 0o111 != 0, "{name}.py is not executable");
    }
}

#[test]
fn commit_makes_a_conventional_commit_and_refuses_other_messages() {
    let repo = Repo::new();
    repo.write("swap.txt", "swap\n");
    let out = repo.commit("feat(swap): auto-matching");
    assert_eq!(out["hash"], repo.head());
    assert_eq!(
        repo.git(&["log", "-1", "--format=%s"]),
        "feat(swap): auto-matching"
    );
    assert_eq!(
        out["tests_passed"], true,
        "the Makefile `test:` target passes"
    );
    assert_eq!(out["secrets_found"], false);
    assert!(
        out["files"]
            .as_array()
            .unwrap()
            .contains(&json!("swap.txt")),
        "{out}"
    );

    repo.write("more.txt", "more\n");
    let (kind, message, _) = repo.fails(
        "release_manager",
        "commit",
        json!({"files": ["more.txt"], "message": "Added more stuff"}),
    );
    assert_eq!(kind, "invalid_message", "{message}");
    assert_eq!(out["hash"], repo.head(), "nothing was committed");

    let (kind, _, _) = repo.fails("release_manager", "frobnicate", json!({}));
    assert_eq!(kind, "unsupported");
}

#[test]
fn commit_refuses_a_staged_secret_without_printing_it() {
    let repo = Repo::new();
    repo.commit("chore: start");
    let before = repo.head();
    // Built at run time so that this file holds no token-shaped string.
    let token = format!("ghp_{}", "Zq9".repeat(12));
    repo.write("config.env", &format!("API=1\nGITHUB={token}\n"));
    let (reply, stderr) = repo.call(
        "release_manager",
        "commit",
        json!({"files": ["config.env"], "message": "feat: config"}),
    );
    assert_eq!(reply["status"], "failure");
    assert_eq!(reply["kind"], "secrets_found");
    assert!(
        reply["message"].as_str().unwrap().contains("config.env:2"),
        "{reply}"
    );
    assert!(!reply.to_string().contains(&token) && !stderr.contains(&token));
    assert_eq!(repo.head(), before, "nothing was committed");
    assert_eq!(
        repo.git(&["diff", "--cached", "--name-only"]),
        "",
        "unstaged"
    );

    // The value of a secret-looking environment variable is a secret too.
    let value = "s3cr3t-value-from-the-environment";
    repo.write("config.env", &format!("API=1\nPASS={value}\n"));
    let (reply, stderr) = repo.call_env(
        "release_manager",
        "commit",
        json!({"files": ["config.env"], "message": "feat: config"}),
        &[("DEPLOY_TOKEN", value)],
    );
    assert_eq!(reply["kind"], "secrets_found", "{reply}");
    assert!(!reply.to_string().contains(value) && !stderr.contains(value));
    assert_eq!(repo.head(), before);
}

#[test]
fn push_rejected_then_fetch_rebases_and_push_succeeds() {
    let repo = Repo::new();
    repo.write("a.txt", "a\n");
    repo.commit("feat: a");
    let pushed = repo.ok(
        "release_manager",
        "push",
        json!({"branch": "feature"}),
        PUSH,
    );
    assert_eq!(pushed["hash"], repo.remote_branch("feature"));
    assert_eq!(pushed["hash"], repo.head());
    assert_eq!(pushed["remote"], "origin");

    // Someone else pushes to the branch.
    let remote = repo.remote().to_string_lossy().into_owned();
    repo.git_in(
        repo.dir.path(),
        &["clone", "-q", "-b", "feature", &remote, "other"],
    );
    let other = repo.dir.path().join("other");
    std::fs::write(other.join("b.txt"), "b\n").unwrap();
    repo.git_in(&other, &["add", "b.txt"]);
    repo.git_in(&other, &["commit", "-q", "-m", "feat: b"]);
    repo.git_in(&other, &["push", "-q", "origin", "feature"]);
    let theirs = repo.git_in(&other, &["rev-parse", "HEAD"]);

    repo.write("c.txt", "c\n");
    let mine = repo.commit("feat: c");
    let (kind, message, _) = repo.fails(
        "release_manager",
        "push",
        json!({"branch": "feature", "commit": mine["hash"]}),
    );
    assert_eq!(kind, "rejected", "{message}");
    assert_eq!(
        repo.remote_branch("feature"),
        theirs,
        "the remote is unchanged"
    );

    let fetched = repo.ok(
        "release_manager",
        "fetch",
        json!({"branch": "feature"}),
        &[("branch", "string"), ("hash", "string")],
    );
    assert_eq!(fetched["hash"], repo.head());
    repo.git(&["merge-base", "--is-ancestor", &theirs, "HEAD"]);
    assert_eq!(repo.git(&["log", "-1", "--format=%s"]), "feat: c");

    let pushed = repo.ok(
        "release_manager",
        "push",
        json!({"branch": "feature", "commit": mine["hash"]}),
        PUSH,
    );
    assert_eq!(pushed["hash"], repo.remote_branch("feature"));
    assert_eq!(pushed["hash"], repo.head());

    // The PR is recorded under .git (never committed) and lists the rebased
    // commit; the playbook's attribution check wants /AI/ in its body.
    let pr = repo.ok(
        "release_manager",
        "pr",
        json!({"branch": "feature", "commits": [mine["hash"]]}),
        &[("url", "string"), ("title", "string"), ("body", "string")],
    );
    let short = repo.git(&["rev-parse", "--short", "HEAD"]);
    assert!(pr["body"].as_str().unwrap().contains(&short), "{pr}");
    assert!(pr["body"].as_str().unwrap().contains("AI"), "{pr}");
    let url = pr["url"].as_str().unwrap();
    let file = url.strip_prefix("file://").expect("a file:// URL");
    assert!(
        Path::new(file).starts_with(repo.work().join(".git")),
        "{url}"
    );
    assert!(Path::new(file).is_file());
    let status = repo.ok(
        "release_manager",
        "pr_status",
        json!({"pr": 1}),
        &[("state", "string"), ("url", "string")],
    );
    assert_eq!(status["state"], "open");
    assert_eq!(status["url"], pr["url"]);

    let (kind, message, _) = repo.fails("release_manager", "push", json!({"branch": "main"}));
    assert_eq!(kind, "boundary");
    assert!(message.contains("requires human approval"), "{message}");
}

#[test]
fn changelog_entry_under_unreleased_then_finalize() {
    let repo = Repo::new();
    repo.write("swap.txt", "swap\n");
    let commit = repo.commit("feat: swap auto-matching");
    let mut contract = vec![("modified", "bool"), ("entry", "string")];
    contract.extend_from_slice(DOCS);
    let out = repo.ok(
        "meta_updater",
        "changelog",
        json!({"commit": commit["hash"]}),
        &contract,
    );
    assert_eq!(out["modified"], true);
    assert_eq!(out["broken_links"], 0);
    assert_eq!(out["examples_failed"], 0);
    assert_eq!(out["format_ok"], true);
    let entry = out["entry"].as_str().unwrap().to_string();
    assert!(
        entry.starts_with("- ") && entry.contains("Swap auto-matching"),
        "{entry}"
    );
    let text = repo.read("CHANGELOG.md");
    let unreleased = text
        .find("## [Unreleased]")
        .expect("an [Unreleased] section");
    assert!(text[unreleased..].contains(&entry), "{text}");

    let again = repo.ok(
        "meta_updater",
        "changelog",
        json!({"commit": commit["hash"]}),
        &contract,
    );
    assert_eq!(again["modified"], false, "a duplicate entry is skipped");
    assert_eq!(repo.read("CHANGELOG.md"), text);

    let mut contract = vec![("entry", "string"), ("version", "string")];
    contract.extend_from_slice(DOCS);
    let out = repo.ok(
        "meta_updater",
        "finalize_changelog",
        json!({"version": "1.4.0"}),
        &contract,
    );
    assert_eq!(out["version"], "1.4.0");
    assert!(out["entry"].as_str().unwrap().contains(&entry));
    assert_eq!(out["format_ok"], true);
    let text = repo.read("CHANGELOG.md");
    let unreleased = text.find("## [Unreleased]").unwrap();
    let released = text.find("## [1.4.0] - ").expect("a [1.4.0] section");
    assert!(unreleased < released, "{text}");
    assert_eq!(text.matches("## [Unreleased]").count(), 1);
    assert!(text[released..].contains(&entry), "{text}");
    assert!(
        !text[unreleased..released].contains("- "),
        "[Unreleased] is empty: {text}"
    );
}

#[test]
fn skill_is_scaffolded_and_registered_and_collisions_are_reported() {
    let repo = Repo::new();
    let out = repo.ok(
        "toolsmith",
        "skill",
        json!({"name": "constraint-preflight", "purpose": "Check constraints: before scheduling"}),
        SKILL,
    );
    assert_eq!(out["name"], "constraint-preflight");
    assert_eq!(out["slash_command"], "/constraint-preflight");
    assert_eq!(out["registered"], true);
    assert_eq!(out["significant"], true);
    assert_eq!(out["yaml_valid"], true);
    assert_eq!(out["missing_sections"], 0);
    let path = out["path"].as_str().unwrap();
    let skill = repo.read(&format!("{path}/SKILL.md"));
    assert!(
        skill.starts_with("---\nname: constraint-preflight\ndescription: \"Check constraints: before scheduling\"\n---\n"),
        "{skill}"
    );
    for section in ["## Purpose", "## Usage", "## Examples"] {
        assert!(skill.contains(section), "{section} in {skill}");
    }
    let command = repo.read(".claude/commands/constraint-preflight.md");
    assert!(
        command.contains("skills/constraint-preflight/SKILL.md"),
        "{command}"
    );

    let (kind, _, _) = repo.fails(
        "toolsmith",
        "skill",
        json!({"name": "constraint-preflight", "purpose": "again"}),
    );
    assert_eq!(kind, "name_collision");
    let (kind, _, _) = repo.fails(
        "toolsmith",
        "skill",
        json!({"name": "Constraint_Preflight"}),
    );
    assert_eq!(kind, "invalid_name");

    // The playbook's recovery: add_suffix, then the same request again.
    let suffix = repo.ok(
        "toolsmith",
        "add_suffix",
        json!({"name": "constraint-preflight"}),
        &[
            ("name", "string"),
            ("yaml_valid", "bool"),
            ("missing_sections", "int"),
        ],
    );
    assert_eq!(suffix["name"], "constraint-preflight-2");
    let out = repo.ok(
        "toolsmith",
        "skill",
        json!({"name": "constraint-preflight", "purpose": "again"}),
        SKILL,
    );
    assert_eq!(out["name"], "constraint-preflight-2");
    assert!(repo
        .work()
        .join("skills/constraint-preflight-2/SKILL.md")
        .is_file());

    // META_UPDATER documents it with a link that resolves.
    let mut contract = vec![("files", "list<string>")];
    contract.extend_from_slice(DOCS);
    let docs = repo.ok(
        "meta_updater",
        "doc_update",
        json!({"skill_path": out["path"], "command": out["slash_command"]}),
        &contract,
    );
    assert_eq!(docs["files"], json!(["CLAUDE.md"]));
    assert_eq!(docs["broken_links"], 0);
    assert!(repo
        .read("CLAUDE.md")
        .contains("skills/constraint-preflight-2/SKILL.md"));
}

#[test]
fn failing_or_missing_tests_are_reported_and_nothing_is_committed() {
    let repo = Repo::new();
    repo.commit("chore: start");
    let before = repo.head();

    repo.write("Makefile", "test:\n\tfalse\n");
    let out = repo.commit("fix: break the tests");
    assert_eq!(out["tests_passed"], false, "{out}");
    assert_eq!(out["hash"], "");
    assert_eq!(repo.head(), before, "nothing was committed");

    std::fs::remove_file(repo.work().join("Makefile")).unwrap();
    let (reply, stderr) = repo.call(
        "release_manager",
        "commit",
        json!({"message": "fix: no tests at all"}),
    );
    assert_eq!(reply["outputs"]["tests_passed"], false, "{reply}");
    assert!(stderr.contains("no tests found"), "{stderr}");
    assert_eq!(repo.head(), before);

    // OPS_TEST_COMMAND (split like a shell would, run without a shell).
    let (reply, _) = repo.call_env(
        "release_manager",
        "commit",
        json!({"message": "fix: tested by command"}),
        &[("OPS_TEST_COMMAND", "python3 -c 'import sys; sys.exit(0)'")],
    );
    assert_eq!(reply["outputs"]["tests_passed"], true, "{reply}");
    assert_eq!(reply["outputs"]["hash"], repo.head());
}
