//! The `coordops` binary.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    restore_sigpipe();
    let cli = coordops::cli::Cli::parse();
    coordops::cli::run(cli).into()
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
