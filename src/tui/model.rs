//! The domain model of the explorer and its pure update step: `update(model, msg) → commands`.
//! No I/O, no awaiting, no clock reads: time arrives inside messages.

mod wire;

use std::collections::{HashSet, VecDeque};
use std::time::{Duration, SystemTime};

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};
use tui_tree_widget::TreeState;

use super::dialog::Dialog;
use super::dialog::publish::PublishForm;
use super::dialog::subs::Subscriptions;
use super::keymap::{Action, Key, Keymap, Pane};
use super::requests::{Pending, Requests};
use super::theme::Theme;
use crate::broker::{
    BrokerEvent, Cause, Direction, LifecycleKind, Protocol, PublishOutcome, PublishRequest,
    SubscribeResult, Subscription, codes,
};
use crate::logging::LogLine;
use crate::payload::Mode;
use crate::store::{Limits, NodeId, ROOT, TopicStore};
use crate::timeline::Timeline;
pub use wire::{LogPane, PacketEntry, PacketFilter, Tab};

/// Everything that reaches the update step.
#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize,
    Broker(BrokerEvent),
    /// The slow clock: one per second, with the current time.
    Tick(SystemTime),
    /// New lines of the app's own log, and how many were lost before they could be shown.
    Logs(Vec<LogLine>, u64),
    /// The doctor's report.
    Doctor(Box<crate::diagnose::Report>),
    /// How a publish from the dialog ended.
    Published {
        topic: String,
        /// When it was handed to the connection layer.
        sent: SystemTime,
        outcome: PublishOutcome,
    },
    /// Where clearing retained messages stands (the last one has `finished()`).
    Cleaning(crate::retained::Progress),
    /// A line for the status bar from a side effect (a saved file, a failure).
    Notice(String),
}

/// The doctor popup.
#[derive(Debug, Clone)]
pub enum DoctorPopup {
    Running,
    Done(Box<crate::diagnose::Report>),
}

/// Side effects the update step asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Quit,
    /// Put this on the clipboard (OSC 52).
    Copy(String),
    /// Connect now, skipping any backoff.
    Reconnect,
    /// Close the link and stay offline.
    Disconnect,
    /// Capture the log pane's lines down to this level.
    SetLogLevel(tracing::Level),
    /// Run the doctor in the background; its report comes back as `Msg::Doctor`.
    RunDoctor,
    /// Publish; the outcome comes back as `Msg::Published`.
    Publish(PublishRequest),
    Subscribe(Vec<Subscription>),
    Unsubscribe(Vec<String>),
    /// Clear these topics' retained messages off the update loop; progress comes back as
    /// `Msg::Cleaning`.
    CleanRetained {
        topics: Vec<String>,
        /// Deletions in flight at most (the broker's receive maximum, capped).
        window: usize,
    },
    /// Write a payload to a file, bytes intact; the result comes back as `Msg::Notice`.
    Save {
        path: String,
        bytes: bytes::Bytes,
    },
    /// Add this connection to the config file as a profile of this name.
    SaveProfile(String),
}

/// The connection as the status bar shows it.
#[derive(Debug, Clone)]
pub enum LinkState {
    Connecting {
        attempt: u32,
    },
    Connected {
        since: SystemTime,
        protocol: Protocol,
    },
    Retrying {
        at: SystemTime,
        cause: Cause,
    },
    Failed {
        cause: Cause,
    },
    Idle,
}

/// The incremental topic filter.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub query: String,
    /// The query line has the keyboard.
    pub editing: bool,
    /// The opened set before filtering began, restored when the filter is cleared.
    saved_opened: Option<Vec<Vec<NodeId>>>,
}

impl Filter {
    pub fn is_active(&self) -> bool {
        !self.query.is_empty()
    }
}

/// Which message of the selected topic the inspector shows, and how.
#[derive(Debug, Clone, Default)]
pub struct Inspector {
    pub mode: Mode,
    pub scroll: usize,
    pub diff: bool,
    /// The message shown, by sequence number; `None` follows the newest.
    pub pinned: Option<u64>,
}

/// The view is frozen; ingestion goes on.
#[derive(Debug, Clone, Copy)]
pub struct Paused {
    pub total_at_pause: u64,
}

/// Geometry the last frame drew, for mouse hits and paging.
#[derive(Debug, Clone, Copy, Default)]
pub struct Areas {
    pub topics: Rect,
    pub inspector: Rect,
    pub timeline: Rect,
    pub log: Rect,
}

