//! Integration tests: one binary (`autotests = false`) to keep link times down.

mod checks;
mod cli;
mod diagnostics;
mod explain;
mod formats;
mod playbooks;
mod props;
mod spans;
