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
    let mut obj = Map::new();
    obj.insert("type".into(), json!("message"));
    obj.insert("ts".into(), json!(timestamp(m.received)));
    obj.insert("topic".into(), json!(m.topic));
    obj.insert("qos".into(), json!(m.qos));
    obj.insert("retain".into(), json!(m.retain));
    obj.insert("dup".into(), json!(m.dup));
    obj.insert("size".into(), json!(m.payload.len()));
    match std::str::from_utf8(&m.payload) {
        Ok(text) => obj.insert("payload".into(), json!(text)),
        Err(_) => obj.insert(
            "payload_b64".into(),
            json!(base64::engine::general_purpose::STANDARD.encode(&m.payload)),
        ),
    };
    if let Some(p) = &m.properties {
        let mut props = Map::new();
        if let Some(v) = p.payload_format {
            props.insert("payload_format".into(), json!(v));
        }
        if let Some(v) = p.message_expiry {
            props.insert("message_expiry".into(), json!(v));
        }
        if let Some(v) = &p.content_type {
            props.insert("content_type".into(), json!(v));
        }
        if let Some(v) = &p.response_topic {
            props.insert("response_topic".into(), json!(v));
        }
        if let Some(v) = &p.correlation_data {
            match std::str::from_utf8(v) {
                Ok(text) => props.insert("correlation_data".into(), json!(text)),
                Err(_) => props.insert(
                    "correlation_data_b64".into(),
                    json!(base64::engine::general_purpose::STANDARD.encode(v)),
                ),
            };
        }
        if !p.user_properties.is_empty() {
            let pairs: Vec<Value> = p
                .user_properties
                .iter()
                .map(|(k, v)| json!([k, v]))
                .collect();
            props.insert("user_properties".into(), Value::Array(pairs));
        }
        if !p.subscription_ids.is_empty() {
            props.insert("subscription_ids".into(), json!(p.subscription_ids));
        }
        if let Some(v) = p.topic_alias {
            props.insert("topic_alias".into(), json!(v));
        }
        obj.insert("properties".into(), Value::Object(props));
    }
    Value::Object(obj)
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
