//! What `~` means: a regex matches the **whole** string (anchored at both
//! ends), as in Prometheus and Alertmanager matchers, with `.` matching line
//! breaks too (Prometheus' `^(?s:…)$`). One definition for `check`, the
//! runtime and dry-run placeholders, and the lint for patterns whose author
//! probably expected a search.

use regex_syntax::hir::{HirKind, Look};

use crate::ast::{BinaryOp, Expr, ExprKind, Span};
use crate::diagnostics::{codes, Diagnostic};

/// Compiles `pattern` for a whole-string match. The pattern must compile on
/// its own first, so `a)|(b` is not accepted through the wrapping group.
pub fn anchored(pattern: &str) -> Result<regex::Regex, regex::Error> {
    // Parsing alone (no automaton) is enough to reject it; one build follows.
    if let Err(err) = regex_syntax::Parser::new().parse(pattern) {
        return Err(regex::Error::Syntax(err.to_string()));
    }
    regex::Regex::new(&format!(r"\A(?s:{pattern})\z"))
}

/// Whether `text` matches `pattern` as a whole (`None`: the pattern does not compile).
/// Each pattern is compiled once per thread (a run evaluates the same few
/// patterns once per step), in a cache of at most [`CACHE_LIMIT`] patterns.
pub fn full_match(pattern: &str, text: &str) -> Option<bool> {
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(compiled) = cache.get(pattern) {
            return compiled.as_ref().map(|re| re.is_match(text));
        }
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        #[cfg(test)]
        COMPILED.with(|c| c.set(c.get() + 1));
        let compiled = anchored(pattern).ok();
        let found = compiled.as_ref().map(|re| re.is_match(text));
        cache.insert(pattern.to_string(), compiled);
        found
    })
}

/// Most patterns [`full_match`] keeps compiled per thread; past it the cache
/// starts again empty (a playbook with more distinct patterns recompiles).
pub const CACHE_LIMIT: usize = 1024;

