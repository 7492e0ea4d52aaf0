//! `mqscope watch` and `sub --anomalies` against real brokers (mosquitto and rumqttd): a
//! stream with a gap, a duplicate, a schema change and a silence, on a non-ASCII topic.

use std::io::Write;
use std::process::{Child, Stdio};
use std::time::Duration;

use mqscope::broker::MqttVersion;
use serde_json::Value;

use super::support::TestBroker;
use super::{Subscriber, mqscope, run};

/// `mqscope pub --lines` on one topic: each line written is one message, sent at once.
struct Publisher {
    child: Child,
}

impl Publisher {
    fn start(url: &str, topic: &str) -> Self {
        let child = mqscope()
            .args(["pub", "-b", url, "-q", "1", "-t", topic, "--lines"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Self { child }
    }

    fn send(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn anomalies(stdout: &[String]) -> Vec<Value> {
    stdout
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["type"] == "anomaly")
        .collect()
}

/// A steady stream, then: three lost, one repeated, a new schema, a pause of 7 s, one more.
fn script(p: &mut Publisher) {
    for seq in 0..8 {
        p.send(&format!(r#"{{"seq":{seq},"t":21.5}}"#));
        std::thread::sleep(Duration::from_millis(200));
    }
    p.send(r#"{"seq":11,"t":21.5}"#);
    std::thread::sleep(Duration::from_millis(200));
    p.send(r#"{"seq":11,"t":21.5}"#);
    std::thread::sleep(Duration::from_millis(200));
    p.send(r#"{"seq":12,"temp":21.5,"unit":"C"}"#);
    std::thread::sleep(Duration::from_millis(200));
    p.send(r#"{"seq":13,"temp":21.6,"unit":"C"}"#);
    std::thread::sleep(Duration::from_secs(7));
    p.send(r#"{"seq":14,"temp":21.7,"unit":"C"}"#);
}

#[test]
fn watch_json_reports_gap_duplicate_schema_silence_and_resume_on_both_brokers() {
    for broker in TestBroker::all() {
        let url = broker.url(MqttVersion::V5);
        let topic = "plant/温度/line-1";
        let mut watch = Subscriber::spawn(
            &["watch", "--json", "-b", &url, "-t", "plant/#"],
            "subscribed",
        );
        let mut p = Publisher::start(&url, topic);
        script(&mut p);
        watch.wait_for("\"resumed\"");
        let found = anomalies(&watch.stdout);
        let kinds: Vec<&str> = found.iter().map(|a| a["kind"].as_str().unwrap()).collect();
        assert_eq!(
            kinds,
            ["gap", "duplicate", "schema_changed", "silent", "resumed"],
            "{}: {found:#?}",
            broker.name()
        );
        assert!(found.iter().all(|a| a["topic"] == topic));
        let gap = &found[0];
        assert_eq!(
            (
                gap["from"].as_i64(),
                gap["to"].as_i64(),
                gap["missing"].as_i64()
            ),
            (Some(8), Some(10), Some(3))
        );
        assert_eq!(found[1]["seq"], 11);
        assert_eq!(found[2]["added"], serde_json::json!(["temp", "unit"]));
        assert_eq!(found[2]["removed"], serde_json::json!(["t"]));
        assert!(
            found[3]["silent_ms"].as_u64().unwrap() >= 5000,
            "{:?}",
            found[3]
        );
        assert!(
            found[4]["silent_ms"].as_u64().unwrap() >= 6500,
            "{:?}",
            found[4]
        );
        assert!(
            found
                .iter()
                .all(|a| a["ts"].as_str().is_some_and(|t| t.ends_with('Z')))
        );
        let (_, code) = watch.signal("TERM");
        assert_eq!(code, Some(143), "{}", broker.name());
    }
}

#[test]
fn fail_on_exits_3_at_the_first_such_anomaly_and_text_lines_are_escaped() {
    let broker = TestBroker::all().remove(0);
    let url = broker.url(MqttVersion::V5);
    let watch = Subscriber::spawn(
        &["watch", "-b", &url, "-t", "#", "--fail-on", "gap,reset"],
        "subscribed",
    );
    let mut p = Publisher::start(&url, "été/line");
    let mut lines: Vec<String> = (1..=6).map(|s| format!(r#"{{"counter":{s}}}"#)).collect();
    // A key from the device that would clear a terminal's screen.
    lines.push(r#"{"counter":7,"\u001b[2Jx":1}"#.into());
    lines.push(r#"{"counter":7,"\u001b[2Jx":1}"#.into());
    lines.push(r#"{"counter":9,"\u001b[2Jx":1}"#.into());
    lines.push(r#"{"counter":10,"\u001b[2Jx":1}"#.into());
    for line in &lines {
        p.send(line);
        std::thread::sleep(Duration::from_millis(100));
    }
    let (out, code) = watch.finish(10);
    assert_eq!(code, Some(3), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "stops at the gap: {out}");
    assert!(
        lines[0].contains(" schema_changed ") && lines[0].contains("été/line"),
        "{out}"
    );
    assert!(
        lines[1].contains(" duplicate ") && lines[1].ends_with("sequence 7 again, DUP not set"),
        "{out}"
    );
    assert!(
        lines[2].contains(" gap ") && lines[2].ends_with("1 missing: 8"),
        "{out}"
    );
    assert!(!out.contains('\u{1b}'), "escaped: {out:?}");
    assert!(
        lines[0].contains("added \\x1b[2Jx") || lines[0].contains("added \\e[2Jx"),
        "{out:?}"
    );
}

#[test]
fn sub_anomalies_interleaves_anomaly_lines_with_messages() {
    let broker = TestBroker::all().remove(0);
    let url = broker.url(MqttVersion::V5);
    let mut sub = Subscriber::start(&["--json", "--anomalies", "-b", &url, "-t", "line/#"]);
    let mut p = Publisher::start(&url, "line/🚀");
    for seq in [1, 2, 3, 4, 5, 6, 8, 9] {
        p.send(&format!(r#"{{"seq":{seq}}}"#));
        std::thread::sleep(Duration::from_millis(50));
    }
    sub.wait_for("\"anomaly\"");
    sub.wait_for(r#"seq\":9"#);
    let types: Vec<String> = sub
        .stdout
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["type"] != "connack" && v["type"] != "subscribed" && v["type"] != "connected")
        .filter(|v| v["type"] == "message" || v["type"] == "anomaly")
        .map(|v| v["type"].as_str().unwrap().to_string())
        .collect();
    // The anomaly follows the message that showed it.
    let at = types.iter().position(|t| t == "anomaly").unwrap();
    assert_eq!(at, 7, "{types:?}");
    assert_eq!(types.len(), 9, "{types:?}");
}

#[test]
fn bad_watch_flags_and_config_name_the_field() {
    let out = run(
        {
            let mut c = mqscope();
            c.args(["watch", "--fail-on", "gap,silence"]);
            c
        },
        b"",
        10,
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--fail-on")
            && err.contains("\"silence\" is not an anomaly kind: one of silent, resumed"),
        "{err}"
    );
    let dir = super::support::TempDir::new("watch-config");
    let path = dir.write(
        "config.toml",
        "[[watch]]\nfilter = \"plant/#\"\nrate_for = \"soon\"\n",
    );
    let mut c = mqscope();
    c.env("MQSCOPE_CONFIG", &path)
        .args(["watch", "-b", "mqtt://127.0.0.1:1"]);
    let out = run(c, b"", 10);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("watch[0].rate_for") && err.contains("not a duration") && err.contains(":3:"),
        "{err}"
    );
}
