//! Dry runs of `playbooks/coord_ops.ops`: every signal under the default
//! scenario and every scenario in `tests/fixtures/scenarios/`, snapshotted as
//! Markdown and JSON reports, with the key facts asserted explicitly.
//!
//! Runs go through the library exactly as `coordops dry-run` does (same run
//! id, same start time, a paused current-thread runtime), so the snapshots
//! are byte for byte what the command prints.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use crate::support::root;
use coordops::runtime::result::{EventKind, RunResult, RunStatus, StepOutcome, StepRecord};
use coordops::runtime::simulated::{Scenario, SimulatedBackend};
use coordops::runtime::{context, run, RunRequest};

/// The CLI's default `--now`: every report starts at this time.
const NOW: &str = "2026-01-01T00:00:00Z";
const S: u64 = 1000;
const M: u64 = 60 * S;

fn scenarios_dir() -> PathBuf {
    root().join("tests/fixtures/scenarios")
}

/// A finished dry run and its two reports.
struct DryRun {
    result: RunResult,
    md: String,
    json: String,
}

/// Runs `signal` through `playbooks/coord_ops.ops` as `coordops dry-run`
/// would: `--set` pairs, an optional scenario file, virtual time from `NOW`.
fn dry_run(signal: &str, sets: &[(&str, &str)], scenario: Option<&str>) -> DryRun {
    let file = coordops::source::load(&root().join("playbooks/coord_ops.ops")).expect("loads");
    let playbook = coordops::syntax::parse(&file).playbook.expect("parses");
    let sets: Vec<(String, String)> = sets
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
    let context = context::build(&playbook, signal, &sets).expect("context");
    let scenario = match scenario {
        Some(name) => {
            let path = scenarios_dir().join(name);
            let text = std::fs::read_to_string(&path).expect("scenario file");
            let scenario = Scenario::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            let unknown = scenario.unknown_names(&playbook);
            assert!(unknown.is_empty(), "{name} names unknown {unknown:?}");
            scenario
        }
        None => Scenario::default(),
    };
    let interrupt = scenario.interrupt_after_ms();
    let backend = Arc::new(SimulatedBackend::new(&playbook, scenario));
    let now: SystemTime = humantime::parse_rfc3339(NOW).expect("time");
    let request = RunRequest {
        playbook: &playbook,
        source: Some(&file),
        signal: signal.to_string(),
        context,
        run_id: format!("dry-run-{}", signal.replace(':', "-").to_lowercase()),
        now,
    };
    let runtime = crate::support::virtual_time();
    let cancel = CancellationToken::new();
    let result = runtime.block_on(async {
        if let Some(ms) = interrupt {
            let cancel = cancel.clone();
            tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
                cancel.cancel();
            });
        }
        run(request, backend, cancel.clone()).await
    });
    let agents: Vec<String> = playbook.agents().map(|a| a.name.name.clone()).collect();
    let md = coordops::report::render_markdown(&result, &agents);
    let json = coordops::report::render_json(&result);
    DryRun { result, md, json }
}

/// Snapshots both reports as `NAME.md` and `NAME.json`, and checks that the
/// JSON is the result, re-readable.
fn snapshot(name: &str, run: &DryRun) {
    let parsed: Value = serde_json::from_str(&run.json).expect("valid JSON");
    assert_eq!(parsed, serde_json::to_value(&run.result).unwrap());
    insta::assert_snapshot!(format!("{name}.md"), run.md);
    insta::assert_snapshot!(format!("{name}.json"), run.json);
}

fn step<'r>(result: &'r RunResult, name: &str) -> &'r StepRecord {
    let found: Vec<&StepRecord> = result.steps.iter().filter(|s| s.name == name).collect();
    assert_eq!(found.len(), 1, "one step `{name}` in {:?}", result.steps);
    found[0]
}

fn route_label(result: &RunResult) -> Option<&str> {
    result.route.as_ref().and_then(|r| r.label.as_deref())
}

fn has_line(md: &str, line: &str) {
    assert!(
        md.lines().any(|l| l == line),
        "missing line {line:?} in:\n{md}"
    );
}

// ── every signal, default scenario (every task succeeds at once) ────────────

