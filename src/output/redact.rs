//! Secret redaction: every secret value, in every form it can take in our
//! output, becomes `***`.
//!
//! A value is matched as written, line by line when it spans lines, and in
//! its JSON-escaped form (how it appears inside a JSON report or journal
//! line), also when embedded in a longer string. Matching is leftmost-longest
//! so a longer secret wins over a shorter one it contains.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

/// What a secret is replaced with.
pub const MASK: &str = "***";

/// Secrets shorter than this would mask ordinary text: refused up front.
pub const MIN_SECRET_LEN: usize = 6;

/// Replaces secret values with [`MASK`].
#[derive(Clone, Debug, Default)]
pub struct Redactor {
    matcher: Option<AhoCorasick>,
}

impl Redactor {
    /// A redactor for `values` (empty values and lines shorter than
    /// [`MIN_SECRET_LEN`] of multi-line values are not patterns of their own).
    pub fn new<'a>(values: impl IntoIterator<Item = &'a str>) -> Redactor {
        let mut patterns: Vec<String> = Vec::new();
        let mut add = |p: String| {
            if !p.is_empty() && !patterns.contains(&p) {
                patterns.push(p);
            }
        };
        for value in values {
            if value.is_empty() {
                continue;
            }
            add(value.to_string());
            add(json_escaped(value));
            if value.contains(['\n', '\r']) {
                for line in value.lines().map(|l| l.trim_end_matches('\r')) {
                    if line.trim().chars().count() >= MIN_SECRET_LEN {
                        add(line.to_string());
                        add(json_escaped(line));
                    }
                }
            }
        }
        if patterns.is_empty() {
            return Redactor::default();
        }
        let matcher = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&patterns)
            .ok();
        Redactor { matcher }
    }

    /// Whether there is anything to redact.
    pub fn is_empty(&self) -> bool {
        self.matcher.is_none()
    }

    /// `text` with every secret replaced.
    pub fn redact(&self, text: &str) -> String {
        match &self.matcher {
            Some(m) if m.is_match(text) => m.replace_all(text, &vec![MASK; m.patterns_len()]),
            _ => text.to_string(),
        }
    }
}

/// `value` as it appears between the quotes of a JSON string.
fn json_escaped(value: &str) -> String {
    let quoted = serde_json::to_string(value).unwrap_or_default();
    quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .unwrap_or(&quoted)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_embedded_and_repeated_values_are_masked() {
        let r = Redactor::new(["ghp_secret123"]);
        assert_eq!(
            r.redact("token=ghp_secret123; again ghp_secret123!"),
            "token=***; again ***!"
        );
        assert_eq!(r.redact("nothing here"), "nothing here");
    }

    #[test]
    fn multi_line_values_are_masked_whole_and_per_line() {
        let key = "-----BEGIN KEY-----\nAAAABBBBCCCC\nDDDDEEEEFFFF\n-----END KEY-----";
        let r = Redactor::new([key]);
        assert_eq!(r.redact(&format!("x {key} y")), "x *** y");
        assert_eq!(r.redact("line: DDDDEEEEFFFF"), "line: ***");
        let json = serde_json::to_string(&serde_json::json!({ "m": key })).unwrap_or_default();
        assert_eq!(r.redact(&json), r#"{"m":"***"}"#);
    }

    #[test]
    fn json_escaped_forms_are_masked() {
        let secret = r#"pa"ss\word"#;
        let r = Redactor::new([secret]);
        let json = serde_json::to_string(&serde_json::json!({ "m": format!("say {secret}") }))
            .unwrap_or_default();
        assert_eq!(r.redact(&json), r#"{"m":"say ***"}"#);
        assert!(serde_json::from_str::<serde_json::Value>(&r.redact(&json)).is_ok());
    }

    #[test]
    fn the_longest_secret_wins() {
        let r = Redactor::new(["abcdef", "abcdefghij"]);
        assert_eq!(r.redact("abcdefghij abcdef"), "*** ***");
    }

    #[test]
    fn no_secrets_changes_nothing() {
        let r = Redactor::new(std::iter::empty());
        assert!(r.is_empty());
        assert_eq!(r.redact("abc"), "abc");
    }
}
