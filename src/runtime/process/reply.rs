//! Turning what a child did (its exit status and stdout) into an outcome.

use std::process::ExitStatus;

use serde_json::{Map, Value};

use crate::runtime::backend::{kinds, TaskOutcome};

use super::MAX_STDOUT;

/// The outcome of an attempt whose process ended by itself: a non-zero
/// status or a signal is an `exit` failure (even with a valid reply), a
/// reply that breaks the protocol a `protocol` failure. `held_open`: a
/// descendant still held stdout open after the agent's group was killed,
/// so `stdout` is what had arrived by then (a protocol failure says so).
pub(super) fn interpret(status: ExitStatus, stdout: &[u8], held_open: bool) -> TaskOutcome {
    if !status.success() {
        return TaskOutcome::failure(kinds::EXIT, describe_status(status));
    }
    match parse_reply(stdout) {
        Ok(outcome) => outcome,
        Err(reason) if held_open => TaskOutcome::failure(
            kinds::PROTOCOL,
            format!("{reason} (stdout was still held open by a descendant process that left the agent's process group)"),
        ),
        Err(reason) => TaskOutcome::failure(kinds::PROTOCOL, reason),
    }
}

/// The `output_too_large` failure.
pub(super) fn too_large() -> TaskOutcome {
    TaskOutcome::failure(
        kinds::OUTPUT_TOO_LARGE,
        format!(
            "the agent wrote more than {} on stdout: it was stopped at once",
            human_bytes(MAX_STDOUT)
        ),
    )
}

fn human_bytes(n: usize) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 10 && n.is_multiple_of(1 << 10) {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} bytes")
    }
}

/// `exited with status 7`, `was killed by signal 9 (SIGKILL)`.
pub(super) fn describe_status(status: ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return match signal_name(signal) {
                Some(name) => format!("the agent process was killed by signal {signal} ({name})"),
                None => format!("the agent process was killed by signal {signal}"),
            };
        }
    }
    match status.code() {
        Some(code) => format!("the agent process exited with status {code}"),
        None => format!("the agent process ended: {status}"),
    }
}

#[cfg(unix)]
fn signal_name(signal: i32) -> Option<&'static str> {
    Some(match signal {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        _ => return None,
    })
}

/// Parses the one JSON object a child prints; the error says exactly what
/// is wrong with it.
pub fn parse_reply(bytes: &[u8]) -> Result<TaskOutcome, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        format!(
            "stdout is not UTF-8 (invalid byte at offset {})",
            e.valid_up_to()
        )
    })?;
    if text.trim().is_empty() {
        return Err("the agent process printed nothing on stdout".to_string());
    }
    let value: Value = serde_json::from_str(text.trim())
        .map_err(|e| format!("stdout is not one JSON object: {e}"))?;
    let Value::Object(mut reply) = value else {
        return Err(format!(
            "stdout is JSON but not an object: {}",
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
    fn sizes_read_well() {
        assert_eq!(human_bytes(1 << 20), "1 MiB");
        assert_eq!(human_bytes(64 << 10), "64 KiB");
        assert_eq!(human_bytes(1000), "1000 bytes");
    }
}
