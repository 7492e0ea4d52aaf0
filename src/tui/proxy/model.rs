//! The proxy screen's state and its pure update step: the clients (with their verdicts), a
//! bounded timeline and packet log per client, the fault knobs as last applied, the keys.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant, SystemTime};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::broker::event::PacketRecord;
use crate::proxy::clients::{ClientWhat, Clients, Output};
use crate::proxy::faults::Fault;
use crate::proxy::{EventKind, ProxyEvent};

/// Timeline entries kept per client.
const TIMELINE: usize = 500;
/// Packet records kept per client.
const PACKETS: usize = 2000;
/// The step of `+` and `-` on the delay.
pub const DELAY_STEP: Duration = Duration::from_millis(100);

/// How an entry reads: fine, worth a look, bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Info,
    Ok,
    Warn,
    Bad,
}

/// One line of a client's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub at: SystemTime,
    pub tone: Tone,
    pub text: String,
}

/// The faults as the screen shows them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Knobs {
    pub delay: Duration,
    pub jitter: Duration,
    pub bandwidth: Option<u64>,
    pub down: bool,
    pub black_hole: bool,
}

/// What the update step asks the loop to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Quit,
    DropAll,
    SetDown(bool),
    SetBlackHole(bool),
    SetDelay(Duration, Duration),
}

/// Something for the update step.
#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    Event(ProxyEvent),
    /// A fault the loop applied (from a key), with when.
    Applied(Fault, SystemTime),
    Tick(Instant),
}

/// The whole screen state.
#[derive(Debug)]
pub struct ProxyModel {
    pub listen: String,
    pub target: String,
    pub clients: Clients,
    /// The selected client id.
    pub selected: Option<String>,
    pub timelines: HashMap<String, VecDeque<Entry>>,
    pub packets: HashMap<String, VecDeque<PacketRecord>>,
    /// Faults, for every client's timeline and the status bar.
    pub faults: VecDeque<Entry>,
    pub knobs: Knobs,
    pub help: bool,
    /// Connections that ended before any CONNECT (garbage, TLS failures, port scans).
    pub anonymous: u64,
    pub last_anonymous: Option<Entry>,
    /// The connection the last garbage came from.
    garbage_conn: Option<u64>,
}

impl ProxyModel {
    pub fn new(listen: String, target: String, knobs: Knobs) -> Self {
        Self {
            listen,
            target,
            clients: Clients::new(),
            selected: None,
            timelines: HashMap::new(),
            packets: HashMap::new(),
            faults: VecDeque::new(),
            knobs,
            help: false,
            anonymous: 0,
            last_anonymous: None,
            garbage_conn: None,
        }
    }

    /// Client ids in display order.
    pub fn ids(&self) -> Vec<&str> {
        self.clients.iter().map(|c| c.id.as_str()).collect()
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Command> {
        match msg {
            Msg::Key(key) => self.key(key),
            Msg::Event(e) => {
                self.event(&e);
                Vec::new()
            }
            Msg::Applied(fault, at) => {
                self.fault(&fault, at);
                Vec::new()
            }
            Msg::Tick(now) => {
                let outputs = self.clients.tick(now);
                self.outputs(&outputs);
                Vec::new()
            }
        }
    }

    fn key(&mut self, key: KeyEvent) -> Vec<Command> {
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return vec![Command::Quit];
        }
        if self.help {
            self.help = false;
            return Vec::new();
        }
        let k = self.knobs;
        match key.code {
            KeyCode::Char('q') => vec![Command::Quit],
            KeyCode::Char('?') => {
                self.help = true;
                Vec::new()
            }
            KeyCode::Down | KeyCode::Char('j') => {
                self.step(1);
                Vec::new()
            }
            KeyCode::Up | KeyCode::Char('k') => {
                self.step(-1);
                Vec::new()
            }
            KeyCode::Char('d') => vec![Command::DropAll],
            KeyCode::Char('b') => vec![Command::SetDown(!k.down)],
            KeyCode::Char('h') => vec![Command::SetBlackHole(!k.black_hole)],
            KeyCode::Char('+' | '=') => vec![Command::SetDelay(k.delay + DELAY_STEP, k.jitter)],
            KeyCode::Char('-') => {
                let delay = k.delay.saturating_sub(DELAY_STEP);
                vec![Command::SetDelay(delay, k.jitter.min(delay))]
            }
            _ => Vec::new(),
        }
    }

