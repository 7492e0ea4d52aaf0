//! What a payload looks like, cheaply enough to ask of every message: its kind (JSON, text,
//! binary), a fingerprint of its JSON shape (the key paths with their value types, order
//! ignored) and the value of its sequence field, all from one pass over a bounded prefix with
//! no allocation. A changed fingerprint is then confirmed and named by [`diff`], which parses
//! both payloads in full; that happens only when the fingerprint moves.
//!
//! Why not serde_json on every message: the watch may add at most a tenth to the store's
//! ingest cost (about 40 ns a message), and parsing numbers and building values costs more
//! than that. This scanner validates the structure, hashes keys and skips over values.

use std::collections::BTreeMap;

pub use crate::payload::Kind;

/// Bytes of a payload whose shape is learned; the rest is not looked at.
pub const SCAN_LIMIT: usize = 16 * 1024;
/// Keys hashed into the fingerprint; later keys are checked for syntax only.
pub const KEY_LIMIT: usize = 128;
/// Levels of nesting hashed; deeper levels are checked for syntax only.
const DEPTH_LIMIT: usize = 16;
/// Levels of nesting followed at all (a bit each in a `u64`).
const NEST_LIMIT: usize = 64;
/// Bytes of a non-JSON payload checked for UTF-8 and control characters.
const TEXT_PREFIX: usize = 4096;

/// The payload kinds are the inspector's ([`crate::payload::Kind`]); a track keeps one as a
/// byte.
pub(super) fn kind_from_u8(v: u8) -> Kind {
    match v {
        1 => Kind::Json,
        2 => Kind::Text,
        3 => Kind::Binary,
        _ => Kind::Empty,
    }
}

/// What one pass found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scan {
    pub kind: Kind,
    /// Fingerprint of the JSON shape; 0 for anything that is not a JSON object or array.
    pub shape: u64,
    /// The integer at the first of the wanted paths that holds one, and where it began.
    pub seq: Option<i64>,
    pub seq_at: Option<usize>,
}

const T_OBJECT: u64 = 1;
const T_ARRAY: u64 = 2;
const T_STRING: u64 = 3;
const T_NUMBER: u64 = 4;
const T_BOOL: u64 = 5;
const T_NULL: u64 = 6;
/// The path step into an array's elements.
const ELEMENT: u64 = 0x5b5d; // "[]"
/// The path of the whole payload.
pub const ROOT_PATH: u64 = 0x006d_7173_636f_7065;

/// Combines a path with one more step (a key's hash or [`ELEMENT`]) or a type.
#[inline]
pub fn mix(a: u64, b: u64) -> u64 {
    let x = (a.rotate_left(23) ^ b).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^ (x >> 29)
}

