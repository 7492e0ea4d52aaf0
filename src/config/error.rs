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
        // toml quotes the offending value (`invalid type: integer `1234``): not for a password.
        if err.key.as_deref().is_some_and(is_secret_key) {
            err.message = redact_quoted(&err.message);
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
        self.excerpt = text[line_start..].lines().next().map(redact_line);
    }
}

/// Whether a dotted key names a password itself (not where one comes from).
fn is_secret_key(key: &str) -> bool {
    key.rsplit('.').next() == Some("password")
}

/// Text between backticks, replaced.
fn redact_quoted(message: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for part in message.split('`') {
        out.push_str(if inside { "<redacted>" } else { part });
        inside = !inside;
        out.push('`');
    }
    out.pop();
    out
}

/// A line of the file as an error shows it: a `password = …` value and the password of a
/// `user:pass@` URL are never shown.
fn redact_line(line: &str) -> String {
    let trimmed = line.trim_start();
    if let Some(rest) = trimmed.strip_prefix("password") {
        if rest.trim_start().starts_with('=') {
            let indent = &line[..line.len() - trimmed.len()];
            return format!("{indent}password = <redacted>");
        }
    }
    let mut out = line.to_string();
    if let Some(scheme) = out.find("://") {
        let after = scheme + 3;
        let end = out[after..]
            .find(['/', '"', '\'', ' '])
            .map_or(out.len(), |i| after + i);
        if let Some(at) = out[after..end].rfind('@') {
            if let Some(colon) = out[after..after + at].find(':') {
                out.replace_range(after + colon + 1..after + at, "<redacted>");
            }
        }
    }
    out
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
    let mut table: &dyn toml_edit::TableLike = doc.as_table();
    let mut span = None;
    let parts: Vec<&str> = key.split('.').collect();
    for (n, part) in parts.iter().enumerate() {
        // `watch[1]`: an entry of an array of tables.
        let (name, index) = match part.strip_suffix(']').and_then(|p| p.split_once('[')) {
            Some((name, i)) => (name, Some(i.parse::<usize>().ok()?)),
            None => (*part, None),
        };
        let (k, next) = table.get_key_value(name)?;
        span = next.span().or_else(|| k.span()).or(span);
        let last = n + 1 == parts.len();
        match index {
            Some(i) => {
                let entry = next.as_array_of_tables()?.get(i)?;
                span = entry.span().or(span);
                table = entry;
            }
            None if last => {}
            None => table = next.as_table_like()?,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_never_show_a_password() {
        let text = "[profiles.a]\nurl = \"mqtt://h\"\npassword = 12345678\n";
        let e = ConfigError::from_toml(
            &toml::from_str::<crate::config::Config>(text).expect_err("a number"),
            text,
            Path::new("c.toml"),
        );
        let shown = e.to_string();
        assert!(!shown.contains("12345678"), "{shown}");
        assert!(shown.contains("password = <redacted>"), "{shown}");
        assert_eq!(
            redact_line("url = \"mqtt://alice:hunter2@broker:1883/x\""),
            "url = \"mqtt://alice:<redacted>@broker:1883/x\""
        );
        assert_eq!(
            redact_line("url = \"mqtt://broker\""),
            "url = \"mqtt://broker\""
        );
    }
}
