//! How headless modes write messages and connection events: JSON lines and plain text.

use std::io::{self, Write};
use std::time::Duration;

use serde_json::{Map, Value, json};

pub use crate::broker::json::{message_json, timestamp};
use crate::broker::{Lifecycle, LifecycleKind, Message, Stage};
use crate::payload::decode::Decoder;
use crate::sanitize;

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0
}

/// `HH:MM:SS` of a running time, for progress lines.
pub fn elapsed(d: Duration) -> String {
    let s = d.as_secs();
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// Writes `topic payload`. On a terminal, topic and payload pass through the sanitizer
/// (control characters and invalid UTF-8 escaped); into a pipe they go out raw, as
/// mosquitto_sub writes them.
pub fn write_text(out: &mut impl Write, m: &Message, escape: bool) -> io::Result<()> {
    write_line(out, &m.topic, &m.payload, escape)
}

/// `topic v1 v2` for `sub --field`, sanitized on a terminal.
pub fn write_fields(
    out: &mut impl Write,
    topic: &str,
    values: &str,
    escape: bool,
) -> io::Result<()> {
    write_line(out, topic, values.as_bytes(), escape)
}

/// `topic payload`, both sanitized on a terminal.
fn write_line(out: &mut impl Write, topic: &str, payload: &[u8], escape: bool) -> io::Result<()> {
    if escape {
        out.write_all(sanitize::line(topic.as_bytes()).as_bytes())?;
        out.write_all(b" ")?;
        out.write_all(sanitize::line(payload).as_bytes())?;
    } else {
        out.write_all(topic.as_bytes())?;
        out.write_all(b" ")?;
        out.write_all(payload)?;
    }
    out.write_all(b"\n")
}

/// `topic decoded` with the decoded value as compact JSON (text and hex views as they are);
/// when decoding fails, the raw payload as [`write_text`] prints it.
pub fn write_decoded_text(
    out: &mut impl Write,
    m: &Message,
    decoder: &Decoder,
    escape: bool,
    annotate: impl FnOnce(&mut Value),
) -> io::Result<()> {
    let Ok(value) = decoder.decode(&m.payload) else {
        return write_text(out, m, escape);
    };
    let mut json = value.to_json();
    annotate(&mut json);
    let text = match json {
        Value::String(s) => s,
        other => other.to_string(),
    };
    write_line(out, &m.topic, text.as_bytes(), escape)
}

/// The fields of a SUBACK (`subscribed`) or UNSUBACK (`unsubscribed`) line.
fn subscription_json(
    obj: &mut Map<String, Value>,
    results: &[crate::broker::SubscribeResult],
    subscribe: bool,
) -> &'static str {
    if subscribe {
        let list: Vec<Value> = results
            .iter()
            .map(|r| json!({"filter": r.filter, "reason_code": r.code, "granted_qos": r.granted_qos()}))
            .collect();
        obj.insert(
            "ok".into(),
            json!(results.iter().all(|r| r.granted_qos().is_some())),
        );
        obj.insert("filters".into(), Value::Array(list));
        "subscribed"
    } else {
        let r = &results[0];
        obj.insert("filter".into(), json!(r.filter));
        obj.insert("reason_code".into(), json!(r.code));
        obj.insert("ok".into(), json!(r.code < 0x80));
        "unsubscribed"
    }
}

