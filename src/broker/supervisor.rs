//! The supervisor: runs attempts, classifies failures, backs off, resubscribes, serves commands.
//!
//! The loop is shaped around three facts about rumqttc 0.25, each measured against mosquitto
//! (and covered by a test under `tests/broker`):
//! - after an error its next `poll()` reconnects at once, so every delay here is ours;
//! - work inside the poll loop stalls PINGRESP under a flood, so a message is only forwarded
//!   with `try_send` (dropped and counted when the consumer is behind), never awaited;
//! - it forgets subscriptions on a clean-session reconnect, so we resubscribe after CONNACK.

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::MissedTickBehavior;
use tokio_rustls::rustls::ClientConfig;

use super::backoff::Backoff;
use super::cause::{Cause, CauseKind};
use super::codes;
use super::event::{
    BrokerEvent, Command, ConnackInfo, Lifecycle, LifecycleKind, PublishOutcome, PublishRequest,
    Stage, SubscribeResult,
};
use super::local::LocalSocket;
use super::options::{BrokerOptions, MqttVersion, Protocol, Subscription};
use super::pump::{self, Note, PumpCtx, Stats};
use super::session::{REQUEST_CAPACITY, Session, SessionError, SessionEvent};
use super::stages;

/// Sends events in order: lifecycle events are never lost (they wait in `overflow` while the
/// channel is full); messages are dropped and counted instead.
struct Emitter {
    tx: mpsc::Sender<BrokerEvent>,
    overflow: VecDeque<BrokerEvent>,
    stats: Arc<Stats>,
    reported: (u64, u64),
    /// Something was emitted since the last housekeeping.
    active: bool,
}

impl Emitter {
    fn lifecycle(&mut self, attempt: u32, kind: LifecycleKind) {
        tracing::debug!(attempt, ?kind, "lifecycle");
        self.push(BrokerEvent::Lifecycle(Lifecycle {
            at: SystemTime::now(),
            mono: Instant::now(),
            attempt,
            kind,
        }));
    }

    fn push(&mut self, event: BrokerEvent) {
        self.active = true;
        self.flush();
        if !self.overflow.is_empty() {
            self.overflow.push_back(event);
            return;
        }
        if let Err(mpsc::error::TrySendError::Full(event)) = self.tx.try_send(event) {
            self.overflow.push_back(event);
        }
    }

    fn message(&mut self, message: super::event::Message) {
        self.active = true;
        if !self.overflow.is_empty() {
            self.flush();
        }
        if !self.overflow.is_empty() || self.tx.try_send(BrokerEvent::Message(message)).is_err() {
            self.stats.dropped_messages.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn flush(&mut self) {
        while let Some(event) = self.overflow.pop_front() {
            match self.tx.try_send(event) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(event)) => {
                    self.overflow.push_front(event);
                    return;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    self.overflow.clear();
                    return;
                }
            }
        }
    }

    /// Emits a `Dropped` event when the totals changed since the last report.
    fn report_drops(&mut self) {
        let now = (
            self.stats.dropped_messages.load(Ordering::Relaxed),
            self.stats.dropped_packets.load(Ordering::Relaxed),
        );
        if now != self.reported {
            self.reported = now;
            self.push(BrokerEvent::Dropped {
                messages: now.0,
                packets: now.1,
            });
        }
    }

    fn consumer_gone(&self) -> bool {
        self.tx.is_closed()
    }
}

/// How an attempt ended.
enum AttemptEnd {
    Failed {
        cause: Cause,
        /// How long the link was up, if it got to CONNACK.
        uptime: Option<Duration>,
    },
    UserReconnect,
    UserDisconnect,
    Shutdown,
}

/// What to do after an attempt.
enum Next {
    Retry,
    Wait(Duration),
    WaitForUser,
    Stop,
}

type Reply = oneshot::Sender<PublishOutcome>;

/// Housekeeping period while events flow, and on a quiet link.
const HOUSEKEEPING_BUSY: Duration = Duration::from_secs(1);
const HOUSEKEEPING_QUIET: Duration = Duration::from_secs(5);

/// How long a clean disconnect may take before the link is simply dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

