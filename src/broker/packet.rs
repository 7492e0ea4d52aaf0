//! Describes framed packets: the packet-log record, and the facts the supervisor needs
//! (the protocol spoken, the full CONNACK, a server DISCONNECT) that rumqttc does not report.

use std::fmt::Write as _;

use bytes::BytesMut;
use rumqttc::v5::mqttbytes::v5 as v5b;

use super::event::{ConnackInfo, Direction, PacketRecord};
use super::framer::Frame;
use super::options::{MAX_PACKET_SIZE, Protocol};
use super::wire::{self, PacketType};

/// What one packet tells the supervisor, besides its record.
#[derive(Debug, Default)]
pub struct Facts {
    /// Outgoing CONNECT: the protocol level we asked for.
    pub connect: Option<Protocol>,
    /// Incoming CONNACK, fully decoded.
    pub connack: Option<ConnackInfo>,
    /// Incoming DISCONNECT: reason code and reason string.
    pub disconnect: Option<(u8, Option<String>)>,
}

/// Decodes a whole CONNACK (fixed header included), as answered to a CONNECT in `sent`.
pub(crate) fn connack_from_wire(bytes: &[u8], sent: Protocol) -> Option<ConnackInfo> {
    use super::framer::{CaptureLimits, Framer};
    let mut framer = Framer::new(CaptureLimits {
        publish: 0,
        control: 1 << 16,
        max_packet: usize::MAX,
    });
    let mut found = None;
    let _ = framer.feed(bytes, &mut |frame| {
        if frame.packet_type() == PacketType::Connack && found.is_none() {
            found = Some(decode_connack(&frame, Some(sent)));
        }
    });
    found
}

/// Describes `frame`. `protocol` is what the CONNECT on this link asked for, if seen yet.
pub fn describe(
    frame: &Frame<'_>,
    direction: Direction,
    protocol: Option<Protocol>,
    want_record: bool,
) -> (Option<PacketRecord>, Facts) {
    // Long by design: one arm per packet type.
    let mut facts = Facts::default();
    let mut rec =
        want_record.then(|| PacketRecord::new(direction, frame.packet_type(), frame.wire_size()));
    let body = frame.body;
    let v5 = protocol == Some(Protocol::V5);
    match frame.packet_type() {
        PacketType::Connect => {
            let level = body.get(6).copied();
            facts.connect = match level {
                Some(5) => Some(Protocol::V5),
                Some(_) => Some(Protocol::V311),
                None => None,
            };
            if let Some(r) = rec.as_mut() {
                r.detail = describe_connect(frame, facts.connect);
            }
        }
        PacketType::Connack => {
            let info = decode_connack(frame, protocol);
            if let Some(r) = rec.as_mut() {
                r.reason = Some(info.code);
                r.detail = format!(
                    "{} session_present={}",
                    info.code_name(),
                    u8::from(info.session_present)
                );
                let props = info.properties();
                if !props.is_empty() {
                    let _ = write!(r.detail, " [{}]", props.join(" "));
                }
            }
            facts.connack = Some(info);
        }
        PacketType::Publish => {
            if let Some(r) = rec.as_mut() {
                describe_publish(frame, v5, r);
            }
        }
        PacketType::Puback | PacketType::Pubrec | PacketType::Pubrel | PacketType::Pubcomp => {
            if let Some(r) = rec.as_mut() {
                r.pkid = be16(body, 0);
                r.reason = if v5 && body.len() >= 3 {
                    Some(body[2])
                } else {
                    None
                };
                if let Some(code) = r.reason {
                    r.detail = super::codes::reason_name(code).to_string();
                }
            }
        }
        PacketType::Subscribe | PacketType::Unsubscribe => {
            if let Some(r) = rec.as_mut() {
                r.pkid = be16(body, 0);
                r.detail = describe_subscribe(frame, v5);
            }
        }
        PacketType::Suback | PacketType::Unsuback => {
            if let Some(r) = rec.as_mut() {
                r.pkid = be16(body, 0);
                let codes = ack_codes(body, v5);
                r.detail = codes
                    .iter()
                    .map(|c| format!("{c:#04x} {}", super::codes::reason_name(*c)))
                    .collect::<Vec<_>>()
                    .join(", ");
            }
        }
        PacketType::Disconnect => {
            let (code, reason) = decode_disconnect(frame, v5);
            if direction == Direction::In {
                facts.disconnect = Some((code, reason.clone()));
            }
            if let Some(r) = rec.as_mut() {
                if v5 {
                    r.reason = Some(code);
                    r.detail = super::codes::reason_name(code).to_string();
                    if let Some(reason) = reason {
                        let _ = write!(r.detail, " reason=\"{reason}\"");
                    }
                }
            }
        }
        _ => {}
    }
    (rec, facts)
}

