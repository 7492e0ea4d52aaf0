//! The event loop: one task owns the terminal. Terminal input goes first (keys stay responsive
//! under a flood), then broker events drained in batches, then a frame when something changed
//! (at most ~30 per second), then the one-second clock. Rendering never happens per message.

use std::io;
use std::time::{Duration, SystemTime};

use crossterm::event::Event;
use futures_util::{Stream, StreamExt};
use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::model::{Command, Model, Msg, update};
use super::ui;
use super::view::View;
use crate::logging::LogRing;

/// Minimum time between frames.
pub const FRAME: Duration = Duration::from_millis(33);
/// Most broker events applied before the loop looks at input and frames again.
const DRAIN_COUNT: usize = 50_000;
/// Most time spent applying one batch of broker events.
const DRAIN_TIME: Duration = Duration::from_millis(15);

/// Why the loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The user quit.
    Quit,
    /// The input stream ended.
    InputEnded,
    /// SIGINT, SIGTERM or SIGHUP, by number.
    Signal(i32),
    /// Something panicked: the terminal is already restored, nothing more may be drawn.
    Panicked,
}

/// What feeds the loop besides the terminal.
pub struct Sources<'a> {
    /// Broker events: a live connection, a recording being played, or several.
    pub events: crate::source::Sources<'a>,
    /// The app's own log lines, for the log pane.
    pub logs: Option<&'a LogRing>,
    /// What side effects report back: doctor reports, publish outcomes, clearing progress.
    pub replies: Option<&'a mut mpsc::Receiver<Msg>>,
    /// Signals that end the explorer like `q` does.
    pub signals: Option<&'a mut crate::signals::Signals>,
}

/// Runs until the user quits or the input ends. `effects` carries out commands other than quit.
pub async fn run<B, I>(
    terminal: &mut Terminal<B>,
    model: &mut Model,
    view: &mut View,
    mut input: I,
    sources: Sources<'_>,
    mut effects: impl FnMut(&Command),
) -> io::Result<Ending>
where
    B: Backend,
    B::Error: std::error::Error + Send + Sync + 'static,
    I: Stream<Item = io::Result<Event>> + Unpin,
{
    // Long by design: one `select!` loop whose arms share the frame, tick and dirty state.
    // The clock: every second while anything happens, every few seconds on an idle screen
    // (see `idle_every`), so an idle explorer wakes up rarely.
    let mut next_tick = Instant::now() + TICK;
    let mut dirty = true;
    let mut next_frame = Instant::now();
    let mut broker_open = true;
    // Whether anything happened since the last tick.
    let mut active = true;
    let mut frame_cost = Duration::ZERO;
    let Sources {
        mut events,
        logs,
        mut replies,
        mut signals,
    } = sources;
    let mut tap = Tap::default();
    let playing = events.playback(Instant::now().into_std()).is_some();
    loop {
        if super::terminal::panicked() {
            return Ok(Ending::Panicked);
        }
        if dirty && Instant::now() >= next_frame {
            drain_logs(model, logs);
            if playing {
                update(
                    model,
                    Msg::Playback(events.playback(std::time::Instant::now())),
                );
            }
            tap.report(model);
            let started = std::time::Instant::now();
            draw(terminal, model, view)?;
            frame_cost = started.elapsed();
            dirty = false;
            next_frame = Instant::now() + FRAME;
            let offset = view.tree.get_offset();
            if !view.covers(offset, usize::from(view.areas.topics.height)) {
                view.invalidate();
                dirty = true;
            }
        }
        tokio::select! {
            biased;
            () = super::terminal::panic_notified() => return Ok(Ending::Panicked),
            Some(signal) = async { Some(signals.as_mut()?.recv().await) }, if signals.is_some() => {
                return Ok(Ending::Signal(signal));
            }
            event = input.next() => match event {
                Some(Ok(event)) => {
                    view.forget_tree_frame();
                    let Some(msg) = to_msg(&event, view) else {
                        // The wheel over the tree moves only the view.
                        dirty = true;
                        next_frame = Instant::now();
                        continue;
                    };
                    for command in update(model, msg) {
                        if command == Command::Quit {
                            return Ok(Ending::Quit);
                        }
                        if !tap.command(&command, &mut events, model) {
                            effects(&command);
                        }
                    }
                    // A key shows at once: the frame cap is for broker traffic, not for input.
                    dirty = true;
                    active = true;
                    next_frame = Instant::now();
                    next_tick = next_tick.min(Instant::now() + TICK);
                }
                Some(Err(e)) => return Err(e),
                None => return Ok(Ending::InputEnded),
            },
            event = events.next_event(), if broker_open => match event {
                Some(event) => {
                    tap.drain(model, event, &mut events);
                    dirty = true;
                    active = true;
                    next_tick = next_tick.min(Instant::now() + TICK);
                }
                None => broker_open = false,
            },
            Some(reply) = async { replies.as_mut()?.recv().await }, if replies.is_some() => {
                for command in update(model, reply) {
                    effects(&command);
                }
                dirty = true;
                next_tick = next_tick.min(Instant::now() + TICK);
            }
            () = tokio::time::sleep_until(next_frame), if dirty => {}
            () = tokio::time::sleep_until(next_tick) => {
                let now = events.clock(std::time::Instant::now()).unwrap_or_else(SystemTime::now);
                update(model, Msg::Tick(now));
                drain_logs(model, logs);
                tap.hand_over(true);
                dirty = true;
                // A recording being written or played moves every second.
                let busy = active || playing || tap.recorder.is_some();
                next_tick = Instant::now()
                    + if busy { TICK } else { idle_every(model, frame_cost) };
                active = false;
            }
        }
    }
}

