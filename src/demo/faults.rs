//! The demo's fault schedule: a loopback proxy in front of the broker that, once a minute,
//! drops every connection and refuses new ones for a few seconds, so the timeline shows a drop,
//! several backoff attempts and a recovery.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};

use crate::broker::framer::{CaptureLimits, Frame, Framer};
use crate::broker::wire::{self, PacketType};
use tokio::sync::watch;

/// When the faults happen.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// First outage, from the start.
    pub first: Duration,
    /// Then one every `period`.
    pub period: Duration,
    /// How long each outage refuses connections.
    pub outage: Duration,
}

impl Default for Schedule {
    fn default() -> Self {
        Self {
            first: Duration::from_secs(15),
            period: Duration::from_secs(60),
            outage: Duration::from_secs(5),
        }
    }
}

/// Runs the proxy on `first` (already bound, so clients never find it missing at start) in
/// front of `target` until the process ends.
pub async fn run(
    first: std::net::TcpListener,
    target: u16,
    schedule: Schedule,
) -> std::io::Result<()> {
    let addr: SocketAddr = first.local_addr()?;
    first.set_nonblocking(true)?;
    let mut bound = Some(TcpListener::from_std(first)?);
    let (kill, _) = watch::channel(0u64);
    let mut next = tokio::time::Instant::now() + schedule.first;
    loop {
        let listener = match bound.take() {
            Some(l) => l,
            None => TcpListener::bind(addr).await?,
        };
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(next) => break,
                accepted = listener.accept() => {
                    let Ok((client, _)) = accepted else { continue };
                    let mut killed = kill.subscribe();
                    tokio::spawn(async move {
                        let Ok(server) = TcpStream::connect((Ipv4Addr::LOCALHOST, target)).await else {
                            return;
                        };
                        let _ = client.set_nodelay(true);
                        let _ = server.set_nodelay(true);
                        let (mut client_r, mut client_w) = client.into_split();
                        let (mut server_r, mut server_w) = server.into_split();
                        tokio::select! {
                            () = guarded(&mut client_r, &mut server_w) => {}
                            _ = tokio::io::copy(&mut server_r, &mut client_w) => {}
                            _ = killed.changed() => {}
                        }
                    });
                }
            }
        }
        // The outage: drop every link, stop listening (refused), then come back.
        tracing::info!(target: "mqscope::demo", "fault schedule: dropping every connection for {:?}", schedule.outage);
        kill.send_modify(|n| *n += 1);
        drop(listener);
        tokio::time::sleep(schedule.outage).await;
        next = tokio::time::Instant::now() + schedule.period;
    }
}

/// Client to broker, with one guard: rumqttd 0.20's router panics on a topic or filter that
/// starts with a multi-byte character (it slices `topic[..1]`), which would stop the demo's
/// broker for every client. Such a connection is closed instead, with a warning in the log.
async fn guarded(from: &mut OwnedReadHalf, to: &mut OwnedWriteHalf) {
    let mut framer = Framer::new(CaptureLimits {
        publish: 1024,
        control: 64 * 1024,
        max_packet: usize::MAX,
    });
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let mut refused = None;
        let _ = framer.feed(&buf[..n], &mut |frame| {
            if refused.is_none() {
                refused = crashing_name(&frame);
            }
        });
        if let Some(name) = refused {
            tracing::warn!(
                target: "mqscope::demo",
                "the demo's embedded broker (rumqttd 0.20) would crash on '{}' (a topic or \
                 filter that starts with a non-ASCII character): connection closed; try such \
                 topics against mosquitto",
                crate::sanitize::lines(&name)
            );
            return;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// The topic or filter of a PUBLISH, SUBSCRIBE or UNSUBSCRIBE (MQTT 5, as the demo's
/// listener speaks) that starts with a multi-byte character, if any.
fn crashing_name(frame: &Frame<'_>) -> Option<String> {
    let body = frame.body;
    let multi_byte = |name: &[u8]| name.first().is_some_and(|b| *b >= 0x80);
    let string_at = |at: usize| -> Option<&[u8]> {
        let len = usize::from(u16::from_be_bytes([*body.get(at)?, *body.get(at + 1)?]));
        body.get(at + 2..at + 2 + len)
    };
    match frame.packet_type() {
        PacketType::Publish => string_at(0)
            .filter(|t| multi_byte(t))
            .map(|t| String::from_utf8_lossy(t).into_owned()),
        PacketType::Subscribe | PacketType::Unsubscribe => {
            let options = usize::from(frame.packet_type() == PacketType::Subscribe);
            let (props, len) = wire::decode_varint(body.get(2..)?).ok()??;
            let mut at = 2 + len + props;
            while let Some(name) = string_at(at) {
                if multi_byte(name) {
                    return Some(String::from_utf8_lossy(name).into_owned());
                }
                at += 2 + name.len() + options;
            }
            None
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame_of(bytes: &[u8]) -> Option<String> {
        let mut framer = Framer::new(CaptureLimits {
            publish: 1024,
            control: 1024,
            max_packet: usize::MAX,
        });
        let mut found = None;
        let _ = framer.feed(bytes, &mut |f| found = crashing_name(&f));
        found
    }

    #[test]
    fn names_that_start_with_a_multi_byte_character_are_caught() {
        // PUBLISH QoS 0, v5: topic "温度/x" (8 bytes), no properties, payload "1".
        let mut p = vec![0x30, 12, 0, 8];
        p.extend_from_slice("温度/x".as_bytes());
        p.extend_from_slice(&[0, b'1']);
        assert_eq!(frame_of(&p).as_deref(), Some("温度/x"));
        // "plant/温度" is fine: only the first character matters to rumqttd.
        let mut ok = vec![0x30, 15, 0, 12];
        ok.extend_from_slice("plant/温度".as_bytes());
        ok.push(0);
        assert_eq!(frame_of(&ok), None);
        // SUBSCRIBE v5: pkid 1, no properties, "a/#" then "été/#".
        let filter = "été/#".as_bytes();
        let mut s = vec![0x82, 0, 0, 1, 0, 0, 3, b'a', b'/', b'#', 0, 0];
        s.push(u8::try_from(filter.len()).expect("small"));
        s.extend_from_slice(filter);
        s.push(0);
        s[1] = u8::try_from(s.len() - 2).expect("small");
        assert_eq!(frame_of(&s).as_deref(), Some("été/#"));
    }
}
