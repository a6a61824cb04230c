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
mod problems;
use checks::{base_folder, check_cwd, resolve_program, secrets, valid_var};
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

/// Where an agent's table is, for its problems.
struct AgentPlace<'a> {
    key: &'a str,
    span: &'a std::ops::Range<usize>,
    cells: &'a Cells,
}

impl AgentPlace<'_> {
    /// A problem of the agent's `field` (where the file sets it, else at
    /// the agent's table).
    fn add(&self, problems: &mut Problems<'_>, field: &str, what: impl Into<String>) {
        let span = self
            .cells
            .get(field)
            .map_or_else(|| self.span.clone(), toml::Spanned::span);
        problems.add(&span, &format!("{}.{field}", self.key), what);
    }
}

/// What every agent's checks share.
struct AgentChecks<'a> {
    base: &'a Path,
    env: &'a dyn Fn(&str) -> Option<String>,
    default_grace: Duration,
    default_secrets: &'a BTreeMap<String, String>,
    /// Whether `defaults.secrets` are all set.
    defaults_ok: bool,
}

impl AgentChecks<'_> {
    /// The agent's backend; `None` when it has problems (all of them added).
    fn agent(
        &self,
        agent: RawAgent,
        place: &AgentPlace<'_>,
        problems: &mut Problems<'_>,
    ) -> Option<AgentBackendConfig> {
        // A `backend` of the wrong type is reported already; what else
        // applies depends on it.
        if agent.backend.is_none() && place.cells.contains_key("backend") {
            return None;
        }
        let url_set = agent.url.is_some();
        // Without `backend`, a `url` alone says "http".
        let kind = match agent.backend {
            None if agent.command.is_none() && place.cells.contains_key("url") => {
                Some(BackendKind::Http)
            }
            kind => kind,
        };
        let mut fine = true;
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
        let secrets_only = [("secrets", agent.secrets.is_some())];
        let (what, wrong): (&str, Vec<(&str, bool)>) = match kind {
            Some(BackendKind::Simulated) => (
                "a simulated agent",
                [&process_only[..], &http_only[..], &secrets_only[..]].concat(),
            ),
            Some(BackendKind::Http) => ("an HTTP agent", process_only.to_vec()),
            Some(BackendKind::Process) | None => ("a process agent", http_only.to_vec()),
        };
        for (field, _) in wrong.iter().filter(|(_, set)| *set) {
            place.add(problems, field, format!("does not apply to {what}"));
            fine = false;
        }
        let mut secrets_map = self.default_secrets.clone();
        let mut secrets_ok = self.defaults_ok;
        let own = agent
            .secrets
            .as_ref()
            .filter(|_| kind != Some(BackendKind::Simulated));
        if let Some(own) = own {
            match secrets(own, self.env) {
                Ok(found) => secrets_map.extend(found),
                Err(e) => {
                    place.add(problems, "secrets", e);
                    secrets_ok = false;
                    fine = false;
                }
            }
        }
        let no_headers = BTreeMap::new();
        let config = match (kind, agent.command) {
            (Some(BackendKind::Simulated), _) => Some(AgentBackendConfig::Simulated),
            // Headers naming a secret that is not set would only repeat it.
            (Some(BackendKind::Http), _) => http::http_agent(
                agent.url.as_deref(),
                if secrets_ok {
                    &agent.headers
                } else {
                    &no_headers
                },
                agent.max_reply.as_deref(),
                secrets_map,
            )
            .map_err(|errors| {
                for (field, e) in errors {
                    // A `url` of the wrong type is reported already.
                    if !(field == "url" && place.cells.contains_key("url")) || url_set {
                        place.add(problems, field, e);
                    }
                }
            })
            .ok()
            .map(AgentBackendConfig::Http),
            // A `command` of the wrong type is reported already.
            (Some(BackendKind::Process) | None, None) if place.cells.contains_key("command") => {
                None
            }
            (Some(BackendKind::Process) | None, None) => {
                place.add(
                    problems,
                    "command",
                    "is missing (or set `url` for an HTTP agent, or `backend = \"simulated\"`)",
                );
                None
            }
            (Some(BackendKind::Process) | None, Some(command)) => self
                .process(
                    command,
                    agent.env,
                    agent.secrets.as_ref(),
                    agent.grace,
                    agent.cwd,
                    secrets_map,
                    place,
                    problems,
                )
                .map(AgentBackendConfig::Process),
        };
        config.filter(|_| fine)
    }

    /// A process agent's checks; `None` when it has problems.
    #[allow(clippy::too_many_arguments)]
    fn process(
        &self,
        command: Vec<String>,
        env_vars: BTreeMap<String, String>,
        own_secrets: Option<&Vec<String>>,
        grace: Option<String>,
        cwd: Option<PathBuf>,
        secrets_map: BTreeMap<String, String>,
        place: &AgentPlace<'_>,
        problems: &mut Problems<'_>,
    ) -> Option<ProcessAgent> {
        let mut fine = true;
        let mut fail = |problems: &mut Problems<'_>, field: &str, what: String| {
            place.add(problems, field, what);
            fine = false;
        };
        let usable = if command.first().is_none_or(|p| p.trim().is_empty()) {
            fail(
                problems,
                "command",
                "is empty: give the program and its arguments, e.g. [\"python3\", \"agent.py\"]"
                    .to_string(),
            );
            false
        } else if command.iter().any(|a| a.contains('\0')) {
            fail(problems, "command", "contains a NUL character".to_string());
            false
        } else {
            true
        };
        for (var, value) in &env_vars {
            if !valid_var(var) || value.contains('\0') {
                fail(problems, "env", format!("has an invalid variable `{var}` (names must be non-empty, without `=`; no NUL characters)"));
            }
        }
        if let Some(clash) = secrets_map.keys().find(|s| env_vars.contains_key(*s)) {
            let from = if own_secrets.is_some_and(|o| o.contains(clash)) {
                format!("{}.secrets", place.key)
            } else {
                "defaults.secrets".to_string()
            };
            fail(problems, "env", format!(": `{clash}` is also listed in `{from}`: give a variable in one place (a secret comes from coordops's environment, `env` sets a value)"));
        }
        let grace = match &grace {
            Some(g) => parse_grace(g).unwrap_or_else(|e| {
                fail(problems, "grace", e);
                self.default_grace
            }),
            None => self.default_grace,
        };
        let cwd = cwd.and_then(|c| {
            check_cwd(self.base, &c)
                .map_err(|e| fail(problems, "cwd", e))
                .ok()
        });
        let path_var = env_vars.get("PATH").cloned().or_else(|| (self.env)("PATH"));
        let command = if usable {
            resolve_program(self.base, command, path_var.as_deref())
                .map_err(|e| fail(problems, "command", e))
                .ok()
        } else {
            None
        };
        let command = command.filter(|_| fine)?;
        Some(ProcessAgent {
            command,
            env: env_vars,
            secrets: secrets_map,
            cwd,
            grace,
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
