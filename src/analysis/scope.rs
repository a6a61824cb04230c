//! The rule scopes: what `step.*` and `gate.*` hold in handlers and
//! escalation rules, and where each field is set. One definition: `check`
//! accepts a field only where every place the handler can run sets it, and
//! the runtime builds each object from the same table, so anything `check`
//! accepts has a value at run time. To add a field, add a row to [`FIELDS`]
//! and give it a value in the runtime builder for each of its sites.

use serde_json::{Map, Value};

use crate::ast::{Block, Ident, Playbook, Stmt};
use crate::diagnostics::{codes, Diagnostic};

use super::suggest;
use super::types::Ty;

/// A place where a handler or rule runs, each with its own `step` / `gate`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Site {
    /// After an agent step: an attempt failed or timed out, or the step
    /// failed for good (`failure`, `timeout`, `exhausted`).
    Step,
    /// A workflow ran out of time (`timeout`, rules only).
    WorkflowTimeout,
    /// An approval was denied or got no decision in time (`denied`, `timeout`).
    Approval,
    /// A `parallel` group failed its gate (`gate_failed`, rules only).
    GateFailed,
}

impl Site {
    /// Every site, in the order the reference lists them.
    pub const ALL: [Site; 4] = [
        Site::Step,
        Site::WorkflowTimeout,
        Site::Approval,
        Site::GateFailed,
    ];

    /// When it happens, for messages ("… when a workflow times out").
    pub fn when(self) -> &'static str {
        match self {
            Site::Step => "after an agent step fails",
            Site::WorkflowTimeout => "when a workflow times out",
            Site::Approval => "when an approval is denied or times out",
            Site::GateFailed => "when a group fails its gate",
        }
    }
}

impl Site {
    /// Its name in the reference's field table.
    pub fn short(self) -> &'static str {
        match self {
            Site::Step => "steps",
            Site::WorkflowTimeout => "workflow timeouts",
            Site::Approval => "approvals",
            Site::GateFailed => "`gate_failed`",
        }
    }
}

/// The reference's table row for a field (docs/language.md §10 holds one
/// per field, checked by a test).
pub fn reference_row(field: &Field) -> String {
    let sites: Vec<&str> = field.sites.iter().map(|s| s.short()).collect();
    format!(
        "| `{}.{}` | {} | {} | {} |",
        field.object.name(),
        field.name,
        field.ty.name(),
        field.meaning,
        sites.join(", ")
    )
}

/// The built-in objects of handlers and rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Object {
    /// `step`: what failed.
    Step,
    /// `gate`: the group whose gate failed.
    Gate,
}

impl Object {
    /// Its name in playbooks.
    pub fn name(self) -> &'static str {
        match self {
            Object::Step => "step",
            Object::Gate => "gate",
        }
    }
}

/// The type of a field's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldType {
    /// A string.
    Str,
    /// An integer.
    Int,
    /// A boolean.
    Bool,
}

impl FieldType {
    /// Its name in the reference.
    pub fn name(self) -> &'static str {
        match self {
            FieldType::Str => "string",
            FieldType::Int => "int",
            FieldType::Bool => "bool",
        }
    }
}

/// One field of a built-in object.
#[derive(Clone, Copy, Debug)]
pub struct Field {
    /// `step` or `gate`.
    pub object: Object,
    /// The field's name.
    pub name: &'static str,
    /// The type of its value.
    pub ty: FieldType,
    /// What it holds, one line (the reference's table is checked against it).
    pub meaning: &'static str,
    /// Where it is set.
    pub sites: &'static [Site],
}

const STEP_ALL: &[Site] = &[Site::Step, Site::WorkflowTimeout, Site::Approval];
const STEP_AND_APPROVAL: &[Site] = &[Site::Step, Site::Approval];
const STEP_ONLY: &[Site] = &[Site::Step];
const GATE: &[Site] = &[Site::GateFailed];

