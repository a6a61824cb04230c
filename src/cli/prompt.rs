//! The approval prompt of `coordops run` on a terminal: the approval's
//! name, its message and the time left, then y/n from stdin.
//!
//! Stdin is read by one thread, started at the first prompt, line by line
//! into a channel: a prompt dropped when its approval times out leaves no
//! read behind it. End of input is no answer: the run suspends.

use std::io::BufRead;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use async_trait::async_trait;
use tokio::sync::mpsc;

use super::progress::Progress;
use crate::report::coarse_duration;
use crate::runtime::backend::ApprovalRequest;
use crate::runtime::routing_backend::Asker;

/// Asks on the terminal (stdin and stderr), pausing the live display.
pub struct TerminalAsker {
    progress: Arc<Progress>,
    lines: tokio::sync::Mutex<Option<mpsc::UnboundedReceiver<String>>>,
    started: Mutex<bool>,
    who: String,
}

impl TerminalAsker {
    /// An asker that pauses `progress` while it waits; decisions are
    /// journalled `by` $USER (or `terminal`).
    pub fn new(progress: Arc<Progress>) -> Self {
        let who = std::env::var("USER")
            .ok()
            .filter(|u| !u.trim().is_empty())
            .unwrap_or_else(|| "terminal".to_string());
        TerminalAsker {
            progress,
            lines: tokio::sync::Mutex::new(None),
            started: Mutex::new(false),
            who,
        }
    }

    /// The stdin lines, read by a thread started on first use.
    fn start_reading(&self) -> Option<mpsc::UnboundedReceiver<String>> {
        let mut started = crate::sync::lock(&self.started);
        if *started {
            return None;
        }
        *started = true;
        let (tx, rx) = mpsc::unbounded_channel();
        let spawned = std::thread::Builder::new()
            .name("coordops-prompt".to_string())
            .spawn(move || {
                for line in std::io::stdin().lock().lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        if spawned.is_err() {
            return None;
        }
        Some(rx)
    }
}

/// Shows the live display again when the prompt ends in any way; a prompt
/// left unanswered (its approval timed out, the run was interrupted) first
/// gets its line ended.
struct Paused<'a> {
    progress: &'a Progress,
    answered: bool,
}

impl Drop for Paused<'_> {
    fn drop(&mut self) {
        if !self.answered {
            crate::output::stderr("\n");
        }
        self.progress.resume();
    }
}

#[async_trait]
impl Asker for TerminalAsker {
    async fn ask(&self, request: &ApprovalRequest) -> Option<bool> {
        // One prompt at a time (parallel branches may ask together).
        let mut lines = self.lines.lock().await;
        if let Some(rx) = self.start_reading() {
            *lines = Some(rx);
        }
        let rx = lines.as_mut()?;
        self.progress.pause();
        let mut paused = Paused {
            progress: &self.progress,
            answered: false,
        };
        let answer = prompt(request, rx, crate::output::stderr).await;
        paused.answered = true;
        answer
    }

    fn who(&self) -> String {
        self.who.clone()
    }
}

/// `approve `NAME`? MESSAGE (times out in 23h59m) [y/n] `.
pub fn question(request: &ApprovalRequest, time_left: Duration) -> String {
    let ms = u64::try_from(time_left.as_millis()).unwrap_or(u64::MAX);
    format!(
        "approve `{}`? {} (times out in {}) [y/n] ",
        request.name,
        super::progress::one_line(&request.message),
        coarse_duration(ms)
    )
}

/// Asks until the answer is y or n (`Some(true)`, `Some(false)`); `None` at
/// the end of input. `write` shows text on the terminal.
pub async fn prompt(
    request: &ApprovalRequest,
    lines: &mut mpsc::UnboundedReceiver<String>,
    write: impl Fn(&str),
) -> Option<bool> {
    let asked = Instant::now();
    loop {
        let left = request.time_left.saturating_sub(asked.elapsed());
        write(&question(request, left));
        let Some(line) = lines.recv().await else {
            write("\nno answer (end of input): the run suspends\n");
            return None;
        };
        match line.trim().to_ascii_lowercase().as_str() {
            "y" | "yes" => return Some(true),
            "n" | "no" => return Some(false),
            _ => write("please answer y or n\n"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    fn request() -> ApprovalRequest {
        ApprovalRequest {
            run_id: "r".into(),
            name: "release".into(),
            message: "Release v1.2 to production".into(),
            time_left: Duration::from_secs(24 * 3600 - 60),
        }
    }

    async fn answer(input: &[&str]) -> (Option<bool>, String) {
        let (tx, mut rx) = mpsc::unbounded_channel();
        for line in input {
            tx.send((*line).to_string()).expect("send");
        }
        drop(tx);
        let shown = RefCell::new(String::new());
        let got = prompt(&request(), &mut rx, |t| shown.borrow_mut().push_str(t)).await;
        (got, shown.into_inner())
    }

    #[tokio::test(start_paused = true)]
    async fn the_prompt_shows_the_name_message_and_time_left() {
        let (got, shown) = answer(&["y"]).await;
        assert_eq!(got, Some(true));
        assert_eq!(
            shown,
            "approve `release`? Release v1.2 to production (times out in 23h59m) [y/n] "
        );
    }

    #[tokio::test(start_paused = true)]
    async fn other_answers_ask_again_and_no_denies() {
        let (got, shown) = answer(&["maybe", "", " No "]).await;
        assert_eq!(got, Some(false));
        assert_eq!(shown.matches("[y/n]").count(), 3, "{shown}");
        assert_eq!(shown.matches("please answer y or n").count(), 2, "{shown}");
    }

    #[tokio::test(start_paused = true)]
    async fn end_of_input_is_no_answer() {
        let (got, shown) = answer(&["what"]).await;
        assert_eq!(got, None);
        assert!(shown.ends_with("the run suspends\n"), "{shown}");
    }
}
