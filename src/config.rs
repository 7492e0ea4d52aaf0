//! The configuration file: built-in defaults (`assets/config.toml`) with the user's TOML file
//! layered over them. Saved brokers (profiles), key overrides and the theme live here.
//! Passwords do not: a profile names where its password comes from.

pub mod alerts;
pub mod apply;
pub mod cloud;
pub mod decoders;
mod error;
pub mod password;
pub mod save;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use apply::{ProfileChoice, apply};
pub use error::ConfigError;

/// The documented starter file, also the built-in defaults.
pub const DEFAULT: &str = include_str!("../assets/config.toml");

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub defaults: Defaults,
    #[serde(default)]
    pub theme: ThemeConfig,
    /// Pane → action → key or keys.
    #[serde(default)]
    pub keys: BTreeMap<String, BTreeMap<String, Keys>>,
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
    /// Anomaly watch thresholds per topic filter, first match wins.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub watch: Vec<crate::watch::WatchRule>,
    /// Payload decoders per topic filter, first match wins (after the command line's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub decoders: Vec<DecoderEntry>,
    /// Alert rules: a filter and an expression, fired once when it becomes true.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<crate::alert::RuleEntry>,
    /// JSON Schema checks per topic filter.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schemas: Vec<crate::alert::SchemaEntry>,
}

/// One `[[decoders]]` entry: a topic filter and what decodes it (`--decode`'s right side).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DecoderEntry {
    pub filter: String,
    /// `protobuf:PATH.proto:package.Message`, `sparkplug`, `msgpack`, `cbor`, `base64[,KIND]`,
    /// `json`, `text`, `hex`. A relative path is taken from the config file's directory.
    pub decoder: String,
    /// Directories searched for a .proto file's imports (after the file's own).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proto_path: Vec<PathBuf>,
}

impl DecoderEntry {
    /// The entry as a spec (`filter=decoder`), syntax checked.
    pub fn spec(&self) -> Result<crate::payload::decode::DecodeSpec, String> {
        crate::topic::parse_filter(&self.filter).map_err(|e| format!("{}: {e}", self.filter))?;
        let mut spec = crate::payload::decode::parse_spec(&self.decoder).map_err(|e| e.0)?;
        if spec.filter != "#" {
            return Err(format!(
                "{:?}: the filter goes in `filter`, the decoder alone here",
                self.decoder
            ));
        }
        spec.filter.clone_from(&self.filter);
        Ok(spec)
    }
}

/// What applies when nothing more specific says otherwise.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    pub mqtt_version: Option<Version>,
    pub keep_alive: Option<u16>,
    pub connect_timeout: Option<u16>,
    pub history: Option<u32>,
    pub max_memory: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum Version {
    #[serde(rename = "5")]
    V5,
    #[serde(rename = "3.1.1")]
    V311,
    #[serde(rename = "auto")]
    Auto,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ThemeConfig {
    pub base: Option<ThemeBase>,
    /// Part → named colour.
    #[serde(default)]
    pub colors: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ThemeBase {
    Dark,
    Light,
}

/// One key or several.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Keys {
    One(String),
    Many(Vec<String>),
}

impl Keys {
    pub fn list(&self) -> Vec<&str> {
        match self {
            Keys::One(k) => vec![k.as_str()],
            Keys::Many(ks) => ks.iter().map(String::as_str).collect(),
        }
    }
}

/// One `[[profiles.NAME.pins]]` entry: a series pinned to the explorer's charts pane.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PinEntry {
    pub topic: String,
    /// A path into the payload's value (`temp`, `a.b[0]`); empty or absent: the payload.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub field: String,
}

/// A profile's `[profiles.NAME.will]`: the Last Will its connections send (the `--will-*`
/// flags win over it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WillEntry {
    pub topic: String,
    /// The payload as text (or `file`).
    pub payload: Option<String>,
    /// The payload from a file, bytes as they are.
    pub file: Option<PathBuf>,
    pub qos: Option<u8>,
    pub retain: Option<bool>,
    /// MQTT 5: seconds before the broker publishes it.
    pub delay: Option<u32>,
    /// MQTT 5: the will message's expiry, in seconds.
    pub expiry: Option<u32>,
    /// MQTT 5: the will message's content type.
    pub content_type: Option<String>,
}