pub struct Model {
    pub target: String,
    pub store: TopicStore,
    pub link: LinkState,
    pub now: SystemTime,
    pub focus: Pane,
    pub keymap: Keymap,
    pub theme: Theme,
    pub tree: TreeState<NodeId>,
    /// Set when the tree's opened set or filter changed: the view must rebuild its items.
    pub tree_dirty: bool,
    pub filter: Filter,
    pub inspector: Inspector,
    pub paused: Option<Paused>,
    pub help: bool,
    pub dropped_by_app: u64,
    /// Messages per second over the last few seconds.
    pub rate: f64,
    rate_samples: VecDeque<(SystemTime, u64)>,
    /// A short notice for the status bar and when it was set.
    pub notice: Option<(String, SystemTime)>,
    pub areas: Areas,
    pub timeline: Timeline,
    /// Selected attempt, counted from the newest (0).
    pub timeline_selected: usize,
    pub timeline_details: bool,
    pub log: LogPane,
    /// The focused pane fills the screen.
    pub zoom: bool,
    /// The pane shown beside the topics when the screen is too small for all four.
    pub side: Pane,
    /// Messages per second, one sample per tick, newest last (for the sparkline).
    pub rate_history: VecDeque<u64>,
    last_tick_total: u64,
    /// Where the log file is written, for the help overlay.
    pub log_file: Option<String>,
    pub doctor: Option<DoctorPopup>,
    /// The open dialog, which gets every key.
    pub dialog: Option<Dialog>,
    pub subscriptions: Subscriptions,
    pub requests: Requests,
    /// Publishes sent from the dialog, oldest first.
    pub publish_history: Vec<PublishForm>,
    /// Retained messages being cleared: under which topic, and how far.
    pub cleaning: Option<(String, crate::retained::Progress)>,
    /// The profile the explorer was opened with.
    pub profile: Option<String>,
}

impl Model {
    pub fn new(target: String, limits: Limits, now: SystemTime) -> Self {
        Self {
            target,
            store: TopicStore::new(limits),
            link: LinkState::Connecting { attempt: 1 },
            now,
            focus: Pane::Topics,
            keymap: Keymap::default(),
            theme: Theme::default(),
            tree: TreeState::default(),
            tree_dirty: true,
            filter: Filter::default(),
            inspector: Inspector::default(),
            paused: None,
            help: false,
            dropped_by_app: 0,
            rate: 0.0,
            rate_samples: VecDeque::new(),
            notice: None,
            areas: Areas::default(),
            timeline: Timeline::default(),
            timeline_selected: 0,
            timeline_details: false,
            log: LogPane::default(),
            zoom: false,
            side: Pane::Inspector,
            rate_history: VecDeque::new(),
            last_tick_total: 0,
            log_file: None,
            doctor: None,
            dialog: None,
            subscriptions: Subscriptions::default(),
            requests: Requests::default(),
            publish_history: Vec::new(),
            cleaning: None,
            profile: None,
        }
    }

    /// The selected node, if any.
    pub fn selected(&self) -> Option<NodeId> {
        self.tree
            .selected()
            .last()
            .copied()
            .filter(|id| self.store.get(*id).is_some())
    }

    /// Index into the selected topic's history of the message shown.
    pub fn shown_index(&self) -> Option<usize> {
        let node = self.store.node(self.selected()?);
        let history = node.history();
        if history.is_empty() {
            return None;
        }
        match self.inspector.pinned {
            None => Some(history.len() - 1),
            Some(seq) => Some(history.iter().position(|m| m.seq == seq).unwrap_or(0)),
        }
    }

    pub(crate) fn notify(&mut self, text: impl Into<String>) {
        self.notice = Some((text.into(), self.now));
    }

    /// Messages that arrived since the view was paused.
    pub fn new_while_paused(&self) -> Option<u64> {
        self.paused
            .map(|p| self.store.total_messages.saturating_sub(p.total_at_pause))
    }
}