/// Between the sources and the model: applies events, and tees them into `W`'s recording.
#[derive(Default)]
struct Tap {
    recorder: Option<crate::record::Recorder>,
    handed_over: Option<std::time::Instant>,
}

impl Tap {
    fn apply(&mut self, model: &mut Model, event: crate::source::SourceEvent) {
        match event {
            crate::source::SourceEvent::Broker(event) => {
                if let Some(r) = &mut self.recorder {
                    r.event(&event);
                }
                update(model, Msg::Broker(event));
            }
            crate::source::SourceEvent::Reset => {
                update(model, Msg::Reset);
            }
        }
    }

    /// Applies one event and what else is queued, up to a budget of count and time.
    fn drain(
        &mut self,
        model: &mut Model,
        first: crate::source::SourceEvent,
        events: &mut crate::source::Sources<'_>,
    ) {
        self.apply(model, first);
        let started = std::time::Instant::now();
        let mut n = 1;
        while n < DRAIN_COUNT {
            let Some(event) = events.try_event() else {
                break;
            };
            self.apply(model, event);
            n += 1;
            if n % 1024 == 0 && started.elapsed() > DRAIN_TIME {
                break;
            }
        }
        self.hand_over(false);
    }

    /// Hands buffered lines to the writer: every tick, and after a batch once half a second
    /// has passed (a killed process loses at most about a second).
    fn hand_over(&mut self, tick: bool) {
        let Some(r) = &mut self.recorder else { return };
        let now = std::time::Instant::now();
        if tick
            || self
                .handed_over
                .is_none_or(|t| now - t >= Duration::from_millis(500))
        {
            r.tick();
            self.handed_over = Some(now);
        }
    }

    /// Carries out the commands that belong to the loop; `false` for the others.
    fn command(
        &mut self,
        command: &Command,
        events: &mut crate::source::Sources<'_>,
        model: &mut Model,
    ) -> bool {
        match command {
            Command::Playback(control) => events.control(*control, std::time::Instant::now()),
            Command::StartRecording { path, header } => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    let _ = std::fs::create_dir_all(dir);
                }
                let opts = crate::record::writer::RecordOptions {
                    max_size: None,
                    packets: true,
                };
                match crate::record::Recorder::create(path, header, &opts) {
                    Ok(mut r) => {
                        tracing::info!("recording to {}", path.display());
                        // Begun mid-session: the file starts with the link as it is.
                        if let Some(attempt) = model.timeline.current() {
                            for l in attempt.lifecycle() {
                                r.event(&crate::broker::BrokerEvent::Lifecycle(l));
                            }
                        }
                        self.recorder = Some(r);
                        self.report(model);
                    }
                    Err(e) => {
                        let text = format!("cannot record to {}: {e}", path.display());
                        tracing::error!("{text}");
                        update(model, Msg::Notice(text));
                    }
                }
            }
            Command::StopRecording => {
                self.report(model);
                if let Some(r) = self.recorder.take() {
                    let path = r.path.display().to_string();
                    let stats = r.finish();
                    tracing::info!(
                        "recorded {} messages to {path}",
                        stats.messages.load(std::sync::atomic::Ordering::Relaxed)
                    );
                }
                update(model, Msg::Recording(None));
            }
            _ => return false,
        }
        true
    }

    /// The recording's state into the model; a recorder whose disk failed is closed.
    fn report(&mut self, model: &mut Model) {
        use std::sync::atomic::Ordering;
        let Some(r) = &self.recorder else { return };
        let counts = r.stats();
        let status = super::model::RecordingStatus {
            path: r.path.display().to_string(),
            messages: counts.messages.load(Ordering::Relaxed),
            dropped: counts.dropped.load(Ordering::Relaxed),
            failure: counts.failure(),
        };
        let failed = status.failure.clone();
        update(model, Msg::Recording(Some(status)));
        if let Some(why) = failed {
            tracing::error!("{why}");
            self.recorder = None;
            update(model, Msg::Recording(None));
        }
    }
}