#[test]
fn ops_commit() {
    let run = dry_run("OPS:COMMIT", &[], None);
    assert_eq!(run.result.status, RunStatus::Complete);
    assert_eq!(route_label(&run.result), Some("commit"));
    let steps: Vec<&str> = run.result.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(steps, ["commit", "push", "pr"]);
    has_line(&run.md, "PASSED (3/3 = 100% ≥ 80%)");
    snapshot("ops_commit", &run);
}

#[test]
fn ops_commit_simple_takes_the_fast_path() {
    let run = dry_run("OPS:COMMIT", &[("simple", "true")], None);
    assert_eq!(run.result.status, RunStatus::Complete);
    assert_eq!(route_label(&run.result), Some("quick_commit"));
    assert_eq!(
        run.result.route.as_ref().unwrap().target,
        "task RELEASE_MANAGER.commit"
    );
    assert_eq!(run.result.steps.len(), 1);
    has_line(
        &run.md,
        "**Route:** `quick_commit`: OPS:COMMIT => task RELEASE_MANAGER.commit",
    );
    snapshot("ops_commit_simple", &run);
}

#[test]
fn ops_commit_user_facing_with_placeholder_outputs() {
    // `changelog.modified` is a declared bool: its default is `true`, so the
    // CHANGELOG commit's guard holds and it runs.
    let run = dry_run("OPS:COMMIT", &[("user_facing", "true")], None);
    assert_eq!(run.result.status, RunStatus::Complete);
    assert_eq!(
        step(&run.result, "RELEASE_MANAGER.commit").outcome,
        StepOutcome::Success
    );
    assert_eq!(
        step(&run.result, "changelog").outputs["modified"],
        json!(true)
    );
    snapshot("ops_commit_user_facing", &run);
}

#[test]
fn ops_pr() {
    let run = dry_run("OPS:PR", &[], None);
    assert_eq!(run.result.status, RunStatus::Complete);
    assert_eq!(run.result.payload["pr_url"], json!("pr-url-1"));
    snapshot("ops_pr", &run);
}

#[test]
fn ops_release() {
    let run = dry_run("OPS:RELEASE", &[("version", "1.4.0")], None);
    assert_eq!(run.result.status, RunStatus::Complete);
    assert_eq!(run.result.summary, "Release 1.4.0 tagged and published.");
    assert_eq!(run.result.gates.len(), 1);
    has_line(&run.md, "PASSED (2/2 succeeded ≥ 2 required)");
    snapshot("ops_release", &run);
}

#[test]
fn ops_docs() {
    let run = dry_run("OPS:DOCS", &[], None);
    assert_eq!(run.result.status, RunStatus::Complete);
    assert_eq!(run.result.context["topic"], json!("CLAUDE.md"));
    snapshot("ops_docs", &run);
}

#[test]
fn ops_skill() {
    let run = dry_run("OPS:SKILL", &[("skill_name", "pre-flight")], None);
    assert_eq!(run.result.status, RunStatus::Complete);
    assert_eq!(run.result.context["skill_name"], json!("pre-flight"));
    // `skill.significant` is a declared bool, `true` by default: the skill is
    // documented, and the docs step hands its files on to the commit.
    let handoffs: Vec<&str> = run
        .result
        .events
        .iter()
        .filter(|e| e.kind == EventKind::Handoff)
        .map(|e| e.detail.as_str())
        .collect();
    assert_eq!(
        handoffs,
        [
            "skill.path, skill.slash_command -> docs",
            "skill.path, skill.name, docs.files -> commit",
            "commit.hash -> push",
            "push.hash -> pr"
        ]
    );
    assert_eq!(step(&run.result, "docs").outcome, StepOutcome::Success);
    // The skill's name is the argument it was called with.
    assert_eq!(
        step(&run.result, "skill").outputs["name"],
        json!("pre-flight")
    );
    snapshot("ops_skill", &run);
}

#[test]
fn ops_agent() {
    let run = dry_run("OPS:AGENT", &[("agent_name", "SECURITY_REVIEWER")], None);
    assert_eq!(run.result.status, RunStatus::Complete);
    assert_eq!(step(&run.result, "architect_review").kind, "approval");
    snapshot("ops_agent", &run);
}

#[test]
fn ops_audit() {
    let run = dry_run("OPS:AUDIT", &[], None);
    assert_eq!(run.result.status, RunStatus::Complete);
    has_line(&run.md, "PASSED (3/3 = 100% ≥ 80%)");
    snapshot("ops_audit", &run);
}