/// Applies one message; returns the side effects it asks for.
pub fn update(model: &mut Model, msg: Msg) -> Vec<Command> {
    match msg {
        Msg::Key(key) if key.kind != KeyEventKind::Release => on_key(model, key),
        Msg::Key(_) | Msg::Resize => Vec::new(),
        Msg::Mouse(mouse) => {
            on_mouse(model, mouse);
            Vec::new()
        }
        Msg::Broker(event) => {
            on_broker(model, event);
            Vec::new()
        }
        Msg::Tick(now) => {
            on_tick(model, now);
            Vec::new()
        }
        Msg::Logs(lines, dropped) => {
            model.log.push_lines(lines, dropped);
            Vec::new()
        }
        Msg::Doctor(report) => {
            // Only if the user still waits for it.
            if model.doctor.is_some() {
                model.doctor = Some(DoctorPopup::Done(report));
            }
            Vec::new()
        }
        Msg::Published {
            topic,
            sent,
            outcome,
        } => {
            model.requests.sent(&topic, sent);
            model.notify(published_text(&topic, &outcome));
            Vec::new()
        }
        Msg::Cleaning(progress) => {
            on_cleaning(model, progress);
            Vec::new()
        }
        Msg::Notice(text) => {
            model.notify(text);
            Vec::new()
        }
    }
}

fn published_text(topic: &str, outcome: &PublishOutcome) -> String {
    match outcome {
        PublishOutcome::Sent => {
            format!("published to {topic} (QoS 0: written, no acknowledgement)")
        }
        PublishOutcome::Acked { reason } if *reason < 0x80 => format!(
            "published to {topic}: acknowledged {reason:#04x} {}",
            codes::reason_name(*reason)
        ),
        PublishOutcome::Acked { reason } => format!(
            "publish to {topic} REFUSED: {reason:#04x} {}",
            codes::reason_name(*reason)
        ),
        PublishOutcome::Failed(why) => format!("publish to {topic} failed: {why}"),
    }
}

fn on_cleaning(model: &mut Model, progress: crate::retained::Progress) {
    let Some((under, _)) = model.cleaning.take() else {
        return;
    };
    if !progress.finished() {
        model.cleaning = Some((under, progress));
        return;
    }
    let failed = match progress.failed.first() {
        None => String::new(),
        Some((topic, why)) => format!("; {} failed (first: {topic}: {why})", progress.failed.len()),
    };
    model.notify(format!(
        "cleared {} of {} retained messages under {under}{failed}",
        progress.cleared, progress.total
    ));
}

fn on_broker(model: &mut Model, event: BrokerEvent) {
    match event {
        BrokerEvent::Message(m) => {
            if m.received > model.now {
                model.now = m.received;
            }
            model.store.insert(&m);
            if let Some(props) = &m.properties {
                track_request(model, &m, props);
            }
        }
        BrokerEvent::Lifecycle(l) => {
            model.timeline.apply(&l);
            model.link = match l.kind {
                LifecycleKind::Connecting { .. } => LinkState::Connecting { attempt: l.attempt },
                LifecycleKind::Connected(info) => LinkState::Connected {
                    since: l.at,
                    protocol: info.protocol.unwrap_or(Protocol::V5),
                },
                LifecycleKind::Disconnected { cause, .. } => {
                    LinkState::Retrying { at: l.at, cause }
                }
                LifecycleKind::Stage {
                    result: Err(cause), ..
                } => LinkState::Retrying { at: l.at, cause },
                LifecycleKind::Backoff { delay } => match &model.link {
                    LinkState::Retrying { cause, .. } => LinkState::Retrying {
                        at: l.at + delay,
                        cause: cause.clone(),
                    },
                    other => other.clone(),
                },
                LifecycleKind::GaveUp { cause, .. } => LinkState::Failed { cause },
                LifecycleKind::Idle => LinkState::Idle,
                LifecycleKind::Subscribed(results) => {
                    model.subscriptions.acked(&results);
                    let refused: Vec<String> = results
                        .iter()
                        .filter_map(SubscribeResult::refusal)
                        .collect();
                    if refused.is_empty() {
                        let granted: Vec<String> = results
                            .iter()
                            .map(|r| format!("{} (QoS {})", r.filter, r.code))
                            .collect();
                        model.notify(format!("subscribed to {}", granted.join(", ")));
                    } else {
                        let hint = narrower_filters(model);
                        model.notify(format!(
                            "the broker refused the subscription {}: it may deny wide filters;                              try a narrower one{hint}",
                            refused.join(", ")
                        ));
                    }
                    return;
                }
                LifecycleKind::Unsubscribed(result) => {
                    model.subscriptions.unacked(&result);
                    if result.code < 0x80 {
                        model.notify(format!("unsubscribed from {}", result.filter));
                    } else {
                        model.notify(format!(
                            "the broker refused to unsubscribe {}: {:#04x} {}",
                            result.filter,
                            result.code,
                            codes::reason_name(result.code)
                        ));
                    }
                    return;
                }
                _ => return,
            };
        }
        BrokerEvent::Dropped { messages, packets } => {
            model.dropped_by_app = messages;
            model.log.packets_dropped = packets;
        }
        BrokerEvent::Packet(record) => {
            model.timeline.health.observe(&record);
            model.log.push_packet(record);
        }
    }
}