/// A saved broker.
#[derive(Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub url: String,
    pub username: Option<String>,
    /// The environment variable holding the password.
    pub password_env: Option<String>,
    /// A file whose first line is the password.
    pub password_file: Option<PathBuf>,
    /// A command (run by `sh -c`) whose first output line is the password.
    pub password_command: Option<String>,
    /// The password itself: discouraged (a warning says so), never printed.
    pub password: Option<String>,
    pub client_id: Option<String>,
    pub mqtt_version: Option<Version>,
    pub ca_file: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub insecure: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<String>,
    pub keep_alive: Option<u16>,
    pub history: Option<u32>,
    pub max_memory: Option<String>,
    /// Anomaly watch thresholds for this broker, ahead of the file's own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub watch: Vec<crate::watch::WatchRule>,
    /// Payload decoders for this broker, ahead of the file's own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub decoders: Vec<DecoderEntry>,
    /// Alert rules for this broker, ahead of the file's own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<crate::alert::RuleEntry>,
    /// JSON Schema checks for this broker, ahead of the file's own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schemas: Vec<crate::alert::SchemaEntry>,
    /// Series pinned to the explorer's charts pane (`+`), saved with the profile.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pins: Vec<PinEntry>,
    /// The Last Will sent in CONNECT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub will: Option<WillEntry>,
    /// Reach the broker through this proxy (`--proxy`'s URL; no password in it).
    pub proxy: Option<String>,
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile")
            .field("url", &self.url)
            .field("username", &self.username)
            .field("password_env", &self.password_env)
            .field("password_file", &self.password_file)
            .field("password_command", &self.password_command)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("client_id", &self.client_id)
            .field("mqtt_version", &self.mqtt_version)
            .field("ca_file", &self.ca_file)
            .field("cert", &self.cert)
            .field("key", &self.key)
            .field("insecure", &self.insecure)
            .field("filters", &self.filters)
            .field("keep_alive", &self.keep_alive)
            .field("history", &self.history)
            .field("max_memory", &self.max_memory)
            .field("watch", &self.watch)
            .field("decoders", &self.decoders)
            .field("rules", &self.rules)
            .field("schemas", &self.schemas)
            .field("pins", &self.pins)
            .field("will", &self.will)
            .field("proxy", &self.proxy)
            .finish()
    }
}

impl Profile {
    /// Checks the proxy, the will and the pins: the key under the profile at fault and why.
    fn check_extras(&self) -> Result<(), (String, String)> {
        if let Some(proxy) = &self.proxy {
            if let Err(why) = proxy.parse::<crate::broker::tunnel::ProxySettings>() {
                return Err(("proxy".into(), why));
            }
        }
        if let Some(w) = &self.will {
            if let Err(why) = crate::topic::parse_topic(&w.topic) {
                return Err(("will.topic".into(), why));
            }
            if w.qos.is_some_and(|q| q > 2) {
                return Err(("will.qos".into(), "must be 0, 1 or 2".into()));
            }
            if w.payload.is_some() && w.file.is_some() {
                return Err(("will.file".into(), "give payload or file, not both".into()));
            }
        }
        if self.pins.len() > crate::series::MAX_PINS {
            return Err((
                "pins".into(),
                format!("{} series at most", crate::series::MAX_PINS),
            ));
        }
        for (i, pin) in self.pins.iter().enumerate() {
            if let Err(why) = crate::series::Field::parse(&pin.field) {
                return Err((format!("pins[{i}].field"), why));
            }
            if let Err(why) = crate::topic::parse_topic(&pin.topic) {
                return Err((format!("pins[{i}].topic"), why));
            }
        }
        Ok(())
    }
}

