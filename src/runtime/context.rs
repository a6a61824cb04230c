//! Building a signal's context from `--set key=value` and declared defaults.

use serde_json::{Map, Value};

use crate::ast::{Playbook, SignalDecl};

use super::eval::{eval, Scope};

pub mod values;

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
        if context.contains_key(key) {
            return Err(format!(
                "`--set {key}=…` is given twice; give each field once"
            ));
        }
        if decl.is_none() && key == "name" {
            return Err(
                "`--set name=…`: `name` is always the signal's own name and cannot be set"
                    .to_string(),
            );
        }
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
        let names: Vec<&str> = decl.fields.iter().map(|f| f.name.name.as_str()).collect();
        let help = if key == "name" {
            "`name` is always the signal's own name and cannot be set".to_string()
        } else {
            match crate::analysis::closest_word(key, names.iter().copied()) {
                Some(best) => format!("did you mean `{best}`?"),
                None if names.is_empty() => "it declares no fields".to_string(),
                None => format!(
                    "its fields are {}",
                    names
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
        };
        return Err(format!(
            "signal `{}` has no field `{key}`: {help}",
            decl.name.name
        ));
    };
    let ty = &field.ty;
    let kind = |name: &str| values::Kind::of(name).unwrap_or(values::Kind::Any);
    let parsed = match (&ty.name.name[..], &ty.element) {
        ("list", Some(element)) => values::list(kind(&element.name), raw),
        ("list", None) => values::list(values::Kind::Any, raw),
        (name, _) => values::scalar(kind(name), raw).map_err(|e| format!("`{raw}` is not {e}")),
    };
    parsed.map_err(|e| format!("`--set {key}=…`: `{key}` is declared `{ty}`, but {e}"))
}

/// A value for a field of an undeclared signal: JSON if it parses, else a string.
fn parse_loose(raw: &str) -> Value {
    values::loose(raw)
}
