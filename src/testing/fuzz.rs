//! The pipeline the fuzz targets (`fuzz/`) and their regression tests drive:
//! source → parse → check → render in every format, and, for clean
//! playbooks, a bounded dry run. Broken invariants panic, so the fuzzer
//! reports them as crashes.

use std::time::{Duration, SystemTime};

use crate::analysis;
use crate::ast::{Playbook, SignalPattern};
use crate::diagnostics::{codes, github, json, render_all, sarif, Diagnostic, RenderOptions};
use crate::runtime::result::RunResult;
use crate::runtime::simulated::Scenario;
use crate::runtime::{context, simulate, RunRequest};
use crate::source::SourceFile;
use crate::syntax;

/// Dry runs of playbooks with more `for` loops than this are skipped: nested
/// loops fan out multiplicatively (n^k steps), which is a known, separately
/// limited cost rather than a bug for the fuzzer to rediscover.
pub const MAX_FOR_LOOPS: usize = 2;

/// Virtual time after which a fuzzed dry run is interrupted.
pub const VIRTUAL_RUN_LIMIT: Duration = Duration::from_secs(3_600);

/// The name fuzzed sources are checked under.
pub const FILE_NAME: &str = "fuzz.ops";

/// Parses and checks `text`, renders the diagnostics in every format and
/// asserts their invariants. Returns the playbook when it has no errors.
pub fn check_text(text: &str) -> (Option<Playbook>, Vec<Diagnostic>) {
    let source = SourceFile::new(FILE_NAME, text);
    let parsed = syntax::parse(&source);
    let diagnostics = match &parsed.playbook {
        Some(playbook) => analysis::analyze(playbook, &source),
        None => parsed.diagnostics,
    };
    assert_invariants(text, &diagnostics);
    render_every_format(&diagnostics);
    let clean = !diagnostics.iter().any(Diagnostic::is_error);
    (parsed.playbook.filter(|_| clean), diagnostics)
}

/// Panics unless every diagnostic has a known code, a primary label, and
/// labels inside `text` on character boundaries.
pub fn assert_invariants(text: &str, diagnostics: &[Diagnostic]) {
    for d in diagnostics {
        assert!(d.code != syntax::INTERNAL, "internal error: {}", d.message);
        assert!(codes::ALL.contains(&d.code), "unknown code {}", d.code);
        assert!(
            d.primary_span().is_some(),
            "{} has no primary label",
            d.code
        );
        for label in &d.labels {
            let span = label.span;
            assert!(
                span.start <= span.end && span.end <= text.len(),
                "{}: {span:?} outside a file of {} bytes",
                d.code,
                text.len()
            );
            assert!(
                text.is_char_boundary(span.start) && text.is_char_boundary(span.end),
                "{}: {span:?} splits a character",
                d.code
            );
        }
    }
}

/// Renders `diagnostics` as people and tools see them; each must mention
/// every code (GitHub's escaped as a workflow-command property).
pub fn render_every_format(diagnostics: &[Diagnostic]) {
    let mut outputs = Vec::new();
    for color in [false, true] {
        outputs.push(render_all(diagnostics, RenderOptions { color, width: 80 }));
    }
    outputs.push(json::to_string(diagnostics, 1));
    outputs.push(github::to_string(diagnostics));
    outputs.push(sarif::to_string(diagnostics));
    for out in &outputs {
        for d in diagnostics {
            let escaped = github::escape_property(d.code);
            assert!(
                out.contains(d.code) || out.contains(&escaped),
                "{} missing from {out}",
                d.code
            );
        }
    }
}

/// The signal a fuzzed dry run sends: the first declared signal, else the
/// first exactly-matched route's, else a made-up one (ignored).
pub fn pick_signal(playbook: &Playbook) -> String {
    if let Some(signal) = playbook.signals().next() {
        return signal.name.name.clone();
    }
    playbook
        .routes()
        .find_map(|route| match &route.pattern {
            SignalPattern::Exact { name, .. } => Some(name.clone()),
            _ => None,
        })
        .unwrap_or_else(|| "FUZZ:SIGNAL".to_string())
}

/// Whether a dry run of `text` is worth doing (see [`MAX_FOR_LOOPS`]).
pub fn dry_run_allowed(text: &str) -> bool {
    text.matches("for").count() <= MAX_FOR_LOOPS
}

/// [`check_text`], then, when the playbook is clean and
/// [`dry_run_allowed`], a dry run of [`pick_signal`] with default context
/// on the simulated backend, interrupted after [`VIRTUAL_RUN_LIMIT`].
pub fn dry_run_text(text: &str) -> Option<RunResult> {
    let (playbook, _) = check_text(text);
    let playbook = playbook?;
    if !dry_run_allowed(text) {
        return None;
    }
    let signal = pick_signal(&playbook);
    // A signal with required fields cannot be sent without `--set`.
    let context = context::build(&playbook, &signal, &[]).ok()?;
    let source = SourceFile::new(FILE_NAME, text);
    let scenario = Scenario {
        interrupt_after: Some(format!("{}s", VIRTUAL_RUN_LIMIT.as_secs())),
        ..Scenario::default()
    };
    let request = RunRequest {
        playbook: &playbook,
        source: Some(&source),
        signal,
        context,
        run_id: "fuzz".to_string(),
        now: SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600),
    };
    simulate(request, scenario, None, |_| {}).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clean_playbook_dry_runs() {
        let text = "agent a { task t }\nsignal X:Y\nroute X:Y => w\nworkflow w { a.t }\n";
        let (playbook, diagnostics) = check_text(text);
        assert!(playbook.is_some(), "{diagnostics:#?}");
        let result = dry_run_text(text).expect("a run");
        assert!(!result.steps.is_empty());
    }

    #[test]
    fn broken_input_is_checked_but_not_run() {
        let (playbook, diagnostics) = check_text("workflow {");
        assert!(playbook.is_none());
        assert!(!diagnostics.is_empty());
        assert!(dry_run_text("workflow {").is_none());
    }

    #[test]
    fn many_loops_are_not_run() {
        assert!(dry_run_allowed("for for"));
        assert!(!dry_run_allowed("for for for"));
    }
}
