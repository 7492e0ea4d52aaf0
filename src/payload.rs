//! Payload decoding for display: JSON, UTF-8 text or binary, decided lazily for what is
//! shown. The raw bytes are never altered; views are built from them and paged by line.

pub mod decode;
mod diff;
mod highlight;
pub mod xml;

use bytes::Bytes;

pub use diff::{ByteRange, DiffLine, diff_bytes, diff_lines};
pub use highlight::{Token, TokenKind, json_line_tokens};

/// What a payload looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Empty,
    Json,
    Text,
    Binary,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::Empty => "empty",
            Kind::Json => "JSON",
            Kind::Text => "text",
            Kind::Binary => "binary",
        }
    }
}

/// How the user wants to see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// JSON when it parses, text when it is UTF-8, hex otherwise.
    #[default]
    Auto,
    Text,
    Json,
    Xml,
    Hex,
}

impl Mode {
    pub fn label(self) -> &'static str {
        match self {
            Mode::Auto => "auto",
            Mode::Text => "text",
            Mode::Json => "json",
            Mode::Xml => "xml",
            Mode::Hex => "hex",
        }
    }

    /// The next view for `v`: the XML view only when the payload is XML.
    #[must_use]
    pub fn next_for(self, xml: bool) -> Self {
        match self {
            Mode::Auto => Mode::Text,
            Mode::Text => Mode::Json,
            Mode::Json if xml => Mode::Xml,
            Mode::Json | Mode::Xml => Mode::Hex,
            Mode::Hex => Mode::Auto,
        }
    }

    #[must_use]
    pub fn next(self) -> Self {
        self.next_for(false)
    }
}

/// Payloads above this are not pretty-printed (they are shown as text, paged).
pub const PRETTY_LIMIT: usize = 2 << 20;

/// Text views decode and index at most this much of a payload: 200 MB of newlines would
/// otherwise take gigabytes of line index. The rest is one `w` (save) away.
pub const TEXT_WINDOW: usize = 4 << 20;

/// Bytes per hex dump line.
pub const HEX_WIDTH: usize = 16;

/// Classifies a payload. JSON must be an object or array (or parse as a whole).
pub fn classify(bytes: &[u8]) -> Kind {
    if bytes.is_empty() {
        return Kind::Empty;
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Kind::Binary;
    };
    let trimmed = text.trim_start();
    if (trimmed.starts_with('{') || trimmed.starts_with('['))
        && bytes.len() <= PRETTY_LIMIT
        && serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
    {
        return Kind::Json;
    }
    text_kind(text)
}

/// UTF-8 that is not JSON: text, or binary when more than one character in twenty is a
/// control character (tabs and line breaks aside).
pub fn text_kind(text: &str) -> Kind {
    let control = text
        .chars()
        .filter(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        .count();
    if control * 20 > text.chars().count().max(1) {
        Kind::Binary
    } else {
        Kind::Text
    }
}

/// The representation actually drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    Json,
    Text,
    /// Pretty-printed XML (escaped like text).
    Xml,
    Hex,
}

/// A decoded payload, ready to be paged line by line.
#[derive(Debug, Clone)]
pub struct PayloadView {
    pub kind: Kind,
    pub shown: Shown,
    pub bytes: Bytes,
    /// Pretty JSON or the UTF-8 text (with control characters escaped).
    text: String,
    line_starts: Vec<usize>,
    /// Why the requested mode could not be honoured, if it could not.
    pub note: Option<&'static str>,
    /// The decoder that made this view (`protobuf plant.v1.Telemetry`), if one did.
    pub decoder: Option<String>,
    /// Why the topic's decoder failed on this payload: the raw view is shown instead.
    pub decode_error: Option<String>,
}