/// Checks sections of the file that another layer interprets: the dotted key at fault and why.
pub type SectionCheck = fn(&Config) -> Result<(), (String, String)>;

/// Checks nothing beyond the core's own sections.
pub fn no_sections(_: &Config) -> Result<(), (String, String)> {
    Ok(())
}

/// Where the file is: `MQSCOPE_CONFIG`, else the platform's config directory.
pub fn path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MQSCOPE_CONFIG").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    directories::ProjectDirs::from("", "", "mqscope").map(|d| d.config_dir().join("config.toml"))
}

impl Config {
    /// The built-in defaults.
    pub fn builtin() -> Self {
        // The file ships with the binary and is tested to parse.
        toml::from_str(DEFAULT).unwrap_or_default()
    }

    /// Parses and checks one file's text; `sections` checks what the core keeps as plain data
    /// for the explorer (`[keys]`, `[theme]`), whose vocabulary is the explorer's.
    pub fn parse(text: &str, path: &Path, sections: SectionCheck) -> Result<Self, ConfigError> {
        let config: Config =
            toml::from_str(text).map_err(|e| ConfigError::from_toml(&e, text, path))?;
        config.check(text, path)?;
        sections(&config).map_err(|(key, why)| ConfigError::at_key(path, text, &key, why))?;
        Ok(config)
    }

    /// The built-in defaults with the user's file (when there is one) over them.
    pub fn load(sections: SectionCheck) -> Result<Self, ConfigError> {
        let Some(path) = path() else {
            return Ok(Self::builtin());
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Self::builtin().layer(Self::parse(&text, &path, sections)?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::builtin()),
            Err(e) => Err(ConfigError::io(&path, &e)),
        }
    }

    /// `other` over `self`.
    #[must_use]
    pub fn layer(mut self, other: Config) -> Self {
        let d = other.defaults;
        self.defaults = Defaults {
            mqtt_version: d.mqtt_version.or(self.defaults.mqtt_version),
            keep_alive: d.keep_alive.or(self.defaults.keep_alive),
            connect_timeout: d.connect_timeout.or(self.defaults.connect_timeout),
            history: d.history.or(self.defaults.history),
            max_memory: d.max_memory.or(self.defaults.max_memory),
        };
        self.theme.base = other.theme.base.or(self.theme.base);
        self.theme.colors.extend(other.theme.colors);
        for (pane, actions) in other.keys {
            self.keys.entry(pane).or_default().extend(actions);
        }
        self.profiles.extend(other.profiles);
        self.watch.extend(other.watch);
        self.decoders.extend(other.decoders);
        self.rules.extend(other.rules);
        self.schemas.extend(other.schemas);
        self
    }

    /// The anomaly watch's thresholds: the profile's entries first, then the file's.
    pub fn watch_rules(&self, profile: Option<&str>) -> crate::watch::Rules {
        let mut all = profile
            .and_then(|p| self.profiles.get(p))
            .map(|p| p.watch.clone())
            .unwrap_or_default();
        all.extend(self.watch.iter().cloned());
        // Checked when the file was read.
        crate::watch::Rules::compile(&all, "watch").unwrap_or_default()
    }

    /// The decoders in the file: the profile's entries first, then the file's; each with the
    /// key it came from, for errors. Syntax was checked when the file was read.
    pub fn decoder_entries(&self, profile: Option<&str>) -> Vec<(String, DecoderEntry)> {
        let mut all: Vec<(String, DecoderEntry)> = profile
            .and_then(|p| self.profiles.get(p).map(|prof| (p, prof)))
            .map(|(name, p)| {
                p.decoders
                    .iter()
                    .enumerate()
                    .map(|(i, d)| (format!("profiles.{name}.decoders[{i}]"), d.clone()))
                    .collect()
            })
            .unwrap_or_default();
        all.extend(
            self.decoders
                .iter()
                .enumerate()
                .map(|(i, d)| (format!("decoders[{i}]"), d.clone())),
        );
        all
    }

