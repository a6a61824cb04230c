//! Messages for syntax mistakes a newcomer makes, where the generic
//! "expected …, found …" wording would mislead: a statement as a handler's
//! action, `//` comments, `for` after a group's settings, and durations
//! written as strings, with unknown units or with fractions.

use crate::ast::Span;
use crate::diagnostics::{codes, Diagnostic};

/// Actions a handler can end with (after `=>` or `then`).
const ACTIONS: &[&str] = &["retry", "continue", "escalate", "fail", "abort"];

/// `on denied => complete "…"`: a statement where a handler's action goes.
/// `after` is the token before `word` (`=>` or `then`).
pub fn handler_action(text: &str, pos: usize, word: &str, span: Span) -> Option<Diagnostic> {
    if !super::keywords::is_reserved(word) || ACTIONS.contains(&word) {
        return None;
    }
    let event = handler_event(text, pos);
    let any = "a handler ends with `retry` or `continue` (after an agent step), or \
               `escalate TYPE \"…\"`, `fail \"…\"` or `abort \"…\"`, optionally after a \
               recovery call `AGENT.task() then …`";
    let d = if event.as_deref() == Some("denied") {
        Diagnostic::error(
            codes::PARSE_UNEXPECTED,
            format!("`{word}` cannot follow `on denied`: a denied approval cannot continue the workflow"),
        )
        .with_primary(span, "not a handler action")
        .with_help(
            "end the run instead with `fail \"…\"`, `abort \"…\"` or `escalate TYPE \"…\"` \
             (optionally after a recovery call `AGENT.task() then …`); a workflow that should \
             go on either way does not need `approve`",
        )
    } else {
        Diagnostic::error(
            codes::PARSE_UNEXPECTED,
            format!("`{word}` is not a handler action"),
        )
        .with_primary(span, "not a handler action")
        .with_help(any)
    };
    Some(d)
}

/// The event of the handler whose `=>` lies just before `pos` on its line.
fn handler_event(text: &str, pos: usize) -> Option<String> {
    let before = text.get(..pos)?;
    let line_start = before.rfind(['\n', '\r']).map_or(0, |i| i + 1);
    let line = &before[line_start..];
    let arrow = line.rfind("=>")?;
    let head = &line[..arrow];
    // The word right after the last `on`.
    let mut after_on: Option<&str> = None;
    for w in head
        .rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
    {
        if w == "on" {
            return after_on.map(str::to_string);
        }
        after_on = Some(w);
    }
    None
}

/// `// comment`: comments start with `#`.
pub fn slash_comment(text: &str, pos: usize) -> Option<Diagnostic> {
    let rest = text.get(pos..)?;
    if !rest.starts_with("//") {
        return None;
    }
    let end = rest.find(['\n', '\r']).map_or(text.len(), |i| pos + i);
    let comment = text[pos + 2..end].trim();
    Some(
        Diagnostic::error(codes::PARSE_UNEXPECTED, "comments start with `#`, not `//`")
            .with_primary(Span::new(pos, pos + 2), "not a comment in a playbook")
            .with_help(if comment.is_empty() {
                "write `#` instead of `//`".to_string()
            } else {
                format!("write `# {comment}`")
            }),
    )
}

