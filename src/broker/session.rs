//! rumqttc's MQTT 3.1.1 and MQTT 5 session state machines behind one interface.
//!
//! rumqttc has two separate APIs (`rumqttc` and `rumqttc::v5`). This is the only place that
//! knows both: everything leaves here as our own [`SessionEvent`] and [`Message`].

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rumqttc::v5 as r5;
use rumqttc::v5::mqttbytes::v5 as b5;

use super::direct::Order;
use super::event::{Message, MessageProperties, PublishRequest};
use super::options::{BrokerOptions, MAX_PACKET_SIZE, Protocol, Subscription};

/// Capacity of rumqttc's request channel; the supervisor never has more than this outstanding.
pub const REQUEST_CAPACITY: usize = 1024;

/// What a session reports, already converted to our types.
#[derive(Debug)]
pub enum SessionEvent {
    ConnAck {
        session_present: bool,
    },
    Message(Message),
    SubAck {
        pkid: u16,
        codes: Vec<u8>,
    },
    PubAck {
        pkid: u16,
        reason: u8,
    },
    PubRec {
        pkid: u16,
        reason: u8,
    },
    PubComp {
        pkid: u16,
    },
    OutgoingPublish {
        pkid: u16,
    },
    OutgoingSubscribe {
        pkid: u16,
    },
    OutgoingUnsubscribe {
        pkid: u16,
    },
    /// `code`: the v5 UNSUBACK reason (0 on 3.1.1, which has none).
    UnsubAck {
        pkid: u16,
        code: u8,
    },
    OutgoingDisconnect,
    Other,
}

/// Why a session's poll failed, reduced to what classification needs.
#[derive(Debug)]
pub enum SessionError {
    /// CONNACK refused with this raw code.
    Refused(u8),
    /// The connect step (CONNECT → CONNACK) timed out.
    Timeout,
    /// A PINGREQ went unanswered.
    AwaitPingResp,
    /// The local link closed.
    Aborted,
    /// rumqttc could not decode what the broker sent, or the broker broke the protocol's
    /// order (an acknowledgement for a packet never sent).
    Protocol(String),
    Other(String),
}

/// rumqttc did not take a request: its request queue is full, or its event loop has ended.
#[derive(Debug, thiserror::Error)]
#[error("the connection did not take the request ({0})")]
pub struct RequestError(String);

impl From<rumqttc::ClientError> for RequestError {
    fn from(e: rumqttc::ClientError) -> Self {
        Self(e.to_string())
    }
}

impl From<r5::ClientError> for RequestError {
    fn from(e: r5::ClientError) -> Self {
        Self(e.to_string())
    }
}

/// One rumqttc event loop with its client handle, and the count of incoming packets handled
/// that lets the pump send QoS 0 messages the short way without overtaking them.
pub struct Session {
    machine: Machine,
    order: Arc<Order>,
    /// The last event returned came from an incoming packet: the next poll means the
    /// supervisor has handled it.
    incoming_out: bool,
}

enum Machine {
    V311 {
        eventloop: Box<rumqttc::EventLoop>,
        client: rumqttc::AsyncClient,
    },
    V5 {
        eventloop: Box<r5::EventLoop>,
        client: r5::AsyncClient,
        /// Incoming topic aliases (rumqttc leaves the topic empty).
        aliases: HashMap<u16, String>,
    },
}

/// The will as rumqttc's MQTT 5 CONNECT carries it.
fn will_v5(w: &super::Will) -> b5::LastWill {
    let properties = w.uses_v5().then(|| b5::LastWillProperties {
        delay_interval: w.delay,
        payload_format_indicator: None,
        message_expiry_interval: w.expiry,
        content_type: w.content_type.clone(),
        response_topic: None,
        correlation_data: None,
        user_properties: w.user_properties.clone(),
    });
    b5::LastWill::new(
        w.topic.clone(),
        w.payload.to_vec(),
        qos_v5(w.qos),
        w.retain,
        properties,
    )
}

