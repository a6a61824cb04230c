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
//! set), so a run never starts with a backend that cannot work; every
//! problem of the file is reported, not only the first. Agents the
//! file does not list have no backend: see
//! [`BackendsConfig::unmapped_agents`].

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::ast::Playbook;

use super::http::HttpAgent;
use super::process::ProcessAgent;

mod agent;
mod checks;
mod http;
mod problems;
use agent::{AgentChecks, AgentPlace};
use checks::{base_folder, secrets};
use problems::{Cells, Layout, Problems};

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
    pub fn load(path: &Path, playbook: &Playbook) -> Result<BackendsConfig, BackendsFileErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            BackendsFileErrors(vec![format!(
                "cannot read backends file `{}`: {e}",
                path.display()
            )])
        })?;
        BackendsConfig::parse(&text, path, playbook)
    }

    /// Parses and checks a backends file with coordops's own environment;
    /// `path` names it in messages and anchors relative paths.
    pub fn parse(
        text: &str,
        path: &Path,
        playbook: &Playbook,
    ) -> Result<BackendsConfig, BackendsFileErrors> {
        BackendsConfig::parse_with_env(text, path, playbook, &|name| std::env::var(name).ok())
    }

    /// Parses and checks a backends file, reading environment variables
    /// (`PATH` for program lookup, secrets) through `env`. Every problem
    /// of the file is reported, in the order the file sets what it concerns.
    pub fn parse_with_env(
        text: &str,
        path: &Path,
        playbook: &Playbook,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<BackendsConfig, BackendsFileErrors> {
        let file = path.display().to_string();
        let invalid = |e: toml::de::Error| {
            BackendsFileErrors(vec![format!(
                "backends file `{file}` is invalid: {}",
                e.to_string().trim_end()
            )])
        };
        // A file that is not TOML, or not tables where tables belong, has
        // one problem: its shape (said as the typed reading says it).
        let layout: Layout = match toml::from_str(text) {
            Ok(layout) => layout,
            Err(e) => return Err(invalid(toml::from_str::<RawFile>(text).err().unwrap_or(e))),
        };
        let mut problems = Problems::new(file, text);
        let whole = 0..0;
        let defaults: RawDefaults = problems
            .fields(&layout.defaults, "defaults", &whole)
            .unwrap_or_default();
        let cell_span = |table: &Cells, key: &str| table.get(key).map_or(0..0, toml::Spanned::span);
        let default_grace = match &defaults.grace {
            Some(g) => parse_grace(g).unwrap_or_else(|e| {
                problems.add(&cell_span(&layout.defaults, "grace"), "defaults.grace", e);
                DEFAULT_GRACE
            }),
            None => DEFAULT_GRACE,
        };
        let defaults_ok;
        let default_secrets = match secrets(&defaults.secrets, env) {
            Ok(found) => {
                defaults_ok = true;
                found
            }
            Err(e) => {
                problems.add(
                    &cell_span(&layout.defaults, "secrets"),
                    "defaults.secrets",
                    e,
                );
                defaults_ok = false;
                BTreeMap::new()
            }
        };
        let declared: Vec<String> = playbook.agents().map(|a| a.name.name.clone()).collect();
        let base = base_folder(path);
        let mut agents = BTreeMap::new();
        for (name, table) in &layout.agents {
            let key = format!("agents.{name}");
            let span = table.span();
            if !declared.contains(name) {
                let hint = declared
                    .iter()
                    .map(|k| (strsim::jaro_winkler(k, name), k))
                    .filter(|(score, _)| *score > 0.85)
                    .max_by(|a, b| a.0.total_cmp(&b.0))
                    .map_or_else(String::new, |(_, k)| format!(" (did you mean `{k}`?)"));
                problems.add(
                    &span,
                    &key,
                    format!("names an agent the playbook does not declare{hint}"),
                );
                continue;
            }
            let Some(agent) = problems.fields::<RawAgent>(table.get_ref(), &key, &span) else {
                continue;
            };
            let place = AgentPlace {
                key: &key,
                span: &span,
                cells: table.get_ref(),
            };
            let checks = AgentChecks {
                base: &base,
                env,
                default_grace,
                default_secrets: &default_secrets,
                defaults_ok,
            };
            if let Some(config) = checks.agent(agent, &place, &mut problems) {
                agents.insert(name.clone(), config);
            }
        }
        if problems.any() {
            return Err(BackendsFileErrors(problems.into_messages()));
        }
        Ok(BackendsConfig {
            agents,
            approvals: defaults.approvals.unwrap_or_default(),
            declared,
        })
    }
}

/// Every problem of a backends file, one message each, in the order the
/// file sets what they concern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendsFileErrors(pub Vec<String>);

impl std::fmt::Display for BackendsFileErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join("\n"))
    }
}

/// A duration key's value (`500ms`, `2s`, at most `365d`); the error is the
/// part of the message after the key.
fn parse_grace(text: &str) -> Result<Duration, String> {
    use crate::syntax::{duration_ms, DurationError};
    match duration_ms(text.trim()) {
        Ok(ms) => Ok(Duration::from_millis(ms)),
        Err(DurationError::OverLimit) => {
            let days = crate::syntax::MAX_DURATION_MS / 86_400_000;
            Err(format!(
                "`{text}` is over the limit: a duration is at most {days} days (`{days}d`)"
            ))
        }
        Err(e) => Err(match e.hint() {
            Some(hint) => format!("`{text}` is not a duration such as `2s` ({hint})"),
            None => format!("`{text}` is not a duration such as `2s`"),
        }),
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
