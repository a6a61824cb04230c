//! Regressions found by fuzzing (`fuzz/`, issue 8): every file in
//! `tests/fixtures/fuzz/` goes through the fuzz targets' pipeline (parse →
//! check → render in every format → a bounded dry run when clean) without a
//! panic, a hang or a stack overflow.

use std::path::{Path, PathBuf};

use coordops::testing::fuzz::{check_text, dry_run_text};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz")
}

/// Every fixture as (file name, text); bytes that are not UTF-8 are replaced,
/// as the fuzz targets skip them.
fn fixtures() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(fixture_dir())
        .expect("tests/fixtures/fuzz exists")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.is_file())
        .map(|path| {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let bytes = std::fs::read(&path).expect("readable fixture");
            (name, String::from_utf8_lossy(&bytes).into_owned())
        })
        .collect();
    out.sort();
    out
}

#[test]
fn every_fuzz_fixture_goes_through_the_pipeline() {
    let all = fixtures();
    assert!(
        !all.is_empty(),
        "no fixtures in {}",
        fixture_dir().display()
    );
    for (name, text) in &all {
        eprintln!("fuzz fixture {name}");
        let _ = dry_run_text(text);
    }
}

/// `depth` nested `parallel for` groups around one call, as in
/// `nested_parallel_for.ops`.
fn nested_parallel_for(depth: usize) -> String {
    let mut text = String::from("agent A { task t }\nsignal F:Z\nroute F:Z => w\nworkflow w {\n");
    for i in 0..depth {
        text.push_str(&format!("parallel for x{i} in [1] {{\n"));
    }
    text.push_str("A.t\n");
    text.push_str(&"}\n".repeat(depth));
    text.push_str("}\n");
    text
}

#[test]
fn nested_parallel_groups_give_diagnostics_linear_in_depth() {
    // Shallow enough to finish while the step lints are still exponential;
    // the count of diagnostics must not grow faster than the nesting.
    let base = check_text(&nested_parallel_for(1)).1.len();
    for depth in 1..=8 {
        let (_, diagnostics) = check_text(&nested_parallel_for(depth));
        assert!(
            diagnostics.len() <= base + 2 * depth,
            "depth {depth}: {} diagnostics: {diagnostics:#?}",
            diagnostics.len()
        );
    }
}

#[test]
fn a_token_after_a_wide_character_is_named_whole() {
    // Found by the dry_run target: the parse error's "after X" took the
    // byte after a multi-byte character as the token's start and panicked.
    let (_, diagnostics) = check_text("agent E\"€R\"");
    assert!(!diagnostics.is_empty());
}
