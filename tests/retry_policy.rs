//! Retry policies on the simulated backend (virtual time): full jitter,
//! deterministic per run id, step and attempt; a step's budget across
//! attempts (`within D`) that stops retries and running attempts; `on
//! exhausted` after the budget or the count; an interrupt during a backoff
//! starts no attempt.

use std::path::Path;

use crate::support::coordops;
use coordops::runtime::result::{EventKind, RunResult, RunStatus, StepOutcome, StepRecord};
use coordops::testing::harness::{dry_run, load_checked, Strictness};

const S: u64 = 1000;

/// Every attempt of `WORKER.flaky` fails (`network`) after `latency`.
fn always_failing(latency: &str) -> String {
    format!(
        "[task.\"WORKER.flaky\"]\noutcome = \"failure\"\nkind = \"network\"\nmessage = \"reset\"\nlatency = \"{latency}\"\n"
    )
}

fn run_as(run_id: &str, signal: &str, scenario: &str) -> RunResult {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/runtime/retry_policy.ops");
    let (file, playbook) = load_checked(&path, Strictness::All).unwrap_or_else(|e| panic!("{e}"));
    dry_run(&file, &playbook, signal, &[], scenario, run_id).unwrap_or_else(|e| panic!("{e}"))
}

fn run(signal: &str, scenario: &str) -> RunResult {
    run_as("retry", signal, scenario)
}

fn step<'r>(result: &'r RunResult, name: &str) -> &'r StepRecord {
    let found: Vec<&StepRecord> = result.steps.iter().filter(|s| s.name == name).collect();
    assert_eq!(found.len(), 1, "one `{name}` in {:?}", result.steps);
    found[0]
}

/// The delays between one attempt's end and the next one's start.
fn gaps(s: &StepRecord) -> Vec<u64> {
    s.attempts
        .windows(2)
        .map(|w| w[1].started_ms - (w[0].started_ms + w[0].duration_ms))
        .collect()
}

fn events(result: &RunResult, kind: EventKind) -> Vec<&str> {
    result
        .events
        .iter()
        .filter(|e| e.kind == kind)
        .map(|e| e.detail.as_str())
        .collect()
}

// ── jitter ──────────────────────────────────────────────────────────────

#[test]
fn jittered_delays_stay_within_their_backoff_and_are_reported_as_waited() {
    let result = run("RETRY:JITTER", &always_failing("0s"));
    let s = step(&result, "s");
    assert_eq!(s.attempts.len(), 6, "{s:?}");
    let waited = gaps(s);
    // `backoff 2s x2 max 30s`: 2s, 4s, 8s, 16s, 30s before jitter.
    for (gap, cap) in waited.iter().zip([2, 4, 8, 16, 30]) {
        assert!(*gap <= cap * S, "{waited:?}");
    }
    assert_ne!(waited, [2 * S, 4 * S, 8 * S, 16 * S, 30 * S], "jittered");
    // The RETRY events give the delays actually waited.
    let retries = events(&result, EventKind::Retry);
    assert_eq!(retries.len(), 5);
    for (detail, gap) in retries.iter().zip(&waited) {
        let shown = coordops::analysis::policy::format_duration(*gap);
        assert!(
            detail.contains(&format!(" in {shown} (jittered, up to ")),
            "{detail} / {shown}"
        );
    }
}

#[test]
fn the_same_run_id_gives_the_same_report_byte_for_byte() {
    let scenario = always_failing("1s");
    let first = run("RETRY:JITTER", &scenario);
    let again = run("RETRY:JITTER", &scenario);
    assert_eq!(
        coordops::report::render_json(&first),
        coordops::report::render_json(&again)
    );
    let agents = vec!["WORKER".to_string()];
    assert_eq!(
        coordops::report::render_markdown(&first, &agents),
        coordops::report::render_markdown(&again, &agents)
    );
}