/// FNV-1a of a key as written (escapes included).
#[inline]
fn key_hash(key: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in key {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// The path hash of a dotted path (`seq`, `header.seq`, `items[].n`), as the scanner
/// computes it, for naming a sequence field.
pub fn path_hash(path: &str) -> u64 {
    let mut h = ROOT_PATH;
    for part in path.split('.') {
        let (name, elements) = match part.find("[]") {
            Some(i) => (&part[..i], part[i..].matches("[]").count()),
            None => (part, 0),
        };
        h = mix(h, key_hash(name.as_bytes()));
        for _ in 0..elements {
            h = mix(h, ELEMENT);
        }
    }
    h
}

/// Names of fields taken for a sequence number when the user named none (top level only).
pub const SEQ_NAMES: &[&str] = &[
    "seq",
    "sequence",
    "seq_no",
    "seqno",
    "seq_num",
    "sequence_number",
    "sequenceNumber",
    "counter",
    "msg_id",
    "msgId",
    "message_id",
    "messageId",
    "frame",
];

/// The scan of a payload, looking for a sequence at any of `seq_paths` (path hashes).
pub fn scan(bytes: &[u8], seq_paths: &[u64]) -> Scan {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    if bytes.is_empty() {
        return Scan {
            kind: Kind::Empty,
            shape: 0,
            seq: None,
            seq_at: None,
        };
    }
    if matches!(bytes.get(start), Some(b'{' | b'[')) && utf8_prefix(bytes) {
        let mut scanner = Scanner::new(bytes, seq_paths);
        if let Some((shape, seq)) = scanner.run(start) {
            return Scan {
                kind: Kind::Json,
                shape,
                seq,
                seq_at: scanner.seq_at,
            };
        }
    }
    Scan {
        kind: text_or_binary(bytes),
        shape: 0,
        seq: None,
        seq_at: None,
    }
}

/// The scanned prefix is UTF-8 (a character cut by its end aside): JSON with other bytes in
/// its strings is binary to the inspector, and so to the watch.
fn utf8_prefix(bytes: &[u8]) -> bool {
    let prefix = &bytes[..bytes.len().min(SCAN_LIMIT)];
    match std::str::from_utf8(prefix) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none() && prefix.len() < bytes.len(),
    }
}

/// Only the sequence number, read up to where it is: for the messages between full scans.
pub fn seq_only(bytes: &[u8], seq_paths: &[u64]) -> Option<i64> {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace())?;
    if !matches!(bytes[start], b'{' | b'[') || seq_paths.is_empty() {
        return None;
    }
    let mut scanner = Scanner::new(bytes, seq_paths);
    scanner.seq_only = true;
    scanner.run(start).and_then(|(_, seq)| seq)
}

/// The sequence number read where the last full scan found it (`at`, the first byte of the
/// number): `None` unless a top-level key on `seq_paths` sits right before it and an integer
/// there ends the value, for the caller to fall back on [`seq_only`]. A payload of the same
/// length as the one scanned (the caller's condition) nearly always has it there, and this
/// costs a tenth of a scan.
pub fn seq_at(bytes: &[u8], at: usize, seq_paths: &[u64]) -> Option<i64> {
    // Back from the number: `:`, the key's closing quote, the key, its opening quote, and `{`
    // or `,` (whitespace allowed between).
    let before = |mut j: usize| {
        while j > 0 && bytes[j - 1].is_ascii_whitespace() {
            j -= 1;
        }
        j.checked_sub(1)
    };
    let colon = before(at.min(bytes.len()))?;
    if bytes[colon] != b':' {
        return None;
    }
    let close = before(colon)?;
    if bytes[close] != b'"' {
        return None;
    }
    let open = bytes[..close].iter().rposition(|&b| b == b'"')?;
    let key = &bytes[open + 1..close];
    if key.contains(&b'\\') || !matches!(before(open).map(|j| bytes[j]), Some(b'{' | b',')) {
        return None;
    }
    if !seq_paths.contains(&mix(ROOT_PATH, key_hash(key))) {
        return None;
    }
    int_at(bytes, at)
}

/// The integer that starts at `at` right after a colon (up to 18 digits), when a comma, a
/// close or whitespace ends it; `None` for anything else. Without [`seq_at`]'s key check:
/// for the steady case, where the value must also be exactly the one expected.
#[inline]
pub fn int_at(bytes: &[u8], at: usize) -> Option<i64> {
    let mut j = at;
    while j > 0 && bytes.get(j - 1).is_some_and(u8::is_ascii_whitespace) {
        j -= 1;
    }
    if j == 0 || bytes.get(j - 1) != Some(&b':') {
        return None;
    }
    let negative = bytes.get(at) == Some(&b'-');
    let digits = at + usize::from(negative);
    let mut end = digits;
    let mut value: i64 = 0;
    while let Some(&d) = bytes.get(end).filter(|d| d.is_ascii_digit()) {
        if end - digits == 18 {
            return None;
        }
        value = value * 10 + i64::from(d - b'0');
        end += 1;
    }
    let ended = matches!(
        bytes.get(end),
        Some(b',' | b'}' | b' ' | b'\t' | b'\r' | b'\n')
    );
    (end > digits && ended).then_some(if negative { -value } else { value })
}

