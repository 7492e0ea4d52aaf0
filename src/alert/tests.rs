//! Rules and schema checks on a simulated clock: messages and ticks at chosen times.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use serde_json::json;

use super::*;
use crate::broker::Message;
use crate::store::Limits;
use crate::watch::Anomaly;

const T0: u64 = 1_800_000_000_000;

fn at(ms: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(T0 + ms)
}

struct Bench {
    store: TopicStore,
    watch: Watch,
    alerts: Alerts,
    seen: u64,
}

impl Bench {
    fn new(rules: &[&str], schemas: &[(&str, &str)]) -> Self {
        let rules = rules.iter().map(|r| Rule::parse(r).unwrap()).collect();
        let schemas = schemas
            .iter()
            .map(|(f, text)| Schema::compile(f, Path::new("/etc/mqscope/s.json"), text).unwrap())
            .collect();
        Self {
            store: TopicStore::new(Limits::default()),
            watch: Watch::default(),
            alerts: Alerts::new(rules, schemas),
            seen: 0,
        }
    }

    fn send(&mut self, ms: u64, topic: &str, payload: &str) {
        let m = Message {
            topic: topic.into(),
            payload: Bytes::copy_from_slice(payload.as_bytes()),
            qos: 0,
            retain: false,
            dup: false,
            properties: None,
            received: at(ms),
            wire_size: payload.len() + topic.len() + 4,
        };
        if let crate::store::Inserted::Existing(id) | crate::store::Inserted::NewTopic(id) =
            self.store.insert(&m)
        {
            self.watch.observe(&self.store, id);
            self.alerts.observe(&self.store, id, &mut self.watch);
        }
    }

    fn tick(&mut self, ms: u64) {
        self.alerts.tick(&self.store, at(ms), &mut self.watch);
    }

    /// Alerts raised since the last call (the watch's own kinds left out).
    fn fresh(&mut self) -> Vec<Anomaly> {
        let out: Vec<Anomaly> = self
            .watch
            .since(self.seen)
            .filter(|a| matches!(a.kind, AnomalyKind::Rule | AnomalyKind::SchemaInvalid))
            .cloned()
            .collect();
        self.seen = self.watch.last_id();
        out
    }

    /// `fired topic value` / `cleared topic value` per rule alert.
    fn rule_events(&mut self) -> Vec<String> {
        self.fresh()
            .iter()
            .map(|a| match &a.data {
                Data::Rule { cleared, value, .. } => format!(
                    "{} {} {value}",
                    if *cleared { "cleared" } else { "fired" },
                    a.topic
                ),
                other => format!("{other:?}"),
            })
            .collect()
    }
}

