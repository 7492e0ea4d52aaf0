//! The separately timed stages of reaching a broker: DNS, TCP, TLS, WebSocket upgrade.
//!
//! rumqttc runs all of these inside one opaque future with one timeout, so a SYN black hole, a
//! silent server and a missing CONNACK look the same. Here each stage has its own timeout and its
//! own classified failure. The doctor calls these functions one by one.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::ClientConfig;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::{self, client::IntoClientRequest, http::HeaderValue};

use super::cause::{Cause, CauseKind, classify_tcp_io, classify_tls_io};
use super::event::Stage;
use super::options::BrokerOptions;

/// Any byte stream to the broker (TCP or TLS over TCP).
pub trait ByteStream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> ByteStream for T {}

/// A boxed byte stream.
pub type BoxStream = Box<dyn ByteStream>;

/// An established path to the broker, ready for MQTT bytes.
pub enum Upstream {
    Stream(BoxStream),
    WebSocket(Box<WebSocketStream<BoxStream>>),
}

/// The outcome of one stage, for lifecycle events and the doctor.
#[derive(Debug, Clone)]
pub struct StageReport {
    pub stage: Stage,
    pub elapsed: Duration,
    pub result: Result<String, Cause>,
}

/// Resolves the host. IP literals resolve at once without asking the resolver.
pub async fn resolve(host: &str, port: u16, timeout: Duration) -> Result<Vec<SocketAddr>, Cause> {
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    match tokio::time::timeout(timeout, tokio::net::lookup_host((host, port))).await {
        Err(_) => Err(Cause::new(
            CauseKind::DnsFailed,
            format!("no answer for '{host}' within {timeout:?}"),
        )),
        Ok(Err(e)) => Err(Cause::new(CauseKind::DnsFailed, format!("'{host}': {e}"))),
        Ok(Ok(addrs)) => {
            let addrs: Vec<SocketAddr> = addrs.collect();
            if addrs.is_empty() {
                Err(Cause::new(
                    CauseKind::DnsFailed,
                    format!("'{host}' has no addresses"),
                ))
            } else {
                Ok(addrs)
            }
        }
    }
}

/// Connects to the first address that answers; reports the last failure otherwise.
pub async fn connect_tcp(addrs: &[SocketAddr], timeout: Duration) -> Result<TcpStream, Cause> {
    let mut last = Cause::new(CauseKind::TcpUnreachable, "no address to try");
    for addr in addrs {
        match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => {
                // Small control packets (PINGREQ, acks) must not wait for Nagle.
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Ok(Err(e)) => last = Cause::new(classify_tcp_io(&e), format!("{addr}: {e}")),
            Err(_) => {
                last = Cause::new(
                    CauseKind::TcpTimeout,
                    format!("{addr}: no answer within {timeout:?}"),
                );
            }
        }
    }
    Err(last)
}

/// Runs the TLS handshake and describes the session (version, cipher, ALPN).
pub async fn handshake_tls(
    stream: TcpStream,
    config: Arc<ClientConfig>,
    server_name: rustls_pki_types::ServerName<'static>,
    timeout: Duration,
) -> Result<(TlsStream<TcpStream>, String), Cause> {
    let connector = TlsConnector::from(config);
    match tokio::time::timeout(timeout, connector.connect(server_name, stream)).await {
        Err(_) => Err(Cause::new(
            CauseKind::TcpTimeout,
            format!("TLS handshake got no answer within {timeout:?}"),
        )),
        Ok(Err(e)) => Err(classify_tls_io(&e)),
        Ok(Ok(tls)) => {
            let detail = describe_tls(tls.get_ref().1);
            Ok((tls, detail))
        }
    }
}

fn describe_tls(conn: &tokio_rustls::rustls::ClientConnection) -> String {
    let version = conn
        .protocol_version()
        .map_or_else(|| "?".to_string(), |v| format!("{v:?}").replace('_', "."));
    let suite = conn
        .negotiated_cipher_suite()
        .map_or_else(|| "?".to_string(), |s| format!("{:?}", s.suite()));
    let alpn = conn
        .alpn_protocol()
        .map(|p| format!(" alpn={}", String::from_utf8_lossy(p)));
    format!("{version} {suite}{}", alpn.unwrap_or_default())
}

/// Upgrades to WebSocket with subprotocol `mqtt`.
pub async fn upgrade_websocket(
    stream: BoxStream,
    url: &str,
    headers: &[(String, crate::secret::Secret)],
    timeout: Duration,
) -> Result<(WebSocketStream<BoxStream>, String), Cause> {
    let mut request = url
        .into_client_request()
        .map_err(|e| Cause::new(CauseKind::LocalError, format!("WebSocket URL {url}: {e}")))?;
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("mqtt"));
    for (name, value) in headers {
        let name = tungstenite::http::HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| Cause::new(CauseKind::LocalError, format!("--ws-header {name:?}: {e}")))?;
        // The value is not quoted: it may be a token.
        let value = HeaderValue::from_bytes(value.expose().as_bytes()).map_err(|_| {
            Cause::new(
                CauseKind::LocalError,
                format!("--ws-header {name}: the value holds characters a header cannot"),
            )
        })?;
        request.headers_mut().append(name, value);
    }
    match tokio::time::timeout(
        timeout,
        tokio_tungstenite::client_async_with_config(request, stream, None),
    )
    .await
    {
        Err(_) => Err(Cause::new(
            CauseKind::WsUpgradeFailed,
            format!("no upgrade answer within {timeout:?}"),
        )),
        Ok(Err(e)) => Err(classify_ws_error(&e)),
        Ok(Ok((ws, response))) => {
            let proto = response
                .headers()
                .get("Sec-WebSocket-Protocol")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("none");
            Ok((
                ws,
                format!("HTTP {} subprotocol={proto}", response.status().as_u16()),
            ))
        }
    }
}

