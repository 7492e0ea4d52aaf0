//! The one domain event stream the connection layer produces, for MQTT 3.1.1 and 5 alike.

use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;

use super::cause::Cause;
use super::options::Protocol;

/// Everything the connection layer reports, in order.
#[derive(Debug, Clone)]
pub enum BrokerEvent {
    Message(Message),
    Lifecycle(Lifecycle),
    Packet(PacketRecord),
    /// Totals of what the layer had to drop because the consumer fell behind.
    Dropped {
        messages: u64,
        packets: u64,
    },
}

/// An application message received from the broker.
#[derive(Debug, Clone)]
pub struct Message {
    pub topic: String,
    /// A slice of the read buffer: copy it if you keep it for long.
    pub payload: Bytes,
    pub qos: u8,
    pub retain: bool,
    pub dup: bool,
    /// MQTT 5 properties; `None` on 3.1.1 or when the message carried none.
    pub properties: Option<Box<MessageProperties>>,
    pub received: SystemTime,
    /// Size of the PUBLISH packet on the wire, header included.
    pub wire_size: usize,
}

/// The MQTT 5 PUBLISH properties.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageProperties {
    pub payload_format: Option<u8>,
    pub message_expiry: Option<u32>,
    pub topic_alias: Option<u16>,
    pub content_type: Option<String>,
    pub response_topic: Option<String>,
    pub correlation_data: Option<Bytes>,
    pub user_properties: Vec<(String, String)>,
    pub subscription_ids: Vec<usize>,
}

impl MessageProperties {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Heap bytes these properties hold (strings, correlation data, lists), for budgets: a
    /// hostile broker can send megabytes of user properties with a one-byte payload.
    pub fn heap_size(&self) -> usize {
        let s = |v: &Option<String>| v.as_ref().map_or(0, String::capacity);
        s(&self.content_type)
            + s(&self.response_topic)
            + self.correlation_data.as_ref().map_or(0, Bytes::len)
            + self
                .user_properties
                .iter()
                .map(|(k, v)| k.capacity() + v.capacity() + 2 * std::mem::size_of::<String>())
                .sum::<usize>()
            + self.subscription_ids.capacity() * std::mem::size_of::<usize>()
    }

    /// A copy that owns its bytes: received correlation data is a slice of the connection's
    /// large shared read buffer, which keeping it would pin.
    #[must_use]
    pub fn detached(&self) -> Self {
        Self {
            correlation_data: self
                .correlation_data
                .as_ref()
                .map(|c| Bytes::copy_from_slice(c)),
            ..self.clone()
        }
    }
}

/// A step in the life of a connection, stamped with the attempt it belongs to.
#[derive(Debug, Clone)]
pub struct Lifecycle {
    pub at: SystemTime,
    pub mono: Instant,
    /// 1 for the first attempt; grows with every attempt.
    pub attempt: u32,
    pub kind: LifecycleKind,
}

/// The stages of one attempt, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    Dns,
    Tcp,
    /// The proxy's tunnel to the broker (`--proxy`).
    Proxy,
    Tls,
    WebSocket,
    /// CONNECT sent, waiting for CONNACK.
    Connack,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Dns => "dns",
            Stage::Tcp => "tcp",
            Stage::Proxy => "proxy",
            Stage::Tls => "tls",
            Stage::WebSocket => "websocket",
            Stage::Connack => "connack",
        }
    }
}

/// What happened, per lifecycle event.
#[derive(Debug, Clone)]
pub enum LifecycleKind {
    /// An attempt begins.
    Connecting { target: String, protocol: Protocol },
    /// A stage finished: `Ok(detail)` or the classified failure.
    Stage {
        stage: Stage,
        elapsed: Duration,
        result: Result<String, Cause>,
    },
    /// CONNECT went out on the wire.
    ConnectSent { protocol: Protocol },
    /// The broker accepted the connection.
    Connected(ConnackInfo),
    /// SUBACK arrived: one result per filter.
    Subscribed(Vec<SubscribeResult>),
    /// An UNSUBACK: the filter and its reason code (0 success, 0x11 no such subscription).
    Unsubscribed(SubscribeResult),
    /// An established link ended.
    Disconnected { cause: Cause, uptime: Duration },
    /// The next attempt starts after this delay.
    Backoff { delay: Duration },
    /// MQTT 5 was refused; the next attempt speaks 3.1.1.
    FallbackToV311 { cause: Cause },
    /// No more automatic attempts: a permanent cause, or the attempt limit.
    GaveUp { cause: Cause, permanent: bool },
    /// The user asked to disconnect; the layer waits for a reconnect command.
    Idle,
}

/// The decoded CONNACK, with every MQTT 5 property.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnackInfo {
    pub protocol: Option<Protocol>,
    pub session_present: bool,
    /// The raw return / reason code (3.1.1: 0..=5; 5: 0x00 or >= 0x80).
    pub code: u8,
    pub reason_string: Option<String>,
    pub session_expiry: Option<u32>,
    pub receive_max: Option<u16>,
    pub max_qos: Option<u8>,
    pub retain_available: Option<bool>,
    pub max_packet_size: Option<u32>,
    pub assigned_client_id: Option<String>,
    pub topic_alias_max: Option<u16>,
    pub wildcard_available: Option<bool>,
    pub subscription_ids_available: Option<bool>,
    pub shared_available: Option<bool>,
    pub server_keep_alive: Option<u16>,
    pub response_information: Option<String>,
    pub server_reference: Option<String>,
    pub user_properties: Vec<(String, String)>,
}

