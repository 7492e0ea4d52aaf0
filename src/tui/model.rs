//! The domain model of the explorer and its pure update step: `update(model, msg) → commands`.
//! No I/O, no awaiting, no clock reads, no widget state: time arrives inside messages, and what
//! the screen looks like (tree widget offsets, pane rectangles, colours) lives with the view.
//!
//! This file dispatches; each pane's handling sits in its own module: `topics` (tree and
//! filter), `inspector` (history and copy), `timeline`, `log` (log lines, packets and the jumps
//! between a message and its packet), `broker` (events from the connection layer), `tick`
//! (the clock and rates), `mouse` (pointer events the view resolved) and `dialogs`.

mod anomalies;
mod broker;
mod charts;
mod dialogs;
mod inspector;
mod log;
mod mouse;
mod playback;
mod tick;
mod timeline;
mod topics;

use std::collections::VecDeque;
use std::time::SystemTime;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind};

use super::dialog::Dialog;
use super::dialog::publish::PublishForm;
use super::dialog::subs::Subscriptions;
use super::keymap::{Action, Key, Keymap, Pane};
use super::requests::Requests;
use crate::broker::{BrokerEvent, Cause, Protocol, PublishOutcome, PublishRequest, Subscription};
use crate::logging::LogLine;
use crate::store::{Limits, NodeId, ROOT, TopicStore};
use crate::timeline::Timeline;
pub use anomalies::{AnomaliesPane, selected_index as anomalies_selected_index};
pub use charts::{Chart, ChartsPane, MAX_FIELDS, Pin, chart_fields, shown_field};
pub use inspector::Inspector;
pub use log::{LogPane, PacketEntry, PacketFilter, Tab};
pub use mouse::Pointer;
pub use playback::{RecordingStatus, clock_text, parse_seek};
pub use topics::{Filter, Topics};

/// Everything that reaches the update step.
#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    /// A pointer event the view has resolved to a pane (and a tree row).
    Pointer(Pointer),
    Resize,
    /// The geometry the last frame drew: page sizes and how far the inspector scrolls.
    Layout(Pages),
    /// A frame is about to be drawn: settle what was deferred while events streamed in (the
    /// order of new levels, a first selection).
    Frame,
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
    /// The source starts over (a recording seeking back): forget what it said.
    Reset,
    /// Where the played recording stands (`None` on a live connection).
    Playback(Option<crate::source::PlaybackStatus>),
    /// The recording `W` started: how far it got, or `None` when none runs.
    Recording(Option<playback::RecordingStatus>),
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
    /// Add this connection to the config file as a profile of this name, with the pinned
    /// series (or, for the profile the explorer was opened with, replace its pins); the
    /// result comes back as `Msg::Notice`.
    SaveProfile {
        name: String,
        pins: Vec<crate::config::PinEntry>,
    },
    /// Replace the rules and schema checks of the profile the explorer was opened with; the
    /// result comes back as `Msg::Notice`.
    SaveAlerts {
        profile: String,
        rules: Vec<crate::alert::RuleEntry>,
        schemas: Vec<crate::alert::SchemaEntry>,
    },
    /// Play, pause, speed up or seek the recording being played.
    Playback(crate::source::Control),
    /// Record the session from now on into this file.
    StartRecording {
        path: std::path::PathBuf,
        header: crate::record::Header,
    },
    StopRecording,
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

/// The view is frozen; ingestion goes on.
#[derive(Debug, Clone, Copy)]
pub struct Paused {
    pub total_at_pause: u64,
    /// Nodes that existed then: ids are never reused, so the frozen tree is every id up to
    /// this one, and moving in it does not reach levels that appeared since.
    pub nodes_at_pause: usize,
    /// The clock then: charts end there while the view is frozen.
    pub at: SystemTime,
}

/// Rows a page moves in each pane, and the inspector's last scroll position, as the last
/// frame drew them. The view reports them after drawing; until then, defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pages {
    pub topics: usize,
    pub inspector: usize,
    pub log: usize,
    /// The furthest the inspector's body scrolls for the shown message.
    pub inspector_max_scroll: usize,
    /// The screen is large enough for the anomalies beside the log, not in its place.
    pub anomalies_beside_log: bool,
}

impl Default for Pages {
    fn default() -> Self {
        Self {
            topics: 20,
            inspector: 20,
            log: 10,
            inspector_max_scroll: usize::MAX / 2,
            anomalies_beside_log: false,
        }
    }
}