/// Links MQTT 5 requests (response topic + correlation data) to their replies.
fn track_request(
    model: &mut Model,
    m: &crate::broker::Message,
    props: &crate::broker::MessageProperties,
) {
    let Some(corr) = &props.correlation_data else {
        return;
    };
    let seq = model
        .store
        .find(&m.topic)
        .and_then(|id| model.store.node(id).history().back().map(|s| s.seq));
    if let Some(rt) = &props.response_topic {
        model.requests.request(
            rt,
            corr,
            Pending {
                topic: m.topic.clone(),
                seq,
                at: m.received,
                ours: false,
            },
        );
        return;
    }
    let Some(seq) = seq else { return };
    if let Some(matched) = model.requests.reply(&m.topic, corr, seq, m.received) {
        if matched.ours {
            model.notify(format!(
                "reply on {} after {} ms (request to {})",
                m.topic,
                matched.latency.as_millis(),
                matched.request_topic
            ));
        }
    }
}

/// `: e.g. a/#, b/#` from the first levels seen so far, or nothing.
fn narrower_filters(model: &Model) -> String {
    let first: Vec<String> = model
        .store
        .node(ROOT)
        .children()
        .iter()
        .take(3)
        .map(|id| format!("{}/#", model.store.node(*id).path()))
        .collect();
    if first.is_empty() {
        " (s opens the subscriptions)".into()
    } else {
        format!(", e.g. {} (s opens the subscriptions)", first.join(", "))
    }
}

fn on_tick(model: &mut Model, now: SystemTime) {
    // An idle screen ticks every few seconds: the seconds in between had no messages.
    let seconds = model
        .rate_samples
        .back()
        .and_then(|(last, _)| now.duration_since(*last).ok())
        .map_or(1, |d| (d.as_millis() + 500) / 1000)
        .clamp(1, 600);
    model.now = now;
    let total = model.store.total_messages;
    for _ in 1..seconds {
        model.rate_history.push_back(0);
    }
    model.rate_history.push_back(total - model.last_tick_total);
    model.last_tick_total = total;
    while model.rate_history.len() > 600 {
        model.rate_history.pop_front();
    }
    model
        .rate_samples
        .push_back((now, model.store.total_messages));
    while model.rate_samples.len() > 6 {
        model.rate_samples.pop_front();
    }
    if let (Some(first), Some(last)) = (model.rate_samples.front(), model.rate_samples.back()) {
        let secs = last
            .0
            .duration_since(first.0)
            .unwrap_or_default()
            .as_secs_f64();
        #[expect(clippy::cast_precision_loss, reason = "a displayed rate")]
        let delta = (last.1 - first.1) as f64;
        model.rate = if secs > 0.0 { delta / secs } else { 0.0 };
    }
    if model
        .notice
        .as_ref()
        .is_some_and(|(_, at)| now.duration_since(*at).unwrap_or_default() > Duration::from_secs(5))
    {
        model.notice = None;
    }
}

fn on_key(model: &mut Model, key: KeyEvent) -> Vec<Command> {
    if model.dialog.is_some() {
        return super::dialog::on_key(model, key);
    }
    if model.filter.editing {
        edit_filter(model, key);
        return Vec::new();
    }
    if model.log.editing {
        edit_log_search(model, key);
        return Vec::new();
    }
    if model.doctor.is_some() {
        // Any key closes the doctor's report; q still quits.
        model.doctor = None;
        if key.code != KeyCode::Char('q') {
            return Vec::new();
        }
    }
    if model.help {
        // Any key closes help; q still quits.
        model.help = false;
        if key.code != KeyCode::Char('q') {
            return Vec::new();
        }
    }
    let Some(action) = model.keymap.action(model.focus, Key::from_event(&key)) else {
        return Vec::new();
    };
    act(model, action)
}

