//! Messages go through a real mosquitto intact, in both protocol versions.

use bytes::Bytes;
use mqscope::broker::{
    BrokerEvent, LifecycleKind, MessageProperties, MqttVersion, Protocol, PublishOutcome,
    PublishRequest,
};

use super::support::{Mosquitto, TestBroker};
use super::{connected, messages, options, subscribing, until};

fn request(topic: &str, payload: impl Into<Bytes>, qos: u8, retain: bool) -> PublishRequest {
    PublishRequest {
        topic: topic.into(),
        payload: payload.into(),
        qos,
        retain,
        properties: None,
    }
}

fn big_payload(size: u32) -> Bytes {
    // Non-repeating bytes, including every byte value.
    (0..size)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13).to_le_bytes()[0])
        .collect::<Vec<u8>>()
        .into()
}

async fn round_trip(broker: &TestBroker, version: MqttVersion) {
    let url = broker.url(version);
    let name = broker.name();
    let mut sub = connected(subscribing(options(&url, version), "rt/#", 2)).await;
    let publisher = connected(options(&url, version)).await;

    // 5 MB through mosquitto; rumqttd is configured for at most 1 MB.
    let size = u32::try_from(broker.max_payload().min(5_000_000) - 1000).unwrap();
    let big = big_payload(size);
    let binary = Bytes::from_static(&[0x00, 0xFF, 0xFE, 0x80, 0x0A, 0x1B]);
    assert_eq!(
        publisher.publish(request("rt/q0", "zero", 0, false)).await,
        PublishOutcome::Sent
    );
    assert_eq!(
        publisher.publish(request("rt/q1", "one", 1, false)).await,
        PublishOutcome::Acked { reason: 0 }
    );
    assert_eq!(
        publisher.publish(request("rt/q2", "two", 2, false)).await,
        PublishOutcome::Acked { reason: 0 }
    );
    assert_eq!(
        publisher
            .publish(request("rt/big", big.clone(), 1, false))
            .await,
        PublishOutcome::Acked { reason: 0 }
    );
    assert_eq!(
        publisher
            .publish(request("rt/bin", binary.clone(), 1, false))
            .await,
        PublishOutcome::Acked { reason: 0 }
    );

    let got = messages(&mut sub, 5).await;
    let topics: Vec<&str> = got.iter().map(|m| m.topic.as_str()).collect();
    assert_eq!(
        topics,
        ["rt/q0", "rt/q1", "rt/q2", "rt/big", "rt/bin"],
        "{name}"
    );
    // MQTT delivers at the lower of the publish and subscription QoS; rumqttd 0.20 delivers
    // everything at the subscription's QoS (seen here, not ours to fix): what mqscope shows
    // is what arrived.
    let delivered: &[u8] = match broker {
        TestBroker::Mosquitto(_) => &[0, 1, 2, 1, 1],
        #[cfg(feature = "embedded-broker")]
        TestBroker::Rumqttd(_) => &[2, 2, 2, 2, 2],
    };
    assert_eq!(
        got.iter().map(|m| m.qos).collect::<Vec<_>>(),
        delivered,
        "{name}"
    );
    assert_eq!(got[3].payload, big, "{name}: big payload intact");
    assert!(got[3].wire_size > size as usize, "{name}");
    assert_eq!(got[4].payload, binary, "{name}: binary payload intact");

    // Retained: a new subscriber gets it with the retain flag.
    publisher
        .publish(request("rt/état/温度", "on", 1, true))
        .await;
    let mut late = connected(subscribing(options(&url, version), "rt/+/温度", 0)).await;
    let retained = messages(&mut late, 1).await;
    assert_eq!(retained[0].topic, "rt/état/温度", "{name}");
    assert!(retained[0].retain, "{name}");
    assert_eq!(&retained[0].payload[..], b"on", "{name}");

    publisher.shutdown().await;
    sub.shutdown().await;
    late.shutdown().await;
}

