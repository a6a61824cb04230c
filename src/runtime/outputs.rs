//! What a successful reply must contain: declared outputs of the right type
//! (else a `protocol` failure) and every field its quality checks read (else
//! the check fails).
//!
//! Both apply on the engine side, after any backend answered success.

use serde_json::{Map, Value};

use crate::analysis::policy::Inherited;
use crate::ast::{merged_fields, Check, Expr, FieldDecl, TypeRef};

use super::eval::{eval, Scope};

/// The failure kind of a reply that breaks its task's declared outputs.
pub const PROTOCOL: &str = "protocol";

/// Judges a successful reply: `Err((kind, message))` when it breaks the
/// task's declared outputs (`protocol`) or, given the step's `scope`, fails a
/// quality check (`quality_check`; recoveries pass `None`: no checks).
pub fn judge(
    inherited: &Inherited<'_>,
    task: &str,
    outputs: Map<String, Value>,
    scope: Option<&Scope>,
) -> Result<Map<String, Value>, (String, String)> {
    if let Some(message) = protocol_violation(inherited, &outputs) {
        return Err((PROTOCOL.to_string(), message));
    }
    if let Some(message) = scope.and_then(|s| failed_check(inherited, task, &outputs, s)) {
        return Err(("quality_check".to_string(), message));
    }
    Ok(outputs)
}

/// Why `outputs` break the declaration of the called task, if they do:
/// declared fields that are missing or of the wrong type. Extra fields are
/// fine. `None` when the task declares no outputs.
pub fn protocol_violation(
    inherited: &Inherited<'_>,
    outputs: &Map<String, Value>,
) -> Option<String> {
    let (agent, task) = (inherited.agent?, inherited.task?);
    let fields = merged_fields(agent, task)?;
    let problems: Vec<String> = fields
        .iter()
        .filter_map(|field| field_problem(field, outputs))
        .collect();
    (!problems.is_empty()).then(|| problems.join("; "))
}

fn field_problem(field: &FieldDecl, outputs: &Map<String, Value>) -> Option<String> {
    let name = &field.name.name;
    let ty = &field.ty;
    match outputs.get(name) {
        None => Some(format!("the reply lacks declared output `{name}` ({ty})")),
        Some(value) if !fits(ty, value) => Some(format!(
            "output `{name}` is {}, not {}",
            shown(value),
            described(ty)
        )),
        Some(_) => None,
    }
}

/// Whether a JSON value has the declared type. Unknown type names (an
/// analysis error) accept anything.
pub(crate) fn fits(ty: &TypeRef, value: &Value) -> bool {
    let scalar = |name: &str, value: &Value| match name {
        "string" => value.is_string(),
        "int" => value.is_i64() || value.is_u64(),
        "bool" => value.is_boolean(),
        "duration" => {
            value.is_u64()
                || value
                    .as_str()
                    .is_some_and(|s| crate::syntax::parse_duration(s).is_some())
        }
        "percent" => value.is_number(),
        "map" => value.is_object(),
        "list" => value.is_array(),
        _ => true,
    };
    match (ty.name.name.as_str(), &ty.element, value) {
        ("list", Some(element), Value::Array(items)) => {
            items.iter().all(|i| scalar(&element.name, i))
        }
        (name, _, value) => scalar(name, value),
    }
}

fn described(ty: &TypeRef) -> String {
    match (ty.name.name.as_str(), &ty.element) {
        ("int", None) => "an int".to_string(),
        (_, Some(_)) => format!("a {ty}"),
        (name, None) => format!("a {name}"),
    }
}

/// A value as JSON, shortened to about 60 characters.
fn shown(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= 60 {
        return text;
    }
    let cut: String = text.chars().take(57).collect();
    format!("{cut}…")
}

/// The first failed quality check of the called task on `outputs`: one whose
/// condition is `false`, or that reads an `output.FIELD` the agent did not
/// send (absent or `null`).
pub fn failed_check(
    inherited: &Inherited<'_>,
    task: &str,
    outputs: &Map<String, Value>,
    scope: &Scope,
) -> Option<String> {
    let mut checks = inherited
        .agent
        .map(|a| a.checks.iter())
        .into_iter()
        .flatten()
        .chain(
            inherited
                .task
                .map(|t| t.checks.iter())
                .into_iter()
                .flatten(),
        )
        .peekable();
    // No check to run: no scope to build (this runs for every step).
    checks.peek()?;
    let scope = scope
        .with("output", Value::Object(outputs.clone()))
        .with("task", Value::String(task.to_string()));
    for check in checks {
        if let Some(missing) = unsent(&check.condition, outputs) {
            return Some(format!(
                "{} (the agent sent no `output.{missing}`)",
                failed(check)
            ));
        }
        if eval(&check.condition, &scope) == Value::Bool(false) {
            return Some(failed(check));
        }
    }
    None
}

