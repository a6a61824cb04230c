//! The `coordops` binary.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    restore_sigpipe();
    let cli = coordops::cli::Cli::parse();
    init_logging(cli.verbose);
    coordops::cli::run(cli).into()
}

/// Logs go to stderr (redacted), filtered by `COORDOPS_LOG` (e.g.
/// `COORDOPS_LOG=debug` shows every run event as it happens); `-vv` is
/// `COORDOPS_LOG=debug` when the variable is unset. Silent otherwise.
fn init_logging(verbose: u8) {
    let filter = match tracing_subscriber::EnvFilter::try_from_env("COORDOPS_LOG") {
        Ok(filter) => filter,
        Err(_) if verbose >= 2 => tracing_subscriber::EnvFilter::new("debug"),
        Err(_) => return,
    };
    use std::io::IsTerminal;
    let color = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(coordops::output::LogWriter)
        .with_ansi(color)
        .with_target(false)
        .init();
}

/// Rust ignores SIGPIPE, so printing into a closed pipe (`coordops … | head`)
/// would panic. Restore the default: the process ends quietly, like other
/// command-line tools.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in `main`, before any thread exists;
    // SIG_DFL is a valid disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