/// `parallel gate 80% for x in xs { … }`: the `for` clause comes first.
pub fn for_after_settings(text: &str, pos: usize, span: Span) -> Option<Diagnostic> {
    let before = text.get(..pos)?;
    let keyword = before.rfind("parallel")?;
    let mut settings = before[keyword + "parallel".len()..].trim();
    // `parallel audit gate 80% for …`: the group's label stays first.
    let mut label = "";
    if let Some((first, rest)) = settings.split_once(char::is_whitespace) {
        if first.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !matches!(first, "gate" | "timeout")
            && !first.starts_with(|c: char| c.is_ascii_digit())
        {
            label = first;
            settings = rest.trim_start();
        }
    }
    let tokens: Vec<&str> = settings.split_whitespace().collect();
    let is_setting = |t: &&str| {
        matches!(
            *t,
            "gate"
                | "timeout"
                | "tolerate"
                | "at"
                | "least"
                | "stop"
                | "when"
                | "passed"
                | "failed"
                | "decided"
        ) || t.ends_with('%')
            || t.starts_with(|c: char| c.is_ascii_digit())
    };
    if tokens.is_empty() || !tokens.iter().all(is_setting) {
        return None;
    }
    let rest = &text[pos..];
    let clause_len = rest.find(['{', '\n', '\r']).unwrap_or(rest.len());
    let clause = rest[..clause_len].trim_end();
    let clause_span = Span::new(span.start, pos + clause.len().max(span.end - pos));
    let settings_start = keyword + "parallel".len() + before[keyword + 8..].find(settings)?;
    let label = if label.is_empty() {
        String::new()
    } else {
        format!("{label} ")
    };
    Some(
        Diagnostic::error(
            codes::PARSE_UNEXPECTED,
            "the `for` clause comes right after `parallel`, before `gate` and `timeout`",
        )
        .with_primary(clause_span, "move this before the settings")
        .with_secondary(
            Span::new(settings_start, settings_start + settings.len()),
            "settings come after the `for` clause",
        )
        .with_help(format!(
            "write `parallel {label}{clause} {settings} {{ … }}`"
        )),
    )
}

/// `parallel stop when failed { … }`: `stop when` follows the gate it decides.
pub fn stop_without_gate(text: &str, pos: usize, span: Span) -> Option<Diagnostic> {
    let before = text.get(..pos)?;
    let keyword = before.rfind("parallel")?;
    let between = before[keyword + "parallel".len()..].trim();
    if between.split_whitespace().any(|t| t == "gate") {
        return Some(
            Diagnostic::error(
                codes::PARSE_UNEXPECTED,
                "`stop when …` comes right after the gate, before `timeout`",
            )
            .with_primary(span, "move this right after the gate")
            .with_help("write e.g. `parallel gate 80% stop when failed timeout 5m { … }`"),
        );
    }
    Some(
        Diagnostic::error(
            codes::PARSE_UNEXPECTED,
            "`stop when …` follows the gate it decides early",
        )
        .with_primary(span, "no `gate` before it")
        .with_help(
            "write the gate first, e.g. `parallel gate 80% stop when failed { … }` or `parallel gate at least 2 stop when passed { … }`",
        ),
    )
}

/// Milliseconds per duration unit, largest first.
const UNITS: &[(&str, u64)] = &[
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// The unit a newcomer's spelling means (`sec` → `s`).
fn known_unit(word: &str) -> Option<&'static str> {
    let unit = match word.to_ascii_lowercase().as_str() {
        "ms" | "msec" | "msecs" | "millis" | "millisecond" | "milliseconds" => "ms",
        "s" | "sec" | "secs" | "second" | "seconds" => "s",
        "m" | "min" | "mins" | "minute" | "minutes" => "m",
        "h" | "hr" | "hrs" | "hour" | "hours" => "h",
        "d" | "day" | "days" => "d",
        _ => return None,
    };
    Some(unit)
}

/// `"30 seconds"` where a duration is expected.
pub fn duration_string(text: &str, pos: usize) -> Option<Diagnostic> {
    let rest = text.get(pos..)?;
    let close = rest[1..].find(['"', '\n', '\r']).map(|i| i + 1)?;
    let inner = &rest[1..close];
    let span = Span::new(
        pos,
        pos + close + usize::from(rest[close..].starts_with('"')),
    );
    let written = spelled_duration(inner);
    let help = match &written {
        Some(d) => format!("write `{d}`, without quotes"),
        None => "write the duration without quotes, e.g. `30s`, `2m` or `1h30m`; units are \
                 `ms`, `s`, `m`, `h` and `d`"
            .to_string(),
    };
    Some(
        Diagnostic::error(
            codes::PARSE_UNEXPECTED,
            "expected a duration such as `30s`, found a string",
        )
        .with_primary(span, "durations are not strings")
        .with_help(help),
    )
}

/// `30 seconds` / `2min` as the language writes it, if it is that simple.
fn spelled_duration(inner: &str) -> Option<String> {
    let inner = inner.trim();
    let digits = inner.len() - inner.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 {
        return None;
    }
    let unit = known_unit(inner[digits..].trim())?;
    Some(format!("{}{unit}", &inner[..digits]))
}

