//! Checking throughput: `cargo bench --bench check`.
//!
//! A plain timing harness (no extra crates): checks one workflow of 1k, 2k and
//! 4k sequential steps (`s{i} = A.t(x: s{i-1}.out)`), reports the median time
//! of each and the ratio 4k/1k (about 4 when checking is linear; issue 8 was
//! cubic, about 50).

use std::time::{Duration, Instant};

use coordops::analysis::check_source;
use coordops::source::SourceFile;
use coordops::testing::generate::sequential_workflow;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn bench(steps: usize, runs: usize) -> Duration {
    let text = sequential_workflow(steps);
    let source = SourceFile::new("generated.ops", &text);
    let samples: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            let diagnostics = check_source(&source);
            let elapsed = start.elapsed();
            assert!(diagnostics.is_empty(), "{steps} steps must check clean");
            elapsed
        })
        .collect();
    let m = median(samples);
    println!("check {steps:>5} sequential steps  median {m:>10.3?}");
    m
}

fn main() {
    let one = bench(1000, 11);
    bench(2000, 7);
    let four = bench(4000, 5);
    println!(
        "ratio 4k/1k: {:.1} (linear ~4, quadratic ~16)",
        four.as_secs_f64() / one.as_secs_f64()
    );
}
