//! Escaping for XML and HTML (JUnit reports, SVG pictures, HTML reports):
//! one function, redacting before it escapes so a secret is masked even when
//! it holds characters escaping would change.

/// `text` redacted through the output sink's secrets, then escaped for XML
/// and HTML text and attribute values: `&`, `<`, `>`, `"` and `'` as
/// references, line breaks and tabs as character references (so attributes
/// keep them), and characters XML 1.0 cannot hold (most controls) as U+FFFD.
pub fn escape_xml(text: &str) -> String {
    let text = super::redact(text);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape_xml;

    #[test]
    fn escapes_markup_quotes_breaks_and_controls() {
        assert_eq!(
            escape_xml("<a href=\"x\">&'\n\t\r\u{1}é"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&#10;&#9;&#13;\u{FFFD}é"
        );
    }
}
