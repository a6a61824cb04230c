//! Finding the playbooks under the paths given on a command line: the one
//! walker every command that takes directories uses (`check`, `test`).
//!
//! Directories are walked as ripgrep walks them (the `ignore` crate):
//! `.gitignore`, `.ignore` and `.git/info/exclude` are honoured (also outside
//! a git repository), hidden files and directories are skipped, symbolic
//! links are not followed, and `--exclude GLOB` (gitignore syntax, matched
//! against paths relative to the current directory) leaves out more. Files
//! named on the command line are always read, as ripgrep does. Each file is
//! listed once, however often it is named or reached.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use ignore::overrides::{Override, OverrideBuilder};
use ignore::WalkBuilder;

use crate::diagnostics::{codes, Diagnostic};

/// The extension of playbook files.
pub const EXTENSION: &str = "ops";

/// Validated `--exclude` globs.
#[derive(Clone, Debug, Default)]
pub struct Excludes {
    globs: Vec<String>,
}

impl Excludes {
    /// Checks every glob (gitignore syntax); the error names the bad one.
    pub fn new(globs: &[String]) -> Result<Self, String> {
        let excludes = Excludes {
            globs: globs.to_vec(),
        };
        excludes.matcher(Path::new("."))?;
        Ok(excludes)
    }

    /// Globs as `ignore` overrides: each one negated (an exclusion).
    fn matcher(&self, root: &Path) -> Result<Override, String> {
        let mut builder = OverrideBuilder::new(root);
        for glob in &self.globs {
            if glob.is_empty() {
                return Err("--exclude needs a glob, not an empty string".into());
            }
            builder
                .add(&format!("!{glob}"))
                .map_err(|e| format!("--exclude `{glob}`: {e}"))?;
        }
        builder.build().map_err(|e| format!("--exclude: {e}"))
    }
}

/// Expands files and directories into the `.ops` files to read: files as
/// given, then each directory's playbooks sorted by name; every file once.
///
/// A directory holding no playbook (after ignore files and excludes) is an
/// error, as is a directory that cannot be read; a missing file is left for
/// the loader to report.
pub fn playbooks(paths: &[PathBuf], excludes: &Excludes) -> (Vec<PathBuf>, Vec<Diagnostic>) {
    let root = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let mut found = Found::default();
    let overrides = match excludes.matcher(&root) {
        Ok(o) => o,
        Err(message) => {
            found.problems.push(unreadable(message));
            return (found.files, found.problems);
        }
    };
    for path in paths {
        if path.as_os_str() != "-" && path.is_dir() {
            if walk_dir(path, &overrides, &mut found) == 0 {
                found.problems.push(
                    Diagnostic::error(
                        codes::IO_NO_PLAYBOOKS,
                        format!("`{}` contains no `.ops` files", path.display()),
                    )
                    .with_help(
                        "playbooks are files ending in `.ops`; hidden, git-ignored and \
                         --exclude'd files are skipped",
                    ),
                );
            }
        } else {
            found.add(path.clone());
        }
    }
    (found.files, found.problems)
}

#[derive(Default)]
struct Found {
    files: Vec<PathBuf>,
    seen: HashSet<PathBuf>,
    problems: Vec<Diagnostic>,
}

impl Found {
    /// Keeps `path` unless the same file was already kept (compared by its
    /// canonical path when it exists; `-`, stdin, by name).
    fn add(&mut self, path: PathBuf) {
        let key = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        if self.seen.insert(key) {
            self.files.push(path);
        }
    }
}

/// Adds the playbooks under `dir`; how many it holds (also those already
/// added).
fn walk_dir(dir: &Path, overrides: &Override, found: &mut Found) -> usize {
    let walker = WalkBuilder::new(dir)
        .standard_filters(true)
        .require_git(false)
        .follow_links(false)
        .overrides(overrides.clone())
        .sort_by_file_name(|a, b| a.cmp(b))
        .build();
    let mut reached = 0;
    for entry in walker {
        match entry {
            Ok(entry) => {
                let is_file = entry.file_type().is_some_and(|t| t.is_file());
                let path = entry.into_path();
                if is_file && path.extension().is_some_and(|e| e == EXTENSION) {
                    reached += 1;
                    found.add(path);
                }
            }
            Err(err) => found.problems.push(unreadable(err.to_string())),
        }
    }
    reached
}

fn unreadable(message: String) -> Diagnostic {
    Diagnostic::error(codes::IO_UNREADABLE, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, rel: &str) {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "").unwrap();
    }

    fn names(dir: &Path, files: &[PathBuf]) -> Vec<String> {
        files
            .iter()
            .map(|f| {
                f.strip_prefix(dir)
                    .unwrap_or(f)
                    .to_string_lossy()
                    .replace('\\', "/")
            })
            .collect()
    }

    #[test]
    fn walks_like_ripgrep_and_lists_each_file_once() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        for rel in [
            "a.ops",
            "b.txt",
            "sub/c.ops",
            ".hidden/d.ops",
            ".e.ops",
            "build/f.ops",
            "fixtures/g.ops",
        ] {
            write(dir, rel);
        }
        std::fs::write(dir.join(".gitignore"), "build/\n").unwrap();
        let excludes = Excludes::new(&["fixtures".to_string()]).unwrap();
        let paths = vec![
            dir.to_path_buf(),
            dir.join("a.ops"),
            dir.join("sub/../a.ops"),
            dir.join("build/f.ops"),
        ];
        let (files, problems) = playbooks(&paths, &excludes);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            names(dir, &files),
            ["a.ops", "sub/c.ops", "build/f.ops"],
            "hidden, ignored and excluded files are skipped; named files are kept once"
        );
    }

    #[test]
    fn directory_with_nothing_left_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "only/x.ops");
        let excludes = Excludes::new(&["x.ops".to_string()]).unwrap();
        let (files, problems) = playbooks(&[tmp.path().to_path_buf()], &excludes);
        assert!(files.is_empty());
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].code, codes::IO_NO_PLAYBOOKS);
    }

    #[test]
    fn bad_globs_are_refused_by_name() {
        let err = Excludes::new(&["a[".to_string()]).unwrap_err();
        assert!(err.contains("`a[`"), "{err}");
        assert!(Excludes::new(&[String::new()]).is_err());
    }

    #[test]
    fn stdin_is_kept_once() {
        let paths = vec![PathBuf::from("-"), PathBuf::from("-")];
        let (files, problems) = playbooks(&paths, &Excludes::default());
        assert!(problems.is_empty());
        assert_eq!(files, [PathBuf::from("-")]);
    }
}
