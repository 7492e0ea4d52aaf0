//! Decoders end to end: payloads made by independent encoders (prost-derive's output in
//! `tests/fixtures/proto/telemetry.bin`, rmp-serde, ciborium), published through real brokers
//! (mosquitto and rumqttd) on non-ASCII topics, read back by `sub --json`, `sub` and
//! `decode`; and the errors a user meets first.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use mqscope::broker::MqttVersion;
use serde_json::{Value, json};

use super::support::{TempDir, TestBroker};
use super::{Subscriber, mqscope, run};

/// The binary payload and the broken .proto.
fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/proto")
}

/// The schemas: the demo's, which the tests use too.
fn schemas() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/proto")
}

fn proto_spec(filter: &str) -> String {
    format!(
        "{filter}=protobuf:{}:plant.v1.Telemetry",
        schemas().join("plant/v1/telemetry.proto").display()
    )
}

#[derive(serde::Serialize)]
struct Reading {
    name: String,
    temp: f64,
    ok: bool,
}

fn reading() -> Reading {
    Reading {
        name: "capteur-été".into(),
        temp: 21.5,
        ok: true,
    }
}

/// NDATA with two metrics by alias and seq 17, written field by field.
fn ndata() -> Vec<u8> {
    let mut p = vec![0x08, 0x96, 0x01];
    for (alias, v) in [(1u8, 20u8), (2, 7)] {
        let m = [0x10, alias, 0x20, 3, 0x50, v];
        p.push(0x12);
        p.push(6);
        p.extend(m);
    }
    p.extend([0x18, 17]);
    p
}

fn publish(url: &str, topic: &str, payload: &[u8], dir: &TempDir) {
    let file = dir.path().join("payload.bin");
    std::fs::write(&file, payload).unwrap();
    publish_with(url, topic, &["-f", file.to_str().unwrap()]);
}

