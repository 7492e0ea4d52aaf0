//! The recording's lines: the header, and the reverse of the `sub --json --events` writers
//! (a line back into the [`BrokerEvent`] it was written from).

use std::borrow::Cow;
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::broker::cause::CauseKind;
use crate::broker::json::timestamp;
use crate::broker::{
    BrokerEvent, Cause, ConnackInfo, Direction, Lifecycle, LifecycleKind, Message,
    MessageProperties, PacketRecord, PacketType, Protocol, Stage, SubscribeResult,
};

/// The format this mqscope writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;
/// The header's `format` value.
pub const FORMAT_NAME: &str = "mqscope-recording";

/// The first line of a recording.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    pub version: u32,
    /// The mqscope that wrote it.
    pub mqscope: String,
    /// Where it was recorded: the broker URL (never a user name or password).
    pub broker: String,
    pub filters: Vec<String>,
    /// RFC 3339, UTC.
    pub started: String,
    /// Whether packet lines were recorded.
    #[serde(default)]
    pub packets: bool,
}

impl Header {
    pub fn new(broker: &str, filters: Vec<String>, started: SystemTime, packets: bool) -> Self {
        Self {
            format: FORMAT_NAME.into(),
            version: FORMAT_VERSION,
            mqscope: env!("CARGO_PKG_VERSION").into(),
            broker: broker.into(),
            filters,
            started: timestamp(started),
            packets,
        }
    }

    pub fn to_line(&self) -> Value {
        let mut out = Map::new();
        out.insert("type".into(), json!("header"));
        out.extend(crate::broker::json::fields(self));
        Value::Object(out)
    }
}

/// One line read back.
#[derive(Debug)]
pub enum Entry {
    Header(Header),
    /// Events in the order they happened; one line can give two (a CONNACK line is the
    /// stage's end and the connection).
    Events(Vec<BrokerEvent>),
}

/// Why a line cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    #[error("not JSON ({0})")]
    NotJson(String),
    #[error("a `{0}` line, which this mqscope does not know (from a newer format version?)")]
    UnknownType(String),
    #[error("`{field}` is missing or wrong ({why})")]
    Field { field: &'static str, why: String },
}

fn field(field: &'static str, why: impl Into<String>) -> LineError {
    LineError::Field {
        field,
        why: why.into(),
    }
}

/// The message line: `sub --json`'s, plus the packet's size on the wire.
pub fn message_line(m: &Message) -> crate::broker::json::MessageLine<'_> {
    crate::broker::json::MessageLine::new(m, true)
}

/// A packet record as a line.
pub fn packet_line(p: &PacketRecord) -> Value {
    let mut v = Map::new();
    v.insert("type".into(), json!("packet"));
    v.insert("ts".into(), json!(timestamp(p.at)));
    let dir = match p.direction {
        Direction::In => "in",
        Direction::Out => "out",
    };
    v.insert("dir".into(), json!(dir));
    v.insert("packet".into(), json!(p.type_name()));
    v.insert("size".into(), json!(p.size));
    if let Some(id) = p.pkid {
        v.insert("pkid".into(), json!(id));
    }
    if let Some(t) = &p.topic {
        v.insert("topic".into(), json!(t));
    }
    if p.qos > 0 {
        v.insert("qos".into(), json!(p.qos));
    }
    if p.retain {
        v.insert("retain".into(), json!(true));
    }
    if p.dup {
        v.insert("dup".into(), json!(true));
    }
    if let Some(r) = p.reason {
        v.insert("reason_code".into(), json!(r));
    }
    if !p.detail.is_empty() {
        v.insert("detail".into(), json!(p.detail));
    }
    Value::Object(v)
}

/// The fields of a message line, borrowed where the JSON has no escapes: this is the path a
/// million lines take, so it never builds a `Value`.
#[derive(Deserialize)]
struct Fast<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    ts: Option<Cow<'a, str>>,
    #[serde(borrow)]
    topic: Option<Cow<'a, str>>,
    #[serde(default)]
    qos: u8,
    #[serde(default)]
    retain: bool,
    #[serde(default)]
    dup: bool,
    #[serde(borrow)]
    payload: Option<Cow<'a, str>>,
    #[serde(borrow)]
    payload_b64: Option<Cow<'a, str>>,
    properties: Option<Props>,
    #[serde(default)]
    wire_size: usize,
}

#[derive(Deserialize)]
struct Props {
    payload_format: Option<u8>,
    message_expiry: Option<u32>,
    content_type: Option<String>,
    response_topic: Option<String>,
    correlation_data: Option<String>,
    correlation_data_b64: Option<String>,
    #[serde(default)]
    user_properties: Vec<(String, String)>,
    #[serde(default)]
    subscription_ids: Vec<usize>,
    topic_alias: Option<u16>,
}

fn b64(s: &str, name: &'static str) -> Result<Vec<u8>, LineError> {
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|e| field(name, e.to_string()))
}

fn time(ts: Option<&str>) -> Result<SystemTime, LineError> {
    let ts = ts.ok_or_else(|| field("ts", "missing"))?;
    humantime::parse_rfc3339(ts).map_err(|e| field("ts", e.to_string()))
}

