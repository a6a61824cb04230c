//! Count gates (`gate tolerate N`, `gate at least K`) and opt-in early
//! decisions (`stop when passed|failed|decided`) on the simulated backend
//! and virtual time: what is counted when branches are skipped, which
//! branches an early decision cancels, and how the reports show it.

use std::path::Path;

use crate::support::coordops;
use coordops::runtime::result::{EventKind, RunResult, RunStatus, StepOutcome, StepRecord};
use coordops::testing::harness::{dry_run, load_checked, Strictness};

fn run(signal: &str, sets: &[(&str, &str)], scenario: &str) -> RunResult {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/runtime/count_gates.ops");
    let (file, playbook) =
        load_checked(&path, Strictness::Errors).unwrap_or_else(|e| panic!("{e}"));
    dry_run(&file, &playbook, signal, sets, scenario, "count-gates")
        .unwrap_or_else(|e| panic!("{e}"))
}

fn step<'r>(result: &'r RunResult, name: &str) -> &'r StepRecord {
    let found: Vec<&StepRecord> = result.steps.iter().filter(|s| s.name == name).collect();
    assert_eq!(found.len(), 1, "one `{name}` in {:?}", result.steps);
    found[0]
}

fn gate_events(result: &RunResult) -> Vec<String> {
    result
        .events
        .iter()
        .filter(|e| e.kind == EventKind::Gate)
        .map(|e| e.detail.clone())
        .collect()
}

fn is_aborted(s: &StepRecord) -> bool {
    matches!(s.outcome, StepOutcome::Aborted { .. })
}

/// Each agent answers after its own latency; `failing` agents fail.
fn scenario(latencies: &[(&str, u64)], failing: &[&str]) -> String {
    let mut out = String::new();
    for (agent, secs) in latencies {
        out.push_str(&format!(
            "[task.\"{agent}.audit\"]\nlatency = \"{secs}s\"\n"
        ));
        if failing.contains(agent) {
            out.push_str("outcome = \"failure\"\n");
        }
    }
    out
}

// ── counting ────────────────────────────────────────────────────────────────

#[test]
fn tolerate_counts_failures_among_counted_branches_skips_excluded() {
    // `c` is skipped: one failure of three counted is tolerated.
    let one = scenario(&[("DELTA", 1)], &["DELTA"]);
    let result = run("COUNT:TOLERATE", &[], &one);
    let gate = &result.gates[0];
    assert_eq!(
        (gate.successes, gate.failures, gate.skipped, gate.counted),
        (2, 1, 1, 3)
    );
    assert_eq!(gate.line(), "PASSED (1/3 failed ≤ 1 tolerated)");
    assert_eq!(result.status, RunStatus::Partial, "passed with a failure");
    assert_eq!(step(&result, "c").outcome, StepOutcome::Skipped);

    let two = scenario(&[("BETA", 1), ("DELTA", 1)], &["BETA", "DELTA"]);
    let result = run("COUNT:TOLERATE", &[], &two);
    assert_eq!(result.gates[0].line(), "FAILED (2/3 failed > 1 tolerated)");
    assert_eq!(result.status, RunStatus::Escalated);
    let escalation = result.escalation.as_ref().expect("escalated");
    assert_eq!(
        escalation.title, "Gate tolerate 1 failed: FAILED (2/3 failed > 1 tolerated)",
        "`gate.threshold` is the gate as written"
    );
    // Every success is listed in the partial results.
    assert!(escalation.partial_results.iter().any(|p| p.contains('a')));
}

#[test]
fn at_least_needs_k_successes_and_skipped_branches_do_not_count() {
    let result = run("COUNT:AT_LEAST", &[], "");
    assert_eq!(
        result.gates[0].line(),
        "PASSED (2/2 succeeded ≥ 2 required)"
    );
    assert_eq!(result.status, RunStatus::Complete);

    // With `c` skipped, one failure leaves 1 success: fewer than 2.
    let result = run(
        "COUNT:AT_LEAST",
        &[],
        &scenario(&[("ALPHA", 1)], &["ALPHA"]),
    );
    assert_eq!(
        result.gates[0].line(),
        "FAILED (1/2 succeeded < 2 required)"
    );
    assert_eq!(result.status, RunStatus::Escalated);

    // With `c` run, the same failure leaves 2 successes.
    let result = run(
        "COUNT:AT_LEAST",
        &[("third", "true")],
        &scenario(&[("ALPHA", 1)], &["ALPHA"]),
    );
    assert_eq!(
        result.gates[0].line(),
        "PASSED (2/3 succeeded ≥ 2 required)"
    );
    assert_eq!(result.status, RunStatus::Partial);
}

