//! The explorer against a real mosquitto: publish, and see the tree and inspector update.

use std::time::Duration;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use mqscope::broker::{BrokerHandle, BrokerOptions, PublishRequest, Subscription};
use mqscope::tui::model::Model;
use mqscope::tui::view::View;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::screen;
use super::support::Mosquitto;

fn opts(url: &str) -> BrokerOptions {
    let mut o = BrokerOptions::new(
        url.parse().unwrap(),
        mqscope::broker::options::random_client_id(),
    );
    o.connect_timeout = Duration::from_secs(2);
    o
}

#[tokio::test]
async fn publishing_updates_tree_and_inspector() {
    let broker = Mosquitto::plain();
    let mut sub_opts = opts(&broker.url());
    sub_opts.subscriptions = vec![Subscription::new("#", 1)];
    let mut handle = BrokerHandle::spawn(sub_opts).unwrap();
    let publisher = BrokerHandle::spawn(opts(&broker.url())).unwrap();

    let (input_tx, input) = super::scripted_input();
    let mut terminal = Terminal::new(TestBackend::new(120, 30)).unwrap();
    let mut model = Model::new(
        broker.url(),
        mqscope::store::Limits::default(),
        std::time::SystemTime::now(),
    );
    let mut view = View::default();
    let script = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        for (topic, payload) in [
            ("lab/bench1/volts", "{\"v\":12.1}"),
            ("lab/bench1/volts", "{\"v\":12.4}"),
            ("lab/door", "closed"),
        ] {
            let req = PublishRequest {
                topic: topic.into(),
                payload: payload.into(),
                qos: 1,
                retain: false,
                properties: None,
            };
            publisher.publish(req).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let key = |c| Ok(super::typed(c));
        for c in ['e', 'j', 'j'] {
            input_tx.send(key(c)).unwrap();
            tokio::time::sleep(Duration::from_millis(80)).await;
        }
        input_tx.send(key('q')).unwrap();
    };
    super::run_loop(
        &mut terminal,
        &mut model,
        &mut view,
        input,
        (&mut handle.events).into(),
        script,
    )
    .await;
    let screen = screen(&terminal);
    assert!(screen.contains("● connected"), "{screen}");
    assert!(screen.contains("volts (2) = {\"v\":12.4}"), "{screen}");
    assert!(
        screen.contains("lab/bench1/volts"),
        "inspector shows the selected topic: {screen}"
    );
    assert!(screen.contains("\"v\": 12.4"), "pretty JSON: {screen}");
    handle.shutdown().await;
    publisher.shutdown().await;
}

