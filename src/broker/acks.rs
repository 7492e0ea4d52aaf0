//! Matches rumqttc's packet ids to what was asked: publish replies (PUBACK, PUBREC/PUBCOMP),
//! subscription filters (SUBACK) and unsubscriptions (UNSUBACK). rumqttc reports an outgoing
//! packet only by type and packet id, in the order requests were handed to it; acks from the
//! broker that match nothing (duplicates, unsolicited) are ignored.

use std::collections::{HashMap, VecDeque};

use tokio::sync::oneshot;

use super::event::{PublishOutcome, PublishRequest, SubscribeResult};
use super::options::Subscription;
use super::session::{REQUEST_CAPACITY, Session, SessionEvent};

pub(super) type Reply = oneshot::Sender<PublishOutcome>;

/// Matches rumqttc's packet ids to publish replies and subscription filters.
#[derive(Default)]
pub(super) struct Acks {
    /// Publishes handed to rumqttc, waiting for their `Outgoing::Publish(pkid)`, in order.
    awaiting_pkid: VecDeque<(PublishRequest, Reply)>,
    /// QoS 1/2 publishes waiting for PUBACK / PUBCOMP, by packet id.
    awaiting_ack: HashMap<u16, (PublishRequest, Reply, u8)>,
    /// Subscriptions handed to rumqttc, waiting for their packet id, in order.
    subs_awaiting_pkid: VecDeque<Vec<Subscription>>,
    subs_awaiting_ack: HashMap<u16, Vec<Subscription>>,
    unsubs_awaiting_pkid: VecDeque<String>,
    unsubs_awaiting_ack: HashMap<u16, String>,
}

/// A SUBACK or UNSUBACK matched to what was asked.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum AckResult {
    Subscribed(Vec<SubscribeResult>),
    Unsubscribed(SubscribeResult),
}

impl Acks {
    pub fn has_room(&self) -> bool {
        self.awaiting_pkid.len() + self.subs_awaiting_pkid.len() + self.unsubs_awaiting_pkid.len()
            < REQUEST_CAPACITY / 2
    }

    pub fn publish(&mut self, session: &Session, req: PublishRequest, reply: Reply) {
        match session.publish(&req) {
            Ok(()) => self.published(req, reply),
            Err(e) => {
                let _ = reply.send(PublishOutcome::Failed(e.to_string()));
            }
        }
    }

    pub fn subscribe(&mut self, session: &Session, subs: Vec<Subscription>) {
        match session.subscribe(&subs) {
            Ok(()) => self.subscribed(subs),
            Err(e) => tracing::warn!(error = %e, "subscribe request failed"),
        }
    }

    pub fn unsubscribe(&mut self, session: &Session, filter: String) {
        match session.unsubscribe(&filter) {
            Ok(()) => self.unsubscribed(filter),
            Err(e) => tracing::warn!(error = %e, "unsubscribe request failed"),
        }
    }

    /// A publish was handed to rumqttc: its packet id comes with `OutgoingPublish`, in order.
    fn published(&mut self, req: PublishRequest, reply: Reply) {
        self.awaiting_pkid.push_back((req, reply));
    }

    fn subscribed(&mut self, subs: Vec<Subscription>) {
        self.subs_awaiting_pkid.push_back(subs);
    }

    fn unsubscribed(&mut self, filter: String) {
        self.unsubs_awaiting_pkid.push_back(filter);
    }

