//! Timeline and packet log end to end through the TUI model, against a real mosquitto and the
//! fault proxy: drops, refusals, keep-alive timeouts, latency, takeovers, and every packet.

use std::time::Duration;

use mqscope::broker::{
    BrokerHandle, BrokerOptions, CauseKind, Direction, MqttVersion, PublishRequest, Stage,
    Subscription,
};
use mqscope::store::Limits;
use mqscope::timeline::End;
use mqscope::tui::model::{Model, Msg, update};

use super::support::Mosquitto;
use super::support::proxy::{Fault, FaultProxy};

fn options(url: &str) -> BrokerOptions {
    let mut o = BrokerOptions::new(
        url.parse().unwrap(),
        mqscope::broker::options::random_client_id(),
    );
    o.version = MqttVersion::V5;
    o.connect_timeout = Duration::from_secs(2);
    o.keep_alive = Duration::from_secs(5);
    o.packet_log = true;
    o.backoff.first = Duration::from_millis(100);
    o.subscriptions = vec![Subscription::new("#", 1)];
    o
}

/// Feeds the model until `done` holds (or panics after `secs`).
async fn run_until(
    handle: &mut BrokerHandle,
    model: &mut Model,
    secs: u64,
    done: impl Fn(&Model) -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !done(model) {
        match tokio::time::timeout_at(deadline, handle.events.recv()).await {
            Ok(Some(event)) => {
                update(model, Msg::Broker(event));
            }
            _ => panic!("timed out; timeline: {:#?}", model.timeline.attempts),
        }
    }
}

fn model() -> Model {
    Model::new("t".into(), Limits::default(), std::time::SystemTime::now())
}

#[tokio::test]
async fn kill_refuse_restart_shows_drop_growing_backoff_and_recovery() {
    let mut broker = Mosquitto::plain();
    let mut handle = BrokerHandle::spawn(options(&broker.url())).unwrap();
    let mut model = model();
    run_until(&mut handle, &mut model, 10, |m| m.timeline.is_up()).await;
    broker.stop();
    run_until(&mut handle, &mut model, 20, |m| {
        m.timeline.attempts.len() >= 5
    })
    .await;
    broker.start();
    run_until(&mut handle, &mut model, 20, |m| {
        m.timeline.is_up()
            && m.timeline
                .current()
                .is_some_and(|a| !a.subscribed.is_empty())
    })
    .await;

    let attempts: Vec<_> = model.timeline.attempts.iter().collect();
    assert!(
        matches!(&attempts[0].ended, Some(End::Dropped { cause, .. }) if cause.kind == CauseKind::PeerClosed)
    );
    let refused: Vec<_> = attempts[1..attempts.len() - 1].iter().collect();
    for a in &refused {
        assert!(
            matches!(&a.ended, Some(End::Failed(c)) if c.kind == CauseKind::TcpRefused),
            "{a:#?}"
        );
        let stages: Vec<Stage> = a.stages.iter().map(|s| s.stage).collect();
        assert_eq!(stages, [Stage::Dns, Stage::Tcp]);
    }
    let delays: Vec<Duration> = attempts[..attempts.len() - 1]
        .iter()
        .filter_map(|a| a.backoff.map(|b| b.1))
        .collect();
    assert!(delays.len() >= 4, "{delays:?}");
    for pair in delays[1..].windows(2) {
        assert!(pair[1] > pair[0], "backoff grows: {delays:?}");
    }
    let last = attempts.last().unwrap();
    let stages: Vec<Stage> = last.stages.iter().map(|s| s.stage).collect();
    assert_eq!(stages, [Stage::Dns, Stage::Tcp, Stage::Connack]);
    assert!(
        last.connack.is_some() && !last.subscribed.is_empty(),
        "resubscribed: {last:#?}"
    );
    let numbers: Vec<u32> = attempts.iter().map(|a| a.number).collect();
    assert!(
        numbers.windows(2).all(|w| w[1] == w[0] + 1),
        "in order: {numbers:?}"
    );
    handle.shutdown().await;
}

