//! Everything the connection layer needs to know to reach a broker and what to subscribe to.

use std::path::PathBuf;
use std::time::Duration;

use super::backoff::BackoffPolicy;
use super::target::Target;
use crate::secret::Secret;

/// Which MQTT protocol version to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MqttVersion {
    V5,
    V311,
    /// Try MQTT 5; fall back to 3.1.1 when the broker rejects it or closes on it.
    Auto,
}

/// The version actually spoken on one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    V311,
    V5,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::V311 => "3.1.1",
            Protocol::V5 => "5",
        }
    }
}

/// TLS settings; verification is on unless `insecure` is set.
#[derive(Debug, Clone, Default)]
pub struct TlsSettings {
    /// Trust only this CA bundle (PEM) instead of the OS roots.
    pub ca_file: Option<PathBuf>,
    /// Client certificate chain (PEM) for mutual TLS.
    pub cert: Option<PathBuf>,
    /// Client private key (PEM) for mutual TLS.
    pub key: Option<PathBuf>,
    /// Skip certificate verification (for tests against self-made certificates only).
    pub insecure: bool,
    /// ALPN protocols to offer, e.g. `mqtt`.
    pub alpn: Vec<String>,
    /// Name to send in SNI and verify against, when it differs from the host.
    pub server_name: Option<String>,
}

/// One subscription with its MQTT 5 options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub filter: String,
    pub qos: u8,
    /// v5: do not receive our own publications.
    pub no_local: bool,
    /// v5: keep the retain flag as published.
    pub retain_as_published: bool,
    /// v5: 0 send retained at subscribe, 1 only for new subscriptions, 2 never.
    pub retain_handling: u8,
}

impl Subscription {
    pub fn new(filter: impl Into<String>, qos: u8) -> Self {
        Self {
            filter: filter.into(),
            qos,
            no_local: false,
            retain_as_published: false,
            retain_handling: 0,
        }
    }
}

/// The complete description of a connection.
#[derive(Debug, Clone)]
pub struct BrokerOptions {
    pub target: Target,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub client_id: String,
    /// The user chose the client id (`-i`): repeated closes right after CONNACK then point
    /// to another client with the same id.
    pub client_id_given: bool,
    pub version: MqttVersion,
    /// Zero disables keep-alive; otherwise at least 5 s.
    pub keep_alive: Duration,
    /// Applies to each stage (DNS, TCP, TLS, WebSocket, CONNACK) separately.
    pub connect_timeout: Duration,
    pub tls: TlsSettings,
    pub clean_start: bool,
    /// v5 session expiry interval in seconds.
    pub session_expiry: Option<u32>,
    pub subscriptions: Vec<Subscription>,
    /// Give up after this many failed attempts in a row (None: retry forever).
    pub max_attempts: Option<u32>,
    pub backoff: BackoffPolicy,
    /// Emit a packet record for every packet (the packet log). Off for plain headless use.
    pub packet_log: bool,
    /// Capacity of the event channel; messages beyond it are dropped and counted.
    pub event_capacity: usize,
    /// The largest packet accepted from the broker (announced in an MQTT 5 CONNECT); a larger
    /// one is a `protocol_error`.
    pub max_packet_size: usize,
    /// The Last Will sent in CONNECT.
    pub will: Option<super::Will>,
    /// Reach the broker through this SOCKS5 or HTTP CONNECT proxy.
    pub proxy: Option<super::tunnel::ProxySettings>,
    /// Extra headers of the WebSocket upgrade (`--ws-header`); values are secrets (tokens).
    pub ws_headers: Vec<(String, crate::secret::Secret)>,
}

/// The largest packet we send, and the ceiling of what we decode: rumqttc's 10 KiB default
/// kills real connections.
pub const MAX_PACKET_SIZE: usize = 256 * 1024 * 1024;

/// The largest packet accepted from a broker unless `--max-packet-size` says otherwise: big
/// enough for camera snapshots and firmware chunks, small enough that a hostile broker cannot
/// make us buffer hundreds of megabytes.
pub const DEFAULT_MAX_INCOMING: usize = 16 * 1024 * 1024;

impl BrokerOptions {
    pub fn new(target: Target, client_id: impl Into<String>) -> Self {
        Self {
            username: target.username.clone(),
            target,
            password: None,
            client_id: client_id.into(),
            client_id_given: false,
            version: MqttVersion::Auto,
            keep_alive: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            tls: TlsSettings::default(),
            clean_start: true,
            session_expiry: None,
            subscriptions: Vec::new(),
            max_attempts: None,
            backoff: BackoffPolicy::default(),
            packet_log: false,
            event_capacity: 65_536,
            max_packet_size: DEFAULT_MAX_INCOMING,
            will: None,
            proxy: None,
            ws_headers: Vec::new(),
        }
    }
}

/// How long `-V auto` (and the doctor) wait for the answer to an MQTT 5 CONNECT before
/// trying 3.1.1: some 3.1.1-only brokers say nothing until their own timeout (~10 s seen).
pub const V5_ANSWER_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// A random client id like `mqscope-k3v9q2xa`.
pub fn random_client_id() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut n = crate::random::u64();
    let suffix: String = (0..8)
        .map(|_| {
            let len = ALPHABET.len() as u64;
            let c = ALPHABET[usize::try_from(n % len).unwrap_or(0)];
            n /= len;
            c as char
        })
        .collect();
    format!("mqscope-{suffix}")
}
