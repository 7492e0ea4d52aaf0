//! The update step: a model, a message, assertions on the model and the commands.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use mqscope::broker::{BrokerEvent, Cause, CauseKind, Lifecycle, LifecycleKind};
use mqscope::tui::keymap::{Action, Pane};
use mqscope::tui::model::{Command, LinkState, Msg, act, update};
use mqscope::tui::view::View;

use super::{at, chars, draw, feed, key, message, plant, redraw, select};

#[test]
fn quit_keys_ask_to_quit() {
    let mut model = plant();
    assert_eq!(key(&mut model, KeyCode::Char('q')), [Command::Quit]);
    let ctrl_c = crossterm::event::KeyEvent::new(
        KeyCode::Char('c'),
        crossterm::event::KeyModifiers::CONTROL,
    );
    assert_eq!(update(&mut model, Msg::Key(ctrl_c)), [Command::Quit]);
}

#[test]
fn selection_stays_on_its_topic_when_topics_arrive() {
    let mut model = plant();
    let mut view = View::default();
    select(&mut model, "plant/line2/temp");
    let mut terminal = draw(&mut model, &mut view, 100, 30);
    let before = model.selected();
    // Topics that sort before and after the selection, and a message on it.
    for (i, topic) in [
        "plant/line0/temp",
        "plant/aaa",
        "plant/line2/a",
        "zzz",
        "plant/line2/temp",
    ]
    .iter()
    .enumerate()
    {
        feed(&mut model, message(topic, b"1", 3000 + i as u64));
        redraw(&mut terminal, &mut model, &mut view);
        assert_eq!(model.selected(), before, "after {topic}");
    }
}

#[test]
fn keys_move_open_and_close_the_tree() {
    // No frame is drawn: moving in the tree is the model's own business.
    let mut model = plant();
    let id = |model: &mqscope::tui::model::Model, path: &str| model.store.find(path);
    let plant_id = model.store.find("plant").unwrap();
    assert_eq!(
        model.selected(),
        Some(plant_id),
        "the top row is selected from the start"
    );
    key(&mut model, KeyCode::Char('j'));
    assert_eq!(
        model.selected(),
        id(&model, "site"),
        "closed: next top level"
    );
    key(&mut model, KeyCode::Char('k'));
    key(&mut model, KeyCode::Enter);
    assert!(model.topics.opened.contains(&plant_id));
    key(&mut model, KeyCode::Char('j'));
    assert_eq!(model.selected(), id(&model, "plant/blob"));
    key(&mut model, KeyCode::Char('u'));
    assert_eq!(model.selected(), Some(plant_id), "u jumps to the parent");
    act(&mut model, Action::ExpandSubtree);
    for path in ["plant/line1", "plant/line2", "plant/line10"] {
        assert!(model.topics.is_open(id(&model, path).unwrap()), "{path}");
    }
    // Rows now: plant, blob, cmd, line1, temp, line2, temp, line10, temp, state, site, info.
    let expect = [
        "plant/blob",
        "plant/cmd",
        "plant/line1",
        "plant/line1/temp",
        "plant/line2",
        "plant/line2/temp",
        "plant/line10",
        "plant/line10/temp",
        "plant/state",
        "site",
    ];
    for path in expect {
        key(&mut model, KeyCode::Down);
        assert_eq!(model.selected(), id(&model, path), "down to {path}");
    }
    for path in expect.iter().rev().skip(1) {
        key(&mut model, KeyCode::Up);
        assert_eq!(model.selected(), id(&model, path), "up to {path}");
    }
    key(&mut model, KeyCode::End);
    assert_eq!(
        model.selected(),
        id(&model, "site"),
        "End: the last row (site is closed)"
    );
    key(&mut model, KeyCode::Home);
    assert_eq!(model.selected(), Some(plant_id), "Home: the first row");
    model.pages.topics = 4;
    key(&mut model, KeyCode::PageDown);
    assert_eq!(
        model.selected(),
        id(&model, "plant/line1/temp"),
        "a page down"
    );
    key(&mut model, KeyCode::Left);
    assert_eq!(
        model.selected(),
        id(&model, "plant/line1"),
        "left on a leaf: parent"
    );
    key(&mut model, KeyCode::Left);
    assert!(
        !model.topics.is_open(id(&model, "plant/line1").unwrap()),
        "left closes"
    );
    key(&mut model, KeyCode::Down);
    assert_eq!(
        model.selected(),
        id(&model, "plant/line2"),
        "closed levels are skipped"
    );
    key(&mut model, KeyCode::Char('C'));
    assert_eq!(model.topics.opened.len(), 0, "collapse all");
    assert_eq!(
        model.selected(),
        Some(plant_id),
        "the selection folds to its top level"
    );
}

