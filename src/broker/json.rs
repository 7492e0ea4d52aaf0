//! A message as one JSON object: the line `mqscope sub --json` prints, the capture format, and
//! what the explorer copies. One writer, so they never drift apart.

use std::time::SystemTime;

use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::Message;

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