#[tokio::test]
async fn v5_round_trip_qos_retained_big_and_binary_on_every_broker() {
    for broker in TestBroker::all() {
        round_trip(&broker, MqttVersion::V5).await;
    }
}

#[tokio::test]
async fn v311_round_trip_qos_retained_big_and_binary_on_every_broker() {
    for broker in TestBroker::all() {
        round_trip(&broker, MqttVersion::V311).await;
    }
}

#[tokio::test]
async fn v5_properties_arrive_intact() {
    let broker = Mosquitto::plain();
    let mut sub = connected(subscribing(
        options(&broker.url(), MqttVersion::V5),
        "p/#",
        1,
    ))
    .await;
    let publisher = connected(options(&broker.url(), MqttVersion::V5)).await;
    let props = MessageProperties {
        payload_format: Some(1),
        message_expiry: Some(120),
        content_type: Some("application/json".into()),
        response_topic: Some("p/reply".into()),
        correlation_data: Some(Bytes::from_static(b"req-42")),
        user_properties: vec![("site".into(), "plant-a".into()), ("k".into(), "v".into())],
        ..MessageProperties::default()
    };
    let mut req = request("p/cmd", "{\"on\":true}", 1, false);
    req.properties = Some(props.clone());
    assert_eq!(
        publisher.publish(req).await,
        PublishOutcome::Acked { reason: 0 }
    );
    let got = messages(&mut sub, 1).await;
    let p = got[0].properties.as_deref().expect("properties");
    assert_eq!(p.payload_format, Some(1));
    assert!(p.message_expiry.is_some_and(|e| (100..=120).contains(&e)));
    assert_eq!(p.content_type, props.content_type);
    assert_eq!(p.response_topic, props.response_topic);
    assert_eq!(p.correlation_data, props.correlation_data);
    assert_eq!(p.user_properties, props.user_properties);
}

