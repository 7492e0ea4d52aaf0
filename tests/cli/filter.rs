//! `sub --where` and `sub --field` against mosquitto, on non-ASCII topics.

use serde_json::Value;

use super::support::Mosquitto;
use super::{Subscriber, mqscope, publish, run};

fn publish_plant(url: &str) {
    for (topic, payload) in [
        (
            "usine/温度/室1",
            r#"{"temp":31.5,"status":"error","meta":{"unit":"C"}}"#,
        ),
        ("usine/温度/室2", r#"{"temp":18,"status":"ok"}"#),
        ("usine/été/x", "not json at all"),
        (
            "usine/温度/室3",
            r#"{"temp":"35","status":"error","online":false}"#,
        ),
    ] {
        publish(url, &["-t", topic, "-m", payload]);
    }
}

#[test]
fn where_prints_only_matching_messages_and_field_only_the_values() {
    let broker = Mosquitto::plain();
    let sub = Subscriber::start(&[
        "-b",
        &broker.url(),
        "-t",
        "usine/#",
        "--where",
        "temp > 30 and status == \"error\"",
        "-C",
        "2",
    ]);
    publish_plant(&broker.url());
    let (out, code) = sub.finish(10);
    assert_eq!(code, Some(0));
    let topics: Vec<&str> = out.lines().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(topics, ["usine/温度/室1", "usine/温度/室3"], "{out}");

    let sub = Subscriber::start(&[
        "-b",
        &broker.url(),
        "-t",
        "usine/#",
        "--field",
        "temp",
        "--field",
        "meta.unit",
        "-C",
        "4",
    ]);
    publish_plant(&broker.url());
    let (out, _) = sub.finish(10);
    assert_eq!(
        out,
        "usine/温度/室1 31.5 C\nusine/温度/室2 18 null\nusine/été/x null null\nusine/温度/室3 35 null\n"
    );

    let sub = Subscriber::start(&[
        "-b",
        &broker.url(),
        "-t",
        "usine/#",
        "--json",
        "--where",
        "topic ~ \"été\" or online == false",
        "--field",
        "status",
        "-C",
        "2",
    ]);
    publish_plant(&broker.url());
    let (out, _) = sub.finish(10);
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &Value| v["type"] == "message")
        .collect();
    assert_eq!(lines[0]["topic"], "usine/été/x");
    assert_eq!(lines[0]["fields"]["status"], Value::Null);
    assert_eq!(lines[1]["topic"], "usine/温度/室3");
    assert_eq!(lines[1]["fields"]["status"], "error");
    assert_eq!(
        lines[1]["payload"],
        r#"{"temp":"35","status":"error","online":false}"#
    );
}

#[test]
fn a_bad_expression_is_a_usage_error_pointing_at_the_column() {
    let mut cmd = mqscope();
    cmd.args(["sub", "--where", "temp > 3 xor 4"]);
    let out = run(cmd, b"", 10);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--where <EXPR>': column 10: `x` here: expected `and`, `or` or the end"),
        "{stderr}"
    );
    assert!(
        stderr.contains("    temp > 3 xor 4\n             ^"),
        "{stderr}"
    );
}
