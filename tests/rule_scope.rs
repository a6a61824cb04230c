//! One rule scope: every `step` / `gate` field that `check` accepts in a
//! handler or rule has a value when that handler runs.
//!
//! For each place a handler can run (after a step, a workflow timeout, an
//! approval, a failed gate) and each event, every field of the definition
//! in `coordops::analysis::scope` is offered to `check` on its own; the
//! fields it accepts are then all interpolated into the handler's message,
//! the playbook is run on the simulated backend so that exactly that place
//! fires, and none of them may read as unknown (`?`).

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use coordops::analysis::check_source;
use coordops::analysis::scope::{self, Object, Site, FIELDS};
use coordops::runtime::result::{RunResult, RunStatus};
use coordops::runtime::run;
use coordops::runtime::simulated::{Scenario, SimulatedBackend};
use coordops::source::SourceFile;

/// Handlers after steps and approvals, one event each.
const HANDLERS: &str = r#"
signal T:FAIL
signal T:TIMEOUT
signal T:EXHAUSTED
signal T:DENIED
signal T:NEVER
route T:FAIL => fail_handler
route T:TIMEOUT => timeout_handler
route T:EXHAUSTED => exhausted_handler
route T:DENIED => denied_handler
route T:NEVER => never_handler
agent A { task t }
workflow fail_handler {
  s = A.t()
    on failure => %FAILURE%
}
workflow timeout_handler {
  s = A.t() timeout 1s
    on timeout => %TIMEOUT%
}
workflow exhausted_handler {
  s = A.t() retry 1 backoff 0s
    on exhausted => %EXHAUSTED%
}
workflow denied_handler {
  approve ok "Ok?"
    on denied => %DENIED%
}
workflow never_handler {
  approve ok "Ok?" timeout 1m
    on timeout => %NEVER%
}
"#;

/// Escalation rules: the same rule runs at every place its event happens.
const RULES: &str = r#"
signal T:STEP
signal T:RETRIED
signal T:SLOW
signal T:APPROVAL
signal T:GATE
signal T:NAMED
route T:STEP => steps
route T:RETRIED => retried
route T:SLOW => slow
route T:APPROVAL => approval
route T:GATE => gate
route T:NAMED => named
agent A { task t task u }
on %EVENT% => %ACTION%
workflow steps {
  A.t() timeout 1s
}
workflow retried {
  A.t() retry 1 backoff 0s timeout 1s
}
workflow slow timeout 1m {
  A.u()
}
workflow approval {
  approve ok "Ok?" timeout 1m
}
workflow gate {
  parallel gate 100% {
    A.t() timeout 1s
    A.u()
  }
}
workflow named {
  A.u()
  parallel audit gate 100% {
    A.t() timeout 1s
    A.u()
  }
}
"#;

const FAILS: &str =
    "[task.\"A.t\"]\noutcome = \"failure\"\nkind = \"rejected\"\nmessage = \"no\"\n";
const TIMES_OUT: &str = "[task.\"A.t\"]\noutcome = \"timeout\"\n";
const SLOW: &str = "[task.\"A.u\"]\nlatency = \"2m\"\n";
const DENIED: &str = "[approval]\nok = \"denied\"\n";
const NEVER: &str = "[approval]\nok = \"never\"\n";

fn errors(text: &str) -> Vec<String> {
    check_source(&SourceFile::new("scope.ops", text))
        .into_iter()
        .filter(|d| d.is_error())
        .map(|d| format!("{}: {}", d.code, d.message))
        .collect()
}

/// `fail "step.name=<{step.name}>|…"` over `fields`.
fn action(fields: &[(Object, &str)]) -> String {
    let parts: Vec<String> = fields
        .iter()
        .map(|(o, f)| format!("{0}.{1}=<{{{0}.{1}}}>", o.name(), f))
        .collect();
    format!("fail \"{}\"", parts.join("|"))
}

/// The fields `check` accepts where `slot` is replaced by a handler action.
fn accepted(template: &str, slot: &str) -> Vec<(Object, &'static str)> {
    let others = |t: String| {
        [
            "%FAILURE%",
            "%TIMEOUT%",
            "%EXHAUSTED%",
            "%DENIED%",
            "%NEVER%",
        ]
        .iter()
        .fold(t, |t, s| t.replace(s, "fail \"x\""))
    };
    let clean = others(template.replace(slot, "fail \"x\""));
    assert_eq!(errors(&clean), Vec::<String>::new(), "{clean}");
    FIELDS
        .iter()
        .map(|f| (f.object, f.name))
        .filter(|field| errors(&others(template.replace(slot, &action(&[*field])))).is_empty())
        .collect()
}

