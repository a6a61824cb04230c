//! A lexical pre-scan run before pest.
//!
//! It follows strings (with their `{expr}` interpolations), regexes, comments
//! and brackets, and reports the first of: an unterminated string or regex, an
//! unclosed or mismatched bracket, or nesting deeper than
//! [`MAX_NESTING`](super::MAX_NESTING). Because depth is bounded here, no
//! input reaches the recursive parts of the parser (pest itself, lowering,
//! dropping the AST) deeper than that limit.

use crate::ast::Span;
use crate::diagnostics::{codes, Diagnostic};

use super::MAX_NESTING;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Open {
    Brace,
    Bracket,
    Paren,
    /// `{` inside a string: returns to the string at its `}`.
    Interpolation {
        string_start: usize,
    },
}

impl Open {
    fn closer(self) -> char {
        match self {
            Open::Brace | Open::Interpolation { .. } => '}',
            Open::Bracket => ']',
            Open::Paren => ')',
        }
    }

    fn opener(self) -> char {
        match self {
            Open::Brace | Open::Interpolation { .. } => '{',
            Open::Bracket => '[',
            Open::Paren => '(',
        }
    }
}

/// Scans `text` and returns the first lexical problem, if any.
pub fn scan(text: &str) -> Option<Diagnostic> {
    let bytes = text.as_bytes();
    let mut stack: Vec<(Open, usize)> = Vec::new();
    // Start of the string being read, if inside one.
    let mut in_string: Option<usize> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if let Some(start) = in_string {
            match b {
                // Skip the escaped character unless it ends the line; the
                // grammar reports bad escapes.
                b'\\' if i + 1 < bytes.len() && !is_newline(bytes[i + 1]) => i += 1,
                b'"' => in_string = None,
                b'{' => {
                    stack.push((
                        Open::Interpolation {
                            string_start: start,
                        },
                        i,
                    ));
                    in_string = None;
                    if stack.len() > MAX_NESTING {
                        return Some(too_deep(i));
                    }
                }
                b'\n' | b'\r' => return Some(unterminated(text, start, &stack)),
                _ => {}
            }
            i += 1;
            continue;
        }
        if is_newline(b) {
            if let Some(&(Open::Interpolation { string_start }, _)) = stack.last() {
                return Some(unterminated(text, string_start, &stack));
            }
        }
        match b {
            b'#' => {
                while i < bytes.len() && !is_newline(bytes[i]) {
                    i += 1;
                }
                continue;
            }
            b'"' => in_string = Some(i),
            // `// …` is not a comment, but the parser says so (at the `//`)
            // better than a lexical error inside the would-be comment.
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && !is_newline(bytes[i]) {
                    i += 1;
                }
                continue;
            }
            b'/' => match regex_end(bytes, i) {
                Some(end) => i = end,
                None => return Some(unterminated_regex(text, i)),
            },
            b'{' | b'[' | b'(' => {
                let open = match b {
                    b'{' => Open::Brace,
                    b'[' => Open::Bracket,
                    _ => Open::Paren,
                };
                stack.push((open, i));
                if stack.len() > MAX_NESTING {
                    return Some(too_deep(i));
                }
            }
            b'}' | b']' | b')' => {
                let found = b as char;
                match stack.pop() {
                    None => return Some(unmatched_closer(i, found)),
                    Some((open, at)) if open.closer() != found => {
                        return Some(mismatched(at, open, i, found));
                    }
                    Some((Open::Interpolation { string_start }, _)) => {
                        in_string = Some(string_start);
                    }
                    Some(_) => {}
                }
            }
            _ => {}
        }
        i += 1;
    }
    if let Some(start) = in_string {
        return Some(unterminated(text, start, &stack));
    }
    stack
        .last()
        .map(|&(open, at)| unclosed(text.len(), open, at))
}

fn is_newline(b: u8) -> bool {
    b == b'\n' || b == b'\r'
}

/// The offset of the closing `/` of a regex starting at `start`.
fn regex_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if i + 1 < bytes.len() && !is_newline(bytes[i + 1]) => i += 1,
            b'/' => return Some(i),
            b'\n' | b'\r' => return None,
            _ => {}
        }
        i += 1;
    }
    None
}

fn line_end(text: &str, from: usize) -> usize {
    text[from..]
        .find(['\n', '\r'])
        .map_or(text.len(), |i| from + i)
}

