//! Step targets: how a scenario file or a test's `given step` names one step
//! of a workflow, or some elements of a `parallel for`, and how it is
//! checked against the playbook.
//!
//! ```text
//! release.push               the step bound to `push` in workflow `release`
//! release.3                  the third task call written in `release`
//! audit.1[2]                 element 2 (from 0) of the `parallel for` around it
//! audit.1[name=broken-skill] every element whose `name` argument is that value
//! ```
//!
//! A step's identity (its `id` in reports) is `WORKFLOW.N` plus, inside a
//! `parallel for`, `[INDEX]` (`[1.0]` for nested loops, outer first): the
//! position in the playbook and the element index, never a running count.

use std::collections::HashMap;
use std::fmt;

use crate::ast::{CallStmt, ExprKind, Playbook, Stmt, Workflow};

/// Which step of a workflow a target names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepSel {
    /// `workflow.binding`
    Binding(String),
    /// `workflow/N`, from 1.
    Position(usize),
}

/// Which elements of the `parallel for` around the step a target names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ElementSel {
    /// `[2]`, `[1.0]`: the element index path, as in the step's id.
    Index(String),
    /// `[name=value]`: elements whose argument `name` equals `value`.
    Arg {
        /// The argument's name.
        name: String,
        /// The value, compared with the argument's text.
        value: String,
    },
}

/// A parsed step target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The workflow.
    pub workflow: String,
    /// The step in it.
    pub step: StepSel,
    /// Some elements only, inside a `parallel for`.
    pub element: Option<ElementSel>,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.step {
            StepSel::Binding(b) => write!(f, "{}.{b}", self.workflow)?,
            StepSel::Position(n) => write!(f, "{}.{n}", self.workflow)?,
        }
        match &self.element {
            Some(ElementSel::Index(i)) => write!(f, "[{i}]"),
            Some(ElementSel::Arg { name, value }) if is_bare(value) => {
                write!(f, "[{name}={value}]")
            }
            Some(ElementSel::Arg { name, value }) => write!(f, "[{name}={value:?}]"),
            None => Ok(()),
        }
    }
}

const FORMS: &str =
    "write `WORKFLOW.binding` or `WORKFLOW.N`, optionally followed by `[INDEX]` or `[ARG=VALUE]`";

/// Whether `value` reads unquoted in a target (`broken-skill`, `2`).
fn is_bare(value: &str) -> bool {
    !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Target {
    /// Parses `text`, or says which form a target takes.
    pub fn parse(text: &str) -> Result<Target, String> {
        let text = text.trim();
        let (head, element) = match text.find('[') {
            Some(open) => {
                let Some(inner) = text[open + 1..].strip_suffix(']') else {
                    return Err(format!(
                        "`{text}`: `[` is not closed by a final `]`; {FORMS}"
                    ));
                };
                (&text[..open], Some(Self::element(text, inner)?))
            }
            None => (text, None),
        };
        let (workflow, step) = match head.split_once('.') {
            Some((w, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
                match n.parse::<usize>().ok().filter(|n| *n >= 1) {
                    Some(n) => (w, Some(StepSel::Position(n))),
                    None => {
                        return Err(format!(
                            "`{text}`: `{n}` is not a step position (1 for the first task call of the workflow)"
                        ))
                    }
                }
            }
            Some((w, b)) => (w, is_name(b).then(|| StepSel::Binding(b.to_string()))),
            None => (head, None),
        };
        match step {
            Some(step) if is_name(workflow) => Ok(Target {
                workflow: workflow.to_string(),
                step,
                element,
            }),
            _ => Err(format!("`{text}` is not a step target; {FORMS}")),
        }
    }

    fn element(text: &str, inner: &str) -> Result<ElementSel, String> {
        if let Some((name, value)) = inner.split_once('=') {
            let name = name.trim();
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            if !is_name(name) {
                return Err(format!(
                    "`{text}`: `{name}` is not an argument name; write `[ARG=VALUE]`"
                ));
            }
            return Ok(ElementSel::Arg {
                name: name.to_string(),
                value: value.to_string(),
            });
        }
        let index = inner.trim();
        if index.is_empty()
            || !index
                .split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(format!(
                "`{text}`: `[{inner}]` is neither an element index (`[0]`, `[1.0]` when nested) nor `[ARG=VALUE]`"
            ));
        }
        Ok(ElementSel::Index(index.to_string()))
    }
}

/// Where a task call is written: its workflow, position and binding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Site {
    /// The workflow it is written in (shared by every step id built from it).
    pub workflow: std::sync::Arc<str>,
    /// Its position among the workflow's task calls, from 1, in source order.
    pub position: usize,
    /// Its binding, if any.
    pub binding: Option<std::sync::Arc<str>>,
}

impl Site {
    /// `workflow/N`.
    pub fn id(&self) -> String {
        format!("{}.{}", self.workflow, self.position)
    }
}

