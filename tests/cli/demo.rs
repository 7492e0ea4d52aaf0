//! `mqscope demo --no-tui` as another client sees it: `mqscope sub --json` gets every topic
//! family, retained metadata, the binary and large payloads intact, and MQTT 5 properties.

#![cfg(feature = "embedded-broker")]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::Stdio;

use base64::Engine as _;
use serde_json::Value;

use super::{mqscope, run};

/// `mqscope demo --no-tui`, and the line where it names its URLs.
fn headless_demo() -> (std::process::Child, String) {
    let mut demo = mqscope();
    demo.args(["demo", "--no-tui"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = demo.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let line = BufReader::new(stderr)
        .lines()
        .map(Result::unwrap)
        .find(|l| l.contains("mqtt://"))
        .expect("the demo prints its URLs");
    (child, line)
}

#[test]
fn sub_json_against_the_headless_demo_sees_every_family() {
    let (mut child, line) = headless_demo();
    let at = line.find("mqtt://").unwrap();
    let url = line[at..]
        .split_whitespace()
        .next()
        .unwrap()
        .trim_end_matches(',');
    std::thread::sleep(std::time::Duration::from_millis(2500));

    let mut sub = mqscope();
    sub.args(["sub", "-b", url, "-t", "#", "--json", "--events", "-W", "3"]);
    let out = run(sub, b"", 20);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(out.status.code(), Some(27), "ends on -W");

    let mut last: BTreeMap<String, Value> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        if v["type"] != "message" {
            continue;
        }
        last.insert(v["topic"].as_str().unwrap().to_string(), v);
    }
    for family in [
        "building/",
        "devices/",
        "cameras/",
        "commands/",
        "rpc/",
        "telemetry/",
    ] {
        assert!(
            last.keys().any(|t| t.starts_with(family)),
            "{family} missing: {:?}",
            last.keys()
        );
    }
    assert_eq!(last["devices/thermostat-5/meta"]["retain"], true);
    let raw = base64::engine::general_purpose::STANDARD
        .decode(
            last["devices/sensor-7/raw"]["payload_b64"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(raw.len(), 16, "binary record intact");
    let snapshot = base64::engine::general_purpose::STANDARD
        .decode(
            last["cameras/door-1/snapshot"]["payload_b64"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(
        snapshot,
        mqscope::demo::fleet::snapshot(1),
        "200 KB snapshot intact"
    );
    let props = &last["commands/thermostat-5/set"]["properties"];
    assert_eq!(props["content_type"], "application/json");
    assert_eq!(
        last["rpc/resp/hmi-2"]["properties"]["correlation_data"]
            .as_str()
            .map(|s| s.starts_with("req-")),
        Some(true)
    );
}

#[test]
fn the_demo_starts_without_an_error_in_its_log() {
    // Its readiness check used to connect without CONNECT: rumqttd logged an ERROR a
    // first-time user saw on the demo's first screen.
    let logs = super::support::TempDir::new("demo-logs");
    let mut demo = mqscope();
    demo.env("MQSCOPE_LOG_DIR", logs.path())
        .args(["demo", "--no-tui"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = demo.spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_secs(3));
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(143), "ended by SIGTERM");
    let mut text = String::new();
    for entry in std::fs::read_dir(logs.path()).unwrap() {
        text.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default());
    }
    assert!(
        text.contains("rumqttd"),
        "the broker logged its start:\n{text}"
    );
    assert!(
        !text.lines().any(|l| l.contains(" ERROR ")),
        "no ERROR at start:\n{text}"
    );
}

/// rumqttd 0.20's router panics on a topic that starts with a multi-byte character; the
/// demo's fault proxy closes such a connection instead, and the broker goes on routing.
#[test]
fn a_topic_rumqttd_would_crash_on_leaves_the_demo_running() {
    let (mut child, line) = headless_demo();
    let marker = "through the fault schedule: ";
    let at = line
        .find(marker)
        .expect("the demo names the fault schedule's URL");
    let faulty = line[at + marker.len()..].trim().to_string();
    let mut publish = mqscope();
    publish.args([
        "pub", "-b", &faulty, "-t", "温度/x", "-m", "21", "-q", "1", "-V", "5",
    ]);
    let _ = run(publish, b"", 20);
    // Still routing: the fleet's messages arrive through the same port.
    let mut sub = mqscope();
    sub.args([
        "sub", "-b", &faulty, "-t", "#", "-C", "3", "-W", "10", "-V", "5",
    ]);
    let out = run(sub, b"", 20);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 3);
}