#[test]
fn another_run_id_draws_other_delays() {
    let scenario = always_failing("0s");
    let one = gaps(step(&run_as("run-a", "RETRY:JITTER", &scenario), "s"));
    let other = gaps(step(&run_as("run-b", "RETRY:JITTER", &scenario), "s"));
    assert_ne!(one, other);
}

#[test]
fn two_steps_calling_the_same_task_draw_their_own_delays() {
    let result = run("RETRY:TWICE", &always_failing("0s"));
    let (a, b) = (gaps(step(&result, "a")), gaps(step(&result, "b")));
    assert_eq!(a.len(), 3);
    assert!(a.iter().chain(&b).all(|g| *g <= 10 * S));
    assert_ne!(a, b, "the step's identity is part of the seed");
}

// ── the budget (`within`) ───────────────────────────────────────────────

#[test]
fn no_retry_starts_when_its_delay_would_end_past_the_budget() {
    // Attempts fail after 20s; `backoff 10s within 1m`: attempt 1 at 0-20s,
    // attempt 2 at 30-50s; a third would start at 60s, the budget's end.
    let result = run("RETRY:BUDGET", &always_failing("20s"));
    let s = step(&result, "s");
    let starts: Vec<u64> = s.attempts.iter().map(|a| a.started_ms).collect();
    assert_eq!(starts, [0, 30 * S], "{s:?}");
    let retries = events(&result, EventKind::Retry);
    assert_eq!(
        retries.last().copied(),
        Some("attempt 2 failed (network); no retry: the step's budget (`within 1m`) would run out first")
    );
    // The budget gave up for the policy: `on exhausted` applies.
    assert_eq!(result.status, RunStatus::Escalated);
    let escalation = result.escalation.as_ref().expect("escalated");
    assert_eq!(
        escalation.title,
        "gave up after 2 attempts: reset (not retried: the step's budget, `within 1m`, would run out first)"
    );
    let StepOutcome::Failure { kind, message } = &s.outcome else {
        panic!("{s:?}")
    };
    assert_eq!(kind, "network");
    assert!(message.contains("`within 1m`"), "{message}");
}

#[test]
fn an_attempt_running_when_the_budget_ends_is_stopped_as_a_timeout() {
    // Attempts fail after 20s; `backoff 1s within 30s`: attempt 2 starts at
    // 21s and is stopped at 30s, before its own 1m timeout.
    let result = run("RETRY:INFLIGHT", &always_failing("20s"));
    let s = step(&result, "s");
    assert_eq!(s.outcome, StepOutcome::Timeout);
    assert_eq!(s.attempts.len(), 2, "no attempt after the budget: {s:?}");
    let last = &s.attempts[1];
    assert_eq!(
        (last.started_ms, last.duration_ms, last.outcome.as_str()),
        (21 * S, 9 * S, "timeout")
    );
    assert_eq!(last.kind.as_deref(), Some("timeout"));
    assert_eq!(
        last.message.as_deref(),
        Some("stopped: the step's budget (`within 30s`) ran out before the attempt's timeout (1m)")
    );
    let spawns = events(&result, EventKind::Spawn);
    assert_eq!(
        spawns[1],
        "WORKER.flaky attempt 2 (timeout 1m; the step's budget, `within 30s`, ends in 9s)"
    );
    assert_eq!(
        events(&result, EventKind::Timeout),
        [last.message.as_deref().unwrap_or_default()]
    );
    assert_eq!(result.duration_ms, 30 * S);
}

#[test]
fn a_recovery_call_counts_against_the_budget() {
    // Attempt 1 fails at 5s; the recovery runs 5s-30s (not cut by the
    // budget); then the 1s delay would end past 30s: no retry.
    let scenario = format!(
        "{}[task.\"WORKER.other\"]\nlatency = \"25s\"\n",
        always_failing("5s")
    );
    let result = run("RETRY:FIX", &scenario);
    assert_eq!(step(&result, "s").attempts.len(), 1);
    let recovery = step(&result, "WORKER.other (recovery for s)");
    assert_eq!(recovery.duration_ms, 25 * S);
    assert!(events(&result, EventKind::Retry)
        .iter()
        .any(|d| d.contains("no retry: the step's budget (`within 30s`)")));
}