/// rumqttc takes whole seconds: round up, at least one.
fn timeout_secs(d: Duration) -> u64 {
    (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
}

impl Session {
    /// A session that connects to the local socket at `socket`.
    pub fn new(opts: &BrokerOptions, protocol: Protocol, socket: &Path, order: Arc<Order>) -> Self {
        Self {
            machine: Machine::new(opts, protocol, socket),
            order,
            incoming_out: false,
        }
    }

    /// The next event. Never blocks on anything but rumqttc itself.
    pub async fn poll(&mut self) -> Result<SessionEvent, SessionError> {
        if std::mem::take(&mut self.incoming_out) {
            self.order.handled_one();
        }
        let (event, incoming) = match &mut self.machine {
            Machine::V311 { eventloop, .. } => match eventloop.poll().await {
                Ok(event) => {
                    let incoming = matches!(event, rumqttc::Event::Incoming(_));
                    (Ok(convert_v4(event)), incoming)
                }
                Err(e) => (Err(error_v4(e)), false),
            },
            Machine::V5 {
                eventloop, aliases, ..
            } => match eventloop.poll().await {
                Ok(event) => {
                    let incoming = matches!(event, r5::Event::Incoming(_));
                    (Ok(convert_v5(event, aliases)), incoming)
                }
                Err(e) => (Err(error_v5(e)), false),
            },
        };
        self.incoming_out = incoming;
        event
    }
}

impl Machine {
    fn new(opts: &BrokerOptions, protocol: Protocol, socket: &Path) -> Self {
        let path = socket.to_string_lossy().into_owned();
        match protocol {
            Protocol::V311 => {
                let mut o = rumqttc::MqttOptions::new(opts.client_id.clone(), path, 0);
                o.set_transport(rumqttc::Transport::Unix)
                    .set_keep_alive(opts.keep_alive)
                    .set_max_packet_size(opts.max_packet_size, MAX_PACKET_SIZE)
                    .set_clean_session(opts.clean_start)
                    .set_inflight(100);
                if let Some(user) = &opts.username {
                    let pass = opts.password.as_ref().map(|p| p.expose().to_string());
                    o.set_credentials(user.clone(), pass.unwrap_or_default());
                }
                if let Some(w) = &opts.will {
                    // MQTT 3.1.1 has no will properties: they go with MQTT 5 only.
                    o.set_last_will(rumqttc::LastWill::new(
                        w.topic.clone(),
                        w.payload.to_vec(),
                        qos_v4(w.qos),
                        w.retain,
                    ));
                }
                let (client, mut eventloop) = rumqttc::AsyncClient::new(o, REQUEST_CAPACITY);
                eventloop
                    .network_options
                    .set_connection_timeout(timeout_secs(opts.connect_timeout));
                Machine::V311 {
                    eventloop: Box::new(eventloop),
                    client,
                }
            }
            Protocol::V5 => {
                let mut o = r5::MqttOptions::new(opts.client_id.clone(), path, 0);
                o.set_transport(rumqttc::Transport::Unix)
                    .set_keep_alive(opts.keep_alive)
                    .set_clean_start(opts.clean_start)
                    .set_connection_timeout(timeout_secs(opts.connect_timeout))
                    .set_max_packet_size(u32::try_from(opts.max_packet_size).ok())
                    // No topic aliases from the server: rumqttd 0.20 sends wrong ones.
                    .set_topic_alias_max(None)
                    // rumqttc sizes its in-flight table by this (u16::MAX by default: 13 MB).
                    .set_outgoing_inflight_upper_limit(100)
                    .set_session_expiry_interval(opts.session_expiry);
                // MQTT 5 sends a password alone when there is no user name.
                if opts.username.is_some() || opts.password.is_some() {
                    let user = opts.username.clone().unwrap_or_default();
                    let pass = opts.password.as_ref().map(|p| p.expose().to_string());
                    o.set_credentials(user, pass.unwrap_or_default());
                }
                if let Some(w) = &opts.will {
                    o.set_last_will(will_v5(w));
                }
                let (client, eventloop) = r5::AsyncClient::new(o, REQUEST_CAPACITY);
                Machine::V5 {
                    eventloop: Box::new(eventloop),
                    client,
                    aliases: HashMap::new(),
                }
            }
        }
    }
}

impl Session {
    pub fn subscribe(&self, subs: &[Subscription]) -> Result<(), RequestError> {
        if subs.is_empty() {
            return Ok(());
        }
        match &self.machine {
            Machine::V311 { client, .. } => client
                .try_subscribe_many(
                    subs.iter()
                        .map(|s| rumqttc::SubscribeFilter::new(s.filter.clone(), qos_v4(s.qos))),
                )
                .map_err(RequestError::from),
            Machine::V5 { client, .. } => client
                .try_subscribe_many(subs.iter().map(|s| {
                    let mut f = b5::Filter::new(s.filter.clone(), qos_v5(s.qos));
                    f.nolocal = s.no_local;
                    f.preserve_retain = s.retain_as_published;
                    f.retain_forward_rule = match s.retain_handling {
                        1 => b5::RetainForwardRule::OnNewSubscribe,
                        2 => b5::RetainForwardRule::Never,
                        _ => b5::RetainForwardRule::OnEverySubscribe,
                    };
                    f
                }))
                .map_err(RequestError::from),
        }
    }

    pub fn publish(&self, req: &PublishRequest) -> Result<(), RequestError> {
        match &self.machine {
            Machine::V311 { client, .. } => client
                .try_publish(
                    req.topic.clone(),
                    qos_v4(req.qos),
                    req.retain,
                    req.payload.to_vec(),
                )
                .map_err(RequestError::from),
            Machine::V5 { client, .. } => {
                let props = req.properties.as_ref().map(to_publish_properties);
                let topic = req.topic.clone();
                let qos = qos_v5(req.qos);
                let payload = req.payload.clone();
                match props {
                    Some(p) => {
                        client.try_publish_with_properties(topic, qos, req.retain, payload, p)
                    }
                    None => client.try_publish(topic, qos, req.retain, payload),
                }
                .map_err(RequestError::from)
            }
        }
    }

    /// Asks for one UNSUBSCRIBE (rumqttc sends one filter per packet).
    pub fn unsubscribe(&self, filter: &str) -> Result<(), RequestError> {
        match &self.machine {
            Machine::V311 { client, .. } => client
                .try_unsubscribe(filter.to_string())
                .map_err(RequestError::from),
            Machine::V5 { client, .. } => client
                .try_unsubscribe(filter.to_string())
                .map_err(RequestError::from),
        }
    }

    pub fn disconnect(&self) {
        let _ = match &self.machine {
            Machine::V311 { client, .. } => client.try_disconnect().map_err(|e| e.to_string()),
            Machine::V5 { client, .. } => client.try_disconnect().map_err(|e| e.to_string()),
        };
    }
}

/// The rumqttc 3.1.1 QoS for a 0/1/2 level (anything above 1 is exactly once).
pub(crate) fn qos_v4(q: u8) -> rumqttc::QoS {
    match q {
        0 => rumqttc::QoS::AtMostOnce,
        1 => rumqttc::QoS::AtLeastOnce,
        _ => rumqttc::QoS::ExactlyOnce,
    }
}

/// The rumqttc v5 QoS for a 0/1/2 level.
pub(crate) fn qos_v5(q: u8) -> rumqttc::v5::mqttbytes::QoS {
    match q {
        0 => rumqttc::v5::mqttbytes::QoS::AtMostOnce,
        1 => rumqttc::v5::mqttbytes::QoS::AtLeastOnce,
        _ => rumqttc::v5::mqttbytes::QoS::ExactlyOnce,
    }
}

fn to_publish_properties(p: &MessageProperties) -> b5::PublishProperties {
    b5::PublishProperties {
        payload_format_indicator: p.payload_format,
        message_expiry_interval: p.message_expiry,
        topic_alias: None,
        response_topic: p.response_topic.clone(),
        correlation_data: p.correlation_data.clone(),
        user_properties: p.user_properties.clone(),
        subscription_identifiers: Vec::new(),
        content_type: p.content_type.clone(),
    }
}

fn convert_v4(event: rumqttc::Event) -> SessionEvent {
    use rumqttc::{Event, Outgoing, Packet};
    match event {
        Event::Incoming(Packet::ConnAck(ack)) => SessionEvent::ConnAck {
            session_present: ack.session_present,
        },
        Event::Incoming(Packet::Publish(p)) => {
            let wire_size = p.size();
            SessionEvent::Message(message_v4(p, wire_size, SystemTime::now()))
        }
        Event::Incoming(Packet::SubAck(ack)) => SessionEvent::SubAck {
            pkid: ack.pkid,
            codes: ack
                .return_codes
                .iter()
                .map(|c| match c {
                    rumqttc::SubscribeReasonCode::Success(q) => *q as u8,
                    rumqttc::SubscribeReasonCode::Failure => 0x80,
                })
                .collect(),
        },
        Event::Incoming(Packet::PubAck(ack)) => SessionEvent::PubAck {
            pkid: ack.pkid,
            reason: 0,
        },
        Event::Incoming(Packet::PubRec(rec)) => SessionEvent::PubRec {
            pkid: rec.pkid,
            reason: 0,
        },
        Event::Incoming(Packet::PubComp(comp)) => SessionEvent::PubComp { pkid: comp.pkid },
        Event::Outgoing(Outgoing::Publish(pkid)) => SessionEvent::OutgoingPublish { pkid },
        Event::Outgoing(Outgoing::Subscribe(pkid)) => SessionEvent::OutgoingSubscribe { pkid },
        Event::Outgoing(Outgoing::Unsubscribe(pkid)) => SessionEvent::OutgoingUnsubscribe { pkid },
        Event::Incoming(Packet::UnsubAck(ack)) => SessionEvent::UnsubAck {
            pkid: ack.pkid,
            code: 0,
        },
        Event::Outgoing(Outgoing::Disconnect) => SessionEvent::OutgoingDisconnect,
        _ => SessionEvent::Other,
    }
}

/// Our message from rumqttc's MQTT 3.1.1 PUBLISH.
pub(super) fn message_v4(p: rumqttc::Publish, wire_size: usize, received: SystemTime) -> Message {
    Message {
        wire_size,
        topic: p.topic,
        payload: p.payload,
        qos: p.qos as u8,
        retain: p.retain,
        dup: p.dup,
        properties: None,
        received,
    }
}

/// Our message from rumqttc's MQTT 5 PUBLISH, its topic alias resolved (or learnt).
pub(super) fn message_v5(
    p: b5::Publish,
    wire_size: usize,
    received: SystemTime,
    aliases: &mut HashMap<u16, String>,
) -> Message {
    let mut topic = String::from_utf8_lossy(&p.topic).into_owned();
    let properties = p.properties.map(|props| {
        if let Some(alias) = props.topic_alias {
            if topic.is_empty() {
                topic = aliases.get(&alias).cloned().unwrap_or_default();
            } else {
                aliases.insert(alias, topic.clone());
            }
        }
        Box::new(MessageProperties {
            payload_format: props.payload_format_indicator,
            message_expiry: props.message_expiry_interval,
            topic_alias: props.topic_alias,
            content_type: props.content_type,
            response_topic: props.response_topic,
            correlation_data: props.correlation_data,
            user_properties: props.user_properties,
            subscription_ids: props.subscription_identifiers,
        })
    });
    Message {
        topic,
        payload: p.payload,
        qos: p.qos as u8,
        retain: p.retain,
        dup: p.dup,
        properties: properties.filter(|p| !p.is_empty()),
        received,
        wire_size,
    }
}

fn unsuback_code_v5(reason: b5::UnsubAckReason) -> u8 {
    use b5::UnsubAckReason as R;
    match reason {
        R::Success => 0x00,
        R::NoSubscriptionExisted => 0x11,
        R::UnspecifiedError => 0x80,
        R::ImplementationSpecificError => 0x83,
        R::NotAuthorized => 0x87,
        R::TopicFilterInvalid => 0x8F,
        R::PacketIdentifierInUse => 0x91,
    }
}

fn convert_v5(event: r5::Event, aliases: &mut HashMap<u16, String>) -> SessionEvent {
    use b5::Packet;
    use r5::Event;
    use rumqttc::Outgoing;
    match event {
        Event::Incoming(Packet::ConnAck(ack)) => {
            aliases.clear();
            SessionEvent::ConnAck {
                session_present: ack.session_present,
            }
        }
        Event::Incoming(Packet::Publish(p)) => {
            let wire_size = p.size();
            SessionEvent::Message(message_v5(p, wire_size, SystemTime::now(), aliases))
        }
        Event::Incoming(Packet::SubAck(ack)) => SessionEvent::SubAck {
            pkid: ack.pkid,
            codes: ack
                .return_codes
                .iter()
                .copied()
                .map(suback_code_v5)
                .collect(),
        },
        Event::Incoming(Packet::PubAck(ack)) => SessionEvent::PubAck {
            pkid: ack.pkid,
            reason: puback_code_v5(ack.reason),
        },
        Event::Incoming(Packet::PubRec(rec)) => SessionEvent::PubRec {
            pkid: rec.pkid,
            reason: pubrec_code_v5(rec.reason),
        },
        Event::Incoming(Packet::PubComp(comp)) => SessionEvent::PubComp { pkid: comp.pkid },
        Event::Outgoing(Outgoing::Publish(pkid)) => SessionEvent::OutgoingPublish { pkid },
        Event::Outgoing(Outgoing::Subscribe(pkid)) => SessionEvent::OutgoingSubscribe { pkid },
        Event::Outgoing(Outgoing::Unsubscribe(pkid)) => SessionEvent::OutgoingUnsubscribe { pkid },
        Event::Incoming(Packet::UnsubAck(ack)) => SessionEvent::UnsubAck {
            pkid: ack.pkid,
            code: ack.reasons.first().copied().map_or(0, unsuback_code_v5),
        },
        Event::Outgoing(Outgoing::Disconnect) => SessionEvent::OutgoingDisconnect,
        _ => SessionEvent::Other,
    }
}

fn suback_code_v5(code: b5::SubscribeReasonCode) -> u8 {
    use b5::SubscribeReasonCode as S;
    match code {
        S::Success(q) => q as u8,
        S::Failure | S::Unspecified => 0x80,
        S::ImplementationSpecific => 0x83,
        S::NotAuthorized => 0x87,
        S::TopicFilterInvalid => 0x8F,
        S::PkidInUse => 0x91,
        S::QuotaExceeded => 0x97,
        S::SharedSubscriptionsNotSupported => 0x9E,
        S::SubscriptionIdNotSupported => 0xA1,
        S::WildcardSubscriptionsNotSupported => 0xA2,
    }
}

fn puback_code_v5(reason: b5::PubAckReason) -> u8 {
    use b5::PubAckReason as R;
    match reason {
        R::Success => 0x00,
        R::NoMatchingSubscribers => 0x10,
        R::UnspecifiedError => 0x80,
        R::ImplementationSpecificError => 0x83,
        R::NotAuthorized => 0x87,
        R::TopicNameInvalid => 0x90,
        R::PacketIdentifierInUse => 0x91,
        R::QuotaExceeded => 0x97,
        R::PayloadFormatInvalid => 0x99,
    }
}

fn pubrec_code_v5(reason: b5::PubRecReason) -> u8 {
    use b5::PubRecReason as R;
    match reason {
        R::Success => 0x00,
        R::NoMatchingSubscribers => 0x10,
        R::UnspecifiedError => 0x80,
        R::ImplementationSpecificError => 0x83,
        R::NotAuthorized => 0x87,
        R::TopicNameInvalid => 0x90,
        R::PacketIdentifierInUse => 0x91,
        R::QuotaExceeded => 0x97,
        R::PayloadFormatInvalid => 0x99,
    }
}

fn error_v4(e: rumqttc::ConnectionError) -> SessionError {
    use rumqttc::{ConnectionError as E, StateError as S};
    match e {
        E::ConnectionRefused(code) => SessionError::Refused(code as u8),
        E::NetworkTimeout | E::FlushTimeout => SessionError::Timeout,
        E::MqttState(S::AwaitPingResp) => SessionError::AwaitPingResp,
        E::MqttState(S::ConnectionAborted) => SessionError::Aborted,
        E::MqttState(S::Io(_)) | E::Io(_) => SessionError::Aborted,
        E::MqttState(S::Deserialization(e)) => SessionError::Protocol(decode_error_v4(&e)),
        E::MqttState(S::Unsolicited(pkid)) => SessionError::Protocol(format!(
            "an acknowledgement for packet id {pkid}, which was never sent or was acknowledged already"
        )),
        E::MqttState(S::WrongPacket) => {
            SessionError::Protocol("a packet the protocol does not allow at this point".into())
        }
        other => SessionError::Other(other.to_string()),
    }
}

/// What rumqttc's 3.1.1 decoder found malformed, in the words of the packet log.
fn decode_error_v4(e: &rumqttc::mqttbytes::Error) -> String {
    use rumqttc::mqttbytes::Error as D;
    match e {
        D::TopicNotUtf8 => "PUBLISH topic is not valid UTF-8".into(),
        D::MalformedRemainingLength => "remaining length malformed".into(),
        D::PayloadSizeLimitExceeded(n) => {
            format!("a packet of {n} bytes, larger than the maximum we announced")
        }
        other => format!("malformed packet: {other}"),
    }
}

/// What rumqttc's MQTT 5 decoder found malformed.
fn decode_error_v5(e: &r5::mqttbytes::Error) -> String {
    use r5::mqttbytes::Error as D;
    match e {
        D::TopicNotUtf8 => "PUBLISH topic is not valid UTF-8".into(),
        D::MalformedRemainingLength => "remaining length malformed".into(),
        D::PayloadSizeLimitExceeded { pkt_size, max } => {
            format!("a packet of {pkt_size} bytes, larger than the maximum of {max} we announced")
        }
        other => format!("malformed packet: {other}"),
    }
}

fn error_v5(e: r5::ConnectionError) -> SessionError {
    use r5::{ConnectionError as E, StateError as S};
    match e {
        E::ConnectionRefused(_) => SessionError::Refused(0x80),
        E::Timeout(_) => SessionError::Timeout,
        E::MqttState(S::AwaitPingResp) => SessionError::AwaitPingResp,
        E::MqttState(S::ConnectionAborted) => SessionError::Aborted,
        E::MqttState(S::Io(_)) | E::Io(_) => SessionError::Aborted,
        E::MqttState(S::Deserialization(e)) => SessionError::Protocol(decode_error_v5(&e)),
        E::MqttState(S::Unsolicited(pkid)) => SessionError::Protocol(format!(
            "an acknowledgement for packet id {pkid}, which was never sent or was acknowledged already"
        )),
        E::MqttState(S::WrongPacket) => {
            SessionError::Protocol("a packet the protocol does not allow at this point".into())
        }
        other => SessionError::Other(other.to_string()),
    }
}
