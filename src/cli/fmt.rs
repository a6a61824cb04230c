//! `coordops fmt`: rewrite playbooks in the canonical layout, or check them.

use std::io::Read;
use std::path::{Path, PathBuf};

use clap::Args;

use super::Exit;
use crate::diagnostics::{render_all, Diagnostic, RenderOptions};
use crate::format;
use crate::output;
use crate::source::{self, SourceFile};

/// Arguments of `coordops fmt`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  coordops fmt playbooks/                # rewrite every .ops file under playbooks/
  coordops fmt --check playbooks/        # list unformatted files, exit 1 if any (CI)
  coordops fmt --diff a.ops              # show what would change, as a unified diff
  coordops fmt - < a.ops > b.ops         # stdin to stdout
  coordops fmt . --exclude tests/fixtures  # leave a directory as it is

A file that does not parse is never rewritten: its errors are reported and
the exit code is 1. docs/fmt.md describes the layout.

Exit codes: 0 formatted (or already formatted), 1 syntax errors, or files
not formatted with --check or --diff, 2 usage or I/O error.")]
pub struct FmtArgs {
    /// Playbook files or directories (searched recursively for `.ops`
    /// files); `-` or nothing reads stdin and writes the result to stdout.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Change nothing: list the files that are not formatted, exit 1 if any.
    #[arg(long)]
    pub check: bool,

    /// Change nothing: print a unified diff of what would change, exit 1 if
    /// anything would.
    #[arg(long)]
    pub diff: bool,

    /// Leave out files and directories matching this glob (gitignore
    /// syntax, relative to the current directory; repeatable) when walking
    /// directories, as `coordops check --exclude` does.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
}

/// What happened to one input.
enum Outcome {
    Unchanged,
    Changed,
    Broken,
}

pub(super) fn run(args: &FmtArgs, render: RenderOptions, quiet: bool) -> Exit {
    let stdin = args.paths.is_empty() || args.paths.iter().all(|p| p == Path::new("-"));
    if stdin {
        return run_stdin(args, render);
    }
    if args.paths.iter().any(|p| p == Path::new("-")) {
        output::stderr("error: `-` (stdin) cannot be mixed with paths\n");
        return Exit::Usage;
    }
    let excludes = match super::excludes(&args.exclude) {
        Ok(e) => e,
        Err(exit) => return exit,
    };
    let (files, problems) = crate::walk::playbooks(&args.paths, &excludes);
    let mut io_failed = !problems.is_empty();
    report(&problems, render);
    let (mut changed, mut broken) = (0, 0);
    for path in &files {
        let file = match source::load(path) {
            Ok(file) => file,
            Err(problem) => {
                io_failed = true;
                report(&[problem], render);
                continue;
            }
        };
        match one(args, &file, path, render) {
            Ok(Outcome::Unchanged) => {}
            Ok(Outcome::Changed) => changed += 1,
            Ok(Outcome::Broken) => broken += 1,
            Err(problem) => {
                io_failed = true;
                output::stderr(&format!("error: {problem}\n"));
            }
        }
    }
    if !quiet {
        output::stderr(&summary(args, files.len(), changed, broken));
    }
    if io_failed {
        Exit::Usage
    } else if broken > 0 || changed > 0 && (args.check || args.diff) {
        Exit::Errors
    } else {
        Exit::Success
    }
}

fn summary(args: &FmtArgs, files: usize, changed: usize, broken: usize) -> String {
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let verb = if args.check || args.diff {
        "would be reformatted"
    } else {
        "reformatted"
    };
    let mut line = format!("{changed} of {files} file{} {verb}", plural(files));
    if broken > 0 {
        line.push_str(&format!(", {broken} with syntax errors left alone"));
    }
    line.push('\n');
    line
}

fn report(problems: &[Diagnostic], render: RenderOptions) {
    if !problems.is_empty() {
        output::stderr(&render_all(problems, render));
    }
}

/// Formats one file: rewrites it, or lists or diffs it.
fn one(
    args: &FmtArgs,
    file: &SourceFile,
    path: &Path,
    render: RenderOptions,
) -> Result<Outcome, String> {
    let formatted = match format::format_file(file) {
        Ok(text) => text,
        Err(problems) => {
            report(&problems, render);
            return Ok(Outcome::Broken);
        }
    };
    if formatted == file.text() {
        return Ok(Outcome::Unchanged);
    }
    let shown = path.display().to_string();
    if args.diff {
        output::stdout(&diff(&shown, file.text(), &formatted));
    } else if args.check {
        output::stdout(&format!("{shown}\n"));
    } else {
        output::write_file(path, &formatted).map_err(|e| format!("cannot write `{shown}`: {e}"))?;
    }
    Ok(Outcome::Changed)
}

fn run_stdin(args: &FmtArgs, render: RenderOptions) -> Exit {
    let mut text = String::new();
    if let Err(err) = std::io::stdin().read_to_string(&mut text) {
        output::stderr(&format!("error: cannot read stdin: {err}\n"));
        return Exit::Usage;
    }
    let file = SourceFile::new("<stdin>", text);
    let formatted = match format::format_file(&file) {
        Ok(formatted) => formatted,
        Err(problems) => {
            report(&problems, render);
            return Exit::Errors;
        }
    };
    let changed = formatted != file.text();
    if args.diff {
        if changed {
            output::stdout(&diff("<stdin>", file.text(), &formatted));
        }
    } else if args.check {
        if changed {
            output::stdout("<stdin>\n");
        }
    } else {
        output::stdout(&formatted);
    }
    if changed && (args.check || args.diff) {
        Exit::Errors
    } else {
        Exit::Success
    }
}

/// A unified diff from `old` to `new`, both named `name`.
fn diff(name: &str, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(name, name)
        .to_string()
}