/// `mqscope pub` at QoS 1 with more arguments; it must succeed.
fn publish_with(url: &str, topic: &str, more: &[&str]) {
    let mut c = mqscope();
    c.args(["pub", "-b", url, "-q", "1", "-t", topic])
        .args(more);
    let out = run(c, b"", 10);
    assert!(
        out.status.success(),
        "{topic}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The message lines of `sub --json` output.
fn messages(out: &str) -> Vec<Value> {
    out.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["type"] == "message")
        .collect()
}

#[test]
fn sub_json_adds_the_decoded_value_on_both_brokers() {
    let dir = TempDir::new("decode-sub");
    let packed = rmp_serde::to_vec_named(&reading()).unwrap();
    let mut cbor = Vec::new();
    ciborium::into_writer(&reading(), &mut cbor).unwrap();
    let cbor64 = base64::engine::general_purpose::STANDARD.encode(&cbor);
    let telemetry = std::fs::read(fixtures().join("telemetry.bin")).unwrap();
    for broker in TestBroker::all() {
        let url = broker.url(MqttVersion::V5);
        let pb = proto_spec("plant/+/pb");
        let proto_path = schemas().display().to_string();
        let mut sub = Subscriber::start(&[
            "--json",
            "-b",
            &url,
            "-t",
            "plant/#",
            "-t",
            "spBv1.0/#",
            "--decode",
            &pb,
            "--proto-path",
            &proto_path,
            "--decode",
            "plant/+/mp=msgpack",
            "--decode",
            "plant/+/cb=base64,cbor",
            "-C",
            "5",
        ]);
        publish(&url, "plant/温度/pb", &telemetry, &dir);
        publish(&url, "plant/été/mp", &packed, &dir);
        publish(&url, "plant/🔥/cb", cbor64.as_bytes(), &dir);
        publish(&url, "plant/x/mp", b"\xc1 not msgpack", &dir);
        publish(&url, "spBv1.0/g1/NDATA/edge-1", &ndata(), &dir);
        sub.wait_for("spBv1.0");
        let (out, code) = sub.finish(10);
        assert_eq!(code, Some(0), "{}: {out}", broker.name());
        let lines = messages(&out);
        let by_topic = |t: &str| lines.iter().find(|v| v["topic"] == t).unwrap().clone();
        let pb = by_topic("plant/温度/pb");
        assert_eq!(pb["decoder"], "protobuf plant.v1.Telemetry", "{pb}");
        assert_eq!(pb["decoded"]["device"], "pompe-7/été");
        assert_eq!(pb["decoded"]["state"], "RUNNING");
        assert_eq!(pb["decoded"]["at"], "2026-09-21T14:13:20.500Z");
        assert_eq!(pb["decoded"]["labels"], json!({"zone": "温度"}));
        assert_eq!(pb["decoded"]["#99"], 7);
        // The payload as received is still there.
        let raw = base64::engine::general_purpose::STANDARD
            .decode(pb["payload_b64"].as_str().unwrap())
            .unwrap();
        assert_eq!(raw, telemetry);
        let expected = json!({"name": "capteur-été", "temp": 21.5, "ok": true});
        assert_eq!(by_topic("plant/été/mp")["decoded"], expected);
        let cb = by_topic("plant/🔥/cb");
        assert_eq!(cb["decoder"], "base64,cbor");
        assert_eq!(cb["decoded"], expected);
        let bad = by_topic("plant/x/mp");
        assert!(
            bad["decode_error"]
                .as_str()
                .is_some_and(|e| e.starts_with("not MessagePack")),
            "{bad}"
        );
        assert!(bad.get("decoded").is_none());
        let sp = by_topic("spBv1.0/g1/NDATA/edge-1");
        assert_eq!(sp["decoder"], "Sparkplug B");
        assert_eq!(sp["decoded"]["seq"], 17);
    }
}

#[test]
fn sub_text_prints_the_decoded_value_as_one_json_line() {
    let dir = TempDir::new("decode-text");
    let broker = TestBroker::all().remove(0);
    let url = broker.url(MqttVersion::V5);
    let sub = Subscriber::start(&["-b", &url, "-t", "été/#", "--decode", "msgpack", "-C", "1"]);
    publish(
        &url,
        "été/1",
        &rmp_serde::to_vec_named(&reading()).unwrap(),
        &dir,
    );
    let (out, code) = sub.finish(10);
    assert_eq!(code, Some(0));
    assert_eq!(
        out,
        "été/1 {\"name\":\"capteur-été\",\"temp\":21.5,\"ok\":true}\n"
    );
}

#[test]
fn decode_reads_a_file_or_stdin_with_a_flag_or_the_config_mapping() {
    let telemetry = std::fs::read(fixtures().join("telemetry.bin")).unwrap();
    let proto_path = schemas().display().to_string();
    // A flag, a file.
    let out = run(
        {
            let mut c = mqscope();
            c.args([
                "decode",
                "--compact",
                "--proto-path",
                &proto_path,
                "--decode",
            ])
            .arg(proto_spec("#"))
            .arg(fixtures().join("telemetry.bin"));
            c
        },
        b"",
        10,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["temperature"], json!({"value": 21.5, "unit": "CELSIUS"}));
    // The config file's mapping for a topic, the .proto relative to the file, stdin.
    let dir = TempDir::new("decode-config");
    std::fs::create_dir_all(dir.path().join("protos")).unwrap();
    for f in ["plant/v1/telemetry.proto", "plant/common/units.proto"] {
        let to = dir.path().join("protos").join(f);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(schemas().join(f), to).unwrap();
    }
    let config = dir.write(
        "config.toml",
        "[[decoders]]\nfilter = \"usine/+/télémétrie\"\n\
         decoder = \"protobuf:protos/plant/v1/telemetry.proto:plant.v1.Telemetry\"\n\
         proto_path = [\"protos\"]\n",
    );
    let out = run(
        {
            let mut c = mqscope();
            c.env("MQSCOPE_CONFIG", &config)
                .args(["decode", "-t", "usine/7/télémétrie", "-"]);
            c
        },
        &telemetry,
        10,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["device"], "pompe-7/été");
    // Garbage: exit 1, the error names the source and the decoder.
    let out = run(
        {
            let mut c = mqscope();
            c.args(["decode", "--decode", "cbor"]);
            c
        },
        b"\xff\xff",
        10,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("stdin (cbor): not CBOR"), "{err}");
}

#[test]
fn bad_mappings_are_usage_errors_that_name_the_flag_or_key() {
    let expect = |args: &[&str], env: Option<&Path>, needle: &str| {
        let mut c = mqscope();
        c.args(args);
        if let Some(config) = env {
            c.env("MQSCOPE_CONFIG", config);
        }
        let out = run(c, b"", 10);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    };
    let broken = format!(
        "protobuf:{}:broken.M",
        fixtures().join("broken.proto").display()
    );
    expect(&["sub", "--decode", &broken], None, "--decode \"protobuf:");
    expect(
        &["sub", "--decode", &broken],
        None,
        "broken.proto:5:3: expected ';'",
    );
    expect(
        &["sub", "--decode", "a/#=yaml"],
        None,
        "\"yaml\" is not a decoder",
    );
    expect(
        &["decode", "--decode", "a/#/b=cbor"],
        None,
        "is not a topic filter",
    );
    expect(&["decode"], None, "say how to decode");
    let dir = TempDir::new("decode-bad-config");
    let config = dir.write(
        "config.toml",
        "[[decoders]]\nfilter = \"a/#\"\ndecoder = \"cbor,msgpack\"\n",
    );
    expect(
        &["decode", "-t", "a/b"],
        Some(&config),
        "decoders[0].decoder",
    );
    expect(&["decode", "-t", "a/b"], Some(&config), "config.toml:3:11");
    let config = dir.write(
        "config.toml",
        "[profiles.p]\nurl = \"mqtt://127.0.0.1:1\"\n[[profiles.p.decoders]]\nfilter = \"a/#\"\n\
         decoder = \"protobuf:missing.proto:a.B\"\n",
    );
    expect(
        &["decode", "-P", "p", "-t", "a/b"],
        Some(&config),
        "profiles.p.decoders[0].decoder: ",
    );
    expect(
        &["decode", "-P", "p", "-t", "a/b"],
        Some(&config),
        "missing.proto: no such file",
    );
}

#[test]
fn pub_encode_and_sub_decode_round_trip_on_both_brokers() {
    let proto_path = schemas().display().to_string();
    let proto = format!(
        "protobuf:{}:plant.v1.Telemetry",
        schemas().join("plant/v1/telemetry.proto").display()
    );
    let json =
        r#"{"device":"été-1","temperature":{"value":3.5,"unit":"BAR"},"labels":{"温度":"x"}}"#;
    let cases: [(&str, &str, &str); 5] = [
        ("rt/pb", proto.as_str(), json),
        ("rt/mp", "msgpack", json),
        ("rt/cb", "cbor", json),
        ("rt/b64", "base64,cbor", json),
        ("rt/hex", "hex", "de ad be ef"),
    ];
    for broker in TestBroker::all() {
        let url = broker.url(MqttVersion::V5);
        let mut args = vec![
            "--json".to_string(),
            "-b".into(),
            url.clone(),
            "-t".into(),
            "rt/#".into(),
            "--proto-path".into(),
            proto_path.clone(),
            "-C".into(),
            "5".into(),
        ];
        for (topic, kind, _) in &cases {
            let kind = if *kind == "hex" { "msgpack" } else { kind };
            args.push("--decode".into());
            args.push(format!("{topic}={kind}"));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let sub = Subscriber::start(&args);
        for (topic, kind, payload) in &cases {
            let more = ["--proto-path", &proto_path, "--encode", kind, "-m", payload];
            publish_with(&url, topic, &more);
        }
        let (out, code) = sub.finish(10);
        assert_eq!(code, Some(0), "{}: {out}", broker.name());
        let lines = messages(&out);
        let by_topic = |t: &str| lines.iter().find(|v| v["topic"] == t).unwrap().clone();
        let want: Value = serde_json::from_str(json).unwrap();
        for topic in ["rt/mp", "rt/cb", "rt/b64"] {
            assert_eq!(by_topic(topic)["decoded"], want, "{topic}");
        }
        let pb = by_topic("rt/pb");
        assert_eq!(pb["decoded"]["device"], "été-1");
        assert_eq!(pb["decoded"]["temperature"]["unit"], "BAR");
        assert_eq!(pb["decoded"]["labels"]["温度"], "x");
        // The hex payload went out as the four bytes it spells (0xde is not MessagePack).
        let hex = by_topic("rt/hex");
        assert_eq!(hex["payload_b64"], "3q2+7w==");
    }
}

#[test]
fn pub_encode_errors_are_usage_errors_before_connecting() {
    let out = run(
        {
            let mut c = mqscope();
            c.args([
                "pub",
                "-b",
                "mqtt://127.0.0.1:1",
                "-t",
                "a",
                "--encode",
                "cbor",
                "-m",
                "{not json",
            ]);
            c
        },
        b"",
        10,
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--encode cbor: not JSON"), "{err}");
    let out = run(
        {
            let mut c = mqscope();
            c.args(["pub", "-t", "a", "--encode", "a/#=cbor", "-m", "{}"]);
            c
        },
        b"",
        10,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--encode takes a kind only"));
}

#[test]
fn a_sparkplug_sequence_end_to_end_on_both_brokers() {
    let steps: [(&str, &str); 6] = [
        (
            "spBv1.0/usine-été/NBIRTH/nœud-1",
            r#"{"seq":0,"metrics":[{"name":"bdSeq","datatype":4,"long_value":1},{"name":"Température","alias":1,"datatype":10,"double_value":20.5}]}"#,
        ),
        (
            "spBv1.0/usine-été/NDATA/nœud-1",
            r#"{"seq":1,"metrics":[{"alias":1,"double_value":21.5}]}"#,
        ),
        (
            "spBv1.0/usine-été/DBIRTH/nœud-1/presse",
            r#"{"seq":2,"metrics":[{"name":"Running","alias":5,"datatype":11,"boolean_value":true}]}"#,
        ),
        (
            "spBv1.0/usine-été/DDATA/nœud-1/presse",
            r#"{"seq":3,"metrics":[{"alias":5,"boolean_value":false}]}"#,
        ),
        (
            "spBv1.0/usine-été/NDATA/nœud-1",
            r#"{"seq":6,"metrics":[{"alias":1,"double_value":22.5}]}"#,
        ),
        (
            "spBv1.0/usine-été/NDEATH/nœud-1",
            r#"{"metrics":[{"name":"bdSeq","datatype":4,"long_value":1}]}"#,
        ),
    ];
    for broker in TestBroker::all() {
        let url = broker.url(MqttVersion::V5);
        let sub = Subscriber::start(&["--json", "-b", &url, "-t", "spBv1.0/#", "-C", "6"]);
        for (topic, json) in &steps {
            publish_with(&url, topic, &["--encode", "sparkplug", "-m", json]);
        }
        let (out, code) = sub.finish(10);
        assert_eq!(code, Some(0), "{}: {out}", broker.name());
        let lines = messages(&out);
        assert_eq!(lines.len(), 6, "{out}");
        assert!(lines.iter().all(|l| l["decoder"] == "Sparkplug B"));
        // Data by alias, named from the births.
        let metric = &lines[1]["decoded"]["metrics"][0];
        assert_eq!(metric["name"], "Température", "{metric}");
        assert_eq!(metric["datatype_name"], "Double");
        assert_eq!(lines[3]["decoded"]["metrics"][0]["name"], "Running");
        // seq 4 and 5 never came.
        assert_eq!(
            lines[4]["sparkplug_seq_gap"],
            json!({"expected": 4, "got": 6}),
            "{}",
            lines[4]
        );
        assert!(
            lines
                .iter()
                .filter(|l| l.get("sparkplug_seq_gap").is_some())
                .count()
                == 1
        );
    }
}

#[test]
fn where_and_field_see_the_decoded_value_on_both_brokers() {
    let dir = TempDir::new("decode-where");
    let telemetry = std::fs::read(fixtures().join("telemetry.bin")).unwrap();
    for broker in TestBroker::all() {
        let url = broker.url(MqttVersion::V5);
        let pb = proto_spec("plant/+/pb");
        let proto_path = schemas().display().to_string();
        let sub = Subscriber::start(&[
            "-b",
            &url,
            "-t",
            "plant/#",
            "--decode",
            &pb,
            "--proto-path",
            &proto_path,
            "--where",
            "device ~ \"été\"",
            "--field",
            "device",
            "-C",
            "1",
        ]);
        publish_with(&url, "plant/a/json", &["-m", r#"{"device":"other"}"#]);
        publish(&url, "plant/温度/pb", &telemetry, &dir);
        let (out, code) = sub.finish(10);
        assert_eq!(code, Some(0), "{}: {out}", broker.name());
        assert_eq!(out, "plant/温度/pb pompe-7/été\n", "{}", broker.name());
    }
}
