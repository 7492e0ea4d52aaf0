//! The log pane's state: the app's own log lines and the packet log, each bounded, with
//! counts of what was dropped, a level, a search, and a scroll position that follows the tail
//! or stays where the user left it.

use std::collections::VecDeque;
use std::time::Duration;

use tracing::Level;

use crate::broker::{Direction, PacketRecord};
use crate::logging::LogLine;

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
            (Direction::Out, 12) => {
                self.last_ping = Some(record.mono);
                None
            }
            (Direction::In, 13) => self
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
            PacketFilter::Publish => p.packet_type == 3,
            PacketFilter::Control => p.packet_type != 3,
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
            direction,
            packet_type,
            size: 2,
            pkid: None,
            topic: topic.map(Into::into),
            qos: 0,
            retain: false,
            dup: false,
            reason: None,
            detail: String::new(),
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
