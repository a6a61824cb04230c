//! Every problem of a backends file, collected rather than stopping at the
//! first: each with the key it concerns and where the file sets it.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::source::SourceFile;

/// A value of the file with where it is written.
pub(super) type Cell = toml::Spanned<toml::Value>;

/// A table of the file, key by key, with where each value is written.
pub(super) type Cells = BTreeMap<String, Cell>;

/// The file's shape, before each key is read into its type.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Layout {
    #[serde(default)]
    pub(super) agents: BTreeMap<String, toml::Spanned<Cells>>,
    #[serde(default)]
    pub(super) defaults: Cells,
}

/// The problems found so far, for the messages of one file.
pub(super) struct Problems {
    source: SourceFile,
    found: Vec<(usize, String)>,
}

impl Problems {
    /// No problem yet in `text`, the file named `file` in messages.
    pub(super) fn new(file: String, text: &str) -> Problems {
        Problems {
            source: SourceFile::new(file, text),
            found: Vec::new(),
        }
    }

    /// A problem of `key` written at `span`; `what` is the part of the
    /// message after the key (starting with `:` to be set off by one).
    pub(super) fn add(&mut self, span: &Range<usize>, key: &str, what: impl Into<String>) {
        let what = what.into();
        let sep = if what.starts_with(':') { "" } else { " " };
        let (line, column) = self.source.line_col(span.start);
        self.found.push((
            span.start,
            format!(
                "backends file `{}`: line {line}, column {column}: `{key}`{sep}{what}",
                self.source.name()
            ),
        ));
    }

    /// Whether a problem was found.
    pub(super) fn any(&self) -> bool {
        !self.found.is_empty()
    }

    /// The messages, in the order the file sets what they concern.
    pub(super) fn into_messages(mut self) -> Vec<String> {
        self.found.sort_by_key(|(at, _)| *at);
        self.found.into_iter().map(|(_, m)| m).collect()
    }

    /// The keys of `table` (the table at `prefix`) read into `T`: a key
    /// that `T` does not have or whose value has the wrong type is a
    /// problem and is left out. `None` only when the rest cannot be read.
    pub(super) fn fields<T: DeserializeOwned>(
        &mut self,
        table: &Cells,
        prefix: &str,
        span: &Range<usize>,
    ) -> Option<T> {
        let mut good = toml::Table::new();
        for (key, cell) in table {
            let one = toml::Table::from_iter([(key.clone(), cell.get_ref().clone())]);
            // Read back from text, as the whole file would be: the same
            // messages (a value's own reading words some of them oddly).
            let read = match toml::to_string(&one) {
                Ok(text) => toml::from_str::<T>(&text),
                Err(_) => T::deserialize(toml::Value::Table(one)),
            };
            match read {
                Ok(_) => {
                    good.insert(key.clone(), cell.get_ref().clone());
                }
                Err(e) => self.add(
                    &cell.span(),
                    &format!("{prefix}.{key}"),
                    format!(": {}", e.message()),
                ),
            }
        }
        T::deserialize(toml::Value::Table(good))
            .map_err(|e| self.add(span, prefix, format!(": {}", e.message())))
            .ok()
    }
}
