//! `coordops approve`: a person's decision on an approval a suspended run
//! waits for, appended to the run's journal.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use clap::Args;

use super::Exit;
use crate::journal::{self, Journal};
use crate::output;
use crate::report::{coarse_duration, decision_line, decision_on};
use crate::runtime::record::{ApprovalDecision, Entry};
use crate::runtime::result::{RunResult, RunStatus};

/// Arguments of `coordops approve`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  coordops approve .coordops/runs/run-ops-release-1767225600-4242.jsonl release_approval --grant
  coordops approve run.jsonl release_approval --deny --by alice --note \"CI is red\"

A run whose approval had nobody to decide it (no terminal, and
`defaults.approvals` unset or `ask`) suspends with status WAITING (exit 5):
`coordops runs` lists such runs. This command records a decision on one of
the approvals it waits for: the journal gets a `decision` entry (who, when,
how, note), written with an fsync. Then `coordops resume JOURNAL` goes on.

A decision made after the approval's deadline is recorded, but the resumed
run takes the approval's timeout path: the decision came too late.

The journal is locked (flock) while it is read and appended to, so two
decisions at once are taken one after the other; the second one is refused
as already decided. A journal a run is still writing is refused after 10s.

Exit codes: 0 recorded; 2 the journal cannot be read or written, the run is
not waiting for NAME, or NAME was already decided.")]
#[command(group(clap::ArgGroup::new("decision").required(true).multiple(false)))]
pub struct ApproveArgs {
    /// The journal of the waiting run.
    #[arg(value_name = "JOURNAL")]
    pub journal: PathBuf,
    /// The approval's name (as written after `approve` in the playbook).
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Grant the approval.
    #[arg(long, group = "decision")]
    pub grant: bool,
    /// Deny it (the playbook's `on denied` path).
    #[arg(long, group = "decision")]
    pub deny: bool,
    /// Who decides (default: $USER).
    #[arg(long, value_name = "WHO")]
    pub by: Option<String>,
    /// Why, shown in the report.
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
}

pub(super) fn run(args: &ApproveArgs) -> Exit {
    match decide(args) {
        Ok(text) => {
            output::stdout(&text);
            Exit::Success
        }
        Err(e) => {
            output::stderr(&format!("error: {e}\n"));
            Exit::Usage
        }
    }
}

/// How long `approve` waits for another process to release the journal.
const LOCK_PATIENCE: std::time::Duration = std::time::Duration::from_secs(10);

/// Checks that the run waits for the approval, appends the decision and
/// says what was recorded and what to do next.
fn decide(args: &ApproveArgs) -> Result<String, String> {
    let path = &args.journal;
    let shown = path.display();
    if !path.is_file() {
        // Opening the journal below would create it: say why it is unreadable.
        journal::read(path)?;
    }
    // Held (flock) until the decision is written (see the help text); a
    // run still writing the journal is refused after a few seconds.
    let journal = Journal::create_patiently(path, LOCK_PATIENCE)
        .map_err(|e| format!("cannot open `{shown}`: {e}"))?;
    let file = journal::read(path)?;
    let Some(Entry::Start(start)) = file.entries.first() else {
        return Err(format!("`{shown}` records no run start"));
    };
    let started_unix_ms = start.started_unix_ms;
    // What is recorded and printed from here on hides the run's secrets
    // (as far as this environment has them), as the run itself does.
    if let Some(backends) = &start.backends {
        let values =
            crate::runtime::config::named_secret_values(Path::new(&backends.path), &|name| {
                std::env::var(name).ok()
            });
        let _ = output::set_secrets(values.iter().map(String::as_str));
    }
    let rebuilt = journal::rebuild(&file.entries).map_err(|e| format!("`{shown}`: {e}"))?;
    let result = rebuilt.result;
    if result.status != RunStatus::Waiting {
        let why = if rebuilt.finished {
            "it finished"
        } else {
            "it has not suspended: it is still running, or it was killed (see `coordops report`)"
        };
        return Err(format!(
            "run {} is {}, not waiting for an approval: {why}",
            result.run_id,
            result.status.word().to_uppercase()
        ));
    }
    let Some(wait) = result.waiting_for.iter().find(|w| w.name == args.name) else {
        let pending: Vec<String> = result
            .waiting_for
            .iter()
            .map(|w| format!("`{}`", w.name))
            .collect();
        return Err(format!(
            "run {} is not waiting for an approval `{}`; it waits for {}",
            result.run_id,
            args.name,
            pending.join(", ")
        ));
    };
    if let Some(earlier) = decision_on(&result, wait) {
        return Err(format!(
            "approval `{}` was already decided: {}",
            args.name,
            decision_line(earlier)
        ));
    }
    let now = SystemTime::now();
    let now_ms = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let decision = ApprovalDecision {
        name: args.name.clone(),
        granted: args.grant,
        by: args.by.clone().unwrap_or_else(user),
        note: args.note.clone(),
        at: humantime::format_rfc3339_millis(now).to_string(),
        at_ms: now_ms.saturating_sub(started_unix_ms),
        via: "command".to_string(),
    };
    let late = decision.at_ms > wait.deadline_ms;
    journal
        .append(&Entry::Decision(decision.clone()))
        .map_err(|e| format!("cannot write the decision to `{shown}`: {e}"))?;
    let mut text = format!("recorded: {}\n", decision_line(&decision));
    if late {
        text.push_str(&format!(
            "note: the deadline passed at {}: `coordops resume` takes the approval's timeout path (the decision came too late)\n",
            wait.deadline
        ));
    }
    let others: Vec<String> = result
        .waiting_for
        .iter()
        .filter(|w| w.name != args.name)
        .filter(|w| decision_on(&result, w).is_none())
        .map(|w| format!("`{}`", w.name))
        .collect();
    if !others.is_empty() {
        text.push_str(&format!("still waiting for {}\n", others.join(", ")));
    }
    text.push_str(&format!("next: coordops resume {shown}\n"));
    Ok(text)
}

