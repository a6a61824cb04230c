//! `coordops runs`: the journals in a folder, newest first, with status,
//! signal, age and the approvals each waiting run waits for.
//!
//! Each journal is read at most once, and never whole when it is large: its
//! first line (the run's start) and its tail — at least [`TAIL`] bytes, more
//! when the last line is longer — which holds the end, or the suspend and
//! the decisions recorded since.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use clap::{Args, ValueEnum};
use serde::Serialize;

use super::approve::time_left;
use super::Exit;
use crate::journal;
use crate::output;
use crate::report::coarse_duration;
use crate::runtime::record::{Entry, RunStart};

/// Arguments of `coordops runs`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  coordops runs
  coordops runs path/to/runs --format json

One line per journal (*.jsonl), newest first: run id, status, signal, age
and, for a run WAITING for a person, the approvals it waits for with the time
left (or `deadline passed`) and any decision recorded since. Status
`running`: a coordops process is writing the journal now; `unfinished`: the
run was killed or interrupted (`coordops resume` continues it). An empty or missing
folder is not an error (\"no runs\").

Only the first line and the end of each journal are read (see docs/journal.md).

Exit codes: 0; 2 when the folder cannot be read.")]
pub struct RunsArgs {
    /// The folder of journals.
    #[arg(value_name = "DIR", default_value = journal::DEFAULT_DIR)]
    pub dir: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = RunsFormat::Text)]
    pub format: RunsFormat,
}

/// `--format` of `coordops runs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RunsFormat {
    /// One line per run.
    Text,
    /// A JSON array.
    Json,
}

/// The end of a journal read for its status: at least this many bytes.
pub const TAIL: u64 = 256 << 10;

/// One journal, as listed.
#[derive(Debug, Serialize)]
struct Listed {
    journal: String,
    run_id: String,
    status: String,
    signal: String,
    started_at: String,
    /// Milliseconds since the run started (by its start time).
    age_ms: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    waiting_for: Vec<Waiting>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip)]
    started_unix_ms: u64,
}

/// An approval a listed run waits for.
#[derive(Debug, Serialize)]
struct Waiting {
    name: String,
    /// RFC 3339, when the journal's tail holds the approval's wait.
    #[serde(skip_serializing_if = "Option::is_none")]
    deadline: Option<String>,
    /// `times out in 3h`, `deadline passed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    time_left: Option<String>,
    /// `granted` or `denied` when decided since the run suspended.
    #[serde(skip_serializing_if = "Option::is_none")]
    decided: Option<String>,
}

pub(super) fn run(args: &RunsArgs) -> Exit {
    let entries = match std::fs::read_dir(&args.dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return print(args.format, Vec::new());
        }
        Err(e) => {
            output::stderr(&format!(
                "error: cannot read `{}`: {e}\n",
                args.dir.display()
            ));
            return Exit::Usage;
        }
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl") && p.is_file())
        .collect();
    paths.sort();
    let now = now_unix_ms();
    let mut listed: Vec<Listed> = paths.iter().map(|p| list(p, now)).collect();
    listed.sort_by(|a, b| {
        b.started_unix_ms
            .cmp(&a.started_unix_ms)
            .then(a.journal.cmp(&b.journal))
    });
    print(args.format, listed)
}

fn print(format: RunsFormat, listed: Vec<Listed>) -> Exit {
    match format {
        RunsFormat::Json => {
            let text = serde_json::to_string_pretty(&listed).unwrap_or_else(|_| "[]".into());
            output::stdout_json(&format!("{text}\n"));
        }
        RunsFormat::Text if listed.is_empty() => output::stdout("no runs\n"),
        RunsFormat::Text => output::stdout(&text_lines(&listed)),
    }
    Exit::Success
}

