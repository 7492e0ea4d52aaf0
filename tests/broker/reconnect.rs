//! Drops, backoff, resubscription, keep-alive timeouts and takeovers against real mosquitto.

use std::time::Duration;

use mqscope::broker::{
    BrokerEvent, BrokerHandle, CauseKind, LifecycleKind, MqttVersion, PublishRequest, Stage,
};

use super::support::Mosquitto;
use super::support::proxy::{Fault, FaultProxy};
use super::{connected, is_subscribed, messages, options, subscribing, until};

fn lifecycle(events: &[BrokerEvent]) -> Vec<&LifecycleKind> {
    events
        .iter()
        .filter_map(|e| match e {
            BrokerEvent::Lifecycle(l) => Some(&l.kind),
            _ => None,
        })
        .collect()
}

fn publish(topic: &str, payload: &'static str) -> PublishRequest {
    PublishRequest {
        topic: topic.into(),
        payload: payload.into(),
        qos: 1,
        retain: false,
        properties: None,
    }
}

#[tokio::test]
async fn broker_restart_backs_off_then_resubscribes() {
    let mut broker = Mosquitto::plain();
    let url = broker.url();
    let mut sub = connected(subscribing(options(&url, MqttVersion::V5), "r/#", 1)).await;

    broker.stop();
    // Collect four failed attempts with their backoff delays.
    let mut backoffs = Vec::new();
    let events = until(&mut sub, 20, |e| {
        if let BrokerEvent::Lifecycle(l) = e {
            if let LifecycleKind::Backoff { delay } = l.kind {
                backoffs.push(delay);
            }
        }
        backoffs.len() >= 4
    })
    .await;
    let kinds = lifecycle(&events);
    assert!(
        matches!(kinds[0], LifecycleKind::Disconnected { cause, .. } if cause.kind == CauseKind::PeerClosed),
        "first the drop, with its cause: {kinds:#?}"
    );
    assert!(kinds.iter().any(|k| matches!(k,
        LifecycleKind::Stage { stage: Stage::Tcp, result: Err(c), .. } if c.kind == CauseKind::TcpRefused)));
    for pair in backoffs.windows(2) {
        assert!(pair[1] > pair[0], "delays grow: {backoffs:?}");
    }

    broker.start();
    until(&mut sub, 20, is_subscribed).await;
    let publisher = connected(options(&url, MqttVersion::V311)).await;
    publisher.publish(publish("r/after", "back")).await;
    let got = messages(&mut sub, 1).await;
    assert_eq!(got[0].topic, "r/after", "resubscribed after the restart");
}

#[tokio::test]
async fn black_holed_link_is_a_keepalive_timeout() {
    let broker = Mosquitto::plain();
    let proxy = FaultProxy::start(broker.port).await;
    let mut handle = connected(options(&proxy.url(), MqttVersion::V5)).await;
    proxy.set(Fault::BlackHole);
    let events = until(&mut handle, 20, |e| {
        matches!(e, BrokerEvent::Lifecycle(l) if matches!(l.kind, LifecycleKind::Disconnected { .. }))
    })
    .await;
    let kinds = lifecycle(&events);
    let LifecycleKind::Disconnected { cause, uptime } = kinds.last().unwrap() else {
        unreachable!()
    };
    assert_eq!(cause.kind, CauseKind::KeepaliveTimeout, "{cause}");
    assert!(*uptime >= Duration::from_secs(5));
}

#[tokio::test]
async fn latency_shows_in_the_stage_times() {
    let broker = Mosquitto::plain();
    let proxy = FaultProxy::start(broker.port).await;
    proxy.set(Fault::Latency(Duration::from_millis(150)));
    let mut handle = BrokerHandle::spawn(options(&proxy.url(), MqttVersion::V5)).unwrap();
    let events = until(&mut handle, 10, super::is_connected).await;
    let connack = lifecycle(&events)
        .into_iter()
        .find_map(|k| match k {
            LifecycleKind::Stage {
                stage: Stage::Connack,
                elapsed,
                result: Ok(_),
            } => Some(*elapsed),
            _ => None,
        })
        .unwrap();
    assert!(
        connack >= Duration::from_millis(290),
        "two proxied hops: {connack:?}"
    );
}

#[tokio::test]
async fn refusing_and_closing_proxy_then_recovery() {
    let broker = Mosquitto::plain();
    let proxy = FaultProxy::start(broker.port).await;
    let mut handle = connected(options(&proxy.url(), MqttVersion::V5)).await;
    proxy.set(Fault::CloseNew);
    proxy.kill_all();
    let events = until(&mut handle, 10, |e| {
        matches!(e, BrokerEvent::Lifecycle(l) if matches!(&l.kind,
            LifecycleKind::Stage { stage: Stage::Connack, result: Err(_), .. }))
    })
    .await;
    let kinds = lifecycle(&events);
    assert!(
        matches!(kinds[0], LifecycleKind::Disconnected { cause, .. } if cause.kind == CauseKind::PeerClosed)
    );
    proxy.set(Fault::Refuse);
    until(&mut handle, 10, |e| {
        matches!(e, BrokerEvent::Lifecycle(l) if matches!(&l.kind,
            LifecycleKind::Stage { stage: Stage::Tcp, result: Err(c), .. } if c.kind == CauseKind::TcpRefused))
    })
    .await;
    proxy.set(Fault::Pass);
    until(&mut handle, 20, super::is_connected).await;
}

