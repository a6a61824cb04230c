//! Turns pest's errors into diagnostics in playbook terms.
//!
//! pest reports the rules and literal tokens it tried at the furthest position
//! it reached. We translate each into words a playbook author knows ("a
//! duration such as `30s`"), group long lists ("a step"), and add what was
//! found there and the token before it ("after `timeout`").

use pest::error::{Error, ErrorVariant, InputLocation};

use super::comment_start;
use super::grammar::Rule;
use super::hints;
use super::keywords::{is_keyword, is_reserved};
use crate::ast::Span;
use crate::diagnostics::{codes, Diagnostic};

/// Translates a pest error on `text` (whose offsets start at `offset` in the file).
pub fn translate(error: &Error<Rule>, file_text: &str, offset: usize) -> Diagnostic {
    let mut pos = match error.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((start, _)) => start,
    };
    let (mut rules, negatives): (Vec<Rule>, Vec<Rule>) = match &error.variant {
        ErrorVariant::ParsingError {
            positives,
            negatives,
        } => (positives.clone(), negatives.clone()),
        ErrorVariant::CustomError { message } => return limit_error(message, offset + pos),
    };
    let mut tokens: Vec<String> = Vec::new();
    if let Some(attempts) = error.parse_attempts() {
        let tokens_here: Vec<String> = attempts
            .expected_tokens()
            .iter()
            .map(|t| t.to_string())
            .collect();
        // The detailed tracker can get further than the rule-level position
        // (e.g. a literal `[` failing inside an optional part).
        // Trust it only when what lies between is a complete keyword (`on [`):
        // after a plain name (`wait 5s`) the rule-level position says more.
        let advanced = file_text
            .get(offset + pos..offset + attempts.max_position)
            .is_some_and(|between| {
                between.ends_with(|c: char| c.is_whitespace()) && is_keyword(between.trim())
            });
        // Failing inside a string at its closing quote (`agent A "a"` with
        // no `{` after it) only means the string could have gone on: the
        // tracker knows what was missing after it.
        let past_string = attempts.max_position > pos
            && file_text
                .get(offset + pos..)
                .is_some_and(|rest| rest.starts_with('"'))
            && !rules.is_empty()
            && rules
                .iter()
                .all(|r| matches!(r, Rule::str_text | Rule::str_escape | Rule::interpolation));
        if attempts.max_position == pos {
            tokens = tokens_here;
        } else if advanced || past_string {
            tokens = tokens_here;
            pos = attempts.max_position;
            rules = attempts
                .call_stacks()
                .iter()
                .filter_map(|s| s.deepest.get_rule().copied())
                .collect();
        }
    }
    expected_error(file_text, offset + pos, &rules, &negatives, &tokens)
}

fn limit_error(message: &str, pos: usize) -> Diagnostic {
    Diagnostic::error(
        codes::PARSE_TOO_COMPLEX,
        format!("the playbook is too complex to parse ({message})"),
    )
    .with_primary(Span::point(pos), "the parser gave up here")
    .with_help("split the playbook into smaller files or simplify the construct here")
}

/// What a token found at `pos` looks like, for messages.
#[derive(Debug)]
enum Found {
    End,
    Word(String),
    Number(String),
    Char(char),
}

impl Found {
    fn at(text: &str, pos: usize) -> (Found, Span) {
        let rest = &text[pos.min(text.len())..];
        let Some(first) = rest.chars().next() else {
            return (Found::End, Span::point(text.len()));
        };
        let run = |pred: fn(char) -> bool| {
            let len: usize = rest
                .chars()
                .take_while(|c| pred(*c))
                .map(char::len_utf8)
                .sum();
            (rest[..len].to_string(), Span::new(pos, pos + len))
        };
        if first.is_ascii_alphabetic() || first == '_' {
            let (word, span) = run(|c| c.is_ascii_alphanumeric() || c == '_');
            (Found::Word(word), span)
        } else if first.is_ascii_digit() {
            let (word, span) = run(|c| c.is_ascii_alphanumeric() || c == '.' || c == '%');
            (Found::Number(word), span)
        } else {
            (Found::Char(first), Span::new(pos, pos + first.len_utf8()))
        }
    }

    fn describe(&self) -> String {
        match self {
            Found::End => "the end of the file".to_string(),
            Found::Word(w) | Found::Number(w) => format!("`{w}`"),
            Found::Char('"') => "a string".to_string(),
            Found::Char(c) if c.is_control() => format!("control character U+{:04X}", *c as u32),
            Found::Char(c) => format!("`{c}`"),
        }
    }
}