pub struct Model {
    pub target: String,
    pub store: TopicStore,
    /// Payload decoders per topic filter (`--decode`, `[[decoders]]`).
    pub decoders: crate::payload::decode::Decoders,
    /// Sparkplug B edge nodes and devices, from the births and data seen.
    pub sparkplug: crate::payload::decode::sparkplug::Sparkplug,
    pub link: LinkState,
    pub now: SystemTime,
    pub focus: Pane,
    /// What keys mean: the user's configuration, resolved here so every binding is testable
    /// through `update` alone.
    pub keymap: Keymap,
    /// The tree's opened levels, the selected topic and the filter.
    pub topics: Topics,
    pub inspector: Inspector,
    pub paused: Option<Paused>,
    pub help: bool,
    /// Lines the help overlay is scrolled by (when it does not fit the screen).
    pub help_scroll: u16,
    pub dropped_by_app: u64,
    /// Messages per second over the last few seconds.
    pub rate: f64,
    rate_samples: VecDeque<(SystemTime, u64)>,
    /// A short notice for the status bar and when it was set.
    pub notice: Option<(String, SystemTime)>,
    pub pages: Pages,
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
    /// TLS without certificate verification (`--insecure`): the status bar says so.
    pub tls_unverified: bool,
    /// Expectations per topic and the anomalies that broke them.
    pub watch: crate::watch::Watch,
    /// The user's rules and schema checks, raised through the watch.
    pub alerts: crate::alert::Alerts,
    pub anomalies: AnomaliesPane,
    /// A recording is being played, not a live connection: where it stands.
    pub playback: Option<crate::source::PlaybackStatus>,
    /// `W`'s recording, while it runs.
    pub recording: Option<playback::RecordingStatus>,
    /// The inspector's chart of the selected topic.
    pub chart: Chart,
    /// Series pinned to the charts pane.
    pub charts: ChartsPane,
    /// The `$SYS` pane is open (`B`, or `--sys`).
    pub sys_open: bool,
    /// The Last Will every attempt sends, as the timeline's details show it.
    pub will: Option<String>,
    /// Where `W` puts recordings (the state directory); `None`: the current directory.
    pub record_dir: Option<std::path::PathBuf>,
}

impl Model {
    pub fn new(target: String, limits: Limits, now: SystemTime) -> Self {
        Self {
            target,
            store: TopicStore::new(limits),
            decoders: crate::payload::decode::Decoders::default(),
            sparkplug: crate::payload::decode::sparkplug::Sparkplug::default(),
            link: LinkState::Connecting { attempt: 1 },
            now,
            focus: Pane::Topics,
            keymap: Keymap::default(),
            topics: Topics::default(),
            inspector: Inspector::default(),
            paused: None,
            help: false,
            help_scroll: 0,
            dropped_by_app: 0,
            rate: 0.0,
            rate_samples: VecDeque::new(),
            notice: None,
            pages: Pages::default(),
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
            tls_unverified: false,
            watch: crate::watch::Watch::default(),
            alerts: crate::alert::Alerts::default(),
            anomalies: AnomaliesPane::default(),
            playback: None,
            recording: None,
            chart: Chart::default(),
            charts: ChartsPane::default(),
            sys_open: false,
            record_dir: None,
            will: None,
        }
    }

