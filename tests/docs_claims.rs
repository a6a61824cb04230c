//! Claims the README and docs/language.md make that code can check: the
//! MSRV matches Cargo.toml's `rust-version`, and the README's scenario block
//! is the file it names.

use crate::support::{coordops, dry_run_json};
use std::path::Path;

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).expect("readable")
}

#[test]
fn the_readme_states_the_declared_msrv() {
    let manifest = read("Cargo.toml");
    let declared = manifest
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .expect("Cargo.toml declares rust-version");
    assert_eq!(declared, env!("CARGO_PKG_RUST_VERSION"));
    let readme = read("README.md");
    assert!(
        readme.contains(&format!("Rust toolchain ({declared} or newer")),
        "the README must state the MSRV {declared}"
    );
}

/// The ```toml blocks of the README, in order.
fn readme_toml_blocks() -> Vec<String> {
    let readme = read("README.md");
    readme
        .split("```toml\n")
        .skip(1)
        .map(|rest| {
            rest.split("```\n")
                .next()
                .expect("closed block")
                .to_string()
        })
        .collect()
}

#[test]
fn the_readme_scenario_block_is_the_file_it_names() {
    const NAME: &str = "tests/fixtures/scenarios/push_rejected_then_fetch.toml";
    let block = readme_toml_blocks()
        .into_iter()
        .find(|b| b.starts_with(&format!("# {NAME}\n")))
        .expect("the README shows the scenario");
    assert_eq!(block[NAME.len() + 3..], read(NAME));
}

#[test]
fn every_readme_scenario_block_is_a_valid_scenario() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    for (i, block) in readme_toml_blocks().iter().enumerate() {
        let path = dir.path().join(format!("readme-{i}.toml"));
        std::fs::write(&path, block).expect("write");
        let output = coordops()
            .args([
                "dry-run",
                "playbooks/coord_ops.ops",
                "--signal",
                "OPS:COMMIT",
            ])
            .args(["--scenario", path.to_str().expect("UTF-8")])
            .output()
            .expect("runs");
        assert_ne!(
            output.status.code(),
            Some(2),
            "{block}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// A scenario in `dir` where every worker of coordinator_slots.ops takes 10s,
/// so later ones wait for a slot.
pub fn slow_slots(dir: &std::path::Path) -> std::path::PathBuf {
    let scenario = dir.join("slow.toml");
    std::fs::write(
        &scenario,
        "[task.\"ALPHA.work\"]\nlatency = \"10s\"\n\
         [task.\"BETA.work\"]\nlatency = \"10s\"\n\
         [task.\"GAMMA.work\"]\nlatency = \"10s\"\n",
    )
    .expect("write");
    scenario
}

/// docs/run-result.md and §15: an attempt's `started_ms` is after the slot
/// wait (its SPAWN), the step's is before it.
#[test]
fn an_attempt_starts_after_its_slot_wait() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let scenario = slow_slots(dir.path());
    let result = dry_run_json(&[
        "tests/fixtures/runtime/coordinator_slots.ops",
        "--signal",
        "RUN:SPREAD",
        "--scenario",
        scenario.to_str().expect("UTF-8"),
    ]);
    let steps = result["steps"].as_array().expect("steps");
    let waited = steps
        .iter()
        .find(|s| s["attempts"][0]["started_ms"] == 10_000)
        .expect("the third task waits 10s for a coordinator slot");
    assert_eq!(waited["started_ms"], 0, "{waited}");
    let spawns: Vec<&serde_json::Value> = result["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"] == "SPAWN" && e["step"] == waited["name"])
        .collect();
    assert_eq!(spawns.len(), 1);
    assert_eq!(spawns[0]["at_ms"], 10_000, "{:?}", spawns[0]);
}

/// §15 "Text" and §5: an unknown interpolation renders as `?`; a simulated
/// string output is `TASK-FIELD-ATTEMPT`, named by the task, not the binding.
#[test]
fn unknown_interpolations_and_placeholders_render_as_documented() {
    const TYPED: &str = "tests/fixtures/cli/typed_signals.ops";
    let unknown = dry_run_json(&[TYPED, "--signal", "OPS:AUDT"]);
    assert_eq!(
        unknown["escalation"]["title"],
        "No operations rule for OPS:AUDT (owner ?)"
    );
    let known = dry_run_json(&[TYPED, "--signal", "OPS:AUDT", "--set", "owner=ann"]);
    assert_eq!(
        known["escalation"]["title"],
        "No operations rule for OPS:AUDT (owner ann)"
    );
    let placeholder = dry_run_json(&[TYPED, "--signal", "OPS:AUDIT"]);
    assert_eq!(placeholder["payload"]["note"], "echo-note-1");
}

/// §15 "`run` steps": `lock` on a `run` holds the lock for the whole
/// sub-workflow, so a step wanting the same lock waits for all of it.
#[test]
fn a_run_lock_holds_for_the_whole_sub_workflow() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let scenario = dir.path().join("slow.toml");
    std::fs::write(
        &scenario,
        "[task.\"A.work\"]\nlatency = \"10s\"\n[task.\"B.work\"]\nlatency = \"10s\"\n",
    )
    .expect("write");
    let result = dry_run_json(&[
        "tests/fixtures/cli/run_options.ops",
        "--signal",
        "RUN:LOCK",
        "--scenario",
        scenario.to_str().expect("UTF-8"),
    ]);
    assert_eq!(result["status"], "COMPLETE");
    let spawns: Vec<u64> = result["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"] == "SPAWN")
        .map(|e| e["at_ms"].as_u64().expect("at_ms"))
        .collect();
    assert_eq!(spawns, [0, 10_000]);
    assert_eq!(result["duration_ms"], 20_000);
}

/// §10's table of `step` and `gate` fields is the rule-scope definition.
#[test]
fn the_rule_scope_table_is_the_definition() {
    use coordops::analysis::scope::{reference_row, FIELDS};
    let docs = read("docs/language.md");
    let header = "| field | type | holds | set at |\n|---|---|---|---|\n";
    let start = docs.find(header).expect("§10 has the field table") + header.len();
    let table: Vec<&str> = docs[start..]
        .lines()
        .take_while(|l| l.starts_with('|'))
        .collect();
    let expected: Vec<String> = FIELDS.iter().map(reference_row).collect();
    assert_eq!(
        table,
        expected,
        "docs/language.md §10 should list:\n{}",
        expected.join("\n")
    );
}
