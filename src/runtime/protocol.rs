//! Agent protocol v1: the request an agent receives for one attempt and the
//! reply it sends back. `docs/agent-request.schema.json` and
//! `docs/agent-reply.schema.json` are generated from these types
//! (`coordops schema request|reply`) and tested against real messages.
//!
//! The request carries the seed's "Agent Assignment" (Task, Context,
//! Deliverables, Success Criteria) both as fields and as Markdown in the
//! seed's layout, so an agent backed by a language model can take the
//! Markdown as its prompt.

use std::fmt::Write;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The protocol version this coordops speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// What an agent process receives on stdin for one attempt (one JSON line).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// Protocol version: 1.
    pub protocol: u32,
    /// Identifier of the run.
    pub run_id: String,
    /// The same for every attempt of the same step of the same run (and
    /// when the run is resumed): run id, the step's position in the
    /// playbook (`line:column`), and the element index inside `parallel
    /// for`. Use it to make side effects happen once.
    pub idempotency_key: String,
    /// The agent asked.
    pub agent: String,
    /// The task asked.
    pub task: String,
    /// The task's named arguments, evaluated.
    pub args: Map<String, Value>,
    /// 1 for the first attempt, 2 for the first retry, ….
    pub attempt: u32,
    /// Time allowed for this attempt, in milliseconds.
    pub timeout_ms: u64,
    /// When this attempt is abandoned (RFC 3339, UTC).
    pub deadline: String,
    /// The seed's Agent Assignment for this task.
    pub assignment: Assignment,
}

/// The seed's "Typical Delegation": what the agent is asked to do.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Assignment {
    /// Task: the task's description (its name when it has none).
    pub task: String,
    /// Context: the signal and the results handed on.
    pub context: AssignmentContext,
    /// Deliverables: the task's declared outputs.
    pub deliverables: Vec<Deliverable>,
    /// Success Criteria: the quality checks applied to the outputs.
    pub success_criteria: Vec<Criterion>,
    /// The whole assignment as Markdown, in the seed's layout.
    pub markdown: String,
}

/// Where the work comes from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignmentContext {
    /// The signal received (`OPS:COMMIT`).
    pub signal: String,
    /// The coordinator's superior that sent it.
    pub from: String,
    /// The signal's fields.
    pub fields: Map<String, Value>,
    /// Results of earlier steps this task receives (`commit.hash` → value).
    pub handed_on: Map<String, Value>,
}

/// One declared output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Deliverable {
    /// The output's name.
    pub name: String,
    /// Its type as declared (`string`, `list<string>`, …).
    #[serde(rename = "type")]
    pub ty: String,
}

/// One quality check, as readable text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    /// The check's name.
    pub check: String,
    /// What it requires, in words (its description, or its name).
    pub text: String,
}

/// What an agent process prints on stdout (one JSON object), then exits 0.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Reply {
    /// The task is done.
    Success {
        /// The task's outputs (its declared outputs, and any others).
        #[serde(default)]
        outputs: Map<String, Value>,
    },
    /// The task failed.
    Failure {
        /// What kind of failure (`rejected`, `conflict`, …); retry policies
        /// and handlers match it. Default `error`.
        #[serde(default)]
        kind: Option<String>,
        /// What went wrong.
        #[serde(default)]
        message: Option<String>,
    },
}

impl Assignment {
    /// Renders the assignment in the seed's layout and stores it in
    /// `markdown`.
    pub fn render(mut self, agent: &str) -> Assignment {
        let mut md = format!("## Agent Assignment: {agent}\n\n### Task\n{}\n", self.task);
        let _ = write!(md, "\n### Context\n{}", self.context.signal);
        if !self.context.from.is_empty() {
            let _ = write!(md, " from {}", self.context.from);
        }
        md.push('\n');
        for (name, value) in &self.context.fields {
            let _ = writeln!(md, "- {name}: {}", compact(value));
        }
        for (name, value) in &self.context.handed_on {
            let _ = writeln!(md, "- Handed on: `{name}` = {}", compact(value));
        }
        md.push_str("\n### Deliverables\n");
        if self.deliverables.is_empty() {
            md.push_str("None declared.\n");
        }
        for (i, d) in self.deliverables.iter().enumerate() {
            let _ = writeln!(md, "{}. `{}` ({})", i + 1, d.name, d.ty);
        }
        md.push_str("\n### Success Criteria\n");
        if self.success_criteria.is_empty() {
            md.push_str("None declared.\n");
        }
        for c in &self.success_criteria {
            let _ = writeln!(md, "- [ ] {}", c.text);
        }
        self.markdown = md;
        self
    }
}

/// A value on one line: strings without quotes, the rest as JSON.
fn compact(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The JSON Schema of [`Request`], pretty-printed.
pub fn request_schema() -> String {
    pretty(&schemars::schema_for!(Request))
}

/// The JSON Schema of [`Reply`], pretty-printed.
pub fn reply_schema() -> String {
    pretty(&schemars::schema_for!(Reply))
}

fn pretty(schema: &schemars::Schema) -> String {
    let mut text = serde_json::to_string_pretty(schema).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_assignment_reads_like_the_seed() {
        let mut fields = Map::new();
        fields.insert("message".into(), Value::String("feat: swap".into()));
        let mut handed_on = Map::new();
        handed_on.insert("commit.hash".into(), Value::String("abc123".into()));
        let a = Assignment {
            task: "Conventional commit of the staged changes".into(),
            context: AssignmentContext {
                signal: "OPS:COMMIT".into(),
                from: "ORCHESTRATOR".into(),
                fields,
                handed_on,
            },
            deliverables: vec![Deliverable {
                name: "hash".into(),
                ty: "string".into(),
            }],
            success_criteria: vec![Criterion {
                check: "tests_pass".into(),
                text: "Tests pass".into(),
            }],
            markdown: String::new(),
        }
        .render("RELEASE_MANAGER");
        assert_eq!(
            a.markdown,
            "## Agent Assignment: RELEASE_MANAGER\n\n### Task\nConventional commit of the \
             staged changes\n\n### Context\nOPS:COMMIT from ORCHESTRATOR\n- message: feat: \
             swap\n- Handed on: `commit.hash` = abc123\n\n### Deliverables\n1. `hash` \
             (string)\n\n### Success Criteria\n- [ ] Tests pass\n"
        );
    }

    #[test]
    fn replies_follow_the_schema_types() {
        let ok: Reply = serde_json::from_str(r#"{"status":"success","outputs":{"a":1}}"#)
            .unwrap_or(Reply::Failure {
                kind: None,
                message: None,
            });
        assert!(matches!(ok, Reply::Success { .. }));
        assert!(request_schema().contains("idempotency_key"));
        assert!(reply_schema().contains("failure"));
    }
}
