//! The HTTP backend: one URL per agent, one `POST` per attempt.
//!
//! The request body is the same protocol v1 request a process reads on
//! stdin ([`TaskRequest::to_protocol`]), its idempotency key also in an
//! `Idempotency-Key` header; a 2xx response's body is read as the same
//! reply a process prints ([`crate::runtime::reply`]). Any other answer is
//! a failure whose kind says what happened ([`status::kind_for`]); a
//! request that never got one fails with `network`. The body is read up to
//! the agent's `max_reply` and no further (`output_too_large`).
//!
//! One client serves every agent: no proxy from the environment, no
//! redirects, a connect timeout of [`CONNECT_TIMEOUT`]. The attempt's own
//! timeout is the interpreter's: it drops the call's future, which closes
//! the connection; the request's `cancel` token does the same.

pub mod status;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE, RETRY_AFTER};

use super::backend::{
    kinds, AgentBackend, ApprovalRequest, Decision, Reply, TaskOutcome, TaskRequest,
};
use super::reply::{human_bytes, parse_reply_from, Channel};

/// How long connecting (TCP and TLS) may take before the attempt fails
/// with `network` (the attempt's timeout applies too).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The reply size limit of agents that set no `max_reply` (the process
/// backend's stdout limit).
pub const DEFAULT_MAX_REPLY: usize = super::process::MAX_STDOUT;
/// The largest `max_reply` a backends file may set.
pub const MAX_MAX_REPLY: usize = 64 << 20;
/// Most bytes of an error response's body read for its failure message.
const ERROR_BODY: usize = 4 << 10;
/// How long to wait for an error response's body before reporting the
/// failure without it.
const ERROR_BODY_WAIT: Duration = Duration::from_secs(1);
/// The header that carries the step's idempotency key (IETF draft
/// "The Idempotency-Key HTTP Header Field").
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// How one agent is reached.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpAgent {
    /// Where each attempt is posted (`http` or `https`, no credentials).
    pub url: reqwest::Url,
    /// Headers sent with each request, secrets already filled in (those
    /// values are marked sensitive).
    pub headers: HeaderMap,
    /// The names of the secrets its headers may use, with their values.
    /// Never printed by `Debug`.
    pub secrets: std::collections::BTreeMap<String, String>,
    /// Most bytes of a reply read; past this the attempt fails with
    /// `output_too_large`.
    pub max_reply: usize,
}

impl std::fmt::Debug for HttpAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpAgent")
            .field("url", &self.url.as_str())
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .field("max_reply", &self.max_reply)
            .finish()
    }
}

/// Runs agent tasks as HTTP requests.
pub struct HttpBackend {
    agents: HashMap<String, Arc<HttpAgent>>,
    /// Built only when some agent is served over HTTP.
    client: Option<reqwest::Client>,
}

impl HttpBackend {
    /// A backend serving `agents`; the error says why the HTTP client
    /// could not be set up.
    pub fn new(agents: HashMap<String, HttpAgent>) -> Result<Self, String> {
        let client = if agents.is_empty() {
            None
        } else {
            let built = reqwest::Client::builder()
                .no_proxy()
                .connect_timeout(CONNECT_TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("coordops/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| {
                    format!(
                        "cannot set up the HTTP client: {}",
                        status::describe_error(&e)
                    )
                })?;
            Some(built)
        };
        Ok(HttpBackend {
            agents: agents.into_iter().map(|(k, v)| (k, Arc::new(v))).collect(),
            client,
        })
    }

    /// Whether `agent` is served over HTTP here.
    pub fn serves(&self, agent: &str) -> bool {
        self.agents.contains_key(agent)
    }
}

#[async_trait]
impl AgentBackend for HttpBackend {
    async fn call(&self, request: TaskRequest) -> Reply {
        let (Some(agent), Some(client)) = (self.agents.get(&request.agent), &self.client) else {
            return TaskOutcome::failure(
                kinds::CONFIGURATION,
                format!("no URL is configured for agent `{}`", request.agent),
            )
            .into();
        };
        let label = format!(
            "{}.{} attempt {}",
            request.agent, request.task, request.attempt
        );
        tracing::debug!(%label, url = %agent.url, "posting the request");
        let reply = tokio::select! {
            biased;
            () = request.cancel.cancelled() => TaskOutcome::failure(
                kinds::CANCELLED,
                "cancelled: the request was abandoned",
            )
            .into(),
            reply = exchange(client, agent, &request) => reply,
        };
        let reply = Reply {
            outcome: reply.outcome.redacted(),
            ..reply
        };
        tracing::debug!(%label, outcome = ?reply.outcome, retry_after = ?reply.retry_after, "HTTP attempt ended");
        reply
    }

