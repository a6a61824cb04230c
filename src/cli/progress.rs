//! Seeing a run (docs/backends.md, "Seeing a run"): a live display of the
//! agents at work when stderr is a terminal, one plain line per event when
//! it is not, and the one final status line.
//!
//! Everything is written through the redacting sink (`crate::output`): the
//! live display draws through [`RedactingTerm`], whose frames are redacted
//! before they reach the terminal.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle, TermLike};

use crate::output;
use crate::report::human_duration;
use crate::runtime::record::{Entry, Recorder};
use crate::runtime::result::{EventKind, RunResult, StepOutcome, StepRecord};

/// How much a run shows on stderr: `-q`, the default, `-v`, `-vv`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Verbosity {
    /// `-q`: no start line, no progress; only errors, and the final status
    /// line of a run that did not complete.
    pub quiet: bool,
    /// `-v` (1): event lines also on a terminal, and in dry runs; `-vv`
    /// (2): also every attempt's request, and debug logs.
    pub verbose: u8,
}

impl Verbosity {
    /// Whether the start line and progress are shown.
    pub fn chatty(self) -> bool {
        !self.quiet
    }
}

/// How a run's progress is shown on stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Display {
    /// Nothing (`-q`; dry runs without `-v`).
    Off,
    /// One plain line per event.
    Lines,
    /// The live display; with `lines_above`, event lines scroll above it.
    Live {
        /// `-v`: print the event lines above the live display.
        lines_above: bool,
    },
}

impl Display {
    /// The display for a run: `dry_run`s finish at once on the virtual
    /// clock, so they show event lines only with `-v`; real runs go live on
    /// a terminal (not with `-vv` or `COORDOPS_LOG`, whose logs would tear it).
    pub fn choose(verbosity: Verbosity, dry_run: bool) -> Display {
        if verbosity.quiet {
            return Display::Off;
        }
        if dry_run {
            return if verbosity.verbose >= 1 {
                Display::Lines
            } else {
                Display::Off
            };
        }
        let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
        let logging = std::env::var_os("COORDOPS_LOG").is_some_and(|v| !v.is_empty());
        if verbosity.verbose >= 2 || logging || dumb || !std::io::stderr().is_terminal() {
            Display::Lines
        } else {
            Display::Live {
                lines_above: verbosity.verbose >= 1,
            }
        }
    }
}

// ── plain lines ─────────────────────────────────────────────────────────────

/// Run time as shown at the start of each event line: `+12.3s` (tenths,
/// rounded down).
pub fn clock(ms: u64) -> String {
    format!("+{}.{}s", ms / 1000, ms % 1000 / 100)
}

/// The name of an event kind as in the run log (`SPAWN`, `HANDOFF`, …).
pub fn kind_word(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Route => "ROUTE",
        EventKind::Spawn => "SPAWN",
        EventKind::Handoff => "HANDOFF",
        EventKind::Retry => "RETRY",
        EventKind::Timeout => "TIMEOUT",
        EventKind::Skip => "SKIP",
        EventKind::Gate => "GATE",
        EventKind::Approval => "APPROVAL",
        EventKind::Abort => "ABORT",
        EventKind::Complete => "COMPLETE",
        EventKind::Failure => "FAILURE",
        EventKind::Escalate => "ESCALATE",
    }
}

/// `text` on one line, without control characters (an agent's message
/// could hold newlines or terminal escapes).
pub fn one_line(text: &str) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    flat.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whole seconds, as `12s` or `1m 5s` (`0s` under a second).
fn seconds(ms: u64) -> String {
    human_duration(ms / 1000 * 1000)
}