#[tokio::test]
async fn auto_speaks_v5_to_mosquitto_and_reports_connack_properties() {
    let broker = Mosquitto::plain();
    let mut handle =
        mqscope::broker::BrokerHandle::spawn(options(&broker.url(), MqttVersion::Auto)).unwrap();
    let events = until(&mut handle, 10, super::is_connected).await;
    let Some(BrokerEvent::Lifecycle(l)) = events.last() else {
        unreachable!()
    };
    let LifecycleKind::Connected(info) = &l.kind else {
        unreachable!()
    };
    assert_eq!(info.protocol, Some(Protocol::V5));
    assert!(
        info.receive_max.is_some() || info.topic_alias_max.is_some(),
        "{info:?}"
    );
    // The stages came first, in order, each with a duration.
    let stages: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            BrokerEvent::Lifecycle(l) => match &l.kind {
                LifecycleKind::Stage {
                    stage,
                    result: Ok(_),
                    ..
                } => Some(stage.as_str()),
                LifecycleKind::ConnectSent { .. } => Some("connect_sent"),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(stages, ["dns", "tcp", "connect_sent", "connack"]);
}

#[tokio::test]
async fn topic_aliases_we_did_not_allow_end_the_link_as_a_protocol_error() {
    // mqscope announces a topic alias maximum of 0 (rumqttd 0.20 sends wrong aliases when it
    // may use them), so a broker that aliases anyway breaks the protocol: the link ends with
    // the reason, instead of messages filed under an empty topic.
    use super::support::fakes::{Behaviour, Fake};
    let fake = Fake::start(Behaviour::AliasV5).await;
    let mut sub = connected(subscribing(options(&fake.url(), MqttVersion::V5), "t/#", 0)).await;
    let events = until(&mut sub, 10, |e| {
        matches!(e, BrokerEvent::Lifecycle(l) if matches!(l.kind, LifecycleKind::Disconnected { .. }))
    })
    .await;
    assert!(
        !events.iter().any(|e| matches!(e, BrokerEvent::Message(_))),
        "no message under a guessed topic"
    );
    let Some(BrokerEvent::Lifecycle(l)) = events.last() else {
        unreachable!()
    };
    let LifecycleKind::Disconnected { cause, .. } = &l.kind else {
        unreachable!()
    };
    assert_eq!(cause.code(), "protocol_error");
    assert!(
        cause
            .detail
            .contains("topic alias 1, but we announced a topic alias maximum of 0"),
        "{cause}"
    );
}

#[tokio::test]
async fn packet_log_records_every_packet_with_wire_sizes() {
    let broker = Mosquitto::plain();
    let mut opts = subscribing(options(&broker.url(), MqttVersion::V5), "pl/#", 1);
    opts.packet_log = true;
    let mut handle = mqscope::broker::BrokerHandle::spawn(opts).unwrap();
    let mut records = Vec::new();
    for e in until(&mut handle, 10, super::is_subscribed).await {
        if let BrokerEvent::Packet(p) = e {
            records.push((p.type_name(), p.direction, p.size, p.topic.clone()));
        }
    }
    handle.publish(request("pl/x", "hello", 1, false)).await;
    until(&mut handle, 10, |e| {
        if let BrokerEvent::Packet(p) = e {
            records.push((p.type_name(), p.direction, p.size, p.topic.clone()));
        }
        records.iter().filter(|r| r.0 == "PUBLISH").count() >= 2
            && records.iter().any(|r| r.0 == "PUBACK")
    })
    .await;
    let names: Vec<&str> = records.iter().map(|r| r.0).collect();
    for expected in [
        "CONNECT",
        "CONNACK",
        "SUBSCRIBE",
        "SUBACK",
        "PUBLISH",
        "PUBACK",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    // A v5 QoS 1 PUBLISH of "hello" to "pl/x": 2+4 topic, 2 pkid, 1 props, 5 payload = 14 + 2 header.
    let publish = records.iter().find(|r| r.0 == "PUBLISH").unwrap();
    assert_eq!(publish.2, 16);
    assert_eq!(publish.3.as_deref(), Some("pl/x"));
}

/// QoS 0 messages take a short way past rumqttc (`broker::direct`); they must still arrive in
/// the order the broker sent them among QoS 1 ones, and never before the SUBACK that precedes
/// them on the wire.
async fn order_kept(broker: &TestBroker, version: MqttVersion) {
    let url = broker.url(version);
    let name = broker.name();
    let publisher = connected(options(&url, version)).await;
    publisher
        .publish(request("order/温度/kept", "retained", 0, true))
        .await;
    let mut sub = mqscope::broker::BrokerHandle::spawn(subscribing(
        options(&url, version),
        "order/温度/#",
        1,
    ))
    .unwrap();
    let seen = until(&mut sub, 10, |e| matches!(e, BrokerEvent::Message(_))).await;
    // `until` stopped at the first message: the SUBACK's event must be before it.
    assert!(
        seen.iter().any(super::is_subscribed),
        "{name}: the retained message came before the SUBACK's event: {seen:#?}"
    );
    // Batches of 25 without waiting for each PUBACK: `join_all` polls up to 30 futures in
    // order, so each batch is handed over in order while its acks are still out.
    for batch in 0..12u32 {
        let sends = (batch * 25..(batch + 1) * 25).map(|i| {
            let qos = u8::from(i % 7 == 3);
            publisher.publish(request("order/温度/x", i.to_string(), qos, false))
        });
        futures_util::future::join_all(sends).await;
    }
    let got = messages(&mut sub, 300).await;
    let order: Vec<u32> = got
        .iter()
        .map(|m| std::str::from_utf8(&m.payload).unwrap().parse().unwrap())
        .collect();
    assert_eq!(order, (0..300).collect::<Vec<_>>(), "{name} {version:?}");
    publisher
        .publish(request("order/温度/kept", "", 0, true))
        .await;
    publisher.shutdown().await;
    sub.shutdown().await;
}

#[tokio::test]
async fn qos0_and_qos1_messages_keep_their_order_on_every_broker() {
    for broker in TestBroker::all() {
        for version in [MqttVersion::V5, MqttVersion::V311] {
            order_kept(&broker, version).await;
        }
    }
}
