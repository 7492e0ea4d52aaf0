//! `record`, `replay` and `export` against real brokers: a mixed stream recorded from one
//! mosquitto and replayed into another arrives byte for byte and property for property;
//! timing holds at 1× and 10×; a recorder killed with -9 leaves a file every reader takes;
//! damaged files say what and where.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use mqscope::broker::{BrokerEvent, Message};
use mqscope::record::Reader;

use super::support::{Mosquitto, TempDir};
use super::{Subscriber, mqscope, publish, run};

/// Starts `mqscope record` and returns once it is subscribed.
fn recorder(url: &str, out: &Path, extra: &[&str]) -> Subscriber {
    let mut args = vec!["record", "-b", url, "-t", "#", "-q", "2", "-o"];
    let out = out.to_str().unwrap();
    args.push(out);
    args.extend_from_slice(extra);
    Subscriber::spawn(&args, "subscribed")
}

fn messages(path: &Path) -> (Vec<Message>, Reader) {
    let mut reader = Reader::open(path).unwrap();
    let mut out = Vec::new();
    while let Some(events) = reader.next_events() {
        out.extend(events.into_iter().filter_map(|e| match e {
            BrokerEvent::Message(m) => Some(m),
            _ => None,
        }));
    }
    (out, reader)
}

/// Waits until the recording on disk holds `n` messages (it is flushed twice a second).
fn wait_for_messages(path: &Path, n: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while std::time::Instant::now() < deadline {
        if path.exists() && messages(path).0.len() >= n {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{} never held {n} messages", path.display());
}

fn publish_mixed(url: &str, dir: &TempDir) {
    publish(
        url,
        &[
            "-t",
            "温度/室1",
            "-m",
            r#"{"t":21.5,"seq":1}"#,
            "-q",
            "1",
            "-r",
        ],
    );
    publish(
        url,
        &[
            "-t",
            "été/x",
            "-m",
            "bonjour, \"monde\"\nligne 2",
            "-q",
            "2",
            "--content-type",
            "text/plain; charset=été",
            "--user-property",
            "site=usine-温",
            "--user-property",
            "site=twice",
            "--correlation-data",
            "c-1",
            "--response-topic",
            "été/reply",
            "--message-expiry",
            "3600",
            "--payload-format",
            "utf8",
        ],
    );
    let bin = dir.path().join("bin");
    std::fs::write(&bin, [0xFFu8, 0x00, 0x7F, 0x1b, b'[']).unwrap();
    publish(
        url,
        &["-t", "bin/🙂", "-f", bin.to_str().unwrap(), "-q", "1"],
    );
    let big = dir.path().join("big");
    let payload: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&big, payload).unwrap();
    publish(
        url,
        &["-t", "big/1MB", "-f", big.to_str().unwrap(), "-q", "1"],
    );
    publish(url, &["-t", "text/plain", "-m", "just text"]);
}

/// What must survive a replay: everything but the expiry (which counts down) and the times.
fn essence(m: &Message) -> (String, Vec<u8>, u8, bool, String) {
    let mut props = m.properties.as_deref().cloned().unwrap_or_default();
    props.message_expiry = None;
    props.subscription_ids.clear();
    (
        m.topic.clone(),
        m.payload.to_vec(),
        m.qos,
        m.retain,
        format!("{props:?}"),
    )
}

#[test]
fn a_mixed_stream_replays_byte_for_byte_into_another_mosquitto() {
    let (a, b) = (Mosquitto::plain(), Mosquitto::plain());
    let dir = TempDir::new("record-roundtrip");
    let original = dir.path().join("a.jsonl.zst");
    let rec = recorder(&a.url(), &original, &[]);
    publish_mixed(&a.url(), &dir);
    wait_for_messages(&original, 5);
    let (err, code) = rec.signal("INT");
    assert_eq!(code, Some(130), "{err}");
    let (recorded, reader) = messages(&original);
    assert!(reader.problem.is_none(), "{:?}", reader.problem);
    assert_eq!(recorded.len(), 5);
    let header = reader.header.unwrap();
    assert_eq!(header.broker, a.url().replace("localhost", "127.0.0.1"));
    assert_eq!(header.filters, ["#"]);

    let copy = dir.path().join("b.jsonl");
    let rec_b = recorder(&b.url(), &copy, &[]);
    let mut cmd = mqscope();
    cmd.args([
        "replay",
        original.to_str().unwrap(),
        "-b",
        &b.url(),
        "--max",
    ]);
    let out = run(cmd, b"", 30);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("replayed 5 messages"), "{stderr}");
    assert!(stderr.contains("behind schedule p50"), "{stderr}");
    wait_for_messages(&copy, 5);
    let _ = rec_b.signal("TERM");
    let (replayed, _) = messages(&copy);

    let mut want: Vec<_> = recorded.iter().map(essence).collect();
    let mut got: Vec<_> = replayed.iter().map(essence).collect();
    want.sort();
    got.sort();
    assert_eq!(got, want);
    let expiry = |ms: &[Message]| {
        ms.iter()
            .find(|m| m.topic == "été/x")
            .and_then(|m| m.properties.as_ref()?.message_expiry)
    };
    let (before, after) = (expiry(&recorded).unwrap(), expiry(&replayed).unwrap());
    assert!(
        after <= before && after + 10 >= before,
        "{before} → {after}"
    );
    let big = replayed.iter().find(|m| m.topic == "big/1MB").unwrap();
    assert_eq!(big.payload.len(), 1_000_000);

    // The same recording as CSV, read back with a real CSV parser.
    let mut cmd = mqscope();
    cmd.args(["export", original.to_str().unwrap(), "--format", "csv"]);
    let out = run(cmd, b"", 30);
    assert!(out.status.success());
    let mut csv = csv::Reader::from_reader(out.stdout.as_slice());
    assert_eq!(
        csv.headers().unwrap(),
        vec![
            "ts",
            "topic",
            "qos",
            "retain",
            "size",
            "payload",
            "payload_encoding"
        ]
    );
    let rows: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 5);
    for (row, m) in rows.iter().zip(&recorded) {
        assert_eq!(&row[1], m.topic);
        let payload = if &row[6] == "text" {
            row[5].as_bytes().to_vec()
        } else {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD
                .decode(&row[5])
                .unwrap()
        };
        assert_eq!(payload, m.payload.to_vec(), "{}", m.topic);
        assert_eq!(row[4].parse::<usize>().unwrap(), m.payload.len());
    }
    // Fields as columns, with a filter on a non-ASCII topic.
    let mut cmd = mqscope();
    cmd.args([
        "export",
        original.to_str().unwrap(),
        "-t",
        "温度/#",
        "--field",
        "t",
        "--field",
        "seq",
    ]);
    let out = run(cmd, b"", 30);
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "ts,topic,t,seq");
    assert!(lines[1].ends_with(",温度/室1,21.5,1"), "{text}");
    assert_eq!(lines.len(), 2);
}

