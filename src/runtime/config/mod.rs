//! The backends file: which agent runs where (docs/backends.md).
//!
//! ```toml
//! [agents.RELEASE_MANAGER]
//! command = ["python3", "agents/release_manager.py"]   # argv, never a shell string
//! env = { GIT_DIR = "/srv/repo/.git" }                 # added to PATH, HOME, LANG
//! secrets = ["GITHUB_TOKEN"]                           # passed from coordops's environment
//! cwd = "/srv/repo"                                    # optional; relative to this file
//! grace = "5s"                                         # optional; SIGTERM → SIGKILL
//!
//! [agents.TOOLSMITH]
//! backend = "http"                                     # one POST per attempt
//! url = "https://agents.example.com/toolsmith"
//! headers = { Authorization = "Bearer ${TOOLSMITH_TOKEN}" }  # `${NAME}`: a secret
//! secrets = ["TOOLSMITH_TOKEN"]
//! max_reply = "1MiB"                                   # optional (default 1MiB)
//!
//! [agents.META_UPDATER]
//! backend = "simulated"                                # simulating is always explicit
//!
//! [defaults]
//! grace = "2s"                                         # default 2s
//! approvals = "deny"                                   # ask (default) | deny | grant | never
//! secrets = []                                         # extended by each agent's list
//! ```
//!
//! One path base for the whole file: its own folder. A relative `cwd` and a
//! program given as a relative path containing `/` resolve against it; a
//! bare program name is looked up on the `PATH` the agent gets; arguments
//! are passed verbatim. Every process agent is checked when the file loads
//! (the program exists and is executable, `cwd` is a directory, secrets are
//! set), so a run never starts with a backend that cannot work. Agents the
//! file does not list have no backend: see
//! [`BackendsConfig::unmapped_agents`].

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::ast::Playbook;

use super::http::HttpAgent;
use super::process::ProcessAgent;

mod checks;
mod http;
use checks::{base_folder, check_cwd, resolve_program, secrets, valid_var};

/// The grace period between SIGTERM and SIGKILL when none is configured.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(2);

/// Secrets shorter than this are refused: redacting them would blank out
/// ordinary words in reports.
pub const MIN_SECRET_LEN: usize = 6;

/// How approvals are decided in a real run.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalPolicy {
    /// A person decides: a prompt when stdin and stderr are terminals,
    /// otherwise the run suspends (status WAITING) for `coordops approve`.
    #[default]
    Ask,
    /// Every approval is refused at once.
    Deny,
    /// Every approval is granted at once.
    Grant,
    /// No decision: approvals time out (the playbook's `on timeout`).
    Never,
}

/// Which backend serves an agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AgentBackendConfig {
    /// A child process per attempt.
    Process(ProcessAgent),
    /// An HTTP `POST` per attempt.
    Http(HttpAgent),
    /// The simulated backend (with the run's scenario, if any).
    Simulated,
}

/// A checked backends file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendsConfig {
    /// Per agent, as configured. Agents not listed have no backend.
    pub agents: BTreeMap<String, AgentBackendConfig>,
    /// The approval policy.
    pub approvals: ApprovalPolicy,
    /// Every agent the playbook declares, in declaration order.
    declared: Vec<String>,
}

impl BackendsConfig {
    /// The backend configured for `agent`; `None` when the file does not
    /// list it (the run must not reach it).
    pub fn backend_for(&self, agent: &str) -> Option<&AgentBackendConfig> {
        self.agents.get(agent)
    }

    /// The agents the playbook declares that the file does not list, in
    /// declaration order.
    pub fn unmapped_agents(&self) -> Vec<&str> {
        self.declared
            .iter()
            .filter(|a| !self.agents.contains_key(a.as_str()))
            .map(String::as_str)
            .collect()
    }

    /// The agents that run as processes.
    pub fn process_agents(&self) -> HashMap<String, ProcessAgent> {
        self.agents
            .iter()
            .filter_map(|(name, a)| match a {
                AgentBackendConfig::Process(p) => Some((name.clone(), p.clone())),
                AgentBackendConfig::Http(_) | AgentBackendConfig::Simulated => None,
            })
            .collect()
    }

    /// The agents served over HTTP.
    pub fn http_agents(&self) -> HashMap<String, HttpAgent> {
        self.agents
            .iter()
            .filter_map(|(name, a)| match a {
                AgentBackendConfig::Http(h) => Some((name.clone(), h.clone())),
                AgentBackendConfig::Process(_) | AgentBackendConfig::Simulated => None,
            })
            .collect()
    }

