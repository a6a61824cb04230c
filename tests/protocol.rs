//! Agent protocol v1: the committed JSON Schemas are the generated ones, and
//! real messages — requests as sent, replies as agents print them — follow
//! them.

use assert_cmd::Command;
use jsonschema::{Draft, Validator};
use serde_json::Value;
use tempfile::TempDir;

use crate::support::root;
use coordops::runtime::protocol;

fn validator(schema: &str) -> Validator {
    let schema: Value = serde_json::from_str(schema).expect("the schema is JSON");
    jsonschema::options()
        .with_draft(Draft::Draft202012)
        .build(&schema)
        .expect("the schema compiles")
}

fn errors(validator: &Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect()
}

#[test]
fn the_committed_schemas_are_current() {
    for (file, generated) in [
        ("docs/agent-request.schema.json", protocol::request_schema()),
        ("docs/agent-reply.schema.json", protocol::reply_schema()),
    ] {
        let committed = std::fs::read_to_string(root().join(file)).expect("schema file");
        assert_eq!(
            committed, generated,
            "{file} is stale: regenerate it with `coordops schema request|reply`"
        );
    }
    let printed = Command::new(env!("CARGO_BIN_EXE_coordops"))
        .args(["schema", "request"])
        .output()
        .expect("runs");
    assert_eq!(
        String::from_utf8_lossy(&printed.stdout),
        protocol::request_schema()
    );
}

#[test]
fn every_request_of_a_run_follows_the_request_schema() {
    let requests = validator(&protocol::request_schema());
    let dir = TempDir::new().expect("tempdir");
    let journal = dir.path().join("j.jsonl");
    for (signal, set) in [
        ("OPS:COMMIT", "user_facing=true"),
        ("OPS:AUDIT", "skills=true"),
        ("OPS:SKILL", "skill_name=x"),
        ("OPS:RELEASE", "version=1.0.0"),
    ] {
        Command::new(env!("CARGO_BIN_EXE_coordops"))
            .current_dir(root())
            .args(["dry-run", "playbooks/coord_ops.ops", "--signal", signal])
            .args(["--set", set, "--journal"])
            .arg(&journal)
            .assert()
            .code(predicates::ord::lt(5));
    }
    // The file holds all four runs; read every line, not just the last run.
    let text = std::fs::read_to_string(&journal).expect("journal");
    let mut seen = 0;
    for line in text.lines() {
        let entry: Value = serde_json::from_str(line).expect("a JSON line");
        if entry["type"] == "attempt" {
            seen += 1;
            let request = &entry["request"];
            assert_eq!(
                errors(&requests, request),
                Vec::<String>::new(),
                "{request}"
            );
            let parsed: protocol::Request =
                serde_json::from_value(request.clone()).expect("a Request");
            assert_eq!(parsed.protocol, protocol::PROTOCOL_VERSION);
        }
    }
    assert!(seen >= 10, "only {seen} requests");
}

#[test]
fn replies_follow_the_reply_schema() {
    let replies = validator(&protocol::reply_schema());
    for good in [
        r#"{"status":"success","outputs":{"hash":"abc"}}"#,
        r#"{"status":"success"}"#,
        r#"{"status":"failure","kind":"rejected","message":"non-fast-forward"}"#,
        r#"{"status":"failure"}"#,
    ] {
        let value: Value = serde_json::from_str(good).expect("json");
        assert_eq!(errors(&replies, &value), Vec::<String>::new(), "{good}");
    }
    for bad in [
        r#"{"status":"maybe"}"#,
        r#"{"outputs":{}}"#,
        r#"{"status":"success","outputs":[1]}"#,
        r#"{"status":"failure","kind":3}"#,
    ] {
        let value: Value = serde_json::from_str(bad).expect("json");
        assert!(!replies.is_valid(&value), "{bad} should be invalid");
    }
}
