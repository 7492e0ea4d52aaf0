//! Layers a profile and the file's defaults under the command line: a value counts as given
//! only when it came from the command line or an `MQSCOPE_*` variable (clap's value source),
//! so the order is command line > environment > profile > [defaults] > built-in.

use clap::ArgMatches;
use clap::parser::ValueSource;

use super::password::{ProfilePassword, Source};
use super::{Config, Defaults, Profile, Version};
use crate::cli::{Cli, ConnectArgs, Mode, SubscribeArgs, TuiArgs, UsageError, VersionArg};
use crate::secret::Secret;

/// What the explorer was started with when the user picks in the profile picker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileChoice {
    Profile(String),
    Url(String),
}

fn given(m: &ArgMatches, id: &str) -> bool {
    matches!(
        m.value_source(id),
        Some(ValueSource::CommandLine | ValueSource::EnvVariable)
    )
}

/// Applies the chosen profile (`-P`) and the defaults. Returns the profile's name when one
/// was used.
pub fn apply(cli: &mut Cli, matches: &ArgMatches, config: &Config) -> Result<(), UsageError> {
    let profile = match &cli.profile {
        None => None,
        Some(name) => Some((name.clone(), find(config, name)?)),
    };
    let profile = profile.as_ref().map(|(n, p)| (n.as_str(), *p));
    let d = &config.defaults;
    match &mut cli.mode {
        None => apply_tui(&mut cli.tui, matches, profile, d)?,
        Some(Mode::Sub(a)) => {
            let m = sub_matches(matches, "sub");
            connect(&mut a.connect, m, profile, d)?;
            filters(&mut a.subscribe, m, profile);
        }
        Some(Mode::Watch(a)) => {
            let m = sub_matches(matches, "watch");
            connect(&mut a.connect, m, profile, d)?;
            filters(&mut a.subscribe, m, profile);
        }
        Some(Mode::Record(a)) => {
            let m = sub_matches(matches, "record");
            connect(&mut a.connect, m, profile, d)?;
            filters(&mut a.subscribe, m, profile);
        }
        Some(Mode::Replay(a)) => {
            connect(&mut a.connect, sub_matches(matches, "replay"), profile, d)?;
        }
        Some(Mode::Pub(a)) => connect(&mut a.connect, sub_matches(matches, "pub"), profile, d)?,
        Some(Mode::Doctor(a)) => {
            connect(&mut a.connect, sub_matches(matches, "doctor"), profile, d)?;
        }
        Some(Mode::CleanRetained(a)) => connect(
            &mut a.connect,
            sub_matches(matches, "clean-retained"),
            profile,
            d,
        )?,
        Some(Mode::Proxy(a)) => {
            // The profile's broker is the upstream, with its TLS files.
            if let Some((name, p)) = profile {
                let m = sub_matches(matches, "proxy");
                if a.to.is_none() {
                    a.to =
                        Some(p.url.parse().map_err(|e| {
                            UsageError(format!("profile {name}: url {}: {e}", p.url))
                        })?);
                }
                set(m, &mut a.ca_file, "ca_file", p.ca_file.as_ref());
                set(m, &mut a.cert, "cert", p.cert.as_ref());
                set(m, &mut a.key, "key", p.key.as_ref());
                if !given(m, "insecure") {
                    a.insecure = p.insecure.unwrap_or(a.insecure);
                }
            }
        }
        Some(_) => {
            if let Some((name, _)) = profile {
                tracing::debug!(profile = name, "this mode does not connect; profile unused");
            }
        }
    }
    Ok(())
}

/// Whether `mqscope` alone should offer the saved profiles: no mode, no profile, no broker
/// from the command line or the environment, and profiles to pick from.
pub fn wants_picker(cli: &Cli, matches: &ArgMatches, config: &Config) -> bool {
    cli.mode.is_none()
        && cli.profile.is_none()
        && !given(matches, "broker")
        && !config.profiles.is_empty()
}

fn sub_matches<'a>(matches: &'a ArgMatches, name: &str) -> &'a ArgMatches {
    matches.subcommand_matches(name).unwrap_or(matches)
}

fn find<'a>(config: &'a Config, name: &str) -> Result<&'a Profile, UsageError> {
    config.profiles.get(name).ok_or_else(|| {
        let names: Vec<&str> = config.profiles.keys().map(String::as_str).collect();
        UsageError(if names.is_empty() {
            format!(
                "--profile {name}: there are no saved profiles (mqscope config path shows \
                 where they go)"
            )
        } else {
            format!(
                "--profile {name}: no such profile; saved profiles: {}",
                names.join(", ")
            )
        })
    })
}

