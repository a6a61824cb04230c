//! Seeing a run (docs/backends.md, "Seeing a run"): a live display of the
//! agents at work when stderr is a terminal, one plain line per event when
//! it is not, and the one final status line.
//!
//! Everything is written through the redacting sink (`crate::output`): the
//! live display draws through [`term::RedactingTerm`], whose frames are
//! redacted before they reach the terminal.
//!
//! The parts: `lines` formats the plain event and status lines, `live`
//! keeps and draws the live display, `term` is the terminal it draws on.

pub(crate) mod lines;
mod live;
mod term;

use std::io::IsTerminal;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::output;
use crate::runtime::record::{Entry, Recorder};

use live::{frame, start_live, Live, SHOWN};

pub use lines::{
    clock, event_line, kind_word, one_line, status_line, status_line_unwritten, step_summary,
};
pub use live::LiveState;

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

// ── the recorder ────────────────────────────────────────────────────────────

use crate::sync::lock;

/// Shows a run's progress on stderr as it goes; a [`Recorder`].
pub struct Progress {
    display: Display,
    requests: bool,
    state: Arc<Mutex<LiveState>>,
    began: Instant,
    live: Option<Live>,
}

/// Writes one message line to stderr (redacted): above the live display
/// while one is shown, so neither garbles the other.
pub fn message_line(text: &str) {
    let shown = lock(&SHOWN).clone();
    match shown {
        Some(bar) => bar.println(text.trim_end_matches('\n')),
        None => output::stderr(&format!("{}\n", text.trim_end_matches('\n'))),
    }
}

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
            live.ended.store(true, Ordering::SeqCst);
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
            live.ended.store(true, Ordering::SeqCst);
            lock(&SHOWN).take();
            live.bar.finish_and_clear();
        }
    }

    /// Clears and hides the live display (while a prompt waits for an
    /// answer) until [`Self::resume`]; messages go straight to stderr.
    pub fn pause(&self) {
        if let Some(live) = &self.live {
            lock(&SHOWN).take();
            live.bar.finish_and_clear();
            live.bar
                .set_draw_target(indicatif::ProgressDrawTarget::hidden());
            live.bar.reset();
        }
    }

    /// Shows the live display again after [`Self::pause`] (unless it was
    /// cleared for good meanwhile).
    pub fn resume(&self) {
        if let Some(live) = self
            .live
            .as_ref()
            .filter(|l| !l.ended.load(Ordering::SeqCst))
        {
            live.bar.set_draw_target(live::draw_target());
            *lock(&SHOWN) = Some(live.bar.clone());
        }
    }

    fn redraw(&self, state: &LiveState) {
        if let Some(live) = &self.live {
            live.bar.set_message(frame(state, self.began, 0));
        }
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

#[cfg(test)]
mod fixtures {
    //! Journal entries the tests share.

    use crate::runtime::record::Entry;

    /// Entries as journalled (the journal's JSON lines).
    pub(super) fn entries(lines: &[&str]) -> Vec<Entry> {
        lines
            .iter()
            .map(|l| serde_json::from_str(l).expect("a journal entry"))
            .collect()
    }

    pub(super) const START: &str = r#"{"type":"start","run_id":"r","coordinator":"COORD_OPS","signal":"OPS:COMMIT","context":{},"started_at":"2026-01-01T00:00:00Z","quality_gate":80,"agents":["RELEASE_MANAGER"]}"#;
    pub(super) const SPAWN_COMMIT: &str = r#"{"type":"event","at_ms":1200,"kind":"SPAWN","step":"commit","detail":"RELEASE_MANAGER.commit attempt 1 (timeout 30s)"}"#;
    pub(super) const ATTEMPT_COMMIT: &str = r#"{"type":"attempt","step":"commit","agent":"RELEASE_MANAGER","task":"commit","attempt":1,"at_ms":1200,"request":{"timeout_ms":30000}}"#;
    pub(super) const STEP_COMMIT: &str = r#"{"type":"step","name":"commit","kind":"task","agent":"RELEASE_MANAGER","task":"commit","outcome":{"status":"success"},"critical":true,"started_ms":1200,"duration_ms":3000,"attempts":[{"number":1,"started_ms":1200,"duration_ms":3000,"outcome":"success","kind":null,"message":null}],"outputs":{}}"#;
    pub(super) const ATTEMPT_PUSH: &str = r#"{"type":"attempt","step":"push","agent":"RELEASE_MANAGER","task":"push","attempt":1,"at_ms":4200,"request":{"timeout_ms":30000}}"#;
    pub(super) const PUSH_FAILED: &str = r#"{"type":"attempt_end","step":"push","attempt":1,"at_ms":6000,"outcome":"failure","kind":"rejected","message":"non-fast-forward\n(hint: fetch)"}"#;
    pub(super) const STEP_PUSH: &str = r#"{"type":"step","name":"push","kind":"task","agent":"RELEASE_MANAGER","task":"push","outcome":{"status":"failure","kind":"rejected","message":"non-fast-forward"},"critical":false,"started_ms":4200,"duration_ms":9000,"attempts":[{"number":1,"started_ms":4200,"duration_ms":1800,"outcome":"failure","kind":"rejected","message":"non-fast-forward"},{"number":2,"started_ms":8000,"duration_ms":5200,"outcome":"failure","kind":"rejected","message":"non-fast-forward"}],"outputs":{}}"#;
    pub(super) const HANDOFF_EVENT: &str = r#"{"type":"event","at_ms":4200,"kind":"HANDOFF","step":"push","detail":"commit.hash -> push"}"#;
    pub(super) const ROUTE_EVENT: &str = r#"{"type":"event","at_ms":0,"kind":"ROUTE","step":null,"detail":"OPS:COMMIT -> workflow commit_pr"}"#;
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
