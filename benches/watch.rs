//! What the anomaly watch adds to the store's ingest on known topics, and its memory per
//! topic: the same stream (2k topics, 120 messages each, one a second; JSON sensor payloads
//! with and without a sequence number) into a store alone and into a store with the watch
//! beside it, timed after the topics are learned; a full scan of one payload; and one clock
//! tick over 100k watched topics.
//!
//! cargo bench --bench watch

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mqscope::broker::Message;
use mqscope::store::{Inserted, Limits, TopicStore};
use mqscope::watch::Watch;

const TOPICS: u64 = 2_000;
const ROUNDS: u64 = 120;
/// Rounds ingested before timing: every topic known, its expectations learned (the watch
/// scans a topic's first 32 messages in full).
const WARM: u64 = 40;

fn message(topic: u64, round: u64) -> Message {
    sample(topic, round, true)
}

/// A sensor's message: `{"seq":N,"temp":…,"ok":true}`, or without the sequence number.
fn sample(topic: u64, round: u64, seq: bool) -> Message {
    let topic_name = format!("fleet/g{}/d{}/temp", topic / 1000, topic % 1000);
    let temp = 20 + (topic + round) % 7;
    Message {
        payload: Bytes::from(if seq {
            format!("{{\"seq\":{round},\"temp\":{temp}.5,\"ok\":true}}")
        } else {
            format!("{{\"temp\":{temp}.5,\"unit\":\"C\",\"ok\":true}}")
        }),
        wire_size: topic_name.len() + 40,
        topic: topic_name,
        qos: 0,
        retain: false,
        dup: false,
        properties: None,
        received: SystemTime::UNIX_EPOCH
            + Duration::from_millis(1_800_000_000_000 + round * 1000 + topic / 10),
    }
}

fn stream(seq: bool) -> Vec<Vec<Message>> {
    (0..ROUNDS)
        .map(|r| (0..TOPICS).map(|t| sample(t, r, seq)).collect())
        .collect()
}

/// Ingests `rounds` into a fresh store (with the watch when `watched`), timing all but the
/// warm-up rounds.
fn run(rounds: &[Vec<Message>], watched: bool) -> Duration {
    let mut store = TopicStore::new(Limits::default());
    let mut watch = Watch::default();
    let warm = usize::try_from(WARM).unwrap();
    feed(&mut store, watched.then_some(&mut watch), &rounds[..warm]);
    let start = Instant::now();
    // Two functions, so that `valgrind --tool=callgrind --toggle-collect='watch::timed_*'`
    // counts the instructions of the timed part alone (see benches/README.md).
    if watched {
        timed_watched(&mut store, &mut watch, &rounds[warm..]);
    } else {
        timed_alone(&mut store, &rounds[warm..]);
    }
    let took = start.elapsed();
    assert!(watch.list().is_empty(), "a steady stream raises nothing");
    black_box((&store, &watch));
    took
}

#[inline(never)]
fn timed_alone(store: &mut TopicStore, rounds: &[Vec<Message>]) {
    feed(store, None, rounds);
}

#[inline(never)]
fn timed_watched(store: &mut TopicStore, watch: &mut Watch, rounds: &[Vec<Message>]) {
    feed(store, Some(watch), rounds);
}

fn feed(store: &mut TopicStore, mut watch: Option<&mut Watch>, rounds: &[Vec<Message>]) {
    for round in rounds {
        for m in round {
            let inserted = store.insert(m);
            if let Some(watch) = watch.as_deref_mut() {
                if let Inserted::Existing(id) | Inserted::NewTopic(id) = inserted {
                    watch.observe(store, id);
                }
            }
            black_box(inserted);
        }
    }
}

fn memory() {
    let mut store = TopicStore::new(Limits::default());
    let mut watch = Watch::default();
    for t in 0..100_000 {
        let m = message(t, 0);
        if let Inserted::NewTopic(id) = store.insert(&m) {
            watch.observe(&store, id);
        }
    }
    println!(
        "watch memory: {} bytes per topic ({} bytes held for {} topics, {} levels)",
        watch.heap_bytes() / usize::try_from(store.topic_count()).unwrap(),
        watch.heap_bytes(),
        store.topic_count(),
        store.len()
    );
}

