//! The log pane's state: the app's own log lines and the packet log, each bounded, with
//! counts of what was dropped, a level, a search, and a scroll position that follows the tail
//! or stays where the user left it; the keys that move in them and the jumps between a
//! message in the inspector and the PUBLISH that carried it.

use std::collections::VecDeque;
use std::time::Duration;

use crossterm::event::KeyEvent;
use tracing::Level;

use super::{Command, Model};
use crate::broker::{Direction, PacketRecord, PacketType};
use crate::logging::LogLine;
use crate::tui::input::{Edit, edit_line};
use crate::tui::keymap::{Action, Pane};

/// Log lines kept by the pane.
pub const LOG_LINES: usize = 10_000;
/// Packet records kept by the pane.
pub const PACKETS: usize = 20_000;

/// Which list the log pane shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tab {
    #[default]
    Log,
    Packets,
}

/// Which packets the packet log shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PacketFilter {
    #[default]
    All,
    Publish,
    Control,
}

impl PacketFilter {
    pub fn label(self) -> &'static str {
        match self {
            PacketFilter::All => "all",
            PacketFilter::Publish => "PUBLISH",
            PacketFilter::Control => "control",
        }
    }

    fn next(self) -> Self {
        match self {
            PacketFilter::All => PacketFilter::Publish,
            PacketFilter::Publish => PacketFilter::Control,
            PacketFilter::Control => PacketFilter::All,
        }
    }
}

/// A packet with its place in the log and, for PINGRESP, the round trip it closed.
#[derive(Debug, Clone)]
pub struct PacketEntry {
    /// Arrival number in this session, never reused.
    pub n: u64,
    pub record: PacketRecord,
    pub rtt: Option<Duration>,
}

#[derive(Debug, Default)]
pub struct LogPane {
    pub tab: Tab,
    pub lines: VecDeque<LogLine>,
    /// Lines lost: by the tracing ring before the pane read them, and evicted from the pane.
    pub lines_dropped: u64,
    pub packets: VecDeque<PacketEntry>,
    next_packet: u64,
    /// Packets lost because the pane could not keep up (reported by the connection layer).
    pub packets_dropped: u64,
    pub packets_evicted: u64,
    /// Lines from the newest one shown at the bottom; 0 follows the tail.
    pub scroll: usize,
    /// The packet the cursor is on (by `n`); `None` follows the newest.
    pub cursor: Option<u64>,
    pub filter: PacketFilter,
    pub search: String,
    pub editing: bool,
    pub level: Option<Level>,
    last_ping: Option<std::time::Instant>,
}

impl LogPane {
    pub fn push_lines(&mut self, lines: Vec<LogLine>, dropped: u64) {
        self.lines_dropped += dropped;
        let added = lines.len();
        for line in lines {
            if self.lines.len() >= LOG_LINES {
                self.lines.pop_front();
                self.lines_dropped += 1;
            }
            self.lines.push_back(line);
        }
        // Scrolled up: stay on the same lines while new ones arrive below.
        if self.scroll > 0 && self.tab == Tab::Log {
            self.scroll = (self.scroll + added).min(self.lines.len());
        }
    }

    pub fn push_packet(&mut self, record: PacketRecord) {
        let rtt = match (record.direction, record.packet_type) {
            (Direction::Out, PacketType::Pingreq) => {
                self.last_ping = Some(record.mono);
                None
            }
            (Direction::In, PacketType::Pingresp) => self
                .last_ping
                .take()
                .map(|sent| record.mono.saturating_duration_since(sent)),
            _ => None,
        };
        if self.packets.len() >= PACKETS {
            self.packets.pop_front();
            self.packets_evicted += 1;
        }
        self.packets.push_back(PacketEntry {
            n: self.next_packet,
            record,
            rtt,
        });
        self.next_packet += 1;
    }

    /// Whether a packet passes the type filter and the search.
    pub fn shows_packet(&self, p: &PacketRecord) -> bool {
        let by_type = match self.filter {
            PacketFilter::All => true,
            PacketFilter::Publish => p.packet_type == PacketType::Publish,
            PacketFilter::Control => p.packet_type != PacketType::Publish,
        };
        by_type
            && (self.search.is_empty()
                || p.topic
                    .as_deref()
                    .is_some_and(|t| t.contains(self.search.as_str()))
                || p.type_name().eq_ignore_ascii_case(&self.search))
    }

