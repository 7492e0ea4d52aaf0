//! Whole frames with a fixed clock: what a user sees.

use crossterm::event::KeyCode;
use mqscope::tui::view::View;

use super::{draw, key, plant, redraw, screen};

/// Selects a topic and opens it and every level above it.
fn open_path(model: &mut mqscope::tui::model::Model, path: &str) {
    super::select(model, path);
    let id = model.store.find(path).unwrap();
    if !model.store.node(id).children().is_empty() {
        model.topics.opened.insert(id);
    }
}

#[test]
fn json_topic_in_the_inspector() {
    let mut model = plant();
    open_path(&mut model, "plant/line1/temp");
    let mut view = View::default();
    let terminal = draw(&mut model, &mut view, 110, 24);
    insta::assert_snapshot!(screen(&terminal));
}

#[test]
fn mqtt5_properties_and_diff() {
    let mut model = plant();
    open_path(&mut model, "plant/cmd");
    let mut view = View::default();
    let mut terminal = draw(&mut model, &mut view, 110, 24);
    insta::assert_snapshot!("v5_properties", screen(&terminal));
    open_path(&mut model, "plant/line1/temp");
    key(&mut model, KeyCode::Char('d'));
    redraw(&mut terminal, &mut model, &mut view);
    insta::assert_snapshot!("diff", screen(&terminal));
}

#[test]
fn binary_as_hex_and_help_overlay() {
    let mut model = plant();
    open_path(&mut model, "plant/blob");
    let mut view = View::default();
    let mut terminal = draw(&mut model, &mut view, 110, 24);
    insta::assert_snapshot!("hex", screen(&terminal));
    key(&mut model, KeyCode::Char('?'));
    redraw(&mut terminal, &mut model, &mut view);
    insta::assert_snapshot!("help", screen(&terminal));
}

#[test]
fn stacked_at_80x24() {
    let mut model = plant();
    open_path(&mut model, "plant/state");
    let mut view = View::default();
    let terminal = draw(&mut model, &mut view, 80, 24);
    insta::assert_snapshot!(screen(&terminal));
}

