//! What the proxy knows per client id, built from [`ProxyEvent`]s alone (no clock reads, no
//! I/O): connections, the gaps between a drop and the next CONNECT, subscriptions and their
//! grants, keep-alive, QoS 1/2 messages left unacknowledged at a drop and re-sent after it,
//! and id collisions. From that, the [`Verdict`] on the client's behaviour.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use super::hello::Hello;
#[cfg(test)]
use super::verdict::Pattern;
use super::verdict::{self, Backoff};
use super::{Closing, Counters, End, EventKind, ProxyEvent};

/// Client ids remembered at most; the longest-offline ones go first.
const MAX_CLIENTS: usize = 10_000;
/// Gaps remembered per client.
const MAX_GAPS: usize = 256;
/// After a reconnect without a session, how long the client has to subscribe again.
pub const RESUBSCRIBE_WINDOW: Duration = Duration::from_secs(10);
/// A dropped client that has not come back for this long (and 3× its longest gap) gave up.
pub const GAVE_UP_AFTER: Duration = Duration::from_secs(10);

/// What a client did, for the timeline and `--json`.
#[derive(Debug, Clone)]
pub enum ClientWhat {
    Connect {
        hello: Hello,
        peer: Option<SocketAddr>,
    },
    Connack {
        code: u8,
        session_present: bool,
    },
    /// Filters with the QoS asked for and the broker's grant (a code ≥ 0x80 is a refusal).
    Subscribed(Vec<(String, u8, u8)>),
    Unsubscribed(Vec<String>),
    Disconnect(Closing),
}

/// One thing a client did.
#[derive(Debug, Clone)]
pub struct ClientEvent {
    pub conn: u64,
    pub client_id: String,
    pub at: SystemTime,
    pub what: ClientWhat,
}

/// What the tracker says after an event.
#[derive(Debug, Clone)]
pub enum Output {
    Client(ClientEvent),
    Verdict(Verdict),
}

/// The grade of one client's behaviour.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub client_id: String,
    pub connections: u32,
    /// The gaps graded: those of the longest outage (from a drop to a working connection),
    /// or all of them when no outage had three.
    pub gaps_ms: Vec<u64>,
    /// Every gap, one list per outage.
    pub outages: Vec<Vec<u64>>,
    pub backoff: Backoff,
    /// After a reconnect that did not resume a session: did it subscribe again?
    pub resubscribed: Option<bool>,
    pub missing: Vec<String>,
    pub keep_alive: Option<u16>,
    pub keepalive_ok: Option<bool>,
    pub longest_silence_ms: u64,
    pub ping_interval_ms: Option<u64>,
    pub unacked_at_drop: u32,
    pub resent_dup: u32,
    pub collisions: u32,
}

/// The client's connection state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// CONNECT seen, no successful CONNACK yet.
    Connecting,
    Connected,
    Offline,
}

/// Everything known about one client id.
#[derive(Debug, Clone)]
pub struct Client {
    pub id: String,
    pub hello: Option<Hello>,
    pub peer: Option<SocketAddr>,
    pub state: State,
    pub connections: u32,
    pub live: u32,
    pub last_activity: Instant,
    /// When and how the last connection ended, if it was a drop (not a clean client close).
    last_drop: Option<Instant>,
    /// Gaps per outage: a successful CONNACK ends one (a backoff usually starts over).
    outages: VecDeque<Vec<u64>>,
    /// Filter → granted QoS, for the current session.
    pub subscriptions: BTreeMap<String, u8>,
    expecting: Option<Expecting>,
    resubscribed: Option<bool>,
    missing: Vec<String>,
    keepalive_ok: Option<bool>,
    longest_silence: Duration,
    ping_interval: Option<Duration>,
    unacked_at_drop: u32,
    awaiting_resend: BTreeSet<u16>,
    resent_dup: u32,
    collisions: u32,
    /// Totals over closed connections, and the last counters of live ones.
    closed_totals: Counters,
    live_counters: HashMap<u64, Counters>,
    last_verdict: Option<Verdict>,
}