impl PayloadView {
    pub fn new(bytes: Bytes, mode: Mode) -> Self {
        // A huge payload is classified and decoded by its head only (cut at a character).
        let head = window(&bytes);
        let kind = classify(head);
        // XML is told apart from text only where it matters: auto and the XML view.
        let candidate = matches!(mode, Mode::Auto | Mode::Xml)
            && kind == Kind::Text
            && head.len() == bytes.len()
            && bytes.len() <= PRETTY_LIMIT
            && is_xml_start(head);
        let pretty_xml = candidate
            .then(|| std::str::from_utf8(head).ok().and_then(xml::pretty))
            .flatten();
        let (shown, note) = match (mode, kind) {
            (Mode::Auto | Mode::Xml, _) if pretty_xml.is_some() => (Shown::Xml, None),
            (Mode::Xml, Kind::Binary) => (Shown::Hex, Some("not XML: shown as hex")),
            (Mode::Xml, _) => (Shown::Text, Some("not well-formed XML: shown as text")),
            (Mode::Hex, _) | (Mode::Auto, Kind::Binary) => (Shown::Hex, None),
            (Mode::Auto, Kind::Json) => (Shown::Json, None),
            (Mode::Json, Kind::Json) => (Shown::Json, None),
            (Mode::Json, Kind::Binary) => (Shown::Hex, Some("not JSON: shown as hex")),
            (Mode::Json, _) if bytes.len() > PRETTY_LIMIT => (
                Shown::Text,
                Some("too large to pretty-print: shown as text"),
            ),
            (Mode::Json, _) => (Shown::Text, Some("not valid JSON: shown as text")),
            (Mode::Text, Kind::Binary) => {
                (Shown::Text, Some("not UTF-8: invalid bytes shown as \\xNN"))
            }
            _ => (Shown::Text, None),
        };
        let text = match shown {
            Shown::Json => serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|v| serde_json::to_string_pretty(&v).ok())
                .unwrap_or_default(),
            Shown::Text => crate::sanitize::block(head).into_owned(),
            // Broker text: escaped like any other before it reaches the screen.
            Shown::Xml => {
                crate::sanitize::block(pretty_xml.unwrap_or_default().as_bytes()).into_owned()
            }
            Shown::Hex => String::new(),
        };
        let note = if shown == Shown::Text && head.len() < bytes.len() {
            Some("only the first 4 MiB is shown (w saves it whole)")
        } else {
            note
        };
        let line_starts = if shown == Shown::Hex {
            Vec::new()
        } else {
            line_starts(&text)
        };
        Self {
            kind,
            shown,
            bytes,
            text,
            line_starts,
            note,
            decoder: None,
            decode_error: None,
        }
    }

    /// The view of a payload on a topic with a decoder: in `auto` mode the decoded value (or
    /// the decoded bytes' usual view, or the raw view and the error); `text`, `json` and `hex`
    /// still show the raw bytes.
    pub fn decoded(bytes: Bytes, mode: Mode, decoder: Option<&decode::Decoder>) -> Self {
        Self::decoded_with(bytes, mode, decoder, |_| {})
    }

    /// [`PayloadView::decoded`], with a decoded value completed by `annotate` first
    /// (Sparkplug's metric names from the births).
    pub fn decoded_with(
        bytes: Bytes,
        mode: Mode,
        decoder: Option<&decode::Decoder>,
        annotate: impl FnOnce(&mut serde_json::Value),
    ) -> Self {
        let Some(decoder) = decoder.filter(|_| mode == Mode::Auto) else {
            return Self::new(bytes, mode);
        };
        if let Some(forced) = decoder.view_only() {
            let mut view = Self::new(bytes, forced);
            view.decoder = Some(decoder.label());
            return view;
        }
        let mut view = match decoder.decode(&bytes) {
            Ok(decode::Decoded::Value(mut value)) => {
                annotate(&mut value);
                let kind = classify(window(&bytes));
                let text = serde_json::to_string_pretty(&value).unwrap_or_default();
                Self {
                    kind,
                    shown: Shown::Json,
                    bytes,
                    line_starts: line_starts(&text),
                    text,
                    note: None,
                    decoder: None,
                    decode_error: None,
                }
            }
            Ok(decode::Decoded::Bytes(inner, inner_mode)) => Self::new(inner, inner_mode),
            Err(e) => {
                let mut raw = Self::new(bytes, Mode::Auto);
                raw.decode_error = Some(e.0);
                raw
            }
        };
        view.decoder = Some(decoder.label());
        view
    }

    /// Number of lines to page through.
    pub fn line_count(&self) -> usize {
        match self.shown {
            Shown::Hex => self.bytes.len().div_ceil(HEX_WIDTH).max(1),
            _ => self.line_starts.len(),
        }
    }

    /// Line `i` of the text or JSON (empty for hex views).
    pub fn line(&self, i: usize) -> &str {
        let Some(&start) = self.line_starts.get(i) else {
            return "";
        };
        let end = self
            .line_starts
            .get(i + 1)
            .map_or(self.text.len(), |next| next - 1);
        self.text[start..end].trim_end_matches('\r')
    }

    /// The byte range shown by hex lines `first..first + count`.
    pub fn hex_range(&self, first: usize, count: usize) -> (usize, usize) {
        let start = (first * HEX_WIDTH).min(self.bytes.len());
        let end = ((first + count) * HEX_WIDTH).min(self.bytes.len());
        (start, end)
    }

    /// The whole text (pretty JSON or escaped text), for diffs.
    pub fn text(&self) -> &str {
        &self.text
    }
}

