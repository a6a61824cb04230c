//! Every measure of issue 8, beside its floors, in one process:
//! `cargo bench --bench scale` (divan; add a name filter, e.g. `-- dry_run`).
//!
//! Floors (group `floor`): one pass of the grammar over the smallest
//! playbook, tokio spawn+join, and tokio paused-clock sleeps — what a
//! simulated call cannot be cheaper than. Allocation columns come from
//! divan's `AllocProfiler`. `cargo bench --bench growth` prints the ratios.

mod support;

use coordops::analysis::check_source;
use coordops::diagnostics::{json, render_all, Diagnostic, RenderOptions};
use coordops::report;
use coordops::source::SourceFile;
use coordops::syntax;
use coordops::testing::generate as gen;
use divan::counter::{BytesCount, ItemsCount};
use divan::{black_box, AllocProfiler, Bencher};

#[global_allocator]
static ALLOC: AllocProfiler = AllocProfiler::system();

fn main() {
    divan::main();
}

const MB: usize = 1 << 20;

mod floor {
    use super::*;

    /// One pass of the grammar over a one-agent playbook.
    #[divan::bench]
    fn empty_parse() {
        black_box(support::floor_empty_parse());
    }

    /// Spawning and joining N tokio tasks.
    #[divan::bench(args = [10_000, 100_000], sample_count = 10)]
    fn spawn_join(bencher: Bencher, n: usize) {
        bencher
            .counter(ItemsCount::new(n))
            .bench(|| support::floor_spawn_join(n));
    }

    /// N tasks each sleeping on a paused clock.
    #[divan::bench(args = [10_000, 100_000], sample_count = 10)]
    fn paused_sleeps(bencher: Bencher, n: usize) {
        bencher
            .counter(ItemsCount::new(n))
            .bench(|| support::floor_paused_sleeps(n));
    }
}

mod parse {
    use super::*;

    fn bench_parse(bencher: Bencher, text: &str) {
        let source = SourceFile::new("bench.ops", text);
        bencher
            .counter(BytesCount::new(text.len()))
            .bench(|| black_box(syntax::parse(&source)));
    }

    /// The seed's playbook (18 KB).
    #[divan::bench]
    fn coord_ops(bencher: Bencher) {
        bench_parse(bencher, support::COORD_OPS);
    }

    /// Generated playbooks of 1 MB and 4 MB.
    #[divan::bench(args = [1, 4], sample_count = 10)]
    fn sized_mb(bencher: Bencher, mb: usize) {
        bench_parse(bencher, &gen::sized_playbook(mb * MB - 64 * 1024));
    }
}

mod check {
    use super::*;

    fn bench_check(bencher: Bencher, text: &str) {
        let source = SourceFile::new("bench.ops", text);
        bencher
            .counter(BytesCount::new(text.len()))
            .bench(|| black_box(check_source(&source)));
    }

    /// Parse + analyse the seed's playbook.
    #[divan::bench]
    fn coord_ops(bencher: Bencher) {
        bench_check(bencher, support::COORD_OPS);
    }

    /// Parse + analyse generated playbooks of 1 MB and 4 MB.
    #[divan::bench(args = [1, 4], sample_count = 10)]
    fn sized_mb(bencher: Bencher, mb: usize) {
        bench_check(bencher, &gen::sized_playbook(mb * MB - 64 * 1024));
    }

    /// 10,000 agents, each routed (1 MB).
    #[divan::bench(sample_count = 10)]
    fn agents_10k(bencher: Bencher) {
        bench_check(bencher, &gen::many_agents(10_000));
    }

    /// One workflow of N sequential steps.
    #[divan::bench(args = [1000, 2000, 4000], sample_count = 10)]
    fn sequential_steps(bencher: Bencher, n: usize) {
        bench_check(bencher, &gen::sequential_workflow(n));
    }

    /// One workflow of N `if`/`else` blocks.
    #[divan::bench(args = [1000, 4000], sample_count = 10)]
    fn branches(bencher: Bencher, n: usize) {
        bench_check(bencher, &gen::branching_workflow(n));
    }
}

mod diagnostics {
    use super::*;

    fn warnings(n: usize) -> Vec<Diagnostic> {
        let source = SourceFile::new("bench.ops", gen::unused_agents(n));
        let diagnostics = check_source(&source);
        assert_eq!(diagnostics.len(), n, "one unused_agent warning per agent");
        diagnostics
    }

    /// Human format (no colour, 100 columns) of N warnings.
    #[divan::bench(args = [1000, 4000, 10_000], sample_count = 10)]
    fn human(bencher: Bencher, n: usize) {
        let diagnostics = warnings(n);
        let options = RenderOptions {
            color: false,
            width: 100,
        };
        bencher
            .counter(ItemsCount::new(n))
            .bench(|| black_box(render_all(&diagnostics, options)));
    }

    /// JSON format of N warnings.
    #[divan::bench(args = [1000, 4000, 10_000], sample_count = 10)]
    fn json(bencher: Bencher, n: usize) {
        let diagnostics = warnings(n);
        bencher
            .counter(ItemsCount::new(n))
            .bench(|| black_box(json::to_string(&diagnostics, 1)));
    }
}

mod dry_run {
    use super::*;

    /// `parallel for` over N elements, one simulated call each.
    #[divan::bench(args = [1000, 3000, 10_000], sample_count = 10)]
    fn parallel_for(bencher: Bencher, n: usize) {
        let playbook = support::parse(&gen::parallel_for());
        bencher
            .counter(ItemsCount::new(n))
            .with_inputs(|| support::lists(&[("items", n)]))
            .bench_values(|context| black_box(support::dry_run(&playbook, context)));
    }

    /// Nested fan-out: 100 × N/100 simulated calls (10k and 100k).
    #[divan::bench(args = [10_000, 100_000], sample_count = 5)]
    fn nested_calls(bencher: Bencher, calls: usize) {
        let playbook = support::parse(&gen::nested_fan_out());
        bencher
            .counter(ItemsCount::new(calls))
            .with_inputs(|| support::lists(&[("outer", 100), ("inner", calls / 100)]))
            .bench_values(|context| black_box(support::dry_run(&playbook, context)));
    }

    /// A pipeline of N sequential steps, each handing its result on.
    #[divan::bench(args = [1000, 2000, 4000, 10_000], sample_count = 5)]
    fn pipeline(bencher: Bencher, n: usize) {
        let playbook = support::parse(&gen::sequential_workflow(n));
        bencher
            .counter(ItemsCount::new(n))
            .bench(|| black_box(support::dry_run(&playbook, Default::default())));
    }
}

mod reports {
    use super::*;

    /// Markdown and JSON reports of a 10k-step pipeline.
    #[divan::bench(args = ["markdown", "json"], sample_count = 10)]
    fn pipeline_10k(bencher: Bencher, format: &str) {
        let playbook = support::parse(&gen::sequential_workflow(10_000));
        let result = support::dry_run(&playbook, Default::default());
        let agents = vec!["A".to_string()];
        bencher.bench(|| match format {
            "markdown" => black_box(report::render_markdown(&result, &agents)),
            _ => black_box(report::render_json(&result)),
        });
    }
}
