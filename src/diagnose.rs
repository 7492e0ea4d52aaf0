//! The doctor: staged checks (DNS → TCP → TLS → WebSocket → MQTT → subscribe → round trip),
//! each timed, with adaptive probes when a failure suggests another scheme or version, ending
//! in a verdict that names the cause and the flag that fixes it.

pub mod acl;
pub mod capabilities;
mod certs;
mod link;
mod mqtt;
mod report;
mod roundtrip;
mod transport;

use std::time::Instant;

use serde_json::json;

use crate::broker::stages::{self, BoxStream, Upstream};
use crate::broker::{BrokerOptions, Cause, CauseKind};
pub use certs::CertInfo;
pub use report::{Check, CheckResult, Report, Status};

use mqtt::mqtt_check;
use report::Doctor;
use roundtrip::subscribe_and_round_trip;
use transport::{tcp_check, tls_check};

/// What the doctor should try.
#[derive(Debug, Clone)]
pub struct Plan {
    pub opts: BrokerOptions,
    pub filters: Vec<String>,
    pub round_trip: bool,
    /// Topics and filters for the permission map (`--acl`, `--acl-topic`).
    pub acl: Vec<String>,
    /// Measure what the broker supports (`--capabilities`).
    pub capabilities: bool,
}

/// DNS: the broker's name, or with a proxy the proxy's (which resolves the broker's).
async fn dns_check(doc: &mut Doctor) -> Option<Vec<std::net::SocketAddr>> {
    let opts = doc.plan.opts.clone();
    let target = &opts.target;
    let (host, port, what) = match &opts.proxy {
        Some(p) => (p.host.clone(), p.port, "proxy "),
        None => (target.host.clone(), target.port, ""),
    };
    let started = Instant::now();
    let timeout = opts.connect_timeout;
    let addrs = match stages::resolve(&host, port, timeout).await {
        Ok(addrs) => {
            let list: Vec<String> = addrs.iter().map(|a| a.ip().to_string()).collect();
            let v4 = addrs.iter().filter(|a| a.is_ipv4()).count();
            doc.record(
                Check::Dns,
                Status::Ok,
                started,
                json!({ "name": host, "proxy": opts.proxy.is_some(), "addresses": list, "ipv4": v4, "ipv6": addrs.len() - v4 }),
                vec![format!("{what}{host} → {}", list.join(", "))],
            );
            addrs
        }
        Err(cause) => {
            doc.record(
                Check::Dns,
                Status::Fail,
                started,
                json!({ "name": host, "proxy": opts.proxy.is_some(), "error": cause.detail }),
                vec![cause.detail.clone()],
            );
            doc.hints.push(format!("the {what}name tried was '{host}'"));
            doc.failed = Some(cause);
            return None;
        }
    };

    Some(addrs)
}

/// With `--proxy`: the tunnel to the broker, as its own check.
async fn proxy_check(
    doc: &mut Doctor,
    tcp: tokio::net::TcpStream,
) -> Result<tokio::net::TcpStream, Cause> {
    let opts = doc.plan.opts.clone();
    let Some(proxy) = &opts.proxy else {
        return Ok(tcp);
    };
    let target = &opts.target;
    let started = Instant::now();
    match crate::broker::tunnel::open(tcp, proxy, &target.host, target.port, opts.connect_timeout)
        .await
    {
        Ok((tunnel, detail)) => {
            doc.record(
                Check::Proxy,
                Status::Ok,
                started,
                json!({ "proxy": proxy.to_string(), "tunnel": detail }),
                vec![detail],
            );
            Ok(tunnel)
        }
        Err(cause) => {
            doc.fail(Check::Proxy, started, &cause);
            Err(cause)
        }
    }
}

/// Runs every check; never fails: problems are the report.
pub async fn run(plan: Plan) -> Report {
    // Long by design: the stages in their order, each deciding whether the next can run: read top to bottom.
    let mut doc = Doctor {
        plan,
        checks: Vec::new(),
        hints: Vec::new(),
        failed: None,
    };
    let opts = doc.plan.opts.clone();
    let target = &opts.target;
    let timeout = opts.connect_timeout;

    let Some(addrs) = dns_check(&mut doc).await else {
        let cause = doc.failed.take();
        return doc.finish(cause);
    };

    let Some(tcp) = tcp_check(&mut doc, &addrs).await else {
        let cause = doc
            .failed
            .take()
            .unwrap_or_else(|| Cause::new(CauseKind::TcpUnreachable, "no address"));
        if let Some(p) = &opts.proxy {
            doc.hints
                .push(format!("the proxy {p} could not be reached: check --proxy"));
        }
        return doc.finish(Some(cause));
    };

    // The proxy's tunnel to the broker.
    let tcp = match proxy_check(&mut doc, tcp).await {
        Ok(tcp) => tcp,
        Err(cause) => return doc.finish(Some(cause)),
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
        match stages::upgrade_websocket(stream, &target.to_string(), &opts.ws_headers, timeout)
            .await
        {
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
    // The permission map, on connections of its own.
    if !doc.plan.acl.is_empty() {
        let started = Instant::now();
        let rows = acl::map(&opts, protocol, &doc.plan.acl).await;
        doc.record(
            Check::Permissions,
            Status::Ok,
            started,
            json!({ "entries": acl::to_json(&rows) }),
            acl::lines(&rows),
        );
    }
    if doc.plan.capabilities {
        let started = Instant::now();
        let rows = capabilities::probe(&opts).await;
        doc.record(
            Check::Capabilities,
            Status::Ok,
            started,
            json!({ "rows": capabilities::to_json(&rows) }),
            capabilities::lines(&rows),
        );
    }
    doc.finish(cause)
}