    /// The agents configured `backend = "simulated"`.
    pub fn simulated_agents(&self) -> BTreeSet<String> {
        self.agents
            .iter()
            .filter(|(_, a)| matches!(a, AgentBackendConfig::Simulated))
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Every secret passed to some agent, `(name, value)`, sorted by name,
    /// each once: what the report and journal sink must redact.
    pub fn secret_values(&self) -> Vec<(String, String)> {
        let mut all = BTreeMap::new();
        for agent in self.agents.values() {
            let secrets = match agent {
                AgentBackendConfig::Process(p) => &p.secrets,
                AgentBackendConfig::Http(h) => &h.secrets,
                AgentBackendConfig::Simulated => continue,
            };
            for (name, value) in secrets {
                all.insert(name.clone(), value.clone());
            }
        }
        all.into_iter().collect()
    }

    /// Reads and checks the backends file at `path` against `playbook`,
    /// with coordops's own environment.
    pub fn load(path: &Path, playbook: &Playbook) -> Result<BackendsConfig, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read backends file `{}`: {e}", path.display()))?;
        BackendsConfig::parse(&text, path, playbook)
    }

    /// Parses and checks a backends file with coordops's own environment;
    /// `path` names it in messages and anchors relative paths.
    pub fn parse(text: &str, path: &Path, playbook: &Playbook) -> Result<BackendsConfig, String> {
        BackendsConfig::parse_with_env(text, path, playbook, &|name| std::env::var(name).ok())
    }

    /// Parses and checks a backends file, reading environment variables
    /// (`PATH` for program lookup, secrets) through `env`.
    pub fn parse_with_env(
        text: &str,
        path: &Path,
        playbook: &Playbook,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<BackendsConfig, String> {
        let file = path.display();
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            format!(
                "backends file `{file}` is invalid: {}",
                e.to_string().trim_end()
            )
        })?;
        let key_error = |key: &str, what: String| {
            let sep = if what.starts_with(':') { "" } else { " " };
            format!("backends file `{file}`: `{key}`{sep}{what}")
        };
        let default_grace = match &raw.defaults.grace {
            Some(g) => parse_grace(g).map_err(|e| key_error("defaults.grace", e))?,
            None => DEFAULT_GRACE,
        };
        let default_secrets =
            secrets(&raw.defaults.secrets, env).map_err(|e| key_error("defaults.secrets", e))?;
        let declared: Vec<String> = playbook.agents().map(|a| a.name.name.clone()).collect();
        let base = base_folder(path);
        let mut agents = BTreeMap::new();
        for (name, agent) in raw.agents {
            let key = format!("agents.{name}");
            if !declared.contains(&name) {
                let hint = declared
                    .iter()
                    .map(|k| (strsim::jaro_winkler(k, &name), k))
                    .filter(|(score, _)| *score > 0.85)
                    .max_by(|a, b| a.0.total_cmp(&b.0))
                    .map_or_else(String::new, |(_, k)| format!(" (did you mean `{k}`?)"));
                return Err(key_error(
                    &key,
                    format!("names an agent the playbook does not declare{hint}"),
                ));
            }
            let misplaced = |kind: Option<BackendKind>| {
                let process_only = [
                    ("command", agent.command.is_some()),
                    ("env", !agent.env.is_empty()),
                    ("cwd", agent.cwd.is_some()),
                    ("grace", agent.grace.is_some()),
                ];
                let http_only = [
                    ("url", agent.url.is_some()),
                    ("headers", !agent.headers.is_empty()),
                    ("max_reply", agent.max_reply.is_some()),
                ];
                let secrets = [("secrets", agent.secrets.is_some())];
                let (what, wrong): (&str, Vec<(&str, bool)>) = match kind {
                    Some(BackendKind::Simulated) => (
                        "a simulated agent",
                        [&process_only[..], &http_only[..], &secrets[..]].concat(),
                    ),
                    Some(BackendKind::Http) => ("an HTTP agent", process_only.to_vec()),
                    Some(BackendKind::Process) | None => ("a process agent", http_only.to_vec()),
                };
                wrong.iter().find(|(_, set)| *set).map(|(field, _)| {
                    key_error(
                        &format!("{key}.{field}"),
                        format!("does not apply to {what}"),
                    )
                })
            };
            // Without `backend`, a `url` alone says "http".
            let kind = match agent.backend {
                None if agent.command.is_none() && agent.url.is_some() => Some(BackendKind::Http),
                kind => kind,
            };
            if let Some(error) = misplaced(kind) {
                return Err(error);
            }
            let config = match (kind, agent.command) {
                (Some(BackendKind::Simulated), _) => AgentBackendConfig::Simulated,
                (Some(BackendKind::Http), _) => {
                    let mut secrets_map = default_secrets.clone();
                    if let Some(own) = &agent.secrets {
                        secrets_map.extend(
                            secrets(own, env)
                                .map_err(|e| key_error(&format!("{key}.secrets"), e))?,
                        );
                    }
                    let config = http::http_agent(
                        agent.url.as_deref(),
                        &agent.headers,
                        agent.max_reply.as_deref(),
                        secrets_map,
                    )
                    .map_err(|(field, e)| key_error(&format!("{key}.{field}"), e))?;
                    AgentBackendConfig::Http(config)
                }
                (Some(BackendKind::Process) | None, None) => {
                    return Err(key_error(
                        &format!("{key}.command"),
                        "is missing (or set `url` for an HTTP agent, or `backend = \"simulated\"`)"
                            .to_string(),
                    ))
                }
                (Some(BackendKind::Process) | None, Some(command)) => {
                    if command.first().is_none_or(|p| p.trim().is_empty()) {
                        return Err(key_error(
                            &format!("{key}.command"),
                            "is empty: give the program and its arguments, e.g. [\"python3\", \"agent.py\"]".to_string(),
                        ));
                    }
                    if command.iter().any(|a| a.contains('\0')) {
                        return Err(key_error(
                            &format!("{key}.command"),
                            "contains a NUL character".to_string(),
                        ));
                    }
                    for (var, value) in &agent.env {
                        if !valid_var(var) || value.contains('\0') {
                            return Err(key_error(
                                &format!("{key}.env"),
                                format!("has an invalid variable `{var}` (names must be non-empty, without `=`; no NUL characters)"),
                            ));
                        }
                    }
                    let secrets_key = format!("{key}.secrets");
                    let mut secrets_map = default_secrets.clone();
                    if let Some(own) = &agent.secrets {
                        secrets_map
                            .extend(secrets(own, env).map_err(|e| key_error(&secrets_key, e))?);
                    }
                    if let Some(clash) = secrets_map.keys().find(|s| agent.env.contains_key(*s)) {
                        let from = if agent.secrets.as_ref().is_some_and(|o| o.contains(clash)) {
                            secrets_key.clone()
                        } else {
                            "defaults.secrets".to_string()
                        };
                        return Err(key_error(
                            &format!("{key}.env"),
                            format!(": `{clash}` is also listed in `{from}`: give a variable in one place (a secret comes from coordops's environment, `env` sets a value)"),
                        ));
                    }
                    let grace = match &agent.grace {
                        Some(g) => {
                            parse_grace(g).map_err(|e| key_error(&format!("{key}.grace"), e))?
                        }
                        None => default_grace,
                    };
                    let cwd = match &agent.cwd {
                        Some(c) => Some(
                            check_cwd(&base, c).map_err(|e| key_error(&format!("{key}.cwd"), e))?,
                        ),
                        None => None,
                    };
                    let path_var = agent.env.get("PATH").cloned().or_else(|| env("PATH"));
                    let command = resolve_program(&base, command, path_var.as_deref())
                        .map_err(|e| key_error(&format!("{key}.command"), e))?;
                    AgentBackendConfig::Process(ProcessAgent {
                        command,
                        env: agent.env,
                        secrets: secrets_map,
                        cwd,
                        grace,
                    })
                }
            };
            agents.insert(name, config);
        }
        Ok(BackendsConfig {
            agents,
            approvals: raw.defaults.approvals.unwrap_or_default(),
            declared,
        })
    }
}