/// A lifecycle event as a JSON line; `None` for events folded into others.
pub fn lifecycle_json(l: &Lifecycle, connack_elapsed: Option<Duration>) -> Option<Value> {
    // Long by design: one arm per lifecycle event.
    let mut obj = Map::new();
    obj.insert("type".into(), json!("connection"));
    obj.insert("ts".into(), json!(timestamp(l.at)));
    let event = match &l.kind {
        LifecycleKind::Connecting { target, protocol } => {
            obj.insert("broker".into(), json!(target));
            obj.insert("protocol".into(), json!(protocol.as_str()));
            "connecting"
        }
        LifecycleKind::Stage {
            stage: Stage::Connack,
            result: Ok(_),
            ..
        } => return None,
        LifecycleKind::Stage {
            stage,
            elapsed,
            result,
        } => {
            obj.insert("ms".into(), json!(ms(*elapsed)));
            match result {
                Ok(detail) => {
                    obj.insert("ok".into(), json!(true));
                    obj.insert("detail".into(), json!(detail));
                }
                Err(cause) => {
                    obj.insert("ok".into(), json!(false));
                    obj.insert("cause".into(), json!(cause.code()));
                    obj.insert("detail".into(), json!(cause.detail));
                }
            }
            stage.as_str()
        }
        LifecycleKind::ConnectSent { protocol } => {
            obj.insert("protocol".into(), json!(protocol.as_str()));
            "connect_sent"
        }
        LifecycleKind::Connected(info) => {
            obj.insert("ok".into(), json!(true));
            if let Some(elapsed) = connack_elapsed {
                obj.insert("ms".into(), json!(ms(elapsed)));
            }
            obj.extend(crate::broker::json::fields(&info.to_json()));
            "connack"
        }
        LifecycleKind::Subscribed(results) => subscription_json(&mut obj, results, true),
        LifecycleKind::Unsubscribed(result) => {
            subscription_json(&mut obj, std::slice::from_ref(result), false)
        }
        LifecycleKind::Disconnected { cause, uptime } => {
            obj.insert("cause".into(), json!(cause.code()));
            obj.insert("detail".into(), json!(cause.detail));
            obj.insert("uptime_ms".into(), json!(ms(*uptime)));
            "disconnected"
        }
        LifecycleKind::Backoff { delay } => {
            obj.insert(
                "delay_ms".into(),
                json!(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX)),
            );
            "backoff"
        }
        LifecycleKind::FallbackToV311 { cause } => {
            obj.insert("cause".into(), json!(cause.code()));
            obj.insert("detail".into(), json!(cause.detail));
            "fallback"
        }
        LifecycleKind::GaveUp { cause, permanent } => {
            obj.insert("cause".into(), json!(cause.code()));
            obj.insert("detail".into(), json!(cause.detail));
            obj.insert("permanent".into(), json!(permanent));
            obj.insert("hint".into(), json!(cause.kind.hint()));
            "gave_up"
        }
        LifecycleKind::Idle => "idle",
    };
    obj.insert("event".into(), json!(event));
    obj.insert("attempt".into(), json!(l.attempt));
    Some(Value::Object(obj))
}