/// Applies an action (from a key or a test).
pub fn act(model: &mut Model, action: Action) -> Vec<Command> {
    match action {
        Action::Quit => return vec![Command::Quit],
        Action::FocusNext | Action::FocusPrev => {
            const ORDER: [Pane; 4] = [Pane::Topics, Pane::Inspector, Pane::Timeline, Pane::Log];
            let at = ORDER.iter().position(|p| *p == model.focus).unwrap_or(0);
            let step = if action == Action::FocusNext {
                1
            } else {
                ORDER.len() - 1
            };
            model.focus = ORDER[(at + step) % ORDER.len()];
            if model.focus != Pane::Topics {
                model.side = model.focus;
            }
        }
        Action::Zoom => model.zoom = !model.zoom,
        Action::Reconnect => {
            model.notify("reconnecting now");
            return vec![Command::Reconnect];
        }
        Action::ToggleConnection => {
            let up = model.timeline.is_up()
                || matches!(
                    model.link,
                    LinkState::Connecting { .. } | LinkState::Retrying { .. }
                );
            if up {
                model.notify("disconnecting: c connects again");
                return vec![Command::Disconnect];
            }
            model.notify("connecting");
            return vec![Command::Reconnect];
        }
        Action::JumpToPacket => jump_to_packet(model),
        Action::Doctor => {
            model.doctor = Some(DoctorPopup::Running);
            return vec![Command::RunDoctor];
        }
        Action::Pause => {
            model.paused = match model.paused {
                Some(_) => None,
                None => Some(Paused {
                    total_at_pause: model.store.total_messages,
                }),
            };
            model.tree_dirty = true;
        }
        Action::Help => model.help = true,
        Action::CopyPayload => return copy_payload(model),
        Action::CopyTopic => return copy_topic(model),
        Action::CopyMessage => return copy_message(model),
        Action::SavePayload => super::dialog::open_save(model),
        Action::Publish => super::dialog::open_publish(model),
        Action::Republish => super::dialog::open_republish(model),
        Action::Subscriptions => {
            model.dialog = Some(Dialog::Subscriptions(
                super::dialog::subs::SubsDialog::default(),
            ));
        }
        Action::ClearRetained => super::dialog::open_clean(model),
        Action::SaveProfile => super::dialog::open_save_profile(model),
        Action::CycleView => {
            model.inspector.mode = model.inspector.mode.next();
            model.inspector.scroll = 0;
        }
        Action::ToggleDiff => {
            model.inspector.diff = !model.inspector.diff;
            model.inspector.scroll = 0;
        }
        Action::OlderMessage | Action::NewerMessage => step_history(model, action),
        _ => match model.focus {
            Pane::Inspector => inspector_action(model, action),
            Pane::Timeline => timeline_action(model, action),
            Pane::Log => return log_action(model, action),
            _ => tree_action(model, action),
        },
    }
    Vec::new()
}

fn page(model: &Model) -> usize {
    usize::from(model.areas.topics.height.saturating_sub(2)).max(1)
}

fn tree_action(model: &mut Model, action: Action) {
    let before = model.selected();
    let opened_before = model.tree.opened().len();
    let has_children = before.is_some_and(|id| !model.store.node(id).children().is_empty());
    let tree = &mut model.tree;
    match action {
        Action::Up => {
            tree.key_up();
        }
        Action::Down => {
            tree.key_down();
        }
        Action::Left => {
            tree.key_left();
        }
        // Only nodes with children open, so the opened set holds nothing else.
        Action::Right if has_children => {
            tree.key_right();
        }
        Action::Toggle if has_children => {
            tree.toggle_selected();
        }
        Action::First => {
            tree.select_first();
        }
        Action::Last => {
            tree.select_last();
        }
        Action::PageUp => {
            let n = page(model);
            model
                .tree
                .select_relative(|i| i.map_or(0, |i| i.saturating_sub(n)));
        }
        Action::PageDown => {
            let n = page(model);
            model
                .tree
                .select_relative(|i| i.map_or(0, |i| i.saturating_add(n)));
        }
        Action::Parent => {
            let selected = tree.selected().to_vec();
            if selected.len() > 1 {
                tree.select(selected[..selected.len() - 1].to_vec());
            }
        }
        Action::CollapseAll => {
            tree.close_all();
            if let Some(first) = tree.selected().first().copied() {
                tree.select(vec![first]);
            }
        }
        Action::ExpandSubtree => expand_subtree(model),
        Action::Filter => {
            model.filter.editing = true;
            if model.filter.saved_opened.is_none() {
                model.filter.saved_opened = Some(model.tree.opened().iter().cloned().collect());
            }
        }
        Action::ClearFilter => clear_filter(model),
        _ => {}
    }
    // Items depend on what is open, not on the selection: moving needs no rebuild.
    if model.tree.opened().len() != opened_before {
        model.tree_dirty = true;
    }
    if model.selected() != before {
        model.inspector = Inspector {
            mode: model.inspector.mode,
            diff: model.inspector.diff,
            ..Inspector::default()
        };
    }
}

