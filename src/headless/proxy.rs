//! `mqscope proxy` without its screen: JSON lines (`--json`) or plain lines when the output is
//! not a terminal, final verdicts at exit, `--report FILE`.

use std::io::{self, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

use crate::cli::{ProxyArgs, UsageError};
use crate::proxy::clients::{ClientWhat, Clients, Output, Verdict};
use crate::proxy::{self, EventKind, ProxyEvent, json};

/// Runs the proxy, printing until a signal ends it.
pub async fn run(args: ProxyArgs) -> anyhow::Result<ExitCode> {
    let settings = args.to_settings(args.packets)?;
    let listen_tls = settings.listen_tls.is_some();
    let target = settings.upstream.target.to_string();
    let mut proxy = proxy::start(settings).await.map_err(|e| UsageError(e.0))?;
    super::sub::eprintln_line(&format!(
        "mqscope proxy: listening on {}{}, forwarding to {target}",
        if listen_tls { "mqtts://" } else { "mqtt://" },
        proxy.local_addr,
    ));
    if args.insecure && args.to.as_ref().is_some_and(|t| t.scheme.uses_tls()) {
        super::sub::eprintln_line(
            "warning: --insecure: the upstream broker's TLS certificate is NOT verified",
        );
    }
    let started = SystemTime::now();
    let mut printer = Printer {
        json: args.json,
        packets: args.packets,
        out: io::BufWriter::new(io::stdout().lock()),
        faults: Vec::new(),
    };
    let mut clients = Clients::new();
    let mut signals = crate::signals::Signals::new()?;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let signal = loop {
        tokio::select! {
            biased;
            signal = signals.recv() => break signal,
            event = proxy.events.recv() => {
                let Some(first) = event else { break 0 };
                let mut next = Some(first);
                while let Some(e) = next.take() {
                    let id = clients.client_of(e.conn).map(str::to_owned);
                    let outputs = clients.apply(&e);
                    printer.event(&e, id.as_deref(), &outputs)?;
                    next = proxy.events.try_recv().ok();
                }
                printer.out.flush()?;
            }
            _ = tick.tick() => {
                let outputs = clients.tick(Instant::now());
                printer.outputs(&outputs)?;
                printer.out.flush()?;
            }
        }
    };
    // Whatever is still queued, then every client's final verdict.
    while let Ok(e) = proxy.events.try_recv() {
        let id = clients.client_of(e.conn).map(str::to_owned);
        let outputs = clients.apply(&e);
        printer.event(&e, id.as_deref(), &outputs)?;
    }
    let verdicts = clients.final_verdicts(Instant::now());
    for v in &verdicts {
        printer.verdict(v)?;
    }
    printer.out.flush()?;
    let dropped = proxy.dropped.load(std::sync::atomic::Ordering::Relaxed);
    if dropped > 0 {
        super::sub::eprintln_line(&format!(
            "{dropped} proxy events were dropped: the output could not keep up"
        ));
    }
    if let Some(path) = &args.report {
        let doc = json::report(
            &target,
            &proxy.local_addr.to_string(),
            started,
            &printer.faults,
            &verdicts,
        );
        let text = serde_json::to_string_pretty(&doc)?;
        std::fs::write(path, text + "\n")
            .map_err(|e| anyhow::anyhow!("--report {}: {e}", path.display()))?;
    }
    Ok(if signal == 0 {
        ExitCode::SUCCESS
    } else {
        crate::signals::exit_code(signal)
    })
}

struct Printer<W: Write> {
    json: bool,
    packets: bool,
    out: W,
    /// Every fault applied, for the report.
    faults: Vec<Value>,
}

impl<W: Write> Printer<W> {
    fn line(&mut self, v: &Value) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, v)?;
        self.out.write_all(b"\n")
    }

    fn text(&mut self, at: SystemTime, who: &str, what: &str) -> io::Result<()> {
        writeln!(
            self.out,
            "{} {} {}",
            crate::broker::json::timestamp(at),
            crate::sanitize::lines(who),
            crate::sanitize::lines(what)
        )
    }

    /// `id`: the connection's client id as known before the event.
    fn event(&mut self, e: &ProxyEvent, id: Option<&str>, outputs: &[Output]) -> io::Result<()> {
        match &e.kind {
            EventKind::Packet(r) if self.packets => {
                let v = json::packet(e, id, r);
                self.line(&v)?;
            }
            EventKind::Fault(f) => {
                let v = json::fault(e, f);
                self.faults.push(v.clone());
                if self.json {
                    self.line(&v)?;
                } else {
                    self.text(e.at, "fault", &f.describe())?;
                }
            }
            EventKind::Garbage { direction, head } => {
                if self.json {
                    self.line(&json::garbage(e, id, *direction, head))?;
                } else {
                    let who = id.unwrap_or("?").to_string();
                    self.text(
                        e.at,
                        &who,
                        &format!("not MQTT ({}): {head}", json::direction(*direction)),
                    )?;
                }
            }
            EventKind::Closed(c) if id.is_none() => {
                // A connection that never sent a CONNECT.
                if self.json {
                    let v = serde_json::json!({
                        "type": "connection", "ts": crate::broker::json::timestamp(e.at),
                        "conn": e.conn, "cause": c.end.code(), "detail": c.end.describe(),
                    });
                    self.line(&v)?;
                } else {
                    self.text(e.at, &format!("#{}", e.conn), &c.end.describe())?;
                }
            }
            _ => {}
        }
        self.outputs(outputs)
    }

    fn outputs(&mut self, outputs: &[Output]) -> io::Result<()> {
        for o in outputs {
            match o {
                Output::Client(c) => {
                    if self.json {
                        self.line(&json::client_event(c))?;
                    } else {
                        let what = describe(&c.what);
                        self.text(c.at, &c.client_id, &what)?;
                    }
                }
                Output::Verdict(v) => self.verdict(v)?,
            }
        }
        Ok(())
    }

    fn verdict(&mut self, v: &Verdict) -> io::Result<()> {
        if self.json {
            self.line(&json::verdict(v))
        } else {
            self.text(SystemTime::now(), &v.client_id, &verdict_text(v))
        }
    }
}

