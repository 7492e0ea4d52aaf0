//! Whole files: written by the recorder, compressed or not, rotated, damaged, or not
//! recordings at all.

use std::io::Write as _;
use std::path::PathBuf;

use super::*;
use crate::record::format::tests::hostile_message;
use crate::record::writer::{RecordOptions, Recorder};

fn dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mqscope-rec-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("a temp dir");
    d
}

fn record(path: &Path, n: usize, opts: &RecordOptions) {
    let header = Header::new("mqtt://h:1883", vec!["#".into()], SystemTime::now(), false);
    let mut r = Recorder::create(path, &header, opts).expect("created");
    for i in 0..n {
        let mut m = hostile_message();
        m.topic = format!("温度/{i}");
        r.event(&BrokerEvent::Message(m));
    }
    let stats = r.finish();
    assert!(stats.failure().is_none());
}

fn read_all(path: &Path) -> (Vec<BrokerEvent>, Reader) {
    let mut reader = Reader::open(path).expect("opens");
    let mut out = Vec::new();
    while let Some(events) = reader.next_events() {
        out.extend(events);
    }
    (out, reader)
}

#[test]
fn plain_zstd_and_gzip_read_back_whole() {
    let d = dir("kinds");
    for name in ["r.jsonl", "r.jsonl.zst", "r.jsonl.gz"] {
        let path = d.join(name);
        record(&path, 500, &RecordOptions::default());
        let first = std::fs::read(&path).expect("written");
        assert_eq!(
            Compression::sniff(&first),
            Compression::for_name(&path),
            "{name}"
        );
        let (events, reader) = read_all(&path);
        assert_eq!(events.len(), 500, "{name}: {:?}", reader.problem);
        assert!(reader.problem.is_none(), "{name}");
        assert_eq!(reader.header.as_ref().map(|h| h.version), Some(1));
        let BrokerEvent::Message(m) = &events[499] else {
            panic!()
        };
        assert_eq!(m.topic, "温度/499");
        assert_eq!(m.payload, hostile_message().payload);
    }
}

#[test]
fn rotated_parts_are_read_in_order() {
    let d = dir("parts");
    let path = d.join("r.jsonl");
    record(
        &path,
        3000,
        &RecordOptions {
            max_size: Some(100_000),
            packets: false,
        },
    );
    let files = parts(&path);
    assert!(files.len() >= 3, "{files:?}");
    let (events, reader) = read_all(&path);
    assert!(reader.problem.is_none(), "{:?}", reader.problem);
    let topics: Vec<String> = events
        .iter()
        .map(|e| match e {
            BrokerEvent::Message(m) => m.topic.clone(),
            _ => String::new(),
        })
        .collect();
    let expected: Vec<String> = (0..3000).map(|i| format!("温度/{i}")).collect();
    assert_eq!(topics, expected);
}

#[test]
fn a_cut_last_line_keeps_everything_before_it() {
    let d = dir("cut");
    let path = d.join("r.jsonl");
    record(&path, 10, &RecordOptions::default());
    let mut bytes = std::fs::read(&path).expect("written");
    bytes.truncate(bytes.len() - 20);
    std::fs::write(&path, &bytes).expect("cut");
    let (events, reader) = read_all(&path);
    assert_eq!(events.len(), 9);
    let p = reader.problem.expect("a problem");
    assert_eq!(p.line, 11, "the header is line 1: {p}");
    assert!(
        p.to_string()
            .contains("line 11: the last line is cut short"),
        "{p}"
    );
}

#[test]
fn a_damaged_compressed_tail_keeps_everything_before_it() {
    let d = dir("damaged");
    for name in ["r.jsonl.zst", "r.jsonl.gz"] {
        let path = d.join(name);
        record(&path, 2000, &RecordOptions::default());
        let mut bytes = std::fs::read(&path).expect("written");
        let keep = bytes.len() * 2 / 3;
        bytes.truncate(keep);
        std::fs::write(&path, &bytes).expect("cut");
        let (events, reader) = read_all(&path);
        assert!(
            events.len() > 100 && events.len() < 2000,
            "{name}: {}",
            events.len()
        );
        let p = reader.problem.expect("a problem");
        assert!(p.line > 100, "{name}: {p}");
    }
}

