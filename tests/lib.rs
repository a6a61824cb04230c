//! Integration tests: one binary (`autotests = false`) to keep link times down.

mod cli;
mod diagnostics;
mod formats;
mod playbooks;
mod props;
mod spans;