/// A recording written by hand: one message every `step_ms`.
fn synthetic(path: &Path, n: u64, step_ms: u64) {
    let t0 = SystemTime::now();
    let mut text = String::new();
    for i in 0..n {
        let m = Message {
            topic: format!("tick/été/{i}"),
            payload: bytes::Bytes::from(i.to_string()),
            qos: 0,
            retain: false,
            dup: false,
            properties: None,
            received: t0 + Duration::from_millis(i * step_ms),
            wire_size: 0,
        };
        text.push_str(&serde_json::to_string(&mqscope::record::format::message_line(&m)).unwrap());
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

fn replay_span(speed: &str, n: u64, step_ms: u64) -> Duration {
    let broker = Mosquitto::plain();
    let dir = TempDir::new(&format!("record-timing-{speed}"));
    let file = dir.path().join("ticks.jsonl");
    synthetic(&file, n, step_ms);
    let seen = dir.path().join("seen.jsonl");
    let rec = recorder(&broker.url(), &seen, &[]);
    let mut cmd = mqscope();
    cmd.args([
        "replay",
        file.to_str().unwrap(),
        "-b",
        &broker.url(),
        "--speed",
        speed,
    ]);
    let out = run(cmd, b"", 60);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_for_messages(&seen, usize::try_from(n).unwrap());
    let _ = rec.signal("TERM");
    let (got, _) = messages(&seen);
    let first = got.first().unwrap().received;
    let last = got.last().unwrap().received;
    last.duration_since(first).unwrap()
}

#[test]
fn replay_keeps_the_recorded_timing_at_1x_and_10x() {
    // 3 s of traffic at 1×, and 20 s of traffic at 10× (2 s): within 10 %.
    let span = replay_span("1", 16, 200);
    assert!(
        span >= Duration::from_millis(2700) && span <= Duration::from_millis(3300),
        "1×: {span:?}"
    );
    let span = replay_span("10", 21, 1000);
    assert!(
        span >= Duration::from_millis(1800) && span <= Duration::from_millis(2200),
        "10×: {span:?}"
    );
}

#[test]
fn a_recorder_killed_with_9_leaves_a_file_every_reader_takes() {
    let broker = Mosquitto::plain();
    let dir = TempDir::new("record-kill9");
    let file = dir.path().join("k.jsonl.zst");
    let rec = recorder(&broker.url(), &file, &["--packets"]);
    // A steady stream for 2.5 s: 150 messages 16 ms apart, replayed at 1×.
    let ticks = dir.path().join("ticks.jsonl");
    synthetic(&ticks, 150, 16);
    let mut cmd = mqscope();
    cmd.args(["replay", ticks.to_str().unwrap(), "-b", &broker.url()]);
    let out = run(cmd, b"", 30);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let killed_at = SystemTime::now();
    let _ = rec.signal("KILL");

    let (got, reader) = messages(&file);
    assert!(got.len() > 100, "{} messages survived", got.len());
    let problem = reader.problem.expect("the stream was never closed");
    assert!(problem.what.contains("not closed"), "{problem}");
    let newest = got.last().unwrap().received;
    let lost = killed_at.duration_since(newest).unwrap_or_default();
    assert!(lost < Duration::from_millis(1500), "lost the last {lost:?}");

    let mut cmd = mqscope();
    cmd.args(["export", file.to_str().unwrap(), "--format", "jsonl"]);
    let out = run(cmd, b"", 30);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("reading stopped early"), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().count(),
        got.len()
    );

    let other = Mosquitto::plain();
    let mut cmd = mqscope();
    cmd.args([
        "replay",
        file.to_str().unwrap(),
        "-b",
        &other.url(),
        "--max",
    ]);
    let out = run(cmd, b"", 30);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("replayed {} messages", got.len())),
        "{stderr}"
    );
}

