//! The `coordops` binary.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = coordops::cli::Cli::parse();
    coordops::cli::run(cli).into()
}
