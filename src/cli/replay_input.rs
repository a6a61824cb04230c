//! What `resume` and `test --replay` share: reading a journal's run as a
//! replay history, finding its playbook again, and pointing at the
//! playbook text where a replay leaves the recorded path.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::Exit;
use crate::ast::Playbook;
use crate::diagnostics::{codes, Diagnostic};
use crate::journal;
use crate::runtime::replay::{self, compare::Mismatch, Divergence, History};
use crate::runtime::RunRequest;
use crate::source::SourceFile;

/// Reads the last run of the journal at `path` as a replay history
/// (version 2 journals only), warning about unreadable lines.
pub fn read_history(path: &Path) -> Result<History, String> {
    let file = journal::read(path)?;
    for (line, why) in &file.skipped {
        crate::output::stderr(&format!(
            "warning: journal `{}` line {line} is unreadable and ignored: {why}\n",
            path.display()
        ));
    }
    let history = History::new(&file.entries)?;
    if history.start.version < 2 || history.start.started_unix_ms == 0 {
        return Err(format!(
            "`{}` is a version {} journal: it records neither the exact start time nor the \
             agents' outputs, so it cannot be replayed (coordops writes version {})",
            path.display(),
            history.start.version,
            crate::runtime::record::JOURNAL_VERSION
        ));
    }
    Ok(history)
}

/// The playbook to replay: `given`, or the path the journal recorded.
pub fn playbook_path(history: &History, given: Option<&Path>) -> Result<PathBuf, String> {
    match (given, &history.start.playbook) {
        (Some(path), _) => Ok(path.to_path_buf()),
        (None, Some(identity)) => Ok(PathBuf::from(&identity.path)),
        (None, None) => Err(
            "the journal does not record which playbook ran: give it with --playbook FILE"
                .to_string(),
        ),
    }
}

/// The request that replays `history`'s run with `playbook`.
pub fn replay_request<'a>(
    history: &History,
    file: &'a SourceFile,
    playbook: &'a Playbook,
) -> RunRequest<'a> {
    RunRequest {
        playbook,
        source: Some(file),
        signal: history.start.signal.clone(),
        context: history.start.context.clone(),
        run_id: history.start.run_id.clone(),
        now: replay::origin(history),
    }
}

/// A diagnostic pointing at the step `step_id` (`WORKFLOW.N[INDEX]`) of
/// the current playbook, or at its route.
pub fn pointing_at(
    file: &SourceFile,
    playbook: &Playbook,
    message: String,
    step_id: Option<&str>,
    route: Option<usize>,
    label: &str,
) -> Diagnostic {
    let span = step_id
        .and_then(|id| {
            let id = id.split('[').next().unwrap_or(id);
            let (workflow, position) = id.rsplit_once('.')?;
            let position = position.parse().ok()?;
            crate::analysis::targets::step_span(playbook, workflow, position)
        })
        .or_else(|| route.and_then(|i| playbook.routes().nth(i)).map(|r| r.span));
    let diagnostic = Diagnostic::error(codes::TEST_FAILED, message).in_file(file);
    match span {
        Some(span) => diagnostic.with_primary(span, label),
        None => diagnostic,
    }
}

/// The span of the `approve NAME` statement, if the playbook has one.
fn approval_span(playbook: &Playbook, name: &str) -> Option<crate::ast::Span> {
    let mut found = None;
    for w in playbook.workflows() {
        w.body.walk(&mut |stmt| {
            if let crate::ast::Stmt::Approve(a) = stmt {
                if found.is_none() && a.name.name == name {
                    found = Some(a.span);
                }
            }
        });
    }
    found
}

/// Where a replay first left the recorded path: the diagnostic at the
/// current playbook's text, and what the journal recorded against what the
/// playbook does now.
pub struct Departure {
    /// The `ops::test::failed` diagnostic at the step, approval or route.
    pub diagnostic: Diagnostic,
    /// What the journal recorded there (`route: OPS:AUDIT => workflow full_audit`).
    pub recorded: String,
    /// What the playbook does there now.
    pub now: String,
}

/// A replay checked against its journal.
pub struct Replayed {
    /// What the replay did.
    pub result: crate::runtime::result::RunResult,
    /// Its first departure from the recorded path, if any.
    pub departure: Option<Departure>,
}

/// The departure of a replay's first divergence.
fn divergence(file: &SourceFile, playbook: &Playbook, d: &Divergence) -> Departure {
    let id = d.step.as_ref().map(crate::runtime::backend::StepId::id);
    let diagnostic = pointing_at(
        file,
        playbook,
        format!("the playbook leaves the recorded path: {d}"),
        id.as_deref(),
        None,
        "this step differs from the journal",
    );
    let diagnostic = match approval_span(playbook, &d.name).filter(|_| d.step.is_none()) {
        Some(span) => diagnostic.with_primary(span, "this approval differs from the journal"),
        None => diagnostic,
    };
    let subject = d.subject();
    Departure {
        diagnostic,
        recorded: format!("{subject}: {}", d.recorded),
        now: format!("{subject}: {}", d.now),
    }
}

/// The departure of a replay that took another path than the recorded one.
fn mismatch(
    file: &SourceFile,
    playbook: &Playbook,
    m: &Mismatch,
    route: Option<usize>,
) -> Departure {
    let diagnostic = pointing_at(
        file,
        playbook,
        format!(
            "the playbook takes another path than the journal: {}",
            m.what()
        ),
        m.step_id.as_deref(),
        if m.route || m.step_id.is_none() {
            route
        } else {
            None
        },
        if m.route {
            "the route taken now"
        } else {
            "here"
        },
    );
    Departure {
        diagnostic,
        recorded: format!("{}: {}", m.subject, m.recorded),
        now: format!("{}: {}", m.subject, m.now),
    }
}

/// Replays `history` in check mode against `playbook`: what it did, and
/// its first difference from the recorded path, if any. When the journal
/// recorded the run's end, the replay must reach the same.
pub fn check(
    history: &Arc<History>,
    file: &SourceFile,
    playbook: &Playbook,
) -> Result<Replayed, Exit> {
    let recorded = history.last_end.clone();
    let complete = history.ended.is_some();
    let checked = replay::check(
        replay_request(history, file, playbook),
        Arc::clone(history),
        complete,
    )
    .map_err(|e| {
        crate::output::stderr_line!("error: {e}");
        Exit::Usage
    })?;
    let departure = match (&checked.divergence, &recorded, complete) {
        (Some(d), _, _) => Some(divergence(file, playbook, d)),
        (None, Some(end), true) => {
            let route = checked.result.route.as_ref().map(|r| r.index);
            replay::compare::first_mismatch(end, &checked.result)
                .map(|m| mismatch(file, playbook, &m, route))
        }
        _ => None,
    };
    Ok(Replayed {
        result: checked.result,
        departure,
    })
}
