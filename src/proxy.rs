//! `mqscope proxy`: stands between MQTT clients and their broker, forwards every byte
//! unchanged, and reports what each client does (its packets, its session, how it reconnects)
//! while injecting the faults it is asked for (delay, jitter, bandwidth, drops, a dead broker,
//! a black hole).
//!
//! The proxy is a source of events like the connection layer: [`start`] returns a receiver of
//! [`ProxyEvent`]s, and the screen, `--json` and the verdicts in [`clients`] all read them.
//!
//! ```text
//!  client ──TCP/TLS──▶ listener ─▶ link (one per connection) ──mqtt/mqtts/ws/wss──▶ broker
//!                                   │ framer: both directions
//!                                   ▼
//!                             ProxyEvent ─▶ Clients (verdicts) ─▶ screen / --json / --report
//! ```

pub mod clients;
pub mod faults;
pub mod hello;
pub mod json;
mod link;
mod pipe;
pub mod verdict;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;

use crate::broker::cause::Cause;
use crate::broker::event::{Direction, PacketRecord};
use crate::broker::options::BrokerOptions;
use crate::broker::stages::StageReport;
use faults::{Fault, FaultPlan, Faults};
use hello::Hello;

/// Everything the proxy needs.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    /// Terminate TLS on the listen side with this certificate and key.
    pub listen_tls: Option<Arc<ServerConfig>>,
    /// The broker, and how to reach it (TLS and WebSocket settings included).
    pub upstream: BrokerOptions,
    pub faults: FaultPlan,
    /// Emit a record for every packet (the packet log).
    pub packets: bool,
    /// Capacity of the event channel; events beyond it are dropped and counted.
    pub capacity: usize,
}

/// Something seen on one client connection (`conn` 0: the proxy itself, e.g. a fault).
#[derive(Debug, Clone)]
pub struct ProxyEvent {
    pub conn: u64,
    pub mono: Instant,
    pub at: SystemTime,
    pub kind: EventKind,
}

/// Bytes and packets of one connection so far. `up` is client to broker.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub msgs_up: u64,
    pub msgs_down: u64,
    pub bytes_up: u64,
    pub bytes_down: u64,
    /// The longest time the client sent nothing (what its keep-alive must cover).
    pub longest_silence: Duration,
    pub pingreqs: u32,
    /// Mean time between the client's PINGREQs.
    pub ping_interval: Option<Duration>,
}

/// What one event says.
#[derive(Debug, Clone)]
pub enum EventKind {
    /// A TCP connection was accepted (`down`: the broker is "down" and it will be closed).
    Accepted {
        peer: SocketAddr,
        down: bool,
    },
    /// The client's CONNECT.
    Connect(Hello),
    /// One stage of reaching the broker for this client.
    Upstream(StageReport),
    /// The broker's CONNACK.
    Connack {
        code: u8,
        session_present: bool,
    },
    Subscribe {
        pkid: u16,
        filters: Vec<(String, u8)>,
    },
    Suback {
        pkid: u16,
        codes: Vec<u8>,
    },
    Unsubscribe {
        pkid: u16,
        filters: Vec<String>,
    },
    /// The client sent a QoS 1/2 PUBLISH with DUP set: a re-send.
    Resent {
        pkid: u16,
    },
    /// One packet, for the packet log (only with `packets`).
    Packet(PacketRecord),
    /// Bytes that are not MQTT (forwarded all the same), the first ones in hex.
    Garbage {
        direction: Direction,
        head: String,
    },
    Counters(Counters),
    Closed(Closing),
    Fault(Fault),
}

/// How a connection ended.
#[derive(Debug, Clone)]
pub struct Closing {
    pub end: End,
    pub up_for: Duration,
    /// Packet ids of the client's QoS 1/2 PUBLISHes the broker had not acknowledged.
    pub unacked: Vec<u16>,
    pub counters: Counters,
}

/// Who or what ended a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    ClientClosed,
    ClientError(String),
    /// The client's TLS handshake with the proxy failed.
    ClientTls(String),
    /// The broker closed (with its DISCONNECT's reason code and string, if it sent one).
    BrokerClosed(Option<(u8, Option<String>)>),
    /// Reaching or talking to the broker failed.
    Upstream(Cause),
    /// Closed by a drop fault.
    Dropped,
    /// Closed at once: the broker is "down".
    BrokerDown,
    /// The client closed while its connection was black-holed: its keep-alive noticed.
    ClosedInBlackHole {
        after: Duration,
    },
}

