//! Decoders in the explorer: the inspector's decoded view with the decoder's name, `v` back
//! to the raw bytes, a decode error shown with the raw bytes, decoded diffs, decoded tree
//! previews, copying the decoded JSON; whole frames with a fixed clock and non-ASCII topics.

use std::path::Path;

use crossterm::event::KeyCode;
use mqscope::payload::decode::{Decoder, Decoders, parse_spec};
use mqscope::tui::model::{Command, Model};
use mqscope::tui::view::View;

use super::{draw, feed, key, message, screen, select, t0};

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/proto")
}

fn schemas() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/proto")
}

fn decoder(spec: &str) -> (String, Decoder) {
    let spec = parse_spec(spec).unwrap();
    let d = spec
        .build(Path::new(env!("CARGO_MANIFEST_DIR")), &[schemas()])
        .unwrap();
    (spec.filter, d)
}

/// MessagePack `{"n": <n>, "tag": <tag>}` written by hand (fixmap, fixstr, positive fixint).
fn packed(n: u8, tag: &str) -> Vec<u8> {
    let mut b = vec![0x82, 0xa1, b'n', n, 0xa3, b't', b'a', b'g'];
    b.push(0xa0 | u8::try_from(tag.len()).unwrap());
    b.extend(tag.as_bytes());
    b
}

fn decoding() -> Model {
    let mut model = Model::new(
        "mqtt://broker.test:1883".into(),
        mqscope::store::Limits::default(),
        t0(),
    );
    model.decoders = Decoders::new(vec![
        decoder("plant/+/pb=protobuf:assets/proto/plant/v1/telemetry.proto:plant.v1.Telemetry"),
        decoder("plant/+/mp=msgpack"),
    ]);
    let telemetry = std::fs::read(fixtures().join("telemetry.bin")).unwrap();
    feed(&mut model, message("plant/温度/pb", &telemetry, 0));
    feed(&mut model, message("plant/été/mp", &packed(1, "ok"), 100));
    // A device string that would clear the screen.
    feed(
        &mut model,
        message("plant/été/mp", &packed(2, "\u{1b}[2J"), 200),
    );
    feed(&mut model, message("plant/x/mp", b"garbage\xc1", 300));
    model
}

#[test]
fn protobuf_decoded_in_the_inspector_with_decoded_previews_at_160x45() {
    let mut model = decoding();
    select(&mut model, "plant/温度/pb");
    let mut view = View::default();
    let terminal = draw(&mut model, &mut view, 160, 45);
    let text = screen(&terminal);
    assert!(text.contains("⚙ protobuf plant.v1.Telemetry"), "{text}");
    assert!(text.contains("\"unit\": \"CELSIUS\""), "{text}");
    assert!(
        text.contains("pb (1) = {\"device\":\"pompe-7/été\""),
        "{text}"
    );
    insta::assert_snapshot!("decoded_protobuf_160x45", text);
    // `v`: the raw bytes as text, then JSON (not JSON: hex), then hex.
    key(&mut model, KeyCode::Char('v'));
    let terminal = draw(&mut model, &mut view, 160, 45);
    let text = screen(&terminal);
    assert!(!text.contains("⚙ protobuf"), "{text}");
    assert!(text.contains("(text)"), "{text}");
}

#[test]
fn a_decode_error_shows_the_raw_bytes_and_why() {
    let mut model = decoding();
    select(&mut model, "plant/x/mp");
    let mut view = View::default();
    let terminal = draw(&mut model, &mut view, 120, 30);
    let text = screen(&terminal);
    assert!(
        text.contains("✗ msgpack: not MessagePack: 7 bytes left over after the value"),
        "{text}"
    );
    assert!(text.contains("67 61 72 62 61 67 65 c1"), "{text}");
    insta::assert_snapshot!("decode_error_120x30", text);
}

