//! Lowering: pest pairs → AST.
//!
//! One function per construct, grouped by file. The grammar guarantees each
//! rule's shape; a [`Cursor`] walks a rule's children and turns any surprise
//! into an `ops::parse::internal` diagnostic instead of a panic. Literal
//! values that the grammar cannot bound (numbers too large, unknown escapes)
//! become ordinary diagnostics.

mod decl;
mod expr;
mod stmt;
mod test_case;

use pest::iterators::{Pair, Pairs};

use super::comment_start;
use super::grammar::Rule;
use crate::ast::{
    DurationLit, Ident, IntLit, Item, PercentLit, Playbook, Span, StrLit, TestFile, TestsHeader,
};
use crate::diagnostics::{codes, Diagnostic};

/// Result of lowering one construct.
pub(super) type Lowered<T> = Result<T, Diagnostic>;

/// Code for a grammar/lowering mismatch: a bug in coordops, not the playbook.
pub const INTERNAL: &str = "ops::parse::internal";

/// Lowers a successful parse of the `playbook` rule.
pub(super) fn playbook(pair: Pair<'_, Rule>) -> Lowered<Playbook> {
    // The playbook covers the whole file, trailing comments included.
    let span = Span::new(pair.as_span().start(), pair.as_span().end());
    let mut items = Vec::new();
    for child in pair.into_inner() {
        if let Some(item) = item(child)? {
            items.push(item);
        }
    }
    Ok(Playbook { items, span })
}

/// Lowers a successful parse of the `test_file` rule.
pub(super) fn test_file(pair: Pair<'_, Rule>) -> Lowered<TestFile> {
    let span = Span::new(pair.as_span().start(), pair.as_span().end());
    let mut file = TestFile {
        headers: Vec::new(),
        items: Vec::new(),
        span,
    };
    for child in pair.into_inner() {
        if child.as_rule() == Rule::tests_header {
            let header_span = span_of(&child);
            let mut cursor = Cursor::new(child);
            cursor.next(Rule::kw_tests)?;
            let path = expr::string(cursor.next(Rule::string)?)?;
            file.headers.push(TestsHeader {
                path,
                span: header_span,
            });
        } else if let Some(item) = item(child)? {
            file.items.push(item);
        }
    }
    Ok(file)
}

/// One top-level declaration; `None` at the end of the input.
fn item(child: Pair<'_, Rule>) -> Lowered<Option<Item>> {
    Ok(Some(match child.as_rule() {
        Rule::coordinator => Item::Coordinator(decl::coordinator(child)?),
        Rule::agent => Item::Agent(decl::agent(child)?),
        Rule::signal_decl => Item::Signal(decl::signal(child)?),
        Rule::route => Item::Route(decl::route(child)?),
        Rule::workflow => Item::Workflow(stmt::workflow(child)?),
        Rule::lock_decl => Item::Lock(decl::lock(child)?),
        Rule::escalation_rule => {
            Item::Rule(stmt::handler(Cursor::new(child).next(Rule::handler)?)?)
        }
        Rule::test => Item::Test(test_case::test(child)?),
        Rule::EOI => return Ok(None),
        other => return Err(unexpected(&child, &format!("a declaration, not {other:?}"))),
    }))
}

/// Walks the children of one pair.
pub(super) struct Cursor<'i> {
    inner: std::iter::Peekable<Pairs<'i, Rule>>,
    parent: Span,
}

impl<'i> Cursor<'i> {
    pub(super) fn new(pair: Pair<'i, Rule>) -> Self {
        let parent = span_of(&pair);
        Cursor {
            inner: pair.into_inner().peekable(),
            parent,
        }
    }

