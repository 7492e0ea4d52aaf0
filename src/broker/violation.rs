//! What a broker must never send us, checked on each incoming frame before rumqttc sees it:
//! a PUBLISH whose topic is not UTF-8 or is empty without an alias, a topic alias when we
//! announced none, a packet larger than the maximum we announced, a broken remaining length,
//! a packet only a client sends. A violation ends the link with a `protocol_error` that says
//! what was malformed, in which packet, and the frame's first bytes.

use std::fmt::Write as _;

use super::framer::Frame;
use super::options::Protocol;
use super::wire::{self, PacketType};

/// Bytes of a frame shown in hex.
const HEAD: usize = 16;

/// The first bytes of a frame (fixed header, then the start of the body) in hex.
pub fn hex_head(first: u8, remaining: usize, body: &[u8]) -> String {
    let mut bytes = vec![first];
    wire::encode_varint(remaining, &mut bytes);
    bytes.extend(body.iter().take(HEAD.saturating_sub(bytes.len())));
    let mut out = String::new();
    for b in bytes.iter().take(HEAD) {
        let _ = write!(out, "{b:02x} ");
    }
    out.pop();
    if 1 + remaining > HEAD {
        out.push_str(" …");
    }
    out
}

/// What is wrong with an incoming frame, if anything. `protocol` is what the CONNECT asked
/// for. The frame's captured body must hold at least the PUBLISH topic for the topic checks
/// (a longer topic is left to rumqttc's own decoder).
pub fn inbound(frame: &Frame<'_>, protocol: Option<Protocol>) -> Option<String> {
    match frame.packet_type() {
        PacketType::Publish => publish(frame, protocol),
        t @ (PacketType::Connect
        | PacketType::Subscribe
        | PacketType::Unsubscribe
        | PacketType::Pingreq
        | PacketType::Reserved) => Some(format!("a {t} packet, which only a client sends")),
        PacketType::Auth if protocol != Some(Protocol::V5) => {
            Some("an AUTH packet on an MQTT 3.1.1 link".into())
        }
        _ => None,
    }
}

fn publish(frame: &Frame<'_>, protocol: Option<Protocol>) -> Option<String> {
    let body = frame.body;
    let len = usize::from(u16::from_be_bytes([*body.first()?, *body.get(1)?]));
    let topic = body.get(2..2 + len)?;
    if let Err(e) = std::str::from_utf8(topic) {
        return Some(format!(
            "PUBLISH topic is not valid UTF-8 (byte {:#04x} at {})",
            topic[e.valid_up_to()],
            e.valid_up_to()
        ));
    }
    if topic.contains(&0) {
        return Some("PUBLISH topic contains a NUL character".into());
    }
    let qos = (frame.first >> 1) & 0b11;
    if qos == 3 {
        return Some("PUBLISH with QoS 3 (the QoS bits are both set)".into());
    }
    if protocol != Some(Protocol::V5) {
        if topic.is_empty() {
            return Some("PUBLISH with an empty topic".into());
        }
        return None;
    }
    let mut at = 2 + len + if qos > 0 { 2 } else { 0 };
    let alias = match wire::decode_varint(body.get(at..).unwrap_or_default()) {
        Err(_) => return Some("PUBLISH properties length malformed".into()),
        Ok(None) => return None,
        Ok(Some((props_len, varint_len))) => {
            at += varint_len;
            let props = body.get(at..at + props_len)?;
            topic_alias(props)
        }
    };
    match alias {
        // We announce no topic aliases (topic alias maximum 0): any alias is out of range.
        Some(alias) => Some(format!(
            "PUBLISH with topic alias {alias}, but we announced a topic alias maximum of 0{}",
            if topic.is_empty() {
                " (an unknown alias and an empty topic: the message has no topic)"
            } else {
                ""
            }
        )),
        None if topic.is_empty() => Some("PUBLISH with an empty topic and no topic alias".into()),
        None => None,
    }
}

