//! Small fake servers for failures a real broker will not produce on demand.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// What a fake does with each connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Accepts and never answers.
    Silent,
    /// Answers like an HTTP server and closes.
    Http,
    /// Answers an MQTT 5 CONNECT with the 3.1.1 refusal `20 02 00 01` and closes; accepts 3.1.1.
    V311Only,
    /// Says nothing to an MQTT 5 CONNECT (as some 3.1.1-only brokers do until their own
    /// timeout); accepts 3.1.1.
    V311SilentToV5,
    /// Reads CONNECT and closes without a word.
    CloseOnConnect,
    /// Accepts MQTT 5, then sends DISCONNECT 0x8E (session taken over) and closes.
    TakeoverV5,
    /// Accepts MQTT 5, then sends DISCONNECT 0x8B "maintenance" and closes.
    DisconnectV5,
    /// Accepts MQTT 5 and sends two messages, the second by topic alias only.
    AliasV5,
    /// Refuses an MQTT 5 CONNECT with this reason code and a reason string.
    RefuseV5(u8),
    /// Accepts MQTT 5 and refuses every SUBSCRIBE with 0x87 (not authorized), as a public
    /// broker does for `#`.
    DenySubscribeV5,
    /// Closes on a TLS ClientHello; answers a plain CONNECT with CONNACK 0 when `mqtt`, or
    /// closes on it too. Everything received is recorded.
    TlsClose { mqtt: bool },
}

pub struct Fake {
    pub port: u16,
    /// Every chunk received, on every connection, in order.
    pub received: std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Fake {
    pub async fn start(behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = std::sync::Arc::<std::sync::Mutex<Vec<Vec<u8>>>>::default();
        let record = received.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(serve(stream, behaviour, record.clone()));
            }
        });
        Self {
            port,
            received,
            task,
        }
    }

    /// Everything received so far, concatenated.
    pub fn received_bytes(&self) -> Vec<u8> {
        self.received.lock().unwrap().concat()
    }

    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn read_some(stream: &mut TcpStream) -> Vec<u8> {
    let mut buf = vec![0u8; 4096];
    match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await {
        Ok(Ok(n)) => buf.truncate(n),
        _ => buf.clear(),
    }
    buf
}

/// Says nothing to an MQTT 5 CONNECT until the client leaves; serves 3.1.1.
async fn v311_silent_to_v5(mut stream: TcpStream) {
    let connect = read_some(&mut stream).await;
    if connect_level(&connect) == Some(5) {
        let mut buf = [0u8; 1024];
        while let Ok(n) = stream.read(&mut buf).await {
            if n == 0 {
                return;
            }
        }
        return;
    }
    let _ = stream.write_all(&[0x20, 0x02, 0x00, 0x00]).await;
    serve_minimal(stream, &[0x00]).await;
}

/// The protocol level byte of a CONNECT (offset 8 with a one-byte remaining length).
fn connect_level(bytes: &[u8]) -> Option<u8> {
    let mut i = 1;
    while bytes.get(i)? & 0x80 != 0 {
        i += 1;
    }
    bytes.get(i + 1 + 6).copied()
}

