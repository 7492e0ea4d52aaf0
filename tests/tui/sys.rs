//! The `$SYS` pane (`B`): planted mosquitto statistics drawn (snapshot), the pane's word when
//! the broker publishes none, and the real `$SYS` tree of a mosquitto with `sys_interval 1`.

use std::time::Duration;

use crossterm::event::KeyCode;
use mqscope::broker::{BrokerHandle, BrokerOptions, Subscription};
use mqscope::tui::keymap::Pane;
use mqscope::tui::model::Model;
use mqscope::tui::view::View;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::{draw, feed, key, message, plant, screen};

#[test]
fn b_shows_the_brokers_statistics_or_says_why_there_are_none() {
    let mut model = plant();
    key(&mut model, KeyCode::Char('B'));
    assert!(model.sys_open);
    let mut view = View::default();
    let s = screen(&draw(&mut model, &mut view, 160, 45));
    assert!(s.contains("has published no $SYS topics"), "{s}");
    for (i, (received, sent, bytes)) in [
        (1000, 900, 50_000),
        (1600, 1500, 80_000),
        (4600, 4500, 230_000),
    ]
    .into_iter()
    .enumerate()
    {
        let ms = 3000 + 10_000 * i as u64;
        for (topic, value) in [
            (
                "$SYS/broker/version",
                "mosquitto version 2.0.11".to_string(),
            ),
            ("$SYS/broker/uptime", format!("{} seconds", 7300 + 10 * i)),
            ("$SYS/broker/clients/connected", "12".into()),
            ("$SYS/broker/subscriptions/count", "34".into()),
            ("$SYS/broker/retained messages/count", "7".into()),
            ("$SYS/broker/messages/received", received.to_string()),
            ("$SYS/broker/messages/sent", sent.to_string()),
            ("$SYS/broker/bytes/received", bytes.to_string()),
        ] {
            feed(&mut model, message(topic, value.as_bytes(), ms));
        }
    }
    let s = screen(&draw(&mut model, &mut view, 160, 45));
    assert!(s.contains("version       mosquitto version 2.0.11"), "{s}");
    assert!(s.contains("messages in   300/s"), "{s}");
    assert!(s.contains("clients       12"), "{s}");
    assert!(!s.contains("─ log"), "in the log's place: {s}");
    insta::assert_snapshot!("sys_pane_160x45", s);
    key(&mut model, KeyCode::Char('B'));
    assert!(!model.sys_open && model.side != Pane::Sys);
}

#[tokio::test]
async fn a_real_mosquitto_sys_tree_fills_the_pane() {
    let broker =
        super::support::Mosquitto::with_listener("", "allow_anonymous true\nsys_interval 1\n");
    let mut opts = BrokerOptions::new(
        broker.url().parse().unwrap(),
        mqscope::broker::options::random_client_id(),
    );
    opts.subscriptions = vec![Subscription::new("#", 0), Subscription::new("$SYS/#", 0)];
    let mut handle = BrokerHandle::spawn(opts).unwrap();
    let (input_tx, input) = super::scripted_input();
    let mut terminal = Terminal::new(TestBackend::new(160, 45)).unwrap();
    let mut model = Model::new(
        broker.url(),
        mqscope::store::Limits::default(),
        std::time::SystemTime::now(),
    );
    let mut view = View::default();
    let script = async {
        let key = |c| Ok(super::typed(c));
        input_tx.send(key('B')).unwrap();
        tokio::time::sleep(Duration::from_millis(3500)).await;
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
    let s = screen(&terminal);
    assert!(s.contains("$SYS ·"), "{s}");
    assert!(s.contains("version       mosquitto version"), "{s}");
    assert!(s.contains("clients       1"), "{s}");
    assert!(s.contains("messages in"), "{s}");
    handle.shutdown().await;
}