/// The topic alias among PUBLISH properties, if there is one (0x23, two bytes). Stops at the
/// first property it cannot size.
fn topic_alias(mut props: &[u8]) -> Option<u16> {
    while let Some((&id, rest)) = props.split_first() {
        let fixed = match id {
            0x01 => 1, // payload format indicator
            0x02 => 4, // message expiry interval
            0x23 => {
                let v = rest.get(..2)?;
                return Some(u16::from_be_bytes([v[0], v[1]]));
            }
            0x03 | 0x08 | 0x09 => {
                // content type, response topic, correlation data: a two-byte length, then bytes
                let n = usize::from(u16::from_be_bytes([*rest.first()?, *rest.get(1)?]));
                2 + n
            }
            0x26 => {
                // user property: two strings
                let a = usize::from(u16::from_be_bytes([*rest.first()?, *rest.get(1)?]));
                let b_at = 2 + a;
                let b = usize::from(u16::from_be_bytes([*rest.get(b_at)?, *rest.get(b_at + 1)?]));
                b_at + 2 + b
            }
            0x0B => wire::decode_varint(rest).ok()??.1, // subscription identifier
            _ => return None,
        };
        props = rest.get(fixed..)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::framer::{CaptureLimits, Framer};

    fn check(bytes: &[u8], protocol: Protocol) -> Option<String> {
        let mut framer = Framer::new(CaptureLimits {
            publish: 1024,
            control: 1024,
            max_packet: usize::MAX,
        });
        let mut found = None;
        framer
            .feed(bytes, &mut |f| found = Some(inbound(&f, Some(protocol))))
            .expect("framed");
        found.expect("a frame")
    }

    fn publish(topic: &[u8], props: &[u8]) -> Vec<u8> {
        let mut body = u16::try_from(topic.len())
            .expect("a short topic")
            .to_be_bytes()
            .to_vec();
        body.extend_from_slice(topic);
        body.push(u8::try_from(props.len()).expect("short properties"));
        body.extend_from_slice(props);
        body.extend_from_slice(b"payload");
        let mut packet = vec![0x30];
        wire::encode_varint(body.len(), &mut packet);
        packet.extend(body);
        packet
    }

    #[test]
    fn what_a_broker_must_not_send() {
        let v5 = Protocol::V5;
        let table: Vec<(&str, Vec<u8>, Protocol, Option<&str>)> = vec![
            ("a plain topic", publish(b"a/b", &[]), v5, None),
            (
                "a non-ASCII topic",
                publish("温度/été/🌡".as_bytes(), &[]),
                v5,
                None,
            ),
            (
                "properties before the alias are skipped",
                publish(
                    b"t",
                    &[
                        0x01, 1, 0x03, 0, 2, b'a', b'b', 0x26, 0, 1, b'k', 0, 1, b'v',
                    ],
                ),
                v5,
                None,
            ),
            (
                "invalid UTF-8",
                publish(&[b'a', 0xff, b'b'], &[]),
                v5,
                Some("PUBLISH topic is not valid UTF-8 (byte 0xff at 1)"),
            ),
            ("NUL", publish(b"a\0b", &[]), v5, Some("contains a NUL")),
            (
                "an alias we never allowed",
                publish(b"", &[0x23, 0, 7]),
                v5,
                Some("topic alias 7, but we announced a topic alias maximum of 0 (an unknown"),
            ),
            (
                "an empty topic without alias",
                publish(b"", &[]),
                v5,
                Some("empty topic and no topic alias"),
            ),
            (
                "an empty 3.1.1 topic",
                vec![0x30, 0x04, 0, 0, b'h', b'i'],
                Protocol::V311,
                Some("PUBLISH with an empty topic"),
            ),
            (
                "QoS 3",
                vec![0x36, 0x05, 0, 1, b't', 0, 1],
                Protocol::V311,
                Some("QoS 3"),
            ),
            ("a CONNECT", vec![0x10, 0x00], v5, Some("a CONNECT packet")),
            ("a PINGRESP", vec![0xD0, 0x00], v5, None),
        ];
        for (name, bytes, protocol, want) in table {
            let got = check(&bytes, protocol);
            match (want, got) {
                (None, None) => {}
                (Some(w), Some(g)) => assert!(g.contains(w), "{name}: {g}"),
                (w, g) => panic!("{name}: wanted {w:?}, got {g:?}"),
            }
        }
    }

    #[test]
    fn the_head_is_the_first_bytes_in_hex() {
        assert_eq!(hex_head(0x30, 3, &[0, 1, 0xff]), "30 03 00 01 ff");
        let long = vec![0xab; 100];
        let head = hex_head(0x30, 100, &long);
        assert!(
            head.starts_with("30 64 ab ab") && head.ends_with(" …"),
            "{head}"
        );
        assert_eq!(head.split(' ').count(), 17);
    }
}
