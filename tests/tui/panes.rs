//! Panes against exact buffers, and tiny terminals that must never panic.

use mqscope::tui::model::Model;
use mqscope::tui::view::View;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::{draw, plant, text};

#[test]
fn status_and_hint_lines_are_exact() {
    let mut model = plant();
    let mut view = View::default();
    let terminal = draw(&mut model, &mut view, 120, 20);
    let rows = text(&terminal);
    assert_eq!(
        rows[18],
        " mqtt://broker.test:1883 │ ◌ connecting (attempt 1) │ 0 msg/s │ 8 msgs │ 7 topics"
    );
    assert_eq!(
        rows[19],
        " ? help  q quit  ↓ move  Enter open  e expand  / filter  v view  d diff  p pause  Tab pane"
    );
}

#[test]
fn tree_rows_show_counts_retained_marker_and_last_value() {
    let mut model = plant();
    let mut view = View::default();
    let plant = model.store.find("plant").unwrap();
    model.topics.opened.insert(plant);
    model.topics.changed();
    let terminal = draw(&mut model, &mut view, 120, 20);
    let rows = text(&terminal);
    let joined = rows[1..9].join("\n");
    assert!(rows[1].starts_with("│▼ plant (7/6)"), "{joined}");
    assert!(rows[2].contains("    blob (1) = 0x00ff104142"), "{joined}");
    assert!(
        rows[3].contains("    cmd (1) = {\"op\":\"start\"}"),
        "{joined}"
    );
    assert!(rows[4].contains("  ▶ line1 (2/1)"), "{joined}");
    assert!(rows[5].contains("  ▶ line2 (1/1)"), "{joined}");
    assert!(
        rows[6].contains("  ▶ line10 (1/1)"),
        "natural order: {joined}"
    );
    assert!(rows[7].contains("    state (1) R = running"), "{joined}");
    assert!(rows[8].starts_with("│▶ site (1/1)"), "{joined}");
    // The selected row, the first, carries the theme's selection style; the next does not.
    assert_eq!(model.selected(), Some(plant));
    let buffer = terminal.backend().buffer();
    assert_eq!(buffer[(3, 1)].bg, view.theme.selected.bg.unwrap());
    assert_ne!(buffer[(3, 2)].bg, view.theme.selected.bg.unwrap());
}

#[test]
fn large_payloads_are_paged_and_say_so() {
    let mut model = Model::new("x".into(), mqscope::store::Limits::default(), super::t0());
    let big: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    super::feed(&mut model, super::message("big", &big, 0));
    let mut view = View::default();
    let terminal = draw(&mut model, &mut view, 120, 30);
    let screen = super::screen(&terminal);
    assert!(
        screen.contains("binary, shown as hex (auto) · bytes 0–"),
        "{screen}"
    );
    assert!(screen.contains("of 100,000"), "{screen}");
}

#[test]
fn tiny_terminals_never_panic() {
    for (w, h) in [
        (0, 0),
        (1, 1),
        (10, 3),
        (23, 5),
        (24, 6),
        (30, 8),
        (40, 10),
        (80, 24),
    ] {
        let mut model = plant();
        let mut view = View::default();
        model.help = true;
        let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
        super::redraw(&mut terminal, &mut model, &mut view);
        if (w, h) == (10, 3) {
            assert_eq!(text(&terminal)[0], "mqscope: t");
        }
    }
}

#[test]
fn payload_control_characters_cannot_reach_the_terminal() {
    let mut model = Model::new("x".into(), mqscope::store::Limits::default(), super::t0());
    super::feed(
        &mut model,
        super::message("evil\u{1b}[2J", b"a\x1b]52;c;AAAA\x07b", 0),
    );
    let mut view = View::default();
    let terminal = draw(&mut model, &mut view, 100, 20);
    let buffer = terminal.backend().buffer();
    assert!(
        buffer
            .content()
            .iter()
            .all(|c| !c.symbol().contains('\u{1b}'))
    );
    assert!(super::screen(&terminal).contains("\\x1b"));
}

