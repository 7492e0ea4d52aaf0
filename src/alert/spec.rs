//! How rules and schema checks are written: `--rule 'plant/+/temp: t > 80; for=30s;
//! name=boiler hot; severity=critical'`, `--schema 'devices/+/status=status.json'`, and the
//! `[[rules]]` / `[[schemas]]` entries of the config file (also per profile).

use std::fmt::{self, Write as _};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::expr::Expr;

/// How much an alert matters; the anomaly list colours and sorts nothing by it, the JSON
/// carries it for scripts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Info,
    #[default]
    Warning,
    Critical,
}

impl Severity {
    pub const NAMES: &'static str = "info, warning, critical";

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        match text.trim() {
            "info" => Ok(Self::Info),
            "warning" | "warn" => Ok(Self::Warning),
            "critical" | "crit" => Ok(Self::Critical),
            other => Err(format!(
                "{other:?} is not a severity: one of {}",
                Self::NAMES
            )),
        }
    }
}

/// One `[[rules]]` entry as written in the config file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleEntry {
    /// The MQTT filter of the topics it looks at.
    pub filter: String,
    /// An expression of the filter language (`t > 80`, `status != "ok"`).
    pub when: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `info`, `warning` (the default) or `critical`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// The condition must hold this long before the rule fires (`30s`, `5m`).
    #[serde(rename = "for", default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub muted: bool,
}

/// One `[[schemas]]` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaEntry {
    pub filter: String,
    /// A JSON Schema file (draft 2020-12 or 7); a relative path is taken from the config
    /// file's directory.
    pub schema: PathBuf,
}

/// A rule, compiled.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pub filter: String,
    pub expr: Expr,
    pub severity: Severity,
    pub hold_ms: u64,
    pub muted: bool,
    /// From the config file's own `[[rules]]` (not a profile's): saving a profile leaves it
    /// where it is.
    pub shared: bool,
}

/// Why a rule does not compile: the part (`filter`, `when`, `for`, …) and, for an
/// expression, the column in the text as the user wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    pub part: &'static str,
    pub column: Option<usize>,
    pub message: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.column {
            Some(c) => write!(f, "{} at column {c}: {}", self.part, self.message),
            None => write!(f, "{}: {}", self.part, self.message),
        }
    }
}

fn err(part: &'static str, message: impl Into<String>) -> SpecError {
    SpecError {
        part,
        column: None,
        message: message.into(),
    }
}

fn duration_ms(text: &str) -> Result<u64, String> {
    humantime::parse_duration(text.trim())
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .map_err(|_| format!("{text:?} is not a duration: expected one like 500ms, 30s or 5m"))
}

impl Rule {
    /// Compiles a config entry; columns count in the entry's `when`.
    pub fn from_entry(e: &RuleEntry) -> Result<Self, SpecError> {
        Self::build(e, 0)
    }

    fn build(e: &RuleEntry, when_offset: usize) -> Result<Self, SpecError> {
        crate::topic::parse_filter(&e.filter).map_err(|why| err("filter", why))?;
        let expr = Expr::parse(&e.when).map_err(|p| SpecError {
            part: "when",
            column: Some(p.column + when_offset),
            message: p.message,
        })?;
        let severity = match &e.severity {
            Some(s) => Severity::parse(s).map_err(|w| err("severity", w))?,
            None => Severity::default(),
        };
        let hold_ms = match &e.hold {
            Some(d) => duration_ms(d).map_err(|w| err("for", w))?,
            None => 0,
        };
        let name = e
            .name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| format!("{}: {}", e.filter, e.when.trim()));
        Ok(Self {
            name,
            filter: e.filter.clone(),
            expr,
            severity,
            hold_ms,
            muted: e.muted,
            shared: false,
        })
    }

    /// Compiles the command line's form; columns count in the whole text.
    pub fn parse(text: &str) -> Result<Self, SpecError> {
        let (entry, offset) = parse_entry(text)?;
        Self::build(&entry, offset)
    }

    /// The entry that gives this rule back (for saving to a profile).
    pub fn entry(&self) -> RuleEntry {
        let default_name = format!("{}: {}", self.filter, self.expr.text.trim());
        RuleEntry {
            filter: self.filter.clone(),
            when: self.expr.text.trim().to_string(),
            name: (self.name != default_name).then(|| self.name.clone()),
            severity: (self.severity != Severity::default())
                .then(|| self.severity.as_str().to_string()),
            hold: (self.hold_ms > 0).then(|| {
                humantime::format_duration(std::time::Duration::from_millis(self.hold_ms))
                    .to_string()
            }),
            muted: self.muted,
        }
    }

    /// The command line's form, which [`Rule::parse`] reads back (the explorer edits this).
    pub fn text(&self) -> String {
        let e = self.entry();
        let mut out = format!("{}: {}", e.filter, e.when);
        if let Some(h) = e.hold {
            let _ = write!(out, "; for={h}");
        }
        if let Some(n) = e.name {
            let _ = write!(out, "; name={n}");
        }
        if let Some(s) = e.severity {
            let _ = write!(out, "; severity={s}");
        }
        out
    }
}

/// `FILTER: EXPR[; for=D][; name=N][; severity=S]` into an entry, and where the expression
/// starts in the text (in characters), for its error columns.
fn parse_entry(text: &str) -> Result<(RuleEntry, usize), SpecError> {
    let Some(colon) = text.find(": ").or_else(|| text.find(':')) else {
        return Err(err(
            "rule",
            "expected FILTER: EXPRESSION, e.g. 'plant/+/temp: t > 80; for=30s'",
        ));
    };
    let filter = text[..colon].trim().to_string();
    let rest = &text[colon + 1..];
    let parts = split_outside_quotes(rest);
    let when = parts.first().copied().unwrap_or_default();
    let lead = when.len() - when.trim_start().len();
    let offset = text[..colon + 1 + lead].chars().count();
    let mut entry = RuleEntry {
        filter,
        when: when.trim().to_string(),
        ..RuleEntry::default()
    };
    for part in parts.iter().skip(1) {
        let part = part.trim();
        let (key, value) = part
            .split_once('=')
            .or_else(|| part.split_once(' '))
            .unwrap_or((part, ""));
        let value = value.trim().to_string();
        match key.trim() {
            "for" => entry.hold = Some(value),
            "name" => entry.name = Some(value),
            "severity" => entry.severity = Some(value),
            "muted" => entry.muted = true,
            other => {
                return Err(err(
                    "rule",
                    format!("{other:?} after `;`: expected for=, name= or severity="),
                ));
            }
        }
    }
    Ok((entry, offset))
}

/// Splits on `;` outside double-quoted strings (the expression's string literals).
fn split_outside_quotes(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ';' if !quoted => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// `--schema FILTER=PATH` into an entry.
pub fn parse_schema_flag(text: &str) -> Result<SchemaEntry, String> {
    let (filter, path) = text.split_once('=').ok_or_else(|| {
        "expected FILTER=PATH.json, e.g. 'devices/+/status=status.json'".to_string()
    })?;
    crate::topic::parse_filter(filter.trim()).map_err(|why| format!("{filter}: {why}"))?;
    if path.trim().is_empty() {
        return Err("no schema file after `=`".into());
    }
    Ok(SchemaEntry {
        filter: filter.trim().to_string(),
        schema: PathBuf::from(path.trim()),
    })
}
