//! `coordops graph`: a picture of a playbook's flow (Mermaid).

use std::path::PathBuf;

use clap::Args;

use super::run_input::checked_playbook;
use super::Exit;
use crate::diagnostics::RenderOptions;

/// Arguments of `coordops graph`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  coordops graph playbooks/coord_ops.ops > flow.mmd
  coordops graph playbooks/coord_ops.ops --output docs/flow.mmd

Prints a Mermaid flowchart: routes in order, each workflow as a box of steps,
`if` as decisions, `parallel` as fork and gate, dashed edges for handoffs.
GitHub renders it inside a ```mermaid block.

Exit codes: 0 drawn, 1 the playbook has errors, 2 usage or I/O error.")]
pub struct GraphArgs {
    /// The playbook (`-`: stdin).
    #[arg(value_name = "PLAYBOOK")]
    pub playbook: PathBuf,
    /// Write the chart to this file (atomically) instead of stdout (`-`:
    /// stdout).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub(super) fn run(args: &GraphArgs, render: RenderOptions) -> Exit {
    let (file, playbook) = match checked_playbook(&args.playbook, render) {
        Ok(x) => x,
        Err(exit) => return exit,
    };
    let chart = crate::graph::mermaid(&playbook, &file);
    match &args.output {
        Some(path) => match crate::output::write_file(path, &chart) {
            Ok(()) => Exit::Success,
            Err(e) => {
                eprintln!("error: cannot write `{}`: {e}", path.display());
                Exit::Usage
            }
        },
        None => {
            crate::output::stdout(&chart);
            Exit::Success
        }
    }
}
