//! Reaching the broker through a proxy (`--proxy`): SOCKS5 (the `tokio-socks` crate, with
//! user/password authentication) or HTTP CONNECT (with Basic authentication). The proxy opens
//! a TCP tunnel to the broker; TLS, WebSocket and MQTT then run through it as over a direct
//! connection. The broker's host name goes to the proxy unresolved: behind a corporate proxy
//! the local resolver often cannot resolve it.

use std::fmt::{self, Write as _};
use std::str::FromStr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::cause::{Cause, CauseKind, classify_tcp_io};
use crate::secret::Secret;

/// Which kind of proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyKind {
    Socks5,
    Http,
}

/// A proxy and how to log in to it. The password never prints (`Display` and `Debug` leave it
/// out).
#[derive(Clone, PartialEq, Eq)]
pub struct ProxySettings {
    pub kind: ProxyKind,
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<Secret>,
}

impl fmt::Display for ProxySettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.kind {
            ProxyKind::Socks5 => "socks5",
            ProxyKind::Http => "http",
        };
        let user = self
            .username
            .as_ref()
            .map(|u| format!("{u}@"))
            .unwrap_or_default();
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        write!(f, "{scheme}://{user}{host}:{}", self.port)
    }
}

impl fmt::Debug for ProxySettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ProxySettings({self}{})",
            if self.password.is_some() {
                ", password ***"
            } else {
                ""
            }
        )
    }
}

impl FromStr for ProxySettings {
    type Err = String;

    /// `socks5://[user@]host[:port]` (port 1080 by default) or `http://[user@]host[:port]`
    /// (8080); a password in the URL is refused (it would show in the process list).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, rest, default_port) = if let Some(r) = s.strip_prefix("socks5://") {
            (ProxyKind::Socks5, r, 1080)
        } else if let Some(r) = s.strip_prefix("socks5h://") {
            (ProxyKind::Socks5, r, 1080)
        } else if let Some(r) = s.strip_prefix("http://") {
            (ProxyKind::Http, r, 8080)
        } else {
            return Err(format!(
                "{s:?}: a proxy is socks5://[user@]host:port or http://[user@]host:port"
            ));
        };
        let rest = rest.trim_end_matches('/');
        let (username, hostport) = match rest.rsplit_once('@') {
            Some((user, _)) if user.contains(':') => {
                return Err(
                    "a password in the proxy URL would show in the process list: use \
                     MQSCOPE_PROXY_PASSWORD or --proxy-password-file"
                        .into(),
                );
            }
            Some((user, hp)) => (Some(user.to_string()), hp),
            None => (None, rest),
        };
        let (host, port) = split_host_port(hostport, default_port)?;
        if host.is_empty() {
            return Err(format!("{s:?}: the proxy's host is missing"));
        }
        Ok(Self {
            kind,
            host,
            port,
            username: username.filter(|u| !u.is_empty()),
            password: None,
        })
    }
}

fn split_host_port(text: &str, default_port: u16) -> Result<(String, u16), String> {
    let port = |p: &str| {
        p.parse::<u16>()
            .map_err(|_| format!("{p:?} is not a port (1 to 65535)"))
    };
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or("an IPv6 address needs its closing ]")?;
        return match after.strip_prefix(':') {
            Some(p) => Ok((host.to_string(), port(p)?)),
            None if after.is_empty() => Ok((host.to_string(), default_port)),
            None => Err(format!("{after:?} after the address")),
        };
    }
    match text.rsplit_once(':') {
        Some((host, p)) => Ok((host.to_string(), port(p)?)),
        None => Ok((text.to_string(), default_port)),
    }
}

