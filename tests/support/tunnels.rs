//! Small SOCKS5 (RFC 1928/1929) and HTTP CONNECT proxies for `--proxy` tests: with or without
//! a user and password, refusing by policy when told to, reporting the target they were asked
//! for (so a test sees the broker's name went to the proxy unresolved) and the credentials
//! they were offered.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How a test proxy behaves.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// Required user and password; `None`: no authentication.
    pub login: Option<(String, String)>,
    /// Refuse every tunnel by policy (SOCKS reply 2, HTTP 403).
    pub deny: bool,
}

/// What the proxy saw.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    /// Every target asked for, as `host:port`.
    pub targets: Vec<String>,
    /// Every credential offered, `user:password`.
    pub logins: Vec<String>,
}

pub struct TestProxy {
    pub port: u16,
    pub seen: Arc<Mutex<Seen>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestProxy {
    pub async fn socks5(rules: Rules) -> Self {
        Self::start(rules, true).await
    }

    pub async fn http(rules: Rules) -> Self {
        Self::start(rules, false).await
    }

    async fn start(rules: Rules, socks: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let record = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (rules, record) = (rules.clone(), record.clone());
                tokio::spawn(async move {
                    let _ = if socks {
                        serve_socks(stream, &rules, &record).await
                    } else {
                        serve_http(stream, &rules, &record).await
                    };
                });
            }
        });
        Self { port, seen, task }
    }

    pub fn url(&self, scheme: &str, user: Option<&str>) -> String {
        let user = user.map(|u| format!("{u}@")).unwrap_or_default();
        format!("{scheme}://{user}127.0.0.1:{}", self.port)
    }

    pub fn seen(&self) -> Seen {
        self.seen.lock().unwrap().clone()
    }
}

async fn serve_socks(mut s: TcpStream, rules: &Rules, seen: &Mutex<Seen>) -> std::io::Result<()> {
    // Greeting: version, methods.
    let mut head = [0u8; 2];
    s.read_exact(&mut head).await?;
    let mut methods = vec![0u8; usize::from(head[1])];
    s.read_exact(&mut methods).await?;
    let want = if rules.login.is_some() { 2 } else { 0 };
    if !methods.contains(&want) {
        s.write_all(&[5, 0xFF]).await?;
        return Ok(());
    }
    s.write_all(&[5, want]).await?;
    if let Some((user, pass)) = &rules.login {
        let mut v = [0u8; 2];
        s.read_exact(&mut v).await?;
        let mut u = vec![0u8; usize::from(v[1])];
        s.read_exact(&mut u).await?;
        let mut pl = [0u8; 1];
        s.read_exact(&mut pl).await?;
        let mut p = vec![0u8; usize::from(pl[0])];
        s.read_exact(&mut p).await?;
        let (u, p) = (String::from_utf8_lossy(&u), String::from_utf8_lossy(&p));
        seen.lock().unwrap().logins.push(format!("{u}:{p}"));
        if u != *user || p != *pass {
            s.write_all(&[1, 1]).await?;
            return Ok(());
        }
        s.write_all(&[1, 0]).await?;
    }
    // Request: version, command, reserved, address type, address, port.
    let mut req = [0u8; 4];
    s.read_exact(&mut req).await?;
    let host = match req[3] {
        1 => {
            let mut a = [0u8; 4];
            s.read_exact(&mut a).await?;
            std::net::Ipv4Addr::from(a).to_string()
        }
        3 => {
            let mut n = [0u8; 1];
            s.read_exact(&mut n).await?;
            let mut name = vec![0u8; usize::from(n[0])];
            s.read_exact(&mut name).await?;
            String::from_utf8_lossy(&name).into_owned()
        }
        _ => {
            let mut a = [0u8; 16];
            s.read_exact(&mut a).await?;
            format!("[{}]", std::net::Ipv6Addr::from(a))
        }
    };
    let mut port = [0u8; 2];
    s.read_exact(&mut port).await?;
    let target = format!("{host}:{}", u16::from_be_bytes(port));
    seen.lock().unwrap().targets.push(target.clone());
    let reply = |code: u8| [5, code, 0, 1, 0, 0, 0, 0, 0, 0];
    if rules.deny {
        s.write_all(&reply(2)).await?;
        return Ok(());
    }
    let Ok(upstream) = TcpStream::connect(target.replace("localhost", "127.0.0.1")).await else {
        s.write_all(&reply(5)).await?;
        return Ok(());
    };
    s.write_all(&reply(0)).await?;
    let mut s = s;
    let mut upstream = upstream;
    let _ = tokio::io::copy_bidirectional(&mut s, &mut upstream).await;
    Ok(())
}

async fn serve_http(mut s: TcpStream, rules: &Rules, seen: &Mutex<Seen>) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte).await? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let target = text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("CONNECT "))
        .and_then(|l| l.split(' ').next())
        .unwrap_or_default()
        .to_string();
    seen.lock().unwrap().targets.push(target.clone());
    if let Some((user, pass)) = &rules.login {
        use base64::Engine as _;
        let offered = text
            .lines()
            .find_map(|l| l.strip_prefix("Proxy-Authorization: Basic "))
            .and_then(|t| {
                base64::engine::general_purpose::STANDARD
                    .decode(t.trim())
                    .ok()
            })
            .map(|b| String::from_utf8_lossy(&b).into_owned());
        if let Some(o) = &offered {
            seen.lock().unwrap().logins.push(o.clone());
        }
        if offered.as_deref() != Some(&format!("{user}:{pass}")) {
            s.write_all(
                b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n\r\n",
            )
            .await?;
            return Ok(());
        }
    }
    if rules.deny {
        s.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            .await?;
        return Ok(());
    }
    match TcpStream::connect(target.replace("localhost", "127.0.0.1")).await {
        Ok(upstream) => {
            s.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                .await?;
            let (mut a, mut b) = (s, upstream);
            let _ = tokio::io::copy_bidirectional(&mut a, &mut b).await;
        }
        Err(_) => {
            s.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                .await?;
        }
    }
    Ok(())
}
