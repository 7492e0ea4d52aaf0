//! Acting on the broker from the explorer, against a real mosquitto: the publish dialog's
//! properties survive the round trip, requests pair with their replies, a retained subtree of
//! 5,000 topics is cleared while the loop keeps answering keys, and refusals are reported.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use mqscope::broker::{
    BrokerEvent, BrokerHandle, BrokerOptions, MessageProperties, PublishOutcome, PublishRequest,
    Subscription,
};
use mqscope::tui::dialog::Dialog;
use mqscope::tui::dialog::publish::PublishForm;
use mqscope::tui::model::{Command, Model, Msg, update};
use mqscope::tui::view::View;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::mpsc;

use super::support::fakes::{Behaviour, Fake};
use super::support::{Mosquitto, seed_retained};

fn opts(url: &str, filters: &[&str]) -> BrokerOptions {
    let mut o = BrokerOptions::new(
        url.parse().unwrap(),
        mqscope::broker::options::random_client_id(),
    );
    o.connect_timeout = Duration::from_secs(2);
    o.subscriptions = filters
        .iter()
        .map(|f| {
            let mut s = Subscription::new(*f, 1);
            s.retain_as_published = true;
            s
        })
        .collect();
    o
}

fn ctrl(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
}

/// Feeds the layer's events into the model until `done` holds (or 10 s pass).
async fn feed_until(
    handle: &mut BrokerHandle,
    model: &mut Model,
    mut done: impl FnMut(&Model) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done(model) {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "timed out; notice: {:?}", model.notice);
        if let Ok(Some(event)) = tokio::time::timeout(left, handle.events.recv()).await {
            update(model, Msg::Broker(event));
        }
    }
}

/// Hands a command to the layer and feeds the model until the status bar says `notice`.
async fn steer_until(
    handle: &mut BrokerHandle,
    model: &mut Model,
    command: mqscope::broker::Command,
    notice: &str,
) {
    handle.commands().send(command).await.unwrap();
    feed_until(handle, model, |m| {
        m.notice.as_ref().is_some_and(|(n, _)| n == notice)
    })
    .await;
}

/// A layer subscribed to `filters` and a model fed until the SUBACK is in.
async fn connected(url: &str, filters: &[&str]) -> (BrokerHandle, Model) {
    let mut handle = BrokerHandle::spawn(opts(url, filters)).unwrap();
    let mut model = Model::new(
        url.to_string(),
        mqscope::store::Limits::default(),
        SystemTime::now(),
    );
    feed_until(&mut handle, &mut model, |m| {
        !m.subscriptions.entries.is_empty()
    })
    .await;
    (handle, model)
}

/// The effects as the explorer wires them, without a doctor or a config file.
pub fn effects(
    commands: mpsc::Sender<mqscope::broker::Command>,
    replies: mpsc::Sender<Msg>,
) -> mqscope::tui::effects::Effects {
    mqscope::tui::effects::Effects {
        commands,
        replies,
        ring: mqscope::logging::LogRing::new(10, tracing::Level::INFO),
        doctor: Some(mqscope::diagnose::Plan {
            opts: opts("mqtt://127.0.0.1:1", &[]),
            filters: Vec::new(),
            round_trip: false,
            acl: Vec::new(),
            capabilities: false,
        }),
        profile: None,
        opened_profile: None,
    }
}

