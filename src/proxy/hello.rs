//! What the proxy reads out of a client's packets to grade it: the CONNECT (client id,
//! keep-alive, clean start, will; never the password), the filters of a SUBSCRIBE or
//! UNSUBSCRIBE. Decoding goes through rumqttc's own codecs on a whole framed packet, so a
//! packet the decoders refuse simply yields `None`: the bytes are forwarded all the same.

use rumqttc::v5::mqttbytes::v5 as v5b;

use crate::broker::framer::Frame;
use crate::broker::options::{MAX_PACKET_SIZE, Protocol};
use crate::broker::packet::whole;

/// A client's Last Will, as announced in its CONNECT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Will {
    pub topic: String,
    pub qos: u8,
    pub retain: bool,
    /// MQTT 5 will delay interval in seconds.
    pub delay: Option<u32>,
}

/// The facts of a CONNECT. There is deliberately no password field: the proxy only knows
/// whether one was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    pub client_id: String,
    pub protocol: Protocol,
    pub clean_start: bool,
    pub keep_alive: u16,
    pub session_expiry: Option<u32>,
    pub will: Option<Will>,
    pub username: bool,
    pub password: bool,
}

/// Decodes a complete CONNECT frame.
pub fn connect(frame: &Frame<'_>) -> Option<Hello> {
    if !frame.complete {
        return None;
    }
    let mut buf = whole(frame);
    match frame.body.get(6).copied() {
        Some(5) => match v5b::Packet::read(&mut buf, u32::try_from(MAX_PACKET_SIZE).ok()) {
            Ok(v5b::Packet::Connect(c, will, login)) => Some(Hello {
                client_id: c.client_id,
                protocol: Protocol::V5,
                clean_start: c.clean_start,
                keep_alive: c.keep_alive,
                session_expiry: c.properties.and_then(|p| p.session_expiry_interval),
                will: will.map(|w| Will {
                    topic: String::from_utf8_lossy(&w.topic).into_owned(),
                    qos: w.qos as u8,
                    retain: w.retain,
                    delay: w.properties.and_then(|p| p.delay_interval),
                }),
                username: login.as_ref().is_some_and(|l| !l.username.is_empty()),
                password: login.is_some_and(|l| !l.password.is_empty()),
            }),
            _ => None,
        },
        Some(_) => match rumqttc::mqttbytes::v4::Packet::read(&mut buf, MAX_PACKET_SIZE) {
            Ok(rumqttc::Packet::Connect(c)) => Some(Hello {
                client_id: c.client_id,
                protocol: Protocol::V311,
                clean_start: c.clean_session,
                keep_alive: c.keep_alive,
                session_expiry: None,
                will: c.last_will.map(|w| Will {
                    topic: w.topic,
                    qos: w.qos as u8,
                    retain: w.retain,
                    delay: None,
                }),
                username: c.login.as_ref().is_some_and(|l| !l.username.is_empty()),
                password: c.login.is_some_and(|l| !l.password.is_empty()),
            }),
            _ => None,
        },
        None => None,
    }
}

/// The packet id and the (filter, requested QoS) pairs of a complete SUBSCRIBE.
pub fn subscribe(frame: &Frame<'_>, protocol: Protocol) -> Option<(u16, Vec<(String, u8)>)> {
    if !frame.complete {
        return None;
    }
    let mut buf = whole(frame);
    match protocol {
        Protocol::V5 => match v5b::Packet::read(&mut buf, u32::try_from(MAX_PACKET_SIZE).ok()) {
            Ok(v5b::Packet::Subscribe(s)) => Some((
                s.pkid,
                s.filters
                    .into_iter()
                    .map(|f| (f.path, f.qos as u8))
                    .collect(),
            )),
            _ => None,
        },
        Protocol::V311 => match rumqttc::mqttbytes::v4::Packet::read(&mut buf, MAX_PACKET_SIZE) {
            Ok(rumqttc::Packet::Subscribe(s)) => Some((
                s.pkid,
                s.filters
                    .into_iter()
                    .map(|f| (f.path, f.qos as u8))
                    .collect(),
            )),
            _ => None,
        },
    }
}

/// The packet id and the filters of a complete UNSUBSCRIBE.
pub fn unsubscribe(frame: &Frame<'_>, protocol: Protocol) -> Option<(u16, Vec<String>)> {
    if !frame.complete {
        return None;
    }
    let mut buf = whole(frame);
    match protocol {
        Protocol::V5 => match v5b::Packet::read(&mut buf, u32::try_from(MAX_PACKET_SIZE).ok()) {
            Ok(v5b::Packet::Unsubscribe(u)) => Some((u.pkid, u.filters)),
            _ => None,
        },
        Protocol::V311 => match rumqttc::mqttbytes::v4::Packet::read(&mut buf, MAX_PACKET_SIZE) {
            Ok(rumqttc::Packet::Unsubscribe(u)) => Some((u.pkid, u.topics)),
            _ => None,
        },
    }
}

