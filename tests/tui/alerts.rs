//! Rules and schema checks in the explorer: their alerts in the anomalies pane, markers and
//! the status bar's count; the rules dialog (`!`) adding, editing, muting and removing rules
//! without a restart, and saving them to the profile; the XML view. Fixed clock, non-ASCII
//! topics, hostile values.

use crossterm::event::KeyCode;
use mqscope::alert::{Alerts, Rule, Schema};
use mqscope::tui::dialog::Dialog;
use mqscope::tui::model::{Command, Model, Msg, update};
use mqscope::tui::view::View;

use super::{at, chars, draw, feed, key, message, screen, select, t0};

const SCHEMA: &str = r#"{"type": "object", "required": ["battery"],
    "properties": {"battery": {"type": "number", "maximum": 100}}}"#;

/// A boiler that runs hot, a device whose battery reads 120, a topic no rule looks at.
fn alerted() -> Model {
    let mut model = Model::new(
        "mqtt://broker.test:1883".into(),
        mqscope::store::Limits::default(),
        t0(),
    );
    model.alerts = Alerts::new(
        vec![
            Rule::parse("plant/+/温度: t > 80; name=boiler hot; severity=critical").unwrap(),
            Rule::parse(r#"plant/#: state == "alarm"; for=30s"#).unwrap(),
        ],
        vec![
            Schema::compile(
                "devices/+/status",
                std::path::Path::new("/etc/mqscope/battery.json"),
                SCHEMA,
            )
            .unwrap(),
        ],
    );
    for (i, t) in [70, 85, 92].iter().enumerate() {
        let ms = i as u64 * 1000;
        let payload = format!(r#"{{"t":{t},"note":"\u001b[2J"}}"#);
        feed(
            &mut model,
            message("plant/été/温度", payload.as_bytes(), ms),
        );
        feed(
            &mut model,
            message("devices/🚀/status", br#"{"battery":120}"#, ms + 10),
        );
        feed(&mut model, message("other/x", br#"{"t":1000}"#, ms + 20));
        update(&mut model, Msg::Tick(at(ms + 500)));
    }
    model
}

#[test]
fn alerts_in_the_anomalies_pane_with_markers_and_the_status_count_at_160x45() {
    let mut model = alerted();
    let kinds: Vec<&str> = model.watch.list().iter().map(|a| a.kind.name()).collect();
    assert_eq!(kinds, ["schema_invalid", "rule"], "once each, no storm");
    assert_eq!(model.alerts.firing(), 1);
    select(&mut model, "plant/été/温度");
    key(&mut model, KeyCode::Char('A'));
    let mut view = View::default();
    let text = screen(&draw(&mut model, &mut view, 160, 45));
    assert!(!text.contains('\u{1b}'));
    assert!(text.contains("1 rule firing"), "{text}");
    insta::assert_snapshot!("alerts_anomalies_160x45", text);
}

#[test]
fn the_rules_dialog_adds_edits_mutes_removes_and_saves_rules_live() {
    let mut model = alerted();
    key(&mut model, KeyCode::Char('!'));
    assert!(matches!(model.dialog, Some(Dialog::Rules(_))));
    let mut view = View::default();
    let text = screen(&draw(&mut model, &mut view, 160, 45));
    insta::assert_snapshot!("rules_dialog_160x45", text);

    // Add one with a mistake: the error points at the column; then fix it.
    key(&mut model, KeyCode::Char('a'));
    chars(&mut model, "other/#: t >");
    key(&mut model, KeyCode::Enter);
    let text = screen(&draw(&mut model, &mut view, 160, 45));
    assert!(text.contains("when at column 13"), "{text}");
    chars(&mut model, " 999");
    key(&mut model, KeyCode::Enter);
    assert_eq!(model.alerts.rules().len(), 3);
    // It takes effect at once on the next message.
    feed(&mut model, message("other/x", br#"{"t":1000}"#, 5000));
    assert_eq!(model.watch.list().back().unwrap().kind.name(), "rule");
    assert_eq!(model.watch.list().back().unwrap().topic, "other/x");

    // Edit the selected (new) rule: the line comes back as it was written.
    key(&mut model, KeyCode::Char('e'));
    let Some(Dialog::Rules(d)) = &model.dialog else {
        panic!()
    };
    assert_eq!(d.editing.as_ref().unwrap().1, "other/#: t > 999");
    for _ in 0..3 {
        key(&mut model, KeyCode::Backspace);
    }
    chars(&mut model, "5000; severity=info");
    key(&mut model, KeyCode::Enter);
    assert_eq!(model.alerts.rules()[2].expr.text, "t > 5000");

    // Mute the first, remove the schema (the last row).
    key(&mut model, KeyCode::Up);
    key(&mut model, KeyCode::Up);
    key(&mut model, KeyCode::Char('m'));
    assert!(model.alerts.rules()[0].muted);
    for _ in 0..4 {
        key(&mut model, KeyCode::Down);
    }
    key(&mut model, KeyCode::Char('d'));
    assert!(model.alerts.schemas().is_empty());

    // Saving needs the profile the explorer was opened with.
    assert!(key(&mut model, KeyCode::Char('S')).is_empty());
    model.profile = Some("plant".into());
    let commands = key(&mut model, KeyCode::Char('S'));
    let Some(Command::SaveAlerts {
        profile,
        rules,
        schemas,
    }) = commands.first()
    else {
        panic!("{commands:?}")
    };
    assert_eq!(
        (profile.as_str(), rules.len(), schemas.len()),
        ("plant", 3, 0)
    );
    assert!(rules[0].muted && rules[0].name.as_deref() == Some("boiler hot"));
    assert_eq!(rules[2].severity.as_deref(), Some("info"));
    key(&mut model, KeyCode::Esc);
    assert!(model.dialog.is_none());
}

#[test]
fn xml_payloads_get_a_pretty_coloured_view_that_v_cycles_to() {
    let mut model = super::plant();
    let xml = "<?xml version=\"1.0\"?><plant id=\"温度\"><boiler t=\"85.5\">on</boiler>\
               <note>\u{1b}[2J</note></plant>";
    feed(
        &mut model,
        message("legacy/été/xml", xml.as_bytes(), 99_000),
    );
    select(&mut model, "legacy/été/xml");
    key(&mut model, KeyCode::Tab);
    let mut view = View::default();
    let text = screen(&draw(&mut model, &mut view, 120, 34));
    assert!(text.contains("XML"), "{text}");
    assert!(text.contains("  <boiler t=\"85.5\">on</boiler>"), "{text}");
    assert!(!text.contains('\u{1b}'), "{text:?}");
    // v: text, json, xml, hex, auto.
    let mut cycled = Vec::new();
    for _ in 0..5 {
        key(&mut model, KeyCode::Char('v'));
        cycled.push(model.inspector.mode.label());
    }
    assert_eq!(cycled, ["text", "json", "xml", "hex", "auto"]);
    // Not XML: v skips the XML view.
    select(&mut model, "plant/line1/temp");
    let mut skipping = Vec::new();
    for _ in 0..4 {
        key(&mut model, KeyCode::Char('v'));
        skipping.push(model.inspector.mode.label());
    }
    assert_eq!(skipping, ["text", "json", "hex", "auto"]);
}

#[test]
fn rules_and_schemas_read_a_decoded_topic_s_value() {
    let mut model = Model::new(
        "mqtt://broker.test:1883".into(),
        mqscope::store::Limits::default(),
        t0(),
    );
    let spec = mqscope::payload::decode::parse_spec("msgpack").unwrap();
    let decoder = spec.build(std::path::Path::new(""), &[]).unwrap();
    model.decoders = mqscope::payload::decode::Decoders::new(vec![("dev/#".into(), decoder)]);
    model.alerts = Alerts::new(
        vec![Rule::parse("dev/+/温度: t > 80").unwrap()],
        vec![Schema::compile("dev/#", std::path::Path::new("t.json"), SCHEMA).unwrap()],
    );
    // MessagePack {"t": 90}: not JSON on the wire, a value once decoded.
    feed(
        &mut model,
        message("dev/été/温度", &[0x81, 0xa1, b't', 0x5a], 0),
    );
    let got: Vec<(String, String)> = model
        .watch
        .list()
        .iter()
        .map(|a| (a.kind.name().to_string(), a.detail()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "rule".to_string(),
                "dev/+/温度: t > 80 [warning]: t > 80 (90)".to_string()
            ),
            (
                "schema_invalid".to_string(),
                "t.json: \"battery\" is a required property".to_string()
            ),
        ],
    );
}

#[test]
fn a_rule_name_or_expression_with_control_characters_reaches_the_dialog_escaped() {
    let mut model = alerted();
    // From a config file or a paste: a name and a string literal that would clear a screen.
    model.alerts.set_rule(
        None,
        Rule::parse("plant/#: note == \"\u{1b}[2J\"; name=bad\u{1b}[2Jname\u{7}").unwrap(),
    );
    key(&mut model, KeyCode::Char('!'));
    let mut view = View::default();
    let text = screen(&draw(&mut model, &mut view, 160, 45));
    assert!(text.contains("bad\\x1b[2Jname\\x07"), "{text}");
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "{text:?}"
    );
}