fn run_text(text: &str, signal: &str, scenario: &str) -> RunResult {
    let file = SourceFile::new("scope.ops", text);
    let playbook = coordops::syntax::parse(&file).playbook.expect("parses");
    let scenario = Scenario::parse(scenario).expect("the scenario parses");
    let backend = Arc::new(SimulatedBackend::new(&playbook, scenario));
    let request = coordops::testing::harness::request(&file, &playbook, signal, &[], "scope")
        .unwrap_or_else(|e| panic!("{e}"));
    crate::support::virtual_time().block_on(run(request, backend, CancellationToken::new()))
}

/// Runs and returns each field's value as interpolated in the message.
fn values(
    text: &str,
    signal: &str,
    scenario: &str,
    fields: &[(Object, &str)],
) -> Vec<(String, String)> {
    let result = run_text(text, signal, scenario);
    assert_eq!(
        result.status,
        RunStatus::Failed,
        "{signal}: {}",
        result.summary
    );
    fields
        .iter()
        .map(|(o, f)| {
            let key = format!("{}.{f}=<", o.name());
            let at = result
                .summary
                .find(&key)
                .unwrap_or_else(|| panic!("{signal}: {key} missing from {}", result.summary));
            let rest = &result.summary[at + key.len()..];
            let value = rest.split('>').next().unwrap_or_default().to_string();
            (format!("{}.{f}", o.name()), value)
        })
        .collect()
}

fn assert_all_set(values: &[(String, String)], context: &str) {
    for (field, value) in values {
        assert_ne!(
            value, "?",
            "{context}: `{field}` is accepted by check but unknown at run time"
        );
        if field != "gate.decided_at" {
            assert!(!value.is_empty(), "{context}: `{field}` is empty");
        }
    }
}

fn names(object: Object, sites: &[Site]) -> Vec<(Object, &'static str)> {
    scope::available(object, sites)
        .map(|f| (object, f.name))
        .collect()
}

#[test]
fn handlers_have_every_field_check_accepts() {
    let cases = [
        ("%FAILURE%", "T:FAIL", FAILS, Site::Step),
        ("%TIMEOUT%", "T:TIMEOUT", TIMES_OUT, Site::Step),
        ("%EXHAUSTED%", "T:EXHAUSTED", FAILS, Site::Step),
        ("%DENIED%", "T:DENIED", DENIED, Site::Approval),
        ("%NEVER%", "T:NEVER", NEVER, Site::Approval),
    ];
    for (slot, signal, scenario, site) in cases {
        let fields = accepted(HANDLERS, slot);
        assert_eq!(fields, names(Object::Step, &[site]), "{signal}");
        let mut text = HANDLERS.replace(slot, &action(&fields));
        for other in [
            "%FAILURE%",
            "%TIMEOUT%",
            "%EXHAUSTED%",
            "%DENIED%",
            "%NEVER%",
        ] {
            text = text.replace(other, "fail \"x\"");
        }
        assert_all_set(&values(&text, signal, scenario, &fields), signal);
    }
}

