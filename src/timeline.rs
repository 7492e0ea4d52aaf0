//! The connection timeline: one record per connection attempt, built from lifecycle events,
//! plus the link's health (keep-alive round trips, ack latency, in-flight) from packet records.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant, SystemTime};

use crate::broker::{
    Cause, ConnackInfo, Direction, Lifecycle, LifecycleKind, PacketRecord, PacketType, Protocol,
    Stage, SubscribeResult,
};

/// Attempts kept.
const MAX_ATTEMPTS: usize = 500;
/// Up/down changes kept for the strip chart.
const MAX_CHANGES: usize = 2_000;

/// One stage of one attempt.
#[derive(Debug, Clone)]
pub struct StageRecord {
    pub stage: Stage,
    pub elapsed: Duration,
    pub result: Result<String, Cause>,
}

/// Everything known about one connection attempt.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub number: u32,
    pub started: SystemTime,
    pub target: String,
    pub protocol: Protocol,
    pub stages: Vec<StageRecord>,
    pub connack: Option<ConnackInfo>,
    pub connected_at: Option<SystemTime>,
    pub subscribed: Vec<SubscribeResult>,
    /// How the attempt or its link ended.
    pub ended: Option<End>,
    /// The wait before the next attempt: when it ends and how long it is.
    pub backoff: Option<(SystemTime, Duration)>,
}

impl Attempt {
    /// The lifecycle events that make this attempt as it stands now (its start, its stages,
    /// its CONNACK and subscriptions): what a recording begun mid-session starts with, so that
    /// it opens on the link as it was.
    pub fn lifecycle(&self) -> Vec<Lifecycle> {
        let at = |at: SystemTime, kind| Lifecycle {
            at,
            mono: Instant::now(),
            attempt: self.number,
            kind,
        };
        let mut out = vec![at(
            self.started,
            LifecycleKind::Connecting {
                target: self.target.clone(),
                protocol: self.protocol,
            },
        )];
        for s in &self.stages {
            out.push(at(
                self.started,
                LifecycleKind::Stage {
                    stage: s.stage,
                    elapsed: s.elapsed,
                    result: s.result.clone(),
                },
            ));
        }
        if let (Some(info), Some(up)) = (&self.connack, self.connected_at) {
            out.push(at(up, LifecycleKind::Connected(info.clone())));
            if !self.subscribed.is_empty() {
                out.push(at(up, LifecycleKind::Subscribed(self.subscribed.clone())));
            }
        }
        out
    }
}

/// How an attempt ended.
#[derive(Debug, Clone)]
pub enum End {
    /// A stage failed before CONNACK.
    Failed(Cause),
    /// The established link dropped after `uptime`.
    Dropped { cause: Cause, uptime: Duration },
    /// MQTT 5 was refused; the next attempt speaks 3.1.1.
    Fallback(Cause),
    /// No more automatic attempts.
    GaveUp { cause: Cause, permanent: bool },
    /// The user disconnected.
    Idle,
}

impl End {
    pub fn cause(&self) -> Option<&Cause> {
        match self {
            End::Failed(c) | End::Fallback(c) => Some(c),
            End::Dropped { cause, .. } | End::GaveUp { cause, .. } => Some(cause),
            End::Idle => None,
        }
    }
}

impl Attempt {
    /// Whether this attempt is connected now.
    pub fn is_up(&self) -> bool {
        self.connected_at.is_some() && self.ended.is_none()
    }
}

/// Keep-alive and acknowledgement health of the current link.
#[derive(Debug, Clone, Default)]
pub struct Health {
    pub ping_last: Option<Duration>,
    ping_sum: Duration,
    ping_count: u32,
    pub ack_last: Option<Duration>,
    ack_sum: Duration,
    ack_count: u32,
    ping_sent: Option<Instant>,
    /// Outgoing QoS 1/2 publishes and subscriptions waiting for their ack, by packet id.
    pending: HashMap<(PacketType, u16), Instant>,
}

impl Health {
    pub fn ping_avg(&self) -> Option<Duration> {
        (self.ping_count > 0).then(|| self.ping_sum / self.ping_count)
    }

    pub fn ack_avg(&self) -> Option<Duration> {
        (self.ack_count > 0).then(|| self.ack_sum / self.ack_count)
    }

