//! Integration tests: one binary (`autotests = false`) to keep link times down.

mod agents_e2e;
mod agents_py;
mod check_cap;
mod checks;
mod cli;
mod diagnostics;
mod docs_claims;
mod dry_run_cli;
mod explain;
mod formats;
mod fuzz_props;
mod fuzz_regressions;
mod graph;
mod journal;
mod outputs_runtime;
mod playbooks;
mod process_backend;
mod progress;
mod props;
mod protocol;
mod real_runs;
mod runs;
mod runtime_semantics;
mod set_values;
mod spans;
mod test_cmd;