pub struct Supervisor {
    opts: BrokerOptions,
    tls: Option<Arc<ClientConfig>>,
    socket: Arc<LocalSocket>,
    out: Emitter,
    commands: mpsc::Receiver<Command>,
    shutdown: watch::Receiver<bool>,
    protocol: Protocol,
    version_settled: bool,
    attempt: u32,
    failures_in_row: u32,
    backoff: Backoff,
    /// Publishes received while offline, sent after the next CONNACK.
    queued: VecDeque<(PublishRequest, Reply)>,
}

impl Supervisor {
    pub fn new(
        opts: BrokerOptions,
        tls: Option<Arc<ClientConfig>>,
        socket: LocalSocket,
        events: mpsc::Sender<BrokerEvent>,
        commands: mpsc::Receiver<Command>,
        shutdown: watch::Receiver<bool>,
        stats: Arc<Stats>,
    ) -> Self {
        let protocol = match opts.version {
            MqttVersion::V311 => Protocol::V311,
            MqttVersion::V5 | MqttVersion::Auto => Protocol::V5,
        };
        Self {
            version_settled: opts.version != MqttVersion::Auto,
            backoff: Backoff::new(opts.backoff),
            opts,
            tls,
            socket: Arc::new(socket),
            out: Emitter {
                tx: events,
                overflow: VecDeque::new(),
                stats,
                reported: (0, 0),
                active: false,
            },
            commands,
            shutdown,
            protocol,
            attempt: 0,
            failures_in_row: 0,
            queued: VecDeque::new(),
        }
    }

    pub async fn run(mut self) {
        loop {
            let next = match self.attempt_once().await {
                AttemptEnd::Shutdown => Next::Stop,
                AttemptEnd::UserReconnect => {
                    self.backoff.reset();
                    self.failures_in_row = 0;
                    Next::Retry
                }
                AttemptEnd::UserDisconnect => {
                    self.out.lifecycle(self.attempt, LifecycleKind::Idle);
                    Next::WaitForUser
                }
                AttemptEnd::Failed { cause, uptime } => self.after_failure(cause, uptime),
            };
            let proceed = match next {
                Next::Retry => true,
                Next::Stop => false,
                Next::Wait(delay) => {
                    self.out
                        .lifecycle(self.attempt, LifecycleKind::Backoff { delay });
                    self.wait(Some(delay)).await
                }
                Next::WaitForUser => {
                    self.fail_queued("not connected");
                    self.wait(None).await
                }
            };
            if !proceed {
                break;
            }
        }
        self.fail_queued("the connection layer shut down");
        self.out.report_drops();
        self.out.flush();
    }

    fn after_failure(&mut self, cause: Cause, uptime: Option<Duration>) -> Next {
        if let Some(uptime) = uptime {
            self.out.lifecycle(
                self.attempt,
                LifecycleKind::Disconnected {
                    cause: cause.clone(),
                    uptime,
                },
            );
            self.backoff.link_ended(uptime);
        }
        let v5_refused = matches!(
            cause.kind,
            CauseKind::ProtocolVersionUnsupported | CauseKind::PeerClosed | CauseKind::TcpReset
        );
        if !self.version_settled && self.protocol == Protocol::V5 && uptime.is_none() && v5_refused
        {
            self.protocol = Protocol::V311;
            self.version_settled = true;
            self.out
                .lifecycle(self.attempt, LifecycleKind::FallbackToV311 { cause });
            return Next::Retry;
        }
        self.failures_in_row += 1;
        if cause.is_permanent() {
            self.out.lifecycle(
                self.attempt,
                LifecycleKind::GaveUp {
                    cause,
                    permanent: true,
                },
            );
            return Next::WaitForUser;
        }
        if self
            .opts
            .max_attempts
            .is_some_and(|max| self.failures_in_row >= max)
        {
            self.out.lifecycle(
                self.attempt,
                LifecycleKind::GaveUp {
                    cause,
                    permanent: false,
                },
            );
            return Next::WaitForUser;
        }
        Next::Wait(self.backoff.next_delay(crate::random::unit_f64()))
    }

