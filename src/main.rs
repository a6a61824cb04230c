//! The `coordops` binary.

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = coordops::cli::parse_args();
    let color = coordops::cli::terminal::stderr_color(cli.color);
    coordops::cli::terminal::apply_color(color);
    init_logging(cli.verbose, color);
    coordops::cli::run(cli).into()
}

/// Logs go to stderr (redacted), filtered by `COORDOPS_LOG` (e.g.
/// `COORDOPS_LOG=debug` shows every run event as it happens); `-vv` is
/// `COORDOPS_LOG=debug` when the variable is unset. Silent otherwise.
fn init_logging(verbose: u8, color: bool) {
    let filter = match tracing_subscriber::EnvFilter::try_from_env("COORDOPS_LOG") {
        Ok(filter) => filter,
        Err(_) if verbose >= 2 => tracing_subscriber::EnvFilter::new("debug"),
        Err(_) => return,
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(coordops::output::LogWriter)
        .with_ansi(color)
        .with_target(false)
        .init();
}
