//! `coordops run` end to end with the shipped agents and backends file
//! (playbooks/agents/, playbooks/coord_ops.local.toml) in a scratch git
//! repository with a local bare remote, as the README shows: real commits,
//! a real push, the CHANGELOG entry, the skill, and the report naming the
//! commit that is really on the branch — also after a rejected push was
//! fetched, rebased and retried.

use std::path::{Path, PathBuf};

use crate::support::root;
use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

/// A scratch `work` repository (branch `feature`, a Makefile `test:` target,
/// one pushed commit) whose `origin` is `remote.git`; `home` holds the git
/// identity the agents use.
struct Scratch {
    dir: TempDir,
}

impl Scratch {
    fn new() -> Scratch {
        let s = Scratch {
            dir: TempDir::new().expect("tempdir"),
        };
        std::fs::create_dir_all(s.home()).expect("home");
        std::fs::write(
            s.home().join(".gitconfig"),
            "[user]\n\tname = Ops Bot\n\temail = ops@example.invalid\n[init]\n\tdefaultBranch = main\n",
        )
        .expect("gitconfig");
        s.git_in(s.dir.path(), &["init", "-q", "--bare", "remote.git"]);
        s.git_in(s.dir.path(), &["init", "-q", "-b", "feature", "work"]);
        s.git(&["remote", "add", "origin", "../remote.git"]);
        s.write("Makefile", "test:\n\t@echo all tests passed\n");
        s.git(&["add", "Makefile"]);
        s.git(&["commit", "-q", "-m", "chore: start"]);
        s.git(&["push", "-q", "origin", "feature"]);
        s
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    fn write(&self, path: &str, text: &str) {
        std::fs::write(self.work().join(path), text).expect("write");
    }

    fn git_in(&self, dir: &Path, args: &[&str]) -> String {
        let out = crate::support::git(&self.home())
            .current_dir(dir)
            .args(args)
            .output()
            .expect("git runs (the tests need git)");
        assert!(out.status.success(), "git {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn git(&self, args: &[&str]) -> String {
        self.git_in(&self.work(), args)
    }

    fn remote_head(&self) -> String {
        self.git_in(
            &self.dir.path().join("remote.git"),
            &["rev-parse", "feature"],
        )
    }

    /// `coordops run` of the COORD_OPS playbook with the shipped agents,
    /// started in the scratch repository; the JSON report.
    fn run(&self, signal: &str, sets: &[&str]) -> Value {
        let journal = self
            .dir
            .path()
            .join(format!("{}.jsonl", signal.replace(':', "-")));
        self.run_journalled(signal, sets, Some(&journal))
    }

    /// [`run`](Self::run), with the journal at `journal` or, when `None`, at
    /// its default place in the repository.
    fn run_journalled(&self, signal: &str, sets: &[&str], journal: Option<&Path>) -> Value {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_coordops"));
        cmd.current_dir(self.work())
            .env("HOME", self.home())
            .env("GITHUB_TOKEN", "ghp_e2eTokenNotReal0001")
            .arg("run")
            .arg(root().join("playbooks/coord_ops.ops"))
            .args(["--signal", signal, "--format", "json", "--backends"])
            .arg(root().join("playbooks/coord_ops.local.toml"));
        if let Some(journal) = journal {
            cmd.arg("--journal").arg(journal);
        }
        for set in sets {
            cmd.args(["--set", set]);
        }
        let out = cmd.output().expect("coordops runs");
        let report = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{signal} did not complete:\n{report}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_str(&report).expect("a JSON report")
    }
}

#[test]
fn ops_commit_user_facing_commits_pushes_and_updates_the_changelog() {
    let s = Scratch::new();
    s.write("swap.txt", "swap auto-matching\n");
    let report = s.run(
        "OPS:COMMIT",
        &["user_facing=true", "message=feat: swap auto-matching"],
    );
    assert_eq!(report["status"], "COMPLETE");
    // The pushed commit is the feature commit, and the report names it.
    let pushed = s.remote_head();
    assert_eq!(report["payload"]["commit"], pushed.as_str());
    assert_eq!(
        s.git(&["log", "-1", "--format=%s", &pushed]),
        "feat: swap auto-matching"
    );
    assert_eq!(
        s.git(&["show", "--name-only", "--format=", &pushed]),
        "swap.txt"
    );
    // Then the CHANGELOG entry, committed on top.
    assert_eq!(
        s.git(&["log", "-1", "--format=%s"]),
        "docs: update CHANGELOG"
    );
    let changelog = std::fs::read_to_string(s.work().join("CHANGELOG.md")).expect("CHANGELOG");
    let unreleased = changelog
        .split("## [Unreleased]")
        .nth(1)
        .expect("an [Unreleased] section");
    assert!(
        unreleased.to_lowercase().contains("swap auto-matching"),
        "{changelog}"
    );
    // The PR was recorded, with AI attribution.
    let url = report["payload"]["pr_url"].as_str().expect("a PR url");
    let pr = std::fs::read_to_string(url.trim_start_matches("file://")).expect("the PR file");
    assert!(pr.contains("AI"), "{pr}");
    // No step was simulated.
    for step in report["steps"].as_array().expect("steps") {
        assert_ne!(step["simulated"], true, "{step}");
    }
}

#[test]
fn the_default_journal_stays_out_of_the_commits() {
    let s = Scratch::new();
    s.write("swap.txt", "swap\n");
    let report = s.run_journalled("OPS:COMMIT", &["message=feat: swap"], None);
    assert_eq!(report["status"], "COMPLETE");
    let files = s.git(&["show", "--name-only", "--format=", &s.remote_head()]);
    assert_eq!(files, "swap.txt");
    let journals: Vec<_> = std::fs::read_dir(s.work().join(".coordops/runs"))
        .expect("the default journal folder")
        .collect();
    assert_eq!(journals.len(), 1);
    assert_eq!(s.git(&["status", "--porcelain"]), "");
}

#[test]
fn a_rejected_push_is_fetched_rebased_and_retried() {
    let s = Scratch::new();
    // Someone else pushes to the feature branch first.
    s.git_in(
        s.dir.path(),
        &["clone", "-q", "-b", "feature", "remote.git", "other"],
    );
    let other = s.dir.path().join("other");
    std::fs::write(other.join("theirs.txt"), "their change\n").expect("write");
    s.git_in(&other, &["add", "theirs.txt"]);
    s.git_in(&other, &["commit", "-q", "-m", "fix: their change"]);
    s.git_in(&other, &["push", "-q", "origin", "feature"]);

    s.write("mine.txt", "my change\n");
    let report = s.run("OPS:COMMIT", &["message=feat: my change"]);
    let push = report["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|st| st["name"] == "push")
        .expect("the push step");
    let attempts = push["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 2, "{push}");
    assert_eq!(attempts[0]["kind"], "rejected");
    // The commit on the branch is the rebased one, and the report names it.
    let pushed = s.remote_head();
    assert_eq!(report["payload"]["commit"], pushed.as_str());
    assert_eq!(
        s.git(&["log", "-1", "--format=%s", &pushed]),
        "feat: my change"
    );
    let subjects = s.git(&["log", "--format=%s", &pushed]);
    assert!(subjects.contains("fix: their change"), "{subjects}");
}

#[test]
fn ops_skill_scaffolds_the_skill_and_commits_it() {
    let s = Scratch::new();
    let report = s.run(
        "OPS:SKILL",
        &[
            "skill_name=constraint-preflight",
            "purpose=Check constraints before scheduling",
        ],
    );
    assert_eq!(report["status"], "COMPLETE");
    let skill = std::fs::read_to_string(s.work().join("skills/constraint-preflight/SKILL.md"))
        .expect("SKILL.md");
    assert!(skill.starts_with("---\n"), "{skill}");
    assert!(skill.contains("name: constraint-preflight"), "{skill}");
    assert_eq!(
        s.git(&["log", "-1", "--format=%s"]),
        "feat(skills): add constraint-preflight"
    );
    let files = s.git(&["show", "--name-only", "--format=", "HEAD"]);
    assert!(
        files.contains("skills/constraint-preflight/SKILL.md"),
        "{files}"
    );
    assert!(
        files.contains(".claude/commands/constraint-preflight.md"),
        "{files}"
    );
    assert_eq!(
        report["payload"]["skill_path"],
        "skills/constraint-preflight"
    );
    // The skill reached the remote branch.
    assert_eq!(s.remote_head(), s.git(&["rev-parse", "HEAD"]));
}