/// Asks the proxy at the other end of `tcp` for a tunnel to `host:port`; returns the
/// connection, now a tunnel, and what the proxy said.
pub async fn open(
    tcp: TcpStream,
    proxy: &ProxySettings,
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<(TcpStream, String), Cause> {
    let work = async {
        match proxy.kind {
            ProxyKind::Socks5 => socks5(tcp, proxy, host, port).await,
            ProxyKind::Http => http_connect(tcp, proxy, host, port).await,
        }
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(result) => result,
        Err(_) => Err(Cause::new(
            CauseKind::ProxyRefused,
            format!("the proxy {proxy} did not answer within {timeout:?}"),
        )),
    }
}

async fn socks5(
    tcp: TcpStream,
    proxy: &ProxySettings,
    host: &str,
    port: u16,
) -> Result<(TcpStream, String), Cause> {
    use tokio_socks::tcp::Socks5Stream;
    let target = (host, port);
    let result = match (&proxy.username, &proxy.password) {
        (Some(user), pass) => {
            let pass = pass.as_ref().map_or("", Secret::expose);
            Socks5Stream::connect_with_password_and_socket(tcp, target, user, pass).await
        }
        (None, _) => Socks5Stream::connect_with_socket(tcp, target).await,
    };
    match result {
        Ok(stream) => Ok((
            stream.into_inner(),
            format!("SOCKS5 tunnel to {host}:{port} through {proxy}"),
        )),
        Err(e) => Err(socks_cause(&e, proxy)),
    }
}

/// A SOCKS5 failure as a cause: the reply codes of RFC 1928 and the authentication outcomes.
fn socks_cause(e: &tokio_socks::Error, proxy: &ProxySettings) -> Cause {
    use tokio_socks::Error as E;
    let kind = match e {
        E::NoAcceptableAuthMethods | E::PasswordAuthFailure(_) | E::AuthorizationRequired => {
            CauseKind::ProxyAuthFailed
        }
        E::ConnectionNotAllowedByRuleset | E::CommandNotSupported => CauseKind::ProxyDenied,
        E::Io(io) => return Cause::new(classify_tcp_io(io), format!("proxy {proxy}: {io}")),
        _ => CauseKind::ProxyRefused,
    };
    let mut detail = format!("proxy {proxy}: SOCKS5 {e}");
    if kind == CauseKind::ProxyAuthFailed && proxy.username.is_none() {
        detail.push_str(" (no user name was sent: socks5://USER@host and MQSCOPE_PROXY_PASSWORD)");
    }
    Cause::new(kind, detail)
}

/// The most bytes of response headers read from an HTTP proxy.
const MAX_HEADERS: usize = 16 * 1024;

async fn http_connect(
    mut tcp: TcpStream,
    proxy: &ProxySettings,
    host: &str,
    port: u16,
) -> Result<(TcpStream, String), Cause> {
    let authority = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if let Some(user) = &proxy.username {
        use base64::Engine as _;
        let pass = proxy.password.as_ref().map_or("", Secret::expose);
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        let _ = write!(request, "Proxy-Authorization: Basic {token}\r\n");
    }
    request.push_str("\r\n");
    let io = |e: std::io::Error| Cause::new(classify_tcp_io(&e), format!("proxy {proxy}: {e}"));
    tcp.write_all(request.as_bytes()).await.map_err(io)?;
    // Byte by byte up to the blank line: nothing of the tunnel may be read here (a broker
    // never speaks first, but the tunnel's bytes belong to TLS or MQTT).
    let mut head = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_HEADERS {
            return Err(Cause::new(
                CauseKind::ProxyRefused,
                format!("proxy {proxy}: no end to the answer's headers in {MAX_HEADERS} bytes"),
            ));
        }
        match tcp.read(&mut byte).await.map_err(io)? {
            0 => {
                return Err(Cause::new(
                    CauseKind::ProxyRefused,
                    format!(
                        "proxy {proxy}: closed before answering CONNECT ({} bytes: {})",
                        head.len(),
                        crate::sanitize::line(&head)
                    ),
                ));
            }
            _ => head.push(byte[0]),
        }
    }
    let answer = parse_answer(&head);
    let detail = |what: &str| {
        let mut d = format!(
            "proxy {proxy}: CONNECT {authority} answered {} {}",
            answer.status,
            crate::sanitize::line(answer.reason.as_bytes())
        );
        if let Some(auth) = &answer.authenticate {
            let _ = write!(
                d,
                " (Proxy-Authenticate: {})",
                crate::sanitize::line(auth.as_bytes())
            );
        }
        if !what.is_empty() {
            d.push_str(what);
        }
        d
    };
    match answer.status {
        200..=299 => Ok((
            tcp,
            format!("HTTP CONNECT tunnel to {authority} through {proxy}"),
        )),
        407 => Err(Cause::new(
            CauseKind::ProxyAuthFailed,
            detail(if proxy.username.is_none() {
                ": no user name was sent (http://USER@host and MQSCOPE_PROXY_PASSWORD)"
            } else {
                ""
            }),
        )),
        502..=504 => Err(Cause::new(CauseKind::ProxyRefused, detail(""))),
        0 => Err(Cause::new(
            CauseKind::ProxyRefused,
            format!(
                "proxy {proxy}: not an HTTP answer: {}",
                crate::sanitize::line(&head[..head.len().min(80)])
            ),
        )),
        _ => Err(Cause::new(CauseKind::ProxyDenied, detail(""))),
    }
}

