//! The doctor: staged checks (DNS → TCP → TLS → WebSocket → MQTT → subscribe → round trip),
//! each timed, with adaptive probes when a failure suggests another scheme or version, ending
//! in a verdict that names the cause and the flag that fixes it.

mod certs;
mod link;

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};
use tokio_rustls::rustls::ClientConfig;

use crate::broker::options::{MqttVersion, Protocol, Subscription, TlsSettings};
use crate::broker::stages::{self, BoxStream, Upstream};
use crate::broker::{
    BrokerOptions, Cause, CauseKind, ConnackInfo, PacketType, Scheme, codes, unexpected_start, wire,
};
pub use certs::CertInfo;
use link::{Link, ReadError};

/// The checks, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Dns,
    Tcp,
    Tls,
    WebSocket,
    Mqtt,
    Subscribe,
    RoundTrip,
}

impl Check {
    pub fn as_str(self) -> &'static str {
        match self {
            Check::Dns => "dns",
            Check::Tcp => "tcp",
            Check::Tls => "tls",
            Check::WebSocket => "websocket",
            Check::Mqtt => "mqtt",
            Check::Subscribe => "subscribe",
            Check::RoundTrip => "roundtrip",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Fail,
    Skip,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Fail => "fail",
            Status::Skip => "skip",
        }
    }
}

/// One check's result: machine detail for `--json`, lines for people.
#[derive(Debug, Clone)]
pub struct CheckResult {
    pub check: Check,
    pub status: Status,
    pub elapsed: Duration,
    pub detail: Value,
    pub lines: Vec<String>,
}

/// The whole report.
#[derive(Debug, Clone)]
pub struct Report {
    pub broker: String,
    pub checks: Vec<CheckResult>,
    /// `None` when every check passed.
    pub cause: Option<Cause>,
    pub summary: String,
    pub hints: Vec<String>,
}

impl Report {
    /// `ok` or the cause code.
    pub fn verdict(&self) -> &'static str {
        self.cause.as_ref().map_or("ok", Cause::code)
    }

    pub fn to_json(&self) -> Value {
        json!({
            "broker": self.broker,
            "stages": self.checks.iter().map(|c| json!({
                "stage": c.check.as_str(),
                "status": c.status.as_str(),
                "ms": (c.elapsed.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0,
                "detail": c.detail,
            })).collect::<Vec<_>>(),
            "verdict": self.verdict(),
            "summary": self.summary,
            "hints": self.hints,
        })
    }

    /// The report for people, one string per line (no colours).
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![format!("mqscope doctor: {}", self.broker)];
        for c in &self.checks {
            let mark = match c.status {
                Status::Ok => "ok  ",
                Status::Fail => "FAIL",
                Status::Skip => "skip",
            };
            out.push(format!(
                "  {mark} {:<10} {:>9}",
                c.check.as_str(),
                format!("{:.1} ms", c.elapsed.as_secs_f64() * 1000.0)
            ));
            for l in &c.lines {
                out.push(format!("         {l}"));
            }
        }
        out.push(String::new());
        out.push(format!("verdict: {}", self.verdict()));
        out.push(self.summary.clone());
        for h in &self.hints {
            out.push(format!("  → {h}"));
        }
        out
    }
}

/// What the doctor should try.
#[derive(Debug, Clone)]
pub struct Plan {
    pub opts: BrokerOptions,
    pub filters: Vec<String>,
    pub round_trip: bool,
}

struct Doctor {
    plan: Plan,
    checks: Vec<CheckResult>,
    hints: Vec<String>,
    /// The cause a check failed with, when it returns no value of its own.
    failed: Option<Cause>,
}

impl Doctor {
    fn record(
        &mut self,
        check: Check,
        status: Status,
        started: Instant,
        detail: Value,
        lines: Vec<String>,
    ) {
        self.checks.push(CheckResult {
            check,
            status,
            elapsed: started.elapsed(),
            detail,
            lines,
        });
    }

    /// Records `check` as failed with `cause` as its only line.
    fn fail(&mut self, check: Check, started: Instant, cause: &Cause) {
        self.record(
            check,
            Status::Fail,
            started,
            json!({ "error": cause.detail }),
            vec![cause.to_string()],
        );
    }

