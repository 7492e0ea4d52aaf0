//! The proxy's screen: clients, verdict, timeline and packet log of the selected client,
//! fault keys. One loop owns the terminal: keys first, then proxy events (drained in
//! batches), then the frame when something changed, at most 30 times a second.

pub mod model;
pub mod view;

use std::io;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;
use crossterm::event::{Event, EventStream, KeyEventKind};
use futures_util::StreamExt;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

use crate::cli::{ProxyArgs, UsageError};
use crate::proxy::faults::Fault;
use crate::proxy::{EventKind, ProxyEvent};
use model::{Command, Knobs, Msg, ProxyModel};

const FRAME: Duration = Duration::from_millis(33);
/// Events taken in before a frame may be drawn.
const BATCH: usize = 4096;

/// Runs the proxy with its screen until `q` or a signal.
#[expect(
    clippy::too_many_lines,
    reason = "set-up, the loop and the report, in the order they happen"
)]
pub async fn run(args: ProxyArgs, theme: super::theme::Theme) -> anyhow::Result<ExitCode> {
    let settings = args.to_settings(true)?;
    let plan = settings.faults;
    let target = settings.upstream.target.to_string();
    let mut proxy = crate::proxy::start(settings)
        .await
        .map_err(|e| UsageError(e.0))?;
    let listen = proxy.local_addr.to_string();
    let knobs = Knobs {
        delay: plan.delay,
        jitter: plan.jitter,
        bandwidth: plan.bandwidth,
        down: plan.refuse,
        black_hole: false,
    };
    let mut model = ProxyModel::new(listen.clone(), target.clone(), knobs);
    let started = SystemTime::now();
    let mut faults_json = Vec::new();
    let mut signals = crate::signals::Signals::new().context("cannot listen for signals")?;
    let ending = {
        let _guard = super::terminal::TerminalGuard::enter()
            .context("cannot switch the terminal to the proxy's screen")?;
        let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))
            .context("cannot draw on this terminal")?;
        let mut input = EventStream::new();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut dirty = true;
        let mut next_frame = tokio::time::Instant::now();
        loop {
            if dirty && tokio::time::Instant::now() >= next_frame {
                let now = Instant::now();
                terminal.draw(|f| view::render(&model, &theme, now, f))?;
                dirty = false;
                next_frame = tokio::time::Instant::now() + FRAME;
            }
            let frame_due = async {
                if dirty {
                    tokio::time::sleep_until(next_frame).await;
                } else {
                    std::future::pending::<()>().await;
                }
            };
            tokio::select! {
                biased;
                () = super::terminal::panic_notified() => break Ending::Panicked,
                signal = signals.recv() => break Ending::Signal(signal),
                event = input.next() => match event {
                    Some(Ok(Event::Key(key))) if key.kind != KeyEventKind::Release => {
                        let mut quit = false;
                        for command in model.update(Msg::Key(key)) {
                            if command == Command::Quit {
                                quit = true;
                            } else if let Some(fault) = apply(&proxy.faults, command) {
                                let e = ProxyEvent {
                                    conn: 0,
                                    mono: Instant::now(),
                                    at: SystemTime::now(),
                                    kind: EventKind::Fault(fault.clone()),
                                };
                                faults_json.push(crate::proxy::json::fault(&e, &fault));
                                model.update(Msg::Applied(fault, e.at));
                            }
                        }
                        if quit {
                            break Ending::Quit;
                        }
                        dirty = true;
                        next_frame = tokio::time::Instant::now();
                    }
                    Some(Ok(Event::Resize(..))) => dirty = true,
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => break Ending::Quit,
                },
                event = proxy.events.recv() => {
                    let Some(first) = event else { break Ending::Quit };
                    let mut next = Some(first);
                    let mut n = 0;
                    while let Some(e) = next.take() {
                        if let EventKind::Fault(f) = &e.kind {
                            faults_json.push(crate::proxy::json::fault(&e, f));
                        }
                        model.update(Msg::Event(e));
                        n += 1;
                        if n < BATCH {
                            next = proxy.events.try_recv().ok();
                        }
                    }
                    dirty = true;
                }
                _ = tick.tick() => {
                    model.update(Msg::Tick(Instant::now()));
                    dirty = true;
                }
                () = frame_due => {}
            }
        }
    };
    // The terminal is back: say what was found, write the report.
    let verdicts = model.clients.final_verdicts(Instant::now());
    for v in &verdicts {
        crate::headless::sub::eprintln_line(&format!(
            "{}: {}",
            crate::sanitize::lines(&v.client_id),
            crate::headless::proxy::verdict_text(v)
        ));
    }
    if let Some(path) = &args.report {
        let doc = crate::proxy::json::report(&target, &listen, started, &faults_json, &verdicts);
        std::fs::write(path, serde_json::to_string_pretty(&doc)? + "\n")
            .map_err(|e| anyhow::anyhow!("--report {}: {e}", path.display()))?;
    }
    Ok(match ending {
        Ending::Quit => ExitCode::SUCCESS,
        Ending::Signal(s) => crate::signals::exit_code(s),
        Ending::Panicked => ExitCode::from(101),
    })
}

enum Ending {
    Quit,
    Signal(i32),
    Panicked,
}

/// Carries out a fault key; returns the fault applied.
fn apply(faults: &crate::proxy::faults::Faults, command: Command) -> Option<Fault> {
    Some(match command {
        Command::Quit => return None,
        Command::DropAll => {
            let connections = faults.connections();
            faults.drop_all();
            Fault::DropAll {
                connections,
                scheduled: false,
            }
        }
        Command::SetDown(down) => faults.set_down(down, None),
        Command::SetBlackHole(on) => faults.set_black_hole(on),
        Command::SetDelay(delay, jitter) => faults.set_delay(delay, jitter),
    })
}
