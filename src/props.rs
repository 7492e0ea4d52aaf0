//! Properties of every function that reads bytes or text from outside (the framer, the packet
//! describer and the inbound checks, the topic matcher, the sanitizer, the payload views and
//! diffs, config parsing): arbitrary input in, a value or an error out, never a panic, and the
//! same answer whatever the chunking. `cargo test` runs them; the same entry points have
//! cargo-fuzz targets under `fuzz/` for long runs.

use proptest::prelude::*;

use crate::broker::wire::{self, PacketType};
use crate::fuzz::{LIMITS, chunked, frame_all};

/// A well-formed packet of some type with a body of `len` bytes.
fn packet(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    wire::encode_varint(body.len(), &mut out);
    out.extend_from_slice(body);
    out
}

/// The reference matcher: level by level, written as plainly as the specification.
fn reference_matches(topic: &str, filter: &str) -> bool {
    fn go(t: &[&str], f: &[&str]) -> bool {
        match (t.first(), f.first()) {
            (_, Some(&"#")) => f.len() == 1,
            (None, None) => true,
            (Some(_), None) | (None, Some(_)) => false,
            (Some(a), Some(b)) => (*b == "+" || a == b) && go(&t[1..], &f[1..]),
        }
    }
    let t: Vec<&str> = topic.split('/').collect();
    let f: Vec<&str> = filter.split('/').collect();
    if topic.starts_with('$') && (f[0] == "+" || f[0] == "#") {
        return false;
    }
    go(&t, &f)
}

fn level() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "", "a", "b", "+", "#", "$SYS", "été", "温度", "🌡️", "\u{fffd}", "a+", "#x",
    ])
    .prop_map(str::to_string)
}

