//! The log pane: the app's own log (tracing, with rumqttc and rustls) and the packet log.

use std::fmt::Write as _;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use tracing::Level;

use super::format::bytes;
use super::{clock, count, focused, pane_block};
use crate::broker::{Direction, PacketType, codes};
use crate::tui::keymap::Pane;
use crate::tui::model::{Model, PacketEntry, Tab};
use crate::tui::theme::Theme;

pub fn render(model: &Model, t: &Theme, frame: &mut Frame<'_>, area: Rect) {
    let log = &model.log;
    let mut title = match log.tab {
        Tab::Log => format!(
            "log [{}] · packets · {} lines",
            log.level.map_or("info", |l| l.as_str()),
            count(log.lines.len() as u64)
        ),
        Tab::Packets => format!(
            "log · packets [{}] · {} kept",
            log.filter.label(),
            count(log.packets.len() as u64)
        ),
    };
    let dropped = match log.tab {
        Tab::Log => log.lines_dropped,
        Tab::Packets => log.packets_dropped + log.packets_evicted,
    };
    if dropped > 0 {
        let _ = write!(title, " · {} dropped", count(dropped));
    }
    if log.editing || !log.search.is_empty() {
        let _ = write!(title, " · /{}", log.search);
    }
    let following = match log.tab {
        Tab::Log => log.scroll == 0,
        Tab::Packets => log.cursor.is_none(),
    };
    title.push_str(if following {
        " · following"
    } else {
        " · paused here (End follows)"
    });
    let block = pane_block(t, &title, focused(model, Pane::Log));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let height = usize::from(inner.height);
    let lines = match log.tab {
        Tab::Log => log_lines(model, t, height, usize::from(inner.width)),
        Tab::Packets => packet_lines(model, t, height),
    };
    frame.render_widget(Paragraph::new(lines), inner);
}

fn level_style(t: &Theme, level: Level) -> Style {
    match level {
        Level::ERROR => t.error,
        Level::WARN => t.warn,
        Level::INFO => t.ok,
        _ => t.dim,
    }
}

/// The log lines that fill the pane from the bottom, each wrapped to `width` (continuations
/// indented), so a long message is read whole without zooming.
fn log_lines(model: &Model, t: &Theme, height: usize, width: usize) -> Vec<Line<'static>> {
    let log = &model.log;
    let shown: Vec<_> = log.lines.iter().filter(|l| log.shows_line(l)).collect();
    if shown.is_empty() {
        return vec![Line::styled(
            if log.search.is_empty() {
                "no log lines yet (L raises the level)"
            } else {
                "no line matches"
            },
            t.dim,
        )];
    }
    let end = shown
        .len()
        .saturating_sub(log.scroll.min(shown.len().saturating_sub(1)));
    let mut rows: Vec<Line<'static>> = Vec::new();
    for l in shown[..end].iter().rev() {
        if rows.len() >= height {
            break;
        }
        let spans = vec![
            Span::styled(format!("{} ", clock(l.at)), t.dim),
            Span::styled(format!("{:<5} ", l.level.as_str()), level_style(t, l.level)),
            Span::styled(format!("{}: ", l.target), t.label),
            Span::raw(crate::sanitize::line(l.message.as_bytes()).into_owned()),
        ];
        let mut wrapped = super::format::wrap(spans, width, "", "    ");
        wrapped.reverse();
        rows.extend(wrapped);
    }
    rows.truncate(height);
    rows.reverse();
    rows
}

fn packet_lines(model: &Model, t: &Theme, height: usize) -> Vec<Line<'static>> {
    let log = &model.log;
    let visible = log.visible_packets();
    if visible.is_empty() {
        return vec![Line::styled("no packets yet", t.dim)];
    }
    let cursor = log
        .cursor
        .and_then(|n| visible.iter().position(|e| e.n == n))
        .unwrap_or(visible.len() - 1);
    // The cursor sits on the last row while following, else in the middle of the view.
    let end = if log.cursor.is_none() {
        visible.len()
    } else {
        (cursor + height / 2 + 1).clamp(height.min(visible.len()), visible.len())
    };
    let start = end.saturating_sub(height);
    visible[start..end]
        .iter()
        .enumerate()
        .map(|(i, e)| packet_line(t, e, start + i == cursor && log.cursor.is_some()))
        .collect()
}

fn packet_line(t: &Theme, e: &PacketEntry, selected: bool) -> Line<'static> {
    let p = &e.record;
    let arrow = match p.direction {
        Direction::Out => "→",
        Direction::In => "←",
    };
    let base = if selected {
        t.selected
    } else {
        Style::default()
    };
    let mut spans = vec![
        Span::styled(
            format!("{} ", clock(p.at)),
            if selected { t.selected } else { t.dim },
        ),
        Span::styled(format!("{arrow} {:<11}", p.type_name()), base.patch(t.key)),
        Span::styled(format!("{:>9} ", bytes(p.size)), t.label),
    ];
    let mut fields = String::new();
    if p.packet_type == PacketType::Publish {
        let _ = write!(fields, "q{} ", p.qos);
        if p.retain {
            fields.push_str("R ");
        }
        if p.dup {
            fields.push_str("dup ");
        }
    }
    if let Some(id) = p.pkid {
        let _ = write!(fields, "#{id} ");
    }
    if let Some(code) = p.reason.filter(|_| p.packet_type != PacketType::Connack) {
        let _ = write!(fields, "{code:#04x} {} ", codes::reason_name(code));
    }
    if let Some(rtt) = e.rtt {
        let _ = write!(fields, "rtt {:.2} ms ", rtt.as_secs_f64() * 1000.0);
    }
    spans.push(Span::styled(fields, t.label));
    if let Some(topic) = &p.topic {
        spans.push(Span::styled(
            format!("{} ", crate::sanitize::block(topic.as_bytes()).into_owned()),
            t.value,
        ));
    }
    spans.push(Span::styled(
        crate::sanitize::block(p.detail.as_bytes()).into_owned(),
        t.dim,
    ));
    Line::from(spans)
}
