//! `mqscope pub` against a real mosquitto: sources, retained clearing, acks, refusals.

use super::support::{Mosquitto, TempDir, password_file};
use super::{Subscriber, mqscope, publish, run};

#[test]
fn lines_from_stdin_become_messages() {
    let broker = Mosquitto::plain();
    let sub = Subscriber::start(&["-b", &broker.url(), "-t", "l/#", "-C", "3"]);
    let mut cmd = mqscope();
    cmd.args(["pub", "-b", &broker.url(), "-t", "l/x", "-l", "-q", "1"]);
    let out = run(cmd, b"one\ntwo\r\nthree\n", 10);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (got, _) = sub.finish(10);
    assert_eq!(got, "l/x one\nl/x two\nl/x three\n");
}

#[test]
fn null_retained_clears_the_retained_message() {
    let broker = Mosquitto::plain();
    publish(
        &broker.url(),
        &["-t", "c/state", "-m", "stale", "-r", "-q", "1"],
    );
    publish(&broker.url(), &["-t", "c/state", "-n", "-r", "-q", "1"]);
    let mut cmd = mqscope();
    cmd.args(["sub", "-b", &broker.url(), "-t", "c/#", "-W", "1"]);
    let out = run(cmd, b"", 10);
    assert_eq!(
        out.status.code(),
        Some(27),
        "no retained message left, so it times out"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn qos0_publish_is_flushed_before_disconnecting() {
    let broker = Mosquitto::plain();
    let sub = Subscriber::start(&["-b", &broker.url(), "-t", "f/#", "-C", "1"]);
    let started = std::time::Instant::now();
    publish(&broker.url(), &["-t", "f/x", "-m", "fire-and-forget"]);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "no keep-alive wait"
    );
    let (got, _) = sub.finish(10);
    assert_eq!(got, "f/x fire-and-forget\n");
}

#[test]
fn refused_publish_and_refused_connection_exit_1() {
    let dir = TempDir::new("acl");
    let passwd = password_file(&dir, &[("alice", "pw")]);
    let acl = dir.write("acl", "user alice\ntopic readwrite allowed/#\n");
    let broker = Mosquitto::in_dir(
        dir,
        "",
        &format!(
            "allow_anonymous false\npassword_file {}\nacl_file {}\n",
            passwd.display(),
            acl.display()
        ),
    );
    let alice = |password: &str, topic: &str| {
        let mut cmd = mqscope();
        cmd.env("MQSCOPE_PASSWORD", password);
        cmd.args([
            "pub",
            "-b",
            &broker.url(),
            "-u",
            "alice",
            "-t",
            topic,
            "-m",
            "1",
            "-q",
            "1",
        ]);
        cmd.args(["-V", "5"]);
        let out = run(cmd, b"", 10);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = alice("pw", "allowed/x");
    assert_eq!(code, Some(0), "{err}");

    let (code, err) = alice("pw", "denied/x");
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("0x87 not authorized"), "{err}");

    let (code, err) = alice("nope", "allowed/x");
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("[not_authorized]") && !err.contains("nope"),
        "{err}"
    );
}