#[test]
fn an_attempt_still_waiting_for_a_slot_when_the_budget_ends_is_never_sent() {
    // `first` holds SERIAL's only slot for 20s; `second`'s 10s budget ends
    // while it waits: nothing is sent, and the step ends `timeout`.
    let result = run("RETRY:QUEUED", "[task.\"SERIAL.one\"]\nlatency = \"20s\"\n");
    let second = step(&result, "second");
    assert!(second.attempts.is_empty(), "{second:?}");
    assert_eq!(second.outcome, StepOutcome::Timeout);
    let spawns = events(&result, EventKind::Spawn);
    assert_eq!(spawns.len(), 1, "{spawns:?}");
    assert!(events(&result, EventKind::Timeout).contains(
        &"not sent: the step's budget (`within 10s`) ran out while it waited for an agent slot"
    ));
    assert!(events(&result, EventKind::Failure)
        .iter()
        .any(|d| d.starts_with("timeout: not sent")));
}

#[test]
fn exhausted_applies_when_the_budget_rules_out_even_the_first_retry() {
    // Attempt 1 fails at 10s; the 20s delay would end at 30s, past 25s.
    let result = run("RETRY:FIRST", &always_failing("10s"));
    let s = step(&result, "s");
    assert_eq!(s.attempts.len(), 1);
    assert_eq!(result.status, RunStatus::Failed);
    assert_eq!(result.summary, "network still down after 1 attempt(s)");
}

#[test]
fn exhausted_rules_apply_when_the_budget_rules_out_the_first_retry() {
    let scenario =
        "[task.\"WORKER.flaky\"]\noutcome = \"failure\"\nkind = \"quota\"\nlatency = \"10s\"\n";
    let result = run("RETRY:RULE", scenario);
    assert_eq!(step(&result, "s").attempts.len(), 1);
    assert_eq!(result.status, RunStatus::Escalated);
    let escalation = result.escalation.as_ref().expect("escalated");
    assert_eq!(escalation.title, "quota still exhausted after 1 attempt(s)");
}

#[test]
fn an_attempt_the_budget_stops_counts_as_the_policy_giving_up() {
    // The first attempt would take 30s; the 10s budget stops it. `timeout`
    // is not a kind the policy retries, yet the budget, not the kind, ended
    // the step: `on exhausted` applies.
    let result = run("RETRY:CUT", &always_failing("30s"));
    let s = step(&result, "s");
    assert_eq!(s.attempts.len(), 1);
    assert_eq!(s.attempts[0].duration_ms, 10 * S);
    assert_eq!(
        result.summary,
        "budget spent after 1 attempt(s): stopped: the step's budget (`within 10s`) ran out before the attempt's timeout (1m)"
    );
}

#[test]
fn exhausted_continue_goes_on_after_the_retries_like_a_catch() {
    let result = run("RETRY:CATCH", &always_failing("0s"));
    assert_eq!(step(&result, "s").attempts.len(), 3);
    assert_eq!(
        step(&result, "WORKER.other").outcome,
        StepOutcome::Success,
        "the workflow went on"
    );
    assert_eq!(result.summary, "done");
}

#[test]
fn jitter_applies_to_the_default_delays() {
    // `retry 4` without `backoff`: 1s, 2s, 4s, 8s, each drawn up to that.
    let result = run("RETRY:DEFAULT", &always_failing("0s"));
    let waited = gaps(step(&result, "s"));
    assert_eq!(waited.len(), 4);
    for (gap, cap) in waited.iter().zip([1, 2, 4, 8]) {
        assert!(*gap <= cap * S, "{waited:?}");
    }
    assert_ne!(waited, [S, 2 * S, 4 * S, 8 * S], "jittered");
}