/// Every field of `step` and `gate`.
pub const FIELDS: &[Field] = &[
    step(
        "name",
        FieldType::Str,
        STEP_ALL,
        "the step's binding (or `AGENT.task`), the workflow's or the approval's name",
    ),
    step(
        "target",
        FieldType::Str,
        STEP_ALL,
        "what ran: `AGENT.task`, `workflow NAME` or `approval NAME`",
    ),
    step("agent", FieldType::Str, STEP_ONLY, "the agent called"),
    step("task", FieldType::Str, STEP_ONLY, "the task called"),
    step(
        "kind",
        FieldType::Str,
        STEP_ALL,
        "the failure kind (`timeout` for timeouts, `denied` for a denied approval)",
    ),
    step("error", FieldType::Str, STEP_ALL, "the failure message"),
    step(
        "attempts",
        FieldType::Int,
        STEP_AND_APPROVAL,
        "attempts made so far (1 for an approval)",
    ),
    step(
        "critical",
        FieldType::Bool,
        STEP_ALL,
        "the step is `critical` (always true for a workflow, false for an approval)",
    ),
    step(
        "timeout",
        FieldType::Str,
        STEP_ALL,
        "its time limit, e.g. `30s`",
    ),
    step(
        "duration",
        FieldType::Str,
        STEP_ALL,
        "how long it ran, e.g. `1m5s`",
    ),
    gate(
        "group",
        FieldType::Str,
        "the group: its label, or `WORKFLOW#N` (the Nth `parallel` of the workflow)",
    ),
    gate("workflow", FieldType::Str, "the workflow the group is in"),
    gate("successes", FieldType::Int, "branches that succeeded"),
    gate(
        "failures",
        FieldType::Int,
        "branches that failed or timed out",
    ),
    gate(
        "skipped",
        FieldType::Int,
        "branches skipped by a false `when` (not counted)",
    ),
    gate(
        "counted",
        FieldType::Int,
        "branches counted: successes + failures",
    ),
    gate("total", FieldType::Int, "all branches"),
    gate(
        "threshold",
        FieldType::Str,
        "the gate, e.g. `80%`, `tolerate 1` or `at least 2`",
    ),
    gate(
        "ratio",
        FieldType::Str,
        "the gate line, e.g. `FAILED (2/3 = 66.7% < 80%)`",
    ),
    gate(
        "decided_at",
        FieldType::Str,
        "`k/n` when decided before every branch finished, else empty",
    ),
    gate(
        "cancelled",
        FieldType::Int,
        "branches an early decision (`stop when`) cancelled",
    ),
];

const fn step(
    name: &'static str,
    ty: FieldType,
    sites: &'static [Site],
    meaning: &'static str,
) -> Field {
    Field {
        object: Object::Step,
        name,
        ty,
        meaning,
        sites,
    }
}

const fn gate(name: &'static str, ty: FieldType, meaning: &'static str) -> Field {
    Field {
        object: Object::Gate,
        name,
        ty,
        meaning,
        sites: GATE,
    }
}

/// The fields of `object`, in the reference's order.
pub fn fields(object: Object) -> impl Iterator<Item = &'static Field> + Clone {
    FIELDS.iter().filter(move |f| f.object == object)
}

/// The field `object.name`, if it exists anywhere.
pub fn field(object: Object, name: &str) -> Option<&'static Field> {
    fields(object).find(|f| f.name == name)
}

/// The fields of `object` set at every one of `sites`.
pub fn available(object: Object, sites: &[Site]) -> impl Iterator<Item = &'static Field> + '_ {
    fields(object).filter(move |f| sites.iter().all(|s| f.sites.contains(s)))
}

/// Where a handler is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Written {
    /// After an agent step.
    Step,
    /// After `approve`.
    Approval,
    /// At top level (an escalation rule).
    Rule,
}

/// What in a playbook decides where its rules can run.
#[derive(Clone, Copy, Debug, Default)]
pub struct Present {
    /// Some workflow has a `timeout`.
    pub workflow_timeout: bool,
    /// Some workflow has an `approve`.
    pub approval: bool,
}

impl Present {
    /// Scans the playbook once.
    pub fn of(playbook: &Playbook) -> Self {
        let mut present = Present::default();
        for workflow in playbook.workflows() {
            present.workflow_timeout |= workflow.timeout.is_some();
            workflow.body.walk(&mut |s| {
                present.approval |= matches!(s, Stmt::Approve(_));
            });
        }
        present
    }
}