#[test]
fn ops_audit_without_skills_skips_toolsmith() {
    let run = dry_run("OPS:AUDIT", &[("skills", "false")], None);
    assert_eq!(run.result.status, RunStatus::Complete);
    assert_eq!(step(&run.result, "skills").outcome, StepOutcome::Skipped);
    let gate = &run.result.gates[0];
    assert_eq!((gate.skipped, gate.counted, gate.total), (1, 2, 3));
    has_line(&run.md, "PASSED (2/2 = 100% ≥ 80%)");
    has_line(&run.md, "**Quality Gate:** PASSED (2/2 = 100% ≥ 80%)");
    has_line(&run.md, "| TOOLSMITH | SKIPPED | - | Guard was false |");
    has_line(&run.md, "**Agents Spawned:** 2");
    snapshot("ops_audit_no_skills", &run);
}

#[test]
fn ops_synthesize() {
    let run = dry_run("OPS:SYNTHESIZE", &[], None);
    assert_eq!(run.result.status, RunStatus::Complete);
    assert!(run.result.steps.is_empty());
    has_line(&run.md, "N/A (no agent ran)");
    snapshot("ops_synthesize", &run);
}

#[test]
fn ops_pr_status_takes_the_fast_path() {
    let run = dry_run("OPS:PR_STATUS", &[("pr_number", "42")], None);
    assert_eq!(run.result.status, RunStatus::Complete);
    assert_eq!(route_label(&run.result), Some("pr_status"));
    assert_eq!(run.result.context["pr_number"], json!(42));
    snapshot("ops_pr_status", &run);
}

#[test]
fn an_ops_signal_without_a_workflow_escalates_a_boundary() {
    let run = dry_run("OPS:DEPLOY", &[], None);
    assert_eq!(run.result.status, RunStatus::Escalated);
    assert_eq!(route_label(&run.result), Some("unknown_ops"));
    let e = run.result.escalation.as_ref().unwrap();
    assert_eq!(e.kind, "Boundary");
    assert_eq!(e.title, "No operations rule for OPS:DEPLOY");
    snapshot("ops_deploy_unknown", &run);
}

#[test]
fn another_domain_is_ignored() {
    let run = dry_run("SCHED:SWAP", &[], None);
    assert_eq!(run.result.status, RunStatus::Ignored);
    assert_eq!(route_label(&run.result), Some("other_domains"));
    assert!(run.result.steps.is_empty());
    has_line(&run.md, "**Status:** IGNORED");
    assert!(!run.md.contains("## Ops Quality Report"));
    snapshot("sched_swap_ignored", &run);
}

// ── every scenario file ─────────────────────────────────────────────────────

/// `--set` values, as `(key, value)` pairs.
type Sets = &'static [(&'static str, &'static str)];

/// Each scenario file with the signal and `--set` values it is written for.
const SCENARIOS: &[(&str, &str, Sets)] = &[
    ("abort_mid_pipeline", "OPS:COMMIT", &[]),
    ("audit_failure_first", "OPS:AUDIT", &[]),
    ("audit_interrupted", "OPS:AUDIT", &[]),
    ("audit_one_agent_fails", "OPS:AUDIT", &[]),
    (
        "changelog_commit_rejected",
        "OPS:COMMIT",
        &[("user_facing", "true")],
    ),
    ("commit_bad_message", "OPS:COMMIT", &[]),
    ("commit_times_out_always", "OPS:COMMIT", &[]),
    ("commit_times_out_twice", "OPS:COMMIT", &[]),
    (
        "commit_user_facing",
        "OPS:COMMIT",
        &[("user_facing", "true")],
    ),
    (
        "pr_status_unavailable",
        "OPS:PR_STATUS",
        &[("pr_number", "42")],
    ),
    ("push_conflict_exhausted", "OPS:COMMIT", &[]),
    ("push_rejected_then_fetch", "OPS:COMMIT", &[]),
    (
        "release_approval_never",
        "OPS:RELEASE",
        &[("version", "1.4.0")],
    ),
    ("release_denied", "OPS:RELEASE", &[("version", "1.4.0")]),
    ("release_not_ready", "OPS:RELEASE", &[("version", "1.4.0")]),
];