#[test]
fn a_file_that_is_not_a_recording_is_named_as_such() {
    let d = dir("not");
    let path = d.join("notes.txt");
    std::fs::write(&path, "hello\nworld\n").expect("written");
    let (events, reader) = read_all(&path);
    assert!(events.is_empty());
    let p = reader.problem.expect("a problem");
    assert!(
        p.to_string()
            .contains("line 1: this is not an mqscope recording"),
        "{p}"
    );
}

#[test]
fn sub_json_output_without_a_header_reads_and_newer_lines_stop_the_reading() {
    let d = dir("sub");
    let path = d.join("sub.jsonl");
    let mut f = std::fs::File::create(&path).expect("created");
    let m = serde_json::to_string(&crate::record::format::message_line(&hostile_message()))
        .expect("JSON");
    writeln!(f, "{m}").expect("written");
    writeln!(f).expect("blank lines are skipped");
    writeln!(f, "{m}").expect("written");
    writeln!(f, r#"{{"type":"hologram","ts":"2026-12-03T00:00:00Z"}}"#).expect("written");
    writeln!(f, "{m}").expect("written");
    drop(f);
    let (events, reader) = read_all(&path);
    assert_eq!(events.len(), 2);
    let p = reader.problem.expect("a problem");
    assert_eq!(p.line, 4);
    assert!(p.what.contains("newer format version"), "{p}");
}

#[test]
fn a_newer_header_warns_and_reads_on() {
    let d = dir("newer");
    let path = d.join("r.jsonl");
    let mut h = Header::new("mqtt://h", vec![], SystemTime::now(), false);
    h.version = 9;
    let m = serde_json::to_string(&crate::record::format::message_line(&hostile_message()))
        .expect("JSON");
    std::fs::write(&path, format!("{}\n{m}\n", h.to_line())).expect("written");
    let (events, reader) = read_all(&path);
    assert_eq!(events.len(), 1);
    assert!(
        reader.warnings[0].contains("format version 9"),
        "{:?}",
        reader.warnings
    );
}

/// A disk that cannot keep up (here a pipe nobody reads yet): lines are dropped and counted,
/// and recording an event never waits for the disk.
#[test]
fn a_disk_that_cannot_keep_up_costs_dropped_lines_never_a_stall() {
    let d = dir("slow");
    let fifo = d.join("slow.jsonl");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo");
    let (go, wait) = std::sync::mpsc::channel::<()>();
    let path = fifo.clone();
    let reader = std::thread::spawn(move || {
        let mut f = std::fs::File::open(&path).expect("the reading end");
        let _ = wait.recv();
        let mut sink = Vec::new();
        let _ = std::io::Read::read_to_end(&mut f, &mut sink);
        sink.len()
    });
    let header = Header::new("mqtt://h", vec![], SystemTime::now(), false);
    let mut r = Recorder::create(&fifo, &header, &RecordOptions::default()).expect("created");
    let m = hostile_message();
    let mut slowest = std::time::Duration::ZERO;
    for _ in 0..100_000 {
        let started = std::time::Instant::now();
        r.event(&BrokerEvent::Message(m.clone()));
        slowest = slowest.max(started.elapsed());
    }
    r.tick();
    let dropped = r.stats().dropped.load(std::sync::atomic::Ordering::Relaxed);
    assert!(dropped > 0, "a stuck disk drops lines");
    assert!(
        slowest < std::time::Duration::from_millis(100),
        "an event waited {slowest:?}"
    );
    go.send(()).expect("the reader waits");
    let stats = r.finish();
    let read = reader.join().expect("the reader");
    assert!(read > 0);
    assert_eq!(
        stats.lines.load(std::sync::atomic::Ordering::Relaxed) + dropped,
        100_000,
        "every line written or counted as dropped"
    );
}

#[test]
fn a_line_longer_than_the_limit_stops_the_reading_without_filling_memory() {
    let d = dir("long");
    let path = d.join("long.jsonl");
    let m = serde_json::to_string(&crate::record::format::message_line(&hostile_message()))
        .expect("JSON");
    let huge = "x".repeat(10_000);
    std::fs::write(&path, format!("{m}\n{huge}\n{m}\n")).expect("written");
    let mut reader = Reader::open(&path).expect("opens").with_max_line(4096);
    let mut events = 0;
    while let Some(e) = reader.next_events() {
        events += e.len();
    }
    assert_eq!(events, 1);
    let p = reader.problem.expect("a problem");
    assert_eq!(p.line, 2);
    assert!(p.what.contains("a line longer than 4 KiB"), "{p}");
}