    /// Requests sent and not acknowledged yet.
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }

    /// Learns from one packet record.
    pub fn observe(&mut self, p: &PacketRecord) {
        match (p.direction, p.packet_type) {
            (Direction::Out, PacketType::Pingreq) => self.ping_sent = Some(p.mono),
            (Direction::In, PacketType::Pingresp) => {
                if let Some(sent) = self.ping_sent.take() {
                    let rtt = p.mono.saturating_duration_since(sent);
                    self.ping_last = Some(rtt);
                    self.ping_sum += rtt;
                    self.ping_count += 1;
                }
            }
            (Direction::Out, PacketType::Publish) if p.qos > 0 => {
                if let Some(id) = p.pkid {
                    self.pending.insert((PacketType::Publish, id), p.mono);
                }
            }
            (Direction::Out, PacketType::Subscribe) => {
                if let Some(id) = p.pkid {
                    self.pending.insert((PacketType::Subscribe, id), p.mono);
                }
            }
            // PUBACK, PUBREC (first ack of QoS 2), SUBACK.
            (Direction::In, PacketType::Puback | PacketType::Pubrec | PacketType::Suback) => {
                let kind = if p.packet_type == PacketType::Suback {
                    PacketType::Subscribe
                } else {
                    PacketType::Publish
                };
                if let Some(sent) = p.pkid.and_then(|id| self.pending.remove(&(kind, id))) {
                    let latency = p.mono.saturating_duration_since(sent);
                    self.ack_last = Some(latency);
                    self.ack_sum += latency;
                    self.ack_count += 1;
                }
            }
            (_, PacketType::Connect) => {
                // A new connection: nothing from the old one is pending any more.
                self.pending.clear();
                self.ping_sent = None;
            }
            _ => {}
        }
    }
}

/// The record of every attempt, newest last.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    pub attempts: VecDeque<Attempt>,
    /// When the link went up (`true`) or down (`false`), for the strip chart.
    pub changes: VecDeque<(SystemTime, bool)>,
    pub health: Health,
    /// Bumped on every change, for views.
    pub generation: u64,
}

impl Timeline {
    pub fn current(&self) -> Option<&Attempt> {
        self.attempts.back()
    }

    /// Whether the link is up now.
    pub fn is_up(&self) -> bool {
        self.current().is_some_and(Attempt::is_up)
    }

    /// Applies one lifecycle event.
    pub fn apply(&mut self, l: &Lifecycle) {
        // Long by design: one arm per lifecycle event.
        self.generation += 1;
        if let LifecycleKind::Connecting { target, protocol } = &l.kind {
            self.attempts.push_back(Attempt {
                number: l.attempt,
                started: l.at,
                target: target.clone(),
                protocol: *protocol,
                stages: Vec::new(),
                connack: None,
                connected_at: None,
                subscribed: Vec::new(),
                ended: None,
                backoff: None,
            });
            while self.attempts.len() > MAX_ATTEMPTS {
                self.attempts.pop_front();
            }
            return;
        }
        let Some(attempt) = self.attempts.back_mut() else {
            return;
        };
        match &l.kind {
            LifecycleKind::Connecting { .. } => {}
            LifecycleKind::Stage {
                stage,
                elapsed,
                result,
            } => {
                attempt.stages.push(StageRecord {
                    stage: *stage,
                    elapsed: *elapsed,
                    result: result.clone(),
                });
                if let Err(cause) = result {
                    attempt.ended = Some(End::Failed(cause.clone()));
                }
            }
            LifecycleKind::ConnectSent { .. } => {}
            LifecycleKind::Connected(info) => {
                attempt.connack = Some(info.clone());
                attempt.connected_at = Some(l.at);
                self.changes.push_back((l.at, true));
            }
            LifecycleKind::Subscribed(results) => {
                attempt
                    .subscribed
                    .retain(|s| !results.iter().any(|r| r.filter == s.filter));
                attempt.subscribed.extend(results.iter().cloned());
            }
            LifecycleKind::Unsubscribed(result) => {
                if result.code < 0x80 {
                    attempt.subscribed.retain(|s| s.filter != result.filter);
                }
            }
            LifecycleKind::Disconnected { cause, uptime } => {
                attempt.ended = Some(End::Dropped {
                    cause: cause.clone(),
                    uptime: *uptime,
                });
                self.changes.push_back((l.at, false));
            }
            LifecycleKind::Backoff { delay } => attempt.backoff = Some((l.at + *delay, *delay)),
            LifecycleKind::FallbackToV311 { cause } => {
                attempt.ended = Some(End::Fallback(cause.clone()));
            }
            LifecycleKind::GaveUp { cause, permanent } => {
                attempt.ended = Some(End::GaveUp {
                    cause: cause.clone(),
                    permanent: *permanent,
                });
            }
            LifecycleKind::Idle => {
                if attempt.is_up() {
                    self.changes.push_back((l.at, false));
                }
                attempt.ended = Some(End::Idle);
            }
        }
        while self.changes.len() > MAX_CHANGES {
            self.changes.pop_front();
        }
    }

