//! Secret redaction: every secret value, in every form it can take in our
//! output, becomes `***`.
//!
//! A value is matched as written, line by line when it spans lines, and in
//! its JSON-escaped form (how it appears inside a JSON report or journal
//! line), also when embedded in a longer string. Matching is leftmost-longest
//! so a longer secret wins over a shorter one it contains.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use serde_json::Value;

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
    /// [`MIN_SECRET_LEN`] of multi-line values are not patterns of their own);
    /// an error when the values are too large to match.
    pub fn new<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<Redactor, String> {
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
            return Ok(Redactor::default());
        }
        let matcher = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&patterns)
            .map_err(|e| format!("cannot prepare the redaction of the secrets: {e}"))?;
        Ok(Redactor {
            matcher: Some(matcher),
        })
    }

    /// Whether there is anything to redact.
    pub fn is_empty(&self) -> bool {
        self.matcher.is_none()
    }

    /// `text` with every secret replaced.
    pub fn redact(&self, text: &str) -> String {
        self.replace(text, |_, _| true)
    }

    /// JSON `text` with every secret replaced, never inside an escape
    /// sequence (`\n`, `\u0041`): a match that starts or ends inside one is
    /// not the secret in the decoded text, and masking it would break the
    /// JSON.
    pub fn redact_json(&self, text: &str) -> String {
        self.replace(text, |start, end| {
            !inside_escape(text.as_bytes(), start) && !inside_escape(text.as_bytes(), end)
        })
    }

    /// Every string (and key) in `value` redacted.
    pub fn redact_value(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.redact(s)),
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| self.redact_value(v)).collect())
            }
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (self.redact(k), self.redact_value(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    fn replace(&self, text: &str, keep: impl Fn(usize, usize) -> bool) -> String {
        let Some(m) = &self.matcher else {
            return text.to_string();
        };
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for found in m.find_iter(text) {
            if !keep(found.start(), found.end()) {
                continue;
            }
            out.push_str(&text[last..found.start()]);
            out.push_str(MASK);
            last = found.end();
        }
        out.push_str(&text[last..]);
        out
    }
}

/// Whether byte offset `pos` of JSON text falls strictly inside an escape
/// sequence (after its backslash, before its end).
fn inside_escape(text: &[u8], pos: usize) -> bool {
    // An escape is at most 6 bytes (`\uXXXX`): its backslash is within 5
    // bytes before `pos`.
    (pos.saturating_sub(5)..pos).any(|b| {
        if text.get(b) != Some(&b'\\') {
            return false;
        }
        // A backslash starts an escape when an even number of backslashes
        // stands right before it.
        let before = text[..b].iter().rev().take_while(|c| **c == b'\\').count();
        let len = if text.get(b + 1) == Some(&b'u') { 6 } else { 2 };
        before % 2 == 0 && pos < b + len
    })
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

    fn redactor<'a>(values: impl IntoIterator<Item = &'a str>) -> Redactor {
        Redactor::new(values).unwrap_or_default()
    }

    #[test]
    fn json_text_stays_json_and_escapes_are_never_split() {
        let r = redactor(["nSECRETVALUE123", "u0041BCDEFG"]);
        let json = serde_json::to_string(&serde_json::json!({ "m": "a\nSECRETVALUE123 A BCDEFG" }))
            .unwrap_or_default();
        // The decoded text holds neither secret: nothing to mask, and the
        // JSON stays valid.
        let redacted = r.redact_json(&json);
        assert!(
            serde_json::from_str::<Value>(&redacted).is_ok(),
            "{redacted}"
        );
        // A real occurrence next to an escape is masked.
        let real = serde_json::to_string(&serde_json::json!({ "m": "x\\nSECRETVALUE123" }))
            .unwrap_or_default();
        let redacted = r.redact_json(&real);
        assert_eq!(redacted, r#"{"m":"x\\***"}"#);
        assert!(serde_json::from_str::<Value>(&redacted).is_ok());
    }

    #[test]
    fn values_are_redacted_string_by_string() {
        let r = redactor(["topsecret"]);
        let v = serde_json::json!({ "a": ["x topsecret", 1], "topsecret": true });
        assert_eq!(
            r.redact_value(&v),
            serde_json::json!({ "a": ["x ***", 1], "***": true })
        );
    }

    #[test]
    fn plain_embedded_and_repeated_values_are_masked() {
        let r = redactor(["ghp_secret123"]);
        assert_eq!(
            r.redact("token=ghp_secret123; again ghp_secret123!"),
            "token=***; again ***!"
        );
        assert_eq!(r.redact("nothing here"), "nothing here");
    }

    #[test]
    fn multi_line_values_are_masked_whole_and_per_line() {
        let key = "-----BEGIN KEY-----\nAAAABBBBCCCC\nDDDDEEEEFFFF\n-----END KEY-----";
        let r = redactor([key]);
        assert_eq!(r.redact(&format!("x {key} y")), "x *** y");
        assert_eq!(r.redact("line: DDDDEEEEFFFF"), "line: ***");
        let json = serde_json::to_string(&serde_json::json!({ "m": key })).unwrap_or_default();
        assert_eq!(r.redact(&json), r#"{"m":"***"}"#);
    }

    #[test]
    fn json_escaped_forms_are_masked() {
        let secret = r#"pa"ss\word"#;
        let r = redactor([secret]);
        let json = serde_json::to_string(&serde_json::json!({ "m": format!("say {secret}") }))
            .unwrap_or_default();
        assert_eq!(r.redact(&json), r#"{"m":"say ***"}"#);
        assert!(serde_json::from_str::<serde_json::Value>(&r.redact(&json)).is_ok());
    }

    #[test]
    fn the_longest_secret_wins() {
        let r = redactor(["abcdef", "abcdefghij"]);
        assert_eq!(r.redact("abcdefghij abcdef"), "*** ***");
    }

    #[test]
    fn no_secrets_changes_nothing() {
        let r = redactor(std::iter::empty());
        assert!(r.is_empty());
        assert_eq!(r.redact("abc"), "abc");
    }
}
