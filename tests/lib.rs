//! Integration tests: one binary (`autotests = false`) to keep link times down.

mod agents_e2e;
mod agents_py;
mod checks;
mod cli;
mod diagnostics;
mod dry_run_cli;
mod explain;
mod formats;
mod graph;
mod journal;
mod outputs_runtime;
mod playbooks;
mod process_backend;
mod progress;
mod props;
mod protocol;
mod real_runs;
mod run_limits;
mod runs;
mod runtime_semantics;
mod spans;
mod test_cmd;
