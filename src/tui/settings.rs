//! What the config file sets for the explorer: the `[keys]` and `[theme]` sections, which the
//! core keeps as plain data (names and colour strings), checked and turned into the explorer's
//! `Keymap` and `Theme` here.

use std::path::Path;

use super::keymap::{Action, Key, Keymap, Pane};
use super::theme::{Theme, parse_colour};
use crate::config::{Config, ConfigError, ThemeBase};

/// What the config file sets for the explorer.
pub struct Settings {
    pub theme: Theme,
    pub keymap: Keymap,
    /// Where "save as profile" writes.
    pub config_path: Option<std::path::PathBuf>,
    /// The profile the explorer was opened with.
    pub profile: Option<String>,
    /// The anomaly watch's thresholds (the profile's, then the file's).
    pub watch: crate::watch::Rules,
    /// Payload decoders (the command line's, the profile's, the file's), built by the caller.
    pub decoders: crate::payload::decode::Decoders,
    /// The profile's pinned series.
    pub pins: Vec<crate::config::PinEntry>,
    /// Alert rules and schema checks (the profile's, the file's, the command line's), built
    /// by the caller.
    pub alerts: crate::alert::Alerts,
}

impl Default for Settings {
    fn default() -> Self {
        Self::from_config(&Config::builtin(), None)
    }
}

impl Settings {
    pub fn from_config(config: &Config, profile: Option<String>) -> Self {
        Self {
            theme: theme(config),
            keymap: keymap(config),
            config_path: crate::config::path(),
            watch: config.watch_rules(profile.as_deref()),
            decoders: crate::payload::decode::Decoders::default(),
            alerts: crate::alert::Alerts::default(),
            pins: profile
                .as_deref()
                .and_then(|p| config.profiles.get(p))
                .map(|p| p.pins.clone())
                .unwrap_or_default(),
            profile,
        }
    }
}

/// The config file (built-in defaults with the user's file over them), every section checked.
pub fn load() -> Result<Config, ConfigError> {
    Config::load(check)
}

/// One file's text, every section checked.
pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    Config::parse(text, path, check)
}

/// Checks `[keys]` (panes, actions, key names, no shadowed override) and `[theme]` (parts and
/// colours): the dotted key at fault and why.
pub fn check(config: &Config) -> Result<(), (String, String)> {
    for (pane, actions) in &config.keys {
        if Pane::from_name(pane).is_none() {
            return Err((
                format!("keys.{pane}"),
                "panes are global, topics, inspector, timeline, log, anomalies, charts, sys".into(),
            ));
        }
        for (action, keys) in actions {
            let key = format!("keys.{pane}.{action}");
            if Action::from_name(action).is_none() {
                return Err((key, format!("unknown action; actions: {}", action_names())));
            }
            for k in keys.list() {
                Key::parse(k).map_err(|why| (key.clone(), why))?;
            }
        }
    }
    if let Some(conflict) = key_conflict(config) {
        return Err(conflict);
    }
    for (part, colour) in &config.theme.colors {
        let key = format!("theme.colors.{part}");
        if !Theme::PARTS.contains(&part.as_str()) {
            return Err((
                key,
                format!("unknown part; parts: {}", Theme::PARTS.join(", ")),
            ));
        }
        parse_colour(colour).map_err(|why| (key, why))?;
    }
    Ok(())
}

/// A key override that another binding shadows: the key's dotted path and why.
fn key_conflict(config: &Config) -> Option<(String, String)> {
    let keymap = keymap(config);
    let panes = [
        Pane::Global,
        Pane::Topics,
        Pane::Inspector,
        Pane::Timeline,
        Pane::Log,
    ];
    for (pane_name, actions) in &config.keys {
        let pane = Pane::from_name(pane_name)?;
        for (action_name, keys) in actions {
            let action = Action::from_name(action_name)?;
            for text in keys.list() {
                let key = Key::parse(text).ok()?;
                let checked: &[Pane] = if pane == Pane::Global {
                    &panes
                } else {
                    std::slice::from_ref(&pane)
                };
                for p in checked {
                    if let Some(other) = keymap.action(*p, key).filter(|a| *a != action) {
                        return Some((
                            format!("keys.{pane_name}.{action_name}"),
                            format!(
                                "{text:?} already does {} in {}{}; give {} another key \
                                     under [keys.{}] or pick another key",
                                other.name(),
                                p.title(),
                                if pane == *p {
                                    ""
                                } else {
                                    " (pane keys win over global ones)"
                                },
                                other.name(),
                                p.title()
                            ),
                        ));
                    }
                }
            }
        }
    }
    None
}

/// The theme a configuration asks for (`NO_COLOR` is the caller's to apply).
pub fn theme(config: &Config) -> Theme {
    let mut theme = match config.theme.base {
        Some(ThemeBase::Light) => Theme::light(),
        _ => Theme::dark(),
    };
    for (part, colour) in &config.theme.colors {
        if let Ok(c) = parse_colour(colour) {
            theme.set_colour(part, c);
        }
    }
    theme
}

/// The keymap with a configuration's overrides.
pub fn keymap(config: &Config) -> Keymap {
    let mut keymap = Keymap::default();
    for (pane, actions) in &config.keys {
        let Some(pane) = Pane::from_name(pane) else {
            continue;
        };
        for (action, keys) in actions {
            let Some(action) = Action::from_name(action) else {
                continue;
            };
            let keys: Vec<Key> = keys
                .list()
                .iter()
                .filter_map(|k| Key::parse(k).ok())
                .collect();
            keymap.rebind(pane, action, &keys);
        }
    }
    keymap
}

fn action_names() -> String {
    Action::ALL
        .iter()
        .map(|a| a.name())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_builtin_file_passes_every_check() {
        let c = parse(crate::config::DEFAULT, Path::new("builtin")).unwrap();
        assert!(check(&c).is_ok());
        assert_eq!(
            keymap(&c).action(Pane::Global, Key::ch('q')),
            Some(Action::Quit)
        );
    }

    #[test]
    fn unknown_actions_and_colours_name_the_key() {
        let bad = "[keys.topics]\nfly = \"f\"\n";
        let e = parse(bad, Path::new("c.toml")).unwrap_err().to_string();
        assert!(
            e.contains("keys.topics.fly") && e.contains("unknown action"),
            "{e}"
        );
        let bad = "[theme.colors]\nselected = \"blurple\"\n";
        let e = parse(bad, Path::new("c.toml")).unwrap_err().to_string();
        assert!(e.contains("theme.colors.selected"), "{e}");
    }
}