/// A client event in words.
pub fn describe(what: &ClientWhat) -> String {
    match what {
        ClientWhat::Connect { hello, peer } => format!(
            "CONNECT from {} v{} keep-alive {}s clean_start={}{}{}",
            peer.map_or_else(|| "?".into(), |p| p.to_string()),
            hello.protocol.as_str(),
            hello.keep_alive,
            hello.clean_start,
            hello
                .session_expiry
                .map_or_else(String::new, |s| format!(" session_expiry={s}s")),
            hello.will.as_ref().map_or_else(String::new, |w| format!(
                " will={} q{}{}",
                w.topic,
                w.qos,
                if w.retain { " retained" } else { "" }
            )),
        ),
        ClientWhat::Connack {
            code,
            session_present,
        } => format!("CONNACK {code:#04x} session_present={session_present}"),
        ClientWhat::Subscribed(list) => format!(
            "SUBSCRIBE {}",
            list.iter()
                .map(|(f, q, code)| if *code < 0x80 {
                    format!("{f} q{q}→granted q{code}")
                } else {
                    format!("{f} q{q}→REFUSED {code:#04x}")
                })
                .collect::<Vec<_>>()
                .join(", ")
        ),
        ClientWhat::Unsubscribed(list) => format!("UNSUBSCRIBE {}", list.join(", ")),
        ClientWhat::Disconnect(c) => format!(
            "closed after {}: {}{}",
            crate::proxy::faults::dur(c.up_for),
            c.end.describe(),
            if c.unacked.is_empty() {
                String::new()
            } else {
                format!(" ({} QoS>0 publish unacknowledged)", c.unacked.len())
            }
        ),
    }
}

/// A verdict in words.
pub fn verdict_text(v: &Verdict) -> String {
    let yes_no = |b: Option<bool>| match b {
        Some(true) => "yes",
        Some(false) => "NO",
        None => "n/a",
    };
    format!(
        "verdict: {} connections; backoff {}; resubscribed {}{}; keep-alive kept {}; \
         unacked at drop {}, re-sent with DUP {}; id collisions {}",
        v.connections,
        v.backoff.describe(),
        yes_no(v.resubscribed),
        if v.missing.is_empty() {
            String::new()
        } else {
            format!(" (missing {})", v.missing.join(", "))
        },
        yes_no(v.keepalive_ok),
        v.unacked_at_drop,
        v.resent_dup,
        v.collisions
    )
}
