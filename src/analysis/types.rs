//! Expression checking: what each path refers to, and the types of operands.

use crate::ast::{BinaryOp, Expr, ExprKind, Ident, SignalDecl, Span, StrPart, UnaryOp};
use crate::diagnostics::{codes, Diagnostic};

use super::suggest;

pub use super::ty::{declared_type, Ty};

/// What a name at the root of a path refers to.
#[derive(Clone, Debug)]
pub enum Root<'a> {
    /// `signal`: the signals that can reach this point (`None`: unknown).
    Signal(Option<Vec<&'a SignalDecl>>),
    /// A step result, `let` value or loop variable.
    Value,
    /// A result bound only on some paths to here.
    MaybeBound(Span),
    /// A result of a sibling branch of the same parallel group.
    Sibling(Span),
    /// A built-in object of handlers and rules (`step`, `gate`), as seen
    /// where the handler can run ([`super::scope`]).
    Builtin(super::scope::Object, std::rc::Rc<[super::scope::Site]>),
    /// The result of a task that declares its outputs.
    Outputs(std::rc::Rc<super::outputs::Declared>),
}

/// A count of the names copied while building environments, so that a test
/// can tell linear checking from quadratic without timing anything.
#[cfg(test)]
pub(crate) mod work {
    use std::cell::Cell;

    thread_local! {
        static COPIED: Cell<usize> = const { Cell::new(0) };
    }

    /// Records `n` names copied or scanned.
    pub fn add(n: usize) {
        COPIED.with(|c| c.set(c.get() + n));
    }

    /// The count since the last call, on this thread.
    pub fn take() -> usize {
        COPIED.with(|c| c.replace(0))
    }
}

/// Outside tests, counting is free.
#[cfg(not(test))]
pub(crate) mod work {
    /// Does nothing.
    #[inline(always)]
    pub fn add(_: usize) {}
}

pub use super::cancelled::Cancellable;

/// Names supplied from outside an [`Env`] (the bindings of a workflow), looked
/// up on demand rather than copied into the environment at every statement.
pub trait Scope<'a> {
    /// What `name` refers to, if it is in scope.
    fn lookup(&self, name: &str) -> Option<Root<'a>>;
    /// Every name in scope with what it refers to, in the order a sequence of
    /// [`Env::bind`] calls would leave them (used only to word diagnostics).
    fn roots(&self) -> Vec<(String, Root<'a>)>;
    /// Whether `name` is a result an early decision may have cancelled.
    fn cancellable(&self, _name: &str) -> Option<Cancellable> {
        None
    }
}

/// The names visible to an expression: an optional base [`Scope`], shadowed
/// by names bound on the environment itself.
#[derive(Clone, Default)]
pub struct Env<'a, 's> {
    base: Option<&'s dyn Scope<'a>>,
    roots: Vec<(String, Root<'a>)>,
    /// Inside a condition: an unknown there makes it not hold, which is
    /// how a maybe-cancelled result is tested.
    testing: bool,
}

impl<'a, 's> Env<'a, 's> {
    /// An environment whose names come from `base`.
    pub fn scoped(base: &'s dyn Scope<'a>) -> Self {
        Env {
            base: Some(base),
            roots: Vec::new(),
            testing: false,
        }
    }

    /// Adds (or shadows) a root name.
    pub fn with(mut self, name: &str, root: Root<'a>) -> Self {
        self.bind(name, root);
        self
    }

    /// Adds (or shadows) a root name in place.
    pub fn bind(&mut self, name: &str, root: Root<'a>) {
        work::add(1 + self.roots.len());
        self.roots.retain(|(n, _)| n != name);
        self.roots.push((name.to_string(), root));
    }

    fn get(&self, name: &str) -> Option<Root<'a>> {
        match self.roots.iter().rev().find(|(n, _)| n == name) {
            Some((_, root)) => Some(root.clone()),
            None => self.base.and_then(|base| base.lookup(name)),
        }
    }

    /// Whether `name` (not shadowed here) may have been cancelled, outside
    /// a condition.
    fn cancellable(&self, name: &str) -> Option<Cancellable> {
        if self.testing || self.roots.iter().any(|(n, _)| n == name) {
            return None;
        }
        self.base.and_then(|base| base.cancellable(name))
    }

