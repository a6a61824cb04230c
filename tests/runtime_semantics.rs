//! The interpreter's run semantics, one rule at a time.
//!
//! Each test runs a small playbook from `tests/fixtures/runtime/` against the
//! simulated backend (or a hand-written one) on tokio's paused clock, and
//! asserts on the [`RunResult`]: statuses, step outcomes, attempts, gates and
//! the virtual times of events. Nothing sleeps for real.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{json, Map, Value};
use tokio_util::sync::CancellationToken;

use coordops::ast::Playbook;
use coordops::runtime::backend::{
    AgentBackend, ApprovalRequest, Decision, Reply, TaskOutcome, TaskRequest,
};
use coordops::runtime::result::{EventKind, RunResult, RunStatus, StepOutcome, StepRecord};
use coordops::runtime::run;
use coordops::runtime::simulated::{Scenario, SimulatedBackend};
use coordops::source::SourceFile;

/// One second of virtual time, in milliseconds.
const S: u64 = 1000;
/// One minute of virtual time, in milliseconds.
const M: u64 = 60 * S;

// ── helpers ─────────────────────────────────────────────────────────────────

/// A checked playbook from `tests/fixtures/runtime/`.
struct Fixture {
    file: SourceFile,
    playbook: Playbook,
}

fn fixture(name: &str) -> Fixture {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/runtime")
        .join(format!("{name}.ops"));
    let file = coordops::source::load(&path).unwrap_or_else(|d| panic!("{name}: {d}"));
    let errors: Vec<String> = coordops::analysis::check_source(&file)
        .into_iter()
        .filter(|d| d.is_error())
        .map(|d| format!("{}: {}", d.code, d.message))
        .collect();
    assert!(errors.is_empty(), "{name}.ops has errors: {errors:#?}");
    let playbook = coordops::syntax::parse(&file)
        .playbook
        .unwrap_or_else(|| panic!("{name}.ops parses"));
    Fixture { file, playbook }
}

impl Fixture {
    /// Runs `signal` with `--set`-style context under a scenario (TOML).
    fn run(&self, signal: &str, sets: &[(&str, &str)], scenario: &str) -> RunResult {
        let scenario = Scenario::parse(scenario).expect("the scenario parses");
        let unknown = scenario.unknown_names(&self.playbook);
        assert!(unknown.is_empty(), "scenario names unknown {unknown:?}");
        let interrupt = scenario.interrupt_after_ms();
        let backend = Arc::new(SimulatedBackend::new(&self.playbook, scenario));
        self.run_on(signal, sets, backend, interrupt)
    }

    /// Runs `signal` against any backend, interrupting at `interrupt_ms`.
    fn run_on(
        &self,
        signal: &str,
        sets: &[(&str, &str)],
        backend: Arc<dyn AgentBackend>,
        interrupt_ms: Option<u64>,
    ) -> RunResult {
        let request = coordops::testing::harness::request(
            &self.file,
            &self.playbook,
            signal,
            sets,
            "semantics",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let runtime = crate::support::virtual_time();
        let cancel = CancellationToken::new();
        runtime.block_on(async {
            if let Some(ms) = interrupt_ms {
                let cancel = cancel.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    cancel.cancel();
                });
            }
            run(request, backend, cancel.clone()).await
        })
    }
}

fn names(result: &RunResult) -> Vec<&str> {
    result.steps.iter().map(|s| s.name.as_str()).collect()
}

/// The only step named `name`.
fn step<'r>(result: &'r RunResult, name: &str) -> &'r StepRecord {
    let found: Vec<&StepRecord> = result.steps.iter().filter(|s| s.name == name).collect();
    assert_eq!(
        found.len(),
        1,
        "one step named `{name}` expected, steps are {:?}",
        names(result)
    );
    found[0]
}

/// Virtual times and details of the events of `kind` (for `step`, if given).
fn events(result: &RunResult, kind: EventKind, step: Option<&str>) -> Vec<(u64, String)> {
    result
        .events
        .iter()
        .filter(|e| e.kind == kind && (step.is_none() || e.step.as_deref() == step))
        .map(|e| (e.at_ms, e.detail.clone()))
        .collect()
}

fn times(result: &RunResult, kind: EventKind, step: Option<&str>) -> Vec<u64> {
    events(result, kind, step)
        .into_iter()
        .map(|(t, _)| t)
        .collect()
}

fn attempt_outcomes(step: &StepRecord) -> Vec<&str> {
    step.attempts.iter().map(|a| a.outcome.as_str()).collect()
}

fn failure_kind(step: &StepRecord) -> &str {
    match &step.outcome {
        StepOutcome::Failure { kind, .. } => kind,
        other => panic!("`{}` did not fail but ended {other:?}", step.name),
    }
}

fn failure_message(step: &StepRecord) -> &str {
    match &step.outcome {
        StepOutcome::Failure { message, .. } => message,
        other => panic!("`{}` did not fail but ended {other:?}", step.name),
    }
}

fn escalation_title(result: &RunResult) -> &str {
    &result
        .escalation
        .as_ref()
        .unwrap_or_else(|| panic!("no escalation: {:?} {}", result.status, result.summary))
        .title
}

fn route_label(result: &RunResult) -> Option<&str> {
    result.route.as_ref().and_then(|r| r.label.as_deref())
}

// ── routing ─────────────────────────────────────────────────────────────────

#[test]
fn routing_guard_false_by_default_falls_through_to_the_next_route() {
    let result = fixture("routing").run("OPS:COMMIT", &[], "");
    assert_eq!(route_label(&result), Some("commit"));
    let route = result.route.as_ref().unwrap();
    assert_eq!((route.index, route.pattern.as_str()), (2, "OPS:COMMIT"));
    assert_eq!(route.target, "workflow full");
    assert_eq!(result.status, RunStatus::Complete);
    assert_eq!(result.summary, "full workflow");
    assert_eq!(result.context["simple"], json!(false), "declared default");
    assert_eq!(result.context["level"], json!(3), "declared default");
}

#[test]
fn routing_first_match_wins() {
    let fx = fixture("routing");
    // Both `quick` and `high` match: the first written wins.
    let result = fx.run("OPS:COMMIT", &[("simple", "true"), ("level", "9")], "");
    assert_eq!(route_label(&result), Some("quick"));
    assert_eq!(result.route.as_ref().unwrap().target, "task WORKER.quick");
    assert_eq!(result.summary, "Fast path: WORKER.quick done.");
    assert_eq!(names(&result), ["WORKER.quick"]);

    let result = fx.run("OPS:COMMIT", &[("level", "9")], "");
    assert_eq!(route_label(&result), Some("high"));
    assert_eq!(result.summary, "high level");

    // `shadowed` has the same pattern as `commit`, written after it.
    let result = fx.run("OPS:COMMIT", &[("level", "5")], "");
    assert_eq!(route_label(&result), Some("commit"));
}

#[test]
fn routing_guard_true_by_default() {
    let fx = fixture("routing");
    let result = fx.run("OPS:DEFAULTED", &[], "");
    assert_eq!(route_label(&result), Some("defaulted"));
    assert_eq!(result.status, RunStatus::Complete);
    assert_eq!(result.context["enabled"], json!(true));
}

#[test]
fn routing_no_match_is_ignored() {
    let fx = fixture("routing");
    // `defaulted` is false, and `undeclared` reads a field nobody set (unknown).
    let result = fx.run("OPS:DEFAULTED", &[("enabled", "false")], "");
    assert_eq!(result.status, RunStatus::Ignored);
    assert!(result.route.is_none());
    assert!(result.steps.is_empty());
    assert_eq!(
        result.summary,
        "OPS:DEFAULTED is not handled by COORD: IGNORED."
    );

    let result = fx.run("SCHED:SWAP", &[], "");
    assert_eq!(result.status, RunStatus::Ignored);
    assert!(result.route.is_none());
    assert_eq!(result.duration_ms, 0);
    let kinds: Vec<EventKind> = result.events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EventKind::Complete]);
}

