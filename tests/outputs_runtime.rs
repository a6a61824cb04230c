//! Declared outputs at run time, on tokio's paused clock: `protocol`
//! failures, checks over fields the agent did not send, and the simulated
//! backend's typed defaults.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{json, Map, Value};
use tokio_util::sync::CancellationToken;

use coordops::ast::Playbook;
use coordops::runtime::backend::{
    AgentBackend, ApprovalRequest, Decision, Reply, TaskOutcome, TaskRequest,
};
use coordops::runtime::result::{RunResult, RunStatus, StepOutcome, StepRecord};
use coordops::runtime::run;
use coordops::runtime::simulated::{Scenario, SimulatedBackend};
use coordops::source::SourceFile;

fn fixture() -> (SourceFile, Playbook) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/runtime/outputs.ops");
    let file = coordops::source::load(&path).unwrap_or_else(|d| panic!("outputs.ops: {d}"));
    let found = coordops::analysis::check_source(&file);
    assert!(found.is_empty(), "outputs.ops is not clean: {found:#?}");
    let playbook = coordops::syntax::parse(&file)
        .playbook
        .unwrap_or_else(|| panic!("outputs.ops parses"));
    (file, playbook)
}

fn run_on(signal: &str, backend: impl FnOnce(&Playbook) -> Arc<dyn AgentBackend>) -> RunResult {
    let (file, playbook) = fixture();
    let backend = backend(&playbook);
    let request = coordops::testing::harness::request(&file, &playbook, signal, &[], "outputs")
        .unwrap_or_else(|e| panic!("{e}"));
    let runtime = crate::support::virtual_time();
    runtime.block_on(run(request, backend, CancellationToken::new()))
}

/// An agent that answers exactly the given outputs, one reply per attempt
/// (the last repeats), and nothing else.
struct Replies(HashMap<String, Vec<Value>>);

#[async_trait]
impl AgentBackend for Replies {
    async fn call(&self, request: TaskRequest) -> Reply {
        let replies = self.0.get(&request.task).cloned().unwrap_or_default();
        let index = (request.attempt as usize).saturating_sub(1);
        let reply = replies
            .get(index)
            .or(replies.last())
            .cloned()
            .unwrap_or(json!({}));
        TaskOutcome::Success(reply.as_object().cloned().unwrap_or_default()).into()
    }

    async fn approve(&self, _request: ApprovalRequest) -> Decision {
        Decision::Granted
    }
}

fn replies(signal: &str, task: &str, replies: Vec<Value>) -> RunResult {
    let map = HashMap::from([(task.to_string(), replies)]);
    run_on(signal, move |_| Arc::new(Replies(map)))
}

fn only_step(result: &RunResult) -> &StepRecord {
    assert_eq!(result.steps.len(), 1, "{:?}", result.steps);
    &result.steps[0]
}

fn failure(step: &StepRecord) -> (Vec<Option<&str>>, Option<&str>) {
    let kinds = step.attempts.iter().map(|a| a.kind.as_deref()).collect();
    let message = step.attempts.last().and_then(|a| a.message.as_deref());
    (kinds, message)
}

const GOOD: fn() -> Value = || {
    json!({"remote": "origin", "hash": "abc123", "tests_passed": true,
           "files": ["src/lib.rs"], "count": 2, "meta": {}})
};

#[test]
fn a_reply_with_every_declared_output_succeeds_and_keeps_extra_outputs() {
    let mut reply = GOOD();
    reply["extra"] = json!("kept");
    let result = replies("OUT:COMMIT", "commit", vec![reply]);
    assert_eq!(result.status, RunStatus::Complete, "{}", result.summary);
    let step = only_step(&result);
    assert_eq!(step.outputs["extra"], json!("kept"));
    assert_eq!(result.payload["hash"], json!("abc123"));
}

#[test]
fn a_reply_missing_a_declared_output_is_a_protocol_failure() {
    let mut reply = GOOD();
    reply.as_object_mut().map(|o| o.remove("hash"));
    let result = replies("OUT:COMMIT", "commit", vec![reply]);
    assert_eq!(result.status, RunStatus::Failed);
    let step = only_step(&result);
    assert!(matches!(step.outcome, StepOutcome::Failure { .. }));
    assert_eq!(
        failure(step),
        (
            vec![Some("protocol")],
            Some("the reply lacks declared output `hash` (string)")
        )
    );
}

