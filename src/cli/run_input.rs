//! Inputs shared by `dry-run` and `routes`: the checked playbook and the
//! signal context from `--set key=value`.

use std::path::Path;

use crate::analysis;
use crate::ast::Playbook;
use crate::diagnostics::{render_all, RenderOptions};
use crate::source::{self, SourceFile};
use crate::syntax;

use super::Exit;

/// Loads a playbook that has no errors, or prints why not.
pub fn checked_playbook(
    path: &Path,
    render: RenderOptions,
) -> Result<(SourceFile, Playbook), Exit> {
    let file = source::load(path).map_err(|d| {
        eprint!("{}", crate::diagnostics::render(&d, render));
        Exit::Usage
    })?;
    let errors: Vec<_> = analysis::check_source(&file)
        .into_iter()
        .filter(|d| d.is_error())
        .collect();
    if !errors.is_empty() {
        eprint!("{}", render_all(&errors, render));
        eprintln!(
            "error: `{}` has {} error(s); fix them before running it (`coordops check`)",
            file.name(),
            errors.len()
        );
        return Err(Exit::Errors);
    }
    match syntax::parse(&file).playbook {
        Some(playbook) => Ok((file, playbook)),
        None => Err(Exit::Errors),
    }
}

/// Splits `key=value` arguments.
pub fn parse_sets(sets: &[String]) -> Result<Vec<(String, String)>, Exit> {
    sets.iter()
        .map(|s| match s.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
            _ => {
                eprintln!("error: `--set {s}` must look like `--set key=value`");
                Err(Exit::Usage)
            }
        })
        .collect()
}
