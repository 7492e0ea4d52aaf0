//! Each detector on a simulated clock: messages and ticks at chosen times, no sleeping.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, SystemTime};

use bytes::Bytes;

use super::*;
use crate::broker::Message;
use crate::store::Limits;

const T0: u64 = 1_800_000_000_000;

struct Bench {
    store: TopicStore,
    watch: Watch,
}

fn at(ms: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(T0 + ms)
}

impl Bench {
    fn new() -> Self {
        Self::with(Rules::default())
    }

    fn with(rules: Rules) -> Self {
        Self {
            store: TopicStore::new(Limits::default()),
            watch: Watch::new(rules),
        }
    }

    fn send_full(&mut self, ms: u64, topic: &str, payload: &[u8], retain: bool, dup: bool) {
        let m = Message {
            topic: topic.into(),
            payload: Bytes::copy_from_slice(payload),
            qos: 1,
            retain,
            dup,
            properties: None,
            received: at(ms),
            wire_size: payload.len() + topic.len() + 4,
        };
        if let crate::store::Inserted::Existing(id) | crate::store::Inserted::NewTopic(id) =
            self.store.insert(&m)
        {
            self.watch.observe(&self.store, id);
        }
    }

    fn send(&mut self, ms: u64, topic: &str, payload: &str) {
        self.send_full(ms, topic, payload.as_bytes(), false, false);
    }

    fn tick(&mut self, ms: u64) {
        self.watch.tick(&self.store, at(ms));
    }

    fn kinds(&self) -> Vec<&'static str> {
        self.watch.list().iter().map(|a| a.kind.name()).collect()
    }

    fn last(&self) -> &Anomaly {
        self.watch.list().back().unwrap()
    }
}

