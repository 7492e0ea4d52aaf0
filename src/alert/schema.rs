//! JSON Schema checks: a schema file compiled once (draft 2020-12 or draft 7, as its
//! `$schema` says; 2020-12 when it says nothing), with the `jsonschema` crate. References
//! must stay inside the file: a `$ref` to anything else is refused when the schema loads,
//! so validating never reaches for the network or the disk.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// A schema, compiled.
pub struct Schema {
    pub filter: String,
    pub path: PathBuf,
    /// From the config file's own `[[schemas]]`: saving a profile leaves it where it is.
    pub shared: bool,
    validator: jsonschema::Validator,
}

impl std::fmt::Debug for Schema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Schema")
            .field("filter", &self.filter)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// What is wrong with one message: the first failure, and how many there are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// A JSON pointer into the payload (`/battery`; empty for the whole payload).
    pub instance_path: String,
    /// The schema keyword that failed (`maximum`, `required`, `type`); `json` when the
    /// payload is not JSON at all.
    pub keyword: String,
    /// `120 is greater than the maximum of 100`.
    pub message: String,
    pub errors: usize,
}

/// At most this many errors are counted per message (a payload can break thousands).
const COUNTED: usize = 100;

impl Schema {
    /// Reads and compiles a schema file. Errors name the file, and for JSON syntax the line
    /// and column.
    pub fn load(filter: &str, path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::compile(filter, path, &text)
    }

    pub fn compile(filter: &str, path: &Path, text: &str) -> Result<Self, String> {
        let shown = path.display();
        let schema: Value = serde_json::from_str(text).map_err(|e| {
            format!(
                "{shown}:{}:{}: not JSON: {}",
                e.line(),
                e.column(),
                strip_position(&e.to_string())
            )
        })?;
        let mut ids = Vec::new();
        collect_ids(&schema, &mut ids);
        if let Some((at, reference)) = outside_ref(&schema, &ids, &mut String::new()) {
            let (line, column) = locate(text, &reference);
            return Err(format!(
                "{shown}:{line}:{column}: $ref {reference:?} at {at} points outside this file: \
                 mqscope never fetches schemas (no network, no other files); copy what it \
                 refers to into this file's $defs"
            ));
        }
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .map_err(|e| {
                let at = e.schema_path().to_string();
                format!(
                    "{shown}: not a valid schema{}: {e}",
                    if at.is_empty() {
                        String::new()
                    } else {
                        format!(" at {at}")
                    }
                )
            })?;
        Ok(Self {
            filter: filter.to_string(),
            path: path.to_path_buf(),
            shared: false,
            validator,
        })
    }

    /// The failure of a payload, `None` when it is valid.
    pub fn check(&self, payload: &[u8]) -> Option<Failure> {
        let parsed = serde_json::from_slice::<Value>(payload).map_err(|e| not_json(&e));
        self.check_value(parsed.as_ref().map_err(String::as_str))
    }

    /// The same for a payload already parsed (or the reason it is not JSON).
    pub fn check_value(&self, parsed: Result<&Value, &str>) -> Option<Failure> {
        let instance = match parsed {
            Ok(v) => v,
            Err(why) => {
                return Some(Failure {
                    instance_path: String::new(),
                    keyword: "json".into(),
                    message: why.to_string(),
                    errors: 1,
                });
            }
        };
        // The common case: valid, told without collecting anything.
        if self.validator.is_valid(instance) {
            return None;
        }
        let mut errors = self.validator.iter_errors(instance);
        let first = errors.next()?;
        let failure = Failure {
            instance_path: first.instance_path().to_string(),
            keyword: first.kind().keyword().to_string(),
            message: first.to_string(),
            errors: 1 + errors.take(COUNTED - 1).count(),
        };
        Some(failure)
    }
}

/// Why a payload is not JSON, as a schema failure says it.
pub fn not_json(e: &serde_json::Error) -> String {
    format!("not JSON: {}", strip_position(&e.to_string()))
}

/// serde_json's messages end with ` at line L column C`; the callers say where themselves.
fn strip_position(message: &str) -> &str {
    message.split(" at line ").next().unwrap_or(message)
}

/// The first `$ref` / `$dynamicRef` that leaves the document, with its JSON pointer.
/// The `$id`s inside a schema: a `$ref` to one of them stays inside the file.
fn collect_ids(value: &Value, ids: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(id)) = map.get("$id") {
                ids.push(id.trim_end_matches('#').to_string());
            }
            map.values().for_each(|v| collect_ids(v, ids));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_ids(v, ids)),
        _ => {}
    }
}

fn outside_ref(value: &Value, ids: &[String], at: &mut String) -> Option<(String, String)> {
    match value {
        Value::Object(map) => {
            for key in ["$ref", "$dynamicRef"] {
                if let Some(Value::String(r)) = map.get(key) {
                    let base = r.split('#').next().unwrap_or_default();
                    let inside = base.is_empty()
                        || ids
                            .iter()
                            .any(|id| id == base || id.ends_with(&format!("/{base}")));
                    if !inside {
                        return Some((pointer(at, key), r.clone()));
                    }
                }
            }
            for (k, v) in map {
                let len = at.len();
                at.push('/');
                at.push_str(&k.replace('~', "~0").replace('/', "~1"));
                let found = outside_ref(v, ids, at);
                at.truncate(len);
                if found.is_some() {
                    return found;
                }
            }
            None
        }
        Value::Array(items) => items.iter().enumerate().find_map(|(i, v)| {
            let len = at.len();
            let _ = write!(at, "/{i}");
            let found = outside_ref(v, ids, at);
            at.truncate(len);
            found
        }),
        _ => None,
    }
}

fn pointer(at: &str, key: &str) -> String {
    format!("{at}/{key}")
}

/// Line and column (from 1) of the first place `needle` appears as a JSON string.
fn locate(text: &str, needle: &str) -> (usize, usize) {
    let quoted = serde_json::to_string(needle).unwrap_or_default();
    let Some(at) = text.find(&quoted) else {
        return (1, 1);
    };
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}