#[test]
fn at_least_over_a_shorter_list_fails_at_run_time() {
    let result = run("COUNT:EACH", &[], "");
    let gate = &result.gates[0];
    assert_eq!((gate.successes, gate.total), (2, 2));
    assert_eq!(gate.line(), "FAILED (2/2 succeeded < 3 required)");
    assert_eq!(result.status, RunStatus::Escalated);
    let result = run("COUNT:EACH", &[("items", "p,q,r")], "");
    assert_eq!(
        result.gates[0].line(),
        "PASSED (3/3 succeeded ≥ 3 required)"
    );
}

// ── early decisions ─────────────────────────────────────────────────────────

#[test]
fn the_default_waits_for_every_branch() {
    // Two succeed at 1s and 2s; the third would not change the verdict but
    // is still awaited.
    let latencies = scenario(&[("ALPHA", 1), ("BETA", 2), ("GAMMA", 90)], &[]);
    let result = run("COUNT:WAIT", &[], &latencies);
    let gate = &result.gates[0];
    assert_eq!(gate.decided_at, None);
    assert!(gate.cancelled.is_empty());
    assert_eq!(gate.line(), "PASSED (3/3 succeeded ≥ 2 required)");
    assert_eq!(result.status, RunStatus::Complete);
    assert_eq!(step(&result, "c").outcome, StepOutcome::Success);
    assert_eq!(result.duration_ms, 90_000);
}

#[test]
fn stop_when_passed_cancels_the_rest_once_k_succeeded() {
    let latencies = scenario(&[("ALPHA", 1), ("BETA", 2), ("GAMMA", 90)], &[]);
    let result = run("COUNT:STOP_PASSED", &[], &latencies);
    let gate = &result.gates[0];
    assert!(gate.passed);
    assert_eq!(gate.decided_at.as_deref(), Some("2/3"));
    assert_eq!(gate.cancelled, ["c"]);
    assert_eq!(
        gate.line(),
        "PASSED (2/2 succeeded ≥ 2 required, 1 cancelled)"
    );
    assert_eq!(
        gate_events(&result),
        ["gate at least 2: PASSED (2/2 succeeded ≥ 2 required, 1 cancelled), decided early at 2/3 (stop when passed)"]
    );
    // Never a plain COMPLETE: a branch was cancelled.
    assert_eq!(result.status, RunStatus::Partial);
    assert_eq!(result.duration_ms, 2000, "the group ended at the decision");
    // The cancelled branch keeps its attempt, aborted, saying why.
    let c = step(&result, "c");
    assert!(is_aborted(c), "{:?}", c.outcome);
    assert_eq!(c.attempts.len(), 1);
    assert_eq!(c.attempts[0].outcome, "aborted");
    assert_eq!(
        c.attempts[0].message.as_deref(),
        Some("cancelled: gate decided at 2/3")
    );
    // JSON names the cancelled branch; Markdown too.
    let json = coordops::report::render_json(&result);
    assert!(
        json.contains("\"cancelled\": [\n        \"c\"\n      ]"),
        "{json}"
    );
    let markdown = coordops::report::ops_result(&result);
    assert!(
        markdown.contains("PASSED (2/2 succeeded ≥ 2 required, 1 cancelled), decided early at 2/3; cancelled: `c`"),
        "{markdown}"
    );
}