impl ConnackInfo {
    pub fn accepted(&self) -> bool {
        self.code == 0
    }

    /// Name of the code in the protocol that was spoken.
    pub fn code_name(&self) -> &'static str {
        super::codes::connack_name(self.protocol, self.code)
    }

    /// Every property present, as `name=value`, in protocol order.
    pub fn properties(&self) -> Vec<String> {
        fn put<T: std::fmt::Display>(out: &mut Vec<String>, name: &str, v: Option<&T>) {
            if let Some(v) = v {
                out.push(format!("{name}={v}"));
            }
        }
        let mut out = Vec::new();
        put(&mut out, "session_expiry", self.session_expiry.as_ref());
        put(&mut out, "receive_max", self.receive_max.as_ref());
        put(&mut out, "max_qos", self.max_qos.as_ref());
        put(&mut out, "retain_available", self.retain_available.as_ref());
        put(&mut out, "max_packet_size", self.max_packet_size.as_ref());
        put(
            &mut out,
            "assigned_client_id",
            self.assigned_client_id.as_ref(),
        );
        put(&mut out, "topic_alias_max", self.topic_alias_max.as_ref());
        put(&mut out, "reason_string", self.reason_string.as_ref());
        for (k, v) in &self.user_properties {
            out.push(format!("user_property={k}:{v}"));
        }
        put(
            &mut out,
            "wildcard_available",
            self.wildcard_available.as_ref(),
        );
        put(
            &mut out,
            "subscription_ids_available",
            self.subscription_ids_available.as_ref(),
        );
        put(&mut out, "shared_available", self.shared_available.as_ref());
        put(
            &mut out,
            "server_keep_alive",
            self.server_keep_alive.as_ref(),
        );
        put(
            &mut out,
            "response_information",
            self.response_information.as_ref(),
        );
        put(&mut out, "server_reference", self.server_reference.as_ref());
        out
    }
}

/// The result of subscribing one filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscribeResult {
    pub filter: String,
    /// The raw SUBACK code: 0..=2 granted QoS, >= 0x80 refused.
    pub code: u8,
}

impl SubscribeResult {
    pub fn granted_qos(&self) -> Option<u8> {
        (self.code <= 2).then_some(self.code)
    }

    /// `FILTER (0x87 not authorized)` for a refused filter.
    pub fn refusal(&self) -> Option<String> {
        self.granted_qos().is_none().then(|| {
            format!(
                "{} ({:#04x} {})",
                self.filter,
                self.code,
                super::codes::reason_name(self.code)
            )
        })
    }
}

/// Direction of a packet on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From us to the broker.
    Out,
    /// From the broker to us.
    In,
}

/// One MQTT packet seen on the wire by the connector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketRecord {
    pub mono: Instant,
    pub at: SystemTime,
    pub direction: Direction,
    /// Control packet type from the fixed header.
    pub packet_type: super::wire::PacketType,
    /// Exact size on the wire: fixed header plus remaining length.
    pub size: usize,
    pub pkid: Option<u16>,
    pub topic: Option<String>,
    pub qos: u8,
    pub retain: bool,
    pub dup: bool,
    /// Reason or return code, where the packet has one.
    pub reason: Option<u8>,
    /// The other key fields as text (never a password).
    pub detail: String,
}

impl PacketRecord {
    /// A record of a packet seen now, with nothing but its direction, type and size yet.
    pub fn new(direction: Direction, packet_type: super::wire::PacketType, size: usize) -> Self {
        Self {
            mono: Instant::now(),
            at: SystemTime::now(),
            direction,
            packet_type,
            size,
            pkid: None,
            topic: None,
            qos: 0,
            retain: false,
            dup: false,
            reason: None,
            detail: String::new(),
        }
    }

    pub fn type_name(&self) -> &'static str {
        self.packet_type.name()
    }
}

/// Something the user asks the connection layer to do.
#[derive(Debug)]
pub enum Command {
    Publish(PublishRequest, tokio::sync::oneshot::Sender<PublishOutcome>),
    Subscribe(Vec<super::options::Subscription>),
    /// Remove filters from the subscription (one UNSUBSCRIBE each; results arrive as
    /// `LifecycleKind::Unsubscribed`).
    Unsubscribe(Vec<String>),
    /// Reconnect now, skipping any backoff (also after giving up).
    Reconnect,
    /// Close the link and stay offline until `Reconnect`.
    Disconnect,
    /// Disconnect cleanly and end the layer.
    Shutdown,
}

/// A message to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishRequest {
    pub topic: String,
    pub payload: Bytes,
    pub qos: u8,
    pub retain: bool,
    /// MQTT 5 only; ignored (with a warning) on 3.1.1.
    pub properties: Option<MessageProperties>,
}

/// How a publish ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishOutcome {
    /// QoS 0: written to the connection.
    Sent,
    /// QoS 1/2: acknowledged; `reason` is the v5 PUBACK/PUBREC reason code (0 on 3.1.1).
    Acked { reason: u8 },
    /// The layer shut down or gave up before the publish completed.
    Failed(String),
}