thread_local! {
    static CACHE: std::cell::RefCell<std::collections::HashMap<String, Option<regex::Regex>>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

#[cfg(test)]
thread_local! {
    /// How many patterns [`full_match`] compiled on this thread.
    static COMPILED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// A pattern whose meaning under `~` probably differs from what was meant,
/// with the exact rewrite that keeps the search meaning it had before.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Surprise {
    /// No regex syntax at all: `~ /mysql/` is `== "mysql"`. `text` is the
    /// string it matches; `anywhere` the pattern that finds it anywhere.
    Literal {
        /// The only string the pattern matches.
        text: String,
        /// `.*TEXT.*`: the old substring meaning.
        anywhere: String,
    },
    /// `^…$`, or `^….*`, or `.*…$`: the anchors are implied, and the
    /// pattern means the same without them.
    Redundant {
        /// The same pattern without the anchors.
        bare: String,
    },
    /// `^…` without `$`: a prefix search before, a whole match now.
    LeadingAnchor {
        /// `…` followed by `.*`: the prefix match it was.
        prefix: String,
        /// The pattern without `^` (a whole match).
        bare: String,
    },
    /// `…$` without `^`: a suffix search before, a whole match now.
    TrailingAnchor {
        /// `.*` followed by `…`: the suffix match it was.
        suffix: String,
        /// The pattern without `$` (a whole match).
        bare: String,
    },
}

/// The surprise in `pattern`, if any (`None` for patterns that do not compile).
pub fn surprise(pattern: &str) -> Option<Surprise> {
    let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
    match hir.kind() {
        HirKind::Literal(lit) => {
            let text = std::str::from_utf8(&lit.0).ok()?.to_string();
            let anywhere = format!(".*{pattern}.*");
            Some(Surprise::Literal { text, anywhere })
        }
        HirKind::Concat(parts) => {
            let starts = matches!(
                parts.first().map(|h| h.kind()),
                Some(HirKind::Look(Look::Start))
            ) && pattern.starts_with('^');
            let ends = matches!(
                parts.last().map(|h| h.kind()),
                Some(HirKind::Look(Look::End))
            ) && pattern.ends_with('$');
            let inner = |from: usize, to: usize| pattern[from..pattern.len() - to].to_string();
            let open_end = parts.last().is_some_and(any_run)
                && (pattern.ends_with(".*") || pattern.ends_with(".+"));
            let open_start = parts.first().is_some_and(any_run)
                && (pattern.starts_with(".*") || pattern.starts_with(".+"));
            match (starts, ends) {
                (true, true) if pattern.len() > 2 => {
                    Some(Surprise::Redundant { bare: inner(1, 1) })
                }
                (true, false) if open_end => Some(Surprise::Redundant { bare: inner(1, 0) }),
                (false, true) if open_start => Some(Surprise::Redundant { bare: inner(0, 1) }),
                (true, false) => Some(Surprise::LeadingAnchor {
                    prefix: format!("{}.*", inner(1, 0)),
                    bare: inner(1, 0),
                }),
                (false, true) => Some(Surprise::TrailingAnchor {
                    suffix: format!(".*{}", inner(0, 1)),
                    bare: inner(0, 1),
                }),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Whether `hir` is `.*` or `.+` (an unbounded run of any character).
fn any_run(hir: &regex_syntax::hir::Hir) -> bool {
    match hir.kind() {
        HirKind::Repetition(rep) => {
            rep.max.is_none() && rep.min <= 1 && matches!(rep.sub.kind(), HirKind::Class(_))
        }
        _ => false,
    }
}

/// `text` as an `.ops` string literal (quotes, backslashes and braces escaped).
pub fn string_literal(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '{' => out.push_str("\\{"),
            '}' => out.push_str("\\}"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Warns about a regex whose meaning under the anchored `~` probably
/// differs from what was meant, with the exact rewrite.
pub fn anchoring_lint(
    op: BinaryOp,
    lhs: &Expr,
    pattern: &str,
    span: Span,
    out: &mut Vec<Diagnostic>,
) {
    let Some(found) = surprise(pattern) else {
        return;
    };
    let sym = op.symbol();
    let left = match &lhs.kind {
        ExprKind::Path { segments } => segments
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join("."),
        _ => "…".to_string(),
    };
    let (message, label, help) = match found {
        Surprise::Literal { text, anywhere } => {
            let eq = if op == BinaryOp::Match { "==" } else { "!=" };
            (
                format!("`/{pattern}/` has no regex syntax: `{sym}` matches the whole string, so this is `{eq}`"),
                format!("matches only the string {}", string_literal(&text)),
                format!(
                    "write `{left} {eq} {}`, or `{left} {sym} /{anywhere}/` to find it anywhere in the string",
                    string_literal(&text)
                ),
            )
        }
        Surprise::Redundant { bare } => (
            format!("`/{pattern}/` has a redundant anchor: `{sym}` always matches the whole string"),
            "`^` and `$` are implied".to_string(),
            format!("write `{left} {sym} /{bare}/`"),
        ),
        Surprise::LeadingAnchor { prefix, bare } => (
            format!("`/{pattern}/` must match the whole string, not just its start: `{sym}` is anchored at both ends"),
            "`^` is implied; the end is anchored too".to_string(),
            format!("to match a prefix write `{left} {sym} /{prefix}/`; for a whole match write `{left} {sym} /{bare}/`"),
        ),
        Surprise::TrailingAnchor { suffix, bare } => (
            format!("`/{pattern}/` must match the whole string, not just its end: `{sym}` is anchored at both ends"),
            "`$` is implied; the start is anchored too".to_string(),
            format!("to match a suffix write `{left} {sym} /{suffix}/`; for a whole match write `{left} {sym} /{bare}/`"),
        ),
    };
    out.push(
        Diagnostic::warning(codes::LINT_ANCHORED_REGEX, message)
            .with_primary(span, label)
            .with_help(help),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_whole_string() {
        assert_eq!(full_match("mysql", "mysql"), Some(true));
        assert_eq!(full_match("mysql", "mysql-replica"), Some(false));
        assert_eq!(full_match("mysql", "my-mysql"), Some(false));
        assert_eq!(full_match("mysql.*", "mysql-replica"), Some(true));
        assert_eq!(full_match("a|b", "a"), Some(true));
        assert_eq!(full_match("a|b", "ab"), Some(false));
        // `.` matches line breaks, as in Prometheus.
        assert_eq!(full_match("feat: .+", "feat: x\n\nbody"), Some(true));
        // Redundant anchors change nothing.
        assert_eq!(full_match("^v[0-9]+$", "v12"), Some(true));
        assert_eq!(full_match("(?m)^a$", "a\nb"), Some(false));
    }

    #[test]
    fn a_pattern_must_compile_on_its_own() {
        assert!(regex::Regex::new(r"\A(?s:a)|(b)\z").is_ok());
        assert!(anchored("a)|(b").is_err());
        assert_eq!(full_match("(", "("), None);
    }

    #[test]
    fn surprises() {
        assert_eq!(
            surprise("mysql"),
            Some(Surprise::Literal {
                text: "mysql".into(),
                anywhere: ".*mysql.*".into()
            })
        );
        assert_eq!(
            surprise(r"a\.b"),
            Some(Surprise::Literal {
                text: "a.b".into(),
                anywhere: r".*a\.b.*".into()
            })
        );
        assert_eq!(
            surprise("^v[0-9]+$"),
            Some(Surprise::Redundant {
                bare: "v[0-9]+".into()
            })
        );
        assert_eq!(
            surprise("^feat: .+"),
            Some(Surprise::Redundant {
                bare: "feat: .+".into()
            })
        );
        assert_eq!(
            surprise(".*-rc$"),
            Some(Surprise::Redundant {
                bare: ".*-rc".into()
            })
        );
        assert_eq!(
            surprise("^v[0-9]+"),
            Some(Surprise::LeadingAnchor {
                prefix: "v[0-9]+.*".into(),
                bare: "v[0-9]+".into()
            })
        );
        assert_eq!(
            surprise("-rc[0-9]$"),
            Some(Surprise::TrailingAnchor {
                suffix: ".*-rc[0-9]".into(),
                bare: "-rc[0-9]".into()
            })
        );
        for fine in [
            "v[0-9]+",
            "^a|b$",
            "(feat|fix): .+",
            "[",
            "^$",
            "",
            r"v[0-9]\$",
        ] {
            assert_eq!(surprise(fine), None, "{fine}");
        }
    }

    #[test]
    fn rewrites_keep_the_old_search_meaning() {
        let search = |p: &str, t: &str| regex::Regex::new(p).is_ok_and(|r| r.is_match(t));
        let texts = [
            "v1",
            "v12-rc1",
            "xv1",
            "v",
            "v\nx",
            "mysql",
            "mysql-replica",
            "a-mysql",
            "",
        ];
        for (old, new) in [
            ("mysql", ".*mysql.*"),
            ("^v[0-9]+", "v[0-9]+.*"),
            ("-rc[0-9]$", ".*-rc[0-9]"),
            ("^v[0-9]+$", "v[0-9]+"),
        ] {
            for t in texts {
                assert_eq!(
                    search(old, t),
                    full_match(new, t) == Some(true),
                    "{old} {t}"
                );
            }
        }
        // Dropping a redundant `^` keeps the meaning, except that `.` now
        // also matches a line break.
        assert!(search("^v.+", "v1") && full_match("v.+", "v1") == Some(true));
        assert!(!search("^v.+", "v\nx") && full_match("v.+", "v\nx") == Some(true));
    }

    #[test]
    fn string_literals_escape() {
        assert_eq!(string_literal(r#"a"b\{c}"#), r#""a\"b\\\{c\}""#);
    }

    #[test]
    fn full_match_compiles_each_pattern_once() {
        let before = COMPILED.with(|c| c.get());
        for text in ["feat: x", "fix: y", "feat: z"] {
            let _ = full_match("feat: .+ cache-test", text);
        }
        assert_eq!(full_match("feat: .+", "feat: x\ny"), Some(true));
        assert_eq!(full_match("a)|(b", "a"), None);
        assert_eq!(full_match("a)|(b", "a"), None);
        // Three patterns, each compiled once (the broken one too).
        assert_eq!(COMPILED.with(|c| c.get()) - before, 3);
    }
}
