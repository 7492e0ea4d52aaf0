//! Decoders for binary payloads, chosen per topic filter (`--decode FILTER=KIND[:ARGS]`,
//! `[[decoders]]` in the config): Protobuf from .proto files compiled at run time, Sparkplug B,
//! MessagePack, CBOR, base64 (then another decoder or the usual views), or a forced view.
//!
//! Nothing is guessed: a topic with no mapping keeps the JSON / text / binary views (a plain
//! payload mis-decoded as Sparkplug is a known complaint about other tools), except the
//! Sparkplug namespace `spBv1.0/#`, which is Sparkplug B unless mapped otherwise. Decoding is
//! lazy: for the message shown, the visible rows, and headless output; never on the ingest
//! path. The raw bytes are never altered: a decoded value is one more view of them.

mod protobuf;
pub mod sparkplug;
pub mod spec;
mod structured;

use std::sync::Arc;

use bytes::Bytes;
use serde_json::Value;

pub use protobuf::{Proto, sparkplug as sparkplug_schema};
pub use spec::{DecodeSpec, SpecError, parse_spec};

use super::Mode;

/// Payloads larger than this are not decoded (the raw views still show them): a decoded value
/// costs several times its input in memory.
pub const DECODE_LIMIT: usize = 16 << 20;

/// Nesting followed in MessagePack and CBOR (Protobuf has its own limit of 100).
pub const DEPTH_LIMIT: usize = 128;

/// The Sparkplug B namespace, decoded as Sparkplug unless mapped otherwise.
pub const SPARKPLUG_FILTER: &str = "spBv1.0/#";

/// One step of a decoder.
#[derive(Debug, Clone)]
pub enum Step {
    Protobuf(Arc<Proto>),
    Sparkplug,
    Msgpack,
    Cbor,
    /// Text that is base64 of bytes.
    Base64,
    /// Force a view of the bytes (`json`, `text`, `hex`).
    View(Mode),
}

/// A decoder: its steps, in order, and the name it is shown with.
#[derive(Debug, Clone)]
pub struct Decoder {
    steps: Vec<Step>,
}

/// What decoding gave.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    /// A structured value, shown as coloured JSON.
    Value(Value),
    /// Bytes for the usual views (after base64, or with a view forced).
    Bytes(Bytes, Mode),
}

/// Why a payload did not decode. The raw bytes are still one key away.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(pub String);

impl Decoder {
    pub fn new(steps: Vec<Step>) -> Self {
        Self { steps }
    }

