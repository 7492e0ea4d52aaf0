//! Text a broker controls never reaches a terminal raw: `sub`, `clean-retained` and `doctor`
//! run under a pseudo-terminal (`script`) against a broker that puts escape sequences in a
//! topic, a payload and reason strings. Into a pipe, topics and payloads stay raw.

use std::process::Command;

use super::support::hostile::{EVIL_TOPIC, Hostile, HostileBroker};
use super::{mqscope, run};

/// Runs `mqscope ARGS` with a terminal for stdin, stdout and stderr; returns all it wrote.
fn on_a_terminal(args: &[&str]) -> Vec<u8> {
    let base = mqscope();
    let quoted: Vec<String> = std::iter::once(base.get_program().to_string_lossy().into_owned())
        .chain(args.iter().map(|a| (*a).to_string()))
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect();
    let mut cmd = Command::new("script");
    cmd.args(["-qefc", &quoted.join(" "), "/dev/null"]);
    for (k, v) in base.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    run(cmd, b"", 30).stdout
}

fn assert_nothing_raw(out: &[u8], what: &str) {
    let text = String::from_utf8_lossy(out);
    for raw in ["\u{1b}]0;pwned", "\u{1b}[2J", "\u{7}"] {
        assert!(
            !text.contains(raw),
            "{what}: {raw:?} reached the terminal raw:\n{text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sub_escapes_topic_payload_and_reason_on_a_terminal_and_keeps_a_pipe_raw() {
    let broker = HostileBroker::start(Hostile::ControlCharacters).await;
    let url = broker.url();
    let out = tokio::task::spawn_blocking(move || {
        on_a_terminal(&["sub", "-b", &url, "-t", "#", "-W", "3"])
    })
    .await
    .unwrap();
    assert_nothing_raw(&out, "sub");
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.contains(r"evil/\x1b]0;pwned\x07\x1b[2J\x07/x hi\x1b[2Jthere\x07"),
        "the message, escaped:\n{text}"
    );
    assert!(
        text.contains(r"bye\x1b]0;pwned\x07\x1b[2J"),
        "the DISCONNECT reason, escaped:\n{text}"
    );
    // Into a pipe the bytes are the data: raw, as mosquitto_sub writes them.
    let url = broker.url();
    let piped = tokio::task::spawn_blocking(move || {
        let mut cmd = mqscope();
        cmd.args(["sub", "-b", &url, "-t", "#", "-C", "1"]);
        run(cmd, b"", 30)
    })
    .await
    .unwrap();
    let expected = format!("{EVIL_TOPIC} hi\u{1b}[2Jthere\u{7}\n");
    assert_eq!(String::from_utf8_lossy(&piped.stdout), expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn clean_retained_lists_topics_escaped_on_a_terminal() {
    let broker = HostileBroker::start(Hostile::ControlCharacters).await;
    let url = broker.url();
    let out = tokio::task::spawn_blocking(move || {
        on_a_terminal(&["clean-retained", "-b", &url, "#", "--dry-run"])
    })
    .await
    .unwrap();
    assert_nothing_raw(&out, "clean-retained");
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.contains(r"evil/\x1b]0;pwned\x07\x1b[2J\x07/x"),
        "the retained topic, escaped:\n{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_escapes_a_reason_string_on_a_terminal() {
    let broker = HostileBroker::start(Hostile::EvilRefusal).await;
    let url = broker.url();
    let out =
        tokio::task::spawn_blocking(move || on_a_terminal(&["doctor", "-b", &url, "-V", "5"]))
            .await
            .unwrap();
    assert_nothing_raw(&out, "doctor");
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("not_authorized"), "{text}");
    assert!(
        text.contains(r"bye\x1b]0;pwned\x07\x1b[2J"),
        "the reason string, escaped:\n{text}"
    );
}