fn fails_with(args: &[&str], needle: &str) {
    let mut cmd = mqscope();
    cmd.args(args);
    let out = run(cmd, b"", 20);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    assert!(stderr.contains(needle), "{args:?}: {stderr}");
}

#[test]
fn files_that_are_not_recordings_are_refused_with_the_line() {
    let dir = TempDir::new("record-bad");
    let notes = dir.write("notes.txt", "hello\n");
    let notes = notes.to_str().unwrap();
    fails_with(
        &["export", notes],
        "notes.txt: line 1: this is not an mqscope recording",
    );
    fails_with(
        &["replay", notes, "-b", "mqtt://127.0.0.1:1"],
        "line 1: this is not an mqscope recording",
    );
    fails_with(
        &["export", "/nonexistent/x.jsonl"],
        "cannot open /nonexistent/x.jsonl",
    );
    // A cut last line: what comes before is used, the cut line is named.
    let file: PathBuf = dir.path().join("cut.jsonl");
    synthetic(&file, 3, 10);
    let mut bytes = std::fs::read(&file).unwrap();
    bytes.truncate(bytes.len() - 5);
    std::fs::write(&file, bytes).unwrap();
    let mut cmd = mqscope();
    cmd.args(["export", file.to_str().unwrap()]);
    let out = run(cmd, b"", 20);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("line 3: the last line is cut short"),
        "{stderr}"
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().count(),
        3,
        "header + 2"
    );
}

#[test]
fn usage_errors_name_the_flag() {
    let mut cmd = mqscope();
    cmd.args(["replay", "x", "--speed", "0"]);
    let out = run(cmd, b"", 10);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--speed"));
    let mut cmd = mqscope();
    cmd.args(["export", "x", "--field", "a..b"]);
    let out = run(cmd, b"", 10);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected a key after `.`"));
    let mut cmd = mqscope();
    cmd.args(["record", "-o", "/nonexistent-dir/x.jsonl"]);
    let out = run(cmd, b"", 10);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
}