    /// Whether the link was up at `t`, from the recorded changes.
    pub fn up_at(&self, t: SystemTime) -> bool {
        self.changes
            .iter()
            .rev()
            .find(|(at, _)| *at <= t)
            .is_some_and(|(_, up)| *up)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::CauseKind;

    fn ev(attempt: u32, ms: u64, kind: LifecycleKind) -> Lifecycle {
        Lifecycle {
            at: SystemTime::UNIX_EPOCH + Duration::from_millis(ms),
            mono: Instant::now(),
            attempt,
            kind,
        }
    }

    #[test]
    fn attempts_collect_stages_outcomes_and_backoff() {
        let mut t = Timeline::default();
        let refused = Cause::new(CauseKind::TcpRefused, "x");
        for e in [
            ev(
                1,
                0,
                LifecycleKind::Connecting {
                    target: "mqtt://h".into(),
                    protocol: Protocol::V5,
                },
            ),
            ev(
                1,
                1,
                LifecycleKind::Stage {
                    stage: Stage::Dns,
                    elapsed: Duration::from_millis(1),
                    result: Ok("127.0.0.1".into()),
                },
            ),
            ev(
                1,
                2,
                LifecycleKind::Stage {
                    stage: Stage::Tcp,
                    elapsed: Duration::from_millis(1),
                    result: Err(refused.clone()),
                },
            ),
            ev(
                1,
                2,
                LifecycleKind::Backoff {
                    delay: Duration::from_millis(250),
                },
            ),
            ev(
                2,
                300,
                LifecycleKind::Connecting {
                    target: "mqtt://h".into(),
                    protocol: Protocol::V5,
                },
            ),
            ev(2, 301, LifecycleKind::Connected(ConnackInfo::default())),
            ev(
                2,
                5301,
                LifecycleKind::Disconnected {
                    cause: Cause::new(CauseKind::PeerClosed, ""),
                    uptime: Duration::from_secs(5),
                },
            ),
        ] {
            t.apply(&e);
        }
        assert_eq!(t.attempts.len(), 2);
        let first = &t.attempts[0];
        assert_eq!(first.stages.len(), 2);
        assert!(matches!(&first.ended, Some(End::Failed(c)) if c.kind == CauseKind::TcpRefused));
        assert_eq!(first.backoff.map(|b| b.1), Some(Duration::from_millis(250)));
        assert!(
            matches!(&t.attempts[1].ended, Some(End::Dropped { uptime, .. }) if uptime.as_secs() == 5)
        );
        assert!(t.up_at(SystemTime::UNIX_EPOCH + Duration::from_secs(1)));
        assert!(!t.up_at(SystemTime::UNIX_EPOCH + Duration::from_secs(6)));
        assert!(!t.is_up());
    }

    fn rec(
        direction: Direction,
        packet_type: u8,
        pkid: Option<u16>,
        qos: u8,
        mono: Instant,
    ) -> PacketRecord {
        PacketRecord {
            mono,
            at: SystemTime::UNIX_EPOCH,
            pkid,
            qos,
            ..PacketRecord::new(direction, PacketType::from_number(packet_type), 2)
        }
    }

    #[test]
    fn health_measures_ping_round_trips_and_ack_latency() {
        let mut h = Health::default();
        let t0 = Instant::now();
        h.observe(&rec(Direction::Out, 12, None, 0, t0));
        h.observe(&rec(
            Direction::In,
            13,
            None,
            0,
            t0 + Duration::from_millis(4),
        ));
        h.observe(&rec(
            Direction::Out,
            12,
            None,
            0,
            t0 + Duration::from_secs(30),
        ));
        h.observe(&rec(
            Direction::In,
            13,
            None,
            0,
            t0 + Duration::from_millis(30_002),
        ));
        assert_eq!(h.ping_last, Some(Duration::from_millis(2)));
        assert_eq!(h.ping_avg(), Some(Duration::from_millis(3)));
        h.observe(&rec(Direction::Out, 3, Some(7), 1, t0));
        assert_eq!(h.in_flight(), 1);
        h.observe(&rec(
            Direction::In,
            4,
            Some(7),
            0,
            t0 + Duration::from_millis(9),
        ));
        assert_eq!(
            (h.in_flight(), h.ack_last),
            (0, Some(Duration::from_millis(9)))
        );
    }
}
