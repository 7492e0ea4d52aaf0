//! `mqscope proxy`'s arguments: where to listen, where to forward, the faults, the output.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::{UsageError, parse_target};
use crate::broker::{BrokerOptions, Target, TlsSettings};
use crate::proxy::faults::FaultPlan;

/// `mqscope proxy`
#[derive(Debug, Clone, Args)]
pub struct ProxyArgs {
    /// Accept MQTT clients on this address
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:1884")]
    pub listen: SocketAddr,

    /// Terminate TLS for the clients (with --listen-cert and --listen-key)
    #[arg(long, requires_all = ["listen_cert", "listen_key"])]
    pub listen_tls: bool,

    /// Certificate chain (PEM) the proxy shows its clients
    #[arg(long, value_name = "PATH", requires = "listen_tls")]
    pub listen_cert: Option<PathBuf>,

    /// Private key (PEM) of --listen-cert
    #[arg(long, value_name = "PATH", requires = "listen_tls")]
    pub listen_key: Option<PathBuf>,

    /// The broker to forward to: mqtt://, mqtts://, ws:// or wss:// (host[:port][/path]);
    /// or -P PROFILE for a saved broker (its TLS files too)
    #[arg(long, value_name = "URL", value_parser = parse_target)]
    pub to: Option<Target>,

    /// Trust this CA bundle (PEM) for the upstream broker instead of the system's roots
    #[arg(long, value_name = "PATH")]
    pub ca_file: Option<PathBuf>,

    /// Client certificate (PEM) the proxy shows the broker; needs --key
    #[arg(long, value_name = "PATH", requires = "key")]
    pub cert: Option<PathBuf>,

    /// Private key (PEM) of --cert
    #[arg(long, value_name = "PATH", requires = "cert")]
    pub key: Option<PathBuf>,

    /// Do not verify the upstream broker's certificate (tests only)
    #[arg(long)]
    pub insecure: bool,

    /// ALPN protocol to offer the upstream broker (repeat or separate with commas)
    #[arg(long, value_delimiter = ',')]
    pub alpn: Vec<String>,

    /// Timeout for each upstream connect stage (DNS, TCP, TLS, WebSocket), in seconds
    #[arg(long, value_name = "SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u16).range(1..=600))]
    pub connect_timeout: u16,

    /// Add this delay to each direction of each connection, e.g. 200ms
    #[arg(long, value_name = "DUR", value_parser = parse_duration, default_value = "0s")]
    pub delay: Duration,

    /// Vary the delay by up to ± this much (uniform; packets never overtake each other)
    #[arg(long, value_name = "DUR", value_parser = parse_duration, default_value = "0s")]
    pub jitter: Duration,

    /// Limit each direction of each connection to this many bytes per second, e.g. 64K
    #[arg(long, value_name = "RATE", value_parser = crate::size::parse_rate)]
    pub bandwidth: Option<u64>,

    /// Close every client connection on this period, e.g. 30s
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub drop_every: Option<Duration>,

    /// After each drop the broker is "down" this long: connections are accepted and closed
    #[arg(long, value_name = "DUR", value_parser = parse_duration, requires = "drop_every")]
    pub down_for: Option<Duration>,

    /// Each connection stops forwarding (without closing) this long after it starts
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub blackhole_after: Option<Duration>,

    /// The broker is down from the start (until `b` in the screen)
    #[arg(long)]
    pub refuse: bool,

    /// Print JSON lines (clients, faults, verdicts) instead of the screen
    #[arg(long)]
    pub json: bool,

    /// With --json: also one line per packet
    #[arg(long, requires = "json")]
    pub packets: bool,

    /// Write the final verdicts as one JSON document to this file at exit
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
}

/// `200ms`, `2s`, `1m 30s`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|_| format!("'{s}' is not a duration: expected one like 200ms, 2s or 1m"))
}

impl ProxyArgs {
    /// The proxy's settings; errors name the flag.
    pub fn to_settings(&self, packets: bool) -> Result<crate::proxy::Settings, UsageError> {
        let Some(to) = self.to.clone() else {
            return Err(UsageError(
                "--to URL is required: the broker to forward to (or -P PROFILE for a saved one)"
                    .into(),
            ));
        };
        let mut upstream = BrokerOptions::new(to.clone(), String::new());
        upstream.connect_timeout = Duration::from_secs(u64::from(self.connect_timeout));
        upstream.tls = TlsSettings {
            ca_file: self.ca_file.clone(),
            cert: self.cert.clone(),
            key: self.key.clone(),
            insecure: self.insecure,
            alpn: self.alpn.clone(),
            server_name: None,
        };
        if !to.scheme.uses_tls() && (self.ca_file.is_some() || self.cert.is_some() || self.insecure)
        {
            return Err(UsageError(format!(
                "--ca-file, --cert and --insecure need a TLS --to URL (mqtts:// or wss://), not {to}"
            )));
        }
        let faults = FaultPlan {
            delay: self.delay,
            jitter: self.jitter,
            bandwidth: self.bandwidth,
            drop_every: self.drop_every,
            down_for: self.down_for,
            blackhole_after: self.blackhole_after,
            refuse: self.refuse,
        };
        crate::proxy::faults::check(&faults).map_err(UsageError)?;
        let listen_tls = match (&self.listen_cert, &self.listen_key) {
            (Some(cert), Some(key)) if self.listen_tls => {
                Some(crate::proxy::server_tls(cert, key).map_err(UsageError)?)
            }
            _ => None,
        };
        Ok(crate::proxy::Settings {
            listen: self.listen,
            listen_tls,
            upstream,
            faults,
            packets,
            capacity: 65_536,
        })
    }
}
