//! The supervisor: runs attempts, classifies failures, backs off, resubscribes, serves commands.
//!
//! The loop is shaped around three facts about rumqttc 0.25, each measured against mosquitto
//! (and covered by a test under `tests/broker`):
//! - after an error its next `poll()` reconnects at once, so every delay here is ours;
//! - work inside the poll loop stalls PINGRESP under a flood, so a message is only forwarded
//!   with `try_send` (dropped and counted when the consumer is behind), never awaited;
//! - it forgets subscriptions on a clean-session reconnect, so we resubscribe after CONNACK.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};
use tokio::time::MissedTickBehavior;
use tokio_rustls::rustls::ClientConfig;

use super::acks::{AckResult, Acks, Reply};
use super::backoff::Backoff;
use super::cause::{Cause, CauseKind};
use super::classify::{LinkNotes, classify_connect_failure, classify_link_failure};
use super::emitter::Emitter;
use super::event::{
    Command, LifecycleKind, PublishOutcome, PublishRequest, Stage, SubscribeResult,
};
use super::local::LocalSocket;
use super::options::{BrokerOptions, MqttVersion, Protocol, Subscription, V5_ANSWER_WAIT};
use super::pump::{self, Note, PumpCtx};
use super::session::{REQUEST_CAPACITY, Session, SessionError, SessionEvent};
use super::stages;

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

/// Housekeeping period while events flow, and on a quiet link.
const HOUSEKEEPING_BUSY: Duration = Duration::from_secs(1);
const HOUSEKEEPING_QUIET: Duration = Duration::from_secs(5);

/// How long a clean disconnect may take before the link is simply dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// Messages taken from rumqttc in one go before the other arms of the link loop get a turn.
const BURST: usize = 256;

/// A link shorter than this, closed by the broker, counts towards a client-id fight.
const SHORT_LINK: Duration = Duration::from_secs(5);

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
    /// Links in a row the broker closed soon after CONNACK (a client-id fight's pattern).
    short_closes: u32,
    /// `-V auto` fell back to 3.1.1 because an MQTT 5 CONNECT went unanswered: until 3.1.1
    /// connects, that may also be a broker that answers nothing at all.
    fell_back_on_silence: bool,
    backoff: Backoff,
    /// Publishes received while offline, sent after the next CONNACK.
    queued: VecDeque<(PublishRequest, Reply)>,
    /// Changes to the subscriptions made while offline, for the broker to hear after the next
    /// CONNACK even when it resumes a session (which keeps the old subscriptions).
    offline_subscribed: Vec<Subscription>,
    offline_unsubscribed: Vec<String>,
}