impl End {
    pub fn code(&self) -> &'static str {
        match self {
            End::ClientClosed => "client_closed",
            End::ClientError(_) => "client_error",
            End::ClientTls(_) => "client_tls",
            End::BrokerClosed(_) => "broker_closed",
            End::Upstream(c) => c.kind.code(),
            End::Dropped => "dropped",
            End::BrokerDown => "broker_down",
            End::ClosedInBlackHole { .. } => "client_closed_black_hole",
        }
    }

    /// One line for people.
    pub fn describe(&self) -> String {
        match self {
            End::ClientClosed => "the client closed".into(),
            End::ClientError(e) => format!("client connection error: {e}"),
            End::ClientTls(e) => format!("TLS with the client failed: {e}"),
            End::BrokerClosed(None) => "the broker closed".into(),
            End::BrokerClosed(Some((code, reason))) => format!(
                "the broker sent DISCONNECT {code:#04x} {}{}",
                crate::broker::codes::reason_name(*code),
                reason
                    .as_ref()
                    .map_or_else(String::new, |r| format!(" \"{r}\""))
            ),
            End::Upstream(c) => format!("{}: {}", c.kind.code(), c.detail),
            End::Dropped => "dropped by the proxy (fault)".into(),
            End::BrokerDown => "closed at once: broker down (fault)".into(),
            End::ClosedInBlackHole { after } => format!(
                "the client gave up on the black hole after {}",
                faults::dur(*after)
            ),
        }
    }
}

/// The event channel's sending side, shared by every connection.
#[derive(Debug, Clone)]
pub(crate) struct Events {
    tx: mpsc::Sender<ProxyEvent>,
    dropped: Arc<AtomicU64>,
}

impl Events {
    pub(crate) fn emit(&self, conn: u64, kind: EventKind) {
        let event = ProxyEvent {
            conn,
            mono: Instant::now(),
            at: SystemTime::now(),
            kind,
        };
        if self.tx.try_send(event).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A running proxy.
#[derive(Debug)]
pub struct Proxy {
    pub events: mpsc::Receiver<ProxyEvent>,
    pub faults: Arc<Faults>,
    pub local_addr: SocketAddr,
    /// Events the consumer was too slow for.
    pub dropped: Arc<AtomicU64>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Why the proxy could not start (a usage error: exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartError(pub String);

/// Connections open at once at most; more are closed at once (and counted as garbage-free
/// `broker_down` closes would mislead, so they are simply refused by closing).
const MAX_CONNECTIONS: usize = 4096;

/// Binds the listen address and starts accepting.
pub async fn start(settings: Settings) -> Result<Proxy, StartError> {
    let listener = TcpListener::bind(settings.listen).await.map_err(|e| {
        StartError(format!(
            "--listen {}: {}",
            settings.listen,
            match e.kind() {
                std::io::ErrorKind::AddrInUse => "address already in use".to_string(),
                std::io::ErrorKind::PermissionDenied =>
                    "permission denied (ports below 1024 need privileges)".to_string(),
                _ => e.to_string(),
            }
        ))
    })?;
    let local_addr = listener
        .local_addr()
        .map_err(|e| StartError(format!("--listen: {e}")))?;
    let client_tls = if settings.upstream.target.scheme.uses_tls() {
        Some(
            crate::broker::tls::client_config(&settings.upstream.tls)
                .map_err(|c| StartError(c.detail))?,
        )
    } else {
        None
    };
    let (tx, events) = mpsc::channel(settings.capacity);
    let dropped = Arc::new(AtomicU64::new(0));
    let sink = Events {
        tx,
        dropped: dropped.clone(),
    };
    let faults = Arc::new(Faults::new(settings.faults));
    let shared = Arc::new(link::Shared {
        upstream: settings.upstream,
        client_tls,
        faults: faults.clone(),
        events: sink.clone(),
        packets: settings.packets,
    });
    if faults.plan.refuse {
        sink.emit(0, EventKind::Fault(Fault::BrokerDown { for_: None }));
    }
    let acceptor = settings.listen_tls.map(TlsAcceptor::from);
    let accept = tokio::spawn(accept_loop(listener, acceptor, shared));
    let schedule = {
        let sink = sink.clone();
        tokio::spawn(faults::schedule(faults.clone(), move |f| {
            sink.emit(0, EventKind::Fault(f));
        }))
    };
    Ok(Proxy {
        events,
        faults,
        local_addr,
        dropped,
        tasks: vec![accept, schedule],
    })
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: Option<TlsAcceptor>,
    shared: Arc<link::Shared>,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let mut next = 0u64;
    loop {
        let Ok((tcp, peer)) = listener.accept().await else {
            // EMFILE and the like: wait a little rather than spin.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::warn!(target: "mqscope::proxy", "{MAX_CONNECTIONS} connections open: closing one from {peer}");
            continue;
        };
        next += 1;
        let conn = next;
        let _ = tcp.set_nodelay(true);
        let shared = shared.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let _slot = slot;
            link::serve(conn, tcp, peer, acceptor, shared).await;
        });
    }
}

/// The listen side's TLS configuration from a certificate chain and key (PEM).
pub fn server_tls(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<Arc<ServerConfig>, String> {
    let (chain, key) =
        crate::broker::tls::cert_and_key(cert, key, ("--listen-cert", "--listen-key"))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| format!("--listen-cert/--listen-key do not form a usable pair: {e}"))?;
    Ok(Arc::new(config))
}