#[test]
fn an_idle_redraw_reuses_the_drawn_tree_and_still_matches_a_fresh_draw() {
    use crossterm::event::KeyCode;
    let mut model = plant();
    let mut view = View::default();
    let plant = model.store.find("plant").unwrap();
    model.topics.opened.insert(plant);
    model.topics.changed();
    let mut terminal = draw(&mut model, &mut view, 120, 20);
    let first = terminal.backend().buffer().clone();
    let drawn_version = view.tree_frame.as_ref().map(|f| f.key.items_version);
    assert!(
        drawn_version.is_some(),
        "the tree pane is kept after a draw"
    );
    // A redraw with nothing changed copies the kept cells: the screen is the same.
    super::redraw(&mut terminal, &mut model, &mut view);
    assert_eq!(terminal.backend().buffer(), &first);
    // A moved selection is drawn anew, and equals what a fresh view draws.
    super::key(&mut model, KeyCode::Down);
    super::key(&mut model, KeyCode::Down);
    super::redraw(&mut terminal, &mut model, &mut view);
    let moved = terminal.backend().buffer().clone();
    assert_ne!(moved, first, "the selection moved");
    let fresh = draw(&mut model, &mut View::default(), 120, 20);
    assert_eq!(&moved, fresh.backend().buffer());
    // So is a new message on a shown row.
    super::feed(
        &mut model,
        super::message("plant/cmd", b"{\"op\":\"stop\"}", 3000),
    );
    super::redraw(&mut terminal, &mut model, &mut view);
    let rows = text(&terminal);
    assert!(
        rows.iter()
            .any(|r| r.contains("cmd (2) = {\"op\":\"stop\"}")),
        "{rows:#?}"
    );
}

#[test]
fn an_empty_tree_says_why_and_what_to_do() {
    use mqscope::broker::{Cause, CauseKind};
    use mqscope::tui::model::LinkState;
    let mut model = Model::new(
        "mqtt://127.0.0.1:1".into(),
        mqscope::store::Limits::default(),
        super::t0(),
    );
    let mut view = View::default();
    let terminal = draw(&mut model, &mut view, 120, 34);
    assert!(super::screen(&terminal).contains("connecting…"));
    model.link = LinkState::Retrying {
        at: super::at(3000),
        cause: Cause::new(CauseKind::TcpRefused, "Connection refused (os error 111)"),
    };
    let terminal = draw(&mut model, &mut view, 120, 34);
    let screen = super::screen(&terminal);
    for want in [
        "no messages: the broker cannot be reached",
        "nothing is listening on that port",
        "[tcp_refused]",
        "Connection refused (os error 111)",
        "hint: check that the broker runs",
        "D    runs the doctor on this broker",
        "mqscope demo",
        "mqscope -b URL",
    ] {
        assert!(screen.contains(want), "{want}:\n{screen}");
    }
    insta::assert_snapshot!("empty_tree_no_broker", screen);
}

#[test]
fn long_log_lines_and_timeline_outcomes_wrap_instead_of_being_cut() {
    use mqscope::tui::keymap::Pane;
    let mut model = plant();
    let message =
        "Error while handling MQTT connect packet error=ConnectionAborted and then the end";
    mqscope::tui::model::update(
        &mut model,
        mqscope::tui::model::Msg::Logs(
            vec![mqscope::logging::LogLine {
                at: super::at(1),
                level: tracing::Level::ERROR,
                target: "rumqttd::server::broker".into(),
                message: message.into(),
            }],
            0,
        ),
    );
    model.side = Pane::Log;
    let mut view = View::default();
    let terminal = draw(&mut model, &mut view, 90, 24);
    let screen = super::screen(&terminal);
    assert!(
        screen.contains("and then the end"),
        "the line's end shows:\n{screen}"
    );
}

#[test]
fn help_taller_than_the_screen_scrolls_and_other_keys_close_it() {
    let mut model = super::plant();
    let mut view = mqscope::tui::view::View::default();
    super::key(&mut model, crossterm::event::KeyCode::Char('?'));
    let first = super::screen(&super::draw(&mut model, &mut view, 120, 24));
    assert!(first.contains("help · lines 1–22 of"), "{first}");
    for _ in 0..5 {
        super::key(&mut model, crossterm::event::KeyCode::Down);
    }
    let later = super::screen(&super::draw(&mut model, &mut view, 120, 24));
    assert!(later.contains("help · lines 6–27 of"), "{later}");
    // Past the end it stops at the last page.
    for _ in 0..20 {
        super::key(&mut model, crossterm::event::KeyCode::PageDown);
    }
    let end = super::screen(&super::draw(&mut model, &mut view, 120, 24));
    let total: u16 = end
        .split(" of ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(end.contains(&format!("–{total} of {total}")), "{end}");
    assert!(model.help);
    super::key(&mut model, crossterm::event::KeyCode::Char('x'));
    assert!(!model.help && model.help_scroll == 0);
    // On a tall screen it fits: nothing to scroll.
    super::key(&mut model, crossterm::event::KeyCode::Char('?'));
    let tall = super::screen(&super::draw(&mut model, &mut view, 160, 80));
    assert!(tall.contains("help · any key closes"), "{tall}");
}