/// How a step ended, in one line: `success (8s)`, `failure rejected:
/// non-fast-forward (17s, 3 attempts)`, `skipped`.
pub fn step_summary(step: &StepRecord) -> String {
    let attempts = step.attempts.len();
    let timing = if attempts > 1 {
        format!(
            " ({}, {attempts} attempts)",
            human_duration(step.duration_ms)
        )
    } else {
        format!(" ({})", human_duration(step.duration_ms))
    };
    match &step.outcome {
        StepOutcome::Success => format!("success{timing}"),
        StepOutcome::Failure { kind, message } => {
            format!("failure {}: {}{timing}", one_line(kind), one_line(message))
        }
        StepOutcome::Timeout => format!("timeout{timing}"),
        StepOutcome::Skipped => "skipped".to_string(),
        StepOutcome::Aborted { reason } => format!("aborted: {}{timing}", one_line(reason)),
    }
}

/// The plain line for `entry`, if it gets one (without the newline):
///
/// - every run-log event: `+0.0s SPAWN commit RELEASE_MANAGER.commit attempt
///   1 (timeout 30s)` (`+TIME KIND [STEP] DETAIL`, no step for run-wide events);
/// - an attempt that did not succeed: `+12.0s ATTEMPT push attempt 1 failure
///   rejected: non-fast-forward`;
/// - a finished step: `+8.0s STEP commit success (8s)`;
/// - with `requests` (`-vv`), each attempt's request: `+0.0s REQUEST commit {…}`.
pub fn event_line(entry: &Entry, requests: bool) -> Option<String> {
    match entry {
        Entry::Event(e) => {
            let step = e
                .step
                .as_deref()
                .map(|s| format!(" {}", one_line(s)))
                .unwrap_or_default();
            Some(format!(
                "{} {}{step} {}",
                clock(e.at_ms),
                kind_word(e.kind),
                one_line(&e.detail)
            ))
        }
        Entry::AttemptEnd(end) if end.outcome != "success" => {
            let why = match (&end.kind, &end.message) {
                (Some(k), Some(m)) => format!(" {}: {}", one_line(k), one_line(m)),
                (Some(k), None) => format!(" {}", one_line(k)),
                (None, Some(m)) => format!(" {}", one_line(m)),
                (None, None) => String::new(),
            };
            Some(format!(
                "{} ATTEMPT {} attempt {} {}{why}",
                clock(end.at_ms),
                one_line(&end.step),
                end.attempt,
                one_line(&end.outcome)
            ))
        }
        Entry::Step(step) => Some(format!(
            "{} STEP {} {}",
            clock(step.started_ms.saturating_add(step.duration_ms)),
            one_line(&step.name),
            step_summary(step)
        )),
        Entry::Attempt(a) if requests => Some(format!(
            "{} REQUEST {} {}",
            clock(a.at_ms),
            one_line(&a.step),
            serde_json::to_string(&a.request).unwrap_or_default()
        )),
        _ => None,
    }
}

/// The one line a run ends with: `run ID: COMPLETE in 25s — report stdout,
/// journal .coordops/runs/ID.jsonl`.
pub fn status_line(
    command: &str,
    result: &RunResult,
    report: Option<&Path>,
    journal: Option<&Path>,
) -> String {
    let report = report.map_or_else(|| "stdout".to_string(), |p| p.display().to_string());
    let journal = journal
        .map(|j| format!(", journal {}", j.display()))
        .unwrap_or_default();
    format!(
        "{command} {}: {} in {} — report {report}{journal}",
        result.run_id,
        result.status.word().to_uppercase(),
        human_duration(result.duration_ms)
    )
}

// ── the live display's state ────────────────────────────────────────────────

/// An attempt in flight, or a step between attempts.
#[derive(Clone, Debug, PartialEq)]
struct Active {
    step: String,
    agent: String,
    task: String,
    attempt: u32,
    started_ms: u64,
    timeout_ms: Option<u64>,
    /// Set when the attempt ended without success and the step goes on
    /// (retry, recovery).
    waiting: Option<String>,
}

/// What the live display shows, built from the run's entries; rendered to
/// text by [`LiveState::render`] (no terminal needed).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LiveState {
    signal: String,
    active: Vec<Active>,
    done: Vec<String>,
    status: Option<String>,
}