/// Most nodes one expand opens, so a huge subtree cannot stall the UI.
const EXPAND_LIMIT: usize = 5_000;

fn expand_subtree(model: &mut Model) {
    let Some(start) = model.selected() else {
        return;
    };
    let prefix = model.tree.selected().to_vec();
    let mut stack = vec![(start, prefix)];
    let mut opened = 0;
    while let Some((id, path)) = stack.pop() {
        if opened >= EXPAND_LIMIT {
            model.notify(format!("expanded the first {EXPAND_LIMIT} levels only"));
            break;
        }
        let children = model.store.sorted_children(id).to_vec();
        if children.is_empty() {
            continue;
        }
        model.tree.open(path.clone());
        opened += 1;
        for child in children.into_iter().rev() {
            let mut p = path.clone();
            p.push(child);
            stack.push((child, p));
        }
    }
}

fn inspector_action(model: &mut Model, action: Action) {
    let page = usize::from(model.areas.inspector.height.saturating_sub(8)).max(1);
    let s = &mut model.inspector.scroll;
    match action {
        Action::Up => *s = s.saturating_sub(1),
        Action::Down => *s = s.saturating_add(1),
        Action::PageUp => *s = s.saturating_sub(page),
        Action::PageDown => *s = s.saturating_add(page),
        Action::First => *s = 0,
        Action::Last => *s = usize::MAX / 2,
        _ => {}
    }
}

fn step_history(model: &mut Model, action: Action) {
    let Some(id) = model.selected() else {
        return;
    };
    let Some(index) = model.shown_index() else {
        return;
    };
    let history = model.store.node(id).history();
    let target = match action {
        Action::OlderMessage => index.saturating_sub(1),
        _ => (index + 1).min(history.len() - 1),
    };
    model.inspector.pinned = if target + 1 == history.len() {
        None
    } else {
        Some(history[target].seq)
    };
    model.inspector.scroll = 0;
}

fn copy_payload(model: &mut Model) -> Vec<Command> {
    let Some(id) = model.selected() else {
        return Vec::new();
    };
    let Some(index) = model.shown_index() else {
        model.notify("nothing to copy: no message on this topic");
        return Vec::new();
    };
    let message = &model.store.node(id).history()[index];
    let text = String::from_utf8_lossy(&message.payload).into_owned();
    let size = message.payload.len();
    model.notify(format!("copied {size} bytes to the clipboard"));
    vec![Command::Copy(text)]
}

fn copy_topic(model: &mut Model) -> Vec<Command> {
    let Some(id) = model.selected() else {
        return Vec::new();
    };
    let topic = model.store.node(id).path().to_string();
    model.notify(format!("copied the topic {topic}"));
    vec![Command::Copy(topic)]
}

/// The shown message as one JSON object, as `mqscope sub --json` prints it.
fn copy_message(model: &mut Model) -> Vec<Command> {
    let (Some(id), Some(index)) = (model.selected(), model.shown_index()) else {
        model.notify("nothing to copy: no message on this topic");
        return Vec::new();
    };
    let node = model.store.node(id);
    let m = &node.history()[index];
    let message = crate::broker::Message {
        topic: node.path().to_string(),
        payload: m.payload.clone(),
        qos: m.qos,
        retain: m.retain,
        dup: m.dup,
        properties: m.properties.clone(),
        received: m.received,
        wire_size: m.wire_size as usize,
    };
    let json = crate::headless::render::message_json(&message).to_string();
    model.notify(format!("copied the message as JSON ({} bytes)", json.len()));
    vec![Command::Copy(json)]
}

fn edit_filter(model: &mut Model, key: KeyEvent) {
    match key.code {
        KeyCode::Enter => model.filter.editing = false,
        KeyCode::Esc => {
            model.filter.editing = false;
            clear_filter(model);
        }
        KeyCode::Backspace => {
            model.filter.query.pop();
        }
        KeyCode::Char(c)
            if !key
                .modifiers
                .contains(crossterm::event::KeyModifiers::CONTROL) =>
        {
            model.filter.query.push(c);
        }
        _ => return,
    }
    apply_filter(model);
}

fn clear_filter(model: &mut Model) {
    model.filter.query.clear();
    model.filter.editing = false;
    if let Some(saved) = model.filter.saved_opened.take() {
        model.tree.close_all();
        for path in saved {
            model.tree.open(path);
        }
        model.tree.scroll_up(usize::MAX);
    }
    model.tree_dirty = true;
}

