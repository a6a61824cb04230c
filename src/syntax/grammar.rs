//! The pest parser generated from `grammar/ops.pest`. Private to `syntax`.

#![allow(missing_docs)]

use pest_derive::Parser;

#[derive(Parser)]
#[grammar = "../grammar/ops.pest"]
pub(crate) struct OpsParser;