#[tokio::test]
async fn black_hole_is_a_keepalive_timeout_and_latency_shows_in_stage_times() {
    let broker = Mosquitto::plain();
    let proxy = FaultProxy::start(broker.port).await;
    proxy.set(Fault::Latency(Duration::from_millis(120)));
    let mut handle = BrokerHandle::spawn(options(&proxy.url())).unwrap();
    let mut model = model();
    run_until(&mut handle, &mut model, 10, |m| m.timeline.is_up()).await;
    let connack = model.timeline.attempts[0]
        .stages
        .iter()
        .find(|s| s.stage == Stage::Connack)
        .unwrap();
    assert!(
        connack.elapsed >= Duration::from_millis(230),
        "{:?}",
        connack.elapsed
    );

    proxy.set(Fault::BlackHole);
    run_until(&mut handle, &mut model, 20, |m| {
        m.timeline.attempts[0].ended.is_some()
    })
    .await;
    assert!(
        matches!(&model.timeline.attempts[0].ended, Some(End::Dropped { cause, uptime })
            if cause.kind == CauseKind::KeepaliveTimeout && *uptime >= Duration::from_secs(5)),
        "{:#?}",
        model.timeline.attempts[0]
    );
    handle.shutdown().await;
}

#[tokio::test]
async fn takeover_by_the_same_client_id_is_a_dropped_link() {
    let broker = Mosquitto::plain();
    let mut opts = options(&broker.url());
    opts.client_id = "twin".into();
    let mut first = BrokerHandle::spawn(opts.clone()).unwrap();
    let mut model = model();
    run_until(&mut first, &mut model, 10, |m| m.timeline.is_up()).await;
    let mut second = BrokerHandle::spawn(opts).unwrap();
    let mut other = super::wire::model();
    run_until(&mut second, &mut other, 10, |m| m.timeline.is_up()).await;
    run_until(&mut first, &mut model, 10, |m| {
        m.timeline.attempts[0].ended.is_some()
    })
    .await;
    let ended = model.timeline.attempts[0].ended.clone();
    assert!(
        matches!(&ended, Some(End::Dropped { cause, .. })
            if matches!(cause.kind, CauseKind::PeerClosed | CauseKind::ServerDisconnect)),
        "{ended:?}"
    );
    second.shutdown().await;
}

#[tokio::test]
async fn packet_log_holds_every_packet_with_its_wire_size_and_ping_round_trips() {
    let broker = Mosquitto::plain();
    let mut handle = BrokerHandle::spawn(options(&broker.url())).unwrap();
    let mut model = model();
    run_until(&mut handle, &mut model, 10, |m| {
        !m.timeline.attempts.is_empty() && !m.timeline.attempts[0].subscribed.is_empty()
    })
    .await;
    let req = PublishRequest {
        topic: "w/x".into(),
        payload: "hello".into(),
        qos: 1,
        retain: false,
        properties: None,
    };
    let publish = handle.publish(req);
    let (outcome, ()) = tokio::join!(publish, async {});
    assert!(matches!(
        outcome,
        mqscope::broker::PublishOutcome::Acked { .. }
    ));
    run_until(&mut handle, &mut model, 15, |m| {
        m.log
            .packets
            .iter()
            .any(|e| e.record.packet_type == mqscope::broker::PacketType::Pingresp)
    })
    .await;

    let find = |ty: &str, dir: Direction| {
        model
            .log
            .packets
            .iter()
            .find(|e| e.record.type_name() == ty && e.record.direction == dir)
            .unwrap_or_else(|| panic!("{ty} {dir:?} missing"))
    };
    for (ty, dir) in [
        ("CONNECT", Direction::Out),
        ("CONNACK", Direction::In),
        ("SUBSCRIBE", Direction::Out),
        ("SUBACK", Direction::In),
        ("PUBLISH", Direction::Out),
        ("PUBACK", Direction::In),
        ("PUBLISH", Direction::In),
        ("PUBACK", Direction::Out),
        ("PINGREQ", Direction::Out),
        ("PINGRESP", Direction::In),
    ] {
        find(ty, dir);
    }
    // Exact wire sizes: fixed header + remaining length.
    assert_eq!(find("PINGREQ", Direction::Out).record.size, 2);
    assert_eq!(find("PINGRESP", Direction::In).record.size, 2);
    // PUBLISH "w/x" "hello" QoS 1, v5: 2 + (2+3 topic, 2 pkid, 1 props, 5 payload).
    assert_eq!(find("PUBLISH", Direction::Out).record.size, 15);
    // SUBACK v5 for one filter: 2 + (2 pkid, 1 props, 1 code).
    assert_eq!(find("SUBACK", Direction::In).record.size, 6);
    let pong = find("PINGRESP", Direction::In);
    assert!(pong.rtt.is_some_and(|r| r < Duration::from_secs(1)));
    assert!(model.timeline.health.ping_last.is_some());
    assert!(model.timeline.health.ack_last.is_some());
    handle.shutdown().await;
}
