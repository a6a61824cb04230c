//! `coordops routes`: the routing table, and why a signal takes its route.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde_json::{json, Value};

use super::run_input::{checked_playbook, parse_sets};
use super::Exit;
use crate::diagnostics::RenderOptions;
use crate::runtime::eval::Scope;
use crate::runtime::{context, routing};

/// Arguments of `coordops routes`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  coordops routes playbooks/coord_ops.ops
  coordops routes playbooks/coord_ops.ops --signal OPS:COMMIT --set simple=true

  coordops routes playbooks/coord_ops.ops --format json | jq '.routes[].target'

Routes are tried in order; the first whose pattern and guard match wins. With
--signal, each route tried is shown with the reason it did or did not match.
`--format json` prints the same as one JSON document (README, Using the CLI).

Exit codes: 0 shown, 1 the playbook has errors, 2 usage or I/O error.")]
pub struct RoutesArgs {
    /// The playbook (`-`: stdin).
    #[arg(value_name = "PLAYBOOK")]
    pub playbook: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = RoutesFormat::Text, value_name = "FORMAT")]
    pub format: RoutesFormat,
    /// Explain which route this signal takes.
    #[arg(long, value_name = "SIGNAL")]
    pub signal: Option<String>,
    /// A context field of the signal (repeatable), parsed by its declared
    /// type as for `dry-run` (docs/language.md §6).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
}

/// `--format` of `coordops routes`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RoutesFormat {
    /// A table, or the trace of one signal, for people.
    Text,
    /// One JSON document (`version` 1).
    Json,
}

/// The version of `routes --format json`; bumped on incompatible changes.
pub const JSON_VERSION: u32 = 1;

pub(super) fn run(args: &RoutesArgs, render: RenderOptions) -> Exit {
    let (file, playbook) = match checked_playbook(&args.playbook, render) {
        Ok(x) => x,
        Err(exit) => return exit,
    };
    let Some(signal) = &args.signal else {
        let rows: Vec<[String; 5]> = playbook
            .routes()
            .enumerate()
            .map(|(i, r)| {
                let c = routing::choice(i, r);
                [
                    i.to_string(),
                    c.label.unwrap_or_else(|| "-".into()),
                    c.pattern,
                    r.guard
                        .as_ref()
                        .map_or_else(|| "-".into(), |g| file.slice(g.span).to_string()),
                    c.target,
                ]
            })
            .collect();
        match args.format {
            RoutesFormat::Text => {
                crate::output::stdout(&table(&["#", "LABEL", "PATTERN", "WHEN", "TARGET"], &rows))
            }
            RoutesFormat::Json => {
                let routes: Vec<Value> = rows
                    .iter()
                    .zip(playbook.routes())
                    .enumerate()
                    .map(|(index, ([_, _, pattern, _, target], route))| {
                        json!({
                            "index": index,
                            "label": route.label.as_ref().map(|l| l.name.clone()),
                            "pattern": pattern,
                            "when": route.guard.as_ref().map(|g| file.slice(g.span).to_string()),
                            "target": target,
                        })
                    })
                    .collect();
                print_json(&json!({ "version": JSON_VERSION, "routes": routes }));
            }
        }
        return Exit::Success;
    };
    super::run_input::warn_unknown_signal(&playbook, signal);
    let sets = match parse_sets(&args.sets) {
        Ok(s) => s,
        Err(exit) => return exit,
    };
    let context = match context::build(&playbook, signal, &sets) {
        Ok(c) => c,
        Err(e) => {
            crate::output::stderr_line!("error: {e}");
            return Exit::Usage;
        }
    };
    let mut scope = Scope::default();
    scope.bind("signal", Value::Object(context));
    let (chosen, trace) = routing::choose(&playbook, signal, &scope, Some(&file));
    if args.format == RoutesFormat::Json {
        let routed = chosen.map(|(index, route)| {
            json!({ "index": index, "target": routing::target_text(&route.target) })
        });
        print_json(&json!({
            "version": JSON_VERSION,
            "signal": signal,
            "trace": trace,
            "routed": routed,
        }));
        return Exit::Success;
    }
    let mut text = format!("signal {signal}:\n");
    for t in &trace {
        let label = t
            .route
            .label
            .as_ref()
            .map(|l| format!(" {l}:"))
            .unwrap_or_default();
        let mark = if t.matched { "✓" } else { "✗" };
        text.push_str(&format!(
            "  {mark} #{}{label} {} => {} — {}\n",
            t.index, t.route.pattern, t.route.target, t.reason
        ));
    }
    text.push_str(&match chosen {
        Some((index, route)) => format!(
            "routed by #{index} to {}\n",
            routing::target_text(&route.target)
        ),
        None => "no route matched: IGNORED\n".to_string(),
    });
    crate::output::stdout(&text);
    Exit::Success
}

fn print_json(value: &Value) {
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    crate::output::stdout_json(&format!("{text}\n"));
}

/// The rows under the header, columns padded to their widest cell.
fn table(header: &[&str; 5], rows: &[[String; 5]]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        format!("{}\n", parts.join("  ").trim_end())
    };
    let mut text = line(header.to_vec());
    for row in rows {
        text.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    text
}