/// The sites a handler for `event` (narrowed to `kinds`, if any) runs at.
pub fn sites(written: Written, event: &str, kinds: &[&str], present: Present) -> Vec<Site> {
    let timeout_kind = kinds.is_empty() || kinds.contains(&"timeout");
    match (written, event) {
        (Written::Step, "failure" | "timeout" | "exhausted") => vec![Site::Step],
        (Written::Approval, "denied" | "timeout") => vec![Site::Approval],
        (Written::Rule, "exhausted") => vec![Site::Step],
        (Written::Rule, "denied") => vec![Site::Approval],
        (Written::Rule, "gate_failed") => vec![Site::GateFailed],
        // `on failure` rules also see timeouts, of steps, workflows and approvals.
        (Written::Rule, "failure" | "timeout") => {
            let mut sites = vec![Site::Step];
            if present.workflow_timeout && timeout_kind {
                sites.push(Site::WorkflowTimeout);
            }
            if present.approval && timeout_kind {
                sites.push(Site::Approval);
            }
            sites
        }
        _ => Vec::new(),
    }
}

/// Builds `object` as seen at `site`: every field the table sets there,
/// valued by `value` (which must know each of them).
pub fn build(object: Object, site: Site, value: impl Fn(&str) -> Value) -> Value {
    let mut map = Map::new();
    for field in fields(object).filter(|f| f.sites.contains(&site)) {
        let v = value(field.name);
        debug_assert!(
            !v.is_null(),
            "{}.{} has no value at {site:?}",
            object.name(),
            field.name
        );
        map.insert(field.name.to_string(), v);
    }
    Value::Object(map)
}

/// The name of the group at `position` (1-based, in source order) of
/// `workflow`: its label if it has one, else `WORKFLOW#N`.
pub fn group_name(workflow: &str, label: Option<&str>, position: usize) -> String {
    match label {
        Some(label) => label.to_string(),
        None => format!("{workflow}#{position}"),
    }
}

/// Every `parallel` group of a workflow body with its name, in source order
/// (keyed by where the group starts).
pub fn group_names(workflow: &str, body: &Block) -> Vec<(usize, String)> {
    let mut names = Vec::new();
    body.walk(&mut |s| {
        if let Stmt::Parallel(p) = s {
            let label = p.label.as_ref().map(|l| l.name.as_str());
            names.push((p.span.start, group_name(workflow, label, names.len() + 1)));
        }
    });
    names
}

/// A field of `step` or `gate`: it must exist, and be set everywhere the
/// handler can run.
pub fn field_type(
    root: &Ident,
    object: Object,
    sites: &[Site],
    segments: &[Ident],
    out: &mut Vec<Diagnostic>,
) -> Ty {
    let Some(named) = segments.get(1) else {
        return Ty::Map;
    };
    let Some(def) = field(object, &named.name) else {
        out.push(
            Diagnostic::error(
                codes::CHECK_UNDEFINED_FIELD,
                format!("`{}` has no field `{}`", root.name, named.name),
            )
            .with_primary(named.span, "unknown field")
            .with_help(suggest::help(
                &named.name,
                "field",
                fields(object).map(|f| f.name).collect::<Vec<_>>(),
            )),
        );
        return Ty::Any;
    };
    if let Some(missing) = sites.iter().find(|s| !def.sites.contains(s)) {
        let here: Vec<String> = [Object::Step, Object::Gate]
            .into_iter()
            .flat_map(|o| available(o, sites).map(move |f| (o, f)))
            .map(|(o, f)| format!("`{}.{}`", o.name(), f.name))
            .collect();
        let where_set: Vec<&str> = def.sites.iter().map(|s| s.when()).collect();
        let message = if available(object, sites).next().is_none() {
            format!("`{}` has no value {}", root.name, missing.when())
        } else {
            format!(
                "`{}.{}` has no value {}, and this handler also runs then",
                root.name,
                named.name,
                missing.when()
            )
        };
        out.push(
            Diagnostic::error(codes::CHECK_FIELD_UNAVAILABLE, message)
                .with_primary(named.span, format!("set only {}", where_set.join(", or ")))
                .with_help(format!(
                    "set everywhere this handler runs: {}",
                    here.join(", ")
                )),
        );
        return Ty::Any;
    }
    if segments.len() > 2 {
        return Ty::Any;
    }
    match def.ty {
        FieldType::Str => Ty::Str,
        FieldType::Int => Ty::Int,
        FieldType::Bool => Ty::Bool,
    }
}

