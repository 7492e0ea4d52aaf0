//! The one way events leave the connection layer, in order. Lifecycle events are never lost:
//! while the consumer's channel is full they wait in an overflow queue, and everything after
//! them waits too. Messages and packet records are lossy: when the consumer is behind (the
//! channel full, or lifecycle events still waiting) they are dropped and counted, never
//! awaited, because waiting inside the poll loop stalls PINGRESP under a flood.
//!
//! The supervisor (lifecycle, messages) and the pump (packet records) share one emitter, so
//! a record never overtakes a lifecycle event that is still waiting.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Instant, SystemTime};

use tokio::sync::mpsc;

use super::event::{BrokerEvent, Lifecycle, LifecycleKind, Message, PacketRecord};
use super::pump::Stats;

#[derive(Clone)]
pub struct Emitter {
    tx: mpsc::Sender<BrokerEvent>,
    queue: Arc<Mutex<Queue>>,
    /// Whether `queue.overflow` holds anything: the lossy paths read this without locking.
    overflowing: Arc<AtomicBool>,
    stats: Arc<Stats>,
    /// Bytes of messages in the channel (the receiver gives them back): see `events`.
    queued: Arc<std::sync::atomic::AtomicUsize>,
}

#[derive(Default)]
struct Queue {
    overflow: VecDeque<BrokerEvent>,
    /// The drop totals last reported in a `Dropped` event.
    reported: (u64, u64),
    /// Something was emitted since the last housekeeping.
    active: bool,
}

impl Emitter {
    pub fn new(
        tx: mpsc::Sender<BrokerEvent>,
        stats: Arc<Stats>,
        queued: Arc<std::sync::atomic::AtomicUsize>,
    ) -> Self {
        Self {
            tx,
            queue: Arc::default(),
            overflowing: Arc::default(),
            stats,
            queued,
        }
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        // A panic elsewhere while holding the lock leaves a queue that is still consistent.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn lifecycle(&self, attempt: u32, kind: LifecycleKind) {
        tracing::debug!(attempt, ?kind, "lifecycle");
        self.push(BrokerEvent::Lifecycle(Lifecycle {
            at: SystemTime::now(),
            mono: Instant::now(),
            attempt,
            kind,
        }));
    }

    /// Sends an event that must arrive, after everything already waiting.
    pub fn push(&self, event: BrokerEvent) {
        let mut q = self.queue();
        q.active = true;
        self.flush_locked(&mut q);
        if !q.overflow.is_empty() {
            q.overflow.push_back(event);
            return;
        }
        if let Err(mpsc::error::TrySendError::Full(event)) = self.tx.try_send(event) {
            q.overflow.push_back(event);
            self.overflowing.store(true, Ordering::Release);
        }
    }