/// The status line and the header that explains a 407.
struct Answer {
    /// 0 when the answer is not HTTP.
    status: u16,
    reason: String,
    authenticate: Option<String>,
}

fn parse_answer(head: &[u8]) -> Answer {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let first = lines.next().unwrap_or_default();
    let mut parts = first.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let status = parts
        .next()
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|_| version.starts_with("HTTP/"))
        .unwrap_or(0);
    let reason = parts.next().unwrap_or_default().to_string();
    let authenticate = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("proxy-authenticate"))
        .map(|(_, v)| v.trim().to_string());
    Answer {
        status,
        reason,
        authenticate,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn proxy_urls_parse_and_never_hold_a_password() {
        let p: ProxySettings = "socks5://alice@proxy.corp:1081".parse().unwrap();
        assert_eq!(p.kind, ProxyKind::Socks5);
        assert_eq!((p.host.as_str(), p.port), ("proxy.corp", 1081));
        assert_eq!(p.username.as_deref(), Some("alice"));
        assert_eq!(p.to_string(), "socks5://alice@proxy.corp:1081");
        let h: ProxySettings = "http://[::1]".parse().unwrap();
        assert_eq!((h.host.as_str(), h.port), ("::1", 8080));
        assert_eq!(h.to_string(), "http://[::1]:8080");
        let e = "socks5://alice:hunter2@p:1080"
            .parse::<ProxySettings>()
            .unwrap_err();
        assert!(
            e.contains("MQSCOPE_PROXY_PASSWORD") && !e.contains("hunter2"),
            "{e}"
        );
        assert!(
            "ftp://p"
                .parse::<ProxySettings>()
                .unwrap_err()
                .contains("socks5://")
        );
        assert!("http://p:99999".parse::<ProxySettings>().is_err());
        let mut with = p.clone();
        with.password = Some(Secret::new("hunter2"));
        assert!(!format!("{with:?} {with}").contains("hunter2"));
    }

    /// A proxy that answers with `answer` to anything.
    async fn answering(answer: Vec<u8>) -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let mut buf = [0u8; 512];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(&answer).await;
            }
        });
        port
    }

    async fn through(port: u16, kind: &str) -> Cause {
        let proxy: ProxySettings = format!("{kind}://127.0.0.1:{port}").parse().unwrap();
        let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        open(tcp, &proxy, "温度.example", 1883, Duration::from_secs(2))
            .await
            .unwrap_err()
    }

    #[tokio::test]
    async fn hostile_proxy_answers_are_bounded_and_escaped() {
        // A status line with a terminal escape: the cause carries it escaped.
        let port = answering(b"HTTP/1.1 403 \x1b]0;pwned\x07Forbidden\r\n\r\n".to_vec()).await;
        let cause = through(port, "http").await;
        assert_eq!(cause.kind, CauseKind::ProxyDenied, "{cause}");
        assert!(
            !cause.detail.contains('\u{1b}') && !cause.detail.contains('\u{7}'),
            "{cause}"
        );
        assert!(cause.detail.contains("\\x1b"), "{cause}");
        // Headers without end: refused after 16 KiB, not read forever.
        let mut endless = b"HTTP/1.1 200 OK\r\n".to_vec();
        endless.extend(std::iter::repeat_n(b'a', 40_000));
        let port = answering(endless).await;
        let cause = through(port, "http").await;
        assert_eq!(cause.kind, CauseKind::ProxyRefused, "{cause}");
        assert!(
            cause.detail.contains("no end to the answer's headers"),
            "{cause}"
        );
        // Not a proxy at all: SSH's banner to a SOCKS5 and an HTTP client.
        let port = answering(b"SSH-2.0-OpenSSH_9.2\r\n\r\n".to_vec()).await;
        assert_eq!(through(port, "http").await.kind, CauseKind::ProxyRefused);
        assert_eq!(through(port, "socks5").await.kind, CauseKind::ProxyRefused);
    }

    #[test]
    fn http_answers_parse_safely() {
        let a = parse_answer(
            b"HTTP/1.1 407 Proxy Authentication Required\r\nproxy-authenticate: Basic realm=\"corp\"\r\n\r\n",
        );
        assert_eq!(a.status, 407);
        assert_eq!(a.authenticate.as_deref(), Some("Basic realm=\"corp\""));
        assert_eq!(parse_answer(b"SSH-2.0-OpenSSH\r\n\r\n").status, 0);
        assert_eq!(parse_answer(b"\xff\xfe\r\n\r\n").status, 0);
        assert_eq!(parse_answer(b"").status, 0);
    }
}