    fn step(&mut self, by: isize) {
        let ids = self.ids();
        if ids.is_empty() {
            return;
        }
        let at = self
            .selected
            .as_deref()
            .and_then(|s| ids.iter().position(|i| *i == s))
            .unwrap_or(0);
        let next = at.saturating_add_signed(by).min(ids.len() - 1);
        self.selected = Some(ids[next].to_string());
    }

    fn event(&mut self, e: &ProxyEvent) {
        let id = self.clients.client_of(e.conn).map(str::to_owned);
        let outputs = self.clients.apply(e);
        match &e.kind {
            EventKind::Packet(r) => {
                if let Some(id) = id.or_else(|| self.clients.client_of(e.conn).map(str::to_owned)) {
                    let log = self.packets.entry(id).or_default();
                    log.push_back(r.clone());
                    if log.len() > PACKETS {
                        log.pop_front();
                    }
                }
            }
            EventKind::Fault(f) => self.fault(f, e.at),
            EventKind::Upstream(r) => {
                if let (Some(id), Err(cause)) = (&id, &r.result) {
                    let text = format!("upstream {:?} failed: {}", r.stage, cause.kind.code());
                    self.push(id, e.at, Tone::Bad, text);
                }
            }
            EventKind::Garbage { direction, head } => {
                let text = format!(
                    "not MQTT ({}): {head}",
                    crate::proxy::json::direction(*direction)
                );
                if let Some(id) = &id {
                    self.push(id, e.at, Tone::Bad, text);
                } else {
                    self.garbage_conn = Some(e.conn);
                    self.last_anonymous = Some(Entry {
                        at: e.at,
                        tone: Tone::Bad,
                        text,
                    });
                }
            }
            EventKind::Closed(c) if id.is_none() => {
                self.anonymous += 1;
                // Garbage seen on this connection says more than how it closed.
                if self.garbage_conn != Some(e.conn) {
                    self.last_anonymous = Some(Entry {
                        at: e.at,
                        tone: Tone::Warn,
                        text: c.end.describe(),
                    });
                }
            }
            _ => {}
        }
        self.outputs(&outputs);
    }

    fn outputs(&mut self, outputs: &[Output]) {
        for o in outputs {
            let Output::Client(c) = o else { continue };
            if self.selected.is_none() {
                self.selected = Some(c.client_id.clone());
            }
            let tone = match &c.what {
                ClientWhat::Connect { .. } | ClientWhat::Unsubscribed(_) => Tone::Info,
                ClientWhat::Connack { code, .. } => {
                    if *code == 0 {
                        Tone::Ok
                    } else {
                        Tone::Bad
                    }
                }
                ClientWhat::Subscribed(list) => {
                    if list.iter().any(|(_, _, code)| *code >= 0x80) {
                        Tone::Warn
                    } else {
                        Tone::Ok
                    }
                }
                ClientWhat::Disconnect(closing) => match closing.end {
                    crate::proxy::End::ClientClosed => Tone::Info,
                    _ => Tone::Bad,
                },
            };
            let text = crate::headless::proxy::describe(&c.what);
            self.push(&c.client_id, c.at, tone, text);
        }
    }

    fn fault(&mut self, f: &Fault, at: SystemTime) {
        match f {
            Fault::BrokerDown { .. } => self.knobs.down = true,
            Fault::BrokerUp => self.knobs.down = false,
            Fault::BlackHole(on) => self.knobs.black_hole = *on,
            Fault::Delay { delay, jitter } => {
                self.knobs.delay = *delay;
                self.knobs.jitter = *jitter;
            }
            Fault::Bandwidth(rate) => self.knobs.bandwidth = *rate,
            Fault::DropAll { .. } | Fault::ConnectionBlackHoled { .. } => {}
        }
        let entry = Entry {
            at,
            tone: Tone::Warn,
            text: format!("fault: {}", f.describe()),
        };
        self.faults.push_back(entry);
        if self.faults.len() > TIMELINE {
            self.faults.pop_front();
        }
    }

