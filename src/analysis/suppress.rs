//! Inline silencing of warnings: `# ops:allow(CODE)` on or above the line.

use std::collections::BTreeMap;

use crate::diagnostics::{Diagnostic, Severity};
use crate::source::SourceFile;
use crate::syntax::comment_start;

/// The codes allowed on each line (1-based).
pub struct Allowances {
    by_line: BTreeMap<usize, Vec<String>>,
}

impl Allowances {
    /// Finds every `ops:allow(...)` in comments.
    pub fn parse(text: &str) -> Self {
        let mut by_line = BTreeMap::new();
        for (index, line) in text.lines().enumerate() {
            let Some(hash) = comment_start(line) else {
                continue;
            };
            let comment = &line[hash..];
            let mut rest = comment;
            while let Some(at) = rest.find("ops:allow(") {
                let after = &rest[at + "ops:allow(".len()..];
                let Some(close) = after.find(')') else { break };
                let codes = after[..close]
                    .split(',')
                    .map(|c| c.trim().to_string())
                    .filter(|c| !c.is_empty());
                by_line
                    .entry(index + 1)
                    .or_insert_with(Vec::new)
                    .extend(codes);
                rest = &after[close..];
            }
        }
        Allowances { by_line }
    }

    /// Whether a warning is silenced by a comment on its line or the line above.
    pub fn silences(&self, diagnostic: &Diagnostic, source: &SourceFile) -> bool {
        if diagnostic.severity != Severity::Warning {
            return false;
        }
        let Some(span) = diagnostic.primary_span() else {
            return false;
        };
        let (line, _) = source.line_col(span.start);
        let short = diagnostic
            .code
            .rsplit("::")
            .next()
            .unwrap_or(diagnostic.code);
        [line, line.saturating_sub(1)].iter().any(|l| {
            self.by_line
                .get(l)
                .is_some_and(|codes| codes.iter().any(|c| c == diagnostic.code || c == short))
        })
    }
}