/// Text or binary by the inspector's rule ([`crate::payload::text_kind`]), on a prefix.
fn text_or_binary(bytes: &[u8]) -> Kind {
    let prefix = &bytes[..bytes.len().min(TEXT_PREFIX)];
    match std::str::from_utf8(prefix) {
        Ok(text) => crate::payload::text_kind(text),
        // A character cut by the prefix's end is not an error.
        Err(e) if e.error_len().is_none() && prefix.len() < bytes.len() => {
            crate::payload::text_kind(
                std::str::from_utf8(&prefix[..e.valid_up_to()]).unwrap_or_default(),
            )
        }
        Err(_) => Kind::Binary,
    }
}

/// Where the scanner is in the grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Value,
    /// After `[`: a value or `]`.
    ValueOrClose,
    /// After `{`: a key or `}`.
    KeyOrClose,
    /// After `,` in an object.
    Key,
    Colon,
    /// After a value: `,` or the container's close.
    CommaOrClose,
}

struct Scanner<'a> {
    bytes: &'a [u8],
    end: usize,
    seq_paths: &'a [u64],
    /// A bit per wanted path (by its low six bits): most numbers are ruled out by one test.
    seq_mask: u64,
    /// Stop at the sequence number: the shape is not wanted.
    seq_only: bool,
    /// Bit per level: the container is an array.
    arrays: u64,
    /// Bit per level: the array is past its first element (its elements are not hashed).
    later: u64,
    depth: usize,
    /// Path hash of each open container, and of the value being read.
    paths: [u64; DEPTH_LIMIT + 2],
    /// The path of the next value (set by a key or an array element).
    value_path: u64,
    /// Hashing is off below this depth (a later array element), or `usize::MAX`.
    quiet_below: usize,
    keys: usize,
    shape: u64,
    seq: Option<i64>,
    seq_at: Option<usize>,
}

impl<'a> Scanner<'a> {
    fn new(bytes: &'a [u8], seq_paths: &'a [u64]) -> Self {
        Self {
            bytes,
            end: bytes.len().min(SCAN_LIMIT),
            seq_paths,
            seq_mask: seq_paths.iter().fold(0, |m, p| m | 1 << (p & 63)),
            seq_only: false,
            arrays: 0,
            later: 0,
            depth: 0,
            paths: [0; DEPTH_LIMIT + 2],
            value_path: ROOT_PATH,
            quiet_below: usize::MAX,
            keys: 0,
            shape: 0,
            seq: None,
            seq_at: None,
        }
    }

    fn hashing(&self) -> bool {
        self.depth <= DEPTH_LIMIT && self.depth < self.quiet_below && self.keys <= KEY_LIMIT
    }

    fn note(&mut self, kind: u64) {
        if self.hashing() {
            self.shape = self.shape.wrapping_add(mix(self.value_path, kind));
        }
    }

