//! The static types of the language: what a signal field declares, how a
//! type reads in a message, and which types compare with `==`.

use std::fmt;

use crate::ast::{Ident, TypeRef};
use crate::diagnostics::{codes, Diagnostic};

use super::suggest;

/// The static type of an expression; `Any` is unknown and fits everything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ty {
    /// Unknown (agent outputs, untyped values).
    Any,
    /// `string`
    Str,
    /// `int`
    Int,
    /// `bool`
    Bool,
    /// `duration`
    Duration,
    /// `percent`
    Percent,
    /// A regex literal.
    Regex,
    /// `list<T>`
    List(Box<Ty>),
    /// `map`
    Map,
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ty::Any => f.write_str("any value"),
            Ty::Str => f.write_str("a string"),
            Ty::Int => f.write_str("an int"),
            Ty::Bool => f.write_str("a bool"),
            Ty::Duration => f.write_str("a duration"),
            Ty::Percent => f.write_str("a percent"),
            Ty::Regex => f.write_str("a regex"),
            Ty::List(e) if **e == Ty::Any => f.write_str("a list"),
            Ty::List(e) => write!(f, "a list of {}", e.plural()),
            Ty::Map => f.write_str("a map"),
        }
    }
}

impl Ty {
    fn plural(&self) -> &'static str {
        match self {
            Ty::Str => "strings",
            Ty::Int => "ints",
            Ty::Bool => "bools",
            Ty::Duration => "durations",
            Ty::Percent => "percents",
            Ty::Map => "maps",
            _ => "values",
        }
    }

    /// Whether values of the two types can be compared with `==`.
    pub fn compatible(&self, other: &Ty) -> bool {
        match (self, other) {
            (Ty::Any, _) | (_, Ty::Any) => true,
            (Ty::List(a), Ty::List(b)) => a.compatible(b),
            (Ty::Regex, Ty::Str) | (Ty::Str, Ty::Regex) => true,
            (a, b) => a == b,
        }
    }
}

/// Type names a signal field may declare.
pub const TYPE_NAMES: &[&str] = &[
    "string", "int", "bool", "duration", "percent", "list", "map",
];

/// Type names from other languages, and what they are called here.
fn type_alias(name: &str) -> Option<&'static str> {
    Some(match name.to_lowercase().as_str() {
        "boolean" => "bool",
        "str" | "text" => "string",
        "integer" | "number" | "i64" | "u64" => "int",
        "array" | "vec" => "list",
        "object" | "dict" | "record" => "map",
        "time" | "interval" => "duration",
        _ => return None,
    })
}

/// Resolves a declared type, reporting unknown names.
pub fn declared_type(ty: &TypeRef, out: &mut Vec<Diagnostic>) -> Ty {
    let scalar = |ident: &Ident, out: &mut Vec<Diagnostic>| match ident.name.as_str() {
        "string" => Ty::Str,
        "int" => Ty::Int,
        "bool" => Ty::Bool,
        "duration" => Ty::Duration,
        "percent" => Ty::Percent,
        "map" => Ty::Map,
        "list" => Ty::List(Box::new(Ty::Any)),
        _ => {
            out.push(
                Diagnostic::error(
                    codes::CHECK_UNKNOWN_TYPE,
                    format!("unknown type `{}`", ident.name),
                )
                .with_primary(ident.span, "not a type")
                .with_help(
                    match type_alias(&ident.name)
                        .or_else(|| suggest::closest(&ident.name, TYPE_NAMES.iter().copied()))
                    {
                        Some(best) => format!("did you mean `{best}`?"),
                        None => suggest::listing(&ident.name, "the types are", "", TYPE_NAMES),
                    },
                ),
            );
            Ty::Any
        }
    };
    match (&ty.name.name[..], &ty.element) {
        ("list", Some(element)) => Ty::List(Box::new(scalar(element, out))),
        (_, Some(element)) => {
            out.push(
                Diagnostic::error(
                    codes::CHECK_UNKNOWN_TYPE,
                    format!("`{}` takes no element type", ty.name.name),
                )
                .with_primary(element.span, "only `list<…>` has an element type"),
            );
            scalar(&ty.name, out)
        }
        _ => scalar(&ty.name, out),
    }
}