    /// Waits for the delay (or, with `None`, for the user). Returns false to stop.
    async fn wait(&mut self, delay: Option<Duration>) -> bool {
        let sleep = tokio::time::sleep(delay.unwrap_or(Duration::MAX / 4));
        tokio::pin!(sleep);
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                () = &mut sleep, if delay.is_some() => return true,
                _ = self.shutdown.changed() => return false,
                cmd = self.commands.recv(), if self.queued.len() < REQUEST_CAPACITY => match cmd {
                    None | Some(Command::Shutdown) => return false,
                    Some(Command::Reconnect) => {
                        self.backoff.reset();
                        self.failures_in_row = 0;
                        return true;
                    }
                    Some(Command::Disconnect) => {}
                    Some(Command::Subscribe(subs)) => self.opts.subscriptions.extend(subs),
                    Some(Command::Unsubscribe(filters)) => {
                        self.opts.subscriptions.retain(|s| !filters.contains(&s.filter));
                    }
                    Some(Command::Publish(req, reply)) => {
                        if delay.is_some() {
                            self.queued.push_back((req, reply));
                        } else {
                            let _ = reply.send(PublishOutcome::Failed("not connected".into()));
                        }
                    }
                },
                _ = tick.tick() => {
                    self.out.flush();
                    if self.out.consumer_gone() {
                        return false;
                    }
                }
            }
        }
    }

    fn fail_queued(&mut self, why: &str) {
        for (_, reply) in self.queued.drain(..) {
            let _ = reply.send(PublishOutcome::Failed(why.to_string()));
        }
    }

    async fn attempt_once(&mut self) -> AttemptEnd {
        self.attempt += 1;
        let attempt = self.attempt;
        self.out.lifecycle(
            attempt,
            LifecycleKind::Connecting {
                target: self.opts.target.to_string(),
                protocol: self.protocol,
            },
        );

        let upstream = match self.establish().await {
            Ok(upstream) => upstream,
            Err(end) => return end,
        };

        let (notes_tx, mut notes) = mpsc::unbounded_channel();
        let ctx = PumpCtx {
            notes: notes_tx,
            records: self.opts.packet_log.then(|| self.out.tx.clone()),
            stats: self.out.stats.clone(),
        };
        let socket = self.socket.clone();
        let accept_timeout = self.opts.connect_timeout;
        let pump = tokio::spawn(async move {
            if let Ok(Ok(local)) = tokio::time::timeout(accept_timeout, socket.accept_own()).await {
                pump::run(local, upstream, ctx).await;
            }
        });

        let mut session = Session::new(&self.opts, self.protocol, self.socket.path());
        let connack_started = Instant::now();
        let first = tokio::select! {
            r = session.poll() => r,
            _ = self.shutdown.changed() => {
                pump.abort();
                return AttemptEnd::Shutdown;
            }
        };
        let mut link = LinkNotes::default();
        self.take_notes(&mut notes, &mut link);
        let session_present = match first {
            Ok(SessionEvent::ConnAck { session_present }) => session_present,
            Ok(other) => {
                tracing::warn!(?other, "unexpected first event");
                false
            }
            Err(err) => {
                // Give the pump a moment to report how the upstream ended.
                let _ = tokio::time::timeout(
                    Duration::from_millis(200),
                    notes_wait(&mut notes, &mut link),
                )
                .await;
                let tls = self.opts.target.scheme.uses_tls();
                let cause = classify_connect_failure(&err, &link, self.protocol, tls);
                self.out.lifecycle(
                    attempt,
                    LifecycleKind::Stage {
                        stage: Stage::Connack,
                        elapsed: connack_started.elapsed(),
                        result: Err(cause.clone()),
                    },
                );
                drop(session);
                let _ = tokio::time::timeout(Duration::from_secs(1), pump).await;
                return AttemptEnd::Failed {
                    cause,
                    uptime: None,
                };
            }
        };

        let mut info = link.connack.take().unwrap_or_default();
        info.session_present = session_present;
        let connack_elapsed = link
            .connect_sent
            .map_or_else(|| connack_started.elapsed(), |at| at.elapsed());
        self.out.lifecycle(
            attempt,
            LifecycleKind::Stage {
                stage: Stage::Connack,
                elapsed: connack_elapsed.min(connack_started.elapsed()),
                result: Ok(format!(
                    "{} (MQTT {}) session_present={}",
                    info.code_name(),
                    self.protocol.as_str(),
                    u8::from(session_present)
                )),
            },
        );
        self.out.lifecycle(attempt, LifecycleKind::Connected(info));
        self.version_settled = true;
        self.failures_in_row = 0;

        let end = self
            .connected(&mut session, &mut notes, link, session_present)
            .await;
        drop(session);
        let _ = tokio::time::timeout(Duration::from_secs(3), pump).await;
        end
    }

    /// Runs the DNS → TCP → TLS → WebSocket stages, reporting each one.
    async fn establish(&mut self) -> Result<stages::Upstream, AttemptEnd> {
        let attempt = self.attempt;
        let out = &mut self.out;
        let mut report = |r: stages::StageReport| {
            out.lifecycle(
                attempt,
                LifecycleKind::Stage {
                    stage: r.stage,
                    elapsed: r.elapsed,
                    result: r.result,
                },
            );
        };
        let establish = stages::establish(&self.opts, self.tls.as_ref(), &mut report);
        tokio::select! {
            r = establish => r.map_err(|cause| AttemptEnd::Failed { cause, uptime: None }),
            _ = self.shutdown.changed() => Err(AttemptEnd::Shutdown),
        }
    }

    fn take_notes(&mut self, notes: &mut mpsc::UnboundedReceiver<Note>, link: &mut LinkNotes) {
        while let Ok(note) = notes.try_recv() {
            if let Note::ConnectSent { protocol, .. } = &note {
                self.out.lifecycle(
                    self.attempt,
                    LifecycleKind::ConnectSent {
                        protocol: *protocol,
                    },
                );
            }
            link.absorb(note);
        }
    }

    /// Serves an established link until it ends.
    async fn connected(
        &mut self,
        session: &mut Session,
        notes: &mut mpsc::UnboundedReceiver<Note>,
        mut link: LinkNotes,
        session_present: bool,
    ) -> AttemptEnd {
        let started = Instant::now();
        let mut acks = Acks::default();
        if !session_present && !self.opts.subscriptions.is_empty() {
            let subs = self.opts.subscriptions.clone();
            acks.subscribe(session, subs);
        }
        while acks.has_room() {
            let Some((req, reply)) = self.queued.pop_front() else {
                break;
            };
            acks.publish(session, req, reply);
        }
        // Housekeeping (drop counts, the overflow, a consumer that went away) every second
        // while events flow, every few seconds on a quiet link: each wake-up of an idle
        // process costs more than the work it does.
        let housekeeping = tokio::time::sleep(HOUSEKEEPING_BUSY);
        tokio::pin!(housekeeping);
        let mut closing: Option<AttemptEnd> = None;
        // A DISCONNECT may wait behind a full in-flight window; do not wait for it forever.
        let give_up_closing = tokio::time::sleep(Duration::MAX / 4);
        tokio::pin!(give_up_closing);
        loop {
            if closing.is_some()
                && give_up_closing.deadline() > tokio::time::Instant::now() + CLOSE_GRACE
            {
                give_up_closing
                    .as_mut()
                    .reset(tokio::time::Instant::now() + CLOSE_GRACE);
            }
            tokio::select! {
                biased;
                () = &mut give_up_closing, if closing.is_some() => {
                    acks.fail_all("disconnected before acknowledgement");
                    return closing.take().unwrap_or(AttemptEnd::Shutdown);
                }
                _ = self.shutdown.changed(), if closing.is_none() => {
                    session.disconnect();
                    closing = Some(AttemptEnd::Shutdown);
                }
                cmd = self.commands.recv(), if closing.is_none() && acks.has_room() => {
                    closing = self.serve(cmd, session, &mut acks);
                }
                event = session.poll() => match event {
                    Ok(SessionEvent::Message(message)) => self.out.message(message),
                    Ok(SessionEvent::OutgoingDisconnect) => {
                        if let Some(end) = closing.take() {
                            acks.fail_all("disconnected before acknowledgement");
                            return end;
                        }
                    }
                    Ok(event) => match acks.on_event(event) {
                        Some(AckResult::Subscribed(results)) => {
                            self.out.lifecycle(self.attempt, LifecycleKind::Subscribed(results));
                        }
                        Some(AckResult::Unsubscribed(result)) => {
                            self.out.lifecycle(self.attempt, LifecycleKind::Unsubscribed(result));
                        }
                        None => {}
                    },
                    Err(err) => {
                        self.take_notes(notes, &mut link);
                        acks.requeue_or_fail(&mut self.queued);
                        if let Some(end) = closing.take() {
                            return end;
                        }
                        let _ = tokio::time::timeout(
                            Duration::from_millis(200),
                            notes_wait(notes, &mut link),
                        )
                        .await;
                        let cause = classify_link_failure(&err, &link);
                        return AttemptEnd::Failed { cause, uptime: Some(started.elapsed()) };
                    }
                },
                () = &mut housekeeping => {
                    self.out.report_drops();
                    self.out.flush();
                    if self.out.consumer_gone() && closing.is_none() {
                        session.disconnect();
                        closing = Some(AttemptEnd::Shutdown);
                    }
                    let busy = std::mem::take(&mut self.out.active) || !self.out.overflow.is_empty();
                    let next = if busy { HOUSEKEEPING_BUSY } else { HOUSEKEEPING_QUIET };
                    housekeeping.as_mut().reset(tokio::time::Instant::now() + next);
                }
                () = self.out.tx.closed(), if closing.is_none() => {
                    session.disconnect();
                    closing = Some(AttemptEnd::Shutdown);
                }
            }
        }
    }
}