#[test]
fn routing_ignore_target_is_ignored_with_its_route() {
    let result = fixture("routing").run("OPS:NOISE", &[], "");
    assert_eq!(result.status, RunStatus::Ignored);
    assert_eq!(route_label(&result), Some("noise"));
    assert_eq!(result.route.as_ref().unwrap().target, "ignore");
    assert!(result.steps.is_empty());
}

#[test]
fn routing_guard_over_an_undeclared_field() {
    let fx = fixture("routing");
    let result = fx.run("OPS:OTHER", &[("urgent", "true")], "");
    assert_eq!(route_label(&result), Some("undeclared"));
    assert_eq!(result.context["urgent"], json!(true));
    assert_eq!(result.status, RunStatus::Complete);
    let result = fx.run("OPS:OTHER", &[], "");
    assert_eq!(result.status, RunStatus::Ignored);
}

// ── steps, handoffs, guards, complete, run ──────────────────────────────────

const PIPELINE: &str = r#"
[task."MAKER.first"]
latency = "5s"
outputs = { value = "A" }
[task."MAKER.second"]
latency = "3s"
outputs = { value = "B" }
[task."MAKER.optional"]
latency = "1s"
outputs = { value = "O" }
[task."MAKER.third"]
latency = "2s"
outputs = { value = "C" }
"#;

#[test]
fn steps_run_in_order_and_hand_off_results() {
    let result = fixture("workflows").run("FLOW:PIPELINE", &[("extra", "true")], PIPELINE);
    assert_eq!(result.status, RunStatus::Complete);
    assert_eq!(names(&result), ["a", "b", "opt", "c"]);
    let starts: Vec<u64> = result.steps.iter().map(|s| s.started_ms).collect();
    assert_eq!(starts, [0, 5 * S, 8 * S, 9 * S]);
    assert_eq!(
        times(&result, EventKind::Spawn, None),
        [0, 5 * S, 8 * S, 9 * S]
    );
    assert_eq!(result.duration_ms, 11 * S);
    // `a` reads only the signal: no handoff. The others read earlier results.
    assert!(events(&result, EventKind::Handoff, Some("a")).is_empty());
    assert_eq!(
        events(&result, EventKind::Handoff, Some("b")),
        [(5 * S, "a.value -> b".to_string())]
    );
    assert_eq!(
        events(&result, EventKind::Handoff, Some("opt")),
        [(8 * S, "b.value -> opt".to_string())]
    );
    let c = events(&result, EventKind::Handoff, Some("c"));
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].0, 9 * S);
    assert!(c[0].1.starts_with("opt.value"), "{c:?}");
    // The handoff comes right before the step's spawn.
    let order: Vec<(EventKind, Option<&str>)> = result
        .events
        .iter()
        .map(|e| (e.kind, e.step.as_deref()))
        .collect();
    let handoff = order
        .iter()
        .position(|e| *e == (EventKind::Handoff, Some("b")))
        .unwrap();
    assert_eq!(order[handoff + 1], (EventKind::Spawn, Some("b")));
}

#[test]
fn a_false_guard_skips_the_step_without_failing_the_run() {
    let result = fixture("workflows").run("FLOW:PIPELINE", &[], PIPELINE);
    assert_eq!(result.status, RunStatus::Complete);
    let opt = step(&result, "opt");
    assert_eq!(opt.outcome, StepOutcome::Skipped);
    assert!(opt.attempts.is_empty());
    assert_eq!((opt.started_ms, opt.duration_ms), (8 * S, 0));
    assert_eq!(
        events(&result, EventKind::Skip, Some("opt")),
        [(8 * S, "guard is false".to_string())]
    );
    assert!(events(&result, EventKind::Spawn, Some("opt")).is_empty());
    assert!(events(&result, EventKind::Failure, None).is_empty());
    // The else branch ran instead, right after `b`.
    assert_eq!(step(&result, "c").started_ms, 8 * S);
    assert_eq!(result.duration_ms, 10 * S);
}

#[test]
fn complete_evaluates_its_payload_summary_and_next_steps() {
    let result = fixture("workflows").run("FLOW:PIPELINE", &[("label", "fancy")], PIPELINE);
    assert_eq!(result.summary, "Pipeline done: C");
    assert_eq!(result.next_steps.as_deref(), Some("Ship it."));
    let expected = json!({
        "first": "A", "second": "B", "third": "C", "label": "fancy",
        "count": 3, "flags": [false, true],
    });
    assert_eq!(Value::Object(result.payload.clone()), expected);
    assert_eq!(step(&result, "a").outputs["value"], json!("A"));
}

#[test]
fn run_binds_the_sub_workflow_complete_payload() {
    let scenario = r#"
[task."MAKER.first"]
latency = "4s"
outputs = { value = "made-inside" }
[task."MAKER.second"]
latency = "1s"
outputs = { value = "after" }
"#;
    let result = fixture("workflows").run("FLOW:SUB", &[], scenario);
    assert_eq!(result.status, RunStatus::Complete);
    // The inner `complete` does not end the run: the outer one does.
    assert_eq!(result.summary, "outer done");
    let expected = json!({ "from_sub": "made-inside", "constant": "c", "after": "after" });
    assert_eq!(Value::Object(result.payload.clone()), expected);
    assert_eq!(names(&result), ["x", "y"]);
    assert_eq!(
        events(&result, EventKind::Handoff, Some("y")),
        [(4 * S, "sub.made -> y".to_string())]
    );
    assert_eq!(result.duration_ms, 5 * S);
}

#[test]
fn a_run_timeout_bounds_the_whole_sub_workflow() {
    let scenario = r#"
[task."MAKER.first"]
latency = "30s"
"#;
    let result = fixture("workflows").run("FLOW:SUB_TIMEOUT", &[], scenario);
    assert_eq!(result.status, RunStatus::Failed);
    assert_eq!(result.summary, "`run inner` timed out after 10s");
    assert_eq!(result.duration_ms, 10 * S);
    assert_ne!(step(&result, "x").outcome, StepOutcome::Success);
    assert_eq!(
        events(&result, EventKind::Timeout, Some("inner")),
        [(10 * S, "run timed out after 10s".to_string())]
    );
}

#[test]
fn a_failing_sub_workflow_fails_the_run() {
    let result = fixture("workflows").run("FLOW:SUB", &[("fail_inner", "true")], "");
    assert_eq!(result.status, RunStatus::Failed);
    assert_eq!(result.summary, "inner workflow failed on purpose");
    assert_eq!(names(&result), ["x"], "`y` never runs");
    assert!(result.payload.is_empty());
}

// ── parallel groups: concurrency, slots, locks ──────────────────────────────

const TEN_SECONDS_EACH: &str = r#"
[task."ALPHA.work"]
latency = "10s"
outputs = { id = "a" }
[task."BETA.work"]
latency = "10s"
outputs = { id = "b" }
[task."GAMMA.work"]
latency = "10s"
outputs = { id = "c" }
[task."SOLO.work"]
latency = "10s"
[task."PAIR.work"]
latency = "10s"
"#;

fn gate_at(result: &RunResult) -> Vec<u64> {
    times(result, EventKind::Gate, None)
}

#[test]
fn parallel_branches_run_concurrently() {
    let result = fixture("concurrency").run("RUN:SPREAD", &[], TEN_SECONDS_EACH);
    assert_eq!(result.status, RunStatus::Complete);
    assert_eq!(times(&result, EventKind::Spawn, None), [0, 0, 0]);
    assert_eq!(
        gate_at(&result),
        [10 * S],
        "max of the latencies, not the sum"
    );
    assert_eq!(result.duration_ms, 10 * S);
    for name in ["a", "b", "c"] {
        let s = step(&result, name);
        assert_eq!((s.started_ms, s.duration_ms), (0, 10 * S), "{name}");
    }
    // Results bound by branches are visible after the group.
    let expected = json!({ "a": "a", "b": "b", "c": "c" });
    assert_eq!(Value::Object(result.payload.clone()), expected);
}

