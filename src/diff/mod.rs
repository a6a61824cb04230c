//! `coordops diff`: what changes in behaviour between two versions of a
//! playbook (docs/diff.md).

pub mod render;
pub mod routing;
pub mod structure;
pub mod values;