#[tokio::test]
async fn non_ascii_topics_through_mosquitto_in_tree_filter_inspector_and_packet_log() {
    use crossterm::event::KeyCode;
    use mqscope::tui::model::{Msg, update};
    let broker = Mosquitto::plain();
    let publisher = BrokerHandle::spawn(opts(&broker.url())).unwrap();
    for topic in ["温度/x", "été/salle/1", "🌡️/x", "plain/y"] {
        let req = PublishRequest {
            topic: topic.into(),
            payload: format!("{{\"t\":\"{topic}\"}}").into(),
            qos: 1,
            retain: true,
            properties: None,
        };
        publisher.publish(req).await;
    }
    let mut sub_opts = opts(&broker.url());
    sub_opts.subscriptions = vec![Subscription::new("#", 0)];
    sub_opts.packet_log = true;
    let mut handle = BrokerHandle::spawn(sub_opts).unwrap();
    let mut model = Model::new(
        broker.url(),
        mqscope::store::Limits::default(),
        std::time::SystemTime::now(),
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while model.store.topic_count() < 4 {
        let event = tokio::time::timeout_at(deadline, handle.events.recv())
            .await
            .expect("the retained topics arrive")
            .unwrap();
        update(&mut model, Msg::Broker(event));
    }
    // Let the packet records of the last PUBLISH arrive too.
    while let Ok(Some(event)) =
        tokio::time::timeout(Duration::from_millis(200), handle.events.recv()).await
    {
        update(&mut model, Msg::Broker(event));
    }
    let seen_on_wire: Vec<&str> = model
        .log
        .packets
        .iter()
        .filter(|p| p.record.direction == mqscope::broker::Direction::In)
        .filter_map(|p| p.record.topic.as_deref())
        .collect();
    for topic in ["温度/x", "été/salle/1", "🌡️/x"] {
        assert!(
            seen_on_wire.contains(&topic),
            "{topic} in the packet log: {seen_on_wire:?}"
        );
    }
    // The filter +/x, the case that used to crash: only the matching topics show.
    super::key(&mut model, KeyCode::Char('/'));
    super::chars(&mut model, "+/x");
    super::key(&mut model, KeyCode::Enter);
    let mut view = View::default();
    let terminal = super::draw(&mut model, &mut view, 100, 20);
    let screen = screen(&terminal);
    // A wide character takes two cells; the second reads as a space here.
    let compact = screen.replace(' ', "");
    assert!(
        compact.contains("▼温度(1/1)") && compact.contains("🌡️"),
        "{screen}"
    );
    assert!(
        !screen.contains("été") && !screen.contains("plain"),
        "{screen}"
    );
    // The inspector shows the selected match, whole.
    let shown = model
        .store
        .node(model.selected().unwrap())
        .path()
        .to_string();
    assert!(["温度/x", "🌡️/x"].contains(&shown.as_str()), "{shown}");
    assert!(compact.contains(&format!("\"t\":\"{shown}\"")), "{screen}");
    handle.shutdown().await;
    publisher.shutdown().await;
}

/// Charts against mosquitto and rumqttd: a pinned series of a non-ASCII topic grows with
/// every message published while the explorer runs, numbers as strings included, text skipped.
#[tokio::test]
async fn a_pinned_series_follows_live_messages_on_both_brokers() {
    use mqscope::tui::keymap::Pane;
    for broker in super::support::TestBroker::all() {
        let url = broker.url(mqscope::broker::MqttVersion::V5);
        let mut sub_opts = opts(&url);
        sub_opts.subscriptions = vec![Subscription::new("usine/#", 1)];
        let mut handle = BrokerHandle::spawn(sub_opts).unwrap();
        let publisher = BrokerHandle::spawn(opts(&url)).unwrap();
        let (input_tx, input) = super::scripted_input();
        let mut terminal = Terminal::new(TestBackend::new(160, 45)).unwrap();
        let mut model = Model::new(
            url.clone(),
            mqscope::store::Limits::default(),
            std::time::SystemTime::now(),
        );
        model.charts =
            mqscope::tui::model::ChartsPane::from_entries(&[mqscope::config::PinEntry {
                topic: "usine/温度/室1".into(),
                field: "t".into(),
            }]);
        model.charts.open = true;
        model.side = Pane::Charts;
        let mut view = View::default();
        let script = async {
            tokio::time::sleep(Duration::from_millis(500)).await;
            for payload in [
                r#"{"t":20.5}"#,
                r#"{"t":"21.5"}"#,
                r#"{"t":"abc"}"#,
                "oops",
                r#"{"t":23}"#,
            ] {
                let req = PublishRequest {
                    topic: "usine/温度/室1".into(),
                    payload: payload.into(),
                    qos: 1,
                    retain: false,
                    properties: None,
                };
                publisher.publish(req).await;
            }
            tokio::time::sleep(Duration::from_millis(400)).await;
            input_tx
                .send(Ok(Event::Key(KeyEvent::new(
                    KeyCode::Char('q'),
                    KeyModifiers::NONE,
                ))))
                .unwrap();
        };
        super::run_loop(
            &mut terminal,
            &mut model,
            &mut view,
            input,
            (&mut handle.events).into(),
            script,
        )
        .await;
        let s = screen(&terminal);
        let name = broker.name();
        assert_eq!(model.charts.pins[0].series.points().len(), 3, "{name}: {s}");
        assert_eq!(model.charts.pins[0].series.skipped, 2, "{name}");
        assert!(
            s.contains("▸ t  last 23  min 20.5  max 23  mean 21.7  · 3 points · 2 skipped"),
            "{name}: {s}"
        );
        handle.shutdown().await;
        publisher.shutdown().await;
    }
}