#[test]
fn max_concurrent_1_serializes_branches() {
    let result = fixture("concurrency").run("RUN:SOLO", &[], TEN_SECONDS_EACH);
    assert_eq!(result.status, RunStatus::Complete);
    assert_eq!(times(&result, EventKind::Spawn, None), [0, 10 * S, 20 * S]);
    assert_eq!(gate_at(&result), [30 * S], "the sum of the latencies");
    assert_eq!(result.duration_ms, 30 * S);
}

#[test]
fn max_concurrent_2_runs_two_at_a_time() {
    let result = fixture("concurrency").run("RUN:PAIR", &[], TEN_SECONDS_EACH);
    assert_eq!(times(&result, EventKind::Spawn, None), [0, 0, 10 * S]);
    assert_eq!(result.duration_ms, 20 * S);
}

#[test]
fn the_coordinators_max_concurrent_bounds_all_agents() {
    let scenario = r#"
[task."ALPHA.work"]
latency = "10s"
[task."BETA.work"]
latency = "10s"
[task."GAMMA.work"]
latency = "10s"
"#;
    let result = fixture("coordinator_slots").run("RUN:SPREAD", &[], scenario);
    assert_eq!(result.status, RunStatus::Complete);
    assert_eq!(times(&result, EventKind::Spawn, None), [0, 0, 10 * S]);
    assert_eq!(result.duration_ms, 20 * S);
}

#[test]
fn steps_holding_the_same_lock_serialize() {
    let result = fixture("concurrency").run("RUN:LOCKED", &[], TEN_SECONDS_EACH);
    assert_eq!(result.status, RunStatus::Complete);
    assert_eq!(times(&result, EventKind::Spawn, None), [0, 10 * S, 20 * S]);
    assert_eq!(result.duration_ms, 30 * S);
}

#[test]
fn exclusive_blocks_on_the_same_lock_serialize() {
    let result = fixture("concurrency").run("RUN:EXCLUSIVE", &[], TEN_SECONDS_EACH);
    assert_eq!(result.status, RunStatus::Complete);
    assert_eq!(times(&result, EventKind::Spawn, None), [0, 10 * S, 20 * S]);
    assert_eq!(result.duration_ms, 30 * S);
    assert_eq!(result.gates[0].successes, 3);
}

#[test]
fn parallel_for_makes_one_concurrent_branch_per_element() {
    let fx = fixture("concurrency");
    let result = fx.run("RUN:EACH", &[], TEN_SECONDS_EACH);
    assert_eq!(result.status, RunStatus::Complete);
    assert_eq!(times(&result, EventKind::Spawn, None), [0, 0, 0]);
    assert_eq!(result.duration_ms, 10 * S);
    let gate = &result.gates[0];
    assert_eq!((gate.total, gate.successes, gate.passed), (3, 3, true));
    assert_eq!(gate.group, "each#1");

    let result = fx.run("RUN:EACH", &[("items", "x,y,z,w,v")], TEN_SECONDS_EACH);
    assert_eq!(result.gates[0].total, 5);
    assert_eq!(result.duration_ms, 10 * S);
}

#[test]
fn only_a_finished_step_s_result_is_a_handoff() {
    // Each BETA call is handed `first.id`; the element (`item`) and a `let`
    // value are the branch's own inputs, not a handoff, so GAMMA has none.
    let result = fixture("concurrency").run("RUN:EACH_HANDOFF", &[], TEN_SECONDS_EACH);
    assert_eq!(result.status, RunStatus::Complete);
    assert_eq!(
        events(&result, EventKind::Handoff, Some("BETA.work")),
        vec![(10 * S, "first.id -> BETA.work".to_string()); 3]
    );
    assert!(events(&result, EventKind::Handoff, Some("GAMMA.work")).is_empty());
    assert_eq!(result.handoffs.len(), 3);
    for handoff in &result.handoffs {
        assert_eq!(
            (handoff.from.as_str(), handoff.to.as_str()),
            ("ALPHA", "BETA")
        );
        assert_eq!(handoff.current_state.len(), 1, "{handoff:?}");
        assert!(handoff.current_state[0].starts_with("first.id = "));
    }
}

#[test]
fn parallel_for_over_an_empty_list_passes_vacuously() {
    // As an empty Map in Step Functions and the durable SDKs: nothing was
    // asked, so nothing failed.
    let result = fixture("concurrency").run("RUN:EACH", &[("items", "[]")], "");
    assert_eq!(result.status, RunStatus::Complete);
    let gate = &result.gates[0];
    assert_eq!((gate.total, gate.counted, gate.passed), (0, 0, true));
    assert_eq!(gate.line(), "PASSED (no branches)");
}

#[test]
fn group_timeout_counts_unfinished_branches_as_timeouts() {
    let scenario = r#"
[task."ALPHA.work"]
latency = "10s"
[task."BETA.work"]
latency = "90s"
[task."GAMMA.work"]
outcome = "timeout"
"#;
    let result = fixture("concurrency").run("RUN:GROUP_TIMEOUT", &[], scenario);
    assert_eq!(result.status, RunStatus::Failed);
    assert_eq!(result.duration_ms, M, "the group's 1m, not the steps' 2m");
    assert_eq!(step(&result, "fast").outcome, StepOutcome::Success);
    for name in ["slow", "slower"] {
        let s = step(&result, name);
        assert_eq!(s.outcome, StepOutcome::Timeout, "{name}");
        assert_eq!(s.duration_ms, M, "{name}");
        assert_eq!(
            events(&result, EventKind::Abort, Some(name)),
            [(M, "group timeout of 1m".to_string())]
        );
    }
    let gate = &result.gates[0];
    assert_eq!(
        (gate.successes, gate.failures, gate.counted, gate.total),
        (1, 2, 3, 3)
    );
    assert_eq!(gate.decided_at, None);
    assert_eq!(gate.line(), "FAILED (1/3 = 33.3% < 100%)");
    assert_eq!(gate_at(&result), [M]);
}

// ── quality gates ───────────────────────────────────────────────────────────

#[test]
fn skipped_branches_are_not_counted() {
    let result = fixture("gates").run("GATE:SKIPPED", &[], "");
    assert_eq!(result.status, RunStatus::Complete);
    assert_eq!(step(&result, "c").outcome, StepOutcome::Skipped);
    let gate = &result.gates[0];
    assert_eq!(
        (
            gate.successes,
            gate.failures,
            gate.skipped,
            gate.counted,
            gate.total
        ),
        (2, 0, 1, 2, 3)
    );
    assert_eq!(gate.threshold(), Some(100));
    assert!(gate.passed);
    assert_eq!(gate.line(), "PASSED (2/2 = 100% ≥ 100%)");
    // The skipped branch's result is unknown in the payload.
    assert_eq!(result.payload["c"], Value::Null);
}

#[test]
fn zero_counted_branches_fail_the_gate() {
    let fx = fixture("gates");
    let result = fx.run("GATE:NONE", &[], "");
    assert_eq!(result.status, RunStatus::Escalated);
    let gate = &result.gates[0];
    assert_eq!(
        (gate.threshold(), gate.skipped, gate.counted),
        (Some(50), 2, 0)
    );
    assert_eq!(gate.decided_at, None);
    assert!(!gate.passed);
    for s in &result.steps {
        assert_eq!(s.outcome, StepOutcome::Skipped, "{}", s.name);
    }
    assert_eq!(
        escalation_title(&result),
        "Gate failed: 0/0 (FAILED (0/0: no branch counted, 50% needs one))"
    );
    assert_eq!(result.escalation.as_ref().unwrap().kind, "QualityGate");

    // Even a 0% gate fails with nothing counted.
    let result = fx.run("GATE:NONE_AT_0", &[], "");
    assert_eq!(result.status, RunStatus::Escalated);
    let gate = &result.gates[0];
    assert_eq!(
        (gate.threshold(), gate.counted, gate.passed),
        (Some(0), 0, false)
    );
}

