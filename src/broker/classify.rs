//! Why an attempt or a link ended, in one of mqscope's causes: what the wire showed (the
//! CONNACK, a server DISCONNECT, the pump's view of the upstream) wins over rumqttc's error,
//! which often says less (see `classify_*`'s tables in the tests).

use std::fmt::Write as _;
use std::time::Instant;

use super::cause::{Cause, CauseKind};
use super::codes;
use super::event::ConnackInfo;
use super::options::Protocol;
use super::pump::Note;
use super::session::SessionError;

/// What the pump reported about the current link.
#[derive(Debug, Default)]
pub(super) struct LinkNotes {
    pub connect_sent: Option<Instant>,
    pub connack: Option<ConnackInfo>,
    pub disconnect: Option<(u8, Option<String>)>,
    pub unexpected: Option<Cause>,
    /// Something MQTT forbids, seen on the wire by the pump.
    pub protocol_error: Option<Cause>,
    pub upstream_error: Option<Cause>,
    pub closed: bool,
}

impl LinkNotes {
    pub fn absorb(&mut self, note: Note) {
        match note {
            Note::ConnectSent { at, .. } => self.connect_sent = Some(at),
            Note::Connack(info) => self.connack = Some(info),
            Note::ServerDisconnect { code, reason } => self.disconnect = Some((code, reason)),
            Note::Unexpected(cause) => {
                self.unexpected = Some(cause);
                self.closed = true;
            }
            Note::ProtocolError(cause) => {
                self.protocol_error = Some(cause);
                self.closed = true;
            }
            Note::UpstreamClosed(error) => {
                self.upstream_error = error;
                self.closed = true;
            }
        }
    }
}

/// Classifies a failure between CONNECT and CONNACK, preferring what the wire showed.
pub(super) fn classify_connect_failure(
    err: &SessionError,
    link: &LinkNotes,
    sent: Protocol,
    tls: bool,
) -> Cause {
    if let Some(info) = &link.connack {
        if !info.accepted() {
            let protocol = info.protocol.unwrap_or(sent);
            let kind = codes::connack_cause(protocol, info.code);
            let mut detail = format!("CONNACK {:#04x} {}", info.code, info.code_name());
            if info.protocol == Some(Protocol::V311) && sent == Protocol::V5 {
                detail.push_str(": the broker answered an MQTT 5 CONNECT in 3.1.1");
            }
            if let Some(reason) = &info.reason_string {
                let _ = write!(detail, ", reason \"{reason}\"");
            }
            if let Some(server) = &info.server_reference {
                let _ = write!(detail, ", use server {server}");
            }
            return Cause::new(kind, detail);
        }
    }
    if let Some(cause) = link.protocol_error.as_ref().or(link.unexpected.as_ref()) {
        return cause.clone();
    }
    if let Some(cause) = &link.upstream_error {
        // A TLS listener resets a plain MQTT client right after CONNECT, before any answer.
        if cause.kind == CauseKind::TcpReset && !tls {
            return Cause::new(
                CauseKind::TlsExpected,
                format!(
                    "the connection was reset right after CONNECT ({})",
                    cause.detail
                ),
            );
        }
        return cause.clone();
    }
    match err {
        SessionError::Timeout => Cause::new(
            CauseKind::NoConnack,
            "CONNECT was sent but no CONNACK came back in time",
        ),
        SessionError::Refused(code) => Cause::new(
            codes::connack_cause(sent, *code),
            format!("CONNACK {code:#04x}"),
        ),
        SessionError::Aborted if link.closed => Cause::new(
            CauseKind::PeerClosed,
            "the broker closed the connection before sending CONNACK",
        ),
        SessionError::Protocol(detail) => Cause::new(CauseKind::ProtocolError, detail.clone()),
        other => Cause::new(CauseKind::LocalError, format!("{other:?}")),
    }
}

