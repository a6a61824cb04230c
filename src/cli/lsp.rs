//! `coordops lsp`: the language server, on stdin/stdout.

use clap::Args;

use super::Exit;

/// Arguments of `coordops lsp`.
#[derive(Debug, Args)]
#[command(after_help = "\
Speaks the Language Server Protocol on stdin/stdout, for editors: live
diagnostics (as `coordops check`), hover, go to definition, find references,
completion and document symbols. docs/lsp.md describes each.

Exit codes: 0 after `shutdown` and `exit`, 2 when the connection breaks.")]
pub struct LspArgs {
    /// Accepted for editors that pass it; stdio is the only transport.
    #[arg(long)]
    pub stdio: bool,
}

pub(super) fn run(_args: &LspArgs) -> Exit {
    match crate::lsp::serve_stdio() {
        Ok(()) => Exit::Success,
        Err(problem) => {
            crate::output::stderr(&format!("error: coordops lsp: {problem}\n"));
            Exit::Usage
        }
    }
}