    /// Handles an ack-related event; returns the results when a SUBACK or UNSUBACK completes.
    pub fn on_event(&mut self, event: SessionEvent) -> Option<AckResult> {
        match event {
            SessionEvent::OutgoingPublish { pkid } => {
                if let Some((req, reply)) = self.awaiting_pkid.pop_front() {
                    if req.qos == 0 || pkid == 0 {
                        let _ = reply.send(PublishOutcome::Sent);
                    } else {
                        self.awaiting_ack.insert(pkid, (req, reply, 0));
                    }
                }
            }
            SessionEvent::PubAck { pkid, reason } => {
                if let Some((_, reply, _)) = self.awaiting_ack.remove(&pkid) {
                    let _ = reply.send(PublishOutcome::Acked { reason });
                }
            }
            SessionEvent::PubRec { pkid, reason } => {
                if reason >= 0x80 {
                    if let Some((_, reply, _)) = self.awaiting_ack.remove(&pkid) {
                        let _ = reply.send(PublishOutcome::Acked { reason });
                    }
                } else if let Some(entry) = self.awaiting_ack.get_mut(&pkid) {
                    entry.2 = reason;
                }
            }
            SessionEvent::PubComp { pkid } => {
                if let Some((_, reply, reason)) = self.awaiting_ack.remove(&pkid) {
                    let _ = reply.send(PublishOutcome::Acked { reason });
                }
            }
            SessionEvent::OutgoingSubscribe { pkid } => {
                if let Some(subs) = self.subs_awaiting_pkid.pop_front() {
                    self.subs_awaiting_ack.insert(pkid, subs);
                }
            }
            SessionEvent::SubAck { pkid, codes } => {
                let subs = self.subs_awaiting_ack.remove(&pkid)?;
                return Some(AckResult::Subscribed(
                    subs.into_iter()
                        .zip(codes.into_iter().chain(std::iter::repeat(0x80)))
                        .map(|(s, code)| SubscribeResult {
                            filter: s.filter,
                            code,
                        })
                        .collect(),
                ));
            }
            SessionEvent::OutgoingUnsubscribe { pkid } => {
                if let Some(filter) = self.unsubs_awaiting_pkid.pop_front() {
                    self.unsubs_awaiting_ack.insert(pkid, filter);
                }
            }
            SessionEvent::UnsubAck { pkid, code } => {
                let filter = self.unsubs_awaiting_ack.remove(&pkid)?;
                return Some(AckResult::Unsubscribed(SubscribeResult { filter, code }));
            }
            _ => {}
        }
        None
    }

    /// After a drop: publishes not yet on the wire go back to the queue; unacked ones fail
    /// (rumqttc drops them on a clean-session reconnect, so we cannot promise them).
    pub fn requeue_or_fail(&mut self, queue: &mut VecDeque<(PublishRequest, Reply)>) {
        for item in self.awaiting_pkid.drain(..).rev() {
            queue.push_front(item);
        }
        self.fail_all("the connection dropped before acknowledgement");
    }

