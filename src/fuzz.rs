//! Entry points for the fuzz targets under `fuzz/` (and the property tests): each takes
//! arbitrary bytes, runs one family of functions that read outside input, and checks what must
//! hold. A panic here is a bug. `cargo fuzz run frames` etc.; see the README.
//!
//! # Panics
//! Each entry point panics when what it checks does not hold: that is how a fuzzer reports it.

use crate::broker::framer::{CaptureLimits, Framer};
use crate::broker::{Direction, Protocol};

pub const LIMITS: CaptureLimits = CaptureLimits {
    publish: 64,
    control: 256,
    max_packet: 1 << 16,
};

/// What a framer saw: each frame (type, wire size, captured body, complete) and how it ended.
pub type Framed = (Vec<(u8, usize, Vec<u8>, bool)>, Option<String>);

pub fn frame_all(chunks: &[&[u8]]) -> Framed {
    let mut reader = Framer::new(LIMITS);
    let mut frames = Vec::new();
    for chunk in chunks {
        let result = reader.feed(chunk, &mut |f| {
            // Everything that reads a frame runs on it, in both directions and versions.
            for protocol in [None, Some(Protocol::V311), Some(Protocol::V5)] {
                let _ = crate::broker::packet::describe(&f, Direction::In, protocol, true);
                let _ = crate::broker::packet::describe(&f, Direction::Out, protocol, true);
                let _ = crate::broker::violation::inbound(&f, protocol);
            }
            let _ = crate::broker::violation::hex_head(f.first, f.remaining, f.body);
            // The proxy's readers of a client's packets.
            let _ = crate::proxy::hello::connect(&f);
            let _ = crate::proxy::hello::publish_pkid(&f);
            for protocol in [Protocol::V311, Protocol::V5] {
                let _ = crate::proxy::hello::subscribe(&f, protocol);
                let _ = crate::proxy::hello::unsubscribe(&f, protocol);
            }
            frames.push((
                f.packet_type().number(),
                f.wire_size(),
                f.body.to_vec(),
                f.complete,
            ));
        });
        if let Err(e) = result {
            return (frames, Some(e.to_string()));
        }
    }
    (frames, None)
}

/// Splits `bytes` at the given cut points.
pub fn chunked<'a>(bytes: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    points.sort_unstable();
    let mut out = Vec::new();
    let mut at = 0;
    for p in points {
        out.push(&bytes[at..p]);
        at = p;
    }
    out.push(&bytes[at..]);
    out
}

/// The framer, the describer and the inbound checks on `data`, whole and cut in pieces at
/// points taken from its first bytes: the same frames either way.
///
/// # Panics
/// When the chunking changed what was framed.
pub fn frames(data: &[u8]) {
    let (cuts, bytes) = data.split_at(data.len().min(4));
    let cuts: Vec<usize> = cuts.iter().map(|c| usize::from(*c) * 7).collect();
    let whole = frame_all(&[bytes]);
    let parts = frame_all(&chunked(bytes, &cuts));
    assert_eq!(whole, parts, "the chunking changed what was framed");
}

/// The topic matcher and the explorer's query on a topic and a filter (split at the first NUL).
///
/// # Panics
/// When `#` does not match a topic that does not start with `$`.
pub fn topics(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (topic, filter) = text.split_once('\0').unwrap_or((&text, "#"));
    let matched = crate::topic::matches(topic, filter);
    if filter == "#" && !topic.starts_with('$') {
        assert!(matched, "# matches every topic but $ ones");
    }
    let _ = crate::store::Query::new(filter).matches(topic);
    let _ = crate::topic::parse_filter(filter);
    let _ = crate::topic::parse_topic(topic);
}

/// The payload views (every mode), the line and byte diffs between the two halves, previews,
/// and the sanitizer.
///
/// # Panics
/// When the sanitizer lets a control character through.
pub fn payloads(data: &[u8]) {
    use crate::payload::{Mode, PayloadView, diff_bytes, diff_lines, preview};
    let (old, new) = data.split_at(data.len() / 2);
    for mode in [Mode::Auto, Mode::Text, Mode::Json, Mode::Hex] {
        let view = PayloadView::new(bytes::Bytes::copy_from_slice(new), mode);
        for i in 0..view.line_count().min(64) {
            let _ = view.line(i);
        }
        let _ = view.hex_range(0, 16);
        let before = PayloadView::new(bytes::Bytes::copy_from_slice(old), mode);
        let _ = diff_lines(before.text(), view.text());
    }
    let _ = diff_bytes(old, new);
    let _ = preview(new, 48);
    // The anomaly watch's reading of a payload: its scan agrees with the inspector on what
    // is JSON, and the shape diff takes whatever the scan let through.
    let names = [crate::watch::shape::path_hash("seq")];
    let scan = crate::watch::shape::scan(new, &names);
    if new.len() <= crate::watch::shape::SCAN_LIMIT
        && crate::payload::classify(new) == crate::payload::Kind::Json
    {
        assert_eq!(
            scan.kind,
            crate::payload::Kind::Json,
            "the inspector's JSON is the watch's JSON"
        );
    }
    if let (Some(a), Some(b)) = (
        crate::watch::shape::paths(old),
        crate::watch::shape::paths(new),
    ) {
        let _ = crate::watch::shape::diff(&a, &b);
    }
    let line = crate::sanitize::line(data);
    assert!(
        !line
            .chars()
            .any(|c| crate::sanitize::unsafe_char(c) && c != '\t'),
        "the sanitizer let a control character through"
    );
}

/// Config parsing, and the explorer's checks of its sections.
pub fn config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = crate::config::Config::parse(&text, std::path::Path::new("fuzz.toml"), |c| {
        let _ = c.redacted();
        Ok(())
    });
}

/// Recording lines: any bytes read as a line, and whole files of them through the reader
/// (plain and as a damaged zstd stream), never panic; a message that reads back writes the
/// same line again.
///
/// # Panics
/// When a message read back does not write the line it was read from (modulo key order).
pub fn recordings(data: &[u8]) {
    for line in data.split(|b| *b == b'\n') {
        if let Ok(crate::record::Entry::Events(events)) =
            crate::record::format::parse_line(line, &mut None)
        {
            for event in events {
                if let crate::broker::BrokerEvent::Message(m) = event {
                    let again = serde_json::to_string(&crate::record::format::message_line(&m))
                        .unwrap_or_default();
                    let back = crate::record::format::parse_line(again.as_bytes(), &mut None);
                    assert!(
                        back.is_ok(),
                        "a message line that does not read back: {again}"
                    );
                }
            }
        }
    }
}
