//! What 100 rules and 20 JSON Schema checks cost the explorer's ingest, on a flood where one
//! topic in ten matches them: 2,000 topics (200 `plant/cC/hH/dD/temp` in 10 classes; 1,800
//! `fleet/…` that match nothing), 120 messages each. Dense: each matching topic is under 10
//! rules and 2 schemas; sparse: under 1 rule and 1 schema. Into a store with the anomaly
//! watch, and through the explorer's whole `update`, with and without the alerts;
//! interleaved runs, minimum and median.
//!
//! cargo bench --bench alerts                  (ALERTS_AB=N runs of each, default 21)

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use mqscope::alert::{Alerts, Rule, Schema};
use mqscope::broker::Message;
use mqscope::store::{Inserted, Limits, TopicStore};
use mqscope::watch::Watch;

const TOPICS: u64 = 2_000;
const HOT: u64 = 200;
const ROUNDS: u64 = 120;
const WARM: usize = 40;

fn topic(t: u64) -> String {
    if t < HOT {
        format!("plant/c{}/h{}/d{}/temp", t % 10, (t / 10) % 2, t / 20)
    } else {
        format!("fleet/g{}/d{}/temp", t / 100, t % 100)
    }
}

fn message(t: u64, round: u64) -> Message {
    let name = topic(t);
    let temp = 20 + (t + round) % 7;
    Message {
        payload: Bytes::from(format!(
            "{{\"seq\":{round},\"temp\":{temp}.5,\"state\":\"ok\",\"battery\":{}}}",
            50 + t % 40
        )),
        wire_size: name.len() + 60,
        topic: name,
        qos: 0,
        retain: false,
        dup: false,
        properties: None,
        received: SystemTime::UNIX_EPOCH
            + Duration::from_millis(1_800_000_000_000 + round * 1000 + t / 10),
    }
}

const SCHEMA: &str = r#"{
  "type": "object",
  "required": ["temp", "state"],
  "properties": {
    "seq": {"type": "integer", "minimum": 0},
    "temp": {"type": "number", "minimum": -40, "maximum": 150},
    "state": {"enum": ["ok", "alarm", "off"]},
    "battery": {"type": "number", "maximum": 100}
  }
}"#;

