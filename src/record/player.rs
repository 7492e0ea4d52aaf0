//! Playing a recording into the explorer: a source of broker events whose clock is the
//! recorded time. A thread reads the file while the screen is already up (the events so far
//! play at once); the player keeps every event, so seeking back replays from the start as
//! fast as possible (a `Reset`, then the events up to the new position) and seeking forward
//! plays the events in between without waiting.

use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::mpsc;

use super::format::Header;
use super::reader::Reader;
use crate::broker::BrokerEvent;
use crate::source::{Control, EventSource, PlaybackStatus, SourceEvent};

/// How fast to play.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    Times(f64),
    /// As fast as the explorer takes events.
    Max,
}

impl Speed {
    fn factor(self) -> Option<f64> {
        match self {
            Speed::Times(x) => Some(x),
            Speed::Max => None,
        }
    }

    fn next(self) -> Self {
        match self {
            Speed::Times(x) if x < 10.0 => Speed::Times(10.0),
            Speed::Times(_) => Speed::Max,
            Speed::Max => Speed::Times(1.0),
        }
    }
}

/// Events the loader thread sends in one go.
const BATCH: usize = 4096;

enum Loaded {
    Events(Vec<BrokerEvent>),
    Done { problem: Option<String> },
}

/// When an event happened, as recorded.
pub fn event_time(event: &BrokerEvent) -> Option<SystemTime> {
    match event {
        BrokerEvent::Message(m) => Some(m.received),
        BrokerEvent::Lifecycle(l) => Some(l.at),
        BrokerEvent::Packet(p) => Some(p.at),
        BrokerEvent::Dropped { .. } => None,
    }
}

/// Where and how a recording is being played.
pub struct Player {
    events: Vec<BrokerEvent>,
    /// Recorded time of each event (the previous one's for events without a time).
    times: Vec<SystemTime>,
    loader: Option<mpsc::Receiver<Loaded>>,
    read: Arc<AtomicU64>,
    total_bytes: u64,
    problem: Option<String>,
    pub header: Option<Header>,
    pub warnings: Vec<String>,
    next: usize,
    /// The position at `anchor` (the time playing resumed, or the last change).
    position: SystemTime,
    anchor: Instant,
    speed: Speed,
    paused: bool,
    /// Seeking: play every event up to this time at once.
    target: Option<SystemTime>,
    reset: bool,
    /// The wait for the next event's time (made on first use: it needs Tokio's timer).
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    waker: Option<Waker>,
}

/// The playback a recording opens with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Playback {
    pub speed: Speed,
    pub paused: bool,
}

impl Player {
    /// Opens a recording: reads its first events here (so a file that is not a recording is
    /// refused before any screen appears), the rest on a thread. Must run inside Tokio.
    pub fn open(path: &Path, playback: Playback) -> anyhow::Result<Self> {
        let mut reader = Reader::open(path)
            .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
        let first = reader.next_events();
        if first.is_none() {
            let why = reader.problem.as_ref().map_or_else(
                || format!("{}: no messages or connection events in it", path.display()),
                ToString::to_string,
            );
            return Err(anyhow::anyhow!("nothing to open: {why}"));
        }
        let (tx, rx) = mpsc::channel(16);
        let read = reader.progress();
        let total_bytes = reader.total_bytes.max(1);
        let header = reader.header.clone();
        let warnings = reader.warnings.clone();
        std::thread::Builder::new()
            .name("mqscope-open".into())
            .spawn(move || load(reader, &tx))?;
        let mut player = Self::empty(playback, Some(rx), read, total_bytes);
        player.header = header;
        player.warnings = warnings;
        player.push(first.unwrap_or_default());
        Ok(player)
    }

    /// A player over events already in memory (tests, benchmarks).
    pub fn from_events(events: Vec<BrokerEvent>, playback: Playback) -> Self {
        let mut player = Self::empty(playback, None, Arc::default(), 1);
        player.push(events);
        player
    }

    fn empty(
        playback: Playback,
        loader: Option<mpsc::Receiver<Loaded>>,
        read: Arc<AtomicU64>,
        total_bytes: u64,
    ) -> Self {
        Self {
            events: Vec::new(),
            times: Vec::new(),
            loader,
            read,
            total_bytes,
            problem: None,
            header: None,
            warnings: Vec::new(),
            next: 0,
            position: SystemTime::UNIX_EPOCH,
            anchor: Instant::now(),
            speed: playback.speed,
            paused: playback.paused,
            target: None,
            reset: false,
            sleep: None,
            waker: None,
        }
    }

    fn push(&mut self, events: Vec<BrokerEvent>) {
        for e in events {
            let t = event_time(&e)
                .or_else(|| self.times.last().copied())
                .unwrap_or(SystemTime::UNIX_EPOCH);
            if self.times.is_empty() {
                self.position = t;
            }
            self.times.push(t);
            self.events.push(e);
        }
    }

    fn start(&self) -> SystemTime {
        self.times
            .first()
            .copied()
            .unwrap_or(SystemTime::UNIX_EPOCH)
    }

    fn end(&self) -> SystemTime {
        self.times.last().copied().unwrap_or(SystemTime::UNIX_EPOCH)
    }

    /// The recorded time the screen is at.
    pub fn position(&self, now: Instant) -> SystemTime {
        if let Some(t) = self.target {
            return t;
        }
        match (self.paused, self.speed.factor()) {
            (false, Some(x)) => {
                let at = self.position + now.saturating_duration_since(self.anchor).mul_f64(x);
                // Never past what has been read: at the end, the clock stops.
                at.min(self.end()).max(self.position)
            }
            _ => self.position,
        }
    }

