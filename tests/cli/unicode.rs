//! Topics are UTF-8 and often not ASCII: Chinese, accented and emoji topics go through
//! mosquitto and come out right in `sub` (text and JSON), `clean-retained` and `--exclude`.
//! (A topic whose first character is multi-byte used to crash the matcher.)

use super::support::Mosquitto;
use super::{mqscope, publish, run};

const TOPICS: [&str; 4] = ["温度/x", "été/x", "🌡️/x", "plain/y"];

fn retained(broker: &Mosquitto) {
    for topic in TOPICS {
        publish(
            &broker.url(),
            &["-t", topic, "-m", &format!("v:{topic}"), "-r"],
        );
    }
}

#[test]
fn sub_shows_non_ascii_topics_in_text_and_json() {
    let broker = Mosquitto::plain();
    retained(&broker);
    let mut cmd = mqscope();
    cmd.args(["sub", "-b", &broker.url(), "-t", "+/x", "-C", "3"]);
    let out = run(cmd, b"", 20);
    assert!(out.status.success());
    let lines = super::sorted_lines(&out.stdout);
    assert_eq!(lines, ["été/x v:été/x", "温度/x v:温度/x", "🌡️/x v:🌡️/x"]);
    let mut cmd = mqscope();
    cmd.args(["sub", "-b", &broker.url(), "-t", "#", "-C", "4", "--json"]);
    let out = run(cmd, b"", 20);
    let mut topics: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["topic"].as_str().unwrap().to_string()
        })
        .collect();
    topics.sort();
    let mut want: Vec<String> = TOPICS.iter().map(|t| (*t).to_string()).collect();
    want.sort();
    assert_eq!(topics, want);
}

#[test]
fn clean_retained_matches_non_ascii_topics_and_excludes_them() {
    let broker = Mosquitto::plain();
    retained(&broker);
    let dry = |extra: &[&str]| {
        let mut cmd = mqscope();
        cmd.args(["clean-retained", "-b", &broker.url(), "+/x", "--dry-run"])
            .args(extra);
        let out = run(cmd, b"", 20);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        super::sorted_lines(&out.stdout)
    };
    assert_eq!(dry(&[]), ["été/x", "温度/x", "🌡️/x"]);
    assert_eq!(
        dry(&["--exclude", "温度/#", "--exclude", "plain/#"]),
        ["été/x", "🌡️/x"]
    );
    // Clearing them for real leaves nothing retained under the filter.
    let mut cmd = mqscope();
    cmd.args([
        "clean-retained",
        "-b",
        &broker.url(),
        "+/x",
        "--exclude",
        "été/x",
    ]);
    assert!(run(cmd, b"", 20).status.success());
    assert_eq!(dry(&[]), ["été/x"]);
}
