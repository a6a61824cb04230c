//! The CLI conventions users of cargo and ripgrep expect, on the real
//! binary: completions, man page, `-` for stdin and stdout, a closed pipe,
//! colour settings, directory walks and `routes --format json`.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::support::coordops;
use predicates::prelude::*;
use serde_json::Value;
use tempfile::TempDir;

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path)
}

fn playbook() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("playbooks/coord_ops.ops")
}

fn has_ansi(bytes: &[u8]) -> bool {
    bytes.contains(&0x1b)
}

#[test]
fn completions_are_printed_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = coordops().args(["completions", shell]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(
            script.contains("coordops") && script.contains("dry-run") && script.len() > 1000,
            "{shell}: {script}"
        );
    }
    coordops()
        .args(["completions", "tcsh"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid value 'tcsh'"));
}

#[test]
fn man_page_is_roff_with_every_command_and_exit_code() {
    let out = coordops().arg("man").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.contains(".TH coordops 1"), "{page}");
    assert!(page.contains(".SH SYNOPSIS") && page.contains(".SH SUBCOMMANDS"));
    for word in ["completions", "dry\\-run", "130", "CLICOLOR_FORCE"] {
        assert!(page.contains(word), "{word} missing from the man page");
    }
    coordops()
        .args(["man", "routes"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(".TH coordops-routes 1"));
    coordops()
        .args(["man", "nope"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no command `nope`"));
}

#[test]
fn top_level_help_lists_every_exit_code() {
    let out = coordops().arg("--help").output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for code in ["0 ", "1 ", "2 ", "3 ", "4 ", "5 ", "130 "] {
        assert!(
            help.lines().any(|l| l.trim_start().starts_with(code)),
            "exit code {code} missing:\n{help}"
        );
    }
}

#[test]
fn help_fits_columns() {
    for width in [60usize, 80] {
        let out = coordops()
            .env("COLUMNS", width.to_string())
            .args(["check", "--help"])
            .output()
            .unwrap();
        let help = String::from_utf8(out.stdout).unwrap();
        let widest = help.lines().map(|l| l.chars().count()).max().unwrap();
        assert!(widest <= width, "{widest} > {width}:\n{help}");
    }
}

#[test]
fn dash_reads_the_playbook_from_stdin() {
    let clean = std::fs::read_to_string(fixture("valid/clean.ops")).unwrap();
    coordops()
        .args(["check", "-"])
        .write_stdin(clean.clone())
        .assert()
        .code(0)
        .stderr(predicate::str::starts_with("ok: 1 file checked"));
    coordops()
        .args(["test", "-"])
        .write_stdin(clean.clone())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("test <stdin> :: "));
    let bad = std::fs::read_to_string(fixture("invalid/semicolon.ops")).unwrap();
    coordops()
        .args(["--color", "never", "check", "-", "-"])
        .write_stdin(bad)
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("<stdin>").and(predicate::str::contains("1 file checked")),
        );
    let text = std::fs::read_to_string(playbook()).unwrap();
    coordops()
        .args(["routes", "-"])
        .write_stdin(text.clone())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("OPS:COMMIT"));
    coordops()
        .args([
            "-q",
            "dry-run",
            "--signal",
            "OPS:AUDIT",
            "--format",
            "json",
            "-",
        ])
        .write_stdin(text.clone())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("\"status\""));
    coordops()
        .args(["parse", "-"])
        .write_stdin(text.clone())
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("<stdin>: "));
    coordops()
        .args(["diff", "-"])
        .arg(playbook())
        .write_stdin(text.clone())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("no changes in behaviour"));
    coordops()
        .args(["diff", "-", "-"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot both be `-`"));
    coordops()
        .args(["graph", "-"])
        .write_stdin(text)
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("flowchart"));
}

