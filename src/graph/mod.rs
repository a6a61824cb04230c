//! A picture of a playbook's flow: one graph model, drawn as a Mermaid
//! flowchart, a Graphviz DOT graph or an inline SVG (the HTML report).
//!
//! Routes lead from signal patterns to their targets; each workflow is a
//! cluster whose steps run top to bottom, with `if` as a decision (edges
//! labelled `yes`/`no`), `parallel` as a fork and a join carrying the gate,
//! terminal statements as rounded ends, and dashed edges for handoffs (a
//! result used by a later step).

mod dot;
mod mermaid;
mod route;
mod scope;
mod svg;

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write;

use crate::ast::{
    Block, Call, Expr, Playbook, RouteTarget, StepOption, Stmt, StrLit, StrPart, Workflow,
};
use crate::source::SourceFile;

pub use dot::dot;
pub use mermaid::mermaid;
pub use scope::{Scope, ScopeError};
pub use svg::svg;

/// The shape of a node, after what it stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A route's pattern (hexagon).
    Route,
    /// An agent task (rectangle).
    Task,
    /// `run WORKFLOW` (subroutine).
    Run,
    /// `let` (parallelogram).
    Let,
    /// An `if` condition (diamond).
    Decision,
    /// The start of a `parallel` group (trapezoid).
    Fork,
    /// The gate that joins a `parallel` group (inverted trapezoid).
    Join,
    /// `approve` (flag).
    Approve,
    /// A terminal: complete, fail, abort, escalate, ignore (stadium).
    End,
}

/// What an edge means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EdgeKind {
    /// Control flow.
    Flow,
    /// A result handed to a later step (dashed).
    Handoff,
    /// The next route tried when one does not match (dotted).
    NoMatch,
}

/// A node: its id, shape and text lines.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// Unique id (`n1`, `n2`, …).
    pub id: String,
    /// Its shape.
    pub shape: Shape,
    /// Its text, one entry per line.
    pub lines: Vec<String>,
}

/// An edge between two nodes or from a node to a cluster (a workflow).
#[derive(Clone, Debug, PartialEq)]
pub struct Edge {
    /// Source node id.
    pub from: String,
    /// Target node or cluster id.
    pub to: String,
    /// Its label (`yes`, `no`, a handoff's `name.field`).
    pub label: Option<String>,
    /// What it means.
    pub kind: EdgeKind,
}

/// One item of the graph, in drawing order; clusters nest.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// A cluster opens (routes, a workflow, an `exclusive` block).
    Open {
        /// Its id (`routes`, `wf_NAME`, `xN`).
        id: String,
        /// Its title.
        title: String,
    },
    /// The innermost open cluster closes.
    Close,
    /// A node.
    Node(Node),
    /// An edge.
    Edge(Edge),
}

/// A playbook's flow as an ordered list of items.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Graph {
    /// The items in drawing order.
    pub items: Vec<Item>,
}

impl Graph {
    /// The nodes in order.
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.items.iter().filter_map(|i| match i {
            Item::Node(n) => Some(n),
            _ => None,
        })
    }

    /// The edges in order.
    pub fn edges(&self) -> impl Iterator<Item = &Edge> {
        self.items.iter().filter_map(|i| match i {
            Item::Edge(e) => Some(e),
            _ => None,
        })
    }

    /// Cluster id → the first node drawn inside it (where an edge to the
    /// cluster lands in formats without edges to clusters).
    pub fn cluster_entries(&self) -> HashMap<String, String> {
        let mut entries = HashMap::new();
        let mut open: Vec<String> = Vec::new();
        for item in &self.items {
            match item {
                Item::Open { id, .. } => open.push(id.clone()),
                Item::Close => {
                    open.pop();
                }
                Item::Node(n) => {
                    for c in &open {
                        entries.entry(c.clone()).or_insert_with(|| n.id.clone());
                    }
                }
                Item::Edge(_) => {}
            }
        }
        entries
    }
}

