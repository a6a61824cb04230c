//! The redacting terminal the live display draws through.

use std::sync::Mutex;

use indicatif::TermLike;

use super::lock;
use crate::output;

/// indicatif's terminal: frames are buffered and, on each flush, redacted
/// and written to stderr through `crate::output`.
#[derive(Debug)]
pub(super) struct RedactingTerm {
    term: console::Term,
    buffer: Mutex<String>,
    /// Where redacted frames go: `output::stderr`, or a test's collector.
    sink: fn(&str),
}

impl RedactingTerm {
    /// A terminal drawing on stderr.
    pub(super) fn stderr() -> RedactingTerm {
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

    static DRAWN: Mutex<String> = Mutex::new(String::new());

    #[test]
    fn the_redacting_terminal_masks_secrets_in_its_frames() {
        output::set_secrets(["progress-secret-0451"]).expect("secrets");
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
