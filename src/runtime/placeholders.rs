//! The outputs the simulated backend answers when a scenario gives none.
//!
//! Each output field gets a list of candidate values and takes the first
//! under which no quality check of the task that reads the field is `false`
//! (or reads a field the reply lacks); when none passes, the first candidate. Fields are settled
//! one at a time, in order (agent-level declarations first), each with the
//! earlier fields already chosen and the later ones at their first candidate.
//!
//! Candidates by declared type:
//! - first, for every type, the call's argument of the same name when it
//!   has the declared type (`push(branch: "feature")` answers
//!   `branch = "feature"`);
//! - `string`: the placeholder `TASK-FIELD-ATTEMPT` (`commit-hash-1`), then,
//!   for each regex a check
//!   matches the field against, the placeholder followed by an example of
//!   the regex and the example alone (`output.message ~ /feat: .+/`; `~`
//!   matches the whole string, so usually only the example alone fits);
//! - `bool`: `true`, `false`; `int`: `0`, `1`; `percent`: `100`, `0`;
//!   `duration`: `"1s"`;
//! - `list<T>`: a list of one `T` (its first candidate); `list`: `[]`;
//!   `map`: `{}`;
//! - undeclared fields (a task without `outputs`, for the fields the
//!   playbook or its checks read): the argument of the same name (any
//!   value), the string candidates, then `true`, `false`, `0`, `1`.

use regex_syntax::hir::{Class, Hir, HirKind};
use serde_json::{json, Map, Value};

use crate::ast::{merged_fields, Agent, BinaryOp, Check, Expr, ExprKind, TaskDecl, TypeRef};

use super::eval::{eval, Scope};

/// What the simulated backend knows of one task.
#[derive(Clone, Debug, Default)]
pub struct TaskModel {
    /// Output fields in order, with their declared type (`None`: undeclared).
    pub fields: Vec<(String, Option<TypeRef>)>,
    /// The task's quality checks, agent-level ones first.
    pub checks: Vec<Check>,
}

impl TaskModel {
    /// The model of `agent.task`; `read` are the fields the playbook reads
    /// from its results (used when the task declares no outputs).
    pub fn new(agent: &Agent, task: &TaskDecl, read: &[String]) -> Self {
        let checks: Vec<Check> = agent.checks.iter().chain(&task.checks).cloned().collect();
        let fields = match merged_fields(agent, task) {
            Some(declared) => declared
                .into_iter()
                .map(|f| (f.name.name.clone(), Some(f.ty.clone())))
                .collect(),
            None => {
                let mut names: Vec<String> = read.to_vec();
                for check in &checks {
                    check.condition.visit_paths(&mut |segments| {
                        if let [root, field, ..] = segments {
                            if root.name == "output" && !names.contains(&field.name) {
                                names.push(field.name.clone());
                            }
                        }
                    });
                }
                names.into_iter().map(|n| (n, None)).collect()
            }
        };
        TaskModel { fields, checks }
    }

    /// The default outputs of attempt `attempt` called with `args`.
    pub fn outputs(
        &self,
        task: &str,
        attempt: u32,
        args: &Map<String, Value>,
    ) -> Map<String, Value> {
        if self.fields.is_empty() {
            return Map::new();
        }
        let candidates: Vec<Vec<Value>> = self
            .fields
            .iter()
            .map(|(name, ty)| {
                let placeholder = format!("{task}-{name}-{attempt}");
                let regexes = self.regexes(name);
                candidates(ty.as_ref(), &placeholder, args.get(name), &regexes)
            })
            .collect();
        let mut outputs: Map<String, Value> = self
            .fields
            .iter()
            .zip(&candidates)
            .filter_map(|((name, _), c)| Some((name.clone(), c.first()?.clone())))
            .collect();
        let scope = Scope::default().with("task", Value::String(task.to_string()));
        for ((name, _), options) in self.fields.iter().zip(&candidates) {
            let passing = options.iter().find(|value| {
                let mut trial = outputs.clone();
                trial.insert(name.clone(), (*value).clone());
                self.checks_pass(&trial, &scope, name)
            });
            if let Some(value) = passing {
                outputs.insert(name.clone(), value.clone());
            }
        }
        outputs
    }

    /// Whether every check that reads `output.FIELD` passes on `outputs`.
    fn checks_pass(&self, outputs: &Map<String, Value>, scope: &Scope, field: &str) -> bool {
        let scope = scope.with("output", Value::Object(outputs.clone()));
        self.checks.iter().all(|check| {
            let (mut complete, mut reads) = (true, false);
            check.condition.visit_paths(&mut |segments| {
                if let [root, f, ..] = segments {
                    if root.name == "output" {
                        reads |= f.name == field;
                        complete &= outputs.get(&f.name).is_some_and(|v| !v.is_null());
                    }
                }
            });
            !reads || (complete && eval(&check.condition, &scope) != Value::Bool(false))
        })
    }

    /// Regexes the checks match `output.NAME` against.
    fn regexes(&self, name: &str) -> Vec<String> {
        let mut found = Vec::new();
        for check in &self.checks {
            regexes_in(&check.condition, name, &mut found);
        }
        found
    }
}