#[tokio::test]
async fn every_publish_property_survives_the_round_trip() {
    let broker = Mosquitto::plain();
    let (mut handle, mut model) = connected(&broker.url(), &["rt/#"]).await;
    let form = PublishForm {
        topic: "rt/cmd".into(),
        payload: "{\"op\":\"start\"}".into(),
        qos: 2,
        retain: true,
        content_type: "application/json".into(),
        payload_format: Some(1),
        expiry: "120".into(),
        response_topic: "rt/reply".into(),
        correlation: "0x00ff10".into(),
        user_properties: "site=north; line=2".into(),
        ..PublishForm::default()
    };
    model.dialog = Some(Dialog::Publish(form));
    let commands = update(&mut model, Msg::Key(ctrl('s')));
    assert!(model.dialog.is_none(), "sent: {:?}", model.dialog);
    let Some(Command::Publish(req)) = commands.last() else {
        panic!("{commands:?}")
    };
    // rt/reply is covered by rt/#: no extra subscription.
    assert_eq!(commands.len(), 1, "{commands:?}");
    let outcome = handle.publish(req.clone()).await;
    assert!(
        matches!(outcome, PublishOutcome::Acked { reason } if reason < 0x80),
        "{outcome:?}"
    );
    update(
        &mut model,
        Msg::Published {
            topic: req.topic.clone(),
            sent: SystemTime::now(),
            outcome,
        },
    );
    let notice = model.notice.clone().unwrap().0;
    assert!(
        notice.starts_with("published to rt/cmd: acknowledged 0x"),
        "{notice}"
    );
    feed_until(&mut handle, &mut model, |m| {
        m.store.find("rt/cmd").is_some()
    })
    .await;
    let node = model.store.node(model.store.find("rt/cmd").unwrap());
    let m = node.history().back().unwrap();
    assert_eq!(&m.payload[..], b"{\"op\":\"start\"}");
    assert!(m.retain, "retain as published");
    assert_eq!(m.qos, 1, "granted QoS 1 by the subscription");
    let p = m.properties.as_deref().unwrap();
    assert_eq!(
        p,
        &MessageProperties {
            payload_format: Some(1),
            message_expiry: p.message_expiry,
            topic_alias: None,
            content_type: Some("application/json".into()),
            response_topic: Some("rt/reply".into()),
            correlation_data: Some(Bytes::from_static(&[0x00, 0xff, 0x10])),
            user_properties: vec![("site".into(), "north".into()), ("line".into(), "2".into())],
            subscription_ids: Vec::new(),
        }
    );
    assert!(matches!(p.message_expiry, Some(118..=120)), "{p:?}");
    let expiry = p.message_expiry.unwrap().to_string();
    // Republish opens the dialog with all of it.
    super::select(&mut model, "rt/cmd");
    update(&mut model, Msg::Key(KeyEvent::from(KeyCode::Char('R'))));
    let Some(Dialog::Publish(again)) = &model.dialog else {
        panic!("republish opens the form")
    };
    assert_eq!(
        (
            again.topic.as_str(),
            again.correlation.as_str(),
            again.expiry.as_str()
        ),
        ("rt/cmd", "0x00ff10", expiry.as_str())
    );
    assert_eq!(again.user_properties, "site=north; line=2");
    handle.shutdown().await;
}

