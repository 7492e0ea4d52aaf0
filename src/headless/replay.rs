//! `mqscope replay`: a recording's messages published again, on the recorded schedule (scaled
//! by `--speed`) or as fast as the broker takes them, with their QoS, retain flags, payload
//! bytes and MQTT 5 properties. At the end, how far behind schedule it ran.

use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::{mpsc, oneshot};

use super::sub::eprintln_line;
use crate::broker::{
    BrokerEvent, BrokerHandle, Command, LifecycleKind, Message, Protocol, PublishOutcome,
    PublishRequest,
};
use crate::cli::{QosMode, ReplayArgs, RetainMode};
use crate::record::Reader;

/// Publishes in flight at once.
const WINDOW: usize = 1024;
/// Messages the reader thread hands over at once.
const BATCH: usize = 1024;

enum Read {
    Messages(Vec<Message>),
    /// The end of one pass over the file, and why reading stopped early, if it did.
    End(Option<String>),
}

pub async fn run(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let (reader, first) = open(&args)?;
    let mut opts = args.connect.to_options()?;
    super::warn_if_insecure(&opts);
    opts.max_attempts.get_or_insert(1);
    let mut handle = BrokerHandle::spawn(opts).map_err(crate::broker::Fatal)?;
    let Some(protocol) = super::publish::wait_connected(&mut handle).await else {
        handle.shutdown().await;
        return Ok(ExitCode::FAILURE);
    };
    let (tx, mut rx) = mpsc::channel::<Read>(8);
    let (file, repeat) = (args.file.clone(), args.repeat);
    let read_thread =
        tokio::task::spawn_blocking(move || read_all(reader, first, &file, repeat, &tx));
    let mut state = Replay {
        args: &args,
        protocol,
        warned_v311: false,
        lags: Vec::new(),
        sent: 0,
        skipped: 0,
        expired: 0,
        failed: 0,
        pending: std::collections::VecDeque::new(),
        schedule: None,
        problem: None,
    };
    let mut signals = crate::signals::Signals::new()?;
    let started = Instant::now();
    let interrupted = state.pump(&mut rx, &mut handle, &mut signals).await;
    if !args.quiet && io::stderr().is_terminal() {
        // The progress line gives way to the summary.
        let _ = write!(io::stderr(), "\r\x1b[K");
    }
    drop(rx);
    while !state.pending.is_empty() {
        state.settle_one().await;
    }
    handle.shutdown().await;
    let _ = read_thread.await;
    if let Some(p) = &state.problem {
        eprintln_line(&format!(
            "reading stopped early: {p} (everything before it was replayed)"
        ));
    }
    if !args.quiet {
        eprintln_line(&state.summary(started.elapsed()));
    }
    Ok(match interrupted {
        Some(signal) => crate::signals::exit_code(signal),
        None if state.failed > 0 => ExitCode::FAILURE,
        None => ExitCode::SUCCESS,
    })
}

/// Opens the recording and reads up to its first message, so a file that is not a
/// recording is refused before connecting anywhere.
fn open(args: &ReplayArgs) -> anyhow::Result<(Reader, Vec<Message>)> {
    let mut reader = Reader::open(&args.file)
        .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", args.file.display()))?;
    loop {
        let Some(events) = reader.next_events() else {
            let why = reader
                .problem
                .as_ref()
                .map_or_else(|| "no messages in it".to_string(), ToString::to_string);
            return Err(anyhow::anyhow!(
                "nothing to replay in {}: {why}",
                args.file.display()
            ));
        };
        let messages = messages_of(events);
        if !messages.is_empty() {
            for w in &reader.warnings {
                eprintln_line(w);
            }
            return Ok((reader, messages));
        }
    }
}

/// Drains the connection's own events (saying what went wrong); `false` once it gave up.
fn link_alive(handle: &mut BrokerHandle) -> bool {
    while let Ok(event) = handle.events.try_recv() {
        if let BrokerEvent::Lifecycle(l) = &event {
            if let Some(line) = super::render::lifecycle_text(l, false) {
                eprintln_line(&line);
            }
            if matches!(l.kind, LifecycleKind::GaveUp { .. }) {
                return false;
            }
        }
    }
    true
}

