//! `mqscope record`: every message and connection event into a file, a progress line on a
//! terminal's stderr, the file closed properly on Ctrl-C, SIGTERM or SIGHUP.

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::sub::eprintln_line;
use crate::broker::{BrokerEvent, BrokerHandle, LifecycleKind};
use crate::cli::RecordArgs;
use crate::record::writer::{RecordOptions, RecorderStats};
use crate::record::{Header, Recorder};

/// How often the progress line changes, at most.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);
/// How often lines go to the writer (it flushes as soon as it has them).
const HAND_OVER_EVERY: Duration = Duration::from_millis(500);

pub async fn run(args: RecordArgs) -> anyhow::Result<ExitCode> {
    // Long by design: connect, then one loop that records, reports and stops, then the summary.
    let (opts, header, record_opts) = prepare(&args)?;
    let mut recorder = Recorder::create(&args.output, &header, &record_opts)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", args.output.display()))?;
    let mut handle = BrokerHandle::spawn(opts).map_err(crate::broker::Fatal)?;
    let mut signals = crate::signals::Signals::new()?;
    let progress = !args.quiet && io::stderr().is_terminal();
    let started = Instant::now();
    let stop_at = args
        .duration
        .map(|s| tokio::time::Instant::now() + Duration::from_secs(s));
    let mut clock = tokio::time::interval(PROGRESS_EVERY.min(HAND_OVER_EVERY));
    clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last_hand_over = Instant::now();
    let mut shown = Progress::default();
    let outcome = loop {
        tokio::select! {
            biased;
            signal = signals.recv() => break Outcome::Signal(signal),
            () = super::sub::sleep_until(stop_at) => break Outcome::Done,
            _ = clock.tick() => {
                if last_hand_over.elapsed() >= HAND_OVER_EVERY {
                    recorder.tick();
                    last_hand_over = Instant::now();
                }
                if let Some(why) = recorder.stats().failure() {
                    break Outcome::DiskFailed(why);
                }
                if progress {
                    shown.show(recorder.stats(), started.elapsed());
                }
            }
            event = handle.events.recv() => {
                let Some(event) = event else { break Outcome::Done };
                let mut next = Some(event);
                let mut n = 0;
                let mut end = None;
                while let Some(event) = next.take() {
                    end = record(&mut recorder, &event, &args, progress);
                    n += 1;
                    if end.is_some() || n >= 4096 {
                        break;
                    }
                    next = handle.events.try_recv().ok();
                }
                if let Some(end) = end {
                    break end;
                }
            }
        }
    };
    let missed = handle.dropped_messages();
    handle.shutdown().await;
    if progress {
        let _ = write!(io::stderr(), "\r\x1b[K");
    }
    let stats = recorder.finish();
    if let Outcome::DiskFailed(why) | Outcome::GaveUp(why) = &outcome {
        eprintln_line(why);
    }
    if !args.quiet || stats.failure().is_some() {
        eprintln_line(&summary(&stats, started.elapsed(), &args.output));
    }
    if missed > 0 {
        eprintln_line(&format!(
            "{missed} messages were dropped before they could be recorded: recording could \
             not keep up with the broker (a faster disk, no compression, or a narrower -t helps)"
        ));
    }
    Ok(match outcome {
        Outcome::Done => ExitCode::SUCCESS,
        Outcome::Signal(signal) => crate::signals::exit_code(signal),
        Outcome::DiskFailed(_) | Outcome::GaveUp(_) => ExitCode::FAILURE,
    })
}

/// The connection (subscribed as the explorer is: publishers' retain flags kept), the file's
/// header and how to write it; a missing output directory is a usage error.
fn prepare(
    args: &RecordArgs,
) -> anyhow::Result<(crate::broker::BrokerOptions, Header, RecordOptions)> {
    let mut opts = args.connect.to_options()?;
    super::warn_if_insecure(&opts);
    opts.subscriptions = args
        .subscribe
        .filters
        .iter()
        .map(|f| {
            let mut s = crate::broker::Subscription::new(f.clone(), args.subscribe.qos);
            s.retain_as_published = true;
            s
        })
        .collect();
    opts.packet_log = args.packets;
    let header = Header::new(
        &opts.target.to_string(),
        args.subscribe.filters.clone(),
        std::time::SystemTime::now(),
        args.packets,
    );
    if let Some(dir) = args.output.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            return Err(crate::cli::UsageError(format!(
                "-o {}: the directory {} does not exist",
                args.output.display(),
                dir.display()
            ))
            .into());
        }
    }
    let record_opts = RecordOptions {
        max_size: args.max_size.map(|s| s as u64),
        packets: args.packets,
    };
    Ok((opts, header, record_opts))
}

