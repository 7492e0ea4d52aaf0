//! The explorer: update steps, panes against exact buffers, whole-frame snapshots with a fixed
//! clock, the real event loop fed scripted events, and one run against a real mosquitto.

#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

#[path = "../support/mod.rs"]
mod support;

mod act;
mod alerts;
mod anomalies;
mod charts;
mod config;
mod decoders;
mod demo;
mod e2e;
mod filter;
mod live;
mod panes;
mod proxy;
mod recording;
mod snapshots;
mod sys;
mod update;
mod wire;

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use mqscope::broker::{BrokerEvent, Message, MessageProperties};
use mqscope::store::Limits;
use mqscope::tui::model::{Model, Msg, update};
use mqscope::tui::view::View;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// The fixed clock of every test: 2027-01-15T08:00:00Z.
pub fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

pub fn at(ms: u64) -> SystemTime {
    t0() + Duration::from_millis(ms)
}

pub fn message(topic: &str, payload: &[u8], ms: u64) -> Message {
    Message {
        topic: topic.into(),
        payload: Bytes::copy_from_slice(payload),
        qos: 1,
        retain: false,
        dup: false,
        properties: None,
        received: at(ms),
        wire_size: topic.len() + payload.len() + 6,
    }
}

pub fn feed(model: &mut Model, m: Message) {
    update(model, Msg::Broker(BrokerEvent::Message(m)));
}

pub fn key(model: &mut Model, code: KeyCode) -> Vec<mqscope::tui::model::Command> {
    update(model, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

pub fn chars(model: &mut Model, text: &str) {
    for c in text.chars() {
        key(model, KeyCode::Char(c));
    }
}

/// A model with a small plant: JSON sensors, a retained state, a binary blob, a v5 command.
pub fn plant() -> Model {
    let mut model = Model::new("mqtt://broker.test:1883".into(), Limits::default(), t0());
    let mut ms = 0;
    for (topic, payload) in [
        ("plant/line1/temp", &br#"{"t":21.5,"unit":"C"}"#[..]),
        ("plant/line1/temp", br#"{"t":22.0,"unit":"C","ok":true}"#),
        ("plant/line2/temp", br#"{"t":19.0,"unit":"C"}"#),
        ("plant/line10/temp", br#"{"t":18.0,"unit":"C"}"#),
        ("plant/blob", &[0x00, 0xFF, 0x10, 0x41, 0x42]),
        ("site/info", b"Building 7, hall B"),
    ] {
        feed(&mut model, message(topic, payload, ms));
        ms += 100;
    }
    let mut state = message("plant/state", b"running", ms);
    state.retain = true;
    feed(&mut model, state);
    let mut cmd = message("plant/cmd", br#"{"op":"start"}"#, ms + 100);
    cmd.properties = Some(Box::new(MessageProperties {
        content_type: Some("application/json".into()),
        response_topic: Some("plant/reply".into()),
        correlation_data: Some(Bytes::from_static(b"req-7")),
        user_properties: vec![("site".into(), "a".into())],
        message_expiry: Some(60),
        ..MessageProperties::default()
    }));
    feed(&mut model, cmd);
    update(&mut model, Msg::Tick(at(2000)));
    model
}

/// Terminal input a test scripts: the sender, and the stream the event loop reads.
pub type Input = std::pin::Pin<
    Box<dyn futures_util::Stream<Item = std::io::Result<crossterm::event::Event>> + Send>,
>;

/// A plain key press, as the terminal reports it, for scripted input.
pub fn typed(c: char) -> crossterm::event::Event {
    crossterm::event::Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

pub fn scripted_input() -> (
    tokio::sync::mpsc::UnboundedSender<std::io::Result<crossterm::event::Event>>,
    Input,
) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let input =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|e| (e, rx)) });
    (tx, Box::pin(input))
}

/// Runs the real event loop over `events` (no log ring, replies or signals) beside a script
/// that feeds it, until the loop ends; returns the commands it handed to side effects.
pub async fn run_loop(
    terminal: &mut Terminal<TestBackend>,
    model: &mut Model,
    view: &mut View,
    input: Input,
    events: mqscope::source::Sources<'_>,
    script: impl std::future::Future<Output = ()>,
) -> Vec<mqscope::tui::model::Command> {
    let mut commands = Vec::new();
    let run = mqscope::tui::app::run(
        terminal,
        model,
        view,
        input,
        mqscope::tui::app::Sources {
            events,
            logs: None,
            replies: None,
            signals: None,
        },
        |c| commands.push(c.clone()),
    );
    let (result, ()) = tokio::join!(run, script);
    result.unwrap();
    commands
}

/// Draws one frame (refreshing the view first), as the event loop does.
pub fn draw(model: &mut Model, view: &mut View, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    redraw(&mut terminal, model, view);
    terminal
}

/// One frame as the event loop draws it: the model settles, the view follows, the screen is
/// drawn and the model learns the page sizes.
pub fn redraw(terminal: &mut Terminal<TestBackend>, model: &mut Model, view: &mut View) {
    mqscope::tui::app::draw(terminal, model, view).unwrap();
}

/// Selects a topic by path, opening the levels above it.
pub fn select(model: &mut Model, path: &str) {
    let id = model.store.find(path).unwrap();
    model.topics.reveal(&model.store, id);
}

/// The text of a buffer, one string per row, trailing spaces trimmed.
pub fn text(terminal: &Terminal<TestBackend>) -> Vec<String> {
    let buffer = terminal.backend().buffer();
    let area = buffer.area;
    (0..area.height)
        .map(|y| {
            let row: String = (0..area.width)
                .map(|x| buffer[(x, y)].symbol().to_string())
                .collect();
            row.trim_end().to_string()
        })
        .collect()
}

pub fn screen(terminal: &Terminal<TestBackend>) -> String {
    text(terminal).join("\n")
}