/// A test file on stdin (`tests "PATH"` first) is checked and run as one,
/// its playbook found relative to the current directory.
#[test]
fn dash_reads_a_test_file_from_stdin() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let suite = std::fs::read_to_string(root.join("playbooks/coord_ops.test.ops")).unwrap();
    for command in ["check", "test"] {
        coordops()
            .current_dir(root.join("playbooks"))
            .args(["--color", "never", command, "-"])
            .write_stdin(suite.clone())
            .assert()
            .code(0);
    }
    coordops()
        .current_dir(root.join("playbooks"))
        .args(["test", "-", "--filter", "without a rule escalates"])
        .write_stdin(suite.clone())
        .assert()
        .code(0)
        .stdout(
            predicate::str::contains("test <stdin> :: an OPS signal")
                .and(predicate::str::contains("test result: 1 passed, 0 failed")),
        );
    coordops()
        .current_dir(root)
        .args(["--color", "never", "check", "-"])
        .write_stdin(suite)
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("ops::test::no_playbook").and(predicate::str::contains(
                "relative to the current directory",
            )),
        );
}

#[test]
fn dash_reads_the_scenario_from_stdin() {
    let scenario =
        std::fs::read_to_string(fixture("scenarios/commit_times_out_always.toml")).unwrap();
    coordops()
        .args([
            "-q",
            "dry-run",
            "--signal",
            "OPS:COMMIT",
            "--format",
            "json",
        ])
        .args(["--scenario", "-"])
        .arg(playbook())
        .write_stdin(scenario)
        .assert()
        .code(4)
        .stdout(predicate::str::contains("\"ESCALATED\""));
    coordops()
        .args(["dry-run", "--signal", "OPS:COMMIT", "--scenario", "-", "-"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot both be `-`"));
}

/// Everything on stdout and stderr goes through the redacting sink, which
/// also makes a closed pipe harmless; `println!` and `eprintln!` would panic
/// on one (and print secrets unredacted).
#[test]
fn no_command_prints_around_the_sink() {
    let cli = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/cli");
    let mut offenders = Vec::new();
    let mut dirs = vec![cli];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                let prints = [" println!(", " print!(", " eprintln!(", " eprint!("];
                if prints.iter().any(|m| text.contains(m)) {
                    offenders.push(path);
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "println!/print!/eprintln!/eprint! in {offenders:?}"
    );
}

#[test]
fn output_dash_writes_stdout_and_no_file() {
    let dir = TempDir::new().unwrap();
    coordops()
        .current_dir(dir.path())
        .args(["graph", "--output", "-"])
        .arg(playbook())
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("flowchart"));
    coordops()
        .current_dir(dir.path())
        .args(["-q", "dry-run", "--signal", "OPS:AUDIT", "--format", "json"])
        .args(["--output", "-"])
        .arg(playbook())
        .assert()
        .stdout(predicate::str::contains("\"status\""));
    assert!(
        !dir.path().join("-").exists(),
        "a file named `-` was created"
    );
}

#[test]
fn journals_refuse_dash_clearly() {
    let dir = TempDir::new().unwrap();
    coordops()
        .current_dir(dir.path())
        .args(["dry-run", "--signal", "OPS:AUDIT", "--journal", "-"])
        .arg(playbook())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("a journal must be a file"));
    let text = std::fs::read_to_string(playbook()).unwrap();
    coordops()
        .current_dir(dir.path())
        .args([
            "dry-run",
            "--signal",
            "OPS:AUDIT",
            "--journal",
            "j.jsonl",
            "-",
        ])
        .write_stdin(text)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("needs the playbook as a file"));
    coordops()
        .args(["report", "-"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not stdin"));
    assert!(!dir.path().join("-").exists());
    assert!(!dir.path().join("j.jsonl").exists());
}

/// Runs coordops with stdout a pipe whose reader is already closed, so its
/// first write fails (EPIPE): no signal death (141), no panic, exit 0.
fn exit_with_closed_stdout(args: &[&str]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    std::process::Command::new(env!("CARGO_BIN_EXE_coordops"))
        .args(args)
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn a_closed_pipe_exits_0() {
    let routes = playbook();
    let routes = routes.to_str().unwrap();
    for args in [
        vec!["routes", routes],
        vec!["routes", routes, "--format", "json"],
        vec!["explain", "--list"],
        vec!["graph", routes],
        vec!["completions", "bash"],
        vec!["check", "--format", "json", routes],
        vec!["parse", "--ast", routes],
        vec!["dry-run", routes, "--signal", "OPS:AUDIT"],
        vec!["--help"],
    ] {
        let out = exit_with_closed_stdout(&args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

/// With stderr a pipe whose reader is already closed, messages are lost but
/// nothing panics (exit 101): each command exits with its own code.
#[test]
fn a_closed_stderr_keeps_the_exit_code() {
    let routes = playbook();
    let routes = routes.to_str().unwrap();
    for (args, code) in [
        (vec!["explain", "NOPE999"], 2),
        (vec!["check", routes], 0),
        (
            vec!["run", routes, "--signal", "OPS:AUDIT", "--set", "oops"],
            2,
        ),
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_coordops"))
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::from(writer))
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(code), "{args:?}");
    }
}

/// Whether clap's own error and a diagnostic came out coloured.
fn coloured(args: &[&str], env: &[(&str, &str)]) -> (bool, bool) {
    let run = |extra: &[&str]| {
        let mut cmd = coordops();
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.args(args).args(extra).output().unwrap()
    };
    let clap_error = run(&["chek"]);
    assert_eq!(clap_error.status.code(), Some(2));
    let diagnostic = run(&["check", fixture("invalid/semicolon.ops").to_str().unwrap()]);
    assert_eq!(diagnostic.status.code(), Some(1));
    (has_ansi(&clap_error.stderr), has_ansi(&diagnostic.stderr))
}

#[test]
fn colour_follows_flag_and_environment() {
    assert_eq!(coloured(&[], &[]), (false, false), "not a terminal");
    assert_eq!(coloured(&[], &[("CLICOLOR_FORCE", "1")]), (true, true));
    // As for clap (anstream): any non-empty value forces, even `0`.
    assert_eq!(coloured(&[], &[("CLICOLOR_FORCE", "0")]), (true, true));
    assert_eq!(coloured(&[], &[("CLICOLOR_FORCE", "")]), (false, false));
    assert_eq!(
        coloured(&[], &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]),
        (false, false)
    );
    assert_eq!(
        coloured(&["--color", "never"], &[("CLICOLOR_FORCE", "1")]),
        (false, false)
    );
    assert_eq!(coloured(&["--color=always"], &[]), (true, true));
    assert_eq!(
        coloured(&["--color", "always"], &[("NO_COLOR", "1")]),
        (true, true)
    );
}

/// `script` gives coordops a terminal, where `TERM` decides under `auto` —
/// unless `CI` is set, where a terminal is coloured whatever `TERM` says (as
/// for cargo and clap, through anstream).
#[test]
fn term_dumb_turns_colour_off_on_a_terminal() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: util-linux `script` is not installed");
        return;
    }
    // The command line `script` hands to the shell: every word quoted (the
    // checkout's path may hold spaces), run by `sh` whatever `SHELL` says.
    let quoted = |words: &[&str]| {
        words
            .iter()
            .map(|w| format!("'{}'", w.replace('\'', r"'\''")))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let bin = env!("CARGO_BIN_EXE_coordops");
    let bad = fixture(BROKEN);
    let on_tty = |term: &str, ci: bool, args: &[&str]| {
        let mut cmd = std::process::Command::new("script");
        if ci {
            cmd.env("CI", "true");
        } else {
            cmd.env_remove("CI");
        }
        let out = cmd
            .args(["-qec", &quoted(&[&[bin], args].concat()), "/dev/null"])
            .env("SHELL", "/bin/sh")
            .env("TERM", term)
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE")
            .env_remove("CLICOLOR")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(text.contains("error"), "{text}");
        has_ansi(text.as_bytes())
    };
    let check = ["check", bad.to_str().expect("a UTF-8 path")];
    for args in [&["chek"][..], &check[..]] {
        assert!(
            on_tty("xterm-256color", false, args),
            "{args:?}: a terminal should be coloured"
        );
        assert!(
            !on_tty("dumb", false, args),
            "{args:?}: TERM=dumb should not be coloured"
        );
        assert!(
            on_tty("dumb", true, args),
            "{args:?}: a terminal under CI should be coloured"
        );
    }
}

const CLEAN: &str = "valid/clean.ops";
const BROKEN: &str = "invalid/semicolon.ops";

/// A tree with one clean playbook and broken ones under `fixtures/`,
/// `ignored/` (in .gitignore) and `.hidden/`.
fn tree() -> TempDir {
    let dir = TempDir::new().unwrap();
    let copy = |from: &str, to: &str| {
        let target = dir.path().join(to);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(fixture(from), target).unwrap();
    };
    copy(CLEAN, "flows/a.ops");
    copy(BROKEN, "flows/fixtures/bad.ops");
    copy(BROKEN, "ignored/bad.ops");
    copy(BROKEN, ".hidden/bad.ops");
    std::fs::write(dir.path().join(".gitignore"), "ignored/\n").unwrap();
    dir
}

#[test]
fn walks_skip_gitignored_hidden_and_excluded_paths() {
    let dir = tree();
    coordops()
        .current_dir(dir.path())
        .args(["--color", "never", "check", "."])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("2 files checked").and(predicate::str::contains("fixtures")),
        );
    coordops()
        .current_dir(dir.path())
        .args(["check", ".", "--exclude", "fixtures"])
        .assert()
        .code(0)
        .stderr(predicate::str::starts_with("ok: 1 file checked"));
    coordops()
        .current_dir(dir.path())
        .args([
            "check",
            ".",
            "--exclude",
            "flows/fixtures",
            "--exclude",
            "*.md",
        ])
        .assert()
        .code(0)
        .stderr(predicate::str::starts_with("ok: 1 file checked"));
    coordops()
        .current_dir(dir.path())
        .args(["check", ".", "--exclude", "a["])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--exclude `a[`"));
}

