//! `mqscope clean-retained` against a real mosquitto with the stock queue (1000 messages):
//! the retained set is learned completely, a dry run changes nothing, excludes hold.

use super::support::fakes::{Behaviour, Fake};
use super::support::{Mosquitto, seed_retained};
use super::{mqscope, run};

fn topics() -> Vec<String> {
    let mut t: Vec<String> = (0..5000)
        .map(|i| format!("r/line{}/dev{i}/state", i % 10))
        .collect();
    t.extend((0..10).map(|i| format!("r/keep/cfg{i}")));
    t.push("other/state".into());
    t
}

fn clean(broker: &Mosquitto, args: &[&str]) -> (Option<i32>, String, String) {
    let mut cmd = mqscope();
    cmd.args(["clean-retained", "-b", &broker.url()]).args(args);
    let out = run(cmd, b"", 60);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn stock_broker() -> Mosquitto {
    Mosquitto::with_listener("", "allow_anonymous true\n")
}

#[test]
fn dry_run_lists_every_retained_topic_and_clears_nothing() {
    let broker = stock_broker();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(seed_retained(&broker.url(), &topics()));
    for _ in 0..2 {
        let (code, out, err) = clean(&broker, &["r/#", "--dry-run"]);
        assert_eq!(code, Some(0), "{err}");
        let listed: Vec<&str> = out.lines().collect();
        assert_eq!(listed.len(), 5010, "{err}");
        assert!(listed.contains(&"r/line3/dev4243/state"));
        assert!(!listed.contains(&"other/state"));
        assert!(
            err.contains("5010 retained topics under r/#; dry run: nothing cleared"),
            "{err}"
        );
    }
}

#[test]
fn clears_the_subtree_except_the_excluded_and_counts_honestly() {
    let broker = stock_broker();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(seed_retained(&broker.url(), &topics()));
    let (code, out, err) = clean(&broker, &["r/#", "--exclude", "r/keep/#"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        out.lines().filter(|l| l.starts_with("cleared ")).count(),
        5000
    );
    assert!(
        err.contains("cleared 5000 of 5000 retained topics under r/#, 10 excluded"),
        "{err}"
    );
    // What is left: the excluded ones and the topic outside the filter.
    let (_, out, _) = clean(&broker, &["#", "--dry-run"]);
    let mut left: Vec<&str> = out.lines().collect();
    left.sort_unstable();
    let mut want: Vec<String> = (0..10).map(|i| format!("r/keep/cfg{i}")).collect();
    want.push("other/state".into());
    want.sort();
    assert_eq!(left, want);
}

#[test]
fn a_refused_filter_is_reported_in_plain_words() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let fake = rt.block_on(Fake::start(Behaviour::DenySubscribeV5));
    let mut cmd = mqscope();
    cmd.args(["clean-retained", "-b", &fake.url(), "#", "--dry-run"]);
    let out = run(cmd, b"", 20);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("the broker refused SUBSCRIBE #: 0x87 not authorized"),
        "{err}"
    );
    assert!(err.contains("try a narrower filter"), "{err}");
    drop(fake);
}

#[test]
fn clearing_retained_works_on_every_broker() {
    use super::support::TestBroker;
    use mqscope::broker::MqttVersion;
    for broker in TestBroker::all() {
        let url = broker.url(MqttVersion::V5);
        let name = broker.name();
        for topic in ["cm/温度/1", "cm/été/2", "cm/keep"] {
            super::publish(&url, &["-t", topic, "-m", "x", "-r"]);
        }
        let list = |extra: &[&str]| {
            let mut cmd = super::mqscope();
            cmd.args(["clean-retained", "-b", &url, "cm/#"]).args(extra);
            let out = super::run(cmd, b"", 20);
            assert!(
                out.status.success(),
                "{name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let mut lines: Vec<String> = String::from_utf8(out.stdout)
                .unwrap()
                .lines()
                .map(str::to_string)
                .collect();
            lines.sort();
            lines
        };
        assert_eq!(
            list(&["--dry-run"]),
            ["cm/keep", "cm/été/2", "cm/温度/1"],
            "{name}"
        );
        let cleared = list(&["--exclude", "cm/keep"]);
        assert_eq!(cleared, ["cleared cm/été/2", "cleared cm/温度/1"], "{name}");
        assert_eq!(
            list(&["--dry-run"]),
            ["cm/keep"],
            "{name}: only the excluded is left"
        );
    }
}
