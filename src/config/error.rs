//! Configuration errors that say where: file, line, column, the key, and what was expected,
//! with the offending line quoted.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: PathBuf,
    /// 1-based line and column, when known.
    pub at: Option<(usize, usize)>,
    /// The key, as a dotted path, when known.
    pub key: Option<String>,
    pub message: String,
    /// The line the error is on.
    pub excerpt: Option<String>,
}

impl ConfigError {
    pub fn io(path: &Path, e: &std::io::Error) -> Self {
        Self {
            path: path.to_path_buf(),
            at: None,
            key: None,
            message: format!("cannot read it: {e}"),
            excerpt: None,
        }
    }

    pub fn from_toml(e: &toml::de::Error, text: &str, path: &Path) -> Self {
        let message = e.message().trim().replace('\n', " ");
        let mut err = Self {
            path: path.to_path_buf(),
            at: None,
            key: None,
            message,
            excerpt: None,
        };
        if let Some(span) = e.span() {
            err.locate(text, &span);
            err.key = key_at(text, span.start);
        }
        err
    }

    /// An error about a value serde accepted but the checks did not.
    pub fn at_key(path: &Path, text: &str, key: &str, message: String) -> Self {
        let mut err = Self {
            path: path.to_path_buf(),
            at: None,
            key: Some(key.to_string()),
            message,
            excerpt: None,
        };
        if let Some(span) = span_of(text, key) {
            err.locate(text, &span);
        }
        err
    }

    fn locate(&mut self, text: &str, span: &Range<usize>) {
        let start = span.start.min(text.len());
        let before = &text[..start];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = text[line_start..start].chars().count() + 1;
        self.at = Some((line, col));
        self.excerpt = text[line_start..].lines().next().map(str::to_string);
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "config {}", self.path.display())?;
        if let Some((line, col)) = self.at {
            write!(f, ":{line}:{col}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": {key}")?;
        }
        write!(f, ": {}", self.message)?;
        if let (Some(excerpt), Some((line, col))) = (&self.excerpt, self.at) {
            let gutter = line.to_string().len();
            write!(
                f,
                "\n {:>gutter$} | {excerpt}\n {:>gutter$} | {:>col$}",
                line, "", "^"
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Where a dotted key's value is in the text.
fn span_of(text: &str, key: &str) -> Option<Range<usize>> {
    let doc = toml_edit::ImDocument::parse(text).ok()?;
    let mut item = doc.as_item();
    let mut span = None;
    for part in key.split('.') {
        let table = item.as_table_like()?;
        let (k, next) = table.get_key_value(part)?;
        span = next.span().or_else(|| k.span()).or(span);
        item = next;
    }
    span
}

/// The dotted key whose value holds `offset`: the deepest one that does.
fn key_at(text: &str, offset: usize) -> Option<String> {
    fn walk(item: &toml_edit::Item, offset: usize, path: &mut Vec<String>) -> bool {
        let Some(table) = item.as_table_like() else {
            return false;
        };
        for (k, v) in table.iter() {
            let hit = v.span().is_some_and(|s| s.contains(&offset))
                || table
                    .get_key_value(k)
                    .and_then(|(key, _)| key.span())
                    .is_some_and(|s| s.contains(&offset));
            if hit || v.is_table_like() {
                path.push(k.to_string());
                if walk(v, offset, path) || hit {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let doc = toml_edit::ImDocument::parse(text).ok()?;
    let mut path = Vec::new();
    walk(doc.as_item(), offset, &mut path).then(|| path.join("."))
}
