//! Parse throughput: `cargo bench --bench parse`.
//!
//! A plain timing harness (no extra crates): parses the COORD_OPS playbook and
//! a ~1 MiB file built from it, and reports the median time and throughput.

use std::time::{Duration, Instant};

use coordops::source::SourceFile;
use coordops::syntax;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn bench(name: &str, text: &str, runs: usize) {
    let source = SourceFile::new(name, text);
    let samples: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            let parsed = syntax::parse(&source);
            let elapsed = start.elapsed();
            assert!(parsed.diagnostics.is_empty(), "{name} must parse");
            elapsed
        })
        .collect();
    let m = median(samples);
    let mib_per_s = text.len() as f64 / (1024.0 * 1024.0) / m.as_secs_f64();
    println!(
        "{name:<28} {:>8} bytes  median {:>10.3?}  {:>7.1} MiB/s",
        text.len(),
        m,
        mib_per_s
    );
}

fn main() {
    let coord_ops = include_str!("../playbooks/coord_ops.ops");
    bench("parse coord_ops.ops", coord_ops, 200);
    let big = coord_ops.repeat((1024 * 1024) / coord_ops.len() + 1);
    bench("parse 1 MiB of playbooks", &big, 10);
}