#[test]
fn tree_keys_and_a_drawn_frame_agree() {
    // The model moves without a frame; the tree widget, told afterwards, highlights the row.
    let mut model = plant();
    let mut view = View::default();
    act(&mut model, Action::ExpandSubtree);
    for _ in 0..4 {
        key(&mut model, KeyCode::Down);
    }
    assert_eq!(model.selected(), model.store.find("plant/line1/temp"));
    let terminal = draw(&mut model, &mut view, 100, 30);
    let rows = super::text(&terminal);
    let selected_row = rows.iter().position(|r| r.contains("temp (2)")).unwrap();
    let buffer = terminal.backend().buffer();
    let y = u16::try_from(selected_row).unwrap();
    assert_eq!(
        buffer[(6, y)].bg,
        view.theme.selected.bg.unwrap(),
        "{rows:#?}"
    );
    assert!(super::screen(&terminal).contains("line10"));
}

#[test]
fn filter_keeps_ancestors_and_supports_mqtt_wildcards() {
    let mut model = plant();
    let mut view = View::default();
    key(&mut model, KeyCode::Char('/'));
    chars(&mut model, "line1");
    let terminal = draw(&mut model, &mut view, 100, 30);
    let screen = super::screen(&terminal);
    assert!(
        screen.contains("line1 (") && screen.contains("line10"),
        "{screen}"
    );
    assert!(
        !screen.contains("blob") && !screen.contains("site"),
        "{screen}"
    );
    key(&mut model, KeyCode::Enter);
    assert!(!model.topics.filter.editing);

    key(&mut model, KeyCode::Char('/'));
    for _ in 0..5 {
        key(&mut model, KeyCode::Backspace);
    }
    chars(&mut model, "plant/+/temp");
    let terminal = draw(&mut model, &mut view, 100, 30);
    let screen = super::screen(&terminal);
    assert!(
        screen.contains("line2") && !screen.contains("state"),
        "{screen}"
    );
    key(&mut model, KeyCode::Esc);
    assert!(!model.topics.filter.is_active());
}

