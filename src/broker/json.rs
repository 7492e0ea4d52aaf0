//! The JSON shapes shared by several outputs, one writer each so they never drift apart: a
//! message (the line `mqscope sub --json` prints, the capture format, what the explorer
//! copies) and a CONNACK (the `connack` event of `sub --json --events` and the doctor's MQTT
//! stage).

use std::time::SystemTime;

use base64::Engine as _;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::{ConnackInfo, Message};

/// RFC 3339 with milliseconds, UTC.
pub fn timestamp(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

/// One message as a JSON line (without the newline).
pub fn message_json(m: &Message) -> Value {
    serde_json::to_value(MessageLine::new(m, false)).unwrap_or(Value::Null)
}

/// The message line, written straight from the message (no intermediate `Value`): the shape
/// of `sub --json` and of recordings, which add the packet's size on the wire.
#[derive(Serialize)]
pub struct MessageLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(serialize_with = "rfc3339")]
    ts: SystemTime,
    topic: &'a str,
    qos: u8,
    retain: bool,
    dup: bool,
    size: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload_b64: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    properties: Option<PropertiesLine<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    wire_size: Option<usize>,
}

#[derive(Serialize)]
struct PropertiesLine<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    payload_format: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_expiry: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_topic: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    correlation_data: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    correlation_data_b64: Option<String>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    user_properties: &'a [(String, String)],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    subscription_ids: &'a [usize],
    #[serde(skip_serializing_if = "Option::is_none")]
    topic_alias: Option<u16>,
}

fn rfc3339<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&humantime::format_rfc3339_millis(*t))
}

/// Text as it is, or base64 when it is not UTF-8.
fn text_or_b64(bytes: &[u8]) -> (Option<&str>, Option<String>) {
    match std::str::from_utf8(bytes) {
        Ok(text) => (Some(text), None),
        Err(_) => (
            None,
            Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
        ),
    }
}

impl<'a> MessageLine<'a> {
    /// `wire`: add the packet's size on the wire (recordings).
    pub fn new(m: &'a Message, wire: bool) -> Self {
        let (payload, payload_b64) = text_or_b64(&m.payload);
        let properties = m.properties.as_deref().map(|p| {
            let (correlation_data, correlation_data_b64) = p
                .correlation_data
                .as_deref()
                .map_or((None, None), text_or_b64);
            PropertiesLine {
                payload_format: p.payload_format,
                message_expiry: p.message_expiry,
                content_type: p.content_type.as_deref(),
                response_topic: p.response_topic.as_deref(),
                correlation_data,
                correlation_data_b64,
                user_properties: &p.user_properties,
                subscription_ids: &p.subscription_ids,
                topic_alias: p.topic_alias,
            }
        });
        Self {
            kind: "message",
            ts: m.received,
            topic: &m.topic,
            qos: m.qos,
            retain: m.retain,
            dup: m.dup,
            size: m.payload.len(),
            payload,
            payload_b64,
            properties,
            wire_size: (wire && m.wire_size > 0).then_some(m.wire_size),
        }
    }
}

/// A CONNACK as JSON.
#[derive(Debug, Serialize)]
pub struct ConnackJson<'a> {
    /// The protocol the broker answered in ("5" or "3.1.1").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<&'static str>,
    pub reason_code: u8,
    /// The code's name in that protocol.
    pub reason: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_string: Option<&'a str>,
    pub session_present: bool,
    /// Every MQTT 5 property present, by name.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub properties: Map<String, Value>,
}

impl ConnackInfo {
    pub fn to_json(&self) -> ConnackJson<'_> {
        let mut props = Map::new();
        let mut put = |name: &str, v: Value| {
            if !v.is_null() {
                props.insert(name.into(), v);
            }
        };
        put("session_expiry", json!(self.session_expiry));
        put("receive_max", json!(self.receive_max));
        put("max_qos", json!(self.max_qos));
        put("retain_available", json!(self.retain_available));
        put("max_packet_size", json!(self.max_packet_size));
        put("assigned_client_id", json!(self.assigned_client_id));
        put("topic_alias_max", json!(self.topic_alias_max));
        put("wildcard_available", json!(self.wildcard_available));
        put(
            "subscription_ids_available",
            json!(self.subscription_ids_available),
        );
        put("shared_available", json!(self.shared_available));
        put("server_keep_alive", json!(self.server_keep_alive));
        put("response_information", json!(self.response_information));
        put("server_reference", json!(self.server_reference));
        if !self.user_properties.is_empty() {
            put("user_properties", json!(self.user_properties));
        }
        ConnackJson {
            protocol: self.protocol.map(super::Protocol::as_str),
            reason_code: self.code,
            reason: self.code_name(),
            reason_string: self.reason_string.as_deref(),
            session_present: self.session_present,
            properties: props,
        }
    }
}

/// The fields of a serialisable value, to merge into a larger object.
pub fn fields(value: &impl Serialize) -> Map<String, Value> {
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::Protocol;

    #[test]
    fn a_connack_has_one_shape_with_named_properties() {
        let info = ConnackInfo {
            protocol: Some(Protocol::V5),
            code: 0x87,
            reason_string: Some("denied by policy".into()),
            receive_max: Some(20),
            user_properties: vec![("region".into(), "eu".into())],
            ..ConnackInfo::default()
        };
        let v = Value::Object(fields(&info.to_json()));
        assert_eq!(v["protocol"], "5");
        assert_eq!(v["reason_code"], 0x87);
        assert_eq!(v["reason"], "not authorized");
        assert_eq!(v["reason_string"], "denied by policy");
        assert_eq!(v["session_present"], false);
        assert_eq!(v["properties"]["receive_max"], 20);
        assert_eq!(v["properties"]["user_properties"][0][1], "eu");
        assert!(
            v["properties"].get("session_expiry").is_none(),
            "absent stays absent"
        );
        let bare = ConnackInfo::default();
        let v = Value::Object(fields(&bare.to_json()));
        assert!(
            v.get("properties").is_none() && v.get("protocol").is_none(),
            "{v}"
        );
    }
}
