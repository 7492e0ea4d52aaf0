//! An in-process TCP fault proxy in front of a real broker: pass, latency, black hole, refuse,
//! close new connections, kill all connections.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Pass,
    /// Delay every chunk in both directions.
    Latency(Duration),
    /// Keep connections open but forward nothing (new ones too).
    BlackHole,
    /// Stop listening: new connections are refused.
    Refuse,
    /// Accept new connections and close them at once.
    CloseNew,
}

pub struct FaultProxy {
    pub port: u16,
    fault: Arc<Mutex<Fault>>,
    changed: watch::Sender<u64>,
    kill: watch::Sender<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    pub async fn start(target_port: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let fault = Arc::new(Mutex::new(Fault::Pass));
        let (changed, changed_rx) = watch::channel(0);
        let (kill, kill_rx) = watch::channel(0);
        let task = tokio::spawn(accept_loop(
            listener,
            port,
            target_port,
            fault.clone(),
            changed_rx,
            kill_rx,
        ));
        Self {
            port,
            fault,
            changed,
            kill,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    pub fn set(&self, fault: Fault) {
        *self.fault.lock().unwrap() = fault;
        self.changed.send_modify(|n| *n += 1);
    }

    /// Closes every open connection now.
    pub fn kill_all(&self) {
        self.kill.send_modify(|n| *n += 1);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.kill_all();
        self.task.abort();
    }
}

async fn accept_loop(
    mut listener: TcpListener,
    port: u16,
    target_port: u16,
    fault: Arc<Mutex<Fault>>,
    mut changed: watch::Receiver<u64>,
    kill: watch::Receiver<u64>,
) {
    loop {
        let current = *fault.lock().unwrap();
        if current == Fault::Refuse {
            drop(listener);
            while *fault.lock().unwrap() == Fault::Refuse {
                if changed.changed().await.is_err() {
                    return;
                }
            }
            listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
            continue;
        }
        tokio::select! {
            _ = changed.changed() => {}
            accepted = listener.accept() => {
                let Ok((client, _)) = accepted else { continue };
                if current == Fault::CloseNew {
                    drop(client);
                    continue;
                }
                tokio::spawn(relay(client, target_port, fault.clone(), kill.clone()));
            }
        }
    }
}

async fn relay(
    client: TcpStream,
    target_port: u16,
    fault: Arc<Mutex<Fault>>,
    mut kill: watch::Receiver<u64>,
) {
    let Ok(server) = TcpStream::connect(("127.0.0.1", target_port)).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (cr, cw) = client.into_split();
    let (sr, sw) = server.into_split();
    kill.borrow_and_update();
    tokio::select! {
        () = pipe(cr, sw, fault.clone()) => {}
        () = pipe(sr, cw, fault) => {}
        _ = kill.changed() => {}
    }
}

async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    fault: Arc<Mutex<Fault>>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let current = *fault.lock().unwrap();
        match current {
            Fault::BlackHole => continue,
            Fault::Latency(d) => tokio::time::sleep(d).await,
            _ => {}
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
