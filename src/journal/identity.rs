//! Which files a run depends on, by path and content hash, recorded in its
//! `start` entry so that `coordops resume` finds them again and refuses
//! when they changed.

use std::path::Path;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::runtime::record::{Entry, FileIdentity, Recorder};

/// `sha256:` and the hex SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut hex = String::with_capacity(7 + 64);
    hex.push_str("sha256:");
    for b in digest {
        hex.push_str(&format!("{b:02x}"));
    }
    hex
}

/// The identity of the file at `path`: `recorded_path` (what the journal
/// keeps) and the hash of its bytes now.
pub fn of_file(path: &Path, recorded_path: String) -> std::io::Result<FileIdentity> {
    let bytes = std::fs::read(path)?;
    Ok(FileIdentity {
        path: recorded_path,
        hash: sha256(&bytes),
    })
}

/// `path` made absolute (symlinks resolved when it exists), for a journal
/// read from another directory later.
pub fn absolute(path: &Path) -> String {
    std::fs::canonicalize(path)
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

/// Fills in the `start` entry's file identities before handing every entry
/// to `inner`.
pub struct Stamped {
    /// Where the entries go.
    pub inner: Arc<dyn Recorder>,
    /// The playbook run.
    pub playbook: Option<FileIdentity>,
    /// The backends file.
    pub backends: Option<FileIdentity>,
    /// The directory the run started in.
    pub cwd: Option<String>,
}

impl Recorder for Stamped {
    fn record(&self, entry: &Entry) {
        match entry {
            Entry::Start(start) => {
                let mut start = start.clone();
                start.playbook.clone_from(&self.playbook);
                start.backends.clone_from(&self.backends);
                start.cwd.clone_from(&self.cwd);
                self.inner.record(&Entry::Start(start));
            }
            other => self.inner.record(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_is_the_standard_digest() {
        assert_eq!(
            sha256(b"abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