/// A session with a drop, refused retries and a recovery, and its packets, at a fixed clock.
#[expect(
    clippy::too_many_lines,
    reason = "a scripted session, read top to bottom"
)]
fn with_history() -> mqscope::tui::model::Model {
    use std::time::{Duration, Instant};

    use mqscope::broker::{
        BrokerEvent, Cause, CauseKind, ConnackInfo, Direction, Lifecycle, LifecycleKind,
        PacketRecord, Protocol, Stage, SubscribeResult,
    };
    use mqscope::tui::model::{Msg, update};

    let mut model = plant();
    let mono = Instant::now();
    let mut life = |ms: u64, attempt: u32, kind: LifecycleKind| {
        update(
            &mut model,
            Msg::Broker(BrokerEvent::Lifecycle(Lifecycle {
                at: super::at(ms),
                mono,
                attempt,
                kind,
            })),
        );
    };
    let stage = |stage, ms: u64, result| LifecycleKind::Stage {
        stage,
        elapsed: Duration::from_micros(ms),
        result,
    };
    let connack = ConnackInfo {
        protocol: Some(Protocol::V5),
        receive_max: Some(20),
        topic_alias_max: Some(10),
        ..ConnackInfo::default()
    };
    let sub = vec![SubscribeResult {
        filter: "#".into(),
        code: 1,
    }];
    let refused = Cause::new(
        CauseKind::TcpRefused,
        "127.0.0.1:1883: Connection refused (os error 111)",
    );
    life(
        0,
        1,
        LifecycleKind::Connecting {
            target: "mqtt://broker.test:1883".into(),
            protocol: Protocol::V5,
        },
    );
    life(1, 1, stage(Stage::Dns, 120, Ok("127.0.0.1".into())));
    life(2, 1, stage(Stage::Tcp, 310, Ok("connected".into())));
    life(3, 1, stage(Stage::Connack, 640, Ok("success".into())));
    life(3, 1, LifecycleKind::Connected(connack.clone()));
    life(4, 1, LifecycleKind::Subscribed(sub.clone()));
    life(
        900,
        1,
        LifecycleKind::Disconnected {
            cause: Cause::new(CauseKind::PeerClosed, "the broker closed the connection"),
            uptime: Duration::from_millis(896),
        },
    );
    life(
        900,
        1,
        LifecycleKind::Backoff {
            delay: Duration::from_millis(250),
        },
    );
    for (n, start, delay) in [(2u32, 1150u64, 500u64), (3, 1650, 1000)] {
        life(
            start,
            n,
            LifecycleKind::Connecting {
                target: "mqtt://broker.test:1883".into(),
                protocol: Protocol::V5,
            },
        );
        life(start, n, stage(Stage::Dns, 90, Ok("127.0.0.1".into())));
        life(start + 1, n, stage(Stage::Tcp, 200, Err(refused.clone())));
        life(
            start + 1,
            n,
            LifecycleKind::Backoff {
                delay: Duration::from_millis(delay),
            },
        );
    }
    life(
        2700,
        4,
        LifecycleKind::Connecting {
            target: "mqtt://broker.test:1883".into(),
            protocol: Protocol::V5,
        },
    );
    life(2700, 4, stage(Stage::Dns, 100, Ok("127.0.0.1".into())));
    life(2701, 4, stage(Stage::Tcp, 280, Ok("connected".into())));
    life(2702, 4, stage(Stage::Connack, 700, Ok("success".into())));
    life(2702, 4, LifecycleKind::Connected(connack));
    life(2703, 4, LifecycleKind::Subscribed(sub));
    let packets = [
        (
            Direction::Out,
            1,
            30,
            None,
            None,
            "protocol=5 client_id=mqscope-test keep_alive=30 clean_start=1",
        ),
        (
            Direction::In,
            2,
            11,
            None,
            None,
            "success session_present=0 [receive_max=20 topic_alias_max=10]",
        ),
        (Direction::Out, 8, 9, Some(1), None, "# qos=1"),
        (Direction::In, 9, 6, Some(1), None, "0x01 granted QoS 1"),
        (
            Direction::In,
            3,
            33,
            Some(7),
            Some("plant/line1/temp"),
            "payload=21B",
        ),
        (Direction::Out, 4, 4, Some(7), None, ""),
        (Direction::Out, 12, 2, None, None, ""),
        (Direction::In, 13, 2, None, None, ""),
    ];
    for (i, (direction, packet_type, size, pkid, topic, detail)) in packets.into_iter().enumerate()
    {
        let offset = u64::try_from(i).unwrap();
        update(
            &mut model,
            Msg::Broker(BrokerEvent::Packet(PacketRecord {
                mono: mono + Duration::from_micros(400 * offset),
                at: super::at(2702 + offset),
                direction,
                packet_type: mqscope::broker::PacketType::from_number(packet_type),
                size,
                pkid,
                topic: topic.map(Into::into),
                qos: u8::from(packet_type == 3),
                retain: false,
                dup: false,
                reason: None,
                detail: detail.into(),
            })),
        );
    }
    update(&mut model, Msg::Tick(super::at(4200)));
    model
}

#[test]
fn four_panes_with_timeline_and_packet_log_at_160x45() {
    let mut model = with_history();
    model.log.tab = mqscope::tui::model::Tab::Packets;
    let mut view = View::default();
    let terminal = draw(&mut model, &mut view, 160, 45);
    insta::assert_snapshot!(screen(&terminal));
}

#[test]
fn timeline_details_of_a_refused_attempt_zoomed() {
    let mut model = with_history();
    model.focus = mqscope::tui::keymap::Pane::Timeline;
    key(&mut model, KeyCode::Char('j'));
    key(&mut model, KeyCode::Enter);
    key(&mut model, KeyCode::Char('z'));
    let mut view = View::default();
    let terminal = draw(&mut model, &mut view, 120, 30);
    insta::assert_snapshot!(screen(&terminal));
}