/// Aligned lines: run id, status, signal, age, what it waits for.
fn text_lines(listed: &[Listed]) -> String {
    let width = |f: fn(&Listed) -> usize| listed.iter().map(f).max().unwrap_or(0);
    let (w_id, w_status, w_signal) = (
        width(|l| l.run_id.chars().count()),
        width(|l| l.status.len()),
        width(|l| l.signal.chars().count()),
    );
    let mut text = String::new();
    for l in listed {
        if let Some(e) = &l.error {
            text.push_str(&format!(
                "{:w_id$}  {:w_status$}  {}: {e}\n",
                l.run_id, l.status, l.journal
            ));
            continue;
        }
        let mut line = format!(
            "{:w_id$}  {:w_status$}  {:w_signal$}  {} ago",
            l.run_id,
            l.status,
            l.signal,
            coarse_duration(l.age_ms)
        );
        let waits: Vec<String> = l
            .waiting_for
            .iter()
            .map(|w| {
                let detail = match (&w.decided, &w.time_left) {
                    (Some(d), _) => format!("{d}: resume it"),
                    (None, Some(t)) => t.clone(),
                    (None, None) => "deadline unknown".to_string(),
                };
                format!("`{}` ({detail})", w.name)
            })
            .collect();
        if !waits.is_empty() {
            line.push_str(&format!("  waits for {}", waits.join(", ")));
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// One journal's line; an unreadable one says why.
fn list(path: &Path, now: u64) -> Listed {
    let journal = path.display().to_string();
    match summarise(path, now) {
        Ok(listed) => listed,
        Err(e) => Listed {
            run_id: path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            status: "unreadable".to_string(),
            signal: String::new(),
            started_at: String::new(),
            age_ms: 0,
            waiting_for: Vec::new(),
            error: Some(e),
            started_unix_ms: 0,
            journal,
        },
    }
}

fn summarise(path: &Path, now: u64) -> Result<Listed, String> {
    let mut file = File::open(path).map_err(|e| e.to_string())?;
    let len = file.metadata().map_err(|e| e.to_string())?.len();
    let first = first_start(&mut file)?;
    let tail = tail_entries(&mut file, len).map_err(|e| e.to_string())?;
    // A journal of several runs is listed by its last, as `coordops report`
    // shows it (its start is in the tail unless the run is longer than it).
    let last = tail.iter().rposition(|e| matches!(e, Entry::Start(_)));
    let (start, tail) = match last.map(|i| (&tail[i], &tail[i..])) {
        Some((Entry::Start(s), run)) => (s.clone(), run),
        _ => (first, &tail[..]),
    };
    let started_unix_ms = if start.started_unix_ms > 0 {
        start.started_unix_ms
    } else {
        humantime::parse_rfc3339(&start.started_at)
            .ok()
            .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    };
    let (mut status, waiting_for) = status_of(&start, tail, now);
    if status == "unfinished" && journal::in_use(path) {
        status = "running".to_string();
    }
    Ok(Listed {
        journal: path.display().to_string(),
        run_id: start.run_id,
        status,
        signal: start.signal,
        started_at: start.started_at,
        age_ms: now.saturating_sub(started_unix_ms),
        waiting_for,
        error: None,
        started_unix_ms,
    })
}

/// The first run's start: the file's first line, which must be one.
fn first_start(file: &mut File) -> Result<RunStart, String> {
    let mut line = String::new();
    BufReader::new(file.take(journal::MAX_JOURNAL))
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    match serde_json::from_str::<Entry>(&line) {
        Ok(Entry::Start(start)) => Ok(start),
        _ => Err("not a coordops journal: no run start on its first line".to_string()),
    }
}

/// The whole lines of the last [`TAIL`] bytes or more (back to the start
/// of the last line), as entries; lines that do not read are skipped.
fn tail_entries(file: &mut File, len: u64) -> std::io::Result<Vec<Entry>> {
    let mut from = len.saturating_sub(TAIL);
    let mut bytes = Vec::new();
    loop {
        file.seek(SeekFrom::Start(from))?;
        bytes.clear();
        file.take(len - from).read_to_end(&mut bytes)?;
        let body = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
        // Done when the window starts the file or holds a whole last line.
        if from == 0 || body.contains(&b'\n') {
            break;
        }
        from = from.saturating_sub(TAIL.max(len - from));
    }
    let text = String::from_utf8_lossy(&bytes);
    let mut lines = text.lines();
    if from > 0 {
        lines.next(); // cut by the window
    }
    Ok(lines
        .filter_map(|l| serde_json::from_str::<Entry>(l).ok())
        .collect())
}

/// The status word and, for a waiting run, what it waits for.
fn status_of(start: &RunStart, tail: &[Entry], now: u64) -> (String, Vec<Waiting>) {
    if let Some(Entry::End(result)) = tail.iter().rev().find(|e| matches!(e, Entry::End(_))) {
        if result.run_id == start.run_id {
            return (result.status.word().to_string(), Vec::new());
        }
    }
    let suspend = tail.iter().rposition(|e| matches!(e, Entry::Suspend(_)));
    let resumed = suspend.is_some_and(|i| tail[i..].iter().any(|e| matches!(e, Entry::Resume(_))));
    let Some(Entry::Suspend(s)) = suspend.filter(|_| !resumed).map(|i| &tail[i]) else {
        return ("unfinished".to_string(), Vec::new());
    };
    let at = suspend.unwrap_or(0);
    let waiting = s
        .waiting_for
        .iter()
        .map(|name| {
            let wait = tail[..at].iter().rev().find_map(|e| match e {
                Entry::ApprovalWait(w) if &w.name == name => Some(w),
                _ => None,
            });
            let decided = tail[at..].iter().rev().find_map(|e| match e {
                Entry::Decision(d) if &d.name == name => {
                    Some(if d.granted { "granted" } else { "denied" }.to_string())
                }
                _ => None,
            });
            Waiting {
                name: name.clone(),
                deadline: wait.map(|w| w.deadline.clone()),
                time_left: wait.map(|w| time_left(&w.deadline, now)),
                decided,
            }
        })
        .collect();
    ("waiting".to_string(), waiting)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    const START: &str = r#"{"type":"start","run_id":"r","coordinator":"C","signal":"S:X","context":{},"started_at":"2026-01-01T00:00:00Z","quality_gate":80,"agents":["A"],"version":2,"started_unix_ms":1767225600000}"#;
    const WAIT: &str = r#"{"type":"approval_wait","name":"go","message":"Go?","at_ms":10,"deadline_ms":3600010,"requested_at":"2026-01-01T00:00:00.010Z","deadline":"2026-01-01T01:00:00.010Z"}"#;
    const SUSPEND: &str = r#"{"type":"suspend","at_ms":12,"waiting_for":["go"]}"#;
    const DECISION: &str = r#"{"type":"decision","name":"go","granted":false,"by":"bob","at":"2026-01-01T00:05:00.000Z","at_ms":300000,"via":"command"}"#;

    fn journal(lines: &[&str]) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        for line in lines {
            writeln!(file, "{line}").expect("write");
        }
        file
    }

    const START_MS: u64 = 1_767_225_600_000;

    #[test]
    fn a_suspended_run_lists_its_approvals_time_left_and_decisions() {
        let file = journal(&[START, WAIT, SUSPEND]);
        let listed = summarise(file.path(), START_MS + 60_000).expect("listed");
        assert_eq!(listed.status, "waiting");
        assert_eq!(listed.age_ms, 60_000);
        assert_eq!(
            listed.waiting_for[0].time_left.as_deref(),
            Some("times out in 59m")
        );
        let file = journal(&[START, WAIT, SUSPEND, DECISION]);
        let listed = summarise(file.path(), START_MS + 7_200_000).expect("listed");
        assert_eq!(listed.waiting_for[0].decided.as_deref(), Some("denied"));
        assert_eq!(
            listed.waiting_for[0].time_left.as_deref(),
            Some("deadline passed")
        );
    }

    #[test]
    fn a_last_line_longer_than_the_tail_is_still_read_whole() {
        let mut end: serde_json::Value = serde_json::from_str(
            r#"{"type":"end","run_id":"r","coordinator":"C","signal":"S:X","context":{},"route":null,"status":"FAILED","started_at":"2026-01-01T00:00:00Z","duration_ms":5,"summary":"","payload":{},"next_steps":null,"steps":[],"gates":[],"quality_gate":80,"escalation":null,"events":[]}"#,
        )
        .expect("end");
        end["summary"] = serde_json::Value::String("x".repeat(3 * TAIL as usize));
        let end = end.to_string();
        let file = journal(&[START, WAIT, &end]);
        let listed = summarise(file.path(), START_MS).expect("listed");
        assert_eq!(listed.status, "failed");
        let killed = journal(&[START, WAIT]);
        assert_eq!(
            summarise(killed.path(), START_MS).expect("listed").status,
            "unfinished"
        );
        let writing = journal::Journal::create(killed.path()).expect("journal");
        assert_eq!(
            summarise(killed.path(), START_MS).expect("listed").status,
            "running",
            "a journal a process holds is a run still going"
        );
        drop(writing);
        assert_eq!(
            summarise(killed.path(), START_MS).expect("listed").status,
            "unfinished"
        );
    }

    #[test]
    fn a_journal_of_two_runs_is_listed_by_its_last() {
        let second = START.replace(r#""run_id":"r""#, r#""run_id":"r2""#);
        let file = journal(&[START, SUSPEND, &second, WAIT]);
        let listed = summarise(file.path(), START_MS).expect("listed");
        assert_eq!(listed.run_id, "r2");
        assert_eq!(listed.status, "unfinished");
    }

    #[test]
    fn a_file_that_is_no_journal_is_listed_as_unreadable() {
        let file = journal(&["hello"]);
        let listed = list(file.path(), START_MS);
        assert_eq!(listed.status, "unreadable");
        assert!(listed.error.is_some());
    }
}