enum Outcome {
    Done,
    Signal(i32),
    DiskFailed(String),
    GaveUp(String),
}

/// Records one event; says when recording should end.
fn record(
    recorder: &mut Recorder,
    event: &BrokerEvent,
    args: &RecordArgs,
    progress: bool,
) -> Option<Outcome> {
    recorder.event(event);
    match event {
        BrokerEvent::Message(_) => {
            let n = recorder.stats().messages.load(Ordering::Relaxed);
            args.count.is_some_and(|c| n >= c).then_some(Outcome::Done)
        }
        BrokerEvent::Lifecycle(l) => {
            if !args.quiet {
                // The subscription is shown too: from then on, nothing is missed.
                let verbose = matches!(l.kind, LifecycleKind::Subscribed(_));
                if let Some(line) = super::render::lifecycle_text(l, verbose) {
                    if progress {
                        // Above the progress line, which the next tick redraws.
                        let _ = write!(io::stderr(), "\r\x1b[K");
                    }
                    eprintln_line(&line);
                }
            }
            match &l.kind {
                LifecycleKind::GaveUp { cause, .. } => Some(Outcome::GaveUp(format!(
                    "recording ended: the broker cannot be reached ({})",
                    cause.code()
                ))),
                _ => None,
            }
        }
        _ => None,
    }
}

#[derive(Default)]
struct Progress {
    last: Option<Instant>,
    last_messages: u64,
    rate: f64,
}

impl Progress {
    fn show(&mut self, stats: &RecorderStats, elapsed: Duration) {
        let now = Instant::now();
        let messages = stats.messages.load(Ordering::Relaxed);
        if let Some(last) = self.last {
            let secs = now.duration_since(last).as_secs_f64();
            if secs > 0.0 {
                #[expect(clippy::cast_precision_loss, reason = "a displayed rate")]
                let instant = (messages - self.last_messages) as f64 / secs;
                self.rate = 0.7 * self.rate + 0.3 * instant;
            }
        }
        self.last = Some(now);
        self.last_messages = messages;
        let dropped = stats.dropped.load(Ordering::Relaxed);
        let dropped = if dropped > 0 {
            format!(" · {dropped} lines DROPPED (disk too slow)")
        } else {
            String::new()
        };
        let _ = write!(
            io::stderr(),
            "\r\x1b[K● REC {} messages · {} written · {:.0} msg/s · {}{dropped}",
            messages,
            crate::size::human(stats.written.load(Ordering::Relaxed)),
            self.rate,
            super::render::elapsed(elapsed)
        );
        let _ = io::stderr().flush();
    }
}

fn summary(stats: &RecorderStats, elapsed: Duration, path: &std::path::Path) -> String {
    let dropped = stats.dropped.load(Ordering::Relaxed);
    let lines = stats.lines.load(Ordering::Relaxed);
    let messages = stats.messages.load(Ordering::Relaxed);
    let written = crate::size::human(stats.written.load(Ordering::Relaxed));
    let elapsed = super::render::elapsed(elapsed);
    let path = path.display();
    if stats.failure().is_some() {
        return format!(
            "wrote {lines} lines ({written}) to {path} in {elapsed} before the disk failed; \
             {messages} messages had arrived; every complete line in the file reads back"
        );
    }
    format!(
        "recorded {messages} messages ({lines} lines) in {elapsed} to {path} ({written} on disk){}",
        if dropped > 0 {
            format!("; {dropped} lines dropped because the disk could not keep up")
        } else {
            String::new()
        }
    )
}