    pub fn message(&self, message: Message) {
        let event = BrokerEvent::Message(message);
        let weight = super::events::weight(&event);
        // Counted before it is sent: the receiver may take it (and give the bytes back)
        // before `try_send` even returns.
        let before = self.queued.fetch_add(weight, Ordering::AcqRel);
        if before + weight > super::events::MAX_QUEUED_BYTES || !self.lossy(event) {
            self.queued.fetch_sub(weight, Ordering::AcqRel);
            self.stats.dropped_messages.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn packet(&self, record: PacketRecord) {
        if !self.lossy(BrokerEvent::Packet(record)) {
            self.stats.dropped_packets.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Sends unless the consumer is behind; false when the event was dropped.
    fn lossy(&self, event: BrokerEvent) -> bool {
        if self.overflowing.load(Ordering::Acquire) {
            let mut q = self.queue();
            q.active = true;
            self.flush_locked(&mut q);
            if !q.overflow.is_empty() {
                return false;
            }
        }
        self.tx.try_send(event).is_ok()
    }

    /// Moves waiting events into the channel while it has room.
    pub fn flush(&self) {
        let mut q = self.queue();
        self.flush_locked(&mut q);
    }

    fn flush_locked(&self, q: &mut Queue) {
        while let Some(event) = q.overflow.pop_front() {
            match self.tx.try_send(event) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(event)) => {
                    q.overflow.push_front(event);
                    break;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => q.overflow.clear(),
            }
        }
        self.overflowing
            .store(!q.overflow.is_empty(), Ordering::Release);
    }

    /// Emits a `Dropped` event when the totals changed since the last report.
    pub fn report_drops(&self) {
        let now = (
            self.stats.dropped_messages.load(Ordering::Relaxed),
            self.stats.dropped_packets.load(Ordering::Relaxed),
        );
        let changed = {
            let mut q = self.queue();
            std::mem::replace(&mut q.reported, now) != now
        };
        if changed {
            self.push(BrokerEvent::Dropped {
                messages: now.0,
                packets: now.1,
            });
        }
    }

    /// Whether anything was emitted since the last call, or events still wait.
    pub fn take_busy(&self) -> bool {
        let mut q = self.queue();
        std::mem::take(&mut q.active) || !q.overflow.is_empty()
    }

    pub fn consumer_gone(&self) -> bool {
        self.tx.is_closed()
    }

    /// Resolves when the consumer has gone away.
    pub async fn closed(&self) {
        self.tx.closed().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One step of a table test.
    enum Op {
        Lifecycle(u32),
        Message(&'static str),
        Packet,
        /// The consumer reads this many events.
        Read(usize),
        ReportDrops,
    }

    /// What the consumer saw, as short names: `L1`, `M:a`, `P`, `D:m/p`.
    fn run(capacity: usize, ops: &[Op]) -> (Vec<String>, u64, u64) {
        let (tx, mut rx) = mpsc::channel(capacity);
        let stats = Arc::new(Stats::default());
        let e = Emitter::new(tx, stats.clone(), Arc::default());
        let mut seen = Vec::new();
        let read = |rx: &mut mpsc::Receiver<BrokerEvent>, n: usize, seen: &mut Vec<String>| {
            for _ in 0..n {
                let Ok(event) = rx.try_recv() else { return };
                seen.push(match event {
                    BrokerEvent::Lifecycle(l) => format!("L{}", l.attempt),
                    BrokerEvent::Message(m) => format!("M:{}", m.topic),
                    BrokerEvent::Packet(_) => "P".into(),
                    BrokerEvent::Dropped { messages, packets } => {
                        format!("D:{messages}/{packets}")
                    }
                });
            }
        };
        for op in ops {
            match op {
                Op::Lifecycle(n) => e.lifecycle(*n, LifecycleKind::Idle),
                Op::Message(topic) => e.message(message(topic)),
                Op::Packet => e.packet(record()),
                Op::Read(n) => {
                    read(&mut rx, *n, &mut seen);
                    e.flush();
                }
                Op::ReportDrops => e.report_drops(),
            }
        }
        e.flush();
        read(&mut rx, usize::MAX, &mut seen);
        (
            seen,
            stats.dropped_messages.load(Ordering::Relaxed),
            stats.dropped_packets.load(Ordering::Relaxed),
        )
    }

    fn message(topic: &str) -> Message {
        Message {
            topic: topic.into(),
            payload: bytes::Bytes::new(),
            qos: 0,
            retain: false,
            dup: false,
            properties: None,
            received: SystemTime::UNIX_EPOCH,
            wire_size: 4,
        }
    }

    fn record() -> PacketRecord {
        PacketRecord::new(
            super::super::Direction::In,
            super::super::PacketType::Pingresp,
            2,
        )
    }

    #[test]
    fn lifecycle_events_wait_and_lossy_events_are_counted() {
        use Op::{Lifecycle as L, Message as M, Packet as P, Read as R, ReportDrops as D};
        /// What, channel capacity, steps, what the consumer sees, messages and records dropped.
        type Case = (&'static str, usize, Vec<Op>, Vec<&'static str>, u64, u64);
        let table: Vec<Case> = vec![
            (
                "room: everything in order",
                8,
                vec![L(1), M("a"), P, L(2), M("b")],
                vec!["L1", "M:a", "P", "L2", "M:b"],
                0,
                0,
            ),
            (
                "full: lifecycle waits, messages and records drop",
                2,
                vec![L(1), L(2), L(3), M("a"), P, R(1), M("b")],
                vec!["L1", "L2", "L3"],
                2,
                1,
            ),
            (
                "a record never overtakes a waiting lifecycle event",
                1,
                vec![L(1), L(2), R(1), P, R(1), P],
                vec!["L1", "L2", "P"],
                0,
                1,
            ),
            (
                "drops are reported once per change, in order",
                4,
                vec![L(1), M("a"), M("b"), M("c"), M("d"), R(4), D, D, M("e")],
                vec!["L1", "M:a", "M:b", "M:c", "D:1/0", "M:e"],
                1,
                0,
            ),
        ];
        for (name, capacity, ops, want, messages, packets) in table {
            let (seen, m, p) = run(capacity, &ops);
            assert_eq!(seen, want, "{name}");
            assert_eq!((m, p), (messages, packets), "{name}: dropped");
        }
    }

    #[test]
    fn the_channel_is_bounded_in_bytes_too() {
        let (tx, rx) = mpsc::channel(100_000);
        let stats = Arc::new(Stats::default());
        let queued = Arc::default();
        let e = Emitter::new(tx, stats.clone(), Arc::clone(&queued));
        let mut rx = super::super::events::EventReceiver::new(rx, queued);
        let big = |topic: &str| Message {
            payload: bytes::Bytes::from(vec![0u8; 1 << 20]),
            ..message(topic)
        };
        for _ in 0..100 {
            e.message(big("温度/big"));
        }
        let limit = super::super::events::MAX_QUEUED_BYTES;
        assert!(rx.queued_bytes() <= limit, "{}", rx.queued_bytes());
        let dropped = stats.dropped_messages.load(Ordering::Relaxed);
        assert!(dropped >= 37, "{dropped} of 100 dropped at 64 MiB");
        // What the consumer takes is given back: there is room again.
        while rx.try_recv().is_ok() {}
        assert_eq!(rx.queued_bytes(), 0);
        e.message(big("温度/big"));
        assert_eq!(stats.dropped_messages.load(Ordering::Relaxed), dropped);
    }

    #[test]
    fn a_consumer_that_went_away_leaves_nothing_queued() {
        let (tx, rx) = mpsc::channel(1);
        let e = Emitter::new(tx, Arc::new(Stats::default()), Arc::default());
        e.lifecycle(1, LifecycleKind::Idle);
        drop(rx);
        e.lifecycle(2, LifecycleKind::Idle);
        e.flush();
        assert!(e.consumer_gone());
        assert!(e.queue().overflow.is_empty());
        assert!(e.take_busy(), "something was emitted");
        assert!(!e.take_busy(), "and nothing since");
    }
}