    async fn approve(&self, _request: ApprovalRequest) -> Decision {
        // HTTP agents decide no approvals: the routing backend's policy does.
        std::future::pending().await
    }
}

/// Posts one attempt and reads the answer.
async fn exchange(client: &reqwest::Client, agent: &HttpAgent, request: &TaskRequest) -> Reply {
    let body = serde_json::to_vec(&request.to_protocol()).unwrap_or_default();
    let mut post = client
        .post(agent.url.clone())
        .headers(agent.headers.clone())
        .header(CONTENT_TYPE, "application/json")
        .header(ACCEPT, "application/json");
    // A run id that cannot be a header value still travels in the body.
    if let Ok(key) = HeaderValue::from_str(&request.idempotency_key) {
        post = post.header(HeaderName::from_static(IDEMPOTENCY_KEY), key);
    }
    let response = match post.body(body).send().await {
        Ok(r) => r,
        Err(e) => {
            return TaskOutcome::failure(
                kinds::NETWORK,
                format!(
                    "POST {} got no response: {}",
                    agent.url,
                    status::describe_error(&e.without_url())
                ),
            )
            .into()
        }
    };
    let code = response.status();
    if code.is_success() {
        return match read_capped(response, agent.max_reply).await {
            Ok(Some(bytes)) => match parse_reply_from(&bytes, Channel::Body) {
                Ok(outcome) => outcome.into(),
                Err(reason) => TaskOutcome::failure(kinds::PROTOCOL, reason).into(),
            },
            Ok(None) => too_large(agent),
            Err(e) => TaskOutcome::failure(
                kinds::NETWORK,
                format!(
                    "POST {} answered {code}, then the body could not be read: {}",
                    agent.url,
                    status::describe_error(&e.without_url())
                ),
            )
            .into(),
        };
    }
    let retry_after = if status::honours_retry_after(code.as_u16()) {
        response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| status::retry_after(v, SystemTime::now()))
    } else {
        None
    };
    let kind = status::kind_for(code.as_u16());
    let mut message = format!("POST {} answered {code}", agent.url);
    if code.is_redirection() {
        message.push_str(" (redirects are not followed: configure the final URL)");
    }
    let excerpt = match tokio::time::timeout(ERROR_BODY_WAIT, read_prefix(response)).await {
        Ok(bytes) => status::excerpt(&bytes),
        Err(_) => String::new(),
    };
    if !excerpt.is_empty() {
        message.push_str(": ");
        message.push_str(&excerpt);
    }
    Reply {
        retry_after,
        ..Reply::from(TaskOutcome::failure(kind, message))
    }
}

/// The body, or `None` as soon as it is known to be longer than `max`
/// (from its `Content-Length`, or once more than `max` bytes arrived):
/// nothing past the limit is buffered.
async fn read_capped(
    mut response: reqwest::Response,
    max: usize,
) -> Result<Option<Vec<u8>>, reqwest::Error> {
    let max64 = u64::try_from(max).unwrap_or(u64::MAX);
    if response.content_length().is_some_and(|n| n > max64) {
        return Ok(None);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len().saturating_add(chunk.len()) > max {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

/// Up to [`ERROR_BODY`] bytes of an error response's body (what arrived
/// before an error, if one happens).
async fn read_prefix(mut response: reqwest::Response) -> Vec<u8> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        body.extend_from_slice(&chunk);
        if body.len() >= ERROR_BODY {
            body.truncate(ERROR_BODY);
            break;
        }
    }
    body
}

fn too_large(agent: &HttpAgent) -> Reply {
    TaskOutcome::failure(
        kinds::OUTPUT_TOO_LARGE,
        format!(
            "the response body from {} is larger than {} (`max_reply`): it was not read further",
            agent.url,
            human_bytes(agent.max_reply)
        ),
    )
    .into()
}