    /// `protobuf plant.v1.Telemetry`, `base64,cbor`, `Sparkplug B`.
    pub fn label(&self) -> String {
        self.steps
            .iter()
            .map(|s| match s {
                Step::Protobuf(p) => format!("protobuf {}", p.message_name()),
                Step::Sparkplug => "Sparkplug B".into(),
                Step::Msgpack => "msgpack".into(),
                Step::Cbor => "cbor".into(),
                Step::Base64 => "base64".into(),
                Step::View(m) => m.label().into(),
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Whether this is Sparkplug B (whose births are tracked as they arrive).
    pub fn is_sparkplug(&self) -> bool {
        matches!(self.steps.as_slice(), [Step::Sparkplug])
    }

    /// Whether this decoder only forces a view (the inspector then uses its usual views).
    pub fn view_only(&self) -> Option<Mode> {
        match self.steps.as_slice() {
            [Step::View(m)] => Some(*m),
            _ => None,
        }
    }

    /// Decodes a payload. Bounded: payloads over [`DECODE_LIMIT`] are refused, nesting is
    /// limited, declared lengths are checked against the bytes there are.
    pub fn decode(&self, payload: &[u8]) -> Result<Decoded, DecodeError> {
        if payload.len() > DECODE_LIMIT {
            return Err(DecodeError(format!(
                "{} is over the decode limit of {} MiB",
                crate::size::human(payload.len() as u64),
                DECODE_LIMIT >> 20
            )));
        }
        // base64 can only come first (the spec's rule): undo it, then the last step decides.
        let (unwrapped, steps) = match self.steps.split_first() {
            Some((Step::Base64, rest)) => (Some(base64_bytes(payload)?), rest),
            _ => (None, self.steps.as_slice()),
        };
        let bytes = unwrapped.as_deref().unwrap_or(payload);
        match steps.first() {
            None => Ok(Decoded::Bytes(Bytes::copy_from_slice(bytes), Mode::Auto)),
            Some(Step::View(mode)) => Ok(Decoded::Bytes(Bytes::copy_from_slice(bytes), *mode)),
            Some(Step::Protobuf(p)) => p.decode(bytes).map(Decoded::Value),
            Some(Step::Sparkplug) => protobuf::sparkplug()?.decode(bytes).map(Decoded::Value),
            Some(Step::Msgpack) => structured::msgpack(bytes).map(Decoded::Value),
            Some(Step::Cbor) => structured::cbor(bytes).map(Decoded::Value),
            Some(Step::Base64) => Err(DecodeError("base64 can only come first".into())),
        }
    }
}

impl Decoder {
    /// The reverse, for `pub --encode`: JSON text into the binary form (Protobuf, Sparkplug,
    /// MessagePack, CBOR; then base64 when it comes first); `json` checks the JSON, `text`
    /// sends it as it is, `hex` sends the bytes a hex string spells.
    pub fn encode(&self, text: &str) -> Result<Vec<u8>, String> {
        let json = || -> Result<Value, String> {
            serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))
        };
        let Some((last, before)) = self.steps.split_last() else {
            return Ok(text.as_bytes().to_vec());
        };
        let bytes = match last {
            Step::Protobuf(p) => p.encode(text)?,
            Step::Sparkplug => protobuf::sparkplug().map_err(|e| e.0)?.encode(text)?,
            Step::Msgpack => rmp_serde::to_vec(&json()?).map_err(|e| e.to_string())?,
            Step::Cbor => {
                let mut out = Vec::new();
                ciborium::into_writer(&json()?, &mut out).map_err(|e| e.to_string())?;
                out
            }
            Step::View(Mode::Json) => {
                json()?;
                text.as_bytes().to_vec()
            }
            Step::View(Mode::Hex) => from_hex(text)?,
            Step::View(_) | Step::Base64 => text.as_bytes().to_vec(),
        };
        if matches!(before.first(), Some(Step::Base64)) || matches!(last, Step::Base64) {
            use base64::Engine as _;
            let encoded = base64::engine::general_purpose::STANDARD.encode(&bytes);
            return Ok(encoded.into_bytes());
        }
        Ok(bytes)
    }
}

/// `de ad be ef`, `deadbeef`, `0xdeadbeef`.
fn from_hex(text: &str) -> Result<Vec<u8>, String> {
    let digits: String = text
        .trim()
        .trim_start_matches("0x")
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ':')
        .collect();
    if digits.len() % 2 != 0 {
        return Err("hex needs an even number of digits".into());
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&digits[i..i + 2], 16)
                .map_err(|_| format!("{:?} is not hex", &digits[i..i + 2]))
        })
        .collect()
}

impl Decoded {
    /// The decoded value as JSON, for `sub --json`, `decode` and copying: a structured value
    /// as it is; bytes as JSON when they are JSON, else as text when UTF-8, else as hex.
    pub fn to_json(&self) -> Value {
        match self {
            Decoded::Value(v) => v.clone(),
            Decoded::Bytes(b, mode) => {
                let kind = super::classify(b);
                match (mode, kind) {
                    (Mode::Hex, _) | (_, super::Kind::Binary) => Value::String(hex(b)),
                    (Mode::Auto | Mode::Json, super::Kind::Json) => {
                        serde_json::from_slice(b).unwrap_or(Value::Null)
                    }
                    _ => Value::String(String::from_utf8_lossy(b).into_owned()),
                }
            }
        }
    }
}

