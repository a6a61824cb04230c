//! Parsing `--set` values by a signal field's declared type.
//!
//! The syntax (documented in docs/language.md §6, "Context from the command
//! line"): strings as written; `true`/`false`; integers with an optional `-`;
//! percents `80%` or `80`; durations in the language's syntax (`1h30m`);
//! maps as a JSON object; lists as comma-separated items (each parsed by the
//! element type, blanks around commas ignored, an empty value is `[]`) or as
//! a JSON array.

use serde_json::Value;

/// A declared field type, as `--set` parses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `string`
    Str,
    /// `int`
    Int,
    /// `bool`
    Bool,
    /// `duration` (milliseconds at run time)
    Duration,
    /// `percent` (a number at run time)
    Percent,
    /// `map`
    Map,
    /// `list` without an element type: any JSON item, or strings
    Any,
}

impl Kind {
    /// The kind of a type name; `None` for names the checker rejects.
    pub fn of(name: &str) -> Option<Kind> {
        Some(match name {
            "string" => Kind::Str,
            "int" => Kind::Int,
            "bool" => Kind::Bool,
            "duration" => Kind::Duration,
            "percent" => Kind::Percent,
            "map" => Kind::Map,
            "list" => Kind::Any,
            _ => return None,
        })
    }

    /// What a value of this kind looks like, for error messages.
    fn expected(self) -> &'static str {
        match self {
            Kind::Str => "a string",
            Kind::Int => "an integer such as `3` or `-1`",
            Kind::Bool => "`true` or `false`",
            Kind::Duration => "a duration such as `30s` or `1h30m`",
            Kind::Percent => "a percent such as `80%`",
            Kind::Map => "a JSON object such as `{\"a\": 1}`",
            Kind::Any => "a value",
        }
    }
}

/// Parses `raw` as one value of `kind`; the error says what was expected.
pub fn scalar(kind: Kind, raw: &str) -> Result<Value, String> {
    match kind {
        Kind::Str => Ok(Value::String(raw.to_string())),
        Kind::Bool => match raw {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(kind.expected().to_string()),
        },
        Kind::Int => int(raw).map(Value::from).ok_or_else(|| {
            if raw.ends_with('%') && int(&raw[..raw.len() - 1]).is_some() {
                format!("{} (a percent is not an integer)", kind.expected())
            } else {
                kind.expected().to_string()
            }
        }),
        Kind::Percent => {
            let digits = raw.strip_suffix('%').unwrap_or(raw);
            match int(digits) {
                Some(n) if n >= 0 => Ok(Value::from(n)),
                _ => Err(format!(
                    "{} (digits, then an optional `%`)",
                    kind.expected()
                )),
            }
        }
        Kind::Duration => duration(raw).map(Value::from),
        Kind::Map => match serde_json::from_str::<Value>(raw) {
            Ok(Value::Object(map)) => Ok(Value::Object(map)),
            _ => Err(kind.expected().to_string()),
        },
        Kind::Any => Ok(loose(raw)),
    }
}

