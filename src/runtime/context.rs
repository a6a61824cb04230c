//! Building a signal's context from `--set key=value` and declared defaults.

use serde_json::{Map, Value};

use crate::ast::{Playbook, SignalDecl};

use super::eval::{eval, Scope};

/// Builds the context for `signal`: typed values from `sets`, then defaults.
///
/// Errors name the field and say what was expected.
pub fn build(
    playbook: &Playbook,
    signal: &str,
    sets: &[(String, String)],
) -> Result<Map<String, Value>, String> {
    let decl = playbook.signals().find(|s| s.name.name == signal);
    let mut context = Map::new();
    for (key, raw) in sets {
        let value = match decl {
            Some(decl) => typed(decl, key, raw)?,
            None => parse_loose(raw),
        };
        context.insert(key.clone(), value);
    }
    complete(playbook, signal, context, "pass `--set {field}=…`")
}

/// Builds the context for `signal` from values already typed (a test's
/// `signal NAME { … }`): unknown fields are errors, defaults fill the rest.
pub fn from_values(
    playbook: &Playbook,
    signal: &str,
    values: Map<String, Value>,
) -> Result<Map<String, Value>, String> {
    if let Some(decl) = playbook.signals().find(|s| s.name.name == signal) {
        for key in values.keys() {
            if !decl.fields.iter().any(|f| &f.name.name == key) {
                return Err(format!("signal `{signal}` has no field `{key}`"));
            }
        }
    }
    complete(playbook, signal, values, "give `{field}: …`")
}

/// Adds declared defaults and the signal's name; a required field that is
/// still missing is an error (`hint` says how to give it, `{field}` is replaced).
fn complete(
    playbook: &Playbook,
    signal: &str,
    mut context: Map<String, Value>,
    hint: &str,
) -> Result<Map<String, Value>, String> {
    if let Some(decl) = playbook.signals().find(|s| s.name.name == signal) {
        for field in &decl.fields {
            if context.contains_key(&field.name.name) {
                continue;
            }
            match &field.default {
                Some(default) => {
                    context.insert(field.name.name.clone(), eval(default, &Scope::default()));
                }
                None => {
                    return Err(format!(
                        "signal `{signal}` needs `{}` ({}): {}",
                        field.name.name,
                        field.ty.name.name,
                        hint.replace("{field}", &field.name.name)
                    ))
                }
            }
        }
    }
    context.insert("name".to_string(), Value::String(signal.to_string()));
    Ok(context)
}

fn typed(decl: &SignalDecl, key: &str, raw: &str) -> Result<Value, String> {
    let Some(field) = decl.fields.iter().find(|f| f.name.name == key) else {
        let known: Vec<String> = decl
            .fields
            .iter()
            .map(|f| format!("`{}`", f.name.name))
            .collect();
        return Err(format!(
            "signal `{}` has no field `{key}`; its fields are {}",
            decl.name.name,
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        ));
    };
    let bad = |what: &str| format!("`{key}` is {what}, but `{raw}` is not");
    Ok(match field.ty.name.name.as_str() {
        "string" => Value::String(raw.to_string()),
        "bool" => match raw {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(bad("a bool (`true` or `false`)")),
        },
        "int" | "percent" => Value::from(
            raw.trim_end_matches('%')
                .parse::<i64>()
                .map_err(|_| bad("a number"))?,
        ),
        "duration" => Value::from(
            crate::syntax::parse_duration(raw).ok_or_else(|| bad("a duration such as `30s`"))?,
        ),
        "list" => match serde_json::from_str::<Value>(raw) {
            Ok(Value::Array(items)) => Value::Array(items),
            _ => Value::Array(
                raw.split(',')
                    .filter(|s| !s.is_empty())
                    .map(|s| Value::String(s.trim().to_string()))
                    .collect(),
            ),
        },
        _ => parse_loose(raw),
    })
}

/// A value for an undeclared field: JSON if it parses, else a string.
fn parse_loose(raw: &str) -> Value {
    serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_string()))
}
