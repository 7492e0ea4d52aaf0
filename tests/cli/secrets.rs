//! Secrets and files: the log directory is 0700 and its files 0600, no log sink ever holds the
//! WebSocket frame that carries the password (tungstenite logs frames at trace), and
//! `--insecure` says out loud that the certificate is not verified.

use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt as _;

use super::support::wsbridge::WsBridge;
use super::support::{Mosquitto, TempDir};
use super::{mqscope, run};

const PASSWORD: &str = "Ws-Pa55-never-log-me";

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread")]
async fn trace_logs_over_websocket_hold_no_password_and_are_private() {
    let broker = Mosquitto::plain();
    let bridge = WsBridge::start(broker.port).await;
    let dir = TempDir::new("logs");
    let logs = dir.path().join("new/mqscope");
    let url = format!("ws://127.0.0.1:{}/mqtt", bridge.port);
    let logs_for_run = logs.clone();
    let out = tokio::task::spawn_blocking(move || {
        let mut cmd = mqscope();
        cmd.env("MQSCOPE_LOG_DIR", &logs_for_run)
            .env("MQSCOPE_LOG", "trace")
            .env("MQSCOPE_PASSWORD", PASSWORD)
            .args(["pub", "-b", &url, "-u", "alice", "-t", "ws/x", "-m", "hi"]);
        run(cmd, b"", 20)
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(mode(&logs), 0o700, "the log directory is private");
    let mut text = String::new();
    for entry in std::fs::read_dir(&logs).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
        text.push_str(&std::fs::read_to_string(&path).unwrap());
    }
    assert!(text.contains("TRACE"), "the log is at trace level");
    let hex = PASSWORD.bytes().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    });
    for secret in [PASSWORD.to_string(), hex] {
        assert!(!text.contains(&secret), "the password reached the log");
    }
}

#[test]
fn insecure_tls_is_said_in_every_headless_mode() {
    for args in [
        &["sub", "-t", "x"][..],
        &["pub", "-t", "x", "-m", "y"],
        &["doctor"],
        &["clean-retained", "x", "--dry-run"],
    ] {
        let mut cmd = mqscope();
        cmd.args(args).args([
            "-b",
            "mqtts://127.0.0.1:1",
            "--insecure",
            "--max-attempts",
            "1",
        ]);
        let out = run(cmd, b"", 20);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("NOT verified"), "{args:?}: {err}");
    }
}

#[test]
fn a_password_command_runs_only_when_nothing_else_gave_a_password() {
    let broker = Mosquitto::plain();
    let dir = TempDir::new("pwcmd");
    let marker = dir.path().join("ran");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[profiles.lab]\nurl = \"{}\"\nusername = \"u\"\npassword_command = \"touch {} && echo pw\"\n",
            broker.url(),
            marker.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    let publish = |env_password: bool| {
        let mut cmd = mqscope();
        cmd.env("MQSCOPE_CONFIG", &config)
            .args(["pub", "-P", "lab", "-t", "pw/x", "-m", "y"]);
        if env_password {
            cmd.env("MQSCOPE_PASSWORD", "from-env");
        }
        run(cmd, b"", 20)
    };
    assert!(publish(true).status.success());
    assert!(
        !marker.exists(),
        "MQSCOPE_PASSWORD won: the command never ran"
    );
    assert!(publish(false).status.success());
    assert!(marker.exists(), "no other source: the command ran");
    // From a file others may write, it is refused, with how to fix it.
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = publish(false);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("writable by group or others") && err.contains("chmod go-w"),
        "{err}"
    );
}
