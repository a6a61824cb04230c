//! A picture of a playbook's flow, as a Mermaid flowchart.
//!
//! Routes lead from signal patterns to their targets; each workflow is a
//! subgraph whose steps run top to bottom, with `if` as a decision,
//! `parallel` as a fork and a join carrying the gate, terminal statements as
//! rounded ends, and dashed edges for handoffs (a result used by a later step).

use std::collections::HashMap;
use std::fmt::Write;

use crate::ast::{Block, Call, Expr, Playbook, RouteTarget, StepOption, Stmt, StrLit, Workflow};
use crate::source::SourceFile;

/// Renders the playbook as a Mermaid `flowchart`.
pub fn mermaid(playbook: &Playbook, source: &SourceFile) -> String {
    let mut g = Graph {
        source,
        out: String::new(),
        next: 0,
        producers: HashMap::new(),
    };
    g.line("flowchart TD");
    let workflow_ids: HashMap<&str, String> = playbook
        .workflows()
        .map(|w| (w.name.name.as_str(), format!("wf_{}", w.name.name)))
        .collect();
    g.routes(playbook, &workflow_ids);
    for workflow in playbook.workflows() {
        g.workflow(workflow);
    }
    g.out
}

struct Graph<'s> {
    source: &'s SourceFile,
    out: String,
    next: usize,
    /// Binding name → node that produced it (within the current workflow).
    producers: HashMap<String, String>,
}

/// Quotes a label for Mermaid.
fn label(text: &str) -> String {
    let escaped = text.replace('"', "#quot;").replace('\n', " ");
    format!("\"{escaped}\"")
}

