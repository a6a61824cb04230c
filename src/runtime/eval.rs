//! Evaluating expressions at run time.
//!
//! Values are JSON values. Durations evaluate to milliseconds and percents to
//! numbers. A path that leads nowhere is `null`, which means "unknown":
//! comparisons with an unknown are unknown, `not` of an unknown is unknown,
//! and `and`/`or` follow three-valued logic. A condition holds only when it
//! is `true`; a quality check fails only when it is `false`.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::ast::{BinaryOp, Expr, ExprKind, StrLit, StrPart, UnaryOp};

/// Names visible to an expression.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    values: HashMap<String, Value>,
}

impl Scope {
    /// Binds `name` (shadowing any earlier value).
    pub fn bind(&mut self, name: &str, value: Value) {
        self.values.insert(name.to_string(), value);
    }

    /// A copy with one more name bound.
    pub fn with(&self, name: &str, value: Value) -> Scope {
        let mut scope = self.clone();
        scope.bind(name, value);
        scope
    }

    /// Takes over every binding of `other` (a finished parallel branch).
    pub fn absorb(&mut self, other: Scope) {
        self.values.extend(other.values);
    }

    /// The value bound to `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name)
    }
}

/// Evaluates an expression.
pub fn eval(expr: &Expr, scope: &Scope) -> Value {
    match &expr.kind {
        ExprKind::Str { value } => Value::String(interpolate(value, scope)),
        ExprKind::Regex { pattern } => Value::String(pattern.clone()),
        ExprKind::Int { value } => Value::from(*value),
        ExprKind::Bool { value } => Value::Bool(*value),
        ExprKind::Duration { millis } => Value::from(*millis),
        ExprKind::Percent { value } => Value::from(*value),
        ExprKind::List { items } => Value::Array(items.iter().map(|i| eval(i, scope)).collect()),
        ExprKind::Map { entries } => Value::Object(
            entries
                .iter()
                .map(|e| (e.key.name.clone(), eval(&e.value, scope)))
                .collect::<Map<_, _>>(),
        ),
        ExprKind::Path { segments } => {
            let mut current = segments
                .first()
                .and_then(|root| scope.get(&root.name))
                .cloned()
                .unwrap_or(Value::Null);
            for segment in segments.iter().skip(1) {
                current = current.get(&segment.name).cloned().unwrap_or(Value::Null);
            }
            current
        }
        ExprKind::Unary {
            op: UnaryOp::Not,
            operand,
        } => match eval(operand, scope) {
            Value::Bool(b) => Value::Bool(!b),
            _ => Value::Null,
        },
        ExprKind::Binary { op, lhs, rhs } => binary(*op, lhs, rhs, scope),
    }
}

fn binary(op: BinaryOp, lhs: &Expr, rhs: &Expr, scope: &Scope) -> Value {
    match op {
        BinaryOp::And => match eval(lhs, scope) {
            Value::Bool(false) => Value::Bool(false),
            l => match (l, eval(rhs, scope)) {
                (_, Value::Bool(false)) => Value::Bool(false),
                (Value::Bool(true), Value::Bool(true)) => Value::Bool(true),
                _ => Value::Null,
            },
        },
        BinaryOp::Or => match eval(lhs, scope) {
            Value::Bool(true) => Value::Bool(true),
            l => match (l, eval(rhs, scope)) {
                (_, Value::Bool(true)) => Value::Bool(true),
                (Value::Bool(false), Value::Bool(false)) => Value::Bool(false),
                _ => Value::Null,
            },
        },
        _ => {
            let (l, r) = (eval(lhs, scope), eval(rhs, scope));
            if l.is_null() || r.is_null() {
                return Value::Null;
            }
            let result = match op {
                BinaryOp::Eq => Some(equal(&l, &r)),
                BinaryOp::Ne => Some(!equal(&l, &r)),
                BinaryOp::Lt => order(&l, &r).map(|o| o.is_lt()),
                BinaryOp::Le => order(&l, &r).map(|o| o.is_le()),
                BinaryOp::Gt => order(&l, &r).map(|o| o.is_gt()),
                BinaryOp::Ge => order(&l, &r).map(|o| o.is_ge()),
                BinaryOp::Match => matches(&l, &r),
                BinaryOp::NotMatch => matches(&l, &r).map(|m| !m),
                BinaryOp::In => contains(&r, &l),
                BinaryOp::And | BinaryOp::Or => None,
            };
            result.map_or(Value::Null, Value::Bool)
        }
    }
}