#[cfg(feature = "embedded-broker")]
#[test]
fn record_and_replay_work_against_rumqttd_too() {
    let ports = mqscope::demo::broker::start(None).unwrap();
    let url = format!("mqtt://127.0.0.1:{}", ports.v5);
    let dir = TempDir::new("record-rumqttd");
    let ticks = dir.path().join("ticks.jsonl");
    synthetic(&ticks, 200, 1);
    // Through a gzip recording made by the recorder itself: record a replay, then replay that.
    let first = dir.path().join("first.jsonl.gz");
    let rec = recorder(&url, &first, &[]);
    let mut cmd = mqscope();
    cmd.args(["replay", ticks.to_str().unwrap(), "-b", &url, "--max"]);
    let out = run(cmd, b"", 30);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_for_messages(&first, 200);
    let _ = rec.signal("INT");
    let second = dir.path().join("second.jsonl");
    let rec = recorder(&url, &second, &[]);
    let mut cmd = mqscope();
    cmd.args([
        "replay",
        first.to_str().unwrap(),
        "-b",
        &url,
        "--max",
        "--topic-prefix",
        "again/",
    ]);
    let out = run(cmd, b"", 30);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_for_messages(&second, 200);
    let _ = rec.signal("INT");
    let (got, _) = messages(&second);
    let topics: Vec<String> = got.iter().map(|m| m.topic.clone()).collect();
    let want: Vec<String> = (0..200).map(|i| format!("again/tick/été/{i}")).collect();
    assert_eq!(topics, want);
    assert!(
        got.iter()
            .enumerate()
            .all(|(i, m)| m.payload == i.to_string())
    );
}

#[test]
fn replay_into_a_3_1_1_session_drops_the_properties_with_one_warning() {
    let (a, b) = (Mosquitto::plain(), Mosquitto::plain());
    let dir = TempDir::new("record-v311");
    let file = dir.path().join("v5.jsonl");
    let rec = recorder(&a.url(), &file, &[]);
    for i in 0..3 {
        publish(
            &a.url(),
            &[
                "-t",
                &format!("été/{i}"),
                "-m",
                "x",
                "--user-property",
                "k=v",
            ],
        );
    }
    wait_for_messages(&file, 3);
    let _ = rec.signal("INT");
    let seen = dir.path().join("seen.jsonl");
    let rec = recorder(&b.url(), &seen, &[]);
    let mut cmd = mqscope();
    cmd.args([
        "replay",
        file.to_str().unwrap(),
        "-b",
        &b.url(),
        "--max",
        "-V",
        "3.1.1",
    ]);
    let out = run(cmd, b"", 30);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stderr.matches("are not replayed").count(), 1, "{stderr}");
    wait_for_messages(&seen, 3);
    let _ = rec.signal("INT");
    let (got, _) = messages(&seen);
    assert!(got.iter().all(|m| m.properties.is_none()), "{got:?}");
}

/// A disk that fails mid-recording (here a file-size limit: writes fail with EFBIG, as they
/// fail with ENOSPC on a full disk): the recorder stops, says why, and keeps the lines written.
#[test]
fn a_failing_disk_stops_the_recording_and_says_why() {
    let broker = Mosquitto::plain();
    let dir = TempDir::new("record-efbig");
    let file = dir.path().join("full.jsonl");
    let ticks = dir.path().join("ticks.jsonl");
    synthetic(&ticks, 3000, 1);
    let script = format!(
        "trap '' XFSZ; ulimit -f 100; exec {} record -b {} -t '#' -o {}",
        env!("CARGO_BIN_EXE_mqscope"),
        broker.url(),
        file.display()
    );
    let mut sh = std::process::Command::new("sh");
    sh.args(["-c", &script])
        .env("MQSCOPE_LOG_DIR", dir.path())
        .env("MQSCOPE_CONFIG", dir.path().join("none.toml"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = sh.spawn().unwrap();
    std::thread::sleep(Duration::from_millis(800));
    let mut cmd = mqscope();
    cmd.args([
        "replay",
        ticks.to_str().unwrap(),
        "-b",
        &broker.url(),
        "--max",
    ]);
    assert!(run(cmd, b"", 30).status.success());
    let out = super::wait(child, 20);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("File too large"), "{stderr}");
    assert!(stderr.contains("recording stopped"), "{stderr}");
    assert!(stderr.contains("before the disk failed"), "{stderr}");
    let (got, _) = messages(&file);
    assert!(
        got.len() > 100,
        "what was written stays readable: {}",
        got.len()
    );
}