#[test]
fn a_reply_with_a_wrongly_typed_output_is_a_protocol_failure() {
    let mut reply = GOOD();
    reply["tests_passed"] = json!("yes");
    let result = replies("OUT:COMMIT", "commit", vec![reply]);
    assert_eq!(
        failure(only_step(&result)).1,
        Some("output `tests_passed` is \"yes\", not a bool")
    );
    // `int` takes JSON integers only; list elements and maps are checked too.
    let mut reply = GOOD();
    reply["count"] = json!(2.0);
    reply["files"] = json!(["a", 1]);
    reply["meta"] = json!("none");
    reply.as_object_mut().map(|o| o.remove("remote"));
    let result = replies("OUT:COMMIT", "commit", vec![reply]);
    assert_eq!(
        failure(only_step(&result)).1,
        Some(
            "the reply lacks declared output `remote` (string); \
             output `files` is [\"a\",1], not a list<string>; output `count` is 2.0, not an int; \
             output `meta` is \"none\", not a map"
        )
    );
}

#[test]
fn protocol_failures_are_retried_only_when_listed() {
    let result = replies(
        "OUT:PUSH",
        "push",
        vec![json!({"remote": "o"}), json!({"remote": "o", "hash": "h"})],
    );
    assert_eq!(result.status, RunStatus::Complete, "{}", result.summary);
    let (kinds, _) = failure(only_step(&result));
    assert_eq!(kinds, [Some("protocol"), None]);

    // `retry 2` without `on`: every kind but `quality_check` and `protocol`.
    let result = replies("OUT:DEFAULTED", "defaulted", vec![json!({"remote": "o"})]);
    assert_eq!(result.status, RunStatus::Failed);
    assert_eq!(failure(only_step(&result)).0, [Some("protocol")]);
}

#[test]
fn a_check_over_a_field_the_agent_did_not_send_fails() {
    // `plain` declares no outputs: the reply is not checked against any
    // declaration, but its check reads `output.tests_passed`.
    let result = replies("OUT:PLAIN", "plain", vec![json!({})]);
    assert_eq!(result.status, RunStatus::Failed);
    assert_eq!(
        failure(only_step(&result)),
        (
            vec![Some("quality_check")],
            Some("check `tests_pass` failed: Tests pass (the agent sent no `output.tests_passed`)")
        )
    );
    // `true or (not sent)` fails as well: every field a check reads must be sent.
    let result = replies("OUT:PLAIN", "plain", vec![json!({"tests_passed": true})]);
    assert_eq!(
        failure(only_step(&result)).1,
        Some("check `tests_pass` failed: Tests pass (the agent sent no `output.skipped_tests`)")
    );
    // `null` counts as not sent.
    let result = replies(
        "OUT:PLAIN",
        "plain",
        vec![json!({"tests_passed": true, "skipped_tests": null})],
    );
    assert_eq!(result.status, RunStatus::Failed);
    let result = replies(
        "OUT:PLAIN",
        "plain",
        vec![json!({"tests_passed": false, "skipped_tests": true})],
    );
    assert_eq!(result.status, RunStatus::Complete, "{}", result.summary);
}

#[test]
fn simulated_defaults_are_typed_and_pass_the_checks() {
    let result = run_on("OUT:COMMIT", |p| {
        Arc::new(SimulatedBackend::new(p, Scenario::default()))
    });
    assert_eq!(result.status, RunStatus::Complete, "{}", result.summary);
    let expected: Map<String, Value> = json!({
        "remote": "commit-remote-1", "hash": "commit-hash-1", "tests_passed": true,
        "files": ["src/lib.rs"], "count": 0, "meta": {},
    })
    .as_object()
    .cloned()
    .unwrap_or_default();
    assert_eq!(only_step(&result).outputs, expected);

    // An undeclared task gets values that pass its checks.
    let result = run_on("OUT:PLAIN", |p| {
        Arc::new(SimulatedBackend::new(p, Scenario::default()))
    });
    assert_eq!(result.status, RunStatus::Complete, "{}", result.summary);

    // A scenario's outputs still override the defaults.
    let scenario = Scenario::parse("[task.\"RM.commit\"]\noutputs = { tests_passed = \"yes\" }\n")
        .expect("scenario");
    let result = run_on("OUT:COMMIT", |p| {
        Arc::new(SimulatedBackend::new(p, scenario))
    });
    assert_eq!(
        failure(only_step(&result)).1,
        Some("output `tests_passed` is \"yes\", not a bool")
    );
}
