//! What the benchmarks share: inputs, the in-process dry run, and the floors
//! every measure is compared with in the same process.

#![allow(dead_code)] // each bench binary uses part of it

use std::time::{Duration, SystemTime};

use coordops::ast::Playbook;
use coordops::runtime::result::RunResult;
use coordops::runtime::{self, simulated::Scenario, RunRequest};
use coordops::source::SourceFile;
use coordops::syntax;
use serde_json::{Map, Value};

/// The seed's playbook.
pub const COORD_OPS: &str = include_str!("../../playbooks/coord_ops.ops");

/// Parses `text`, which must have no syntax errors.
pub fn parse(text: &str) -> Playbook {
    let source = SourceFile::new("bench.ops", text);
    let parsed = syntax::parse(&source);
    match parsed.playbook {
        Some(playbook) if parsed.diagnostics.is_empty() => playbook,
        _ => panic!("generated playbook must parse: {:?}", parsed.diagnostics),
    }
}

/// A context of list fields, e.g. `[("items", 1000)]` → `items: [0, …, 999]`.
pub fn lists(fields: &[(&str, usize)]) -> Map<String, Value> {
    fields
        .iter()
        .map(|(name, n)| (name.to_string(), coordops::testing::generate::items(*n)))
        .collect()
}

/// Dry-runs `GEN:GO` on the simulated backend and paused clock, as
/// `coordops dry-run` does, and returns the result.
pub fn dry_run(playbook: &Playbook, context: Map<String, Value>) -> RunResult {
    let request = RunRequest {
        playbook,
        source: None,
        signal: "GEN:GO".to_string(),
        context,
        run_id: "bench".to_string(),
        now: SystemTime::UNIX_EPOCH,
    };
    match runtime::simulate(request, Scenario::default(), None, |_| {}) {
        Ok(result) => result,
        Err(e) => panic!("dry run failed to start: {e}"),
    }
}

/// Floor: parsing the smallest playbook (one agent) — the fixed cost of one
/// pass of the grammar.
pub fn floor_empty_parse() -> Playbook {
    parse("agent A \"a\" {\n  task t \"t\" { timeout 1s }\n}\n")
}

/// Floor: `n` tokio tasks spawned and joined on a current-thread runtime.
pub fn floor_spawn_join(n: usize) {
    let runtime = current_thread(false);
    runtime.block_on(async {
        let handles: Vec<_> = (0..n).map(|i| tokio::spawn(async move { i })).collect();
        for handle in handles {
            let _ = handle.await;
        }
    });
}

/// Floor: `n` tokio tasks each sleeping 1 s on a paused clock (the virtual
/// time a simulated call costs), spawned and joined.
pub fn floor_paused_sleeps(n: usize) {
    let runtime = current_thread(true);
    runtime.block_on(async {
        let handles: Vec<_> = (0..n)
            .map(|_| tokio::spawn(tokio::time::sleep(Duration::from_secs(1))))
            .collect();
        for handle in handles {
            let _ = handle.await;
        }
    });
}

fn current_thread(paused: bool) -> tokio::runtime::Runtime {
    let mut builder = tokio::runtime::Builder::new_current_thread();
    builder.enable_time();
    if paused {
        builder.start_paused(true);
    }
    match builder.build() {
        Ok(runtime) => runtime,
        Err(e) => panic!("cannot start tokio: {e}"),
    }
}

/// A config-like grammar (JSON, as in the pest book) for the parsing floor.
#[derive(pest_derive::Parser)]
#[grammar_inline = r#"
WHITESPACE = _{ " " | "\t" | "\r" | "\n" }
json    = _{ SOI ~ (object | array) ~ EOI }
value   = _{ object | array | string | number | boolean | null }
object  = { "{" ~ "}" | "{" ~ pair ~ ("," ~ pair)* ~ "}" }
pair    = { string ~ ":" ~ value }
array   = { "[" ~ "]" | "[" ~ value ~ ("," ~ value)* ~ "]" }
string  = ${ "\"" ~ inner ~ "\"" }
inner   = @{ char* }
char    = _{ !("\"" | "\\") ~ ANY | "\\" ~ ("\"" | "\\" | "/" | "b" | "f" | "n" | "r" | "t") }
number  = @{ "-"? ~ ("0" | ASCII_NONZERO_DIGIT ~ ASCII_DIGIT*) ~ ("." ~ ASCII_DIGIT+)? }
boolean = { "true" | "false" }
null    = { "null" }
"#]
struct JsonParser;

fn to_value(pair: pest::iterators::Pair<'_, Rule>) -> Value {
    match pair.as_rule() {
        Rule::object => Value::Object(
            pair.into_inner()
                .filter_map(|p| {
                    let mut inner = p.into_inner();
                    let key = inner.next()?.into_inner().as_str().to_string();
                    Some((key, to_value(inner.next()?)))
                })
                .collect(),
        ),
        Rule::array => Value::Array(pair.into_inner().map(to_value).collect()),
        Rule::string => Value::String(pair.into_inner().as_str().to_string()),
        Rule::number => pair
            .as_str()
            .parse::<f64>()
            .map(Value::from)
            .unwrap_or(Value::Null),
        Rule::boolean => Value::Bool(pair.as_str() == "true"),
        _ => Value::Null,
    }
}

/// Floor: pest parse + owned tree of `bytes` of config-like JSON; MB/s.
pub fn json_floor(bytes: usize) -> f64 {
    use pest::Parser;
    let mut text = String::from("[");
    let mut i = 0;
    while text.len() < bytes {
        text.push_str(&format!(
            "{{\"name\": \"agent-{i}\", \"timeout\": 30, \"retry\": 2.5, \"enabled\": true, \
             \"tasks\": [\"build\", \"test\", \"publish\"], \"owner\": null}},\n"
        ));
        i += 1;
    }
    text.push_str("{}]");
    let mut times: Vec<Duration> = (0..5)
        .map(|_| {
            let start = std::time::Instant::now();
            let tree: Vec<Value> = match JsonParser::parse(Rule::json, &text) {
                Ok(pairs) => pairs
                    .filter(|p| p.as_rule() != Rule::EOI)
                    .map(to_value)
                    .collect(),
                Err(e) => panic!("floor JSON must parse: {e}"),
            };
            let elapsed = start.elapsed();
            assert_eq!(tree.len(), 1);
            elapsed
        })
        .collect();
    times.sort();
    text.len() as f64 / 1e6 / times[2].as_secs_f64()
}