    pub fn fail_all(&mut self, why: &str) {
        for (_, (_, reply, _)) in self.awaiting_ack.drain() {
            let _ = reply.send(PublishOutcome::Failed(why.to_string()));
        }
        for (_, reply) in self.awaiting_pkid.drain(..) {
            let _ = reply.send(PublishOutcome::Failed(why.to_string()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SessionEvent as E;

    fn request(qos: u8) -> PublishRequest {
        PublishRequest {
            topic: "温度/x".into(),
            payload: bytes::Bytes::from_static(b"1"),
            qos,
            retain: false,
            properties: None,
        }
    }

    #[test]
    fn publishes_end_with_the_right_outcome() {
        // Long by design: a table.
        use PublishOutcome::{Acked, Sent};
        // (what, QoS, events after the request, outcome)
        let table: Vec<(&str, u8, Vec<SessionEvent>, Option<PublishOutcome>)> = vec![
            (
                "QoS 0 is done once written",
                0,
                vec![E::OutgoingPublish { pkid: 0 }],
                Some(Sent),
            ),
            (
                "QoS 1 waits for its PUBACK",
                1,
                vec![
                    E::OutgoingPublish { pkid: 7 },
                    E::PubAck {
                        pkid: 7,
                        reason: 0x10,
                    },
                ],
                Some(Acked { reason: 0x10 }),
            ),
            (
                "a PUBACK for another id is not ours",
                1,
                vec![
                    E::OutgoingPublish { pkid: 7 },
                    E::PubAck { pkid: 8, reason: 0 },
                ],
                None,
            ),
            (
                "QoS 2 ends at PUBCOMP with PUBREC's reason",
                2,
                vec![
                    E::OutgoingPublish { pkid: 9 },
                    E::PubRec {
                        pkid: 9,
                        reason: 0x10,
                    },
                    E::PubComp { pkid: 9 },
                ],
                Some(Acked { reason: 0x10 }),
            ),
            (
                "a refusing PUBREC ends it at once",
                2,
                vec![
                    E::OutgoingPublish { pkid: 9 },
                    E::PubRec {
                        pkid: 9,
                        reason: 0x87,
                    },
                ],
                Some(Acked { reason: 0x87 }),
            ),
            (
                "duplicate and unsolicited acks change nothing",
                1,
                vec![
                    E::PubAck { pkid: 3, reason: 0 },
                    E::OutgoingPublish { pkid: 4 },
                    E::PubComp { pkid: 4 },
                    E::PubAck { pkid: 4, reason: 0 },
                    E::PubAck {
                        pkid: 4,
                        reason: 0x80,
                    },
                ],
                Some(Acked { reason: 0 }),
            ),
        ];
        for (name, qos, events, want) in table {
            let mut acks = Acks::default();
            let (reply, mut outcome) = oneshot::channel();
            acks.published(request(qos), reply);
            for event in events {
                assert_eq!(acks.on_event(event), None, "{name}");
            }
            assert_eq!(outcome.try_recv().ok(), want, "{name}");
        }
    }

    #[test]
    fn subacks_and_unsubacks_name_their_filters() {
        let mut acks = Acks::default();
        acks.subscribed(vec![
            Subscription::new("été/#", 1),
            Subscription::new("a/+", 2),
        ]);
        acks.unsubscribed("old/#".into());
        assert_eq!(
            acks.on_event(E::SubAck {
                pkid: 1,
                codes: vec![1]
            }),
            None,
            "not sent yet"
        );
        acks.on_event(E::OutgoingSubscribe { pkid: 1 });
        acks.on_event(E::OutgoingUnsubscribe { pkid: 2 });
        assert_eq!(
            acks.on_event(E::UnsubAck {
                pkid: 2,
                code: 0x11
            }),
            Some(AckResult::Unsubscribed(SubscribeResult {
                filter: "old/#".into(),
                code: 0x11
            }))
        );
        // One code short: the filter without a code counts as refused.
        assert_eq!(
            acks.on_event(E::SubAck {
                pkid: 1,
                codes: vec![1]
            }),
            Some(AckResult::Subscribed(vec![
                SubscribeResult {
                    filter: "été/#".into(),
                    code: 1
                },
                SubscribeResult {
                    filter: "a/+".into(),
                    code: 0x80
                },
            ]))
        );
        assert_eq!(
            acks.on_event(E::SubAck {
                pkid: 1,
                codes: vec![1]
            }),
            None,
            "only once"
        );
    }

    #[test]
    fn a_drop_requeues_what_never_left_and_fails_what_waited_for_an_ack() {
        let mut acks = Acks::default();
        let (sent, mut sent_rx) = oneshot::channel();
        let (first, _first_rx) = oneshot::channel();
        let (second, _second_rx) = oneshot::channel();
        acks.published(request(1), sent);
        acks.on_event(E::OutgoingPublish { pkid: 5 });
        let mut first_req = request(1);
        first_req.topic = "first".into();
        acks.published(first_req, first);
        acks.published(request(0), second);
        let mut queue = VecDeque::new();
        acks.requeue_or_fail(&mut queue);
        assert!(matches!(sent_rx.try_recv(), Ok(PublishOutcome::Failed(_))));
        let topics: Vec<&str> = queue.iter().map(|(r, _)| r.topic.as_str()).collect();
        assert_eq!(
            topics,
            ["first", "温度/x"],
            "in their order, ahead of the queue"
        );
        assert!(acks.has_room());
    }
}
