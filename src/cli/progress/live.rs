//! The live display: what it shows ([`LiveState`]), and the bar and ticker
//! thread that draw it through the redacting terminal.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::lines::{one_line, seconds};
use super::lock;
use super::term::RedactingTerm;
use crate::report::human_duration;
use crate::runtime::record::Entry;
use crate::runtime::result::{StepOutcome, StepRecord};

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

// ── drawing it ──────────────────────────────────────────────────────────────

/// The live display: a bar drawn through the redacting terminal, and the
/// ticker thread that updates elapsed times between entries.
pub(super) struct Live {
    pub(super) bar: ProgressBar,
    pub(super) lines_above: bool,
    pub(super) ticker: Mutex<Option<(mpsc::Sender<()>, JoinHandle<()>)>>,
    /// Set once the display is cleared for good (a prompt ending later
    /// must not show it again).
    pub(super) ended: std::sync::atomic::AtomicBool,
}

/// The live display being drawn, if any, so other messages (an interrupt's)
/// are printed above it instead of through it.
pub(super) static SHOWN: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Frames of the header's spinner.
const SPINNER: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/// How often the ticker redraws.
const TICK: Duration = Duration::from_millis(250);

/// The live display's text now, each line cut to the terminal's width so
/// nothing wraps (wrapped lines would be left behind when redrawing).
pub(super) fn frame(state: &LiveState, began: Instant, tick: usize) -> String {
    let now_ms = u64::try_from(began.elapsed().as_millis()).unwrap_or(u64::MAX);
    let text = format!("{} {}", SPINNER[tick % SPINNER.len()], state.render(now_ms));
    let width = usize::from(console::Term::stderr().size().1).saturating_sub(1);
    text.lines()
        .map(|l| console::truncate_str(l, width.max(20), "…").into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Where the live display draws: stderr, through the redacting terminal.
pub(super) fn draw_target() -> ProgressDrawTarget {
    ProgressDrawTarget::term_like_with_hz(Box::new(RedactingTerm::stderr()), 10)
}

/// Starts the live display and its ticker thread.
pub(super) fn start_live(state: &Arc<Mutex<LiveState>>, began: Instant, lines_above: bool) -> Live {
    let bar = ProgressBar::with_draw_target(None, draw_target());
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
        ended: std::sync::atomic::AtomicBool::new(false),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

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
}