impl Supervisor {
    /// Carries out a command on an established link; `Some` when it closes the link.
    fn serve(
        &mut self,
        cmd: Option<Command>,
        session: &Session,
        acks: &mut Acks,
    ) -> Option<AttemptEnd> {
        let end = match cmd {
            None | Some(Command::Shutdown) => AttemptEnd::Shutdown,
            Some(Command::Disconnect) => AttemptEnd::UserDisconnect,
            Some(Command::Reconnect) => AttemptEnd::UserReconnect,
            Some(Command::Subscribe(subs)) => {
                // A filter subscribed again replaces its options, as the broker does.
                self.opts
                    .subscriptions
                    .retain(|s| !subs.iter().any(|n| n.filter == s.filter));
                self.opts.subscriptions.extend(subs.iter().cloned());
                acks.subscribe(session, subs);
                return None;
            }
            Some(Command::Unsubscribe(filters)) => {
                self.opts
                    .subscriptions
                    .retain(|s| !filters.contains(&s.filter));
                for filter in filters {
                    acks.unsubscribe(session, filter);
                }
                return None;
            }
            Some(Command::Publish(req, reply)) => {
                acks.publish(session, req, reply);
                return None;
            }
        };
        session.disconnect();
        Some(end)
    }
}

/// Waits until the pump reports that the upstream closed (or the note channel ends).
async fn notes_wait(notes: &mut mpsc::UnboundedReceiver<Note>, link: &mut LinkNotes) {
    while !link.closed {
        match notes.recv().await {
            Some(note) => link.absorb(note),
            None => return,
        }
    }
}

