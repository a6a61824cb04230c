//! Editor support (editors/): the TextMate grammar run by a real TextMate
//! engine (editors/test/tokenize.js and scopes.test.js: vscode-textmate and
//! vscode-oniguruma from npm, so `npm ci` in editors/test), and the VS Code
//! extension's own tests (editors/test/extension.test.js: node only). Skipped
//! with a printed reason when node or the npm packages are missing, unless
//! `COORDOPS_REQUIRE_NODE=1` (set by .ci/run after installing them), which
//! turns the skip into a failure.

use std::process::{Command, Stdio};

use crate::support::{root, wait_exit};

/// Runs `node editors/test/tokenize.js ARGS` from the repository root: its
/// exit code and output, or `None` (after printing why) when node or the npm
/// packages are missing.
fn tokenize(args: &[&str]) -> Option<(i32, String)> {
    node("tokenize.js", args, true)
}

/// Runs `node editors/test/SCRIPT ARGS`; `needs_modules`: the script needs
/// the npm packages of editors/test.
fn node(script: &str, args: &[&str], needs_modules: bool) -> Option<(i32, String)> {
    let dir = root().join("editors/test");
    let missing = if Command::new("node").arg("--version").output().is_err() {
        Some("node is not installed".to_string())
    } else if needs_modules && !dir.join("node_modules/vscode-textmate").is_dir()
        || !dir.join("node_modules/vscode-oniguruma").is_dir()
    {
        Some("the npm packages are not installed (run `npm ci` in editors/test)".to_string())
    } else {
        None
    };
    if let Some(why) = missing {
        assert!(
            std::env::var("COORDOPS_REQUIRE_NODE").as_deref() != Ok("1"),
            "COORDOPS_REQUIRE_NODE=1 but {why}"
        );
        println!("skipping editors/test/{script}: {why}");
        return None;
    }
    let out = tempfile::NamedTempFile::new().expect("temp file");
    let err = tempfile::NamedTempFile::new().expect("temp file");
    let mut child = Command::new("node")
        .arg(dir.join(script))
        .args(args)
        .current_dir(root())
        .stdin(Stdio::null())
        .stdout(out.reopen().expect("reopen"))
        .stderr(err.reopen().expect("reopen"))
        .spawn()
        .expect("node starts");
    let status = match wait_exit(&mut child) {
        Ok(status) => status,
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{e}");
        }
    };
    let read =
        |file: &tempfile::NamedTempFile| std::fs::read_to_string(file.path()).expect("output");
    Some((status.code().unwrap_or(-1), read(&out) + &read(&err)))
}

#[test]
fn every_playbook_in_the_repository_is_fully_scoped() {
    let Some((code, output)) = tokenize(&[]) else {
        return;
    };
    assert_eq!(code, 0, "{output}");
    assert!(output.contains("every token scoped"), "{output}");
}

#[test]
fn an_unknown_construct_is_reported_with_its_position() {
    let Some((code, output)) = tokenize(&["editors/test/fixtures/unknown_construct.txt"]) else {
        return;
    };
    assert_eq!(code, 1, "{output}");
    assert!(
        output.contains("editors/test/fixtures/unknown_construct.txt:6:15: unscoped text \"@\""),
        "{output}"
    );
    assert!(output.contains("1 problem"), "{output}");
}

#[test]
fn every_kind_of_token_gets_its_documented_scope() {
    let Some((code, output)) = node("scopes.test.js", &[], true) else {
        return;
    };
    assert_eq!(code, 0, "{output}");
    assert!(output.contains("# fail 0"), "{output}");
}

#[test]
fn the_vscode_extension_starts_coordops_lsp() {
    let Some((code, output)) = node("extension.test.js", &[], false) else {
        return;
    };
    assert_eq!(code, 0, "{output}");
    assert!(output.contains("# fail 0"), "{output}");
}
