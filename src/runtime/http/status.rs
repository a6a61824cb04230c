//! What an HTTP agent's answer means when it is not a reply: the failure
//! kind of each status code, the `Retry-After` delay, and the words for a
//! request that never got an answer (docs/backends.md, "HTTP agents").

use std::time::{Duration, SystemTime};

use crate::runtime::backend::kinds;

/// The longest `Retry-After` honoured; a longer one is cut to this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(10 * 60);

/// The failure kind of a response with a status that is not 2xx.
pub fn kind_for(status: u16) -> &'static str {
    match status {
        429 => kinds::TOO_MANY_REQUESTS,
        502..=504 => kinds::UNAVAILABLE,
        400..=499 => kinds::REJECTED_REQUEST,
        500..=599 => kinds::SERVER_ERROR,
        // 1xx and 3xx (redirects are not followed): not an answer.
        _ => kinds::PROTOCOL,
    }
}

/// Whether a response with `status` may carry a `Retry-After` coordops
/// honours (429 and 503, as RFC 9110 describes it).
pub fn honours_retry_after(status: u16) -> bool {
    matches!(status, 429 | 503)
}

/// The delay a `Retry-After` value asks for at `now`: a number of seconds
/// or an HTTP-date (a date in the past asks for none), at most
/// [`MAX_RETRY_AFTER`]. `None` when the value is neither.
pub fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    let delay = if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Too many digits to fit is a very long time.
        Duration::from_secs(value.parse::<u64>().unwrap_or(u64::MAX))
    } else {
        let at = httpdate::parse_http_date(value).ok()?;
        at.duration_since(now).unwrap_or(Duration::ZERO)
    };
    Some(delay.min(MAX_RETRY_AFTER))
}

/// Why a request got no response, from an error and its causes: `connection
/// refused (os error 111)`, not the client library's wrapping of it.
pub fn describe_error(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(e) = next {
        let text = e.to_string();
        // Each layer tends to repeat its cause: keep what is new.
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    // The innermost cause is the most specific; keep the chain short.
    let specific: Vec<&String> = parts.iter().rev().take(2).collect();
    specific
        .into_iter()
        .rev()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(": ")
}

/// A short, single-line excerpt of an error response's body for its
/// failure message (empty when there is nothing readable).
pub fn excerpt(body: &[u8]) -> String {
    const MAX: usize = 200;
    let text = String::from_utf8_lossy(body);
    let line: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    if line.chars().count() > MAX {
        let cut: String = line.chars().take(MAX).collect();
        format!("{cut}…")
    } else {
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_the_documented_kinds() {
        for (status, kind) in [
            (400, "rejected_request"),
            (401, "rejected_request"),
            (404, "rejected_request"),
            (422, "rejected_request"),
            (429, "too_many_requests"),
            (500, "server_error"),
            (501, "server_error"),
            (502, "unavailable"),
            (503, "unavailable"),
            (504, "unavailable"),
            (599, "server_error"),
            (301, "protocol"),
            (304, "protocol"),
        ] {
            assert_eq!(kind_for(status), kind, "{status}");
        }
        assert!(honours_retry_after(429) && honours_retry_after(503));
        assert!(!honours_retry_after(500) && !honours_retry_after(404));
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        assert_eq!(retry_after("1", now), Some(Duration::from_secs(1)));
        assert_eq!(retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(retry_after("120", now), Some(Duration::from_secs(120)));
        // Capped.
        assert_eq!(retry_after("86400", now), Some(MAX_RETRY_AFTER));
        assert_eq!(
            retry_after("99999999999999999999999", now),
            Some(MAX_RETRY_AFTER)
        );
        // Wed, 21 Oct 2015 07:28:00 GMT is 1445412480.
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now),
            Some(Duration::ZERO)
        );
        for bad in ["", "soon", "-1", "1.5", "Wed, 32 Oct 2015 07:28:00 GMT"] {
            assert_eq!(retry_after(bad, now), None, "{bad}");
        }
    }

    #[test]
    fn errors_keep_their_specific_causes() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("error sending request")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let e = Outer(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "connection refused",
        ));
        assert_eq!(
            describe_error(&e),
            "error sending request: connection refused"
        );
    }

    #[test]
    fn excerpts_are_one_short_line() {
        assert_eq!(excerpt(b"  not\n found \r\n"), "not found");
        assert_eq!(excerpt(b""), "");
        let long = "x".repeat(500);
        assert_eq!(excerpt(long.as_bytes()).chars().count(), 201);
    }
}
