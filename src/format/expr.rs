//! Expressions, calls and the bracketed groups that break across lines:
//! argument lists, lists, maps and field blocks.
//!
//! A group is printed on one line when it was written on one line and fits;
//! otherwise one entry per line, without commas. Operators get one space on
//! each side; parentheses are kept where the author wrote them around an
//! operation and added where precedence needs them.

use super::printer::Printer;
use crate::ast::{BinaryOp, Call, Expr, ExprKind, FieldDecl, Span};

/// Binding strength: `or` < `and` < `not` < comparisons.
fn precedence(op: BinaryOp) -> u8 {
    match op {
        BinaryOp::Or => 1,
        BinaryOp::And => 2,
        _ => 4,
    }
}
const NOT: u8 = 3;

/// Whether the parentheses of `text` (outside strings and regexes) pair up,
/// so that a `(` before it and a `)` after it enclose exactly it.
fn balanced(text: &str) -> bool {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in text.chars() {
        match (quote, c) {
            _ if escaped => escaped = false,
            (Some(_), '\\') => escaped = true,
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '/') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return false,
            },
            _ => {}
        }
    }
    depth == 0
}

/// Where a sub-expression sits, for deciding on parentheses.
#[derive(Clone, Copy)]
enum Slot {
    Left(u8),
    Right(u8),
    Operand,
}

impl Printer<'_> {
    /// Whether the author wrote parentheses right around `span`.
    fn parenthesised(&self, span: Span) -> bool {
        let before = self.slice(Span::new(0, span.start)).trim_end();
        let after = self.rest(span.end).trim_start();
        before.ends_with('(') && after.starts_with(')') && balanced(self.slice(span))
    }

    fn needs_parens(&self, e: &Expr, slot: Slot) -> bool {
        let own = match &e.kind {
            ExprKind::Binary { op, .. } => precedence(*op),
            ExprKind::Unary { .. } => NOT,
            _ => return false,
        };
        if self.parenthesised(e.span) {
            return true;
        }
        match slot {
            Slot::Left(parent) => own < parent,
            Slot::Right(parent) => own <= parent,
            Slot::Operand => own < NOT,
        }
    }

    /// An expression on one line, whatever its length.
    pub(super) fn flat(&self, e: &Expr) -> String {
        match &e.kind {
            ExprKind::List { items } if !items.is_empty() => {
                let items: Vec<String> = items.iter().map(|i| self.flat(i)).collect();
                format!("[{}]", items.join(", "))
            }
            ExprKind::List { .. } => "[]".into(),
            ExprKind::Map { entries } if !entries.is_empty() => {
                let entries: Vec<String> = entries
                    .iter()
                    .map(|m| format!("{}: {}", self.slice(m.key.span), self.flat(&m.value)))
                    .collect();
                format!("{{ {} }}", entries.join(", "))
            }
            ExprKind::Map { .. } => "{}".into(),
            ExprKind::Path { segments } => {
                let names: Vec<&str> = segments.iter().map(|s| s.name.as_str()).collect();
                names.join(".")
            }
            ExprKind::Unary { operand, .. } => {
                format!("not {}", self.flat_in(operand, Slot::Operand))
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let p = precedence(*op);
                format!(
                    "{} {} {}",
                    self.flat_in(lhs, Slot::Left(p)),
                    op.symbol(),
                    self.flat_in(rhs, Slot::Right(p))
                )
            }
            _ => self.slice(e.span).to_string(),
        }
    }

    fn flat_in(&self, e: &Expr, slot: Slot) -> String {
        let text = self.flat(e);
        if self.needs_parens(e, slot) {
            format!("({text})")
        } else {
            text
        }
    }

    /// Prints an expression, breaking the lists and maps in it that were
    /// written across lines or do not fit.
    pub(super) fn expr(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::List { items } if !items.is_empty() && self.breaks(e.span, &self.flat(e)) => {
                let close = e.span.end.saturating_sub(1);
                self.open("[");
                for item in items {
                    self.start(item.span.start, false);
                    self.expr(item);
                    self.newline();
                }
                self.close(close, "]");
            }
            ExprKind::Map { entries }
                if !entries.is_empty() && self.breaks(e.span, &self.flat(e)) =>
            {
                let close = e.span.end.saturating_sub(1);
                self.open("{");
                for entry in entries {
                    self.start(entry.key.span.start, false);
                    self.token(entry.key.span);
                    self.write(": ");
                    self.expr(&entry.value);
                    self.newline();
                }
                self.close(close, "}");
            }
            ExprKind::Unary { operand, .. } => {
                self.write("not ");
                self.expr_in(operand, Slot::Operand);
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let p = precedence(*op);
                self.expr_in(lhs, Slot::Left(p));
                self.write(" ");
                self.write(op.symbol());
                self.write(" ");
                self.expr_in(rhs, Slot::Right(p));
            }
            _ => {
                let text = self.flat(e);
                self.write(&text);
                self.touch(e.span.end);
            }
        }
    }

    fn expr_in(&mut self, e: &Expr, slot: Slot) {
        let parens = self.needs_parens(e, slot);
        if parens {
            self.write("(");
        }
        self.expr(e);
        if parens {
            self.write(")");
        }
    }

    /// Whether a group written at `span` breaks: it was written across lines
    /// or `flat` does not fit.
    fn breaks(&self, span: Span, flat: &str) -> bool {
        self.has_newline(span.start, span.end) || !self.fits(flat)
    }

    /// `AGENT.task(name: value, …)`; `()` is always written.
    pub(super) fn call(&mut self, call: &Call) {
        self.token(call.agent.span);
        self.write(".");
        self.token(call.task.span);
        let args: Vec<String> = call
            .args
            .iter()
            .map(|a| format!("{}: {}", a.name.name, self.flat(&a.value)))
            .collect();
        let flat = format!("({})", args.join(", "));
        let group = Span::new(call.task.span.end, call.span.end);
        if call.args.is_empty() || !self.breaks(group, &flat) {
            self.write(&flat);
            self.touch(call.span.end);
            return;
        }
        self.open("(");
        for arg in &call.args {
            self.start(arg.name.span.start, false);
            self.token(arg.name.span);
            self.write(": ");
            self.expr(&arg.value);
            self.newline();
        }
        self.close(call.span.end.saturating_sub(1), ")");
    }

    /// ` { name: type = default, … }` of a signal or an `outputs` block
    /// ending at `close`; nothing for a signal without fields.
    pub(super) fn fields(&mut self, fields: &[FieldDecl], group: Span, close: usize) {
        let flat: Vec<String> = fields.iter().map(|f| self.flat_field(f)).collect();
        let flat = if flat.is_empty() {
            " {}".to_string()
        } else {
            format!(" {{ {} }}", flat.join(", "))
        };
        if !self.breaks(group, &flat) || fields.is_empty() && !self.comment_before(close) {
            self.write(&flat);
            self.touch(close + 1);
            return;
        }
        self.open(" {");
        for field in fields {
            self.start(field.span.start, false);
            self.token(field.name.span);
            self.write(": ");
            self.write(&field.ty.to_string());
            self.touch(field.ty.span.end);
            if let Some(default) = &field.default {
                self.write(" = ");
                self.expr(default);
            }
            self.newline();
        }
        self.close(close, "}");
    }

    fn flat_field(&self, field: &FieldDecl) -> String {
        match &field.default {
            Some(d) => format!("{}: {} = {}", field.name.name, field.ty, self.flat(d)),
            None => format!("{}: {}", field.name.name, field.ty),
        }
    }
}
