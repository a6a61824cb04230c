//! Growth and floors: `cargo bench --bench growth`.
//!
//! Prints, as Markdown tables for the README:
//! 1. every measure of issue 8 beside the floor measured in this same
//!    process, the ratio to it, the target, and whether it is met;
//! 2. growth at 1×, 10× and 100× of playbook size, diagnostics, fan-out
//!    width and pipeline length: time and peak heap, and the ratio of the
//!    time per unit at 100× to the time per unit at 1× (1.0 is linear,
//!    10 would be quadratic).
//!
//! A plain harness (medians of repeated runs, a counting allocator for peak
//! heap) because these are ratios across measures, which divan's per-bench
//! tables (`cargo bench --bench scale`) do not compute.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use coordops::analysis::check_source;
use coordops::diagnostics::{json, render_all, RenderOptions};
use coordops::source::SourceFile;
use coordops::testing::generate as gen;

/// The system allocator, tracking live and peak heap bytes.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every method defers to `System` with the arguments it was given.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Relaxed) + layout.size();
        PEAK.fetch_max(live, Relaxed);
        // SAFETY: the caller upholds `alloc`'s contract, which is `System`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Relaxed);
        // SAFETY: `ptr` and `layout` came from `alloc` above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            let live = LIVE.fetch_add(new_size - layout.size(), Relaxed) + new_size - layout.size();
            PEAK.fetch_max(live, Relaxed);
        } else {
            LIVE.fetch_sub(layout.size() - new_size, Relaxed);
        }
        // SAFETY: the caller upholds `realloc`'s contract, which is `System`'s.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Set in the environment of a child to measure a Rust binary's bare start.
const EMPTY: &str = "COORDOPS_BENCH_EMPTY_START";

/// Median time and the peak heap above the heap before the first run.
#[derive(Clone, Copy)]
struct Sample {
    time: Duration,
    peak: usize,
}

fn measure<I, O>(runs: usize, mut input: impl FnMut() -> I, mut f: impl FnMut(I) -> O) -> Sample {
    let mut times = Vec::with_capacity(runs);
    let mut peak = 0;
    for _ in 0..runs {
        let value = input();
        let base = LIVE.load(Relaxed);
        PEAK.store(base, Relaxed);
        let start = Instant::now();
        let out = f(value);
        times.push(start.elapsed());
        peak = peak.max(PEAK.load(Relaxed).saturating_sub(base));
        drop(out);
    }
    times.sort();
    Sample {
        time: times[times.len() / 2],
        peak,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "**not met**"
    }
}

/// Median wall time of `runs` starts of `command`.
fn process(runs: usize, mut command: impl FnMut() -> Command) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let mut cmd = command();
            let start = Instant::now();
            let status = cmd.output().map(|o| o.status.success());
            let elapsed = start.elapsed();
            assert_eq!(status.ok(), Some(true), "benchmarked process must succeed");
            elapsed
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn check(text: &str) -> usize {
    let source = SourceFile::new("bench.ops", text);
    check_source(&source).len()
}

