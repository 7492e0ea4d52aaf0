//! `mqscope demo` without a terminal: every topic family arrives intact, the fault schedule
//! causes a reconnect, and the explorer's loop shows tree, inspector and timeline on it.

#![cfg(feature = "embedded-broker")]

use std::collections::BTreeMap;
use std::time::Duration;

use mqscope::broker::{
    BrokerEvent, BrokerHandle, BrokerOptions, LifecycleKind, Message, Subscription,
};
use mqscope::demo::{faults::Schedule, fleet, start};
use mqscope::tui::model::Model;
use mqscope::tui::view::View;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn subscriber(url: &str) -> BrokerOptions {
    let mut o = BrokerOptions::new(
        url.parse().unwrap(),
        mqscope::broker::options::random_client_id(),
    );
    o.subscriptions = vec![Subscription::new("#", 0)];
    o
}

fn quiet_schedule() -> Schedule {
    Schedule {
        first: Duration::from_secs(3600),
        period: Duration::from_secs(3600),
        outage: Duration::from_secs(1),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_topic_family_arrives_intact() {
    let script = fleet::Script {
        silent_after: Duration::from_secs(2),
        schema_change_after: Duration::from_secs(2),
        lossy_after: Duration::from_secs(2),
        start_ms: 0,
    };
    let demo = start(None, quiet_schedule(), script).unwrap();
    // Subscribe once the retained messages are in place, so they arrive flagged as retained.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut handle = BrokerHandle::spawn(subscriber(&demo.v5)).unwrap();
    let mut last: BTreeMap<String, Message> = BTreeMap::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(4);
    while let Ok(Some(event)) = tokio::time::timeout_at(deadline, handle.events.recv()).await {
        if let BrokerEvent::Message(m) = event {
            *counts.entry(m.topic.clone()).or_default() += 1;
            last.insert(m.topic.clone(), m);
        }
    }
    let has = |t: &str| last.contains_key(t);
    assert!(
        has("building/b1/floor1/room1/temp") && has("building/b1/floor3/room4/humidity"),
        "{counts:?}"
    );
    assert!(
        last["devices/thermostat-5/meta"].retain,
        "retained metadata"
    );
    assert!(has("devices/sensor-6/config"));
    assert_eq!(
        last["devices/sensor-7/raw"].payload.len(),
        16,
        "binary record intact"
    );
    assert_eq!(
        last["cameras/door-1/snapshot"].payload,
        fleet::snapshot(1),
        "200 KB snapshot intact"
    );
    let cmd = last["commands/thermostat-5/set"]
        .properties
        .as_deref()
        .expect("v5 properties");
    assert_eq!(cmd.content_type.as_deref(), Some("application/json"));
    assert!(
        cmd.user_properties
            .iter()
            .any(|(k, v)| k == "operator" && v == "anna")
    );
    let req = last["rpc/req/thermostat-5/get"]
        .properties
        .as_deref()
        .expect("request properties");
    let resp = last["rpc/resp/hmi-2"]
        .properties
        .as_deref()
        .expect("response properties");
    assert_eq!(
        req.correlation_data, resp.correlation_data,
        "the reply carries the request's correlation data"
    );
    assert!(
        counts["telemetry/press-2/vibration"] > 1500,
        "~1k msg/s: {}",
        counts["telemetry/press-2/vibration"]
    );
    assert!(
        last["devices/sensor-9/status"]
            .payload
            .starts_with(br#"{"status""#),
        "schema changed"
    );
    assert!(
        counts["building/b1/floor2/room3/temp"] < counts["building/b1/floor2/room2/temp"],
        "room 3 fell silent"
    );
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fault_schedule_causes_a_drop_backoff_and_recovery() {
    let schedule = Schedule {
        first: Duration::from_secs(1),
        period: Duration::from_secs(3600),
        outage: Duration::from_millis(1500),
    };
    let demo = start(None, schedule, fleet::Script::default()).unwrap();
    let mut opts = subscriber(&demo.faulty);
    opts.backoff.first = Duration::from_millis(100);
    let mut handle = BrokerHandle::spawn(opts).unwrap();
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut connected = 0;
    while let Ok(Some(event)) = tokio::time::timeout_at(deadline, handle.events.recv()).await {
        if let BrokerEvent::Lifecycle(l) = event {
            if matches!(l.kind, LifecycleKind::Connected(_)) {
                connected += 1;
            }
            seen.push(l.kind);
            if connected == 2 {
                break;
            }
        }
    }
    assert_eq!(connected, 2, "{seen:#?}");
    assert!(
        seen.iter()
            .any(|k| matches!(k, LifecycleKind::Disconnected { .. }))
    );
    let backoffs = seen
        .iter()
        .filter(|k| matches!(k, LifecycleKind::Backoff { .. }))
        .count();
    assert!(
        backoffs >= 2,
        "several attempts while the proxy refuses: {seen:#?}"
    );
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_explorer_on_the_demo_shows_tree_inspector_and_timeline() {
    let demo = start(None, quiet_schedule(), fleet::Script::default()).unwrap();
    let mut opts = subscriber(&demo.faulty);
    opts.packet_log = true;
    let mut handle = BrokerHandle::spawn(opts).unwrap();
    let (input_tx, input) = super::scripted_input();
    let mut terminal = Terminal::new(TestBackend::new(160, 45)).unwrap();
    let mut model = Model::new(
        demo.faulty.clone(),
        mqscope::store::Limits::default(),
        std::time::SystemTime::now(),
    );
    let mut view = View::default();
    let script = async {
        tokio::time::sleep(Duration::from_millis(2500)).await;
        for c in ['j', 'e', 'j', 'j', 'j', 'j'] {
            input_tx.send(Ok(super::typed(c))).unwrap();
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        input_tx.send(Ok(super::typed('q'))).unwrap();
    };
    let sources = mqscope::tui::app::Sources {
        events: (&mut handle.events).into(),
        logs: None,
        replies: None,
        signals: None,
    };
    let run = mqscope::tui::app::run(&mut terminal, &mut model, &mut view, input, sources, |_| {});
    let (result, ()) = tokio::join!(run, script);
    result.unwrap();
    let screen = super::screen(&terminal);
    assert!(
        screen.contains("▼ cameras") || screen.contains("building"),
        "{screen}"
    );
    assert!(
        screen.contains("timeline · #1 "),
        "connected at the first attempt: {screen}"
    );
    assert!(screen.contains("● up"), "{screen}");
    assert!(
        model.store.topic_count() >= 30,
        "{}",
        model.store.topic_count()
    );
    assert!(model.selected().is_some());
    handle.shutdown().await;
}