fn be16(body: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*body.get(at)?, *body.get(at + 1)?]))
}

/// Rebuilds the whole packet (fixed header + body) for rumqttc's decoders.
pub(crate) fn whole(frame: &Frame<'_>) -> BytesMut {
    let mut header = vec![frame.first];
    wire::encode_varint(frame.remaining, &mut header);
    let mut buf = BytesMut::with_capacity(header.len() + frame.body.len());
    buf.extend_from_slice(&header);
    buf.extend_from_slice(frame.body);
    buf
}

fn max_size() -> Option<u32> {
    u32::try_from(MAX_PACKET_SIZE).ok()
}

fn describe_connect(frame: &Frame<'_>, protocol: Option<Protocol>) -> String {
    if !frame.complete {
        return format!("protocol={}", protocol.map_or("?", Protocol::as_str));
    }
    let mut buf = whole(frame);
    let version = protocol.map_or("?", Protocol::as_str);
    if protocol == Some(Protocol::V311) {
        return match rumqttc::mqttbytes::v4::Packet::read(&mut buf, MAX_PACKET_SIZE) {
            Ok(rumqttc::Packet::Connect(c)) => {
                let will = c.last_will.map(|w| w.topic);
                let user = c.login.map(|l| l.username);
                connect_summary(
                    version,
                    &c.client_id,
                    c.keep_alive,
                    c.clean_session,
                    user,
                    will,
                )
            }
            _ => format!("protocol={version}"),
        };
    }
    match v5b::Packet::read(&mut buf, max_size()) {
        Ok(v5b::Packet::Connect(connect, will, login)) => {
            let will = will.map(|w| String::from_utf8_lossy(&w.topic).into_owned());
            let user = login.map(|l| l.username);
            let mut s = connect_summary(
                version,
                &connect.client_id,
                connect.keep_alive,
                connect.clean_start,
                user,
                will,
            );
            if let Some(p) = connect.properties {
                let mut names = Vec::new();
                if let Some(v) = p.session_expiry_interval {
                    names.push(format!("session_expiry={v}"));
                }
                if let Some(v) = p.receive_maximum {
                    names.push(format!("receive_max={v}"));
                }
                if let Some(v) = p.max_packet_size {
                    names.push(format!("max_packet_size={v}"));
                }
                if let Some(v) = p.topic_alias_max {
                    names.push(format!("topic_alias_max={v}"));
                }
                if !names.is_empty() {
                    let _ = write!(s, " [{}]", names.join(" "));
                }
            }
            s
        }
        _ => format!("protocol={version}"),
    }
}

/// The CONNECT fields worth showing. The password is never shown, only that one was sent.
fn connect_summary(
    version: &str,
    client_id: &str,
    keep_alive: u16,
    clean: bool,
    username: Option<String>,
    will_topic: Option<String>,
) -> String {
    let mut s = format!(
        "protocol={version} client_id={client_id} keep_alive={keep_alive} clean_start={}",
        u8::from(clean)
    );
    if let Some(user) = username {
        let _ = write!(s, " username={user} password=<redacted>");
    }
    if let Some(topic) = will_topic {
        let _ = write!(s, " will_topic={topic}");
    }
    s
}

pub(crate) fn decode_connack(frame: &Frame<'_>, sent: Option<Protocol>) -> ConnackInfo {
    let body = frame.body;
    let flags = body.first().copied().unwrap_or(0);
    let code = body.get(1).copied().unwrap_or(0xFF);
    let mut info = ConnackInfo {
        session_present: flags & 1 == 1,
        code,
        ..ConnackInfo::default()
    };
    // A 3.1.1 CONNACK has exactly two body bytes; a v5 one always carries a property length.
    if frame.remaining == 2 || sent != Some(Protocol::V5) {
        info.protocol = Some(Protocol::V311);
        return info;
    }
    info.protocol = Some(Protocol::V5);
    if !frame.complete {
        return info;
    }
    let mut buf = whole(frame);
    if let Ok(v5b::Packet::ConnAck(ack)) = v5b::Packet::read(&mut buf, max_size()) {
        if let Some(p) = ack.properties {
            info.reason_string = p.reason_string;
            info.session_expiry = p.session_expiry_interval;
            info.receive_max = p.receive_max;
            info.max_qos = p.max_qos;
            info.retain_available = p.retain_available.map(|v| v != 0);
            info.max_packet_size = p.max_packet_size;
            info.assigned_client_id = p.assigned_client_identifier;
            info.topic_alias_max = p.topic_alias_max;
            info.wildcard_available = p.wildcard_subscription_available.map(|v| v != 0);
            info.subscription_ids_available = p.subscription_identifiers_available.map(|v| v != 0);
            info.shared_available = p.shared_subscription_available.map(|v| v != 0);
            info.server_keep_alive = p.server_keep_alive;
            info.response_information = p.response_information;
            info.server_reference = p.server_reference;
            info.user_properties = p.user_properties;
        }
    }
    info
}

