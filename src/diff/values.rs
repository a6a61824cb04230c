//! Representative values for a signal's fields, derived from route guards.
//!
//! Every comparison of a field (`signal.FIELD op LITERAL`, either way round)
//! in a guard of a route whose pattern matches the signal contributes the
//! values on both sides of its true/false boundary (docs/diff.md):
//! `<`, `<=`, `>`, `>=` on a number give `n - 1`, `n` and `n + 1`; `==` and
//! `!=` give the literal and a different value of its type; `~`/`!~` give a
//! string built to match the regex (a guess, see [`example`]) and the empty
//! string; `in [...]` gives each member and a
//! non-member; `LITERAL in signal.FIELD` gives `[LITERAL]` and `[]`; a bare `signal.FIELD` (or `not signal.FIELD`) gives `true`
//! and `false`. A constrained field with a default also gets its default
//! (what the router sees when it is absent).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::ast::{BinaryOp, Expr, ExprKind, FieldDecl, StrPart};

/// The candidate values of each constrained field, in a stable order.
pub type Candidates = BTreeMap<String, Vec<Value>>;

/// Adds the values `guard` contributes to `out`.
pub fn from_guard(guard: &Expr, out: &mut Candidates) {
    match &guard.kind {
        ExprKind::Binary { op, lhs, rhs } => match op {
            BinaryOp::And | BinaryOp::Or => {
                from_guard(lhs, out);
                from_guard(rhs, out);
            }
            _ => {
                if let (Some(field), Some(lit)) = (field_of(lhs), literal(rhs)) {
                    comparison(*op, field, &lit, out);
                } else if let (Some(field), Some(lit)) = (field_of(rhs), literal(lhs)) {
                    match (op, lit) {
                        // `"x" in signal.tags`: a list with it, and an empty one.
                        (BinaryOp::In, Lit::Value(v)) => {
                            add(out, field, json!([v]));
                            add(out, field, json!([]));
                        }
                        (_, lit) => comparison(*op, field, &lit, out),
                    }
                }
            }
        },
        ExprKind::Unary { operand, .. } => from_guard(operand, out),
        ExprKind::Path { .. } => {
            if let Some(field) = field_of(guard) {
                add(out, field, json!(true));
                add(out, field, json!(false));
            }
        }
        _ => {}
    }
}

/// Adds a constrained field's default: what the router sees when the
/// field is absent. Fields no guard looks at keep their default only.
pub fn from_decl(field: &FieldDecl, default: Option<Value>, out: &mut Candidates) {
    if let (Some(values), Some(value)) = (out.get_mut(&field.name.name), default) {
        if !values.contains(&value) {
            values.push(value);
        }
    }
}

/// A value of the declared type for a required field no guard constrains.
pub fn placeholder(type_name: &str) -> Value {
    match type_name {
        "int" | "duration" | "percent" => json!(0),
        "bool" => json!(false),
        "list" => json!([]),
        "map" => json!({}),
        _ => json!(""),
    }
}

/// `signal.FIELD` → `FIELD`.
fn field_of(expr: &Expr) -> Option<&str> {
    match &expr.kind {
        ExprKind::Path { segments } if segments.len() == 2 && segments[0].name == "signal" => {
            Some(segments[1].name.as_str())
        }
        _ => None,
    }
}

/// A literal operand, as the value it evaluates to (strings without
/// interpolation only).
fn literal(expr: &Expr) -> Option<Lit> {
    Some(match &expr.kind {
        ExprKind::Int { value } => Lit::Value(json!(value)),
        ExprKind::Duration { millis } => Lit::Value(json!(millis)),
        ExprKind::Percent { value } => Lit::Value(json!(value)),
        ExprKind::Bool { value } => Lit::Value(json!(value)),
        ExprKind::Str { value } => {
            let mut text = String::new();
            for part in &value.parts {
                match part {
                    StrPart::Text { text: t } => text.push_str(t),
                    _ => return None,
                }
            }
            Lit::Value(Value::String(text))
        }
        ExprKind::Regex { pattern } => Lit::Regex(pattern.clone()),
        ExprKind::List { items } => Lit::List(
            items
                .iter()
                .filter_map(|i| match literal(i) {
                    Some(Lit::Value(v)) => Some(v),
                    _ => None,
                })
                .collect(),
        ),
        _ => return None,
    })
}

/// A literal operand of a comparison.
enum Lit {
    Value(Value),
    Regex(String),
    List(Vec<Value>),
}

fn comparison(op: BinaryOp, field: &str, lit: &Lit, out: &mut Candidates) {
    match (op, lit) {
        (BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge, Lit::Value(v)) => {
            if let Some(n) = v.as_i64() {
                for x in [n.saturating_sub(1), n, n.saturating_add(1)] {
                    add(out, field, json!(x));
                }
            } else if let Some(n) = v.as_u64() {
                for x in [n.saturating_sub(1), n, n.saturating_add(1)] {
                    add(out, field, json!(x));
                }
            }
        }
        (BinaryOp::Eq | BinaryOp::Ne, Lit::Value(v)) => {
            add(out, field, v.clone());
            add(out, field, different(v));
        }
        (BinaryOp::Eq | BinaryOp::Ne, Lit::List(items)) => {
            add(out, field, Value::Array(items.clone()));
            add(
                out,
                field,
                if items.is_empty() {
                    json!(["x"])
                } else {
                    json!([])
                },
            );
        }
        (BinaryOp::Match | BinaryOp::NotMatch, Lit::Regex(pattern)) => {
            add(out, field, Value::String(example(pattern)));
            add(out, field, json!(""));
        }
        (BinaryOp::In, Lit::List(members)) => {
            for m in members {
                add(out, field, m.clone());
            }
            if let Some(first) = members.first() {
                let mut other = different(first);
                while members.contains(&other) {
                    other = different(&other);
                }
                add(out, field, other);
            }
        }
        _ => {}
    }
}

