//! Lines written and read back: every event kind survives the round trip, hostile bytes
//! included; what cannot be read is named.

use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;

use super::*;
use crate::broker::ConnackInfo;

fn at(ms: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(1_764_720_000_000 + ms)
}

fn read(line: &impl serde::Serialize) -> Vec<BrokerEvent> {
    let bytes = serde_json::to_vec(line).expect("JSON");
    match parse_line(&bytes, &mut None).expect("a line that reads back") {
        Entry::Events(events) => events,
        Entry::Header(_) => panic!("a header"),
    }
}

/// A message with every property, a binary payload with escapes, and a non-ASCII topic.
pub fn hostile_message() -> Message {
    Message {
        topic: "温度/été/🙂/\u{1b}]0;x".into(),
        payload: Bytes::from_static(b"\xff\x00caf\xc3\xa9\x1b[2J"),
        qos: 2,
        retain: true,
        dup: true,
        properties: Some(Box::new(MessageProperties {
            payload_format: Some(0),
            message_expiry: Some(3600),
            topic_alias: Some(3),
            content_type: Some("application/x-温度".into()),
            response_topic: Some("réponse/x".into()),
            correlation_data: Some(Bytes::from_static(&[0, 159, 146, 150])),
            user_properties: vec![("site".into(), "été".into()), ("k".into(), String::new())],
            subscription_ids: vec![7],
        })),
        received: at(123),
        wire_size: 99,
    }
}

