//! Rules and JSON Schema checks end to end: `watch --json` against mosquitto and rumqttd,
//! `--fail-on rule,schema_invalid`, `sub` with `--rule`, and bad rules and schemas refused
//! with the flag or config key, file, line and column (exit 2).

use std::io::Write;
use std::process::{Child, Stdio};
use std::time::Duration;

use mqscope::broker::MqttVersion;
use serde_json::Value;

use super::support::{TempDir, TestBroker};
use super::{Subscriber, mqscope, run};

/// `mqscope pub --lines -t TOPIC`: each line written is one message.
struct Lines(Child);

impl Lines {
    fn start(url: &str, topic: &str) -> Self {
        Self(
            mqscope()
                .args(["pub", "-b", url, "-q", "1", "-t", topic, "--lines"])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        )
    }

    fn send(&mut self, line: &str) {
        let stdin = self.0.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
        std::thread::sleep(Duration::from_millis(80));
    }
}

impl Drop for Lines {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const SCHEMA: &str = r#"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["battery"],
  "properties": {"battery": {"type": "number", "maximum": 100}}
}"#;

fn alerts(lines: &[String]) -> Vec<Value> {
    lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["kind"] == "rule" || v["kind"] == "schema_invalid")
        .collect()
}

#[test]
fn watch_json_reports_rules_firing_and_clearing_and_schema_failures_on_both_brokers() {
    let dir = TempDir::new("alerts-watch");
    let schema = dir.write("battery.json", SCHEMA);
    for broker in TestBroker::all() {
        let url = broker.url(MqttVersion::V5);
        let name = broker.name();
        let mut watch = Subscriber::spawn(
            &[
                "watch",
                "--json",
                "-b",
                &url,
                "-t",
                "plant/#",
                "--rule",
                "plant/+/温度: t > 80; name=boiler hot; severity=critical",
                "--schema",
                &format!("plant/+/status={}", schema.display()),
            ],
            "subscribed",
        );
        let mut temp = Lines::start(&url, "plant/été/温度");
        for t in ["70", "85.5", "90", "95", "60"] {
            temp.send(&format!(r#"{{"t":{t}}}"#));
        }
        let mut status = Lines::start(&url, "plant/été/status");
        status.send(r#"{"battery":50}"#);
        status.send(r#"{"battery":120}"#);
        status.send(r#"{"battery":130}"#);
        watch.wait_for("schema_invalid");
        let (out, code) = watch.signal("TERM");
        assert_eq!(code, Some(143), "{name}");
        let lines: Vec<String> = out.lines().map(str::to_string).collect();
        let found = alerts(&lines);
        let summary: Vec<(String, String)> = found
            .iter()
            .map(|a| {
                (
                    a["kind"].as_str().unwrap().to_string(),
                    a["topic"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("rule".to_string(), "plant/été/温度".to_string()),
                ("rule".to_string(), "plant/été/温度".to_string()),
                ("schema_invalid".to_string(), "plant/été/status".to_string()),
            ],
            "{name}: {found:#?}"
        );
        let (fired, cleared, invalid) = (&found[0], &found[1], &found[2]);
        assert_eq!(fired["rule"], "boiler hot");
        assert_eq!(fired["severity"], "critical");
        assert_eq!(fired["value"], 85.5);
        assert_eq!(fired["cleared"], false);
        assert_eq!(
            (cleared["cleared"].as_bool(), cleared["value"].as_i64()),
            (Some(true), Some(60))
        );
        assert_eq!(invalid["instance_path"], "/battery");
        assert_eq!(invalid["keyword"], "maximum");
        assert_eq!(
            invalid["detail"],
            "battery.json: /battery: 120 is greater than the maximum of 100"
        );
        assert!(
            invalid["schema"]
                .as_str()
                .unwrap()
                .ends_with("battery.json")
        );
    }
}

#[test]
fn fail_on_rule_exits_3_and_for_fires_from_the_clock_in_text() {
    let broker = TestBroker::all().remove(0);
    let url = broker.url(MqttVersion::V311);
    let watch = Subscriber::spawn(
        &[
            "watch",
            "-b",
            &url,
            "-V",
            "3.1.1",
            "-t",
            "#",
            "--rule",
            r#"dev/#: state == "alarm"; for=2s; name=stuck in alarm"#,
            "--fail-on",
            "rule,schema_invalid",
        ],
        "subscribed",
    );
    let mut p = Lines::start(&url, "dev/🚀/x");
    // A key that would clear a terminal, in the value the rule reads.
    p.send(r#"{"state":"alarm","note":"\u001b[2J"}"#);
    // No more messages: the rule fires from the clock after 2 s, and watch exits 3.
    let (out, code) = watch.finish(15);
    assert_eq!(code, Some(3), "{out}");
    let line = out
        .lines()
        .find(|l| l.contains(" rule "))
        .unwrap_or_default();
    assert!(line.contains("dev/🚀/x"), "{out}");
    assert!(line.contains("stuck in alarm [warning]"), "{out}");
    // The clock ticks each second: it fires between 2 and 3 s after the message.
    assert!(line.contains("held 2") || line.contains("held 3"), "{out}");
    assert!(!out.contains('\u{1b}'), "{out:?}");
}

#[test]
fn sub_with_a_rule_prints_its_alerts_among_the_messages() {
    let broker = TestBroker::all().remove(0);
    let url = broker.url(MqttVersion::V5);
    let mut sub = Subscriber::start(&["--json", "-b", &url, "-t", "t/#", "--rule", "t/#: v >= 3"]);
    let mut p = Lines::start(&url, "t/温度");
    for v in 1..=4 {
        p.send(&format!(r#"{{"v":{v}}}"#));
    }
    sub.wait_for(r#"v\":4"#);
    let kinds: Vec<String> = sub
        .stdout
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| match v["type"].as_str() {
            Some("message") => Some(format!("m{}", &v["payload"].as_str()?[5..6])),
            Some("anomaly") if v["kind"] == "rule" => Some("rule".into()),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, ["m1", "m2", "m3", "rule", "m4"], "{:?}", sub.stdout);
}

fn refused(args: &[&str], config: Option<&str>) -> String {
    let dir = TempDir::new("alerts-bad");
    let mut c = mqscope();
    if let Some(text) = config {
        c.env("MQSCOPE_CONFIG", dir.write("config.toml", text));
    }
    c.args(args);
    let out = run(c, b"", 10);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    err
}

#[test]
fn bad_rules_and_schemas_name_the_flag_or_key_file_line_and_column() {
    let err = refused(&["watch", "--rule", "plant/+/temp: t >"], None);
    assert!(
        err.contains("--rule") && err.contains("when at column 18") && err.contains('^'),
        "{err}"
    );
    let err = refused(&["watch", "--rule", "a: t > 1; severity=loud"], None);
    assert!(err.contains("info, warning, critical"), "{err}");

    let dir = TempDir::new("alerts-schemas");
    let remote = dir.write(
        "remote.json",
        "{\n  \"properties\": {\n    \"a\": {\"$ref\": \"https://example.com/a.json\"}\n  }\n}",
    );
    let err = refused(
        &["watch", "--schema", &format!("a/#={}", remote.display())],
        None,
    );
    assert!(
        err.contains("--schema")
            && err.contains("remote.json:3:19")
            && err.contains("never fetches"),
        "{err}"
    );
    let broken = dir.write("broken.json", "{\n  \"type\": \n}");
    let err = refused(
        &["watch", "--schema", &format!("a/#={}", broken.display())],
        None,
    );
    assert!(err.contains("broken.json:3:1: not JSON"), "{err}");
    let err = refused(&["watch", "--schema", "a/#=/nowhere/x.json"], None);
    assert!(err.contains("cannot read /nowhere/x.json"), "{err}");

    // The config file: the key, the file's line, the expression's column.
    let err = refused(
        &["watch", "-b", "mqtt://127.0.0.1:1"],
        Some("# alerts\n\n[[rules]]\nfilter = \"été/#\"\nwhen = \"t >> 3\"\n"),
    );
    assert!(
        err.contains("rules[0].when") && err.contains(":5:") && err.contains("column 4"),
        "{err}"
    );
    let err = refused(
        &["watch", "-b", "mqtt://127.0.0.1:1"],
        Some("[[schemas]]\nfilter = \"a/#\"\nschema = \"missing.json\"\n"),
    );
    assert!(
        err.contains("schemas[0].schema") && err.contains("missing.json"),
        "{err}"
    );
}

#[test]
fn rules_read_the_decoded_value_of_a_topic_with_a_decoder() {
    let broker = TestBroker::all().remove(0);
    let url = broker.url(MqttVersion::V5);
    let dir = TempDir::new("alerts-decoded");
    let mut sub = Subscriber::start(&[
        "--json",
        "-b",
        &url,
        "-t",
        "dev/#",
        "--decode",
        "dev/#=msgpack",
        "--rule",
        "dev/+/温度: t > 80; name=hot",
    ]);
    // MessagePack {"t": 90} and {"t": 20}: binary on the wire.
    for (name, bytes) in [
        ("hot.bin", [0x81, 0xa1, b't', 0x5a]),
        ("cool.bin", [0x81, 0xa1, b't', 0x14]),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        super::publish(&url, &["-t", "dev/été/温度", "-f", path.to_str().unwrap()]);
    }
    sub.wait_for(r#""cleared":true"#);
    let rules: Vec<Value> = sub
        .stdout
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["kind"] == "rule")
        .collect();
    assert_eq!(rules.len(), 2, "{:?}", sub.stdout);
    assert_eq!(
        (rules[0]["value"].as_i64(), rules[0]["cleared"].as_bool()),
        (Some(90), Some(false))
    );
    assert_eq!(
        (rules[1]["value"].as_i64(), rules[1]["cleared"].as_bool()),
        (Some(20), Some(true))
    );
}
