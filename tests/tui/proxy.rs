//! The proxy's screen: a scripted session (a client dropped, refused while the broker is
//! down, back; a second client with a will and a hostile id) drawn at fixed sizes.

use std::time::{Duration, Instant, SystemTime};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use mqscope::broker::event::{Direction, PacketRecord};
use mqscope::broker::options::Protocol;
use mqscope::broker::wire::PacketType;
use mqscope::proxy::faults::Fault;
use mqscope::proxy::hello::{Hello, Will};
use mqscope::proxy::{Closing, Counters, End, EventKind, ProxyEvent};
use mqscope::tui::proxy::model::{Knobs, Msg, ProxyModel};
use mqscope::tui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::{at, screen};

struct Session {
    model: ProxyModel,
    base: Instant,
}

impl Session {
    fn event(&mut self, conn: u64, ms: u64, kind: EventKind) {
        self.model.update(Msg::Event(ProxyEvent {
            conn,
            mono: self.base + Duration::from_millis(ms),
            at: at(ms),
            kind,
        }));
    }

    fn packet(
        &mut self,
        conn: u64,
        ms: u64,
        dir: Direction,
        ty: PacketType,
        size: usize,
        detail: &str,
    ) {
        let mut r = PacketRecord::new(dir, ty, size);
        r.at = at(ms);
        r.detail = detail.into();
        if ty == PacketType::Publish {
            r.topic = Some("温度/室内".into());
            r.qos = 1;
            r.pkid = Some(7);
        }
        self.event(conn, ms, EventKind::Packet(r));
    }

    fn draw(&self, width: u16, height: u16, ms: u64) -> Terminal<TestBackend> {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        let now = self.base + Duration::from_millis(ms);
        terminal
            .draw(|f| mqscope::tui::proxy::view::render(&self.model, &Theme::plain(), now, f))
            .unwrap();
        terminal
    }
}

fn hello(id: &str, protocol: Protocol, will: Option<Will>) -> Hello {
    Hello {
        client_id: id.into(),
        protocol,
        clean_start: true,
        keep_alive: 30,
        session_expiry: None,
        will,
        username: true,
        password: true,
    }
}

fn closing(end: End, secs: u64) -> EventKind {
    EventKind::Closed(Closing {
        end,
        up_for: Duration::from_secs(secs),
        unacked: vec![],
        counters: Counters {
            msgs_up: 3,
            bytes_up: 300,
            longest_silence: Duration::from_secs(12),
            ..Counters::default()
        },
    })
}

fn accepted(s: &mut Session, conn: u64, ms: u64) {
    s.event(
        conn,
        ms,
        EventKind::Accepted {
            peer: "127.0.0.1:40000".parse().unwrap(),
            down: false,
        },
    );
}

/// A sensor dropped at 20 s, refused four times while the broker is down, then back.
#[expect(clippy::too_many_lines, reason = "one scripted session, in time order")]
fn session() -> Session {
    let mut s = Session {
        model: ProxyModel::new(
            "127.0.0.1:1884".into(),
            "mqtt://broker.local:1883".into(),
            Knobs::default(),
        ),
        base: Instant::now(),
    };
    let sensor = "sensor-温度";
    accepted(&mut s, 1, 0);
    s.event(
        1,
        0,
        EventKind::Connect(hello(sensor, Protocol::V311, None)),
    );
    s.packet(
        1,
        0,
        Direction::Out,
        PacketType::Connect,
        27,
        "client_id=sensor-温度",
    );
    s.event(
        1,
        2,
        EventKind::Connack {
            code: 0,
            session_present: false,
        },
    );
    s.packet(
        1,
        2,
        Direction::In,
        PacketType::Connack,
        4,
        "accepted session_present=0",
    );
    s.event(
        1,
        3,
        EventKind::Subscribe {
            pkid: 1,
            filters: vec![("温度/#".into(), 1)],
        },
    );
    s.event(
        1,
        4,
        EventKind::Suback {
            pkid: 1,
            codes: vec![1],
        },
    );
    s.packet(
        1,
        5_000,
        Direction::Out,
        PacketType::Publish,
        26,
        "payload=8B",
    );
    s.packet(1, 5_001, Direction::In, PacketType::Puback, 4, "");
    s.event(
        0,
        20_000,
        EventKind::Fault(Fault::DropAll {
            connections: 2,
            scheduled: true,
        }),
    );
    s.event(
        0,
        20_000,
        EventKind::Fault(Fault::BrokerDown {
            for_: Some(Duration::from_secs(5)),
        }),
    );
    s.event(1, 20_000, closing(End::Dropped, 20));
    let mut t = 20_000;
    for conn in 2..=5 {
        t += 1_000;
        accepted(&mut s, conn, t);
        s.event(
            conn,
            t,
            EventKind::Connect(hello(sensor, Protocol::V311, None)),
        );
        s.event(conn, t, closing(End::BrokerDown, 0));
    }
    s.event(0, 25_000, EventKind::Fault(Fault::BrokerUp));
    accepted(&mut s, 5, 25_010);
    s.event(
        5,
        25_010,
        EventKind::Connect(hello(sensor, Protocol::V311, None)),
    );
    s.event(
        5,
        25_012,
        EventKind::Connack {
            code: 0,
            session_present: false,
        },
    );

    // A gateway with a will, whose id carries an escape sequence.
    let will = Will {
        topic: "gw/状态".into(),
        qos: 1,
        retain: true,
        delay: Some(10),
    };
    accepted(&mut s, 6, 1_000);
    s.event(
        6,
        1_000,
        EventKind::Connect(hello("gw-🚀\u{1b}[31m", Protocol::V5, Some(will))),
    );
    s.event(
        6,
        1_002,
        EventKind::Connack {
            code: 0x87,
            session_present: false,
        },
    );
    s.event(6, 1_003, closing(End::BrokerClosed(None), 0));
    s
}

#[test]
fn a_dropped_client_at_160x45() {
    let s = session();
    let terminal = s.draw(160, 45, 26_000);
    let text = screen(&terminal);
    assert!(!text.contains('\u{1b}'), "the escape reached the screen");
    insta::assert_snapshot!(text);
}

#[test]
fn a_dropped_client_at_100x30_with_help() {
    let mut s = session();
    s.model.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('?'),
        KeyModifiers::NONE,
    )));
    insta::assert_snapshot!(screen(&s.draw(100, 30, 26_000)));
}

#[test]
fn the_second_client_after_a_key() {
    let mut s = session();
    s.model
        .update(Msg::Key(KeyEvent::new(KeyCode::Up, KeyModifiers::NONE)));
    let text = screen(&s.draw(160, 34, 26_000));
    assert!(text.contains("verdict: gw-"), "{text}");
    assert!(text.contains("q1 retained delay 10s"), "{text}");
    assert!(text.contains("password sent (hidden)"), "{text}");
}

#[test]
fn tiny_and_empty_screens_do_not_panic() {
    let s = session();
    for (w, h) in [(0, 0), (1, 1), (20, 6), (40, 10), (80, 24)] {
        let _ = s.draw(w, h, 26_000);
    }
    let empty = Session {
        model: ProxyModel::new("127.0.0.1:1884".into(), "mqtt://b".into(), Knobs::default()),
        base: Instant::now(),
    };
    let text = screen(&empty.draw(100, 20, 0));
    assert!(
        text.contains("waiting for clients on 127.0.0.1:1884"),
        "{text}"
    );
    let _ = SystemTime::now();
}