#[tokio::test]
async fn a_request_from_the_dialog_is_paired_with_its_reply() {
    let broker = Mosquitto::plain();
    // A responder: answers every request on svc/req/+ at its response topic.
    let mut responder = BrokerHandle::spawn(opts(&broker.url(), &["svc/req/+"])).unwrap();
    let answering = tokio::spawn(async move {
        while let Some(event) = responder.events.recv().await {
            let BrokerEvent::Message(m) = event else {
                continue;
            };
            let p = m.properties.unwrap();
            let reply = PublishRequest {
                topic: p.response_topic.unwrap(),
                payload: Bytes::from_static(b"pong"),
                qos: 1,
                retain: false,
                properties: Some(MessageProperties {
                    correlation_data: p.correlation_data,
                    ..MessageProperties::default()
                }),
            };
            responder.publish(reply).await;
        }
    });
    let (mut handle, mut model) = connected(&broker.url(), &["svc/req/#"]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    model.dialog = Some(Dialog::Publish(PublishForm {
        topic: "svc/req/ping".into(),
        payload: "ping".into(),
        qos: 1,
        response_topic: "svc/reply/me".into(),
        correlation: "req-1".into(),
        ..PublishForm::default()
    }));
    let commands = update(&mut model, Msg::Key(ctrl('s')));
    // The reply topic is outside every filter: the dialog subscribes to it first.
    assert!(
        matches!(&commands[0], Command::Subscribe(s) if s[0].filter == "svc/reply/me"),
        "{commands:?}"
    );
    let mqscope::tui::model::Command::Subscribe(subs) = &commands[0] else {
        unreachable!()
    };
    steer_until(
        &mut handle,
        &mut model,
        mqscope::broker::Command::Subscribe(subs.clone()),
        "subscribed to svc/reply/me (QoS 0)",
    )
    .await;
    let Command::Publish(req) = &commands[1] else {
        panic!("{commands:?}")
    };
    handle.publish(req.clone()).await;
    feed_until(&mut handle, &mut model, |m| {
        m.notice
            .as_ref()
            .is_some_and(|(n, _)| n.starts_with("reply on svc/reply/me after"))
    })
    .await;
    // Both sides are linked, with the latency.
    let req_node = model.store.node(model.store.find("svc/req/ping").unwrap());
    let reply_node = model.store.node(model.store.find("svc/reply/me").unwrap());
    let req_seq = req_node.history().back().unwrap().seq;
    let reply_seq = reply_node.history().back().unwrap().seq;
    let link = model.requests.link_of(reply_seq).unwrap();
    assert!(link.is_reply && link.topic == "svc/req/ping");
    assert!(link.latency < Duration::from_secs(5));
    assert_eq!(
        model.requests.link_of(req_seq).unwrap().seq,
        Some(reply_seq)
    );
    // The inspector says so.
    super::select(&mut model, "svc/reply/me");
    let mut view = View::default();
    let terminal = super::draw(&mut model, &mut view, 160, 45);
    let screen = super::screen(&terminal);
    assert!(
        screen.contains("↩ reply to the request on svc/req/ping after"),
        "{screen}"
    );
    answering.abort();
    handle.shutdown().await;
}

#[tokio::test]
async fn a_refused_subscription_is_said_in_plain_words() {
    let fake = Fake::start(Behaviour::DenySubscribeV5).await;
    let (handle, mut model) = connected(&fake.url(), &["#"]).await;
    let notice = model.notice.clone().unwrap().0;
    assert!(
        notice.contains("the broker refused the subscription # (0x87 not authorized)")
            && notice.contains("try a narrower one"),
        "{notice}"
    );
    let attempt = model.timeline.current().unwrap();
    assert_eq!(
        attempt.subscribed[0].code, 0x87,
        "the timeline keeps the refusal"
    );
    model.focus = mqscope::tui::keymap::Pane::Timeline;
    model.zoom = true;
    let mut view = View::default();
    let terminal = super::draw(&mut model, &mut view, 160, 45);
    model.zoom = false;
    model.focus = mqscope::tui::keymap::Pane::Topics;
    let screen = super::screen(&terminal);
    assert!(
        screen.contains("subscribed 0/1: # refused (not authorized)"),
        "the timeline row says it: {screen}"
    );
    // The subscriptions dialog shows it, and removing it asks nothing of the broker.
    update(&mut model, Msg::Key(KeyEvent::from(KeyCode::Char('s'))));
    let mut view = View::default();
    let terminal = super::draw(&mut model, &mut view, 120, 30);
    let screen = super::screen(&terminal);
    assert!(screen.contains("REFUSED 0x87 not authorized"), "{screen}");
    let commands = update(&mut model, Msg::Key(KeyEvent::from(KeyCode::Char('d'))));
    assert!(commands.is_empty() && model.subscriptions.entries.is_empty());
    handle.shutdown().await;
}

#[tokio::test]
async fn live_subscribe_and_unsubscribe_change_what_arrives_without_reconnecting() {
    let broker = Mosquitto::plain();
    let publisher = BrokerHandle::spawn(opts(&broker.url(), &[])).unwrap();
    let (mut handle, mut model) = connected(&broker.url(), &["a/#"]).await;
    update(&mut model, Msg::Key(KeyEvent::from(KeyCode::Char('s'))));
    update(&mut model, Msg::Key(KeyEvent::from(KeyCode::Char('a'))));
    for c in "b/# 1 nl rh=2".chars() {
        update(&mut model, Msg::Key(KeyEvent::from(KeyCode::Char(c))));
    }
    let commands = update(&mut model, Msg::Key(KeyEvent::from(KeyCode::Enter)));
    let [Command::Subscribe(subs)] = commands.as_slice() else {
        panic!("{commands:?}")
    };
    assert!(subs[0].no_local && subs[0].retain_handling == 2 && subs[0].qos == 1);
    steer_until(
        &mut handle,
        &mut model,
        mqscope::broker::Command::Subscribe(subs.clone()),
        "subscribed to b/# (QoS 1)",
    )
    .await;
    let send = |topic: &str| PublishRequest {
        topic: topic.into(),
        payload: Bytes::from_static(b"x"),
        qos: 1,
        retain: false,
        properties: None,
    };
    publisher.publish(send("b/1")).await;
    feed_until(&mut handle, &mut model, |m| m.store.find("b/1").is_some()).await;
    // Remove a/# from the dialog (first entry).
    update(&mut model, Msg::Key(KeyEvent::from(KeyCode::Home)));
    update(&mut model, Msg::Key(KeyEvent::from(KeyCode::Up)));
    let commands = update(&mut model, Msg::Key(KeyEvent::from(KeyCode::Char('d'))));
    assert_eq!(commands, vec![Command::Unsubscribe(vec!["a/#".into()])]);
    steer_until(
        &mut handle,
        &mut model,
        mqscope::broker::Command::Unsubscribe(vec!["a/#".into()]),
        "unsubscribed from a/#",
    )
    .await;
    publisher.publish(send("a/1")).await;
    publisher.publish(send("b/2")).await;
    feed_until(&mut handle, &mut model, |m| m.store.find("b/2").is_some()).await;
    assert!(model.store.find("a/1").is_none(), "a/# is gone");
    assert_eq!(model.timeline.current().unwrap().number, 1, "no reconnect");
    assert_eq!(model.subscriptions.entries.len(), 1);
    handle.shutdown().await;
    publisher.shutdown().await;
}

/// 5,000 retained topics cleared through the real loop and its effects, while keys keep
/// being answered: the clearing runs in its own task, never in the update step.
#[expect(
    clippy::too_many_lines,
    reason = "one scripted session, read top to bottom"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retained_subtree_of_5000_topics_is_cleared_while_keys_keep_working() {
    let broker = Mosquitto::plain();
    let topics: Vec<String> = (0..5000).map(|i| format!("fleet/d{i}/cfg")).collect();
    seed_retained(&broker.url(), &topics).await;
    seed_retained(&broker.url(), &["keep/me".to_string()]).await;

    let mut handle = BrokerHandle::spawn(opts(&broker.url(), &["#"])).unwrap();
    let (replies_tx, mut replies_rx) = mpsc::channel(256);
    let (forward_tx, mut forward_rx) = mpsc::channel(256);
    let finished = Arc::new(Mutex::new(None::<(Instant, mqscope::retained::Progress)>));
    let seen = finished.clone();
    // Between the effects and the loop: note when the final count arrives.
    tokio::spawn(async move {
        while let Some(msg) = replies_rx.recv().await {
            if let Msg::Cleaning(p) = &msg {
                if p.finished() {
                    *seen.lock().unwrap() = Some((Instant::now(), p.clone()));
                }
            }
            if forward_tx.send(msg).await.is_err() {
                return;
            }
        }
    });
    let effects = effects(handle.commands(), replies_tx);
    let (input_tx, input) = super::scripted_input();
    let key = |c: char| Ok(Event::Key(KeyEvent::from(KeyCode::Char(c))));
    let copies = Arc::new(Mutex::new(Vec::<Instant>::new()));
    let started = Arc::new(Mutex::new(None::<Instant>));
    let recorder = copies.clone();
    let sent = Arc::new(Mutex::new(Vec::<Instant>::new()));
    let sent_log = sent.clone();
    let script = async {
        // The tree folds to its first level: fleet, keep. Select fleet.
        tokio::time::sleep(Duration::from_millis(2500)).await;
        input_tx
            .send(Ok(Event::Key(KeyEvent::from(KeyCode::Home))))
            .unwrap();
        input_tx.send(key('x')).unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        input_tx.send(key('y')).unwrap();
        *started.lock().unwrap() = Some(Instant::now());
        // Keys during the clearing: each asks for a copy, which the loop hands to effects.
        for _ in 0..40 {
            tokio::time::sleep(Duration::from_millis(10)).await;
            sent_log.lock().unwrap().push(Instant::now());
            input_tx.send(key('Y')).unwrap();
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while finished.lock().unwrap().is_none() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        input_tx.send(key('q')).unwrap();
    };
    let mut terminal = Terminal::new(TestBackend::new(160, 45)).unwrap();
    let mut model = Model::new(
        broker.url(),
        mqscope::store::Limits::default(),
        SystemTime::now(),
    );
    let mut view = View::default();
    let run = mqscope::tui::app::run(
        &mut terminal,
        &mut model,
        &mut view,
        input,
        mqscope::tui::app::Sources {
            events: (&mut handle.events).into(),
            logs: None,
            replies: Some(&mut forward_rx),
            signals: None,
        },
        |command| {
            if matches!(command, Command::Copy(_)) {
                recorder.lock().unwrap().push(Instant::now());
            } else {
                effects.run(command);
            }
        },
    );
    let (result, ()) = tokio::join!(run, script);
    result.unwrap();
    let (done, progress) = finished
        .lock()
        .unwrap()
        .clone()
        .expect("the clearing finished");
    let started = started.lock().unwrap().unwrap();
    #[expect(clippy::print_stdout, reason = "the figure for the closing note")]
    {
        println!(
            "cleared {} retained topics in {} ms",
            progress.cleared,
            done.duration_since(started).as_millis()
        );
    }
    assert_eq!((progress.cleared, progress.total), (5000, 5000));
    assert!(progress.failed.is_empty(), "{:?}", progress.failed);
    let copies = copies.lock().unwrap().clone();
    assert_eq!(copies.len(), 40, "every key was answered");
    // Every key sent well before the clearing ended was answered before it ended: keys are
    // not queued behind the deletions (how many that is depends on how fast the broker is).
    let sent = sent.lock().unwrap().clone();
    let due = sent
        .iter()
        .filter(|t| **t + Duration::from_millis(50) < done)
        .count();
    let during = copies.iter().filter(|t| **t < done).count();
    assert!(
        during >= due,
        "{due} keys were sent well before the clearing ended, {during} answered before it"
    );
    assert!(model.cleaning.is_none(), "the status bar's progress ended");
    let left = model
        .store
        .ids()
        .filter(|id| model.store.node(*id).retained())
        .map(|id| model.store.node(id).path().to_string())
        .collect::<Vec<_>>();
    assert_eq!(left, vec!["keep/me".to_string()]);
    handle.shutdown().await;
}

#[tokio::test]
async fn a_saved_payload_keeps_every_byte_and_the_json_copy_is_whole() {
    let dir = super::support::TempDir::new("save");
    let path = dir.path().join("blob.bin");
    let payload: Vec<u8> = (0..=255u8).chain([0, 0xff, b'\n', b'\r']).collect();
    let mut model = Model::new(
        "x".into(),
        mqscope::store::Limits::default(),
        SystemTime::now(),
    );
    update(
        &mut model,
        Msg::Broker(BrokerEvent::Message(super::message(
            "dev/blob", &payload, 5,
        ))),
    );
    super::select(&mut model, "dev/blob");
    update(&mut model, Msg::Key(KeyEvent::from(KeyCode::Char('w'))));
    let Some(Dialog::Save {
        path: suggested, ..
    }) = &model.dialog
    else {
        panic!("w asks where")
    };
    assert_eq!(suggested, "blob.payload");
    update(&mut model, Msg::Key(ctrl('u')));
    for c in path.display().to_string().chars() {
        update(&mut model, Msg::Key(KeyEvent::from(KeyCode::Char(c))));
    }
    let commands = update(&mut model, Msg::Key(KeyEvent::from(KeyCode::Enter)));
    let (commands_tx, _commands_rx) = mpsc::channel(1);
    let (replies_tx, mut replies) = mpsc::channel(4);
    let effects = effects(commands_tx, replies_tx);
    effects.run(&commands[0]);
    let reply = tokio::time::timeout(Duration::from_secs(5), replies.recv())
        .await
        .unwrap()
        .unwrap();
    let Msg::Notice(text) = reply else {
        panic!("{reply:?}")
    };
    assert_eq!(text, format!("saved 260 bytes to {}", path.display()));
    assert_eq!(std::fs::read(&path).unwrap(), payload);
    // The whole message as JSON, as `sub --json` prints it.
    let commands = update(&mut model, Msg::Key(KeyEvent::from(KeyCode::Char('J'))));
    let [Command::Copy(json)] = commands.as_slice() else {
        panic!("{commands:?}")
    };
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(v["topic"], "dev/blob");
    assert_eq!(v["size"], 260);
    assert!(
        v["payload_b64"]
            .as_str()
            .is_some_and(|b| b.ends_with("/wD/Cg0=")),
        "{v}"
    );
}