fn scenario(name: &str) -> DryRun {
    let (_, signal, sets) = SCENARIOS
        .iter()
        .find(|(n, _, _)| *n == name)
        .unwrap_or_else(|| panic!("{name} is not in SCENARIOS"));
    dry_run(signal, sets, Some(&format!("{name}.toml")))
}

#[test]
fn every_scenario_file_is_run_and_snapshotted() {
    let mut files: Vec<String> = std::fs::read_dir(scenarios_dir())
        .expect("scenarios dir")
        .filter_map(|e| {
            let path = e.ok()?.path();
            if path.extension()? != "toml" {
                return None;
            }
            path.file_stem()?.to_str().map(String::from)
        })
        .collect();
    files.sort();
    let listed: Vec<String> = SCENARIOS.iter().map(|(n, _, _)| (*n).to_string()).collect();
    assert_eq!(files, listed, "list every scenario file in SCENARIOS");
    for (name, _, _) in SCENARIOS {
        snapshot(&format!("scenario_{name}"), &scenario(name));
    }
}

#[test]
fn audit_one_agent_fails_fails_the_gate_and_escalates() {
    let run = scenario("audit_one_agent_fails");
    assert_eq!(run.result.status, RunStatus::Escalated);
    has_line(&run.md, "FAILED (2/3 = 66.7% < 80%)");
    has_line(&run.md, "**Quality Gate:** FAILED (2/3 = 66.7% < 80%)");
    has_line(&run.md, "**Type:** QualityGate");
    let gate = &run.result.gates[0];
    assert_eq!(
        (gate.successes, gate.failures, gate.decided_at.as_deref()),
        (2, 1, None)
    );
    let e = run.result.escalation.as_ref().unwrap();
    assert_eq!(e.title, "Quality gate failed: 2/3 agents succeeded");
    // Both successful audits are still reported.
    assert_eq!(e.partial_results.len(), 2);
    assert_eq!(run.result.duration_ms, 4 * M + 30 * S);
}

#[test]
fn audit_failure_first_still_waits_for_the_slower_audits() {
    let run = scenario("audit_failure_first");
    assert_eq!(run.result.status, RunStatus::Escalated);
    assert_eq!(run.result.gates[0].decided_at, None);
    has_line(&run.md, "FAILED (2/3 = 66.7% < 80%)");
    for name in ["git", "docs"] {
        assert_eq!(step(&run.result, name).outcome, StepOutcome::Success);
    }
    // Both audits that succeeded are in the partial results.
    let e = run.result.escalation.as_ref().unwrap();
    assert_eq!(e.partial_results.len(), 2);
    assert_eq!(run.result.duration_ms, 6 * M);
}

#[test]
fn commit_times_out_twice_retries_with_backoff() {
    let run = scenario("commit_times_out_twice");
    assert_eq!(run.result.status, RunStatus::Complete);
    let commit = step(&run.result, "commit");
    let starts: Vec<u64> = commit.attempts.iter().map(|a| a.started_ms).collect();
    assert_eq!(starts, [0, 32 * S, M + 6 * S], "0s, 32s, 1m6s");
    let outcomes: Vec<&str> = commit.attempts.iter().map(|a| a.outcome.as_str()).collect();
    assert_eq!(outcomes, ["timeout", "timeout", "success"]);
    assert_eq!(commit.duration_ms, M + 18 * S, "success at 1m18s");
    for line in [
        "| +0s | SPAWN | commit | RELEASE_MANAGER.commit attempt 1 (timeout 30s) |",
        "| +30s | TIMEOUT | commit | no answer within 30s |",
        "| +30s | RETRY | commit | attempt 1 failed (timeout); retry 1 of 3 in 2s |",
        "| +32s | SPAWN | commit | RELEASE_MANAGER.commit attempt 2 (timeout 30s) |",
        "| +1m 2s | RETRY | commit | attempt 2 failed (timeout); retry 2 of 3 in 4s |",
        "| +1m 6s | SPAWN | commit | RELEASE_MANAGER.commit attempt 3 (timeout 30s) |",
        "| +1m 18s | HANDOFF | push | commit.hash -> push |",
        "- RELEASE_MANAGER: commit (3 attempts) + push + pr (1m 18s + 0s + 20s)",
    ] {
        has_line(&run.md, line);
    }
    assert_eq!(run.result.duration_ms, M + 38 * S);
}