/// A value of the same type as `v` but not equal to it.
fn different(v: &Value) -> Value {
    match v {
        Value::Bool(b) => json!(!b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => json!(i.wrapping_add(1)),
            None => json!(n.as_u64().unwrap_or(0).wrapping_add(1)),
        },
        Value::String(s) => Value::String(format!("{s}~other")),
        _ => Value::Null,
    }
}

/// A string the regex likely matches (a guess; the router decides): `.` is
/// `x`, `\\d` `0`, `\\w` `a`, `\\s` a space, `\\X` `X`, a class its first
/// character, `X*` and `X?` nothing, `X+` one `X`, `X{n,…}` `n` of them (at
/// most 64), only the first
/// alternative of `|`; anchors and parentheses are dropped.
fn example(pattern: &str) -> String {
    let mut out = String::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        let piece = match c {
            '|' => break,
            '^' | '$' | '(' | ')' => continue,
            '.' => Some('x'),
            '\\' => chars.next().map(|e| match e {
                'd' => '0',
                'w' => 'a',
                's' => ' ',
                other => other,
            }),
            '[' => {
                let mut first = None;
                let mut negated = false;
                let mut start = true;
                for k in chars.by_ref() {
                    if k == ']' && !start {
                        break;
                    }
                    if start && k == '^' {
                        negated = true;
                    } else if first.is_none() {
                        first = Some(k);
                    }
                    start = false;
                }
                if negated {
                    Some('~')
                } else {
                    first
                }
            }
            '{' => {
                let mut spec = String::new();
                for k in chars.by_ref() {
                    if k == '}' {
                        break;
                    }
                    spec.push(k);
                }
                let min = spec
                    .split(',')
                    .next()
                    .and_then(|n| n.trim().parse::<usize>().ok());
                if let (Some(min), Some(last)) = (min, out.chars().last()) {
                    out.pop();
                    out.extend(std::iter::repeat_n(last, min.min(64)));
                }
                continue;
            }
            '*' | '?' | '+' => continue,
            other => Some(other),
        };
        let optional = matches!(chars.peek(), Some('*' | '?'));
        if let (Some(p), false) = (piece, optional) {
            out.push(p);
        }
    }
    out
}

fn add(out: &mut Candidates, field: &str, value: Value) {
    let values = out.entry(field.to_string()).or_default();
    if !values.contains(&value) {
        values.push(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    fn guard_values(guard: &str) -> Candidates {
        let text = format!(
            "signal A:B {{ n: int\n s: string\n f: bool }}\nroute A:B when {guard} => ignore\n"
        );
        let file = SourceFile::new("t.ops", text);
        let checked = crate::analysis::parse_and_check(&file);
        let playbook = checked.playbook.expect("parses");
        let mut out = Candidates::new();
        for route in playbook.routes() {
            if let Some(g) = &route.guard {
                from_guard(g, &mut out);
            }
        }
        out
    }

    #[test]
    fn numbers_give_both_sides_of_the_boundary() {
        assert_eq!(
            guard_values("signal.n > 5")["n"],
            vec![json!(4), json!(5), json!(6)]
        );
        assert_eq!(
            guard_values("3 <= signal.n")["n"],
            vec![json!(2), json!(3), json!(4)]
        );
    }

    #[test]
    fn equality_gives_the_literal_and_another_value() {
        assert_eq!(
            guard_values("signal.s == \"x\" and signal.f")["s"],
            vec![json!("x"), json!("x~other")]
        );
        assert_eq!(
            guard_values("signal.s == \"x\" or not signal.f")["f"],
            vec![json!(true), json!(false)]
        );
    }

    #[test]
    fn membership_gives_members_and_a_non_member() {
        assert_eq!(
            guard_values("signal.s in [\"a\", \"b\"]")["s"],
            vec![json!("a"), json!("b"), json!("a~other")]
        );
    }

    #[test]
    fn a_literal_in_a_list_field_gives_a_list_with_it_and_an_empty_one() {
        let text = "signal A:B { tags: list<string> = [] }\nroute A:B when \"x\" in signal.tags => ignore\n";
        let file = SourceFile::new("t.ops", text);
        let playbook = crate::syntax::parse(&file).playbook.expect("parses");
        let mut out = Candidates::new();
        for route in playbook.routes() {
            from_guard(route.guard.as_ref().expect("guard"), &mut out);
        }
        assert_eq!(out["tags"], vec![json!(["x"]), json!([])]);
    }

    #[test]
    fn plain_regexes_give_a_match() {
        assert_eq!(
            guard_values("signal.s ~ /^hotfix$/")["s"],
            vec![json!("hotfix"), json!("")]
        );
        assert_eq!(
            guard_values("signal.s ~ /.*\\.md/")["s"],
            vec![json!(".md"), json!("")]
        );
        assert_eq!(example("v[0-9]+\\.\\d{2}(-rc)?|x"), "v0.00-rc");
        assert_eq!(example("[^a]b?c"), "~c");
    }
}