/// A string left open: when it sits inside an interpolation, the likelier
/// mistake is the interpolation's missing `}`.
fn unterminated(text: &str, start: usize, stack: &[(Open, usize)]) -> Diagnostic {
    match stack.last() {
        Some((Open::Interpolation { .. }, at)) => Diagnostic::error(
            codes::PARSE_UNCLOSED,
            "this interpolation `{` in a string is never closed",
        )
        .with_primary(Span::new(*at, *at + 1), "opened here")
        .with_help(
            "close it with `}` before the string's closing `\"`; write `\\{` for a literal brace",
        ),
        _ => unterminated_string(text, start),
    }
}

fn unterminated_string(text: &str, start: usize) -> Diagnostic {
    Diagnostic::error(codes::PARSE_UNTERMINATED_STRING, "this string is never closed")
        .with_primary(Span::new(start, line_end(text, start)), "string starts here")
        .with_help("close it with `\"` on the same line; strings cannot span lines (write `\\n` for a line break)")
}

fn unterminated_regex(text: &str, start: usize) -> Diagnostic {
    Diagnostic::error(
        codes::PARSE_UNTERMINATED_REGEX,
        "this regex is never closed",
    )
    .with_primary(Span::new(start, line_end(text, start)), "regex starts here")
    .with_help("close it with `/` on the same line; write `\\/` for a literal slash")
}

fn too_deep(at: usize) -> Diagnostic {
    Diagnostic::error(
        codes::PARSE_TOO_DEEP,
        format!("nesting too deep: more than {MAX_NESTING} levels of brackets, braces or interpolations"),
    )
    .with_primary(Span::new(at, at + 1), format!("level {} opens here", MAX_NESTING + 1))
    .with_help("split the construct into smaller workflows or flatten the expression")
}

fn unmatched_closer(at: usize, found: char) -> Diagnostic {
    Diagnostic::error(
        codes::PARSE_MISMATCHED,
        format!("unexpected `{found}`: there is nothing to close"),
    )
    .with_primary(Span::new(at, at + 1), "no matching opening bracket")
    .with_help("remove it, or add the opening bracket it belongs to")
}

fn mismatched(open_at: usize, open: Open, at: usize, found: char) -> Diagnostic {
    Diagnostic::error(
        codes::PARSE_MISMATCHED,
        format!("expected `{}`, found `{found}`", open.closer()),
    )
    .with_primary(
        Span::new(at, at + 1),
        format!("expected `{}` here", open.closer()),
    )
    .with_secondary(
        Span::new(open_at, open_at + 1),
        format!("to close this `{}`", open.opener()),
    )
}

fn unclosed(len: usize, open: Open, at: usize) -> Diagnostic {
    let what = match open {
        Open::Interpolation { .. } => "interpolation `{` in a string".to_string(),
        _ => format!("`{}`", open.opener()),
    };
    Diagnostic::error(
        codes::PARSE_UNCLOSED,
        format!("this {what} is never closed"),
    )
    .with_primary(Span::new(at, at + 1), "opened here")
    .with_secondary(
        Span::point(len),
        format!("expected `{}` before the end of the file", open.closer()),
    )
    .with_help(format!("add the missing `{}`", open.closer()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(text: &str) -> Option<&'static str> {
        scan(text).map(|d| d.code)
    }

    #[test]
    fn balanced_input_passes() {
        assert_eq!(
            code("a { b [ c ( d ) ] } # { comment\n\"x { y } z\" /re{/"),
            None
        );
    }

    #[test]
    fn finds_lexical_problems() {
        assert_eq!(code("a { b"), Some(codes::PARSE_UNCLOSED));
        assert_eq!(code("a }"), Some(codes::PARSE_MISMATCHED));
        assert_eq!(code("a ( ]"), Some(codes::PARSE_MISMATCHED));
        assert_eq!(code("x \"abc\ny\""), Some(codes::PARSE_UNTERMINATED_STRING));
        assert_eq!(code("x /abc\n"), Some(codes::PARSE_UNTERMINATED_REGEX));
        assert_eq!(code("\"a {b"), Some(codes::PARSE_UNCLOSED));
    }

    #[test]
    fn interpolation_nests() {
        assert_eq!(code("\"a {\"b {c}\"} d\""), None);
    }

    #[test]
    fn depth_is_bounded() {
        let deep = "{".repeat(MAX_NESTING + 1);
        assert_eq!(code(&deep), Some(codes::PARSE_TOO_DEEP));
        let ok = format!("{}{}", "(".repeat(MAX_NESTING), ")".repeat(MAX_NESTING));
        assert_eq!(code(&ok), None);
    }
}