/// Finished steps shown under the header; older ones are counted.
const DONE_SHOWN: usize = 8;

impl LiveState {
    /// Takes one entry into account.
    pub fn apply(&mut self, entry: &Entry) {
        match entry {
            Entry::Start(start) => self.signal = one_line(&start.signal),
            Entry::Attempt(a) => {
                let active = Active {
                    step: a.step.clone(),
                    agent: a.agent.clone(),
                    task: a.task.clone(),
                    attempt: a.attempt,
                    started_ms: a.at_ms,
                    timeout_ms: a.request.get("timeout_ms").and_then(|t| t.as_u64()),
                    waiting: None,
                };
                match self.active.iter_mut().find(|x| x.step == a.step) {
                    Some(slot) => *slot = active,
                    None => self.active.push(active),
                }
            }
            Entry::AttemptEnd(end) if end.outcome != "success" => {
                if let Some(slot) = self.active.iter_mut().find(|x| x.step == end.step) {
                    let why = end
                        .kind
                        .as_deref()
                        .or(end.message.as_deref())
                        .map(|w| format!(" ({})", one_line(w)))
                        .unwrap_or_default();
                    slot.waiting = Some(format!(
                        "attempt {} {}{why}",
                        end.attempt,
                        one_line(&end.outcome)
                    ));
                }
            }
            Entry::Step(step) => self.finish_step(step),
            Entry::End(result) => self.status = Some(result.status.word().to_string()),
            _ => {}
        }
    }

    fn finish_step(&mut self, step: &StepRecord) {
        let position = self
            .active
            .iter()
            .position(|a| a.step == step.name)
            .or_else(|| {
                self.active.iter().position(|a| {
                    Some(&a.agent) == step.agent.as_ref() && Some(&a.task) == step.task.as_ref()
                })
            });
        if let Some(i) = position {
            self.active.remove(i);
        }
        if step.kind == "workflow" {
            return;
        }
        let name = one_line(&step.name);
        let attempts = step.attempts.len();
        let tries = if attempts > 1 {
            format!(" ({attempts} attempts)")
        } else {
            String::new()
        };
        let line = match &step.outcome {
            StepOutcome::Success => {
                format!("✓ {name} {}{tries}", human_duration(step.duration_ms))
            }
            StepOutcome::Failure { kind, message } => {
                format!("✗ {name} {}: {}{tries}", one_line(kind), one_line(message))
            }
            StepOutcome::Timeout => format!("✗ {name} timeout{tries}"),
            StepOutcome::Skipped => format!("– {name} skipped"),
            StepOutcome::Aborted { reason } => format!("✗ {name} aborted: {}", one_line(reason)),
        };
        self.done.push(line);
    }

    /// The display as text, `now_ms` after the run began: an OpsStatus-like
    /// header, the latest finished steps, then the agents at work with
    /// their elapsed time against the timeout.
    ///
    /// ```text
    /// OPS:COMMIT in_progress — 1 active, 1 done
    ///   ✓ commit 8s
    ///   ▸ RELEASE_MANAGER.push  attempt 1  3s / 30s
    /// ```
    pub fn render(&self, now_ms: u64) -> String {
        let status = self.status.as_deref().unwrap_or("in_progress");
        let mut lines = vec![format!(
            "{} {status} — {} active, {} done",
            self.signal,
            self.active.len(),
            self.done.len()
        )];
        let hidden = self.done.len().saturating_sub(DONE_SHOWN);
        if hidden > 0 {
            lines.push(format!("  … {hidden} more done"));
        }
        lines.extend(self.done.iter().skip(hidden).map(|d| format!("  {d}")));
        for a in &self.active {
            let who = format!("{}.{}", one_line(&a.agent), one_line(&a.task));
            lines.push(match &a.waiting {
                Some(why) => format!("  ↻ {who}  {why}"),
                None => {
                    let elapsed = seconds(now_ms.saturating_sub(a.started_ms));
                    let limit = a
                        .timeout_ms
                        .map(|t| format!(" / {}", human_duration(t)))
                        .unwrap_or_default();
                    format!("  ▸ {who}  attempt {}  {elapsed}{limit}", a.attempt)
                }
            });
        }
        lines.join("\n")
    }
}

