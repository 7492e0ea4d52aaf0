//! The byte pump between rumqttc (on the private local socket) and the broker (upstream).
//!
//! Bytes pass through untouched. On the way, each direction is framed so that every packet can
//! be recorded for the packet log, and the few facts rumqttc hides (CONNECT sent, the full
//! CONNACK with its reason string, a v3.1.1 answer to a v5 CONNECT, a server DISCONNECT and how
//! the upstream closed) are sent to the supervisor as [`Note`]s, always before the bytes that
//! carry them reach rumqttc.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use super::cause::{Cause, CauseKind, classify_rustls, classify_tcp_io};
use super::direct::{Direct, Order};
use super::emitter::Emitter;
use super::event::{ConnackInfo, Direction, PacketRecord};
use super::framer::{CaptureLimits, FrameError, Framer};
use super::options::Protocol;
use super::packet;
use super::stages::Upstream;
use super::violation;
use super::wire::PacketType;

/// After one direction ends, how long the other may take to drain.
const GRACE: Duration = Duration::from_secs(2);
const READ_CHUNK: usize = 128 * 1024;
/// How long a streaming link waits between reads (see [`pace`]).
const COALESCE: Duration = Duration::from_millis(1);
/// Bytes of an incoming PUBLISH kept for its checks when the packet log is off: the topic
/// and properties of nearly every real message (a longer topic is left to rumqttc).
const PUBLISH_CHECKED: usize = 512;

/// What the pump tells the supervisor.
#[derive(Debug)]
pub enum Note {
    ConnectSent {
        protocol: Protocol,
        at: Instant,
    },
    Connack(ConnackInfo),
    ServerDisconnect {
        code: u8,
        reason: Option<String>,
    },
    /// The first bytes from the broker were not a CONNACK.
    Unexpected(Cause),
    /// The broker sent something MQTT forbids; the link is cut before rumqttc reads it.
    ProtocolError(Cause),
    /// The upstream ended: `None` for a clean close, else the classified error.
    UpstreamClosed(Option<Cause>),
}

/// Counters shared by the whole connection layer.
#[derive(Debug, Default)]
pub struct Stats {
    pub dropped_messages: AtomicU64,
    pub dropped_packets: AtomicU64,
}

/// Where the pump sends what it sees.
#[derive(Clone)]
pub struct PumpCtx {
    pub notes: mpsc::UnboundedSender<Note>,
    /// Packet records go here when the packet log is on: through the supervisor's emitter,
    /// so they keep its order and its drop accounting.
    pub records: Option<Emitter>,
    /// The largest packet we announced we accept.
    pub max_incoming: usize,
    /// Where QoS 0 messages go when they take the short way (see [`super::direct`]).
    pub out: Emitter,
    pub order: Arc<Order>,
}

/// Pumps until both sides are done (or one is done and the other had its grace period).
pub async fn run(local: UnixStream, upstream: Upstream, ctx: PumpCtx) {
    let protocol = Arc::new(AtomicU8::new(0));
    let (local_r, local_w) = local.into_split();
    let direct = Direct {
        out: ctx.out.clone(),
        order: ctx.order.clone(),
        protocol: protocol.clone(),
    };
    let inbound_watch = Watch::new(Direction::In, protocol.clone(), ctx.clone());
    let outbound_watch = Watch::new(Direction::Out, protocol, ctx);
    match upstream {
        Upstream::Stream(stream) => {
            let (up_r, up_w) = tokio::io::split(stream);
            both(
                inbound(up_r, local_w, inbound_watch, direct),
                outbound(local_r, up_w, outbound_watch),
            )
            .await;
        }
        Upstream::WebSocket(ws) => {
            let (sink, stream) = ws.split();
            both(
                inbound_ws(stream, local_w, inbound_watch),
                outbound_ws(local_r, sink, outbound_watch),
            )
            .await;
        }
    }
}

async fn both(inbound: impl Future<Output = ()>, outbound: impl Future<Output = ()>) {
    tokio::pin!(inbound, outbound);
    tokio::select! {
        () = &mut inbound => { let _ = tokio::time::timeout(GRACE, outbound).await; }
        () = &mut outbound => { let _ = tokio::time::timeout(GRACE, inbound).await; }
    }
}

async fn inbound<R: AsyncRead + Unpin>(
    mut up: R,
    mut local: OwnedWriteHalf,
    mut watch: Watch,
    direct: Direct,
) {
    let mut buf = bytes::BytesMut::new();
    loop {
        // Room for a whole read; a packet cut at the end of the last read stays at the front.
        if buf.capacity() - buf.len() < READ_CHUNK / 2 {
            buf.reserve(READ_CHUNK);
        }
        let start = buf.len();
        let asked = Instant::now();
        let n = match up.read_buf(&mut buf).await {
            Ok(0) => {
                watch.closed(None);
                break;
            }
            Ok(n) => n,
            Err(e) => {
                watch.closed(Some(&e));
                break;
            }
        };
        if !watch.observe(&buf[start..]) {
            break;
        }
        // One clock reading a read: every packet in it arrived at this moment.
        if let Some(rest) = direct.split(&mut buf, std::time::SystemTime::now()) {
            if local.write_all(&rest).await.is_err() {
                break;
            }
        }
        pace(n, asked).await;
    }
    let _ = local.shutdown().await;
}