/// A lifecycle event as a line for people. `verbose` includes the routine stage successes.
pub fn lifecycle_text(l: &Lifecycle, verbose: bool) -> Option<String> {
    // Long by design: one arm per lifecycle event.
    let n = l.attempt;
    let line = match &l.kind {
        LifecycleKind::Connecting { target, protocol } if verbose => {
            format!(
                "attempt {n}: connecting to {target} (MQTT {})",
                protocol.as_str()
            )
        }
        LifecycleKind::Stage {
            stage,
            elapsed,
            result: Ok(detail),
        } if verbose => format!(
            "attempt {n}: {} ok in {:.1} ms: {detail}",
            stage.as_str(),
            ms(*elapsed)
        ),
        LifecycleKind::Stage {
            stage,
            elapsed,
            result: Err(cause),
        } => format!(
            "attempt {n}: {} failed after {:.1} ms: {} [{}]",
            stage.as_str(),
            ms(*elapsed),
            cause,
            cause.code()
        ),
        LifecycleKind::Connected(info) => format!(
            "connected (attempt {n}, MQTT {}, session present: {})",
            info.protocol.map_or("?", |p| p.as_str()),
            if info.session_present { "yes" } else { "no" }
        ),
        LifecycleKind::Subscribed(results) => {
            let refused: Vec<String> = results
                .iter()
                .filter_map(crate::broker::SubscribeResult::refusal)
                .collect();
            if !refused.is_empty() {
                format!(
                    "subscription refused: {}; try a narrower filter",
                    refused.join(", ")
                )
            } else if verbose {
                let granted: Vec<String> = results
                    .iter()
                    .map(|r| format!("{} (QoS {})", r.filter, r.code))
                    .collect();
                format!("subscribed: {}", granted.join(", "))
            } else {
                return None;
            }
        }
        LifecycleKind::Disconnected { cause, uptime } => format!(
            "disconnected after {:.1} s: {} [{}]",
            uptime.as_secs_f64(),
            cause,
            cause.code()
        ),
        LifecycleKind::Backoff { delay } => {
            format!("retrying in {:.2} s", delay.as_secs_f64())
        }
        LifecycleKind::FallbackToV311 { cause } => {
            format!(
                "MQTT 5 refused ({}); retrying with MQTT 3.1.1",
                cause.code()
            )
        }
        LifecycleKind::GaveUp { cause, permanent } => format!(
            "giving up: {} [{}]{}\nhint: {}",
            cause,
            cause.code(),
            if *permanent {
                " (retrying cannot help)"
            } else {
                ""
            },
            cause.kind.hint()
        ),
        _ => return None,
    };
    Some(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use std::time::SystemTime;

    #[test]
    fn decoded_text_from_a_broker_is_escaped_on_a_terminal() {
        // MessagePack {"t": "\x1b[2J温度"} on a non-ASCII topic.
        let mut payload = vec![0x81, 0xa1, b't', 0xaa];
        payload.extend("\x1b[2J温度".as_bytes());
        let mut m = message(b"");
        m.topic = "été/\x1b]0;x".into();
        m.payload = Bytes::from(payload);
        let spec = crate::payload::decode::parse_spec("msgpack").expect("a spec");
        let d = spec
            .build(std::path::Path::new(""), &[])
            .expect("a decoder");
        let mut out = Vec::new();
        write_decoded_text(&mut out, &m, &d, true, |_| {}).expect("written");
        let text = String::from_utf8(out).expect("UTF-8");
        assert!(!text.contains('\x1b'), "{text:?}");
        assert!(
            text.contains("温度") && text.starts_with("été/"),
            "{text:?}"
        );
    }

    fn message(payload: &'static [u8]) -> Message {
        Message {
            topic: "a/b".into(),
            payload: Bytes::from_static(payload),
            qos: 1,
            retain: true,
            dup: false,
            properties: None,
            received: SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123),
            wire_size: 10,
        }
    }

    #[test]
    fn json_uses_text_or_base64() {
        let text = message_json(&message(b"{\"t\":1}")).to_string();
        assert_eq!(
            text,
            r#"{"type":"message","ts":"2023-11-14T22:13:20.123Z","topic":"a/b","qos":1,"retain":true,"dup":false,"size":7,"payload":"{\"t\":1}"}"#
        );
        let bin = message_json(&message(&[0xff, 0x00])).to_string();
        assert!(bin.contains(r#""payload_b64":"/wA=""#), "{bin}");
    }

    #[test]
    fn on_a_terminal_topic_and_payload_are_escaped_and_into_a_pipe_raw() {
        let mut m = message(b"caf\xc3\xa9\x1b[2J\xff");
        m.topic = "t/\u{1b}]0;x\u{7}".into();
        let mut out = Vec::new();
        write_text(&mut out, &m, true).expect("into memory");
        assert_eq!(out, "t/\\x1b]0;x\\x07 café\\x1b[2J\\xff\n".as_bytes());
        let mut raw = Vec::new();
        write_text(&mut raw, &m, false).expect("into memory");
        assert_eq!(raw, b"t/\x1b]0;x\x07 caf\xc3\xa9\x1b[2J\xff\n");
    }
}