fn path() -> impl Strategy<Value = String> {
    prop::collection::vec(level(), 1..5).prop_map(|levels| levels.join("/"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_framer_takes_any_bytes_and_any_chunking_alike(
        bytes in prop::collection::vec(any::<u8>(), 0..1024),
        cuts in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        let whole = frame_all(&[&bytes]);
        let parts = frame_all(&chunked(&bytes, &cuts));
        prop_assert_eq!(whole, parts);
    }

    #[test]
    fn well_formed_streams_frame_back_exactly(
        packets in prop::collection::vec(
            (1u8..16, prop::collection::vec(any::<u8>(), 0..300)), 0..8),
        cuts in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        let mut stream = Vec::new();
        let mut want = Vec::new();
        for (kind, body) in &packets {
            let p = packet(kind << 4, body);
            let keep = if *kind == 3 { LIMITS.publish } else { LIMITS.control };
            let captured = body[..body.len().min(keep)].to_vec();
            want.push((*kind, p.len(), captured, body.len() <= keep));
            stream.extend(p);
        }
        let (frames, end) = frame_all(&chunked(&stream, &cuts));
        prop_assert_eq!(end, None);
        prop_assert_eq!(frames, want);
    }

    #[test]
    fn varints_decode_what_they_encode(value in 0usize..=wire::MAX_VARINT) {
        let mut buf = Vec::new();
        wire::encode_varint(value, &mut buf);
        prop_assert_eq!(wire::decode_varint(&buf), Ok(Some((value, buf.len()))));
        prop_assert_eq!(PacketType::of(0x30), PacketType::Publish);
    }

    #[test]
    fn the_matcher_agrees_with_the_reference(topic in path(), filter in path()) {
        prop_assert_eq!(
            crate::topic::matches(&topic, &filter),
            reference_matches(&topic, &filter),
            "{} vs {}", topic, filter
        );
    }

    #[test]
    fn the_matcher_takes_any_text(topic in ".{0,40}", filter in ".{0,40}") {
        let _ = crate::topic::matches(&topic, &filter);
        let _ = crate::store::Query::new(&filter).matches(&topic);
    }

    #[test]
    fn sanitized_text_holds_nothing_a_terminal_obeys(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        for out in [
            crate::sanitize::line(&bytes).into_owned(),
            crate::sanitize::block(&bytes).into_owned(),
        ] {
            prop_assert!(!out.chars().any(|c| crate::sanitize::unsafe_char(c) && c != '\t' && c != '\n'));
        }
        prop_assert!(!crate::sanitize::line(&bytes).contains('\n'));
    }

    #[test]
    fn safe_text_passes_the_sanitizer_unchanged(text in "[a-zA-Z0-9/ éü温度🌡️_.-]{0,60}") {
        prop_assert_eq!(crate::sanitize::line(text.as_bytes()), text.as_str());
    }

    #[test]
    fn payload_views_and_diffs_take_any_bytes(
        old in prop::collection::vec(any::<u8>(), 0..600),
        new in prop::collection::vec(any::<u8>(), 0..600),
    ) {
        use crate::payload::{Mode, PayloadView, diff_bytes, diff_lines, preview};
        for mode in [Mode::Auto, Mode::Text, Mode::Json, Mode::Hex] {
            let view = PayloadView::new(bytes::Bytes::from(new.clone()), mode);
            for i in 0..view.line_count().min(50) {
                let _ = view.line(i);
            }
            let _ = view.hex_range(0, 10);
            let before = PayloadView::new(bytes::Bytes::from(old.clone()), mode);
            let _ = diff_lines(before.text(), view.text());
        }
        let _ = diff_bytes(&old, &new);
        let _ = preview(&new, 48);
    }

    #[test]
    fn the_watch_reads_any_bytes_and_all_json(
        bytes in prop::collection::vec(any::<u8>(), 0..600),
        value in json_value(),
    ) {
        crate::fuzz::payloads(&bytes);
        let value = serde_json::Value::Object(
            [("k".to_string(), value)].into_iter().collect(),
        );
        let compact = serde_json::to_string(&value).unwrap_or_default();
        let pretty = serde_json::to_string_pretty(&value).unwrap_or_default();
        let a = crate::watch::shape::scan(compact.as_bytes(), &[]);
        let b = crate::watch::shape::scan(pretty.as_bytes(), &[]);
        prop_assert_eq!(a.kind, crate::payload::Kind::Json);
        prop_assert_eq!(a.shape, b.shape, "whitespace is not shape");
        prop_assert!(crate::watch::shape::paths(compact.as_bytes()).is_some());
    }

    #[test]
    fn filter_expressions_take_any_text(text in "[a-z0-9 .\\[\\]\"()=<>!~温é-]{0,40}") {
        if let Ok(e) = crate::expr::Expr::parse(&text) {
            let _ = e.matches("t/温", Some(&serde_json::json!({"a": [1, "2"], "b": {"c": null}})));
            let _ = e.matches("t", None);
        }
    }

    #[test]
    fn recording_lines_take_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        crate::fuzz::recordings(&bytes);
    }

    #[test]
    fn recorded_messages_read_back_exactly(
        topic in "[a-z温été🙂/\u{1b}\u{0}\\\"]{1,30}",
        payload in prop::collection::vec(any::<u8>(), 0..200),
        qos in 0u8..=2,
        retain: bool,
        dup: bool,
        correlation in prop::option::of(prop::collection::vec(any::<u8>(), 0..20)),
        user in prop::collection::vec(("[a-zé\\\"]{0,6}", "[a-z温\u{7}]{0,6}"), 0..3),
    ) {
        let m = crate::broker::Message {
            topic,
            payload: bytes::Bytes::from(payload),
            qos,
            retain,
            dup,
            properties: Some(Box::new(crate::broker::MessageProperties {
                correlation_data: correlation.map(bytes::Bytes::from),
                user_properties: user,
                ..Default::default()
            })),
            received: std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_764_720_000_123),
            wire_size: 0,
        };
        let line = serde_json::to_vec(&crate::record::format::message_line(&m)).expect("JSON");
        let Ok(crate::record::Entry::Events(events)) = crate::record::format::parse_line(&line, &mut None) else {
            return Err(TestCaseError::fail("does not read back"));
        };
        let [crate::broker::BrokerEvent::Message(back)] = events.as_slice() else {
            return Err(TestCaseError::fail("not one message"));
        };
        prop_assert_eq!(&back.topic, &m.topic);
        prop_assert_eq!(&back.payload, &m.payload);
        prop_assert_eq!((back.qos, back.retain, back.dup, back.received), (m.qos, m.retain, m.dup, m.received));
        prop_assert_eq!(&back.properties, &m.properties);
    }

    #[test]
    fn config_parsing_takes_any_text(text in "[\\[\\]a-z_.=\" \\n0-9#{}:/@-]{0,200}") {
        let _ = crate::config::Config::parse(
            &text,
            std::path::Path::new("c.toml"),
            crate::config::no_sections,
        );
    }
}

/// Any JSON value, nested a few levels, keys and strings non-ASCII and with escapes.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "[a-z温été\\\"\u{1b}\n🚀]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z温é\\\"\u{1b}]{0,6}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}