/// Builds the graph of `scope` of the playbook.
pub fn build(
    playbook: &Playbook,
    source: &SourceFile,
    scope: Scope<'_>,
) -> Result<Graph, ScopeError> {
    let (routes, roots): (Vec<usize>, Vec<String>) = match scope {
        Scope::All => (
            (0..playbook.routes().count()).collect(),
            playbook.workflows().map(|w| w.name.name.clone()).collect(),
        ),
        Scope::Workflow(name) => {
            if !playbook.workflows().any(|w| w.name.name == name) {
                return Err(ScopeError::UnknownWorkflow(name.to_string()));
            }
            (Vec::new(), vec![name.to_string()])
        }
        Scope::Signal(signal) => {
            let mut routes = Vec::new();
            let mut roots = Vec::new();
            for (index, route) in playbook.routes().enumerate() {
                if !route.pattern.matches(signal) {
                    continue;
                }
                routes.push(index);
                if let RouteTarget::Workflow(w) = &route.target {
                    roots.push(w.name.clone());
                }
                if route.guard.is_none() {
                    break;
                }
            }
            if routes.is_empty() {
                return Err(ScopeError::NoRoute(signal.to_string()));
            }
            (routes, roots)
        }
    };
    let drawn = scope::reachable(playbook, roots);
    let mut b = Builder {
        source,
        graph: Graph::default(),
        next: 0,
        producers: HashMap::new(),
        no_exits: BTreeSet::new(),
    };
    if !routes.is_empty() {
        b.routes(playbook, &routes);
    }
    for workflow in playbook.workflows() {
        if drawn.contains(&workflow.name.name) {
            b.workflow(workflow);
        }
    }
    Ok(b.graph)
}

struct Builder<'s> {
    source: &'s SourceFile,
    graph: Graph,
    next: usize,
    /// Binding name → node that produced it (within the current workflow).
    producers: HashMap<String, String>,
    /// Decisions whose "no" way leads to whatever follows the `if`.
    no_exits: BTreeSet<String>,
}

