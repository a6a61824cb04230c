//! The checks a backends file's process agents pass when it loads: the
//! program can be started, `cwd` is a folder, secrets are set and long
//! enough. Each error is the part of a message after the key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::MIN_SECRET_LEN;

/// The backends file's folder, absolute (relative paths in the file are
/// relative to it, whatever the agent's `cwd`).
pub(super) fn base_folder(path: &Path) -> PathBuf {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::path::absolute(parent).unwrap_or_else(|_| parent.to_path_buf())
}

/// Drops `.` components (`/conf/./x.py` → `/conf/x.py`); `..` is kept, as
/// resolving it lexically would be wrong across symbolic links.
fn clean(path: &Path) -> PathBuf {
    path.components().collect()
}

pub(super) fn valid_var(name: &str) -> bool {
    !name.is_empty() && !name.contains(['=', '\0'])
}

/// Looks up each secret in `env`; the error is the part after the key.
pub(super) fn secrets(
    names: &[String],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<BTreeMap<String, String>, String> {
    let mut found = BTreeMap::new();
    for name in names {
        if !valid_var(name) {
            return Err(format!(
                ": `{name}` is not a valid variable name (non-empty, without `=` or NUL)"
            ));
        }
        let Some(value) = env(name) else {
            return Err(format!(
                ": `{name}` is not set in coordops's environment (export it before `coordops run`)"
            ));
        };
        if value.contains('\0') {
            return Err(format!(": the value of `{name}` contains a NUL character"));
        }
        // Whitespace does not count: six spaces would mask every indent.
        if value.trim().chars().count() < MIN_SECRET_LEN {
            return Err(format!(
                ": the value of `{name}` is shorter than {MIN_SECRET_LEN} characters; redacting it would blank out ordinary text in reports (use a real secret, or pass it with `env` if it is not one)"
            ));
        }
        found.insert(name.clone(), value);
    }
    Ok(found)
}

/// A relative `cwd` is relative to `base`; it must be an existing folder.
pub(super) fn check_cwd(base: &Path, cwd: &Path) -> Result<PathBuf, String> {
    let resolved = clean(&base.join(cwd));
    match std::fs::metadata(&resolved) {
        Ok(m) if m.is_dir() => Ok(resolved),
        Ok(_) => Err(format!(": `{}` is not a directory", resolved.display())),
        Err(e) => Err(format!(": `{}`: {}", resolved.display(), os_reason(&e))),
    }
}

use crate::runtime::process::os_reason;

/// Checks the program of `command` and makes a path absolute: a program
/// with a `/` is relative to `base`, a bare name is looked up on `path_var`.
pub(super) fn resolve_program(
    base: &Path,
    mut command: Vec<String>,
    path_var: Option<&str>,
) -> Result<Vec<String>, String> {
    let Some(program) = command.first().cloned() else {
        return Err("is empty".to_string());
    };
    if program.contains('/') {
        let resolved = clean(&base.join(&program));
        check_executable(&resolved, &program, &command)?;
        command[0] = resolved.to_string_lossy().into_owned();
        return Ok(command);
    }
    let dirs: Vec<&str> = path_var
        .unwrap_or("")
        .split(':')
        .filter(|d| !d.is_empty())
        .collect();
    let mut not_executable = None;
    for dir in &dirs {
        let candidate = Path::new(dir).join(&program);
        match std::fs::metadata(&candidate) {
            Ok(m) if m.is_file() && is_executable(&m) => return Ok(command),
            Ok(m) if m.is_file() => {
                not_executable.get_or_insert(candidate);
            }
            _ => {}
        }
    }
    match not_executable {
        Some(found) => Err(format!(
            ": `{program}` is found on PATH as `{}` but it is not executable",
            found.display()
        )),
        None if dirs.is_empty() => Err(format!(
            ": `{program}` cannot be looked up: PATH is not set (give the program's path, e.g. `/usr/bin/{program}`)"
        )),
        None => Err(format!(
            ": `{program}` is not found on PATH (`{}`)",
            dirs.join(":")
        )),
    }
}

fn check_executable(resolved: &Path, program: &str, command: &[String]) -> Result<(), String> {
    let meta = std::fs::metadata(resolved).map_err(|e| {
        format!(
            ": `{program}` (`{}`): {}",
            resolved.display(),
            os_reason(&e)
        )
    })?;
    if meta.is_dir() {
        return Err(format!(
            ": `{program}` (`{}`) is a directory, not a program",
            resolved.display()
        ));
    }
    if !meta.is_file() {
        return Err(format!(
            ": `{program}` (`{}`) is not a regular file",
            resolved.display()
        ));
    }
    if !is_executable(&meta) {
        let hint = match interpreter_for(resolved) {
            Some(interpreter) => {
                let mut argv = vec![
                    interpreter,
                    program.strip_prefix("./").unwrap_or(program).to_string(),
                ];
                argv.extend(command.iter().skip(1).cloned());
                let argv: Vec<String> = argv.iter().map(|a| format!("{a:?}")).collect();
                format!(
                    "chmod +x it, or run it through its interpreter: [{}]",
                    argv.join(", ")
                )
            }
            None => "chmod +x it, or run it through its interpreter".to_string(),
        };
        return Err(format!(": `{program}` is not executable ({hint})"));
    }
    Ok(())
}

#[cfg(unix)]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_meta: &std::fs::Metadata) -> bool {
    true
}

