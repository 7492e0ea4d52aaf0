//! A WebSocket endpoint (tungstenite's server side) in front of a real mosquitto TCP port, for
//! MQTT over WebSocket tests: the Debian mosquitto here cannot open a websockets listener.
//! Only the path `/mqtt` upgrades; others get HTTP 404.

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};

pub struct WsBridge {
    pub port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl WsBridge {
    pub async fn start(target_port: u16) -> Self {
        Self::requiring(target_port, None).await
    }

    /// A bridge that upgrades only requests carrying this header and value; others get 401
    /// with a `WWW-Authenticate` saying why.
    pub async fn requiring(target_port: u16, header: Option<(&'static str, &'static str)>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(bridge(stream, target_port, header));
            }
        });
        Self { port, task }
    }
}

impl Drop for WsBridge {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[allow(clippy::result_large_err)]
fn check(
    req: &Request,
    mut resp: Response,
    header: Option<(&str, &str)>,
) -> Result<Response, ErrorResponse> {
    if let Some((name, value)) = header {
        if req.headers().get(name).and_then(|v| v.to_str().ok()) != Some(value) {
            let mut err = ErrorResponse::new(Some("token missing or wrong".into()));
            *err.status_mut() = StatusCode::UNAUTHORIZED;
            err.headers_mut().insert(
                "WWW-Authenticate",
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
            return Err(err);
        }
    }
    if req.uri().path() != "/mqtt" {
        let mut err = ErrorResponse::new(Some("not found".into()));
        *err.status_mut() = StatusCode::NOT_FOUND;
        return Err(err);
    }
    resp.headers_mut()
        .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("mqtt"));
    Ok(resp)
}

async fn bridge(stream: TcpStream, target_port: u16, header: Option<(&'static str, &'static str)>) {
    #[allow(clippy::result_large_err)]
    let callback = move |req: &Request, resp: Response| check(req, resp, header);
    let Ok(ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
        return;
    };
    let Ok(broker) = TcpStream::connect(("127.0.0.1", target_port)).await else {
        return;
    };
    let (mut br, mut bw) = broker.into_split();
    let (mut sink, mut source) = ws.split();
    let up = async move {
        while let Some(Ok(msg)) = source.next().await {
            if let Message::Binary(data) = msg {
                if bw.write_all(&data).await.is_err() {
                    return;
                }
            } else if let Message::Close(_) = msg {
                return;
            }
        }
    };
    let down = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match br.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if sink
                        .send(Message::Binary(buf[..n].to_vec().into()))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            }
        }
    };
    tokio::select! {
        () = up => {}
        () = down => {}
    }
}
