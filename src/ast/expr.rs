//! Expressions: literals, paths, lists, maps and operators.

use serde::Serialize;

use super::{Ident, Span};

/// An expression with its span.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Expr {
    /// What kind of expression it is.
    #[serde(flatten)]
    pub kind: ExprKind,
    /// Where it was written.
    pub span: Span,
}

/// The kinds of expression.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "expr", rename_all = "snake_case")]
pub enum ExprKind {
    /// `"text {interpolated}"`
    Str {
        /// The string's parts.
        value: StrLit,
    },
    /// `/regex/`
    Regex {
        /// The pattern between the slashes, escapes kept as written.
        pattern: String,
    },
    /// `42`
    Int {
        /// The value.
        value: i64,
    },
    /// `true` / `false`
    Bool {
        /// The value.
        value: bool,
    },
    /// `30s`
    Duration {
        /// The value in milliseconds.
        millis: u64,
    },
    /// `80%`
    Percent {
        /// The value.
        value: u64,
    },
    /// `[a, b]`
    List {
        /// The elements.
        items: Vec<Expr>,
    },
    /// `{ key: value }`
    Map {
        /// The entries in source order.
        entries: Vec<MapEntry>,
    },
    /// `signal.version`, `commit.hash`, `f`
    Path {
        /// The segments.
        segments: Vec<Ident>,
    },
    /// `not x`
    Unary {
        /// The operator.
        op: UnaryOp,
        /// The operand.
        operand: Box<Expr>,
    },
    /// `a == b`, `a and b`, `a ~ /re/`
    Binary {
        /// The operator.
        op: BinaryOp,
        /// Left operand.
        lhs: Box<Expr>,
        /// Right operand.
        rhs: Box<Expr>,
    },
}

/// A map entry `key: value`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MapEntry {
    /// The key (a name or a quoted string).
    pub key: Ident,
    /// The value.
    pub value: Expr,
}

/// Prefix operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnaryOp {
    /// `not`
    Not,
}

/// Infix operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BinaryOp {
    /// `or`
    Or,
    /// `and`
    And,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `~` (regex match)
    Match,
    /// `!~` (regex does not match)
    NotMatch,
    /// `in` (membership in a list)
    In,
}

impl BinaryOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "or",
            BinaryOp::And => "and",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Match => "~",
            BinaryOp::NotMatch => "!~",
            BinaryOp::In => "in",
        }
    }
}

/// A string literal, split into text and `{expr}` parts.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StrLit {
    /// The parts in order; escapes are already decoded.
    pub parts: Vec<StrPart>,
    /// The whole literal, quotes included.
    pub span: Span,
}

impl StrLit {
    /// The text if the string has no interpolation.
    pub fn as_plain(&self) -> Option<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                StrPart::Text { text } => out.push_str(text),
                StrPart::Interpolation { .. } => return None,
            }
        }
        Some(out)
    }
}

/// One part of a string literal.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "part", rename_all = "snake_case")]
pub enum StrPart {
    /// Literal text.
    Text {
        /// The decoded text.
        text: String,
    },
    /// `{expr}`
    Interpolation {
        /// The interpolated expression.
        expr: Expr,
    },
}

impl Expr {
    /// Calls `f` with the segments of every path in the expression.
    pub fn visit_paths<'a>(&'a self, f: &mut impl FnMut(&'a [Ident])) {
        match &self.kind {
            ExprKind::Path { segments } => f(segments),
            ExprKind::Str { value } => value.visit_paths(f),
            ExprKind::List { items } => items.iter().for_each(|i| i.visit_paths(f)),
            ExprKind::Map { entries } => entries.iter().for_each(|e| e.value.visit_paths(f)),
            ExprKind::Unary { operand, .. } => operand.visit_paths(f),
            ExprKind::Binary { lhs, rhs, .. } => {
                lhs.visit_paths(f);
                rhs.visit_paths(f);
            }
            _ => {}
        }
    }

    /// Whether the expression mentions `name` as the root of a path.
    pub fn mentions(&self, name: &str) -> bool {
        let mut found = false;
        self.visit_paths(&mut |segments| {
            found |= segments.first().is_some_and(|s| s.name == name);
        });
        found
    }
}

impl StrLit {
    /// Calls `f` with the segments of every path in the interpolations.
    pub fn visit_paths<'a>(&'a self, f: &mut impl FnMut(&'a [Ident])) {
        for part in &self.parts {
            if let StrPart::Interpolation { expr } = part {
                expr.visit_paths(f);
            }
        }
    }
}
