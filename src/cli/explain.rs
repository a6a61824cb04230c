//! `coordops explain`: the long explanation of a diagnostic code.

use clap::Args;

use super::Exit;
use crate::explain;

/// Arguments of `coordops explain`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  coordops explain ops::check::undefined_agent
  coordops explain gate_tolerates_no_failure     # the short form works too
  coordops explain --list                        # every code

Exit codes: 0 explained, 2 unknown code.")]
pub struct ExplainArgs {
    /// The code, in full (`ops::lint::shadowed_route`) or short (`shadowed_route`).
    #[arg(value_name = "CODE", required_unless_present = "list")]
    pub code: Option<String>,

    /// List every code with its one-line meaning.
    #[arg(long)]
    pub list: bool,
}

pub(super) fn run(args: &ExplainArgs) -> Exit {
    if args.list {
        let mut list = String::new();
        for (code, text) in explain::all() {
            let title = text.lines().next().unwrap_or_default();
            let meaning = title.split_once('—').map_or(title, |(_, m)| m).trim();
            list.push_str(&format!("{code:<45} {meaning}\n"));
        }
        crate::output::stdout(&list);
        return Exit::Success;
    }
    let code = args.code.as_deref().unwrap_or_default();
    match explain::explanation(code) {
        Some(text) => {
            let newline = if text.ends_with('\n') { "" } else { "\n" };
            crate::output::stdout(&format!("{text}{newline}"));
            Exit::Success
        }
        None => {
            let short: Vec<&str> = explain::all()
                .iter()
                .map(|(c, _)| c.rsplit("::").next().unwrap_or(c))
                .collect();
            let hint = crate::analysis::closest_word(
                code.rsplit("::").next().unwrap_or(code),
                short.iter().copied(),
            )
            .map(|b| format!(" Did you mean `{b}`?"))
            .unwrap_or_default();
            crate::output::stderr_line!("error: there is no diagnostic code `{code}`.{hint} `coordops explain --list` shows every code.");
            Exit::Usage
        }
    }
}