fn apply_tui(
    a: &mut TuiArgs,
    m: &ArgMatches,
    profile: Option<(&str, &Profile)>,
    d: &Defaults,
) -> Result<(), UsageError> {
    connect(&mut a.connect, m, profile, d)?;
    filters(&mut a.subscribe, m, profile);
    let p = profile.map(|(_, p)| p);
    if !given(m, "history") {
        if let Some(h) = p.and_then(|p| p.history).or(d.history) {
            a.history = h.clamp(1, 100_000);
        }
    }
    if !given(m, "max_memory") {
        if let Some(size) = p
            .and_then(|p| p.max_memory.clone())
            .or(d.max_memory.clone())
        {
            a.max_memory = crate::size::parse_size(&size)
                .map_err(|e| UsageError(format!("max_memory {size}: {e}")))?;
        }
    }
    Ok(())
}

fn filters(s: &mut SubscribeArgs, m: &ArgMatches, profile: Option<(&str, &Profile)>) {
    if given(m, "filters") {
        return;
    }
    if let Some((_, p)) = profile.filter(|(_, p)| !p.filters.is_empty()) {
        s.filters.clone_from(&p.filters);
    }
}

fn connect(
    c: &mut ConnectArgs,
    m: &ArgMatches,
    profile: Option<(&str, &Profile)>,
    d: &Defaults,
) -> Result<(), UsageError> {
    let p = profile.map(|(_, p)| p);
    if let Some((name, p)) = profile {
        if !given(m, "broker") {
            c.broker = p
                .url
                .parse()
                .map_err(|e| UsageError(format!("profile {name}: url {}: {e}", p.url)))?;
        }
        set(m, &mut c.username, "username", p.username.as_ref());
        set(m, &mut c.client_id, "client_id", p.client_id.as_ref());
        set(m, &mut c.ca_file, "ca_file", p.ca_file.as_ref());
        set(m, &mut c.cert, "cert", p.cert.as_ref());
        set(m, &mut c.key, "key", p.key.as_ref());
        if !given(m, "insecure") {
            c.insecure = p.insecure.unwrap_or(c.insecure);
        }
        c.profile_password = password(name, p);
        if !given(m, "proxy") {
            if let Some(proxy) = &p.proxy {
                c.proxy = Some(proxy.parse().map_err(|e: String| {
                    UsageError(format!("profile {name}: proxy {proxy}: {e}"))
                })?);
            }
        }
        if let Some(w) = p.will.as_ref().filter(|_| !given(m, "will_topic")) {
            will(c, w);
        }
    }
    if !given(m, "mqtt_version") {
        if let Some(v) = p.and_then(|p| p.mqtt_version).or(d.mqtt_version) {
            c.mqtt_version = match v {
                Version::V5 => VersionArg::V5,
                Version::V311 => VersionArg::V311,
                Version::Auto => VersionArg::Auto,
            };
        }
    }
    if !given(m, "keep_alive") {
        if let Some(k) = p.and_then(|p| p.keep_alive).or(d.keep_alive) {
            c.keep_alive = k;
        }
    }
    if !given(m, "connect_timeout") {
        if let Some(t) = d.connect_timeout {
            c.connect_timeout = t;
        }
    }
    Ok(())
}

/// The profile's will, as if given by the `--will-*` flags (none of which were).
fn will(c: &mut ConnectArgs, w: &super::WillEntry) {
    c.will_topic = Some(w.topic.clone());
    c.will_payload.clone_from(&w.payload);
    // A relative file is taken from the config file's directory.
    c.will_file = w.file.as_ref().map(|f| {
        super::path()
            .as_deref()
            .and_then(std::path::Path::parent)
            .map_or_else(|| f.clone(), |dir| dir.join(f))
    });
    c.will_qos = w.qos;
    c.will_retain = w.retain.unwrap_or(false);
    c.will_delay = w.delay;
    c.will_expiry = w.expiry;
    c.will_content_type.clone_from(&w.content_type);
}

/// A profile's value, unless the command line or the environment gave one.
fn set<T: Clone>(m: &ArgMatches, field: &mut Option<T>, id: &str, value: Option<&T>) {
    if let Some(v) = value.filter(|_| !given(m, id)) {
        *field = Some(v.clone());
    }
}

/// Where the profile's password comes from; read only if no other source wins.
fn password(name: &str, p: &Profile) -> Option<ProfilePassword> {
    let source = if let Some(var) = &p.password_env {
        Source::Env(var.clone())
    } else if let Some(path) = &p.password_file {
        Source::File(path.clone())
    } else if let Some(cmd) = &p.password_command {
        Source::Command(cmd.clone(), super::path())
    } else {
        Source::Inline(Secret::new(p.password.clone()?))
    };
    Some(ProfilePassword {
        profile: name.to_string(),
        source,
    })
}