#[test]
fn inspector_steps_through_history_and_diffs() {
    let mut model = plant();
    let mut view = View::default();
    select(&mut model, "plant/line1/temp");
    let mut terminal = draw(&mut model, &mut view, 120, 40);
    assert!(super::screen(&terminal).contains(r#""ok": true"#));
    key(&mut model, KeyCode::Char('['));
    redraw(&mut terminal, &mut model, &mut view);
    let screen = super::screen(&terminal);
    assert!(
        !screen.contains(r#""ok": true"#) && screen.contains("21.5"),
        "older message"
    );
    key(&mut model, KeyCode::Char(']'));
    key(&mut model, KeyCode::Char('d'));
    redraw(&mut terminal, &mut model, &mut view);
    let screen = super::screen(&terminal);
    assert!(screen.contains(r#"-   "t": 21.5,"#), "{screen}");
    assert!(screen.contains(r#"+   "ok": true"#), "{screen}");
}

#[test]
fn pinned_message_stays_while_new_ones_arrive() {
    let mut model = plant();
    select(&mut model, "plant/line1/temp");
    key(&mut model, KeyCode::Char('['));
    let shown = model.shown_index();
    let seq = model.inspector.pinned;
    feed(&mut model, message("plant/line1/temp", b"{\"t\":23}", 5000));
    assert_eq!(model.inspector.pinned, seq);
    assert_eq!(model.shown_index(), shown);
}

#[test]
fn view_modes_cycle_and_copy_asks_for_osc52() {
    let mut model = plant();
    select(&mut model, "site/info");
    key(&mut model, KeyCode::Char('v'));
    assert_eq!(model.inspector.mode, mqscope::payload::Mode::Text);
    let commands = key(&mut model, KeyCode::Char('y'));
    assert_eq!(commands, [Command::Copy("Building 7, hall B".into())]);
    assert!(model.notice.as_ref().unwrap().0.contains("copied 18 bytes"));
}

#[test]
fn pause_freezes_the_view_while_ingestion_goes_on() {
    let mut model = plant();
    let mut view = View::default();
    let mut terminal = draw(&mut model, &mut view, 100, 30);
    key(&mut model, KeyCode::Char('p'));
    for i in 0..5 {
        feed(&mut model, message("new/topic", b"x", 4000 + i));
    }
    redraw(&mut terminal, &mut model, &mut view);
    let screen = super::screen(&terminal);
    assert!(screen.contains("PAUSED, 5 new"), "{screen}");
    assert!(!screen.contains("new ("), "the tree is frozen: {screen}");
    assert_eq!(
        model
            .store
            .node(model.store.find("new/topic").unwrap())
            .messages,
        5
    );
    key(&mut model, KeyCode::Char('p'));
    redraw(&mut terminal, &mut model, &mut view);
    assert!(super::screen(&terminal).contains("new (5/1)"));
}

#[test]
fn focus_cycles_and_inspector_keys_scroll() {
    let mut model = plant();
    key(&mut model, KeyCode::Tab);
    assert_eq!(model.focus, Pane::Inspector);
    key(&mut model, KeyCode::Char('j'));
    assert_eq!(model.inspector.scroll, 1);
    key(&mut model, KeyCode::Tab);
    assert_eq!(model.focus, Pane::Timeline);
    key(&mut model, KeyCode::Tab);
    assert_eq!(model.focus, Pane::Log);
    key(&mut model, KeyCode::Tab);
    assert_eq!(model.focus, Pane::Topics);
    key(&mut model, KeyCode::BackTab);
    assert_eq!(model.focus, Pane::Log);
    assert_eq!(
        model.side,
        Pane::Log,
        "the small layout shows the last focused side pane"
    );
}

#[test]
fn connection_events_drive_the_status() {
    let mut model = plant();
    let cause = Cause::new(CauseKind::TcpRefused, "127.0.0.1:1883");
    let lifecycle = |kind| {
        Msg::Broker(BrokerEvent::Lifecycle(Lifecycle {
            at: at(3000),
            mono: std::time::Instant::now(),
            attempt: 2,
            kind,
        }))
    };
    update(
        &mut model,
        lifecycle(LifecycleKind::Disconnected {
            cause: cause.clone(),
            uptime: std::time::Duration::from_secs(9),
        }),
    );
    update(
        &mut model,
        lifecycle(LifecycleKind::Backoff {
            delay: std::time::Duration::from_secs(4),
        }),
    );
    assert!(matches!(model.link, LinkState::Retrying { at: when, .. } if when == at(7000)));
    update(
        &mut model,
        lifecycle(LifecycleKind::GaveUp {
            cause,
            permanent: true,
        }),
    );
    assert!(matches!(model.link, LinkState::Failed { .. }));
    update(
        &mut model,
        Msg::Broker(BrokerEvent::Dropped {
            messages: 42,
            packets: 0,
        }),
    );
    assert_eq!(model.dropped_by_app, 42);
}

/// A client-id fight: the timeline and the status bar name it and say how to end it.
#[test]
fn a_client_id_collision_is_said_with_its_fix() {
    let mut model = plant();
    let lifecycle = |kind| {
        Msg::Broker(BrokerEvent::Lifecycle(Lifecycle {
            at: at(3000),
            mono: std::time::Instant::now(),
            attempt: 3,
            kind,
        }))
    };
    update(
        &mut model,
        lifecycle(LifecycleKind::Connecting {
            target: "mqtt://broker.test:1883".into(),
            protocol: mqscope::broker::Protocol::V5,
        }),
    );
    update(
        &mut model,
        lifecycle(LifecycleKind::Disconnected {
            cause: Cause::new(
                CauseKind::ClientIdCollision,
                "closed 2 times in a row within 5 s of CONNACK with the client id 温度-1",
            ),
            uptime: std::time::Duration::from_millis(400),
        }),
    );
    update(
        &mut model,
        lifecycle(LifecycleKind::Backoff {
            delay: std::time::Duration::from_secs(4),
        }),
    );
    let mut view = mqscope::tui::view::View::default();
    let s = super::screen(&super::draw(&mut model, &mut view, 160, 45));
    assert!(
        s.contains("client_id_collision · another client uses this client id: -i NAME"),
        "{s}"
    );
    assert!(
        s.contains("dropped: client_id_collision (the broker keeps"),
        "{s}"
    );
    // The attempt's details name the will it sent.
    let mut will = mqscope::broker::Will::new("状態/dev-7", "offline");
    will.qos = 1;
    will.delay = Some(10);
    model.will = Some(will.summary());
    model.focus = Pane::Timeline;
    key(&mut model, KeyCode::Enter);
    let s = super::screen(&super::draw(&mut model, &mut view, 160, 45));
    assert!(
        s.contains("will: 状") && s.contains("· QoS 1 · 7 B · delay 10 s"),
        "{s}"
    );
}

#[test]
fn help_opens_and_any_key_closes_it() {
    let mut model = plant();
    key(&mut model, KeyCode::Char('?'));
    assert!(model.help);
    // j scrolls it (when it is taller than the screen); another key closes it.
    assert!(key(&mut model, KeyCode::Char('j')).is_empty());
    assert!(model.help);
    assert!(key(&mut model, KeyCode::Char('x')).is_empty());
    assert!(!model.help);
}

#[test]
fn rate_comes_from_ticks() {
    let mut model = plant();
    for s in 3..10 {
        for i in 0..100 {
            feed(&mut model, message("fast", b"x", s * 1000 + i));
        }
        update(&mut model, Msg::Tick(at(s * 1000 + 999)));
    }
    assert!((80.0..=120.0).contains(&model.rate), "{}", model.rate);
}

#[test]
fn visible_rows_follow_every_message_between_full_rebuilds() {
    let mut model = plant();
    let mut view = View::default();
    select(&mut model, "plant/line1/temp");
    let mut terminal = draw(&mut model, &mut view, 120, 30);
    for i in 0..5u64 {
        let payload = format!("{{\"seq\":{i}}}");
        feed(
            &mut model,
            message("plant/line1/temp", payload.as_bytes(), 2100 + i),
        );
        redraw(&mut terminal, &mut model, &mut view);
        let screen = super::screen(&terminal);
        let row = screen
            .lines()
            .find(|l| l.contains("temp ("))
            .unwrap_or_default()
            .to_string();
        assert!(
            row.contains(&format!("temp ({}) = {{\"seq\":{i}}}", 3 + i)),
            "{row}"
        );
    }
}

#[test]
fn reconnect_and_disconnect_keys_ask_the_connection_layer() {
    let mut model = plant();
    assert_eq!(key(&mut model, KeyCode::Char('r')), [Command::Reconnect]);
    // Not connected in this model (still "connecting"): c disconnects.
    assert_eq!(key(&mut model, KeyCode::Char('c')), [Command::Disconnect]);
    model.link = LinkState::Idle;
    assert_eq!(key(&mut model, KeyCode::Char('c')), [Command::Reconnect]);
}

#[test]
fn log_level_cycles_and_tabs_switch() {
    let mut model = plant();
    model.focus = Pane::Log;
    assert_eq!(
        key(&mut model, KeyCode::Char('L')),
        [Command::SetLogLevel(tracing::Level::DEBUG)]
    );
    key(&mut model, KeyCode::Char('t'));
    assert_eq!(model.log.tab, mqscope::tui::model::Tab::Packets);
    key(&mut model, KeyCode::Char('T'));
    assert_eq!(model.log.filter, mqscope::tui::model::PacketFilter::Publish);
}

#[test]
fn jump_from_message_to_its_publish_and_back() {
    use mqscope::broker::{Direction, PacketRecord};
    let mut model = plant();
    // The PUBLISH records that carried plant/line1/temp's two messages.
    for (ms, payload) in [(0u64, 21usize), (100, 31)] {
        update(
            &mut model,
            Msg::Broker(BrokerEvent::Packet(PacketRecord {
                mono: std::time::Instant::now(),
                at: at(ms),
                direction: Direction::In,
                packet_type: mqscope::broker::PacketType::Publish,
                size: payload + 20,
                pkid: Some(1),
                topic: Some("plant/line1/temp".into()),
                qos: 1,
                retain: false,
                dup: false,
                reason: None,
                detail: format!("payload={payload}B"),
            })),
        );
    }
    select(&mut model, "plant/line1/temp");
    key(&mut model, KeyCode::Char('['));
    model.focus = Pane::Inspector;
    key(&mut model, KeyCode::Char('o'));
    assert_eq!(model.focus, Pane::Log);
    assert_eq!(model.log.tab, mqscope::tui::model::Tab::Packets);
    let cursor = model.log.cursor_packet().unwrap();
    assert_eq!(
        cursor.record.detail, "payload=21B",
        "the older message's PUBLISH"
    );

    // And back: Enter on that PUBLISH shows its message.
    select(&mut model, "site/info");
    model.focus = Pane::Log;
    key(&mut model, KeyCode::Enter);
    assert_eq!(model.focus, Pane::Inspector);
    assert_eq!(model.selected(), model.store.find("plant/line1/temp"));
    assert_eq!(model.shown_index(), Some(0));
}

#[test]
fn the_doctor_runs_in_the_background_and_shows_its_report() {
    use mqscope::diagnose::{Plan, Report};
    let mut model = plant();
    assert_eq!(key(&mut model, KeyCode::Char('D')), [Command::RunDoctor]);
    assert!(matches!(
        model.doctor,
        Some(mqscope::tui::model::DoctorPopup::Running)
    ));
    let report = Report {
        broker: "mqtt://broker.test:1883".into(),
        checks: Vec::new(),
        cause: Some(Cause::new(CauseKind::NotAuthorized, "CONNACK 0x87")),
        summary: "The broker refused.".into(),
        hints: vec!["pass --username".into()],
    };
    let _ = Plan {
        opts: mqscope::broker::BrokerOptions::new("mqtt://x".parse().unwrap(), "id"),
        filters: Vec::new(),
        round_trip: false,
        acl: Vec::new(),
        capabilities: false,
    };
    update(&mut model, Msg::Doctor(Box::new(report)));
    let mut view = View::default();
    let terminal = draw(&mut model, &mut view, 120, 30);
    let screen = super::screen(&terminal);
    assert!(
        screen.contains("verdict: not_authorized") && screen.contains("pass --username"),
        "{screen}"
    );
    key(&mut model, KeyCode::Char('j'));
    assert!(model.doctor.is_none(), "any key closes it");
}

#[test]
fn an_idle_tick_every_few_seconds_still_fills_the_rate_history_per_second() {
    use super::{at, feed, message};
    use mqscope::tui::model::{Msg, update};
    let mut model = super::plant();
    let before = model.rate_history.len();
    feed(&mut model, message("plant/x", b"1", 2500));
    update(&mut model, Msg::Tick(at(3000)));
    assert_eq!(model.rate_history.len(), before + 1);
    assert_eq!(model.rate_history.back(), Some(&1));
    // Five seconds later, one tick: five one-second entries, the quiet ones zero.
    update(&mut model, Msg::Tick(at(8000)));
    assert_eq!(model.rate_history.len(), before + 6);
    assert!(model.rate_history.iter().rev().take(5).all(|n| *n == 0));
}

#[test]
fn publish_history_is_recalled_with_up_and_down() {
    use mqscope::tui::dialog::Dialog;
    let mut model = super::plant();
    select(&mut model, "plant/cmd");
    for payload in ["one", "two"] {
        key(&mut model, KeyCode::Char('P'));
        // The form opens on the selected topic, focus in the payload.
        for c in payload.chars() {
            key(&mut model, KeyCode::Char(c));
        }
        let commands = update(
            &mut model,
            Msg::Key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL)),
        );
        assert!(matches!(&commands[..], [Command::Publish(r)] if r.payload == payload.as_bytes()));
    }
    key(&mut model, KeyCode::Char('P'));
    key(&mut model, KeyCode::BackTab);
    let payload = |m: &mqscope::tui::model::Model| match &m.dialog {
        Some(Dialog::Publish(f)) => f.payload.clone(),
        other => panic!("{other:?}"),
    };
    key(&mut model, KeyCode::Up);
    assert_eq!(payload(&model), "two");
    key(&mut model, KeyCode::Up);
    assert_eq!(payload(&model), "one");
    key(&mut model, KeyCode::Up);
    assert_eq!(payload(&model), "one", "the oldest stays");
    key(&mut model, KeyCode::Down);
    assert_eq!(payload(&model), "two");
    key(&mut model, KeyCode::Esc);
    assert!(model.dialog.is_none());
}

#[test]
fn clear_retained_offers_the_topic_alone_when_levels_below_hold_retained_too() {
    use mqscope::tui::dialog::Dialog;
    let mut model = super::plant();
    let mut m = message("plant/state/detail", b"x", 3000);
    m.retain = true;
    feed(&mut model, m);
    select(&mut model, "plant/state");
    key(&mut model, KeyCode::Char('x'));
    let Some(Dialog::ConfirmClean { topics, .. }) = &model.dialog else {
        panic!("{:?}", model.dialog)
    };
    assert_eq!(topics, &["plant/state", "plant/state/detail"]);
    let commands = key(&mut model, KeyCode::Char('t'));
    assert!(
        matches!(&commands[..], [Command::CleanRetained { topics, .. }] if topics == &["plant/state"]),
        "{commands:?}"
    );
}

#[test]
fn pointer_events_select_toggle_focus_and_scroll() {
    use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    use mqscope::tui::model::Pointer;
    let mut model = plant();
    let mut view = View::default();
    let terminal = draw(&mut model, &mut view, 120, 40);
    let rows = super::text(&terminal);
    let site_row = rows.iter().position(|r| r.contains("▶ site")).unwrap();
    let click = |row: usize| MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: 4,
        row: u16::try_from(row).unwrap(),
        modifiers: KeyModifiers::NONE,
    };
    // The view resolves the click to the row's topic; the model selects it.
    let pointer = view.pointer(click(site_row)).unwrap();
    let site = model.store.find("site").unwrap();
    assert_eq!(
        pointer,
        Pointer::Click {
            pane: Pane::Topics,
            row: Some(site)
        }
    );
    update(&mut model, Msg::Pointer(pointer));
    assert_eq!(model.selected(), Some(site));
    // A second click on the selected row opens it.
    update(&mut model, Msg::Pointer(pointer));
    assert!(model.topics.is_open(site));
    // A click elsewhere focuses that pane; the wheel over the log scrolls it, focus stays.
    update(
        &mut model,
        Msg::Pointer(Pointer::Click {
            pane: Pane::Timeline,
            row: None,
        }),
    );
    assert_eq!((model.focus, model.side), (Pane::Timeline, Pane::Timeline));
    update(
        &mut model,
        Msg::Logs(
            (0..5)
                .map(|i| mqscope::logging::LogLine {
                    at: at(i),
                    level: tracing::Level::INFO,
                    target: "test".into(),
                    message: format!("line {i}"),
                })
                .collect(),
            0,
        ),
    );
    update(
        &mut model,
        Msg::Pointer(Pointer::Wheel {
            pane: Pane::Log,
            down: false,
        }),
    );
    assert_eq!(model.log.scroll, 1, "one line up");
    assert_eq!(model.focus, Pane::Timeline);
}

#[test]
fn the_wheel_over_the_tree_scrolls_the_view_and_keeps_the_selection() {
    use crossterm::event::{MouseEvent, MouseEventKind};
    let mut model = plant();
    for i in 0..60 {
        feed(&mut model, message(&format!("many/t{i}"), b"1", 5000 + i));
    }
    let many = model.store.find("many").unwrap();
    model.topics.opened.insert(many);
    model.topics.changed();
    let mut view = View::default();
    let mut terminal = draw(&mut model, &mut view, 100, 30);
    let before = model.selected();
    let offset = view.tree.get_offset();
    let wheel = MouseEvent {
        kind: MouseEventKind::ScrollDown,
        column: 3,
        row: 5,
        modifiers: KeyModifiers::NONE,
    };
    assert_eq!(view.pointer(wheel), None, "the view handles it alone");
    assert_eq!(view.tree.get_offset(), offset + 3);
    redraw(&mut terminal, &mut model, &mut view);
    assert_eq!(
        view.tree.get_offset(),
        offset + 3,
        "a redraw does not snap back"
    );
    let wheel_up = MouseEvent {
        kind: MouseEventKind::ScrollUp,
        ..wheel
    };
    assert_eq!(view.pointer(wheel_up), None);
    assert_eq!(view.tree.get_offset(), offset);
    assert_eq!(model.selected(), before);
}