    /// `Some((shape, seq))` for a JSON object or array (or a prefix of one that is
    /// well-formed so far), `None` for anything else.
    #[expect(
        clippy::too_many_lines,
        reason = "one state machine, one arm per state"
    )]
    fn run(&mut self, start: usize) -> Option<(u64, Option<i64>)> {
        let b = self.bytes;
        let mut i = start;
        let mut expect = Expect::Value;
        while i < self.end {
            let c = b[i];
            if c.is_ascii_whitespace() {
                i += 1;
                continue;
            }
            match expect {
                Expect::Value | Expect::ValueOrClose => {
                    if expect == Expect::ValueOrClose && c == b']' {
                        i += 1;
                        expect = self.close(true)?;
                        if self.depth == 0 {
                            return self.finish(i);
                        }
                        continue;
                    }
                    if expect == Expect::ValueOrClose || self.in_array() {
                        self.element();
                    }
                    match c {
                        b'{' | b'[' => {
                            let array = c == b'[';
                            self.note(if array { T_ARRAY } else { T_OBJECT });
                            self.open(array)?;
                            i += 1;
                            expect = if array {
                                Expect::ValueOrClose
                            } else {
                                Expect::KeyOrClose
                            };
                            continue;
                        }
                        b'"' => {
                            i = skip_string(b, i, b.len())?;
                            self.note(T_STRING);
                        }
                        b't' => {
                            i = literal(b, i, b"true")?;
                            self.note(T_BOOL);
                        }
                        b'f' => {
                            i = literal(b, i, b"false")?;
                            self.note(T_BOOL);
                        }
                        b'n' => {
                            i = literal(b, i, b"null")?;
                            self.note(T_NULL);
                        }
                        b'-' | b'0'..=b'9' => {
                            let wanted = self.seq.is_none()
                                && self.seq_mask & (1 << (self.value_path & 63)) != 0
                                && self.seq_paths.contains(&self.value_path);
                            let (next, int) = number(b, i, b.len(), wanted)?;
                            if wanted {
                                self.seq = int;
                                self.seq_at = int.map(|_| i);
                                if self.seq_only && int.is_some() {
                                    return Some((0, int));
                                }
                            }
                            i = next;
                            self.note(T_NUMBER);
                        }
                        _ => return None,
                    }
                    expect = Expect::CommaOrClose;
                }
                Expect::KeyOrClose | Expect::Key => {
                    if c == b'}' && expect == Expect::KeyOrClose {
                        i += 1;
                        expect = self.close(false)?;
                        if self.depth == 0 {
                            return self.finish(i);
                        }
                        continue;
                    }
                    if c != b'"' {
                        return None;
                    }
                    let end = skip_string(b, i, b.len())?;
                    self.keys += 1;
                    let parent = self.paths[self.depth.min(DEPTH_LIMIT + 1)];
                    self.value_path = mix(parent, key_hash(&b[i + 1..end - 1]));
                    i = end;
                    expect = Expect::Colon;
                }
                Expect::Colon => {
                    if c != b':' {
                        return None;
                    }
                    i += 1;
                    expect = Expect::Value;
                }
                Expect::CommaOrClose => {
                    i += 1;
                    let array = self.in_array();
                    match (c, array) {
                        (b',', true) => {
                            self.later |= 1 << (self.depth - 1);
                            expect = Expect::Value;
                        }
                        (b',', false) => expect = Expect::Key,
                        (b']', true) | (b'}', false) => {
                            expect = self.close(array)?;
                            if self.depth == 0 {
                                return self.finish(i);
                            }
                        }
                        _ => return None,
                    }
                }
            }
        }
        // The prefix ended inside the document: well-formed so far is JSON enough.
        (self.end < self.bytes.len()).then_some((self.shape, self.seq))
    }

    fn in_array(&self) -> bool {
        self.depth > 0 && self.arrays & (1 << (self.depth - 1)) != 0
    }

    /// The next value is an element of the current array.
    fn element(&mut self) {
        let level = self.depth - 1;
        if self.later & (1 << level) != 0 && self.quiet_below == usize::MAX {
            // Only the first element's shape counts: arrays vary in length.
            self.quiet_below = self.depth;
        }
        self.value_path = mix(self.paths[self.depth.min(DEPTH_LIMIT + 1)], ELEMENT);
    }

    fn open(&mut self, array: bool) -> Option<()> {
        if self.depth >= NEST_LIMIT {
            return None;
        }
        let bit = 1u64 << self.depth;
        if array {
            self.arrays |= bit;
        } else {
            self.arrays &= !bit;
        }
        self.later &= !bit;
        self.depth += 1;
        if self.depth <= DEPTH_LIMIT + 1 {
            self.paths[self.depth] = self.value_path;
        }
        Some(())
    }

    fn close(&mut self, array: bool) -> Option<Expect> {
        if self.depth == 0 || self.in_array() != array {
            return None;
        }
        self.depth -= 1;
        if self.quiet_below != usize::MAX && self.depth < self.quiet_below {
            self.quiet_below = usize::MAX;
        }
        Some(Expect::CommaOrClose)
    }

    /// Only whitespace may follow the document.
    fn finish(&self, i: usize) -> Option<(u64, Option<i64>)> {
        let rest = &self.bytes[i.min(self.bytes.len())..];
        let tail = &rest[..rest.len().min(SCAN_LIMIT)];
        tail.iter()
            .all(u8::is_ascii_whitespace)
            .then_some((self.shape, self.seq))
    }
}