#[test]
fn a_rule_fires_once_when_it_becomes_true_and_clears_once_when_false() {
    let mut b = Bench::new(&["plant/+/温度: t > 80"], &[]);
    b.send(0, "plant/boiler/温度", r#"{"t": 70}"#);
    assert!(b.rule_events().is_empty());
    b.send(1000, "plant/boiler/温度", r#"{"t": 85.5}"#);
    b.send(2000, "plant/boiler/温度", r#"{"t": 90}"#);
    b.send(3000, "plant/boiler/温度", r#"{"t": 99}"#);
    assert_eq!(
        b.rule_events(),
        ["fired plant/boiler/温度 85.5"],
        "no storm"
    );
    b.send(4000, "plant/boiler/温度", r#"{"t": 79}"#);
    b.send(5000, "plant/boiler/温度", r#"{"t": 20}"#);
    assert_eq!(b.rule_events(), ["cleared plant/boiler/温度 79"]);
    // Per topic: another boiler fires on its own; a topic outside the filter never does.
    b.send(6000, "plant/été/温度", r#"{"t": 81}"#);
    b.send(6000, "other/x/温度", r#"{"t": 1000}"#);
    assert_eq!(b.rule_events(), ["fired plant/été/温度 81"]);
    assert_eq!(b.alerts.firing(), 1);
    // Not JSON, or the field missing: the condition is false, so it clears.
    b.send(7000, "plant/été/温度", "\u{1b}[2Jgarbage");
    assert_eq!(b.rule_events(), ["cleared plant/été/温度 null"]);
}

#[test]
fn for_a_duration_the_condition_must_hold_that_long_by_messages_or_by_the_clock() {
    let mut b = Bench::new(
        &["plant/#: t > 80; for=30s; name=boiler hot; severity=critical"],
        &[],
    );
    b.send(0, "plant/a", r#"{"t": 90}"#);
    b.send(10_000, "plant/a", r#"{"t": 91}"#);
    b.tick(29_000);
    assert!(b.rule_events().is_empty(), "held 29 s of 30");
    // It dips: the clock starts over.
    b.send(29_500, "plant/a", r#"{"t": 50}"#);
    b.send(30_000, "plant/a", r#"{"t": 95}"#);
    b.tick(59_000);
    assert!(b.rule_events().is_empty());
    // No message needed: the last value still holds when the clock says 30 s.
    b.tick(60_000);
    let fired = b.fresh();
    assert_eq!(fired.len(), 1);
    let Data::Rule {
        name,
        severity,
        held_ms,
        value,
        cleared,
        ..
    } = &fired[0].data
    else {
        panic!("{fired:?}")
    };
    assert_eq!(
        (name.as_str(), *severity, *held_ms, value, *cleared),
        ("boiler hot", "critical", 30_000, &json!(95), false)
    );
    assert_eq!(fired[0].at, at(60_000));
    // By a message, too.
    b.send(61_000, "plant/b", r#"{"t": 81}"#);
    b.send(91_000, "plant/b", r#"{"t": 82}"#);
    assert_eq!(b.rule_events(), ["fired plant/b 82"]);
    let json = b.watch.list().back().unwrap().to_json();
    assert_eq!(json["kind"], "rule");
    assert_eq!(json["rule"], "boiler hot");
    assert_eq!(json["value"], 82);
    assert_eq!(json["held_ms"], 30_000);
}

#[test]
fn a_rule_on_several_fields_reports_each_and_topic_rules_need_no_payload() {
    let mut b = Bench::new(
        &[
            r#"dev/+/status: state == "alarm" and battery < 10"#,
            "dev/#: topic ~ \"/debug$\"",
        ],
        &[],
    );
    b.send(
        0,
        "dev/1/status",
        r#"{"state": "alarm", "battery": 5, "x": [1,2,3]}"#,
    );
    b.send(0, "dev/1/debug", "\u{0}\u{ff}");
    let events = b.rule_events();
    assert_eq!(
        events,
        [
            r#"fired dev/1/status {"state":"alarm","battery":5}"#,
            "fired dev/1/debug null"
        ]
    );
}

#[test]
fn muting_editing_and_removing_rules_take_effect_at_once() {
    let mut b = Bench::new(&["a/#: v > 1"], &[]);
    b.alerts.set_muted(0, true);
    b.send(0, "a/x", r#"{"v": 5}"#);
    assert!(b.rule_events().is_empty(), "muted");
    b.alerts.set_muted(0, false);
    b.send(1000, "a/x", r#"{"v": 6}"#);
    assert_eq!(b.rule_events(), ["fired a/x 6"]);
    b.alerts
        .set_rule(Some(0), Rule::parse("a/#: v > 10").unwrap());
    b.send(2000, "a/x", r#"{"v": 11}"#);
    assert_eq!(
        b.rule_events(),
        ["fired a/x 11"],
        "an edited rule starts over"
    );
    b.alerts.remove_rule(0);
    b.send(3000, "a/x", r#"{"v": 1}"#);
    assert!(b.rule_events().is_empty() && b.alerts.is_empty());
}

#[test]
fn adding_or_removing_a_rule_leaves_the_others_as_they_stand() {
    let mut b = Bench::new(&["plant/#: t > 80"], &[("dev/#", r#"{"maximum": 5}"#)]);
    b.send(0, "plant/温度", r#"{"t": 90}"#);
    b.send(0, "other/x", r#"{"v": 1}"#);
    b.send(0, "dev/a", "9");
    assert_eq!(b.fresh().len(), 2);
    // A new rule: the firing one stays firing (no second alert for the same episode), and a
    // topic no rule applied to before is looked at again.
    b.alerts
        .set_rule(None, Rule::parse("other/#: v > 0").unwrap());
    b.send(1000, "plant/温度", r#"{"t": 91}"#);
    b.send(1000, "other/x", r#"{"v": 2}"#);
    assert_eq!(b.rule_events(), ["fired other/x 2"]);
    assert_eq!(b.alerts.firing(), 2);
    // Removing the schema check keeps both rules' states; removing the first rule keeps the
    // second's (its index moved).
    b.alerts.remove_schema(0);
    b.alerts.remove_rule(0);
    b.send(2000, "other/x", r#"{"v": 3}"#);
    assert!(b.rule_events().is_empty());
    b.send(3000, "other/x", r#"{"v": 0}"#);
    assert_eq!(b.rule_events(), ["cleared other/x 0"]);
}

#[test]
fn rules_are_written_and_read_back_and_errors_say_where() {
    let r =
        Rule::parse("plant/+/temp: t > 80; for=30s; name=boiler hot; severity=critical").unwrap();
    assert_eq!((r.hold_ms, r.severity), (30_000, Severity::Critical));
    assert_eq!(Rule::parse(&r.text()).unwrap().entry(), r.entry());
    // A `;` inside the expression's string is not a separator.
    let r = Rule::parse(r#"a: s == "x;y"; name=semi"#).unwrap();
    assert_eq!(
        (r.expr.text.as_str(), r.name.as_str()),
        (r#"s == "x;y""#, "semi")
    );
    let e = Rule::parse("plant/+/temp: t >").unwrap_err();
    assert_eq!((e.part, e.column), ("when", Some(18)), "{e}");
    let e = Rule::parse("  été/#:   t ?? 1").unwrap_err();
    assert_eq!((e.part, e.column), ("when", Some(14)), "{e}");
    assert_eq!(Rule::parse("a/#/b: t > 1").unwrap_err().part, "filter");
    assert_eq!(Rule::parse("a: t > 1; for=soon").unwrap_err().part, "for");
    let e = Rule::parse("a: t > 1; severity=loud").unwrap_err();
    assert!(e.message.contains("info, warning, critical"), "{e}");
    assert_eq!(Rule::parse("no colon here").unwrap_err().part, "rule");
    assert_eq!(
        Rule::parse("a: t > 1; colour=red").unwrap_err().part,
        "rule"
    );
}

const BATTERY: &str = r#"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["battery"],
  "properties": {
    "battery": {"type": "number", "minimum": 0, "maximum": 100},
    "状态": {"enum": ["ok", "low"]}
  }
}"#;

#[test]
fn schema_failures_name_the_instance_path_and_keyword_once_per_change() {
    let mut b = Bench::new(&[], &[("dev/+/status", BATTERY)]);
    b.send(0, "dev/温度/status", r#"{"battery": 50}"#);
    assert!(b.fresh().is_empty());
    b.send(1000, "dev/温度/status", r#"{"battery": 120}"#);
    b.send(2000, "dev/温度/status", r#"{"battery": 130}"#);
    let got = b.fresh();
    assert_eq!(
        got.len(),
        1,
        "the same failure again is not a new alert: {got:?}"
    );
    let a = &got[0];
    assert_eq!(a.kind, AnomalyKind::SchemaInvalid);
    assert_eq!(
        a.detail(),
        "s.json: /battery: 120 is greater than the maximum of 100"
    );
    let j = a.to_json();
    assert_eq!(
        (j["instance_path"].as_str(), j["keyword"].as_str()),
        (Some("/battery"), Some("maximum"))
    );
    // Another failure, a non-ASCII key; then not JSON at all; then valid (nothing), then the
    // first failure again is new.
    b.send(3000, "dev/温度/status", r#"{"battery": 5, "状态": "bad"}"#);
    b.send(4000, "dev/温度/status", "\u{1b}]0;x\u{7}");
    b.send(5000, "dev/温度/status", r#"{"battery": 1}"#);
    b.send(6000, "dev/温度/status", r#"{"battery": 101}"#);
    let kinds: Vec<(String, String)> = b
        .fresh()
        .iter()
        .map(|a| {
            let j = a.to_json();
            (
                j["instance_path"].as_str().unwrap().to_string(),
                j["keyword"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("/状态".to_string(), "enum".to_string()),
            (String::new(), "json".to_string()),
            ("/battery".to_string(), "maximum".to_string())
        ]
    );
    // Two errors at once are counted.
    b.send(7000, "dev/x/status", r#"{"battery": -1, "状态": 3}"#);
    let j = b.fresh()[0].to_json();
    assert_eq!(j["errors"], 2);
}

#[test]
fn draft_7_works_and_references_stay_inside_the_file() {
    let draft7 = r##"{
      "$schema": "http://json-schema.org/draft-07/schema#",
      "definitions": {"pct": {"type": "integer", "maximum": 100}},
      "properties": {"level": {"$ref": "#/definitions/pct"}}
    }"##;
    let s = Schema::compile("t", Path::new("d7.json"), draft7).unwrap();
    assert!(s.check(br#"{"level": 5}"#).is_none());
    let f = s.check(br#"{"level": 5.5}"#).unwrap();
    assert_eq!(
        (f.instance_path.as_str(), f.keyword.as_str()),
        ("/level", "type")
    );

    let remote =
        "{\n  \"properties\": {\n    \"a\": {\"$ref\": \"https://example.com/a.json\"}\n  }\n}";
    let e = Schema::compile("t", Path::new("r.json"), remote).unwrap_err();
    assert!(
        e.starts_with("r.json:3:19: $ref \"https://example.com/a.json\" at /properties/a/$ref"),
        "{e}"
    );
    assert!(e.contains("never fetches"), "{e}");
    let file = r#"{"$ref": "other.json"}"#;
    assert!(
        Schema::compile("t", Path::new("f.json"), file)
            .unwrap_err()
            .contains("outside this file")
    );
    // A reference to an `$id` of the same file is inside it.
    let by_id = r#"{"$defs": {"a": {"$id": "https://x.example/a.json", "type": "string"}},
                    "properties": {"a": {"$ref": "https://x.example/a.json"}}}"#;
    assert!(Schema::compile("t", Path::new("i.json"), by_id).is_ok());

    let e = Schema::compile("t", Path::new("bad.json"), "{\n  \"type\": \n}").unwrap_err();
    assert!(e.starts_with("bad.json:3:1: not JSON"), "{e}");
    let e = Schema::compile("t", Path::new("bad.json"), r#"{"type": 5}"#).unwrap_err();
    assert!(e.contains("not a valid schema"), "{e}");
}