/// Most matches the filter opens the way to.
const FILTER_OPEN_LIMIT: usize = 2_000;

/// Opens the ancestors of matching topics so they show.
fn apply_filter(model: &mut Model) {
    model.tree_dirty = true;
    if model.filter.query.is_empty() {
        return;
    }
    let matches = matching_nodes(&model.store, &model.filter.query);
    let mut opened = HashSet::new();
    for id in matches.iter().take(FILTER_OPEN_LIMIT) {
        let path = model.store.path_ids(*id);
        for depth in 1..path.len() {
            opened.insert(path[..depth].to_vec());
        }
    }
    model.tree.close_all();
    for path in opened {
        model.tree.open(path);
    }
    // Show the filtered tree from its top, ancestors of the matches included.
    model.tree.scroll_up(usize::MAX);
    if let Some(first) = matches.first() {
        let keep = model.selected().is_some_and(|s| matches.contains(&s));
        if !keep {
            model.tree.select(model.store.path_ids(*first));
        }
    }
}

/// Whether a topic path matches the filter query: MQTT filter syntax when the query holds
/// `+` or `#`, else a case-insensitive substring.
pub fn query_matches(path: &str, query: &str, lowered: &str) -> bool {
    if query.contains(['+', '#']) {
        rumqttc::matches(path, query)
    } else {
        path.to_lowercase().contains(lowered)
    }
}

/// Nodes whose path matches the query, in creation order.
pub fn matching_nodes(store: &TopicStore, query: &str) -> Vec<NodeId> {
    let lowered = query.to_lowercase();
    store
        .ids()
        .filter(|id| query_matches(store.node(*id).path(), query, &lowered))
        .collect()
}

fn on_mouse(model: &mut Model, mouse: MouseEvent) {
    let at = Position::new(mouse.column, mouse.row);
    let in_topics = model.areas.topics.contains(at);
    let in_inspector = model.areas.inspector.contains(at);
    for (area, pane) in [
        (model.areas.timeline, Pane::Timeline),
        (model.areas.log, Pane::Log),
    ] {
        if area.contains(at) {
            match mouse.kind {
                MouseEventKind::Down(_) => {
                    model.focus = pane;
                    model.side = pane;
                }
                MouseEventKind::ScrollUp => {
                    let before = model.focus;
                    model.focus = pane;
                    act(model, Action::Up);
                    model.focus = before;
                }
                MouseEventKind::ScrollDown => {
                    let before = model.focus;
                    model.focus = pane;
                    act(model, Action::Down);
                    model.focus = before;
                }
                _ => {}
            }
            return;
        }
    }
    match mouse.kind {
        MouseEventKind::Down(_) if in_topics => {
            model.focus = Pane::Topics;
            let before = model.selected();
            model.tree.click_at(at);
            model.tree_dirty = true;
            if model.selected() != before {
                model.inspector.pinned = None;
                model.inspector.scroll = 0;
            }
        }
        MouseEventKind::Down(_) if in_inspector => {
            model.focus = Pane::Inspector;
            model.side = Pane::Inspector;
        }
        MouseEventKind::ScrollDown if in_topics => {
            model.tree.scroll_down(3);
            model.tree_dirty = true;
        }
        MouseEventKind::ScrollUp if in_topics => {
            model.tree.scroll_up(3);
            model.tree_dirty = true;
        }
        MouseEventKind::ScrollDown if in_inspector => {
            model.inspector.scroll = model.inspector.scroll.saturating_add(3);
        }
        MouseEventKind::ScrollUp if in_inspector => {
            model.inspector.scroll = model.inspector.scroll.saturating_sub(3);
        }
        _ => {}
    }
}

fn timeline_action(model: &mut Model, action: Action) {
    let last = model.timeline.attempts.len().saturating_sub(1);
    let s = &mut model.timeline_selected;
    match action {
        Action::Up => *s = s.saturating_sub(1),
        Action::Down => *s = (*s + 1).min(last),
        Action::First => *s = 0,
        Action::Last => *s = last,
        Action::Details => model.timeline_details = !model.timeline_details,
        _ => {}
    }
}