fn main() {
    if std::env::var_os(EMPTY).is_some() {
        return;
    }
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` asks harnesses for their tests
    }
    println!("coordops growth benchmark (release build, medians)\n");
    table_of_measures();
    growth_tables();
}

fn table_of_measures() {
    // Floors, measured first in this same process.
    let exe = std::env::current_exe().unwrap_or_default();
    let empty = process(41, || {
        let mut c = Command::new(&exe);
        c.env(EMPTY, "1");
        c
    });
    let coordops = env!("CARGO_BIN_EXE_coordops");
    let root = env!("CARGO_MANIFEST_DIR");
    let whole = process(41, || {
        let mut c = Command::new(coordops);
        c.arg("check")
            .arg(format!("{root}/playbooks/coord_ops.ops"));
        c
    });
    let empty_parse = measure(201, || (), |_| support::floor_empty_parse()).time;
    let sleeps = measure(5, || (), |_| support::floor_paused_sleeps(100_000));
    let spawns = measure(5, || (), |_| support::floor_spawn_join(100_000));
    let json_floor = support::json_floor(1 << 20);

    println!("## Floors (this process)\n");
    println!("| floor | figure |\n|---|---|");
    println!(
        "| start of an empty Rust binary (this bench, exiting at once) | {:.2} ms |",
        ms(empty)
    );
    println!(
        "| one grammar pass over a one-agent playbook | {:.1} µs |",
        empty_parse.as_secs_f64() * 1e6
    );
    println!(
        "| pest parse + owned tree of 1 MiB of JSON (config-like grammar) | {:.1} MB/s |",
        json_floor
    );
    println!(
        "| tokio spawn+join, 100k tasks | {:.2} µs/task |",
        spawns.time.as_secs_f64() * 1e6 / 100_000.0
    );
    println!(
        "| tokio paused-clock sleeps, 100k tasks | {:.2} µs/task, {:.0} ms, {:.0} MiB |",
        sleeps.time.as_secs_f64() * 1e6 / 100_000.0,
        ms(sleeps.time),
        mib(sleeps.peak)
    );

    println!("\n## Measures of issue 8 against their targets\n");
    println!("| measure | figure | floor ratio | target | |\n|---|---|---|---|---|");
    let ratio = whole.as_secs_f64() / empty.as_secs_f64();
    println!(
        "| `check playbooks/coord_ops.ops`, whole process | {:.2} ms | {ratio:.1}× empty binary | ≤ 2× | {} |",
        ms(whole),
        verdict(ratio <= 2.0)
    );
    for mb in [1usize, 4] {
        let text = gen::sized_playbook(mb << 20);
        let s = measure(5, || (), |_| check(&text));
        let rate = text.len() as f64 / 1e6 / s.time.as_secs_f64();
        println!(
            "| parse + analyse, generated {mb} MB playbook | {rate:.1} MB/s ({:.0} ms, {:.0} MiB) | {:.2}× pest JSON | ≥ 15 MB/s | {} |",
            ms(s.time),
            mib(s.peak),
            rate / json_floor,
            verdict(rate >= 15.0)
        );
    }
    let agents = gen::many_agents(10_000);
    let s = measure(5, || (), |_| check(&agents));
    println!(
        "| `check`, 1 MB playbook of 10,000 routed agents | {:.0} ms | | ≤ 200 ms | {} |",
        ms(s.time),
        verdict(s.time <= Duration::from_millis(200))
    );
    let seq: Vec<Sample> = [1000, 2000, 4000]
        .iter()
        .map(|&n| {
            let text = gen::sequential_workflow(n);
            measure(5, || (), |_| check(&text))
        })
        .collect();
    println!(
        "| `check`, one workflow of 1k / 2k / 4k sequential steps | {:.1} / {:.1} / {:.1} ms | | 4k ≤ 100 ms, linear | {} |",
        ms(seq[0].time),
        ms(seq[1].time),
        ms(seq[2].time),
        verdict(seq[2].time <= Duration::from_millis(100))
    );
    let human = |n: usize| {
        let source = SourceFile::new("bench.ops", gen::unused_agents(n));
        let diagnostics = check_source(&source);
        let options = RenderOptions {
            color: false,
            width: 100,
        };
        let h = measure(3, || (), |_| render_all(&diagnostics, options));
        let j = measure(3, || (), |_| json::to_string(&diagnostics, 1));
        (h, j)
    };
    let (h1, j1) = human(1000);
    let (h10, j10) = human(10_000);
    println!(
        "| human diagnostics, 1k → 10k warnings (rendering) | {:.0} → {:.0} ms | JSON: {:.0} → {:.0} ms | 10k ≤ 1 s, linear | {} |",
        ms(h1.time),
        ms(h10.time),
        ms(j1.time),
        ms(j10.time),
        verdict(h10.time <= Duration::from_secs(1))
    );
    let nested = support::parse(&gen::nested_fan_out());
    for calls in [10_000usize, 100_000] {
        let s = measure(
            3,
            || support::lists(&[("outer", 100), ("inner", calls / 100)]),
            |c| support::dry_run(&nested, c),
        );
        let per_call = s.time.as_secs_f64() * 1e6 / calls as f64;
        let floor = sleeps.time.as_secs_f64() * 1e6 / 100_000.0;
        let met = per_call <= 2.0
            && (calls < 100_000 || (s.time <= Duration::from_millis(300) && mib(s.peak) <= 100.0));
        println!(
            "| dry-run nested fan-out, {}k calls | {per_call:.2} µs/call ({:.0} ms, {:.0} MiB) | {:.1}× paused sleep | ≤ 2 µs/call; 100k ≤ 300 ms, ≤ 100 MB | {} |",
            calls / 1000,
            ms(s.time),
            mib(s.peak),
            per_call / floor,
            verdict(met)
        );
    }
    let pfor = support::parse(&gen::parallel_for());
    let p: Vec<Sample> = [1000usize, 3000, 10_000]
        .iter()
        .map(|&n| {
            measure(
                5,
                || support::lists(&[("items", n)]),
                |c| support::dry_run(&pfor, c),
            )
        })
        .collect();
    println!(
        "| dry-run `parallel for` over 1k / 3k / 10k elements | {:.1} / {:.1} / {:.1} ms ({:.0} MiB at 10k) | | 10k ≤ 50 ms, linear | {} |",
        ms(p[0].time),
        ms(p[1].time),
        ms(p[2].time),
        mib(p[2].peak),
        verdict(p[2].time <= Duration::from_millis(50))
    );
    let q: Vec<Sample> = [1000usize, 2000, 4000, 10_000]
        .iter()
        .map(|&n| {
            let playbook = support::parse(&gen::sequential_workflow(n));
            measure(
                3,
                || (),
                |_| support::dry_run(&playbook, Default::default()),
            )
        })
        .collect();
    println!(
        "| dry-run sequential pipeline of 1k / 2k / 4k / 10k steps | {:.0} / {:.0} / {:.0} / {:.0} ms ({:.0} MiB at 10k) | | 10k ≤ 100 ms, linear | {} |",
        ms(q[0].time),
        ms(q[1].time),
        ms(q[2].time),
        ms(q[3].time),
        mib(q[3].peak),
        verdict(q[3].time <= Duration::from_millis(100))
    );
}

/// One growth row: the measure at sizes n, 10n and 100n.
fn growth_row(name: &str, unit: &str, base: usize, mut f: impl FnMut(usize) -> Sample) {
    let s: Vec<Sample> = [1, 10, 100].iter().map(|k| f(base * k)).collect();
    let per_unit = |i: usize, k: usize| s[i].time.as_secs_f64() / (base * k) as f64;
    println!(
        "| {name} | {base} / {} / {} {unit} | {:.2} / {:.1} / {:.0} ms | {:.1} / {:.1} / {:.1} MiB | {:.2} | {:.2} |",
        base * 10,
        base * 100,
        ms(s[0].time),
        ms(s[1].time),
        ms(s[2].time),
        mib(s[0].peak),
        mib(s[1].peak),
        mib(s[2].peak),
        per_unit(1, 10) / per_unit(0, 1),
        per_unit(2, 100) / per_unit(0, 1),
    );
}

fn growth_tables() {
    println!("\n## Growth at 1×, 10×, 100×\n");
    println!("Time per unit at 10× and 100×, relative to 1×: 1.0 is linear; quadratic would be 10 and 100.\n");
    println!("| dimension | sizes | time | peak heap | per-unit 10×/1× | per-unit 100×/1× |\n|---|---|---|---|---|---|");
    growth_row("playbook size (`check`)", "KB", 40, |kb| {
        let text = gen::sized_playbook(kb * 1000);
        measure(5, || (), |_| check(&text))
    });
    growth_row("playbook size (`fmt`)", "KB", 40, |kb| {
        let text = gen::sized_playbook(kb * 1000);
        measure(
            5,
            || (),
            |_| coordops::format::format_source(&text).map(|t| t.len()),
        )
    });
    growth_row("steps in one workflow (`check`)", "steps", 40, |n| {
        let text = gen::sequential_workflow(n);
        measure(5, || (), |_| check(&text))
    });
    growth_row("`if` blocks in one workflow (`check`)", "blocks", 40, |n| {
        let text = gen::branching_workflow(n);
        measure(5, || (), |_| check(&text))
    });
    growth_row("warnings rendered (human)", "warnings", 100, |n| {
        let source = SourceFile::new("bench.ops", gen::unused_agents(n));
        let diagnostics = check_source(&source);
        let options = RenderOptions {
            color: false,
            width: 100,
        };
        measure(3, || (), |_| render_all(&diagnostics, options))
    });
    let pfor = support::parse(&gen::parallel_for());
    growth_row(
        "fan-out width (`parallel for`, dry run)",
        "elements",
        100,
        |n| {
            measure(
                5,
                || support::lists(&[("items", n)]),
                |c| support::dry_run(&pfor, c),
            )
        },
    );
    growth_row("pipeline length (dry run)", "steps", 100, |n| {
        let playbook = support::parse(&gen::sequential_workflow(n));
        measure(
            3,
            || (),
            |_| support::dry_run(&playbook, Default::default()),
        )
    });
    growth_row("flow drawing (SVG of `--format html`)", "steps", 40, |n| {
        let text = gen::sequential_workflow(n);
        let source = SourceFile::new("bench.ops", text.as_str());
        let playbook = support::parse(&text);
        measure(
            5,
            || (),
            |_| {
                coordops::graph::build(&playbook, &source, coordops::graph::Scope::All)
                    .map(|g| coordops::graph::svg(&g).len())
            },
        )
    });
}