    /// Every name in scope, in binding order (each where it was last bound).
    fn names(&self) -> Vec<String> {
        let mut all: Vec<String> = match self.base {
            Some(base) => base.roots().into_iter().map(|(n, _)| n).collect(),
            None => Vec::new(),
        };
        all.extend(self.roots.iter().map(|(n, _)| n.clone()));
        keep_last(all)
    }
}

/// Keeps the last occurrence of each name, in order: what binding the names
/// one after the other with [`Env::bind`] leaves.
pub fn keep_last(names: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    let mut kept: Vec<String> = names
        .into_iter()
        .rev()
        .filter(|n| seen.insert(n.clone()))
        .collect();
    kept.reverse();
    kept
}

/// Checks an expression used as a condition: it must be a boolean.
pub fn condition(env: &Env<'_, '_>, expr: &Expr, out: &mut Vec<Diagnostic>) {
    let mut env = env.clone();
    env.testing = true;
    let ty = infer(&env, expr, out);
    if !matches!(ty, Ty::Bool | Ty::Any) {
        out.push(
            Diagnostic::error(
                codes::CHECK_NOT_BOOLEAN,
                format!("this condition is {ty}, not a boolean"),
            )
            .with_primary(expr.span, format!("{ty}"))
            .with_help("compare it with something, e.g. `x == \"value\"`, or test a boolean field"),
        );
    }
}

/// Infers an expression's type, reporting unknown names and type errors.
pub fn infer(env: &Env<'_, '_>, expr: &Expr, out: &mut Vec<Diagnostic>) -> Ty {
    match &expr.kind {
        ExprKind::Str { value } => {
            for part in &value.parts {
                if let StrPart::Interpolation { expr } = part {
                    infer(env, expr, out);
                }
            }
            Ty::Str
        }
        ExprKind::Regex { pattern } => {
            check_regex(pattern, expr.span, out);
            Ty::Regex
        }
        ExprKind::Int { .. } => Ty::Int,
        ExprKind::Bool { .. } => Ty::Bool,
        ExprKind::Duration { .. } => Ty::Duration,
        ExprKind::Percent { .. } => Ty::Percent,
        ExprKind::List { items } => {
            let types: Vec<Ty> = items.iter().map(|i| infer(env, i, out)).collect();
            let element = match types.split_first() {
                Some((first, rest)) if rest.iter().all(|t| t == first) => first.clone(),
                _ => Ty::Any,
            };
            Ty::List(Box::new(element))
        }
        ExprKind::Map { entries } => {
            let mut seen: Vec<&Ident> = Vec::new();
            for entry in entries {
                if let Some(first) = seen.iter().find(|k| k.name == entry.key.name) {
                    out.push(super::symbols::duplicate("map key", &entry.key, first.span));
                } else {
                    seen.push(&entry.key);
                }
                infer(env, &entry.value, out);
            }
            Ty::Map
        }
        ExprKind::Path { segments } => path(env, segments, out),
        ExprKind::Unary {
            op: UnaryOp::Not,
            operand,
        } => {
            let ty = infer(env, operand, out);
            expect_bool("`not`", &ty, operand.span, out);
            Ty::Bool
        }
        ExprKind::Binary { op, lhs, rhs } => binary(env, *op, lhs, rhs, out),
    }
}

fn expect_bool(what: &str, ty: &Ty, span: Span, out: &mut Vec<Diagnostic>) {
    if !matches!(ty, Ty::Bool | Ty::Any) {
        out.push(
            Diagnostic::error(
                codes::CHECK_TYPE_MISMATCH,
                format!("{what} needs a boolean, but this is {ty}"),
            )
            .with_primary(span, format!("{ty}")),
        );
    }
}

fn mismatch(message: String, lhs: (&Ty, Span), rhs: (&Ty, Span), help: &str) -> Diagnostic {
    Diagnostic::error(codes::CHECK_TYPE_MISMATCH, message)
        .with_primary(rhs.1, format!("{}", rhs.0))
        .with_secondary(lhs.1, format!("{}", lhs.0))
        .with_help(help.to_string())
}