    pub fn shows_line(&self, line: &LogLine) -> bool {
        self.search.is_empty()
            || line.message.contains(self.search.as_str())
            || line.target.contains(self.search.as_str())
    }

    /// Packets that pass the filters, oldest first.
    pub fn visible_packets(&self) -> Vec<&PacketEntry> {
        self.packets
            .iter()
            .filter(|e| self.shows_packet(&e.record))
            .collect()
    }

    pub fn next_filter(&mut self) {
        self.filter = self.filter.next();
        self.cursor = None;
    }

    /// Moves the packet cursor by `delta` rows among the visible packets (negative: older).
    pub fn move_cursor(&mut self, delta: isize) {
        let visible = self.visible_packets();
        if visible.is_empty() {
            return;
        }
        let at = self
            .cursor
            .and_then(|n| visible.iter().position(|e| e.n == n))
            .unwrap_or(visible.len() - 1);
        let target = at.saturating_add_signed(delta).min(visible.len() - 1);
        self.cursor = (target + 1 < visible.len()).then(|| visible[target].n);
    }

    /// The packet under the cursor (the newest when following).
    pub fn cursor_packet(&self) -> Option<&PacketEntry> {
        let visible = self.visible_packets();
        match self.cursor {
            Some(n) => visible.into_iter().find(|e| e.n == n),
            None => visible.last().copied(),
        }
    }
}

pub(super) fn on_action(model: &mut Model, action: Action) -> Vec<Command> {
    let page = model.pages.log.max(1);
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

pub(super) fn edit_search(model: &mut Model, key: KeyEvent) {
    let log = &mut model.log;
    match edit_line(&mut log.search, &key) {
        Edit::Submit => log.editing = false,
        Edit::Cancel => {
            log.editing = false;
            log.search.clear();
        }
        Edit::Changed | Edit::Other => {}
    }
    log.cursor = None;
    log.scroll = 0;
}

/// From the message in the inspector to the PUBLISH that carried it.
pub(super) fn jump_to_packet(model: &mut Model) {
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
            e.record.packet_type == PacketType::Publish
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
    if record.packet_type != PacketType::Publish || record.direction != Direction::In {
        model.notify("Enter on an incoming PUBLISH shows its message");
        return;
    }
    let at = record.at;
    let Some(id) = record.topic.as_deref().and_then(|t| model.store.find(t)) else {
        model.notify("that topic is not in the tree");
        return;
    };
    let history = model.store.node(id).history();
    let seq = history.iter().find(|m| m.received >= at).map(|m| m.seq);
    super::inspector::show(model, id, seq, false);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Instant, SystemTime};

    fn rec(
        packet_type: u8,
        direction: Direction,
        topic: Option<&str>,
        mono: Instant,
    ) -> PacketRecord {
        PacketRecord {
            mono,
            at: SystemTime::UNIX_EPOCH,
            topic: topic.map(Into::into),
            ..PacketRecord::new(direction, PacketType::from_number(packet_type), 2)
        }
    }

    #[test]
    fn ping_pairs_get_their_round_trip_and_filters_apply() {
        let mut pane = LogPane::default();
        let t0 = Instant::now();
        pane.push_packet(rec(12, Direction::Out, None, t0));
        pane.push_packet(rec(
            13,
            Direction::In,
            None,
            t0 + Duration::from_micros(420),
        ));
        pane.push_packet(rec(3, Direction::In, Some("a/b"), t0));
        assert_eq!(pane.packets[1].rtt, Some(Duration::from_micros(420)));
        pane.next_filter();
        assert_eq!(pane.visible_packets().len(), 1);
        pane.next_filter();
        assert_eq!(pane.visible_packets().len(), 2);
        pane.next_filter();
        pane.search = "a/".into();
        assert_eq!(pane.visible_packets().len(), 1);
    }

    #[test]
    fn cursor_moves_among_visible_packets_and_follows_at_the_end() {
        let mut pane = LogPane::default();
        let t0 = Instant::now();
        for _ in 0..5 {
            pane.push_packet(rec(3, Direction::In, Some("t"), t0));
        }
        pane.move_cursor(-2);
        assert_eq!(pane.cursor, Some(2));
        pane.move_cursor(5);
        assert_eq!(pane.cursor, None, "back at the newest: follow");
    }
}