fn is_xml_start(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'<')
}

/// Whether a payload is a well-formed XML document (for `v`'s cycle).
pub fn looks_like_xml(bytes: &[u8]) -> bool {
    bytes.len() <= PRETTY_LIMIT
        && is_xml_start(bytes)
        && std::str::from_utf8(bytes).is_ok_and(xml::is_xml)
}

/// Where each line of a text starts.
fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect()
}

/// The part of a payload a text view decodes: all of it, or the first `TEXT_WINDOW` bytes
/// ending on a whole UTF-8 character.
fn window(bytes: &[u8]) -> &[u8] {
    if bytes.len() <= TEXT_WINDOW {
        return bytes;
    }
    let head = &bytes[..TEXT_WINDOW];
    match std::str::from_utf8(head) {
        Err(e) if e.error_len().is_none() => &head[..e.valid_up_to()],
        _ => head,
    }
}

/// One hex dump line: offset, hex bytes, ASCII column.
pub fn hex_line(bytes: &[u8], line: usize) -> String {
    use std::fmt::Write as _;
    let start = line * HEX_WIDTH;
    let chunk = bytes
        .get(start..(start + HEX_WIDTH).min(bytes.len()))
        .unwrap_or_default();
    let mut s = format!("{start:08x}  ");
    for i in 0..HEX_WIDTH {
        match chunk.get(i) {
            Some(b) => {
                let _ = write!(s, "{b:02x} ");
            }
            None => s.push_str("   "),
        }
        if i == 7 {
            s.push(' ');
        }
    }
    s.push(' ');
    s.extend(chunk.iter().map(|&b| {
        if (0x20..0x7f).contains(&b) {
            b as char
        } else {
            '.'
        }
    }));
    s
}

/// Bytes of a payload a preview looks at: a tree row shows a few dozen characters, so a 200 MB
/// payload costs no more than a small one.
const PREVIEW_SCAN: usize = 4096;