fn binary(
    env: &Env<'_, '_>,
    op: BinaryOp,
    lhs: &Expr,
    rhs: &Expr,
    out: &mut Vec<Diagnostic>,
) -> Ty {
    let l = infer(env, lhs, out);
    let r = infer(env, rhs, out);
    let sym = op.symbol();
    match op {
        BinaryOp::And | BinaryOp::Or => {
            expect_bool(&format!("`{sym}`"), &l, lhs.span, out);
            expect_bool(&format!("`{sym}`"), &r, rhs.span, out);
        }
        BinaryOp::Eq | BinaryOp::Ne => {
            if !l.compatible(&r) {
                out.push(mismatch(
                    format!("cannot compare {l} with {r}"),
                    (&l, lhs.span),
                    (&r, rhs.span),
                    "both sides of `==` and `!=` must have the same type",
                ));
            }
        }
        BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
            let orderable = |t: &Ty| matches!(t, Ty::Any | Ty::Int | Ty::Duration | Ty::Percent);
            if !orderable(&l) || !orderable(&r) || !l.compatible(&r) {
                out.push(mismatch(
                    format!("cannot order {l} and {r} with `{sym}`"),
                    (&l, lhs.span),
                    (&r, rhs.span),
                    "`<`, `<=`, `>` and `>=` compare two ints, two durations or two percents",
                ));
            }
        }
        BinaryOp::Match | BinaryOp::NotMatch => {
            if !matches!(l, Ty::Str | Ty::Any) {
                out.push(
                    Diagnostic::error(
                        codes::CHECK_TYPE_MISMATCH,
                        format!(
                            "`{sym}` matches a string against a regex, but the left side is {l}"
                        ),
                    )
                    .with_primary(lhs.span, format!("{l}"))
                    .with_help("match a string field, e.g. `output.message ~ /feat: .+/`"),
                );
            }
            if let ExprKind::Regex { pattern } = &rhs.kind {
                super::regexes::anchoring_lint(op, lhs, pattern, rhs.span, out);
            }
            match (&rhs.kind, &r) {
                (_, Ty::Regex | Ty::Any) => {}
                (ExprKind::Str { value }, Ty::Str) => {
                    if let Some(text) = value.as_plain() {
                        check_regex(&text, rhs.span, out);
                    }
                }
                (_, Ty::Str) => {}
                _ => out.push(
                    Diagnostic::error(
                        codes::CHECK_TYPE_MISMATCH,
                        format!("the right side of `{sym}` must be a regex, but it is {r}"),
                    )
                    .with_primary(rhs.span, format!("{r}"))
                    .with_help("write a regex literal such as `/^v[0-9]+/`"),
                ),
            }
        }
        BinaryOp::In => match &r {
            Ty::Any | Ty::Map => {}
            Ty::List(element) if element.compatible(&l) => {}
            Ty::List(element) => out.push(mismatch(
                format!("{l} can never be in {}", Ty::List(element.clone())),
                (&l, lhs.span),
                (&r, rhs.span),
                "the value and the list's elements must have the same type",
            )),
            _ => out.push(
                Diagnostic::error(
                    codes::CHECK_TYPE_MISMATCH,
                    format!("`in` needs a list or map on the right, but this is {r}"),
                )
                .with_primary(rhs.span, format!("{r}")),
            ),
        },
    }
    Ty::Bool
}

/// Reports `pattern` when it does not compile as an anchored regex.
pub(super) fn check_regex(pattern: &str, span: Span, out: &mut Vec<Diagnostic>) {
    if let Err(err) = super::regexes::anchored(pattern) {
        let detail = err.to_string();
        let last = detail
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("invalid regex")
            .trim()
            .trim_start_matches("error: ")
            .to_string();
        out.push(
            Diagnostic::error(codes::CHECK_INVALID_REGEX, format!("invalid regex: {last}"))
                .with_primary(span, "this regex does not compile")
                .with_help("regexes use Rust `regex` syntax; escape special characters with `\\`"),
        );
    }
}