    /// Settles the clock at `now` (before a change of speed or pause).
    fn settle(&mut self, now: Instant) {
        self.position = self.position(now);
        self.anchor = now;
    }

    fn take_loaded(&mut self, cx: &mut Context<'_>) {
        while let Some(rx) = &mut self.loader {
            match rx.poll_recv(cx) {
                Poll::Ready(Some(Loaded::Events(events))) => self.push(events),
                Poll::Ready(Some(Loaded::Done { problem })) => {
                    self.problem = problem;
                    self.loader = None;
                }
                Poll::Ready(None) => self.loader = None,
                Poll::Pending => break,
            }
        }
    }

    fn deliver(&mut self) -> Poll<Option<SourceEvent>> {
        let event = self.events[self.next].clone();
        let t = self.times[self.next];
        self.next += 1;
        if self.target.is_none() && matches!(self.speed, Speed::Max) {
            self.position = t;
            self.anchor = Instant::now();
        }
        Poll::Ready(Some(SourceEvent::Broker(event)))
    }

    fn pending(&mut self, cx: &Context<'_>) -> Poll<Option<SourceEvent>> {
        // A look without waiting (`try_event`) must not replace the loop's waker.
        if !cx.waker().will_wake(Waker::noop()) {
            self.waker = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

impl EventSource for Player {
    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<SourceEvent>> {
        self.take_loaded(cx);
        if std::mem::take(&mut self.reset) {
            return Poll::Ready(Some(SourceEvent::Reset));
        }
        let now = Instant::now();
        if let Some(target) = self.target {
            if self.times.get(self.next).is_some_and(|t| *t <= target) {
                return self.deliver();
            }
            if self.next < self.events.len() || self.loader.is_none() {
                // Arrived (or at the end of the file): play on from here.
                self.target = None;
                self.position = target.min(self.end()).max(self.start());
                self.anchor = now;
            } else {
                return self.pending(cx);
            }
        }
        let Some(due) = self.times.get(self.next).copied() else {
            return self.pending(cx);
        };
        if self.paused {
            return self.pending(cx);
        }
        let Some(factor) = self.speed.factor() else {
            return self.deliver();
        };
        if self.position(now) >= due {
            return self.deliver();
        }
        let wait = due
            .duration_since(self.position)
            .unwrap_or_default()
            .div_f64(factor);
        let deadline = tokio::time::Instant::from_std(self.anchor + wait);
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if sleep.deadline() != deadline {
            sleep.as_mut().reset(deadline);
        }
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => self.deliver(),
            Poll::Pending => self.pending(cx),
        }
    }

    fn clock(&self, now: Instant) -> Option<SystemTime> {
        if self.target.is_some() {
            // Catching up: the clock is where the events are, not where they are going, or
            // the anomaly watch would take topics not replayed yet for silent ones.
            return Some(
                self.next
                    .checked_sub(1)
                    .map_or(self.start(), |i| self.times[i]),
            );
        }
        Some(self.position(now))
    }

    fn playback(&self, now: Instant) -> Option<PlaybackStatus> {
        #[expect(clippy::cast_precision_loss, reason = "a progress bar")]
        let loading = self
            .loader
            .as_ref()
            .map(|_| (self.read.load(Ordering::Relaxed) as f64 / self.total_bytes as f64).min(1.0));
        Some(PlaybackStatus {
            position: self.position(now),
            start: self.start(),
            end: self.end(),
            paused: self.paused,
            speed: self.speed.factor(),
            seeking: self.target.is_some(),
            loading,
            problem: self.problem.clone(),
            played: self.next,
            loaded: self.events.len(),
        })
    }

    fn control(&mut self, control: Control, now: Instant) {
        match control {
            Control::PlayPause => {
                self.settle(now);
                self.paused = !self.paused;
            }
            Control::CycleSpeed => {
                self.settle(now);
                self.speed = self.speed.next();
            }
            Control::Seek(secs) => {
                let at = self.position(now);
                let step = Duration::from_secs(secs.unsigned_abs());
                let to = if secs >= 0 {
                    at + step
                } else {
                    at.checked_sub(step).unwrap_or(SystemTime::UNIX_EPOCH)
                };
                self.seek(to, now);
            }
            Control::SeekTo(to) => self.seek(to, now),
        }
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }
}

impl Player {
    fn seek(&mut self, to: SystemTime, now: Instant) {
        let to = to.max(self.start());
        let to = if self.loader.is_none() {
            to.min(self.end())
        } else {
            to
        };
        let at = self.position(now);
        if to < at {
            // Back: start over and play up to `to` at once.
            self.reset = true;
            self.next = 0;
        }
        self.position = to;
        self.anchor = now;
        self.target = Some(to);
    }
}

fn load(mut reader: Reader, tx: &mpsc::Sender<Loaded>) {
    let mut batch = Vec::with_capacity(BATCH);
    while let Some(events) = reader.next_events() {
        batch.extend(events);
        if batch.len() >= BATCH {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            if tx.blocking_send(Loaded::Events(full)).is_err() {
                return;
            }
        }
    }
    if !batch.is_empty() {
        let _ = tx.blocking_send(Loaded::Events(batch));
    }
    let problem = reader.problem.as_ref().map(ToString::to_string);
    let _ = tx.blocking_send(Loaded::Done { problem });
}

#[cfg(test)]
#[path = "player_tests.rs"]
mod tests;
