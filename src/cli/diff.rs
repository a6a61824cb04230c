//! `coordops diff OLD NEW`: what changes in behaviour between two versions
//! of a playbook (docs/diff.md).

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::{Args, ValueEnum};

use super::run_input::checked_source;
use super::Exit;
use crate::diagnostics::RenderOptions;
use crate::diff::render::{self, Anchors, Report};
use crate::diff::routing;
use crate::diff::structure::{self, Version};
use crate::output;
use crate::source::{self, SourceFile};

/// Arguments of `coordops diff`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  coordops diff old.ops playbooks/coord_ops.ops
  coordops diff main:playbooks/coord_ops.ops playbooks/coord_ops.ops --exit-code
  coordops diff HEAD~1:./coord_ops.ops coord_ops.ops --format github

OLD that is not an existing file and contains `:` is a git revision and a
path, read with `git show REV:PATH` (PATH from the repository's top, or
`./PATH` from the current directory).

Exit codes: 0 compared, 1 routing changed (with --exit-code) or a playbook
has errors, 2 usage error or a file or revision could not be read.")]
pub struct DiffArgs {
    /// The old version: a file, `REV:PATH` in git, or `-` (stdin).
    #[arg(value_name = "OLD")]
    pub old: String,
    /// The new version (`-`: stdin, when OLD is not).
    #[arg(value_name = "NEW")]
    pub new: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human, value_name = "FORMAT")]
    pub format: Format,
    /// Exit 1 when some signal routes differently (like `git diff --exit-code`).
    #[arg(long)]
    pub exit_code: bool,
}

/// `--format` values of `coordops diff`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Grouped text for a reviewer.
    Human,
    /// One JSON object (docs/diff.md).
    Json,
    /// GitHub Actions `::warning` annotations on NEW.
    Github,
}

pub(super) fn run(args: &DiffArgs, render: RenderOptions) -> Exit {
    if args.old == "-" && output::is_stdio(&args.new) {
        output::stderr("error: OLD and NEW cannot both be `-` (stdin)\n");
        return Exit::Usage;
    }
    let old = match load_old(&args.old, render).and_then(|f| checked_source(f, render)) {
        Ok(x) => x,
        Err(exit) => return exit,
    };
    let new = match load_path(&args.new, render).and_then(|f| checked_source(f, render)) {
        Ok(x) => x,
        Err(exit) => return exit,
    };
    let (old_file, old_playbook) = &old;
    let (new_file, new_playbook) = &new;
    let routing = routing::diff(old_playbook, new_playbook);
    let mut changes = structure::diff(
        Version {
            playbook: old_playbook,
            file: old_file,
        },
        Version {
            playbook: new_playbook,
            file: new_file,
        },
    );
    changes.sort_by_key(|c| match c.section {
        "routing" => 0,
        "agents_tasks" => 1,
        _ => 2,
    });
    let anchors = Anchors {
        routes: new_playbook
            .routes()
            .map(|r| new_file.line_col(r.span.start))
            .collect(),
        signals: new_playbook
            .signals()
            .map(|s| (s.name.name.clone(), new_file.line_col(s.span.start)))
            .collect(),
    };
    let report = Report {
        old: args.old.clone(),
        new: args.new.display().to_string(),
        routing_changed: routing.is_changed(),
        routing,
        changes,
        anchors,
    };
    match args.format {
        Format::Human => output::stdout(&render::human(&report)),
        Format::Json => output::stdout_json(&render::json(&report)),
        Format::Github => output::stdout(&render::github(&report)),
    }
    if args.exit_code && report.routing_changed {
        Exit::Errors
    } else {
        Exit::Success
    }
}

fn load_path(path: &Path, render: RenderOptions) -> Result<SourceFile, Exit> {
    source::load(path).map_err(|d| {
        output::stderr(&crate::diagnostics::render(&d, render));
        Exit::Usage
    })
}

/// OLD as a file, or as `REV:PATH` through `git show` when no such file exists.
fn load_old(old: &str, render: RenderOptions) -> Result<SourceFile, Exit> {
    let path = Path::new(old);
    match old.split_once(':') {
        Some((rev, file)) if !path.exists() && !rev.is_empty() && !file.is_empty() => {
            git_show(old).map(|text| SourceFile::new(old, text))
        }
        _ => load_path(path, render),
    }
}

/// `git show SPEC` (argv, no shell): the file's text, or a clear error.
fn git_show(spec: &str) -> Result<String, Exit> {
    let output = Command::new("git")
        .args(["show", "--no-textconv", spec])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| {
            output::stderr(&format!(
                "error: cannot read `{spec}`: it is not a file, and running `git show` failed: {e}\n"
            ));
            Exit::Usage
        })?;
    if !output.status.success() {
        let why = String::from_utf8_lossy(&output.stderr);
        let why = why
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("git failed");
        output::stderr(&format!(
            "error: cannot read `{spec}`: it is not a file, and `git show {spec}` failed: {}\n",
            why.trim()
        ));
        return Err(Exit::Usage);
    }
    if output.stdout.len() as u64 > source::MAX_FILE_BYTES {
        output::stderr(&format!(
            "error: `{spec}` is {} bytes; playbooks are limited to {} bytes (4 MiB)\n",
            output.stdout.len(),
            source::MAX_FILE_BYTES
        ));
        return Err(Exit::Usage);
    }
    String::from_utf8(output.stdout).map_err(|_| {
        output::stderr(&format!("error: `git show {spec}` is not UTF-8 text\n"));
        Exit::Usage
    })
}