/// `30sec` or `1.5s` where a duration is expected: says what is wrong.
/// `None` when the units are known and whole (then their order is wrong).
pub fn bad_duration(text: &str, span: Span) -> Option<Diagnostic> {
    let token = text.get(span.start..span.end)?;
    let mut i = 0;
    let bytes = token.as_bytes();
    while i < bytes.len() {
        let number_start = i;
        while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
            i += 1;
        }
        let unit_start = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        let number = &token[number_start..unit_start];
        let unit = &token[unit_start..i];
        let unit_span = Span::new(span.start + unit_start, span.start + i);
        let canonical = UNITS.iter().find(|(u, _)| *u == unit);
        if canonical.is_none() {
            let (label, help) = match known_unit(unit) {
                Some(u) => (
                    format!("unknown unit `{unit}`"),
                    format!(
                        "use `{u}`: write `{}{u}{}`",
                        &token[..unit_start],
                        &token[i..]
                    ),
                ),
                None if unit.is_empty() => return None,
                None => (
                    format!("unknown unit `{unit}`"),
                    "units are `ms`, `s`, `m`, `h` and `d`, e.g. `30s` or `1h30m`".to_string(),
                ),
            };
            let help = if number.contains('.') {
                "units are `ms`, `s`, `m`, `h` and `d`, and numbers are whole: e.g. `1500ms`"
                    .to_string()
            } else {
                help
            };
            return Some(
                Diagnostic::error(
                    codes::PARSE_UNEXPECTED,
                    format!("`{token}` is not a duration: unknown unit `{unit}`"),
                )
                .with_primary(unit_span, label)
                .with_help(help),
            );
        }
        if number.contains('.') {
            let number_span = Span::new(span.start + number_start, span.start + unit_start);
            let help = match canonical.and_then(|(_, ms)| whole(number, *ms)) {
                Some(w) => format!("write `{w}`"),
                None => "write it in a smaller unit, e.g. `1500ms` for 1.5 seconds".to_string(),
            };
            return Some(
                Diagnostic::error(
                    codes::PARSE_UNEXPECTED,
                    format!("`{token}` is not a duration: fractions are not allowed"),
                )
                .with_primary(number_span, "not a whole number")
                .with_help(help),
            );
        }
    }
    None
}

/// `1.5` of a unit of `unit_ms` written in the largest smaller unit that
/// makes it whole (`1.5s` → `1500ms`).
fn whole(number: &str, unit_ms: u64) -> Option<String> {
    let (int, frac) = number.split_once('.')?;
    if frac.is_empty() || frac.len() > 6 || int.len() > 12 {
        return None;
    }
    let scale = 10u64.pow(u32::try_from(frac.len()).ok()?);
    let value: u64 = format!("{int}{frac}").parse().ok()?;
    let total = value.checked_mul(unit_ms)?;
    if total % scale != 0 {
        return None;
    }
    let ms = total / scale;
    UNITS
        .iter()
        .filter(|(_, u)| *u < unit_ms)
        .find(|(_, u)| ms % u == 0)
        .map(|(name, u)| format!("{}{name}", ms / u))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_become_whole_in_a_smaller_unit() {
        assert_eq!(whole("1.5", 1_000).as_deref(), Some("1500ms"));
        assert_eq!(whole("1.5", 60_000).as_deref(), Some("90s"));
        assert_eq!(whole("2.5", 3_600_000).as_deref(), Some("150m"));
        assert_eq!(whole("0.0001", 1_000), None);
    }

    #[test]
    fn spelled_units_are_recognised() {
        assert_eq!(spelled_duration("30 seconds").as_deref(), Some("30s"));
        assert_eq!(spelled_duration("2min").as_deref(), Some("2m"));
        assert_eq!(spelled_duration("soon"), None);
    }

    #[test]
    fn handler_event_is_the_word_after_on() {
        let text = "  approve x \"ok?\" on denied => complete";
        assert_eq!(handler_event(text, text.len()).as_deref(), Some("denied"));
        let text = "  A.t() on failure(rejected) when x => complete";
        assert_eq!(handler_event(text, text.len()).as_deref(), Some("failure"));
    }
}
