//! `coordops graph`: a picture of a playbook's flow (Mermaid or DOT).

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::run_input::checked_playbook;
use super::Exit;
use crate::diagnostics::RenderOptions;
use crate::graph::Scope;

/// The picture's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// A Mermaid flowchart (GitHub renders it inside a ```mermaid block).
    Mermaid,
    /// A Graphviz DOT graph (`dot -Tsvg`).
    Dot,
}

/// Arguments of `coordops graph`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  coordops graph playbooks/coord_ops.ops > flow.mmd
  coordops graph playbooks/coord_ops.ops --signal OPS:RELEASE --format dot | dot -Tsvg > release.svg
  coordops graph playbooks/coord_ops.ops --workflow commit_pr --output docs/commit.mmd

Draws routes in order, each workflow as a box of steps, `if` as decisions
(edges `yes`/`no`), `parallel` as fork and gate, dashed edges for handoffs.
--workflow draws one workflow and those it runs; --signal draws the routes a
signal can take (up to the first without a guard) and what they reach.

Exit codes: 0 drawn, 1 the playbook has errors, 2 usage or I/O error (also:
no such workflow, no route for the signal).")]
pub struct GraphArgs {
    /// The playbook (`-`: stdin).
    #[arg(value_name = "PLAYBOOK")]
    pub playbook: PathBuf,
    /// The picture's format.
    #[arg(long, value_enum, default_value_t = GraphFormat::Mermaid)]
    pub format: GraphFormat,
    /// Draw only this workflow and the workflows it runs.
    #[arg(long, value_name = "WORKFLOW", conflicts_with = "signal")]
    pub workflow: Option<String>,
    /// Draw only what this signal reaches: its routes, their workflows and
    /// the workflows those run.
    #[arg(long, value_name = "SIGNAL")]
    pub signal: Option<String>,
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
    let scope = match (&args.workflow, &args.signal) {
        (Some(w), _) => Scope::Workflow(w),
        (None, Some(s)) => Scope::Signal(s),
        (None, None) => Scope::All,
    };
    let graph = match crate::graph::build(&playbook, &file, scope) {
        Ok(g) => g,
        Err(e) => {
            crate::output::stderr_line!("error: {e}");
            return Exit::Usage;
        }
    };
    let chart = match args.format {
        GraphFormat::Mermaid => crate::graph::mermaid(&graph),
        GraphFormat::Dot => crate::graph::dot(&graph),
    };
    match &args.output {
        Some(path) => match crate::output::write_file(path, &chart) {
            Ok(()) => Exit::Success,
            Err(e) => {
                crate::output::stderr_line!("error: cannot write `{}`: {e}", path.display());
                Exit::Usage
            }
        },
        None => {
            crate::output::stdout(&chart);
            Exit::Success
        }
    }
}