#[test]
fn publish_dialog_with_properties_and_a_refusal() {
    let mut model = plant();
    open_path(&mut model, "plant/cmd");
    key(&mut model, KeyCode::Char('R'));
    let mut view = View::default();
    let mut terminal = draw(&mut model, &mut view, 120, 34);
    insta::assert_snapshot!("publish_dialog", screen(&terminal));
    // A wildcard in the topic is refused before anything is sent.
    key(&mut model, KeyCode::BackTab);
    for c in "/#".chars() {
        key(&mut model, KeyCode::Char(c));
    }
    let commands = key(&mut model, KeyCode::Enter);
    assert!(commands.is_empty());
    redraw(&mut terminal, &mut model, &mut view);
    let text = screen(&terminal);
    assert!(
        text.contains("plant/cmd/#: a topic to publish to cannot hold the wildcards + or #"),
        "{text}"
    );
}

#[test]
fn subscriptions_and_clear_retained_dialogs() {
    use mqscope::broker::SubscribeResult;
    use mqscope::tui::model::{Msg, update};
    let mut model = plant();
    model.subscriptions.acked(&[
        SubscribeResult {
            filter: "plant/#".into(),
            code: 1,
        },
        SubscribeResult {
            filter: "#".into(),
            code: 0x87,
        },
    ]);
    key(&mut model, KeyCode::Char('s'));
    key(&mut model, KeyCode::Char('a'));
    for c in "site/+/state 1 nl".chars() {
        key(&mut model, KeyCode::Char(c));
    }
    let mut view = View::default();
    let mut terminal = draw(&mut model, &mut view, 120, 30);
    insta::assert_snapshot!("subscriptions_dialog", screen(&terminal));
    key(&mut model, KeyCode::Esc);
    key(&mut model, KeyCode::Esc);
    open_path(&mut model, "plant");
    key(&mut model, KeyCode::Char('x'));
    redraw(&mut terminal, &mut model, &mut view);
    insta::assert_snapshot!("clear_retained_dialog", screen(&terminal));
    // Confirmed: the work leaves as a command, progress shows in the status bar.
    let commands = key(&mut model, KeyCode::Char('y'));
    assert!(
        matches!(&commands[..], [mqscope::tui::model::Command::CleanRetained { topics, .. }] if topics == &["plant/state".to_string()]),
        "{commands:?}"
    );
    update(
        &mut model,
        Msg::Cleaning(mqscope::retained::Progress {
            total: 1,
            cleared: 1,
            failed: Vec::new(),
        }),
    );
    assert_eq!(
        model.notice.as_ref().unwrap().0,
        "cleared 1 of 1 retained messages under plant"
    );
}

#[test]
fn wide_characters_at_small_widths() {
    // CJK and emoji take two columns: rows, previews and the status bar's notice are cut by
    // display width, so nothing spills over a border.
    let mut model = plant();
    for (topic, payload) in [
        (
            "温度/传感器/一号",
            "温度二十一度半，湿度百分之四十五，一切正常",
        ),
        ("🌡️/salle/été", "🌡️🌡️🌡️ très chaud, très très chaud"),
    ] {
        super::feed(&mut model, super::message(topic, payload.as_bytes(), 3000));
    }
    open_path(&mut model, "温度/传感器/一号");
    open_path(&mut model, "🌡️/salle/été");
    mqscope::tui::model::update(
        &mut model,
        mqscope::tui::model::Msg::Notice("copied the topic 温度/传感器/一号/很长很长的名字".into()),
    );
    for (w, h) in [(40, 16), (64, 20)] {
        let mut view = View::default();
        let terminal = draw(&mut model, &mut view, w, h);
        let rows = super::text(&terminal);
        for row in &rows {
            assert!(
                unicode_width::UnicodeWidthStr::width(row.as_str()) <= usize::from(w) * 2,
                "{row}"
            );
        }
        insta::assert_snapshot!(format!("wide_{w}x{h}"), screen(&terminal));
    }
}