/// `$USER`, or `unknown`.
fn user() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

/// The report of the run `path` records (`None` when it cannot be read).
pub(super) fn rebuilt(path: &Path) -> Option<RunResult> {
    let file = journal::read(path).ok()?;
    journal::rebuild(&file.entries).ok().map(|r| r.result)
}

/// What a WAITING run waits for, and the commands that go on.
pub(super) fn next_steps(result: &RunResult, journal: &Path) -> String {
    let now_ms = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let mut text = String::new();
    for wait in &result.waiting_for {
        text.push_str(&format!(
            "waiting for approval `{}`: {} ({})\n",
            wait.name,
            super::progress::one_line(&wait.message),
            time_left(&wait.deadline, now_ms)
        ));
    }
    let name = result
        .waiting_for
        .first()
        .map_or("NAME", |w| w.name.as_str());
    text.push_str(&format!(
        "decide: coordops approve {} {name} --grant (or --deny), then: coordops resume {}\n",
        journal.display(),
        journal.display()
    ));
    text
}

/// `times out in 23h59m` or `deadline passed`, from an RFC 3339 deadline.
pub(super) fn time_left(deadline: &str, now_unix_ms: u64) -> String {
    let Ok(at) = humantime::parse_rfc3339(deadline) else {
        return format!("deadline {deadline}");
    };
    let at_ms = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    if at_ms <= now_unix_ms {
        "deadline passed".to_string()
    } else {
        format!("times out in {}", coarse_duration(at_ms - now_unix_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_left_counts_down_to_the_deadline() {
        let deadline = "2026-01-02T00:00:00.000Z";
        let at = humantime::parse_rfc3339(deadline).expect("deadline");
        let ms = at
            .duration_since(SystemTime::UNIX_EPOCH)
            .expect("after the epoch")
            .as_millis() as u64;
        assert_eq!(time_left(deadline, ms - 90_000), "times out in 1m");
        assert_eq!(time_left(deadline, ms - 86_400_000), "times out in 1d");
        assert_eq!(time_left(deadline, ms), "deadline passed");
        assert_eq!(time_left("soon", ms), "deadline soon");
    }

    #[test]
    fn a_decision_line_says_who_how_when_and_why() {
        let d = ApprovalDecision {
            name: "release".into(),
            granted: false,
            by: "alice".into(),
            note: Some("CI is\nred".into()),
            at: "2026-01-01T00:00:00.000Z".into(),
            at_ms: 5,
            via: "command".into(),
        };
        assert_eq!(
            decision_line(&d),
            "`release` denied by alice via command at 2026-01-01T00:00:00.000Z (note: CI is red)"
        );
    }
}