    /// What serde cannot check: values that must parse, and combinations.
    fn check(&self, text: &str, path: &Path) -> Result<(), ConfigError> {
        let fail = |key: String, why: String| Err(ConfigError::at_key(path, text, &key, why));
        if let Some(m) = &self.defaults.max_memory {
            if let Err(why) = crate::size::parse_size(m) {
                return fail("defaults.max_memory".into(), why);
            }
        }
        if self.defaults.keep_alive.is_some_and(|k| k < 5) {
            return fail(
                "defaults.keep_alive".into(),
                "must be 5 to 65535 seconds".into(),
            );
        }
        if self
            .defaults
            .connect_timeout
            .is_some_and(|t| t == 0 || t > 600)
        {
            return fail(
                "defaults.connect_timeout".into(),
                "must be 1 to 600 seconds".into(),
            );
        }
        if let Err((key, why)) = crate::watch::Rules::compile(&self.watch, "watch") {
            return fail(key, why);
        }
        for (i, d) in self.decoders.iter().enumerate() {
            if let Err(why) = d.spec() {
                return fail(format!("decoders[{i}].decoder"), why);
            }
        }
        if let Err((key, why)) = alerts::check(&self.rules, &self.schemas, "") {
            return fail(key, why);
        }
        for (name, p) in &self.profiles {
            let key = |k: &str| format!("profiles.{name}.{k}");
            if let Err((k, why)) = alerts::check(&p.rules, &p.schemas, &key("")) {
                return fail(k, why);
            }
            if let Err((k, why)) = crate::watch::Rules::compile(&p.watch, &key("watch")) {
                return fail(k, why);
            }
            for (i, d) in p.decoders.iter().enumerate() {
                if let Err(why) = d.spec() {
                    return fail(key(&format!("decoders[{i}].decoder")), why);
                }
            }
            if let Err(why) = p.url.parse::<crate::broker::Target>() {
                return fail(key("url"), why.to_string());
            }
            if let Err((k, why)) = p.check_extras() {
                return fail(key(&k), why);
            }
            for f in &p.filters {
                if let Err(why) = crate::topic::parse_filter(f) {
                    return fail(key("filters"), format!("{f}: {why}"));
                }
            }
            if let Some(m) = &p.max_memory {
                if let Err(why) = crate::size::parse_size(m) {
                    return fail(key("max_memory"), why);
                }
            }
            if p.keep_alive.is_some_and(|k| k < 5) {
                return fail(key("keep_alive"), "must be 5 to 65535 seconds".into());
            }
            let sources = [
                p.password_env.is_some(),
                p.password_file.is_some(),
                p.password_command.is_some(),
                p.password.is_some(),
            ];
            if sources.iter().filter(|s| **s).count() > 1 {
                return fail(
                    key("password_env"),
                    "give one password source: password_env, password_file, \
                     password_command or password"
                        .into(),
                );
            }
            if p.cert.is_some() != p.key.is_some() {
                return fail(key("cert"), "cert and key go together".into());
            }
        }
        Ok(())
    }

    /// The configuration as TOML, passwords replaced by `<redacted>`.
    pub fn redacted(&self) -> String {
        let mut shown = self.clone();
        for p in shown.profiles.values_mut() {
            if p.password.is_some() {
                p.password = Some("<redacted>".into());
            }
        }
        toml::to_string_pretty(&shown).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_builtin_file_parses_and_checks() {
        let c = Config::parse(DEFAULT, Path::new("builtin"), no_sections).unwrap();
        assert_eq!(c.defaults.history, Some(100));
        assert_eq!(c.theme.base, Some(ThemeBase::Dark));
    }

    #[test]
    fn debug_and_show_never_print_a_password() {
        let text = "[profiles.a]\nurl = \"mqtt://h\"\nusername = \"u\"\npassword = \"hunter2\"\n";
        let c = Config::parse(text, Path::new("c.toml"), no_sections).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
        assert!(!c.redacted().contains("hunter2"));
        assert!(c.redacted().contains("<redacted>"));
    }
}