#[tokio::test]
async fn takeover_by_the_same_client_id_drops_the_first_link() {
    let broker = Mosquitto::plain();
    let mut first_opts = options(&broker.url(), MqttVersion::V5);
    first_opts.client_id = "field-unit-7".into();
    let mut first = connected(first_opts.clone()).await;
    let second = connected(first_opts).await;
    let events = until(&mut first, 10, |e| {
        matches!(e, BrokerEvent::Lifecycle(l) if matches!(l.kind, LifecycleKind::Disconnected { .. }))
    })
    .await;
    let kinds = lifecycle(&events);
    let LifecycleKind::Disconnected { cause, .. } = kinds.last().unwrap() else {
        unreachable!()
    };
    // mosquitto 2.0.11 closes without a DISCONNECT on takeover; newer ones send 0x8E.
    assert!(
        matches!(
            cause.kind,
            CauseKind::PeerClosed | CauseKind::ServerDisconnect
        ),
        "{cause}"
    );
    second.shutdown().await;
}

#[tokio::test]
async fn subscription_changes_while_offline_answer_at_once_and_apply_after_reconnect() {
    use mqscope::broker::{Command, Subscription};
    let mut broker = Mosquitto::plain();
    let url = broker.url();
    let mut opts = options(&url, MqttVersion::V5);
    opts.subscriptions = vec![Subscription::new("été/#", 0), Subscription::new("old/#", 0)];
    let mut sub = connected(opts).await;
    broker.stop();
    until(&mut sub, 10, |e| {
        matches!(e, BrokerEvent::Lifecycle(l) if matches!(l.kind, LifecycleKind::Disconnected { .. }))
    })
    .await;
    let commands = sub.commands();
    // The same filter again, at another QoS: it replaces the entry, it does not add one.
    commands
        .send(Command::Subscribe(vec![Subscription::new("été/#", 1)]))
        .await
        .unwrap();
    commands
        .send(Command::Unsubscribe(vec!["old/#".into()]))
        .await
        .unwrap();
    // Unsubscribing with no broker answers at once, so a dialog never waits forever.
    let events = until(&mut sub, 5, |e| {
        matches!(e, BrokerEvent::Lifecycle(l) if matches!(&l.kind,
            LifecycleKind::Unsubscribed(r) if r.filter == "old/#" && r.code == 0))
    })
    .await;
    assert!(
        !lifecycle(&events)
            .iter()
            .any(|k| matches!(k, LifecycleKind::Connected(_))),
        "answered while offline: {events:#?}"
    );
    broker.start();
    let events = until(&mut sub, 20, is_subscribed).await;
    let Some(LifecycleKind::Subscribed(results)) = lifecycle(&events).last().copied() else {
        unreachable!()
    };
    let filters: Vec<(&str, u8)> = results
        .iter()
        .map(|r| (r.filter.as_str(), r.code))
        .collect();
    assert_eq!(
        filters,
        [("été/#", 1)],
        "one entry, the new QoS, old/# gone"
    );
    let publisher = connected(options(&url, MqttVersion::V311)).await;
    publisher.publish(publish("old/x", "gone")).await;
    publisher.publish(publish("été/x", "kept")).await;
    let got = messages(&mut sub, 1).await;
    assert_eq!(got[0].topic, "été/x", "only the kept filter delivers");
}

#[tokio::test]
async fn a_dropped_link_backs_off_and_resubscribes_on_every_broker() {
    use super::support::TestBroker;
    for broker in TestBroker::all() {
        for version in [MqttVersion::V5, MqttVersion::V311] {
            let name = format!("{} {version:?}", broker.name());
            let proxy = FaultProxy::start(broker.port(version)).await;
            let mut sub = connected(subscribing(options(&proxy.url(), version), "rc/#", 1)).await;
            // The link drops and new connections are refused for a while.
            proxy.set(Fault::Refuse);
            proxy.kill_all();
            let mut delays = Vec::new();
            let events = until(&mut sub, 20, |e| {
                if let BrokerEvent::Lifecycle(l) = e {
                    if let LifecycleKind::Backoff { delay } = l.kind {
                        delays.push(delay);
                    }
                }
                delays.len() >= 3
            })
            .await;
            assert!(
                lifecycle(&events)
                    .iter()
                    .any(|k| matches!(k, LifecycleKind::Disconnected { .. })),
                "{name}: the drop is reported"
            );
            assert!(delays.windows(2).all(|d| d[1] > d[0]), "{name}: {delays:?}");
            proxy.set(Fault::Pass);
            until(&mut sub, 20, is_subscribed).await;
            let publisher = connected(options(&broker.url(version), version)).await;
            publisher.publish(publish("rc/温度", "back")).await;
            let got = messages(&mut sub, 1).await;
            assert_eq!(got[0].topic, "rc/温度", "{name}: resubscribed");
            publisher.shutdown().await;
            sub.shutdown().await;
        }
    }
}