/// The decoders of a session: first matching filter wins; `spBv1.0/#` is Sparkplug B when no
/// mapping covers it.
#[derive(Debug, Clone)]
pub struct Decoders {
    list: Vec<(String, Arc<Decoder>)>,
    sparkplug: Option<Arc<Decoder>>,
}

impl Default for Decoders {
    fn default() -> Self {
        Self::new(Vec::new())
    }
}

impl Decoders {
    pub fn new(list: Vec<(String, Decoder)>) -> Self {
        Self {
            list: list.into_iter().map(|(f, d)| (f, Arc::new(d))).collect(),
            sparkplug: Some(Arc::new(Decoder::new(vec![Step::Sparkplug]))),
        }
    }

    /// Adds mappings after the ones there are.
    pub fn append(&mut self, list: Vec<(String, Decoder)>) {
        self.list
            .extend(list.into_iter().map(|(f, d)| (f, Arc::new(d))));
    }

    /// The decoder for a topic, if any.
    pub fn for_topic(&self, topic: &str) -> Option<&Arc<Decoder>> {
        self.list
            .iter()
            .find(|(f, _)| crate::topic::matches(topic, f))
            .map(|(_, d)| d)
            .or_else(|| {
                self.sparkplug
                    .as_ref()
                    .filter(|_| topic.starts_with("spBv1.0/"))
            })
    }

    /// The first mapping whose filter is exactly this one.
    pub fn for_topic_filter(&self, filter: &str) -> Option<&Decoder> {
        self.list
            .iter()
            .find(|(f, _)| f == filter)
            .map(|(_, d)| d.as_ref())
    }

    /// A one-line preview of a payload for a tree row: the decoded value as compact JSON when
    /// a decoder maps the topic and decodes it (completed by `annotate`: Sparkplug's names),
    /// else the raw preview.
    pub fn preview(
        &self,
        topic: &str,
        payload: &[u8],
        max_chars: usize,
        annotate: impl FnOnce(&mut Value),
    ) -> String {
        let decoded = self.for_topic(topic).and_then(|d| d.decode(payload).ok());
        match decoded {
            Some(Decoded::Value(mut v)) => {
                annotate(&mut v);
                super::preview(v.to_string().as_bytes(), max_chars)
            }
            Some(Decoded::Bytes(b, _)) => super::preview(&b, max_chars),
            None => super::preview(payload, max_chars),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// Adds what a decoder made of a payload to a message's JSON (as `sub --json` prints it):
/// `decoder` and `decoded`, or `decode_error`; `payload`/`payload_b64` stay as received.
pub fn add_to_json(line: &mut Value, decoder: &Decoder, payload: &[u8]) {
    add_to_json_with(line, decoder, payload, |_| {});
}

/// [`add_to_json`], with the decoded value completed by `annotate` (Sparkplug's names).
pub fn add_to_json_with(
    line: &mut Value,
    decoder: &Decoder,
    payload: &[u8],
    annotate: impl FnOnce(&mut Value),
) {
    let Value::Object(obj) = line else {
        return;
    };
    obj.insert("decoder".into(), Value::String(decoder.label()));
    match decoder.decode(payload) {
        Ok(d) => {
            let mut value = d.to_json();
            annotate(&mut value);
            obj.insert("decoded".into(), value)
        }
        Err(e) => obj.insert("decode_error".into(), Value::String(e.0)),
    };
}

fn base64_bytes(bytes: &[u8]) -> Result<Vec<u8>, DecodeError> {
    use base64::Engine as _;
    let text: Vec<u8> = bytes
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let engines = [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::URL_SAFE,
        base64::engine::general_purpose::STANDARD_NO_PAD,
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ];
    let mut first = None;
    for engine in engines {
        match engine.decode(&text) {
            Ok(out) => return Ok(out),
            Err(e) => {
                first.get_or_insert(e);
            }
        }
    }
    Err(DecodeError(format!(
        "not base64: {}",
        first.map(|e| e.to_string()).unwrap_or_default()
    )))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests;