#[test]
fn test_walks_the_same_way() {
    let dir = tree();
    let failing = dir.path().join("flows/fixtures/failing.ops");
    std::fs::copy(fixture("testing/failing.ops"), failing).unwrap();
    std::fs::remove_file(dir.path().join("flows/fixtures/bad.ops")).unwrap();
    coordops()
        .current_dir(dir.path())
        .args(["test", "flows"])
        .assert()
        .code(1);
    coordops()
        .current_dir(dir.path())
        .args(["test", "flows", "flows/a.ops", "--exclude", "fixtures"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("failing").not());
}

#[test]
fn fmt_walks_the_same_way() {
    let dir = tree();
    coordops()
        .current_dir(dir.path())
        .args(["--color", "never", "fmt", "--check", "."])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("of 2 files")
                .and(predicate::str::contains("1 with syntax errors")),
        );
    coordops()
        .current_dir(dir.path())
        .args([
            "--color",
            "never",
            "fmt",
            "--check",
            ".",
            "--exclude",
            "fixtures",
        ])
        .assert()
        .stderr(
            predicate::str::contains("of 1 file ")
                .and(predicate::str::contains("syntax errors").not()),
        );
    coordops()
        .current_dir(dir.path())
        .args(["fmt", ".", "--exclude", "a["])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--exclude `a[`"));
}