/// What the pump reported about the current link.
#[derive(Debug, Default)]
struct LinkNotes {
    connect_sent: Option<Instant>,
    connack: Option<ConnackInfo>,
    disconnect: Option<(u8, Option<String>)>,
    unexpected: Option<Cause>,
    upstream_error: Option<Cause>,
    closed: bool,
}

impl LinkNotes {
    fn absorb(&mut self, note: Note) {
        match note {
            Note::ConnectSent { at, .. } => self.connect_sent = Some(at),
            Note::Connack(info) => self.connack = Some(info),
            Note::ServerDisconnect { code, reason } => self.disconnect = Some((code, reason)),
            Note::Unexpected(cause) => {
                self.unexpected = Some(cause);
                self.closed = true;
            }
            Note::UpstreamClosed(error) => {
                self.upstream_error = error;
                self.closed = true;
            }
        }
    }
}

/// Classifies a failure between CONNECT and CONNACK, preferring what the wire showed.
fn classify_connect_failure(
    err: &SessionError,
    link: &LinkNotes,
    sent: Protocol,
    tls: bool,
) -> Cause {
    if let Some(info) = &link.connack {
        if !info.accepted() {
            let protocol = info.protocol.unwrap_or(sent);
            let kind = codes::connack_cause(protocol, info.code);
            let mut detail = format!("CONNACK {:#04x} {}", info.code, info.code_name());
            if info.protocol == Some(Protocol::V311) && sent == Protocol::V5 {
                detail.push_str(": the broker answered an MQTT 5 CONNECT in 3.1.1");
            }
            if let Some(reason) = &info.reason_string {
                let _ = write!(detail, ", reason \"{reason}\"");
            }
            if let Some(server) = &info.server_reference {
                let _ = write!(detail, ", use server {server}");
            }
            return Cause::new(kind, detail);
        }
    }
    if let Some(cause) = &link.unexpected {
        return cause.clone();
    }
    if let Some(cause) = &link.upstream_error {
        // A TLS listener resets a plain MQTT client right after CONNECT, before any answer.
        if cause.kind == CauseKind::TcpReset && !tls {
            return Cause::new(
                CauseKind::TlsExpected,
                format!(
                    "the connection was reset right after CONNECT ({})",
                    cause.detail
                ),
            );
        }
        return cause.clone();
    }
    match err {
        SessionError::Timeout => Cause::new(
            CauseKind::NoConnack,
            "CONNECT was sent but no CONNACK came back in time",
        ),
        SessionError::Refused(code) => Cause::new(
            codes::connack_cause(sent, *code),
            format!("CONNACK {code:#04x}"),
        ),
        SessionError::Aborted if link.closed => Cause::new(
            CauseKind::PeerClosed,
            "the broker closed the connection before sending CONNACK",
        ),
        other => Cause::new(CauseKind::LocalError, format!("{other:?}")),
    }
}