#[test]
fn diffs_compare_decoded_values_and_copies_give_decoded_json() {
    let mut model = decoding();
    select(&mut model, "plant/été/mp");
    key(&mut model, KeyCode::Char('d'));
    let mut view = View::default();
    let terminal = draw(&mut model, &mut view, 120, 30);
    let text = screen(&terminal);
    assert!(
        text.contains("\"n\": 1") && text.contains("\"n\": 2"),
        "{text}"
    );
    // The device's escape sequence reaches the screen escaped.
    assert!(!text.contains('\u{1b}'), "{text}");
    key(&mut model, KeyCode::Char('d'));
    let copied = |cmds: Vec<Command>| {
        cmds.into_iter()
            .find_map(|c| match c {
                Command::Copy(t) => Some(t),
                _ => None,
            })
            .unwrap()
    };
    let payload = copied(key(&mut model, KeyCode::Char('y')));
    let v: serde_json::Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(v, serde_json::json!({"n": 2, "tag": "\u{1b}[2J"}));
    let line = copied(key(&mut model, KeyCode::Char('J')));
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["decoder"], "msgpack");
    assert_eq!(v["decoded"]["n"], 2);
    assert_eq!(v["topic"], "plant/été/mp");
}

fn sp(json: &str) -> Vec<u8> {
    mqscope::payload::decode::sparkplug_schema()
        .unwrap()
        .encode(json)
        .unwrap()
}

#[test]
fn sparkplug_names_data_by_alias_shows_the_edge_node_and_reports_a_seq_gap() {
    let mut model = Model::new(
        "mqtt://broker.test:1883".into(),
        mqscope::store::Limits::default(),
        t0(),
    );
    let steps = [
        (
            "spBv1.0/usine-été/NBIRTH/nœud-1",
            r#"{"seq":0,"metrics":[{"name":"bdSeq","datatype":4,"long_value":1},{"name":"Température","alias":1,"datatype":10,"double_value":20.5}]}"#,
        ),
        (
            "spBv1.0/usine-été/DBIRTH/nœud-1/presse",
            r#"{"seq":1,"metrics":[{"name":"Running","alias":5,"datatype":11,"boolean_value":true}]}"#,
        ),
        (
            "spBv1.0/usine-été/NDATA/nœud-1",
            r#"{"seq":2,"metrics":[{"alias":1,"double_value":21.5}]}"#,
        ),
        (
            "spBv1.0/usine-été/NDATA/nœud-1",
            r#"{"seq":5,"metrics":[{"alias":1,"double_value":22.5}]}"#,
        ),
    ];
    for (i, (topic, json)) in steps.iter().enumerate() {
        feed(&mut model, message(topic, &sp(json), 100 * i as u64));
    }
    let gaps: Vec<_> = model.watch.list().iter().collect();
    assert_eq!(gaps.len(), 1, "{gaps:#?}");
    assert_eq!(gaps[0].kind.name(), "gap");
    assert_eq!(gaps[0].detail(), "2 missing: 3…4");
    select(&mut model, "spBv1.0/usine-été/NDATA/nœud-1");
    let mut view = View::default();
    let terminal = draw(&mut model, &mut view, 160, 45);
    let text = screen(&terminal);
    assert!(text.contains("\"name\": \"Température\""), "{text}");
    assert!(text.contains("\"datatype_name\": \"Double\""), "{text}");
    assert!(
        text.contains(
            "◆ Sparkplug nœud-1 online (birth 08:00:00.000, 2 metrics) · bdSeq 1 · seq 5 · 1 seq gaps"
        ),
        "{text}"
    );
    insta::assert_snapshot!("sparkplug_ndata_160x45", text);
}

#[test]
fn sparkplug_tree_previews_name_metrics_sent_by_alias() {
    let mut model = Model::new(
        "mqtt://broker.test:1883".into(),
        mqscope::store::Limits::default(),
        t0(),
    );
    let birth =
        r#"{"seq":0,"metrics":[{"name":"温度","alias":1,"datatype":10,"double_value":20.5}]}"#;
    feed(&mut model, message("spBv1.0/g/NBIRTH/n", &sp(birth), 0));
    let data = r#"{"seq":1,"metrics":[{"alias":1,"double_value":21.5}]}"#;
    feed(&mut model, message("spBv1.0/g/NDATA/n", &sp(data), 100));
    select(&mut model, "spBv1.0/g/NDATA/n");
    let mut view = View::default();
    let terminal = draw(&mut model, &mut view, 160, 45);
    let text = screen(&terminal);
    assert!(
        text.contains(r#"n (1) = {"metrics":[{"name":"温"#),
        "{text}"
    );
}
