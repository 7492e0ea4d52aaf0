//! `mqscope watch`: one line per anomaly (text or JSON), connection events on stderr, exit 3
//! at the first anomaly of a `--fail-on` kind. [`Watcher`] is the part `sub --anomalies`
//! shares: a small store (the last three messages per topic) with the watch beside it.

use std::io::{self, Write};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use tokio::time::{Instant, MissedTickBehavior};

use super::render;
use super::sub::{eprintln_line, sleep_until};
use crate::broker::{BrokerEvent, BrokerHandle, LifecycleKind, Message, Stage, Subscription};
use crate::cli::WatchArgs;
use crate::store::{Inserted, Limits, TopicStore};
use crate::watch::{Anomaly, Rules, Watch};

/// Exit code when a `--fail-on` kind shows up.
pub const EXIT_ANOMALY: u8 = 3;

/// A store that keeps what the watch reads (the two messages before, for diffs and
/// duplicates) and the watch over it.
pub struct Watcher {
    store: TopicStore,
    watch: Watch,
    alerts: crate::alert::Alerts,
    /// Rules and schemas read a decoded topic's value (`--decode`, `[[decoders]]`).
    decoders: crate::payload::decode::Decoders,
    /// Sparkplug births, so rules read metrics by name.
    sparkplug: crate::payload::decode::sparkplug::Sparkplug,
    /// The newest anomaly already handed out.
    seen: u64,
}

impl Watcher {
    pub fn new(rules: Rules) -> Self {
        Self::with_alerts(rules, crate::alert::Alerts::default())
    }

    /// With the user's rules and schema checks beside the watch.
    pub fn with_alerts(rules: Rules, alerts: crate::alert::Alerts) -> Self {
        Self {
            alerts,
            decoders: crate::payload::decode::Decoders::default(),
            sparkplug: crate::payload::decode::sparkplug::Sparkplug::default(),
            store: TopicStore::new(Limits {
                history: 3,
                topic_bytes: 1 << 20,
                total_bytes: 128 << 20,
            }),
            watch: Watch::new(rules),
            seen: 0,
        }
    }

    /// Takes a connection event or a message; new anomalies are then in [`Self::fresh`].
    pub fn event(&mut self, event: &BrokerEvent) {
        match event {
            BrokerEvent::Message(m) => self.message(m),
            BrokerEvent::Lifecycle(l) => self.watch.lifecycle(l),
            _ => {}
        }
    }

    /// Rules and schemas read decoded values on the topics these decoders map.
    #[must_use]
    pub fn decoding(mut self, decoders: crate::payload::decode::Decoders) -> Self {
        self.decoders = decoders;
        self
    }

    fn message(&mut self, m: &Message) {
        if let Inserted::Existing(id) | Inserted::NewTopic(id) = self.store.insert(m) {
            self.watch.observe(&self.store, id);
            let decoder = self.decoders.for_topic(&m.topic);
            if decoder.is_some_and(|d| d.is_sparkplug()) {
                self.sparkplug.observe(&m.topic, &m.payload, m.received);
            }
            let sparkplug = &self.sparkplug;
            self.alerts
                .observe_decoded(&self.store, id, &mut self.watch, |topic, payload| {
                    let mut v = decoder?.decode(payload).ok()?.to_json();
                    sparkplug.annotate(topic, &mut v);
                    Some(v)
                });
        }
    }

    pub fn tick(&mut self, now: SystemTime) {
        self.watch.tick(&self.store, now);
        self.alerts.tick(&self.store, now, &mut self.watch);
        self.store.set_external_bytes(self.watch.heap_bytes());
    }

    /// Anomalies raised since the last call, oldest first.
    pub fn fresh(&mut self) -> Vec<Anomaly> {
        let out: Vec<Anomaly> = self.watch.since(self.seen).cloned().collect();
        self.seen = self.watch.last_id();
        out
    }

    /// Mutes a filter from the start (`--mute`).
    pub fn mute(&mut self, filter: &str) {
        self.watch.mute(&self.store, filter);
    }
}

