//! The connection layer: reaches a broker stage by stage, keeps the session alive with backoff,
//! and turns everything into one stream of [`BrokerEvent`]s.
//!
//! ```text
//!  rumqttc EventLoop ──unix socket (0700 dir)──▶ pump ──TCP/TLS/WS──▶ broker
//!        ▲  (session state machine)               │ frames both directions
//!        │                                        ▼
//!   supervisor ◀──────── notes (CONNECT sent, CONNACK, DISCONNECT, close cause)
//!        │
//!        ▼
//!   BrokerEvent channel (messages, lifecycle, packet records, drop counts)
//! ```

mod acks;
pub mod backoff;
pub mod cause;
mod classify;
pub mod codes;
mod direct;
mod emitter;
pub mod event;
pub mod events;
pub(crate) mod framer;
pub mod json;
mod local;
pub mod options;
pub(crate) mod packet;
mod pump;
pub(crate) mod session;
pub mod stages;
mod supervisor;
pub mod target;
pub mod tls;
pub mod tunnel;
pub(crate) mod violation;
pub mod will;
pub mod wire;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

pub use cause::{Cause, CauseKind, Fatal};
pub use event::{
    BrokerEvent, Command, ConnackInfo, Direction, Lifecycle, LifecycleKind, Message,
    MessageProperties, PacketRecord, PublishOutcome, PublishRequest, Stage, SubscribeResult,
};
pub use json::message_json;
pub use options::{BrokerOptions, MqttVersion, Protocol, Subscription, TlsSettings};
pub use pump::unexpected_start;
pub use target::{Scheme, Target};
pub use will::Will;
pub use wire::PacketType;

/// A running connection layer: receive events, send commands.
pub struct BrokerHandle {
    pub events: events::EventReceiver,
    commands: mpsc::Sender<Command>,
    shutdown: watch::Sender<bool>,
    stats: Arc<pump::Stats>,
    task: JoinHandle<()>,
}

impl BrokerHandle {
    /// Starts the layer. Fails at once (with a `local_error` cause) when TLS files are unusable
    /// or the private socket cannot be created; every network problem arrives as an event.
    pub fn spawn(opts: BrokerOptions) -> Result<Self, Cause> {
        if !opts.clean_start && opts.client_id.is_empty() {
            return Err(Cause::new(
                CauseKind::LocalError,
                "resuming a session (clean start off) needs a client id",
            ));
        }
        let tls = if opts.target.scheme.uses_tls() {
            Some(tls::client_config(&opts.tls)?)
        } else {
            None
        };
        let socket = local::LocalSocket::bind().map_err(|e| {
            Cause::new(
                CauseKind::LocalError,
                format!("cannot create the local socket: {e}"),
            )
        })?;
        let (events_tx, events_rx) = mpsc::channel(opts.event_capacity.max(16));
        let queued = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let events = events::EventReceiver::new(events_rx, queued.clone());
        let (commands, commands_rx) = mpsc::channel(256);
        let (shutdown, shutdown_rx) = watch::channel(false);
        let stats = Arc::new(pump::Stats::default());
        let supervisor = supervisor::Supervisor::new(
            opts,
            tls,
            socket,
            emitter::Emitter::new(events_tx, stats.clone(), queued),
            commands_rx,
            shutdown_rx,
        );
        let task = tokio::spawn(supervisor.run());
        Ok(Self {
            events,
            commands,
            shutdown,
            stats,
            task,
        })
    }

    /// A sender for commands, for tasks that publish or steer the link.
    pub fn commands(&self) -> mpsc::Sender<Command> {
        self.commands.clone()
    }

    /// Publishes and waits for the outcome the QoS implies.
    pub async fn publish(&self, req: PublishRequest) -> PublishOutcome {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::Publish(req, tx)).await.is_err() {
            return PublishOutcome::Failed("the connection layer has stopped".into());
        }
        rx.await
            .unwrap_or_else(|_| PublishOutcome::Failed("the connection layer has stopped".into()))
    }

    /// Messages dropped so far because the consumer fell behind.
    pub fn dropped_messages(&self) -> u64 {
        self.stats.dropped_messages.load(Ordering::Relaxed)
    }

    /// Disconnects cleanly (DISCONNECT sent and flushed) and waits for the layer to end.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let Self { task, events, .. } = self;
        // Keep receiving while the layer winds down so it never waits on a full channel.
        let drain = async move {
            let mut events = events;
            while events.recv().await.is_some() {}
        };
        tokio::select! {
            _ = task => {}
            () = drain => {}
        }
    }
}