impl Graph<'_> {
    fn line(&mut self, text: &str) {
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn node(&mut self, open: &str, text: &str, close: &str) -> String {
        self.next += 1;
        let id = format!("n{}", self.next);
        let _ = writeln!(self.out, "  {id}{open}{}{close}", label(text));
        id
    }

    fn edge(&mut self, from: &str, to: &str, text: Option<&str>) {
        match text {
            Some(t) => {
                let _ = writeln!(self.out, "  {from} -->|{}| {to}", label(t));
            }
            None => {
                let _ = writeln!(self.out, "  {from} --> {to}");
            }
        }
    }

    fn text(&self, expr: &Expr) -> String {
        self.source.slice(expr.span).to_string()
    }

    fn string(&self, s: &StrLit) -> String {
        self.source.slice(s.span).trim_matches('"').to_string()
    }

    fn routes(&mut self, playbook: &Playbook, workflows: &HashMap<&str, String>) {
        self.line("  subgraph routes[\"routes (first match wins)\"]");
        let mut previous: Option<String> = None;
        for route in playbook.routes() {
            let mut text = crate::runtime::routing::pattern_text(&route.pattern);
            if let Some(l) = &route.label {
                text = format!("{}: {text}", l.name);
            }
            if let Some(g) = &route.guard {
                let _ = write!(text, " when {}", self.text(g));
            }
            let id = self.node("{{", &text, "}}");
            if let Some(p) = &previous {
                let _ = writeln!(self.out, "  {p} -. no match .-> {id}");
            }
            let target = match &route.target {
                RouteTarget::Workflow(w) => workflows.get(w.name.as_str()).cloned(),
                RouteTarget::Task(call) => Some(self.node("[", &call_text(None, call), "]")),
                RouteTarget::Ignore { .. } => Some(self.node("([", "IGNORED", "])")),
                RouteTarget::Escalate(e) => {
                    let text = format!("ESCALATE {}: {}", e.kind.name, self.string(&e.title));
                    Some(self.node("([", &text, "])"))
                }
            };
            if let Some(t) = target {
                self.edge(&id, &t, None);
            }
            previous = Some(id);
        }
        self.line("  end");
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
        let _ = writeln!(
            self.out,
            "  subgraph wf_{}[{}]",
            workflow.name.name,
            label(&title)
        );
        self.block(&workflow.body);
        self.line("  end");
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
                        self.edge(from, to, None);
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
                let _ = writeln!(self.out, "  {from} -.->|{}| {to}", label(&key));
            }
        }
    }

    fn stmt(&mut self, stmt: &Stmt) -> (Vec<String>, Vec<String>) {
        match stmt {
            Stmt::Call(c) => {
                let mut text = call_text(c.binding.as_ref().map(|b| b.name.as_str()), &c.call);
                for option in &c.options {
                    match option {
                        StepOption::When(e) => {
                            let _ = write!(text, "<br/>when {}", self.text(e));
                        }
                        StepOption::Critical { .. } => text.push_str("<br/>critical"),
                        StepOption::Lock(l) => {
                            let _ = write!(text, "<br/>lock {}", l.name);
                        }
                        StepOption::Handler(h) => {
                            let _ = write!(text, "<br/>on {}", h.event.name);
                        }
                        _ => {}
                    }
                }
                let id = self.node("[", &text, "]");
                let args: Vec<&Expr> = c.call.args.iter().map(|a| &a.value).collect();
                self.handoffs(&id, &args);
                if let Some(b) = &c.binding {
                    self.producers.insert(b.name.clone(), id.clone());
                }
                (vec![id.clone()], vec![id])
            }
            Stmt::Run(r) => {
                let id = self.node("[[", &format!("run {}", r.workflow.name), "]]");
                if let Some(b) = &r.binding {
                    self.producers.insert(b.name.clone(), id.clone());
                }
                (vec![id.clone()], vec![id])
            }
            Stmt::Let(l) => {
                let id = self.node(
                    "[/",
                    &format!("let {} = {}", l.name.name, self.text(&l.value)),
                    "/]",
                );
                self.handoffs(&id, &[&l.value]);
                self.producers.insert(l.name.name.clone(), id.clone());
                (vec![id.clone()], vec![id])
            }
            Stmt::If(i) => {
                let mut entries = Vec::new();
                let mut exits = Vec::new();
                let mut previous: Option<String> = None;
                for branch in &i.branches {
                    let id = self.node("{", &self.text(&branch.condition), "}");
                    match &previous {
                        Some(p) => self.edge(p, &id, Some("no")),
                        None => entries.push(id.clone()),
                    }
                    let (e, x) = self.block(&branch.block);
                    for to in &e {
                        self.edge(&id, to, Some("yes"));
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
                                self.edge(&p, to, Some("no"));
                            }
                            exits.extend(x);
                        }
                        None => exits.push(p),
                    }
                }
                (entries, exits)
            }
            Stmt::Parallel(p) => {
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
                let fork = self.node("[/", &title, "\\]");
                let gate = p.gate.as_ref().map_or_else(
                    || "gate (default)".to_string(),
                    |g| format!("gate {}", g.rule),
                );
                let mut ends = Vec::new();
                for branch in &p.body.stmts {
                    let (e, x) = self.stmt(branch);
                    for to in &e {
                        self.edge(&fork, to, None);
                    }
                    ends.extend(x);
                }
                let join = self.node("[\\", &gate, "/]");
                for from in &ends {
                    self.edge(from, &join, None);
                }
                (vec![fork], vec![join])
            }
            Stmt::Exclusive(x) => {
                self.next += 1;
                let _ = writeln!(
                    self.out,
                    "  subgraph x{}[{}]",
                    self.next,
                    label(&format!("exclusive {}", x.lock.name))
                );
                let ends = self.block(&x.body);
                self.line("  end");
                ends
            }
            Stmt::Approve(a) => {
                let id = self.node(
                    ">",
                    &format!("approve {}: {}", a.name.name, self.string(&a.message)),
                    "]",
                );
                self.producers.insert(a.name.name.clone(), id.clone());
                (vec![id.clone()], vec![id])
            }
            Stmt::Complete(c) => {
                let text = c.summary.as_ref().map_or_else(
                    || "COMPLETE".to_string(),
                    |s| format!("COMPLETE: {}", self.string(s)),
                );
                let id = self.node("([", &text, "])");
                let payload: Vec<&Expr> = c.payload.iter().collect();
                self.handoffs(&id, &payload);
                (vec![id], Vec::new())
            }
            Stmt::Fail(f) => {
                let id = self.node("([", &format!("FAIL: {}", self.string(&f.message)), "])");
                (vec![id], Vec::new())
            }
            Stmt::Abort(a) => {
                let id = self.node("([", &format!("ABORT: {}", self.string(&a.reason)), "])");
                (vec![id], Vec::new())
            }
            Stmt::Escalate(e) => {
                let id = self.node(
                    "([",
                    &format!("ESCALATE {}: {}", e.kind.name, self.string(&e.title)),
                    "])",
                );
                (vec![id], Vec::new())
            }
        }
    }
}

fn call_text(binding: Option<&str>, call: &Call) -> String {
    match binding {
        Some(b) => format!("{b} = {}.{}", call.agent.name, call.task.name),
        None => format!("{}.{}", call.agent.name, call.task.name),
    }
}