/// The index after a string starting at `i` (its opening quote).
fn skip_string(b: &[u8], i: usize, end: usize) -> Option<usize> {
    let mut j = i + 1;
    while j < end {
        match b[j] {
            b'"' => return Some(j + 1),
            b'\\' => j += 2,
            c if c < 0x20 => return None,
            _ => j += 1,
        }
    }
    None
}

fn literal(b: &[u8], i: usize, word: &[u8]) -> Option<usize> {
    b.get(i..i + word.len())
        .filter(|w| *w == word)
        .map(|_| i + word.len())
}

/// The index after a number and, when `wanted`, its value if it is an integer that fits.
fn number(b: &[u8], i: usize, end: usize, wanted: bool) -> Option<(usize, Option<i64>)> {
    let mut j = i;
    let negative = b[j] == b'-';
    if negative {
        j += 1;
    }
    let digits = j;
    let mut value: Option<i64> = Some(0);
    while j < end && b[j].is_ascii_digit() {
        if wanted {
            value = value
                .and_then(|v| v.checked_mul(10))
                .and_then(|v| v.checked_add(i64::from(b[j] - b'0')));
        }
        j += 1;
    }
    if j == digits {
        return None;
    }
    let mut integer = true;
    while j < end && matches!(b[j], b'.' | b'e' | b'E' | b'+' | b'-' | b'0'..=b'9') {
        integer = false;
        j += 1;
    }
    let value = value
        .filter(|_| integer)
        .map(|v| if negative { -v } else { v });
    Some((j, value))
}

/// The type of a value, as the shape diff names it.
fn type_name(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "bool",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

/// Paths parsed in full for a diff, at most.
const DIFF_PATHS: usize = 256;

/// Every key path of a JSON payload with its type (`a.b`, `list[]`, `list[].x`), from the
/// first element of each array, up to [`DIFF_PATHS`] paths; `None` when it is not JSON.
pub fn paths(bytes: &[u8]) -> Option<BTreeMap<String, &'static str>> {
    if bytes.len() > 4 * SCAN_LIMIT {
        return None;
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let mut out = BTreeMap::new();
    walk(&value, "", 0, &mut out);
    Some(out)
}

fn walk(v: &serde_json::Value, path: &str, depth: usize, out: &mut BTreeMap<String, &'static str>) {
    if out.len() >= DIFF_PATHS || depth > DEPTH_LIMIT {
        return;
    }
    if !path.is_empty() {
        out.insert(path.to_string(), type_name(v));
    }
    match v {
        serde_json::Value::Object(map) => {
            for (k, child) in map {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(child, &p, depth + 1, out);
            }
        }
        serde_json::Value::Array(items) => {
            if let Some(first) = items.first() {
                walk(first, &format!("{path}[]"), depth + 1, out);
            } else {
                out.insert(format!("{path}[]"), "empty");
            }
        }
        _ => {}
    }
}

/// How two JSON shapes differ: keys added, keys removed, types changed (`path`, before,
/// after). Paths under an array that is empty on either side are not compared: an empty
/// list says nothing about its elements.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShapeDiff {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<(String, &'static str, &'static str)>,
}

impl ShapeDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