#[derive(Debug, Clone)]
struct Expecting {
    conn: u64,
    filters: BTreeSet<String>,
    since: Instant,
}

impl Client {
    fn new(id: String, now: Instant) -> Self {
        Self {
            id,
            hello: None,
            peer: None,
            state: State::Offline,
            connections: 0,
            live: 0,
            last_activity: now,
            last_drop: None,
            outages: VecDeque::new(),
            subscriptions: BTreeMap::new(),
            expecting: None,
            resubscribed: None,
            missing: Vec::new(),
            keepalive_ok: None,
            longest_silence: Duration::ZERO,
            ping_interval: None,
            unacked_at_drop: 0,
            awaiting_resend: BTreeSet::new(),
            resent_dup: 0,
            collisions: 0,
            closed_totals: Counters::default(),
            live_counters: HashMap::new(),
            last_verdict: None,
        }
    }

    /// Messages and bytes each way over all connections.
    pub fn totals(&self) -> Counters {
        let mut t = self.closed_totals;
        for c in self.live_counters.values() {
            t.msgs_up += c.msgs_up;
            t.msgs_down += c.msgs_down;
            t.bytes_up += c.bytes_up;
            t.bytes_down += c.bytes_down;
        }
        t
    }

    /// The verdict as of `now`; `at_exit` relaxes the wait before calling a client gone.
    pub fn verdict(&self, now: Instant, at_exit: bool) -> Verdict {
        let all: Vec<u64> = self.outages.iter().flatten().copied().collect();
        // The longest outage, the latest of equals.
        let longest_outage = self
            .outages
            .iter()
            .rev()
            .max_by_key(|o| o.len())
            .cloned()
            .unwrap_or_default();
        let gaps = if longest_outage.len() >= 3 {
            longest_outage
        } else {
            all
        };
        let longest = gaps.iter().copied().max().unwrap_or(0);
        let gave_up = self.live == 0
            && self.last_drop.is_some_and(|t| {
                let waited = now.saturating_duration_since(t);
                let floor = if at_exit {
                    Duration::from_secs(2)
                } else {
                    GAVE_UP_AFTER
                };
                waited >= floor && waited >= Duration::from_millis(longest.saturating_mul(3))
            });
        let backoff = verdict::grade(&gaps, gave_up);
        Verdict {
            client_id: self.id.clone(),
            connections: self.connections,
            gaps_ms: gaps,
            outages: self
                .outages
                .iter()
                .filter(|o| !o.is_empty())
                .cloned()
                .collect(),
            backoff,
            resubscribed: self.resubscribed,
            missing: self.missing.clone(),
            keep_alive: self.hello.as_ref().map(|h| h.keep_alive),
            keepalive_ok: self.keepalive_ok,
            longest_silence_ms: millis(self.longest_silence),
            ping_interval_ms: self.ping_interval.map(millis),
            unacked_at_drop: self.unacked_at_drop,
            resent_dup: self.resent_dup,
            collisions: self.collisions,
        }
    }

