//! `coordops test --replay JOURNAL…`: re-run the playbook against recorded
//! journals without calling any agent, and fail, pointing at the playbook
//! text, where it would take another path than the recorded run.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::replay_input::{self, read_history};
use super::run_input::checked_playbook;
use super::Exit;
use crate::diagnostics::{render, RenderOptions};

/// How replaying one journal went.
enum Outcome {
    /// The replay took the recorded path (the recorded status, or
    /// `unfinished` for a journal that ends before its run did).
    Passed(String),
    /// It left it (the diagnostic was printed).
    Failed(String),
    /// The journal or playbook could not be used (the error was printed).
    Broken,
}

/// Replays each journal; prints one line per journal and a summary.
pub(super) fn run(journals: &[PathBuf], playbook: Option<&Path>, options: RenderOptions) -> Exit {
    let (mut passed, mut failed, mut broken) = (0usize, 0usize, 0usize);
    for journal in journals {
        match replay_one(journal, playbook, options) {
            Outcome::Passed(status) => {
                passed += 1;
                crate::output::stdout(&format!("replay {} ... ok ({status})\n", journal.display()));
            }
            Outcome::Failed(status) => {
                failed += 1;
                crate::output::stdout(&format!(
                    "replay {} ... FAILED ({status})\n",
                    journal.display()
                ));
            }
            Outcome::Broken => broken += 1,
        }
    }
    crate::output::stdout(&format!(
        "\ntest result: {passed} passed, {failed} failed\n"
    ));
    if failed > 0 {
        Exit::Errors
    } else if broken > 0 {
        Exit::Usage
    } else {
        Exit::Success
    }
}

fn replay_one(journal: &Path, playbook: Option<&Path>, options: RenderOptions) -> Outcome {
    let history = match read_history(journal) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: {e}");
            return Outcome::Broken;
        }
    };
    let path = match replay_input::playbook_path(&history, playbook) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: `{}`: {e}", journal.display());
            return Outcome::Broken;
        }
    };
    let status = history.ended.as_ref().map_or_else(
        || "unfinished".to_string(),
        |end| end.status.word().to_string(),
    );
    let (file, playbook) = match checked_playbook(&path, options) {
        Ok(loaded) => loaded,
        Err(Exit::Errors) => return Outcome::Failed(status),
        Err(_) => return Outcome::Broken,
    };
    match replay_input::check(&Arc::new(history), &file, &playbook) {
        Ok(None) => Outcome::Passed(status),
        Ok(Some(diagnostic)) => {
            crate::output::stderr(&render(&diagnostic, options));
            eprintln!("  recorded in: {}", journal.display());
            Outcome::Failed(status)
        }
        Err(_) => Outcome::Broken,
    }
}
