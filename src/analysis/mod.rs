//! Semantic analysis: resolve → check → lint, on a parsed playbook.
//!
//! Never stops at the first problem: every pass runs and all diagnostics are
//! returned, sorted by position. Errors stop a playbook from running;
//! warnings (`ops::lint::*`) can be silenced with `# ops:allow(CODE)` on or
//! above the line, or turned into errors with `--deny-warnings`.

mod cancelled;
mod flow;
pub(crate) mod kind_lints;
mod lints;
mod outputs;
mod placement;
pub mod policy;
pub mod regexes;
mod retry_lints;
mod route_lints;
pub mod scope;
mod suggest;
mod suppress;
mod symbols;
pub mod targets;
pub mod test_checks;
mod ty;
mod types;
mod values;
mod walker;

pub use lints::tolerated_failures;
pub use suggest::closest as closest_word;
pub use walker::{ESCALATION_TYPES, STATUSES};

use crate::ast::Playbook;
use crate::diagnostics::{self, Diagnostic};
use crate::source::SourceFile;

/// Analyses a parsed playbook and returns its diagnostics, sorted.
pub fn analyze(playbook: &Playbook, source: &SourceFile) -> Vec<Diagnostic> {
    let _suggestions = suggest::Session::start();
    let mut out = Vec::new();
    let symbols = symbols::Symbols::collect(playbook, &mut out);
    let reach = flow::reach(playbook, &symbols);
    walker::check(playbook, &symbols, &reach, &mut out);
    flow::recursion(playbook, &symbols, &mut out);
    lints::check(playbook, &symbols, &mut out);
    kind_lints::misspelt_kinds(playbook, &mut out);
    placement::check(playbook, source.text(), &mut out);

    finish(out, source)
}

/// Checks `tests`, written in `source` (a `*.test.ops` file), against
/// `playbook`: the checks a playbook's own blocks get, with diagnostics in
/// `source`. The names of `earlier` tests (the playbook's own blocks and
/// other test files) are taken first.
pub fn check_tests(
    playbook: &Playbook,
    earlier: &[&crate::ast::TestCase],
    tests: &[&crate::ast::TestCase],
    source: &SourceFile,
) -> Vec<Diagnostic> {
    let _suggestions = suggest::Session::start();
    let mut ignored = Vec::new();
    let symbols = symbols::Symbols::collect(playbook, &mut ignored);
    let mut out = Vec::new();
    let mut seen = std::collections::HashMap::new();
    test_checks::duplicates(&mut seen, earlier.iter().copied(), false, &mut ignored);
    test_checks::duplicates(&mut seen, tests.iter().copied(), true, &mut out);
    walker::check_tests(playbook, &symbols, tests, &mut out);
    finish(out, source)
}

/// Drops what `# ops:allow(…)` in `source` silences, then sorts and
/// deduplicates.
fn finish(out: Vec<Diagnostic>, source: &SourceFile) -> Vec<Diagnostic> {
    let allowances = suppress::Allowances::parse(source.text());
    let mut out: Vec<Diagnostic> = out
        .into_iter()
        .filter(|d| !allowances.silences(d, source))
        .map(|d| d.in_file(source))
        .collect();
    diagnostics::sort(&mut out);
    out.dedup_by(|a, b| {
        a.code == b.code
            && a.message == b.message
            && a.primary_span().map(|s| (s.start, s.end))
                == b.primary_span().map(|s| (s.start, s.end))
    });
    out
}

/// Which declared signals can start each workflow, through routes and
/// `run`, by workflow name (the sets `check` verifies `signal.FIELD`
/// against); `None` when a wildcard route or an undeclared signal reaches it.
pub fn signals_reaching(playbook: &Playbook) -> Vec<(String, Option<Vec<String>>)> {
    let _suggestions = suggest::Session::start();
    let mut scratch = Vec::new();
    let symbols = symbols::Symbols::collect(playbook, &mut scratch);
    flow::reach(playbook, &symbols)
        .into_iter()
        .map(|(workflow, signals)| {
            let names = signals.map(|s| s.iter().map(|d| d.name.name.clone()).collect());
            (workflow.to_string(), names)
        })
        .collect()
}

/// One file parsed once and analysed.
#[derive(Debug)]
pub struct Checked {
    /// The AST, when the file has no syntax errors.
    pub playbook: Option<Playbook>,
    /// Syntax errors, or else the analysis results, sorted.
    pub diagnostics: Vec<Diagnostic>,
}

/// Parses one source file once and analyses it: the shared entry point of
/// every command that needs both the diagnostics and the AST.
pub fn parse_and_check(source: &SourceFile) -> Checked {
    let parsed = crate::syntax::parse(source);
    match parsed.playbook {
        Some(playbook) => Checked {
            diagnostics: analyze(&playbook, source),
            playbook: Some(playbook),
        },
        None => Checked {
            playbook: None,
            diagnostics: parsed.diagnostics,
        },
    }
}

/// Parses and analyses one source file: syntax errors, or analysis results.
pub fn check_source(source: &SourceFile) -> Vec<Diagnostic> {
    parse_and_check(source).diagnostics
}
