//! Evaluating expressions at run time.
//!
//! Values are JSON values. Durations evaluate to milliseconds and percents to
//! numbers. A path that leads nowhere is `null`, which means "unknown":
//! comparisons with an unknown are unknown, `not` of an unknown is unknown,
//! and `and`/`or` follow three-valued logic. A condition holds only when it
//! is `true`; a quality check fails only when it is `false`.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::ast::{BinaryOp, Expr, ExprKind, StrLit, StrPart, UnaryOp};

/// Names visible to an expression.
///
/// A scope is a chain of frames shared through `Arc`: cloning a scope or
/// deriving one with `with` copies no binding, so a `parallel for` over N
/// elements makes N cheap scopes rather than N copies of every value bound.
/// Binding writes into the scope's own top frame, or pushes a new frame
/// over it when the top is shared.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    head: Option<Arc<Frame>>,
}

/// One layer of bindings over its parent.
#[derive(Clone, Debug, Default)]
struct Frame {
    values: HashMap<String, Value>,
    parent: Option<Arc<Frame>>,
    /// Frames in this chain, this one included.
    depth: usize,
}

/// Chains deeper than this are flattened into one frame when a frame is
/// pushed, so lookups stay cheap.
const MAX_DEPTH: usize = 32;

impl Scope {
    /// Binds `name` (shadowing any earlier value).
    pub fn bind(&mut self, name: &str, value: Value) {
        self.top(true).insert(name.to_string(), value);
    }

    /// The bindings of the top frame, owned by this scope alone.
    fn top(&mut self, flatten: bool) -> &mut HashMap<String, Value> {
        let unique = self
            .head
            .as_mut()
            .is_some_and(|h| Arc::get_mut(h).is_some());
        if !unique {
            let depth = self.head.as_ref().map_or(0, |h| h.depth);
            let frame = if flatten && depth >= MAX_DEPTH {
                let mut values = HashMap::new();
                self.collect_into(&mut values);
                Frame {
                    values,
                    parent: None,
                    depth: 1,
                }
            } else {
                Frame {
                    values: HashMap::new(),
                    parent: self.head.take(),
                    depth: depth + 1,
                }
            };
            self.head = Some(Arc::new(frame));
        }
        let head = self.head.as_mut().and_then(Arc::get_mut);
        &mut head.expect("the top frame is unique").values
    }

    /// A copy with one more name bound (sharing every other binding).
    pub fn with(&self, name: &str, value: Value) -> Scope {
        let mut scope = self.clone();
        scope.bind(name, value);
        scope
    }

    /// The frames of the chain, innermost first.
    fn frames(&self) -> impl Iterator<Item = &Arc<Frame>> {
        std::iter::successors(self.head.as_ref(), |f| f.parent.as_ref())
    }