// ── the recorder ────────────────────────────────────────────────────────────

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The live display: a bar drawn through the redacting terminal, and the
/// ticker thread that updates elapsed times between entries.
struct Live {
    bar: ProgressBar,
    lines_above: bool,
    ticker: Mutex<Option<(mpsc::Sender<()>, JoinHandle<()>)>>,
}

/// Shows a run's progress on stderr as it goes; a [`Recorder`].
pub struct Progress {
    display: Display,
    requests: bool,
    state: Arc<Mutex<LiveState>>,
    began: Instant,
    live: Option<Live>,
}

/// The live display being drawn, if any, so other messages (an interrupt's)
/// are printed above it instead of through it.
static SHOWN: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Writes one message line to stderr (redacted): above the live display
/// while one is shown, so neither garbles the other.
pub fn message_line(text: &str) {
    let shown = lock(&SHOWN).clone();
    match shown {
        Some(bar) => bar.println(text.trim_end_matches('\n')),
        None => output::stderr(&format!("{}\n", text.trim_end_matches('\n'))),
    }
}

/// Frames of the header's spinner.
const SPINNER: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/// How often the ticker redraws.
const TICK: Duration = Duration::from_millis(250);

impl Progress {
    /// A progress recorder showing `display`; `verbosity.verbose >= 2`
    /// adds the attempts' requests to the event lines.
    pub fn new(display: Display, verbosity: Verbosity) -> Arc<Progress> {
        let state = Arc::new(Mutex::new(LiveState::default()));
        let began = Instant::now();
        let live = match display {
            Display::Live { lines_above } => Some(start_live(&state, began, lines_above)),
            Display::Off | Display::Lines => None,
        };
        Arc::new(Progress {
            display,
            requests: verbosity.verbose >= 2,
            state,
            began,
            live,
        })
    }

    /// Stops the ticker and clears the live display, so the final status
    /// line starts on a clean line; harmless to call twice.
    pub fn finish(&self) {
        if let Some(live) = &self.live {
            lock(&SHOWN).take();
            let ticker = lock(&live.ticker).take();
            if let Some((stop, handle)) = ticker {
                drop(stop);
                let _ = handle.join();
            }
            live.bar.finish_and_clear();
        }
    }

    /// Clears the live display without waiting for the ticker (before
    /// exiting at once on a second interrupt).
    pub fn clear_now(&self) {
        if let Some(live) = &self.live {
            lock(&SHOWN).take();
            live.bar.finish_and_clear();
        }
    }

    fn redraw(&self, state: &LiveState) {
        if let Some(live) = &self.live {
            live.bar.set_message(frame(state, self.began, 0));
        }
    }
}

