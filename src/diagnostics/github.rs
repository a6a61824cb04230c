//! `coordops check --format github`: GitHub Actions workflow commands.
//!
//! Each diagnostic becomes one line that the Actions runner turns into an
//! annotation on the pull request:
//!
//! ```text
//! ::error file=demo.ops,line=2,col=8,endLine=2,endColumn=10,title=ops%3A%3Aparse%3A%3Aunexpected_token::expected …
//! ```
//!
//! `::warning` is used for warnings. The message is followed by the help text
//! on its own line. Values are escaped as the runner expects: in the message
//! `%`, CR and LF become `%25`, `%0D` and `%0A`; property values (file, title)
//! additionally escape `:` and `,` as `%3A` and `%2C`. Diagnostics without a
//! file (errors about a path) carry only the title.

use std::fmt::Write as _;

use super::location::{main_label, Locator};
use super::{Diagnostic, Severity};

/// Escapes the message part of a workflow command.
pub fn escape_data(text: &str) -> String {
    escape(text, &[])
}

/// Escapes a property value (`file=…`, `title=…`) of a workflow command.
pub fn escape_property(text: &str) -> String {
    escape(text, &[':', ','])
}

/// `%`, line breaks and the `also` characters as `%XX`.
fn escape(text: &str, also: &[char]) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '\r' | '\n') || also.contains(&c) {
            let _ = write!(out, "%{:02X}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

/// One workflow command per diagnostic, each on its own line.
pub fn to_string(diagnostics: &[Diagnostic]) -> String {
    let mut locator = Locator::new();
    let mut out = String::new();
    for d in diagnostics {
        out.push_str(&command_with(d, &mut locator));
        out.push('\n');
    }
    out
}

/// The workflow command for one diagnostic, without a trailing newline.
pub fn command(diagnostic: &Diagnostic) -> String {
    command_with(diagnostic, &mut Locator::new())
}

fn command_with(d: &Diagnostic, locator: &mut Locator) -> String {
    let kind = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut properties = Vec::new();
    if let Some(source) = &d.source {
        properties.push(format!("file={}", escape_property(source.name())));
        if let Some(label) = main_label(d) {
            let at = locator.resolve(source, label.span);
            properties.push(format!("line={}", at.line));
            properties.push(format!("col={}", at.column));
            properties.push(format!("endLine={}", at.end_line));
            properties.push(format!("endColumn={}", at.end_column));
        }
    }
    properties.push(format!("title={}", escape_property(d.code)));
    let mut message = d.message.clone();
    if let Some(help) = &d.help {
        let _ = write!(message, "\n{help}");
    }
    format!(
        "::{kind} {}::{}",
        properties.join(","),
        escape_data(&message)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::Span;
    use crate::diagnostics::codes;
    use crate::diagnostics::test_support::demo_diagnostics;
    use crate::source::SourceFile;

    #[test]
    fn snapshot_of_two_diagnostics() {
        insta::assert_snapshot!(to_string(&demo_diagnostics()));
    }

    #[test]
    fn data_escapes_percent_cr_and_lf_only() {
        assert_eq!(escape_data("50% a:b,c\r\nd"), "50%25 a:b,c%0D%0Ad");
        // `%` first, so an existing escape is not decoded by the runner.
        assert_eq!(escape_data("%0A"), "%250A");
        assert_eq!(escape_data("é € 😀"), "é € 😀");
    }

    #[test]
    fn properties_also_escape_colon_and_comma() {
        assert_eq!(escape_property("ops::parse::x"), "ops%3A%3Aparse%3A%3Ax");
        assert_eq!(escape_property("dir,1/a:b%.ops"), "dir%2C1/a%3Ab%25.ops");
        assert_eq!(escape_property("a\r\nb"), "a%0D%0Ab");
    }

    #[test]
    fn warning_with_position_and_help() {
        let source = SourceFile::new("play books/a,b.ops", "agent X {}\n");
        let d = Diagnostic::warning(codes::LINT_UNUSED_AGENT, "agent `X` is never used: 100%")
            .with_primary(Span::new(6, 7), "here")
            .with_help("remove it,\nor call it")
            .in_file(&source);
        assert_eq!(
            command(&d),
            "::warning file=play books/a%2Cb.ops,line=1,col=7,endLine=1,endColumn=8,\
             title=ops%3A%3Alint%3A%3Aunused_agent::agent `X` is never used: 100%25%0Aremove it,%0Aor call it"
        );
    }

    #[test]
    fn diagnostic_without_source_has_only_a_title() {
        let d = Diagnostic::error(codes::IO_NOT_FOUND, "`nope.ops` does not exist");
        assert_eq!(
            command(&d),
            "::error title=ops%3A%3Aio%3A%3Anot_found::`nope.ops` does not exist"
        );
    }

    #[test]
    fn diagnostic_with_source_but_no_label_names_the_file_only() {
        let source = SourceFile::new("empty.ops", "");
        let d = Diagnostic::error(codes::PARSE_EMPTY, "no declarations").in_file(&source);
        assert_eq!(
            command(&d),
            "::error file=empty.ops,title=ops%3A%3Aparse%3A%3Aempty_file::no declarations"
        );
    }

    #[test]
    fn columns_count_characters_in_crlf_text_with_tabs() {
        let text = "# é\r\n\tagent Ü\r\n";
        let source = SourceFile::new("t.ops", text);
        let u = text.find('Ü').unwrap();
        let d = Diagnostic::error(codes::PARSE_UNEXPECTED, "m")
            .with_primary(Span::new(u, u + 'Ü'.len_utf8()), "")
            .in_file(&source);
        assert!(
            command(&d).contains(",line=2,col=8,endLine=2,endColumn=9,"),
            "{}",
            command(&d)
        );
    }
}
