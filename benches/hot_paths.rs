//! Hot paths of the explorer: store ingest (known and new topics), tree view rebuild, and a
//! whole frame at 200×50 with 100k topics of which 10k rows are open.
//!
//! cargo bench --bench hot_paths

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use mqscope::broker::{BrokerEvent, Message};
use mqscope::payload::decode::Decoders;
use mqscope::store::{Limits, TopicStore};
use mqscope::tui::model::{Model, Msg, update};
use mqscope::tui::view::View;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn message(topic: String, i: u64) -> Message {
    Message {
        payload: Bytes::from(format!("{{\"seq\":{i},\"temp\":21.5,\"ok\":true}}")),
        wire_size: topic.len() + 40,
        topic,
        qos: 0,
        retain: false,
        dup: false,
        properties: None,
        received: SystemTime::UNIX_EPOCH + Duration::from_millis(1_800_000_000_000 + i),
    }
}

/// 100k topics: fleet/g{0..100}/d{0..1000}/temp.
fn fleet(n: u64) -> Vec<Message> {
    (0..n)
        .map(|i| message(format!("fleet/g{}/d{}/temp", i / 1000, i % 1000), i))
        .collect()
}

/// Resident memory of this process, from /proc (Linux).
fn rss_bytes() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| {
            v.trim()
                .trim_end_matches(" kB")
                .trim()
                .parse::<usize>()
                .ok()
        })
        .map_or(0, |kb| kb * 1024)
}

/// Memory per topic, measured: 100k topics whose messages have empty payloads, once where
/// every topic adds one level (`fleet/g7/d123`) and once where it adds two (`…/d123/temp`).
/// The figure is live heap (chunk overhead and growth slack included) and the RSS delta.
fn memory_per_topic() {
    const CHILD: &str = "MQSCOPE_BENCH_MEMORY_SHAPE";
    let shapes = [
        ("one new level per topic", ""),
        ("two new levels per topic", "/temp"),
    ];
    if let Ok(i) = std::env::var(CHILD) {
        let (shape, suffix) = shapes[i.parse::<usize>().unwrap()];
        let messages: Vec<Message> = (0..100_000u64)
            .map(|i| {
                let mut m = message(format!("fleet/g{}/d{}{suffix}", i / 1000, i % 1000), i);
                m.payload = Bytes::new();
                m
            })
            .collect();
        let before = rss_bytes();
        let mut store = TopicStore::new(Limits::default());
        for m in &messages {
            store.insert(m);
        }
        let after = rss_bytes();
        println!(
            "memory, {shape}: {} bytes per topic ({} levels; one empty message kept per topic)",
            (after - before) / 100_000,
            store.len()
        );
        black_box(&store);
        std::process::exit(0);
    }
    // Each shape in a fresh process: in one process the second shape would reuse memory the
    // first one freed, and its figure would depend on the order.
    for i in 0..shapes.len() {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--bench", "no-benchmark-matches-this"])
            .env(CHILD, i.to_string())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        if let Some(line) = text.lines().find(|l| l.starts_with("memory,")) {
            println!("{line}");
        }
    }
}

