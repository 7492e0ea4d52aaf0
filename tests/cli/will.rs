//! The Last Will, end to end through mosquitto: a `sub` killed with SIGKILL has its will
//! published (3.1.1 and 5, a non-ASCII topic, retained), MQTT 5's delay holds it back, a clean
//! exit (SIGTERM sends DISCONNECT) publishes none, and a profile's `[will]` is used.

use std::time::{Duration, Instant};

use super::support::{Mosquitto, TempDir};
use super::{Subscriber, mqscope, run};

/// Kills `sub` without letting it say goodbye.
fn kill9(s: &Subscriber) {
    let pid = s.pid().to_string();
    let ok = std::process::Command::new("kill")
        .args(["-KILL", &pid])
        .status();
    assert!(ok.is_ok_and(|s| s.success()));
}

#[test]
fn a_killed_client_has_its_will_published_in_both_versions() {
    let broker = Mosquitto::plain();
    let url = broker.url();
    for version in ["3.1.1", "5"] {
        let topic = format!("状態/été-{version}");
        let mut watcher = Subscriber::start(&["-b", &url, "-t", "状態/#", "-V", version]);
        let doomed = Subscriber::start(&[
            "-b",
            &url,
            "-t",
            "nothing/here",
            "-V",
            version,
            "--will-topic",
            &topic,
            "--will-payload",
            "offline 🔌",
            "--will-qos",
            "1",
            "--will-retain",
        ]);
        kill9(&doomed);
        watcher.wait_for(&format!("{topic} offline 🔌"));
        // Retained: a late subscriber still sees it.
        let late = run(
            {
                let mut c = mqscope();
                c.args(["sub", "-b", &url, "-t", &topic, "-C", "1", "-V", version]);
                c
            },
            b"",
            10,
        );
        assert!(
            String::from_utf8_lossy(&late.stdout).contains("offline 🔌"),
            "{version}: {late:?}"
        );
        drop(watcher);
    }
}

#[test]
fn a_will_delay_holds_it_back_and_a_clean_exit_publishes_none() {
    let broker = Mosquitto::plain();
    let url = broker.url();
    let mut watcher = Subscriber::start(&["-b", &url, "-t", "wills/#", "--json"]);
    // A clean exit: SIGTERM sends DISCONNECT, so no will.
    let clean = Subscriber::start(&[
        "-b",
        &url,
        "-t",
        "x",
        "--will-topic",
        "wills/clean",
        "--will-payload",
        "clean",
    ]);
    let (_, code) = clean.signal("TERM");
    assert_eq!(code, Some(143));
    // MQTT 5: the broker waits the delay before it publishes.
    let delayed = Subscriber::start(&[
        "-b",
        &url,
        "-t",
        "x",
        "-V",
        "5",
        "--will-topic",
        "wills/delayed",
        "--will-payload",
        "late",
        "--will-delay",
        "2",
        "--will-content-type",
        "text/plain",
    ]);
    let killed = Instant::now();
    kill9(&delayed);
    watcher.wait_for("wills/delayed");
    let waited = killed.elapsed();
    assert!(waited >= Duration::from_millis(1800), "{waited:?}");
    let line = watcher
        .stdout
        .iter()
        .find(|l| l.contains("wills/delayed"))
        .unwrap();
    assert!(line.contains("\"content_type\":\"text/plain\""), "{line}");
    assert!(
        !watcher.stdout.iter().any(|l| l.contains("wills/clean")),
        "{:#?}",
        watcher.stdout
    );
}

#[test]
fn a_profile_carries_a_will_and_bad_ones_are_refused() {
    let broker = Mosquitto::plain();
    let dir = TempDir::new("will");
    std::fs::write(dir.path().join("gone.bin"), [0u8, 1, 2, b'x']).unwrap();
    let config = dir.write(
        "config.toml",
        &format!(
            "[profiles.dev]\nurl = \"{}\"\n\n[profiles.dev.will]\ntopic = \"wills/dev\"\nfile = \"gone.bin\"\nqos = 1\n",
            broker.url()
        ),
    );
    let mut watcher = Subscriber::start(&["-b", &broker.url(), "-t", "wills/#", "--json"]);
    let mut cmd = mqscope();
    cmd.env("MQSCOPE_CONFIG", &config);
    cmd.args(["sub", "-P", "dev", "-t", "x", "--events"]);
    let doomed = Subscriber::spawn_cmd(cmd, "subscribed");
    kill9(&doomed);
    watcher.wait_for("wills/dev");
    let line = watcher
        .stdout
        .iter()
        .find(|l| l.contains("wills/dev"))
        .unwrap();
    assert!(
        line.contains(r#""payload":"\u0000\u0001\u0002x""#),
        "{line}"
    );
    // A bad will in the file: the key named, exit 2.
    let bad = dir.write(
        "bad.toml",
        "[profiles.dev]\nurl = \"mqtt://h\"\n\n[profiles.dev.will]\ntopic = \"a/#\"\n",
    );
    let mut cmd = mqscope();
    cmd.env("MQSCOPE_CONFIG", &bad);
    cmd.args(["config", "check"]);
    let out = run(cmd, b"", 10);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("profiles.dev.will.topic"), "{err}");
    assert!(err.contains("wildcards"), "{err}");
}