#[test]
fn a_file_named_twice_is_checked_once() {
    let dir = tree();
    coordops()
        .current_dir(dir.path())
        .args([
            "check",
            "flows/a.ops",
            "./flows/a.ops",
            "flows",
            "--exclude",
            "fixtures",
        ])
        .assert()
        .code(0)
        .stderr(predicate::str::starts_with("ok: 1 file checked"));
    let out = coordops()
        .current_dir(dir.path())
        .args([
            "check",
            "--format",
            "json",
            "flows/fixtures/bad.ops",
            "flows",
        ])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["files_checked"], 2, "{report}");
    assert_eq!(
        report["diagnostics"].as_array().unwrap().len(),
        1,
        "{report}"
    );
}

#[test]
fn quiet_check_prints_nothing_when_clean() {
    coordops()
        .args(["-q", "check"])
        .arg(fixture(CLEAN))
        .assert()
        .code(0)
        .stderr("");
}

#[test]
fn quiet_test_shows_only_failures_and_the_summary() {
    let out = coordops()
        .args(["-q", "test"])
        .arg(fixture(CLEAN))
        .arg(fixture("testing/failing.ops"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let tests: Vec<&str> = stdout.lines().filter(|l| l.contains(" :: ")).collect();
    assert_eq!(tests.len(), 1, "{stdout}");
    assert!(tests[0].ends_with("FAILED (failed)"), "{stdout}");
    assert!(
        stdout.contains("test result: 2 passed, 1 failed"),
        "{stdout}"
    );
}

#[test]
fn quiet_test_of_a_passing_suite_prints_the_summary_alone() {
    coordops()
        .args(["-q", "test"])
        .arg(fixture(CLEAN))
        .assert()
        .code(0)
        .stdout(predicate::str::is_match("^test result: [0-9]+ passed, 0 failed\n$").unwrap());
}

#[test]
fn verbose_check_lists_every_file_with_its_counts() {
    let out = coordops()
        .args(["-v", "check"])
        .arg(fixture(CLEAN))
        .arg(fixture("check/misspelt_signal.ops"))
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let files: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("checked "))
        .collect();
    assert_eq!(files.len(), 2, "{stderr}");
    assert!(files[0].ends_with(": 0 errors, 0 warnings"), "{stderr}");
    assert!(
        files[1].contains("misspelt_signal.ops: 0 errors, 1 warning"),
        "{stderr}"
    );
    // Without -v, no such lines.
    let plain = coordops()
        .arg("check")
        .arg(fixture(CLEAN))
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&plain.stderr).contains("checked "));
}

