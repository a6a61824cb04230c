//! Shared set-up for tests that dry-run a playbook: load and check it, build
//! a request at a fixed start time, run it on the simulated backend.

use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::ast::Playbook;
use crate::runtime::result::RunResult;
use crate::runtime::simulated::Scenario;
use crate::runtime::{context, simulate, RunRequest};
use crate::source::SourceFile;

/// The start time of every test run, so reports are byte-stable.
pub const EPOCH_SECS: u64 = 1_767_225_600; // 2026-01-01T00:00:00Z

/// Which diagnostics make [`load_checked`] refuse a playbook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strictness {
    /// Errors only.
    Errors,
    /// Any diagnostic, warnings included.
    All,
}

/// Loads `path`, parses and checks it; `Err` lists the diagnostics that
/// `strictness` refuses, or why it could not be read or parsed.
pub fn load_checked(path: &Path, strictness: Strictness) -> Result<(SourceFile, Playbook), String> {
    let file = crate::source::load(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let checked = crate::analysis::parse_and_check(&file);
    let refused: Vec<String> = checked
        .diagnostics
        .iter()
        .filter(|d| strictness == Strictness::All || d.is_error())
        .map(|d| format!("{}: {}", d.code, d.message))
        .collect();
    if !refused.is_empty() {
        return Err(format!("{}: {refused:#?}", path.display()));
    }
    let playbook = checked
        .playbook
        .ok_or_else(|| format!("{}: does not parse", path.display()))?;
    Ok((file, playbook))
}

/// Appends every playbook (`*.ops` file, not a `*.test.ops` test file)
/// under `dir` (recursively) to `out`; a folder that cannot be read adds
/// nothing.
pub fn ops_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            ops_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "ops")
            && !super::test_file::is_test_file(&path)
        {
            out.push(path);
        }
    }
}

/// A request for `signal` with `sets` as `--set` values, starting at
/// [`EPOCH_SECS`].
pub fn request<'a>(
    file: &'a SourceFile,
    playbook: &'a Playbook,
    signal: &str,
    sets: &[(&str, &str)],
    run_id: &str,
) -> Result<RunRequest<'a>, String> {
    let sets: Vec<(String, String)> = sets
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
    let context = context::build(playbook, signal, &sets).map_err(|e| format!("{e:?}"))?;
    Ok(RunRequest {
        playbook,
        source: Some(file),
        signal: signal.to_string(),
        context,
        run_id: run_id.to_string(),
        now: SystemTime::UNIX_EPOCH + Duration::from_secs(EPOCH_SECS),
    })
}

/// Dry-runs `signal` on the simulated backend with the scenario written in
/// TOML as `scenario`.
pub fn dry_run(
    file: &SourceFile,
    playbook: &Playbook,
    signal: &str,
    sets: &[(&str, &str)],
    scenario: &str,
    run_id: &str,
) -> Result<RunResult, String> {
    let request = request(file, playbook, signal, sets, run_id)?;
    let scenario = Scenario::parse(scenario)?;
    simulate(request, scenario, None, |_| {})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_and_a_playbook_with_errors_are_refused() {
        let err = load_checked(Path::new("no/such/file.ops"), Strictness::Errors).unwrap_err();
        assert!(err.contains("no/such/file.ops"), "{err}");
        let dir = std::env::temp_dir().join(format!("harness-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bad = dir.join("bad.ops");
        std::fs::write(&bad, "workflow w {\n  A.t()\n}\n").unwrap();
        let err = load_checked(&bad, Strictness::Errors).unwrap_err();
        assert!(err.contains("ops::check::"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_clean_playbook_dry_runs_from_the_fixed_epoch() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("playbooks/coord_ops.ops");
        let (file, playbook) = load_checked(&path, Strictness::Errors).unwrap();
        let result = dry_run(&file, &playbook, "OPS:DOCS", &[], "", "harness").unwrap();
        assert!(
            result.started_at.starts_with("2026-01-01"),
            "{}",
            result.started_at
        );
        assert_eq!(result.run_id, "harness");
    }
}
