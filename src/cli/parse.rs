//! `coordops parse`: parse one playbook and print its syntax tree.

use std::path::PathBuf;

use clap::Args;

use super::Exit;
use crate::diagnostics::{render, render_all, RenderOptions};
use crate::source;
use crate::syntax;

/// Arguments of `coordops parse`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  coordops parse playbooks/coord_ops.ops --ast    # the AST as JSON
  coordops parse playbooks/coord_ops.ops          # a one-line summary

Exit codes: 0 parsed, 1 syntax errors, 2 usage or I/O error.")]
pub struct ParseArgs {
    /// The playbook file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Print the syntax tree as JSON (byte spans included).
    #[arg(long)]
    pub ast: bool,
}

pub(super) fn run(args: &ParseArgs, options: RenderOptions) -> Exit {
    let file = match source::load(&args.file) {
        Ok(file) => file,
        Err(problem) => {
            crate::output::stderr(&render(&problem, options));
            return Exit::Usage;
        }
    };
    let parsed = syntax::parse(&file);
    let Some(playbook) = parsed.playbook else {
        crate::output::stderr(&render_all(&parsed.diagnostics, options));
        return Exit::Errors;
    };
    if args.ast {
        match serde_json::to_string_pretty(&playbook) {
            Ok(json) => crate::output::stdout_json(&format!("{json}\n")),
            Err(err) => {
                crate::output::stderr_line!("error: cannot serialise the syntax tree: {err}");
                return Exit::Errors;
            }
        }
    } else {
        crate::output::stdout(&format!(
            "{}: {} declaration{} ({} agents, {} signals, {} routes, {} workflows, {} tests)\n",
            file.name(),
            playbook.items.len(),
            if playbook.items.len() == 1 { "" } else { "s" },
            playbook.agents().count(),
            playbook.signals().count(),
            playbook.routes().count(),
            playbook.workflows().count(),
            playbook.tests().count(),
        ));
    }
    Exit::Success
}
