//! Writing reports so that a reader never sees half a file.

use std::io::Write;
use std::path::Path;

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
    // A dangling link has no file to replace: the link itself is replaced.
    let resolved = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => std::fs::canonicalize(path).ok(),
        _ => None,
    };
    let path = resolved.as_deref().unwrap_or(path);
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map_or_else(|| "report".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(contents.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
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
