//! The abstract syntax tree of a playbook.
//!
//! Plain data: every node carries the [`Span`] of the text it was built from,
//! and everything serialises with serde (`coordops parse --ast`). Nothing here
//! knows about pest.

mod decl;
mod expr;
mod outputs;
mod span;
mod stmt;
mod test_case;
mod test_file;
mod visit;

pub use decl::*;
pub use expr::*;
pub use outputs::{merged_fields, OutputField};
pub use span::Span;
pub use stmt::*;
pub use test_case::*;
pub use test_file::{TestFile, TestsHeader};

use serde::Serialize;

/// A name as written, with its span.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Ident {
    /// The name.
    pub name: String,
    /// Where it was written.
    pub span: Span,
}

/// A whole `.ops` file.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Playbook {
    /// Top-level declarations in source order (route order matters).
    pub items: Vec<Item>,
    /// The whole file.
    pub span: Span,
}

/// One top-level declaration.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "item", rename_all = "snake_case")]
pub enum Item {
    /// `coordinator NAME { … }`
    Coordinator(Coordinator),
    /// `agent NAME { … }`
    Agent(Agent),
    /// `signal NS:NAME { … }`
    Signal(SignalDecl),
    /// `route PATTERN => TARGET`
    Route(Route),
    /// `workflow NAME { … }`
    Workflow(Workflow),
    /// `lock NAME`
    Lock(LockDecl),
    /// `on EVENT => ACTION` at top level: an escalation rule.
    Rule(Handler),
    /// `test "name" { … }`
    Test(TestCase),
}

impl Item {
    /// The span of the whole declaration.
    pub fn span(&self) -> Span {
        match self {
            Item::Coordinator(x) => x.span,
            Item::Agent(x) => x.span,
            Item::Signal(x) => x.span,
            Item::Route(x) => x.span,
            Item::Workflow(x) => x.span,
            Item::Lock(x) => x.span,
            Item::Rule(x) => x.span,
            Item::Test(x) => x.span,
        }
    }
}

impl Playbook {
    /// The coordinator headers (a valid playbook has at most one).
    pub fn coordinators(&self) -> impl Iterator<Item = &Coordinator> {
        self.items.iter().filter_map(|item| match item {
            Item::Coordinator(x) => Some(x),
            _ => None,
        })
    }

    /// Agent declarations in source order.
    pub fn agents(&self) -> impl Iterator<Item = &Agent> {
        self.items.iter().filter_map(|item| match item {
            Item::Agent(x) => Some(x),
            _ => None,
        })
    }

    /// Signal declarations in source order.
    pub fn signals(&self) -> impl Iterator<Item = &SignalDecl> {
        self.items.iter().filter_map(|item| match item {
            Item::Signal(x) => Some(x),
            _ => None,
        })
    }

    /// Routes in source order (the order routing tries them).
    pub fn routes(&self) -> impl Iterator<Item = &Route> {
        self.items.iter().filter_map(|item| match item {
            Item::Route(x) => Some(x),
            _ => None,
        })
    }

    /// Workflows in source order.
    pub fn workflows(&self) -> impl Iterator<Item = &Workflow> {
        self.items.iter().filter_map(|item| match item {
            Item::Workflow(x) => Some(x),
            _ => None,
        })
    }

    /// Lock declarations in source order.
    pub fn locks(&self) -> impl Iterator<Item = &LockDecl> {
        self.items.iter().filter_map(|item| match item {
            Item::Lock(x) => Some(x),
            _ => None,
        })
    }

    /// Top-level escalation rules in source order.
    pub fn rules(&self) -> impl Iterator<Item = &Handler> {
        self.items.iter().filter_map(|item| match item {
            Item::Rule(x) => Some(x),
            _ => None,
        })
    }

    /// Test cases in source order.
    pub fn tests(&self) -> impl Iterator<Item = &TestCase> {
        self.items.iter().filter_map(|item| match item {
            Item::Test(x) => Some(x),
            _ => None,
        })
    }
}