#[test]
fn a_message_reads_back_byte_for_byte_with_every_property() {
    let m = hostile_message();
    let events = read(&message_line(&m));
    let [BrokerEvent::Message(back)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(back.topic, m.topic);
    assert_eq!(back.payload, m.payload);
    assert_eq!((back.qos, back.retain, back.dup), (2, true, true));
    assert_eq!(back.properties, m.properties);
    assert_eq!(back.received, m.received);
    assert_eq!(back.wire_size, 99);
    // Text payloads stay text in the file.
    let mut text = m.clone();
    text.payload = Bytes::from_static("{\"t\":\"温度\"}".as_bytes());
    let line = serde_json::to_value(message_line(&text)).expect("JSON");
    assert_eq!(line["payload"], "{\"t\":\"温度\"}");
    let events = read(&line);
    let [BrokerEvent::Message(back)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(back.payload, text.payload);
}

fn lifecycle(kind: LifecycleKind) -> Lifecycle {
    Lifecycle {
        at: at(5),
        mono: Instant::now(),
        attempt: 3,
        kind,
    }
}

/// Each lifecycle event as `sub --json --events` writes it, and what reads back.
fn round_trip(kind: LifecycleKind) -> Vec<LifecycleKind> {
    let line =
        crate::headless::render::lifecycle_json(&lifecycle(kind), Some(Duration::from_millis(4)))
            .expect("a line");
    read(&line)
        .into_iter()
        .map(|e| match e {
            BrokerEvent::Lifecycle(l) => {
                assert_eq!((l.at, l.attempt), (at(5), 3));
                l.kind
            }
            other => panic!("{other:?}"),
        })
        .collect()
}

#[test]
fn every_connection_event_reads_back() {
    let cause = Cause::new(CauseKind::TlsUnknownIssuer, "issuer: CN=été");
    let kinds = round_trip(LifecycleKind::Connecting {
        target: "mqtts://h:8883".into(),
        protocol: Protocol::V311,
    });
    assert!(
        matches!(&kinds[..], [LifecycleKind::Connecting { target, protocol: Protocol::V311 }] if target == "mqtts://h:8883")
    );
    let kinds = round_trip(LifecycleKind::Stage {
        stage: Stage::Tls,
        elapsed: Duration::from_micros(2500),
        result: Err(cause.clone()),
    });
    assert!(
        matches!(&kinds[..], [LifecycleKind::Stage { stage: Stage::Tls, elapsed, result: Err(c) }]
            if *c == cause && *elapsed == Duration::from_micros(2500)),
        "{kinds:?}"
    );
    let info = ConnackInfo {
        protocol: Some(Protocol::V5),
        session_present: true,
        receive_max: Some(20),
        assigned_client_id: Some("auto-1".into()),
        user_properties: vec![("a".into(), "b".into())],
        ..ConnackInfo::default()
    };
    let kinds = round_trip(LifecycleKind::Connected(info.clone()));
    assert!(
        matches!(&kinds[..], [LifecycleKind::Stage { stage: Stage::Connack, result: Ok(_), .. }, LifecycleKind::Connected(back)] if *back == info),
        "{kinds:?}"
    );
    let refused = round_trip(LifecycleKind::Stage {
        stage: Stage::Connack,
        elapsed: Duration::from_millis(1),
        result: Err(Cause::new(CauseKind::NotAuthorized, "0x87")),
    });
    assert!(
        matches!(&refused[..], [LifecycleKind::Stage { stage: Stage::Connack, result: Err(c), .. }] if c.kind == CauseKind::NotAuthorized)
    );
    let subs = vec![
        SubscribeResult {
            filter: "温度/#".into(),
            code: 1,
        },
        SubscribeResult {
            filter: "x".into(),
            code: 0x87,
        },
    ];
    assert!(
        matches!(&round_trip(LifecycleKind::Subscribed(subs.clone()))[..], [LifecycleKind::Subscribed(back)] if *back == subs)
    );
    assert!(matches!(
        &round_trip(LifecycleKind::Disconnected { cause: cause.clone(), uptime: Duration::from_secs(15) })[..],
        [LifecycleKind::Disconnected { uptime, .. }] if *uptime == Duration::from_secs(15)
    ));
    assert!(matches!(
        &round_trip(LifecycleKind::Backoff { delay: Duration::from_millis(1500) })[..],
        [LifecycleKind::Backoff { delay }] if *delay == Duration::from_millis(1500)
    ));
    assert!(matches!(
        &round_trip(LifecycleKind::GaveUp {
            cause,
            permanent: true
        })[..],
        [LifecycleKind::GaveUp {
            permanent: true,
            ..
        }]
    ));
    assert!(matches!(
        &round_trip(LifecycleKind::Idle)[..],
        [LifecycleKind::Idle]
    ));
}

#[test]
fn a_packet_reads_back() {
    let mut p = PacketRecord::new(Direction::In, PacketType::Publish, 42);
    p.at = at(9);
    p.pkid = Some(7);
    p.topic = Some("été/x".into());
    p.qos = 1;
    p.dup = true;
    p.detail = "payload 5 B".into();
    let events = read(&packet_line(&p));
    let [BrokerEvent::Packet(back)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(
        (
            back.direction,
            back.packet_type,
            back.size,
            back.pkid,
            back.topic.as_deref()
        ),
        (
            Direction::In,
            PacketType::Publish,
            42,
            Some(7),
            Some("été/x")
        )
    );
    assert!(back.dup && !back.retain && back.qos == 1 && back.detail == "payload 5 B");
}

#[test]
fn a_header_reads_back_and_names_its_version() {
    let h = Header::new("mqtt://h:1883", vec!["温度/#".into()], at(0), true);
    let line = serde_json::to_vec(&h.to_line()).expect("JSON");
    assert!(line.starts_with(br#"{"type":"header","format":"mqscope-recording","version":1"#));
    let Entry::Header(back) = parse_line(&line, &mut None).expect("reads") else {
        panic!()
    };
    assert_eq!(back, h);
}

#[test]
fn lines_that_cannot_be_read_say_why() {
    let err = |line: &str| {
        parse_line(line.as_bytes(), &mut None)
            .expect_err(line)
            .to_string()
    };
    assert!(err("not json").starts_with("not JSON"));
    assert!(err(r#"{"type":"hologram","ts":"x"}"#).contains("`hologram` line"));
    assert!(
        err(r#"{"type":"message","ts":"2026-12-03T00:00:00Z","topic":"a","qos":3,"payload":"x"}"#)
            .contains("qos")
    );
    assert!(
        err(r#"{"type":"message","ts":"yesterday","topic":"a","payload":"x"}"#).contains("`ts`")
    );
    assert!(
        err(r#"{"type":"message","ts":"2026-12-03T00:00:00Z","topic":"a"}"#).contains("payload")
    );
    assert!(
        err(r#"{"type":"message","ts":"2026-12-03T00:00:00Z","topic":"a","payload_b64":"!!"}"#)
            .contains("payload_b64")
    );
    // Broker-made text in an error is escaped.
    let e = err("{\"type\":\"\\u001b[2J\"}");
    assert!(!e.contains('\x1b'), "{e:?}");
}
