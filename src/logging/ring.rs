//! A bounded queue of formatted log lines for the log pane. The tracing layer pushes; the TUI
//! drains. When the pane falls behind, the oldest lines go and are counted.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;

/// One log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub at: SystemTime,
    pub level: Level,
    pub target: String,
    pub message: String,
}

#[derive(Debug, Default)]
struct Queue {
    lines: VecDeque<LogLine>,
    dropped: u64,
}

/// The shared queue and the level it captures. Cheap to clone.
#[derive(Debug, Clone)]
pub struct LogRing {
    queue: Arc<Mutex<Queue>>,
    capacity: usize,
    /// 1 error … 5 trace.
    level: Arc<AtomicU8>,
}

/// The levels the pane cycles through, quietest first.
pub const LEVELS: [Level; 5] = [
    Level::ERROR,
    Level::WARN,
    Level::INFO,
    Level::DEBUG,
    Level::TRACE,
];

fn rank(level: Level) -> u8 {
    match level {
        Level::ERROR => 1,
        Level::WARN => 2,
        Level::INFO => 3,
        Level::DEBUG => 4,
        Level::TRACE => 5,
    }
}

impl LogRing {
    pub fn new(capacity: usize, level: Level) -> Self {
        Self {
            queue: Arc::new(Mutex::new(Queue::default())),
            capacity,
            level: Arc::new(AtomicU8::new(rank(level))),
        }
    }

    /// The most detailed level captured.
    pub fn level(&self) -> Level {
        LEVELS[usize::from(self.level.load(Ordering::Relaxed).clamp(1, 5) - 1)]
    }

    pub fn set_level(&self, level: Level) {
        self.level.store(rank(level), Ordering::Relaxed);
    }

    fn wants(&self, level: Level) -> bool {
        rank(level) <= self.level.load(Ordering::Relaxed)
    }

    pub fn push(&self, line: LogLine) {
        let mut q = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        if q.lines.len() >= self.capacity {
            q.lines.pop_front();
            q.dropped += 1;
        }
        q.lines.push_back(line);
    }

    /// Takes the queued lines and the count dropped since the last call.
    pub fn drain(&self) -> (Vec<LogLine>, u64) {
        let mut q = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        let dropped = std::mem::take(&mut q.dropped);
        (q.lines.drain(..).collect(), dropped)
    }

    /// The tracing layer that feeds this ring, with its live level filter.
    pub fn layer<S>(&self) -> tracing_subscriber::filter::Filtered<RingLayer, RingFilter, S>
    where
        S: Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    {
        RingLayer(self.clone()).with_filter(RingFilter(self.clone()))
    }
}

/// Formats events into the ring.
pub struct RingLayer(LogRing);

/// Collects the message and fields; records bridged from the `log` crate carry their real
/// target in a `log.target` field, and their file and line in others that are left out.
struct Message<'a> {
    text: &'a mut String,
    target: Option<String>,
}

impl Visit for Message<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "message" => self.text.insert_str(0, value),
            "log.target" => self.target = Some(value.to_string()),
            name if name.starts_with("log.") => {}
            name => {
                let _ = write!(self.text, " {name}={value}");
            }
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "message" => {
                let text = format!("{value:?}");
                self.text.insert_str(0, &text);
            }
            name if name.starts_with("log.") => {}
            name => {
                let _ = write!(self.text, " {name}={value:?}");
            }
        }
    }
}

/// The ring's own filter: its level can change at any time, so no callsite is cached, and it
/// filters only the ring (the log file keeps its own filter).
pub struct RingFilter(LogRing);

impl<S> tracing_subscriber::layer::Filter<S> for RingFilter {
    fn enabled(&self, metadata: &tracing::Metadata<'_>, _cx: &Context<'_, S>) -> bool {
        self.0.wants(*metadata.level())
    }

    fn callsite_enabled(
        &self,
        _metadata: &'static tracing::Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        tracing::subscriber::Interest::sometimes()
    }
}

impl<S: Subscriber> Layer<S> for RingLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        if !self.0.wants(*meta.level()) {
            return;
        }
        let mut message = String::new();
        let mut visitor = Message {
            text: &mut message,
            target: None,
        };
        event.record(&mut visitor);
        let target = visitor.target.unwrap_or_else(|| meta.target().to_string());
        self.0.push(LogLine {
            at: SystemTime::now(),
            level: *meta.level(),
            target,
            message,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    #[test]
    fn captures_at_the_chosen_level_and_counts_overflow() {
        let ring = LogRing::new(3, Level::INFO);
        let subscriber = tracing_subscriber::registry().with(ring.layer());
        tracing::subscriber::with_default(subscriber, || {
            tracing::debug!("hidden");
            tracing::info!(attempt = 3, "connecting");
            tracing::warn!("w1");
            tracing::warn!("w2");
            tracing::error!("e1");
        });
        let (lines, dropped) = ring.drain();
        let messages: Vec<&str> = lines.iter().map(|l| l.message.as_str()).collect();
        assert_eq!(messages, ["w1", "w2", "e1"]);
        assert_eq!(dropped, 1, "connecting was pushed out");
        ring.set_level(Level::TRACE);
        assert_eq!(ring.level(), Level::TRACE);
        let subscriber = tracing_subscriber::registry().with(ring.layer());
        tracing::subscriber::with_default(subscriber, || tracing::trace!(pkid = 7, "detail"));
        assert_eq!(ring.drain().0[0].message, "detail pkid=7");
    }

    #[test]
    fn the_ring_level_filters_only_the_ring() {
        use std::sync::atomic::AtomicUsize;
        struct Count(Arc<AtomicUsize>);
        impl<S: Subscriber> Layer<S> for Count {
            fn on_event(&self, _event: &Event<'_>, _ctx: Context<'_, S>) {
                self.0.fetch_add(1, Ordering::Relaxed);
            }
        }
        let ring = LogRing::new(10, Level::ERROR);
        let seen = Arc::new(AtomicUsize::new(0));
        let subscriber = tracing_subscriber::registry()
            .with(ring.layer())
            .with(Count(seen.clone()));
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!("for the file, not the ring");
            ring.set_level(Level::INFO);
            tracing::info!("now for both");
        });
        assert_eq!(seen.load(Ordering::Relaxed), 2, "the other layer saw both");
        assert_eq!(
            ring.drain().0.len(),
            1,
            "the ring saw the second only: its level changed live"
        );
    }
}