#[test]
fn the_budget_counts_from_the_step_start_lock_wait_included() {
    // `holder` keeps the lock 20s; `s` waits for it, fails at 25s, retries
    // at 26s and is stopped at 30s, 30s after the step began.
    let scenario = format!(
        "{}[task.\"WORKER.other\"]\nlatency = \"20s\"\n",
        always_failing("5s")
    );
    let result = run("RETRY:LOCKED", &scenario);
    let s = step(&result, "s");
    assert_eq!(s.started_ms, 0);
    let attempts: Vec<(u64, u64, &str)> = s
        .attempts
        .iter()
        .map(|a| (a.started_ms, a.duration_ms, a.outcome.as_str()))
        .collect();
    assert_eq!(
        attempts,
        [(20 * S, 5 * S, "failure"), (26 * S, 4 * S, "timeout")],
        "{s:?}"
    );
    assert_eq!(s.outcome, StepOutcome::Timeout);
}

#[test]
fn an_exhausted_handler_runs_its_recovery_first() {
    let result = run("RETRY:RECOVER", &always_failing("0s"));
    assert_eq!(step(&result, "s").attempts.len(), 2);
    let recovery = step(&result, "WORKER.other (recovery for s)");
    assert_eq!(recovery.outcome, StepOutcome::Success);
    assert_eq!(result.status, RunStatus::Failed);
    assert_eq!(result.summary, "gave up after 2 attempts");
}

#[test]
fn a_dry_run_with_jitter_prints_the_same_report_twice() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let scenario = dir.path().join("scenario.toml");
    std::fs::write(&scenario, always_failing("1s")).expect("written");
    let report = || {
        let output = coordops()
            .args(["dry-run", "tests/fixtures/runtime/retry_policy.ops"])
            .args(["--signal", "RETRY:JITTER", "--scenario"])
            .arg(&scenario)
            .args(["-v", "--color", "never"])
            .output()
            .expect("runs");
        (output.stdout, output.stderr)
    };
    let (first, log) = report();
    assert!(
        String::from_utf8_lossy(&log).contains("(jittered, up to 30s)"),
        "{}",
        String::from_utf8_lossy(&log)
    );
    assert_eq!((first, log), report());
}

// ── an interrupt during a backoff ───────────────────────────────────────

const FAIL_THEN_SLOW: &str = r#"
[task."WORKER.flaky"]
attempts = [
  { outcome = "failure", kind = "network", message = "reset", latency = "5s" },
  { latency = "50s" },
]
"#;

fn interrupted_at(at: &str) -> RunResult {
    run(
        "RETRY:BACKOFF",
        &format!("interrupt_after = \"{at}\"\n{FAIL_THEN_SLOW}"),
    )
}

#[test]
fn an_interrupt_during_a_backoff_starts_no_attempt() {
    // The backoff runs from 5s to 6s; interrupted inside it and exactly at
    // its end (when the next attempt was due).
    for at in ["5500ms", "6s"] {
        let result = interrupted_at(at);
        assert_eq!(result.status, RunStatus::Aborted, "{at}");
        let s = step(&result, "s");
        assert_eq!(s.attempts.len(), 1, "{at}: {s:?}");
        assert_eq!(
            s.outcome,
            StepOutcome::Aborted {
                reason: "interrupted during the backoff, before attempt 2 started".into()
            },
            "{at}"
        );
        assert_eq!(events(&result, EventKind::Spawn).len(), 1, "{at}");
    }
}