    fn push(&mut self, id: &str, at: SystemTime, tone: Tone, text: String) {
        let t = self.timelines.entry(id.to_string()).or_default();
        t.push_back(Entry { at, tone, text });
        if t.len() > TIMELINE {
            t.pop_front();
        }
    }

    /// The selected client's timeline merged with the faults, in time order.
    pub fn timeline(&self) -> Vec<&Entry> {
        let mut all: Vec<&Entry> = self.faults.iter().collect();
        if let Some(t) = self.selected.as_ref().and_then(|id| self.timelines.get(id)) {
            all.extend(t.iter());
        }
        all.sort_by_key(|e| e.at);
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::hello::Hello;
    use crate::proxy::{Closing, Counters, End};

    pub(crate) fn hello(id: &str) -> Hello {
        Hello {
            client_id: id.into(),
            protocol: crate::broker::options::Protocol::V5,
            clean_start: true,
            keep_alive: 30,
            session_expiry: None,
            will: None,
            username: false,
            password: false,
        }
    }

    fn ev(conn: u64, secs: u64, kind: EventKind) -> Msg {
        Msg::Event(ProxyEvent {
            conn,
            mono: Instant::now(),
            at: SystemTime::UNIX_EPOCH + Duration::from_secs(secs),
            kind,
        })
    }

    fn key(c: char) -> Msg {
        Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
    }

    #[test]
    fn the_first_client_is_selected_and_arrows_move() {
        let mut m = ProxyModel::new("l".into(), "t".into(), Knobs::default());
        m.update(ev(1, 1, EventKind::Connect(hello("b-温度"))));
        m.update(ev(2, 2, EventKind::Connect(hello("a-été"))));
        assert_eq!(m.selected.as_deref(), Some("b-温度"));
        m.update(key('k'));
        assert_eq!(m.selected.as_deref(), Some("a-été"));
        m.update(key('j'));
        m.update(key('j'));
        assert_eq!(m.selected.as_deref(), Some("b-温度"));
    }

    #[test]
    fn fault_keys_ask_the_loop_and_applied_faults_show() {
        let mut m = ProxyModel::new("l".into(), "t".into(), Knobs::default());
        assert_eq!(m.update(key('d')), vec![Command::DropAll]);
        assert_eq!(m.update(key('b')), vec![Command::SetDown(true)]);
        assert_eq!(m.update(key('h')), vec![Command::SetBlackHole(true)]);
        assert_eq!(
            m.update(key('+')),
            vec![Command::SetDelay(DELAY_STEP, Duration::ZERO)]
        );
        m.update(Msg::Applied(
            Fault::BrokerDown { for_: None },
            SystemTime::UNIX_EPOCH,
        ));
        assert!(m.knobs.down);
        assert_eq!(m.update(key('b')), vec![Command::SetDown(false)]);
        assert_eq!(
            m.update(key('-')),
            vec![Command::SetDelay(Duration::ZERO, Duration::ZERO)]
        );
        assert_eq!(m.update(key('q')), vec![Command::Quit]);
    }

    #[test]
    fn a_drop_lands_in_the_clients_timeline_in_time_order() {
        let mut m = ProxyModel::new("l".into(), "t".into(), Knobs::default());
        m.update(ev(1, 1, EventKind::Connect(hello("c"))));
        m.update(ev(
            0,
            5,
            EventKind::Fault(Fault::DropAll {
                connections: 1,
                scheduled: false,
            }),
        ));
        m.update(ev(
            1,
            5,
            EventKind::Closed(Closing {
                end: End::Dropped,
                up_for: Duration::from_secs(4),
                unacked: vec![],
                counters: Counters::default(),
            }),
        ));
        let t = m.timeline();
        assert_eq!(t.len(), 3);
        assert!(t[0].text.starts_with("CONNECT"));
        assert!(t[1].text.starts_with("fault: dropped 1 connection"));
        assert_eq!(t[2].tone, Tone::Bad);
    }
}