fn describe_publish(frame: &Frame<'_>, v5: bool, rec: &mut PacketRecord) {
    let body = frame.body;
    rec.qos = (frame.first >> 1) & 0b11;
    rec.retain = frame.first & 1 == 1;
    rec.dup = frame.first & 0b1000 != 0;
    let Some(topic_len) = be16(body, 0).map(usize::from) else {
        return;
    };
    let topic_end = 2 + topic_len;
    let topic = body.get(2..topic_end.min(body.len())).unwrap_or_default();
    let mut topic = String::from_utf8_lossy(topic).into_owned();
    if topic_end > body.len() {
        topic.push('…');
    }
    let mut at = topic_end;
    if rec.qos > 0 {
        rec.pkid = be16(body, at);
        at += 2;
    }
    let header_and_props = at;
    let payload_len = frame.remaining.saturating_sub(header_and_props);
    rec.detail = format!("payload={payload_len}B");
    if v5 && frame.complete {
        let mut buf = whole(frame);
        if let Ok(v5b::Packet::Publish(p)) = v5b::Packet::read(&mut buf, max_size()) {
            rec.detail = format!("payload={}B", p.payload.len());
            if let Some(props) = p.properties {
                let names = publish_property_names(&props);
                if !names.is_empty() {
                    let _ = write!(rec.detail, " [{}]", names.join(" "));
                }
                if topic.is_empty() {
                    if let Some(alias) = props.topic_alias {
                        topic = format!("(alias {alias})");
                    }
                }
            }
        }
    }
    rec.topic = Some(topic);
}

fn publish_property_names(p: &v5b::PublishProperties) -> Vec<String> {
    let mut names = Vec::new();
    if let Some(v) = p.payload_format_indicator {
        names.push(format!("payload_format={v}"));
    }
    if let Some(v) = p.message_expiry_interval {
        names.push(format!("message_expiry={v}"));
    }
    if let Some(v) = p.topic_alias {
        names.push(format!("topic_alias={v}"));
    }
    if let Some(v) = &p.content_type {
        names.push(format!("content_type={v}"));
    }
    if let Some(v) = &p.response_topic {
        names.push(format!("response_topic={v}"));
    }
    if p.correlation_data.is_some() {
        names.push("correlation_data".into());
    }
    if !p.user_properties.is_empty() {
        names.push(format!("user_properties={}", p.user_properties.len()));
    }
    if !p.subscription_identifiers.is_empty() {
        names.push(format!("subscription_ids={:?}", p.subscription_identifiers));
    }
    names
}

fn describe_subscribe(frame: &Frame<'_>, v5: bool) -> String {
    if !frame.complete {
        return String::new();
    }
    let mut buf = whole(frame);
    if v5 {
        match v5b::Packet::read(&mut buf, max_size()) {
            Ok(v5b::Packet::Subscribe(s)) => s
                .filters
                .iter()
                .map(|f| format!("{} qos={}", f.path, f.qos as u8))
                .collect::<Vec<_>>()
                .join(", "),
            Ok(v5b::Packet::Unsubscribe(u)) => u.filters.join(", "),
            _ => String::new(),
        }
    } else {
        match rumqttc::mqttbytes::v4::Packet::read(&mut buf, MAX_PACKET_SIZE) {
            Ok(rumqttc::Packet::Subscribe(s)) => s
                .filters
                .iter()
                .map(|f| format!("{} qos={}", f.path, f.qos as u8))
                .collect::<Vec<_>>()
                .join(", "),
            Ok(rumqttc::Packet::Unsubscribe(u)) => u.topics.join(", "),
            _ => String::new(),
        }
    }
}

/// The per-filter codes of a SUBACK or UNSUBACK body.
pub fn ack_codes(body: &[u8], v5: bool) -> Vec<u8> {
    let mut at = 2;
    if v5 {
        let Ok(Some((props_len, len_len))) =
            wire::decode_varint(body.get(at..).unwrap_or_default())
        else {
            return Vec::new();
        };
        at += len_len + props_len;
    }
    body.get(at..).unwrap_or_default().to_vec()
}

