//! Reading an agent's reply (protocol v1, docs/backends.md): the one JSON
//! object a process prints on stdout, or an HTTP agent sends as its
//! response body. Shared by both backends, so both read it the same way.

use serde_json::{Map, Value};

use super::backend::TaskOutcome;

/// Where a reply came from: named in what a broken reply's error says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    /// A process's stdout.
    Stdout,
    /// An HTTP response's body.
    Body,
}

impl Channel {
    /// `stdout`, `the response body`.
    fn noun(self) -> &'static str {
        match self {
            Channel::Stdout => "stdout",
            Channel::Body => "the response body",
        }
    }

    fn empty(self) -> &'static str {
        match self {
            Channel::Stdout => "the agent process printed nothing on stdout",
            Channel::Body => "the response body is empty",
        }
    }
}

/// Parses the one JSON object a child prints; the error says exactly what
/// is wrong with it.
pub fn parse_reply(bytes: &[u8]) -> Result<TaskOutcome, String> {
    parse_reply_from(bytes, Channel::Stdout)
}

/// Parses the one JSON object an agent sent on `channel`; the error says
/// exactly what is wrong with it.
pub fn parse_reply_from(bytes: &[u8], channel: Channel) -> Result<TaskOutcome, String> {
    let noun = channel.noun();
    let text = std::str::from_utf8(bytes).map_err(|e| {
        format!(
            "{noun} is not UTF-8 (invalid byte at offset {})",
            e.valid_up_to()
        )
    })?;
    if text.trim().is_empty() {
        return Err(channel.empty().to_string());
    }
    let value: Value = serde_json::from_str(text.trim())
        .map_err(|e| format!("{noun} is not one JSON object: {e}"))?;
    let Value::Object(mut reply) = value else {
        return Err(format!(
            "{noun} is JSON but not an object: {}",
            json_type(&value)
        ));
    };
    let string = |reply: &Map<String, Value>, key: &str| -> Result<Option<String>, String> {
        match reply.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(format!(
                "`{key}` in the reply must be a string, not {}",
                json_type(other)
            )),
        }
    };
    match string(&reply, "status")?.as_deref() {
        Some("success") => match reply.remove("outputs") {
            None | Some(Value::Null) => Ok(TaskOutcome::Success(Map::new())),
            Some(Value::Object(outputs)) => Ok(TaskOutcome::Success(outputs)),
            Some(other) => Err(format!(
                "`outputs` in the reply must be an object, not {}",
                json_type(&other)
            )),
        },
        Some("failure") => {
            let kind = string(&reply, "kind")?
                .filter(|k| !k.trim().is_empty())
                .unwrap_or_else(|| "error".to_string());
            let message = string(&reply, "message")?.unwrap_or_default();
            Ok(TaskOutcome::Failure { kind, message })
        }
        Some(other) => Err(format!(
            "`status` in the reply is `{other}`, not `success` or `failure`"
        )),
        None => Err("the reply has no `status`".to_string()),
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `1 MiB`, `64 KiB`, `1000 bytes`: a size limit as messages show it.
pub fn human_bytes(n: usize) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 10 && n.is_multiple_of(1 << 10) {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} bytes")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn replies_parse() {
        assert_eq!(
            parse_reply(br#"{"status":"success","outputs":{"a":1}}"#),
            Ok(TaskOutcome::Success(
                json!({"a": 1}).as_object().cloned().unwrap_or_default()
            ))
        );
        assert_eq!(
            parse_reply(b"  {\"status\":\"success\"}\n"),
            Ok(TaskOutcome::Success(Map::new()))
        );
        assert_eq!(
            parse_reply(br#"{"status":"failure","kind":"rejected","message":"no"}"#),
            Ok(TaskOutcome::failure("rejected", "no"))
        );
        assert_eq!(
            parse_reply(br#"{"status":"failure"}"#),
            Ok(TaskOutcome::failure("error", ""))
        );
    }

    #[test]
    fn protocol_errors_state_the_cause() {
        for (bad, why) in [
            (&b""[..], "the agent process printed nothing on stdout"),
            (
                b"hello",
                "stdout is not one JSON object: expected value at line 1 column 1",
            ),
            (b"[1]", "stdout is JSON but not an object: an array"),
            (
                br#"{"status":"maybe"}"#,
                "`status` in the reply is `maybe`, not `success` or `failure`",
            ),
            (
                br#"{"status":1}"#,
                "`status` in the reply must be a string, not a number",
            ),
            (
                br#"{"status":"success","outputs":[1]}"#,
                "`outputs` in the reply must be an object, not an array",
            ),
            (
                br#"{"status":"failure","kind":true}"#,
                "`kind` in the reply must be a string, not a boolean",
            ),
            (
                br#"{"status":"success"} {"status":"success"}"#,
                "stdout is not one JSON object: trailing characters at line 1 column 22",
            ),
            (br#"{"outputs":{}}"#, "the reply has no `status`"),
            (
                &[b'{', 0xff, b'}'][..],
                "stdout is not UTF-8 (invalid byte at offset 1)",
            ),
        ] {
            assert_eq!(
                parse_reply(bad),
                Err(why.to_string()),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn a_body_is_named_as_such() {
        let body = |b: &[u8]| parse_reply_from(b, Channel::Body);
        assert_eq!(body(b" "), Err("the response body is empty".to_string()));
        assert_eq!(
            body(b"<html>"),
            Err(
                "the response body is not one JSON object: expected value at line 1 column 1"
                    .to_string()
            )
        );
        assert_eq!(
            body(b"2"),
            Err("the response body is JSON but not an object: a number".to_string())
        );
        assert_eq!(
            body(br#"{"status":"success"}"#),
            Ok(TaskOutcome::Success(Map::new()))
        );
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_bytes(1 << 20), "1 MiB");
        assert_eq!(human_bytes(64 << 10), "64 KiB");
        assert_eq!(human_bytes(1000), "1000 bytes");
    }
}
