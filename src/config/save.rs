//! Adds a profile to the configuration file, keeping the file's comments and layout.

use std::path::{Path, PathBuf};

use super::Profile;

/// Why a profile was not saved.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("{0:?}: a profile name is letters, digits, '-', '_' or '.'")]
    BadName(String),
    #[error("a profile named {name} exists already in {}", .path.display())]
    Exists { name: String, path: PathBuf },
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not valid TOML: {source}", .path.display())]
    NotToml {
        path: PathBuf,
        source: toml_edit::TomlError,
    },
    #[error("there is no profile named {name} in {}", .path.display())]
    NoProfile { name: String, path: PathBuf },
    #[error("{}: `profiles` is not a table", .path.display())]
    ProfilesNotATable { path: PathBuf },
    #[error("the profile cannot be written as TOML: {0}")]
    Encode(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SaveError + '_ {
    move |source| SaveError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Profile names are letters, digits, `-`, `_` and `.`.
fn check_name(name: &str) -> Result<(), SaveError> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_alphanumeric() || "-_.".contains(c))
    {
        return Err(SaveError::BadName(name.to_string()));
    }
    Ok(())
}

/// The file's text, or the documented starter when there is no file yet.
fn read_or_starter(path: &Path) -> Result<String, SaveError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(super::DEFAULT.to_string()),
        Err(e) => Err(io(path)(e)),
    }
}

/// Writes `[profiles.NAME]` into the file at `path` (created from the documented starter when
/// missing). An existing profile of that name is left alone: the call fails instead.
pub fn save_profile(path: &Path, name: &str, profile: &Profile) -> Result<(), SaveError> {
    check_name(name)?;
    let text = read_or_starter(path)?;
    let mut doc: toml_edit::DocumentMut = text.parse().map_err(|source| SaveError::NotToml {
        path: path.to_path_buf(),
        source,
    })?;
    let profiles = doc
        .entry("profiles")
        .or_insert_with(|| {
            let mut t = toml_edit::Table::new();
            t.set_implicit(true);
            toml_edit::Item::Table(t)
        })
        .as_table_mut()
        .ok_or_else(|| SaveError::ProfilesNotATable {
            path: path.to_path_buf(),
        })?;
    if profiles.contains_key(name) {
        return Err(SaveError::Exists {
            name: name.to_string(),
            path: path.to_path_buf(),
        });
    }
    let body = toml::to_string(profile).map_err(|e| SaveError::Encode(e.to_string()))?;
    let table: toml_edit::DocumentMut = body
        .parse()
        .map_err(|e: toml_edit::TomlError| SaveError::Encode(e.to_string()))?;
    profiles.insert(name, toml_edit::Item::Table(table.as_table().clone()));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let mut out = doc.to_string();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    write_private(path, &out).map_err(io(path))
}

/// Replaces the pinned series of the existing profile `name` in the file at `path`, leaving
/// everything else in the file as it is.
pub fn save_pins(path: &Path, name: &str, pins: &[super::PinEntry]) -> Result<(), SaveError> {
    let mut doc = read_doc(path)?;
    let profile = profile_table(&mut doc, path, name)?;
    profile.remove("pins");
    if !pins.is_empty() {
        let mut list = toml_edit::ArrayOfTables::new();
        for pin in pins {
            let mut t = toml_edit::Table::new();
            t.insert("topic", toml_edit::value(pin.topic.as_str()));
            if !pin.field.is_empty() {
                t.insert("field", toml_edit::value(pin.field.as_str()));
            }
            list.push(t);
        }
        profile.insert("pins", toml_edit::Item::ArrayOfTables(list));
    }
    write_private(path, &doc.to_string()).map_err(io(path))
}

/// The file at `path`, for editing.
fn read_doc(path: &Path) -> Result<toml_edit::DocumentMut, SaveError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    text.parse().map_err(|source| SaveError::NotToml {
        path: path.to_path_buf(),
        source,
    })
}

/// The table of profile `name` in it.
fn profile_table<'d>(
    doc: &'d mut toml_edit::DocumentMut,
    path: &Path,
    name: &str,
) -> Result<&'d mut toml_edit::Table, SaveError> {
    doc.get_mut("profiles")
        .and_then(toml_edit::Item::as_table_mut)
        .ok_or_else(|| SaveError::ProfilesNotATable {
            path: path.to_path_buf(),
        })?
        .get_mut(name)
        .and_then(toml_edit::Item::as_table_mut)
        .ok_or_else(|| SaveError::NoProfile {
            name: name.to_string(),
            path: path.to_path_buf(),
        })
}

/// Replaces the `[[rules]]` and `[[schemas]]` of profile `name` in the file at `path`
/// (nothing else in the file changes).
pub fn save_alerts(
    path: &Path,
    name: &str,
    rules: &[crate::alert::RuleEntry],
    schemas: &[crate::alert::SchemaEntry],
) -> Result<(), SaveError> {
    let mut doc = read_doc(path)?;
    let profile = profile_table(&mut doc, path, name)?;
    profile.remove("rules");
    profile.remove("schemas");
    if !rules.is_empty() {
        let mut list = toml_edit::ArrayOfTables::new();
        for r in rules {
            let mut t = toml_edit::Table::new();
            t.insert("filter", toml_edit::value(r.filter.as_str()));
            t.insert("when", toml_edit::value(r.when.as_str()));
            let optional = [
                ("name", &r.name),
                ("severity", &r.severity),
                ("for", &r.hold),
            ];
            for (key, value) in optional {
                if let Some(v) = value {
                    t.insert(key, toml_edit::value(v.as_str()));
                }
            }
            if r.muted {
                t.insert("muted", toml_edit::value(true));
            }
            list.push(t);
        }
        profile.insert("rules", toml_edit::Item::ArrayOfTables(list));
    }
    if !schemas.is_empty() {
        let mut list = toml_edit::ArrayOfTables::new();
        for s in schemas {
            let mut t = toml_edit::Table::new();
            t.insert("filter", toml_edit::value(s.filter.as_str()));
            t.insert(
                "schema",
                toml_edit::value(s.schema.to_string_lossy().as_ref()),
            );
            list.push(t);
        }
        profile.insert("schemas", toml_edit::Item::ArrayOfTables(list));
    }
    write_private(path, &doc.to_string()).map_err(io(path))
}

