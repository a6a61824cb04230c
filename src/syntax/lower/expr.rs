//! Lowering of expressions and string literals.

use std::sync::OnceLock;

use pest::iterators::Pair;
use pest::pratt_parser::{Assoc, Op, PrattParser};

use super::{duration, ident, integer, percent, span_of, unexpected, Cursor, Lowered};
use crate::ast::{BinaryOp, Expr, ExprKind, Ident, MapEntry, Span, StrLit, StrPart, UnaryOp};
use crate::diagnostics::{codes, Diagnostic};
use crate::syntax::grammar::Rule;
use crate::syntax::MAX_OPERATORS;

fn pratt() -> &'static PrattParser<Rule> {
    static PRATT: OnceLock<PrattParser<Rule>> = OnceLock::new();
    PRATT.get_or_init(|| {
        PrattParser::new()
            .op(Op::infix(Rule::op_or, Assoc::Left))
            .op(Op::infix(Rule::op_and, Assoc::Left))
            .op(Op::prefix(Rule::op_not))
            .op(Op::infix(Rule::op_eq, Assoc::Left)
                | Op::infix(Rule::op_ne, Assoc::Left)
                | Op::infix(Rule::op_lt, Assoc::Left)
                | Op::infix(Rule::op_le, Assoc::Left)
                | Op::infix(Rule::op_gt, Assoc::Left)
                | Op::infix(Rule::op_ge, Assoc::Left)
                | Op::infix(Rule::op_match, Assoc::Left)
                | Op::infix(Rule::op_not_match, Assoc::Left)
                | Op::infix(Rule::op_in, Assoc::Left))
    })
}

fn is_operator(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::op_not
            | Rule::op_or
            | Rule::op_and
            | Rule::op_eq
            | Rule::op_ne
            | Rule::op_lt
            | Rule::op_le
            | Rule::op_gt
            | Rule::op_ge
            | Rule::op_match
            | Rule::op_not_match
            | Rule::op_in
    )
}

/// Lowers an `expr` pair.
pub(crate) fn expr(pair: Pair<'_, Rule>) -> Lowered<Expr> {
    let operators: Vec<Span> = pair
        .clone()
        .into_inner()
        .filter(|p| is_operator(p.as_rule()))
        .map(|p| span_of(&p))
        .collect();
    if let Some(first_over) = operators.get(MAX_OPERATORS) {
        let operators = operators.len();
        return Err(Diagnostic::error(
            codes::PARSE_EXPRESSION_TOO_LONG,
            format!("expression too long: {operators} operators, the limit is {MAX_OPERATORS}"),
        )
        .with_primary(
            *first_over,
            format!("operator {} of {operators}", MAX_OPERATORS + 1),
        )
        .with_help("split it with `let`, or test membership with `x in [a, b, c]`"));
    }
    pratt()
        .map_primary(primary)
        .map_prefix(|op, operand| {
            let operand = operand?;
            let span = span_of(&op).join(operand.span);
            match op.as_rule() {
                Rule::op_not => Ok(Expr {
                    kind: ExprKind::Unary {
                        op: UnaryOp::Not,
                        operand: Box::new(operand),
                    },
                    span,
                }),
                _ => Err(unexpected(&op, "a prefix operator")),
            }
        })
        .map_infix(|lhs, op, rhs| {
            let (lhs, rhs) = (lhs?, rhs?);
            let op = match op.as_rule() {
                Rule::op_or => BinaryOp::Or,
                Rule::op_and => BinaryOp::And,
                Rule::op_eq => BinaryOp::Eq,
                Rule::op_ne => BinaryOp::Ne,
                Rule::op_lt => BinaryOp::Lt,
                Rule::op_le => BinaryOp::Le,
                Rule::op_gt => BinaryOp::Gt,
                Rule::op_ge => BinaryOp::Ge,
                Rule::op_match => BinaryOp::Match,
                Rule::op_not_match => BinaryOp::NotMatch,
                Rule::op_in => BinaryOp::In,
                _ => return Err(unexpected(&op, "an operator")),
            };
            let span = lhs.span.join(rhs.span);
            Ok(Expr {
                kind: ExprKind::Binary {
                    op,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                },
                span,
            })
        })
        .parse(pair.into_inner())
}

