//! A TOML table being read: remembers the keys asked for, so the rest can be reported unknown.

use super::values::*;
use toml::{Table, Value};

/// Whether a key must be present.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Need {
    Required,
    Optional,
}

/// One TOML table being read; it remembers which keys were asked for, so the rest are unknown.
pub(super) struct Section<'t> {
    /// The dotted path of the table, empty for the root.
    pub(super) path: String,
    pub(super) table: &'t Table,
    pub(super) known: Vec<&'static str>,
}

impl<'t> Section<'t> {
    pub(super) fn new(path: String, table: &'t Table) -> Self {
        Section {
            path,
            table,
            known: Vec::new(),
        }
    }

    pub(super) fn key(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    pub(super) fn get(&mut self, key: &'static str) -> Option<&'t Value> {
        self.known.push(key);
        self.table.get(key)
    }

    pub(super) fn table_absent(&self, key: &str) -> bool {
        !self.table.contains_key(key)
    }

    /// A sub-table, or an empty one when absent, so its defaults apply; `None` (with a problem
    /// recorded) when it is not a table.
    pub(super) fn table_or_empty(
        &mut self,
        key: &'static str,
        empty: &'t Table,
        p: &mut Vec<String>,
    ) -> Option<Section<'t>> {
        if self.table_absent(key) {
            self.known.push(key);
            return Some(Section::new(self.key(key), empty));
        }
        self.table(key, p)
    }

    /// A sub-table; `None` when absent or (with a problem recorded) not a table.
    pub(super) fn table(&mut self, key: &'static str, p: &mut Vec<String>) -> Option<Section<'t>> {
        match self.get(key)? {
            Value::Table(t) => Some(Section::new(self.key(key), t)),
            other => {
                p.push(format!(
                    "`{}` must be a table, found {}",
                    self.key(key),
                    other.type_str()
                ));
                None
            }
        }
    }

    /// Reads `key` with `convert`. The outer `None` means absent; the inner one means present
    /// but invalid, with the problem recorded.
    pub(super) fn take<T>(
        &mut self,
        key: &'static str,
        need: Need,
        p: &mut Vec<String>,
        convert: impl FnOnce(&Value) -> Result<T, String>,
    ) -> Option<Option<T>> {
        let Some(value) = self.get(key) else {
            if need == Need::Required {
                p.push(format!("missing required key `{}`", self.key(key)));
                return Some(None);
            }
            return None;
        };
        match convert(value) {
            Ok(v) => Some(Some(v)),
            Err(e) => {
                p.push(format!("`{}` {e}", self.key(key)));
                Some(None)
            }
        }
    }

    /// An optional non-empty string with a default; `None` when invalid.
    pub(super) fn non_empty(
        &mut self,
        key: &'static str,
        default: String,
        p: &mut Vec<String>,
    ) -> Option<String> {
        self.take(key, Need::Optional, p, as_non_empty)
            .unwrap_or(Some(default))
    }

    /// Reports every key of the table that no reader asked for.
    pub(super) fn finish(self, p: &mut Vec<String>) {
        for key in self.table.keys() {
            if !self.known.contains(&key.as_str()) {
                p.push(format!("unknown key `{}`", self.key(key)));
            }
        }
    }
}
