//! The demo's fault schedule: a loopback proxy in front of the broker that, once a minute,
//! drops every connection and refuses new ones for a few seconds, so the timeline shows a drop,
//! several backoff attempts and a recovery.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
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
                        let Ok(mut server) = TcpStream::connect((Ipv4Addr::LOCALHOST, target)).await else {
                            return;
                        };
                        let _ = client.set_nodelay(true);
                        let _ = server.set_nodelay(true);
                        let mut client = client;
                        tokio::select! {
                            _ = copy_bidirectional(&mut client, &mut server) => {}
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
