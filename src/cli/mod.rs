//! The `coordops` command line: argument parsing and exit codes.
//!
//! One file per subcommand. Library code returns values and diagnostics; only
//! this layer prints them and picks an exit code.

mod approve;
mod cascade;
mod check;
mod diff;
mod dry_run;
mod explain;
mod fmt;
mod graph;
mod help_pages;
mod interrupt;
mod live_backend;
mod lsp;
mod parse;
pub mod progress;
mod prompt;
mod replay_input;
mod replay_test;
mod report;
mod resume;
mod routes;
mod run;
mod run_input;
mod runs;
mod scenario_check;
mod schema;
mod signal_check;
pub mod terminal;
mod test_cmd;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::diagnostics::RenderOptions;

/// Exit codes, the same for every subcommand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// 0: everything checked clean.
    Success = 0,
    /// 1: a playbook has errors.
    Errors = 1,
    /// 2: bad usage, or a file could not be read.
    Usage = 2,
    /// 3: a run ended in partial success.
    Partial = 3,
    /// 4: a run failed, escalated or was aborted; a rebuilt report is UNFINISHED.
    RunFailed = 4,
    /// 5: a run stopped to wait for a person's approval (`coordops resume`).
    Waiting = 5,
    /// 130: interrupted twice (Ctrl-C, SIGTERM or SIGHUP).
    Interrupted = 130,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

const AFTER_HELP: &str = "\
Exit codes:
  0    success: playbooks clean; a run completed (or the signal was ignored);
       also when stdout was closed early (`coordops routes … | head -1`)
  1    a playbook has errors; a `test` failed; `diff --exit-code`: routing changed
  2    usage error, or a file or directory could not be read or written
  3    a run ended in partial success
  4    a run failed, escalated or was aborted; a rebuilt report is UNFINISHED
  5    a run is waiting for an approval: `coordops approve`, then `coordops resume`
  130  interrupted twice (Ctrl-C, SIGTERM or SIGHUP)

-q prints nothing but errors (and the status line of a run that did not \
complete; `test` prints its failed tests and the summary); -v prints every \
run event as a line; -vv adds each attempt's request and debug logs \
(COORDOPS_LOG=debug; COORDOPS_LOG=FILTER still works).

`-` is stdin for a playbook (check, parse, dry-run, routes, graph, …) and \
stdout for --output. Colour: --color, else NO_COLOR, CLICOLOR_FORCE, CLICOLOR \
and TERM=dumb are honoured. Shell completions: `coordops completions SHELL`; \
man page: `coordops man > coordops.1`.";

/// Parse, check and run `.ops` coordination playbooks.
#[derive(Debug, Parser)]
#[command(name = "coordops", version, about, after_help = AFTER_HELP)]
pub struct Cli {
    /// When to colour diagnostics and messages (auto honours NO_COLOR,
    /// CLICOLOR_FORCE, CLICOLOR and TERM=dumb).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true, value_name = "WHEN")]
    pub color: ColorChoice,

    /// More output: -v shows every run event as a line (also on a terminal
    /// and in dry runs); -vv also each attempt's request, and debug logs
    /// (like COORDOPS_LOG=debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// No progress and no start line: only errors, and the final status line
    /// of a run that did not complete.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// How much `run` and `dry-run` show on stderr (`-q`, `-v`, `-vv`).
    pub fn verbosity(&self) -> progress::Verbosity {
        progress::Verbosity {
            quiet: self.quiet,
            verbose: self.verbose,
        }
    }
}

/// `--color` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when stderr is a terminal (not `TERM=dumb`) or
    /// `CLICOLOR_FORCE` is set, and `NO_COLOR` is not set.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check playbooks: syntax, names, types and lints.
    Check(check::CheckArgs),
    /// Parse one playbook and print its syntax tree.
    Parse(parse::ParseArgs),
    /// Rewrite playbooks in the canonical layout (`--check` in CI).
    Fmt(fmt::FmtArgs),
    /// Run a signal on the simulated backend and virtual clock.
    DryRun(dry_run::DryRunArgs),
    /// Run a signal against real agents configured in a backends file.
    Run(run::RunArgs),
    /// Draw the playbook's flow as a Mermaid flowchart.
    Graph(graph::GraphArgs),
    /// Show the routing table, or which route a signal takes and why.
    Routes(routes::RoutesArgs),
    /// What changes in behaviour between two versions of a playbook.
    Diff(diff::DiffArgs),
    /// Explain a diagnostic code, with a wrong and a corrected example.
    Explain(explain::ExplainArgs),
    /// Run the `test` blocks of playbooks on the simulated backend.
    Test(test_cmd::TestArgs),
    /// Rebuild a run's report from its journal (also of a killed run).
    Report(report::ReportArgs),
    /// Continue a run from its journal (after a crash, a kill or a suspend).
    Resume(resume::ResumeArgs),
    /// Record a decision on an approval a suspended run waits for.
    Approve(approve::ApproveArgs),
    /// List the runs in a folder of journals: status, age, what they wait for.
    Runs(runs::RunsArgs),
    /// Print the JSON Schema of the agent protocol's request or reply.
    Schema(schema::SchemaArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(help_pages::CompletionsArgs),
    /// Print the man page (roff): `coordops man > coordops.1`.
    Man(help_pages::ManArgs),
    /// Serve the Language Server Protocol on stdin/stdout, for editors.
    Lsp(lsp::LspArgs),
}

/// Parses the process's command line; clap's own help and errors follow
/// `--color` (and, under `auto`, the colour environment variables).
pub fn parse_args() -> Cli {
    let color = terminal::color_from_args(std::env::args_os()).unwrap_or(ColorChoice::Auto);
    let matches = Cli::command()
        .color(terminal::clap_color(color))
        .get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// The `--exclude GLOB` options of a walking command, or the usage error
/// (already printed) for a bad glob.
fn excludes(globs: &[String]) -> Result<crate::walk::Excludes, Exit> {
    crate::walk::Excludes::new(globs).map_err(|message| {
        crate::output::stderr(&format!("error: {message}\n"));
        Exit::Usage
    })
}

/// Runs the parsed command line and returns the exit code.
pub fn run(cli: Cli) -> Exit {
    let render = render_options(cli.color);
    let verbosity = cli.verbosity();
    match cli.command {
        Command::Check(args) => check::run(&args, render, verbosity),
        Command::Parse(args) => parse::run(&args, render),
        Command::Fmt(args) => fmt::run(&args, render, verbosity.quiet),
        Command::DryRun(args) => dry_run::run(&args, render, verbosity),
        Command::Run(args) => run::run(&args, render, verbosity),
        Command::Routes(args) => routes::run(&args, render),
        Command::Diff(args) => diff::run(&args, render),
        Command::Graph(args) => graph::run(&args, render),
        Command::Explain(args) => explain::run(&args),
        Command::Test(args) => test_cmd::run(&args, render, verbosity),
        Command::Report(args) => report::run(&args),
        Command::Resume(args) => resume::run(&args, render, verbosity),
        Command::Approve(args) => approve::run(&args),
        Command::Runs(args) => runs::run(&args),
        Command::Schema(args) => schema::run(&args),
        Command::Completions(args) => help_pages::completions(&args),
        Command::Man(args) => help_pages::man(&args),
        Command::Lsp(args) => lsp::run(&args),
    }
}

fn render_options(choice: ColorChoice) -> RenderOptions {
    RenderOptions {
        color: terminal::stderr_color(choice),
        width: terminal::width(),
    }
}
