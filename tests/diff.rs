//! `coordops diff OLD NEW` on the real binary: pairs of playbooks with known
//! changes (tests/fixtures/diff), output formats, exit codes, git revisions.

use std::path::{Path, PathBuf};
use std::process::Output;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/diff")
}

/// The binary, run in `cwd` with a fixed, colourless environment (and no
/// `GIT_*` variable, which would point `git show` elsewhere).
fn coordops(cwd: &Path, args: &[&str]) -> Output {
    let mut cmd = crate::support::coordops();
    for name in crate::support::git_variables() {
        cmd.env_remove(name);
    }
    cmd.current_dir(cwd)
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .args(["diff"])
        .args(args)
        .output()
        .expect("coordops runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `diff base.ops NAME.ops` in the fixture folder, human format, exit 0.
fn human(name: &str) -> String {
    let out = coordops(&dir(), &["base.ops", &format!("{name}.ops")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    stdout(&out)
}

#[test]
fn human_output_of_each_known_change() {
    for name in [
        "guard_changed",
        "route_removed",
        "timeout_changed",
        "retry_changed",
        "agent_added",
        "signal_added",
        "base",
    ] {
        insta::assert_snapshot!(format!("human_{name}"), human(name));
    }
}

#[test]
fn json_output_has_the_documented_shape() {
    let out = coordops(
        &dir(),
        &["base.ops", "route_removed.ops", "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(value["routing_changed"], true);
    insta::assert_snapshot!(stdout(&out));
}

#[test]
fn github_annotations_point_into_new() {
    let out = coordops(
        &dir(),
        &["base.ops", "guard_changed.ops", "--format", "github"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    // The route NEW takes (`deploy`, line 18) and the changed route (`big`, line 17).
    assert!(
        text.starts_with(
            "::warning file=guard_changed.ops,line=18,col=1,title=routing changed::OPS:DEPLOY routes differently:%0A~ OPS:DEPLOY with size=6, urgent=false"
        ),
        "{text}"
    );
    assert!(
        text.contains("::warning file=guard_changed.ops,line=17,col=1,title=playbook changed::~ route big: guard: signal.size > 5 → signal.size > 8\n"),
        "{text}"
    );
}

#[test]
fn exit_code_is_1_only_when_routing_changed() {
    let code = |new: &str, flag: bool| {
        let mut args = vec!["base.ops", new];
        if flag {
            args.push("--exit-code");
        }
        coordops(&dir(), &args).status.code()
    };
    assert_eq!(code("route_removed.ops", true), Some(1));
    assert_eq!(code("guard_changed.ops", true), Some(1));
    assert_eq!(code("route_removed.ops", false), Some(0));
    assert_eq!(code("retry_changed.ops", true), Some(0));
    assert_eq!(code("base.ops", true), Some(0));
}

#[test]
fn a_playbook_with_errors_exits_1_with_its_diagnostics() {
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::write(tmp.path().join("bad.ops"), "route r: A:B => nowhere\n").expect("write");
    let base = dir().join("base.ops");
    let out = coordops(tmp.path(), &[base.to_str().expect("utf-8"), "bad.ops"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("error: `bad.ops` has "),
        "{}",
        stderr(&out)
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn a_missing_file_or_revision_is_a_usage_error() {
    let out = coordops(&dir(), &["missing.ops", "base.ops"]);
    assert_eq!(out.status.code(), Some(2));
    let tmp = tempfile::tempdir().expect("tempdir");
    let base = dir().join("base.ops");
    let out = coordops(
        tmp.path(),
        &["HEAD:base.ops", base.to_str().expect("utf-8")],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.starts_with("error: cannot read `HEAD:base.ops`: it is not a file, and `git show HEAD:base.ops` failed: fatal:"),
        "{err}"
    );
}

/// `git` in `cwd` with a fixed identity and no global configuration.
fn git(cwd: &Path, args: &[&str]) {
    let out = crate::support::git(cwd)
        .current_dir(cwd)
        .env("GIT_AUTHOR_NAME", "Diff Test")
        .env("GIT_AUTHOR_EMAIL", "diff@example.invalid")
        .env("GIT_COMMITTER_NAME", "Diff Test")
        .env("GIT_COMMITTER_EMAIL", "diff@example.invalid")
        .args(args)
        .output()
        .expect("git runs (the diff tests need git on PATH)");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn old_may_be_a_git_revision() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo = tmp.path();
    git(repo, &["init", "-q", "-b", "main"]);
    std::fs::copy(dir().join("base.ops"), repo.join("p.ops")).expect("copy");
    git(repo, &["add", "p.ops"]);
    git(repo, &["commit", "-q", "-m", "base"]);
    std::fs::copy(dir().join("route_removed.ops"), repo.join("p.ops")).expect("copy");
    let out = coordops(repo, &["main:p.ops", "p.ops", "--exit-code"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("~ OPS:NOTE: note (task OPS.notify) → rest (ignore)"),
        "{}",
        stdout(&out)
    );
    let out = coordops(repo, &["main:nothere.ops", "p.ops"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("`git show main:nothere.ops` failed"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn breaking_a_route_of_coord_ops_names_the_signals_that_now_route_elsewhere() {
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("playbooks/coord_ops.ops");
    let text = std::fs::read_to_string(&seed).expect("seed playbook");
    let broken = text.replace(
        "route quick_commit: OPS:COMMIT when signal.simple",
        "route quick_commit: OPS:COMMIT when not signal.simple",
    );
    assert_ne!(broken, text, "the seed's quick_commit route moved");
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::write(tmp.path().join("coord_ops.ops"), broken).expect("write");
    let out = coordops(
        tmp.path(),
        &[
            seed.to_str().expect("utf-8"),
            "coord_ops.ops",
            "--exit-code",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("~ OPS:COMMIT with simple=true: quick_commit (task RELEASE_MANAGER.commit) → commit (workflow commit_pr)"),
        "{text}"
    );
    assert!(
        text.contains("~ OPS:COMMIT with simple=false: commit (workflow commit_pr) → quick_commit (task RELEASE_MANAGER.commit)"),
        "{text}"
    );
    assert!(text.contains("1 signal(s) route differently"), "{text}");
}

#[test]
fn the_docs_example_is_the_real_output() {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/diff.md"))
        .expect("docs/diff.md");
    let out = human("route_removed");
    assert!(doc.contains(&format!("```text\n{out}```")), "{out}");
}

#[test]
fn every_shipped_playbook_has_no_changes_against_itself() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for name in [
        "playbooks/coord_ops.ops",
        "playbooks/examples/agents.ops",
        "playbooks/examples/fanout.ops",
        "playbooks/examples/pipeline.ops",
        "playbooks/examples/retry_escalation.ops",
        "playbooks/examples/routing.ops",
    ] {
        let out = coordops(root, &[name, name, "--exit-code"]);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        assert!(
            stdout(&out).ends_with("no changes in behaviour\n"),
            "{name}"
        );
    }
}