#[test]
fn a_workflow_timeout_during_a_backoff_starts_no_attempt_and_says_so() {
    // Attempt 1 fails at 28s; the 5s backoff is cut by the 30s workflow timeout.
    let result = run("RETRY:BOUNDED", &always_failing("28s"));
    let s = step(&result, "s");
    assert_eq!(s.attempts.len(), 1, "{s:?}");
    assert_eq!(s.outcome, StepOutcome::Timeout);
    assert_eq!(events(&result, EventKind::Spawn).len(), 1);
    assert!(
        events(&result, EventKind::Abort)
            .contains(&"workflow timeout of 30s during the backoff, before attempt 2 started"),
        "{:?}",
        result.events
    );
}

#[test]
fn an_interrupt_after_the_backoff_stops_the_running_attempt() {
    let result = interrupted_at("6001ms");
    let s = step(&result, "s");
    assert_eq!(s.attempts.len(), 2);
    assert_eq!(s.attempts[1].outcome, "aborted");
}

// ── `except [KIND, …]` ──────────────────────────────────────────────────

/// `WORKER.flaky` fails with these kinds in turn (the last repeats).
fn failing_with(kinds: &[&str]) -> String {
    let attempts: Vec<String> = kinds
        .iter()
        .map(|k| format!("{{ outcome = \"failure\", kind = \"{k}\", message = \"{k}\" }}"))
        .collect();
    format!(
        "[task.\"WORKER.flaky\"]\nattempts = [{}]\n",
        attempts.join(", ")
    )
}

fn attempt_kinds(s: &StepRecord) -> Vec<Option<&str>> {
    s.attempts.iter().map(|a| a.kind.as_deref()).collect()
}

#[test]
fn except_retries_other_kinds_and_stops_at_a_listed_one() {
    // `retry 3 backoff 1s except [quota]`: two network failures are retried,
    // the quota failure that follows is not.
    let result = run(
        "RETRY:EXCEPT",
        &failing_with(&["network", "network", "quota"]),
    );
    let s = step(&result, "s");
    assert_eq!(
        attempt_kinds(s),
        [Some("network"), Some("network"), Some("quota")]
    );
    assert_eq!(events(&result, EventKind::Retry).len(), 2);
    // The step was retried and the policy gave up, so `exhausted(quota)`
    // applies (the fixture's rule), as for a kind outside an `on` list.
    assert_eq!(result.status, RunStatus::Escalated);
}

#[test]
fn except_does_not_retry_a_listed_kind_even_once() {
    let result = run("RETRY:EXCEPT", &failing_with(&["quota"]));
    let s = step(&result, "s");
    assert_eq!(attempt_kinds(s), [Some("quota")]);
    assert!(events(&result, EventKind::Retry).is_empty());
    // Not retried, so not `exhausted`: the step's `on exhausted` does not run.
    assert_eq!(result.status, RunStatus::Failed);
    assert_ne!(result.summary, "caught");
}

#[test]
fn except_keeps_the_default_exclusions_and_retries_the_rest_fully() {
    let result = run("RETRY:EXCEPT", &failing_with(&["quality_check"]));
    assert_eq!(step(&result, "s").attempts.len(), 1);
    let result = run("RETRY:EXCEPT", &failing_with(&["network"]));
    assert_eq!(step(&result, "s").attempts.len(), 4, "retry 3: 4 attempts");
    assert_eq!(result.summary, "caught", "`on exhausted` after the retries");
}

// ── check: ranges and lints ─────────────────────────────────────────────

mod check {
    use coordops::analysis::check_source;
    use coordops::diagnostics::{codes, render_all, Diagnostic, RenderOptions};
    use coordops::source::SourceFile;

    /// A playbook whose one step carries `options`, under `coordinator`.
    fn checked(coordinator: &str, options: &str) -> Vec<Diagnostic> {
        let text = format!(
            "coordinator C {{\n  reports_to O\n  {coordinator}\n}}\n\
             agent A {{ task t }}\n\
             signal X:Y\n\
             route X:Y => w\n\
             workflow w {{\n  A.t()\n{options}\n  complete \"done\"\n}}\n"
        );
        check_source(&SourceFile::new("retry.ops", text))
    }

