//! The real binary's `--signal` and `--set` checks: every declared field type
//! parsed from the command line, its errors, undeclared fields, and the
//! warning for a signal the playbook neither declares nor routes by name.

use assert_cmd::Command;
use serde_json::{json, Value};

const TYPED: &str = "tests/fixtures/cli/typed_signals.ops";

/// `coordops dry-run PLAYBOOK --signal SIGNAL ARGS…` with a fixed environment.
fn dry_run(playbook: &str, signal: &str, args: &[&str]) -> Command {
    let mut cmd = crate::support::coordops();
    cmd.args(["dry-run", playbook, "--signal", signal])
        .args(args);
    cmd
}

/// The context of a dry run of `OPS:TYPED` with these `--set` values.
fn context(sets: &[&str]) -> Value {
    let mut args = vec!["--format", "json"];
    for set in sets {
        args.extend(["--set", set]);
    }
    let output = dry_run(TYPED, "OPS:TYPED", &args).output().expect("runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.stderr, b"");
    let result: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    result["context"].clone()
}

#[test]
fn every_type_parses_from_the_command_line() {
    let c = context(&[
        "text=feat: a, b",
        "count=-3",
        "flag=true",
        "wait=1h30m",
        "share=75%",
        "extra={\"a\": [1]}",
        "items=a, 2",
        "nums=1, 2,3",
        "names=[\"a,b\", \"c\"]",
        "waits=1s,2m500ms",
        "shares=80%,90",
        "flags=true,false",
        "maps=[{\"k\": 1}, {}]",
    ]);
    assert_eq!(
        c,
        json!({
            "name": "OPS:TYPED",
            "text": "feat: a, b",
            "count": -3,
            "flag": true,
            "wait": 5_400_000,
            "share": 75,
            "extra": {"a": [1]},
            "items": ["a", "2"],
            "nums": [1, 2, 3],
            "names": ["a,b", "c"],
            "waits": [1000, 120_500],
            "shares": [80, 90],
            "flags": [true, false],
            "maps": [{"k": 1}, {}],
        })
    );
}

#[test]
fn empty_values_are_empty_strings_and_lists() {
    let c = context(&["text=", "nums=", "names=[]"]);
    assert_eq!(c["text"], json!(""));
    assert_eq!(c["nums"], json!([]));
    assert_eq!(c["names"], json!([]));
    // `share=80` without `%` is a percent too.
    assert_eq!(context(&["share=80"])["share"], json!(80));
}

/// Every wrong value gets exit 2 and one error line naming the field, its
/// type and what is wrong (the item, for lists).
#[test]
fn wrong_values_are_errors_naming_the_field() {
    let cases: &[&[&str]] = &[
        &["nums=1,x"],
        &["nums=1,,2"],
        &["nums=[1, \"x\"]"],
        &["names=[oops"],
        &["wait="],
        &["wait=30"],
        &["wait=1.5s"],
        &["wait=30s5m"],
        &["wait=30sec"],
        &["wait=400d"],
        &["count=5%"],
        &["count=1.5"],
        &["count=99999999999999999999"],
        &["share=-5%"],
        &["share=lots"],
        &["flag=yes"],
        &["extra=a=1"],
        &["waits=1s,soon"],
        &["shares=80%,x"],
        &["flags=true,1"],
        &["maps=a"],
        &["cuont=1"],
        &["name=x"],
        &["count=1", "count=2"],
    ];
    let mut transcript = String::new();
    for sets in cases {
        let mut args = Vec::new();
        for set in *sets {
            args.extend(["--set", set]);
        }
        let output = dry_run(TYPED, "OPS:TYPED", &args).output().expect("runs");
        assert_eq!(output.status.code(), Some(2), "{sets:?}");
        assert_eq!(output.stdout, b"", "{sets:?}");
        transcript.push_str(&format!(
            "$ --set {}\n{}\n",
            sets.join(" --set "),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    insta::assert_snapshot!(transcript);
}

#[test]
fn an_unknown_signal_warns_with_did_you_mean_and_still_runs() {
    // A typo: a wildcard route takes it (escalates, exit 4), as before.
    let output = dry_run(TYPED, "OPS:AUDT", &[]).output().expect("runs");
    assert_eq!(output.status.code(), Some(4));
    insta::assert_snapshot!(
        "unknown_signal_typo",
        String::from_utf8_lossy(&output.stderr)
    );
    // Another domain with no route at all: ignored (exit 0), with the note.
    let output = dry_run(TYPED, "CI:BUILD", &["--set", "x=1"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0));
    insta::assert_snapshot!(
        "unknown_signal_other_domain",
        String::from_utf8_lossy(&output.stderr)
    );
    // A declared signal gets no warning.
    dry_run(TYPED, "OPS:AUDIT", &[]).assert().code(0).stderr("");
}

/// Scenario files: an empty or malformed latency is an error (not zero), and
/// misspelt task, agent and approval names get a did-you-mean.
#[test]
fn scenario_mistakes_are_errors_with_did_you_mean() {
    let cases = [
        "[task.\"RELEASE_MANAGER.push\"]\nlatency = \"\"\n",
        "[task.\"RELEASE_MANAGER.push\"]\nattempts = [{ latency = \"1m\" }, { latency = \"30s5m\" }]\n",
        "interrupt_after = \"\"\n",
        "[task.\"RELEASE_MANAGER.comit\"]\noutcome = \"failure\"\n",
        "[task.\"RELEASE_MANAGR.push\"]\n",
        "[task.\"GIT_KEEPER.push\"]\n",
        "[approval]\nrelease_approvl = \"denied\"\n",
    ];
    let dir = tempfile::TempDir::new().expect("temp dir");
    let path = dir.path().join("scenario.toml");
    let mut transcript = String::new();
    for text in cases {
        std::fs::write(&path, text).expect("write scenario");
        let output = dry_run(
            "playbooks/coord_ops.ops",
            "OPS:COMMIT",
            &["--scenario", path.to_str().expect("UTF-8 path")],
        )
        .output()
        .expect("runs");
        assert_eq!(output.status.code(), Some(2), "{text}");
        let stderr = String::from_utf8_lossy(&output.stderr)
            .replace(path.to_str().expect("UTF-8 path"), "SCENARIO");
        transcript.push_str(&format!("{text}---\n{stderr}\n"));
    }
    insta::assert_snapshot!(transcript);
}