impl Supervisor {
    pub fn new(
        opts: BrokerOptions,
        tls: Option<Arc<ClientConfig>>,
        socket: LocalSocket,
        out: Emitter,
        commands: mpsc::Receiver<Command>,
        shutdown: watch::Receiver<bool>,
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
            out,
            commands,
            shutdown,
            protocol,
            attempt: 0,
            failures_in_row: 0,
            short_closes: 0,
            fell_back_on_silence: false,
            queued: VecDeque::new(),
            offline_subscribed: Vec::new(),
            offline_unsubscribed: Vec::new(),
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
        let cause = match uptime {
            Some(uptime) => self.client_id_fight(cause, uptime),
            None => cause,
        };
        if let Some(uptime) = uptime {
            self.out.lifecycle(
                self.attempt,
                LifecycleKind::Disconnected {
                    cause: cause.clone(),
                    uptime,
                },
            );
            // A short-lived link does not reset the delays: a client-id fight or a flapping
            // broker keeps backing off.
            self.backoff.link_ended(uptime);
        }
        let v5_refused = matches!(
            cause.kind,
            CauseKind::ProtocolVersionUnsupported
                | CauseKind::PeerClosed
                | CauseKind::TcpReset
                | CauseKind::NoConnack
        );
        if !self.version_settled && self.protocol == Protocol::V5 && uptime.is_none() && v5_refused
        {
            self.protocol = Protocol::V311;
            self.fell_back_on_silence = cause.kind == CauseKind::NoConnack;
            // Settled unless it was silence: a broker that answers neither is tried in
            // MQTT 5 again.
            self.version_settled = !self.fell_back_on_silence;
            self.out
                .lifecycle(self.attempt, LifecycleKind::FallbackToV311 { cause });
            return Next::Retry;
        }
        if self.fell_back_on_silence && uptime.is_none() && cause.kind == CauseKind::NoConnack {
            // 3.1.1 went unanswered too: not a version problem.
            self.protocol = Protocol::V5;
            self.fell_back_on_silence = false;
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

    /// How long to wait for CONNACK: the connect timeout, or less while `-V auto` has not yet
    /// heard an MQTT 5 answer (a 3.1.1-only broker may never give one).
    fn connack_wait(&self) -> Duration {
        if self.version_settled || self.protocol != Protocol::V5 {
            self.opts.connect_timeout
        } else {
            self.opts.connect_timeout.min(V5_ANSWER_WAIT)
        }
    }

    /// A link the broker closed soon after accepting it, again and again, with a client id the
    /// user chose: most likely another client with the same id (mosquitto closes the older
    /// connection without a word, even on MQTT 5). The cause says so from the second one.
    fn client_id_fight(&mut self, cause: Cause, uptime: Duration) -> Cause {
        let short = uptime < SHORT_LINK
            && matches!(cause.kind, CauseKind::PeerClosed | CauseKind::TcpReset);
        if cause.kind == CauseKind::SessionTakenOver || !short {
            self.short_closes = 0;
            return cause;
        }
        self.short_closes += 1;
        if self.short_closes < 2 || !self.opts.client_id_given {
            return cause;
        }
        Cause::new(
            CauseKind::ClientIdCollision,
            format!(
                "closed {} times in a row within {} s of CONNACK with the client id {} ({})",
                self.short_closes,
                SHORT_LINK.as_secs(),
                self.opts.client_id,
                cause.detail
            ),
        )
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
                    Some(Command::Subscribe(subs)) => {
                        self.remember_subscribed(&subs);
                        self.offline_unsubscribed.retain(|f| !subs.iter().any(|s| &s.filter == f));
                        self.offline_subscribed.retain(|s| !subs.iter().any(|n| n.filter == s.filter));
                        self.offline_subscribed.extend(subs);
                    }
                    Some(Command::Unsubscribe(filters)) => self.unsubscribe_offline(filters),
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
        // Long by design: one attempt from CONNECT to its end; the steps share the session, the pump and the notes.
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

        let order = Arc::new(super::direct::Order::default());
        let (pump, mut notes) = self.start_pump(upstream, &order);

        let mut session = Session::new(&self.opts, self.protocol, self.socket.path(), order);
        let connack_started = Instant::now();
        let wait = self.connack_wait();
        let first = tokio::select! {
            r = tokio::time::timeout(wait, session.poll()) => r.unwrap_or(Err(SessionError::Timeout)),
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
                let mut cause = classify_connect_failure(&err, &link, self.protocol, tls);
                if cause.kind == CauseKind::NoConnack && wait < self.opts.connect_timeout {
                    cause.detail = unanswered_v5(wait);
                }
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

    /// The pump between rumqttc's local socket and the broker, once rumqttc connects to it.
    fn start_pump(
        &self,
        upstream: stages::Upstream,
        order: &Arc<super::direct::Order>,
    ) -> (tokio::task::JoinHandle<()>, mpsc::UnboundedReceiver<Note>) {
        let (notes_tx, notes) = mpsc::unbounded_channel();
        let ctx = PumpCtx {
            notes: notes_tx,
            records: self.opts.packet_log.then(|| self.out.clone()),
            max_incoming: self.opts.max_packet_size,
            out: self.out.clone(),
            order: order.clone(),
        };
        let socket = self.socket.clone();
        let accept_timeout = self.opts.connect_timeout;
        let pump = tokio::spawn(async move {
            if let Ok(Ok(local)) = tokio::time::timeout(accept_timeout, socket.accept_own()).await {
                pump::run(local, upstream, ctx).await;
            }
        });
        (pump, notes)
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
    #[expect(
        clippy::too_many_lines,
        reason = "one select! loop whose arms share the session, the acks and the closing state"
    )]
    async fn connected(
        &mut self,
        session: &mut Session,
        notes: &mut mpsc::UnboundedReceiver<Note>,
        mut link: LinkNotes,
        session_present: bool,
    ) -> AttemptEnd {
        // Long by design: one `select!` loop whose arms share the session, the acks and the closing state.
        let started = Instant::now();
        let mut acks = Acks::default();
        let offline_subscribed = std::mem::take(&mut self.offline_subscribed);
        let offline_unsubscribed = std::mem::take(&mut self.offline_unsubscribed);
        if !session_present && !self.opts.subscriptions.is_empty() {
            let subs = self.opts.subscriptions.clone();
            acks.subscribe(session, subs);
        } else if session_present {
            // The broker kept the old session: tell it what changed while we were away.
            if !offline_subscribed.is_empty() {
                acks.subscribe(session, offline_subscribed);
            }
            for filter in offline_unsubscribed {
                acks.unsubscribe(session, filter);
            }
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
        // An event rumqttc handed out while a burst of messages was being drained.
        let mut stashed: Option<Result<SessionEvent, SessionError>> = None;
        loop {
            if closing.is_some()
                && give_up_closing.deadline() > tokio::time::Instant::now() + CLOSE_GRACE
            {
                give_up_closing
                    .as_mut()
                    .reset(tokio::time::Instant::now() + CLOSE_GRACE);
            }
            let event = if let Some(event) = stashed.take() {
                event
            } else {
                tokio::select! {
                    biased;
                    () = &mut give_up_closing, if closing.is_some() => {
                        acks.fail_all("disconnected before acknowledgement");
                        return closing.take().unwrap_or(AttemptEnd::Shutdown);
                    }
                    _ = self.shutdown.changed(), if closing.is_none() => {
                        session.disconnect();
                        closing = Some(AttemptEnd::Shutdown);
                        continue;
                    }
                    cmd = self.commands.recv(), if closing.is_none() && acks.has_room() => {
                        closing = self.serve(cmd, session, &mut acks);
                        continue;
                    }
                    event = session.poll() => event,
                    () = &mut housekeeping => {
                        self.out.report_drops();
                        self.out.flush();
                        if self.out.consumer_gone() && closing.is_none() {
                            session.disconnect();
                            closing = Some(AttemptEnd::Shutdown);
                        }
                        let busy = self.out.take_busy();
                        let next = if busy { HOUSEKEEPING_BUSY } else { HOUSEKEEPING_QUIET };
                        housekeeping.as_mut().reset(tokio::time::Instant::now() + next);
                        continue;
                    }
                    () = self.out.closed(), if closing.is_none() => {
                        session.disconnect();
                        closing = Some(AttemptEnd::Shutdown);
                        continue;
                    }
                }
            };
            match event {
                Ok(SessionEvent::Message(message)) => {
                    self.out.message(message);
                    stashed = self.burst(session);
                }
                Ok(SessionEvent::OutgoingDisconnect) => {
                    if let Some(end) = closing.take() {
                        acks.fail_all("disconnected before acknowledgement");
                        return end;
                    }
                }
                Ok(event) => match acks.on_event(event) {
                    Some(AckResult::Subscribed(results)) => {
                        self.out
                            .lifecycle(self.attempt, LifecycleKind::Subscribed(results));
                    }
                    Some(AckResult::Unsubscribed(result)) => {
                        self.out
                            .lifecycle(self.attempt, LifecycleKind::Unsubscribed(result));
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
                    return AttemptEnd::Failed {
                        cause,
                        uptime: Some(started.elapsed()),
                    };
                }
            }
        }
    }
}

impl Supervisor {
    /// rumqttc hands out one event per poll, from a batch it has already read: the rest of
    /// the batch is taken here rather than re-arming every other arm of the link loop's
    /// select! once per message (10 % fewer instructions per message on a flood, measured
    /// with callgrind). Bounded, so commands and housekeeping still get turns. Returns the
    /// first event that is not a message.
    fn burst(&self, session: &mut Session) -> Option<Result<SessionEvent, SessionError>> {
        for _ in 0..BURST {
            match futures_util::FutureExt::now_or_never(session.poll()) {
                Some(Ok(SessionEvent::Message(message))) => self.out.message(message),
                Some(other) => return Some(other),
                None => return None,
            }
        }
        None
    }

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
                self.remember_subscribed(&subs);
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

    /// The subscriptions to restore after a reconnect. A filter subscribed again replaces its
    /// options, as the broker does.
    fn remember_subscribed(&mut self, subs: &[Subscription]) {
        self.opts
            .subscriptions
            .retain(|s| !subs.iter().any(|n| n.filter == s.filter));
        self.opts.subscriptions.extend(subs.iter().cloned());
    }

    /// Unsubscribing while offline: the filters are not restored after the next CONNACK (and a
    /// resumed session hears an UNSUBSCRIBE then); the answer comes at once, so nobody waits
    /// for a broker that is not there.
    fn unsubscribe_offline(&mut self, filters: Vec<String>) {
        self.opts
            .subscriptions
            .retain(|s| !filters.contains(&s.filter));
        self.offline_subscribed
            .retain(|s| !filters.contains(&s.filter));
        for filter in filters {
            self.out.lifecycle(
                self.attempt,
                LifecycleKind::Unsubscribed(SubscribeResult {
                    filter: filter.clone(),
                    code: 0,
                }),
            );
            if !self.offline_unsubscribed.contains(&filter) {
                self.offline_unsubscribed.push(filter);
            }
        }
    }
}

/// Waits until the pump reports that the upstream closed (or the note channel ends).
fn unanswered_v5(wait: Duration) -> String {
    format!(
        "an MQTT 5 CONNECT went unanswered for {} s (-V auto tries 3.1.1 next)",
        wait.as_secs()
    )
}

async fn notes_wait(notes: &mut mpsc::UnboundedReceiver<Note>, link: &mut LinkNotes) {
    while !link.closed {
        match notes.recv().await {
            Some(note) => link.absorb(note),
            None => return,
        }
    }
}
