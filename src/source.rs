//! Where the explorer's broker events come from. A live connection is one source; a recording
//! being played is another; the proxy's clients and several brokers at once are more to come.
//! The explorer's loop polls every source it was given through one trait, so a new source is
//! a new implementation, not a new loop.

use std::task::{Context, Poll};
use std::time::{Instant, SystemTime};

use crate::broker::BrokerEvent;
use crate::broker::events::EventReceiver;

/// What a source yields.
#[derive(Debug)]
pub enum SourceEvent {
    Broker(BrokerEvent),
    /// Forget what this source said so far: it starts over (a recording seeking backwards),
    /// and the events that follow rebuild the state.
    Reset,
}

/// Playback commands, for sources that are recordings (live sources ignore them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    PlayPause,
    /// 1×, 10×, as fast as possible, and round again.
    CycleSpeed,
    /// Move the position by this many seconds (negative: back).
    Seek(i64),
    /// Go to this recorded time.
    SeekTo(SystemTime),
}

/// Where a played recording stands, for the status bar.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaybackStatus {
    /// The recorded time the screen shows.
    pub position: SystemTime,
    pub start: SystemTime,
    /// The last recorded time loaded so far.
    pub end: SystemTime,
    pub paused: bool,
    /// `None`: as fast as possible.
    pub speed: Option<f64>,
    /// Catching up after a seek.
    pub seeking: bool,
    /// Still reading the file: the share read (0..=1).
    pub loading: Option<f64>,
    /// Reading stopped early: where and why.
    pub problem: Option<String>,
    /// Events played / loaded.
    pub played: usize,
    pub loaded: usize,
}

/// A source of broker events.
pub trait EventSource: Send {
    /// The next event, as a stream's `poll_next`: `Ready(None)` when the source has ended.
    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<SourceEvent>>;

    /// The next event if one is ready now, without registering for a wake-up.
    fn try_event(&mut self) -> Option<SourceEvent> {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        match self.poll_event(&mut cx) {
            Poll::Ready(event) => event,
            Poll::Pending => None,
        }
    }

    /// The time the source's events are at, when that is not the wall clock (a recording's
    /// playback position).
    fn clock(&self, _now: Instant) -> Option<SystemTime> {
        None
    }

    /// Playback state, for sources that are recordings.
    fn playback(&self, _now: Instant) -> Option<PlaybackStatus> {
        None
    }

    fn control(&mut self, _control: Control, _now: Instant) {}
}

impl EventSource for EventReceiver {
    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<SourceEvent>> {
        self.poll_recv(cx).map(|e| e.map(SourceEvent::Broker))
    }

    fn try_event(&mut self) -> Option<SourceEvent> {
        self.try_recv().ok().map(SourceEvent::Broker)
    }
}

/// A source borrowed for the loop's lifetime (tests keep the connection's handle).
impl<T: EventSource + ?Sized> EventSource for &mut T {
    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<SourceEvent>> {
        (**self).poll_event(cx)
    }

    fn try_event(&mut self) -> Option<SourceEvent> {
        (**self).try_event()
    }

    fn clock(&self, now: Instant) -> Option<SystemTime> {
        (**self).clock(now)
    }

    fn playback(&self, now: Instant) -> Option<PlaybackStatus> {
        (**self).playback(now)
    }

    fn control(&mut self, control: Control, now: Instant) {
        (**self).control(control, now);
    }
}

/// Every source the explorer reads, polled in turn so none starves the others.
#[derive(Default)]
pub struct Sources<'a> {
    sources: Vec<Box<dyn EventSource + 'a>>,
    next: usize,
}

impl<'a> From<&'a mut EventReceiver> for Sources<'a> {
    fn from(events: &'a mut EventReceiver) -> Self {
        Self::new(vec![Box::new(events)])
    }
}

impl<'a> Sources<'a> {
    pub fn new(sources: Vec<Box<dyn EventSource + 'a>>) -> Self {
        Self { sources, next: 0 }
    }

    /// The next event from any source; sources that end are dropped.
    pub fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<SourceEvent>> {
        let mut i = 0;
        while i < self.sources.len() {
            let at = (self.next + i) % self.sources.len();
            match self.sources[at].poll_event(cx) {
                Poll::Ready(Some(event)) => {
                    self.next = (at + 1) % self.sources.len();
                    return Poll::Ready(Some(event));
                }
                Poll::Ready(None) => {
                    self.sources.remove(at);
                    self.next = 0;
                    i = 0;
                }
                Poll::Pending => i += 1,
            }
        }
        if self.sources.is_empty() {
            Poll::Ready(None)
        } else {
            Poll::Pending
        }
    }

    /// The next event if one is ready now (a source that ended is noticed on the next poll).
    pub fn try_event(&mut self) -> Option<SourceEvent> {
        let n = self.sources.len();
        for i in 0..n {
            let at = (self.next + i) % n;
            if let Some(event) = self.sources[at].try_event() {
                self.next = (at + 1) % n;
                return Some(event);
            }
        }
        None
    }

    pub async fn next_event(&mut self) -> Option<SourceEvent> {
        std::future::poll_fn(|cx| self.poll_event(cx)).await
    }

    pub fn clock(&self, now: Instant) -> Option<SystemTime> {
        self.sources.iter().find_map(|s| s.clock(now))
    }

    pub fn playback(&self, now: Instant) -> Option<PlaybackStatus> {
        self.sources.iter().find_map(|s| s.playback(now))
    }

    pub fn control(&mut self, control: Control, now: Instant) {
        for s in &mut self.sources {
            s.control(control, now);
        }
    }
}