    /// Every visible binding.
    fn collect_into(&self, into: &mut HashMap<String, Value>) {
        let frames: Vec<&Arc<Frame>> = self.frames().collect();
        for f in frames.into_iter().rev() {
            into.extend(f.values.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
    }

    /// Takes over every binding of `other` (a finished parallel branch
    /// cloned from this scope), as if every name `other` sees were bound
    /// here again.
    ///
    /// Only names bound above the frames both share can differ, so only
    /// those are visited.
    pub fn absorb(&mut self, other: Scope) {
        let mine: Vec<*const Frame> = self.frames().map(Arc::as_ptr).collect();
        let mut names: Vec<String> = Vec::new();
        for f in other.frames() {
            if mine.contains(&Arc::as_ptr(f)) {
                break;
            }
            names.extend(f.values.keys().cloned());
        }
        let theirs: Vec<*const Frame> = other.frames().map(Arc::as_ptr).collect();
        for f in self.frames() {
            if theirs.contains(&Arc::as_ptr(f)) {
                break;
            }
            names.extend(f.values.keys().cloned());
        }
        let updates: Vec<(String, Value)> = names
            .into_iter()
            .filter_map(|n| other.get(&n).map(|v| (n, v.clone())))
            .collect();
        drop(other);
        let top = self.top(false);
        top.extend(updates);
    }

    /// The value bound to `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.frames().find_map(|f| f.values.get(name))
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
    crate::analysis::regexes::full_match(pattern, text)
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
        assert!(holds(&expr(r#"output.message ~ /feat(\(.+\))?: .+/"#), &s));
        assert!(holds(&expr(r#""a" in signal.files"#), &s));
        assert!(holds(&expr("2m > 30s"), &s));
        assert!(!holds(&expr("signal.missing == 3"), &s));
    }

    #[test]
    fn regexes_match_the_whole_string() {
        let s = scope();
        assert!(!holds(&expr("output.message ~ /feat/"), &s));
        assert!(holds(&expr("output.message !~ /feat/"), &s));
        assert!(holds(&expr("output.message ~ /feat.*/"), &s));
        assert!(holds(&expr(r#"signal.v ~ "[0-9.]+""#), &s));
        assert!(!holds(&expr(r#"signal.v ~ "4""#), &s));
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

    #[test]
    fn scope_chain_shadows_and_looks_through_parents() {
        let mut outer = Scope::default();
        outer.bind("a", Value::from(1));
        outer.bind("b", Value::from(2));
        let mut inner = outer.with("a", Value::from(10));
        assert_eq!(inner.get("a"), Some(&Value::from(10)));
        assert_eq!(inner.get("b"), Some(&Value::from(2)));
        assert_eq!(outer.get("a"), Some(&Value::from(1)));
        inner.bind("c", Value::from(3));
        inner.bind("b", Value::from(20));
        assert_eq!(outer.get("c"), None);
        assert_eq!(outer.get("b"), Some(&Value::from(2)));
        // Binding in the outer scope after sharing it leaves derived ones be.
        outer.bind("d", Value::from(4));
        assert_eq!(inner.get("d"), None);
        let deeper = inner.with("e", Value::from(5));
        assert_eq!(deeper.get("a"), Some(&Value::from(10)));
        assert_eq!(deeper.get("b"), Some(&Value::from(20)));
        assert_eq!(deeper.get("e"), Some(&Value::from(5)));
        assert_eq!(inner.get("e"), None);
    }

    #[test]
    fn deep_chains_flatten_without_losing_bindings() {
        let mut scope = Scope::default();
        let mut keep = Vec::new();
        for i in 0..(3 * MAX_DEPTH) {
            keep.push(scope.clone());
            scope.bind(&format!("n{i}"), Value::from(i));
            scope.bind("last", Value::from(i));
        }
        assert!(scope.frames().count() <= MAX_DEPTH + 1);
        for i in 0..(3 * MAX_DEPTH) {
            assert_eq!(scope.get(&format!("n{i}")), Some(&Value::from(i)));
        }
        assert_eq!(scope.get("last"), Some(&Value::from(3 * MAX_DEPTH - 1)));
        assert_eq!(keep[5].get("n5"), None);
        assert_eq!(keep[5].get("n4"), Some(&Value::from(4)));
    }

    #[test]
    fn absorb_matches_extending_with_the_branch_view() {
        let mut outer = Scope::default();
        outer.bind("x", Value::from(0));
        outer.bind("keep", Value::from(1));
        let mut a = outer.clone();
        a.bind("x", Value::from(1));
        a.bind("ra", Value::from(2));
        let mut b = outer.clone();
        b.bind("rb", Value::from(3));
        outer.absorb(a);
        assert_eq!(outer.get("x"), Some(&Value::from(1)));
        // As with copies: the later branch's view of `x` (the outer value)
        // wins.
        outer.absorb(b);
        assert_eq!(outer.get("x"), Some(&Value::from(0)));
        assert_eq!(outer.get("ra"), Some(&Value::from(2)));
        assert_eq!(outer.get("rb"), Some(&Value::from(3)));
        assert_eq!(outer.get("keep"), Some(&Value::from(1)));
    }
}
