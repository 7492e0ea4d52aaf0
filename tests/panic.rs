//! A panic in any task ends the explorer's loop: the hook restores the terminal and the loop
//! stops drawing, instead of going on in cooked mode. Its own test binary: the panic flag is
//! process-wide and would end every other loop in the same process.

#![allow(clippy::unwrap_used)]

use std::io;
use std::time::{Duration, SystemTime};

use crossterm::event::Event;
use mqscope::broker::BrokerEvent;
use mqscope::tui::app::{Ending, Sources, run};
use mqscope::tui::model::Model;
use mqscope::tui::view::View;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::mpsc;

#[tokio::test]
async fn a_panicking_task_ends_the_loop() {
    mqscope::tui::terminal::install_panic_hook();
    let (_input_tx, input_rx) = mpsc::unbounded_channel::<io::Result<Event>>();
    let input = Box::pin(futures_util::stream::unfold(
        input_rx,
        |mut rx| async move { rx.recv().await.map(|e| (e, rx)) },
    ));
    let (_events_tx, events) = mpsc::channel::<BrokerEvent>(16);
    let mut events = mqscope::broker::events::EventReceiver::from(events);
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let mut model = Model::new(
        "mqtt://panic.test".into(),
        mqscope::store::Limits::default(),
        SystemTime::now(),
    );
    let mut view = View::default();
    let task = tokio::spawn(async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        panic!("a bug in some task");
    });
    let ending = tokio::time::timeout(
        Duration::from_secs(5),
        run(
            &mut terminal,
            &mut model,
            &mut view,
            input,
            Sources {
                events: (&mut events).into(),
                logs: None,
                replies: None,
                signals: None,
            },
            |_| {},
        ),
    )
    .await
    .expect("the loop ends by itself")
    .unwrap();
    assert_eq!(ending, Ending::Panicked);
    assert!(task.await.unwrap_err().is_panic());
    assert!(mqscope::tui::terminal::panicked());
}
