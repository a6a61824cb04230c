//! The run journal: one JSON line per [`Entry`], appended as the run goes,
//! so that a run stopped any way — even by `kill -9` — leaves an exact
//! record. `coordops report JOURNAL` rebuilds the report from it.
//!
//! Every line is written through the redacting output sink, flushed as it is
//! written (one `write` per line, no buffer) and fsynced at step boundaries
//! (the start, each finished step and gate, the end, approval waits,
//! decisions, suspends and resumes). A torn last line — the
//! process died mid-write — is skipped when read, and the next append starts
//! on a new line.

pub mod identity;
mod rebuild;

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::runtime::record::{Entry, Recorder};

pub use rebuild::{rebuild, Rebuilt};

/// Where `coordops run` writes journals unless `--journal` says otherwise.
pub const DEFAULT_DIR: &str = ".coordops/runs";

/// The default journal path of a run: `.coordops/runs/RUN_ID.jsonl`.
pub fn default_path(run_id: &str) -> PathBuf {
    Path::new(DEFAULT_DIR).join(format!("{run_id}.jsonl"))
}

/// Creates `.coordops/runs/` under `base` if needed, with a `.gitignore`
/// that keeps the whole `.coordops/` folder out of git (agents that commit
/// "all changes" must not commit the journal of the run they are part of).
pub fn prepare_default_dir(base: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(base.join(DEFAULT_DIR))?;
    let ignore = base.join(".coordops/.gitignore");
    if !ignore.exists() {
        std::fs::write(
            ignore,
            "# Written by coordops: run journals stay out of git.\n*\n",
        )?;
    }
    Ok(())
}

/// An open journal file; records entries as a [`Recorder`].
#[derive(Debug)]
pub struct Journal {
    file: Mutex<File>,
    path: PathBuf,
    failed: AtomicBool,
}

impl Journal {
    /// Opens `path` for appending (creating it and its folder), starting on
    /// a fresh line if the file ends in a torn one.
    pub fn create(path: &Path) -> std::io::Result<Journal> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let existed = path.exists();
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)?;
        if !existed {
            // The new file's name is durable only once its folder is synced.
            let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
            if let Ok(dir) = File::open(dir.unwrap_or(Path::new("."))) {
                let _ = dir.sync_all();
            }
        }
        lock_exclusive(&file, path)?;
        let len = file.metadata()?.len();
        if len > 0 {
            let mut last = [0u8; 1];
            file.seek(SeekFrom::Start(len - 1))?;
            file.read_exact(&mut last)?;
            if last[0] != b'\n' {
                file.write_all(b"\n")?;
            }
        }
        Ok(Journal {
            file: Mutex::new(file),
            path: path.to_path_buf(),
            failed: AtomicBool::new(false),
        })
    }

    /// [`Journal::create`], waiting up to `patience` while another process
    /// holds the journal: commands that take it for a moment (`coordops
    /// approve`) queue, while a run still going is reported, not waited for.
    pub fn create_patiently(path: &Path, patience: Duration) -> std::io::Result<Journal> {
        let start = std::time::Instant::now();
        loop {
            match Journal::create(path) {
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock && start.elapsed() < patience =>
                {
                    std::thread::sleep(Duration::from_millis(20));
                }
                other => return other,
            }
        }
    }

    /// The journal's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether a write has failed (reported once on stderr when it did).
    pub fn failed(&self) -> bool {
        self.failed.load(Ordering::Relaxed)
    }

    /// Appends `entry` as one line (one `write`), fsyncing it when it is a
    /// boundary; unlike [`Recorder::record`], reports a failure.
    pub fn append(&self, entry: &Entry) -> std::io::Result<()> {
        let json = serde_json::to_string(entry).map_err(std::io::Error::other)?;
        let mut line = crate::output::redact_json(&json);
        line.push('\n');
        let mut file = crate::sync::lock(&self.file);
        file.write_all(line.as_bytes())?;
        // Step boundaries, and each attempt sent: after a power cut the
        // journal still knows which agents may have been at work.
        if matches!(
            entry,
            Entry::Start(_)
                | Entry::Attempt(_)
                | Entry::Step(_)
                | Entry::Gate(_)
                | Entry::End(_)
                | Entry::ApprovalWait(_)
                | Entry::Decision(_)
                | Entry::Suspend(_)
                | Entry::Resume(_)
        ) {
            file.sync_data()?;
        }
        Ok(())
    }
}

/// Takes the journal for this process (an advisory `flock`, released when
/// the file is closed or the process dies, even by `kill -9`): a run still
/// going and a `coordops resume` of it never write one journal together.
#[cfg(unix)]
fn lock_exclusive(file: &File, path: &Path) -> std::io::Result<()> {
    use std::os::unix::io::AsRawFd;
    // SAFETY: flock on a file descriptor this function borrows, open for
    // the whole call.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(());
    }
    let error = std::io::Error::last_os_error();
    if error.kind() == std::io::ErrorKind::WouldBlock {
        return Err(std::io::Error::new(
            std::io::ErrorKind::WouldBlock,
            format!(
                "another coordops process is writing `{}` (a run still going?)",
                path.display()
            ),
        ));
    }
    Err(error)
}