/// Reads one line. `base` turns recorded wall-clock times into the monotonic instants packet
/// records carry (`(first time seen, an instant for it)`).
pub fn parse_line(
    line: &[u8],
    base: &mut Option<(SystemTime, Instant)>,
) -> Result<Entry, LineError> {
    let fast: Fast<'_> =
        serde_json::from_slice(line).map_err(|e| LineError::NotJson(e.to_string()))?;
    match fast.kind.as_ref() {
        "message" => Ok(Entry::Events(vec![BrokerEvent::Message(message(fast)?)])),
        "header" => {
            let header: Header =
                serde_json::from_slice(line).map_err(|e| field("header", e.to_string()))?;
            if header.format != FORMAT_NAME {
                return Err(field(
                    "format",
                    format!(
                        "`{}`, not {FORMAT_NAME}",
                        crate::sanitize::line(header.format.as_bytes())
                    ),
                ));
            }
            Ok(Entry::Header(header))
        }
        "connection" => {
            let v: Value =
                serde_json::from_slice(line).map_err(|e| LineError::NotJson(e.to_string()))?;
            let at = time(v["ts"].as_str())?;
            let mono = mono(base, at);
            let attempt = u32::try_from(v["attempt"].as_u64().unwrap_or(0)).unwrap_or(u32::MAX);
            let event_of = |kind| {
                BrokerEvent::Lifecycle(Lifecycle {
                    at,
                    mono,
                    attempt,
                    kind,
                })
            };
            Ok(Entry::Events(
                lifecycle(&v)?.into_iter().map(event_of).collect(),
            ))
        }
        "packet" => {
            let v: Value =
                serde_json::from_slice(line).map_err(|e| LineError::NotJson(e.to_string()))?;
            let at = time(v["ts"].as_str())?;
            Ok(Entry::Events(vec![BrokerEvent::Packet(packet(
                &v,
                at,
                mono(base, at),
            )?)]))
        }
        other => Err(LineError::UnknownType(
            crate::sanitize::line(other.as_bytes()).into_owned(),
        )),
    }
}

fn mono(base: &mut Option<(SystemTime, Instant)>, at: SystemTime) -> Instant {
    let (t0, i0) = *base.get_or_insert((at, Instant::now()));
    match at.duration_since(t0) {
        Ok(d) => i0 + d,
        Err(e) => i0.checked_sub(e.duration()).unwrap_or(i0),
    }
}

fn message(f: Fast<'_>) -> Result<Message, LineError> {
    let received = time(f.ts.as_deref())?;
    let topic = f
        .topic
        .ok_or_else(|| field("topic", "missing"))?
        .into_owned();
    let payload = match (f.payload, f.payload_b64) {
        (Some(text), _) => Bytes::from(text.into_owned().into_bytes()),
        (None, Some(b)) => Bytes::from(b64(&b, "payload_b64")?),
        (None, None) => return Err(field("payload", "neither payload nor payload_b64")),
    };
    if f.qos > 2 {
        return Err(field("qos", format!("{} is not 0, 1 or 2", f.qos)));
    }
    let properties = match f.properties {
        None => None,
        Some(p) => {
            let correlation_data = match (p.correlation_data, p.correlation_data_b64) {
                (Some(t), _) => Some(Bytes::from(t.into_bytes())),
                (None, Some(b)) => Some(Bytes::from(b64(&b, "correlation_data_b64")?)),
                (None, None) => None,
            };
            Some(Box::new(MessageProperties {
                payload_format: p.payload_format,
                message_expiry: p.message_expiry,
                topic_alias: p.topic_alias,
                content_type: p.content_type,
                response_topic: p.response_topic,
                correlation_data,
                user_properties: p.user_properties,
                subscription_ids: p.subscription_ids,
            }))
        }
    };
    Ok(Message {
        topic,
        payload,
        qos: f.qos,
        retain: f.retain,
        dup: f.dup,
        properties,
        received,
        wire_size: f.wire_size,
    })
}

fn string(v: &Value, name: &'static str) -> Result<String, LineError> {
    v[name]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| field(name, "missing"))
}

fn protocol(v: &Value) -> Option<Protocol> {
    match v["protocol"].as_str()? {
        "5" => Some(Protocol::V5),
        "3.1.1" => Some(Protocol::V311),
        _ => None,
    }
}

fn cause(v: &Value) -> Cause {
    let code = v["cause"].as_str().unwrap_or_default();
    let kind = CauseKind::ALL
        .iter()
        .copied()
        .find(|k| k.code() == code)
        .unwrap_or(CauseKind::LocalError);
    Cause::new(kind, v["detail"].as_str().unwrap_or_default())
}

fn millis(v: &Value, name: &str) -> Duration {
    Duration::from_secs_f64(v[name].as_f64().unwrap_or(0.0).max(0.0) / 1000.0)
}

fn small<T: TryFrom<u64>>(v: &Value) -> Option<T> {
    v.as_u64().and_then(|n| T::try_from(n).ok())
}

