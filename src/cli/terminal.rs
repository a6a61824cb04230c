//! The terminal conventions every command shares: whether to colour (from
//! `--color`, `NO_COLOR`, `CLICOLOR_FORCE`, `CLICOLOR` and `TERM=dumb`, as
//! anstream decides for clap's own messages) and how wide to lay text out.

use std::ffi::OsString;
use std::io::IsTerminal;

use super::ColorChoice;

/// Width used when stderr is not a terminal and `COLUMNS` is unset, so
/// piped and captured output (and snapshots) stay stable.
pub const DEFAULT_WIDTH: usize = 100;

/// Narrowest layout; a smaller `COLUMNS` or terminal is widened to this.
pub const MIN_WIDTH: usize = 40;

/// The `--color` value given on a raw command line, before clap parses it,
/// so clap's own errors and help follow it too (the last one wins; nothing
/// after `--` counts). `None` when absent or not one of the values.
pub fn color_from_args<I>(args: I) -> Option<ColorChoice>
where
    I: IntoIterator<Item = OsString>,
{
    let mut found = None;
    let mut args = args.into_iter().skip(1);
    while let Some(arg) = args.next() {
        let Some(arg) = arg.to_str() else { continue };
        if arg == "--" {
            break;
        }
        let value = if arg == "--color" {
            args.next().and_then(|v| v.into_string().ok())
        } else if let Some(v) = arg.strip_prefix("--color=") {
            Some(v.to_string())
        } else {
            continue;
        };
        found = match value.as_deref() {
            Some("auto") => Some(ColorChoice::Auto),
            Some("always") => Some(ColorChoice::Always),
            Some("never") => Some(ColorChoice::Never),
            _ => found,
        };
    }
    found
}

/// clap's colour setting for a `--color` value (clap's `Auto` is
/// anstream's detection, the same as [`stderr_color`]).
pub fn clap_color(choice: ColorChoice) -> clap::ColorChoice {
    match choice {
        ColorChoice::Auto => clap::ColorChoice::Auto,
        ColorChoice::Always => clap::ColorChoice::Always,
        ColorChoice::Never => clap::ColorChoice::Never,
    }
}

/// Whether to colour what goes to stderr: `--color always|never` decide;
/// `auto` colours when `NO_COLOR` is unset and either `CLICOLOR_FORCE` is
/// set or stderr is a terminal that is not `TERM=dumb` (`CLICOLOR=0` turns
/// it off; under `CI` any terminal is coloured, as anstream decides for clap).
pub fn stderr_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            anstream::AutoStream::choice(&std::io::stderr()) != anstream::ColorChoice::Never
        }
    }
}

/// Applies the decision to every other colouring library (the progress
/// display and logs use `console`).
pub fn apply_color(color: bool) {
    console::set_colors_enabled(color);
    console::set_colors_enabled_stderr(color);
}

/// The width to lay diagnostics out in, as clap picks it for help: the
/// terminal's width when stderr is one, else `COLUMNS` when set, else
/// [`DEFAULT_WIDTH`]; at least [`MIN_WIDTH`].
pub fn width() -> usize {
    let columns = std::env::var("COLUMNS").ok();
    let terminal = std::io::stderr()
        .is_terminal()
        .then(|| console::Term::stderr().size_checked())
        .flatten()
        .map(|(_rows, cols)| usize::from(cols));
    pick_width(columns.as_deref(), terminal)
}

fn pick_width(columns: Option<&str>, terminal: Option<usize>) -> usize {
    terminal
        .filter(|w| *w > 0)
        .or_else(|| {
            columns
                .and_then(|c| c.trim().parse::<usize>().ok())
                .filter(|w| *w > 0)
        })
        .unwrap_or(DEFAULT_WIDTH)
        .max(MIN_WIDTH)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        std::iter::once("coordops")
            .chain(list.iter().copied())
            .map(OsString::from)
            .collect()
    }

    #[test]
    fn color_is_found_anywhere_before_double_dash() {
        assert_eq!(color_from_args(args(&["check", "x"])), None);
        assert_eq!(
            color_from_args(args(&["--color", "never", "check"])),
            Some(ColorChoice::Never)
        );
        assert_eq!(
            color_from_args(args(&["check", "--color=always", "x"])),
            Some(ColorChoice::Always)
        );
        assert_eq!(
            color_from_args(args(&["--color=never", "--color", "auto"])),
            Some(ColorChoice::Auto)
        );
        assert_eq!(
            color_from_args(args(&["check", "--", "--color", "never"])),
            None
        );
        assert_eq!(color_from_args(args(&["--color", "purple"])), None);
        assert_eq!(color_from_args(args(&["--color"])), None);
    }

    #[test]
    fn width_prefers_terminal_then_columns_then_default() {
        assert_eq!(pick_width(Some("120"), Some(80)), 80);
        assert_eq!(pick_width(Some("120"), None), 120);
        assert_eq!(pick_width(None, Some(80)), 80);
        assert_eq!(pick_width(None, None), DEFAULT_WIDTH);
        assert_eq!(pick_width(Some("junk"), None), DEFAULT_WIDTH);
        assert_eq!(pick_width(Some("10"), None), MIN_WIDTH);
        assert_eq!(pick_width(Some("0"), Some(0)), DEFAULT_WIDTH);
    }
}
