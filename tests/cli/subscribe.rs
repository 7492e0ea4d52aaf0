//! `mqscope sub` against a real mosquitto: text, JSON, counts, timeouts, closed pipes.

use serde_json::Value;

use super::support::{Mosquitto, free_port};
use super::{Subscriber, mqscope, publish, run};

#[test]
fn text_output_is_topic_space_payload() {
    let broker = Mosquitto::plain();
    let sub = Subscriber::start(&["-b", &broker.url(), "-t", "s/#", "-C", "2"]);
    publish(&broker.url(), &["-t", "s/a", "-m", "hello world"]);
    publish(
        &broker.url(),
        &["-t", "s/b", "-m", "{\"t\":21.5}", "-q", "1"],
    );
    let (out, code) = sub.finish(10);
    assert_eq!(out, "s/a hello world\ns/b {\"t\":21.5}\n");
    assert_eq!(code, Some(0));
}

#[test]
fn json_lines_with_events_properties_and_binary() {
    let broker = Mosquitto::plain();
    let sub = Subscriber::start(&[
        "-b",
        &broker.url(),
        "-t",
        "j/#",
        "--json",
        "-C",
        "2",
        "-q",
        "1",
    ]);
    publish(
        &broker.url(),
        &[
            "-t",
            "j/v5",
            "-m",
            "on",
            "-q",
            "1",
            "--content-type",
            "text/plain",
            "--user-property",
            "site=a",
            "--correlation-data",
            "c-1",
            "--response-topic",
            "j/reply",
        ],
    );
    let bin = std::env::temp_dir().join(format!("mqscope-bin-{}", std::process::id()));
    std::fs::write(&bin, [0xFFu8, 0x00, 0x7F]).unwrap();
    publish(&broker.url(), &["-t", "j/bin", "-f", bin.to_str().unwrap()]);
    let _ = std::fs::remove_file(bin);
    let (out, code) = sub.finish(10);
    assert_eq!(code, Some(0));
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let events: Vec<&str> = lines
        .iter()
        .filter(|v| v["type"] == "connection")
        .map(|v| v["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        [
            "connecting",
            "dns",
            "tcp",
            "connect_sent",
            "connack",
            "subscribed"
        ]
    );
    let messages: Vec<&Value> = lines.iter().filter(|v| v["type"] == "message").collect();
    assert_eq!(messages[0]["topic"], "j/v5");
    assert_eq!(messages[0]["payload"], "on");
    assert_eq!(messages[0]["qos"], 1);
    assert_eq!(messages[0]["properties"]["content_type"], "text/plain");
    assert_eq!(messages[0]["properties"]["user_properties"][0][1], "a");
    assert_eq!(messages[0]["properties"]["correlation_data"], "c-1");
    assert_eq!(messages[0]["properties"]["response_topic"], "j/reply");
    assert_eq!(messages[1]["payload_b64"], "/wB/");
    assert!(messages[1].get("payload").is_none());
    assert!(messages[0]["ts"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn timeout_holds_when_the_broker_never_answers_connect() {
    // Accepts TCP and reads, but never sends CONNACK.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in silent.incoming().flatten() {
            held.push(stream);
        }
    });
    let mut cmd = mqscope();
    cmd.args([
        "sub",
        "-b",
        &format!("mqtt://127.0.0.1:{port}"),
        "-t",
        "#",
        "-W",
        "1",
    ]);
    let out = run(cmd, b"", 10);
    assert_eq!(
        out.status.code(),
        Some(27),
        "-W counts from the TCP connection"
    );
}

#[test]
fn timeout_exits_27_after_connecting() {
    let broker = Mosquitto::plain();
    let mut cmd = mqscope();
    cmd.args(["sub", "-b", &broker.url(), "-t", "quiet/#", "-W", "1"]);
    let out = run(cmd, b"", 10);
    assert_eq!(out.status.code(), Some(27));
}

#[test]
fn closed_stdout_ends_quietly() {
    let broker = Mosquitto::plain();
    for i in 0..50 {
        publish(
            &broker.url(),
            &["-t", &format!("many/{i}"), "-m", "x", "-r"],
        );
    }
    // `| head -1`: stdout closes after one line.
    let script = format!(
        "{} sub -b {} -t 'many/#' | head -1; exit ${{PIPESTATUS[0]}}",
        env!("CARGO_BIN_EXE_mqscope"),
        broker.url()
    );
    let mut cmd = std::process::Command::new("bash");
    cmd.args(["-c", &script])
        .env("MQSCOPE_LOG_DIR", std::env::temp_dir());
    let out = run(cmd, b"", 10);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("error"));
}

#[test]
fn retained_only_stops_at_the_first_live_message() {
    let broker = Mosquitto::plain();
    publish(&broker.url(), &["-t", "r/1", "-m", "kept", "-r"]);
    let sub = Subscriber::start(&["-b", &broker.url(), "-t", "r/#", "--retained-only"]);
    publish(&broker.url(), &["-t", "r/2", "-m", "live"]);
    let (out, code) = sub.finish(10);
    assert_eq!(out, "r/1 kept\n");
    assert_eq!(code, Some(0));
}

#[test]
fn unreachable_broker_gives_up_with_cause_and_hint() {
    let mut cmd = mqscope();
    let url = format!("mqtt://127.0.0.1:{}", free_port());
    cmd.args(["sub", "-b", &url, "--max-attempts", "2"]);
    let out = run(cmd, b"", 10);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("[tcp_refused]"), "{err}");
    assert!(err.contains("retrying in"), "{err}");
    assert!(err.contains("hint: check that the broker runs"), "{err}");
}