#[test]
fn push_rejected_then_fetch_fetches_between_push_attempts() {
    let run = scenario("push_rejected_then_fetch");
    assert_eq!(run.result.status, RunStatus::Complete);
    let push = step(&run.result, "push");
    assert_eq!(push.attempts.len(), 2);
    assert_eq!(push.attempts[0].kind.as_deref(), Some("rejected"));
    let fetch = step(&run.result, "RELEASE_MANAGER.fetch (recovery for push)");
    assert_eq!(fetch.kind, "recovery");
    assert_eq!(fetch.outcome, StepOutcome::Success);
    let first_end = push.attempts[0].started_ms + push.attempts[0].duration_ms;
    assert_eq!((first_end, fetch.started_ms), (12 * S, 12 * S));
    let fetch_end = fetch.started_ms + fetch.duration_ms;
    assert!(fetch_end <= push.attempts[1].started_ms);
    assert_eq!(push.attempts[1].started_ms, 20 * S, "after the 2s backoff");
    let spawned: Vec<&str> = run
        .result
        .events
        .iter()
        .filter(|e| e.kind == EventKind::Spawn)
        .filter_map(|e| e.step.as_deref())
        .collect();
    assert_eq!(
        spawned,
        ["commit", "push", "RELEASE_MANAGER.fetch", "push", "pr"]
    );
}

#[test]
fn abort_mid_pipeline_keeps_commit_and_push() {
    let run = scenario("abort_mid_pipeline");
    assert_eq!(run.result.status, RunStatus::Aborted);
    assert_eq!(run.result.duration_ms, 50 * S);
    assert_eq!(step(&run.result, "commit").outcome, StepOutcome::Success);
    assert_eq!(step(&run.result, "push").outcome, StepOutcome::Success);
    let pr = step(&run.result, "pr");
    assert!(matches!(pr.outcome, StepOutcome::Aborted { .. }), "{pr:?}");
    assert_eq!((pr.started_ms, pr.duration_ms), (30 * S, 20 * S));
    has_line(
        &run.md,
        "- RELEASE_MANAGER: commit + push + pr [aborted] (20s + 10s + 20s)",
    );
    has_line(&run.md, "| +50s | ABORT | pr | interrupted |");
    has_line(&run.md, "**Status:** ABORTED");
}

#[test]
fn release_approval_never_escalates_a_resource_after_24h() {
    let run = scenario("release_approval_never");
    assert_eq!(run.result.status, RunStatus::Escalated);
    assert_eq!(run.result.duration_ms, 24 * 60 * M);
    let e = run.result.escalation.as_ref().unwrap();
    assert_eq!(e.kind, "Resource");
    assert_eq!(e.title, "No approval for release 1.4.0 within 24h");
    assert_eq!(e.timestamp, "2026-01-02T00:00:00Z");
    assert_eq!(
        step(&run.result, "release_approval").outcome,
        StepOutcome::Timeout
    );
    has_line(&run.md, "**Type:** Resource");
    has_line(&run.md, "**Timestamp:** 2026-01-02 00:00:00");
    has_line(
        &run.md,
        "| +24h | APPROVAL | release_approval | no decision after 1d |",
    );
    // Nothing after the approval ran.
    assert!(run
        .result
        .steps
        .iter()
        .all(|s| s.task.as_deref() != Some("push_tag")));
}

#[test]
fn push_conflict_exhausted_escalates_a_conflict_after_four_attempts() {
    let run = scenario("push_conflict_exhausted");
    assert_eq!(run.result.status, RunStatus::Escalated);
    let push = step(&run.result, "push");
    let starts: Vec<u64> = push.attempts.iter().map(|a| a.started_ms).collect();
    assert_eq!(starts, [8 * S, 13 * S, 20 * S, 31 * S], "2s, 4s, 8s apart");
    let e = run.result.escalation.as_ref().unwrap();
    assert_eq!(e.kind, "Conflict");
    assert_eq!(
        e.title,
        "Conflict unresolved after 4 attempts: CHANGELOG.md changed on the remote"
    );
    assert_eq!(e.partial_results.len(), 1, "the commit");
}

