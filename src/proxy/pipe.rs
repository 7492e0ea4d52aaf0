//! One direction of a proxied connection: read chunks, let the watcher look at them, and
//! write them on, delayed, jittered and paced as the faults say.
//!
//! A delay holds chunks in a bounded queue (as a long cable would) instead of slowing the
//! reads down; the queue's bound is the connection's memory bound. Chunks never overtake each
//! other: a jittered due time is never earlier than the one before it (TCP does not reorder).

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use super::faults::Faults;
use crate::broker::stages::BoxStream;

const CHUNK: usize = 64 * 1024;
/// Bytes held back per direction by a delay or a rate limit: the connection's memory bound
/// (a long delay on a fast stream then slows the reads, as a full TCP window would).
const QUEUE_BYTES: usize = 1 << 20;

/// Where a direction reads from.
pub enum Source {
    Stream(ReadHalf<BoxStream>),
    Ws(SplitStream<Box<WebSocketStream<BoxStream>>>),
}

/// Where a direction writes to.
pub enum Sink {
    Stream(WriteHalf<BoxStream>),
    Ws(SplitSink<Box<WebSocketStream<BoxStream>>, WsMessage>),
}

/// What a read gave: bytes in the caller's buffer (a stream) or a message's own (WebSocket).
enum Chunk {
    InBuf(usize),
    Owned(Bytes),
}

impl Source {
    /// The next chunk; `None` at a clean end.
    async fn next(&mut self, buf: &mut [u8]) -> io::Result<Option<Chunk>> {
        match self {
            Source::Stream(r) => match r.read(buf).await? {
                0 => Ok(None),
                n => Ok(Some(Chunk::InBuf(n))),
            },
            Source::Ws(ws) => loop {
                match ws.next().await {
                    None | Some(Ok(WsMessage::Close(_))) => return Ok(None),
                    Some(Ok(WsMessage::Binary(data))) => return Ok(Some(Chunk::Owned(data))),
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(io::Error::other(e.to_string())),
                }
            },
        }
    }
}

impl Sink {
    /// Writes bytes that stay the caller's (no copy on a stream).
    async fn send_slice(&mut self, data: &[u8]) -> io::Result<()> {
        match self {
            Sink::Stream(w) => w.write_all(data).await,
            Sink::Ws(_) => self.send(Bytes::copy_from_slice(data)).await,
        }
    }

    pub async fn send(&mut self, data: Bytes) -> io::Result<()> {
        match self {
            Sink::Stream(w) => w.write_all(&data).await,
            Sink::Ws(ws) => ws
                .send(WsMessage::Binary(data))
                .await
                .map_err(|e| io::Error::other(e.to_string())),
        }
    }

    pub async fn close(&mut self) {
        match self {
            Sink::Stream(w) => {
                let _ = w.shutdown().await;
            }
            Sink::Ws(ws) => {
                let _ = ws.close().await;
            }
        }
    }
}

/// How a direction ended.
#[derive(Debug)]
pub enum PipeEnd {
    /// The reading side closed cleanly.
    Eof,
    ReadError(io::Error),
    WriteError(io::Error),
}

/// Knobs one direction reads for every chunk.
pub struct Shaping {
    pub faults: Arc<Faults>,
    pub hole: Arc<Hole>,
}

/// Whether a connection is black-holed: once it is, chunks are read and dropped for the rest
/// of its life (forwarding again after bytes were lost would hand the broker half a packet).
#[derive(Debug, Default)]
pub struct Hole {
    on: AtomicBool,
    since: std::sync::Mutex<Option<Instant>>,
}

impl Hole {
    pub fn set(&self) {
        if !self.on.swap(true, Ordering::Relaxed) {
            if let Ok(mut since) = self.since.lock() {
                *since = Some(Instant::now());
            }
        }
    }

    pub fn is_set(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }

    pub fn since(&self) -> Option<Instant> {
        self.since.lock().ok().and_then(|s| *s)
    }
}

