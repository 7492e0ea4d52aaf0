//! The MQTT checks: CONNECT and CONNACK in the version asked for, the fallback probe to
//! 3.1.1, and hints about credentials and schemes when the broker refuses.

use std::fmt::Write as _;
use std::time::Instant;

use serde_json::{Value, json};

use crate::broker::options::{MqttVersion, Protocol};
use crate::broker::stages::{self, Upstream};
use crate::broker::{
    BrokerOptions, Cause, CauseKind, ConnackInfo, Scheme, codes, unexpected_start,
};

use super::link::{self, Link, ReadError};
use super::report::{Check, Doctor, Status};
use super::transport::{probe_tls, tls_config};

/// Sends CONNECT and reads CONNACK; on an MQTT 5 refusal probes 3.1.1.
pub(super) async fn mqtt_check(
    doc: &mut Doctor,
    upstream: Upstream,
) -> Result<(Link, Protocol), Cause> {
    let opts = doc.plan.opts.clone();
    let first = match opts.version {
        MqttVersion::V311 => Protocol::V311,
        MqttVersion::V5 | MqttVersion::Auto => Protocol::V5,
    };
    let started = Instant::now();
    let mut link = Link::new(upstream);
    // An MQTT 5 CONNECT some 3.1.1-only brokers never answer: 3.1.1 is tried after a short
    // wait rather than after the whole connect timeout.
    let wait = if first == Protocol::V5 {
        opts.connect_timeout
            .min(crate::broker::options::V5_ANSWER_WAIT)
    } else {
        opts.connect_timeout
    };
    let outcome = connect_once(&mut link, &opts, first, wait).await;
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
        Err(cause) if first == Protocol::V5 && cause.kind == CauseKind::NoConnack => {
            let why = format!("an MQTT 5 CONNECT went unanswered for {} s", wait.as_secs());
            return probe_v311(doc, started, &why).await;
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
    probe_v311(doc, started, "an MQTT 5 CONNECT was refused or closed on").await
}

/// After MQTT 5 was refused or closed on: does the broker speak 3.1.1?
pub(super) async fn probe_v311(
    doc: &mut Doctor,
    started: Instant,
    why: &str,
) -> Result<(Link, Protocol), Cause> {
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
    match connect_once(&mut link, &opts, Protocol::V311, opts.connect_timeout).await {
        Ok(info) if info.accepted() => {
            let mut lines = vec![format!("MQTT 5: {why}")];
            lines.extend(connack_lines(&info, Protocol::V311));
            lines.push(format!("this broker speaks MQTT 3.1.1 only; {why}"));
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
                doc.hints.push(format!(
                    "this broker speaks only MQTT 3.1.1 ({why}): use -V 3.1.1 (or -V auto)"
                ));
                return Err(cause);
            }
            doc.hints.push(format!(
                "this broker speaks only MQTT 3.1.1 ({why}): -V auto falls back by itself; \
                 -V 3.1.1 skips the MQTT 5 try"
            ));
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

pub(super) fn credential_hints(doc: &mut Doctor, cause: &Cause) {
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

pub(super) async fn adaptive_after_mqtt(doc: &mut Doctor, cause: &Cause) {
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
pub(super) async fn connect_once(
    link: &mut Link,
    opts: &BrokerOptions,
    protocol: Protocol,
    wait: std::time::Duration,
) -> Result<ConnackInfo, Cause> {
    if let Err(e) = link.send(&link::connect(opts, protocol)).await {
        return Err(Cause::new(
            crate::broker::cause::classify_tcp_io(&e),
            e.to_string(),
        ));
    }
    let answer = link.frame(wait).await;
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
            format!("CONNECT sent, no CONNACK within {wait:?}"),
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

pub(super) fn connack_lines(info: &ConnackInfo, sent: Protocol) -> Vec<String> {
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
pub(super) fn connack_json(info: &ConnackInfo, sent: Protocol, speaks: &[Protocol]) -> Value {
    let mut obj = crate::broker::json::fields(&info.to_json());
    obj.insert("sent".into(), json!(sent.as_str()));
    obj.insert(
        "speaks".into(),
        json!(speaks.iter().map(|p| p.as_str()).collect::<Vec<_>>()),
    );
    Value::Object(obj)
}