/// Between two reads. Under a flood a read that returns at once holds one or two messages,
/// and its syscall, wake-up and ACK cost more than the message: waiting [`COALESCE`] lets the
/// next read take hundreds (`mqscope sub` on 1M messages: 709k reads before, 2.2k after). A
/// read that had to wait for its data adds no delay, so a quiet link sees each message at
/// once; a read that filled half the buffer reads on.
async fn pace(n: usize, asked: Instant) {
    if n >= READ_CHUNK / 2 {
        return;
    }
    if asked.elapsed() < COALESCE {
        tokio::time::sleep(COALESCE).await;
    } else {
        // Let the consumer run before reading again.
        tokio::task::yield_now().await;
    }
}

async fn outbound<W: AsyncWrite + Unpin>(mut local: OwnedReadHalf, mut up: W, mut watch: Watch) {
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        let n = match local.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        watch.observe(&buf[..n]);
        let written = async {
            up.write_all(&buf[..n]).await?;
            up.flush().await
        };
        if let Err(e) = written.await {
            watch.closed(Some(&e));
            break;
        }
    }
    let _ = up.shutdown().await;
}

async fn inbound_ws<S>(mut up: S, mut local: OwnedWriteHalf, mut watch: Watch)
where
    S: futures_util::Stream<Item = Result<WsMessage, tokio_tungstenite::tungstenite::Error>>
        + Unpin,
{
    loop {
        let data = match up.next().await {
            None | Some(Ok(WsMessage::Close(_))) => {
                watch.closed(None);
                break;
            }
            Some(Ok(WsMessage::Binary(data))) => data,
            Some(Ok(_)) => continue,
            Some(Err(e)) => {
                let e = io::Error::other(e.to_string());
                watch.closed(Some(&e));
                break;
            }
        };
        if !watch.observe(&data) || local.write_all(&data).await.is_err() {
            break;
        }
    }
    let _ = local.shutdown().await;
}

async fn outbound_ws<K>(mut local: OwnedReadHalf, mut up: K, mut watch: Watch)
where
    K: futures_util::Sink<WsMessage, Error = tokio_tungstenite::tungstenite::Error> + Unpin,
{
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        let n = match local.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        watch.observe(&buf[..n]);
        let message = WsMessage::Binary(bytes::Bytes::copy_from_slice(&buf[..n]));
        if let Err(e) = up.send(message).await {
            let e = io::Error::other(e.to_string());
            watch.closed(Some(&e));
            break;
        }
    }
    let _ = up.close().await;
}

/// Frames one direction and turns packets into records and notes.
struct Watch {
    direction: Direction,
    framer: Framer,
    protocol: Arc<AtomicU8>,
    ctx: PumpCtx,
    /// Inbound only: whether the first bytes have been checked for a CONNACK.
    checked_start: bool,
    broken: bool,
}

impl Watch {
    fn new(direction: Direction, protocol: Arc<AtomicU8>, ctx: PumpCtx) -> Self {
        // Incoming PUBLISH heads are always kept: their topic and properties are checked.
        let publish = match (ctx.records.is_some(), direction) {
            (true, _) => 4096,
            (false, Direction::In) => PUBLISH_CHECKED,
            (false, Direction::Out) => 0,
        };
        let max_packet = match direction {
            Direction::In => ctx.max_incoming,
            Direction::Out => usize::MAX,
        };
        Self {
            direction,
            framer: Framer::new(CaptureLimits {
                publish,
                control: 1 << 20,
                max_packet,
            }),
            protocol,
            ctx,
            checked_start: direction == Direction::Out,
            broken: false,
        }
    }

