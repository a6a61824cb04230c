//! `*.test.ops` files: a `tests "PLAYBOOK"` header, then `test` blocks.

use serde::Serialize;

use super::{Item, Span, StrLit, TestCase};

/// A parsed test file, before its structure is checked.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TestFile {
    /// Every `tests "PATH"` header, in order (a valid file has one, first).
    pub headers: Vec<TestsHeader>,
    /// The other declarations, in order (a valid file has only tests).
    pub items: Vec<Item>,
    /// The whole file.
    pub span: Span,
}

/// `tests "coord_ops.ops"`: the playbook, relative to the test file.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TestsHeader {
    /// The path as written.
    pub path: StrLit,
    /// The whole header.
    pub span: Span,
}

impl TestFile {
    /// The `test` blocks.
    pub fn tests(&self) -> impl Iterator<Item = &TestCase> {
        self.items.iter().filter_map(|item| match item {
            Item::Test(x) => Some(x),
            _ => None,
        })
    }
}
