//! Names for MQTT reason codes, and how refusal codes map to causes.

use super::cause::CauseKind;
use super::options::Protocol;

/// DISCONNECT 0x8E: another connection took over this client id's session.
pub const SESSION_TAKEN_OVER: u8 = 0x8E;

/// The name of a CONNACK code in the protocol spoken.
pub fn connack_name(protocol: Option<Protocol>, code: u8) -> &'static str {
    if protocol == Some(Protocol::V311) {
        return match code {
            0 => "accepted",
            1 => "unacceptable protocol version",
            2 => "identifier rejected",
            3 => "server unavailable",
            4 => "bad user name or password",
            5 => "not authorized",
            _ => "unknown return code",
        };
    }
    reason_name(code)
}

/// The MQTT 5 reason code names shared by CONNACK, PUBACK, SUBACK, DISCONNECT.
pub fn reason_name(code: u8) -> &'static str {
    match code {
        0x00 => "success",
        0x01 => "granted QoS 1",
        0x02 => "granted QoS 2",
        0x04 => "disconnect with will message",
        0x10 => "no matching subscribers",
        0x11 => "no subscription existed",
        0x18 => "continue authentication",
        0x19 => "re-authenticate",
        0x80 => "unspecified error",
        0x81 => "malformed packet",
        0x82 => "protocol error",
        0x83 => "implementation specific error",
        0x84 => "unsupported protocol version",
        0x85 => "client identifier not valid",
        0x86 => "bad user name or password",
        0x87 => "not authorized",
        0x88 => "server unavailable",
        0x89 => "server busy",
        0x8A => "banned",
        0x8B => "server shutting down",
        0x8C => "bad authentication method",
        0x8D => "keep alive timeout",
        0x8E => "session taken over",
        0x8F => "topic filter invalid",
        0x90 => "topic name invalid",
        0x91 => "packet identifier in use",
        0x92 => "packet identifier not found",
        0x93 => "receive maximum exceeded",
        0x94 => "topic alias invalid",
        0x95 => "packet too large",
        0x96 => "message rate too high",
        0x97 => "quota exceeded",
        0x98 => "administrative action",
        0x99 => "payload format invalid",
        0x9A => "retain not supported",
        0x9B => "QoS not supported",
        0x9C => "use another server",
        0x9D => "server moved",
        0x9E => "shared subscriptions not supported",
        0x9F => "connection rate exceeded",
        0xA0 => "maximum connect time",
        0xA1 => "subscription identifiers not supported",
        0xA2 => "wildcard subscriptions not supported",
        _ => "unknown reason code",
    }
}

/// The cause a refused CONNACK stands for.
pub fn connack_cause(protocol: Protocol, code: u8) -> CauseKind {
    match (protocol, code) {
        (Protocol::V311, 1) | (Protocol::V5, 0x84) => CauseKind::ProtocolVersionUnsupported,
        (Protocol::V311, 2) | (Protocol::V5, 0x85) => CauseKind::ClientIdRejected,
        (Protocol::V311, 3) | (Protocol::V5, 0x88 | 0x89 | 0x9F | 0x9C | 0x9D) => {
            CauseKind::ServerUnavailable
        }
        (Protocol::V311, 4) | (Protocol::V5, 0x86 | 0x8C) => CauseKind::BadCredentials,
        (Protocol::V311, 5) | (Protocol::V5, 0x87) => CauseKind::NotAuthorized,
        (Protocol::V5, 0x8A) => CauseKind::Banned,
        _ => CauseKind::LocalError,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_map_to_causes_in_both_versions() {
        assert_eq!(connack_cause(Protocol::V311, 5), CauseKind::NotAuthorized);
        assert_eq!(connack_cause(Protocol::V5, 0x87), CauseKind::NotAuthorized);
        assert_eq!(connack_cause(Protocol::V311, 4), CauseKind::BadCredentials);
        assert_eq!(
            connack_cause(Protocol::V5, 0x84),
            CauseKind::ProtocolVersionUnsupported
        );
        assert_eq!(connack_cause(Protocol::V5, 0x8A), CauseKind::Banned);
        assert_eq!(connack_name(Some(Protocol::V311), 5), "not authorized");
        assert_eq!(connack_name(Some(Protocol::V5), 0x8E), "session taken over");
    }
}