    fn codes(found: &[Diagnostic]) -> Vec<&'static str> {
        found.iter().map(|d| d.code).collect()
    }

    fn rendered(found: &[Diagnostic]) -> String {
        render_all(
            found,
            RenderOptions {
                color: false,
                width: 80,
            },
        )
    }

    #[test]
    fn jitter_and_a_budget_check_clean() {
        for policy in [
            "retry 3 backoff 2s x2 max 30s jitter within 2m on [network]",
            "retry 3 jitter",
            "retry 3 within 2m",
            "retry 0 within 1s",
        ] {
            assert!(checked(policy, "").is_empty(), "{policy}");
        }
    }

    #[test]
    fn the_step_functions_port_in_the_reference_checks_clean() {
        let text = "agent SITE { task deploy }\nsignal X:Y\nroute X:Y => w\n\
                    workflow w {\n  SITE.deploy() retry 3 backoff 2s x2 max 30s jitter on [network]\n\
                    \x20   on exhausted(network) => continue\n  complete \"done\"\n}\n";
        let found = check_source(&SourceFile::new("port.ops", text));
        assert!(found.is_empty(), "{}", rendered(&found));
    }

    #[test]
    fn the_temporal_port_in_the_reference_checks_clean() {
        let text = "agent SITE { task deploy }\nsignal X:Y\nroute X:Y => w\n\
                    workflow w {\n  SITE.deploy() retry 3 backoff 2s x2 except [quota]\n\
                    \x20   on failure(quota) => escalate Resource \"out of quota\"\n  complete \"done\"\n}\n";
        let found = check_source(&SourceFile::new("port.ops", text));
        assert!(found.is_empty(), "{}", rendered(&found));
    }

    #[test]
    fn a_budget_of_zero_is_out_of_range() {
        let found = checked("retry 3 backoff 2s within 0s", "");
        assert_eq!(codes(&found), [codes::CHECK_OUT_OF_RANGE]);
        insta::assert_snapshot!("within_zero", rendered(&found));
    }

    #[test]
    fn a_budget_that_ends_before_the_first_delay_is_out_of_range() {
        let found = checked("retry 3 backoff 2s x2 within 2s", "");
        assert_eq!(codes(&found), [codes::CHECK_OUT_OF_RANGE]);
        insta::assert_snapshot!("within_before_first_delay", rendered(&found));
        // The default first delay is 1s.
        let found = checked("retry 3 within 1s", "");
        assert_eq!(codes(&found), [codes::CHECK_OUT_OF_RANGE]);
        assert!(found[0].message.contains("(1s)"), "{}", found[0].message);
        assert!(checked("retry 3 within 1001ms", "").is_empty());
    }

    #[test]
    fn a_budget_that_fits_the_workflow_timeout_silences_the_time_budget_lint() {
        let text = |policy: &str| {
            format!(
                "agent A {{ task t {{ timeout 1m }} }}\nsignal X:Y\nroute X:Y => w\n\
                 workflow w timeout 2m {{\n  A.t() {policy}\n  complete \"done\"\n}}\n"
            )
        };
        let lint = |policy: &str| codes(&check_source(&SourceFile::new("b.ops", text(policy))));
        assert_eq!(lint("retry 3"), [codes::LINT_TIME_BUDGET]);
        assert!(lint("retry 3 within 2m").is_empty());
        assert_eq!(lint("retry 3 within 3m"), [codes::LINT_TIME_BUDGET]);
    }

    #[test]
    fn fail_abort_and_continue_that_pre_empt_the_policy_are_linted_with_the_rewrite() {
        let coordinator = "retry 3 backoff 2s x2 on [rejected, network]";
        let found = checked(
            coordinator,
            "    on failure(rejected) => fail \"Push rejected\"\n\
             \x20   on failure(network, unavailable) => abort \"offline\"\n\
             \x20   on failure => continue",
        );
        assert_eq!(codes(&found), [codes::LINT_PREMATURE_ESCALATION; 3]);
        insta::assert_snapshot!("handlers_pre_empt_retries", rendered(&found));
        let helps: Vec<&str> = found.iter().filter_map(|d| d.help.as_deref()).collect();
        assert!(helps[0].contains("`on exhausted(rejected) => fail \"Push rejected\"`"));
        // Only the kinds the policy retries move to `exhausted`.
        assert!(helps[1].contains("`on exhausted(network) => abort \"offline\"`"));
        assert!(helps[2].contains("`on exhausted => continue`"));
    }

    #[test]
    fn handlers_the_policy_does_not_pre_empt_are_not_linted() {
        let coordinator = "retry 3 on [rejected]";
        for options in [
            "    on failure(unavailable) => fail \"down\"",
            "    on exhausted(rejected) => fail \"still rejected\"",
            "    on failure(rejected) => A.t() then retry",
            "    on failure(rejected) => A.t() then fail \"fixed nothing\"",
            "    on failure(rejected) when step.attempts >= 3 => fail \"rejected 3 times\"",
        ] {
            assert!(checked(coordinator, options).is_empty(), "{options}");
        }
        assert!(checked("retry 0", "    on failure => fail \"no\"").is_empty());
        // `on timeout` pre-empts a policy that retries timeouts, not others.
        let found = checked("retry 2", "    on timeout => fail \"slow\"");
        assert_eq!(codes(&found), [codes::LINT_PREMATURE_ESCALATION]);
        assert!(found[0]
            .help
            .as_deref()
            .is_some_and(|h| h.contains("`on exhausted(timeout) => fail \"slow\"`")));
        assert!(checked("retry 2 on [network]", "    on timeout => fail \"slow\"").is_empty());
    }

    #[test]
    fn the_lint_knows_what_except_leaves_out() {
        let coordinator = "retry 3 except [quota]";
        // A listed kind is not retried: failing on it at once pre-empts nothing.
        for options in [
            "    on failure(quota) => fail \"out of quota\"",
            "    on failure(quality_check) => fail \"bad output\"",
        ] {
            assert!(checked(coordinator, options).is_empty(), "{options}");
        }
        // Any other kind is retried, so failing on it at once is linted.
        let found = checked(
            coordinator,
            "    on failure(network, quota) => fail \"down\"",
        );
        assert_eq!(codes(&found), [codes::LINT_PREMATURE_ESCALATION]);
        assert!(found[0]
            .help
            .as_deref()
            .is_some_and(|h| h.contains("`on exhausted(network) => fail \"down\"`")));
        let found = checked(coordinator, "    on timeout => fail \"slow\"");
        assert_eq!(codes(&found), [codes::LINT_PREMATURE_ESCALATION]);
        assert!(checked(
            "retry 3 except [timeout]",
            "    on timeout => fail \"slow\""
        )
        .is_empty());
    }

    #[test]
    fn on_and_except_together_are_an_error_in_either_order() {
        for policy in [
            "retry 3 on [rejected] except [network]",
            "retry 3 backoff 1s jitter within 1m except [network] on [rejected]",
        ] {
            let found = checked(policy, "");
            assert_eq!(codes(&found), [codes::CHECK_OUT_OF_RANGE], "{policy}");
            assert!(found[0].message.contains("not both"), "{policy}");
        }
        assert!(checked("retry 3 backoff 1s jitter within 1m except [network]", "").is_empty());
    }

    #[test]
    fn exhausted_cannot_retry() {
        let found = checked("retry 2", "    on exhausted => retry");
        assert_eq!(codes(&found), [codes::CHECK_INVALID_HANDLER]);
        insta::assert_snapshot!("exhausted_retry", rendered(&found));
    }
}