    /// The next child, which must be `rule`.
    pub(super) fn next(&mut self, rule: Rule) -> Lowered<Pair<'i, Rule>> {
        match self.inner.next() {
            Some(pair) if pair.as_rule() == rule => Ok(pair),
            Some(pair) => Err(unexpected(&pair, &format!("{rule:?}"))),
            None => Err(internal(self.parent, &format!("missing {rule:?}"))),
        }
    }

    /// The next child if it is `rule`.
    pub(super) fn optional(&mut self, rule: Rule) -> Option<Pair<'i, Rule>> {
        if self.peek_rule() == Some(rule) {
            self.inner.next()
        } else {
            None
        }
    }

    /// The rule of the next child.
    pub(super) fn peek_rule(&mut self) -> Option<Rule> {
        self.inner.peek().map(|p| p.as_rule())
    }

    /// The next child, whatever it is.
    pub(super) fn any(&mut self) -> Lowered<Pair<'i, Rule>> {
        self.inner
            .next()
            .ok_or_else(|| internal(self.parent, "missing child"))
    }

    /// All remaining children.
    pub(super) fn rest(self) -> impl Iterator<Item = Pair<'i, Rule>> {
        self.inner
    }
}

/// The pair's span without the whitespace and comments pest includes after
/// a rule that ends in an optional or repeated part.
pub(super) fn span_of(pair: &Pair<'_, Rule>) -> Span {
    let s = pair.as_span();
    // Trailing trivia ends in whitespace, or in a comment at the end of the
    // file: anything else needs no trimming (most pairs).
    let raw = s.as_str();
    if s.end() < pair.get_input().len() && !raw.ends_with(|c: char| c.is_whitespace()) {
        return Span::new(s.start(), s.end());
    }
    let text = trim_trivia(raw);
    Span::new(s.start(), s.start() + text.len())
}

/// `text` without trailing whitespace and `#` comments.
fn trim_trivia(text: &str) -> &str {
    let mut text = text.trim_end();
    loop {
        let line_start = text.rfind('\n').map_or(0, |i| i + 1);
        match comment_start(&text[line_start..]) {
            Some(hash) => text = text[..line_start + hash].trim_end(),
            None => return text,
        }
    }
}

pub(super) fn internal(span: Span, what: &str) -> Diagnostic {
    Diagnostic::error(INTERNAL, format!("internal parser error: {what}"))
        .with_primary(span, "while reading this")
        .with_help("this is a bug in coordops; please report it with the playbook")
}

pub(super) fn unexpected(pair: &Pair<'_, Rule>, expected: &str) -> Diagnostic {
    internal(
        span_of(pair),
        &format!("expected {expected}, found {:?}", pair.as_rule()),
    )
}

pub(super) fn ident(pair: Pair<'_, Rule>) -> Ident {
    Ident {
        name: pair.as_str().to_string(),
        span: span_of(&pair),
    }
}

pub(super) fn doc(cursor: &mut Cursor<'_>) -> Lowered<Option<StrLit>> {
    match cursor.optional(Rule::doc) {
        Some(doc) => Ok(Some(expr::string(Cursor::new(doc).next(Rule::string)?)?)),
        None => Ok(None),
    }
}

fn too_large(span: Span, what: &str) -> Diagnostic {
    Diagnostic::error(
        codes::PARSE_NUMBER_TOO_LARGE,
        format!("this {what} is too large"),
    )
    .with_primary(span, "too large")
}

pub(super) fn integer(pair: Pair<'_, Rule>) -> Lowered<IntLit> {
    let span = span_of(&pair);
    let value = pair
        .as_str()
        .parse::<i64>()
        .map_err(|_| too_large(span, "number").with_help("numbers must fit in 64 bits"))?;
    Ok(IntLit { value, span })
}

pub(super) fn percent(pair: Pair<'_, Rule>) -> Lowered<PercentLit> {
    let span = span_of(&pair);
    let value = pair
        .as_str()
        .trim_end_matches('%')
        .parse::<u64>()
        .map_err(|_| too_large(span, "percentage"))?;
    Ok(PercentLit { value, span })
}

pub(super) fn duration(pair: Pair<'_, Rule>) -> Lowered<DurationLit> {
    let span = span_of(&pair);
    let millis = crate::syntax::parse_duration(pair.as_str()).ok_or_else(|| {
        too_large(span, "duration").with_help("durations are limited to 365 days (`365d`)")
    })?;
    Ok(DurationLit { millis, span })
}

#[cfg(test)]
mod tests {
    #[test]
    fn trivia_is_trimmed() {
        assert_eq!(super::trim_trivia("task a   # note\n  "), "task a");
        assert_eq!(super::trim_trivia("x \"#\" # c\n # d\n"), "x \"#\"");
        assert_eq!(super::trim_trivia("/a#b/"), "/a#b/");
    }
}
