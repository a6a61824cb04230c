//! The checks an HTTP agent of a backends file passes when it loads: its
//! URL, its headers (with `${SECRET}` filled in) and its reply limit. Each
//! error is `(field, the part of the message after the key)`.

use std::collections::BTreeMap;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::runtime::http::{HttpAgent, DEFAULT_MAX_REPLY, MAX_MAX_REPLY};
use crate::runtime::reply::human_bytes;

/// Headers coordops sets itself; a backends file may not set them.
const RESERVED: [&str; 7] = [
    "content-type",
    "content-length",
    "transfer-encoding",
    "host",
    "connection",
    "accept",
    crate::runtime::http::IDEMPOTENCY_KEY,
];

/// An HTTP agent from its keys and the secrets it may use; the errors are
/// every problem found, each `(field, the part of the message after the key)`.
pub(super) fn http_agent(
    url: Option<&str>,
    headers: &BTreeMap<String, String>,
    max_reply: Option<&str>,
    secrets: BTreeMap<String, String>,
) -> Result<HttpAgent, Vec<(&'static str, String)>> {
    let mut errors = Vec::new();
    let url = match url {
        None => {
            Err("is missing: an HTTP agent needs the URL its requests are posted to".to_string())
        }
        Some(url) => check_url(url),
    }
    .map_err(|e| errors.push(("url", e)))
    .ok();
    let mut map = HeaderMap::new();
    for (name, template) in headers {
        match header(name, template, &secrets) {
            Ok((header, value)) => {
                map.insert(header, value);
            }
            Err(e) => errors.push(("headers", e)),
        }
    }
    let max_reply = match max_reply {
        Some(text) => parse_size(text)
            .map_err(|e| errors.push(("max_reply", e)))
            .ok(),
        None => Some(DEFAULT_MAX_REPLY),
    };
    match (url, max_reply) {
        (Some(url), Some(max_reply)) if errors.is_empty() => Ok(HttpAgent {
            url,
            headers: map,
            secrets,
            max_reply,
        }),
        _ => Err(errors),
    }
}

/// One configured header, its secrets filled in (and then sensitive).
fn header(
    name: &str,
    template: &str,
    secrets: &BTreeMap<String, String>,
) -> Result<(HeaderName, HeaderValue), String> {
    let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
        format!(
            ": `{name}` is not a valid header name (letters, digits and `-`, e.g. `Authorization`)"
        )
    })?;
    if RESERVED.contains(&header.as_str()) {
        return Err(format!(
            ": `{name}` is set by coordops itself and cannot be configured"
        ));
    }
    let (text, secret) =
        fill_in(template, secrets).map_err(|e| format!(": header `{name}`: {e}"))?;
    let mut value = HeaderValue::from_str(&text).map_err(|_| {
        let filled = if secret { " once its secrets are filled in" } else { "" };
        format!(": the value of header `{name}` is not a valid header value{filled} (no line breaks or other control characters)")
    })?;
    value.set_sensitive(secret);
    Ok((header, value))
}