/// A guard comparing `gate.group` with a string that names no group of the
/// playbook (`gate.group == "audti"`): the rule could never fire for it.
/// `groups` is sorted (a binary search per name).
pub fn unknown_groups(guard: &crate::ast::Expr, groups: &[String], out: &mut Vec<Diagnostic>) {
    use crate::ast::{BinaryOp, ExprKind};
    let is_group = |e: &crate::ast::Expr| {
        matches!(&e.kind, ExprKind::Path { segments }
            if segments.len() == 2 && segments[0].name == "gate" && segments[1].name == "group")
    };
    let mut named: Vec<&crate::ast::Expr> = Vec::new();
    match &guard.kind {
        ExprKind::Binary { op, lhs, rhs } => {
            match op {
                BinaryOp::Eq | BinaryOp::Ne if is_group(lhs) => named.push(rhs),
                BinaryOp::Eq | BinaryOp::Ne if is_group(rhs) => named.push(lhs),
                BinaryOp::In if is_group(lhs) => {
                    if let ExprKind::List { items } = &rhs.kind {
                        named.extend(items.iter());
                    }
                }
                _ => {}
            }
            unknown_groups(lhs, groups, out);
            unknown_groups(rhs, groups, out);
        }
        ExprKind::Unary { operand, .. } => unknown_groups(operand, groups, out),
        _ => {}
    }
    for expr in named {
        let ExprKind::Str { value } = &expr.kind else {
            continue;
        };
        let Some(name) = value.as_plain() else {
            continue;
        };
        if groups.binary_search(&name).is_ok() {
            continue;
        }
        out.push(
            Diagnostic::error(
                codes::CHECK_UNDEFINED_REFERENCE,
                format!("no `parallel` group is named `{name}`"),
            )
            .with_primary(expr.span, "not a group of this playbook")
            .with_help(suggest::help(
                &name,
                "group",
                groups.iter().map(String::as_str),
            )),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_is_set_somewhere_and_named_once() {
        for f in FIELDS {
            assert!(!f.sites.is_empty(), "{}", f.name);
            assert_eq!(
                FIELDS
                    .iter()
                    .filter(|g| g.object == f.object && g.name == f.name)
                    .count(),
                1
            );
        }
    }

    #[test]
    fn rules_see_the_intersection_of_their_sites() {
        let all = Present {
            workflow_timeout: true,
            approval: true,
        };
        let names = |sites: &[Site]| -> Vec<&str> {
            available(Object::Step, sites).map(|f| f.name).collect()
        };
        let timeout = sites(Written::Rule, "timeout", &[], all);
        assert_eq!(timeout, Site::ALL[..3]);
        assert!(!names(&timeout).contains(&"agent"));
        assert!(names(&timeout).contains(&"target"));
        // Kinds other than `timeout` rule out workflows and approvals.
        let narrowed = sites(Written::Rule, "failure", &["conflict"], all);
        assert_eq!(narrowed, [Site::Step]);
        assert!(names(&narrowed).contains(&"agent"));
        // Without workflow timeouts or approvals, a timeout rule sees steps only.
        let plain = sites(Written::Rule, "timeout", &[], Present::default());
        assert_eq!(plain, [Site::Step]);
        assert_eq!(
            sites(Written::Rule, "gate_failed", &[], all),
            [Site::GateFailed]
        );
        assert_eq!(available(Object::Step, &[Site::GateFailed]).count(), 0);
    }

    #[test]
    fn build_sets_exactly_the_fields_of_the_site() {
        let v = build(Object::Step, Site::Approval, |name| {
            Value::String(name.into())
        });
        let keys: Vec<&str> = v
            .as_object()
            .map_or(Vec::new(), |m| m.keys().map(String::as_str).collect());
        let expected: Vec<&str> = available(Object::Step, &[Site::Approval])
            .map(|f| f.name)
            .collect();
        let mut sorted = expected.clone();
        sorted.sort_unstable();
        assert_eq!(keys, sorted);
    }
}