/// WATCH_AB=N: N alternating runs of each, minimum and median (the minimum is what a run
/// costs when no other tenant of the VM interferes).
fn ab(n: usize) {
    for (seq, name) in [
        (false, "sensor JSON"),
        (true, "JSON with a sequence number"),
    ] {
        let rounds = stream(seq);
        let (mut alone, mut watched) = (Vec::new(), Vec::new());
        for i in 0..n {
            // Alternating which goes first, so neither always runs on a warmer machine.
            if i % 2 == 0 {
                alone.push(run(&rounds, false));
                watched.push(run(&rounds, true));
            } else {
                watched.push(run(&rounds, true));
                alone.push(run(&rounds, false));
            }
        }
        alone.sort();
        watched.sort();
        let ratio = |a: Duration, w: Duration| (w.as_secs_f64() / a.as_secs_f64() - 1.0) * 100.0;
        println!(
            "{name}: store alone min {:?} median {:?}; store + watch min {:?} median {:?}; \
             added {:+.1} % (min) {:+.1} % (median)",
            alone[0],
            alone[n / 2],
            watched[0],
            watched[n / 2],
            ratio(alone[0], watched[0]),
            ratio(alone[n / 2], watched[n / 2]),
        );
    }
}

fn ingest(c: &mut Criterion) {
    // One run of each, nothing else: for `valgrind --tool=callgrind` (see the README).
    if let Some(n) = std::env::var("WATCH_AB")
        .ok()
        .and_then(|n| n.parse::<usize>().ok())
    {
        ab(n);
        return;
    }
    // WATCH_ONCE=seq: the stream with a sequence number.
    if let Some(which) = std::env::var_os("WATCH_ONCE") {
        let rounds = stream(which == "seq");
        black_box((run(&rounds, false), run(&rounds, true)));
        return;
    }
    if std::env::var_os("WATCH_MEMORY").is_none_or(|v| v != "0") {
        memory();
    }
    let payload = message(7, 12).payload;
    let names: Vec<u64> = mqscope::watch::shape::SEQ_NAMES
        .iter()
        .map(|n| mqscope::watch::shape::path_hash(n))
        .collect();
    c.bench_function("scan one 40-byte JSON payload", |b| {
        b.iter(|| mqscope::watch::shape::scan(black_box(&payload), &names));
    });
    let at = mqscope::watch::shape::scan(&payload, &names)
        .seq_at
        .unwrap();
    c.bench_function("read the sequence number of one payload in place", |b| {
        b.iter(|| mqscope::watch::shape::seq_at(black_box(&payload), at, &names));
    });
    c.bench_function("read the integer where the sequence number was", |b| {
        b.iter(|| mqscope::watch::shape::int_at(black_box(&payload), at));
    });
    let timed = (ROUNDS - WARM) * TOPICS;
    let mut group = c.benchmark_group("watch");
    group.sample_size(20);
    group.throughput(Throughput::Elements(timed));
    for (seq, name) in [
        (false, "sensor JSON"),
        (true, "JSON with a sequence number"),
    ] {
        let rounds = stream(seq);
        group.bench_function(
            format!("store alone, 160k messages on 2k known topics, {name}"),
            |b| {
                b.iter_custom(|iters| (0..iters).map(|_| run(&rounds, false)).sum());
            },
        );
        group.bench_function(
            format!("store + watch, 160k messages on 2k known topics, {name}"),
            |b| {
                b.iter_custom(|iters| (0..iters).map(|_| run(&rounds, true)).sum());
            },
        );
    }
    group.finish();

    // Built on first use: a run filtered to other benches skips it.
    let mut state: Option<(TopicStore, Watch)> = None;
    c.bench_function("watch tick over 100k topics", |b| {
        let (store, watch) = state.get_or_insert_with(|| {
            let mut store = TopicStore::new(Limits::default());
            let mut watch = Watch::default();
            for r in 0..6 {
                for t in 0..100_000 {
                    let m = message(t, r);
                    if let Inserted::Existing(id) | Inserted::NewTopic(id) = store.insert(&m) {
                        watch.observe(&store, id);
                    }
                }
            }
            (store, watch)
        });
        let now = SystemTime::UNIX_EPOCH + Duration::from_millis(1_800_000_000_000 + 6_500);
        b.iter(|| watch.tick(store, black_box(now)));
    });
}

criterion_group!(benches, ingest);
criterion_main!(benches);