/// The interpreter a script names in its `#!` line, else by its extension.
fn interpreter_for(script: &Path) -> Option<String> {
    use std::io::Read;
    let mut head = [0u8; 128];
    let n = std::fs::File::open(script)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    let head = String::from_utf8_lossy(&head[..n]);
    if let Some(line) = head.strip_prefix("#!").and_then(|h| h.lines().next()) {
        let mut words = line.split_whitespace();
        let first = words.next()?;
        let name = Path::new(first).file_name()?.to_string_lossy().into_owned();
        return if name == "env" {
            words.find(|w| !w.starts_with('-')).map(str::to_string)
        } else {
            Some(first.to_string())
        };
    }
    match script.extension()?.to_str()? {
        "py" => Some("python3".to_string()),
        "sh" => Some("sh".to_string()),
        "rb" => Some("ruby".to_string()),
        "js" => Some("node".to_string()),
        "pl" => Some("perl".to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpreters_come_from_the_shebang_or_the_extension() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cases = [
            ("a.py", "#!/usr/bin/env python3\n", Some("python3")),
            ("b", "#!/usr/bin/env -S ruby -w\n", Some("ruby")),
            ("c", "#!/bin/bash -e\n", Some("/bin/bash")),
            ("d.py", "print(1)\n", Some("python3")),
            ("e.sh", "echo\n", Some("sh")),
            ("f", "data\n", None),
        ];
        for (name, text, expected) in cases {
            let path = dir.path().join(name);
            std::fs::write(&path, text).expect("write");
            assert_eq!(interpreter_for(&path).as_deref(), expected, "{name}");
        }
        assert_eq!(
            interpreter_for(&dir.path().join("missing.py")).as_deref(),
            Some("python3")
        );
    }

    #[test]
    fn secrets_are_looked_up_and_checked() {
        let env = |name: &str| match name {
            "LONG" => Some("long-enough".to_string()),
            "SHORT" => Some("12345".to_string()),
            _ => None,
        };
        let names = |n: &[&str]| n.iter().map(|s| (*s).to_string()).collect::<Vec<_>>();
        assert_eq!(
            secrets(&names(&["LONG"]), &env),
            Ok(BTreeMap::from([(
                "LONG".to_string(),
                "long-enough".to_string()
            )]))
        );
        assert!(secrets(&names(&["SHORT"]), &env).is_err_and(|e| e.contains("shorter than 6")));
        assert!(secrets(&names(&["NONE"]), &env).is_err_and(|e| e.contains("is not set")));
        assert!(secrets(&names(&["A=B"]), &env).is_err_and(|e| e.contains("not a valid")));
    }

    #[test]
    fn bare_programs_are_searched_on_the_given_path_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let base = dir.path();
        let command = vec!["sh".to_string(), "-c".to_string()];
        assert!(resolve_program(base, command.clone(), Some("/usr/bin:/bin")).is_ok());
        assert!(
            resolve_program(base, command.clone(), Some(&base.display().to_string()))
                .is_err_and(|e| e.contains("is not found on PATH"))
        );
        assert!(resolve_program(base, command, None).is_err_and(|e| e.contains("PATH is not set")));
    }

    #[test]
    fn dot_components_are_dropped() {
        assert_eq!(
            clean(Path::new("/a/./b/../c/.")),
            PathBuf::from("/a/b/../c")
        );
    }

    #[test]
    fn the_base_folder_is_absolute() {
        assert!(base_folder(Path::new("b.toml")).is_absolute());
        assert!(base_folder(Path::new("conf/b.toml")).ends_with("conf"));
    }
}
