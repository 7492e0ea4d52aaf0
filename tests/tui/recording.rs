//! Recordings in the explorer: a recording played through the real loop (tree, timeline and
//! the playback position in the status bar), seeking back and to a typed time, `W` recording
//! a live mosquitto session, `E` exporting history, and the keys a recording refuses.

use std::time::{Duration, Instant, SystemTime};

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use mqscope::broker::{BrokerEvent, ConnackInfo, Lifecycle, LifecycleKind, Protocol, Stage};
use mqscope::record::{Playback, Player, Speed};
use mqscope::source::Sources;
use mqscope::tui::model::{Command, Model, Msg, update};
use mqscope::tui::view::View;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::{at, message, screen, t0};

fn life(ms: u64, kind: LifecycleKind) -> BrokerEvent {
    BrokerEvent::Lifecycle(Lifecycle {
        at: at(ms),
        mono: Instant::now(),
        attempt: 1,
        kind,
    })
}

/// A session as a recording holds it: a connection, then a minute of plant traffic on
/// non-ASCII topics, a drop and a reconnect.
fn session() -> Vec<BrokerEvent> {
    let mut out = vec![
        life(
            0,
            LifecycleKind::Connecting {
                target: "mqtt://plant.example:1883".into(),
                protocol: Protocol::V5,
            },
        ),
        life(
            3,
            LifecycleKind::Stage {
                stage: Stage::Tcp,
                elapsed: Duration::from_millis(3),
                result: Ok("connected".into()),
            },
        ),
        life(
            5,
            LifecycleKind::Connected(ConnackInfo {
                protocol: Some(Protocol::V5),
                ..ConnackInfo::default()
            }),
        ),
    ];
    for s in 0..60u64 {
        let payload = format!("{{\"t\":{}.5,\"seq\":{s}}}", 20 + s % 3);
        out.push(BrokerEvent::Message(message(
            "usine/温度/室1",
            payload.as_bytes(),
            1000 + s * 1000,
        )));
        if s % 10 == 0 {
            out.push(BrokerEvent::Message(message(
                "été/état",
                b"ok",
                1500 + s * 1000,
            )));
        }
    }
    out
}

use super::typed as key;

