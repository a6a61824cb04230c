//! Reading a child's stdout (capped, cut off at once past the cap) and
//! stderr (a bounded tail).

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio_util::sync::CancellationToken;

use super::lock;
use crate::runtime::backend::StderrTail;

/// What has been read of a child's stdout so far, shared with the reader:
/// it survives the reader being dropped (a descendant that left the group
/// can hold the pipe open long after the agent printed its reply).
#[derive(Clone, Debug, Default)]
pub(super) struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn append(&self, bytes: &[u8]) {
        lock(&self.0).extend_from_slice(bytes);
    }

    fn len(&self) -> usize {
        lock(&self.0).len()
    }

    /// The bytes read so far.
    pub(super) fn bytes(&self) -> Vec<u8> {
        lock(&self.0).clone()
    }
}

/// Reads to the end into `kept`, keeping at most `cap` bytes. As soon as
/// more than `cap` bytes arrive it stops reading, fires `overflow` and
/// returns `true`: an agent that never stops writing must not keep
/// coordops reading.
pub(super) async fn read_capped(
    pipe: Option<impl AsyncRead + Unpin>,
    cap: usize,
    overflow: &CancellationToken,
    kept: &Captured,
) -> bool {
    let Some(mut pipe) = pipe else {
        return false;
    };
    let mut buf = vec![0u8; 8 << 10];
    loop {
        match pipe.read(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => {
                let room = cap.saturating_sub(kept.len());
                kept.append(&buf[..n.min(room)]);
                if n > room {
                    overflow.cancel();
                    return true;
                }
            }
        }
    }
}

/// Reads to the end into `tail` (which keeps the last bytes, and can be
/// read while this runs).
pub(super) async fn read_tail(pipe: Option<impl AsyncRead + Unpin>, tail: &StderrTail) {
    let Some(mut pipe) = pipe else {
        return;
    };
    let mut buf = vec![0u8; 8 << 10];
    loop {
        match pipe.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => tail.append(&buf[..n]),
        }
    }
}

/// Most lines of stderr kept on an attempt.
pub const TAIL_LINES: usize = 20;
/// Most characters of one kept stderr line (longer ones end in `…`).
pub const TAIL_LINE_CHARS: usize = 500;
/// Most bytes of all kept stderr lines together.
pub const TAIL_BYTES: usize = 8 << 10;

/// The last non-blank lines of `bytes` (at most [`TAIL_LINES`], each at
/// most [`TAIL_LINE_CHARS`] characters, together at most [`TAIL_BYTES`]),
/// oldest first. Invalid UTF-8 is replaced; trailing whitespace trimmed.
pub fn stderr_tail(bytes: &[u8]) -> Vec<String> {
    // Redacted whole, before lines are cut short: a cut secret would not
    // match any more.
    let text = crate::output::redact(&String::from_utf8_lossy(bytes));
    let mut lines = Vec::new();
    let mut total = 0;
    for line in text.lines().rev() {
        let line = line.trim_end();
        if line.trim().is_empty() {
            continue;
        }
        let mut kept: String = line.chars().take(TAIL_LINE_CHARS).collect();
        if kept.len() < line.len() {
            kept.push('…');
        }
        total += kept.len();
        if lines.len() == TAIL_LINES || total > TAIL_BYTES {
            break;
        }
        lines.push(kept);
    }
    lines.reverse();
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_keeps_the_last_non_blank_lines_in_order() {
        assert_eq!(
            stderr_tail(b"one\ntwo\n\n  \nthree  \n"),
            ["one", "two", "three"]
        );
        assert!(stderr_tail(b"  \n\n").is_empty());
        let many: String = (0..100).map(|i| format!("line {i}\n")).collect();
        let tail = stderr_tail(many.as_bytes());
        assert_eq!(tail.len(), TAIL_LINES);
        assert_eq!(tail.last().map(String::as_str), Some("line 99"));
        assert_eq!(tail.first().map(String::as_str), Some("line 80"));
    }

    #[test]
    fn the_tail_is_bounded_per_line_and_in_total() {
        let long = "é".repeat(5_000);
        let tail = stderr_tail(long.as_bytes());
        assert_eq!(tail.len(), 1);
        assert_eq!(tail[0].chars().count(), TAIL_LINE_CHARS + 1);
        assert!(tail[0].ends_with('…'));
        let wide: String = (0..40)
            .map(|i| format!("{i:03}{}\n", "x".repeat(900)))
            .collect();
        let tail = stderr_tail(wide.as_bytes());
        assert!(tail.iter().map(String::len).sum::<usize>() <= TAIL_BYTES);
        assert!(!tail.is_empty());
        assert!(tail.last().is_some_and(|l| l.starts_with("039")));
        assert!(stderr_tail(&[0xff, 0xfe, b'\n', b'x']).len() == 2);
    }
}