/// A one-line preview at most `max_chars` columns wide (a CJK character takes two): text with
/// newlines shown as ⏎ and anything a terminal would obey as ·, binary as a hex prefix. Only
/// the first few KB are looked at.
pub fn preview(bytes: &[u8], max_chars: usize) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let head = &bytes[..bytes.len().min(PREVIEW_SCAN)];
    // A prefix may end inside a character: the valid part is still text.
    let text = match std::str::from_utf8(head) {
        Ok(text) => Some(text),
        Err(e) if e.error_len().is_none() && head.len() < bytes.len() => {
            std::str::from_utf8(&head[..e.valid_up_to()]).ok()
        }
        Err(_) => None,
    };
    match text {
        Some(text) if classify(head) != Kind::Binary => {
            let mut used = 0;
            for c in text.chars() {
                let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(1);
                if used + w > max_chars {
                    out.push('…');
                    break;
                }
                used += w;
                match c {
                    '\n' => out.push('⏎'),
                    '\r' | '\t' => out.push(' '),
                    c if crate::sanitize::unsafe_char(c) => out.push('·'),
                    c => out.push(c),
                }
            }
        }
        _ => {
            out.push_str("0x");
            for b in bytes.iter().take(max_chars / 2) {
                let _ = write!(out, "{b:02x}");
            }
            if bytes.len() > max_chars / 2 {
                out.push('…');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_json_text_and_binary() {
        assert_eq!(classify(b""), Kind::Empty);
        assert_eq!(classify(b" {\"a\": 1}"), Kind::Json);
        assert_eq!(classify(b"[1,2]"), Kind::Json);
        assert_eq!(classify(b"{broken"), Kind::Text);
        assert_eq!(classify(b"21.5"), Kind::Text);
        assert_eq!(classify(&[0xff, 0x00, 0x01]), Kind::Binary);
        assert_eq!(classify(&[0x01, 0x02, 0x03, b'a']), Kind::Binary);
    }

    #[test]
    fn json_is_pretty_printed_and_paged_by_line() {
        let view = PayloadView::new(
            Bytes::from_static(b"{\"b\":1,\"a\":[true,null]}"),
            Mode::Auto,
        );
        assert_eq!(view.shown, Shown::Json);
        let lines: Vec<&str> = (0..view.line_count()).map(|i| view.line(i)).collect();
        assert_eq!(
            lines,
            [
                "{",
                "  \"b\": 1,",
                "  \"a\": [",
                "    true,",
                "    null",
                "  ]",
                "}"
            ]
        );
    }

    #[test]
    fn modes_fall_back_with_a_note() {
        let bin = Bytes::from_static(&[0xff, 0xfe, 0x00, 0x01]);
        let view = PayloadView::new(bin.clone(), Mode::Json);
        assert_eq!(
            (view.shown, view.note),
            (Shown::Hex, Some("not JSON: shown as hex"))
        );
        let view = PayloadView::new(bin, Mode::Text);
        assert_eq!(view.line(0), "\\xff\\xfe\\x00\\x01");
    }

    #[test]
    fn hex_lines_have_offsets_and_ascii() {
        let bytes: Vec<u8> = (0x41..0x41 + 20).collect();
        assert_eq!(
            hex_line(&bytes, 0),
            "00000000  41 42 43 44 45 46 47 48  49 4a 4b 4c 4d 4e 4f 50  ABCDEFGHIJKLMNOP"
        );
        assert_eq!(
            hex_line(&bytes, 1),
            "00000010  51 52 53 54                                       QRST"
        );
        let view = PayloadView::new(Bytes::from(bytes), Mode::Hex);
        assert_eq!(view.line_count(), 2);
        assert_eq!(view.hex_range(1, 5), (16, 20));
    }

    #[test]
    fn a_huge_text_payload_is_decoded_and_indexed_by_a_window_only() {
        // 20 MB of newlines, and a multi-byte character across the window's edge.
        let mut big = vec![b'\n'; TEXT_WINDOW - 1];
        big.extend_from_slice("é".as_bytes());
        big.resize(20 << 20, b'\n');
        let view = PayloadView::new(Bytes::from(big), Mode::Auto);
        assert_eq!(view.shown, Shown::Text);
        assert!(view.text().len() < TEXT_WINDOW, "{}", view.text().len());
        assert_eq!(view.line_count(), TEXT_WINDOW);
        assert_eq!(
            view.note,
            Some("only the first 4 MiB is shown (w saves it whole)")
        );
        let small = PayloadView::new(Bytes::from_static(b"a\nb"), Mode::Auto);
        assert_eq!((small.line_count(), small.note), (2, None));
    }

    #[test]
    fn previews_are_one_safe_line() {
        assert_eq!(preview("a\u{202e}b\tc".as_bytes(), 20), "a·b c");
        assert_eq!(
            preview(b"a\x1b[2J", 20),
            "0x611b5b324a",
            "controls make it binary"
        );
        assert_eq!(preview(b"line1\nline2", 20), "line1⏎line2");
        assert_eq!(preview(&[0xff, 0x10], 20), "0xff10");
        assert_eq!(preview(b"abcdef", 3), "abc…");
    }
}