#[test]
fn the_gate_passes_iff_successes_times_100_reach_threshold_times_counted() {
    let fx = fixture("gates");
    // 5 branches at the coordinator's 80%: one failure is 4/5 = 80% (passes).
    let one = r#"
[task."DELTA.audit"]
outcome = "failure"
"#;
    let result = fx.run("GATE:DEFAULT", &[], one);
    let gate = &result.gates[0];
    assert_eq!(gate.threshold(), Some(80), "the coordinator's gate");
    assert_eq!(gate.line(), "PASSED (4/5 = 80% ≥ 80%)");
    assert_eq!(result.status, RunStatus::Partial);
    // Two failures (ALPHA runs two branches) is 3/5 = 60% (fails).
    let two = r#"
[task."ALPHA.audit"]
outcome = "failure"
"#;
    let result = fx.run("GATE:DEFAULT", &[], two);
    assert!(!result.gates[0].passed);
    assert_eq!(result.status, RunStatus::Escalated);
}

#[test]
fn a_passed_gate_with_failures_makes_the_run_partial() {
    let scenario = r#"
[task."GAMMA.audit"]
latency = "5s"
outcome = "failure"
kind = "unavailable"
message = "index down"
[task."ALPHA.audit"]
latency = "10s"
outputs = { report = "ok" }
"#;
    let result = fixture("gates").run("GATE:PARTIAL", &[], scenario);
    assert_eq!(result.status, RunStatus::Partial);
    assert_eq!(result.summary, "audited with a failure");
    assert_eq!(result.payload["a"], json!("ok"));
    let gate = &result.gates[0];
    assert!(gate.passed);
    assert_eq!(gate.failures, 1);
    assert_eq!(gate.line(), "PASSED (2/3 = 66.7% ≥ 60%)");
    // Inside a group, the top-level `on failure(unavailable)` rule does not
    // apply: the gate decides.
    assert!(result.escalation.is_none());
    assert_eq!(failure_kind(step(&result, "c")), "unavailable");
}

#[test]
fn timeouts_count_as_failures() {
    let scenario = r#"
[task."BETA.audit"]
outcome = "timeout"
"#;
    let result = fixture("gates").run("GATE:SKIPPED", &[], scenario);
    assert_eq!(result.status, RunStatus::Escalated);
    let b = step(&result, "b");
    assert_eq!(b.outcome, StepOutcome::Timeout);
    assert_eq!(b.duration_ms, 2 * M, "the coordinator's 2m");
    let gate = &result.gates[0];
    assert_eq!(
        (gate.successes, gate.failures, gate.skipped, gate.counted),
        (1, 1, 1, 2)
    );
    assert_eq!(gate.line(), "FAILED (1/2 = 50% < 100%)");
    assert_eq!(
        events(&result, EventKind::Timeout, Some("b")),
        [(2 * M, "no answer within 2m".to_string())]
    );
}

#[test]
fn a_failed_critical_branch_fails_the_group_whatever_the_ratio() {
    let scenario = r#"
[task."ALPHA.audit"]
latency = "10s"
outcome = "failure"
message = "git audit broke"
[task."BETA.audit"]
latency = "5s"
[task."GAMMA.audit"]
latency = "5s"
"#;
    let result = fixture("gates").run("GATE:CRITICAL", &[], scenario);
    assert_eq!(result.status, RunStatus::Escalated);
    let gate = &result.gates[0];
    // 2/3 = 67% would pass the 50% gate.
    assert_eq!(
        gate.line(),
        "FAILED (critical branch `a` failed; 2/3 = 66.7% ≥ 50%)"
    );
    assert_eq!(gate.critical_failed.as_deref(), Some("a"));
    // A pending critical branch keeps the group open: no early pass at 2/3.
    assert_eq!(gate.decided_at, None);
    assert_eq!(gate_at(&result), [10 * S]);
    assert!(step(&result, "a").critical);
}

#[test]
fn a_first_failure_does_not_cancel_the_other_branches() {
    let scenario = r#"
[task."GAMMA.audit"]
latency = "10s"
outcome = "failure"
kind = "unavailable"
[task."ALPHA.audit"]
latency = "30s"
[task."BETA.audit"]
latency = "90s"
"#;
    let result = fixture("gates").run("GATE:EARLY", &[], scenario);
    assert_eq!(result.status, RunStatus::Escalated);
    // The group waits for every branch, then decides (gather-then-gate).
    assert_eq!(result.duration_ms, 90 * S);
    let gate = &result.gates[0];
    assert_eq!(gate.decided_at, None);
    assert_eq!((gate.successes, gate.failures, gate.counted), (2, 1, 3));
    for name in ["a", "b"] {
        assert_eq!(step(&result, name).outcome, StepOutcome::Success, "{name}");
    }
    assert_eq!(gate_at(&result), [90 * S]);
    let e = result.escalation.as_ref().unwrap();
    assert!(
        e.issue.starts_with("threshold 80%, 1 failed, 0 skipped"),
        "`gate.*` reaches the rule: {}",
        e.issue
    );
    assert_eq!(e.partial_results.len(), 2, "every success is listed");
}

#[test]
fn a_passing_gate_does_not_cancel_the_slower_branches() {
    let scenario = r#"
[task."ALPHA.audit"]
latency = "1s"
outputs = { report = "a" }
[task."BETA.audit"]
latency = "2s"
[task."GAMMA.audit"]
latency = "10s"
[task."DELTA.audit"]
latency = "20s"
outputs = { report = "d" }
"#;
    let result = fixture("gates").run("GATE:EARLY_PASS", &[], scenario);
    // 2 successes of 4 at 50% could no longer fail, but nothing is cancelled.
    assert_eq!(result.status, RunStatus::Complete);
    assert_eq!(result.duration_ms, 20 * S);
    let gate = &result.gates[0];
    assert_eq!(gate.decided_at, None);
    assert!(gate.passed);
    assert_eq!(gate.successes, 4);
    assert_eq!(step(&result, "d").outcome, StepOutcome::Success);
    assert_eq!(result.payload["a"], json!("a"));
    assert_eq!(
        result.payload["d"],
        json!("d"),
        "a later step sees d's result"
    );
}

// ── timeouts ────────────────────────────────────────────────────────────────

#[test]
fn timeout_precedence_is_step_task_agent_coordinator() {
    let scenario = r#"
[task."TIMED.with_own"]
outcome = "timeout"
[task."TIMED.without_own"]
outcome = "timeout"
[task."UNTIMED.plain"]
outcome = "timeout"
"#;
    let result = fixture("timeouts").run("TIME:PRECEDENCE", &[], scenario);
    assert_eq!(result.status, RunStatus::Complete, "{}", result.summary);
    let expected = [
        ("step_level", 0, 10 * S),
        ("task_level", 10 * S, 20 * S),
        ("agent_level", 30 * S, 30 * S),
        ("coordinator_level", 60 * S, 40 * S),
    ];
    for (name, start, limit) in expected {
        let s = step(&result, name);
        assert_eq!(s.outcome, StepOutcome::Timeout, "{name}");
        assert_eq!((s.started_ms, s.duration_ms), (start, limit), "{name}");
        assert_eq!(attempt_outcomes(s), ["timeout"], "{name}");
        let limit_text = format!("{}s", limit / S);
        assert_eq!(
            events(&result, EventKind::Timeout, Some(name)),
            [(start + limit, format!("no answer within {limit_text}"))]
        );
        let spawn = events(&result, EventKind::Spawn, Some(name));
        assert!(
            spawn[0].1.ends_with(&format!("(timeout {limit_text})")),
            "{spawn:?}"
        );
    }
    assert_eq!(result.duration_ms, 100 * S);
}