/// The live display's text now, each line cut to the terminal's width so
/// nothing wraps (wrapped lines would be left behind when redrawing).
fn frame(state: &LiveState, began: Instant, tick: usize) -> String {
    let now_ms = u64::try_from(began.elapsed().as_millis()).unwrap_or(u64::MAX);
    let text = format!("{} {}", SPINNER[tick % SPINNER.len()], state.render(now_ms));
    let width = usize::from(console::Term::stderr().size().1).saturating_sub(1);
    text.lines()
        .map(|l| console::truncate_str(l, width.max(20), "…").into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

fn start_live(state: &Arc<Mutex<LiveState>>, began: Instant, lines_above: bool) -> Live {
    let bar = ProgressBar::with_draw_target(
        None,
        ProgressDrawTarget::term_like_with_hz(Box::new(RedactingTerm::stderr()), 10),
    );
    bar.set_style(
        ProgressStyle::with_template("{msg}").unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let (stop, stopped) = mpsc::channel::<()>();
    let ticker = {
        let (bar, state) = (bar.clone(), state.clone());
        std::thread::Builder::new()
            .name("coordops-progress".to_string())
            .spawn(move || {
                let mut tick = 0usize;
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(TICK) {
                    tick = tick.wrapping_add(1);
                    let text = frame(&lock(&state), began, tick);
                    bar.set_message(text);
                }
            })
            .ok()
    };
    *lock(&SHOWN) = Some(bar.clone());
    Live {
        bar,
        lines_above,
        ticker: Mutex::new(ticker.map(|handle| (stop, handle))),
    }
}

impl Drop for Progress {
    /// A run that stops early (an error) still leaves a clean terminal.
    fn drop(&mut self) {
        self.finish();
    }
}

impl Recorder for Progress {
    fn record(&self, entry: &Entry) {
        match self.display {
            Display::Off => {}
            Display::Lines => {
                if let Some(line) = event_line(entry, self.requests) {
                    output::stderr(&format!("{line}\n"));
                }
            }
            Display::Live { .. } => {
                let mut state = lock(&self.state);
                state.apply(entry);
                if let Some(live) = &self.live {
                    if live.lines_above {
                        if let Some(line) = event_line(entry, self.requests) {
                            live.bar.println(line);
                        }
                    }
                }
                self.redraw(&state);
            }
        }
    }
}

// ── the redacting terminal ──────────────────────────────────────────────────

/// indicatif's terminal: frames are buffered and, on each flush, redacted
/// and written to stderr through `crate::output`.
#[derive(Debug)]
struct RedactingTerm {
    term: console::Term,
    buffer: Mutex<String>,
    /// Where redacted frames go: `output::stderr`, or a test's collector.
    sink: fn(&str),
}

impl RedactingTerm {
    fn stderr() -> RedactingTerm {
        RedactingTerm {
            term: console::Term::stderr(),
            buffer: Mutex::new(String::new()),
            sink: output::stderr,
        }
    }

    fn push(&self, text: &str) -> std::io::Result<()> {
        lock(&self.buffer).push_str(text);
        Ok(())
    }

    fn cursor(&self, n: usize, code: char) -> std::io::Result<()> {
        if n == 0 {
            return Ok(());
        }
        self.push(&format!("\x1b[{n}{code}"))
    }
}

impl TermLike for RedactingTerm {
    fn width(&self) -> u16 {
        self.term.size().1
    }

    fn height(&self) -> u16 {
        self.term.size().0
    }

    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        self.cursor(n, 'A')
    }

    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        self.cursor(n, 'B')
    }

    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        self.cursor(n, 'C')
    }

    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        self.cursor(n, 'D')
    }

    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.push(s)?;
        self.push("\n")
    }

    fn write_str(&self, s: &str) -> std::io::Result<()> {
        self.push(s)
    }

    fn clear_line(&self) -> std::io::Result<()> {
        self.push("\r\x1b[2K")
    }

    fn flush(&self) -> std::io::Result<()> {
        let text = std::mem::take(&mut *lock(&self.buffer));
        if !text.is_empty() {
            (self.sink)(&output::redact(&text));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Entries as journalled (the journal's JSON lines).
    fn entries(lines: &[&str]) -> Vec<Entry> {
        lines
            .iter()
            .map(|l| serde_json::from_str(l).expect("a journal entry"))
            .collect()
    }

    const START: &str = r#"{"type":"start","run_id":"r","coordinator":"COORD_OPS","signal":"OPS:COMMIT","context":{},"started_at":"2026-01-01T00:00:00Z","quality_gate":80,"agents":["RELEASE_MANAGER"]}"#;
    const SPAWN_COMMIT: &str = r#"{"type":"event","at_ms":1200,"kind":"SPAWN","step":"commit","detail":"RELEASE_MANAGER.commit attempt 1 (timeout 30s)"}"#;
    const ATTEMPT_COMMIT: &str = r#"{"type":"attempt","step":"commit","agent":"RELEASE_MANAGER","task":"commit","attempt":1,"at_ms":1200,"request":{"timeout_ms":30000}}"#;
    const STEP_COMMIT: &str = r#"{"type":"step","name":"commit","kind":"task","agent":"RELEASE_MANAGER","task":"commit","outcome":{"status":"success"},"critical":true,"started_ms":1200,"duration_ms":3000,"attempts":[{"number":1,"started_ms":1200,"duration_ms":3000,"outcome":"success","kind":null,"message":null}],"outputs":{}}"#;
    const ATTEMPT_PUSH: &str = r#"{"type":"attempt","step":"push","agent":"RELEASE_MANAGER","task":"push","attempt":1,"at_ms":4200,"request":{"timeout_ms":30000}}"#;
    const PUSH_FAILED: &str = r#"{"type":"attempt_end","step":"push","attempt":1,"at_ms":6000,"outcome":"failure","kind":"rejected","message":"non-fast-forward\n(hint: fetch)"}"#;
    const STEP_PUSH: &str = r#"{"type":"step","name":"push","kind":"task","agent":"RELEASE_MANAGER","task":"push","outcome":{"status":"failure","kind":"rejected","message":"non-fast-forward"},"critical":false,"started_ms":4200,"duration_ms":9000,"attempts":[{"number":1,"started_ms":4200,"duration_ms":1800,"outcome":"failure","kind":"rejected","message":"non-fast-forward"},{"number":2,"started_ms":8000,"duration_ms":5200,"outcome":"failure","kind":"rejected","message":"non-fast-forward"}],"outputs":{}}"#;
    const HANDOFF_EVENT: &str = r#"{"type":"event","at_ms":4200,"kind":"HANDOFF","step":"push","detail":"commit.hash -> push"}"#;
    const ROUTE_EVENT: &str = r#"{"type":"event","at_ms":0,"kind":"ROUTE","step":null,"detail":"OPS:COMMIT -> workflow commit_pr"}"#;

    fn line(json: &str) -> Option<String> {
        event_line(&entries(&[json])[0], false)
    }

    #[test]
    fn clock_shows_tenths_rounded_down() {
        assert_eq!(clock(0), "+0.0s");
        assert_eq!(clock(1_299), "+1.2s");
        assert_eq!(clock(125_000), "+125.0s");
    }

    #[test]
    fn events_steps_and_failed_attempts_get_one_line_each() {
        assert_eq!(
            line(SPAWN_COMMIT).as_deref(),
            Some("+1.2s SPAWN commit RELEASE_MANAGER.commit attempt 1 (timeout 30s)")
        );
        assert_eq!(
            line(ROUTE_EVENT).as_deref(),
            Some("+0.0s ROUTE OPS:COMMIT -> workflow commit_pr")
        );
        assert_eq!(
            line(HANDOFF_EVENT).as_deref(),
            Some("+4.2s HANDOFF push commit.hash -> push")
        );
        assert_eq!(
            line(STEP_COMMIT).as_deref(),
            Some("+4.2s STEP commit success (3s)")
        );
        assert_eq!(
            line(STEP_PUSH).as_deref(),
            Some("+13.2s STEP push failure rejected: non-fast-forward (9s, 2 attempts)")
        );
        // Newlines in an agent's message never break the one-line format.
        assert_eq!(
            line(PUSH_FAILED).as_deref(),
            Some("+6.0s ATTEMPT push attempt 1 failure rejected: non-fast-forward (hint: fetch)")
        );
        assert_eq!(line(START), None);
        assert_eq!(line(ATTEMPT_COMMIT), None);
    }

    #[test]
    fn requests_are_shown_only_when_asked() {
        let attempt = &entries(&[ATTEMPT_COMMIT])[0];
        assert_eq!(event_line(attempt, false), None);
        assert_eq!(
            event_line(attempt, true).as_deref(),
            Some(r#"+1.2s REQUEST commit {"timeout_ms":30000}"#)
        );
    }

    #[test]
    fn one_line_drops_control_characters() {
        assert_eq!(one_line("a\nb\r\n\x1b[2Jc\t d"), "a b [2Jc d");
    }

    #[test]
    fn the_live_display_shows_agents_at_work_and_finished_steps() {
        let mut state = LiveState::default();
        for e in entries(&[START, ROUTE_EVENT, SPAWN_COMMIT, ATTEMPT_COMMIT]) {
            state.apply(&e);
        }
        assert_eq!(
            state.render(13_500),
            "OPS:COMMIT in_progress — 1 active, 0 done\n  \
             ▸ RELEASE_MANAGER.commit  attempt 1  12s / 30s"
        );
        for e in entries(&[STEP_COMMIT, HANDOFF_EVENT, ATTEMPT_PUSH]) {
            state.apply(&e);
        }
        assert_eq!(
            state.render(5_000),
            "OPS:COMMIT in_progress — 1 active, 1 done\n  \
             ✓ commit 3s\n  \
             ▸ RELEASE_MANAGER.push  attempt 1  0s / 30s"
        );
        state.apply(&entries(&[PUSH_FAILED])[0]);
        assert_eq!(
            state.render(7_000),
            "OPS:COMMIT in_progress — 1 active, 1 done\n  \
             ✓ commit 3s\n  \
             ↻ RELEASE_MANAGER.push  attempt 1 failure (rejected)"
        );
        state.apply(&entries(&[STEP_PUSH])[0]);
        assert_eq!(
            state.render(14_000),
            "OPS:COMMIT in_progress — 0 active, 2 done\n  \
             ✓ commit 3s\n  \
             ✗ push rejected: non-fast-forward (2 attempts)"
        );
    }

    #[test]
    fn old_finished_steps_are_counted_not_listed() {
        let mut state = LiveState::default();
        state.apply(&entries(&[START])[0]);
        let step = &entries(&[STEP_COMMIT])[0];
        for _ in 0..DONE_SHOWN + 2 {
            state.apply(step);
        }
        let text = state.render(0);
        assert!(text.contains("  … 2 more done\n"), "{text}");
        assert_eq!(text.lines().count(), 1 + 1 + DONE_SHOWN);
    }

    #[test]
    fn quiet_shows_nothing_and_dry_runs_need_verbose() {
        let quiet = Verbosity {
            quiet: true,
            verbose: 0,
        };
        assert_eq!(Display::choose(quiet, false), Display::Off);
        assert_eq!(Display::choose(quiet, true), Display::Off);
        assert_eq!(Display::choose(Verbosity::default(), true), Display::Off);
        let verbose = Verbosity {
            quiet: false,
            verbose: 1,
        };
        assert_eq!(Display::choose(verbose, true), Display::Lines);
        let debug = Verbosity {
            quiet: false,
            verbose: 2,
        };
        assert_eq!(Display::choose(debug, false), Display::Lines);
    }

    static DRAWN: Mutex<String> = Mutex::new(String::new());

    #[test]
    fn the_redacting_terminal_masks_secrets_in_its_frames() {
        output::set_secrets(["progress-secret-0451"]);
        let term = RedactingTerm {
            sink: |text| lock(&DRAWN).push_str(text),
            ..RedactingTerm::stderr()
        };
        term.write_line("token progress-secret-0451")
            .unwrap_or_default();
        term.move_cursor_up(2).unwrap_or_default();
        term.clear_line().unwrap_or_default();
        assert_eq!(*lock(&DRAWN), "", "nothing is drawn before the flush");
        term.flush().unwrap_or_default();
        assert_eq!(*lock(&DRAWN), "token ***\n\x1b[2A\r\x1b[2K");
        assert_eq!(*lock(&term.buffer), "");
    }
}