fn log_action(model: &mut Model, action: Action) -> Vec<Command> {
    let page = usize::from(model.areas.log.height.saturating_sub(3)).max(1);
    let packets = model.log.tab == Tab::Packets;
    let log = &mut model.log;
    match action {
        Action::SwitchTab => {
            log.tab = if packets { Tab::Log } else { Tab::Packets };
            log.scroll = 0;
        }
        Action::CycleLevel => {
            let levels = crate::logging::LEVELS;
            let current = log.level.unwrap_or(tracing::Level::INFO);
            let at = levels.iter().position(|l| *l == current).unwrap_or(2);
            let next = levels[(at + 1) % levels.len()];
            log.level = Some(next);
            return vec![Command::SetLogLevel(next)];
        }
        Action::CyclePacketFilter => log.next_filter(),
        Action::Filter => log.editing = true,
        Action::ClearFilter => {
            log.search.clear();
            log.cursor = None;
        }
        Action::JumpToMessage => jump_to_message(model),
        Action::Up if packets => log.move_cursor(-1),
        Action::Down if packets => log.move_cursor(1),
        Action::PageUp if packets => log.move_cursor(-isize::try_from(page).unwrap_or(1)),
        Action::PageDown if packets => log.move_cursor(isize::try_from(page).unwrap_or(1)),
        Action::First if packets => log.move_cursor(isize::MIN / 2),
        Action::Last if packets => log.cursor = None,
        Action::Up => log.scroll = (log.scroll + 1).min(log.lines.len()),
        Action::Down => log.scroll = log.scroll.saturating_sub(1),
        Action::PageUp => log.scroll = (log.scroll + page).min(log.lines.len()),
        Action::PageDown => log.scroll = log.scroll.saturating_sub(page),
        Action::First => log.scroll = log.lines.len(),
        Action::Last => log.scroll = 0,
        _ => {}
    }
    Vec::new()
}

fn edit_log_search(model: &mut Model, key: KeyEvent) {
    let log = &mut model.log;
    match key.code {
        KeyCode::Enter => log.editing = false,
        KeyCode::Esc => {
            log.editing = false;
            log.search.clear();
        }
        KeyCode::Backspace => {
            log.search.pop();
        }
        KeyCode::Char(c)
            if !key
                .modifiers
                .contains(crossterm::event::KeyModifiers::CONTROL) =>
        {
            log.search.push(c);
        }
        _ => {}
    }
    log.cursor = None;
    log.scroll = 0;
}

/// From the message in the inspector to the PUBLISH that carried it.
fn jump_to_packet(model: &mut Model) {
    let (Some(id), Some(index)) = (model.selected(), model.shown_index()) else {
        model.notify("no message selected");
        return;
    };
    let node = model.store.node(id);
    let received = node.history()[index].received;
    let topic = node.path().to_string();
    let found = model
        .log
        .packets
        .iter()
        .rev()
        .find(|e| {
            e.record.packet_type == 3
                && e.record.direction == Direction::In
                && e.record.topic.as_deref() == Some(topic.as_str())
                && e.record.at <= received
        })
        .map(|e| e.n);
    match found {
        Some(n) => {
            model.log.tab = Tab::Packets;
            model.log.filter = PacketFilter::All;
            model.log.search.clear();
            model.log.cursor = Some(n);
            model.focus = Pane::Log;
            model.side = Pane::Log;
        }
        None => model.notify("that PUBLISH is no longer in the packet log"),
    }
}

/// From a PUBLISH in the packet log to its message in the inspector.
fn jump_to_message(model: &mut Model) {
    let Some(entry) = model.log.cursor_packet() else {
        return;
    };
    let record = &entry.record;
    if record.packet_type != 3 || record.direction != Direction::In {
        model.notify("Enter on an incoming PUBLISH shows its message");
        return;
    }
    let at = record.at;
    let Some(id) = record.topic.as_deref().and_then(|t| model.store.find(t)) else {
        model.notify("that topic is not in the tree");
        return;
    };
    let path = model.store.path_ids(id);
    for depth in 1..path.len() {
        model.tree.open(path[..depth].to_vec());
    }
    model.tree.select(path);
    model.tree_dirty = true;
    let history = model.store.node(id).history();
    let pinned = history.iter().find(|m| m.received >= at).map(|m| m.seq);
    let newest = history.back().map(|m| m.seq);
    model.inspector = Inspector {
        mode: model.inspector.mode,
        diff: false,
        scroll: 0,
        pinned: pinned.filter(|seq| Some(*seq) != newest),
    };
    if pinned.is_none() {
        model.notify("that message is no longer kept; showing the newest");
    }
    model.focus = Pane::Inspector;
    model.side = Pane::Inspector;
}

/// The root's id, for views.
pub const TREE_ROOT: NodeId = ROOT;