#[test]
fn the_built_in_timeout_is_2m() {
    let scenario = r#"
[task."UNTIMED.plain"]
outcome = "timeout"
"#;
    let result = fixture("timeouts_builtin").run("TIME:BUILTIN", &[], scenario);
    let s = step(&result, "builtin_level");
    assert_eq!(s.outcome, StepOutcome::Timeout);
    assert_eq!(s.duration_ms, 2 * M);
    assert_eq!(result.duration_ms, 2 * M);
}

#[test]
fn a_slow_success_after_the_deadline_is_a_timeout() {
    let scenario = r#"
[task."TIMED.with_own"]
latency = "25s"
outputs = { late = true }
[task."TIMED.without_own"]
latency = "5s"
[task."UNTIMED.plain"]
latency = "5s"
"#;
    let result = fixture("timeouts").run("TIME:PRECEDENCE", &[], scenario);
    // 25s is over the step's 10s and the task's 20s.
    for name in ["step_level", "task_level"] {
        let s = step(&result, name);
        assert_eq!(s.outcome, StepOutcome::Timeout, "{name}");
        assert!(s.outputs.is_empty(), "{name}: the late answer is discarded");
    }
    assert_eq!(step(&result, "agent_level").outcome, StepOutcome::Success);
    assert_eq!(result.duration_ms, 40 * S);
}

#[test]
fn a_workflow_timeout_bounds_its_steps_and_goes_to_the_timeout_rule() {
    let scenario = r#"
[task."UNTIMED.plain"]
latency = "20s"
[task."TIMED.without_own"]
latency = "44s"
"#;
    // `second` (45s timeout) is still running when the workflow's 1m ends.
    let result = fixture("timeouts").run("TIME:WORKFLOW", &[], scenario);
    assert_eq!(result.status, RunStatus::Failed);
    assert_eq!(result.summary, "bounded timed out after 1m");
    assert_eq!(result.duration_ms, M);
    assert_eq!(step(&result, "first").outcome, StepOutcome::Success);
    let second = step(&result, "second");
    assert_ne!(second.outcome, StepOutcome::Success);
    assert_eq!((second.started_ms, second.duration_ms), (20 * S, 40 * S));
    assert_eq!(
        events(&result, EventKind::Timeout, Some("bounded")),
        [(M, "workflow timeout of 1m".to_string())]
    );
}

/// A backend whose first attempt answers late (after 90s, ignoring the
/// cancellation) and whose second answers at once. It notes when each
/// attempt's cancellation token fires.
#[derive(Default)]
struct LateBackend {
    cancelled_at: Arc<Mutex<Vec<(u32, u64)>>>,
}

#[async_trait]
impl AgentBackend for LateBackend {
    async fn call(&self, request: TaskRequest) -> Reply {
        let start = tokio::time::Instant::now();
        let log = Arc::clone(&self.cancelled_at);
        let token = request.cancel.clone();
        let attempt = request.attempt;
        tokio::spawn(async move {
            token.cancelled().await;
            let at = u64::try_from(start.elapsed().as_millis()).unwrap();
            log.lock().unwrap().push((attempt, at));
        });
        let mut outputs = Map::new();
        if request.attempt == 1 {
            tokio::time::sleep(Duration::from_secs(90)).await;
            outputs.insert("v".into(), json!("late"));
        } else {
            tokio::time::sleep(Duration::from_secs(1)).await;
            outputs.insert("v".into(), json!("on time"));
        }
        outputs.insert("ok".into(), json!(true));
        TaskOutcome::Success(outputs).into()
    }

    async fn approve(&self, _request: ApprovalRequest) -> Decision {
        Decision::Granted
    }
}

#[test]
fn an_attempt_is_cancelled_at_its_deadline_and_a_late_answer_discarded() {
    let backend = Arc::new(LateBackend::default());
    let cancelled = Arc::clone(&backend.cancelled_at);
    // `empty_on`: retry 2 (timeouts included), the coordinator's 1m timeout.
    let result = fixture("retries").run_on("RETRY:EMPTY_ON", &[], backend, None);
    assert_eq!(result.status, RunStatus::Complete, "{}", result.summary);
    let s = step(&result, "s");
    assert_eq!(attempt_outcomes(s), ["timeout", "success"]);
    assert_eq!(s.attempts[0].duration_ms, M);
    // `retry 2` without `backoff`: the default 1s before the first retry.
    assert_eq!(s.attempts[1].started_ms, M + S);
    assert_eq!(s.outputs["v"], json!("on time"));
    assert_eq!(
        result.duration_ms,
        M + 2 * S,
        "nobody waits for the late answer"
    );
    let cancelled = cancelled.lock().unwrap().clone();
    assert!(
        cancelled.contains(&(1, M)),
        "attempt 1 is cancelled at its 1m deadline: {cancelled:?}"
    );
}

/// A backend whose first attempt is refused with a `Retry-After` of 7s (as
/// an HTTP 429) and whose second succeeds.
struct BusyBackend;

#[async_trait]
impl AgentBackend for BusyBackend {
    async fn call(&self, request: TaskRequest) -> Reply {
        if request.attempt == 1 {
            return Reply {
                retry_after: Some(Duration::from_secs(7)),
                ..Reply::from(TaskOutcome::failure("too_many_requests", "429"))
            };
        }
        TaskOutcome::Success(json!({"ok": true}).as_object().cloned().unwrap()).into()
    }

    async fn approve(&self, _request: ApprovalRequest) -> Decision {
        Decision::Granted
    }
}

#[test]
fn a_retry_after_replaces_the_backoff_delay() {
    // `retry 2` without `backoff` would wait 1s.
    let result = fixture("retries").run_on("RETRY:EMPTY_ON", &[], Arc::new(BusyBackend), None);
    assert_eq!(result.status, RunStatus::Complete, "{}", result.summary);
    let s = step(&result, "s");
    assert_eq!(attempt_outcomes(s), ["failure", "success"]);
    assert_eq!(s.attempts[1].started_ms, 7 * S);
    assert_eq!(
        events(&result, EventKind::Retry, Some("s")),
        [(
            0,
            "attempt 1 failed (too_many_requests); retry 1 of 2 in 7s (as the agent's Retry-After asked)"
                .to_string()
        )]
    );
}

// ── retries ─────────────────────────────────────────────────────────────────

#[test]
fn retry_n_makes_n_plus_one_attempts_then_exhausted() {
    let scenario = r#"
[task."WORKER.count"]
outcome = "failure"
kind = "rejected"
message = "non-fast-forward"
"#;
    let result = fixture("retries").run("RETRY:COUNT", &[], scenario);
    let s = step(&result, "s");
    assert_eq!(attempt_outcomes(s), ["failure", "failure", "failure"]);
    let starts: Vec<u64> = s.attempts.iter().map(|a| a.started_ms).collect();
    assert_eq!(starts, [0, S, 2 * S], "backoff 1s, constant");
    assert_eq!(times(&result, EventKind::Retry, Some("s")), [0, S]);
    assert_eq!(result.status, RunStatus::Failed);
    assert_eq!(result.summary, "s gave up after 3 attempts (rejected)");
    assert_eq!(failure_kind(s), "rejected");
}

#[test]
fn backoff_multiplies_and_is_capped() {
    let scenario = r#"
[task."WORKER.backoff"]
outcome = "failure"
kind = "network"
"#;
    let result = fixture("retries").run("RETRY:BACKOFF", &[], scenario);
    let s = step(&result, "s");
    // Delays 1s, 3s, 9s→5s, 27s→5s.
    let starts: Vec<u64> = s.attempts.iter().map(|a| a.started_ms).collect();
    assert_eq!(starts, [0, S, 4 * S, 9 * S, 14 * S]);
    let delays: Vec<String> = events(&result, EventKind::Retry, Some("s"))
        .into_iter()
        .map(|(_, d)| d.rsplit(' ').next().unwrap().to_string())
        .collect();
    assert_eq!(delays, ["1s", "3s", "5s", "5s"]);
    assert_eq!(result.status, RunStatus::Failed);
    assert_eq!(
        result.summary,
        "step `s` failed: network: WORKER.backoff failed (simulated)"
    );
}

