//! Top-level declarations, their settings, and the alignment of route tables.

use super::printer::Printer;
use crate::ast::{
    Agent, Check, Coordinator, Item, LockDecl, OutputsDecl, RetryPolicy, Route, RouteTarget,
    Setting, SignalDecl, SignalPattern, Span, StrLit, TaskDecl, TestFile, TestsHeader, Workflow,
};

/// A member of an agent or task body, for printing in source order.
enum Member<'a> {
    Setting(&'a Setting),
    Task(&'a TaskDecl),
    Check(&'a Check),
    Forbid(&'a StrLit),
    Outputs(&'a OutputsDecl),
}

impl Member<'_> {
    fn start(&self) -> usize {
        match self {
            Member::Setting(s) => s.span().start,
            Member::Task(t) => t.span.start,
            Member::Check(c) => c.span.start,
            Member::Forbid(f) => f.span.start,
            Member::Outputs(o) => o.span.start,
        }
    }
}

fn members<'a>(
    settings: &'a [Setting],
    tasks: &'a [TaskDecl],
    checks: &'a [Check],
    forbids: &'a [StrLit],
    outputs: &'a [OutputsDecl],
) -> Vec<Member<'a>> {
    let mut all: Vec<Member<'a>> = settings.iter().map(Member::Setting).collect();
    all.extend(tasks.iter().map(Member::Task));
    all.extend(checks.iter().map(Member::Check));
    all.extend(forbids.iter().map(Member::Forbid));
    all.extend(outputs.iter().map(Member::Outputs));
    all.sort_by_key(Member::start);
    all
}

/// Column widths of a run of routes printed as a table.
#[derive(Clone, Copy, Default)]
pub(super) struct RouteColumns {
    label: usize,
    head: usize,
}

impl Printer<'_> {
    /// Every top-level declaration, runs of one-line routes aligned.
    pub(super) fn items(&mut self, items: &[Item]) {
        let columns = self.route_columns(items);
        for (item, columns) in items.iter().zip(columns) {
            self.start(item.span().start, true);
            self.item(item, columns);
            self.newline();
        }
    }

    /// A `*.test.ops` file: its `tests "PATH"` headers and tests, in source
    /// order.
    pub(super) fn test_file(&mut self, file: &TestFile) {
        let mut headers = file.headers.iter().peekable();
        let columns = self.route_columns(&file.items);
        for (item, columns) in file.items.iter().zip(columns) {
            while let Some(header) = headers.next_if(|h| h.span.start < item.span().start) {
                self.tests_header(header);
            }
            self.start(item.span().start, true);
            self.item(item, columns);
            self.newline();
        }
        for header in headers {
            self.tests_header(header);
        }
    }

    fn tests_header(&mut self, header: &TestsHeader) {
        self.start(header.span.start, true);
        self.write("tests ");
        self.token(header.path.span);
        self.newline();
    }

    fn item(&mut self, item: &Item, columns: Option<RouteColumns>) {
        match item {
            Item::Coordinator(c) => self.coordinator(c),
            Item::Agent(a) => self.agent(a),
            Item::Signal(s) => self.signal(s),
            Item::Route(r) => self.route(r, columns),
            Item::Workflow(w) => self.workflow(w),
            Item::Lock(l) => self.lock(l),
            Item::Rule(h) => self.handler(h),
            Item::Test(t) => self.test_case(t),
        }
    }

    fn doc(&mut self, doc: &Option<StrLit>) {
        if let Some(doc) = doc {
            self.write(" ");
            self.token(doc.span);
        }
    }

    fn coordinator(&mut self, c: &Coordinator) {
        self.write("coordinator ");
        self.token(c.name.span);
        self.doc(&c.doc);
        let close = c.span.end.saturating_sub(1);
        self.members(
            usize::MAX,
            close,
            &c.settings,
            |s| s.span().start,
            |p, s| p.setting(s),
        );
    }

    fn agent(&mut self, a: &Agent) {
        self.write("agent ");
        self.token(a.name.span);
        self.doc(&a.doc);
        let all = members(&a.settings, &a.tasks, &a.checks, &a.forbids, &a.outputs);
        let close = a.span.end.saturating_sub(1);
        self.members(1, close, &all, Member::start, |p, m| p.member(m));
    }

    fn member(&mut self, member: &Member<'_>) {
        match member {
            Member::Setting(s) => self.setting(s),
            Member::Task(t) => self.task(t),
            Member::Check(c) => self.check(c),
            Member::Forbid(f) => {
                self.write("forbid ");
                self.token(f.span);
            }
            Member::Outputs(o) => {
                self.write("outputs");
                let open = self.anchor_of(o.span.start);
                let close = o.span.end.saturating_sub(1);
                self.fields(&o.fields, Span::new(open, o.span.end), close);
            }
        }
    }

    /// The offset just past the keyword that starts at `start`.
    fn anchor_of(&mut self, start: usize) -> usize {
        let word = self
            .rest(start)
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .next()
            .unwrap_or("");
        self.touch(start + word.len());
        start + word.len()
    }

    fn task(&mut self, t: &TaskDecl) {
        self.write("task ");
        self.token(t.name.span);
        self.doc(&t.doc);
        let all = members(&t.settings, &[], &t.checks, &t.forbids, &t.outputs);
        let braced = self.slice(t.span).ends_with('}');
        let close = t.span.end.saturating_sub(1);
        if braced && (!all.is_empty() || self.comment_before(close)) {
            let settings_only = all.iter().all(|m| matches!(m, Member::Setting(_)));
            let most = if settings_only { usize::MAX } else { 1 };
            self.members(most, close, &all, Member::start, |p, m| p.member(m));
        } else {
            self.touch(t.span.end);
        }
    }

    fn check(&mut self, c: &Check) {
        self.write("check ");
        self.token(c.name.span);
        self.doc(&c.doc);
        self.write(":");
        if self.broke_before(c.condition.span.start) {
            self.indent += 1;
            self.start(c.condition.span.start, false);
            self.expr(&c.condition);
            self.indent -= 1;
        } else {
            self.write(" ");
            self.expr(&c.condition);
        }
    }

    /// One setting: `timeout 30s`, `retry 3 …`, `gate 80%`, …
    pub(super) fn setting(&mut self, setting: &Setting) {
        match setting {
            Setting::ReportsTo(name) => self.keyword_then("reports_to ", name.span),
            Setting::Gate(p) => self.keyword_then("gate ", p.span),
            Setting::Timeout(d) => self.keyword_then("timeout ", d.span),
            Setting::Retry(r) => self.retry(r),
            Setting::MaxConcurrent(n) => self.keyword_then("max_concurrent ", n.span),
        }
    }

    /// Writes `keyword` then the source text of `span`.
    pub(super) fn keyword_then(&mut self, keyword: &str, span: Span) {
        self.write(keyword);
        self.token(span);
    }

    /// `retry N backoff D xF max D jitter within D on [..] except [..]`.
    pub(super) fn retry(&mut self, r: &RetryPolicy) {
        self.keyword_then("retry ", r.retries.span);
        if let Some(backoff) = &r.backoff {
            self.keyword_then(" backoff ", backoff.span);
            if let Some(m) = &r.multiplier {
                self.keyword_then(" ", m.span);
            }
            if let Some(max) = &r.max_delay {
                self.keyword_then(" max ", max.span);
            }
        }
        if r.jitter.is_some() {
            self.write(" jitter");
        }
        if let Some(within) = &r.within {
            self.keyword_then(" within ", within.span);
        }
        for (keyword, kinds) in [(" on [", &r.on), (" except [", &r.except)] {
            if !kinds.is_empty() {
                let names: Vec<&str> = kinds.iter().map(|k| k.name.as_str()).collect();
                self.write(keyword);
                self.write(&names.join(", "));
                self.write("]");
            }
        }
        self.touch(r.span.end);
    }

    fn signal(&mut self, s: &SignalDecl) {
        self.write("signal ");
        self.token(s.name.span);
        self.doc(&s.doc);
        let braced = self.slice(s.span).ends_with('}');
        let close = s.span.end.saturating_sub(1);
        if braced && (!s.fields.is_empty() || self.comment_before(close)) {
            let open = s.doc.as_ref().map_or(s.name.span.end, |d| d.span.end);
            self.fields(&s.fields, Span::new(open, s.span.end), close);
        } else {
            self.touch(s.span.end);
        }
    }

    fn lock(&mut self, l: &LockDecl) {
        self.write("lock ");
        self.token(l.name.span);
        self.doc(&l.doc);
    }

    fn workflow(&mut self, w: &Workflow) {
        self.write("workflow ");
        self.token(w.name.span);
        self.doc(&w.doc);
        if let Some(t) = &w.timeout {
            self.keyword_then(" timeout ", t.span);
        }
        self.block(&w.body);
    }

    /// `route [LABEL:] PATTERN [when EXPR]`, on one line.
    fn route_head(&self, r: &Route, columns: RouteColumns) -> String {
        let label = r
            .label
            .as_ref()
            .map_or(String::new(), |l| format!("{}:", l.name));
        let mut head = if label.is_empty() && columns.label == 0 {
            "route ".to_string()
        } else {
            format!("route {label:<width$} ", width = columns.label)
        };
        head.push_str(self.slice(pattern_span(&r.pattern)));
        if let Some(guard) = &r.guard {
            head.push_str(" when ");
            head.push_str(&self.flat(guard));
        }
        head
    }

    fn route(&mut self, r: &Route, columns: Option<RouteColumns>) {
        let columns = columns.unwrap_or_default();
        let head = self.route_head(r, columns);
        let width = if r.guard.is_some() { 0 } else { columns.head };
        self.write(&format!("{head:<width$}"));
        let after_head = r
            .guard
            .as_ref()
            .map_or(pattern_span(&r.pattern).end, |g| g.span.end);
        self.touch(after_head);
        let target = target_span(&r.target);
        if self.broke_before(target.start) {
            self.indent += 1;
            self.start(target.start, false);
            self.write("=> ");
            self.route_target(&r.target);
            self.indent -= 1;
        } else {
            self.write(" => ");
            self.route_target(&r.target);
        }
    }

    fn route_target(&mut self, target: &RouteTarget) {
        match target {
            RouteTarget::Workflow(w) => self.token(w.span),
            RouteTarget::Task(call) => self.call(call),
            RouteTarget::Ignore { span } => {
                self.write("ignore");
                self.touch(span.end);
            }
            RouteTarget::Escalate(e) => self.escalate(e),
        }
    }

    /// For each item, the columns of the route table it belongs to: runs of
    /// two or more routes with no blank line, own-line comment or line break
    /// before `=>` between them.
    fn route_columns(&self, items: &[Item]) -> Vec<Option<RouteColumns>> {
        let mut columns = vec![None; items.len()];
        let mut i = 0;
        while i < items.len() {
            let mut j = i;
            while j < items.len()
                && self.tabular(&items[j])
                && (j == i || self.adjacent(&items[j - 1], &items[j]))
            {
                j += 1;
            }
            if j - i >= 2 {
                let routes: Vec<&Route> = items[i..j]
                    .iter()
                    .filter_map(|item| match item {
                        Item::Route(r) => Some(r),
                        _ => None,
                    })
                    .collect();
                let label = routes
                    .iter()
                    .map(|r| r.label.as_ref().map_or(0, |l| l.name.chars().count() + 1))
                    .max()
                    .unwrap_or(0);
                let mut table = RouteColumns { label, head: 0 };
                table.head = routes
                    .iter()
                    .filter(|r| r.guard.is_none())
                    .map(|r| self.route_head(r, table).chars().count())
                    .max()
                    .unwrap_or(0);
                columns[i..j].fill(Some(table));
            }
            i = j.max(i + 1);
        }
        columns
    }

    /// Whether `item` is a route written on one line up to its target.
    fn tabular(&self, item: &Item) -> bool {
        match item {
            Item::Route(r) => !self.has_newline(r.span.start, target_span(&r.target).start),
            _ => false,
        }
    }

    /// Whether only a line break (and trailing comments) separates two items.
    fn adjacent(&self, a: &Item, b: &Item) -> bool {
        let between = self.slice(Span::new(a.span().end, b.span().start));
        let mut lines = between.split('\n');
        lines.next();
        let rest: Vec<&str> = lines.collect();
        rest.len() == 1 && rest[0].trim().is_empty()
    }
}

fn pattern_span(pattern: &SignalPattern) -> Span {
    pattern.span()
}

/// Where a route's target starts and ends.
fn target_span(target: &RouteTarget) -> Span {
    match target {
        RouteTarget::Workflow(w) => w.span,
        RouteTarget::Task(call) => call.span,
        RouteTarget::Ignore { span } => *span,
        RouteTarget::Escalate(e) => e.span,
    }
}
