//! `mqscope doctor` as a script uses it: exit codes and the JSON report.

use serde_json::Value;

use super::support::{Mosquitto, free_port};
use super::{mqscope, run};

#[test]
fn ok_exits_0_and_a_failure_exits_1_with_a_json_verdict() {
    let broker = Mosquitto::plain();
    let mut cmd = mqscope();
    cmd.args(["doctor", "-b", &broker.url()]);
    let out = run(cmd, b"", 20);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("verdict: ok"), "{text}");
    assert!(!text.contains('\u{1b}'), "no colours into a pipe");

    let mut cmd = mqscope();
    let url = format!("mqtt://127.0.0.1:{}", free_port());
    cmd.args(["doctor", "-b", &url, "--json"]);
    let out = run(cmd, b"", 20);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["verdict"], "tcp_refused");
    assert_eq!(report["stages"][1]["stage"], "tcp");
    assert_eq!(report["stages"][1]["status"], "fail");
    assert!(
        report["hints"][0]
            .as_str()
            .is_some_and(|h| h.contains("--broker"))
    );
}

#[test]
fn usage_errors_exit_2() {
    let mut cmd = mqscope();
    cmd.args(["doctor", "-t", "a/#/b"]);
    assert_eq!(run(cmd, b"", 10).status.code(), Some(2));
}

/// `--acl FILE`: a bad line is named with the file and its number, exit 2; a good file gives
/// the permission map under the `permissions` stage.
#[test]
fn acl_lists_are_checked_and_mapped() {
    let dir = super::support::TempDir::new("acl-cli");
    let bad = dir.write("bad.acl", "# mine\nplant/x\nplant/#/x\n");
    let mut cmd = super::mqscope();
    cmd.args(["doctor", "--acl"]).arg(&bad);
    let out = super::run(cmd, b"", 10);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("bad.acl: line 3: plant/#/x"), "{err}");
    let broker = super::support::Mosquitto::plain();
    let good = dir.write("good.acl", "# mine\nété/x\nplant/+\n");
    let mut cmd = super::mqscope();
    cmd.args(["doctor", "-b", &broker.url(), "--json", "--acl"])
        .arg(&good)
        .args(["--acl-topic", "温度/y"]);
    let out = super::run(cmd, b"", 30);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let stage = json["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == "permissions")
        .unwrap()
        .clone();
    let entries = stage["detail"]["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0]["topic"], "été/x");
    assert_eq!(entries[0]["delivered"], true);
    assert_eq!(entries[2]["topic"], "温度/y");
}

/// `--capabilities` through the binary: the table in the text report, rows in the JSON.
#[test]
fn capabilities_through_the_binary() {
    let broker = super::support::Mosquitto::plain();
    let mut cmd = super::mqscope();
    cmd.args([
        "doctor",
        "-b",
        &broker.url(),
        "--capabilities",
        "--no-publish",
    ]);
    let out = super::run(cmd, b"", 30);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("ok   capabilities"), "{text}");
    assert!(
        text.contains("no-local                      honoured"),
        "{text}"
    );
    let mut cmd = super::mqscope();
    cmd.args(["doctor", "-b", &broker.url(), "--capabilities", "--json"]);
    let out = super::run(cmd, b"", 30);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        json.to_string()
            .contains("\"capability\":\"session resumption\"")
    );
}