#[test]
fn only_the_kinds_listed_in_on_are_retried() {
    let fx = fixture("retries");
    let network = r#"
[task."WORKER.kinds"]
outcome = "failure"
kind = "network"
"#;
    let result = fx.run("RETRY:KINDS", &[], network);
    assert_eq!(step(&result, "s").attempts.len(), 1);
    assert!(events(&result, EventKind::Retry, None).is_empty());
    assert_eq!(result.status, RunStatus::Failed);

    let rejected_once = r#"
[task."WORKER.kinds"]
attempts = [{ outcome = "failure", kind = "rejected" }, { outcome = "success" }]
"#;
    let result = fx.run("RETRY:KINDS", &[], rejected_once);
    assert_eq!(attempt_outcomes(step(&result, "s")), ["failure", "success"]);
    assert_eq!(result.status, RunStatus::Complete);
}

#[test]
fn an_empty_on_list_retries_every_kind_but_quality_check() {
    let fx = fixture("retries");
    let bad_output = r#"
[task."WORKER.empty_on"]
outputs = { ok = false }
"#;
    let result = fx.run("RETRY:EMPTY_ON", &[], bad_output);
    let s = step(&result, "s");
    assert_eq!(s.attempts.len(), 1, "quality_check is not retried");
    assert_eq!(failure_kind(s), "quality_check");

    let timeout_then_ok = r#"
[task."WORKER.empty_on"]
attempts = [
  { outcome = "timeout" },
  { outcome = "failure", kind = "whatever" },
  { latency = "1s", outputs = { ok = true } },
]
"#;
    let result = fx.run("RETRY:EMPTY_ON", &[], timeout_then_ok);
    let s = step(&result, "s");
    assert_eq!(attempt_outcomes(s), ["timeout", "failure", "success"]);
    assert_eq!(result.status, RunStatus::Complete);
    // 1m timeout, default backoff 1s then 2s, 1s latency.
    assert_eq!(result.duration_ms, M + 4 * S);
    let retries = events(&result, EventKind::Retry, Some("s"));
    assert_eq!(
        retries.iter().map(|(t, _)| *t).collect::<Vec<_>>(),
        [M, M + S]
    );
    assert!(retries[0].1.ends_with("in 1s"), "{retries:?}");
    assert!(retries[1].1.ends_with("in 2s"), "{retries:?}");
}

#[test]
fn a_step_without_a_policy_is_not_retried() {
    let scenario = r#"
[task."WORKER.unretried"]
outcome = "failure"
kind = "rejected"
"#;
    let result = fixture("retries").run("RETRY:NONE", &[], scenario);
    let s = step(&result, "s");
    assert_eq!(s.attempts.len(), 1);
    // Not retried, so not `exhausted`: the exhausted(rejected) rule is silent.
    assert_eq!(result.status, RunStatus::Failed);
    assert_eq!(
        result.summary,
        "step `s` failed: rejected: WORKER.unretried failed (simulated)"
    );
}

#[test]
fn the_most_specific_policy_applies_as_a_whole() {
    let fx = fixture("retries");
    // The task's `retry 1 on [rejected]` replaces the agent's policy, which
    // would have retried `network` three times.
    let network = r#"
[task."LAYERED.inherited"]
outcome = "failure"
kind = "network"
"#;
    let result = fx.run("RETRY:LAYERED", &[], network);
    assert_eq!(step(&result, "s").attempts.len(), 1);
    let rejected = r#"
[task."LAYERED.inherited"]
outcome = "failure"
kind = "rejected"
"#;
    let result = fx.run("RETRY:LAYERED", &[], rejected);
    assert_eq!(step(&result, "s").attempts.len(), 2);
    assert_eq!(result.summary, "s gave up after 2 attempts (rejected)");
    // A task without a policy of its own inherits the agent's.
    let agent_level = r#"
[task."LAYERED.agent_policy"]
outcome = "failure"
kind = "network"
"#;
    let result = fx.run("RETRY:LAYERED", &[], agent_level);
    assert_eq!(step(&result, "t").attempts.len(), 4);
}

#[test]
fn a_recovery_handler_runs_before_the_retry() {
    let scenario = r#"
[task."WORKER.recover"]
attempts = [
  { outcome = "failure", kind = "rejected", message = "non-fast-forward", latency = "2s" },
  { latency = "4s", outputs = { value = "pushed" } },
]
[task."WORKER.fix"]
latency = "3s"
"#;
    let result = fixture("retries").run("RETRY:RECOVER", &[], scenario);
    assert_eq!(result.status, RunStatus::Complete);
    assert_eq!(result.payload["value"], json!("pushed"));
    let s = step(&result, "s");
    assert_eq!(attempt_outcomes(s), ["failure", "success"]);
    let recovery = step(&result, "WORKER.fix (recovery for s)");
    assert_eq!(recovery.kind, "recovery");
    assert_eq!(recovery.outcome, StepOutcome::Success);
    // attempt 1 fails at 2s, the fix runs 2s–5s, attempt 2 starts at 5s.
    assert_eq!((recovery.started_ms, recovery.duration_ms), (2 * S, 3 * S));
    assert_eq!(s.attempts[1].started_ms, 5 * S);
    let spawns: Vec<(u64, Option<&str>)> = result
        .events
        .iter()
        .filter(|e| e.kind == EventKind::Spawn)
        .map(|e| (e.at_ms, e.step.as_deref()))
        .collect();
    assert_eq!(
        spawns,
        [
            (0, Some("s")),
            (2 * S, Some("WORKER.fix")),
            (5 * S, Some("s"))
        ]
    );
    assert_eq!(result.duration_ms, 9 * S);
}

#[test]
fn a_failed_recovery_fails_the_step() {
    let scenario = r#"
[task."WORKER.recover"]
outcome = "failure"
kind = "rejected"
message = "non-fast-forward"
[task."WORKER.fix"]
outcome = "failure"
"#;
    let result = fixture("retries").run("RETRY:RECOVER", &[], scenario);
    assert_eq!(result.status, RunStatus::Failed);
    let s = step(&result, "s");
    assert_eq!(s.attempts.len(), 1, "no retry after a failed recovery");
    assert_eq!(
        failure_message(s),
        "non-fast-forward (recovery WORKER.fix failed)"
    );
}

#[test]
fn handler_retries_follow_the_policy_count_whatever_its_kinds() {
    let scenario = r#"
[task."WORKER.handler_budget"]
outcome = "failure"
kind = "rejected"
"#;
    let result = fixture("retries").run("RETRY:HANDLER_BUDGET", &[], scenario);
    // `retry 1 on [network]`: the handler's retry of `rejected` uses that 1.
    assert_eq!(step(&result, "s").attempts.len(), 2);
    assert_eq!(result.summary, "s gave up after 2 attempts (rejected)");
}

#[test]
fn a_retry_handler_without_a_policy_still_retries_once() {
    let scenario = r#"
[task."WORKER.recover"]
outcome = "failure"
kind = "rejected"
"#;
    let result = fixture("retries").run("RETRY:RECOVER", &[], scenario);
    assert_eq!(step(&result, "s").attempts.len(), 2);
    assert_eq!(result.status, RunStatus::Failed);
}

#[test]
fn continue_handles_the_failure_and_goes_on() {
    let scenario = r#"
[task."WORKER.next"]
latency = "2s"
outcome = "failure"
kind = "rejected"
[task."WORKER.count"]
latency = "3s"
outputs = { value = "second" }
"#;
    let result = fixture("retries").run("RETRY:CONTINUE", &[], scenario);
    assert_eq!(result.status, RunStatus::Complete);
    assert_eq!(result.summary, "went on");
    let s = step(&result, "s");
    assert_eq!(failure_kind(s), "rejected");
    assert!(s.outputs.is_empty());
    assert_eq!(step(&result, "t").started_ms, 2 * S);
    assert_eq!(result.payload["first"], Value::Null);
    assert_eq!(result.payload["second"], json!("second"));
}