/// A duration key's value (`500ms`, `2s`, at most `365d`); the error is the
/// part of the message after the key.
fn parse_grace(text: &str) -> Result<Duration, String> {
    use crate::syntax::{duration_ms, DurationError};
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(format!("`{text}` is not a duration such as `2s`"));
    }
    match duration_ms(trimmed) {
        Ok(ms) => Ok(Duration::from_millis(ms)),
        Err(DurationError::NotADuration) => Err(format!("`{text}` is not a duration such as `2s`")),
        Err(DurationError::OverLimit) => {
            let days = crate::syntax::MAX_DURATION_MS / 86_400_000;
            Err(format!(
                "`{text}` is over the limit: a duration is at most {days} days (`{days}d`)"
            ))
        }
    }
}

/// The values, as `env` has them, of the secrets the backends file at
/// `path` names (its agents' `secrets` and `defaults.secrets`): what a
/// command that starts no agent (`coordops approve`) must still redact.
/// Names that are not set, values too short to be secrets, and a file that
/// cannot be read give nothing (the run's own check refuses them).
pub fn named_secret_values(path: &Path, env: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let Ok(raw) = toml::from_str::<RawFile>(&text) else {
        return Vec::new();
    };
    let names: std::collections::BTreeSet<&String> = raw
        .agents
        .values()
        .filter_map(|a| a.secrets.as_ref())
        .flatten()
        .chain(&raw.defaults.secrets)
        .collect();
    names
        .into_iter()
        .filter_map(|name| env(name))
        .filter(|value| value.trim().chars().count() >= MIN_SECRET_LEN)
        .collect()
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a backends file: `[agents.NAME]` tables and an optional `[defaults]`"
)]
struct RawFile {
    #[serde(default)]
    agents: BTreeMap<String, RawAgent>,
    #[serde(default)]
    defaults: RawDefaults,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table of the agent's settings, e.g. `[agents.NAME]` with `command = [\"./agent.py\"]`"
)]
struct RawAgent {
    backend: Option<BackendKind>,
    command: Option<Vec<String>>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    secrets: Option<Vec<String>>,
    cwd: Option<PathBuf>,
    grace: Option<String>,
    url: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    max_reply: Option<String>,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum BackendKind {
    Process,
    Http,
    Simulated,
}

#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table of defaults, e.g. `[defaults]` with `grace = \"2s\"`"
)]
struct RawDefaults {
    grace: Option<String>,
    approvals: Option<ApprovalPolicy>,
    #[serde(default)]
    secrets: Vec<String>,
}