/// An event, the sites check must assume for it, and the runs (signal,
/// scenario) that reach the rule.
type RuleCase = (&'static str, Vec<Site>, Vec<(&'static str, &'static str)>);

#[test]
fn rules_have_every_field_check_accepts_at_every_place_they_run() {
    // (event, the sites check must assume, runs that reach the rule)
    let all_timeouts = [
        ("T:STEP", TIMES_OUT),
        ("T:SLOW", SLOW),
        ("T:APPROVAL", NEVER),
    ];
    let cases: Vec<RuleCase> = vec![
        (
            "timeout",
            vec![Site::Step, Site::WorkflowTimeout, Site::Approval],
            all_timeouts.to_vec(),
        ),
        (
            "failure",
            vec![Site::Step, Site::WorkflowTimeout, Site::Approval],
            [("T:STEP", FAILS)]
                .into_iter()
                .chain(all_timeouts)
                .collect(),
        ),
        (
            "failure(rejected)",
            vec![Site::Step],
            vec![("T:STEP", FAILS)],
        ),
        ("exhausted", vec![Site::Step], vec![("T:RETRIED", FAILS)]),
        ("denied", vec![Site::Approval], vec![("T:APPROVAL", DENIED)]),
        (
            "gate_failed",
            vec![Site::GateFailed],
            vec![("T:GATE", FAILS), ("T:NAMED", FAILS)],
        ),
    ];
    for (event, sites, runs) in cases {
        let template = RULES.replace("%EVENT%", event);
        let fields = accepted(&template, "%ACTION%");
        let mut expected = names(Object::Step, &sites);
        expected.extend(names(Object::Gate, &sites));
        assert_eq!(fields, expected, "on {event}");
        assert!(!fields.is_empty(), "on {event}: some field is available");
        let text = template.replace("%ACTION%", &action(&fields));
        for (signal, scenario) in runs {
            let got = values(&text, signal, scenario, &fields);
            assert_all_set(&got, &format!("on {event}, {signal}"));
            if event == "gate_failed" {
                let group = got
                    .iter()
                    .find(|(f, _)| f == "gate.group")
                    .map(|(_, v)| v.as_str());
                let workflow = got
                    .iter()
                    .find(|(f, _)| f == "gate.workflow")
                    .map(|(_, v)| v.as_str());
                let (want_group, want_workflow) = if signal == "T:GATE" {
                    ("gate#1", "gate")
                } else {
                    ("audit", "named")
                };
                assert_eq!(group, Some(want_group));
                assert_eq!(workflow, Some(want_workflow));
            }
        }
    }
}

#[test]
fn a_rule_sees_only_the_places_the_playbook_has() {
    // No workflow timeout and no approval: `on timeout` runs after steps only,
    // so `step.agent` is available.
    let text = "signal T:GO\nroute T:GO => w\nagent A { task t }\n\
                on timeout => fail \"{step.agent}.{step.task}\"\n\
                workflow w {\n  A.t() timeout 1s\n}\n";
    assert_eq!(errors(text), Vec::<String>::new());
    let result = run_text(text, "T:GO", TIMES_OUT);
    assert_eq!(result.summary, "A.t");
}

#[test]
fn unknown_fields_get_a_suggestion_and_unavailable_ones_say_where_they_are_set() {
    let text = "signal T:GO\nroute T:GO => w\nagent A { task t }\n\
                on gate_failed => fail \"{gate.grup} {step.name}\"\n\
                workflow w {\n  A.t()\n}\n";
    let found = check_source(&SourceFile::new("scope.ops", text));
    let undefined = found
        .iter()
        .find(|d| d.code == coordops::diagnostics::codes::CHECK_UNDEFINED_FIELD)
        .expect("gate.grup is reported");
    assert!(format!("{undefined:?}").contains("did you mean `group`?"));
    let unavailable = found
        .iter()
        .find(|d| d.code == coordops::diagnostics::codes::CHECK_FIELD_UNAVAILABLE)
        .expect("step.name in gate_failed is reported");
    assert!(unavailable.message.contains("when a group fails its gate"));
}

#[test]
fn group_labels_are_unique_per_workflow() {
    let text = "signal T:GO\nroute T:GO => w\nagent A { task t task u }\n\
                workflow w {\n  parallel audit {\n    A.t()\n  }\n  parallel audit {\n    A.u()\n  }\n}\n\
                workflow v {\n  parallel audit {\n    A.t()\n  }\n}\n";
    let errs = errors(text);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].contains("group `audit` is defined more than once"));
}

#[test]
fn a_labelled_group_is_named_in_the_gate_line_and_event() {
    let text = RULES
        .replace("%EVENT%", "gate_failed")
        .replace("%ACTION%", "fail \"{gate.group}\"");
    let result = run_text(&text, "T:NAMED", FAILS);
    assert_eq!(result.summary, "audit");
    assert_eq!(result.gates.len(), 1);
    assert_eq!(result.gates[0].group, "audit");
    let report = coordops::report::ops_result(&result);
    assert!(
        report.contains("audit: FAILED (1/2 = 50% < 100%)"),
        "{report}"
    );
    let gate_event = result
        .events
        .iter()
        .find(|e| e.kind == coordops::runtime::result::EventKind::Gate)
        .expect("a GATE event");
    assert_eq!(gate_event.step.as_deref(), Some("audit"));
    // An unlabelled group keeps its `WORKFLOW#N` name, and a single one is
    // not named in the report.
    let result = run_text(&text, "T:GATE", FAILS);
    assert_eq!(result.gates[0].group, "gate#1");
    assert!(coordops::report::ops_result(&result).contains("\nFAILED (1/2 = 50% < 100%)"));
}

#[test]
fn a_guard_naming_no_group_is_reported_with_a_suggestion() {
    let rule = |guard: &str| {
        RULES
            .replace("%EVENT%", &format!("gate_failed when {guard}"))
            .replace("%ACTION%", "fail \"x\"")
    };
    for fine in [
        r#"gate.group == "audit""#,
        r#"gate.group != "gate#1""#,
        r#"gate.group in ["audit", "gate#1"]"#,
    ] {
        assert_eq!(errors(&rule(fine)), Vec::<String>::new(), "{fine}");
    }
    let found = check_source(&SourceFile::new(
        "scope.ops",
        rule(r#"gate.group == "audti""#),
    ));
    let d = found
        .iter()
        .find(|d| d.code == coordops::diagnostics::codes::CHECK_UNDEFINED_REFERENCE)
        .expect("reported");
    assert_eq!(d.message, "no `parallel` group is named `audti`");
    assert_eq!(d.help.as_deref(), Some("did you mean `audit`?"));
    assert_eq!(
        errors(&rule(r#"gate.group in ["audit", "named#1"]"#)).len(),
        1
    );
}