fn regexes_in(expr: &Expr, name: &str, found: &mut Vec<String>) {
    match &expr.kind {
        ExprKind::Binary { op, lhs, rhs } => {
            if *op == BinaryOp::Match {
                let reads = matches!(&lhs.kind, ExprKind::Path { segments }
                    if segments.len() == 2 && segments[0].name == "output" && segments[1].name == name);
                if let (true, ExprKind::Regex { pattern }) = (reads, &rhs.kind) {
                    found.push(pattern.clone());
                }
            }
            regexes_in(lhs, name, found);
            regexes_in(rhs, name, found);
        }
        ExprKind::Unary { operand, .. } => regexes_in(operand, name, found),
        _ => {}
    }
}

fn candidates(
    ty: Option<&TypeRef>,
    placeholder: &str,
    arg: Option<&Value>,
    regexes: &[String],
) -> Vec<Value> {
    let strings = || {
        let mut out = vec![Value::String(placeholder.to_string())];
        for example in regexes.iter().filter_map(|r| example(r)) {
            out.push(Value::String(format!("{placeholder} {example}")));
            out.push(Value::String(example));
        }
        out
    };
    let Some(ty) = ty else {
        let mut out: Vec<Value> = arg.cloned().into_iter().collect();
        out.extend(strings());
        out.extend([json!(true), json!(false), json!(0), json!(1)]);
        return out;
    };
    let scalar = |name: &str| -> Vec<Value> {
        match name {
            "string" => strings(),
            "bool" => vec![json!(true), json!(false)],
            "int" => vec![json!(0), json!(1)],
            "percent" => vec![json!(100), json!(0)],
            "duration" => vec![json!("1s")],
            "list" => vec![json!([])],
            "map" => vec![json!({})],
            _ => vec![Value::String(placeholder.to_string())],
        }
    };
    let mut out: Vec<Value> = arg
        .filter(|a| super::outputs::fits(ty, a))
        .cloned()
        .into_iter()
        .collect();
    match (ty.name.name.as_str(), &ty.element) {
        ("list", Some(element)) => {
            let one = scalar(&element.name).into_iter().next();
            out.push(Value::Array(one.into_iter().collect()));
        }
        (name, _) => out.extend(scalar(name)),
    }
    out
}

/// A short string the regex matches, if one is easy to find.
pub fn example(pattern: &str) -> Option<String> {
    let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
    let mut out = String::new();
    write_example(&hir, &mut out, 0)?;
    let re = crate::analysis::regexes::anchored(pattern).ok()?;
    re.is_match(&out).then_some(out)
}

/// Examples longer than this are given up (nested repetitions grow fast).
const MAX_EXAMPLE: usize = 200;

fn write_example(hir: &Hir, out: &mut String, depth: usize) -> Option<()> {
    if depth > 64 || out.len() > MAX_EXAMPLE {
        return None;
    }
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => {}
        HirKind::Literal(lit) => out.push_str(std::str::from_utf8(&lit.0).ok()?),
        HirKind::Class(Class::Unicode(class)) => {
            let nice = ['a', '0', ' ', '-'];
            let has = |c: char| {
                class
                    .ranges()
                    .iter()
                    .any(|r| r.start() <= c && c <= r.end())
            };
            let c = nice
                .into_iter()
                .find(|c| has(*c))
                .or_else(|| class.ranges().first().map(|r| r.start()))?;
            out.push(c);
        }
        HirKind::Class(Class::Bytes(class)) => {
            let b = class.ranges().first()?.start();
            out.push(char::from(b));
        }
        HirKind::Repetition(rep) => {
            // Past MAX_EXAMPLE + 1 repetitions a non-empty piece is too long
            // anyway, and an empty one adds nothing: the cap changes no answer.
            let times = rep
                .min
                .min(u32::try_from(MAX_EXAMPLE + 1).unwrap_or(u32::MAX));
            for _ in 0..times {
                write_example(&rep.sub, out, depth + 1)?;
            }
        }
        HirKind::Capture(cap) => write_example(&cap.sub, out, depth + 1)?,
        HirKind::Concat(parts) => {
            for part in parts {
                write_example(part, out, depth + 1)?;
            }
        }
        HirKind::Alternation(alts) => write_example(alts.first()?, out, depth + 1)?,
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_examples_match() {
        assert_eq!(example("AI").as_deref(), Some("AI"));
        assert_eq!(
            example(r"^(feat|fix|docs)(\([a-z0-9_-]+\))?!?: .+").as_deref(),
            Some("feat: a")
        );
        assert_eq!(example(r"^v[0-9]+\.[0-9]+$").as_deref(), Some("v0.0"));
        assert_eq!(example("("), None);
        assert_eq!(example("((((a{16}){16}){16}){16}){16}"), None);
        // A git hash: more than 16 repetitions.
        assert_eq!(example("^[0-9a-f]{40}$").map(|e| e.len()), Some(40));
        assert_eq!(example("a{300}"), None);
        assert_eq!(example("(?:){4000000000}x").as_deref(), Some("x"));
    }
}