/// Parses `raw` as a list of `element`: comma-separated items or a JSON array.
///
/// The error names the item (1-based) that is wrong.
pub fn list(element: Kind, raw: &str) -> Result<Value, String> {
    let trimmed = raw.trim();
    if trimmed.starts_with('[') {
        let Ok(Value::Array(items)) = serde_json::from_str::<Value>(trimmed) else {
            return Err(format!(
                "`{trimmed}` is not a JSON array such as `[\"a\", \"b\"]` (it starts with `[`)"
            ));
        };
        return items
            .into_iter()
            .enumerate()
            .map(|(i, item)| json_item(element, item).map_err(|e| item_error(i, &e)))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array);
    }
    if trimmed.is_empty() {
        return Ok(Value::Array(Vec::new()));
    }
    if element == Kind::Map {
        return Err(format!(
            "`{trimmed}` is not a JSON array of objects such as `[{{\"a\": 1}}]`"
        ));
    }
    trimmed
        .split(',')
        .map(str::trim)
        .enumerate()
        .map(|(i, item)| {
            if item.is_empty() {
                return Err(format!(
                    "item {} is empty (an empty list is an empty value: `--set KEY=`)",
                    i + 1
                ));
            }
            let kind = if element == Kind::Any {
                Kind::Str
            } else {
                element
            };
            scalar(kind, item).map_err(|e| format!("item {} `{item}` is not {e}", i + 1))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

fn item_error(index: usize, expected: &str) -> String {
    format!("item {} is not {expected}", index + 1)
}

/// One item of a JSON array, checked against `element`.
fn json_item(element: Kind, item: Value) -> Result<Value, String> {
    match (element, item) {
        (Kind::Any, item) => Ok(item),
        (Kind::Str, Value::String(s)) => Ok(Value::String(s)),
        (Kind::Bool, Value::Bool(b)) => Ok(Value::Bool(b)),
        (Kind::Int, Value::Number(n)) if n.is_i64() => Ok(Value::Number(n)),
        (Kind::Percent, Value::Number(n)) if n.as_i64().is_some_and(|n| n >= 0) => {
            Ok(Value::Number(n))
        }
        (Kind::Map, Value::Object(map)) => Ok(Value::Object(map)),
        (kind @ (Kind::Duration | Kind::Percent), Value::String(s)) => scalar(kind, &s),
        (kind, _) => Err(kind.expected().to_string()),
    }
}

/// An integer: optional `-`, then ASCII digits, fitting in 64 bits.
fn int(raw: &str) -> Option<i64> {
    let digits = raw.strip_prefix('-').unwrap_or(raw);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    raw.parse().ok()
}

/// A duration in the language's syntax, in milliseconds (see
/// [`crate::syntax::duration_ms`]); the error says what is wrong.
pub fn duration(raw: &str) -> Result<u64, String> {
    let expected = Kind::Duration.expected();
    crate::syntax::duration_ms(raw).map_err(|e| match e.hint() {
        Some(hint) => format!("{expected} ({hint})"),
        None => expected.to_string(),
    })
}

/// A value for a field no declaration types: JSON if it parses, else a string.
pub fn loose(raw: &str) -> Value {
    serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scalars_parse_by_kind() {
        assert_eq!(scalar(Kind::Str, ""), Ok(json!("")));
        assert_eq!(scalar(Kind::Int, "-12"), Ok(json!(-12)));
        assert!(scalar(Kind::Int, "5%")
            .unwrap_err()
            .contains("a percent is not"));
        assert!(scalar(Kind::Int, "+5").is_err());
        assert!(scalar(Kind::Int, "1.5").is_err());
        assert!(scalar(Kind::Int, "99999999999999999999").is_err());
        assert_eq!(scalar(Kind::Percent, "80%"), Ok(json!(80)));
        assert_eq!(scalar(Kind::Percent, "80"), Ok(json!(80)));
        assert!(scalar(Kind::Percent, "-1%").is_err());
        assert!(scalar(Kind::Percent, "%").is_err());
        assert_eq!(scalar(Kind::Bool, "true"), Ok(json!(true)));
        assert!(scalar(Kind::Bool, "yes").is_err());
        assert_eq!(scalar(Kind::Map, "{\"a\": 1}"), Ok(json!({"a": 1})));
        assert!(scalar(Kind::Map, "[1]").is_err());
        assert_eq!(scalar(Kind::Any, "3"), Ok(json!(3)));
    }

    #[test]
    fn durations_are_strict() {
        assert_eq!(duration("1h30m"), Ok(5_400_000));
        assert_eq!(duration("1m30s500ms"), Ok(90_500));
        assert_eq!(duration("0s"), Ok(0));
        assert_eq!(duration("365d"), Ok(365 * 86_400_000));
        for bad in [
            "", "30", "30sec", "1.5s", "30s5m", "1m1m", "366d", "s", " 30s", "-1s",
        ] {
            assert!(duration(bad).is_err(), "{bad:?} should be an error");
        }
        assert!(duration("").unwrap_err().contains("write `0s` for zero"));
        assert!(duration("30s5m")
            .unwrap_err()
            .contains("largest to the smallest"));
        assert!(duration("99999999999999999999999d").is_err());
    }

    #[test]
    fn lists_parse_each_item() {
        assert_eq!(list(Kind::Int, "1, 2,3"), Ok(json!([1, 2, 3])));
        assert_eq!(list(Kind::Int, ""), Ok(json!([])));
        assert_eq!(list(Kind::Str, "a b,c"), Ok(json!(["a b", "c"])));
        assert_eq!(list(Kind::Any, "a,2"), Ok(json!(["a", "2"])));
        assert_eq!(list(Kind::Any, "[\"a\", 2]"), Ok(json!(["a", 2])));
        assert_eq!(list(Kind::Str, "[\"a,b\"]"), Ok(json!(["a,b"])));
        assert_eq!(list(Kind::Duration, "1s,2m"), Ok(json!([1000, 120000])));
        assert_eq!(list(Kind::Duration, "[\"1s\"]"), Ok(json!([1000])));
        assert_eq!(list(Kind::Percent, "[80]"), Ok(json!([80])));
        assert_eq!(
            list(Kind::Int, "1,x"),
            Err("item 2 `x` is not an integer such as `3` or `-1`".to_string())
        );
        assert!(list(Kind::Int, "1,,2")
            .unwrap_err()
            .contains("item 2 is empty"));
        assert!(list(Kind::Int, "[1, \"x\"]")
            .unwrap_err()
            .starts_with("item 2 is not"));
        assert!(list(Kind::Str, "[1]")
            .unwrap_err()
            .starts_with("item 1 is not a string"));
        assert!(list(Kind::Str, "[oops").unwrap_err().contains("JSON array"));
        assert!(list(Kind::Map, "a")
            .unwrap_err()
            .contains("JSON array of objects"));
    }
}
