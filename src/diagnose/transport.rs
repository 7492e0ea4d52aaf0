//! The transport checks: TCP to each address, the TLS handshake with the server's chain,
//! and the probes that tell a TLS port from a plain one.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use serde_json::json;
use tokio_rustls::rustls::ClientConfig;

use crate::broker::options::{Protocol, TlsSettings};
use crate::broker::stages::{self, BoxStream};
use crate::broker::{BrokerOptions, Cause, CauseKind, PacketType, Scheme};

use super::certs::{self, CertInfo};
use super::link::{self, Link};
use super::report::{Check, Doctor, Status};

/// Connects to each address in turn until one answers.
pub(super) async fn tcp_check(
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

pub(super) fn tls_config(settings: &TlsSettings) -> Result<Arc<ClientConfig>, Cause> {
    crate::broker::tls::client_config(settings)
}

pub(super) async fn tls_check(
    doc: &mut Doctor,
    tcp: tokio::net::TcpStream,
) -> Result<BoxStream, Cause> {
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
            // A server that closes on our ClientHello may speak plain MQTT, or may just refuse
            // us: only an answer to a plain CONNECT says which.
            let cause = if cause.kind == CauseKind::NotTls {
                confirm_not_tls(doc, cause).await
            } else {
                cause
            };
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
            tls_hints(doc, &cause, &chain);
            Err(cause)
        }
    }
}

pub(super) fn chain_of(conn: &tokio_rustls::rustls::ClientConnection) -> Vec<CertInfo> {
    let now = SystemTime::now();
    conn.peer_certificates()
        .unwrap_or_default()
        .iter()
        .filter_map(|c| certs::describe(c.as_ref(), now))
        .collect()
}

/// The chain the server presents, fetched with verification off (for the report only).
pub(super) async fn insecure_chain(opts: &BrokerOptions) -> Vec<CertInfo> {
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
    let Ok(tcp) = stages::open_tcp(opts, &mut |_| {}).await else {
        return Vec::new();
    };
    match stages::handshake_tls(tcp, config, name, opts.connect_timeout).await {
        Ok((stream, _)) => chain_of(stream.get_ref().1),
        Err(_) => Vec::new(),
    }
}

pub(super) fn tls_hints(doc: &mut Doctor, cause: &Cause, chain: &[CertInfo]) {
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
        _ => {}
    }
}

/// The TLS handshake ended without a TLS answer. If the port answers a plain CONNECT, it
/// speaks plain MQTT (`not_tls`, with the URL to use); if not, say what was seen.
async fn confirm_not_tls(doc: &mut Doctor, cause: Cause) -> Cause {
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
        return cause;
    }
    Cause::new(
        CauseKind::TlsClosed,
        format!(
            "{}; a plain MQTT CONNECT got no CONNACK either",
            cause.detail
        ),
    )
}

/// The options of a probe: the target and timeouts of `opts`, but no user name or password,
/// and a client id of its own. Any CONNACK, even a refusal, proves the port speaks MQTT,
/// so a probe never needs credentials, and must not send them where the user did not ask.
pub(super) fn anonymous(opts: &BrokerOptions) -> BrokerOptions {
    let mut probe = opts.clone();
    probe.username = None;
    probe.password = None;
    probe.client_id = crate::broker::options::random_client_id();
    probe
}

/// Whether a plain CONNECT (without credentials) gets a CONNACK on this target (adaptive
/// probe).
pub(super) async fn probe_plain(opts: &BrokerOptions) -> Option<Protocol> {
    let opts = &anonymous(opts);
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
pub(super) async fn probe_tls(opts: &BrokerOptions) -> bool {
    let mut settings = opts.tls.clone();
    settings.insecure = true;
    let (Ok(config), Ok(name)) = (
        tls_config(&settings),
        crate::broker::tls::server_name(&settings, &opts.target.host),
    ) else {
        return false;
    };
    let Ok(tcp) = stages::open_tcp(opts, &mut |_| {}).await else {
        return false;
    };
    stages::handshake_tls(tcp, config, name, opts.connect_timeout)
        .await
        .is_ok()
}
