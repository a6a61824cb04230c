//! Run limits (`coordops::runtime::limits`): past one, a run ends FAILED
//! with its `ops::run::*` code instead of growing without bound. Small
//! limits keep the tests fast; the defaults are documented in
//! docs/language.md §14.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;

use coordops::diagnostics::codes;
use coordops::runtime::limits::Limits;
use coordops::runtime::result::{RunResult, RunStatus, StepOutcome};
use coordops::runtime::simulated::{Scenario, SimulatedBackend};
use coordops::runtime::{context, run_limited, RunRequest};
use coordops::source::SourceFile;
use coordops::testing::generate;

fn run(text: &str, sets: &[(&str, String)], limits: Limits) -> RunResult {
    let file = SourceFile::new("limits.ops", text.to_string());
    let playbook = coordops::syntax::parse(&file)
        .playbook
        .expect("the playbook parses");
    let sets: Vec<(String, String)> = sets
        .iter()
        .map(|(k, v)| ((*k).to_string(), v.clone()))
        .collect();
    let context = context::build(&playbook, "GEN:GO", &sets).expect("context builds");
    let request = RunRequest {
        playbook: &playbook,
        source: Some(&file),
        signal: "GEN:GO".to_string(),
        context,
        run_id: "limits".to_string(),
        now: SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600),
    };
    // A latency keeps every branch of a group running at once.
    let scenario = Scenario::parse("[task.\"A.t\"]\nlatency = \"1s\"\n").expect("scenario");
    let backend = Arc::new(SimulatedBackend::new(&playbook, scenario));
    let runtime = crate::support::virtual_time();
    runtime.block_on(run_limited(
        request,
        backend,
        CancellationToken::new(),
        None,
        limits,
    ))
}

fn list(n: usize) -> String {
    generate::items(n).to_string()
}

fn small() -> Limits {
    Limits {
        max_elements: 10,
        max_steps: 25,
        max_branches: 30,
    }
}

fn failed_with(result: &RunResult, code: &str) {
    assert_eq!(result.status, RunStatus::Failed, "{}", result.summary);
    assert!(
        result.summary.contains(code),
        "the summary names {code}: {}",
        result.summary
    );
}

#[test]
fn a_parallel_for_at_the_limit_runs_and_one_past_it_fails() {
    let at = run(&generate::parallel_for(), &[("items", list(10))], small());
    assert_ne!(at.status, RunStatus::Failed, "{}", at.summary);
    let past = run(&generate::parallel_for(), &[("items", list(11))], small());
    failed_with(&past, codes::RUN_TOO_MANY_ELEMENTS);
    // Refused before any branch started.
    assert!(past.steps.is_empty());
}

#[test]
fn a_long_pipeline_stops_at_the_step_limit() {
    let result = run(&generate::sequential_workflow(40), &[], small());
    failed_with(&result, codes::RUN_TOO_MANY_STEPS);
    // The steps before the limit are kept, and no more.
    assert_eq!(result.steps.len(), 25);
    assert!(result
        .steps
        .iter()
        .all(|s| s.outcome == StepOutcome::Success));
}

#[test]
fn nested_fan_outs_stop_at_the_branch_limit() {
    // 5 outer branches of 5 inner ones: 5 + 25 = 30 alive at most.
    let ok = run(
        &generate::nested_fan_out(),
        &[("outer", list(5)), ("inner", list(5))],
        small(),
    );
    assert_ne!(ok.status, RunStatus::Failed, "{}", ok.summary);
    // 5 outer branches of 6 inner ones: 5 + 30 = 35 > 30.
    let wide = run(
        &generate::nested_fan_out(),
        &[("outer", list(5)), ("inner", list(6))],
        Limits {
            max_steps: 1000,
            ..small()
        },
    );
    failed_with(&wide, codes::RUN_FAN_OUT_TOO_WIDE);
}

#[test]
fn default_limits_leave_the_seed_sizes_alone() {
    let d = Limits::default();
    assert!(d.max_elements >= 100_000 && d.max_branches >= 100_000);
    assert!(d.max_steps >= 100_000);
}
