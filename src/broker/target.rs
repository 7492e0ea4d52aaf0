//! The broker address: scheme, host, port and WebSocket path, parsed from `--broker`.

use std::fmt;
use std::str::FromStr;

/// How the bytes travel to the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Mqtt,
    Mqtts,
    Ws,
    Wss,
}

impl Scheme {
    pub fn uses_tls(self) -> bool {
        matches!(self, Scheme::Mqtts | Scheme::Wss)
    }

    pub fn uses_websocket(self) -> bool {
        matches!(self, Scheme::Ws | Scheme::Wss)
    }

    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Mqtt => 1883,
            Scheme::Mqtts => 8883,
            Scheme::Ws => 80,
            Scheme::Wss => 443,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Mqtt => "mqtt",
            Scheme::Mqtts => "mqtts",
            Scheme::Ws => "ws",
            Scheme::Wss => "wss",
        }
    }
}

/// A parsed broker URL. Never holds a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub scheme: Scheme,
    /// Host name or IP literal, without IPv6 brackets.
    pub host: String,
    pub port: u16,
    /// Path for WebSocket schemes (default `/mqtt`); empty otherwise.
    pub path: String,
    /// A user name given in the URL (`mqtt://user@host`).
    pub username: Option<String>,
}

/// Why a `--broker` value was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("unknown scheme '{0}': use mqtt://, mqtts://, ws:// or wss://")]
    Scheme(String),
    #[error("missing host: expected e.g. mqtt://localhost:1883")]
    MissingHost,
    #[error("invalid port '{0}': expected a number from 1 to 65535")]
    Port(String),
    #[error(
        "a password in the URL would show in the process list: use MQSCOPE_PASSWORD or --password-file"
    )]
    PasswordInUrl,
}

impl FromStr for Target {
    type Err = TargetError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (scheme, rest) = match s.split_once("://") {
            Some((scheme, rest)) => {
                let scheme = match scheme.to_ascii_lowercase().as_str() {
                    "mqtt" | "tcp" => Scheme::Mqtt,
                    "mqtts" | "ssl" | "tls" => Scheme::Mqtts,
                    "ws" => Scheme::Ws,
                    "wss" => Scheme::Wss,
                    other => return Err(TargetError::Scheme(other.to_string())),
                };
                (scheme, rest)
            }
            None => (Scheme::Mqtt, s),
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let (username, hostport) = match authority.rsplit_once('@') {
            Some((user, hostport)) => {
                if user.contains(':') {
                    return Err(TargetError::PasswordInUrl);
                }
                (Some(user.to_string()), hostport)
            }
            None => (None, authority),
        };
        let (host, port) = split_host_port(hostport)?;
        if host.is_empty() {
            return Err(TargetError::MissingHost);
        }
        let port = match port {
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| TargetError::Port(p.to_string()))?,
            None => scheme.default_port(),
        };
        let path = if scheme.uses_websocket() {
            if path.is_empty() || path == "/" {
                "/mqtt".to_string()
            } else {
                path.to_string()
            }
        } else {
            String::new()
        };
        Ok(Target {
            scheme,
            host: host.to_string(),
            port,
            path,
            username,
        })
    }
}

fn split_host_port(s: &str) -> Result<(&str, Option<&str>), TargetError> {
    if let Some(rest) = s.strip_prefix('[') {
        let end = rest.find(']').ok_or(TargetError::MissingHost)?;
        let host = &rest[..end];
        let after = &rest[end + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(TargetError::Port(after.to_string())),
        };
        return Ok((host, port));
    }
    match s.rsplit_once(':') {
        Some((host, port)) => Ok((host, Some(port))),
        None => Ok((s, None)),
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        write!(
            f,
            "{}://{}:{}{}",
            self.scheme.as_str(),
            host,
            self.port,
            self.path
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Target {
        s.parse().expect("valid target")
    }

    #[test]
    fn defaults_ports_and_paths_per_scheme() {
        let t = parse("mqtt://localhost");
        assert_eq!(
            (t.scheme, t.host.as_str(), t.port),
            (Scheme::Mqtt, "localhost", 1883)
        );
        assert_eq!(parse("mqtts://h").port, 8883);
        let ws = parse("ws://h:9001");
        assert_eq!((ws.port, ws.path.as_str()), (9001, "/mqtt"));
        assert_eq!(parse("wss://h/custom").path, "/custom");
        assert_eq!(parse("h:1884").port, 1884);
    }

    #[test]
    fn ipv6_and_user() {
        let t = parse("mqtt://alice@[::1]:1999");
        assert_eq!((t.host.as_str(), t.port), ("::1", 1999));
        assert_eq!(t.username.as_deref(), Some("alice"));
        assert_eq!(t.to_string(), "mqtt://[::1]:1999");
    }

    #[test]
    fn rejects_bad_values_with_reasons() {
        assert_eq!(
            "http://h".parse::<Target>(),
            Err(TargetError::Scheme("http".into()))
        );
        assert_eq!(
            "mqtt://h:0".parse::<Target>(),
            Err(TargetError::Port("0".into()))
        );
        assert_eq!(
            "mqtt://h:99999".parse::<Target>(),
            Err(TargetError::Port("99999".into()))
        );
        assert_eq!(
            "mqtt://:1883".parse::<Target>(),
            Err(TargetError::MissingHost)
        );
        assert_eq!(
            "mqtt://u:p@h".parse::<Target>(),
            Err(TargetError::PasswordInUrl)
        );
    }
}
