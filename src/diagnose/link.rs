//! A raw MQTT conversation for the doctor: write packets built with rumqttc's codecs, read whole
//! frames back, over a byte stream or a WebSocket.

use std::io;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use rumqttc::v5::mqttbytes::v5 as v5b;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::broker::options::MAX_PACKET_SIZE;
use crate::broker::session::{qos_v4, qos_v5};
use crate::broker::stages::Upstream;
use crate::broker::{BrokerOptions, Protocol, Subscription};

/// Why no frame came.
#[derive(Debug)]
pub enum ReadError {
    Closed,
    Timeout,
    Io(io::Error),
}

/// An established path to the broker, spoken to packet by packet.
pub struct Link {
    upstream: Upstream,
    buf: BytesMut,
}

impl Link {
    pub fn new(upstream: Upstream) -> Self {
        Self {
            upstream,
            buf: BytesMut::new(),
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        match &mut self.upstream {
            Upstream::Stream(s) => {
                s.write_all(bytes).await?;
                s.flush().await
            }
            Upstream::WebSocket(ws) => ws
                .send(WsMessage::Binary(Bytes::copy_from_slice(bytes)))
                .await
                .map_err(io::Error::other),
        }
    }

    async fn fill(&mut self) -> Result<(), ReadError> {
        match &mut self.upstream {
            Upstream::Stream(s) => {
                self.buf.reserve(16 * 1024);
                match s.read_buf(&mut self.buf).await {
                    Ok(0) => Err(ReadError::Closed),
                    Ok(_) => Ok(()),
                    Err(e) => Err(ReadError::Io(e)),
                }
            }
            Upstream::WebSocket(ws) => loop {
                match ws.next().await {
                    None | Some(Ok(WsMessage::Close(_))) => return Err(ReadError::Closed),
                    Some(Ok(WsMessage::Binary(data))) => {
                        self.buf.extend_from_slice(&data);
                        return Ok(());
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(ReadError::Io(io::Error::other(e))),
                }
            },
        }
    }

    /// The bytes received but not yet taken as a frame (for "what answered?").
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }

    /// The next whole packet (fixed header included), within `timeout`.
    pub async fn frame(&mut self, timeout: Duration) -> Result<Bytes, ReadError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(total) = frame_len(&self.buf) {
                if self.buf.len() >= total {
                    return Ok(self.buf.split_to(total).freeze());
                }
            }
            match tokio::time::timeout_at(deadline, self.fill()).await {
                Err(_) => return Err(ReadError::Timeout),
                Ok(result) => result?,
            }
        }
    }
}

impl Link {
    /// The body (after the fixed header) of the next packet of `kind`, skipping others (a
    /// retained PUBLISH before a SUBACK), within `timeout` in all.
    pub async fn until(
        &mut self,
        kind: crate::broker::PacketType,
        timeout: Duration,
    ) -> Result<Bytes, ReadError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let frame = self.frame(left).await?;
            if frame.first().copied().map(crate::broker::PacketType::of) == Some(kind) {
                let header = match crate::broker::wire::fixed_header(&frame) {
                    Ok(Some((len, _))) => len.min(frame.len()),
                    _ => frame.len(),
                };
                return Ok(frame.slice(header..));
            }
        }
    }
}

/// Length of the packet at the start of `buf`, once its fixed header is complete.
fn frame_len(buf: &[u8]) -> Option<usize> {
    match crate::broker::wire::fixed_header(buf) {
        Ok(Some((header, remaining))) => Some(header + remaining),
        Ok(None) => None,
        // Not MQTT framing: treat what is there as one frame so the caller can look at it.
        Err(_) => Some(buf.len().min(5)),
    }
}

fn max() -> Option<u32> {
    u32::try_from(MAX_PACKET_SIZE).ok()
}