fn failed(check: &Check) -> String {
    match check.doc.as_ref().and_then(|d| d.as_plain()) {
        Some(doc) => format!("check `{}` failed: {doc}", check.name.name),
        None => format!("check `{}` failed", check.name.name),
    }
}

/// The first `output.FIELD` a condition reads that `outputs` lacks.
fn unsent(condition: &Expr, outputs: &Map<String, Value>) -> Option<String> {
    let mut missing = None;
    condition.visit_paths(&mut |segments| {
        if missing.is_some() {
            return;
        }
        if let [root, field, ..] = segments {
            if root.name == "output" && outputs.get(&field.name).is_none_or(Value::is_null) {
                missing = Some(field.name.clone());
            }
        }
    });
    missing
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;
    use serde_json::json;

    fn with_playbook(text: &str, f: impl FnOnce(&crate::ast::Playbook)) {
        let parsed = crate::syntax::parse(&SourceFile::new("t.ops", text));
        match parsed.playbook {
            Some(p) => f(&p),
            None => panic!("does not parse: {:?}", parsed.diagnostics),
        }
    }

    fn inherited<'a>(p: &'a crate::ast::Playbook, task: &str) -> Inherited<'a> {
        let agent = p.agents().next();
        Inherited {
            task: agent.and_then(|a| a.tasks.iter().find(|t| t.name.name == task)),
            agent,
            coordinator: None,
        }
    }

    fn outputs(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    const PLAYBOOK: &str = "agent A {
  outputs { ok: bool }
  task t { outputs { hash: string, n: int, files: list<string>, meta: map, d: duration, p: percent } }
  task u
  check sent \"Sent\": output.ok == true
}";

    #[test]
    fn a_reply_with_every_declared_output_passes() {
        with_playbook(PLAYBOOK, |p| {
            let good = outputs(json!({"ok": true, "hash": "abc", "n": 3, "files": ["a"],
                "meta": {}, "d": "30s", "p": 80, "extra": 1}));
            assert_eq!(protocol_violation(&inherited(p, "t"), &good), None);
            assert_eq!(
                protocol_violation(&inherited(p, "u"), &outputs(json!({}))),
                Some("the reply lacks declared output `ok` (bool)".to_string())
            );
        });
    }

    #[test]
    fn missing_and_mistyped_outputs_are_named() {
        with_playbook(PLAYBOOK, |p| {
            let bad = outputs(
                json!({"ok": "yes", "n": 1.5, "files": ["a", 2], "meta": [], "d": -1, "p": "80%"}),
            );
            assert_eq!(
                protocol_violation(&inherited(p, "t"), &bad).as_deref(),
                Some("output `ok` is \"yes\", not a bool; the reply lacks declared output `hash` (string); \
output `n` is 1.5, not an int; output `files` is [\"a\",2], not a list<string>; \
output `meta` is [], not a map; output `d` is -1, not a duration; output `p` is \"80%\", not a percent")
            );
        });
    }

    /// A duration output is read as the language reads durations: an
    /// empty string is not zero, units go from the largest first.
    #[test]
    fn duration_outputs_are_strict() {
        with_playbook(PLAYBOOK, |p| {
            for (d, ok) in [
                (json!("1h30m"), true),
                (json!(1500), true),
                (json!(""), false),
                (json!("30s5m"), false),
                (json!("366d"), false),
            ] {
                let reply = outputs(json!({"ok": true, "hash": "abc", "n": 3, "files": [],
                    "meta": {}, "d": d, "p": 80}));
                let problem = protocol_violation(&inherited(p, "t"), &reply);
                assert_eq!(problem.is_none(), ok, "{d}: {problem:?}");
            }
        });
    }

    #[test]
    fn a_check_reading_an_unsent_field_fails() {
        with_playbook(PLAYBOOK, |p| {
            let scope = Scope::default();
            let sent = outputs(json!({"ok": true}));
            assert_eq!(failed_check(&inherited(p, "u"), "u", &sent, &scope), None);
            let unsent = outputs(json!({"hash": "x"}));
            assert_eq!(
                failed_check(&inherited(p, "u"), "u", &unsent, &scope).as_deref(),
                Some("check `sent` failed: Sent (the agent sent no `output.ok`)")
            );
            let null = outputs(json!({"ok": null}));
            assert!(failed_check(&inherited(p, "u"), "u", &null, &scope).is_some());
            let wrong = outputs(json!({"ok": false}));
            assert_eq!(
                failed_check(&inherited(p, "u"), "u", &wrong, &scope).as_deref(),
                Some("check `sent` failed: Sent")
            );
        });
    }
}