fn equal(l: &Value, r: &Value) -> bool {
    match (l.as_f64(), r.as_f64()) {
        (Some(a), Some(b)) => a == b,
        _ => l == r,
    }
}

fn order(l: &Value, r: &Value) -> Option<std::cmp::Ordering> {
    match (l, r) {
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        _ => l.as_f64()?.partial_cmp(&r.as_f64()?),
    }
}

fn matches(l: &Value, r: &Value) -> Option<bool> {
    let (Value::String(text), Value::String(pattern)) = (l, r) else {
        return None;
    };
    regex::Regex::new(pattern).ok().map(|re| re.is_match(text))
}

fn contains(haystack: &Value, needle: &Value) -> Option<bool> {
    match haystack {
        Value::Array(items) => Some(items.iter().any(|i| equal(i, needle))),
        Value::Object(map) => needle.as_str().map(|k| map.contains_key(k)),
        Value::String(s) => needle.as_str().map(|n| s.contains(n)),
        _ => None,
    }
}

/// Whether a condition holds (only `true` does).
pub fn holds(expr: &Expr, scope: &Scope) -> bool {
    eval(expr, scope) == Value::Bool(true)
}

/// Renders a string literal with its interpolations.
pub fn interpolate(lit: &StrLit, scope: &Scope) -> String {
    let mut out = String::new();
    for part in &lit.parts {
        match part {
            StrPart::Text { text } => out.push_str(text),
            StrPart::Interpolation { expr } => out.push_str(&display(&eval(expr, scope))),
        }
    }
    out
}

/// A value as text in an interpolation or report.
pub fn display(value: &Value) -> String {
    match value {
        Value::Null => "?".to_string(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) => items.iter().map(display).collect::<Vec<_>>().join(", "),
        Value::Object(_) => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    fn expr(text: &str) -> Expr {
        let src = format!("route OPS:X when {text} => ignore");
        let parsed = crate::syntax::parse(&SourceFile::new("t", src));
        let playbook = parsed.playbook.expect("parses");
        let guard = playbook.routes().next().and_then(|r| r.guard.clone());
        guard.expect("guard")
    }

    fn scope() -> Scope {
        let mut s = Scope::default();
        s.bind(
            "signal",
            serde_json::json!({"name": "OPS:X", "v": "1.4.0", "n": 3, "files": ["a", "b"]}),
        );
        s.bind(
            "output",
            serde_json::json!({"message": "feat: x", "ok": true}),
        );
        s
    }

    #[test]
    fn comparisons_paths_and_regexes() {
        let s = scope();
        assert!(holds(&expr("signal.n == 3 and signal.n < 4"), &s));
        assert!(holds(&expr(r#"output.message ~ /^feat(\(.+\))?: .+/"#), &s));
        assert!(holds(&expr(r#""a" in signal.files"#), &s));
        assert!(holds(&expr("2m > 30s"), &s));
        assert!(!holds(&expr("signal.missing == 3"), &s));
    }

    #[test]
    fn unknowns_propagate_three_valued() {
        let s = scope();
        assert_eq!(eval(&expr("not output.absent"), &s), Value::Null);
        assert_eq!(
            eval(&expr("output.absent == 1 or output.ok"), &s),
            Value::Bool(true)
        );
        assert_eq!(
            eval(&expr("output.absent == 1 and false"), &s),
            Value::Bool(false)
        );
        assert_eq!(eval(&expr("output.absent == 1 and true"), &s), Value::Null);
    }

    #[test]
    fn interpolation() {
        let s = scope();
        let e = expr(r#""v{signal.v} of {signal.files}" == "x""#);
        let ExprKind::Binary { lhs, .. } = &e.kind else {
            panic!()
        };
        assert_eq!(eval(lhs, &s), Value::String("v1.4.0 of a, b".into()));
    }
}