/// CONNECT in the given protocol, with the options' client id, keep-alive and credentials.
pub fn connect(opts: &BrokerOptions, protocol: Protocol) -> BytesMut {
    let mut buf = BytesMut::new();
    let keep_alive = u16::try_from(opts.keep_alive.as_secs()).unwrap_or(u16::MAX);
    let password = opts
        .password
        .as_ref()
        .map(|p| p.expose().to_string())
        .unwrap_or_default();
    match protocol {
        Protocol::V311 => {
            let mut c = rumqttc::Connect::new(opts.client_id.clone());
            c.keep_alive = keep_alive;
            c.clean_session = opts.clean_start;
            c.login = opts
                .username
                .as_ref()
                .map(|u| rumqttc::Login::new(u.clone(), password.clone()));
            let _ = rumqttc::Packet::Connect(c).write(&mut buf, MAX_PACKET_SIZE);
        }
        Protocol::V5 => {
            let c = v5b::Connect {
                keep_alive,
                client_id: opts.client_id.clone(),
                clean_start: opts.clean_start,
                properties: Some(v5b::ConnectProperties {
                    session_expiry_interval: opts.session_expiry,
                    receive_maximum: None,
                    max_packet_size: max(),
                    topic_alias_max: None,
                    request_response_info: None,
                    request_problem_info: None,
                    user_properties: Vec::new(),
                    authentication_method: None,
                    authentication_data: None,
                }),
            };
            // MQTT 5 sends a password alone when there is no user name.
            let login = (opts.username.is_some() || opts.password.is_some())
                .then(|| v5b::Login::new(opts.username.clone().unwrap_or_default(), password));
            let _ = v5b::Packet::Connect(c, None, login).write(&mut buf, max());
        }
    }
    buf
}

/// SUBSCRIBE for the filters, packet id 1, QoS as asked.
pub fn subscribe(protocol: Protocol, subs: &[Subscription]) -> BytesMut {
    let mut buf = BytesMut::new();
    match protocol {
        Protocol::V311 => {
            let filters = subs
                .iter()
                .map(|s| rumqttc::SubscribeFilter::new(s.filter.clone(), qos_v4(s.qos)))
                .collect();
            let _ = rumqttc::Packet::Subscribe(rumqttc::Subscribe { pkid: 1, filters })
                .write(&mut buf, MAX_PACKET_SIZE);
        }
        Protocol::V5 => {
            let filters = subs
                .iter()
                .map(|s| {
                    let mut f = v5b::Filter::new(s.filter.clone(), qos_v5(s.qos));
                    f.nolocal = s.no_local;
                    f
                })
                .collect();
            let packet = v5b::Subscribe {
                pkid: 1,
                filters,
                properties: None,
            };
            let _ = v5b::Packet::Subscribe(packet).write(&mut buf, max());
        }
    }
    buf
}

/// PUBLISH at QoS 1 with packet id 2.
pub fn publish(protocol: Protocol, topic: &str, payload: &[u8]) -> BytesMut {
    publish_with(protocol, topic, payload, false)
}

/// PUBLISH at QoS 1 with packet id 2, retained when asked.
pub fn publish_with(protocol: Protocol, topic: &str, payload: &[u8], retain: bool) -> BytesMut {
    let mut buf = BytesMut::new();
    match protocol {
        Protocol::V311 => {
            let mut p = rumqttc::Publish::new(topic, rumqttc::QoS::AtLeastOnce, payload.to_vec());
            p.retain = retain;
            p.pkid = 2;
            let _ = rumqttc::Packet::Publish(p).write(&mut buf, MAX_PACKET_SIZE);
        }
        Protocol::V5 => {
            let mut p = v5b::Publish::new(
                topic,
                rumqttc::v5::mqttbytes::QoS::AtLeastOnce,
                Bytes::copy_from_slice(payload),
                None,
            );
            p.retain = retain;
            p.pkid = 2;
            let _ = v5b::Packet::Publish(p).write(&mut buf, max());
        }
    }
    buf
}

/// DISCONNECT (both versions accept the two-byte form).
pub const DISCONNECT: [u8; 2] = [0xE0, 0x00];
