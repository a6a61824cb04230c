//! Writing reports so that a reader never sees half a file.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `contents` to `path` atomically: a temporary file in the same
/// folder, flushed and synced, then renamed over the target. A symlink is
/// followed (the file it points at is replaced, the link kept; a dangling
/// link is itself replaced); a device, a
/// pipe or a socket (`/dev/null`, `/dev/stdout`, a FIFO) is written to, never
/// replaced.
pub fn write_atomically(path: &Path, contents: &str) -> std::io::Result<()> {
    if let Ok(meta) = std::fs::metadata(path) {
        if !meta.is_file() && !meta.is_dir() {
            let mut file = std::fs::OpenOptions::new().write(true).open(path)?;
            return file.write_all(contents.as_bytes());
        }
    }
    let (path, tmp) = replaced_and_temporary(path);
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(contents.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The file an atomic write of `path` replaces (a symlink's target; a
/// dangling link has no file to replace, so the link itself is replaced),
/// and the temporary file beside it that is renamed over it.
fn replaced_and_temporary(path: &Path) -> (PathBuf, PathBuf) {
    let resolved = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => std::fs::canonicalize(path).ok(),
        _ => None,
    };
    let path = resolved.unwrap_or_else(|| path.to_path_buf());
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map_or_else(|| "report".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    (path, tmp)
}

/// Checks, before a run starts, that [`write_atomically`] will be able to
/// write `path`: the folder exists and a file can be created in it (the
/// temporary file, created and removed again). A device, a pipe or a socket
/// passes unopened (opening a FIFO would wait for its reader). A run whose
/// report cannot be written is refused before any agent does work.
pub fn check_writable(path: &Path) -> std::io::Result<()> {
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.is_dir() {
            return Err(std::io::ErrorKind::IsADirectory.into());
        }
        if !meta.is_file() {
            return Ok(());
        }
    }
    let (_, tmp) = replaced_and_temporary(path);
    std::fs::File::create(&tmp)?;
    std::fs::remove_file(&tmp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("report.md");
        write_atomically(&path, "first").expect("write");
        write_atomically(&path, "second").expect("write");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "second");
        let leftovers = std::fs::read_dir(dir.path()).expect("dir").count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
    }

    #[cfg(unix)]
    #[test]
    fn a_device_is_written_to_not_replaced() {
        use std::os::unix::fs::FileTypeExt;
        write_atomically(Path::new("/dev/null"), "report").expect("write");
        let meta = std::fs::metadata("/dev/null").expect("/dev/null exists");
        assert!(
            meta.file_type().is_char_device(),
            "/dev/null is still a device"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_is_followed_and_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("shared.md");
        std::fs::write(&target, "old").expect("write");
        let link = dir.path().join("report.md");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        write_atomically(&link, "new").expect("write");
        let meta = std::fs::symlink_metadata(&link).expect("link");
        assert!(meta.file_type().is_symlink(), "the link is kept");
        assert_eq!(std::fs::read_to_string(&target).expect("read"), "new");
    }
}