fn classify_ws_error(err: &tungstenite::Error) -> Cause {
    match err {
        tungstenite::Error::Http(response) => {
            Cause::new(CauseKind::WsUpgradeFailed, refused_upgrade(response))
        }
        tungstenite::Error::Io(io) => Cause::new(
            CauseKind::WsUpgradeFailed,
            format!("the server closed during the upgrade ({io}): is this a plain MQTT port?"),
        ),
        tungstenite::Error::Protocol(p) => Cause::new(
            CauseKind::WsUpgradeFailed,
            format!("{p}: is this a WebSocket endpoint?"),
        ),
        other => Cause::new(CauseKind::WsUpgradeFailed, other.to_string()),
    }
}

/// A refused upgrade: the status, the response headers that explain it (authentication,
/// errors, redirects; not the routine ones) and the start of the body, sanitized.
fn refused_upgrade(response: &tungstenite::http::Response<Option<Vec<u8>>>) -> String {
    const ROUTINE: [&str; 6] = [
        "date",
        "content-length",
        "connection",
        "content-type",
        "server",
        "cache-control",
    ];
    let mut out = format!("HTTP {}", response.status());
    let headers: Vec<String> = response
        .headers()
        .iter()
        .filter(|(k, _)| !ROUTINE.contains(&k.as_str()))
        .map(|(k, v)| format!("{k}: {}", crate::sanitize::line(v.as_bytes())))
        .take(8)
        .collect();
    if !headers.is_empty() {
        let _ = write!(out, " ({})", headers.join("; "));
    }
    if let Some(body) = response.body().as_ref().filter(|b| !b.is_empty()) {
        let shown = &body[..body.len().min(200)];
        let _ = write!(out, ": {}", crate::sanitize::line(shown));
    }
    out
}

/// Runs every stage the scheme needs, reporting each through `report` as it finishes.
pub async fn establish(
    opts: &BrokerOptions,
    tls: Option<&Arc<ClientConfig>>,
    report: &mut (dyn FnMut(StageReport) + Send),
) -> Result<Upstream, Cause> {
    let target = &opts.target;
    let timeout = opts.connect_timeout;

    let tcp = open_tcp(opts, report).await?;

    let stream: BoxStream = if let Some(config) = tls {
        let started = Instant::now();
        let name = super::tls::server_name(&opts.tls, &target.host)?;
        let result = handshake_tls(tcp, config.clone(), name, timeout).await;
        let (stream, _) = finish(report, Stage::Tls, started, result, |(_, d)| d.clone())?;
        Box::new(stream)
    } else {
        Box::new(tcp)
    };

    if target.scheme.uses_websocket() {
        let started = Instant::now();
        let url = target.to_string();
        let result = upgrade_websocket(stream, &url, &opts.ws_headers, timeout).await;
        let (ws, _) = finish(report, Stage::WebSocket, started, result, |(_, d)| {
            d.clone()
        })?;
        Ok(Upstream::WebSocket(Box::new(ws)))
    } else {
        Ok(Upstream::Stream(stream))
    }
}

/// DNS and TCP to the broker, or, with `--proxy`, to the proxy and then the proxy's tunnel
/// to the broker (whose name the proxy resolves).
pub async fn open_tcp(
    opts: &BrokerOptions,
    report: &mut (dyn FnMut(StageReport) + Send),
) -> Result<TcpStream, Cause> {
    let target = &opts.target;
    let timeout = opts.connect_timeout;
    let (host, port) = match &opts.proxy {
        Some(p) => (p.host.as_str(), p.port),
        None => (target.host.as_str(), target.port),
    };
    let started = Instant::now();
    let resolved = resolve(host, port, timeout).await;
    let addrs = finish(report, Stage::Dns, started, resolved, |addrs| {
        let list = addrs
            .iter()
            .map(|a| a.ip().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        if opts.proxy.is_some() {
            format!("proxy {list}")
        } else {
            list
        }
    })?;

    let started = Instant::now();
    let tcp = connect_tcp(&addrs, timeout)
        .await
        .map_err(|c| match &opts.proxy {
            Some(p) => Cause::new(c.kind, format!("proxy {p}: {}", c.detail)),
            None => c,
        });
    let tcp = finish(report, Stage::Tcp, started, tcp, |s| {
        s.peer_addr()
            .map_or_else(|_| "connected".into(), |a| format!("connected to {a}"))
    })?;
    let Some(proxy) = &opts.proxy else {
        return Ok(tcp);
    };
    let started = Instant::now();
    let tunnel = super::tunnel::open(tcp, proxy, &target.host, target.port, timeout).await;
    let (tcp, _) = finish(report, Stage::Proxy, started, tunnel, |(_, d)| d.clone())?;
    Ok(tcp)
}

fn finish<T>(
    report: &mut (dyn FnMut(StageReport) + Send),
    stage: Stage,
    started: Instant,
    result: Result<T, Cause>,
    describe: impl FnOnce(&T) -> String,
) -> Result<T, Cause> {
    let elapsed = started.elapsed();
    match result {
        Ok(value) => {
            report(StageReport {
                stage,
                elapsed,
                result: Ok(describe(&value)),
            });
            Ok(value)
        }
        Err(cause) => {
            report(StageReport {
                stage,
                elapsed,
                result: Err(cause.clone()),
            });
            Err(cause)
        }
    }
}
