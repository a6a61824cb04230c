//! Declared task outputs: the merged agent + task declaration of a task.

use serde::Serialize;

use super::{Agent, FieldDecl, Playbook, Span, TaskDecl};

/// One declared output of a task, as [`Playbook::declared_outputs`] returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OutputField {
    /// The field's name (`hash`).
    pub name: String,
    /// Its type as written, normalised: `string`, `bool`, `list<string>`.
    pub ty: String,
    /// Where the field is declared.
    pub span: Span,
}

impl OutputField {
    fn from_decl(field: &FieldDecl) -> Self {
        OutputField {
            name: field.name.name.clone(),
            ty: field.ty.to_string(),
            span: field.span,
        }
    }
}

/// The declared fields of a task: its agent's `outputs` first, then its own,
/// in source order; a name declared twice keeps its first declaration.
/// `None` when neither the agent nor the task has an `outputs` block.
pub fn merged_fields<'a>(agent: &'a Agent, task: &'a TaskDecl) -> Option<Vec<&'a FieldDecl>> {
    if agent.outputs.is_empty() && task.outputs.is_empty() {
        return None;
    }
    let mut fields: Vec<&FieldDecl> = Vec::new();
    for field in agent
        .outputs
        .iter()
        .chain(&task.outputs)
        .flat_map(|o| &o.fields)
    {
        if !fields.iter().any(|f| f.name.name == field.name.name) {
            fields.push(field);
        }
    }
    Some(fields)
}

impl Playbook {
    /// The declared outputs of `agent.task` (agent-level fields first), or
    /// `None` when the task is unknown or neither it nor its agent declares any.
    pub fn declared_outputs(&self, agent: &str, task: &str) -> Option<Vec<OutputField>> {
        let agent = self.agents().find(|a| a.name.name == agent)?;
        let task = agent.tasks.iter().find(|t| t.name.name == task)?;
        let fields = merged_fields(agent, task)?;
        Some(fields.into_iter().map(OutputField::from_decl).collect())
    }
}

#[cfg(test)]
mod tests {
    use crate::source::SourceFile;

    fn playbook(text: &str) -> super::Playbook {
        let parsed = crate::syntax::parse(&SourceFile::new("t.ops", text));
        match parsed.playbook {
            Some(p) => p,
            None => panic!("does not parse: {:?}", parsed.diagnostics),
        }
    }

    #[test]
    fn merges_agent_fields_first_in_source_order() {
        let p = playbook(
            "agent A {\n  task t {\n    outputs { hash: string\n      files: list<string>, }\n  }\n  outputs { ok: bool }\n  task u\n  task v { timeout 1s }\n}\nagent B { task w }\n",
        );
        let t = p.declared_outputs("A", "t").unwrap_or_default();
        let got: Vec<(&str, &str)> = t.iter().map(|f| (&f.name[..], &f.ty[..])).collect();
        assert_eq!(
            got,
            [
                ("ok", "bool"),
                ("hash", "string"),
                ("files", "list<string>")
            ]
        );
        let u = p.declared_outputs("A", "u").unwrap_or_default();
        assert_eq!(u.len(), 1);
        assert_eq!(p.declared_outputs("B", "w"), None);
        assert_eq!(p.declared_outputs("A", "nope"), None);
        assert_eq!(p.declared_outputs("C", "t"), None);
    }

    #[test]
    fn an_empty_block_still_declares() {
        let p = playbook("agent A { task t { outputs { } } }\n");
        assert_eq!(p.declared_outputs("A", "t"), Some(Vec::new()));
    }
}