/// Classifies the end of an established link.
fn classify_link_failure(err: &SessionError, link: &LinkNotes) -> Cause {
    if let Some((code, reason)) = &link.disconnect {
        let mut detail = format!("DISCONNECT {code:#04x} {}", codes::reason_name(*code));
        if let Some(reason) = reason {
            let _ = write!(detail, ": {reason}");
        }
        return Cause::new(CauseKind::ServerDisconnect, detail);
    }
    match err {
        SessionError::AwaitPingResp => {
            return Cause::new(
                CauseKind::KeepaliveTimeout,
                "no PINGRESP within the keep-alive interval",
            );
        }
        SessionError::Other(text) => return Cause::new(CauseKind::LocalError, text.clone()),
        _ => {}
    }
    if let Some(cause) = &link.upstream_error {
        return cause.clone();
    }
    Cause::new(CauseKind::PeerClosed, "the broker closed the connection")
}

/// Matches rumqttc's packet ids to publish replies and subscription filters.
#[derive(Default)]
struct Acks {
    /// Publishes handed to rumqttc, waiting for their `Outgoing::Publish(pkid)`, in order.
    awaiting_pkid: VecDeque<(PublishRequest, Reply)>,
    /// QoS 1/2 publishes waiting for PUBACK / PUBCOMP, by packet id.
    awaiting_ack: HashMap<u16, (PublishRequest, Reply, u8)>,
    /// Subscriptions handed to rumqttc, waiting for their packet id, in order.
    subs_awaiting_pkid: VecDeque<Vec<Subscription>>,
    subs_awaiting_ack: HashMap<u16, Vec<Subscription>>,
    unsubs_awaiting_pkid: VecDeque<String>,
    unsubs_awaiting_ack: HashMap<u16, String>,
}

/// A SUBACK or UNSUBACK matched to what was asked.
enum AckResult {
    Subscribed(Vec<SubscribeResult>),
    Unsubscribed(SubscribeResult),
}

impl Acks {
    fn has_room(&self) -> bool {
        self.awaiting_pkid.len() + self.subs_awaiting_pkid.len() + self.unsubs_awaiting_pkid.len()
            < REQUEST_CAPACITY / 2
    }