/// The packet id of a PUBLISH (QoS 1 and 2 only), from the captured head of its body.
pub fn publish_pkid(frame: &Frame<'_>) -> Option<u16> {
    let qos = (frame.first >> 1) & 0b11;
    if qos == 0 {
        return None;
    }
    let body = frame.body;
    let len = usize::from(u16::from_be_bytes([*body.first()?, *body.get(1)?]));
    let at = 2 + len;
    Some(u16::from_be_bytes([*body.get(at)?, *body.get(at + 1)?]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::framer::{CaptureLimits, Framer};

    fn frames(bytes: &[u8]) -> Vec<(u8, Vec<u8>, usize, bool)> {
        let mut framer = Framer::new(CaptureLimits {
            publish: 4096,
            control: 1 << 16,
            max_packet: usize::MAX,
        });
        let mut out = Vec::new();
        let _ = framer.feed(bytes, &mut |f| {
            out.push((f.first, f.body.to_vec(), f.remaining, f.complete));
        });
        out
    }

    fn with_frame<T>(bytes: &[u8], f: impl Fn(&Frame<'_>) -> T) -> T {
        let (first, body, remaining, complete) = frames(bytes).remove(0);
        let mut header = vec![first];
        crate::broker::wire::encode_varint(remaining, &mut header);
        f(&Frame {
            first,
            header_len: header.len(),
            remaining,
            body: &body,
            complete,
        })
    }

    fn v4_connect() -> Vec<u8> {
        let mut c = rumqttc::mqttbytes::v4::Connect::new("温度-sensor");
        c.keep_alive = 7;
        c.clean_session = false;
        c.set_login("user", "hunter2");
        c.last_will = Some(rumqttc::LastWill::new(
            "été/status",
            "gone",
            rumqttc::QoS::AtLeastOnce,
            true,
        ));
        let mut buf = bytes::BytesMut::new();
        c.write(&mut buf).expect("encodes");
        buf.to_vec()
    }

    #[test]
    fn a_v311_connect_gives_id_keepalive_and_will_but_never_the_password() {
        let hello = with_frame(&v4_connect(), connect).expect("decodes");
        assert_eq!(hello.client_id, "温度-sensor");
        assert_eq!(hello.protocol, Protocol::V311);
        assert_eq!(hello.keep_alive, 7);
        assert!(!hello.clean_start);
        assert!(hello.username && hello.password);
        let will = hello.will.clone().expect("will");
        assert_eq!(
            (will.topic.as_str(), will.qos, will.retain),
            ("été/status", 1, true)
        );
        assert!(!format!("{hello:?}").contains("hunter2"));
    }

    #[test]
    fn a_v5_subscribe_lists_its_filters() {
        let filter = v5b::Filter::new("温度/#", rumqttc::v5::mqttbytes::QoS::AtLeastOnce);
        let mut s = v5b::Subscribe::new(filter, None);
        s.pkid = 9;
        let mut buf = bytes::BytesMut::new();
        s.write(&mut buf).expect("encodes");
        let got = with_frame(&buf, |f| subscribe(f, Protocol::V5)).expect("decodes");
        assert_eq!(got, (9, vec![("温度/#".to_string(), 1)]));
    }

    #[test]
    fn a_truncated_connect_is_none_not_a_panic() {
        let bytes = v4_connect();
        for cut in 0..bytes.len() {
            let got = frames(&bytes[..cut]);
            assert!(got.is_empty() || got.iter().all(|f| f.3));
        }
        // A CONNECT with a lying length inside still decodes to None.
        let mut bad = bytes.clone();
        bad[3] = 0xFF;
        assert!(with_frame(&bad, connect).is_none());
    }

    #[test]
    fn publish_pkid_reads_after_the_topic() {
        // QoS 1 PUBLISH: topic "a/é" (4 bytes), pkid 0x0102, payload "x".
        let bytes = [0x32, 9, 0, 4, b'a', b'/', 0xC3, 0xA9, 1, 2, b'x'];
        assert_eq!(with_frame(&bytes, publish_pkid), Some(0x0102));
        let qos0 = [0x30, 3, 0, 1, b'a'];
        assert_eq!(with_frame(&qos0, publish_pkid), None);
    }
}