/// Characters the language uses outside strings, comments and regexes.
fn is_language_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c.is_ascii_whitespace() || "_{}[]()<>=!~:,.\"#/*%-".contains(c)
}

fn expected_error(
    text: &str,
    pos: usize,
    rules: &[Rule],
    negatives: &[Rule],
    tokens: &[String],
) -> Diagnostic {
    let (found, found_span) = Found::at(text, pos);
    if let Some(d) = special_case(text, pos, rules, negatives, &found, found_span) {
        return d;
    }
    let expected = describe_expected(rules, tokens);
    let keywords: Vec<&str> = tokens
        .iter()
        .map(String::as_str)
        .filter(|t| t.len() > 1 && t.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        .collect();
    let after = previous_token(text, pos);
    let after_text = after
        .as_deref()
        .map(|t| format!(" after `{t}`"))
        .unwrap_or_default();
    let wants_name = rules.iter().any(|r| matches!(r, Rule::ident));

    if let Found::Word(word) = &found {
        if wants_name && is_reserved(word) {
            return Diagnostic::error(
                codes::PARSE_RESERVED_WORD,
                format!("`{word}` is a reserved word and cannot be used as a name"),
            )
            .with_primary(found_span, "reserved word")
            .with_help(format!(
                "choose another name, e.g. `{word}_step` or `{}`",
                word.to_uppercase()
            ));
        }
    }
    if escape_at(text, pos) {
        let end = text[pos + 1..]
            .chars()
            .next()
            .map_or(pos + 1, |c| pos + 1 + c.len_utf8());
        return Diagnostic::error(
            codes::PARSE_INVALID_ESCAPE,
            "unknown escape sequence in a string",
        )
        .with_primary(Span::new(pos, end), "not a valid escape")
        .with_help("valid escapes are \\\" \\\\ \\n \\t \\r \\{ \\} and \\u{…}");
    }
    if let Found::Char(c) = found {
        if !is_language_char(c) {
            let what = found.describe();
            let message = if what.starts_with("control") {
                format!("unexpected {what}")
            } else {
                format!("unexpected character {what}")
            };
            let mut d = Diagnostic::error(codes::PARSE_INVALID_CHARACTER, message)
                .with_primary(found_span, "not part of the language here");
            d = d.with_help(match c {
                ';' => {
                    "statements are separated by line breaks or spaces; remove the `;`".to_string()
                }
                '\'' => "strings use double quotes: \"like this\"".to_string(),
                _ => "this character can only appear inside a string or a comment".to_string(),
            });
            return d;
        }
    }

    let code = if matches!(found, Found::End) {
        codes::PARSE_UNEXPECTED_EOF
    } else {
        codes::PARSE_UNEXPECTED
    };
    let message = format!("expected {expected}{after_text}");
    let mut d = Diagnostic::error(code, message)
        .with_primary(found_span, format!("found {}", found.describe()));
    if let Some(help) = help_for(rules, &found) {
        d = d.with_help(help);
    } else if let Found::Word(word) = &found {
        let candidates = keywords
            .iter()
            .map(|k| if *k == "times" { "times out" } else { k });
        if let Some(best) = crate::analysis::closest_word(word, candidates) {
            d = d.with_help(format!("did you mean `{best}`?"));
        }
    }
    d
}

/// Messages for mistakes whose generic wording would mislead.
fn special_case(
    text: &str,
    pos: usize,
    rules: &[Rule],
    negatives: &[Rule],
    found: &Found,
    found_span: Span,
) -> Option<Diagnostic> {
    let before = previous_token(text, pos);
    match found {
        Found::Word(word)
            if matches!(before.as_deref(), Some("=>" | "then"))
                && !rules.contains(&Rule::route_target) =>
        {
            if let Some(d) = hints::handler_action(text, pos, word, found_span) {
                return Some(d);
            }
        }
        Found::Word(word) if word == "for" => {
            if let Some(d) = hints::for_after_settings(text, pos, found_span) {
                return Some(d);
            }
        }
        Found::Word(word) if word == "stop" => {
            if let Some(d) = hints::stop_without_gate(text, pos, found_span) {
                return Some(d);
            }
        }
        Found::Char('/') => {
            if let Some(d) = hints::slash_comment(text, pos) {
                return Some(d);
            }
        }
        Found::Char('"') if rules.contains(&Rule::duration) => {
            return hints::duration_string(text, pos);
        }
        Found::Number(_) if rules.contains(&Rule::duration) => {
            if let Some(d) = hints::bad_duration(text, found_span) {
                return Some(d);
            }
        }
        _ => {}
    }
    // `on failure => retry 3`: the count belongs to the step's own policy.
    if negatives.contains(&Rule::integer) && previous_token(text, pos).as_deref() == Some("retry") {
        return Some(
            Diagnostic::error(codes::PARSE_UNEXPECTED, "a handler's `retry` takes no count")
                .with_primary(found_span, "remove this number")
                .with_help("set how often to retry on the step itself, before its handlers: `retry 3 backoff 2s`"),
        );
    }
    // `test = A.t()`: a reserved word where a result name goes.
    if let Found::Word(word) = found {
        let next = text[found_span.end.min(text.len())..].trim_start();
        if is_reserved(word)
            && next.starts_with('=')
            && !next.starts_with("==")
            && !next.starts_with("=>")
        {
            return Some(
                Diagnostic::error(
                    codes::PARSE_RESERVED_WORD,
                    format!("`{word}` is a reserved word and cannot name a result"),
                )
                .with_primary(found_span, "reserved word")
                .with_help(format!("choose another name, e.g. `{word}_result`")),
            );
        }
    }
    // `{ key value }` / `f(key value)`: the `:` is missing after the key.
    if rules.contains(&Rule::map_entry)
        || rules.contains(&Rule::arg)
        || rules.contains(&Rule::field_decl)
    {
        let next = text[found_span.end.min(text.len())..]
            .trim_start()
            .chars()
            .next();
        if let (Found::Word(word), false) = (found, next == Some(':')) {
            return Some(
                Diagnostic::error(
                    codes::PARSE_UNEXPECTED,
                    format!("expected `:` after `{word}`"),
                )
                .with_primary(found_span, "add `:` after this")
                .with_help(format!("entries are written `{word}: value`")),
            );
        }
    }
    None
}

fn escape_at(text: &str, pos: usize) -> bool {
    text.get(pos..).is_some_and(|rest| rest.starts_with('\\'))
}

/// Advice for common mistakes, keyed on what was expected and found.
fn help_for(rules: &[Rule], found: &Found) -> Option<String> {
    let wants = |r: Rule| rules.contains(&r);
    match found {
        Found::Number(n) if wants(Rule::duration) && n.chars().any(|c| c.is_ascii_alphabetic()) => {
            Some(
                "write the units from the largest to the smallest, each once: `1d2h30m15s500ms`"
                    .to_string(),
            )
        }
        Found::Number(n) if wants(Rule::duration) && !n.ends_with('%') => Some(format!(
            "durations need a unit: `ms`, `s`, `m`, `h` or `d`; write `{}s` for {} seconds",
            n.trim_end_matches(|c: char| c.is_ascii_alphabetic()),
            n.trim_end_matches(|c: char| c.is_ascii_alphabetic()),
        )),
        Found::Number(n) if wants(Rule::percent) && !n.ends_with('%') => Some(format!(
            "gates are percentages: write `{}%`",
            n.trim_end_matches(|c: char| !c.is_ascii_digit())
        )),
        Found::Word(w) if wants(Rule::signal_name) || wants(Rule::signal_pattern) => Some(format!(
            "signal names have a namespace: `OPS:{}`",
            w.to_uppercase()
        )),
        _ => None,
    }
}

/// The token just before `pos`, skipping whitespace and comments.
fn previous_token(text: &str, pos: usize) -> Option<String> {
    let mut end = pos.min(text.len());
    loop {
        let before = &text[..end];
        let trimmed = before.trim_end();
        if trimmed.is_empty() {
            return None;
        }
        let line_start = trimmed.rfind(['\n', '\r']).map_or(0, |i| i + 1);
        let line = &trimmed[line_start..];
        match comment_start(line) {
            Some(hash) => end = line_start + hash,
            None => {
                let last = trimmed.chars().next_back()?;
                if last.is_ascii_alphanumeric() || last == '_' || last == '%' {
                    let start = trimmed
                        .rfind(|c: char| {
                            !(c.is_ascii_alphanumeric() || c == '_' || c == '%' || c == ':')
                        })
                        // Past the whole character: it may be wider than a byte.
                        .map_or(0, |i| {
                            i + trimmed[i..].chars().next().map_or(1, char::len_utf8)
                        });
                    return Some(trimmed[start..].to_string());
                }
                if last == '"' {
                    return Some("\"…\"".to_string());
                }
                let operator: String = trimmed
                    .chars()
                    .rev()
                    .take_while(|c| "=<>!~".contains(*c))
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                if operator.len() > 1 {
                    return Some(operator);
                }
                return Some(last.to_string());
            }
        }
    }
}

/// Words for one rule, or `None` for rules that should not be mentioned.
fn describe_rule(rule: Rule) -> Option<String> {
    let name = format!("{rule:?}");
    if let Some(keyword) = name.strip_prefix("kw_") {
        return Some(format!(
            "`{}`",
            keyword
                .replace('_', " ")
                .replace("reports to", "reports_to")
                .replace("max concurrent", "max_concurrent")
        ));
    }
    let words = match rule {
        Rule::ident | Rule::binding => "a name",
        Rule::name | Rule::approval_decision => "a name",
        Rule::signal_name => "a signal name such as `OPS:COMMIT`",
        Rule::signal_pattern => "a signal pattern such as `OPS:COMMIT`, `OPS:*` or `*`",
        Rule::duration => "a duration such as `30s`",
        Rule::percent => "a percentage such as `80%`",
        Rule::integer => "a whole number",
        Rule::multiplier => "a multiplier such as `x2`",
        Rule::string | Rule::doc => "a string in double quotes",
        Rule::regex => "a regex such as `/^feat/`",
        Rule::boolean => "`true` or `false`",
        Rule::list => "a list `[…]`",
        Rule::map => "a map `{ key: value }`",
        Rule::path | Rule::path_root => "a name or path such as `signal.version`",
        Rule::expr => "an expression",
        Rule::call => "an agent task such as `RELEASE_MANAGER.commit`",
        Rule::arg_list => "`(`",
        Rule::arg | Rule::map_entry => "`name: value`",
        Rule::type_ref => "a type such as `string`, `bool` or `list<string>`",
        Rule::field_decl => "a field such as `version: string`",
        Rule::route_label => "a route label",
        Rule::workflow_ref => "a workflow name",
        Rule::str_escape => "an escape such as `\\n`",
        Rule::op_not => "`not`",
        Rule::op_or | Rule::op_and | Rule::op_in | Rule::op_eq | Rule::op_ne | Rule::op_le
        | Rule::op_ge | Rule::op_lt | Rule::op_gt | Rule::op_match | Rule::op_not_match => {
            "an operator such as `==` or `and`"
        }
        Rule::EOI => "the end of the file",
        Rule::playbook => "a declaration",
        Rule::route_target => "a route target (a workflow name, `AGENT.task(…)`, `ignore` or `escalate …`)",
        Rule::handler_action => "a handler action (`retry`, `continue`, `escalate`, `fail`, `abort`, or `AGENT.task() then …`)",
        Rule::outcome => "an outcome (`succeeds`, `fails` or `times out`)",
        Rule::type_name => "a type such as `string`, `bool` or `list<string>`",
        Rule::step_ref => "a step name, or `AGENT.task` for an unbound step",
        Rule::kind_list => "a failure kind such as `rejected`",
        Rule::event => "an event such as `failure`, `timeout` or `denied`",
        _ => return None,
    };
    Some(words.to_string())
}

/// A group of alternatives named as one thing when all of `trigger` are
/// expected; it also swallows the related alternatives in `absorbs`.
struct Group {
    trigger: &'static [&'static str],
    absorbs: &'static [&'static str],
    name: &'static str,
}