/// Pumps `source` to `sink` until one of them ends, showing each chunk to `watch` first.
///
/// One loop per direction: with no delay and no rate limit a chunk is written as soon as it
/// is read (no queue, no second task: the proxy must cost little on a flood); otherwise it
/// waits in a queue bounded by `QUEUE_BYTES` until it is due.
pub async fn run(
    mut source: Source,
    mut sink: Sink,
    shaping: Shaping,
    mut watch: impl FnMut(&[u8]),
) -> PipeEnd {
    let faults = shaping.faults;
    let mut queue: VecDeque<(Instant, Bytes)> = VecDeque::new();
    let mut queued = 0usize;
    let mut buf = vec![0u8; CHUNK];
    let mut last_due = Instant::now();
    let mut next_free = Instant::now();
    let mut ended: Option<PipeEnd> = None;
    loop {
        // Everything due goes out, in order.
        while queue.front().is_some_and(|(due, _)| *due <= Instant::now()) {
            let Some((_, chunk)) = queue.pop_front() else {
                break;
            };
            queued -= chunk.len();
            if let Err(e) = write(&mut sink, chunk, faults.bandwidth(), &mut next_free).await {
                return PipeEnd::WriteError(e);
            }
        }
        if queue.is_empty() {
            if let Some(end) = ended.take() {
                sink.close().await;
                return end;
            }
        }
        let next_due = queue.front().map(|(due, _)| *due);
        let room = ended.is_none() && queued < QUEUE_BYTES;
        tokio::select! {
            read = source.next(&mut buf), if room => {
                let chunk = match read {
                    Ok(Some(c)) => c,
                    Ok(None) => { ended = Some(PipeEnd::Eof); continue; }
                    Err(e) => { ended = Some(PipeEnd::ReadError(e)); continue; }
                };
                let data: &[u8] = match &chunk {
                    Chunk::InBuf(n) => &buf[..*n],
                    Chunk::Owned(b) => b,
                };
                watch(data);
                if faults.is_black_hole() {
                    shaping.hole.set();
                }
                if shaping.hole.is_set() {
                    continue;
                }
                let (delay, jitter) = faults.delay();
                let rate = faults.bandwidth();
                if delay.is_zero() && jitter.is_zero() && rate.is_none() && queue.is_empty() {
                    if let Err(e) = sink.send_slice(data).await {
                        return PipeEnd::WriteError(e);
                    }
                    continue;
                }
                let due = due_time(Instant::now(), delay, jitter, last_due);
                last_due = due;
                let owned = match chunk {
                    Chunk::InBuf(n) => Bytes::copy_from_slice(&buf[..n]),
                    Chunk::Owned(b) => b,
                };
                queued += owned.len();
                queue.push_back((due, owned));
            }
            () = sleep_until_opt(next_due), if next_due.is_some() => {}
        }
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn write(
    sink: &mut Sink,
    chunk: Bytes,
    rate: Option<u64>,
    next_free: &mut Instant,
) -> io::Result<()> {
    match rate {
        None => sink.send(chunk).await,
        Some(rate) => paced(sink, chunk, rate, next_free).await,
    }
}

/// Writes `chunk` at `rate` bytes per second, in slices of about a twentieth of a second.
async fn paced(
    sink: &mut Sink,
    chunk: Bytes,
    rate: u64,
    next_free: &mut Instant,
) -> io::Result<()> {
    let slice = usize::try_from(rate / 20).unwrap_or(usize::MAX).max(1);
    let mut rest = chunk;
    while !rest.is_empty() {
        let part = rest.split_to(slice.min(rest.len()));
        if *next_free > Instant::now() {
            tokio::time::sleep_until(*next_free).await;
        }
        let len = part.len() as u64;
        sink.send(part).await?;
        *next_free = (*next_free).max(Instant::now()) + transfer_time(len, rate);
    }
    Ok(())
}

/// How long `bytes` take at `rate` bytes per second.
pub fn transfer_time(bytes: u64, rate: u64) -> Duration {
    Duration::from_nanos(
        u64::try_from(u128::from(bytes) * 1_000_000_000 / u128::from(rate.max(1)))
            .unwrap_or(u64::MAX),
    )
}

/// When a chunk read `now` is due: `delay` ± a uniform `jitter`, never before `last`.
pub fn due_time(now: Instant, delay: Duration, jitter: Duration, last: Instant) -> Instant {
    if delay.is_zero() && jitter.is_zero() {
        return now.max(last);
    }
    let offset = if jitter.is_zero() {
        delay
    } else {
        let spread = jitter.as_secs_f64() * (2.0 * crate::random::unit_f64() - 1.0);
        Duration::from_secs_f64((delay.as_secs_f64() + spread).max(0.0))
    };
    (now + offset).max(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_times_never_go_backwards() {
        let now = Instant::now();
        let mut last = now;
        for i in 0..1000 {
            let t = now + Duration::from_micros(i);
            let due = due_time(
                t,
                Duration::from_millis(50),
                Duration::from_millis(40),
                last,
            );
            assert!(due >= last);
            assert!(due >= t + Duration::from_millis(10) || due == last);
            assert!(due <= t + Duration::from_millis(90) || due == last);
            last = due;
        }
    }

    #[test]
    fn no_delay_is_due_at_once() {
        let now = Instant::now();
        assert_eq!(due_time(now, Duration::ZERO, Duration::ZERO, now), now);
    }

    #[test]
    fn transfer_time_follows_the_rate() {
        assert_eq!(transfer_time(1000, 1000), Duration::from_secs(1));
        assert_eq!(transfer_time(512, 1024), Duration::from_millis(500));
        assert_eq!(transfer_time(1, 0), Duration::from_secs(1));
    }
}