/// Adds a cloud broker's commented profile, named `name`, at the end of the file at `path`
/// (created from the documented starter when missing); an existing profile of that name is
/// left alone and the call fails.
pub fn add_template(path: &Path, name: &str, cloud: super::cloud::Cloud) -> Result<(), SaveError> {
    check_name(name)?;
    let text = read_or_starter(path)?;
    let doc: toml_edit::DocumentMut = text.parse().map_err(|source| SaveError::NotToml {
        path: path.to_path_buf(),
        source,
    })?;
    if doc
        .get("profiles")
        .and_then(toml_edit::Item::as_table_like)
        .is_some_and(|t| t.contains_key(name))
    {
        return Err(SaveError::Exists {
            name: name.to_string(),
            path: path.to_path_buf(),
        });
    }
    let profile = cloud.template().replace(
        &format!("[profiles.{}]", cloud.name()),
        &format!("[profiles.{name}]"),
    );
    let mut out = text;
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&profile);
    write_private(path, &out).map_err(io(path))
}

/// Writes a config file readable by its owner only (0600; it may name where passwords come
/// from, or hold one): to a temporary file in the same directory, then renamed over the old
/// one, so a crash leaves the old file or the new one, never half of one.
pub fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir)?;
    }
    let name = path
        .file_name()
        .map_or_else(|| "config".into(), |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_saved_profile_reads_back_and_keeps_the_comments() {
        let dir = std::env::temp_dir().join(format!("mqscope-save-{}", std::process::id()));
        let path = dir.join("config.toml");
        let _ = std::fs::remove_file(&path);
        let p = Profile {
            url: "mqtts://h:8883".into(),
            username: Some("u".into()),
            password_env: Some("H_PASSWORD".into()),
            filters: vec!["a/#".into()],
            ..Profile::default()
        };
        save_profile(&path, "plant-a", &p).unwrap();
        let again = save_profile(&path, "plant-a", &p).unwrap_err();
        assert!(matches!(again, SaveError::Exists { .. }), "{again}");
        assert!(again.to_string().contains("exists already"), "{again}");
        assert!(matches!(
            save_profile(&path, "no spaces", &p),
            Err(SaveError::BadName(_))
        ));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# mqscope configuration"), "{text}");
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "written for its owner only");
        }
        let c = super::super::Config::parse(&text, &path, super::super::no_sections).unwrap();
        let back = &c.profiles["plant-a"];
        assert_eq!(back.url, "mqtts://h:8883");
        assert_eq!(back.password_env.as_deref(), Some("H_PASSWORD"));
        assert_eq!(back.filters, vec!["a/#".to_string()]);
        assert!(save_profile(&path, "bad name", &p).is_err());

        // Pins replace the profile's own, and read back; the rest stays.
        let pins = [
            super::super::PinEntry {
                topic: "温度/x".into(),
                field: "a[\"odd key\"]".into(),
            },
            super::super::PinEntry {
                topic: "plain".into(),
                field: String::new(),
            },
        ];
        save_pins(&path, "plant-a", &pins).unwrap();
        save_pins(&path, "plant-a", &pins).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# mqscope configuration"), "{text}");
        let c = super::super::Config::parse(&text, &path, super::super::no_sections).unwrap();
        assert_eq!(c.profiles["plant-a"].pins, pins);
        assert_eq!(c.profiles["plant-a"].url, "mqtts://h:8883");
        save_pins(&path, "plant-a", &[]).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("pins"), "{text}");
        assert!(matches!(
            save_pins(&path, "other", &pins),
            Err(SaveError::NoProfile { .. })
        ));

        // Rules and schemas replace the profile's own and read back; the rest stays.
        let rules = [
            crate::alert::RuleEntry {
                filter: "plant/+/温度".into(),
                when: r#"t > 80 and state != "off""#.into(),
                name: Some("boiler hot".into()),
                severity: Some("critical".into()),
                hold: Some("30s".into()),
                muted: true,
            },
            crate::alert::RuleEntry {
                filter: "a/#".into(),
                when: "v".into(),
                ..crate::alert::RuleEntry::default()
            },
        ];
        let schemas = [crate::alert::SchemaEntry {
            filter: "dev/#".into(),
            schema: "/etc/mqscope/état.json".into(),
        }];
        save_alerts(&path, "plant-a", &rules, &schemas).unwrap();
        save_alerts(&path, "plant-a", &rules, &schemas).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("[[profiles.plant-a.rules]]"), "{text}");
        let c = super::super::Config::parse(&text, &path, super::super::no_sections).unwrap();
        assert_eq!(c.profiles["plant-a"].rules, rules);
        assert_eq!(c.profiles["plant-a"].schemas, schemas);
        assert_eq!(c.profiles["plant-a"].url, "mqtts://h:8883");
        save_alerts(&path, "plant-a", &[], &[]).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains("[[profiles.plant-a.rules]]")
                && !text.contains("[[profiles.plant-a.schemas]]"),
            "{text}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
