//! `mqscope sub`: messages on stdout, connection events on stderr (or as JSON lines).

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use tokio::time::Instant;

use super::render;
use crate::broker::{BrokerEvent, BrokerHandle, Cause, LifecycleKind, Stage};
use crate::cli::SubArgs;
use crate::payload::decode::{Decoder, Decoders};

/// Exit code for `-W` timing out, as mosquitto_sub.
pub const EXIT_TIMEOUT: u8 = 27;

/// How many queued events to print before flushing stdout.
const BATCH: usize = 4096;

pub async fn run(
    args: SubArgs,
    (rules, alerts): (crate::watch::Rules, crate::alert::Alerts),
    decoders: Decoders,
) -> anyhow::Result<ExitCode> {
    let mut opts = args.connect.to_options()?;
    super::warn_if_insecure(&opts);
    opts.subscriptions = args.subscriptions();
    let mut handle = BrokerHandle::spawn(opts).map_err(|c| cause_error(&c))?;

    let stdout = io::stdout();
    let escape = stdout.is_terminal();
    let mut out = io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    let mut printer = Printer {
        args: &args,
        escape,
        printed: 0,
        connack_elapsed: None,
        watcher: args
            .watching()
            .then(|| super::watch::Watcher::with_alerts(rules, alerts).decoding(decoders.clone())),
        decoders,
        sparkplug: crate::payload::decode::sparkplug::Sparkplug::default(),
    };
    let mut clock = tokio::time::interval(Duration::from_secs(1));
    clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut deadline: Option<Instant> = None;
    let mut signals = crate::signals::Signals::new()?;
    let closed = stdout_closed();
    tokio::pin!(closed);

    let outcome = loop {
        let first = tokio::select! {
            biased;
            signal = signals.recv() => break Outcome::Signal(signal),
            () = &mut closed => break Outcome::Done,
            () = sleep_until(deadline) => break Outcome::TimedOut,
            _ = clock.tick(), if printer.watcher.is_some() => {
                match printer.tick(&mut out) {
                    Ok(()) => {}
                    Err(e) => break write_failed(&e)?,
                }
                continue;
            }
            event = handle.events.recv() => event,
        };
        let Some(first) = first else {
            break Outcome::Done;
        };
        // Print everything already queued before flushing once.
        let mut next = Some(first);
        let mut step = Step::Continue;
        let mut n = 0;
        let mut yielded = false;
        while let Some(event) = next.take() {
            step = printer.event(&mut out, &event, &mut deadline)?;
            n += 1;
            if !matches!(step, Step::Continue) || n >= BATCH {
                break;
            }
            next = handle.events.try_recv().ok();
            if next.is_none() && !yielded {
                // Let the connection layer (on this same thread) read on before flushing:
                // a write per message or two cost more CPU than mosquitto_sub spends.
                yielded = true;
                tokio::task::yield_now().await;
                next = handle.events.try_recv().ok();
            }
        }
        if let Err(e) = out.flush() {
            break write_failed(&e)?;
        }
        match step {
            Step::Continue => {}
            Step::Stop(outcome) => break outcome,
        }
    };
    let _ = out.flush();
    drop(out);
    let dropped = handle.dropped_messages();
    handle.shutdown().await;
    if dropped > 0 && !args.quiet {
        tracing::warn!("{dropped} messages were dropped because the output could not keep up");
    }
    Ok(match outcome {
        Outcome::Done => ExitCode::SUCCESS,
        Outcome::TimedOut => ExitCode::from(EXIT_TIMEOUT),
        Outcome::GaveUp => ExitCode::FAILURE,
        Outcome::Signal(signal) => crate::signals::exit_code(signal),
    })
}

fn cause_error(cause: &Cause) -> anyhow::Error {
    crate::broker::Fatal(cause.clone()).into()
}

/// A closed stdout (`| head`) ends quietly; other write errors are real errors.
fn write_failed(e: &io::Error) -> anyhow::Result<Outcome> {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Ok(Outcome::Done)
    } else {
        Err(anyhow::anyhow!("cannot write to stdout: {e}"))
    }
}