    fn publish(&mut self, session: &Session, req: PublishRequest, reply: Reply) {
        match session.publish(&req) {
            Ok(()) => self.awaiting_pkid.push_back((req, reply)),
            Err(e) => {
                let _ = reply.send(PublishOutcome::Failed(e));
            }
        }
    }

    fn subscribe(&mut self, session: &Session, subs: Vec<Subscription>) {
        match session.subscribe(&subs) {
            Ok(()) => self.subs_awaiting_pkid.push_back(subs),
            Err(e) => tracing::warn!(error = %e, "subscribe request failed"),
        }
    }

    fn unsubscribe(&mut self, session: &Session, filter: String) {
        match session.unsubscribe(&filter) {
            Ok(()) => self.unsubs_awaiting_pkid.push_back(filter),
            Err(e) => tracing::warn!(error = %e, "unsubscribe request failed"),
        }
    }

    /// Handles an ack-related event; returns the results when a SUBACK or UNSUBACK completes.
    fn on_event(&mut self, event: SessionEvent) -> Option<AckResult> {
        match event {
            SessionEvent::OutgoingPublish { pkid } => {
                if let Some((req, reply)) = self.awaiting_pkid.pop_front() {
                    if req.qos == 0 || pkid == 0 {
                        let _ = reply.send(PublishOutcome::Sent);
                    } else {
                        self.awaiting_ack.insert(pkid, (req, reply, 0));
                    }
                }
            }
            SessionEvent::PubAck { pkid, reason } => {
                if let Some((_, reply, _)) = self.awaiting_ack.remove(&pkid) {
                    let _ = reply.send(PublishOutcome::Acked { reason });
                }
            }
            SessionEvent::PubRec { pkid, reason } => {
                if reason >= 0x80 {
                    if let Some((_, reply, _)) = self.awaiting_ack.remove(&pkid) {
                        let _ = reply.send(PublishOutcome::Acked { reason });
                    }
                } else if let Some(entry) = self.awaiting_ack.get_mut(&pkid) {
                    entry.2 = reason;
                }
            }
            SessionEvent::PubComp { pkid } => {
                if let Some((_, reply, reason)) = self.awaiting_ack.remove(&pkid) {
                    let _ = reply.send(PublishOutcome::Acked { reason });
                }
            }
            SessionEvent::OutgoingSubscribe { pkid } => {
                if let Some(subs) = self.subs_awaiting_pkid.pop_front() {
                    self.subs_awaiting_ack.insert(pkid, subs);
                }
            }
            SessionEvent::SubAck { pkid, codes } => {
                let subs = self.subs_awaiting_ack.remove(&pkid)?;
                return Some(AckResult::Subscribed(
                    subs.into_iter()
                        .zip(codes.into_iter().chain(std::iter::repeat(0x80)))
                        .map(|(s, code)| SubscribeResult {
                            filter: s.filter,
                            code,
                        })
                        .collect(),
                ));
            }
            SessionEvent::OutgoingUnsubscribe { pkid } => {
                if let Some(filter) = self.unsubs_awaiting_pkid.pop_front() {
                    self.unsubs_awaiting_ack.insert(pkid, filter);
                }
            }
            SessionEvent::UnsubAck { pkid, code } => {
                let filter = self.unsubs_awaiting_ack.remove(&pkid)?;
                return Some(AckResult::Unsubscribed(SubscribeResult { filter, code }));
            }
            _ => {}
        }
        None
    }

    /// After a drop: publishes not yet on the wire go back to the queue; unacked ones fail
    /// (rumqttc drops them on a clean-session reconnect, so we cannot promise them).
    fn requeue_or_fail(&mut self, queue: &mut VecDeque<(PublishRequest, Reply)>) {
        for item in self.awaiting_pkid.drain(..).rev() {
            queue.push_front(item);
        }
        self.fail_all("the connection dropped before acknowledgement");
    }

    fn fail_all(&mut self, why: &str) {
        for (_, (_, reply, _)) in self.awaiting_ack.drain() {
            let _ = reply.send(PublishOutcome::Failed(why.to_string()));
        }
        for (_, reply) in self.awaiting_pkid.drain(..) {
            let _ = reply.send(PublishOutcome::Failed(why.to_string()));
        }
    }
}
