//! Comments beside the syntax tree: the lossless layer for tools that rewrite
//! or annotate source text (`coordops fmt`, the language server).
//!
//! The AST keeps no comments. [`parse_with_comments`](super::parse_with_comments)
//! returns them in a [`Comments`] table instead, each with its byte span, so a
//! tool attaches them to the nearest node by position. They are found from
//! the parse itself: every byte not covered by a token is whitespace,
//! punctuation or a comment, and no punctuation contains `#`, so a `#` there
//! always starts one.

use pest::iterators::Pair;

use super::grammar::Rule;
use crate::ast::Span;

/// One `#` comment, from `#` to the end of its line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    /// From `#` to the last byte before the line break.
    pub span: Span,
    /// The text as written, `#` included, trailing spaces removed.
    pub text: String,
    /// Whether code precedes it on its line (`timeout 30s  # why`).
    pub trailing: bool,
}

/// Every comment of one file, in source order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Comments {
    list: Vec<Comment>,
}

impl Comments {
    /// All comments in source order.
    pub fn all(&self) -> &[Comment] {
        &self.list
    }

    /// The comments that start inside `span`, in source order.
    pub fn within(&self, span: Span) -> &[Comment] {
        let from = self.list.partition_point(|c| c.span.start < span.start);
        let to = self.list.partition_point(|c| c.span.start < span.end);
        &self.list[from..to.max(from)]
    }

    /// Whether the file has no comment.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// Collects the comments of `text`, whose parse is `playbook`.
pub(super) fn collect(text: &str, playbook: &Pair<'_, Rule>) -> Comments {
    let mut list = Vec::new();
    let mut covered = 0;
    for pair in playbook.clone().into_inner().flatten() {
        if pair.clone().into_inner().next().is_some() {
            continue;
        }
        let span = pair.as_span();
        gap(text, covered, span.start(), &mut list);
        covered = covered.max(span.end());
    }
    gap(text, covered, text.len(), &mut list);
    Comments { list }
}

/// Finds the comments in `text[from..to]`, a stretch between tokens.
fn gap(text: &str, from: usize, to: usize, list: &mut Vec<Comment>) {
    let Some(stretch) = text.get(from..to) else {
        return;
    };
    let mut offset = 0;
    while let Some(hash) = stretch[offset..].find('#') {
        let start = offset + hash;
        let len = stretch[start..]
            .find(['\n', '\r'])
            .unwrap_or(stretch.len() - start);
        let raw = &stretch[start..start + len];
        let line_start = text[..from + start].rfind('\n').map_or(0, |i| i + 1);
        let trailing = !text[line_start..from + start].trim().is_empty();
        let body = raw.trim_end();
        list.push(Comment {
            span: Span::new(from + start, from + start + body.len()),
            text: body.to_string(),
            trailing,
        });
        offset = start + len;
    }
}

#[cfg(test)]
mod tests {
    use crate::source::SourceFile;

    fn comments(text: &str) -> Vec<(String, bool)> {
        let (parsed, comments) = super::super::parse_with_comments(&SourceFile::new("t.ops", text));
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        comments
            .all()
            .iter()
            .map(|c| {
                assert_eq!(&text[c.span.start..c.span.end], c.text);
                (c.text.clone(), c.trailing)
            })
            .collect()
    }

    #[test]
    fn finds_own_line_and_trailing_comments_but_not_hashes_in_text() {
        let text = "# head\nagent A \"a # b\" { # open\n  task t   # why  \n  check c: output.x ~ /#x/\n}\n# tail";
        assert_eq!(
            comments(text),
            [
                ("# head".to_string(), false),
                ("# open".to_string(), true),
                ("# why".to_string(), true),
                ("# tail".to_string(), false),
            ]
        );
    }

    #[test]
    fn hashes_in_interpolations_and_step_targets_are_text() {
        let text = "workflow w { fail \"{ \"#\" }\" }\ntest \"t\" {\n  given step a.1[x = \"#\"] succeeds # c\n}\n";
        assert_eq!(comments(text), [("# c".to_string(), true)]);
    }

    #[test]
    fn within_selects_by_start() {
        let text = "# a\nlock l # b\n# c\n";
        let (_, all) = super::super::parse_with_comments(&SourceFile::new("t.ops", text));
        let inside = all.within(crate::ast::Span::new(4, 12));
        assert_eq!(inside.len(), 1);
        assert_eq!(inside[0].text, "# b");
    }
}