/// Dense: every matching topic under 10 rules (thresholds, a state held 30 s, a battery
/// level) and 2 schemas, per class. Sparse: each matching topic under 1 rule and 1 schema.
fn alerts(dense: bool) -> Alerts {
    let mut rules = Vec::new();
    let mut schemas = Vec::new();
    let schema = |filter: &str| Schema::compile(filter, Path::new("bench.json"), SCHEMA).unwrap();
    for c in 0..10 {
        if dense {
            for k in 0..8 {
                let filter = format!("plant/c{c}/+/+/temp");
                rules.push(Rule::parse(&format!("{filter}: temp > {}", 80 + k * 5)).unwrap());
            }
            let held = format!(r#"plant/c{c}/#: state == "alarm"; for=30s"#);
            rules.push(Rule::parse(&held).unwrap());
            let low = format!(r#"plant/c{c}/#: battery < 10 and state != "off""#);
            rules.push(Rule::parse(&low).unwrap());
            schemas.push(schema(&format!("plant/c{c}/+/+/temp")));
            schemas.push(schema(&format!("plant/c{c}/#")));
        } else {
            for d in 0..10 {
                let rule = format!("plant/c{c}/+/d{d}/temp: temp > {}", 80 + d);
                rules.push(Rule::parse(&rule).unwrap());
            }
            for h in 0..2 {
                schemas.push(schema(&format!("plant/c{c}/h{h}/#")));
            }
        }
    }
    assert_eq!((rules.len(), schemas.len()), (100, 20));
    Alerts::new(rules, schemas)
}

fn run(rounds: &[Vec<Message>], with: Option<bool>) -> Duration {
    let mut store = TopicStore::new(Limits::default());
    let mut watch = Watch::default();
    let mut alerts = with.map_or_else(Alerts::default, alerts);
    feed(&mut store, &mut watch, &mut alerts, &rounds[..WARM]);
    let start = Instant::now();
    feed(&mut store, &mut watch, &mut alerts, &rounds[WARM..]);
    let took = start.elapsed();
    assert!(
        watch.list().is_empty(),
        "nothing fires on this stream: {:?}",
        watch.list().front()
    );
    black_box((&store, &watch));
    took
}

/// The explorer's own ingest: every message through `update`, as the connection layer hands
/// it over (store, watch, alerts, filters, the model's counters).
fn run_explorer(rounds: &[Vec<Message>], with: Option<bool>) -> Duration {
    use mqscope::broker::BrokerEvent;
    use mqscope::tui::model::{Model, Msg, update};
    let mut model = Model::new(
        "mqtt://bench:1883".into(),
        Limits::default(),
        SystemTime::now(),
    );
    if let Some(dense) = with {
        model.alerts = alerts(dense);
    }
    let mut ingest = |rounds: &[Vec<Message>]| {
        for round in rounds {
            for m in round {
                update(&mut model, Msg::Broker(BrokerEvent::Message(m.clone())));
            }
        }
    };
    ingest(&rounds[..WARM]);
    let start = Instant::now();
    ingest(&rounds[WARM..]);
    let took = start.elapsed();
    assert!(model.watch.list().is_empty());
    black_box(&model);
    took
}

#[inline(never)]
fn feed(store: &mut TopicStore, watch: &mut Watch, alerts: &mut Alerts, rounds: &[Vec<Message>]) {
    for round in rounds {
        for m in round {
            if let Inserted::Existing(id) | Inserted::NewTopic(id) = store.insert(m) {
                watch.observe(store, id);
                alerts.observe(store, id, watch);
            }
        }
    }
}

/// One scenario: the rounds, and `Some(dense)` for the alerts.
type Run = fn(&[Vec<Message>], Option<bool>) -> Duration;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let n: usize = std::env::var("ALERTS_AB")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(21);
    let rounds: Vec<Vec<Message>> = (0..ROUNDS)
        .map(|r| (0..TOPICS).map(|t| message(t, r)).collect())
        .collect();
    let timed = (ROUNDS - WARM as u64) * TOPICS;
    println!(
        "{timed} messages on {TOPICS} topics, {HOT} of them under 100 rules and 20 schemas, \
         {n} runs each"
    );
    let runs: [(&str, Run, bool); 4] = [
        ("store + watch, dense", run, true),
        ("store + watch, sparse", run, false),
        ("the explorer's update, dense", run_explorer, true),
        ("the explorer's update, sparse", run_explorer, false),
    ];
    // ALERTS_ONLY=sparse: the scenarios whose name has this in it (for callgrind).
    let only = std::env::var("ALERTS_ONLY").unwrap_or_default();
    for (name, f, dense) in runs {
        if !name.contains(only.as_str()) {
            continue;
        }
        let (mut base, mut with) = (Vec::new(), Vec::new());
        for i in 0..n {
            // Alternating which goes first, so neither always runs on a warmer machine.
            if i % 2 == 0 {
                base.push(f(&rounds, None));
                with.push(f(&rounds, Some(dense)));
            } else {
                with.push(f(&rounds, Some(dense)));
                base.push(f(&rounds, None));
            }
        }
        base.sort();
        with.sort();
        #[expect(clippy::cast_precision_loss, reason = "a rate")]
        let rate = |d: Duration| timed as f64 / d.as_secs_f64();
        for (what, b, w) in [
            ("minimum", base[0], with[0]),
            ("median", base[n / 2], with[n / 2]),
        ] {
            println!(
                "{name}, {what}: {:.0} msg/s; with the alerts {:.0} msg/s: {:.2}x",
                rate(b),
                rate(w),
                rate(w) / rate(b)
            );
        }
    }
}