/// The span of step `WORKFLOW.N` (a step id without its element index):
/// the `N`th task call written in the workflow.
pub fn step_span(playbook: &Playbook, workflow: &str, position: usize) -> Option<crate::ast::Span> {
    let w = playbook.workflows().find(|w| w.name.name == workflow)?;
    let (call, _) = calls(w).into_iter().nth(position.checked_sub(1)?)?;
    Some(call.span)
}

/// Every task call of `workflow` in source order (nested blocks included),
/// with the `parallel for` lists around it, innermost last.
pub fn calls(workflow: &Workflow) -> Vec<(&CallStmt, Vec<&crate::ast::Expr>)> {
    fn visit<'a>(
        block: &'a crate::ast::Block,
        loops: &mut Vec<&'a crate::ast::Expr>,
        out: &mut Vec<(&'a CallStmt, Vec<&'a crate::ast::Expr>)>,
    ) {
        for stmt in &block.stmts {
            match stmt {
                Stmt::Call(c) => out.push((c, loops.clone())),
                Stmt::If(i) => {
                    for branch in &i.branches {
                        visit(&branch.block, loops, out);
                    }
                    if let Some(e) = &i.else_block {
                        visit(e, loops, out);
                    }
                }
                Stmt::Parallel(p) => {
                    let each = p.each.as_ref().map(|e| &e.iterable);
                    loops.extend(each);
                    visit(&p.body, loops, out);
                    if each.is_some() {
                        loops.pop();
                    }
                }
                Stmt::Exclusive(x) => visit(&x.body, loops, out),
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    visit(&workflow.body, &mut Vec::new(), &mut out);
    out
}

/// The site of every task call written in a workflow, by the call's start
/// offset.
pub fn sites(playbook: &Playbook) -> HashMap<usize, Site> {
    let mut sites = HashMap::new();
    for w in playbook.workflows() {
        for (i, (c, _)) in calls(w).into_iter().enumerate() {
            sites.insert(
                c.call.span.start,
                Site {
                    workflow: w.name.name.as_str().into(),
                    position: i + 1,
                    binding: c.binding.as_ref().map(|b| b.name.as_str().into()),
                },
            );
        }
    }
    sites
}

/// The agent of the step `target` names, or why it names no step of
/// `playbook` (with a did-you-mean).
pub fn resolve<'p>(playbook: &'p Playbook, target: &Target) -> Result<&'p str, String> {
    let workflows: Vec<&str> = playbook.workflows().map(|w| w.name.name.as_str()).collect();
    let Some(workflow) = playbook
        .workflows()
        .find(|w| w.name.name == target.workflow)
    else {
        let is_agent = playbook.agents().any(|a| a.name.name == target.workflow);
        let help = match super::closest_word(&target.workflow, workflows.iter().copied()) {
            _ if is_agent => format!(
                " (`{}` is an agent: a whole `AGENT.task` is scripted by `given AGENT.task` or a scenario's `[task.\"AGENT.task\"]`)",
                target.workflow
            ),
            Some(best) => format!(" (did you mean `{best}`?)"),
            None => String::new(),
        };
        return Err(format!(
            "step `{target}`: there is no workflow `{}`{help}",
            target.workflow
        ));
    };
    let calls = calls(workflow);
    let found = match &target.step {
        StepSel::Binding(b) => calls
            .iter()
            .find(|(c, _)| c.binding.as_ref().is_some_and(|x| &x.name == b)),
        StepSel::Position(n) => calls.get(n - 1),
    };
    let Some((call, loops)) = found else {
        return Err(match &target.step {
            StepSel::Binding(b) => {
                let bound: Vec<&str> = calls
                    .iter()
                    .filter_map(|(c, _)| c.binding.as_ref().map(|x| x.name.as_str()))
                    .collect();
                let help = match super::closest_word(b, bound.iter().copied()) {
                    Some(best) => format!(" (did you mean `{}.{best}`?)", target.workflow),
                    None if bound.is_empty() => format!(
                        " (it binds no step; name one by position, `{}.1` to `{}.{}`)",
                        target.workflow,
                        target.workflow,
                        calls.len()
                    ),
                    None => format!(" (bound steps: {})", bound.join(", ")),
                };
                format!(
                    "step `{target}`: workflow `{}` binds no step `{b}`{help}",
                    target.workflow
                )
            }
            StepSel::Position(n) => format!(
                "step `{target}`: workflow `{}` has {} task call{}, so no step {n}",
                target.workflow,
                calls.len(),
                if calls.len() == 1 { "" } else { "s" }
            ),
        });
    };
    let agent = call.call.agent.name.as_str();
    let Some(element) = &target.element else {
        return Ok(agent);
    };
    let at = format!("{}.{}", target.workflow, position_of(&calls, call));
    if loops.is_empty() {
        return Err(format!(
            "step `{target}`: `{at}` is not inside a `parallel for`, so it has no elements; drop the `[…]`"
        ));
    }
    match element {
        ElementSel::Index(path) => {
            let parts: Vec<&str> = path.split('.').collect();
            if parts.len() != loops.len() {
                return Err(format!(
                    "step `{target}`: `{at}` is inside {} `parallel for`, so its index has {} part{} (e.g. `[{}]`)",
                    loops.len(),
                    loops.len(),
                    if loops.len() == 1 { "" } else { "s" },
                    vec!["0"; loops.len()].join(".")
                ));
            }
            for (part, list) in parts.iter().zip(loops) {
                if let ExprKind::List { items } = &list.kind {
                    let i: usize = part.parse().unwrap_or(usize::MAX);
                    if i >= items.len() {
                        return Err(format!(
                            "step `{target}`: index {part} is out of range: the list has {} element{} (0 to {})",
                            items.len(),
                            if items.len() == 1 { "" } else { "s" },
                            items.len().saturating_sub(1)
                        ));
                    }
                }
            }
            Ok(agent)
        }
        ElementSel::Arg { name, .. } => {
            let args: Vec<&str> = call
                .call
                .args
                .iter()
                .map(|a| a.name.name.as_str())
                .collect();
            if args.contains(&name.as_str()) {
                return Ok(agent);
            }
            let task = format!("{}.{}", call.call.agent.name, call.call.task.name);
            let help = match super::closest_word(name, args.iter().copied()) {
                Some(best) => format!(" (did you mean `{best}`?)"),
                None if args.is_empty() => " (it passes no argument)".to_string(),
                None => format!(" (its arguments: {})", args.join(", ")),
            };
            Err(format!(
                "step `{target}`: `{at}` ({task}) passes no argument `{name}`{help}"
            ))
        }
    }
}