fn check_url(text: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(text.trim())
        .map_err(|e| format!(": `{text}` is not a URL ({e}); write it in full, e.g. `http://127.0.0.1:8080/agents/toolsmith`"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            ": `{text}` is not an `http` or `https` URL (its scheme is `{}`)",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!(": `{text}` has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        // Not echoed: the URL holds a credential.
        return Err(": the URL contains credentials (`user:password@`): put them in a header whose value uses a secret, e.g. `headers = { Authorization = \"Bearer ${TOKEN}\" }`".to_string());
    }
    Ok(url)
}

/// `template` with each `${NAME}` replaced by the value of secret `NAME`,
/// and whether it used any.
fn fill_in(template: &str, secrets: &BTreeMap<String, String>) -> Result<(String, bool), String> {
    let mut out = String::new();
    let mut used = false;
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err(
                "`${` is not closed by `}` (write `${NAME}` for the secret NAME)".to_string(),
            );
        };
        let name = &after[..end];
        let Some(value) = secrets.get(name) else {
            let listed: Vec<String> = secrets.keys().map(|k| format!("`{k}`")).collect();
            let listed = if listed.is_empty() {
                "none".to_string()
            } else {
                listed.join(", ")
            };
            return Err(format!(
                "`${{{name}}}` names no secret of this agent (its secrets: {listed}); list `{name}` in its `secrets` or in `defaults.secrets`"
            ));
        };
        out.push_str(value);
        used = true;
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok((out, used))
}

/// `1MiB`, `512KiB`, `2048B`, `2048`: a size between 1 byte and
/// [`MAX_MAX_REPLY`].
fn parse_size(text: &str) -> Result<usize, String> {
    let bad = || format!(": `{text}` is not a size such as `1MiB`, `512KiB` or `2048B`");
    let trimmed = text.trim();
    let digits = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(digits);
    let factor: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => return Err(bad()),
    };
    if number.is_empty() {
        return Err(bad());
    }
    // Only digits here: a number too long for u64 is a size out of range.
    let bytes = number
        .parse::<u64>()
        .map_or(u64::MAX, |n| n.saturating_mul(factor));
    let max = u64::try_from(MAX_MAX_REPLY).unwrap_or(u64::MAX);
    if bytes == 0 || bytes > max {
        return Err(format!(
            ": `{text}` is out of range: between 1 byte and {}",
            human_bytes(MAX_MAX_REPLY)
        ));
    }
    usize::try_from(bytes).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> BTreeMap<String, String> {
        BTreeMap::from([("TOKEN".to_string(), "s3cr3t-value".to_string())])
    }

    #[test]
    fn a_size_too_long_to_read_is_out_of_range_not_malformed() {
        for text in ["99999999999999999999999MiB", "99999999999999999999999"] {
            let err = parse_size(text).unwrap_err();
            assert!(err.contains("out of range"), "{text}: {err}");
        }
        for text in ["MiB", "", "1 TiB", "-1"] {
            let err = parse_size(text).unwrap_err();
            assert!(err.contains("is not a size"), "{text}: {err}");
        }
        assert_eq!(parse_size("2KiB"), Ok(2048));
    }

    #[test]
    fn secrets_are_filled_in_and_marked_sensitive() {
        let headers = BTreeMap::from([
            ("Authorization".to_string(), "Bearer ${TOKEN}".to_string()),
            ("X-Team".to_string(), "ops".to_string()),
        ]);
        let agent =
            http_agent(Some("http://127.0.0.1:1/a"), &headers, None, secrets()).expect("valid");
        let auth = &agent.headers["authorization"];
        assert_eq!(auth, "Bearer s3cr3t-value");
        assert!(auth.is_sensitive());
        assert!(!agent.headers["x-team"].is_sensitive());
        assert_eq!(agent.max_reply, DEFAULT_MAX_REPLY);
        let shown = format!("{agent:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
    }

    #[test]
    fn templates_name_listed_secrets_only() {
        assert_eq!(
            fill_in("a $b {c}", &secrets()),
            Ok(("a $b {c}".to_string(), false))
        );
        assert_eq!(
            fill_in("${TOKEN}${TOKEN}", &secrets()),
            Ok(("s3cr3t-values3cr3t-value".to_string(), true))
        );
        assert!(fill_in("${OTHER}", &secrets())
            .is_err_and(|e| e.contains("`${OTHER}` names no secret") && e.contains("`TOKEN`")));
        assert!(fill_in("Bearer ${TOKEN", &secrets()).is_err_and(|e| e.contains("not closed")));
    }

    #[test]
    fn bad_urls_headers_and_sizes_are_refused() {
        let none = BTreeMap::new();
        let url_error = |u: &str| {
            http_agent(Some(u), &none, None, BTreeMap::new())
                .err()
                .and_then(|e| e.into_iter().next())
                .map(|(field, e)| format!("{field}{e}"))
                .unwrap_or_default()
        };
        assert!(url_error("localhost:8080/x").contains("is not an `http` or `https` URL"));
        assert!(url_error("/agents/x").contains("is not a URL"));
        assert!(url_error("ftp://host/x").contains("scheme is `ftp`"));
        let creds = url_error("http://me:pw-secret@host/x");
        assert!(
            creds.contains("credentials") && !creds.contains("pw-secret"),
            "{creds}"
        );
        assert!(http_agent(None, &none, None, BTreeMap::new()).is_err_and(|e| e[0].0 == "url"));
        let header_error = |name: &str, value: &str| {
            let headers = BTreeMap::from([(name.to_string(), value.to_string())]);
            http_agent(Some("https://h/x"), &headers, None, secrets())
                .err()
                .and_then(|e| e.into_iter().next())
                .map(|(_, e)| e)
                .unwrap_or_default()
        };
        assert!(header_error("Bad Name", "x").contains("not a valid header name"));
        assert!(header_error("Content-Type", "x").contains("set by coordops"));
        assert!(header_error("Idempotency-Key", "x").contains("set by coordops"));
        assert!(header_error("X-A", "a\nb").contains("not a valid header value"));
        for (text, size) in [
            ("1MiB", 1 << 20),
            ("512KiB", 512 << 10),
            ("10", 10),
            (" 7B ", 7),
        ] {
            assert_eq!(parse_size(text), Ok(size), "{text}");
        }
        for bad in ["", "1 MB", "x", "0", "65MiB", "1GiB", "-1"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