#[test]
fn exhausted_handler_runs_after_the_retries_are_used_up() {
    let scenario = r#"
[task."WORKER.exhaust"]
outcome = "failure"
kind = "conflict"
message = "CHANGELOG.md changed on both sides"
"#;
    let result = fixture("retries").run("RETRY:EXHAUSTED", &[], scenario);
    assert_eq!(result.status, RunStatus::Escalated);
    assert_eq!(step(&result, "s").attempts.len(), 3);
    let e = result.escalation.as_ref().unwrap();
    assert_eq!(e.kind, "Conflict");
    assert_eq!(
        e.title,
        "Conflict unresolved after 3 attempts: CHANGELOG.md changed on both sides"
    );
}

#[test]
fn a_failure_outside_groups_goes_to_the_top_level_rules() {
    let scenario = r#"
[task."WORKER.unavailable"]
latency = "7s"
outcome = "failure"
kind = "unavailable"
message = "GitHub API 503"
"#;
    let result = fixture("retries").run("RETRY:RULE", &[], scenario);
    assert_eq!(result.status, RunStatus::Escalated);
    let e = result.escalation.as_ref().unwrap();
    assert_eq!(e.kind, "Resource");
    assert_eq!(e.title, "External dependency unavailable: GitHub API 503");
    assert_eq!(e.recommended, "Retry when it is back");
    assert_eq!(e.reports_to, "ORCHESTRATOR");
    assert_eq!(e.timestamp, "2026-01-01T00:00:07Z");
    assert!(e.partial_results.is_empty());
    assert_eq!(
        times(&result, EventKind::Escalate, None),
        [7 * S],
        "ESCALATE at the failure"
    );
}

#[test]
fn a_failure_nobody_handles_fails_the_run() {
    let scenario = r#"
[task."WORKER.unretried"]
outcome = "failure"
kind = "boom"
message = "it broke"
"#;
    let result = fixture("retries").run("RETRY:UNHANDLED", &[], scenario);
    assert_eq!(result.status, RunStatus::Failed);
    assert_eq!(result.summary, "step `s` failed: boom: it broke");
    assert_eq!(names(&result), ["s"], "`t` never runs");
    assert_eq!(
        events(&result, EventKind::Failure, Some("s")),
        [(0, "boom: it broke".to_string())]
    );
}

// ── quality checks ──────────────────────────────────────────────────────────

#[test]
fn a_false_check_turns_success_into_a_quality_check_failure() {
    let scenario = r#"
[task."WRITER.commit"]
outputs = { message = "swap auto-matching", tests_passed = true }
"#;
    let result = fixture("checks").run("CHECK:COMMIT", &[], scenario);
    assert_eq!(result.status, RunStatus::Failed);
    let c = step(&result, "c");
    assert_eq!(failure_kind(c), "quality_check");
    assert_eq!(
        failure_message(c),
        "check `commit_format` failed: Conventional commit message"
    );
    assert_eq!(attempt_outcomes(c), ["failure"]);
    assert!(c.outputs.is_empty());
}

#[test]
fn agent_checks_apply_to_every_task() {
    let scenario = r#"
[task."WRITER.commit"]
outputs = { message = "feat: x", tests_passed = true, secrets_found = true }
"#;
    let result = fixture("checks").run("CHECK:COMMIT", &[], scenario);
    assert_eq!(
        failure_message(step(&result, "c")),
        "check `no_secrets` failed: No secrets in the diff"
    );
}

#[test]
fn simulated_outputs_fill_the_fields_checks_read() {
    let fx = fixture("checks");
    // The scenario gives only `message`: the simulated agent answers values
    // that pass the checks for the other fields they read (an agent that
    // really sends no `tests_passed` fails the check: tests/outputs_runtime.rs).
    let scenario = r#"
[task."WRITER.commit"]
outputs = { message = "feat: x" }
"#;
    let result = fx.run("CHECK:COMMIT", &[], scenario);
    assert_eq!(result.status, RunStatus::Complete);
    let c = step(&result, "c");
    assert_eq!(c.outcome, StepOutcome::Success);
    assert_eq!(c.outputs["tests_passed"], json!(true));
    // A placeholder string: `not` of it is unknown, not false.
    assert_eq!(c.outputs["secrets_found"], json!("commit-secrets_found-1"));
    assert_eq!(result.payload["message"], json!("feat: x"));

    // `false or true` is true.
    let scenario = r#"
[task."WRITER.commit"]
outputs = { message = "feat: x", tests_passed = false, skipped_tests = true, secrets_found = false }
"#;
    let result = fx.run("CHECK:COMMIT", &[], scenario);
    assert_eq!(step(&result, "c").outcome, StepOutcome::Success);

    // `false or false` is false.
    let scenario = r#"
[task."WRITER.commit"]
outputs = { message = "feat: x", tests_passed = false, skipped_tests = false }
"#;
    let result = fx.run("CHECK:COMMIT", &[], scenario);
    assert_eq!(
        failure_message(step(&result, "c")),
        "check `tests_pass` failed: Tests pass"
    );
}

#[test]
fn quality_check_failures_are_retried_when_listed() {
    let scenario = r#"
[task."WRITER.retried"]
attempts = [
  { outputs = { tests_passed = false } },
  { latency = "2s", outputs = { tests_passed = true } },
]
"#;
    let result = fixture("checks").run("CHECK:RETRIED", &[], scenario);
    assert_eq!(result.status, RunStatus::Complete);
    let c = step(&result, "c");
    assert_eq!(attempt_outcomes(c), ["failure", "success"]);
    assert_eq!(c.attempts[0].kind.as_deref(), Some("quality_check"));
}

// ── approvals ───────────────────────────────────────────────────────────────

#[test]
fn a_granted_approval_goes_on_and_is_bound() {
    let scenario = r#"
[approval]
release_ok = "granted"
"#;
    let result = fixture("approvals").run("APPROVE:HANDLED", &[], scenario);
    assert_eq!(result.status, RunStatus::Complete);
    let a = step(&result, "release_ok");
    assert_eq!(a.kind, "approval");
    assert_eq!(a.outcome, StepOutcome::Success);
    assert_eq!(a.attempts[0].outcome, "granted");
    assert_eq!(result.payload["decision"], json!("granted"));
    let approvals = events(&result, EventKind::Approval, Some("release_ok"));
    assert_eq!(
        approvals,
        [
            (0, "requested: Publish 1.0.0? (timeout 1d)".to_string()),
            (0, "granted after 0s".to_string()),
        ]
    );
    assert_eq!(
        events(&result, EventKind::Handoff, Some("PUBLISHER.publish")).len(),
        1
    );
}

#[test]
fn a_denied_approval_runs_its_on_denied_handler() {
    let scenario = r#"
[approval]
release_ok = "denied"
"#;
    let result = fixture("approvals").run("APPROVE:HANDLED", &[("version", "2.0.0")], scenario);
    assert_eq!(result.status, RunStatus::Failed);
    assert_eq!(result.summary, "Release 2.0.0 was not approved");
    let a = step(&result, "release_ok");
    assert_eq!(failure_kind(a), "denied");
    assert_eq!(names(&result), ["release_ok"], "nothing is published");
}

#[test]
fn an_approval_that_never_comes_times_out_into_on_timeout() {
    let scenario = r#"
[approval]
release_ok = "never"
"#;
    let started = std::time::Instant::now();
    let result = fixture("approvals").run("APPROVE:HANDLED", &[], scenario);
    // A hang guard (>= 10 s, the suite's floor on a loaded machine), far
    // below the 24h a real clock would take.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "24h of virtual time cost no real time"
    );
    assert_eq!(result.status, RunStatus::Escalated);
    assert_eq!(result.duration_ms, 24 * 60 * M);
    let e = result.escalation.as_ref().unwrap();
    assert_eq!(e.kind, "Resource");
    assert_eq!(e.title, "No decision on 1.0.0 within 24h");
    assert_eq!(e.timestamp, "2026-01-02T00:00:00Z");
    assert_eq!(step(&result, "release_ok").outcome, StepOutcome::Timeout);
}

