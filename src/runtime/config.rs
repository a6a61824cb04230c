//! The backends file: which agent runs where (docs/backends.md).
//!
//! ```toml
//! [agents.RELEASE_MANAGER]
//! command = ["python3", "agents/release_manager.py"]   # argv, never a shell string
//! env = { GIT_DIR = "/srv/repo/.git" }                 # added to PATH, HOME, LANG
//! cwd = "/srv/repo"                                    # optional; relative to this file
//! grace = "5s"                                         # optional; SIGTERM → SIGKILL
//!
//! [agents.META_UPDATER]
//! backend = "simulated"                                # explicit simulated fallback
//!
//! [defaults]
//! grace = "2s"                                         # default 2s
//! approvals = "never"                                  # deny | grant | never (default)
//! ```
//!
//! Agents the file does not list use the simulated backend.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::ast::Playbook;

use super::process::ProcessAgent;

/// The grace period between SIGTERM and SIGKILL when none is configured.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(2);

/// How approvals are decided in a real run.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalPolicy {
    /// Every approval is refused at once.
    Deny,
    /// Every approval is granted at once.
    Grant,
    /// No decision: approvals time out (the playbook's `on timeout`).
    #[default]
    Never,
}

/// Which backend serves an agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AgentBackendConfig {
    /// A child process per attempt.
    Process(ProcessAgent),
    /// The simulated backend (with the run's scenario, if any).
    Simulated,
}

/// A checked backends file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendsConfig {
    /// Per agent, as configured; unlisted agents are simulated.
    pub agents: BTreeMap<String, AgentBackendConfig>,
    /// The approval policy.
    pub approvals: ApprovalPolicy,
}

impl BackendsConfig {
    /// The agents that run as processes.
    pub fn process_agents(&self) -> HashMap<String, ProcessAgent> {
        self.agents
            .iter()
            .filter_map(|(name, a)| match a {
                AgentBackendConfig::Process(p) => Some((name.clone(), p.clone())),
                AgentBackendConfig::Simulated => None,
            })
            .collect()
    }

    /// Reads and checks the backends file at `path` against `playbook`.
    pub fn load(path: &Path, playbook: &Playbook) -> Result<BackendsConfig, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read backends file `{}`: {e}", path.display()))?;
        BackendsConfig::parse(&text, path, playbook)
    }

    /// Parses and checks a backends file; `path` names it in messages and
    /// anchors relative `cwd` values.
    pub fn parse(text: &str, path: &Path, playbook: &Playbook) -> Result<BackendsConfig, String> {
        let file = path.display();
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            format!(
                "backends file `{file}` is invalid: {}",
                e.to_string().trim_end()
            )
        })?;
        let key_error = |key: &str, what: String| format!("backends file `{file}`: `{key}` {what}");
        let default_grace = match &raw.defaults.grace {
            Some(g) => parse_grace(g).ok_or_else(|| {
                key_error(
                    "defaults.grace",
                    format!("`{g}` is not a duration such as `2s`"),
                )
            })?,
            None => DEFAULT_GRACE,
        };
        let known: Vec<&str> = playbook.agents().map(|a| a.name.name.as_str()).collect();
        let base = path.parent().unwrap_or(Path::new(""));
        let mut agents = BTreeMap::new();
        for (name, agent) in raw.agents {
            let key = format!("agents.{name}");
            if !known.contains(&name.as_str()) {
                let hint = known
                    .iter()
                    .map(|k| (strsim::jaro_winkler(k, &name), *k))
                    .filter(|(score, _)| *score > 0.85)
                    .max_by(|a, b| a.0.total_cmp(&b.0))
                    .map_or_else(String::new, |(_, k)| format!(" (did you mean `{k}`?)"));
                return Err(key_error(
                    &key,
                    format!("names an agent the playbook does not declare{hint}"),
                ));
            }
            let config = match (agent.backend, agent.command) {
                (Some(BackendKind::Simulated), command) => {
                    let extra = [
                        ("command", command.is_some()),
                        ("env", !agent.env.is_empty()),
                        ("cwd", agent.cwd.is_some()),
                        ("grace", agent.grace.is_some()),
                    ];
                    if let Some((field, _)) = extra.iter().find(|(_, set)| *set) {
                        return Err(key_error(
                            &format!("{key}.{field}"),
                            "does not apply to a simulated agent".to_string(),
                        ));
                    }
                    AgentBackendConfig::Simulated
                }
                (Some(BackendKind::Process) | None, None) => {
                    return Err(key_error(
                        &format!("{key}.command"),
                        "is missing (or set `backend = \"simulated\"`)".to_string(),
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
                        if var.is_empty() || var.contains(['=', '\0']) || value.contains('\0') {
                            return Err(key_error(
                                &format!("{key}.env"),
                                format!("has an invalid variable `{var}` (names must be non-empty, without `=`; no NUL characters)"),
                            ));
                        }
                    }
                    let grace = match &agent.grace {
                        Some(g) => parse_grace(g).ok_or_else(|| {
                            key_error(
                                &format!("{key}.grace"),
                                format!("`{g}` is not a duration such as `2s`"),
                            )
                        })?,
                        None => default_grace,
                    };
                    AgentBackendConfig::Process(ProcessAgent {
                        command,
                        env: agent.env,
                        cwd: agent.cwd.map(|c| base.join(c)),
                        grace,
                    })
                }
            };
            agents.insert(name, config);
        }
        Ok(BackendsConfig {
            agents,
            approvals: raw.defaults.approvals.unwrap_or_default(),
        })
    }
}

fn parse_grace(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    crate::syntax::parse_duration(text).map(Duration::from_millis)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    agents: BTreeMap<String, RawAgent>,
    #[serde(default)]
    defaults: RawDefaults,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAgent {
    backend: Option<BackendKind>,
    command: Option<Vec<String>>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    cwd: Option<PathBuf>,
    grace: Option<String>,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum BackendKind {
    Process,
    Simulated,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    grace: Option<String>,
    approvals: Option<ApprovalPolicy>,
}
