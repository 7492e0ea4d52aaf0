//! A broker that breaks the protocol: every case ends the link with `protocol_error` (never a
//! panic, never a permanent `local_error`), says what was malformed and in which packet, shows
//! the first bytes where the wire showed them, and is retried with backoff.

use mqscope::broker::{BrokerEvent, BrokerHandle, Cause, CauseKind, LifecycleKind, MqttVersion};

use super::support::hostile::{Hostile, HostileBroker};
use super::{options, subscribing, until};

/// Runs the layer against `what` until the link has failed, backed off and connected again;
/// returns the cause of the first failure.
async fn failure(what: Hostile, version: MqttVersion) -> Cause {
    let broker = HostileBroker::start(what.clone()).await;
    let mut opts = subscribing(options(&broker.url(), version), "#", 0);
    opts.packet_log = true;
    opts.max_packet_size = 1 << 20;
    let mut handle = BrokerHandle::spawn(opts).unwrap();
    let mut cause = None;
    let mut backed_off = false;
    let events = until(&mut handle, 20, |e| {
        let BrokerEvent::Lifecycle(l) = e else {
            return false;
        };
        match &l.kind {
            LifecycleKind::Disconnected { cause: c, .. }
            | LifecycleKind::Stage { result: Err(c), .. }
                if cause.is_none() =>
            {
                cause = Some(c.clone());
            }
            LifecycleKind::Backoff { .. } => backed_off = cause.is_some(),
            // The next attempt reached the broker again: retried.
            LifecycleKind::Connected(_) => return backed_off,
            _ => {}
        }
        false
    })
    .await;
    assert!(broker.connections() >= 2, "{what:?}: retried; {events:#?}");
    let cause = cause.unwrap();
    // The packet log names the malformed packet when the wire showed it.
    if cause.detail.contains("first bytes") {
        assert!(
            events.iter().any(|e| matches!(e, BrokerEvent::Packet(p)
                if p.detail.starts_with("MALFORMED: "))),
            "{what:?}: a MALFORMED record in the packet log"
        );
    }
    handle.shutdown().await;
    cause
}

#[tokio::test]
async fn every_protocol_violation_is_a_retried_protocol_error() {
    use Hostile::*;
    use MqttVersion::{V5, V311};
    let table: Vec<(Hostile, MqttVersion, &str)> = vec![
        (
            InvalidUtf8Topic,
            V311,
            "PUBLISH topic is not valid UTF-8 (byte 0xff at 3); first bytes 30 09 00 06 62 61 64 ff",
        ),
        (
            InvalidUtf8Topic,
            V5,
            "PUBLISH topic is not valid UTF-8 (byte 0xff at 3); first bytes 30 0a 00 06 62 61 64 ff",
        ),
        (
            MalformedLength,
            V311,
            "remaining length malformed (more than four bytes); first bytes 30 ff ff ff ff",
        ),
        (
            UnknownAlias,
            V5,
            "PUBLISH with topic alias 7, but we announced a topic alias maximum of 0",
        ),
        (
            Oversize(3 << 20),
            V5,
            "a PUBLISH of 3145733 bytes, larger than the maximum of 1048576 bytes we announced; first bytes 30 80 80 c0 01",
        ),
        (
            Oversize(3 << 20),
            V311,
            "a PUBLISH of 3145733 bytes, larger than the maximum of 1048576 bytes we announced; first bytes 30 80 80 c0 01",
        ),
        (UnsolicitedAck, V311, "an acknowledgement for packet id 99"),
        (EmptyTopic, V311, "PUBLISH with an empty topic; first bytes"),
        (
            EmptyTopic,
            V5,
            "PUBLISH with an empty topic and no topic alias",
        ),
        (
            Raw(vec![0x10, 0x00]),
            V5,
            "a CONNECT packet, which only a client sends; first bytes 10 00",
        ),
    ];
    for (what, version, detail) in table {
        let cause = failure(what.clone(), version).await;
        assert_eq!(
            cause.kind,
            CauseKind::ProtocolError,
            "{what:?} {version:?}: {cause}"
        );
        assert!(!cause.is_permanent(), "retried");
        assert!(
            cause.detail.contains(detail),
            "{what:?} {version:?}: {}",
            cause.detail
        );
        assert!(
            cause.kind.hint().contains("broker"),
            "the hint says who sent it"
        );
    }
}