#[test]
fn a_topic_that_stops_is_silent_then_resumed() {
    let mut b = Bench::new();
    for i in 0..10 {
        b.send(i * 1000, "building/温度/room3", &format!(r#"{{"t":{i}}}"#));
        b.tick(i * 1000 + 500);
    }
    // max(3 × 1 s, 1 s + 5 s) = 6 s after the last message at 9 s.
    b.tick(14_000);
    assert!(b.kinds().is_empty());
    b.tick(15_500);
    assert_eq!(b.kinds(), ["silent"]);
    let a = b.last();
    assert_eq!(a.topic, "building/温度/room3");
    assert_eq!(
        a.data,
        Data::Silent {
            silent_ms: 6500,
            interval_ms: 1000
        }
    );
    assert!(a.detail().contains("no message for 6.5s"), "{}", a.detail());
    b.tick(30_000);
    assert_eq!(b.kinds(), ["silent"], "reported once");
    b.send(40_000, "building/温度/room3", r#"{"t":1}"#);
    assert_eq!(b.kinds(), ["silent", "resumed"]);
    assert_eq!(b.last().data, Data::Resumed { silent_ms: 31_000 });
    let json = b.last().to_json();
    assert_eq!(json["type"], "anomaly");
    assert_eq!(json["silent_ms"], 31_000);
}

#[test]
fn too_few_messages_and_retained_replays_teach_nothing() {
    let mut b = Bench::new();
    for i in 0..4 {
        b.send(i * 1000, "a/b", "1");
    }
    b.tick(60_000);
    b.send_full(0, "cfg/été", b"{\"x\":1}", true, false);
    b.tick(600_000);
    assert!(b.kinds().is_empty(), "{:?}", b.kinds());
}

#[test]
fn a_bursty_topic_is_not_silent_between_bursts() {
    let mut b = Bench::new();
    for burst in 0..10u64 {
        for k in 0..10 {
            b.send(burst * 60_000 + k * 10, "batch/x", &format!("{k}"));
        }
        for s in 1..60 {
            b.tick(burst * 60_000 + s * 1000);
        }
    }
    // The first burst teaches a 10 ms interval, so the first pause reads as a silence; from
    // the second burst on, the pause is typical.
    assert_eq!(b.kinds(), ["silent", "resumed"], "{:?}", b.watch.list());
}

#[test]
fn schema_changes_name_the_keys_once_per_new_shape() {
    let mut b = Bench::new();
    for i in 0..6 {
        b.send(
            i * 1000,
            "devices/s9/status",
            &format!(r#"{{"state":"ok","v":1,"uptime":{i}}}"#),
        );
    }
    b.send(
        6000,
        "devices/s9/status",
        r#"{"status":{"code":0},"version":2,"uptime":"6s"}"#,
    );
    assert_eq!(b.kinds(), ["schema_changed"]);
    let a = b.last();
    assert_eq!(
        a.detail(),
        "added status, version; removed state, v; changed uptime number→string"
    );
    let json = a.to_json();
    assert_eq!(json["added"], serde_json::json!(["status", "version"]));
    assert_eq!(json["changed"][0]["path"], "uptime");
    // The new shape again: nothing; flapping between the two known shapes: nothing.
    b.send(
        7000,
        "devices/s9/status",
        r#"{"status":{"code":1},"version":2,"uptime":"7s"}"#,
    );
    b.send(
        8000,
        "devices/s9/status",
        r#"{"state":"ok","v":1,"uptime":8}"#,
    );
    b.send(
        9000,
        "devices/s9/status",
        r#"{"status":{"code":1},"version":2,"uptime":"9s"}"#,
    );
    assert_eq!(b.kinds().len(), 1);
    // An empty list filling up is not a schema change; key order never is.
    for i in 0..8 {
        b.send(i * 1000, "x/tags", r#"{"tags":[],"n":1}"#);
    }
    b.send(9000, "x/tags", r#"{"n":2,"tags":[{"id":"a"}]}"#);
    assert_eq!(b.kinds().len(), 1, "{:?}", b.kinds());
}

#[test]
fn the_payload_kind_changing_is_reported_both_ways() {
    let mut b = Bench::new();
    for i in 0..6 {
        b.send(i * 1000, "🚀/telemetry", r#"{"v":1}"#);
    }
    b.send(6000, "🚀/telemetry", "ERROR sensor offline");
    b.send_full(
        7000,
        "🚀/telemetry",
        &[0xff, 0xfe, 0, 1, 2, 3],
        false,
        false,
    );
    b.send(8000, "🚀/telemetry", r#"{"v":2}"#);
    assert_eq!(b.kinds(), ["kind_changed", "kind_changed", "kind_changed"]);
    assert_eq!(b.watch.list()[0].detail(), "payload was JSON, now text");
    assert_eq!(b.last().detail(), "payload was binary, now JSON");
}

#[test]
fn sequence_gaps_duplicates_reorders_and_resets() {
    let mut b = Bench::new();
    let topic = "line/été/counter";
    let mut t = 0;
    let mut send = |b: &mut Bench, seq: i64, dup: bool| {
        t += 1000;
        b.send_full(
            t,
            topic,
            format!(r#"{{"seq":{seq},"v":1.5}}"#).as_bytes(),
            false,
            dup,
        );
    };
    for seq in 100..106 {
        send(&mut b, seq, false);
    }
    assert!(b.kinds().is_empty());
    send(&mut b, 109, false);
    assert_eq!(
        b.last().data,
        Data::Gap {
            from: 106,
            to: 108,
            missing: 3
        }
    );
    assert_eq!(b.last().detail(), "3 missing: 106…108");
    send(&mut b, 109, true);
    assert_eq!(
        b.last().data,
        Data::Duplicate {
            seq: Some(109),
            dup_flag: true
        }
    );
    send(&mut b, 110, false);
    send(&mut b, 108, false);
    assert_eq!(
        b.last().data,
        Data::OutOfOrder {
            value: 108,
            after: 110
        }
    );
    send(&mut b, 111, false);
    send(&mut b, 0, false);
    assert_eq!(b.last().data, Data::Reset { from: 111, to: 0 });
    send(&mut b, 1, false);
    assert_eq!(b.kinds(), ["gap", "duplicate", "out_of_order", "reset"]);
    let json = b.watch.list()[0].to_json();
    assert_eq!(
        (
            json["from"].clone(),
            json["to"].clone(),
            json["missing"].clone()
        ),
        (106.into(), 108.into(), 3.into())
    );
}

#[test]
fn a_counter_of_events_is_not_a_sequence() {
    let mut b = Bench::new();
    let mut n = 0;
    for i in 0..50u64 {
        n += 1 + (i * 7) % 5;
        b.send(i * 1000, "m/hits", &format!(r#"{{"counter":{n}}}"#));
    }
    assert!(b.kinds().is_empty(), "{:?}", b.kinds());
}

#[test]
fn a_named_sequence_field_is_followed_and_none_turns_it_off() {
    let rules = Rules::compile(
        &[
            WatchRule {
                filter: "nested/#".into(),
                sequence: Some("hdr.n".into()),
                ..WatchRule::default()
            },
            WatchRule {
                filter: "off/#".into(),
                sequence: Some("none".into()),
                ..WatchRule::default()
            },
        ],
        "watch",
    )
    .unwrap();
    let mut b = Bench::with(rules);
    for i in 0..6 {
        b.send(i * 1000, "nested/a", &format!(r#"{{"hdr":{{"n":{i}}}}}"#));
        b.send(i * 1000, "off/a", &format!(r#"{{"seq":{i}}}"#));
    }
    b.send(7000, "nested/a", r#"{"hdr":{"n":9}}"#);
    b.send(7000, "off/a", r#"{"seq":9}"#);
    assert_eq!(b.kinds(), ["gap"]);
    assert_eq!(b.last().topic, "nested/a");
}

#[test]
fn the_same_bytes_again_soon_or_with_dup_is_a_duplicate() {
    let mut b = Bench::new();
    for i in 0..10 {
        b.send(i * 1000, "plc/state", if i % 2 == 0 { "ON" } else { "OFF" });
    }
    // A steady value repeated at the usual pace is not a duplicate.
    for i in 10..20 {
        b.send(i * 1000, "plc/steady", "ON");
    }
    assert!(b.kinds().is_empty());
    b.send(9050, "plc/state", "OFF");
    assert_eq!(
        b.last().data,
        Data::Duplicate {
            seq: None,
            dup_flag: false
        }
    );
    b.send_full(12_000, "plc/steady", b"ON", false, true);
    assert_eq!(
        b.last().data,
        Data::Duplicate {
            seq: None,
            dup_flag: true
        }
    );
}

#[test]
fn rates_far_from_their_baseline_for_long_enough() {
    let mut b = Bench::new();
    // 10 msg/s for two minutes.
    let mut t = 0;
    while t < 120_000 {
        b.send(t, "press/vib", "1.0");
        t += 100;
        if t % 1000 == 0 {
            b.tick(t);
        }
    }
    assert!(b.kinds().is_empty(), "{:?}", b.kinds());
    // 100 msg/s: a spike after the 10 s it must last.
    while t < 140_000 {
        b.send(t, "press/vib", "1.0");
        t += 10;
        if t % 1000 == 0 {
            b.tick(t);
        }
    }
    assert_eq!(b.kinds(), ["rate_spike"]);
    assert!(
        matches!(b.last().data, Data::Rate { rate, baseline } if rate > 50.0 && baseline < 30.0)
    );
    // Back to 10 msg/s, then 1 msg/s: a drop (not a silence).
    while t < 300_000 {
        b.send(t, "press/vib", "1.0");
        t += 100;
        if t % 1000 == 0 {
            b.tick(t);
        }
    }
    while t < 340_000 {
        b.send(t, "press/vib", "1.0");
        t += 1000;
        b.tick(t);
    }
    assert_eq!(
        b.kinds(),
        ["rate_spike", "rate_drop"],
        "{:?}",
        b.watch.list()
    );
}

#[test]
fn retained_values_replaced_or_cleared() {
    let mut b = Bench::new();
    b.send_full(0, "devices/s5/config", b"{\"interval\":5}", true, false);
    // The same value again at a resubscription: nothing.
    b.send_full(
        60_000,
        "devices/s5/config",
        b"{\"interval\":5}",
        true,
        false,
    );
    assert!(b.kinds().is_empty());
    b.send_full(
        120_000,
        "devices/s5/config",
        b"{\"interval\":9}",
        true,
        false,
    );
    assert_eq!(b.kinds(), ["retained_changed"]);
    b.send_full(130_000, "devices/s5/config", b"", false, false);
    assert_eq!(b.last().detail(), "retained value cleared");
    assert_eq!(b.last().to_json()["cleared"], true);
}

#[test]
fn an_outage_of_ours_is_not_the_topics_fault() {
    let mut b = Bench::new();
    b.watch.link(true, at(0));
    for i in 0..10 {
        b.send(i * 1000, "s/x", &format!(r#"{{"seq":{i}}}"#));
    }
    b.watch.link(false, at(10_000));
    b.tick(30_000);
    b.watch.link(true, at(40_000));
    b.tick(42_000);
    b.send(43_000, "s/x", r#"{"seq":40}"#);
    b.send(44_000, "s/x", r#"{"seq":41}"#);
    assert!(b.kinds().is_empty(), "{:?}", b.kinds());
    // Measured from the reconnection, a silence still shows.
    b.tick(60_000);
    assert_eq!(b.kinds(), ["silent"]);
}

#[test]
fn muted_filters_and_ignored_kinds_raise_nothing_and_marks_count_up_the_tree() {
    let rules = Rules::compile(
        &[WatchRule {
            filter: "noisy/#".into(),
            ignore: vec!["gap".into()],
            ..WatchRule::default()
        }],
        "watch",
    )
    .unwrap();
    let mut b = Bench::with(rules);
    for i in 0..6 {
        b.send(i * 1000, "noisy/a", &format!(r#"{{"seq":{i},"x":1}}"#));
        b.send(i * 1000, "plant/l1/a", &format!(r#"{{"seq":{i}}}"#));
        b.send(i * 1000, "plant/l2/b", &format!(r#"{{"seq":{i}}}"#));
    }
    b.send(7000, "noisy/a", r#"{"seq":9,"x":1}"#);
    b.send(7000, "plant/l1/a", r#"{"seq":9}"#);
    b.send(7000, "plant/l2/b", r#"{"seq":9}"#);
    assert_eq!(b.kinds(), ["gap", "gap"]);
    let plant = b.store.find("plant").unwrap();
    assert_eq!(b.watch.marks(plant), 2);
    assert_eq!(b.watch.marks(b.store.find("plant/l1").unwrap()), 1);
    assert_eq!(b.watch.marks(ROOT), 2);
    b.watch.mute(&b.store, "plant/l1/#");
    assert_eq!(b.watch.marks(plant), 1);
    b.send(8000, "plant/l1/a", r#"{"seq":20}"#);
    assert_eq!(b.kinds(), ["gap"]);
    assert_eq!(b.watch.total(), 2, "counted when raised");
}

#[test]
fn hostile_payloads_are_tracked_without_panics() {
    use std::fmt::Write as _;
    let mut b = Bench::new();
    let mut huge = String::from("{");
    for i in 0..50_000 {
        let _ = write!(huge, "\"k{i}\":[{{\"a\":{i}}}],");
    }
    huge.push_str("\"z\":0}");
    let inputs: Vec<Vec<u8>> = vec![
        b"NaN".to_vec(),
        br#"{"t":NaN}"#.to_vec(),
        br#"{"t":"21.5","seq":"7"}"#.to_vec(),
        br#"[{"a":1},{"b":[1,2,{"c":null}]}]"#.to_vec(),
        huge.into_bytes(),
        "[".repeat(100_000).into_bytes(),
        b"{\"\x1b[2J\":1}".to_vec(),
        vec![0; 100_000],
        (0..=255u8).collect(),
    ];
    for round in 0..3 {
        for (i, p) in inputs.iter().enumerate() {
            b.send_full(
                round * 10_000 + i as u64,
                &format!("h/{i}"),
                p,
                false,
                false,
            );
        }
    }
    b.tick(1_000_000);
    assert!(b.watch.heap_bytes() < 64 * 1024, "{}", b.watch.heap_bytes());
}

#[test]
fn the_list_is_bounded_and_marks_follow_it() {
    let mut b = Bench::new();
    for i in 0..6 {
        b.send(i * 1000, "flap", r#"{"v":1}"#);
    }
    for i in 0..(KEPT as u64 + 50) {
        let p = if i % 2 == 0 { "text" } else { r#"{"v":1}"# };
        b.send(10_000 + i * 1000, "flap", p);
    }
    assert_eq!(b.watch.list().len(), KEPT);
    assert_eq!(b.watch.marks(ROOT), u32::try_from(KEPT).unwrap());
    assert_eq!(b.watch.total(), KEPT as u64 + 50);
    assert_eq!(b.watch.since(b.watch.last_id() - 3).count(), 3);
}

#[cfg(feature = "embedded-broker")]
/// The demo's fleet on a simulated clock, every topic delivered as published (the retain
/// flag kept, as rumqttd does).
fn run_fleet(b: &mut Bench, script: crate::demo::fleet::Script, seconds: u64) {
    for (i, topic) in ["devices/thermostat-5/meta", "devices/sensor-6/config"]
        .iter()
        .enumerate()
    {
        b.send_full(
            0,
            topic,
            format!(r#"{{"fw":"3.{i}.1"}}"#).as_bytes(),
            true,
            false,
        );
    }
    for tick in 1..=seconds * 100 {
        let ms = tick * 10;
        for req in crate::demo::fleet::vibration(tick) {
            b.send_full(ms, &req.topic, &req.payload, req.retain, false);
        }
        if tick % 100 == 0 {
            let secs = tick / 100;
            for req in crate::demo::fleet::second(secs, Duration::from_secs(secs), script) {
                b.send_full(ms + 3, &req.topic, &req.payload, req.retain, false);
            }
            b.tick(ms + 500);
        }
    }
}

#[cfg(feature = "embedded-broker")]
#[test]
fn a_steady_fleet_raises_nothing_for_five_minutes() {
    let never = Duration::from_secs(1 << 30);
    let script = crate::demo::fleet::Script {
        silent_after: never,
        schema_change_after: never,
        lossy_after: never,
        start_ms: 0,
    };
    let mut b = Bench::new();
    run_fleet(&mut b, script, 300);
    assert!(b.store.topic_count() > 30);
    assert!(b.watch.list().is_empty(), "{:#?}", b.watch.list());
}

#[cfg(feature = "embedded-broker")]
#[test]
fn the_demo_script_shows_within_a_minute() {
    let mut b = Bench::new();
    run_fleet(&mut b, crate::demo::fleet::Script::default(), 60);
    let found: Vec<(String, &str)> = b
        .watch
        .list()
        .iter()
        .map(|a| (a.topic.clone(), a.kind.name()))
        .collect();
    let has = |topic: &str, kind: &str| found.iter().any(|(t, k)| t == topic && *k == kind);
    assert!(has("building/b1/floor2/room3/temp", "silent"), "{found:?}");
    assert!(
        has("building/b1/floor2/room3/humidity", "silent"),
        "{found:?}"
    );
    assert!(
        has("devices/sensor-9/status", "schema_changed"),
        "{found:?}"
    );
    assert!(has("line/1/counter", "gap"), "{found:?}");
    assert!(has("line/1/counter", "duplicate"), "{found:?}");
    // Three losses (at 12–14 s, 32–34 s, 52–54 s), one repeat (32 s), nothing else.
    assert_eq!(found.iter().filter(|(_, k)| *k == "gap").count(), 3);
    assert_eq!(found.len(), 7, "nothing else: {found:?}");
}

#[test]
fn a_change_between_full_scans_is_dated_back_to_the_message_that_made_it() {
    let mut b = Bench::new();
    for i in 0..40 {
        b.send(i * 1000, "s/温度", r#"{"a":1,"b":2}"#);
    }
    // Same length: not scanned in full until the 64th message.
    for i in 40..63 {
        b.send(i * 1000, "s/温度", r#"{"a":1,"c":2}"#);
    }
    assert!(b.kinds().is_empty());
    b.send(63_000, "s/温度", r#"{"a":1,"c":2}"#);
    assert_eq!(b.kinds(), ["schema_changed"]);
    let a = b.last();
    assert_eq!(
        a.at,
        at(40_000),
        "dated back to the first message with the new shape"
    );
    assert_eq!(a.detail(), "added c; removed b");
    let id = b.store.find("s/温度").unwrap();
    let shown = b
        .store
        .node(id)
        .history()
        .iter()
        .find(|m| Some(m.seq) == a.message);
    assert_eq!(shown.unwrap().received, at(40_000));
    // A kind change of the same length, likewise.
    for i in 64..96 {
        b.send(i * 1000, "s/温度", "ERROR 1234567");
    }
    assert_eq!(b.kinds(), ["schema_changed", "kind_changed"]);
    assert_eq!(b.last().at, at(64_000));
}

#[test]
fn sequence_numbers_are_read_between_full_scans() {
    let mut b = Bench::new();
    for i in 0..60 {
        let seq = if i < 50 { i } else { i + 3 };
        b.send(i * 1000, "s/n", &format!(r#"{{"seq":{seq},"v":1}}"#));
    }
    assert_eq!(b.kinds(), ["gap"]);
    assert_eq!(b.last().at, at(50_000));
}

#[test]
fn keys_reordered_in_place_do_not_fool_the_sequence_read() {
    // Same length, same shape, the sequence moves to where another integer was: the read in
    // place sees 50 where 41 was expected and the full read takes over. Nothing is raised.
    let mut b = Bench::new();
    for i in 0..60 {
        let seq = 20 + i;
        let payload = if i < 40 {
            format!(r#"{{"id":50,"seq":{seq}}}"#)
        } else {
            format!(r#"{{"seq":{seq},"id":50}}"#)
        };
        b.send(i * 1000, "ligne/été/n", &payload);
    }
    assert!(b.kinds().is_empty(), "{:?}", b.kinds());
    // And a real gap after the reorder is still found between full scans (same length).
    b.send(60_000, "ligne/été/n", r#"{"seq":85,"id":50}"#);
    assert_eq!(b.kinds(), ["gap"]);
}