/// Source text on one line, runs of white space collapsed.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Builder<'_> {
    fn push(&mut self, item: Item) {
        self.graph.items.push(item);
    }

    fn open(&mut self, id: String, title: String) {
        self.push(Item::Open { id, title });
    }

    fn node(&mut self, shape: Shape, lines: Vec<String>) -> String {
        self.next += 1;
        let id = format!("n{}", self.next);
        self.push(Item::Node(Node {
            id: id.clone(),
            shape,
            lines,
        }));
        id
    }

    fn edge(&mut self, from: &str, to: &str, label: Option<&str>, kind: EdgeKind) {
        self.push(Item::Edge(Edge {
            from: from.to_string(),
            to: to.to_string(),
            label: label.map(str::to_string),
            kind,
        }));
    }

    /// A control-flow edge; one leaving a decision by its "no" way is so
    /// labelled.
    fn flow(&mut self, from: &str, to: &str, label: Option<&str>) {
        let label = label.or_else(|| self.no_exits.contains(from).then_some("no"));
        self.edge(from, to, label, EdgeKind::Flow);
    }

    /// An expression as written, but an escaped quote inside a string
    /// shown as the quote it stands for (`\"` reads `"`), as messages are.
    fn text(&self, expr: &Expr) -> String {
        one_line(&self.source.slice(expr.span).replace("\\\"", "\""))
    }

    /// A string literal as it reads: escapes decoded, `{expr}` kept.
    fn string(&self, s: &StrLit) -> String {
        let mut out = String::new();
        for part in &s.parts {
            match part {
                StrPart::Text { text } => out.push_str(text),
                StrPart::Interpolation { expr } => {
                    let _ = write!(out, "{{{}}}", self.text(expr));
                }
            }
        }
        one_line(&out)
    }

    fn routes(&mut self, playbook: &Playbook, indices: &[usize]) {
        self.open("routes".into(), "routes (first match wins)".into());
        let mut previous: Option<String> = None;
        for (index, route) in playbook.routes().enumerate() {
            if !indices.contains(&index) {
                continue;
            }
            let mut text = crate::runtime::routing::pattern_text(&route.pattern);
            if let Some(l) = &route.label {
                text = format!("{}: {text}", l.name);
            }
            if let Some(g) = &route.guard {
                let _ = write!(text, " when {}", self.text(g));
            }
            let id = self.node(Shape::Route, vec![text]);
            if let Some(p) = &previous {
                self.edge(p, &id, Some("no match"), EdgeKind::NoMatch);
            }
            let target = match &route.target {
                RouteTarget::Workflow(w) => Some(format!("wf_{}", w.name)),
                RouteTarget::Task(call) => {
                    Some(self.node(Shape::Task, vec![call_text(None, call)]))
                }
                RouteTarget::Ignore { .. } => Some(self.node(Shape::End, vec!["IGNORED".into()])),
                RouteTarget::Escalate(e) => {
                    let text = format!("ESCALATE {}: {}", e.kind.name, self.string(&e.title));
                    Some(self.node(Shape::End, vec![text]))
                }
            };
            if let Some(t) = target {
                self.flow(&id, &t, None);
            }
            previous = Some(id);
        }
        self.push(Item::Close);
    }

    fn workflow(&mut self, workflow: &Workflow) {
        self.producers.clear();
        let mut title = format!("workflow {}", workflow.name.name);
        if let Some(t) = &workflow.timeout {
            let _ = write!(
                title,
                " (timeout {})",
                crate::analysis::policy::format_duration(t.millis)
            );
        }
        self.open(format!("wf_{}", workflow.name.name), title);
        self.block(&workflow.body);
        self.push(Item::Close);
    }

    /// Draws a block; returns its entry and exit nodes.
    fn block(&mut self, block: &Block) -> (Vec<String>, Vec<String>) {
        let mut entries: Vec<String> = Vec::new();
        let mut exits: Vec<String> = Vec::new();
        let mut started = false;
        for stmt in &block.stmts {
            let (e, x) = self.stmt(stmt);
            if e.is_empty() {
                continue;
            }
            if started {
                for from in &exits {
                    for to in &e {
                        self.flow(from, to, None);
                    }
                }
            } else {
                entries = e;
                started = true;
            }
            exits = x;
        }
        (entries, exits)
    }

    fn handoffs(&mut self, to: &str, exprs: &[&Expr]) {
        let mut seen = Vec::new();
        for expr in exprs {
            expr.visit_paths(&mut |segments| {
                if let [root, field, ..] = segments {
                    let key = format!("{}.{}", root.name, field.name);
                    if self.producers.contains_key(&root.name) && !seen.contains(&key) {
                        seen.push(key);
                    }
                }
            });
        }
        for key in seen {
            let root = key.split('.').next().unwrap_or_default().to_string();
            if let Some(from) = self.producers.get(&root).cloned() {
                self.edge(&from, to, Some(&key), EdgeKind::Handoff);
            }
        }
    }

    /// A single node that is both the entry and the exit.
    fn one(id: String) -> (Vec<String>, Vec<String>) {
        (vec![id.clone()], vec![id])
    }

    fn stmt(&mut self, stmt: &Stmt) -> (Vec<String>, Vec<String>) {
        match stmt {
            Stmt::Call(c) => {
                let mut lines = vec![call_text(
                    c.binding.as_ref().map(|b| b.name.as_str()),
                    &c.call,
                )];
                for option in &c.options {
                    match option {
                        StepOption::When(e) => lines.push(format!("when {}", self.text(e))),
                        StepOption::Critical { .. } => lines.push("critical".into()),
                        StepOption::Lock(l) => lines.push(format!("lock {}", l.name)),
                        StepOption::Handler(h) => lines.push(format!("on {}", h.event.name)),
                        _ => {}
                    }
                }
                let id = self.node(Shape::Task, lines);
                let args: Vec<&Expr> = c.call.args.iter().map(|a| &a.value).collect();
                self.handoffs(&id, &args);
                if let Some(b) = &c.binding {
                    self.producers.insert(b.name.clone(), id.clone());
                }
                Self::one(id)
            }
            Stmt::Run(r) => {
                let id = self.node(Shape::Run, vec![format!("run {}", r.workflow.name)]);
                if let Some(b) = &r.binding {
                    self.producers.insert(b.name.clone(), id.clone());
                }
                Self::one(id)
            }
            Stmt::Let(l) => {
                let text = format!("let {} = {}", l.name.name, self.text(&l.value));
                let id = self.node(Shape::Let, vec![text]);
                self.handoffs(&id, &[&l.value]);
                self.producers.insert(l.name.name.clone(), id.clone());
                Self::one(id)
            }
            Stmt::If(i) => self.if_stmt(i),
            Stmt::Parallel(p) => self.parallel(p),
            Stmt::Exclusive(x) => {
                self.next += 1;
                self.open(
                    format!("x{}", self.next),
                    format!("exclusive {}", x.lock.name),
                );
                let ends = self.block(&x.body);
                self.push(Item::Close);
                ends
            }
            Stmt::Approve(a) => {
                let text = format!("approve {}: {}", a.name.name, self.string(&a.message));
                let id = self.node(Shape::Approve, vec![text]);
                self.producers.insert(a.name.name.clone(), id.clone());
                Self::one(id)
            }
            Stmt::Complete(c) => {
                let text = c.summary.as_ref().map_or_else(
                    || "COMPLETE".to_string(),
                    |s| format!("COMPLETE: {}", self.string(s)),
                );
                let id = self.node(Shape::End, vec![text]);
                let payload: Vec<&Expr> = c.payload.iter().collect();
                self.handoffs(&id, &payload);
                (vec![id], Vec::new())
            }
            Stmt::Fail(f) => {
                let text = format!("FAIL: {}", self.string(&f.message));
                (vec![self.node(Shape::End, vec![text])], Vec::new())
            }
            Stmt::Abort(a) => {
                let text = format!("ABORT: {}", self.string(&a.reason));
                (vec![self.node(Shape::End, vec![text])], Vec::new())
            }
            Stmt::Escalate(e) => {
                let text = format!("ESCALATE {}: {}", e.kind.name, self.string(&e.title));
                (vec![self.node(Shape::End, vec![text])], Vec::new())
            }
        }
    }

    /// Each condition is a decision: `yes` into its block, `no` to the next
    /// condition, the `else` block or (without `else`) what follows.
    fn if_stmt(&mut self, i: &crate::ast::IfStmt) -> (Vec<String>, Vec<String>) {
        let mut entries = Vec::new();
        let mut exits = Vec::new();
        let mut previous: Option<String> = None;
        for branch in &i.branches {
            let id = self.node(Shape::Decision, vec![self.text(&branch.condition)]);
            match &previous {
                Some(p) => self.flow(p, &id, Some("no")),
                None => entries.push(id.clone()),
            }
            let (e, x) = self.block(&branch.block);
            for to in &e {
                self.flow(&id, to, Some("yes"));
            }
            if e.is_empty() {
                exits.push(id.clone());
            }
            exits.extend(x);
            previous = Some(id);
        }
        if let Some(p) = previous {
            match &i.else_block {
                Some(block) => {
                    let (e, x) = self.block(block);
                    for to in &e {
                        self.flow(&p, to, Some("no"));
                    }
                    if e.is_empty() {
                        exits.push(p);
                    }
                    exits.extend(x);
                }
                None => {
                    // Whatever follows is reached by the "no" edge.
                    self.no_exits.insert(p.clone());
                    exits.push(p);
                }
            }
        }
        (entries, exits)
    }

    fn parallel(&mut self, p: &crate::ast::ParallelStmt) -> (Vec<String>, Vec<String>) {
        let mut title = match &p.label {
            Some(label) => format!("parallel {}", label.name),
            None => "parallel".to_string(),
        };
        if let Some(each) = &p.each {
            let _ = write!(
                title,
                " for {} in {}",
                each.var.name,
                self.text(&each.iterable)
            );
        }
        if let Some(t) = &p.timeout {
            let _ = write!(
                title,
                " timeout {}",
                crate::analysis::policy::format_duration(t.millis)
            );
        }
        let fork = self.node(Shape::Fork, vec![title]);
        let gate = p.gate.as_ref().map_or_else(
            || "gate (default)".to_string(),
            |g| format!("gate {}", g.rule),
        );
        let mut ends = Vec::new();
        for branch in &p.body.stmts {
            let (e, x) = self.stmt(branch);
            for to in &e {
                self.flow(&fork, to, None);
            }
            ends.extend(x);
        }
        let join = self.node(Shape::Join, vec![gate]);
        for from in &ends {
            self.flow(from, &join, None);
        }
        (vec![fork], vec![join])
    }
}

fn call_text(binding: Option<&str>, call: &Call) -> String {
    match binding {
        Some(b) => format!("{b} = {}.{}", call.agent.name, call.task.name),
        None => format!("{}.{}", call.agent.name, call.task.name),
    }
}