fn messages_of(events: Vec<BrokerEvent>) -> Vec<Message> {
    events
        .into_iter()
        .filter_map(|e| match e {
            BrokerEvent::Message(m) => Some(m),
            _ => None,
        })
        .collect()
}

/// Reads the file (again and again with `--loop`) on a blocking thread.
fn read_all(
    mut reader: Reader,
    first: Vec<Message>,
    path: &Path,
    repeat: bool,
    tx: &mpsc::Sender<Read>,
) {
    let mut batch = first;
    loop {
        while let Some(events) = reader.next_events() {
            batch.extend(messages_of(events));
            if batch.len() >= BATCH {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                if tx.blocking_send(Read::Messages(full)).is_err() {
                    return;
                }
            }
        }
        if !batch.is_empty() {
            let full = std::mem::take(&mut batch);
            if tx.blocking_send(Read::Messages(full)).is_err() {
                return;
            }
        }
        let problem = reader.problem.as_ref().map(ToString::to_string);
        if tx.blocking_send(Read::End(problem)).is_err() || !repeat {
            return;
        }
        match Reader::open(path) {
            Ok(r) => reader = r,
            Err(_) => return,
        }
    }
}

struct Replay<'a> {
    args: &'a ReplayArgs,
    protocol: Protocol,
    warned_v311: bool,
    /// How far behind schedule each publish went out, in µs.
    lags: Vec<u32>,
    sent: u64,
    skipped: u64,
    expired: u64,
    failed: u64,
    pending: std::collections::VecDeque<oneshot::Receiver<PublishOutcome>>,
    /// The first message's recorded time and when it went out.
    schedule: Option<(SystemTime, Instant)>,
    /// Why reading stopped early, if it did.
    problem: Option<String>,
}

