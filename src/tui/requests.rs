//! MQTT 5 request/response: a message with a response topic and correlation data is a
//! request; a later message on that response topic with the same correlation data is its
//! reply. Pairs are kept by message sequence number, so the inspector can show either side.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, SystemTime};

use bytes::Bytes;

/// Requests awaiting a reply, at most (the oldest are forgotten).
const MAX_PENDING: usize = 10_000;
/// Pairs kept, at most.
const MAX_PAIRS: usize = 20_000;
/// Bytes of pending requests kept, at most: response topics and correlation data come from
/// the broker, and a hostile one can make each of them large.
const MAX_PENDING_BYTES: usize = 16 << 20;

#[derive(Debug, Clone)]
pub struct Pending {
    pub topic: String,
    /// The request as stored, when it was received (a request sent from the publish dialog
    /// to a topic outside the subscription has none).
    pub seq: Option<u64>,
    pub at: SystemTime,
    /// Sent from this explorer: its reply is announced in the status bar.
    pub ours: bool,
}

/// One side of a pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The other message's topic and sequence number.
    pub topic: String,
    pub seq: Option<u64>,
    pub latency: Duration,
    /// This message is the reply (else the request).
    pub is_reply: bool,
}

#[derive(Debug, Default)]
pub struct Requests {
    pending: HashMap<(String, Bytes), Pending>,
    pending_order: VecDeque<(String, Bytes)>,
    /// What `pending` holds, by the measure of `pending_size`.
    pending_bytes: usize,
    links: HashMap<u64, Link>,
    link_order: VecDeque<u64>,
}

/// What one pending request holds.
fn pending_size(key: &(String, Bytes), p: &Pending) -> usize {
    2 * key.0.len() + 2 * key.1.len() + p.topic.len() + 128
}

/// A reply that just matched a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    pub request_topic: String,
    pub latency: Duration,
    pub ours: bool,
}

impl Requests {
    /// Records a request (response topic and correlation data).
    pub fn request(&mut self, response_topic: &str, correlation: &Bytes, mut pending: Pending) {
        // A copy: received correlation data is a slice of the connection's shared buffer.
        let key = (
            response_topic.to_string(),
            Bytes::copy_from_slice(correlation),
        );
        // Our own request coming back through the subscription stays ours; the broker's
        // routing time is the best start of the clock.
        if self.pending.get(&key).is_some_and(|old| old.ours) {
            pending.ours = true;
        }
        let size = pending_size(&key, &pending);
        match self.pending.insert(key.clone(), pending) {
            None => {
                self.pending_order.push_back(key);
                self.pending_bytes += size;
            }
            Some(old) => {
                self.pending_bytes = self.pending_bytes + size - pending_size(&key, &old);
            }
        }
        while self.pending_order.len() > MAX_PENDING || self.pending_bytes > MAX_PENDING_BYTES {
            let Some(old) = self.pending_order.pop_front() else {
                break;
            };
            if let Some(p) = self.pending.remove(&old) {
                self.pending_bytes -= pending_size(&old, &p);
            }
        }
    }

    /// Our request to `topic` was written at `at` (the explorer's own clock is coarse):
    /// time its reply from then, unless it already came back through the subscription.
    pub fn sent(&mut self, topic: &str, at: SystemTime) {
        for p in self.pending.values_mut() {
            if p.ours && p.seq.is_none() && p.topic == topic {
                p.at = at;
            }
        }
    }

    /// Looks a message up as a reply; links both sides when it is one.
    pub fn reply(
        &mut self,
        topic: &str,
        correlation: &Bytes,
        seq: u64,
        at: SystemTime,
    ) -> Option<Matched> {
        let key = (topic.to_string(), correlation.clone());
        let request = self.pending.remove(&key)?;
        self.pending_bytes -= pending_size(&key, &request);
        self.pending_order.retain(|k| k != &key);
        let latency = at.duration_since(request.at).unwrap_or_default();
        self.link(
            seq,
            Link {
                topic: request.topic.clone(),
                seq: request.seq,
                latency,
                is_reply: true,
            },
        );
        if let Some(req_seq) = request.seq {
            self.link(
                req_seq,
                Link {
                    topic: topic.to_string(),
                    seq: Some(seq),
                    latency,
                    is_reply: false,
                },
            );
        }
        Some(Matched {
            request_topic: request.topic,
            latency,
            ours: request.ours,
        })
    }

    fn link(&mut self, seq: u64, link: Link) {
        self.links.insert(seq, link);
        self.link_order.push_back(seq);
        while self.link_order.len() > MAX_PAIRS {
            if let Some(old) = self.link_order.pop_front() {
                self.links.remove(&old);
            }
        }
    }

    /// The other side of a message, when it is part of a pair.
    pub fn link_of(&self, seq: u64) -> Option<&Link> {
        self.links.get(&seq)
    }

    /// Whether a request is still waiting for its reply.
    pub fn awaiting(&self, response_topic: &str, correlation: &Bytes) -> bool {
        self.pending
            .contains_key(&(response_topic.to_string(), correlation.clone()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn pending_requests_are_bounded_in_bytes() {
        let mut r = Requests::default();
        let big = Bytes::from(vec![7u8; 1 << 20]);
        for i in 0..64 {
            let pending = Pending {
                topic: format!("req/{i}"),
                seq: Some(i),
                at: SystemTime::UNIX_EPOCH,
                ours: false,
            };
            r.request(&format!("reply/{i}"), &big, pending);
        }
        assert!(r.pending_bytes <= MAX_PENDING_BYTES, "{}", r.pending_bytes);
        assert!(r.pending.len() < 64, "the oldest were forgotten");
        let newest = r.reply("reply/63", &big, 1000, SystemTime::UNIX_EPOCH);
        assert!(newest.is_some(), "the newest is still there");
        assert!(
            r.reply("reply/0", &big, 1001, SystemTime::UNIX_EPOCH)
                .is_none()
        );
    }

    #[test]
    fn a_reply_links_to_its_request_both_ways_with_the_latency() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let mut r = Requests::default();
        let corr = Bytes::from_static(b"42");
        r.request(
            "svc/reply",
            &corr,
            Pending {
                topic: "svc/req".into(),
                seq: Some(7),
                at: t0,
                ours: false,
            },
        );
        assert!(r.awaiting("svc/reply", &corr));
        // Other correlation data on the reply topic is not the reply.
        assert!(
            r.reply("svc/reply", &Bytes::from_static(b"41"), 8, t0)
                .is_none()
        );
        let m = r
            .reply("svc/reply", &corr, 9, t0 + Duration::from_millis(35))
            .unwrap();
        assert_eq!(m.latency, Duration::from_millis(35));
        assert_eq!(r.link_of(9).unwrap().topic, "svc/req");
        assert!(r.link_of(9).unwrap().is_reply);
        assert_eq!(r.link_of(7).unwrap().seq, Some(9));
        assert!(!r.awaiting("svc/reply", &corr));
    }
}