/// Resolves when stdout is a pipe whose reader has gone (`| head`), even while no message
/// arrives to be written; never resolves for files, /dev/null or terminals.
async fn stdout_closed() {
    use std::os::fd::AsFd;
    use std::os::unix::fs::FileTypeExt;
    use tokio::io::Interest;
    // A duplicate of fd 1, watched only for errors: its blocking mode stays as it is.
    let pipe = io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .ok()
        .map(std::fs::File::from)
        .filter(|f| f.metadata().is_ok_and(|m| m.file_type().is_fifo()))
        .and_then(|f| tokio::net::unix::pipe::Sender::from_file_unchecked(f).ok());
    match pipe {
        Some(pipe) => loop {
            match pipe.ready(Interest::ERROR).await {
                Ok(ready) if !ready.is_error() => {}
                _ => return,
            }
        },
        None => std::future::pending().await,
    }
}

pub(super) async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

enum Outcome {
    Done,
    TimedOut,
    GaveUp,
    /// SIGINT, SIGTERM or SIGHUP: what was printed is flushed, the link closed.
    Signal(i32),
}

enum Step {
    Continue,
    Stop(Outcome),
}

struct Printer<'a> {
    args: &'a SubArgs,
    escape: bool,
    printed: u64,
    connack_elapsed: Option<Duration>,
    /// `--anomalies`: the watch, fed every event.
    watcher: Option<super::watch::Watcher>,
    decoders: Decoders,
    /// Sparkplug B births seen, to name the metrics of later data by their aliases.
    sparkplug: crate::payload::decode::sparkplug::Sparkplug,
}