impl Replay<'_> {
    /// Publishes what the reader hands over until it ends, the link gives up or a signal
    /// comes (returned).
    async fn pump(
        &mut self,
        rx: &mut mpsc::Receiver<Read>,
        handle: &mut BrokerHandle,
        signals: &mut crate::signals::Signals,
    ) -> Option<i32> {
        let commands = handle.commands();
        let speed = (!self.args.max).then_some(self.args.speed);
        let progress = !self.args.quiet && io::stderr().is_terminal();
        let started = Instant::now();
        let mut shown = Instant::now();
        loop {
            let read = tokio::select! {
                biased;
                signal = signals.recv() => return Some(signal),
                read = rx.recv() => read?,
            };
            let batch = match read {
                Read::Messages(batch) => batch,
                Read::End(p) => {
                    self.problem = self.problem.take().or(p);
                    // Another pass (--loop) keeps the schedule's shape from its own start.
                    self.schedule = None;
                    continue;
                }
            };
            for m in batch {
                let Some((due, request)) = self.prepare(m, speed) else {
                    continue;
                };
                if let Some(due) = due {
                    tokio::select! {
                        biased;
                        signal = signals.recv() => return Some(signal),
                        () = tokio::time::sleep_until(due.into()) => {}
                    }
                }
                let lag = due.map_or(Duration::ZERO, |d| {
                    Instant::now().saturating_duration_since(d)
                });
                let Some(request) = self.expire(request, lag) else {
                    continue;
                };
                self.lags
                    .push(u32::try_from(lag.as_micros()).unwrap_or(u32::MAX));
                let (reply, outcome) = oneshot::channel();
                if commands
                    .send(Command::Publish(request, reply))
                    .await
                    .is_err()
                {
                    self.failed += 1;
                    return None;
                }
                self.sent += 1;
                self.pending.push_back(outcome);
                while self.pending.len() >= WINDOW {
                    self.settle_one().await;
                }
                if !link_alive(handle) {
                    return None;
                }
                if progress && shown.elapsed() >= Duration::from_millis(250) {
                    shown = Instant::now();
                    let _ = write!(
                        io::stderr(),
                        "\r\x1b[K▶ replayed {} messages · {} · behind schedule now {:.1} ms",
                        self.sent,
                        super::render::elapsed(started.elapsed()),
                        lag.as_secs_f64() * 1000.0
                    );
                    let _ = io::stderr().flush();
                }
            }
        }
    }

    /// The publish for a recorded message and when it is due (`None`: now); `None` for a
    /// message the filters leave out.
    fn prepare(
        &mut self,
        m: Message,
        speed: Option<f64>,
    ) -> Option<(Option<Instant>, PublishRequest)> {
        let args = self.args;
        if !args.filters.is_empty()
            && !args
                .filters
                .iter()
                .any(|f| crate::topic::matches(&m.topic, f))
        {
            self.skipped += 1;
            return None;
        }
        let due = speed.map(|x| {
            let (t0, w0) = *self.schedule.get_or_insert((m.received, Instant::now()));
            w0 + m.received.duration_since(t0).unwrap_or_default().div_f64(x)
        });
        let topic = match &args.topic_prefix {
            Some(p) => format!("{p}{}", m.topic),
            None => m.topic,
        };
        let qos = match args.qos {
            QosMode::Keep => m.qos,
            QosMode::Q0 => 0,
            QosMode::Q1 => 1,
            QosMode::Q2 => 2,
        };
        let properties = m.properties.map(|p| {
            let mut p = *p;
            // Aliases belong to the recorded connection, subscription ids to the recorded
            // subscriber: neither may go out in a client's PUBLISH.
            p.topic_alias = None;
            p.subscription_ids.clear();
            p
        });
        let properties = match (self.protocol, properties) {
            (_, Some(p)) if p.is_empty() => None,
            (Protocol::V311, Some(_)) => {
                if !self.warned_v311 {
                    self.warned_v311 = true;
                    eprintln_line(
                        "the broker speaks MQTT 3.1.1: the recorded MQTT 5 properties are not \
                         replayed",
                    );
                }
                None
            }
            (_, p) => p,
        };
        Some((
            due,
            PublishRequest {
                topic,
                payload: m.payload,
                qos,
                retain: m.retain && args.retain == RetainMode::Keep,
                properties,
            },
        ))
    }

    /// Takes the time spent behind schedule off the message's expiry; `None` when that
    /// leaves nothing (the message would have expired).
    fn expire(&mut self, mut request: PublishRequest, lag: Duration) -> Option<PublishRequest> {
        if let Some(p) = &mut request.properties {
            if let Some(expiry) = p.message_expiry {
                let lag = u32::try_from(lag.as_secs()).unwrap_or(u32::MAX);
                if lag >= expiry && expiry > 0 {
                    self.expired += 1;
                    return None;
                }
                p.message_expiry = Some(expiry - lag.min(expiry));
            }
        }
        Some(request)
    }

    async fn settle_one(&mut self) {
        let Some(rx) = self.pending.pop_front() else {
            return;
        };
        match rx.await {
            Ok(PublishOutcome::Sent) => {}
            Ok(PublishOutcome::Acked { reason }) if reason < 0x80 => {}
            Ok(PublishOutcome::Acked { reason }) => {
                if self.failed == 0 {
                    eprintln_line(&format!(
                        "the broker refused a message: {reason:#04x} {}",
                        crate::broker::codes::reason_name(reason)
                    ));
                }
                self.failed += 1;
            }
            Ok(PublishOutcome::Failed(why)) => {
                if self.failed == 0 {
                    eprintln_line(&format!("publish failed: {why}"));
                }
                self.failed += 1;
            }
            Err(_) => self.failed += 1,
        }
    }

    fn summary(&mut self, elapsed: Duration) -> String {
        self.lags.sort_unstable();
        let pct = |p: usize| -> f64 {
            if self.lags.is_empty() {
                return 0.0;
            }
            let i = (self.lags.len() * p / 100).min(self.lags.len() - 1);
            f64::from(self.lags[i]) / 1000.0
        };
        #[expect(clippy::cast_precision_loss, reason = "a displayed rate")]
        let rate = self.sent as f64 / elapsed.as_secs_f64().max(1e-9);
        let mut out = format!(
            "replayed {} messages in {:.2} s ({rate:.0} msg/s); behind schedule p50 {:.1} ms, \
             p99 {:.1} ms",
            self.sent,
            elapsed.as_secs_f64(),
            pct(50),
            pct(99)
        );
        if self.skipped > 0 {
            let _ = write!(out, "; {} left out by -t", self.skipped);
        }
        if self.expired > 0 {
            let _ = write!(out, "; {} expired before their turn", self.expired);
        }
        if self.failed > 0 {
            let _ = write!(out, "; {} FAILED", self.failed);
        }
        out
    }
}
