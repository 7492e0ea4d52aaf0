//! The session's alerts: the profile's `[[rules]]` and `[[schemas]]` first, then the file's,
//! then the command line's `--rule` and `--schema`. Schema files are read and compiled here,
//! once; an error names the flag or config key it came from (exit 2).

use std::path::{Path, PathBuf};

use super::Config;
use crate::alert::{Alerts, Rule, RuleEntry, Schema, SchemaEntry};
use crate::cli::{AlertArgs, UsageError};

/// What serde cannot check, for `Config::check`: the rules compile, the filters parse. The
/// schema files are read when a mode that uses them starts (a config may name files that are
/// only on the machine where the alerts run). `prefix` is `""` or `profiles.NAME.`.
pub fn check(
    rules: &[RuleEntry],
    schemas: &[SchemaEntry],
    prefix: &str,
) -> Result<(), (String, String)> {
    for (i, r) in rules.iter().enumerate() {
        Rule::from_entry(r).map_err(|e| {
            let part = if e.part == "rule" { "when" } else { e.part };
            let why = match e.column {
                Some(c) => format!("column {c}: {}", e.message),
                None => e.message,
            };
            (format!("{prefix}rules[{i}].{part}"), why)
        })?;
    }
    for (i, s) in schemas.iter().enumerate() {
        crate::topic::parse_filter(&s.filter)
            .map_err(|why| (format!("{prefix}schemas[{i}].filter"), why))?;
    }
    Ok(())
}

/// Entries with the config key each came from.
type Keyed<T> = Vec<(String, T)>;

/// The rules and schemas in the file for a profile, each with the key it came from.
fn entries(config: &Config, profile: Option<&str>) -> (Keyed<RuleEntry>, Keyed<SchemaEntry>) {
    let mut rules = Vec::new();
    let mut schemas = Vec::new();
    if let Some((name, p)) = profile.and_then(|n| config.profiles.get(n).map(|p| (n, p))) {
        for (i, r) in p.rules.iter().enumerate() {
            rules.push((format!("profiles.{name}.rules[{i}]"), r.clone()));
        }
        for (i, s) in p.schemas.iter().enumerate() {
            schemas.push((format!("profiles.{name}.schemas[{i}]"), s.clone()));
        }
    }
    for (i, r) in config.rules.iter().enumerate() {
        rules.push((format!("rules[{i}]"), r.clone()));
    }
    for (i, s) in config.schemas.iter().enumerate() {
        schemas.push((format!("schemas[{i}]"), s.clone()));
    }
    (rules, schemas)
}

/// Builds the alerts. Relative schema paths on the command line are taken from the working
/// directory; in the file, from the file's directory.
pub fn build(
    args: &AlertArgs,
    config: &Config,
    profile: Option<&str>,
    config_path: Option<&Path>,
) -> Result<Alerts, UsageError> {
    let file = config_path.map_or_else(String::new, |p| format!("{}: ", p.display()));
    let dir = config_path
        .and_then(Path::parent)
        .map_or_else(PathBuf::new, Path::to_path_buf);
    let (rule_entries, schema_entries) = entries(config, profile);
    let mut rules = Vec::new();
    for (key, entry) in rule_entries {
        // Checked when the file was read; a failure here would be a bug, said plainly.
        let mut rule =
            Rule::from_entry(&entry).map_err(|e| UsageError(format!("{file}{key}: {e}")))?;
        rule.shared = key.starts_with("rules[");
        rules.push(rule);
    }
    rules.extend(args.rules.iter().cloned());
    let mut schemas = Vec::new();
    for (key, entry) in schema_entries {
        let path = dir.join(&entry.schema);
        let mut schema = Schema::load(&entry.filter, &path)
            .map_err(|e| UsageError(format!("{file}{key}.schema: {e}")))?;
        schema.shared = key.starts_with("schemas[");
        schemas.push(schema);
    }
    for entry in &args.schemas {
        let schema = Schema::load(&entry.filter, &entry.schema)
            .map_err(|e| UsageError(format!("--schema {}: {e}", entry.filter)))?;
        schemas.push(schema);
    }
    Ok(Alerts::new(rules, schemas))
}