impl Printer<'_> {
    /// The watch's clock: silences and rate drops.
    fn tick(&mut self, out: &mut impl Write) -> io::Result<()> {
        if let Some(w) = &mut self.watcher {
            w.tick(std::time::SystemTime::now());
        }
        self.anomalies(out)?;
        out.flush()
    }

    fn anomalies(&mut self, out: &mut impl Write) -> io::Result<()> {
        let Some(w) = &mut self.watcher else {
            return Ok(());
        };
        let fresh = w.fresh();
        super::watch::write_anomalies(out, &fresh, self.args.json, "! ", &[]).map(|_| ())
    }

    /// The value `--where` and `--field` look at: the decoded value where a decoder maps the
    /// topic, else the payload's JSON; `None` when not needed or not JSON.
    fn value_of(
        args: &SubArgs,
        decoder: Option<&Decoder>,
        m: &crate::broker::Message,
    ) -> Option<serde_json::Value> {
        let needed = args
            .filter
            .as_ref()
            .is_some_and(crate::expr::Expr::uses_payload)
            || !args.fields.is_empty();
        if !needed {
            return None;
        }
        match (decoder, &args.filter) {
            (Some(d), _) => d.decode(&m.payload).ok().map(|v| v.to_json()),
            // Only what the expression reads, when nothing else is printed from the value.
            (None, Some(filter)) if args.fields.is_empty() => filter.read(&m.payload),
            (None, _) => serde_json::from_slice(&m.payload).ok(),
        }
    }

    /// One message, in text or JSON, decoded when a decoder maps its topic; `Ok(false)` when
    /// `--where` leaves it out.
    fn write_message(
        &mut self,
        out: &mut impl Write,
        m: &crate::broker::Message,
    ) -> io::Result<bool> {
        let decoder = self.decoders.for_topic(&m.topic);
        // Sparkplug's sequence follows every message, printed or not.
        let gap = if decoder.is_some_and(|d| d.is_sparkplug()) {
            self.sparkplug.observe(&m.topic, &m.payload, m.received)
        } else {
            None
        };
        let value = Self::value_of(self.args, decoder.map(|d| &**d), m);
        if let Some(filter) = &self.args.filter {
            if !filter.matches(&m.topic, value.as_ref()) {
                return Ok(false);
            }
        }
        let fields = &self.args.fields;
        if !fields.is_empty() && !self.args.json {
            let texts: Vec<String> = fields
                .iter()
                .map(|f| match value.as_ref().and_then(|v| f.get(v)) {
                    Some(serde_json::Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                    None => "null".into(),
                })
                .collect();
            render::write_fields(out, &m.topic, &texts.join(" "), self.escape)?;
            return Ok(true);
        }
        let sparkplug = &self.sparkplug;
        let annotate = |v: &mut serde_json::Value| sparkplug.annotate(&m.topic, v);
        if self.args.json && decoder.is_none() && gap.is_none() && fields.is_empty() {
            // The common line, straight from the message.
            serde_json::to_writer(&mut *out, &crate::broker::json::MessageLine::new(m, false))
                .map_err(io::Error::from)
                .and_then(|()| out.write_all(b"\n"))?;
        } else if self.args.json {
            let mut line = render::message_json(m);
            if let Some(d) = decoder {
                crate::payload::decode::add_to_json_with(&mut line, d, &m.payload, annotate);
            }
            if let Some(gap) = gap {
                line["sparkplug_seq_gap"] =
                    serde_json::json!({"expected": gap.expected, "got": gap.got});
            }
            if !fields.is_empty() {
                let object: serde_json::Map<String, serde_json::Value> = fields
                    .iter()
                    .map(|f| {
                        let v = value.as_ref().and_then(|v| f.get(v)).cloned();
                        (f.text.clone(), v.unwrap_or(serde_json::Value::Null))
                    })
                    .collect();
                line["fields"] = serde_json::Value::Object(object);
            }
            serde_json::to_writer(&mut *out, &line)
                .map_err(io::Error::from)
                .and_then(|()| out.write_all(b"\n"))?;
        } else if let Some(d) = decoder {
            render::write_decoded_text(out, m, d, self.escape, annotate)?;
        } else {
            render::write_text(out, m, self.escape)?;
        }
        Ok(true)
    }

    fn event(
        &mut self,
        out: &mut impl Write,
        event: &BrokerEvent,
        deadline: &mut Option<Instant>,
    ) -> anyhow::Result<Step> {
        // Long by design: one arm per event, the text and JSON forms side by side.
        if let Some(w) = &mut self.watcher {
            w.event(event);
        }
        match event {
            BrokerEvent::Message(m) => {
                if self.args.no_retained && m.retain {
                    return Ok(Step::Continue);
                }
                if self.args.retained_only && !m.retain {
                    return Ok(Step::Stop(Outcome::Done));
                }
                let written = self.write_message(out, m);
                let printed = match written.and_then(|p| self.anomalies(out).map(|()| p)) {
                    Ok(printed) => printed,
                    Err(e) => return write_failed(&e).map(Step::Stop),
                };
                if !printed {
                    return Ok(Step::Continue);
                }
                self.printed += 1;
                if self.args.count.is_some_and(|c| self.printed >= c) {
                    return Ok(Step::Stop(Outcome::Done));
                }
            }
            BrokerEvent::Lifecycle(l) => {
                if matches!(l.kind, LifecycleKind::Connected(_)) {
                    self.sparkplug.link_lost();
                }
                if let LifecycleKind::Stage {
                    stage: Stage::Connack,
                    elapsed,
                    ..
                } = &l.kind
                {
                    self.connack_elapsed = Some(*elapsed);
                }
                // As mosquitto_sub: the clock starts once the TCP connection is up, so a
                // broker that never answers CONNECT cannot hold `-W` open forever.
                let reached = matches!(
                    &l.kind,
                    LifecycleKind::Connected(_)
                        | LifecycleKind::Stage {
                            stage: Stage::Tcp,
                            result: Ok(_),
                            ..
                        }
                );
                if let (true, Some(secs), None) = (reached, self.args.timeout, &deadline) {
                    *deadline = Some(Instant::now() + Duration::from_secs(secs));
                }
                if self.args.json && self.args.events {
                    if let Some(line) = render::lifecycle_json(l, self.connack_elapsed) {
                        let written = serde_json::to_writer(&mut *out, &line)
                            .map_err(io::Error::from)
                            .and_then(|()| out.write_all(b"\n"));
                        if let Err(e) = written {
                            return write_failed(&e).map(Step::Stop);
                        }
                    }
                } else if !self.args.quiet {
                    if let Some(line) = render::lifecycle_text(l, self.args.events) {
                        eprintln_line(&line);
                    }
                }
                if let LifecycleKind::GaveUp { .. } = l.kind {
                    if self.args.quiet || (self.args.json && self.args.events) {
                        if let Some(line) = render::lifecycle_text(l, false) {
                            eprintln_line(&line);
                        }
                    }
                    return Ok(Step::Stop(Outcome::GaveUp));
                }
            }
            BrokerEvent::Dropped { messages, .. } => {
                if !self.args.quiet {
                    eprintln_line(&format!(
                        "{messages} messages dropped so far: the output cannot keep up"
                    ));
                }
            }
            BrokerEvent::Packet(_) => {}
        }
        Ok(Step::Continue)
    }
}

/// Headless modes own stderr: connection events go there as plain lines, through the
/// sanitizer (they carry reason strings, server references and topics from the broker). A
/// closed stderr ends nothing: the line is lost, the mode goes on.
pub fn eprintln_line(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr().lock(),
        "mqscope: {}",
        crate::sanitize::lines(line)
    );
}
