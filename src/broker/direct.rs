//! The short way for QoS 0 messages: the pump hands a QoS 0 PUBLISH straight to the emitter
//! instead of passing its bytes over the local socket to rumqttc, whose only work on it would
//! be to parse it and hand it back. Everything else (CONNACK, SUBACK, PINGRESP, QoS 1 and 2,
//! topic aliases, anything rumqttc's parser refuses) still goes through rumqttc.
//!
//! Order is kept: a packet takes the short way only when every packet forwarded to rumqttc
//! before it has been handled by the supervisor (its event emitted), counted in [`Order`].
//! Under a QoS 0 flood rumqttc has nothing outstanding and nearly every message takes the
//! short way; a PINGRESP or a QoS 1 message sends the rest of its read the long way.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::SystemTime;

use bytes::{Bytes, BytesMut};

use super::emitter::Emitter;
use super::event::Message;
use super::wire;

/// Packets forwarded to rumqttc, and how many of them the supervisor has handled.
#[derive(Debug, Default)]
pub struct Order {
    forwarded: AtomicU64,
    handled: AtomicU64,
}

impl Order {
    /// The supervisor has emitted whatever one incoming packet from rumqttc gave.
    pub fn handled_one(&self) {
        self.handled.fetch_add(1, Ordering::Release);
    }

    fn settled(&self) -> bool {
        self.handled.load(Ordering::Acquire) >= self.forwarded.load(Ordering::Relaxed)
    }

    fn forwarded(&self, packets: u64) {
        self.forwarded.fetch_add(packets, Ordering::Relaxed);
    }
}

/// The inbound side's splitter: what goes straight out, what goes on to rumqttc.
pub struct Direct {
    pub out: Emitter,
    pub order: Arc<Order>,
    /// 4 or 5 once the CONNECT has been seen (the pump's outbound side sets it).
    pub protocol: Arc<AtomicU8>,
}

impl Direct {
    /// Takes the complete packets at the front of `buf`: QoS 0 messages are emitted (when
    /// nothing forwarded is still unhandled), the rest is returned in order for rumqttc. An
    /// incomplete packet stays in `buf` until its remaining bytes arrive. The framing was
    /// checked by the pump before this is called.
    pub fn split(&self, buf: &mut BytesMut, received: SystemTime) -> Option<Bytes> {
        let protocol = self.protocol.load(Ordering::Relaxed);
        while let Some(len) = complete(buf) {
            if !(is_qos0_publish(buf[0]) && matches!(protocol, 4 | 5) && self.order.settled()) {
                break;
            }
            let raw = buf.split_to(len).freeze();
            let Some(message) = parse(&raw, protocol, received) else {
                // rumqttc decides what to do with it, and everything after it waits.
                let (rest, packets) = complete_prefix(buf);
                self.order.forwarded(1 + packets);
                let mut joined = BytesMut::with_capacity(raw.len() + rest.len());
                joined.extend_from_slice(&raw);
                joined.extend_from_slice(&rest);
                return Some(joined.freeze());
            };
            self.out.message(message);
        }
        let (rest, packets) = complete_prefix(buf);
        self.order.forwarded(packets);
        (!rest.is_empty()).then(|| rest.freeze())
    }
}

/// The whole packets at the front of `buf`, split off, and how many there are.
fn complete_prefix(buf: &mut BytesMut) -> (BytesMut, u64) {
    let (mut at, mut packets) = (0, 0);
    while let Some(len) = complete(&buf[at..]) {
        at += len;
        packets += 1;
    }
    (buf.split_to(at), packets)
}

/// The length of the packet at the front of `bytes` once all of it is there.
fn complete(bytes: &[u8]) -> Option<usize> {
    let (head, remaining) = wire::fixed_header(bytes).ok()??;
    let len = head + remaining;
    (bytes.len() >= len).then_some(len)
}

fn is_qos0_publish(first: u8) -> bool {
    first >> 4 == 3 && first & 0b0110 == 0
}

/// The message in a QoS 0 PUBLISH, as rumqttc's own parser reads it; `None` for one that
/// carries a topic alias (the session keeps the alias table) or that the parser refuses.
fn parse(raw: &Bytes, protocol: u8, received: SystemTime) -> Option<Message> {
    let wire_size = raw.len();
    if protocol == 5 {
        use rumqttc::v5::mqttbytes::v5 as b5;
        let header = b5::check(raw.iter(), None).ok()?;
        let publish = b5::Publish::read(header, raw.clone()).ok()?;
        if publish
            .properties
            .as_ref()
            .is_some_and(|p| p.topic_alias.is_some())
        {
            return None;
        }
        let mut no_aliases = HashMap::new();
        Some(super::session::message_v5(
            publish,
            wire_size,
            received,
            &mut no_aliases,
        ))
    } else {
        let header = rumqttc::check(raw.iter(), usize::MAX).ok()?;
        let publish = rumqttc::Publish::read(header, raw.clone()).ok()?;
        Some(super::session::message_v4(publish, wire_size, received))
    }
}

#[cfg(test)]
#[path = "direct_tests.rs"]
mod tests;