/// Classifies the end of an established link.
pub(super) fn classify_link_failure(err: &SessionError, link: &LinkNotes) -> Cause {
    if let Some(cause) = &link.protocol_error {
        return cause.clone();
    }
    if let Some((code, reason)) = &link.disconnect {
        let mut detail = format!("DISCONNECT {code:#04x} {}", codes::reason_name(*code));
        if let Some(reason) = reason {
            let _ = write!(detail, ": {reason}");
        }
        let kind = if *code == codes::SESSION_TAKEN_OVER {
            CauseKind::SessionTakenOver
        } else {
            CauseKind::ServerDisconnect
        };
        return Cause::new(kind, detail);
    }
    match err {
        SessionError::AwaitPingResp => {
            return Cause::new(
                CauseKind::KeepaliveTimeout,
                "no PINGRESP within the keep-alive interval",
            );
        }
        SessionError::Other(text) => return Cause::new(CauseKind::LocalError, text.clone()),
        SessionError::Protocol(detail) => {
            return Cause::new(CauseKind::ProtocolError, detail.clone());
        }
        _ => {}
    }
    if let Some(cause) = &link.upstream_error {
        return cause.clone();
    }
    Cause::new(CauseKind::PeerClosed, "the broker closed the connection")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(protocol: Protocol, code: u8, reason: Option<&str>) -> LinkNotes {
        LinkNotes {
            connack: Some(ConnackInfo {
                protocol: Some(protocol),
                code,
                reason_string: reason.map(Into::into),
                ..ConnackInfo::default()
            }),
            closed: true,
            ..LinkNotes::default()
        }
    }

    fn upstream(kind: CauseKind) -> LinkNotes {
        LinkNotes {
            upstream_error: Some(Cause::new(kind, "os error")),
            closed: true,
            ..LinkNotes::default()
        }
    }

    #[test]
    fn connect_failures() {
        // Long by design: a table.
        let unexpected = LinkNotes {
            unexpected: Some(Cause::new(CauseKind::NotMqtt, "HTTP/1.1 400")),
            closed: true,
            ..LinkNotes::default()
        };
        // (what happened, rumqttc's error, the link notes, protocol sent, TLS, cause, detail)
        let table: Vec<(
            &str,
            SessionError,
            LinkNotes,
            Protocol,
            bool,
            CauseKind,
            &str,
        )> = vec![
            (
                "a v5 refusal with its reason string",
                SessionError::Refused(0x87),
                refused(Protocol::V5, 0x87, Some("no access")),
                Protocol::V5,
                false,
                CauseKind::NotAuthorized,
                "CONNACK 0x87 not authorized, reason \"no access\"",
            ),
            (
                "a 3.1.1 answer to a v5 CONNECT",
                SessionError::Aborted,
                refused(Protocol::V311, 1, None),
                Protocol::V5,
                false,
                CauseKind::ProtocolVersionUnsupported,
                "answered an MQTT 5 CONNECT in 3.1.1",
            ),
            (
                "the wire beats rumqttc's timeout",
                SessionError::Timeout,
                unexpected,
                Protocol::V5,
                false,
                CauseKind::NotMqtt,
                "HTTP/1.1 400",
            ),
            (
                "a reset right after a plain CONNECT is a TLS port",
                SessionError::Aborted,
                upstream(CauseKind::TcpReset),
                Protocol::V5,
                false,
                CauseKind::TlsExpected,
                "reset right after CONNECT",
            ),
            (
                "the same reset over TLS stays a reset",
                SessionError::Aborted,
                upstream(CauseKind::TcpReset),
                Protocol::V5,
                true,
                CauseKind::TcpReset,
                "os error",
            ),
            (
                "nothing came back",
                SessionError::Timeout,
                LinkNotes::default(),
                Protocol::V311,
                false,
                CauseKind::NoConnack,
                "no CONNACK",
            ),
            (
                "a refusal only rumqttc saw",
                SessionError::Refused(5),
                LinkNotes::default(),
                Protocol::V311,
                false,
                CauseKind::NotAuthorized,
                "CONNACK 0x05",
            ),
            (
                "closed before CONNACK",
                SessionError::Aborted,
                LinkNotes {
                    closed: true,
                    ..LinkNotes::default()
                },
                Protocol::V5,
                false,
                CauseKind::PeerClosed,
                "closed the connection before sending CONNACK",
            ),
        ];
        for (name, err, notes, sent, tls, kind, detail) in table {
            let cause = classify_connect_failure(&err, &notes, sent, tls);
            assert_eq!(cause.kind, kind, "{name}: {cause:?}");
            assert!(cause.detail.contains(detail), "{name}: {}", cause.detail);
        }
    }

    #[test]
    fn link_failures() {
        let taken_over = LinkNotes {
            disconnect: Some((0x8E, Some("session taken over".into()))),
            ..LinkNotes::default()
        };
        let disconnect = LinkNotes {
            disconnect: Some((0x8B, Some("maintenance".into()))),
            ..LinkNotes::default()
        };
        let table: Vec<(&str, SessionError, LinkNotes, CauseKind, &str)> = vec![
            (
                "a session taken over by the same client id",
                SessionError::Aborted,
                taken_over,
                CauseKind::SessionTakenOver,
                "DISCONNECT 0x8e session taken over: session taken over",
            ),
            (
                "a server DISCONNECT with its reason",
                SessionError::Aborted,
                disconnect,
                CauseKind::ServerDisconnect,
                "DISCONNECT 0x8b server shutting down: maintenance",
            ),
            (
                "a missing PINGRESP",
                SessionError::AwaitPingResp,
                LinkNotes::default(),
                CauseKind::KeepaliveTimeout,
                "no PINGRESP",
            ),
            (
                "the upstream's own error",
                SessionError::Aborted,
                upstream(CauseKind::TcpReset),
                CauseKind::TcpReset,
                "os error",
            ),
            (
                "a plain close",
                SessionError::Aborted,
                LinkNotes::default(),
                CauseKind::PeerClosed,
                "closed the connection",
            ),
        ];
        for (name, err, notes, kind, detail) in table {
            let cause = classify_link_failure(&err, &notes);
            assert_eq!(cause.kind, kind, "{name}: {cause:?}");
            assert!(cause.detail.contains(detail), "{name}: {}", cause.detail);
        }
    }
}