#[cfg(not(unix))]
fn lock_exclusive(_file: &File, _path: &Path) -> std::io::Result<()> {
    Ok(())
}

/// Whether a coordops process holds `path`'s journal lock now: a run (or a
/// resume) still writing it, or a `coordops approve` for an instant.
#[cfg(unix)]
pub fn in_use(path: &Path) -> bool {
    use std::os::unix::io::AsRawFd;
    let Ok(file) = File::open(path) else {
        return false;
    };
    // SAFETY: flock on a descriptor this function owns; a shared lock
    // taken here is released when `file` closes below.
    let taken = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) } == 0;
    !taken && std::io::Error::last_os_error().kind() == std::io::ErrorKind::WouldBlock
}

/// Whether a coordops process holds `path`'s journal lock (never known
/// here).
#[cfg(not(unix))]
pub fn in_use(_path: &Path) -> bool {
    false
}

impl Recorder for Journal {
    fn record(&self, entry: &Entry) {
        if let Err(e) = self.append(entry) {
            if !self.failed.swap(true, Ordering::Relaxed) {
                crate::output::stderr(&format!(
                    "warning: cannot write the journal `{}`: {e}; the run goes on, \
                     but its record is incomplete\n",
                    self.path.display()
                ));
            }
        }
    }
}

/// What reading a journal found.
#[derive(Debug, Default)]
pub struct JournalFile {
    /// The entries of the last run in the file, in order.
    pub entries: Vec<Entry>,
    /// Lines that could not be read (1-based numbers and why), e.g. a torn
    /// last line.
    pub skipped: Vec<(usize, String)>,
}

/// The largest journal `coordops report` reads.
pub const MAX_JOURNAL: u64 = 256 << 20;

/// Reads the last run recorded in `path`. Unreadable lines (a torn write)
/// are skipped and listed; a file with no run in it, a file that is not a
/// regular file, or one over [`MAX_JOURNAL`] is an error.
pub fn read(path: &Path) -> Result<JournalFile, String> {
    let cannot =
        |e: &dyn std::fmt::Display| format!("cannot read journal `{}`: {e}", path.display());
    if path.as_os_str() == "-" {
        return Err(cannot(
            &"a journal is read from a file (it is appended to and read back), not stdin",
        ));
    }
    let meta = std::fs::metadata(path).map_err(|e| cannot(&e))?;
    if !meta.is_file() {
        return Err(cannot(&"it is not a regular file"));
    }
    if meta.len() > MAX_JOURNAL {
        return Err(cannot(&format_args!(
            "it is larger than {} MiB",
            MAX_JOURNAL >> 20
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| cannot(&e))?;
    let text = String::from_utf8_lossy(&bytes);
    let mut journal = JournalFile::default();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Entry>(line) {
            Ok(Entry::Start(start)) => {
                // A later run in the same file: report that one.
                journal.entries.clear();
                journal.entries.push(Entry::Start(start));
            }
            Ok(entry) => journal.entries.push(entry),
            Err(e) => journal.skipped.push((i + 1, e.to_string())),
        }
    }
    if !matches!(journal.entries.first(), Some(Entry::Start(_))) {
        return Err(format!(
            "`{}` is not a coordops journal: it records no run start",
            path.display()
        ));
    }
    Ok(journal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::record::RunStart;

    fn start(id: &str) -> Entry {
        Entry::Start(RunStart {
            run_id: id.to_string(),
            ..RunStart::for_tests(0)
        })
    }

    #[test]
    fn a_torn_last_line_is_skipped_and_the_next_append_starts_fresh() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("runs/j.jsonl");
        let journal = Journal::create(&path).expect("create");
        journal.record(&start("one"));
        drop(journal);
        let mut file = OpenOptions::new().append(true).open(&path).expect("open");
        file.write_all(b"{\"type\":\"step\",\"na").expect("torn");
        drop(file);
        let read_back = read(&path).expect("read");
        assert_eq!(read_back.entries, vec![start("one")]);
        assert_eq!(read_back.skipped.len(), 1);

        let journal = Journal::create(&path).expect("reopen");
        journal.record(&start("two"));
        let text = std::fs::read_to_string(&path).expect("text");
        // The torn line is closed, and the new entry has a line of its own.
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(text.ends_with("}\n"), "{text}");
        assert_eq!(read(&path).expect("read").entries, vec![start("two")]);
    }

    #[test]
    fn a_journal_is_written_by_one_process_at_a_time() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("j.jsonl");
        let first = Journal::create(&path).expect("create");
        let second = Journal::create(&path).expect_err("taken");
        assert!(
            second.to_string().contains("another coordops process"),
            "{second}"
        );
        drop(first);
        assert!(Journal::create(&path).is_ok());
    }

    #[test]
    fn a_file_without_a_run_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.jsonl");
        std::fs::write(&path, "hello\n").expect("write");
        assert!(read(&path).is_err());
    }
}