#[test]
fn stop_when_failed_is_fail_fast_and_keeps_every_success() {
    // `d` succeeds first, `a` fails next: `tolerate 0` can no longer pass.
    let latencies = scenario(
        &[("DELTA", 1), ("ALPHA", 2), ("BETA", 60), ("GAMMA", 90)],
        &["ALPHA"],
    );
    let result = run("COUNT:FAIL_FAST", &[], &latencies);
    let gate = &result.gates[0];
    assert!(!gate.passed);
    assert_eq!(gate.decided_at.as_deref(), Some("2/4"));
    assert_eq!(gate.cancelled, ["b", "c"]);
    assert_eq!(
        gate.line(),
        "FAILED (1/2 failed > 0 tolerated, 2 cancelled)"
    );
    assert_eq!(
        gate_events(&result),
        ["gate tolerate 0: FAILED (1/2 failed > 0 tolerated, 2 cancelled), decided early at 2/4 (stop when failed)"]
    );
    assert_eq!(result.duration_ms, 2000);
    for name in ["b", "c"] {
        let s = step(&result, name);
        assert!(is_aborted(s), "{name}: {:?}", s.outcome);
        assert_eq!(s.attempts[0].outcome, "aborted", "{name}");
    }
    assert_eq!(result.status, RunStatus::Escalated);
    let escalation = result.escalation.as_ref().expect("escalated");
    assert_eq!(
        escalation.issue,
        "1 failed, 0 skipped, 2 cancelled, decided at 2/4"
    );
    // The success that finished before the decision is a partial result.
    assert!(
        escalation
            .partial_results
            .iter()
            .any(|p| p.contains("DELTA")),
        "{:?}",
        escalation.partial_results
    );

    // Without a failure nothing is cancelled: the group waits for all.
    let latencies = scenario(
        &[("DELTA", 1), ("ALPHA", 2), ("BETA", 60), ("GAMMA", 90)],
        &[],
    );
    let result = run("COUNT:FAIL_FAST", &[], &latencies);
    assert_eq!(result.gates[0].decided_at, None);
    assert_eq!(result.status, RunStatus::Complete);
    assert_eq!(result.duration_ms, 90_000);
}

#[test]
fn stop_when_decided_never_cancels_a_pending_critical_branch() {
    // b and c succeed fast (2/2 ≥ 50%), but the critical `a` could still
    // fail the group: it is awaited, so nothing is cancelled.
    let latencies = scenario(&[("ALPHA", 30), ("BETA", 1), ("GAMMA", 2)], &[]);
    let result = run("COUNT:DECIDED", &[], &latencies);
    assert_eq!(result.gates[0].decided_at, None);
    assert_eq!(result.status, RunStatus::Complete);
    // The critical branch failing first decides at once: the rest are cancelled.
    let latencies = scenario(&[("ALPHA", 1), ("BETA", 20), ("GAMMA", 30)], &["ALPHA"]);
    let result = run("COUNT:DECIDED", &[], &latencies);
    let gate = &result.gates[0];
    assert_eq!(gate.decided_at.as_deref(), Some("1/3"));
    assert_eq!(gate.cancelled, ["b", "c"]);
    assert_eq!(
        gate.line(),
        "FAILED (critical branch `a` failed; 0/1 = 0% < 50%, 2 cancelled)"
    );
}

#[test]
fn a_skipped_branch_stays_skipped_and_an_unstarted_one_has_no_attempt() {
    let latencies = scenario(&[("ALPHA", 1), ("GAMMA", 10)], &["ALPHA"]);
    let result = run("COUNT:SKIP_FAST", &[], &latencies);
    assert_eq!(step(&result, "b").outcome, StepOutcome::Skipped);
    assert_eq!(result.gates[0].cancelled, ["c"]);
    assert_eq!(result.gates[0].skipped, 1);
    // With no latency, `a` and `b` settle the gate before `c` is polled:
    // `c` never started, so it is aborted without an attempt.
    let result = run("COUNT:SKIP_FAST", &[], &scenario(&[], &[]));
    assert_eq!(result.status, RunStatus::Complete, "nothing failed");
    let result = run("COUNT:STOP_PASSED", &[], "");
    let c = step(&result, "c");
    assert!(is_aborted(c), "{:?}", c.outcome);
    assert!(c.attempts.is_empty());
    assert_eq!(result.gates[0].cancelled, ["c"]);
}

#[test]
fn the_documented_early_decision_example_parses() {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/language.md"))
            .expect("readable");
    let block = doc
        .split("```ops\n")
        .skip(1)
        .filter_map(|rest| rest.split("```\n").next())
        .find(|b| b.contains("stop when passed"))
        .expect("§9 shows `stop when passed`");
    let parsed = coordops::syntax::parse(&coordops::source::SourceFile::new("doc.ops", block));
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
}