const GROUPS: &[Group] = &[
    Group {
        trigger: &["a declaration"],
        absorbs: &[
            "`coordinator`", "`agent`", "`signal`", "`route`", "`workflow`", "`lock`", "`on`",
            "`test`", "the end of the file",
        ],
        name: "a declaration (`coordinator`, `agent`, `signal`, `route`, `workflow`, `lock`, `on`, `test`)",
    },
    Group {
        trigger: &["an operator such as `==` or `and`"],
        absorbs: &["`<`", "`>`", "`=`", "`and`", "`or`", "`in`", "`not`"],
        name: "an operator such as `==` or `and`",
    },
    Group {
        trigger: &["a handler action (`retry`, `continue`, `escalate`, `fail`, `abort`, or `AGENT.task() then …`)"],
        absorbs: &["a name"],
        name: "a handler action (`retry`, `continue`, `escalate`, `fail`, `abort`, or `AGENT.task() then …`)",
    },
    Group {
        trigger: &["`coordinator`", "`agent`", "`signal`", "`route`", "`workflow`"],
        absorbs: &["`lock`", "`on`", "`test`", "the end of the file"],
        name: "a declaration (`coordinator`, `agent`, `signal`, `route`, `workflow`, `lock`, `on`, `test`)",
    },
    Group {
        trigger: &["`timeout`", "`retry`", "`when`", "`critical`"],
        absorbs: &["`lock`", "`on`"],
        name: "a step option (`timeout`, `retry`, `when`, `lock`, `critical`, `on`)",
    },
    Group {
        trigger: &["`if`", "`parallel`", "`approve`", "`complete`"],
        absorbs: &[
            "`exclusive`", "`abort`", "`fail`", "`escalate`", "`let`", "`run`", "a name",
            "an agent task such as `RELEASE_MANAGER.commit`",
        ],
        name: "a step (`name = AGENT.task()`, `if`, `parallel`, `approve`, `complete`, …)",
    },
    Group {
        trigger: &["`task`", "`check`", "`forbid`"],
        absorbs: &["`outputs`", "`timeout`", "`retry`", "`max_concurrent`"],
        name: "an agent item (`task`, `check`, `forbid`, `outputs`, `timeout`, `retry`, `max_concurrent`)",
    },
    Group {
        trigger: &["a duration such as `30s`", "a percentage such as `80%`", "a whole number"],
        absorbs: &[
            "`true` or `false`", "a string in double quotes", "a regex such as `/^feat/`",
            "a list `[…]`", "a map `{ key: value }`", "a name or path such as `signal.version`",
            "`not`", "`(`", "`[`", "`{`", "`\"`", "`/`", "`-`",
        ],
        name: "an expression",
    },
];

