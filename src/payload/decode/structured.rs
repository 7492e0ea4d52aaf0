//! MessagePack (rmpv) and CBOR (ciborium) into JSON for display: byte strings as base64,
//! keys that are not strings written as their JSON, floats that JSON cannot hold (NaN,
//! infinities) as strings, extension types and tags kept with their number. Both readers are
//! bounded: nesting by [`DEPTH_LIMIT`], declared lengths by the bytes there are (rmpv and
//! ciborium grow their buffers as they read rather than trusting a length).

use base64::Engine as _;
use serde_json::{Map, Value};

use super::{DEPTH_LIMIT, DecodeError};

pub fn msgpack(bytes: &[u8]) -> Result<Value, DecodeError> {
    let mut rest = bytes;
    let value = rmpv::decode::read_value_with_max_depth(&mut rest, DEPTH_LIMIT).map_err(|e| {
        use rmpv::decode::Error as E;
        DecodeError(match e {
            E::InvalidMarkerRead(io) | E::InvalidDataRead(io)
                if io.kind() == std::io::ErrorKind::UnexpectedEof =>
            {
                "not MessagePack: truncated (the value needs more bytes)".into()
            }
            E::DepthLimitExceeded => {
                format!("not MessagePack: nested deeper than {DEPTH_LIMIT} levels")
            }
            other => format!("not MessagePack: {other}"),
        })
    })?;
    if !rest.is_empty() {
        return Err(DecodeError(format!(
            "not MessagePack: {} bytes left over after the value",
            rest.len()
        )));
    }
    Ok(from_msgpack(value))
}

fn from_msgpack(v: rmpv::Value) -> Value {
    use rmpv::Value as M;
    match v {
        M::Nil => Value::Null,
        M::Boolean(b) => Value::Bool(b),
        M::Integer(i) => i
            .as_i64()
            .map(Value::from)
            .or_else(|| i.as_u64().map(Value::from))
            .unwrap_or(Value::Null),
        M::F32(f) => float(f64::from(f)),
        M::F64(f) => float(f),
        M::String(s) => match s.into_str() {
            Some(s) => Value::String(s),
            None => Value::String("(not UTF-8)".into()),
        },
        M::Binary(b) => Value::String(base64(&b)),
        M::Array(items) => Value::Array(items.into_iter().map(from_msgpack).collect()),
        M::Map(entries) => Value::Object(
            entries
                .into_iter()
                .map(|(k, v)| (key(from_msgpack(k)), from_msgpack(v)))
                .collect(),
        ),
        M::Ext(kind, data) => Value::Object(Map::from_iter([
            ("ext".to_string(), Value::from(kind)),
            ("data".to_string(), Value::String(base64(&data))),
        ])),
    }
}

pub fn cbor(bytes: &[u8]) -> Result<Value, DecodeError> {
    let mut rest = bytes;
    let value: ciborium::Value =
        ciborium::de::from_reader_with_recursion_limit(&mut rest, DEPTH_LIMIT).map_err(|e| {
            use ciborium::de::Error as E;
            DecodeError(match e {
                E::Io(_) => "not CBOR: truncated (the value needs more bytes)".into(),
                E::Syntax(at) => format!("not CBOR: invalid byte at offset {at}"),
                E::Semantic(Some(at), why) => format!("not CBOR: {why} (at offset {at})"),
                E::Semantic(None, why) => format!("not CBOR: {why}"),
                E::RecursionLimitExceeded => {
                    format!("not CBOR: nested deeper than {DEPTH_LIMIT} levels")
                }
            })
        })?;
    if !rest.is_empty() {
        return Err(DecodeError(format!(
            "not CBOR: {} bytes left over after the value",
            rest.len()
        )));
    }
    Ok(from_cbor(value))
}

fn from_cbor(v: ciborium::Value) -> Value {
    use ciborium::Value as C;
    match v {
        C::Null => Value::Null,
        C::Bool(b) => Value::Bool(b),
        C::Integer(i) => {
            let n = i128::from(i);
            i64::try_from(n)
                .map(Value::from)
                .or_else(|_| u64::try_from(n).map(Value::from))
                .unwrap_or_else(|_| Value::String(n.to_string()))
        }
        C::Float(f) => float(f),
        C::Text(s) => Value::String(s),
        C::Bytes(b) => Value::String(base64(&b)),
        C::Array(items) => Value::Array(items.into_iter().map(from_cbor).collect()),
        C::Map(entries) => Value::Object(
            entries
                .into_iter()
                .map(|(k, v)| (key(from_cbor(k)), from_cbor(v)))
                .collect(),
        ),
        C::Tag(tag, inner) => Value::Object(Map::from_iter([
            ("tag".to_string(), Value::from(tag)),
            ("value".to_string(), from_cbor(*inner)),
        ])),
        _ => Value::Null,
    }
}

fn float(f: f64) -> Value {
    serde_json::Number::from_f64(f).map_or_else(|| Value::String(f.to_string()), Value::Number)
}

/// A map key: strings as they are, anything else as its JSON.
fn key(v: Value) -> String {
    match v {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