/// One anomaly as a text line: time, kind, topic, detail; broker text escaped.
pub fn text_line(a: &Anomaly) -> String {
    format!(
        "{} {:<16} {}  {}",
        crate::broker::json::timestamp(a.at),
        a.kind.name(),
        crate::sanitize::line(a.topic.as_bytes()),
        crate::sanitize::line(a.detail().as_bytes())
    )
}

/// Writes anomalies; `true` when one of them is a `--fail-on` kind.
pub fn write_anomalies(
    out: &mut impl Write,
    anomalies: &[Anomaly],
    json: bool,
    prefix: &str,
    fail_on: &[crate::watch::AnomalyKind],
) -> io::Result<bool> {
    let mut failed = false;
    for a in anomalies {
        if json {
            serde_json::to_writer(&mut *out, &a.to_json()).map_err(io::Error::from)?;
            out.write_all(b"\n")?;
        } else {
            writeln!(out, "{prefix}{}", text_line(a))?;
        }
        failed |= fail_on.contains(&a.kind);
    }
    Ok(failed)
}

/// The subscriptions: on MQTT 5, retained flags kept as published, so a retained value
/// replaced live is seen as one.
fn subscriptions(args: &WatchArgs) -> Vec<Subscription> {
    args.subscribe
        .filters
        .iter()
        .map(|f| {
            let mut s = Subscription::new(f.clone(), args.subscribe.qos);
            s.retain_as_published = true;
            s
        })
        .collect()
}

pub async fn run(
    args: WatchArgs,
    rules: Rules,
    alerts: crate::alert::Alerts,
    decoders: crate::payload::decode::Decoders,
) -> anyhow::Result<ExitCode> {
    let mut opts = args.connect.to_options()?;
    super::warn_if_insecure(&opts);
    opts.subscriptions = subscriptions(&args);
    let mut handle =
        BrokerHandle::spawn(opts).map_err(|c| anyhow::Error::from(crate::broker::Fatal(c)))?;
    let mut watcher = Watcher::with_alerts(rules, alerts).decoding(decoders);
    for filter in &args.mute {
        watcher.mute(filter);
    }
    let fail_on = args.fail_on.clone();
    let mut out = io::LineWriter::new(io::stdout().lock());
    let mut signals = crate::signals::Signals::new()?;
    let mut clock = tokio::time::interval(Duration::from_secs(1));
    clock.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut deadline: Option<Instant> = None;
    let code = loop {
        tokio::select! {
            biased;
            signal = signals.recv() => break crate::signals::exit_code(signal),
            () = sleep_until(deadline) => break ExitCode::SUCCESS,
            _ = clock.tick() => watcher.tick(SystemTime::now()),
            event = handle.events.recv() => {
                let Some(event) = event else { break ExitCode::SUCCESS };
                if let BrokerEvent::Lifecycle(l) = &event {
                    let up = matches!(
                        &l.kind,
                        LifecycleKind::Stage { stage: Stage::Connack, result: Ok(_), .. }
                            | LifecycleKind::Connected(_)
                    );
                    if let (true, Some(secs), None) = (up, args.timeout, &deadline) {
                        deadline = Some(Instant::now() + Duration::from_secs(secs));
                    }
                    if !args.quiet {
                        // Say what is watched once the broker granted it.
                        let verbose = matches!(l.kind, LifecycleKind::Subscribed(_));
                        if let Some(line) = render::lifecycle_text(l, verbose) {
                            eprintln_line(&line);
                        }
                    }
                    if let LifecycleKind::GaveUp { .. } = l.kind {
                        if args.quiet {
                            if let Some(line) = render::lifecycle_text(l, false) {
                                eprintln_line(&line);
                            }
                        }
                        break ExitCode::FAILURE;
                    }
                }
                watcher.event(&event);
            }
        }
        let fresh = watcher.fresh();
        match write_anomalies(&mut out, &fresh, args.json, "", &fail_on) {
            Ok(true) => break ExitCode::from(EXIT_ANOMALY),
            Ok(false) => {}
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => break ExitCode::SUCCESS,
            Err(e) => return Err(anyhow::anyhow!("cannot write to stdout: {e}")),
        }
    };
    let _ = out.flush();
    drop(out);
    handle.shutdown().await;
    Ok(code)
}