/// The clock's period while anything happens.
const TICK: Duration = Duration::from_secs(1);

/// A frame may cost at most this share of the time between idle redraws (1/300).
const IDLE_BUDGET: u32 = 300;

/// How long an idle screen waits before its next tick and redraw: 2 s while a frame is cheap,
/// up to 5 s when a frame is expensive (a big screen, a big opened tree, a slow box), so the
/// clocks and ages still move but an idle explorer wakes up rarely and spends about a third
/// of a percent of one core drawing. A connection that is not up ticks every second: its
/// countdown is what the user watches.
fn idle_every(model: &Model, frame_cost: Duration) -> Duration {
    if !matches!(model.link, super::model::LinkState::Connected { .. }) {
        return TICK;
    }
    Duration::from_secs((frame_cost * IDLE_BUDGET).as_secs().clamp(2, 5))
}

/// One frame: the model settles, the view follows it, the screen is drawn, and the model
/// learns the geometry it was drawn with (page sizes) when that changed.
pub fn draw<B>(terminal: &mut Terminal<B>, model: &mut Model, view: &mut View) -> io::Result<()>
where
    B: Backend,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let t0 = std::time::Instant::now();
    update(model, Msg::Frame);
    view.refresh(model);
    let t1 = t0.elapsed();
    terminal
        .draw(|frame| ui::render(model, view, frame))
        .map_err(io::Error::other)?;
    if view.pages != model.pages {
        update(model, Msg::Layout(view.pages));
    }
    tracing::trace!(
        target: "mqscope::frame",
        refresh_us = u64::try_from(t1.as_micros()).unwrap_or(u64::MAX),
        total_us = u64::try_from(t0.elapsed().as_micros()).unwrap_or(u64::MAX),
        "frame"
    );
    Ok(())
}

fn drain_logs(model: &mut Model, logs: Option<&LogRing>) {
    if let Some(ring) = logs {
        let (lines, dropped) = ring.drain();
        if !lines.is_empty() || dropped > 0 {
            update(model, Msg::Logs(lines, dropped));
        }
    }
}

fn to_msg(event: &Event, view: &mut View) -> Option<Msg> {
    match event {
        Event::Key(key) => Some(Msg::Key(*key)),
        Event::Mouse(mouse) => view.pointer(*mouse).map(Msg::Pointer),
        Event::Resize(..) => Some(Msg::Resize),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::Protocol;
    use crate::store::Limits;
    use crate::tui::model::LinkState;

    #[test]
    fn an_idle_screen_redraws_less_often_when_frames_are_expensive() {
        let now = SystemTime::UNIX_EPOCH;
        let mut model = Model::new("mqtt://x".into(), Limits::default(), now);
        let ms = Duration::from_millis;
        // Connecting: the attempt and its countdown move every second.
        let secs = Duration::from_secs;
        assert_eq!(idle_every(&model, ms(40)), secs(1));
        model.link = LinkState::Connected {
            since: now,
            protocol: Protocol::V5,
        };
        assert_eq!(idle_every(&model, ms(1)), secs(2));
        assert_eq!(idle_every(&model, ms(12)), secs(3));
        assert_eq!(idle_every(&model, ms(40)), secs(5));
        assert_eq!(idle_every(&model, secs(3)), secs(5));
    }
}
