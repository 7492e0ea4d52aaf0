//! One proxied client connection, from accept to close: name the client by its CONNECT,
//! reach the broker, pump both directions through the faults, and say how it ended.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ClientConfig;

use super::pipe::{self, Hole, PipeEnd, Shaping, Sink, Source};
use super::{Counters, End, EventKind, Events, faults::Fault};
use crate::broker::cause::{Cause, classify_tcp_io};
use crate::broker::event::Direction;
use crate::broker::framer::{CaptureLimits, Framer};
use crate::broker::options::{BrokerOptions, Protocol};
use crate::broker::packet;
use crate::broker::stages::{self, BoxStream, Upstream};
use crate::broker::wire::PacketType;

/// How long a client may take to finish its TLS handshake and its CONNECT.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// After one direction ends, how long the other may take to drain.
const GRACE: Duration = Duration::from_secs(2);

/// What every connection shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub upstream: BrokerOptions,
    pub client_tls: Option<Arc<ClientConfig>>,
    pub faults: Arc<super::faults::Faults>,
    pub events: Events,
    pub packets: bool,
}

/// Serves one accepted connection to its end.
#[expect(
    clippy::too_many_lines,
    reason = "the life of a connection, in the order it happens"
)]
pub(crate) async fn serve(
    conn: u64,
    tcp: TcpStream,
    peer: SocketAddr,
    acceptor: Option<TlsAcceptor>,
    shared: Arc<Shared>,
) {
    let started = Instant::now();
    // Held for the connection's life: a drop fault reaches it, and it counts as live.
    let mut drops = shared.faults.drops();
    let down = shared.faults.is_down();
    let events = &shared.events;
    events.emit(conn, EventKind::Accepted { peer, down });
    let watcher = Arc::new(Mutex::new(Watcher::new(shared.packets)));
    let closing = |end: End, watcher: &Mutex<Watcher>| {
        let w = watcher.lock().map(|w| w.closing()).unwrap_or_default();
        events.emit(
            conn,
            EventKind::Closed(super::Closing {
                end,
                up_for: started.elapsed(),
                unacked: w.0,
                counters: w.1,
            }),
        );
    };

    let client: BoxStream = match acceptor {
        None => Box::new(tcp),
        Some(acceptor) => match tokio::time::timeout(HELLO_TIMEOUT, acceptor.accept(tcp)).await {
            Ok(Ok(tls)) => Box::new(tls),
            Ok(Err(e)) => return closing(End::ClientTls(e.to_string()), &watcher),
            Err(_) => {
                let e = format!(
                    "no TLS handshake within {}",
                    super::faults::dur(HELLO_TIMEOUT)
                );
                return closing(End::ClientTls(e), &watcher);
            }
        },
    };
    let (mut client_r, client_w) = tokio::io::split(client);

    // Read up to the end of the CONNECT first: it names the client, also when the "broker"
    // is down or unreachable. Whatever was read goes upstream first.
    let mut first = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    let deadline = tokio::time::Instant::now() + HELLO_TIMEOUT;
    loop {
        let (hello, broken) = watcher
            .lock()
            .map_or((true, true), |w| (w.state.hello_seen, w.broken[0]));
        if hello || broken || first.len() >= 64 * 1024 {
            break;
        }
        match tokio::time::timeout_at(deadline, client_r.read(&mut buf)).await {
            Ok(Ok(0)) => return closing(End::ClientClosed, &watcher),
            Ok(Ok(n)) => {
                observe(&watcher, Direction::Out, &buf[..n], events, conn);
                first.extend_from_slice(&buf[..n]);
            }
            Ok(Err(e)) => return closing(End::ClientError(e.to_string()), &watcher),
            Err(_) => break,
        }
    }
    if down {
        // A dead broker behind a load balancer: accepted, then closed.
        drop((client_r, client_w));
        return closing(End::BrokerDown, &watcher);
    }

    let mut report = |r: stages::StageReport| events.emit(conn, EventKind::Upstream(r));
    let upstream = tokio::select! {
        result = stages::establish(&shared.upstream, shared.client_tls.as_ref(), &mut report) => result,
        _ = drops.changed() => return closing(End::Dropped, &watcher),
    };
    let upstream = match upstream {
        Ok(u) => u,
        Err(cause) => return closing(End::Upstream(cause), &watcher),
    };
    let (up_source, mut up_sink) = match upstream {
        Upstream::Stream(s) => {
            let (r, w) = tokio::io::split(s);
            (Source::Stream(r), Sink::Stream(w))
        }
        Upstream::WebSocket(ws) => {
            use futures_util::StreamExt;
            let (sink, stream) = ws.split();
            (Source::Ws(stream), Sink::Ws(sink))
        }
    };
    let hole = Arc::new(Hole::default());
    // The CONNECT read up front obeys the faults like every later chunk.
    let dark_already = shared
        .faults
        .plan
        .blackhole_after
        .is_some_and(|after| started.elapsed() >= after);
    if shared.faults.is_black_hole() || dark_already {
        hole.set();
    } else if !first.is_empty() {
        let (delay, _) = shared.faults.delay();
        tokio::time::sleep(delay).await;
        if let Err(e) = up_sink.send(bytes::Bytes::from(first)).await {
            return closing(End::Upstream(io_cause(&e)), &watcher);
        }
    }
    let shaping = || Shaping {
        faults: shared.faults.clone(),
        hole: hole.clone(),
    };
    let up = {
        let watcher = watcher.clone();
        let events = events.clone();
        pipe::run(Source::Stream(client_r), up_sink, shaping(), move |c| {
            observe(&watcher, Direction::Out, c, &events, conn);
        })
    };
    let down_pipe = {
        let watcher = watcher.clone();
        let events = events.clone();
        pipe::run(up_source, Sink::Stream(client_w), shaping(), move |c| {
            observe(&watcher, Direction::In, c, &events, conn);
        })
    };
    tokio::pin!(up, down_pipe);
    let black_hole = async {
        match shared.faults.plan.blackhole_after {
            Some(after) => tokio::time::sleep_until((started + after).into()).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(black_hole);
    let mut black_hole_done = false;
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last_counters = Counters::default();
    let end = loop {
        tokio::select! {
            e = &mut up => {
                let _ = tokio::time::timeout(GRACE, &mut down_pipe).await;
                break match e {
                    PipeEnd::Eof => match hole.since() {
                        Some(since) => End::ClosedInBlackHole { after: since.elapsed() },
                        None => End::ClientClosed,
                    },
                    PipeEnd::ReadError(e) => End::ClientError(e.to_string()),
                    PipeEnd::WriteError(e) => End::Upstream(io_cause(&e)),
                };
            }
            e = &mut down_pipe => {
                let _ = tokio::time::timeout(GRACE, &mut up).await;
                break match e {
                    PipeEnd::Eof => End::BrokerClosed(
                        watcher.lock().ok().and_then(|w| w.state.disconnect.clone()),
                    ),
                    PipeEnd::ReadError(e) => End::Upstream(io_cause(&e)),
                    PipeEnd::WriteError(e) => End::ClientError(e.to_string()),
                };
            }
            _ = drops.changed() => break End::Dropped,
            () = &mut black_hole, if !black_hole_done => {
                black_hole_done = true;
                hole.set();
                events.emit(conn, EventKind::Fault(Fault::ConnectionBlackHoled { conn }));
            }
            _ = ticker.tick() => {
                let now = watcher.lock().map(|w| w.state.counters).unwrap_or_default();
                if now != last_counters {
                    last_counters = now;
                    events.emit(conn, EventKind::Counters(now));
                }
            }
        }
    };
    // A client that said DISCONNECT left on purpose, whichever side closed the socket first
    // (the broker often closes at once after a DISCONNECT).
    let said_goodbye = watcher.lock().is_ok_and(|w| w.state.client_disconnected);
    let end = match end {
        End::BrokerClosed(_) | End::ClientError(_) if said_goodbye => End::ClientClosed,
        other => other,
    };
    closing(end, &watcher);
}

fn io_cause(e: &std::io::Error) -> Cause {
    Cause::new(classify_tcp_io(e), e.to_string())
}

fn observe(watcher: &Mutex<Watcher>, dir: Direction, chunk: &[u8], events: &Events, conn: u64) {
    if let Ok(mut w) = watcher.lock() {
        w.observe(dir, chunk, &mut |kind| events.emit(conn, kind));
    }
}

/// Frames both directions of one connection and keeps what the verdicts need.
struct Watcher {
    /// `[client to broker, broker to client]`.
    framers: [Framer; 2],
    broken: [bool; 2],
    started: [bool; 2],
    last_up: Instant,
    state: State,
}

/// What the bytes and packets tell, apart from the framers (borrowed separately while they
/// feed it).
struct State {
    protocol: Option<Protocol>,
    hello_seen: bool,
    packets: bool,
    /// The client's QoS 1/2 PUBLISHes the broker has not acknowledged yet.
    pending: BTreeSet<u16>,
    counters: Counters,
    last_ping: Option<Instant>,
    ping_total: Duration,
    disconnect: Option<(u8, Option<String>)>,
    /// The client sent DISCONNECT.
    client_disconnected: bool,
}

impl Watcher {
    fn new(packets: bool) -> Self {
        let limits = CaptureLimits {
            publish: if packets { 4096 } else { 1024 },
            control: 256 * 1024,
            // Anything is forwarded; the broker decides what is too large.
            max_packet: usize::MAX,
        };
        Self {
            framers: [Framer::new(limits), Framer::new(limits)],
            broken: [false; 2],
            started: [false; 2],
            last_up: Instant::now(),
            state: State {
                protocol: None,
                hello_seen: false,
                packets,
                pending: BTreeSet::new(),
                counters: Counters::default(),
                last_ping: None,
                ping_total: Duration::ZERO,
                disconnect: None,
                client_disconnected: false,
            },
        }
    }

    fn closing(&self) -> (Vec<u16>, Counters) {
        let mut counters = self.state.counters;
        counters.longest_silence = counters.longest_silence.max(self.last_up.elapsed());
        (self.state.pending.iter().copied().collect(), counters)
    }

    fn observe(&mut self, dir: Direction, chunk: &[u8], emit: &mut dyn FnMut(EventKind)) {
        let side = usize::from(dir == Direction::In);
        let len = chunk.len() as u64;
        if dir == Direction::Out {
            let counters = &mut self.state.counters;
            counters.bytes_up += len;
            counters.longest_silence = counters.longest_silence.max(self.last_up.elapsed());
            self.last_up = Instant::now();
        } else {
            self.state.counters.bytes_down += len;
        }
        if self.broken[side] {
            return;
        }
        if !self.started[side] {
            self.started[side] = true;
            // A client must begin with CONNECT, a broker with CONNACK (or AUTH).
            let first = chunk.first().map_or(0, |b| b >> 4);
            let expected: &[u8] = if dir == Direction::Out {
                &[1]
            } else {
                &[2, 15]
            };
            if !expected.contains(&first) {
                self.garbage(dir, chunk, emit);
                return;
            }
        }
        let state = &mut self.state;
        let result = self.framers[side].feed(chunk, &mut |frame| {
            for kind in state.describe(dir, &frame) {
                emit(kind);
            }
        });
        if let Err(e) = result {
            self.broken[side] = true;
            emit(EventKind::Garbage {
                direction: dir,
                head: e.head().to_string(),
            });
        }
    }

    fn garbage(&mut self, dir: Direction, chunk: &[u8], emit: &mut dyn FnMut(EventKind)) {
        let side = usize::from(dir == Direction::In);
        self.broken[side] = true;
        if dir == Direction::Out {
            // No CONNECT is coming: stop waiting for one.
            self.state.hello_seen = true;
        }
        let head: String = chunk
            .iter()
            .take(32)
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" ");
        emit(EventKind::Garbage {
            direction: dir,
            head,
        });
    }
}

impl State {
    /// The events one packet makes.
    fn describe(
        &mut self,
        dir: Direction,
        frame: &crate::broker::framer::Frame<'_>,
    ) -> Vec<EventKind> {
        let mut out = Vec::new();
        let ty = frame.packet_type();
        if ty == PacketType::Connect && dir == Direction::Out {
            self.hello_seen = true;
            if let Some(hello) = super::hello::connect(frame) {
                self.protocol = Some(hello.protocol);
                out.push(EventKind::Connect(hello));
            } else {
                self.protocol = match frame.body.get(6) {
                    Some(5) => Some(Protocol::V5),
                    _ => Some(Protocol::V311),
                };
            }
        }
        let (record, facts) = packet::describe(frame, dir, self.protocol, self.packets);
        let protocol = self.protocol.unwrap_or(Protocol::V311);
        let pkid = || {
            Some(u16::from_be_bytes([
                *frame.body.first()?,
                *frame.body.get(1)?,
            ]))
        };
        match (dir, ty) {
            (Direction::Out, PacketType::Publish) => {
                self.counters.msgs_up += 1;
                if let Some(id) = super::hello::publish_pkid(frame) {
                    self.pending.insert(id);
                    if frame.first & 0x08 != 0 {
                        out.push(EventKind::Resent { pkid: id });
                    }
                }
            }
            (Direction::In, PacketType::Publish) => self.counters.msgs_down += 1,
            (Direction::In, PacketType::Puback | PacketType::Pubrec | PacketType::Pubcomp) => {
                if let Some(id) = pkid() {
                    self.pending.remove(&id);
                }
            }
            (Direction::Out, PacketType::Subscribe) => {
                if let Some((pkid, filters)) = super::hello::subscribe(frame, protocol) {
                    out.push(EventKind::Subscribe { pkid, filters });
                }
            }
            (Direction::Out, PacketType::Unsubscribe) => {
                if let Some((pkid, filters)) = super::hello::unsubscribe(frame, protocol) {
                    out.push(EventKind::Unsubscribe { pkid, filters });
                }
            }
            (Direction::In, PacketType::Suback) => {
                if let Some(pkid) = pkid() {
                    let codes = packet::ack_codes(frame.body, protocol == Protocol::V5);
                    out.push(EventKind::Suback { pkid, codes });
                }
            }
            (Direction::In, PacketType::Connack) => {
                if let Some(c) = facts.connack {
                    out.push(EventKind::Connack {
                        code: c.code,
                        session_present: c.session_present,
                    });
                }
            }
            (Direction::In, PacketType::Disconnect) => {
                self.disconnect = facts.disconnect;
            }
            (Direction::Out, PacketType::Disconnect) => self.client_disconnected = true,
            (Direction::Out, PacketType::Pingreq) => {
                let now = Instant::now();
                if let Some(last) = self.last_ping.replace(now) {
                    self.ping_total += now - last;
                    let n = self.counters.pingreqs.max(1);
                    self.counters.ping_interval = Some(self.ping_total / n);
                }
                self.counters.pingreqs += 1;
            }
            _ => {}
        }
        if let Some(r) = record {
            out.push(EventKind::Packet(r));
        }
        out
    }
}
