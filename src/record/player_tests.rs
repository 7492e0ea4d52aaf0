//! The player's clock, speeds, pause and seeks, on events in memory and real (short) time.

use std::time::Duration;

use bytes::Bytes;

use super::*;
use crate::broker::Message;

fn t(ms: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(1_764_720_000_000 + ms)
}

fn events(times_ms: &[u64]) -> Vec<BrokerEvent> {
    times_ms
        .iter()
        .enumerate()
        .map(|(i, ms)| {
            BrokerEvent::Message(Message {
                topic: format!("été/{i}"),
                payload: Bytes::from(i.to_string()),
                qos: 0,
                retain: false,
                dup: false,
                properties: None,
                received: t(*ms),
                wire_size: 0,
            })
        })
        .collect()
}

fn topic(e: &SourceEvent) -> String {
    match e {
        SourceEvent::Broker(BrokerEvent::Message(m)) => m.topic.clone(),
        SourceEvent::Reset => "RESET".into(),
        SourceEvent::Broker(other) => format!("{other:?}"),
    }
}

async fn next(p: &mut Player) -> String {
    let e = tokio::time::timeout(
        Duration::from_secs(5),
        std::future::poll_fn(|cx| p.poll_event(cx)),
    )
    .await
    .expect("an event in time")
    .expect("not ended");
    topic(&e)
}

fn ready_now(p: &mut Player) -> Vec<String> {
    std::iter::from_fn(|| p.try_event())
        .map(|e| topic(&e))
        .collect()
}

const MAX: Playback = Playback {
    speed: Speed::Max,
    paused: false,
};

#[tokio::test]
async fn at_max_speed_everything_plays_at_once_and_the_clock_follows() {
    let mut p = Player::from_events(events(&[0, 1_000, 60_000]), MAX);
    assert_eq!(ready_now(&mut p), ["été/0", "été/1", "été/2"]);
    let now = Instant::now();
    assert_eq!(p.clock(now), Some(t(60_000)));
    let status = p.playback(now).expect("a recording");
    assert_eq!(
        (status.played, status.loaded, status.start, status.end),
        (3, 3, t(0), t(60_000))
    );
}

#[tokio::test]
async fn at_one_x_events_keep_their_spacing() {
    let mut p = Player::from_events(
        events(&[0, 150, 300]),
        Playback {
            speed: Speed::Times(1.0),
            paused: false,
        },
    );
    let started = Instant::now();
    assert_eq!(next(&mut p).await, "été/0");
    assert!(ready_now(&mut p).is_empty(), "the next one is 150 ms away");
    assert_eq!(next(&mut p).await, "été/1");
    assert_eq!(next(&mut p).await, "été/2");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(290) && took < Duration::from_millis(1500),
        "{took:?}"
    );
    // At the end, the clock stops at the last event.
    assert_eq!(
        p.clock(Instant::now() + Duration::from_secs(60)),
        Some(t(300))
    );
}

#[tokio::test]
async fn ten_x_is_ten_times_faster() {
    let mut p = Player::from_events(
        events(&[0, 2_000]),
        Playback {
            speed: Speed::Times(10.0),
            paused: false,
        },
    );
    let started = Instant::now();
    next(&mut p).await;
    next(&mut p).await;
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(190) && took < Duration::from_secs(1),
        "{took:?}"
    );
}

#[tokio::test]
async fn paused_plays_nothing_until_play() {
    let mut p = Player::from_events(
        events(&[0, 10]),
        Playback {
            speed: Speed::Max,
            paused: true,
        },
    );
    assert!(ready_now(&mut p).is_empty());
    assert_eq!(p.playback(Instant::now()).map(|s| s.paused), Some(true));
    p.control(Control::PlayPause, Instant::now());
    assert_eq!(ready_now(&mut p), ["été/0", "été/1"]);
}

#[tokio::test]
async fn seeking_back_starts_over_and_forward_skips_the_wait() {
    let mut p = Player::from_events(
        events(&[0, 10_000, 20_000, 30_000]),
        Playback {
            speed: Speed::Times(1.0),
            paused: true,
        },
    );
    // Forward while paused: everything up to the target at once, then still paused there.
    p.control(Control::SeekTo(t(20_000)), Instant::now());
    assert_eq!(ready_now(&mut p), ["été/0", "été/1", "été/2"]);
    assert_eq!(p.clock(Instant::now()), Some(t(20_000)));
    // Back 10 s: a reset, then the events up to 10 s.
    p.control(Control::Seek(-15), Instant::now());
    assert_eq!(ready_now(&mut p), ["RESET", "été/0"]);
    assert_eq!(p.clock(Instant::now()), Some(t(5_000)));
    // Past the end: clamped to the last event.
    p.control(Control::Seek(3_600), Instant::now());
    assert_eq!(ready_now(&mut p), ["été/1", "été/2", "été/3"]);
    assert_eq!(p.clock(Instant::now()), Some(t(30_000)));
    // Before the start: clamped to it.
    p.control(
        Control::SeekTo(t(0) - Duration::from_secs(99)),
        Instant::now(),
    );
    assert_eq!(ready_now(&mut p), ["RESET", "été/0"]);
    assert_eq!(p.clock(Instant::now()), Some(t(0)));
}

#[tokio::test]
async fn speed_cycles_one_ten_max() {
    let mut p = Player::from_events(
        events(&[0]),
        Playback {
            speed: Speed::Times(1.0),
            paused: false,
        },
    );
    let speed = |p: &Player| p.playback(Instant::now()).and_then(|s| s.speed);
    p.control(Control::CycleSpeed, Instant::now());
    assert_eq!(speed(&p), Some(10.0));
    p.control(Control::CycleSpeed, Instant::now());
    assert_eq!(speed(&p), None);
    p.control(Control::CycleSpeed, Instant::now());
    assert_eq!(speed(&p), Some(1.0));
}

#[tokio::test]
async fn while_catching_up_the_clock_is_where_the_events_are() {
    let mut p = Player::from_events(
        events(&[0, 10_000, 20_000]),
        Playback {
            speed: Speed::Times(1.0),
            paused: true,
        },
    );
    p.control(Control::SeekTo(t(20_000)), Instant::now());
    assert_eq!(p.clock(Instant::now()), Some(t(0)), "nothing played yet");
    assert!(p.try_event().is_some());
    assert!(p.try_event().is_some());
    assert_eq!(p.clock(Instant::now()), Some(t(10_000)));
    assert_eq!(
        p.playback(Instant::now()).map(|s| (s.position, s.seeking)),
        Some((t(20_000), true))
    );
    assert!(p.try_event().is_some());
    assert!(p.try_event().is_none());
    assert_eq!(p.clock(Instant::now()), Some(t(20_000)));
}