async fn serve(
    mut stream: TcpStream,
    behaviour: Behaviour,
    record: std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
) {
    match behaviour {
        Behaviour::TlsClose { mqtt } => {
            let first = read_some(&mut stream).await;
            record.lock().unwrap().push(first.clone());
            let is_tls = first.first() == Some(&0x16);
            if mqtt && !is_tls && first.first() == Some(&0x10) {
                let ack: &[u8] = if connect_level(&first) == Some(5) {
                    &[0x20, 0x03, 0x00, 0x00, 0x00]
                } else {
                    &[0x20, 0x02, 0x00, 0x00]
                };
                let _ = stream.write_all(ack).await;
                let rest = read_some(&mut stream).await;
                record.lock().unwrap().push(rest);
            }
        }
        Behaviour::Silent => {
            let mut buf = [0u8; 1024];
            while let Ok(n) = stream.read(&mut buf).await {
                if n == 0 {
                    return;
                }
            }
        }
        Behaviour::Http => {
            let _ = read_some(&mut stream).await;
            let _ = stream
                .write_all(
                    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                )
                .await;
        }
        Behaviour::CloseOnConnect => {
            let _ = read_some(&mut stream).await;
        }
        Behaviour::V311Only => {
            let connect = read_some(&mut stream).await;
            if connect_level(&connect) == Some(5) {
                let _ = stream.write_all(&[0x20, 0x02, 0x00, 0x01]).await;
                return;
            }
            let _ = stream.write_all(&[0x20, 0x02, 0x00, 0x00]).await;
            serve_minimal(stream, &[0x00]).await;
        }
        Behaviour::V311SilentToV5 => v311_silent_to_v5(stream).await,
        Behaviour::TakeoverV5 => {
            let _ = read_some(&mut stream).await;
            let _ = stream.write_all(&[0x20, 0x03, 0x00, 0x00, 0x00]).await;
            tokio::time::sleep(Duration::from_millis(200)).await;
            let _ = stream.write_all(&[0xE0, 0x02, 0x8E, 0x00]).await;
        }
        Behaviour::DisconnectV5 => {
            let _ = read_some(&mut stream).await;
            let _ = stream.write_all(&[0x20, 0x03, 0x00, 0x00, 0x00]).await;
            tokio::time::sleep(Duration::from_millis(200)).await;
            let mut disconnect = vec![0xE0, 16, 0x8B, 14, 0x1F, 0x00, 11];
            disconnect.extend_from_slice(b"maintenance");
            let _ = stream.write_all(&disconnect).await;
        }
        Behaviour::RefuseV5(code) => {
            let _ = read_some(&mut stream).await;
            // CONNACK: flags, code, properties (reason string "go away").
            let mut connack = vec![0x20, 0, 0x00, code, 10, 0x1F, 0x00, 7];
            connack.extend_from_slice(b"go away");
            connack[1] = u8::try_from(connack.len() - 2).unwrap();
            let _ = stream.write_all(&connack).await;
        }
        Behaviour::DenySubscribeV5 => {
            let _ = read_some(&mut stream).await;
            let _ = stream.write_all(&[0x20, 0x03, 0x00, 0x00, 0x00]).await;
            serve_minimal(stream, &[0x00, 0x87]).await;
        }
        Behaviour::AliasV5 => {
            let _ = read_some(&mut stream).await;
            let _ = stream.write_all(&[0x20, 0x03, 0x00, 0x00, 0x00]).await;
            // SUBSCRIBE arrives; answer SUBACK for its packet id, then publish.
            let sub = read_some(&mut stream).await;
            if sub.len() >= 4 {
                let _ = stream
                    .write_all(&[0x90, 0x04, sub[2], sub[3], 0x00, 0x00])
                    .await;
            }
            // PUBLISH t/a alias 1 "one"; then PUBLISH "" alias 1 "two".
            let first = [
                0x30, 11, 0x00, 0x03, b't', b'/', b'a', 0x03, 0x23, 0x00, 0x01, b'o', b'n',
            ];
            let mut first = first.to_vec();
            first.push(b'e');
            first[1] = u8::try_from(first.len() - 2).unwrap();
            let mut second = vec![0x30, 0, 0x00, 0x00, 0x03, 0x23, 0x00, 0x01];
            second.extend_from_slice(b"two");
            second[1] = u8::try_from(second.len() - 2).unwrap();
            let _ = stream.write_all(&first).await;
            let _ = stream.write_all(&second).await;
            serve_minimal(stream, &[0x00, 0x00]).await;
        }
    }
}

/// Answers PINGREQ and SUBSCRIBE (with a SUBACK whose body after the packet id is `suback`:
/// v5 properties length and code, or the 3.1.1 code) until the client leaves.
async fn serve_minimal(mut stream: TcpStream, suback: &[u8]) {
    loop {
        let data = read_some(&mut stream).await;
        if data.is_empty() {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if stream.peek(&mut [0u8; 1]).await.map_or(true, |n| n == 0) {
                return;
            }
            continue;
        }
        match data[0] >> 4 {
            12 => {
                let _ = stream.write_all(&[0xD0, 0x00]).await;
            }
            8 if data.len() >= 4 => {
                let mut ack = vec![0x90, 0, data[2], data[3]];
                ack.extend_from_slice(suback);
                ack[1] = u8::try_from(ack.len() - 2).unwrap();
                let _ = stream.write_all(&ack).await;
            }
            14 => return,
            _ => {}
        }
    }
}

/// A listener whose accept queue is full, so new SYNs go unanswered: a TCP timeout on loopback.
pub struct Blackhole {
    pub port: u16,
    _listener: TcpListener,
    _fillers: Vec<TcpStream>,
}

impl Blackhole {
    pub async fn start() -> Self {
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let port = socket.local_addr().unwrap().port();
        let listener = socket.listen(0).unwrap();
        let mut fillers = Vec::new();
        for _ in 0..4 {
            if let Ok(Ok(s)) = tokio::time::timeout(
                Duration::from_millis(300),
                TcpStream::connect(("127.0.0.1", port)),
            )
            .await
            {
                fillers.push(s);
            }
        }
        Self {
            port,
            _listener: listener,
            _fillers: fillers,
        }
    }

    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }
}
