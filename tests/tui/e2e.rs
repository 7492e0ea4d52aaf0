//! The real event loop, fed scripted terminal and broker events, drawing into a TestBackend.

use std::io;
use std::time::Duration;

use crossterm::event::Event;
use futures_util::StreamExt;
use mqscope::broker::BrokerEvent;
use mqscope::tui::model::{Command, Model};
use mqscope::tui::view::View;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::mpsc;

use super::{message, screen};

#[tokio::test]
async fn the_loop_ingests_draws_reacts_to_keys_and_quits() {
    let (input_tx, input) = super::scripted_input();
    let (events_tx, events) = mpsc::channel::<BrokerEvent>(1024);
    let mut events = mqscope::broker::events::EventReceiver::from(events);
    let mut terminal = Terminal::new(TestBackend::new(120, 30)).unwrap();
    let mut model = Model::new(
        "mqtt://loop.test".into(),
        mqscope::store::Limits::default(),
        super::t0(),
    );
    let mut view = View::default();

    let script = async {
        for i in 0..500u64 {
            let topic = format!("fleet/truck{}/gps", i % 50);
            let payload = format!("{{\"lat\":{i}}}");
            events_tx
                .send(BrokerEvent::Message(message(&topic, payload.as_bytes(), i)))
                .await
                .unwrap();
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
        for c in ['l', 'j', 'l', 'j', 'y'] {
            input_tx.send(Ok(super::typed(c))).unwrap();
            tokio::time::sleep(Duration::from_millis(60)).await;
        }
        input_tx.send(Ok(super::typed('q'))).unwrap();
    };
    let copied = super::run_loop(
        &mut terminal,
        &mut model,
        &mut view,
        input,
        (&mut events).into(),
        script,
    )
    .await;

    assert_eq!(model.store.total_messages, 500);
    assert_eq!(model.store.topic_count(), 50);
    let screen = screen(&terminal);
    assert!(screen.contains("▼ fleet (500/50)"), "{screen}");
    assert!(screen.contains("truck0 (10/1)"), "opened with l: {screen}");
    assert!(
        screen.contains("fleet/truck0/gps") || screen.contains("fleet/truck0"),
        "{screen}"
    );
    assert_eq!(copied.len(), 1, "y asked for a copy");
    assert!(matches!(&copied[0], Command::Copy(_)));
}

#[tokio::test]
async fn the_loop_ends_when_input_ends_even_under_a_flood() {
    let input = futures_util::stream::iter(Vec::<io::Result<Event>>::new()).boxed();
    let (events_tx, events) = mpsc::channel::<BrokerEvent>(100_000);
    let mut events = mqscope::broker::events::EventReceiver::from(events);
    for i in 0..50_000u64 {
        events_tx
            .try_send(BrokerEvent::Message(message("flood/x", b"1", i)))
            .unwrap();
    }
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let mut model = Model::new("x".into(), mqscope::store::Limits::default(), super::t0());
    let mut view = View::default();
    let done = tokio::time::timeout(
        Duration::from_secs(5),
        mqscope::tui::app::run(
            &mut terminal,
            &mut model,
            &mut view,
            input,
            mqscope::tui::app::Sources {
                events: (&mut events).into(),
                logs: None,
                replies: None,
                signals: None,
            },
            |_| {},
        ),
    )
    .await;
    assert!(
        done.is_ok(),
        "input first: the loop sees the end of input at once"
    );
}