    /// The selected node, if any.
    pub fn selected(&self) -> Option<NodeId> {
        self.topics
            .selected
            .filter(|id| *id != ROOT && self.store.get(*id).is_some())
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

    /// The time the view shows: now, or when it was paused.
    pub fn view_time(&self) -> SystemTime {
        self.paused.map_or(self.now, |p| p.at)
    }

    /// Nodes the tree may show: all, or those that existed when the view was paused.
    pub(crate) fn node_limit(&self) -> usize {
        self.paused.map_or(usize::MAX, |p| p.nodes_at_pause)
    }
}

/// Applies one message; returns the side effects it asks for.
pub fn update(model: &mut Model, msg: Msg) -> Vec<Command> {
    match msg {
        Msg::Key(key) if key.kind != KeyEventKind::Release => {
            settle(model);
            return on_key(model, key);
        }
        Msg::Key(_) | Msg::Resize => {}
        Msg::Pointer(pointer) => {
            settle(model);
            mouse::on_pointer(model, pointer);
        }
        Msg::Layout(pages) => {
            model.pages = pages;
            model.inspector.scroll = model.inspector.scroll.min(pages.inspector_max_scroll);
        }
        Msg::Frame => settle(model),
        Msg::Broker(event) => broker::on_event(model, event),
        Msg::Tick(now) => {
            tick::on_tick(model, now);
            settle(model);
        }
        Msg::Logs(lines, dropped) => model.log.push_lines(lines, dropped),
        Msg::Doctor(report) => {
            // Only if the user still waits for it.
            if model.doctor.is_some() {
                model.doctor = Some(DoctorPopup::Done(report));
            }
        }
        Msg::Published {
            topic,
            sent,
            outcome,
        } => {
            model.requests.sent(&topic, sent);
            model.notify(broker::published_text(&topic, &outcome));
        }
        Msg::Cleaning(progress) => broker::on_cleaning(model, progress),
        Msg::Notice(text) => model.notify(text),
        Msg::Reset => playback::restart(model),
        Msg::Playback(status) => playback::on_status(model, status),
        Msg::Recording(status) => playback::on_recording(model, status),
    }
    Vec::new()
}

/// Brings deferred work up to date: new levels sorted, a selection once there are topics.
fn settle(model: &mut Model) {
    let opened = &model.topics.opened;
    model
        .store
        .sort_pending(|id| id == ROOT || opened.contains(&id));
    topics::ensure_selection(model);
}

fn on_key(model: &mut Model, key: KeyEvent) -> Vec<Command> {
    if model.dialog.is_some() {
        return dialogs::on_key(model, key);
    }
    if model.topics.filter.editing {
        topics::edit_filter(model, key);
        return Vec::new();
    }
    if model.log.editing {
        log::edit_search(model, key);
        return Vec::new();
    }
    if model.chart.typing.is_some() {
        charts::edit_field(model, key);
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
        // ↑↓ PgUp PgDn Home scroll it when it does not fit; any other key closes; q still quits.
        let page = 10;
        let scroll = &mut model.help_scroll;
        match key.code {
            KeyCode::Down | KeyCode::Char('j') => *scroll = scroll.saturating_add(1),
            KeyCode::Up | KeyCode::Char('k') => *scroll = scroll.saturating_sub(1),
            KeyCode::PageDown | KeyCode::Char(' ') => *scroll = scroll.saturating_add(page),
            KeyCode::PageUp => *scroll = scroll.saturating_sub(page),
            KeyCode::Home => *scroll = 0,
            _ => {
                model.help = false;
                model.help_scroll = 0;
                if key.code != KeyCode::Char('q') {
                    return Vec::new();
                }
            }
        }
        if model.help {
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
    settle(model);
    match action {
        Action::Quit => return vec![Command::Quit],
        Action::FocusNext | Action::FocusPrev => focus_step(model, action == Action::FocusNext),
        Action::Zoom => model.zoom = !model.zoom,
        _ if model.playback.is_some() && playback::live_only(action) => {
            model.notify("a recording is open: there is no broker to do that with");
        }
        Action::Pause if model.playback.is_some() => {
            return vec![Command::Playback(crate::source::Control::PlayPause)];
        }
        Action::PlaybackSpeed | Action::SeekBack | Action::SeekForward | Action::SeekTo => {
            return playback::on_action(model, action);
        }
        Action::Record => return playback::toggle_recording(model),
        Action::ExportHistory => playback::export_history(model),
        Action::Reconnect => {
            model.notify("reconnecting now");
            return vec![Command::Reconnect];
        }
        Action::ToggleConnection => return toggle_connection(model),
        Action::JumpToPacket => log::jump_to_packet(model),
        Action::Doctor => {
            model.doctor = Some(DoctorPopup::Running);
            return vec![Command::RunDoctor];
        }
        Action::Pause => {
            model.paused = match model.paused {
                Some(_) => None,
                None => Some(Paused {
                    total_at_pause: model.store.total_messages,
                    nodes_at_pause: model.store.len(),
                    at: model.now,
                }),
            };
            model.topics.changed();
        }
        Action::Help => model.help = true,
        Action::CopyPayload => return inspector::copy_payload(model),
        Action::CopyTopic => return inspector::copy_topic(model),
        Action::CopyMessage => return inspector::copy_message(model),
        Action::SavePayload => dialogs::open_save(model),
        Action::Publish => dialogs::open_publish(model),
        Action::Republish => dialogs::open_republish(model),
        Action::Subscriptions => dialogs::open_subscriptions(model),
        Action::Rules => dialogs::open_rules(model),
        Action::ClearRetained => dialogs::open_clean(model),
        Action::SaveProfile => dialogs::open_save_profile(model),
        Action::CycleView => {
            let xml = model
                .selected()
                .zip(model.shown_index())
                .and_then(|(id, i)| model.store.node(id).history().get(i))
                .is_some_and(|m| crate::payload::looks_like_xml(&m.payload));
            model.inspector.mode = model.inspector.mode.next_for(xml);
            model.inspector.scroll = 0;
        }
        Action::ToggleDiff => {
            model.inspector.diff = !model.inspector.diff;
            model.inspector.scroll = 0;
        }
        Action::OlderMessage | Action::NewerMessage if model.chart.open => {
            charts::step_field(model, action == Action::NewerMessage);
        }
        Action::OlderMessage | Action::NewerMessage => inspector::step_history(model, action),
        Action::ToggleChart => charts::toggle(model),
        Action::TypeField => charts::start_typing(model),
        Action::OverlayField => charts::toggle_overlay(model),
        Action::PinSeries => charts::pin(model),
        Action::ToggleCharts => charts::toggle_pane(model),
        Action::ToggleSys => anomalies::toggle_sys(model),
        Action::ToggleAnomalies => anomalies::toggle(model),
        _ => match model.focus {
            Pane::Anomalies => anomalies::on_action(model, action),
            Pane::Charts => charts::on_action(model, action),
            Pane::Inspector => inspector::on_action(model, action),
            Pane::Timeline => timeline::on_action(model, action),
            Pane::Log => return log::on_action(model, action),
            _ => topics::on_action(model, action),
        },
    }
    Vec::new()
}

fn focus_step(model: &mut Model, forward: bool) {
    let order = anomalies::focus_order(model);
    let at = order.iter().position(|p| *p == model.focus).unwrap_or(0);
    let step = if forward { 1 } else { order.len() - 1 };
    model.focus = order[(at + step) % order.len()];
    if model.focus != Pane::Topics {
        model.side = model.focus;
    }
}

fn toggle_connection(model: &mut Model) -> Vec<Command> {
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
    vec![Command::Reconnect]
}
