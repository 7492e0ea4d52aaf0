//! The anomaly watch in the explorer: markers on tree rows (counted on the levels above),
//! the anomalies pane in the log's place and beside it, the inspector's anomaly lines, the
//! status bar's count; whole frames with a fixed clock, non-ASCII topics and hostile keys.

use crossterm::event::KeyCode;
use mqscope::tui::keymap::Pane;
use mqscope::tui::model::{Msg, update};
use mqscope::tui::view::View;

use super::{at, draw, feed, key, message, screen, select, t0};

/// A line whose counter loses two messages, a status whose JSON changes (one new key would
/// clear a terminal), and a room that falls silent.
fn watched() -> mqscope::tui::model::Model {
    let mut model = mqscope::tui::model::Model::new(
        "mqtt://broker.test:1883".into(),
        mqscope::store::Limits::default(),
        t0(),
    );
    for i in 0..8u64 {
        let ms = i * 1000;
        let seq = if i < 6 { i } else { i + 2 };
        feed(
            &mut model,
            message(
                "plant/温度/line-1",
                format!(r#"{{"seq":{seq},"t":21.5}}"#).as_bytes(),
                ms,
            ),
        );
        let status = if i < 7 {
            format!(r#"{{"state":"ok","v":1,"up":{i}}}"#)
        } else {
            r#"{"status":{"code":0},"version":2,"up":"7s","\u001b[2J":1}"#.to_string()
        };
        feed(
            &mut model,
            message("plant/été/status", status.as_bytes(), ms + 10),
        );
        if i < 7 {
            feed(
                &mut model,
                message("building/room-3/temp", b"{\"t\":20}", ms + 20),
            );
        }
        update(&mut model, Msg::Tick(at(ms + 500)));
    }
    update(&mut model, Msg::Tick(at(12_500)));
    model
}

#[test]
fn markers_pane_inspector_and_status_at_160x45() {
    let mut model = watched();
    assert_eq!(model.watch.list().len(), 3, "{:#?}", model.watch.list());
    select(&mut model, "plant/été/status");
    key(&mut model, KeyCode::Char('A'));
    assert_eq!(model.focus, Pane::Anomalies);
    let mut view = View::default();
    let terminal = draw(&mut model, &mut view, 160, 45);
    let text = screen(&terminal);
    assert!(!text.contains('\u{1b}'));
    insta::assert_snapshot!("anomalies_160x45", text);
}

#[test]
fn beside_the_log_on_a_wide_screen_and_enter_goes_to_the_message() {
    let mut model = watched();
    key(&mut model, KeyCode::Char('A'));
    let mut view = View::default();
    let terminal = draw(&mut model, &mut view, 200, 50);
    let text = screen(&terminal);
    assert!(
        text.contains("log [info]") && text.contains("anomalies · 3"),
        "{text}"
    );
    insta::assert_snapshot!("anomalies_beside_log_200x50", text);
    // The oldest: the gap.
    key(&mut model, KeyCode::End);
    key(&mut model, KeyCode::Enter);
    assert_eq!(model.focus, Pane::Inspector);
    let terminal = draw(&mut model, &mut view, 200, 50);
    let text = screen(&terminal);
    assert!(
        text.contains(r#""seq": 8"#),
        "the message of the gap: {text}"
    );
    assert!(text.contains("⚠ 08:00:06.000 gap 2 missing: 6…7"), "{text}");
}

#[test]
fn tiny_screens_do_not_panic_with_the_pane_open() {
    let mut model = watched();
    key(&mut model, KeyCode::Char('A'));
    let mut view = View::default();
    for (w, h) in [(1, 1), (20, 5), (24, 6), (40, 10), (80, 24)] {
        draw(&mut model, &mut view, w, h);
    }
    model.zoom = true;
    draw(&mut model, &mut view, 30, 8);
}

#[test]
fn a_topic_with_control_characters_reaches_the_pane_escaped() {
    let mut model = mqscope::tui::model::Model::new(
        "mqtt://broker.test:1883".into(),
        mqscope::store::Limits::default(),
        t0(),
    );
    let topic = "été/\u{1b}[31m\u{7}red";
    for (i, seq) in [1, 2, 3, 4, 5, 6, 7, 9].into_iter().enumerate() {
        let ms = i as u64 * 1000;
        feed(
            &mut model,
            message(topic, format!(r#"{{"seq":{seq}}}"#).as_bytes(), ms),
        );
    }
    assert_eq!(model.watch.list().len(), 1);
    key(&mut model, KeyCode::Char('A'));
    let mut view = View::default();
    let text = screen(&draw(&mut model, &mut view, 160, 45));
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "{text}"
    );
    assert!(
        text.contains("gap") && text.contains("1 missing: 8"),
        "{text}"
    );
}