    fn skip(&mut self, check: Check, why: &str) {
        self.checks.push(CheckResult {
            check,
            status: Status::Skip,
            elapsed: Duration::ZERO,
            detail: json!({ "reason": why }),
            lines: vec![why.to_string()],
        });
    }

    fn finish(self, cause: Option<Cause>) -> Report {
        let mut hints = self.hints;
        let summary = match &cause {
            None => "every check passed: the broker accepts this client, its subscriptions and a round trip"
                .to_string(),
            Some(c) => {
                hints.push(c.kind.hint().to_string());
                if c.detail.is_empty() {
                    format!("{}.", capitalise(c.kind.explanation()))
                } else {
                    format!("{}: {}.", capitalise(c.kind.explanation()), c.detail)
                }
            }
        };
        hints.dedup();
        Report {
            broker: self.plan.opts.target.to_string(),
            checks: self.checks,
            cause,
            summary,
            hints,
        }
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Runs every check; never fails: problems are the report.
pub async fn run(plan: Plan) -> Report {
    let mut doc = Doctor {
        plan,
        checks: Vec::new(),
        hints: Vec::new(),
        failed: None,
    };
    let opts = doc.plan.opts.clone();
    let target = &opts.target;
    let timeout = opts.connect_timeout;

    // DNS
    let started = Instant::now();
    let addrs = match stages::resolve(&target.host, target.port, timeout).await {
        Ok(addrs) => {
            let list: Vec<String> = addrs.iter().map(|a| a.ip().to_string()).collect();
            let v4 = addrs.iter().filter(|a| a.is_ipv4()).count();
            doc.record(
                Check::Dns,
                Status::Ok,
                started,
                json!({ "name": target.host, "addresses": list, "ipv4": v4, "ipv6": addrs.len() - v4 }),
                vec![format!("{} → {}", target.host, list.join(", "))],
            );
            addrs
        }
        Err(cause) => {
            doc.record(
                Check::Dns,
                Status::Fail,
                started,
                json!({ "name": target.host, "error": cause.detail }),
                vec![cause.detail.clone()],
            );
            doc.hints
                .push(format!("the name tried was '{}'", target.host));
            return doc.finish(Some(cause));
        }
    };

    let Some(tcp) = tcp_check(&mut doc, &addrs).await else {
        let cause = doc
            .failed
            .take()
            .unwrap_or_else(|| Cause::new(CauseKind::TcpUnreachable, "no address"));
        return doc.finish(Some(cause));
    };

    // TLS
    let stream: BoxStream = if target.scheme.uses_tls() {
        match tls_check(&mut doc, tcp).await {
            Ok(stream) => stream,
            Err(cause) => return doc.finish(Some(cause)),
        }
    } else {
        doc.skip(Check::Tls, "plain connection (mqtt:// or ws://)");
        Box::new(tcp)
    };

    // WebSocket
    let upstream = if target.scheme.uses_websocket() {
        let started = Instant::now();
        match stages::upgrade_websocket(stream, &target.to_string(), timeout).await {
            Ok((ws, detail)) => {
                doc.record(
                    Check::WebSocket,
                    Status::Ok,
                    started,
                    json!({ "response": detail }),
                    vec![detail],
                );
                Upstream::WebSocket(Box::new(ws))
            }
            Err(cause) => {
                doc.fail(Check::WebSocket, started, &cause);
                return doc.finish(Some(cause));
            }
        }
    } else {
        doc.skip(Check::WebSocket, "not a WebSocket URL");
        Upstream::Stream(stream)
    };

    // MQTT
    let (mut link, protocol) = match mqtt_check(&mut doc, upstream).await {
        Ok(ok) => ok,
        Err(cause) => return doc.finish(Some(cause)),
    };

    // Subscribe and round trip
    let cause = subscribe_and_round_trip(&mut doc, &mut link, protocol).await;
    let _ = link.send(&link::DISCONNECT).await;
    doc.finish(cause)
}

/// Connects to each address in turn until one answers.
async fn tcp_check(
    doc: &mut Doctor,
    addrs: &[std::net::SocketAddr],
) -> Option<tokio::net::TcpStream> {
    let timeout = doc.plan.opts.connect_timeout;
    let started = Instant::now();
    let mut tcp = None;
    let mut tried = Vec::new();
    let mut last = None;
    for addr in addrs {
        let one = Instant::now();
        match stages::connect_tcp(std::slice::from_ref(addr), timeout).await {
            Ok(stream) => {
                tried.push(json!({ "address": addr.to_string(), "result": "connected", "ms": one.elapsed().as_secs_f64() * 1000.0 }));
                tcp = Some(stream);
                break;
            }
            Err(cause) => {
                tried.push(json!({ "address": addr.to_string(), "result": cause.code(), "ms": one.elapsed().as_secs_f64() * 1000.0 }));
                last = Some(cause);
            }
        }
    }
    let lines: Vec<String> = tried
        .iter()
        .map(|t| {
            format!(
                "{} {}",
                t["address"].as_str().unwrap_or("?"),
                t["result"].as_str().unwrap_or("?")
            )
        })
        .collect();
    let status = if tcp.is_some() {
        Status::Ok
    } else {
        Status::Fail
    };
    doc.record(
        Check::Tcp,
        status,
        started,
        json!({ "addresses": tried }),
        lines,
    );
    doc.failed = last.filter(|_| tcp.is_none());
    tcp
}

fn tls_config(settings: &TlsSettings) -> Result<Arc<ClientConfig>, Cause> {
    crate::broker::tls::client_config(settings)
}

async fn tls_check(doc: &mut Doctor, tcp: tokio::net::TcpStream) -> Result<BoxStream, Cause> {
    let opts = doc.plan.opts.clone();
    let started = Instant::now();
    let config = match tls_config(&opts.tls) {
        Ok(c) => c,
        Err(cause) => {
            doc.fail(Check::Tls, started, &cause);
            return Err(cause);
        }
    };
    let name = crate::broker::tls::server_name(&opts.tls, &opts.target.host)?;
    match stages::handshake_tls(tcp, config, name, opts.connect_timeout).await {
        Ok((stream, detail)) => {
            let chain = chain_of(stream.get_ref().1);
            let mut lines = vec![detail.clone()];
            lines.extend(chain.iter().map(CertInfo::describe));
            doc.record(
                Check::Tls,
                Status::Ok,
                started,
                json!({ "session": detail, "chain": chain.iter().map(CertInfo::to_json).collect::<Vec<_>>() }),
                lines,
            );
            if let Some(leaf) = chain.first() {
                if leaf.days_left < 30 {
                    doc.hints.push(format!(
                        "the broker's certificate expires in {} days",
                        leaf.days_left
                    ));
                }
            }
            Ok(Box::new(stream))
        }
        Err(cause) => {
            // Fetch the chain without verifying, to say what exactly was rejected.
            let chain = insecure_chain(&opts).await;
            let mut lines = vec![cause.to_string()];
            lines.extend(chain.iter().map(CertInfo::describe));
            doc.record(
                Check::Tls,
                Status::Fail,
                started,
                json!({ "error": cause.detail, "chain": chain.iter().map(CertInfo::to_json).collect::<Vec<_>>() }),
                lines,
            );
            tls_hints(doc, &cause, &chain).await;
            Err(cause)
        }
    }
}

fn chain_of(conn: &tokio_rustls::rustls::ClientConnection) -> Vec<CertInfo> {
    let now = SystemTime::now();
    conn.peer_certificates()
        .unwrap_or_default()
        .iter()
        .filter_map(|c| certs::describe(c.as_ref(), now))
        .collect()
}

/// The chain the server presents, fetched with verification off (for the report only).
async fn insecure_chain(opts: &BrokerOptions) -> Vec<CertInfo> {
    let mut settings = opts.tls.clone();
    settings.insecure = true;
    settings.cert = None;
    settings.key = None;
    let Ok(config) = tls_config(&settings) else {
        return Vec::new();
    };
    let Ok(name) = crate::broker::tls::server_name(&settings, &opts.target.host) else {
        return Vec::new();
    };
    let Ok(addrs) =
        stages::resolve(&opts.target.host, opts.target.port, opts.connect_timeout).await
    else {
        return Vec::new();
    };
    let Ok(tcp) = stages::connect_tcp(&addrs, opts.connect_timeout).await else {
        return Vec::new();
    };
    match stages::handshake_tls(tcp, config, name, opts.connect_timeout).await {
        Ok((stream, _)) => chain_of(stream.get_ref().1),
        Err(_) => Vec::new(),
    }
}

async fn tls_hints(doc: &mut Doctor, cause: &Cause, chain: &[CertInfo]) {
    let host = doc.plan.opts.target.host.clone();
    let leaf = chain.first();
    match cause.kind {
        CauseKind::TlsUnknownIssuer => {
            if let Some(leaf) = leaf {
                doc.hints.push(format!(
                    "the broker's certificate is signed by {}, which is not trusted: pass --ca-file with that CA",
                    leaf.issuer
                ));
            }
        }
        CauseKind::TlsHostnameMismatch => {
            if let Some(leaf) = leaf {
                doc.hints.push(format!(
                    "the certificate is valid for {} but not for '{host}': connect with one of those names",
                    leaf.names.join(", ")
                ));
            }
        }
        CauseKind::TlsExpired => {
            if let Some(leaf) = leaf {
                doc.hints.push(format!(
                    "the broker's certificate expired on {} ({} days ago): renew it on the broker",
                    leaf.not_after, -leaf.days_left
                ));
            }
        }
        CauseKind::NotTls => {
            // Maybe the port speaks plain MQTT.
            let mut plain = doc.plan.opts.clone();
            plain.target.scheme = if plain.target.scheme == Scheme::Wss {
                Scheme::Ws
            } else {
                Scheme::Mqtt
            };
            if let Some(protocol) = probe_plain(&plain).await {
                doc.hints.push(format!(
                    "this port answers plain MQTT {}: use {}",
                    protocol.as_str(),
                    plain.target
                ));
            }
        }
        _ => {}
    }
}

/// Whether a plain CONNECT gets a CONNACK on this target (adaptive probe).
async fn probe_plain(opts: &BrokerOptions) -> Option<Protocol> {
    for protocol in [Protocol::V5, Protocol::V311] {
        let upstream = stages::establish(opts, None, &mut |_| {}).await.ok()?;
        let mut link = Link::new(upstream);
        link.send(&link::connect(opts, protocol)).await.ok()?;
        if let Ok(frame) = link.frame(opts.connect_timeout).await {
            if frame.first().copied().map(PacketType::of) == Some(PacketType::Connack) {
                let _ = link.send(&link::DISCONNECT).await;
                return Some(protocol);
            }
        }
    }
    None
}

/// Whether a TLS handshake completes on this target (adaptive probe).
async fn probe_tls(opts: &BrokerOptions) -> bool {
    let mut settings = opts.tls.clone();
    settings.insecure = true;
    let (Ok(config), Ok(name)) = (
        tls_config(&settings),
        crate::broker::tls::server_name(&settings, &opts.target.host),
    ) else {
        return false;
    };
    let Ok(addrs) =
        stages::resolve(&opts.target.host, opts.target.port, opts.connect_timeout).await
    else {
        return false;
    };
    let Ok(tcp) = stages::connect_tcp(&addrs, opts.connect_timeout).await else {
        return false;
    };
    stages::handshake_tls(tcp, config, name, opts.connect_timeout)
        .await
        .is_ok()
}

/// Sends CONNECT and reads CONNACK; on an MQTT 5 refusal probes 3.1.1.
async fn mqtt_check(doc: &mut Doctor, upstream: Upstream) -> Result<(Link, Protocol), Cause> {
    let opts = doc.plan.opts.clone();
    let first = match opts.version {
        MqttVersion::V311 => Protocol::V311,
        MqttVersion::V5 | MqttVersion::Auto => Protocol::V5,
    };
    let started = Instant::now();
    let mut link = Link::new(upstream);
    let outcome = connect_once(&mut link, &opts, first).await;
    match outcome {
        Ok(info) if info.accepted() => {
            let lines = connack_lines(&info, first);
            doc.record(
                Check::Mqtt,
                Status::Ok,
                started,
                connack_json(&info, first, &[first]),
                lines,
            );
            return Ok((link, first));
        }
        Ok(info) => {
            let refused_v5 = first == Protocol::V5
                && (info.protocol == Some(Protocol::V311) || info.code == 0x84);
            if !refused_v5 {
                let kind = codes::connack_cause(info.protocol.unwrap_or(first), info.code);
                let mut detail = format!("CONNACK {:#04x} {}", info.code, info.code_name());
                if let Some(r) = &info.reason_string {
                    let _ = write!(detail, ", reason \"{r}\"");
                }
                let cause = Cause::new(kind, detail);
                let lines = connack_lines(&info, first);
                doc.record(
                    Check::Mqtt,
                    Status::Fail,
                    started,
                    connack_json(&info, first, &[]),
                    lines,
                );
                credential_hints(doc, &cause);
                return Err(cause);
            }
        }
        Err(cause)
            if first == Protocol::V5
                && matches!(cause.kind, CauseKind::PeerClosed | CauseKind::TcpReset) =>
        {
            // Some 3.1.1-only brokers just close on an MQTT 5 CONNECT: probed below.
            let _ = cause;
        }
        Err(cause) => {
            doc.record(
                Check::Mqtt,
                Status::Fail,
                started,
                json!({ "error": cause.detail, "cause": cause.code() }),
                vec![cause.to_string()],
            );
            adaptive_after_mqtt(doc, &cause).await;
            return Err(cause);
        }
    }
    // MQTT 5 refused or closed on: does the broker speak 3.1.1?
    probe_v311(doc, started).await
}

/// After MQTT 5 was refused or closed on: does the broker speak 3.1.1?
async fn probe_v311(doc: &mut Doctor, started: Instant) -> Result<(Link, Protocol), Cause> {
    let opts = doc.plan.opts.clone();
    let upstream = stages::establish(
        &opts,
        tls_config(&opts.tls)
            .ok()
            .as_ref()
            .filter(|_| opts.target.scheme.uses_tls()),
        &mut |_| {},
    )
    .await?;
    let mut link = Link::new(upstream);
    match connect_once(&mut link, &opts, Protocol::V311).await {
        Ok(info) if info.accepted() => {
            let mut lines = vec!["MQTT 5: refused or closed on".to_string()];
            lines.extend(connack_lines(&info, Protocol::V311));
            lines.push("this broker speaks MQTT 3.1.1 only".into());
            doc.record(
                Check::Mqtt,
                Status::Ok,
                started,
                connack_json(&info, Protocol::V311, &[Protocol::V311]),
                lines,
            );
            if opts.version == MqttVersion::V5 {
                let cause = Cause::new(
                    CauseKind::ProtocolVersionUnsupported,
                    "the broker refused MQTT 5 and accepted MQTT 3.1.1",
                );
                doc.hints
                    .push("this broker speaks only MQTT 3.1.1: use -V 3.1.1 (or -V auto)".into());
                return Err(cause);
            }
            doc.hints.push("this broker speaks only MQTT 3.1.1: -V auto falls back by itself; -V 3.1.1 skips the MQTT 5 try".into());
            Ok((link, Protocol::V311))
        }
        Ok(info) => {
            let kind = codes::connack_cause(Protocol::V311, info.code);
            let cause = Cause::new(
                kind,
                format!(
                    "CONNACK {:#04x} {} (MQTT 3.1.1; MQTT 5 was refused too)",
                    info.code,
                    info.code_name()
                ),
            );
            doc.record(
                Check::Mqtt,
                Status::Fail,
                started,
                connack_json(&info, Protocol::V311, &[]),
                vec![cause.to_string()],
            );
            credential_hints(doc, &cause);
            Err(cause)
        }
        Err(cause) => {
            doc.record(
                Check::Mqtt,
                Status::Fail,
                started,
                json!({ "error": cause.detail, "cause": cause.code() }),
                vec![format!("MQTT 5 and 3.1.1: {cause}")],
            );
            adaptive_after_mqtt(doc, &cause).await;
            Err(cause)
        }
    }
}

fn credential_hints(doc: &mut Doctor, cause: &Cause) {
    let opts = &doc.plan.opts;
    if matches!(
        cause.kind,
        CauseKind::NotAuthorized | CauseKind::BadCredentials
    ) {
        if opts.username.is_none() {
            doc.hints.push("no user name was sent: the broker may not allow anonymous clients; pass --username and MQSCOPE_PASSWORD".into());
        } else if opts.password.is_none() {
            doc.hints.push(
                "a user name but no password was sent: set MQSCOPE_PASSWORD or --password-file"
                    .into(),
            );
        } else {
            doc.hints.push("check --username and the password; some brokers also restrict which client ids a user may take".into());
        }
    }
}

async fn adaptive_after_mqtt(doc: &mut Doctor, cause: &Cause) {
    let opts = doc.plan.opts.clone();
    let looks_tls = matches!(
        cause.kind,
        CauseKind::TlsExpected | CauseKind::PeerClosed | CauseKind::TcpReset
    );
    if !opts.target.scheme.uses_tls() && looks_tls && probe_tls(&opts).await {
        let mut tls = opts.target.clone();
        tls.scheme = if tls.scheme == Scheme::Ws {
            Scheme::Wss
        } else {
            Scheme::Mqtts
        };
        doc.hints
            .push(format!("this port completes a TLS handshake: use {tls}"));
    }
    if cause.kind == CauseKind::NotMqtt && cause.detail.contains("HTTP") {
        let mut ws = opts.target.clone();
        ws.scheme = if opts.target.scheme.uses_tls() {
            Scheme::Wss
        } else {
            Scheme::Ws
        };
        ws.path = "/mqtt".into();
        doc.hints.push(format!(
            "an HTTP server answered: if it serves MQTT over WebSocket, use {ws}"
        ));
    }
}

/// One CONNECT → CONNACK exchange, classified.
async fn connect_once(
    link: &mut Link,
    opts: &BrokerOptions,
    protocol: Protocol,
) -> Result<ConnackInfo, Cause> {
    if let Err(e) = link.send(&link::connect(opts, protocol)).await {
        return Err(Cause::new(
            crate::broker::cause::classify_tcp_io(&e),
            e.to_string(),
        ));
    }
    let answer = link.frame(opts.connect_timeout).await;
    // Whatever arrived but did not make a whole frame still tells who answered (HTTP, TLS…).
    if answer.is_err() {
        if let Some(cause) = unexpected_start(link.pending()) {
            return Err(cause);
        }
    }
    match answer {
        Ok(frame) => {
            if let Some(cause) = unexpected_start(&frame) {
                let mut bytes = frame.to_vec();
                bytes.extend_from_slice(link.pending());
                return Err(unexpected_start(&bytes).unwrap_or(cause));
            }
            crate::broker::packet::connack_from_wire(&frame, protocol)
                .ok_or_else(|| Cause::new(CauseKind::NotMqtt, "the answer was not a CONNACK"))
        }
        Err(ReadError::Timeout) => Err(Cause::new(
            CauseKind::NoConnack,
            format!("CONNECT sent, no CONNACK within {:?}", opts.connect_timeout),
        )),
        Err(ReadError::Closed) => Err(Cause::new(
            CauseKind::PeerClosed,
            "the server closed the connection without answering CONNECT",
        )),
        Err(ReadError::Io(e)) => {
            let cause = if let Some(tls) = e
                .get_ref()
                .and_then(|i| i.downcast_ref::<tokio_rustls::rustls::Error>())
            {
                crate::broker::cause::classify_rustls(tls)
            } else {
                let kind = crate::broker::cause::classify_tcp_io(&e);
                if kind == CauseKind::TcpReset && !opts.target.scheme.uses_tls() {
                    Cause::new(
                        CauseKind::TlsExpected,
                        format!("reset right after CONNECT ({e})"),
                    )
                } else {
                    Cause::new(kind, e.to_string())
                }
            };
            Err(cause)
        }
    }
}

fn connack_lines(info: &ConnackInfo, sent: Protocol) -> Vec<String> {
    let mut lines = vec![format!(
        "CONNECT MQTT {} → CONNACK {:#04x} {} · session present {}",
        sent.as_str(),
        info.code,
        info.code_name(),
        if info.session_present { "yes" } else { "no" }
    )];
    let props = info.properties();
    if !props.is_empty() {
        lines.push(format!("properties: {}", props.join(" ")));
    }
    lines
}

/// The MQTT stage's detail: what was sent, the CONNACK as `sub --json --events` writes it, and
/// the protocols the broker is known to speak.
fn connack_json(info: &ConnackInfo, sent: Protocol, speaks: &[Protocol]) -> Value {
    let mut obj = crate::broker::json::fields(&info.to_json());
    obj.insert("sent".into(), json!(sent.as_str()));
    obj.insert(
        "speaks".into(),
        json!(speaks.iter().map(|p| p.as_str()).collect::<Vec<_>>()),
    );
    Value::Object(obj)
}

/// The round-trip topic for a filter: wildcards filled in with our own levels. `None` for a
/// filter without wildcards (publishing there would write into a real topic).
fn test_topic(filter: &str, id: &str) -> Option<String> {
    if !filter.contains(['+', '#']) {
        return None;
    }
    let levels: Vec<String> = filter
        .split('/')
        .map(|l| match l {
            "+" => "mqscope-doctor".to_string(),
            "#" => format!("mqscope-doctor/{id}"),
            other => other.to_string(),
        })
        .collect();
    let topic = levels.join("/");
    (!topic.starts_with('$')).then_some(topic)
}

#[expect(
    clippy::too_many_lines,
    reason = "one check read top to bottom: send, wait, classify, record"
)]
async fn subscribe_and_round_trip(
    doc: &mut Doctor,
    link: &mut Link,
    protocol: Protocol,
) -> Option<Cause> {
    let timeout = doc.plan.opts.connect_timeout;
    let filters = if doc.plan.filters.is_empty() {
        vec!["#".to_string()]
    } else {
        doc.plan.filters.clone()
    };
    let subs: Vec<Subscription> = filters
        .iter()
        .map(|f| Subscription::new(f.clone(), 0))
        .collect();
    let started = Instant::now();
    if let Err(e) = link.send(&link::subscribe(protocol, &subs)).await {
        let cause = Cause::new(crate::broker::cause::classify_tcp_io(&e), e.to_string());
        doc.record(
            Check::Subscribe,
            Status::Fail,
            started,
            json!({ "error": e.to_string() }),
            vec![cause.to_string()],
        );
        return Some(cause);
    }
    // Retained messages may come before the SUBACK is seen; skip them.
    let codes = loop {
        match link.frame(timeout).await {
            Ok(frame) if frame.first().copied().map(PacketType::of) == Some(PacketType::Suback) => {
                let body = &frame[header_len(&frame)..];
                break crate::broker::packet::ack_codes(body, protocol == Protocol::V5);
            }
            Ok(_) => {}
            Err(e) => {
                let cause = match e {
                    ReadError::Timeout => Cause::new(CauseKind::NoConnack, "no SUBACK in time"),
                    _ => Cause::new(
                        CauseKind::PeerClosed,
                        "the broker closed the connection on SUBSCRIBE",
                    ),
                };
                doc.fail(Check::Subscribe, started, &cause);
                return Some(cause);
            }
        }
    };
    let results: Vec<Value> = filters
        .iter()
        .zip(codes.iter().chain(std::iter::repeat(&0x80)))
        .map(|(f, c)| json!({ "filter": f, "reason_code": c, "granted_qos": (*c <= 2).then_some(*c) }))
        .collect();
    let lines: Vec<String> = filters
        .iter()
        .zip(codes.iter().chain(std::iter::repeat(&0x80)))
        .map(|(f, c)| {
            if *c <= 2 {
                format!("{f} → granted QoS {c}")
            } else {
                format!("{f} → refused {c:#04x} {}", codes::reason_name(*c))
            }
        })
        .collect();
    let refused: Vec<&String> = filters
        .iter()
        .zip(codes.iter().chain(std::iter::repeat(&0x80)))
        .filter(|(_, c)| **c > 2)
        .map(|(f, _)| f)
        .collect();
    if !refused.is_empty() {
        doc.record(
            Check::Subscribe,
            Status::Fail,
            started,
            json!({ "filters": results }),
            lines,
        );
        doc.hints.push(format!(
            "the broker refused {}: try narrower filters (public brokers often deny '#')",
            refused
                .iter()
                .map(|f| f.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        doc.skip(Check::RoundTrip, "a subscription was refused");
        return Some(Cause::new(
            CauseKind::AclDenied,
            format!(
                "subscription refused: {}",
                refused
                    .iter()
                    .map(|f| f.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    let mut lines = lines;
    lines.push(
        "note: some brokers grant a subscription and then deliver nothing under an ACL".into(),
    );
    doc.record(
        Check::Subscribe,
        Status::Ok,
        started,
        json!({ "filters": results }),
        lines,
    );

    if !doc.plan.round_trip {
        doc.skip(Check::RoundTrip, "--no-publish");
        return None;
    }
    round_trip(doc, link, protocol, &filters[0]).await
}

/// Publishes to a test topic matching the first filter and waits to receive it back.
#[expect(
    clippy::too_many_lines,
    reason = "one check read top to bottom: send, wait, classify, record"
)]
async fn round_trip(
    doc: &mut Doctor,
    link: &mut Link,
    protocol: Protocol,
    filter: &str,
) -> Option<Cause> {
    let timeout = doc.plan.opts.connect_timeout;
    let id = crate::broker::options::random_client_id();
    let Some(topic) = test_topic(filter, &id) else {
        doc.skip(
            Check::RoundTrip,
            "the first filter has no wildcard: a test message would land in a real topic",
        );
        return None;
    };
    let payload = format!("mqscope doctor round trip {id}");
    let started = Instant::now();
    if link
        .send(&link::publish(protocol, &topic, payload.as_bytes()))
        .await
        .is_err()
    {
        let cause = Cause::new(
            CauseKind::PeerClosed,
            "the connection closed while publishing",
        );
        doc.record(
            Check::RoundTrip,
            Status::Fail,
            started,
            json!({ "topic": topic }),
            vec![cause.to_string()],
        );
        return Some(cause);
    }
    let mut puback = None;
    let mut echoed = None;
    let deadline = Instant::now() + timeout;
    while echoed.is_none() && Instant::now() < deadline {
        match link
            .frame(deadline.saturating_duration_since(Instant::now()))
            .await
        {
            Ok(frame) => match frame.first().copied().map(PacketType::of) {
                Some(PacketType::Puback) => {
                    let body = &frame[header_len(&frame)..];
                    puback = Some(if protocol == Protocol::V5 && body.len() >= 3 {
                        body[2]
                    } else {
                        0
                    });
                }
                Some(PacketType::Publish)
                    if frame
                        .windows(payload.len())
                        .any(|w| w == payload.as_bytes()) =>
                {
                    echoed = Some(started.elapsed());
                }
                _ => {}
            },
            Err(_) => break,
        }
    }
    let detail = json!({ "topic": topic, "puback_reason": puback, "latency_ms": echoed.map(|d| d.as_secs_f64() * 1000.0) });
    match (echoed, puback) {
        (Some(latency), _) => {
            doc.record(
                Check::RoundTrip,
                Status::Ok,
                started,
                detail,
                vec![format!(
                    "published to {topic} and received it back in {}",
                    ms(latency)
                )],
            );
            None
        }
        (None, Some(code)) if code >= 0x80 => {
            let cause = Cause::new(
                CauseKind::AclDenied,
                format!(
                    "PUBACK {code:#04x} {} for {topic}",
                    codes::reason_name(code)
                ),
            );
            doc.record(
                Check::RoundTrip,
                Status::Fail,
                started,
                detail,
                vec![cause.to_string()],
            );
            doc.hints.push("the broker refuses this client's publications (ACL): --no-publish skips the round trip".into());
            Some(cause)
        }
        (None, _) => {
            let cause = Cause::new(
                CauseKind::AclDenied,
                format!("published to {topic} but never received it back"),
            );
            doc.record(
                Check::RoundTrip,
                Status::Fail,
                started,
                detail,
                vec![cause.to_string()],
            );
            doc.hints.push(
                "an ACL may hide the topic from this client, or forbid publishing to it".into(),
            );
            Some(cause)
        }
    }
}

/// Where the body starts in a whole frame (all of it when the header is broken).
fn header_len(frame: &[u8]) -> usize {
    match wire::fixed_header(frame) {
        Ok(Some((len, _))) => len.min(frame.len()),
        _ => frame.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::test_topic;

    #[test]
    fn round_trip_topics_fill_the_wildcards() {
        assert_eq!(test_topic("#", "x").as_deref(), Some("mqscope-doctor/x"));
        assert_eq!(
            test_topic("plant/+/temp", "x").as_deref(),
            Some("plant/mqscope-doctor/temp")
        );
        assert_eq!(
            test_topic("plant/#", "x").as_deref(),
            Some("plant/mqscope-doctor/x")
        );
        assert_eq!(test_topic("plant/line1", "x"), None);
        assert_eq!(test_topic("$SYS/#", "x"), None);
    }
}
