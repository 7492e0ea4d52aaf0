//! One topic level and the messages it keeps, packed tight: with 100k topics every byte of a
//! node counts.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

use bytes::Bytes;

use super::NodeId;
use crate::broker::{Message, MessageProperties};

/// A message as the store keeps it: its own copy of the payload.
#[derive(Debug, Clone)]
pub struct StoredMessage {
    pub payload: Bytes,
    pub received: SystemTime,
    pub qos: u8,
    pub retain: bool,
    pub dup: bool,
    pub wire_size: u32,
    pub properties: Option<Box<MessageProperties>>,
    /// Position in the store's global arrival order.
    pub seq: u64,
}

impl StoredMessage {
    /// What the message counts against the budgets: payload, properties (a hostile broker can
    /// send megabytes of them with a one-byte payload) and bookkeeping.
    pub fn accounted_size(&self) -> usize {
        self.payload.len()
            + self.properties.as_ref().map_or(0, |p| {
                p.heap_size() + std::mem::size_of::<MessageProperties>()
            })
            + MESSAGE_OVERHEAD
    }

    /// The message as it arrived on `topic` (the node's path).
    pub fn to_message(&self, topic: &str) -> Message {
        Message {
            topic: topic.to_string(),
            payload: self.payload.clone(),
            qos: self.qos,
            retain: self.retain,
            dup: self.dup,
            properties: self.properties.clone(),
            received: self.received,
            wire_size: self.wire_size as usize,
        }
    }
}

/// Accounting estimate of a stored message beyond its payload.
const MESSAGE_OVERHEAD: usize = std::mem::size_of::<StoredMessage>() + 16;
/// Accounting estimate of a node beyond its name: the node, its index entry, the growth slack
/// of the arena and the index, and allocator overhead. Measured: an endless flood of unique
/// topics kept the explorer's RSS under its budget with this figure, not with a tighter one.
pub(super) const NODE_OVERHEAD: usize = std::mem::size_of::<Node>() + 176;

/// One topic level.
#[derive(Debug)]
pub struct Node {
    /// The full topic path up to this level.
    pub(super) path: Box<str>,
    pub parent: NodeId,
    pub(super) children: Vec<NodeId>,
    /// Messages received on this topic and every topic below.
    pub messages: u64,
    /// Topics (levels that received at least one message) at and below this level.
    pub topics: u32,
    /// Messages received on exactly this topic.
    pub own_messages: u64,
    pub(super) history: VecDeque<StoredMessage>,
    pub(super) history_bytes: u32,
    /// When this level or anything below last received a message (milliseconds since the
    /// Unix epoch, 0 for never) and two flags, in one word: see `Stamp`.
    pub(super) stamp: Stamp,
    /// Exponentially weighted message rate on this topic, as of `changed_at`.
    pub(super) rate: f32,
}

/// A node's change time and flags packed into 8 bytes (instead of 16 for an
/// `Option<SystemTime>` plus two padded bools): with 100k topics every byte of a node counts.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Stamp(u64);

impl Stamp {
    pub(super) const RETAINED: u64 = 1 << 63;
    /// The children are not in natural order.
    pub(super) const UNSORTED: u64 = 1 << 62;
    const MILLIS: u64 = Self::UNSORTED - 1;

    pub(super) fn millis(self) -> u64 {
        self.0 & Self::MILLIS
    }

    pub(super) fn set_millis(&mut self, ms: u64) {
        self.0 = (self.0 & !Self::MILLIS) | (ms & Self::MILLIS);
    }

    pub(super) fn has(self, flag: u64) -> bool {
        self.0 & flag != 0
    }

    pub(super) fn set(&mut self, flag: u64, on: bool) {
        if on {
            self.0 |= flag;
        } else {
            self.0 &= !flag;
        }
    }
}

/// Milliseconds since the Unix epoch (1 for anything earlier: 0 means never).
pub(crate) fn millis(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH).map_or(1, |d| {
        u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
    })
}

/// Time constant of the per-topic rate average.
pub(super) const RATE_WINDOW_SECS: f64 = 5.0;

impl Node {
    pub(super) fn new(path: Box<str>, parent: NodeId) -> Self {
        Self {
            path,
            parent,
            children: Vec::new(),
            messages: 0,
            topics: 0,
            own_messages: 0,
            history: VecDeque::new(),
            history_bytes: 0,
            stamp: Stamp::default(),
            rate: 0.0,
        }
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// When this level or anything below last received a message.
    pub fn changed_at(&self) -> Option<SystemTime> {
        let ms = self.stamp.millis();
        (ms > 0).then(|| SystemTime::UNIX_EPOCH + Duration::from_millis(ms))
    }

    /// [`Self::changed_at`] in milliseconds since the Unix epoch (0 never): for a topic,
    /// when its newest message arrived, without a clock conversion.
    pub fn last_millis(&self) -> u64 {
        self.stamp.millis()
    }

    pub fn segment(&self) -> &str {
        self.path
            .rfind('/')
            .map_or(&self.path, |i| &self.path[i + 1..])
    }

    /// The last message here was retained (and not a retained-message deletion).
    pub fn retained(&self) -> bool {
        self.stamp.has(Stamp::RETAINED)
    }

    pub fn children(&self) -> &[NodeId] {
        &self.children
    }

    pub fn history(&self) -> &VecDeque<StoredMessage> {
        &self.history
    }

    pub fn last(&self) -> Option<&StoredMessage> {
        self.history.back()
    }

    pub fn is_topic(&self) -> bool {
        self.own_messages > 0
    }

    /// Messages per second on this topic, decayed to `now`.
    pub fn rate_at(&self, now: SystemTime) -> f64 {
        let Some(at) = self.changed_at() else {
            return 0.0;
        };
        let idle = now
            .duration_since(at)
            .unwrap_or(Duration::ZERO)
            .as_secs_f64();
        f64::from(self.rate) * (-idle / RATE_WINDOW_SECS).exp()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_fits_in_112_bytes() {
        // Two nodes per topic are common (`device/42/temp`); every 8 bytes of a node are
        // 16 bytes per such topic.
        assert!(
            std::mem::size_of::<Node>() <= 112,
            "{}",
            std::mem::size_of::<Node>()
        );
    }

    #[test]
    fn stamp_keeps_time_and_flags_apart() {
        let mut s = Stamp::default();
        s.set_millis(1_700_000_000_123);
        s.set(Stamp::RETAINED, true);
        s.set(Stamp::UNSORTED, true);
        s.set_millis(1_800_000_000_456);
        assert_eq!(s.millis(), 1_800_000_000_456);
        assert!(s.has(Stamp::RETAINED) && s.has(Stamp::UNSORTED));
        s.set(Stamp::RETAINED, false);
        assert!(!s.has(Stamp::RETAINED) && s.has(Stamp::UNSORTED));
        assert_eq!(s.millis(), 1_800_000_000_456);
    }
}
