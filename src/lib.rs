//! coordops: parse, check and run `.ops` coordination playbooks.
//!
//! The modules follow the pipeline: [`source`] loads text, [`syntax`] turns it
//! into the [`ast`], and [`diagnostics`] explains what went wrong. The
//! [`cli`] module is the `coordops` command built on top.

#![warn(missing_docs)]

pub mod analysis;
pub mod ast;
pub mod cli;
pub mod diagnostics;
pub mod diff;
pub mod explain;
pub mod format;
pub mod graph;
pub mod journal;
pub mod lsp;
pub mod output;
pub mod report;
pub mod runtime;
pub mod source;
pub mod sync;
pub mod syntax;
pub mod testing;
pub mod walk;
