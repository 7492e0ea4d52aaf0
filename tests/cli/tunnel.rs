//! `--proxy` through the binary: the doctor and `sub` through an HTTP CONNECT proxy that wants
//! a password (from `MQSCOPE_PROXY_PASSWORD`), which never shows in any output; a profile's
//! `proxy`; bad proxy URLs named with exit code 2.

use super::support::Mosquitto;
use super::support::tunnels::{Rules, TestProxy};
use super::{Subscriber, mqscope, run};

#[test]
fn doctor_and_sub_go_through_an_authenticated_proxy() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let proxy = rt.block_on(TestProxy::http(Rules {
        login: Some(("field".into(), "pr0xy-pass".into())),
        deny: false,
    }));
    let broker = Mosquitto::plain();
    let mut cmd = mqscope();
    cmd.env("MQSCOPE_PROXY_PASSWORD", "pr0xy-pass");
    cmd.args([
        "doctor",
        "-b",
        &broker.url(),
        "--proxy",
        &proxy.url("http", Some("field")),
        "--json",
    ]);
    let out = run(cmd, b"", 20);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("\"check\":\"proxy\"") || text.contains("\"proxy\""),
        "{text}"
    );
    assert!(text.contains("HTTP CONNECT tunnel to 127.0.0.1:"), "{text}");
    assert!(!text.contains("pr0xy-pass"), "{text}");
    // A wrong password: its own verdict and exit code, no password shown.
    let mut cmd = mqscope();
    cmd.env("MQSCOPE_PROXY_PASSWORD", "wrong-pass");
    cmd.args([
        "doctor",
        "-b",
        &broker.url(),
        "--proxy",
        &proxy.url("http", Some("field")),
    ]);
    let out = run(cmd, b"", 20);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("verdict: proxy_auth_failed"), "{text}");
    assert!(!text.contains("wrong-pass"), "{text}");
    // sub through it, a non-ASCII topic.
    let mut cmd = mqscope();
    cmd.env("MQSCOPE_PROXY_PASSWORD", "pr0xy-pass");
    cmd.args([
        "sub",
        "--events",
        "-b",
        &broker.url(),
        "--proxy",
        &proxy.url("http", Some("field")),
        "-t",
        "été/#",
    ]);
    let mut sub = Subscriber::spawn_cmd(cmd, "subscribed");
    let mut publish = mqscope();
    publish.args(["pub", "-b", &broker.url(), "-t", "été/x", "-m", "via proxy"]);
    assert!(run(publish, b"", 10).status.success());
    sub.wait_for("via proxy");
    assert!(
        sub.stderr.iter().any(|l| l.contains("proxy")),
        "{:#?}",
        sub.stderr
    );
    drop(rt);
}

#[test]
fn bad_proxy_urls_and_profiles_are_refused_with_the_key() {
    let mut cmd = mqscope();
    cmd.args(["sub", "-t", "x", "--proxy", "socks5://u:hunter2@h:1080"]);
    let out = run(cmd, b"", 10);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--proxy") && err.contains("MQSCOPE_PROXY_PASSWORD"),
        "{err}"
    );
    let mut cmd = mqscope();
    cmd.args(["sub", "-t", "x", "--proxy", "gopher://h"]);
    let out = run(cmd, b"", 10);
    assert_eq!(out.status.code(), Some(2));
    let dir = super::support::TempDir::new("proxy-config");
    let config = dir.write(
        "config.toml",
        "[profiles.a]\nurl = \"mqtt://h\"\nproxy = \"socks5://u:p@h\"\n",
    );
    let mut cmd = mqscope();
    cmd.env("MQSCOPE_CONFIG", &config);
    cmd.args(["config", "check"]);
    let out = run(cmd, b"", 10);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("profiles.a.proxy"), "{err}");
}

/// `--ws-header 'Authorization: env:VAR'`: the token comes from the environment, reaches the
/// upgrade, and shows nowhere (not in the events, not in the log at debug level).
#[test]
fn a_websocket_token_from_the_environment_never_shows() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let broker = Mosquitto::plain();
    let bridge = rt.block_on(super::support::wsbridge::WsBridge::requiring(
        broker.port,
        Some(("authorization", "Bearer sekrit-7")),
    ));
    let url = format!("ws://127.0.0.1:{}/mqtt", bridge.port);
    let mut cmd = mqscope();
    cmd.env("MQTT_TOKEN", "Bearer sekrit-7");
    cmd.env("MQSCOPE_LOG", "debug");
    cmd.args([
        "sub",
        "--events",
        "-b",
        &url,
        "--ws-header",
        "Authorization: env:MQTT_TOKEN",
        "-t",
        "温度/#",
    ]);
    let sub = Subscriber::spawn_cmd(cmd, "subscribed");
    let errors = sub.stderr.join("\n");
    assert!(errors.contains("websocket"), "{errors}");
    assert!(!errors.contains("sekrit"), "{errors}");
    let (out, _) = sub.signal("TERM");
    assert!(!out.contains("sekrit"), "{out}");
    // Without it: the refusal with the server's reason, exit 1 after one attempt.
    let mut cmd = mqscope();
    cmd.args(["sub", "-b", &url, "-t", "x", "--max-attempts", "1"]);
    let out = run(cmd, b"", 15);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ws_upgrade_failed"), "{err}");
    assert!(
        err.contains("HTTP 401") && err.contains("invalid_token"),
        "{err}"
    );
    drop(rt);
}