/// A primary expression: a literal, a path, a list, a map or a bracketed
/// expression.
pub(super) fn primary(pair: Pair<'_, Rule>) -> Lowered<Expr> {
    let span = span_of(&pair);
    let kind = match pair.as_rule() {
        Rule::expr => return expr(pair),
        Rule::duration => ExprKind::Duration {
            millis: duration(pair)?.millis,
        },
        Rule::percent => ExprKind::Percent {
            value: percent(pair)?.value,
        },
        Rule::integer => ExprKind::Int {
            value: integer(pair)?.value,
        },
        Rule::boolean => ExprKind::Bool {
            value: pair.as_str() == "true",
        },
        Rule::string => ExprKind::Str {
            value: string(pair)?,
        },
        Rule::regex => {
            let text = pair.as_str();
            ExprKind::Regex {
                pattern: text[1..text.len() - 1].to_string(),
            }
        }
        Rule::list => ExprKind::List {
            items: pair.into_inner().map(expr).collect::<Lowered<_>>()?,
        },
        Rule::map => ExprKind::Map {
            entries: map_entries(pair)?,
        },
        Rule::path => ExprKind::Path {
            segments: pair.into_inner().map(ident).collect(),
        },
        _ => return Err(unexpected(&pair, "an expression")),
    };
    Ok(Expr { kind, span })
}

fn map_entries(pair: Pair<'_, Rule>) -> Lowered<Vec<MapEntry>> {
    pair.into_inner()
        .map(|entry| {
            let mut c = Cursor::new(entry);
            let key_pair = c.any()?;
            let key = match key_pair.as_rule() {
                Rule::name => ident(key_pair),
                Rule::string => {
                    let span = span_of(&key_pair);
                    let lit = string(key_pair)?;
                    let name = lit.as_plain().ok_or_else(|| {
                        Diagnostic::error(
                            codes::PARSE_INTERPOLATED_KEY,
                            "map keys cannot contain `{…}` interpolation",
                        )
                        .with_primary(span, "interpolated key")
                        .with_help("write the key as plain text")
                    })?;
                    Ident { name, span }
                }
                _ => return Err(unexpected(&key_pair, "a map key")),
            };
            let value = expr(c.next(Rule::expr)?)?;
            Ok(MapEntry { key, value })
        })
        .collect()
}

/// Lowers a `map` pair into a map expression.
pub(crate) fn map(pair: Pair<'_, Rule>) -> Lowered<Expr> {
    let span = span_of(&pair);
    Ok(Expr {
        kind: ExprKind::Map {
            entries: map_entries(pair)?,
        },
        span,
    })
}

/// Lowers a `string` pair, decoding escapes.
pub(crate) fn string(pair: Pair<'_, Rule>) -> Lowered<StrLit> {
    let span = span_of(&pair);
    let mut parts: Vec<StrPart> = Vec::new();
    let mut text = String::new();
    for part in pair.into_inner() {
        match part.as_rule() {
            Rule::str_text => text.push_str(part.as_str()),
            Rule::str_escape => text.push(unescape(&part)?),
            Rule::interpolation => {
                if !text.is_empty() {
                    parts.push(StrPart::Text {
                        text: std::mem::take(&mut text),
                    });
                }
                let inner = Cursor::new(part).next(Rule::expr)?;
                parts.push(StrPart::Interpolation { expr: expr(inner)? });
            }
            _ => return Err(unexpected(&part, "string content")),
        }
    }
    if !text.is_empty() || parts.is_empty() {
        parts.push(StrPart::Text { text });
    }
    Ok(StrLit { parts, span })
}

fn unescape(pair: &Pair<'_, Rule>) -> Lowered<char> {
    let text = pair.as_str();
    let bad = |span: Span| {
        Diagnostic::error(codes::PARSE_INVALID_ESCAPE, "invalid unicode escape")
            .with_primary(span, "not a Unicode scalar value")
            .with_help("write a code point such as `\\u{e9}` (surrogates are not allowed)")
    };
    Ok(match text {
        "\\\"" => '"',
        "\\\\" => '\\',
        "\\n" => '\n',
        "\\t" => '\t',
        "\\r" => '\r',
        "\\{" => '{',
        "\\}" => '}',
        _ => {
            let hex = text
                .strip_prefix("\\u{")
                .and_then(|t| t.strip_suffix('}'))
                .ok_or_else(|| unexpected(pair, "an escape"))?;
            u32::from_str_radix(hex, 16)
                .ok()
                .and_then(char::from_u32)
                .ok_or_else(|| bad(span_of(pair)))?
        }
    })
}
