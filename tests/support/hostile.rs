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
    /// A retained PUBLISH whose topic and payload carry terminal escape sequences and control
    /// characters, and (on v5) a DISCONNECT whose reason string does too, a second later.
    ControlCharacters,
    /// An MQTT 5 CONNACK refusing with 0x87 and a reason string full of escape sequences.
    EvilRefusal,
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

/// A fixed header: first byte and a remaining length of `len`.
pub fn header(first: u8, mut len: usize) -> Vec<u8> {
    let mut out = vec![first];
    loop {
        let mut byte = u8::try_from(len & 0x7F).unwrap();
        len >>= 7;
        if len > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if len == 0 {
            return out;
        }
    }
}

/// A packet: first byte, remaining length, body.
pub fn packet(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = header(first, body.len());
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
    if what == Hostile::EvilRefusal {
        let reason = EVIL_REASON.as_bytes();
        let mut body = vec![0x00, 0x87, u8::try_from(reason.len() + 3).unwrap(), 0x1F];
        body.extend_from_slice(&u16::try_from(reason.len()).unwrap().to_be_bytes());
        body.extend_from_slice(reason);
        let _ = stream.write_all(&packet(0x20, &body)).await;
        return;
    }
    let connack: &[u8] = if v5 {
        &[0x20, 0x03, 0x00, 0x00, 0x00]
    } else {
        &[0x20, 0x02, 0x00, 0x00]
    };
    let _ = stream.write_all(connack).await;
    let (bytes, later) = misbehaviour(&what, v5);
    // A session: SUBACK for every SUBSCRIBE, PINGRESP for every PINGREQ. The misbehaviour
    // comes right after the first SUBACK (or after 300 ms when nothing subscribes), the
    // `later` part a second after that.
    let mut sent = false;
    let mut later_at = None;
    loop {
        let wait = if sent { 1000 } else { 300 };
        match tokio::time::timeout(Duration::from_millis(wait), read_packet(&mut stream)).await {
            Ok(None) => return,
            Ok(Some((first, body))) => match first >> 4 {
                8 => {
                    let mut ack = vec![body[0], body[1]];
                    if v5 {
                        ack.push(0);
                    }
                    // One granted QoS 0 per filter is enough for every client here.
                    ack.push(0);
                    let _ = stream.write_all(&packet(0x90, &ack)).await;
                }
                12 => {
                    let _ = stream.write_all(&[0xD0, 0x00]).await;
                }
                14 => return,
                _ => {}
            },
            Err(_) => {}
        }
        if !sent {
            sent = true;
            let _ = stream.write_all(&bytes).await;
            later_at = Some(tokio::time::Instant::now() + Duration::from_secs(1));
        } else if later_at.is_some_and(|at| tokio::time::Instant::now() >= at) && !later.is_empty()
        {
            let _ = stream.write_all(&later).await;
            later_at = None;
        }
    }
}

/// What the broker sends after the first SUBACK, and what it sends a second later.
fn misbehaviour(what: &Hostile, v5: bool) -> (Vec<u8>, Vec<u8>) {
    let props: Option<&[u8]> = if v5 { Some(&[]) } else { None };
    match what {
        Hostile::InvalidUtf8Topic => (
            publish(&[b'b', b'a', b'd', 0xff, b'/', b'x'], props, b"1"),
            Vec::new(),
        ),
        Hostile::MalformedLength => (vec![0x30, 0xff, 0xff, 0xff, 0xff, 0x01, 0, 0], Vec::new()),
        Hostile::UnknownAlias => (publish(b"", Some(&[0x23, 0x00, 0x07]), b"1"), Vec::new()),
        Hostile::Oversize(n) => {
            // The header announces `n` bytes; a few of them follow.
            let mut p = header(0x30, *n);
            p.extend_from_slice(&[0, 1, b't']);
            p.extend(std::iter::repeat_n(b'x', 4096));
            (p, Vec::new())
        }
        Hostile::UnsolicitedAck => {
            let body: &[u8] = if v5 {
                &[0x00, 99, 0x00, 0x00]
            } else {
                &[0x00, 99]
            };
            (packet(0x40, body), Vec::new())
        }
        Hostile::EmptyTopic => (publish(b"", props, b"1"), Vec::new()),
        Hostile::ControlCharacters => {
            let mut retained = publish(EVIL_TOPIC.as_bytes(), props, b"hi\x1b[2Jthere\x07");
            retained[0] |= 1;
            let mut later = Vec::new();
            if v5 {
                // DISCONNECT 0x80 with a reason string (property 0x1F).
                let reason = EVIL_REASON.as_bytes();
                let mut body = vec![0x80, u8::try_from(reason.len() + 3).unwrap(), 0x1F];
                body.extend_from_slice(&u16::try_from(reason.len()).unwrap().to_be_bytes());
                body.extend_from_slice(reason);
                later = packet(0xE0, &body);
            }
            (retained, later)
        }
        Hostile::EvilRefusal => unreachable!(),
        Hostile::Raw(bytes) => (bytes.clone(), Vec::new()),
    }
}
