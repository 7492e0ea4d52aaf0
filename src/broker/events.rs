//! The consumer's end of the event channel. The channel is bounded in events and, through
//! this receiver, in bytes: the emitter counts the bytes of each message it queues, the
//! receiver gives them back as they are taken, and messages that would pass
//! [`MAX_QUEUED_BYTES`] are dropped and counted like any the consumer is too slow for. With a
//! 16 MiB packet limit and 65,536 slots, a count alone would let a hostile broker queue a
//! terabyte.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::mpsc;

use super::event::BrokerEvent;

/// Bytes of messages waiting in the channel, at most.
pub const MAX_QUEUED_BYTES: usize = 64 << 20;

/// What an event weighs in the channel: a message's payload, topic and properties.
pub fn weight(event: &BrokerEvent) -> usize {
    match event {
        BrokerEvent::Message(m) => {
            m.payload.len() + m.topic.len() + m.properties.as_ref().map_or(0, |p| p.heap_size())
        }
        _ => 0,
    }
}

pub struct EventReceiver {
    rx: mpsc::Receiver<BrokerEvent>,
    queued: Arc<AtomicUsize>,
}

impl EventReceiver {
    pub(crate) fn new(rx: mpsc::Receiver<BrokerEvent>, queued: Arc<AtomicUsize>) -> Self {
        Self { rx, queued }
    }

    fn taken(&self, event: &BrokerEvent) {
        let w = weight(event);
        if w > 0 {
            self.queued.fetch_sub(w, Ordering::AcqRel);
        }
    }

    pub async fn recv(&mut self) -> Option<BrokerEvent> {
        let event = self.rx.recv().await?;
        self.taken(&event);
        Some(event)
    }

    pub fn poll_recv(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<BrokerEvent>> {
        let polled = self.rx.poll_recv(cx);
        if let std::task::Poll::Ready(Some(event)) = &polled {
            self.taken(event);
        }
        polled
    }

    pub fn try_recv(&mut self) -> Result<BrokerEvent, mpsc::error::TryRecvError> {
        let event = self.rx.try_recv()?;
        self.taken(&event);
        Ok(event)
    }

    /// Bytes of messages waiting now.
    pub fn queued_bytes(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }
}

/// A receiver over a channel of one's own (tests, other sources of events): its bytes are
/// counted only if its sender counts them.
impl From<mpsc::Receiver<BrokerEvent>> for EventReceiver {
    fn from(rx: mpsc::Receiver<BrokerEvent>) -> Self {
        Self::new(rx, Arc::default())
    }
}
