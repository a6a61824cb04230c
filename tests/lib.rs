//! Integration tests: one binary (`autotests = false`) to keep link times down.

mod agents_py;
mod checks;
mod cli;
mod diagnostics;
mod dry_run_cli;
mod explain;
mod formats;
mod graph;
mod playbooks;
mod process_backend;
mod progress;
mod props;
mod runs;
mod runtime_semantics;
mod spans;
mod test_cmd;
