//! The checks of one agent's table of a backends file: which backend it
//! names, the keys that do not apply to it, and every problem of a process
//! or HTTP agent's keys, all of them added to the file's [`Problems`].

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use super::checks::{check_cwd, resolve_program, secrets, valid_var};
use super::problems::{Cells, Problems};
use super::{http, parse_grace, AgentBackendConfig, BackendKind, RawAgent};
use crate::runtime::process::ProcessAgent;

/// Where an agent's table is, for its problems.
pub(super) struct AgentPlace<'a> {
    pub(super) key: &'a str,
    pub(super) span: &'a std::ops::Range<usize>,
    pub(super) cells: &'a Cells,
}

impl AgentPlace<'_> {
    /// A problem of the agent's `field` (where the file sets it, else at
    /// the agent's table).
    fn add(&self, problems: &mut Problems, field: &str, what: impl Into<String>) {
        let span = self
            .cells
            .get(field)
            .map_or_else(|| self.span.clone(), toml::Spanned::span);
        problems.add(&span, &format!("{}.{field}", self.key), what);
    }
}

/// What every agent's checks share.
pub(super) struct AgentChecks<'a> {
    pub(super) base: &'a Path,
    pub(super) env: &'a dyn Fn(&str) -> Option<String>,
    pub(super) default_grace: Duration,
    pub(super) default_secrets: &'a BTreeMap<String, String>,
    /// Whether `defaults.secrets` are all set.
    pub(super) defaults_ok: bool,
}

impl AgentChecks<'_> {
    /// The agent's backend; `None` when it has problems (all of them added).
    pub(super) fn agent(
        &self,
        agent: RawAgent,
        place: &AgentPlace<'_>,
        problems: &mut Problems,
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
        let config = match (kind, agent.command.clone()) {
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
                .process(command, agent, secrets_map, place, problems)
                .map(AgentBackendConfig::Process),
        };
        config.filter(|_| fine)
    }

    /// A process agent's checks; `None` when it has problems.
    fn process(
        &self,
        command: Vec<String>,
        agent: RawAgent,
        secrets_map: BTreeMap<String, String>,
        place: &AgentPlace<'_>,
        problems: &mut Problems,
    ) -> Option<ProcessAgent> {
        let RawAgent {
            env: env_vars,
            secrets: own_secrets,
            grace,
            cwd,
            ..
        } = agent;
        let own_secrets = own_secrets.as_ref();
        let mut fine = true;
        let mut fail = |problems: &mut Problems, field: &str, what: String| {
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