fn position_of(calls: &[(&CallStmt, Vec<&crate::ast::Expr>)], call: &CallStmt) -> usize {
    calls
        .iter()
        .position(|(c, _)| std::ptr::eq(*c, call))
        .map_or(0, |i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    fn playbook() -> Playbook {
        let text = "agent A { task one\n task two }\n\
            signal OPS:X { names: list<string> = [] }\n\
            route OPS:X => work\n\
            workflow work {\n  first = A.one()\n  parallel for n in [\"a\", \"b\"] {\n    A.two(name: n)\n  }\n  A.one()\n}\n";
        crate::syntax::parse(&SourceFile::new("t.ops", text))
            .playbook
            .expect("parses")
    }

    fn check(text: &str) -> Result<(), String> {
        resolve(&playbook(), &Target::parse(text)?).map(|agent| assert_eq!(agent, "A"))
    }

    #[test]
    fn targets_parse_and_print() {
        let t = Target::parse("release.push").unwrap();
        assert_eq!(t.step, StepSel::Binding("push".into()));
        assert_eq!(t.to_string(), "release.push");
        let t = Target::parse("audit.2[name = \"broken-skill\"]").unwrap();
        assert_eq!(t.step, StepSel::Position(2));
        assert_eq!(
            t.element,
            Some(ElementSel::Arg {
                name: "name".into(),
                value: "broken-skill".into()
            })
        );
        assert_eq!(t.to_string(), "audit.2[name=broken-skill]");
        let t = Target::parse("audit.2[title=\"a b\"]").unwrap();
        assert_eq!(t.to_string(), "audit.2[title=\"a b\"]");
        assert_eq!(
            Target::parse("audit.1[1.0]").unwrap().element,
            Some(ElementSel::Index("1.0".into()))
        );
        for bad in [
            "release",
            "release.0",
            "release.1x",
            "a.b[",
            "a.b[x.]",
            "a.b[=1]",
            ".b",
            "A.b.c",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sites_number_every_call_in_source_order() {
        let p = playbook();
        let mut ids: Vec<(String, Option<String>)> = sites(&p)
            .into_values()
            .map(|s| (s.id(), s.binding.map(|b| b.to_string())))
            .collect();
        ids.sort();
        assert_eq!(
            ids,
            vec![
                ("work.1".into(), Some("first".into())),
                ("work.2".into(), None),
                ("work.3".into(), None)
            ]
        );
    }

    #[test]
    fn every_name_is_resolved_with_help() {
        assert!(check("work.first").is_ok());
        assert!(check("work.3").is_ok());
        assert!(check("work.2[1]").is_ok());
        assert!(check("work.2[name=b]").is_ok());
        let err = check("wrok.first").unwrap_err();
        assert!(err.contains("did you mean `work`?"), "{err}");
        let err = check("work.frist").unwrap_err();
        assert!(err.contains("did you mean `work.first`?"), "{err}");
        let err = check("A.one").unwrap_err();
        assert!(err.contains("`A` is an agent"), "{err}");
        let err = check("work.4").unwrap_err();
        assert!(err.contains("has 3 task calls, so no step 4"), "{err}");
        let err = check("work.2[2]").unwrap_err();
        assert!(
            err.contains("out of range: the list has 2 elements"),
            "{err}"
        );
        let err = check("work.2[0.1]").unwrap_err();
        assert!(err.contains("index has 1 part"), "{err}");
        let err = check("work.2[nme=b]").unwrap_err();
        assert!(err.contains("did you mean `name`?"), "{err}");
        let err = check("work.3[0]").unwrap_err();
        assert!(err.contains("not inside a `parallel for`"), "{err}");
    }
}