#[test]
fn a_misplaced_stop_says_where_it_goes() {
    let message = |head: &str| {
        let text = format!("workflow w {{\n  {head} {{\n    A.t()\n  }}\n}}\n");
        let parsed = coordops::syntax::parse(&coordops::source::SourceFile::new("t.ops", text));
        let d = parsed.diagnostics.first().expect("an error");
        (d.message.clone(), d.help.clone().unwrap_or_default())
    };
    let (m, help) = message("parallel stop when failed");
    assert_eq!(m, "`stop when …` follows the gate it decides early");
    assert!(
        help.contains("`parallel gate 80% stop when failed { … }`"),
        "{help}"
    );
    let (m, _) = message("parallel gate 80% timeout 5m stop when failed");
    assert_eq!(
        m,
        "`stop when …` comes right after the gate, before `timeout`"
    );
    let (m, help) = message("parallel gate tolerate 1 stop when failed for x in signal.items");
    assert!(
        m.starts_with("the `for` clause comes right after `parallel`"),
        "{m}"
    );
    assert!(
        help.contains("`parallel for x in signal.items gate tolerate 1 stop when failed { … }`"),
        "{help}"
    );
}

// ── check ───────────────────────────────────────────────────────────────────

/// The codes `check` reports for a workflow holding `group` (a `parallel`
/// header; three written branches unless it is a `parallel for`).
fn codes_for(group: &str) -> Vec<&'static str> {
    let body = if group.contains(" for ") {
        "    A.t(x: v)\n"
    } else {
        "    a = A.t(x: 1)\n    b = A.t(x: 2)\n    c = A.t(x: 3)\n"
    };
    let text = format!(
        "signal S:X {{ items: list<int> = [1] }}\nroute S:X => w\nagent A {{ task t }}\n\
         workflow w {{\n  {group} {{\n{body}  }}\n}}\n"
    );
    let file = coordops::source::SourceFile::new("t.ops", text);
    coordops::analysis::check_source(&file)
        .iter()
        .map(|d| d.code)
        .collect()
}

#[test]
fn count_ranges_are_checked() {
    use coordops::diagnostics::codes;
    assert_eq!(codes_for("parallel gate at least 3"), Vec::<&str>::new());
    assert_eq!(
        codes_for("parallel gate at least 4"),
        [codes::CHECK_GATE_CANNOT_PASS]
    );
    // A `parallel for` has its size only at run time.
    assert_eq!(
        codes_for("parallel for v in signal.items gate at least 4"),
        Vec::<&str>::new()
    );
    assert_eq!(
        codes_for("parallel for v in signal.items gate at least 100001"),
        [codes::CHECK_OUT_OF_RANGE]
    );
    assert_eq!(
        codes_for("parallel for v in signal.items gate tolerate 100001"),
        [codes::CHECK_OUT_OF_RANGE]
    );
    assert_eq!(
        codes_for("parallel gate tolerate -1"),
        [codes::CHECK_OUT_OF_RANGE]
    );
    assert_eq!(
        codes_for("parallel gate at least 99999999999999999999"),
        [codes::PARSE_NUMBER_TOO_LARGE]
    );
}

#[test]
fn count_gates_get_the_gate_lints_where_they_apply() {
    use coordops::diagnostics::codes;
    // Accepting every failure: `at least 0`, or tolerating every written branch.
    assert_eq!(
        codes_for("parallel gate at least 0"),
        [codes::LINT_ZERO_GATE]
    );
    assert_eq!(
        codes_for("parallel gate tolerate 3"),
        [codes::LINT_ZERO_GATE]
    );
    assert_eq!(codes_for("parallel gate tolerate 2"), Vec::<&str>::new());
    assert_eq!(
        codes_for("parallel for v in signal.items gate tolerate 3"),
        Vec::<&str>::new(),
        "a list may be longer than 3"
    );
    // A count says how many failures it tolerates: never `tolerates_no_failure`,
    // unlike the same strictness written as a percent.
    assert_eq!(codes_for("parallel gate tolerate 0"), Vec::<&str>::new());
    assert_eq!(codes_for("parallel gate at least 3"), Vec::<&str>::new());
    assert_eq!(codes_for("parallel gate 80%"), [codes::LINT_STRICT_GATE]);
    // Early stops check like the gate they follow.
    assert_eq!(
        codes_for("parallel gate at least 2 stop when passed timeout 5m"),
        Vec::<&str>::new()
    );
}

#[test]
fn a_run_whose_group_cancelled_branches_exits_partial() {
    // Every task succeeds at once: `at least 2` passes after two, `c` is cancelled.
    coordops()
        .args([
            "dry-run",
            "tests/fixtures/runtime/count_gates.ops",
            "--signal",
            "COUNT:STOP_PASSED",
        ])
        .assert()
        .code(3)
        .stdout(predicates::str::contains("cancelled: `c`"));
}