/// Runs the loop over a player, sending `keys` (with a pause after each), then `q`.
async fn play(player: &mut Player, keys: &[&str], width: u16, height: u16) -> (Model, String) {
    let (input_tx, input) = super::scripted_input();
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    let mut model = Model::new(
        "plant.jsonl.zst ▸ mqtt://plant.example:1883".into(),
        mqscope::store::Limits::default(),
        t0(),
    );
    model.playback = mqscope::source::EventSource::playback(&*player, Instant::now());
    let mut view = View::default();
    let script = async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        for k in keys {
            for c in k.chars() {
                let event = match c {
                    '\n' => Ok(Event::Key(KeyEvent::new(
                        KeyCode::Enter,
                        KeyModifiers::NONE,
                    ))),
                    '\u{15}' => Ok(Event::Key(KeyEvent::new(
                        KeyCode::Char('u'),
                        KeyModifiers::CONTROL,
                    ))),
                    c => Ok(key(c)),
                };
                input_tx.send(event).unwrap();
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        // Esc closes a dialog left open, so q quits.
        input_tx
            .send(Ok(Event::Key(KeyEvent::new(
                KeyCode::Esc,
                KeyModifiers::NONE,
            ))))
            .unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        input_tx.send(Ok(key('q'))).unwrap();
    };
    super::run_loop(
        &mut terminal,
        &mut model,
        &mut view,
        input,
        Sources::new(vec![Box::new(&mut *player)]),
        script,
    )
    .await;
    (model, screen(&terminal))
}

const MAX: Playback = Playback {
    speed: Speed::Max,
    paused: false,
};

#[tokio::test]
async fn a_recording_plays_to_its_end_with_tree_timeline_and_position() {
    let mut player = Player::from_events(session(), MAX);
    let (model, screen) = play(&mut player, &["e"], 160, 45).await;
    assert_eq!(model.store.total_messages, 66);
    assert!(model.timeline.is_up());
    insta::assert_snapshot!("recording_played_to_the_end", screen);
}

#[tokio::test]
async fn seeking_back_rebuilds_the_state_at_that_moment_and_keeps_the_selection() {
    let mut player = Player::from_events(session(), MAX);
    // Select the first topic, go back 10 s, then to 10 s after the start (typed).
    let (model, screen) = play(&mut player, &["lj", "p", "<"], 140, 30).await;
    assert_eq!(
        model.store.total_messages,
        66 - 11,
        "the last 10 s are not played yet"
    );
    let selected = model
        .selected()
        .map(|id| model.store.node(id).path().to_string());
    assert_eq!(selected.as_deref(), Some("usine/温度"), "{screen}");
    assert!(screen.contains("⏸ paused 08:00:50"), "{screen}");

    let mut player = Player::from_events(session(), MAX);
    let (model, screen) = play(&mut player, &["p", ":", "\u{15}+10s\n"], 140, 30).await;
    assert_eq!(model.store.total_messages, 10 + 1, "{screen}");
    assert!(screen.contains("⏸ paused 08:00:10"), "{screen}");
    let (model, screen) = play(&mut player, &[":", "\u{15}25:00\n"], 140, 30).await;
    assert!(screen.contains("`25:00`: a time as HH:MM:SS"), "{screen}");
    assert!(
        screen.contains("⏸ paused 08:00:10"),
        "a bad time moves nothing: {screen}"
    );
    assert!(model.dialog.is_none(), "Esc closed it");
}

#[test]
fn typed_times_read_as_clock_offset_or_rfc3339() {
    use mqscope::tui::model::parse_seek;
    let start = t0() + Duration::from_millis(1500);
    assert_eq!(
        parse_seek("+90s", start),
        Ok(start + Duration::from_secs(90))
    );
    assert_eq!(parse_seek("08:01:00", start), Ok(at(60_000)));
    assert_eq!(parse_seek("08:01", start), Ok(at(60_000)));
    assert_eq!(parse_seek("2027-01-15T08:00:30Z", start), Ok(at(30_000)));
    // Before the start on its day: the next day (a recording past midnight).
    assert_eq!(parse_seek("07:00", start), Ok(at(23 * 3_600_000)));
    for bad in ["", "8", "24:00", "08:61", "08:00:60", "+forever", "soon"] {
        assert!(parse_seek(bad, start).is_err(), "{bad}");
    }
}

#[test]
fn a_recording_refuses_what_needs_a_broker_and_p_pauses_playback() {
    let mut model = super::plant();
    model.playback = mqscope::source::EventSource::playback(
        &Player::from_events(session(), MAX),
        Instant::now(),
    );
    for c in ['P', 'D', 'r', 'c', 's', 'W'] {
        let commands = super::key(&mut model, KeyCode::Char(c));
        assert!(commands.is_empty(), "{c}: {commands:?}");
        assert!(
            model
                .notice
                .as_ref()
                .is_some_and(|(n, _)| n.contains("a recording is open")),
            "{c}"
        );
    }
    assert_eq!(
        super::key(&mut model, KeyCode::Char('p')),
        [Command::Playback(mqscope::source::Control::PlayPause)]
    );
    assert_eq!(
        super::key(&mut model, KeyCode::Char('<')),
        [Command::Playback(mqscope::source::Control::Seek(-10))]
    );
    assert_eq!(
        super::key(&mut model, KeyCode::Char('f')),
        [Command::Playback(mqscope::source::Control::CycleSpeed)]
    );
}

#[test]
fn w_records_into_the_state_directory_and_e_exports_history_as_csv() {
    let mut model = super::plant();
    model.record_dir = Some("/state/recordings".into());
    let commands = super::key(&mut model, KeyCode::Char('W'));
    let [Command::StartRecording { path, header }] = commands.as_slice() else {
        panic!("{commands:?}")
    };
    assert!(path.starts_with("/state/recordings"), "{}", path.display());
    assert!(path.to_string_lossy().ends_with(".jsonl.zst"));
    assert_eq!(header.broker, "mqtt://broker.test:1883");
    update(
        &mut model,
        Msg::Recording(Some(mqscope::tui::model::RecordingStatus {
            path: path.display().to_string(),
            messages: 1234,
            dropped: 0,
            failure: None,
        })),
    );
    let mut view = View::default();
    let terminal = super::draw(&mut model, &mut view, 160, 10);
    assert!(super::screen(&terminal).contains("● REC 1,234 (W)"));
    assert_eq!(
        super::key(&mut model, KeyCode::Char('W')),
        [Command::StopRecording]
    );
    // A failed disk: said once, in the status bar.
    update(
        &mut model,
        Msg::Recording(Some(mqscope::tui::model::RecordingStatus {
            path: "x".into(),
            messages: 1,
            dropped: 0,
            failure: Some("cannot write x: No space left on device; recording stopped".into()),
        })),
    );
    assert!(
        model
            .notice
            .as_ref()
            .is_some_and(|(n, _)| n.contains("No space left"))
    );

    super::select(&mut model, "plant/line1/temp");
    super::key(&mut model, KeyCode::Char('E'));
    let Some(mqscope::tui::dialog::Dialog::Save { path, bytes }) = &model.dialog else {
        panic!("{:?}", model.dialog)
    };
    assert_eq!(path, "plant_line1_temp.csv");
    let mut csv = csv::Reader::from_reader(bytes.as_ref());
    let rows: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(&rows[1][5], r#"{"t":22.0,"unit":"C","ok":true}"#);
}

/// `W` on a live mosquitto session: the file holds the session's messages, its connection
/// events and its packets, and opens as a recording.
#[tokio::test]
async fn w_records_a_live_session_that_opens_again() {
    let broker = super::support::Mosquitto::plain();
    let dir = super::support::TempDir::new("tui-record");
    let mut opts = mqscope::broker::BrokerOptions::new(broker.url().parse().unwrap(), "w-test");
    opts.subscriptions = vec![mqscope::broker::Subscription::new("#", 1)];
    opts.packet_log = true;
    let mut handle = mqscope::broker::BrokerHandle::spawn(opts).unwrap();
    let (input_tx, input) = super::scripted_input();
    let mut terminal = Terminal::new(TestBackend::new(140, 30)).unwrap();
    let mut model = Model::new(
        broker.url(),
        mqscope::store::Limits::default(),
        SystemTime::now(),
    );
    model.record_dir = Some(dir.path().join("recordings"));
    let mut view = View::default();
    let url = broker.url();
    let script = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        input_tx.send(Ok(key('W'))).unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let topics: Vec<String> = (0..20).map(|i| format!("温度/w/{i}")).collect();
        super::support::seed_retained(&url, &topics).await;
        tokio::time::sleep(Duration::from_millis(700)).await;
        input_tx.send(Ok(key('W'))).unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        input_tx.send(Ok(key('q'))).unwrap();
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
    handle.shutdown().await;
    assert!(
        model
            .notice
            .as_ref()
            .is_some_and(|(n, _)| n.starts_with("recording stopped: 20 messages")),
        "{:?}",
        model.notice
    );
    let files: Vec<_> = std::fs::read_dir(dir.path().join("recordings"))
        .unwrap()
        .collect();
    assert_eq!(files.len(), 1);
    let path = files[0].as_ref().unwrap().path();
    let mut reader = mqscope::record::Reader::open(&path).unwrap();
    let mut events = Vec::new();
    while let Some(e) = reader.next_events() {
        events.extend(e);
    }
    assert!(reader.problem.is_none(), "{:?}", reader.problem);
    let messages: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            BrokerEvent::Message(m) => Some(m.topic.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        messages,
        (0..20).map(|i| format!("温度/w/{i}")).collect::<Vec<_>>()
    );
    assert!(
        events.iter().any(|e| matches!(e, BrokerEvent::Packet(_))),
        "packets recorded"
    );
    assert!(reader.header.unwrap().packets);
    // Begun mid-session, the recording still opens on a link that is up.
    let first = events
        .iter()
        .position(|e| matches!(e, BrokerEvent::Message(_)))
        .unwrap();
    assert!(
        events[..first].iter().any(|e| matches!(
            e,
            BrokerEvent::Lifecycle(l) if matches!(l.kind, LifecycleKind::Connected(_))
        )),
        "the link as it was when W was pressed"
    );
}