    fn silence(&mut self, c: &Counters, up_for: Duration) {
        self.longest_silence = self.longest_silence.max(c.longest_silence);
        if c.ping_interval.is_some() {
            self.ping_interval = c.ping_interval;
        }
        let Some(ka) = self.hello.as_ref().map(|h| h.keep_alive).filter(|k| *k > 0) else {
            return;
        };
        // The broker may close a client silent for 1.5 × its keep-alive.
        let limit = Duration::from_millis(u64::from(ka) * 1500);
        if c.longest_silence > limit {
            self.keepalive_ok = Some(false);
        } else if up_for >= Duration::from_secs(u64::from(ka)) && self.keepalive_ok.is_none() {
            self.keepalive_ok = Some(true);
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Per-connection facts.
#[derive(Debug, Clone)]
struct Conn {
    peer: Option<SocketAddr>,
    client: Option<String>,
    /// SUBSCRIBEs waiting for their SUBACK: pkid → (filter, requested QoS).
    subscribing: HashMap<u16, Vec<(String, u8)>>,
}

/// Every client the proxy has seen.
#[derive(Debug, Default)]
pub struct Clients {
    clients: BTreeMap<String, Client>,
    conns: HashMap<u64, Conn>,
}

impl Clients {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get(&self, id: &str) -> Option<&Client> {
        self.clients.get(id)
    }

    /// Clients in id order.
    pub fn iter(&self) -> impl Iterator<Item = &Client> {
        self.clients.values()
    }

    pub fn len(&self) -> usize {
        self.clients.len()
    }

    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    /// The client id of a connection, once its CONNECT was seen.
    pub fn client_of(&self, conn: u64) -> Option<&str> {
        self.conns.get(&conn)?.client.as_deref()
    }

    /// Takes in one event; returns what clients did and the verdicts that changed.
    #[expect(clippy::too_many_lines, reason = "one arm per event kind")]
    pub fn apply(&mut self, e: &ProxyEvent) -> Vec<Output> {
        let mut out = Vec::new();
        let now = e.mono;
        let mut touched = None;
        match &e.kind {
            EventKind::Accepted { peer, .. } => {
                self.conns.insert(
                    e.conn,
                    Conn {
                        peer: Some(*peer),
                        client: None,
                        subscribing: HashMap::new(),
                    },
                );
            }
            EventKind::Connect(hello) => {
                let id = hello.client_id.clone();
                let conn = self.conns.entry(e.conn).or_insert_with(|| Conn {
                    peer: None,
                    client: None,
                    subscribing: HashMap::new(),
                });
                conn.client = Some(id.clone());
                let peer = conn.peer;
                self.evict();
                let c = self
                    .clients
                    .entry(id.clone())
                    .or_insert_with(|| Client::new(id.clone(), now));
                if c.live > 0 {
                    c.collisions += 1;
                } else if let Some(dropped) = c.last_drop.take() {
                    if c.outages.is_empty() {
                        c.outages.push_back(Vec::new());
                    }
                    if let Some(current) = c.outages.back_mut() {
                        current.push(millis(now.saturating_duration_since(dropped)));
                    }
                    while c.outages.iter().map(Vec::len).sum::<usize>() > MAX_GAPS {
                        c.outages.pop_front();
                    }
                }
                c.connections += 1;
                c.live += 1;
                c.state = State::Connecting;
                c.hello = Some(hello.clone());
                c.peer = peer;
                c.last_activity = now;
                c.live_counters.insert(e.conn, Counters::default());
                out.push(Output::Client(ClientEvent {
                    conn: e.conn,
                    client_id: id.clone(),
                    at: e.at,
                    what: ClientWhat::Connect {
                        hello: hello.clone(),
                        peer,
                    },
                }));
                touched = Some(id);
            }
            EventKind::Connack {
                code,
                session_present,
            } => {
                if let Some((id, c)) = self.client_mut(e.conn) {
                    if *code == 0 {
                        c.state = State::Connected;
                        if c.outages.back().is_some_and(|o| !o.is_empty()) {
                            c.outages.push_back(Vec::new());
                        }
                        if *session_present {
                            c.expecting = None;
                        } else {
                            let before: BTreeSet<String> =
                                std::mem::take(&mut c.subscriptions).into_keys().collect();
                            if !before.is_empty() {
                                c.expecting = Some(Expecting {
                                    conn: e.conn,
                                    filters: before,
                                    since: now,
                                });
                            }
                        }
                    }
                    out.push(Output::Client(ClientEvent {
                        conn: e.conn,
                        client_id: id.clone(),
                        at: e.at,
                        what: ClientWhat::Connack {
                            code: *code,
                            session_present: *session_present,
                        },
                    }));
                    touched = Some(id);
                }
            }
            EventKind::Subscribe { pkid, filters } => {
                if let Some(conn) = self.conns.get_mut(&e.conn) {
                    conn.subscribing.insert(*pkid, filters.clone());
                }
            }
            EventKind::Suback { pkid, codes } => {
                let asked = self
                    .conns
                    .get_mut(&e.conn)
                    .and_then(|c| c.subscribing.remove(pkid))
                    .unwrap_or_default();
                if let Some((id, c)) = self.client_mut(e.conn) {
                    let mut granted = Vec::new();
                    for (i, (filter, qos)) in asked.into_iter().enumerate() {
                        let code = codes.get(i).copied().unwrap_or(0x80);
                        if code < 0x80 {
                            c.subscriptions.insert(filter.clone(), code);
                            if let Some(x) = c.expecting.as_mut() {
                                x.filters.remove(&filter);
                            }
                        }
                        granted.push((filter, qos, code));
                    }
                    if c.expecting.as_ref().is_some_and(|x| x.filters.is_empty()) {
                        c.expecting = None;
                        c.resubscribed = Some(true);
                        c.missing.clear();
                    }
                    out.push(Output::Client(ClientEvent {
                        conn: e.conn,
                        client_id: id.clone(),
                        at: e.at,
                        what: ClientWhat::Subscribed(granted),
                    }));
                    touched = Some(id);
                }
            }
            EventKind::Unsubscribe { filters, .. } => {
                if let Some((id, c)) = self.client_mut(e.conn) {
                    for f in filters {
                        c.subscriptions.remove(f);
                    }
                    out.push(Output::Client(ClientEvent {
                        conn: e.conn,
                        client_id: id.clone(),
                        at: e.at,
                        what: ClientWhat::Unsubscribed(filters.clone()),
                    }));
                }
            }
            EventKind::Resent { pkid } => {
                if let Some((id, c)) = self.client_mut(e.conn) {
                    if c.awaiting_resend.remove(pkid) {
                        c.resent_dup += 1;
                        touched = Some(id);
                    }
                }
            }
            EventKind::Counters(counters) => {
                if let Some((_, c)) = self.client_mut(e.conn) {
                    c.live_counters.insert(e.conn, *counters);
                    c.last_activity = now;
                }
            }
            EventKind::Closed(closing) => {
                let conn = self.conns.remove(&e.conn);
                let id = conn.as_ref().and_then(|c| c.client.clone());
                if let Some(c) = id.as_ref().and_then(|id| self.clients.get_mut(id)) {
                    let counters = closing.counters;
                    c.live_counters.remove(&e.conn);
                    c.closed_totals.msgs_up += counters.msgs_up;
                    c.closed_totals.msgs_down += counters.msgs_down;
                    c.closed_totals.bytes_up += counters.bytes_up;
                    c.closed_totals.bytes_down += counters.bytes_down;
                    c.live = c.live.saturating_sub(1);
                    if c.live == 0 {
                        c.state = State::Offline;
                    }
                    c.last_activity = now;
                    if is_drop(&closing.end) && c.live == 0 {
                        c.last_drop = Some(now);
                    }
                    if !closing.unacked.is_empty() {
                        c.unacked_at_drop += u32::try_from(closing.unacked.len()).unwrap_or(0);
                        c.awaiting_resend.extend(closing.unacked.iter().copied());
                    }
                    if c.expecting.as_ref().is_some_and(|x| x.conn == e.conn) {
                        fail_resubscribe(c);
                    }
                    c.silence(&counters, closing.up_for);
                    out.push(Output::Client(ClientEvent {
                        conn: e.conn,
                        client_id: c.id.clone(),
                        at: e.at,
                        what: ClientWhat::Disconnect(closing.clone()),
                    }));
                }
                touched = id;
            }
            EventKind::Upstream(_)
            | EventKind::Packet(_)
            | EventKind::Garbage { .. }
            | EventKind::Fault(_) => {}
        }
        if let Some(id) = touched {
            out.extend(self.changed(&id, now, false));
        }
        out
    }

    /// Applies the passage of time: resubscription windows that closed, clients that gave up.
    pub fn tick(&mut self, now: Instant) -> Vec<Output> {
        let mut ids = Vec::new();
        for c in self.clients.values_mut() {
            if c.expecting
                .as_ref()
                .is_some_and(|x| now.saturating_duration_since(x.since) >= RESUBSCRIBE_WINDOW)
            {
                fail_resubscribe(c);
            }
            let gone = c.live == 0 && c.last_drop.is_some();
            let resubscribe_failed = c.resubscribed == Some(false)
                && c.last_verdict
                    .as_ref()
                    .is_some_and(|v| v.resubscribed != Some(false));
            if gone || resubscribe_failed {
                ids.push(c.id.clone());
            }
        }
        ids.into_iter()
            .filter_map(|id| self.changed(&id, now, false))
            .collect()
    }

    /// Every client's verdict, for the end of a run.
    pub fn final_verdicts(&mut self, now: Instant) -> Vec<Verdict> {
        for c in self.clients.values_mut() {
            if c.expecting.is_some() {
                fail_resubscribe(c);
            }
        }
        self.clients
            .values()
            .map(|c| c.verdict(now, true))
            .collect()
    }

    fn changed(&mut self, id: &str, now: Instant, at_exit: bool) -> Option<Output> {
        let c = self.clients.get_mut(id)?;
        let v = c.verdict(now, at_exit);
        if c.last_verdict.as_ref() == Some(&v) {
            return None;
        }
        c.last_verdict = Some(v.clone());
        Some(Output::Verdict(v))
    }

    fn client_mut(&mut self, conn: u64) -> Option<(String, &mut Client)> {
        let id = self.conns.get(&conn)?.client.clone()?;
        let c = self.clients.get_mut(&id)?;
        Some((id, c))
    }

    /// Keeps the map bounded: forgets the client offline for longest.
    fn evict(&mut self) {
        if self.clients.len() < MAX_CLIENTS {
            return;
        }
        let oldest = self
            .clients
            .values()
            .filter(|c| c.live == 0)
            .min_by_key(|c| c.last_activity)
            .map(|c| c.id.clone());
        if let Some(id) = oldest {
            self.clients.remove(&id);
        }
    }
}

fn fail_resubscribe(c: &mut Client) {
    if let Some(x) = c.expecting.take() {
        c.resubscribed = Some(false);
        c.missing = x.filters.into_iter().collect();
    }
}

/// Whether an end counts as a drop the client should recover from (a clean close by the
/// client itself does not start a backoff).
pub fn is_drop(end: &End) -> bool {
    !matches!(end, End::ClientClosed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::options::Protocol;

    struct Script {
        clients: Clients,
        t0: Instant,
        outputs: Vec<Output>,
    }

    impl Script {
        fn new() -> Self {
            Self {
                clients: Clients::new(),
                t0: Instant::now(),
                outputs: Vec::new(),
            }
        }

        fn at(&mut self, ms: u64, conn: u64, kind: EventKind) {
            let e = ProxyEvent {
                conn,
                mono: self.t0 + Duration::from_millis(ms),
                at: SystemTime::UNIX_EPOCH + Duration::from_millis(ms),
                kind,
            };
            let out = self.clients.apply(&e);
            self.outputs.extend(out);
        }

        fn connect(&mut self, ms: u64, conn: u64, id: &str, clean: bool) {
            self.at(
                ms,
                conn,
                EventKind::Accepted {
                    peer: "127.0.0.1:5000".parse().expect("addr"),
                    down: false,
                },
            );
            self.at(ms, conn, EventKind::Connect(hello(id, clean)));
        }

        fn close(&mut self, ms: u64, conn: u64, end: End, unacked: Vec<u16>) {
            self.at(
                ms,
                conn,
                EventKind::Closed(Closing {
                    end,
                    up_for: Duration::from_secs(60),
                    unacked,
                    counters: Counters {
                        longest_silence: Duration::from_secs(9),
                        ..Counters::default()
                    },
                }),
            );
        }

        fn verdict(&self, id: &str, ms: u64) -> Verdict {
            self.clients
                .get(id)
                .expect("client")
                .verdict(self.t0 + Duration::from_millis(ms), false)
        }
    }

    fn hello(id: &str, clean: bool) -> Hello {
        Hello {
            client_id: id.into(),
            protocol: Protocol::V311,
            clean_start: clean,
            keep_alive: 10,
            session_expiry: None,
            will: None,
            username: false,
            password: false,
        }
    }

    #[test]
    fn gaps_run_from_a_drop_to_the_next_connect() {
        let mut s = Script::new();
        s.connect(0, 1, "温度-1", true);
        s.close(1000, 1, End::Dropped, vec![]);
        let mut t = 1000;
        for (conn, gap) in [(2, 1000), (3, 1000), (4, 1000)] {
            t += gap;
            s.connect(t, conn, "温度-1", true);
            t += 10;
            s.close(t, conn, End::BrokerDown, vec![]);
        }
        let v = s.verdict("温度-1", t);
        assert_eq!(v.gaps_ms, vec![1000, 1000, 1000]);
        assert_eq!(v.connections, 4);
        assert_eq!(v.backoff.pattern, Pattern::Fixed);
        assert_eq!(v.keepalive_ok, Some(true));
    }

    #[test]
    fn each_outage_is_graded_on_its_own() {
        let mut s = Script::new();
        let mut t = 0;
        let mut conn = 0;
        // Two outages of a doubling backoff that starts over once connected.
        for _ in 0..2 {
            conn += 1;
            s.connect(t, conn, "gw", true);
            connack(&mut s, t + 1, conn, false);
            t += 10_000;
            s.close(t, conn, End::Dropped, vec![]);
            for gap in [250, 500, 1000, 2000] {
                t += gap;
                conn += 1;
                s.connect(t, conn, "gw", true);
                s.close(t, conn, End::BrokerDown, vec![]);
            }
            t += 4000;
        }
        let v = s.verdict("gw", t);
        assert_eq!(v.outages.len(), 2);
        assert_eq!(v.gaps_ms, vec![250, 500, 1000, 2000, 4000]);
        assert_eq!(v.backoff.pattern, Pattern::Exponential, "{v:?}");

        // One gap per outage: graded together.
        let mut s = Script::new();
        for i in 0..4u64 {
            s.connect(i * 5000 + 1000, i + 1, "m", true);
            connack(&mut s, i * 5000 + 1001, i + 1, false);
            s.close(i * 5000 + 4000, i + 1, End::Dropped, vec![]);
        }
        let v = s.verdict("m", 20_000);
        assert_eq!(v.gaps_ms, vec![2000, 2000, 2000]);
        assert_eq!(v.backoff.pattern, Pattern::Fixed);
    }

    #[test]
    fn a_clean_client_close_starts_no_gap() {
        let mut s = Script::new();
        s.connect(0, 1, "a", true);
        s.close(100, 1, End::ClientClosed, vec![]);
        s.connect(5000, 2, "a", true);
        assert!(s.verdict("a", 5000).gaps_ms.is_empty());
    }

    #[test]
    fn a_client_that_never_comes_back_is_none() {
        let mut s = Script::new();
        s.connect(0, 1, "été", true);
        s.close(100, 1, End::Dropped, vec![]);
        assert_eq!(s.verdict("été", 1000).backoff.pattern, Pattern::TooFew);
        assert_eq!(s.verdict("été", 20_000).backoff.pattern, Pattern::None);
    }

    fn subscribe(s: &mut Script, ms: u64, conn: u64, filters: &[&str], code: u8) {
        let pkid = u16::try_from(conn).expect("small");
        s.at(
            ms,
            conn,
            EventKind::Subscribe {
                pkid,
                filters: filters.iter().map(|f| ((*f).to_string(), 1)).collect(),
            },
        );
        s.at(
            ms,
            conn,
            EventKind::Suback {
                pkid,
                codes: vec![code; filters.len()],
            },
        );
    }

    fn connack(s: &mut Script, ms: u64, conn: u64, session_present: bool) {
        s.at(
            ms,
            conn,
            EventKind::Connack {
                code: 0,
                session_present,
            },
        );
    }

    #[test]
    fn resubscription_after_a_clean_reconnect_is_checked() {
        let mut s = Script::new();
        s.connect(0, 1, "good", true);
        connack(&mut s, 1, 1, false);
        subscribe(&mut s, 2, 1, &["温度/#", "été/+"], 1);
        s.close(100, 1, End::Dropped, vec![]);
        s.connect(600, 2, "good", true);
        connack(&mut s, 601, 2, false);
        assert_eq!(s.verdict("good", 601).resubscribed, None);
        subscribe(&mut s, 602, 2, &["温度/#", "été/+"], 1);
        assert_eq!(s.verdict("good", 602).resubscribed, Some(true));

        // One that forgets a filter: the window closes and names it.
        s.connect(0, 3, "lazy", true);
        connack(&mut s, 1, 3, false);
        subscribe(&mut s, 2, 3, &["a/#", "🚀/x"], 0);
        s.close(100, 3, End::Dropped, vec![]);
        s.connect(600, 4, "lazy", true);
        connack(&mut s, 601, 4, false);
        subscribe(&mut s, 602, 4, &["a/#"], 0);
        let out = s
            .clients
            .tick(s.t0 + Duration::from_millis(601) + RESUBSCRIBE_WINDOW);
        assert!(
            out.iter()
                .any(|o| matches!(o, Output::Verdict(v) if v.client_id == "lazy"))
        );
        let v = s.verdict("lazy", 20_000);
        assert_eq!(v.resubscribed, Some(false));
        assert_eq!(v.missing, vec!["🚀/x".to_string()]);
    }

    #[test]
    fn a_resumed_session_expects_no_resubscription() {
        let mut s = Script::new();
        s.connect(0, 1, "p", false);
        connack(&mut s, 1, 1, false);
        subscribe(&mut s, 2, 1, &["x/#"], 1);
        s.close(100, 1, End::Dropped, vec![]);
        s.connect(600, 2, "p", false);
        connack(&mut s, 601, 2, true);
        s.clients.tick(s.t0 + Duration::from_secs(30));
        assert_eq!(s.verdict("p", 30_000).resubscribed, None);
    }

    #[test]
    fn unacked_publishes_are_counted_and_their_resends_matched() {
        let mut s = Script::new();
        s.connect(0, 1, "q", false);
        s.close(100, 1, End::Dropped, vec![7, 8]);
        s.connect(600, 2, "q", false);
        s.at(601, 2, EventKind::Resent { pkid: 7 });
        s.at(602, 2, EventKind::Resent { pkid: 99 });
        let v = s.verdict("q", 700);
        assert_eq!((v.unacked_at_drop, v.resent_dup), (2, 1));
    }

    #[test]
    fn two_live_connections_with_one_id_are_a_collision() {
        let mut s = Script::new();
        s.connect(0, 1, "twin", true);
        s.connect(50, 2, "twin", true);
        assert_eq!(s.verdict("twin", 60).collisions, 1);
        assert!(s.verdict("twin", 60).gaps_ms.is_empty());
    }

    #[test]
    fn keepalive_overrun_is_reported() {
        let mut s = Script::new();
        s.connect(0, 1, "sleepy", true);
        s.at(
            20_000,
            1,
            EventKind::Closed(Closing {
                end: End::BrokerClosed(None),
                up_for: Duration::from_secs(20),
                unacked: vec![],
                counters: Counters {
                    longest_silence: Duration::from_secs(16),
                    ..Counters::default()
                },
            }),
        );
        assert_eq!(s.verdict("sleepy", 20_000).keepalive_ok, Some(false));
    }

    #[test]
    fn verdicts_are_reported_only_when_they_change() {
        let mut s = Script::new();
        s.connect(0, 1, "v", true);
        let before = s
            .outputs
            .iter()
            .filter(|o| matches!(o, Output::Verdict(_)))
            .count();
        s.at(10, 1, EventKind::Counters(Counters::default()));
        let after = s
            .outputs
            .iter()
            .filter(|o| matches!(o, Output::Verdict(_)))
            .count();
        assert_eq!(before, after);
        assert_eq!(before, 1);
    }
}
