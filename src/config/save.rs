//! Adds a profile to the configuration file, keeping the file's comments and layout.

use std::path::Path;

use super::Profile;

/// Writes `[profiles.NAME]` into the file at `path` (created from the documented starter when
/// missing). An existing profile of that name is left alone: the call fails instead.
pub fn save_profile(path: &Path, name: &str, profile: &Profile) -> Result<(), String> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_alphanumeric() || "-_.".contains(c))
    {
        return Err(format!(
            "{name:?}: a profile name is letters, digits, '-', '_' or '.'"
        ));
    }
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => super::DEFAULT.to_string(),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e| format!("{}: not valid TOML: {e}", path.display()))?;
    let profiles = doc
        .entry("profiles")
        .or_insert_with(|| {
            let mut t = toml_edit::Table::new();
            t.set_implicit(true);
            toml_edit::Item::Table(t)
        })
        .as_table_mut()
        .ok_or("profiles is not a table in the file")?;
    if profiles.contains_key(name) {
        return Err(format!(
            "a profile named {name} exists already in {}",
            path.display()
        ));
    }
    let body = toml::to_string(profile).map_err(|e| e.to_string())?;
    let table: toml_edit::DocumentMut = body.parse().map_err(|e| format!("{e}"))?;
    profiles.insert(name, toml_edit::Item::Table(table.as_table().clone()));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let mut out = doc.to_string();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    std::fs::write(path, out).map_err(|e| format!("{}: {e}", path.display()))
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
        assert!(
            save_profile(&path, "plant-a", &p)
                .unwrap_err()
                .contains("exists")
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# mqscope configuration"), "{text}");
        let c = super::super::Config::parse(&text, &path, super::super::no_sections).unwrap();
        let back = &c.profiles["plant-a"];
        assert_eq!(back.url, "mqtts://h:8883");
        assert_eq!(back.password_env.as_deref(), Some("H_PASSWORD"));
        assert_eq!(back.filters, vec!["a/#".to_string()]);
        assert!(save_profile(&path, "bad name", &p).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