#[test]
fn commit_times_out_always_escalates_the_critical_timeout() {
    let run = scenario("commit_times_out_always");
    assert_eq!(run.result.status, RunStatus::Escalated);
    assert_eq!(step(&run.result, "commit").attempts.len(), 4);
    assert_eq!(run.result.duration_ms, 2 * M + 14 * S);
    let e = run.result.escalation.as_ref().unwrap();
    assert_eq!(e.kind, "QualityGate");
    assert_eq!(e.title, "Timeout on critical path: RELEASE_MANAGER.commit");
    assert_eq!(e.issue, "No answer within 30s");
}

#[test]
fn commit_bad_message_fails_its_quality_check() {
    let run = scenario("commit_bad_message");
    assert_eq!(run.result.status, RunStatus::Failed);
    let commit = step(&run.result, "commit");
    assert_eq!(commit.attempts.len(), 1, "quality_check is not retried");
    assert_eq!(
        commit.outcome,
        StepOutcome::Failure {
            kind: "quality_check".into(),
            message: "check `commit_format` failed: Commit message format".into()
        }
    );
}

#[test]
fn commit_user_facing_adds_and_commits_the_changelog() {
    let run = scenario("commit_user_facing");
    assert_eq!(run.result.status, RunStatus::Complete);
    let changelog = step(&run.result, "changelog");
    assert_eq!(changelog.started_ms, 8 * S);
    let second = step(&run.result, "RELEASE_MANAGER.commit");
    assert_eq!(second.outcome, StepOutcome::Success);
    assert_eq!(second.started_ms, 23 * S);
    has_line(
        &run.md,
        "| +8s | HANDOFF | changelog | push.hash -> changelog |",
    );
}

#[test]
fn pr_status_unavailable_goes_to_the_rules_on_the_fast_path() {
    let run = scenario("pr_status_unavailable");
    assert_eq!(run.result.status, RunStatus::Escalated);
    let e = run.result.escalation.as_ref().unwrap();
    assert_eq!(e.kind, "Resource");
    assert_eq!(
        e.title,
        "External dependency unavailable: GitHub API returned 503"
    );
    assert_eq!(
        step(&run.result, "RELEASE_MANAGER.pr_status")
            .attempts
            .len(),
        1
    );
}

#[test]
fn audit_interrupted_keeps_the_finished_audit() {
    let run = scenario("audit_interrupted");
    assert_eq!(run.result.status, RunStatus::Aborted);
    assert_eq!(run.result.duration_ms, 2 * M);
    assert_eq!(step(&run.result, "git").outcome, StepOutcome::Success);
    for name in ["docs", "skills"] {
        assert!(matches!(
            step(&run.result, name).outcome,
            StepOutcome::Aborted { .. }
        ));
    }
    assert!(run.result.gates.is_empty());
    has_line(
        &run.md,
        "INCOMPLETE (1/1 = 100% of the steps that finished)",
    );
}

#[test]
fn release_denied_fails_after_preparing_everything() {
    let run = scenario("release_denied");
    assert_eq!(run.result.status, RunStatus::Failed);
    assert_eq!(run.result.summary, "Release 1.4.0 was not approved");
    // The parallel CHANGELOG and version bump: 20s, not 15s + 20s.
    assert!(run.result.gates[0].passed);
    assert_eq!(step(&run.result, "tag").started_ms, 30 * S);
    assert_eq!(run.result.duration_ms, M + 20 * S);
}

#[test]
fn release_not_ready_stops_before_changing_anything() {
    let run = scenario("release_not_ready");
    assert_eq!(run.result.status, RunStatus::Failed);
    assert_eq!(
        run.result.summary,
        "Release 1.4.0 is not ready: 2 open P1 issues"
    );
    assert_eq!(run.result.steps.len(), 1);
}

#[test]
fn the_documented_example_is_current() {
    let doc = std::fs::read_to_string(root().join("docs/run-result.md")).expect("docs");
    let example = doc
        .split("## 2. Example")
        .nth(1)
        .and_then(|rest| rest.split("```json\n").nth(1))
        .and_then(|rest| rest.split("```").next())
        .expect("a JSON example under `## 2. Example`");
    assert_eq!(example, scenario("audit_one_agent_fails").json);
}

#[test]
fn reports_are_byte_stable() {
    let first = scenario("push_rejected_then_fetch");
    let second = scenario("push_rejected_then_fetch");
    assert_eq!(first.md, second.md);
    assert_eq!(first.json, second.json);
}
