//! A hostile broker: it accepts CONNECT (either version) and SUBSCRIBE like a broker, then
//! sends what no broker may send. mosquitto refuses to produce these, so a fake has to.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the broker sends once the client has subscribed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hostile {
    /// A PUBLISH whose topic is not UTF-8.
    InvalidUtf8Topic,
    /// A fixed header whose remaining length runs past four bytes.
    MalformedLength,
    /// A v5 PUBLISH with an empty topic and topic alias 7, though the client allowed none.
    UnknownAlias,
    /// A PUBLISH header announcing this many bytes (then a few of them).
    Oversize(usize),
    /// A PUBACK for a packet id the client never used.
    UnsolicitedAck,
    /// A PUBLISH with an empty topic and no alias.
    EmptyTopic,
    /// A PUBLISH whose topic carries terminal escape sequences and control characters, and
    /// (on v5) a DISCONNECT whose reason string does too.
    ControlCharacters,
    /// Any bytes, sent as they are.
    Raw(Vec<u8>),
}

/// A topic that would retitle a terminal, clear it and ring its bell if printed raw.
pub const EVIL_TOPIC: &str = "evil/\u{1b}]0;pwned\u{7}\u{1b}[2J\u{7}/x";
/// A reason string that would do the same.
pub const EVIL_REASON: &str = "bye\u{1b}]0;pwned\u{7}\u{1b}[2J";

pub struct HostileBroker {
    pub port: u16,
    /// Connections accepted so far.
    pub connections: Arc<AtomicU32>,
    task: tokio::task::JoinHandle<()>,
}

impl HostileBroker {
    pub async fn start(what: Hostile) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicU32::new(0));
        let count = connections.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(stream, what.clone()));
            }
        });
        Self {
            port,
            connections,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    pub fn connections(&self) -> u32 {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for HostileBroker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A packet: first byte, remaining length, body.
pub fn packet(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    let mut len = body.len();
    loop {
        let mut byte = u8::try_from(len & 0x7F).unwrap();
        len >>= 7;
        if len > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if len == 0 {
            break;
        }
    }
    out.extend_from_slice(body);
    out
}

/// A QoS 0 PUBLISH: topic bytes as given, v5 properties when `props` is `Some`.
pub fn publish(topic: &[u8], props: Option<&[u8]>, payload: &[u8]) -> Vec<u8> {
    let mut body = u16::try_from(topic.len()).unwrap().to_be_bytes().to_vec();
    body.extend_from_slice(topic);
    if let Some(props) = props {
        body.push(u8::try_from(props.len()).unwrap());
        body.extend_from_slice(props);
    }
    body.extend_from_slice(payload);
    packet(0x30, &body)
}

/// One packet: its first byte and its body (the remaining length dropped).
async fn read_packet(stream: &mut TcpStream) -> Option<(u8, Vec<u8>)> {
    let mut first = [0u8; 1];
    tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut first))
        .await
        .ok()?
        .ok()?;
    let mut len = 0usize;
    for i in 0..4 {
        let mut b = [0u8; 1];
        stream.read_exact(&mut b).await.ok()?;
        len |= usize::from(b[0] & 0x7F) << (7 * i);
        if b[0] & 0x80 == 0 {
            break;
        }
    }
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body).await.ok()?;
    Some((first[0], body))
}

async fn serve(mut stream: TcpStream, what: Hostile) {
    let Some((_, connect)) = read_packet(&mut stream).await else {
        return;
    };
    // CONNECT body: protocol name (2 + 4 bytes), then the level.
    let v5 = connect.get(6) == Some(&5);
    let connack: &[u8] = if v5 {
        &[0x20, 0x03, 0x00, 0x00, 0x00]
    } else {
        &[0x20, 0x02, 0x00, 0x00]
    };
    let _ = stream.write_all(connack).await;
    let props: Option<&[u8]> = if v5 { Some(&[]) } else { None };
    let bytes = match &what {
        Hostile::InvalidUtf8Topic => publish(&[b'b', b'a', b'd', 0xff, b'/', b'x'], props, b"1"),
        Hostile::MalformedLength => vec![0x30, 0xff, 0xff, 0xff, 0xff, 0x01, 0, 0],
        Hostile::UnknownAlias => publish(b"", Some(&[0x23, 0x00, 0x07]), b"1"),
        Hostile::Oversize(n) => {
            let mut p = vec![0x30];
            let mut len = *n;
            loop {
                let mut byte = u8::try_from(len & 0x7F).unwrap();
                len >>= 7;
                if len > 0 {
                    byte |= 0x80;
                }
                p.push(byte);
                if len == 0 {
                    break;
                }
            }
            p.extend_from_slice(&[0, 1, b't']);
            p.extend(std::iter::repeat_n(b'x', 4096));
            p
        }
        Hostile::UnsolicitedAck => {
            if v5 {
                packet(0x40, &[0x00, 99, 0x00, 0x00])
            } else {
                packet(0x40, &[0x00, 99])
            }
        }
        Hostile::EmptyTopic => publish(b"", props, b"1"),
        Hostile::ControlCharacters => {
            let mut out = publish(EVIL_TOPIC.as_bytes(), props, b"hi\x1b[2Jthere");
            if v5 {
                // DISCONNECT 0x80 with a reason string (property 0x1F).
                let reason = EVIL_REASON.as_bytes();
                let mut body = vec![0x80, u8::try_from(reason.len() + 3).unwrap(), 0x1F];
                body.extend_from_slice(&u16::try_from(reason.len()).unwrap().to_be_bytes());
                body.extend_from_slice(reason);
                out.extend(packet(0xE0, &body));
            }
            out
        }
        Hostile::Raw(bytes) => bytes.clone(),
    };
    // Answer the first SUBSCRIBE (if it comes) before misbehaving, so the client is in its
    // steady state; then send, and keep the socket open until the client leaves.
    if let Ok(Some((first, sub))) =
        tokio::time::timeout(Duration::from_millis(300), read_packet(&mut stream)).await
    {
        if first >> 4 == 8 {
            let mut ack = vec![sub[0], sub[1]];
            if v5 {
                ack.push(0);
            }
            ack.push(0);
            let _ = stream.write_all(&packet(0x90, &ack)).await;
        }
    }
    let _ = stream.write_all(&bytes).await;
    let mut buf = [0u8; 1024];
    while let Ok(Ok(n)) = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buf)).await
    {
        if n == 0 {
            return;
        }
    }
}
