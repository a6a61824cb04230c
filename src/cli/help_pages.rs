//! `coordops completions SHELL` and `coordops man [COMMAND]`: shell
//! completion scripts and man pages generated from the command line's own
//! definition, so they never drift from it.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::{Cli, Exit};

/// Arguments of `coordops completions`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  coordops completions bash > ~/.local/share/bash-completion/completions/coordops
  coordops completions zsh > ~/.zfunc/_coordops
  coordops completions fish > ~/.config/fish/completions/coordops.fish

Exit codes: 0 printed, 2 usage error.")]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: Shell,
}

/// Arguments of `coordops man`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  coordops man > coordops.1 && man ./coordops.1
  coordops man check > coordops-check.1

Exit codes: 0 printed, 2 usage error (no such command).")]
pub struct ManArgs {
    /// A subcommand whose own page to print (e.g. `check`); the main page
    /// when absent.
    #[arg(value_name = "COMMAND")]
    pub command: Option<String>,
}

pub(super) fn completions(args: &CompletionsArgs) -> Exit {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "coordops", &mut script);
    crate::output::stdout(&String::from_utf8_lossy(&script));
    Exit::Success
}

pub(super) fn man(args: &ManArgs) -> Exit {
    match man_page(args.command.as_deref()) {
        Ok(page) => {
            crate::output::stdout(&page);
            Exit::Success
        }
        Err(message) => {
            crate::output::stderr(&format!("error: {message}\n"));
            Exit::Usage
        }
    }
}

/// The roff text of the main page, or of one subcommand's page.
fn man_page(subcommand: Option<&str>) -> Result<String, String> {
    let mut command = Cli::command();
    command.build();
    let page = match subcommand {
        None => command,
        Some(name) => {
            let Some(sub) = command.find_subcommand(name) else {
                let names: Vec<&str> = command
                    .get_subcommands()
                    .map(clap::Command::get_name)
                    .collect();
                return Err(format!(
                    "there is no command `{name}`; the commands are: {}",
                    names.join(", ")
                ));
            };
            // Built, it is displayed as `coordops-NAME`: the page's title.
            sub.clone()
        }
    };
    let mut roff = Vec::new();
    clap_mangen::Man::new(page)
        .render(&mut roff)
        .map_err(|e| format!("cannot render the man page: {e}"))?;
    Ok(String::from_utf8_lossy(&roff).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn main_page_lists_commands_and_exit_codes() {
        let page = man_page(None).unwrap();
        assert!(
            page.starts_with(".ie") || page.contains(".TH coordops"),
            "{page}"
        );
        assert!(page.contains("completions"));
        assert!(page.contains("Exit codes"));
    }

    #[test]
    fn subcommand_page_is_named_for_it() {
        let page = man_page(Some("check")).unwrap();
        assert!(page.contains(".TH coordops-check"), "{page}");
        assert!(page.contains("\\-\\-format"));
    }

    #[test]
    fn unknown_subcommand_is_an_error_naming_the_commands() {
        let err = man_page(Some("chek")).unwrap_err();
        assert!(err.contains("`chek`") && err.contains("check"), "{err}");
    }
}