fn ingest(c: &mut Criterion) {
    memory_per_topic();
    let mut group = c.benchmark_group("store");
    let known = fleet(10_000);
    let mut store = TopicStore::new(Limits::default());
    for m in &known {
        store.insert(m);
    }
    group.throughput(Throughput::Elements(known.len() as u64));
    group.bench_function("ingest 10k messages on known topics", |b| {
        b.iter(|| {
            for m in &known {
                black_box(store.insert(m));
            }
        });
    });
    let fresh = fleet(10_000);
    group.bench_function("ingest 10k new topics", |b| {
        b.iter_batched(
            || TopicStore::new(Limits::default()),
            |mut store| {
                for m in &fresh {
                    black_box(store.insert(m));
                }
                store
            },
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

/// A model with 100k topics, `fleet` and ten groups open: about 10k visible rows.
fn big_model() -> Model {
    let mut model = Model::new("mqtt://bench".into(), Limits::default(), SystemTime::now());
    for m in fleet(100_000) {
        update(&mut model, Msg::Broker(BrokerEvent::Message(m)));
    }
    let root = model.store.find("fleet").unwrap();
    model.topics.opened.insert(root);
    for g in 0..10 {
        let id = model.store.find(&format!("fleet/g{g}")).unwrap();
        model.topics.opened.insert(id);
    }
    model.topics.selected = Some(root);
    model.topics.changed();
    update(&mut model, Msg::Frame);
    model
}

fn frame(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame");
    group.sample_size(30);
    let mut model = big_model();
    let mut view = View::default();
    let mut terminal = Terminal::new(TestBackend::new(200, 50)).unwrap();
    view.refresh(&model);
    terminal
        .draw(|f| mqscope::tui::ui::render(&model, &mut view, f))
        .unwrap();
    println!("visible rows: {}", view.rows);
    group.bench_function("view rebuild, 100k topics, 10k rows open", |b| {
        b.iter(|| {
            view.invalidate();
            view.refresh(&model);
        });
    });
    group.bench_function("draw 200x50, 100k topics, 10k rows open", |b| {
        b.iter(|| {
            view.forget_tree_frame();
            terminal
                .draw(|f| mqscope::tui::ui::render(&model, &mut view, f))
                .unwrap();
        });
    });
    group.bench_function("frame under traffic: 1 message, rebuild, draw", |b| {
        let mut i = 0;
        b.iter(|| {
            i += 1;
            let m = message(format!("fleet/g{}/d{}/temp", i % 10, i % 1000), i);
            update(&mut model, Msg::Broker(BrokerEvent::Message(m)));
            update(&mut model, Msg::Frame);
            view.refresh(&model);
            terminal
                .draw(|f| mqscope::tui::ui::render(&model, &mut view, f))
                .unwrap();
        });
    });
    group.finish();
}

/// Message `i` on `flat/dev{dev}/value`: a JSON sample, or `payload`.
fn flat_message(dev: u64, i: u64, payload: Option<&Bytes>) -> Message {
    let mut m = message(format!("flat/dev{dev}/value"), i);
    if let Some(p) = payload {
        m.payload = p.clone();
    }
    m
}

/// One opened level of 100k topics (`flat/dev0..dev99999/value`), drawn once at 200×50.
fn flat(payload: Option<&Bytes>, decoders: Decoders) -> (Model, View, Terminal<TestBackend>) {
    let mut model = Model::new("mqtt://bench".into(), Limits::default(), SystemTime::now());
    model.decoders = decoders;
    for i in 0..100_000u64 {
        let m = flat_message(i, i, payload);
        update(&mut model, Msg::Broker(BrokerEvent::Message(m)));
    }
    let top = model.store.find("flat").unwrap();
    model.topics.opened.insert(top);
    model.topics.selected = Some(top);
    model.topics.changed();
    update(&mut model, Msg::Frame);
    let mut view = View::default();
    let mut terminal = Terminal::new(TestBackend::new(200, 50)).unwrap();
    view.refresh(&model);
    terminal
        .draw(|f| mqscope::tui::ui::render(&model, &mut view, f))
        .unwrap();
    (model, view, terminal)
}

/// The worst case: one opened level with 100k children (`flat/dev0..dev99999/value`).
fn flat_frame(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame");
    group.sample_size(10);
    let (mut model, mut view, mut terminal) = flat(None, Decoders::default());
    group.bench_function("rebuild only, one level of 100k rows open", |b| {
        b.iter(|| {
            view.invalidate();
            view.refresh(&model);
        });
    });
    group.bench_function("draw only, one level of 100k rows open", |b| {
        b.iter(|| {
            view.forget_tree_frame();
            terminal
                .draw(|f| mqscope::tui::ui::render(&model, &mut view, f))
                .unwrap();
        });
    });
    group.bench_function(
        "idle redraw (tree pane reused), one level of 100k rows open",
        |b| {
            b.iter(|| {
                terminal
                    .draw(|f| mqscope::tui::ui::render(&model, &mut view, f))
                    .unwrap();
            });
        },
    );
    group.bench_function("frame under traffic, one level of 100k rows open", |b| {
        let mut i = 0;
        b.iter(|| {
            i += 1;
            let m = flat_message(i % 1000, i, None);
            update(&mut model, Msg::Broker(BrokerEvent::Message(m)));
            update(&mut model, Msg::Frame);
            view.refresh(&model);
            terminal
                .draw(|f| mqscope::tui::ui::render(&model, &mut view, f))
                .unwrap();
        });
    });
    group.finish();
}

/// The same flat level, every row Protobuf (the decoders' fixture), mapped with `--decode`:
/// what decoding the visible rows adds to a frame.
fn protobuf_frame(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame");
    group.sample_size(10);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let payload =
        Bytes::from(std::fs::read(root.join("tests/fixtures/proto/telemetry.bin")).unwrap());
    let spec = mqscope::payload::decode::parse_spec(
        "flat/+/value=protobuf:assets/proto/plant/v1/telemetry.proto:plant.v1.Telemetry",
    )
    .unwrap();
    let decoder = spec.build(root, &[root.join("assets/proto")]).unwrap();
    let decoders = Decoders::new(vec![(spec.filter, decoder)]);
    let (mut model, mut view, mut terminal) = flat(Some(&payload), decoders);
    group.bench_function(
        "rebuild only, 100k Protobuf rows open (visible ones decoded)",
        |b| {
            b.iter(|| {
                view.invalidate();
                view.refresh(&model);
            });
        },
    );
    group.bench_function("frame under traffic, 100k Protobuf rows open", |b| {
        let mut i = 0;
        b.iter(|| {
            i += 1;
            let m = flat_message(i % 1000, i, Some(&payload));
            update(&mut model, Msg::Broker(BrokerEvent::Message(m)));
            update(&mut model, Msg::Frame);
            view.refresh(&model);
            terminal
                .draw(|f| mqscope::tui::ui::render(&model, &mut view, f))
                .unwrap();
        });
    });
    group.finish();
}

/// Recordings: a message into its line (what `record` and `W` add per message) and a line back
/// into a message (what `open`, `replay` and `export` pay per message).
fn recording(c: &mut Criterion) {
    let mut group = c.benchmark_group("record");
    let messages = fleet(10_000);
    group.throughput(Throughput::Elements(messages.len() as u64));
    let mut buf = Vec::with_capacity(4 << 20);
    group.bench_function("10k messages to lines", |b| {
        b.iter(|| {
            buf.clear();
            for m in &messages {
                serde_json::to_writer(&mut buf, &mqscope::record::format::message_line(m)).unwrap();
                buf.push(b'\n');
            }
            black_box(buf.len())
        });
    });
    buf.clear();
    for m in &messages {
        serde_json::to_writer(&mut buf, &mqscope::record::format::message_line(m)).unwrap();
        buf.push(b'\n');
    }
    group.bench_function("10k lines to messages", |b| {
        b.iter(|| {
            let mut base = None;
            for line in buf.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                black_box(mqscope::record::format::parse_line(line, &mut base).unwrap());
            }
        });
    });
    group.finish();
}

/// The topics filter in the filter language over 100k topics' last values: applying it (every
/// value parsed and tested once), and one new message re-testing its own topic.
fn structured_filter(c: &mut Criterion) {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let mut group = c.benchmark_group("filter");
    group.sample_size(20);
    let mut model = big_model();
    let press = |model: &mut Model, code: KeyCode| {
        update(model, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    };
    press(&mut model, KeyCode::Char('/'));
    for c in "temp > 20 and ok == true".chars() {
        press(&mut model, KeyCode::Char(c));
    }
    println!("matches: {}", model.topics.filter.matches);
    group.bench_function("apply an expression over 100k last values", |b| {
        b.iter(|| {
            // Typing the last character again applies the whole expression again.
            press(&mut model, KeyCode::Backspace);
            press(&mut model, KeyCode::Char('e'));
        });
    });
    let m = message("fleet/g3/d7/temp".into(), 7);
    group.bench_function("one new message under an expression filter", |b| {
        b.iter(|| update(&mut model, Msg::Broker(BrokerEvent::Message(m.clone()))));
    });
    group.finish();
}

/// The charts pane with six pinned series of 10,000 points each, beside the 100k-topic tree:
/// a message on a pinned topic, then a whole frame (every series reduced to the plot's columns
/// and drawn); and the inspector's chart of a 10,000-message history.
fn charts_frame(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame");
    group.sample_size(20);
    let mut model = big_model();
    let pinned: Vec<String> = (0..6).map(|d| format!("fleet/g0/d{d}/temp")).collect();
    let entries: Vec<mqscope::config::PinEntry> = pinned
        .iter()
        .map(|t| mqscope::config::PinEntry {
            topic: t.clone(),
            field: "seq".into(),
        })
        .collect();
    model.charts = mqscope::tui::model::ChartsPane::from_entries(&entries);
    model.charts.open = true;
    for i in 0..10_000u64 {
        for (d, topic) in pinned.iter().enumerate() {
            // A wave per series, so each column has a low and a high to keep.
            let m = message(topic.clone(), 200_000 + i * 6 + d as u64);
            let m = Message {
                payload: Bytes::from(format!(
                    "{{\"seq\":{},\"ok\":true}}",
                    (i * (d as u64 + 3)) % 97
                )),
                ..m
            };
            update(&mut model, Msg::Broker(BrokerEvent::Message(m)));
        }
    }
    println!(
        "points per series: {}",
        model.charts.pins[0].series.points().len()
    );
    let mut view = View::default();
    let mut terminal = Terminal::new(TestBackend::new(200, 50)).unwrap();
    let mut i = 0u64;
    group.bench_function("frame under traffic, 6 pinned series of 10k points", |b| {
        b.iter(|| {
            i += 1;
            let m = message(pinned[(i % 6) as usize].clone(), 300_000 + i);
            update(&mut model, Msg::Broker(BrokerEvent::Message(m)));
            update(&mut model, Msg::Frame);
            view.refresh(&model);
            terminal
                .draw(|f| mqscope::tui::ui::render(&model, &mut view, f))
                .unwrap();
        });
    });
    group.finish();
}

criterion_group!(
    benches,
    charts_frame,
    ingest,
    frame,
    flat_frame,
    protobuf_frame,
    recording,
    structured_filter
);
criterion_main!(benches);