    /// Looks at a chunk; returns false when the link should stop (not MQTT, or a protocol
    /// error from the broker).
    fn observe(&mut self, chunk: &[u8]) -> bool {
        if !self.checked_start {
            self.checked_start = true;
            if let Some(cause) = unexpected_start(chunk) {
                let _ = self.ctx.notes.send(Note::Unexpected(cause));
                return false;
            }
        }
        if self.broken {
            return true;
        }
        let protocol = match self.protocol.load(Ordering::Relaxed) {
            4 => Some(Protocol::V311),
            5 => Some(Protocol::V5),
            _ => None,
        };
        let want_record = self.ctx.records.is_some();
        let (direction, ctx, proto_cell) = (self.direction, &self.ctx, &self.protocol);
        let mut violated = None;
        let result = self.framer.feed(chunk, &mut |frame| {
            if violated.is_some() {
                return;
            }
            let (mut record, facts) = packet::describe(&frame, direction, protocol, want_record);
            if direction == Direction::In {
                if let Some(what) = violation::inbound(&frame, protocol) {
                    let head = violation::hex_head(frame.first, frame.remaining, frame.body);
                    if let Some(r) = record.as_mut() {
                        r.detail = format!("MALFORMED: {what} · {head}");
                    }
                    if let (Some(record), Some(out)) = (record, &ctx.records) {
                        out.packet(record);
                    }
                    violated = Some(format!("{what}; first bytes {head}"));
                    return;
                }
            }
            if let Some(p) = facts.connect {
                proto_cell.store(if p == Protocol::V5 { 5 } else { 4 }, Ordering::Relaxed);
                let _ = ctx.notes.send(Note::ConnectSent {
                    protocol: p,
                    at: Instant::now(),
                });
            }
            if let Some(info) = facts.connack {
                let _ = ctx.notes.send(Note::Connack(info));
            }
            if let Some((code, reason)) = facts.disconnect {
                let _ = ctx.notes.send(Note::ServerDisconnect { code, reason });
            }
            if let (Some(record), Some(out)) = (record, &ctx.records) {
                out.packet(record);
            }
        });
        if let Err(e) = &result {
            if self.direction == Direction::In {
                violated = Some(format!("{e}; first bytes {}", e.head()));
                if let Some(out) = &self.ctx.records {
                    out.packet(malformed_record(e));
                }
            } else {
                self.broken = true;
                tracing::warn!(direction = ?self.direction, "malformed MQTT framing from rumqttc; packet log stops for this link");
            }
        }
        if let Some(detail) = violated {
            tracing::warn!(target: "mqscope::wire", "protocol error from the broker: {detail}");
            let cause = Cause::new(CauseKind::ProtocolError, detail);
            let _ = self.ctx.notes.send(Note::ProtocolError(cause));
            return false;
        }
        true
    }

    fn closed(&self, error: Option<&io::Error>) {
        if self.direction == Direction::In || error.is_some() {
            let _ = self
                .ctx
                .notes
                .send(Note::UpstreamClosed(error.map(classify_link_io)));
        }
    }
}

/// The packet-log record of an incoming frame the framer could not take.
fn malformed_record(e: &FrameError) -> PacketRecord {
    let (packet_type, size) = match e {
        FrameError::TooLarge { kind, size, .. } => (*kind, *size),
        FrameError::Malformed { head } => {
            let first = u8::from_str_radix(head.get(..2).unwrap_or("00"), 16).unwrap_or(0);
            (PacketType::of(first), head.len().div_ceil(3))
        }
    };
    PacketRecord {
        detail: format!("MALFORMED: {e} · {}", e.head()),
        ..PacketRecord::new(Direction::In, packet_type, size)
    }
}

/// Classifies an error on an established link, looking through to rustls alerts.
fn classify_link_io(err: &io::Error) -> Cause {
    if let Some(tls) = err
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<tokio_rustls::rustls::Error>())
    {
        return classify_rustls(tls);
    }
    Cause::new(classify_tcp_io(err), err.to_string())
}

/// Checks that the broker's first bytes can be a CONNACK; names what they look like otherwise.
pub fn unexpected_start(chunk: &[u8]) -> Option<Cause> {
    let first = *chunk.first()?;
    if first == 0x20 {
        return None;
    }
    let preview: String = chunk
        .iter()
        .take(24)
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '.'
            }
        })
        .collect();
    if chunk.starts_with(b"HTTP/") {
        let status_line =
            String::from_utf8_lossy(chunk.split(|&b| b == b'\r').next().unwrap_or_default())
                .into_owned();
        return Some(Cause::new(
            CauseKind::NotMqtt,
            format!(
                "an HTTP server answered: \"{status_line}\"; for MQTT over WebSocket use ws://host:port/mqtt"
            ),
        ));
    }
    if matches!(first, 0x15 | 0x16) && chunk.get(1) == Some(&0x03) {
        return Some(Cause::new(
            CauseKind::TlsExpected,
            "the server answered with a TLS record",
        ));
    }
    Some(Cause::new(
        CauseKind::NotMqtt,
        format!("expected CONNACK (0x20), got {first:#04x} \"{preview}\""),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_bytes_are_told_apart() {
        assert!(unexpected_start(&[0x20, 0x02, 0, 0]).is_none());
        let http = unexpected_start(b"HTTP/1.1 400 Bad Request\r\n").expect("http");
        assert_eq!(http.kind, CauseKind::NotMqtt);
        assert!(http.detail.contains("400 Bad Request"), "{}", http.detail);
        let tls = unexpected_start(&[0x15, 0x03, 0x03, 0x00, 0x02]).expect("tls");
        assert_eq!(tls.kind, CauseKind::TlsExpected);
        assert_eq!(
            unexpected_start(b"SSH-2.0").expect("ssh").kind,
            CauseKind::NotMqtt
        );
    }
}