fn lifecycle(v: &Value) -> Result<Vec<LifecycleKind>, LineError> {
    // Long by design: one arm per event, the reverse of `headless::render::lifecycle_json`.
    let event = v["event"]
        .as_str()
        .ok_or_else(|| field("event", "missing"))?;
    let stage = match event {
        "dns" => Some(Stage::Dns),
        "tcp" => Some(Stage::Tcp),
        "proxy" => Some(Stage::Proxy),
        "tls" => Some(Stage::Tls),
        "websocket" => Some(Stage::WebSocket),
        "connack" if v["ok"] == false => Some(Stage::Connack),
        _ => None,
    };
    if let Some(stage) = stage {
        let result = if v["ok"] == true {
            Ok(v["detail"].as_str().unwrap_or_default().to_string())
        } else {
            Err(cause(v))
        };
        return Ok(vec![LifecycleKind::Stage {
            stage,
            elapsed: millis(v, "ms"),
            result,
        }]);
    }
    let kind = match event {
        "connecting" => LifecycleKind::Connecting {
            target: string(v, "broker")?,
            protocol: protocol(v).unwrap_or(Protocol::V5),
        },
        "connect_sent" => LifecycleKind::ConnectSent {
            protocol: protocol(v).unwrap_or(Protocol::V5),
        },
        "connack" => {
            let stage = LifecycleKind::Stage {
                stage: Stage::Connack,
                elapsed: millis(v, "ms"),
                result: Ok(String::new()),
            };
            return Ok(vec![stage, LifecycleKind::Connected(connack(v))]);
        }
        "subscribed" => LifecycleKind::Subscribed(
            v["filters"]
                .as_array()
                .map(|list| list.iter().map(subscribe_result).collect())
                .unwrap_or_default(),
        ),
        "unsubscribed" => LifecycleKind::Unsubscribed(subscribe_result(v)),
        "disconnected" => LifecycleKind::Disconnected {
            cause: cause(v),
            uptime: millis(v, "uptime_ms"),
        },
        "backoff" => LifecycleKind::Backoff {
            delay: Duration::from_millis(v["delay_ms"].as_u64().unwrap_or(0)),
        },
        "fallback" => LifecycleKind::FallbackToV311 { cause: cause(v) },
        "gave_up" => LifecycleKind::GaveUp {
            cause: cause(v),
            permanent: v["permanent"] == true,
        },
        "idle" => LifecycleKind::Idle,
        other => {
            return Err(field(
                "event",
                format!(
                    "`{}` is not a connection event",
                    crate::sanitize::line(other.as_bytes())
                ),
            ));
        }
    };
    Ok(vec![kind])
}

fn subscribe_result(v: &Value) -> SubscribeResult {
    SubscribeResult {
        filter: v["filter"].as_str().unwrap_or_default().to_string(),
        code: small(&v["reason_code"]).unwrap_or(0x80),
    }
}

fn connack(v: &Value) -> ConnackInfo {
    let p = &v["properties"];
    let text = |x: &Value| x.as_str().map(str::to_string);
    ConnackInfo {
        protocol: protocol(v),
        session_present: v["session_present"] == true,
        code: small(&v["reason_code"]).unwrap_or(0),
        reason_string: text(&v["reason_string"]),
        session_expiry: small(&p["session_expiry"]),
        receive_max: small(&p["receive_max"]),
        max_qos: small(&p["max_qos"]),
        retain_available: p["retain_available"].as_bool(),
        max_packet_size: small(&p["max_packet_size"]),
        assigned_client_id: text(&p["assigned_client_id"]),
        topic_alias_max: small(&p["topic_alias_max"]),
        wildcard_available: p["wildcard_available"].as_bool(),
        subscription_ids_available: p["subscription_ids_available"].as_bool(),
        shared_available: p["shared_available"].as_bool(),
        server_keep_alive: small(&p["server_keep_alive"]),
        response_information: text(&p["response_information"]),
        server_reference: text(&p["server_reference"]),
        user_properties: serde_json::from_value(p["user_properties"].clone()).unwrap_or_default(),
    }
}

fn packet(v: &Value, at: SystemTime, mono: Instant) -> Result<PacketRecord, LineError> {
    let name = v["packet"]
        .as_str()
        .ok_or_else(|| field("packet", "missing"))?;
    let packet_type = PacketType::ALL
        .iter()
        .copied()
        .find(|t| t.name() == name)
        .ok_or_else(|| field("packet", "not an MQTT packet type"))?;
    let direction = match v["dir"].as_str() {
        Some("in") => Direction::In,
        Some("out") => Direction::Out,
        _ => return Err(field("dir", "not `in` or `out`")),
    };
    Ok(PacketRecord {
        mono,
        at,
        direction,
        packet_type,
        size: small(&v["size"]).unwrap_or(0),
        pkid: small(&v["pkid"]),
        topic: v["topic"].as_str().map(str::to_string),
        qos: small(&v["qos"]).unwrap_or(0),
        retain: v["retain"] == true,
        dup: v["dup"] == true,
        reason: small(&v["reason_code"]),
        detail: v["detail"].as_str().unwrap_or_default().to_string(),
    })
}

#[cfg(test)]
#[path = "format_tests.rs"]
pub(crate) mod tests;