pub fn diff(
    before: &BTreeMap<String, &'static str>,
    after: &BTreeMap<String, &'static str>,
) -> ShapeDiff {
    let unknown = |p: &str| {
        p.match_indices("[]").any(|(i, _)| {
            let list = &p[..i + 2];
            before.get(list) == Some(&"empty") || after.get(list) == Some(&"empty")
        })
    };
    let mut d = ShapeDiff::default();
    for (path, t) in after {
        if *t == "empty" || unknown(path) {
            continue;
        }
        match before.get(path) {
            None => d.added.push(path.clone()),
            Some(old) if old != t => d.changed.push((path.clone(), old, t)),
            Some(_) => {}
        }
    }
    for (path, t) in before {
        if *t != "empty" && !unknown(path) && !after.contains_key(path) {
            d.removed.push(path.clone());
        }
    }
    // A key added with its children names only the key.
    let prune = |list: &mut Vec<String>| {
        let all = list.clone();
        list.retain(|p| {
            !all.iter().any(|q| {
                q != p && (p.starts_with(&format!("{q}.")) || p.starts_with(&format!("{q}[]")))
            })
        });
    };
    prune(&mut d.added);
    prune(&mut d.removed);
    d
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn auto() -> Vec<u64> {
        SEQ_NAMES.iter().map(|n| path_hash(n)).collect()
    }

    fn shape(s: &str) -> u64 {
        let scan = scan(s.as_bytes(), &[]);
        assert_eq!(scan.kind, Kind::Json, "{s}");
        scan.shape
    }

    #[test]
    fn kinds_follow_the_inspector() {
        let k = |s: &[u8]| scan(s, &[]).kind;
        assert_eq!(k(b""), Kind::Empty);
        assert_eq!(k(br#"{"a":1}"#), Kind::Json);
        assert_eq!(k(b" [1, 2] \n"), Kind::Json);
        assert_eq!(k(b"21.5"), Kind::Text);
        assert_eq!(k("温度 ok".as_bytes()), Kind::Text);
        assert_eq!(k(b"{not json"), Kind::Text);
        assert_eq!(k(br#"{"a":1} trailing"#), Kind::Text);
        assert_eq!(k(br#"{"a":1}}"#), Kind::Text);
        assert_eq!(k(br#"{"a" 1}"#), Kind::Text);
        assert_eq!(k(b"[1,]x"), Kind::Text);
        assert_eq!(k(&[0xff, 0xd8, 0xff, 0xe0, 0, 1, 2]), Kind::Binary);
        assert_eq!(k(b"\x01\x02\x03abc"), Kind::Binary);
        assert_eq!(k(b"{\"a\":\"\xff\"}"), Kind::Binary);
    }

    #[test]
    fn key_order_and_values_do_not_change_the_shape() {
        assert_eq!(
            shape(r#"{"t":21.5,"unit":"C","ok":true}"#),
            shape(r#"{ "ok" : false, "unit":"F", "t": -3e2 }"#)
        );
        assert_eq!(shape(r#"{"l":[1,2,3]}"#), shape(r#"{"l":[7]}"#));
        assert_eq!(
            shape(r#"{"l":[{"a":1},{"b":2}]}"#),
            shape(r#"{"l":[{"a":5}]}"#)
        );
    }

    #[test]
    fn keys_and_types_change_the_shape() {
        let base = shape(r#"{"t":21.5,"unit":"C"}"#);
        assert_ne!(base, shape(r#"{"t":21.5,"unit":"C","x":1}"#));
        assert_ne!(base, shape(r#"{"t":"21.5","unit":"C"}"#));
        assert_ne!(base, shape(r#"{"temp":21.5,"unit":"C"}"#));
        assert_ne!(shape(r#"{"a":{"b":1}}"#), shape(r#"{"a":{"c":1}}"#));
        assert_ne!(shape(r#"{"a":{"b":1}}"#), shape(r#"{"b":{"a":1}}"#));
        assert_ne!(shape(r#"{"温度":1}"#), shape(r#"{"été":1}"#));
    }

    #[test]
    fn sequence_fields_are_found_by_name_or_path() {
        let s = scan(br#"{"t":1.5,"seq":41}"#, &auto());
        assert_eq!(s.seq, Some(41));
        assert_eq!(scan(br#"{"seq":4.5}"#, &auto()).seq, None);
        assert_eq!(scan(br#"{"seq":"4"}"#, &auto()).seq, None);
        assert_eq!(scan(br#"{"a":{"seq":4}}"#, &auto()).seq, None);
        assert_eq!(scan(br#"{"seq":-3}"#, &auto()).seq, Some(-3));
        assert_eq!(scan(br#"{"seq":99999999999999999999}"#, &auto()).seq, None);
        let nested = [path_hash("hdr.n")];
        assert_eq!(scan(br#"{"hdr":{"n":7},"n":9}"#, &nested).seq, Some(7));
        let inlist = [path_hash("items[].n")];
        assert_eq!(
            scan(br#"{"items":[{"n":3},{"n":4}]}"#, &inlist).seq,
            Some(3)
        );
    }

    #[test]
    fn the_sequence_is_read_again_where_the_scan_found_it() {
        let first = br#"{"t":1.5,"seq":41,"ok":true}"#;
        let s = scan(first, &auto());
        let at = s.seq_at.unwrap();
        assert_eq!(&first[at..at + 2], b"41");
        // The next message, same layout: read in place.
        assert_eq!(
            seq_at(br#"{"t":2.5,"seq":42,"ok":true}"#, at, &auto()),
            Some(42)
        );
        // Anything else falls back to a scan: another key, a float, a longer number read
        // short, a key with an escape, a layout that moved by a byte, an offset
        // past the end, and the other sequence names still count.
        assert_eq!(
            seq_at(br#"{"t":2.5,"sez":42,"ok":true}"#, at, &auto()),
            None
        );
        assert_eq!(
            seq_at(br#"{"t":2.5,"seq":4.2,"ok":true}"#, at, &auto()),
            None
        );
        assert_eq!(
            seq_at(br#"{"t":2.5,"seq":42x"ok":true}"#, at, &auto()),
            None
        );
        assert_eq!(
            seq_at(br#"{"t":2.5,"s\q":42,"ok":true}"#, at, &auto()),
            None
        );
        assert_eq!(
            seq_at(br#"{"t":[2.5,"seq":42,"ok":true}"#, at, &auto()),
            None
        );
        assert_eq!(seq_at(b"{}", at, &auto()), None);
        assert_eq!(seq_at(b"", 0, &auto()), None);
        assert_eq!(seq_at(br#"{ "counter" : 7 }"#, 14, &auto()), Some(7));
        // Keys before it in any script; whitespace around the colon.
        let text = r#"{"温度":21,"été":"x", "seq" :  -5 }"#;
        let at = scan(text.as_bytes(), &auto()).seq_at.unwrap();
        assert_eq!(seq_at(text.as_bytes(), at, &auto()), Some(-5));
        // Reading anywhere never panics.
        for at in 0..=text.len() + 2 {
            let _ = seq_at(text.as_bytes(), at, &auto());
        }
    }

    #[test]
    fn bounded_work_on_huge_and_deep_input() {
        use std::fmt::Write as _;
        let mut big = String::from("{");
        for i in 0..100_000 {
            let _ = write!(big, "\"k{i}\":{i},");
        }
        big.push_str("\"end\":0}");
        let s = scan(big.as_bytes(), &[]);
        assert_eq!(s.kind, Kind::Json);
        let deep = "[".repeat(10_000);
        assert_eq!(scan(deep.as_bytes(), &[]).kind, Kind::Text);
        let paths = paths(br#"{"a":[1],"b":{"c":null}}"#).unwrap();
        assert_eq!(paths.get("a[]"), Some(&"number"));
        assert_eq!(paths.get("b.c"), Some(&"null"));
        assert!(super::paths(big.as_bytes()).is_none());
    }

    #[test]
    fn diffs_name_keys_and_types_and_ignore_empty_lists() {
        let p = |s: &str| paths(s.as_bytes()).unwrap();
        let d = diff(
            &p(r#"{"state":"ok","v":1,"uptime":3}"#),
            &p(r#"{"status":{"code":0,"text":"ok"},"version":2,"uptime":"3s"}"#),
        );
        assert_eq!(d.added, vec!["status", "version"]);
        assert_eq!(d.removed, vec!["state", "v"]);
        assert_eq!(d.changed, vec![("uptime".to_string(), "number", "string")]);
        let d = diff(&p(r#"{"tags":[]}"#), &p(r#"{"tags":[{"a":1}]}"#));
        assert!(d.is_empty(), "{d:?}");
    }
}