#[test]
fn verbose_test_shows_each_run_s_event_log() {
    let out = coordops()
        .args(["-v", "test"])
        .arg(fixture("testing/failing.ops"))
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    let test = lines
        .iter()
        .position(|l| l.contains(" :: "))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        lines[test + 1].starts_with("    +0.0s ROUTE: OPS:AUDIT"),
        "{stdout}"
    );
    assert!(stdout.contains(" SPAWN "), "{stdout}");
    let plain = coordops()
        .arg("test")
        .arg(fixture("testing/failing.ops"))
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&plain.stdout).contains(" ROUTE"));
}

#[test]
fn routes_json_lists_the_table_and_explains_a_signal() {
    let out = coordops()
        .args(["routes", "--format", "json"])
        .arg(playbook())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let table: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(table["version"], 1);
    let routes = table["routes"].as_array().unwrap();
    assert!(!routes.is_empty());
    assert_eq!(routes[0]["index"], 0);
    assert_eq!(routes[0]["pattern"], "OPS:COMMIT");
    assert_eq!(routes[0]["when"], "signal.simple");
    let out = coordops()
        .args(["routes", "--format", "json", "--signal", "OPS:COMMIT"])
        .arg(playbook())
        .output()
        .unwrap();
    let why: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(why["signal"], "OPS:COMMIT");
    assert_eq!(why["trace"][0]["matched"], false);
    assert_eq!(why["routed"]["target"], "workflow commit_pr");
}
