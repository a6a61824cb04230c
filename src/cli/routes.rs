//! `coordops routes`: the routing table, and why a signal takes its route.

use std::path::PathBuf;

use clap::Args;
use serde_json::Value;

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

Routes are tried in order; the first whose pattern and guard match wins. With
--signal, each route tried is shown with the reason it did or did not match.

Exit codes: 0 shown, 1 the playbook has errors, 2 usage or I/O error.")]
pub struct RoutesArgs {
    /// The playbook.
    #[arg(value_name = "PLAYBOOK")]
    pub playbook: PathBuf,
    /// Explain which route this signal takes.
    #[arg(long, value_name = "SIGNAL")]
    pub signal: Option<String>,
    /// A context field of the signal (repeatable), parsed by its declared
    /// type as for `dry-run` (docs/language.md §6).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
}

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
        print_table(&["#", "LABEL", "PATTERN", "WHEN", "TARGET"], &rows);
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
            eprintln!("error: {e}");
            return Exit::Usage;
        }
    };
    let mut scope = Scope::default();
    scope.bind("signal", Value::Object(context));
    let (chosen, trace) = routing::choose(&playbook, signal, &scope, Some(&file));
    println!("signal {signal}:");
    for t in &trace {
        let label = t
            .route
            .label
            .as_ref()
            .map(|l| format!(" {l}:"))
            .unwrap_or_default();
        let mark = if t.matched { "✓" } else { "✗" };
        println!(
            "  {mark} #{}{label} {} => {} — {}",
            t.index, t.route.pattern, t.route.target, t.reason
        );
    }
    match chosen {
        Some((index, route)) => println!(
            "routed by #{index} to {}",
            routing::target_text(&route.target)
        ),
        None => println!("no route matched: IGNORED"),
    }
    Exit::Success
}

fn print_table(header: &[&str; 5], rows: &[[String; 5]]) {
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
        println!("{}", parts.join("  ").trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}