/// Punctuation worth naming; other literal tokens come from inside names,
/// numbers and comments and would only confuse.
const STRUCTURAL: &[&str] = &[
    "{", "}", "[", "]", "(", ")", ":", ",", "=", "=>", "<", ">", ".",
];

fn describe_expected(rules: &[Rule], tokens: &[String]) -> String {
    let mut items: Vec<String> = Vec::new();
    let mut push = |s: String| {
        if !items.contains(&s) {
            items.push(s);
        }
    };
    for rule in rules {
        if let Some(words) = describe_rule(*rule) {
            push(words);
        }
    }
    let has_parent_words = rules.iter().any(|r| {
        matches!(
            r,
            Rule::route_target | Rule::handler_action | Rule::outcome | Rule::playbook
        )
    });
    for token in tokens {
        // Keywords arrive as literal tokens; whitespace and character
        // ranges come from inside names and mean nothing to users.
        if token.len() > 1 && token.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            // `ms` comes from inside a duration, not a keyword.
            if !has_parent_words && token != "ms" {
                push(format!(
                    "`{}`",
                    if token == "times" { "times out" } else { token }
                ));
            }
            continue;
        }
        let in_signal = rules
            .iter()
            .any(|r| matches!(r, Rule::signal_name | Rule::signal_pattern));
        let is_punctuation = STRUCTURAL.contains(&token.as_str()) && !(in_signal && token == ":");
        if is_punctuation {
            push(format!("`{token}`"));
        }
    }
    let mut grouped: Vec<String> = Vec::new();
    for group in GROUPS {
        if group.trigger.iter().all(|m| items.iter().any(|i| i == m)) {
            items.retain(|i| {
                !group.trigger.contains(&i.as_str()) && !group.absorbs.contains(&i.as_str())
            });
            if !grouped.iter().any(|g| g == group.name) {
                grouped.push(group.name.to_string());
            }
        }
    }
    grouped.append(&mut items);
    let items = grouped;
    if items.is_empty() {
        return "something else".to_string();
    }
    let shown: Vec<&String> = items.iter().take(6).collect();
    let mut out = String::new();
    for (i, item) in shown.iter().enumerate() {
        if i > 0 {
            out.push_str(if i + 1 == shown.len() && items.len() <= 6 {
                " or "
            } else {
                ", "
            });
        }
        out.push_str(item);
    }
    if items.len() > 6 {
        out.push_str(", …");
    }
    out
}