#[test]
fn a_denial_without_a_handler_goes_to_the_rules() {
    let scenario = r#"
[approval]
go_ahead = "denied"
"#;
    let result = fixture("approvals").run("APPROVE:BARE", &[], scenario);
    assert_eq!(result.status, RunStatus::Escalated);
    assert_eq!(
        escalation_title(&result),
        "Denied without a handler: go_ahead"
    );
}

#[test]
fn an_approval_without_a_timeout_uses_the_coordinators() {
    let scenario = r#"
[approval]
go_ahead = "never"
"#;
    let result = fixture("approvals").run("APPROVE:BARE", &[], scenario);
    // No `on timeout` handler or rule: the run fails.
    assert_eq!(result.status, RunStatus::Failed);
    assert_eq!(result.duration_ms, 5 * M);
    assert_eq!(result.summary, "approval `go_ahead`: no decision within 5m");
}

// ── interrupts ──────────────────────────────────────────────────────────────

#[test]
fn an_interrupt_keeps_finished_steps_and_records_in_flight_ones_as_aborted() {
    let scenario = r#"
interrupt_after = "8s"
[task."MAKER.first"]
latency = "5s"
outputs = { value = "A" }
[task."MAKER.second"]
latency = "10s"
"#;
    let result = fixture("workflows").run("FLOW:PIPELINE", &[], scenario);
    assert_eq!(result.status, RunStatus::Aborted);
    assert_eq!(result.duration_ms, 8 * S);
    assert_eq!(names(&result), ["a", "b"]);
    let a = step(&result, "a");
    assert_eq!(a.outcome, StepOutcome::Success);
    assert_eq!(a.outputs["value"], json!("A"));
    let b = step(&result, "b");
    assert!(matches!(b.outcome, StepOutcome::Aborted { .. }), "{b:?}");
    assert_eq!((b.started_ms, b.duration_ms), (5 * S, 3 * S));
    assert_eq!(times(&result, EventKind::Abort, Some("b")), [8 * S]);
    assert!(result.payload.is_empty());
}

#[test]
fn an_interrupt_during_a_group_aborts_every_running_branch() {
    let scenario = r#"
interrupt_after = "15s"
[task."ALPHA.work"]
latency = "10s"
[task."BETA.work"]
latency = "20s"
[task."GAMMA.work"]
latency = "30s"
"#;
    let result = fixture("concurrency").run("RUN:SPREAD", &[], scenario);
    assert_eq!(result.status, RunStatus::Aborted);
    assert_eq!(result.duration_ms, 15 * S);
    assert_eq!(step(&result, "a").outcome, StepOutcome::Success);
    for name in ["b", "c"] {
        let s = step(&result, name);
        assert!(matches!(s.outcome, StepOutcome::Aborted { .. }), "{s:?}");
        assert_eq!(s.duration_ms, 15 * S);
    }
    assert!(result.gates.is_empty(), "the gate was never decided");
}

// ── determinism ─────────────────────────────────────────────────────────────

#[test]
fn the_same_run_gives_the_same_result() {
    let fx = fixture("gates");
    let scenario = r#"
[task."GAMMA.audit"]
latency = "1m"
outcome = "failure"
[task."ALPHA.audit"]
latency = "3m"
[task."BETA.audit"]
latency = "6m"
"#;
    let first = fx.run("GATE:EARLY", &[], scenario);
    let second = fx.run("GATE:EARLY", &[], scenario);
    assert_eq!(first, second);
}

// ── regressions: behaviour fixed after the first review ─────────────────────

#[test]
fn a_failing_compound_branch_counts_against_the_gate() {
    let f = fixture("gates");
    let result = f.run(
        "GATE:BLOCK",
        &[],
        r#"[task."ALPHA.audit"]
outcome = "failure"
kind = "unavailable""#,
    );
    // 2/3 = 67% passes the 50% gate; the failure does not reach the rules.
    assert_eq!(result.status, RunStatus::Partial);
    assert_eq!(result.gates[0].line(), "PASSED (2/3 = 66.7% ≥ 50%)");
    assert!(result.escalation.is_none());
}

#[test]
fn a_recovery_runs_once_per_retry_and_not_after_the_last_attempt() {
    let f = fixture("retries");
    let result = f.run(
        "RETRY:RECOVER",
        &[],
        r#"[task."WORKER.recover"]
outcome = "failure"
kind = "rejected""#,
    );
    let retries = events(&result, EventKind::Retry, Some("s")).len();
    let fixes = result.steps.iter().filter(|s| s.kind == "recovery").count();
    assert!(retries > 0);
    assert_eq!(
        fixes, retries,
        "one recovery before each retry, none after the last attempt"
    );
}

#[test]
fn at_a_0_percent_gate_skippable_branches_are_not_decided_early() {
    let result = fixture("regressions").run("REG:ZERO_GATE", &[], "");
    let gate = &result.gates[0];
    assert_eq!(
        (gate.skipped, gate.counted, gate.decided_at.as_deref()),
        (2, 0, None)
    );
    assert!(!gate.passed, "zero counted branches fail, even at 0%");
    assert!(result
        .steps
        .iter()
        .all(|s| s.outcome == StepOutcome::Skipped));
}

#[test]
fn skipped_run_and_approve_steps_are_recorded() {
    let result = fixture("regressions").run("REG:SKIPS", &[], "");
    assert_eq!(result.status, RunStatus::Complete);
    assert_eq!(step(&result, "r").outcome, StepOutcome::Skipped);
    assert_eq!(step(&result, "r").kind, "workflow");
    assert_eq!(step(&result, "ok").outcome, StepOutcome::Skipped);
    assert_eq!(step(&result, "ok").kind, "approval");
}

#[test]
fn an_approval_waiting_at_an_interrupt_is_recorded_as_aborted() {
    let f = fixture("approvals");
    let result = f.run(
        "APPROVE:HANDLED",
        &[("version", "1.0.0")],
        "interrupt_after = \"1h\"\n[approval]\nrelease_ok = \"never\"",
    );
    assert_eq!(result.status, RunStatus::Aborted);
    assert!(matches!(
        step(&result, "release_ok").outcome,
        StepOutcome::Aborted { .. }
    ));
    assert_eq!(
        events(&result, EventKind::Abort, Some("release_ok")).len(),
        1
    );
}

#[test]
fn a_step_cut_off_by_its_workflow_timeout_is_a_timeout() {
    let f = fixture("timeouts");
    let result = f.run(
        "TIME:WORKFLOW",
        &[],
        "[task.\"UNTIMED.plain\"]\nlatency = \"20s\"\n[task.\"TIMED.without_own\"]\nlatency = \"44s\"",
    );
    assert_eq!(step(&result, "second").outcome, StepOutcome::Timeout);
}

#[test]
fn an_attempt_starts_when_it_gets_its_agent_slot() {
    let f = fixture("concurrency");
    let result = f.run("RUN:SOLO", &[], "[task.\"SOLO.work\"]\nlatency = \"10s\"");
    let mut attempts: Vec<(u64, u64)> = result
        .steps
        .iter()
        .flat_map(|s| s.attempts.iter().map(|a| (a.started_ms, a.duration_ms)))
        .collect();
    attempts.sort_unstable();
    assert_eq!(
        attempts,
        vec![(0, 10 * S), (10 * S, 10 * S), (20 * S, 10 * S)]
    );
}

#[test]
fn placeholder_outputs_are_named_after_the_task_not_a_binding() {
    let result = fixture("workflows").run("FLOW:PIPELINE", &[], "");
    assert_eq!(result.payload["first"], json!("first-value-1"));
}