fn path(env: &Env<'_, '_>, segments: &[Ident], out: &mut Vec<Diagnostic>) -> Ty {
    let Some(root) = segments.first() else {
        return Ty::Any;
    };
    match env.get(&root.name) {
        None => {
            let names = env.names();
            out.push(
                Diagnostic::error(
                    codes::CHECK_UNDEFINED_NAME,
                    format!("`{}` is not defined here", root.name),
                )
                .with_primary(root.span, "unknown name")
                .with_help(
                    match suggest::closest(&root.name, names.iter().map(String::as_str)) {
                        Some(best) => format!("did you mean `{best}`?"),
                        None => {
                            let mut names: Vec<&str> = names.iter().map(String::as_str).collect();
                            names.sort_unstable();
                            suggest::listing(
                                &root.name,
                                "names in scope here",
                                "nothing is in scope here",
                                &names,
                            )
                        }
                    },
                ),
            );
            Ty::Any
        }
        Some(Root::Value) => {
            if let Some(c) = env.cancellable(&root.name) {
                out.push(super::cancelled::read(root, c));
            }
            Ty::Any
        }
        Some(Root::MaybeBound(bound)) => {
            out.push(
                Diagnostic::error(
                    codes::CHECK_MAYBE_UNBOUND,
                    format!("`{}` is not bound on every path to here", root.name),
                )
                .with_primary(root.span, "may be unbound here")
                .with_secondary(bound, "bound only on this path")
                .with_help("bind it on every branch (add an `else`), or use it inside the branch that binds it"),
            );
            Ty::Any
        }
        Some(Root::Sibling(bound)) => {
            out.push(
                Diagnostic::error(
                    codes::CHECK_SIBLING_REFERENCE,
                    format!(
                        "`{}` is the result of another branch of the same parallel group",
                        root.name
                    ),
                )
                .with_primary(
                    root.span,
                    "not available yet: branches run at the same time",
                )
                .with_secondary(bound, "bound by a sibling branch")
                .with_help(
                    "move this step after the `parallel` group, or make the two steps sequential",
                ),
            );
            Ty::Any
        }
        Some(Root::Builtin(object, sites)) => {
            super::scope::field_type(root, object, &sites, segments, out)
        }
        Some(Root::Signal(signals)) => signal_field(signals.as_deref(), segments, out),
        Some(Root::Outputs(declared)) => {
            if let Some(c) = env.cancellable(&root.name) {
                out.push(super::cancelled::read(root, c));
            }
            declared.field(segments, out)
        }
    }
}

fn signal_field(
    signals: Option<&[&SignalDecl]>,
    segments: &[Ident],
    out: &mut Vec<Diagnostic>,
) -> Ty {
    let Some(field) = segments.get(1) else {
        return Ty::Map;
    };
    if field.name == "name" {
        return Ty::Str;
    }
    let Some(signals) = signals.filter(|s| !s.is_empty()) else {
        return Ty::Any;
    };
    let mut ty: Option<Ty> = None;
    for signal in signals {
        match signal.fields.iter().find(|f| f.name.name == field.name) {
            None => {
                let names = signal
                    .fields
                    .iter()
                    .map(|f| f.name.name.as_str())
                    .chain(["name"]);
                out.push(
                    Diagnostic::error(
                        codes::CHECK_UNDEFINED_FIELD,
                        format!(
                            "signal `{}` has no field `{}`",
                            signal.name.name, field.name
                        ),
                    )
                    .with_primary(field.span, "unknown field")
                    .with_secondary(signal.name.span, "signal declared here")
                    .with_help(suggest::help(&field.name, "field", names)),
                );
                return Ty::Any;
            }
            Some(decl) => {
                let mut sink = Vec::new();
                let this = declared_type(&decl.ty, &mut sink);
                ty = match ty {
                    None => Some(this),
                    Some(prev) if prev == this => Some(prev),
                    Some(_) => Some(Ty::Any),
                };
            }
        }
    }
    if segments.len() > 2 {
        return Ty::Any;
    }
    ty.unwrap_or(Ty::Any)
}
