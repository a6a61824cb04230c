//! The one output sink of a run: the terminal (progress, status lines,
//! reports on stdout), the logs, report files and the journal all write
//! through here, and everything written is redacted first, so no writer can
//! leak a secret by forgetting to.
//!
//! The secrets are process-wide: [`set_secrets`] is called once the backends
//! file has been read, before any agent runs.

mod redact;
mod xml;

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, RwLock};

pub use redact::{Redactor, MASK, MIN_SECRET_LEN};
pub use xml::escape_xml;

static REDACTOR: RwLock<Option<Arc<Redactor>>> = RwLock::new(None);

/// Makes every later write redact `values` (replacing earlier secrets); an
/// error, and nothing changed, when they cannot be matched.
pub fn set_secrets<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<(), String> {
    let redactor = Redactor::new(values)?;
    let mut slot = REDACTOR.write().unwrap_or_else(|p| p.into_inner());
    *slot = (!redactor.is_empty()).then(|| Arc::new(redactor));
    Ok(())
}

fn current() -> Option<Arc<Redactor>> {
    REDACTOR.read().unwrap_or_else(|p| p.into_inner()).clone()
}

/// `text` with every secret replaced by `***`.
pub fn redact(text: &str) -> String {
    match current() {
        Some(r) => r.redact(text),
        None => text.to_string(),
    }
}

/// JSON `text` with every secret replaced by `***`, never inside an escape
/// sequence, so it stays valid JSON.
pub fn redact_json(text: &str) -> String {
    match current() {
        Some(r) => r.redact_json(text),
        None => text.to_string(),
    }
}

/// `value` with every string (and key) redacted: for data taken in from
/// agents before anything formats, cuts or escapes it.
pub fn redact_value(value: &serde_json::Value) -> serde_json::Value {
    match current() {
        Some(r) => r.redact_value(value),
        None => value.clone(),
    }
}

/// Writes JSON `text` (a report, or lines of JSON) to stdout, redacted
/// without breaking it.
pub fn stdout_json(text: &str) {
    write_stdout(&redact_json(text));
}

/// Writes JSON `text`, redacted without breaking it, to `path` atomically,
/// or to stdout when `path` is `-`.
pub fn write_file_json(path: &Path, text: &str) -> std::io::Result<()> {
    if is_stdio(path) {
        stdout_json(text);
        return Ok(());
    }
    crate::report::write_atomically(path, &redact_json(text))
}

fn write_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// `Ok` for a closed pipe (the reader, as `head` in `coordops … | head -1`,
/// had enough: not an error), the error otherwise.
pub fn closed_pipe_is_ok(err: std::io::Error) -> std::io::Result<()> {
    if err.kind() == std::io::ErrorKind::BrokenPipe {
        Ok(())
    } else {
        Err(err)
    }
}

/// Whether `path` is `-`, standard input or output.
pub fn is_stdio(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Writes `text` to stdout, redacted (a closed pipe, as in `… | head`, is
/// not an error).
pub fn stdout(text: &str) {
    write_stdout(&redact(text));
}

/// Writes `text` to stderr, redacted.
pub fn stderr(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err
        .write_all(redact(text).as_bytes())
        .and_then(|()| err.flush());
}

/// `eprintln!` through the sink: formats one line and writes it to stderr,
/// redacted (a closed stderr is not a panic).
macro_rules! stderr_line {
    ($($arg:tt)*) => {
        $crate::output::stderr(&format!("{}\n", format_args!($($arg)*)))
    };
}
pub(crate) use stderr_line;

/// Writes `text`, redacted, to `path` atomically (temporary file, fsync,
/// rename), or to stdout when `path` is `-`.
pub fn write_file(path: &Path, text: &str) -> std::io::Result<()> {
    if is_stdio(path) {
        stdout(text);
        return Ok(());
    }
    crate::report::write_atomically(path, &redact(text))
}

/// A `tracing` writer: each log record is redacted, then written to stderr
/// in one piece.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogWriter;

/// One log record being written (see [`LogWriter`]).
#[derive(Debug, Default)]
pub struct LogRecord {
    buffer: Vec<u8>,
}

impl Write for LogRecord {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LogRecord {
    fn drop(&mut self) {
        if !self.buffer.is_empty() {
            stderr(&String::from_utf8_lossy(&self.buffer));
        }
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogRecord;

    fn make_writer(&'a self) -> Self::Writer {
        LogRecord::default()
    }
}