pub(crate) fn decode_disconnect(frame: &Frame<'_>, v5: bool) -> (u8, Option<String>) {
    if !v5 || frame.remaining == 0 {
        return (0, None);
    }
    let code = frame.body.first().copied().unwrap_or(0);
    let mut reason = None;
    if frame.complete {
        let mut buf = whole(frame);
        if let Ok(v5b::Packet::Disconnect(d)) = v5b::Packet::read(&mut buf, max_size()) {
            reason = d.properties.and_then(|p| p.reason_string);
        }
    }
    (code, reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::framer::{CaptureLimits, Framer};

    fn describe_bytes(
        bytes: &[u8],
        dir: Direction,
        protocol: Option<Protocol>,
    ) -> Vec<(PacketRecord, Facts)> {
        let mut framer = Framer::new(CaptureLimits {
            publish: 4096,
            control: 65536,
            max_packet: usize::MAX,
        });
        let mut out = Vec::new();
        framer
            .feed(bytes, &mut |f| {
                let (rec, facts) = describe(&f, dir, protocol, true);
                out.push((rec.expect("record wanted"), facts));
            })
            .expect("well formed");
        out
    }

    fn encode_v5(packet: &v5b::Packet) -> Vec<u8> {
        let mut buf = BytesMut::new();
        packet.write(&mut buf, None).expect("encodes");
        buf.to_vec()
    }

    #[test]
    fn v311_connack_to_a_v5_connect_is_recognised() {
        let got = describe_bytes(&[0x20, 0x02, 0x00, 0x01], Direction::In, Some(Protocol::V5));
        let info = got[0].1.connack.clone().expect("connack");
        assert_eq!((info.protocol, info.code), (Some(Protocol::V311), 1));
        assert_eq!(info.code_name(), "unacceptable protocol version");
    }

    #[test]
    fn v5_connect_is_described_without_the_password() {
        let mut connect = v5b::Connect {
            keep_alive: 30,
            client_id: "probe".into(),
            clean_start: true,
            properties: None,
        };
        connect.properties = None;
        let login = v5b::Login::new("alice", "s3cret-pw");
        let bytes = encode_v5(&v5b::Packet::Connect(connect, None, Some(login)));
        let got = describe_bytes(&bytes, Direction::Out, None);
        let (rec, facts) = &got[0];
        assert_eq!(facts.connect, Some(Protocol::V5));
        assert_eq!(rec.size, bytes.len());
        assert!(rec.detail.contains("username=alice"), "{}", rec.detail);
        assert!(!rec.detail.contains("s3cret-pw"));
        assert!(!format!("{rec:?}").contains("s3cret-pw"));
    }

    #[test]
    fn v5_publish_record_has_topic_pkid_and_property_names() {
        let props = v5b::PublishProperties {
            content_type: Some("text/plain".into()),
            ..Default::default()
        };
        let qos = rumqttc::v5::mqttbytes::QoS::AtLeastOnce;
        let mut publish = v5b::Publish::new("a/b", qos, "hello", Some(props));
        publish.pkid = 7;
        let bytes = encode_v5(&v5b::Packet::Publish(publish));
        let got = describe_bytes(&bytes, Direction::In, Some(Protocol::V5));
        let rec = &got[0].0;
        assert_eq!(rec.topic.as_deref(), Some("a/b"));
        assert_eq!((rec.pkid, rec.qos, rec.size), (Some(7), 1, bytes.len()));
        assert_eq!(rec.detail, "payload=5B [content_type=text/plain]");
    }

    #[test]
    fn suback_codes_skip_v5_properties() {
        // SUBACK pkid 1, property length 0, codes 0x00 and 0x87
        let got = describe_bytes(
            &[0x90, 0x05, 0, 1, 0, 0x00, 0x87],
            Direction::In,
            Some(Protocol::V5),
        );
        assert_eq!(got[0].0.detail, "0x00 success, 0x87 not authorized");
    }

    #[test]
    fn v5_connack_record_lists_every_property() {
        let props = v5b::ConnAckProperties {
            receive_max: Some(20),
            topic_alias_max: Some(10),
            reason_string: Some("welcome".into()),
            assigned_client_identifier: Some("auto-1".into()),
            session_expiry_interval: None,
            max_qos: None,
            retain_available: None,
            max_packet_size: None,
            user_properties: Vec::new(),
            wildcard_subscription_available: None,
            subscription_identifiers_available: None,
            shared_subscription_available: None,
            server_keep_alive: None,
            response_information: None,
            server_reference: None,
            authentication_method: None,
            authentication_data: None,
        };
        let ack = v5b::ConnAck {
            session_present: false,
            code: v5b::ConnectReturnCode::Success,
            properties: Some(props),
        };
        let bytes = encode_v5(&v5b::Packet::ConnAck(ack));
        let got = describe_bytes(&bytes, Direction::In, Some(Protocol::V5));
        let (rec, facts) = &got[0];
        assert_eq!(rec.size, bytes.len());
        assert_eq!(
            rec.detail,
            "success session_present=0 [receive_max=20 assigned_client_id=auto-1 \
             topic_alias_max=10 reason_string=welcome]"
        );
        let info = facts.connack.as_ref().expect("connack");
        assert_eq!(info.assigned_client_id.as_deref(), Some("auto-1"));
    }
}
