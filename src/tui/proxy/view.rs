//! Draws the proxy screen. Pure: the model, the theme and the time in, a frame out.
//!
//! ```text
//! ┌ clients ──────────────┐┌ timeline: <selected> ─────────────────────────┐
//! │ ● sensor-1  3 conn …  ││ 12:00:01.204 CONNECT from … keep-alive 30s    │
//! │ ○ gateway   1 conn …  ││ 12:00:31.000 fault: dropped 2 connections     │
//! ├ verdict ──────────────┤└───────────────────────────────────────────────┘
//! │ backoff  exponential  │┌ packets: <selected> ──────────────────────────┐
//! │ resubscribed yes      ││ 12:00:01.204 → CONNECT 27 B …                 │
//! └───────────────────────┘└───────────────────────────────────────────────┘
//!  proxy mqtt://127.0.0.1:1884 → mqtt://broker │ broker UP │ delay 0ms …
//!  ↑↓ client  d drop all  b broker down  h black hole  +/- delay  ? help  q quit
//! ```

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::model::{Entry, ProxyModel, Tone};
use crate::broker::event::Direction;
use crate::proxy::clients::State;
use crate::proxy::faults::dur;
use crate::sanitize;
use crate::tui::theme::Theme;
use crate::tui::ui::clock;
use crate::width;

/// The keys, for the hint line and the help.
pub const KEYS: &[(&str, &str)] = &[
    ("↑↓", "client"),
    ("d", "drop all now"),
    ("b", "broker down/up"),
    ("h", "black hole on/off"),
    ("+/-", "delay ±100ms"),
    ("?", "help"),
    ("q", "quit"),
];

pub fn render(model: &ProxyModel, t: &Theme, now: Instant, frame: &mut Frame<'_>) {
    let area = frame.area();
    if area.width < 20 || area.height < 6 {
        frame.render_widget(Paragraph::new("mqscope proxy: enlarge the window"), area);
        return;
    }
    let [body, status, hints] = Layout::vertical([
        Constraint::Min(4),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(42), Constraint::Percentage(58)]).areas(body);
    let [clients, verdict] =
        Layout::vertical([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(left);
    let [timeline, packets] =
        Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(right);
    render_clients(model, t, now, frame, clients);
    render_verdict(model, t, now, frame, verdict);
    render_timeline(model, t, frame, timeline);
    render_packets(model, t, frame, packets);
    render_status(model, t, frame, status);
    render_hints(t, frame, hints);
    if model.help {
        render_help(t, frame, body);
    }
}

fn block<'a>(title: String, t: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(t.border)
        .title(Span::styled(title, t.title))
}

fn selected_name(model: &ProxyModel) -> String {
    model.selected.as_deref().map_or_else(
        || "no client yet".into(),
        |s| sanitize::lines(s).into_owned(),
    )
}

fn render_clients(model: &ProxyModel, t: &Theme, now: Instant, frame: &mut Frame<'_>, area: Rect) {
    let up = model
        .clients
        .iter()
        .filter(|c| c.state == State::Connected)
        .count();
    let title = format!(" clients ({}, {up} up) ", model.clients.len());
    let inner_width = usize::from(area.width.saturating_sub(2));
    let rows = usize::from(area.height.saturating_sub(2));
    let ids = model.ids();
    let at = model
        .selected
        .as_deref()
        .and_then(|s| ids.iter().position(|i| *i == s))
        .unwrap_or(0);
    let skip = (at + 1).saturating_sub(rows);
    let mut lines = Vec::new();
    if model.clients.is_empty() {
        lines.push(Line::styled(
            format!("waiting for clients on {}", model.listen),
            t.dim,
        ));
        lines.push(Line::styled(
            format!("point a client at mqtt://{}", model.listen),
            t.dim,
        ));
    }
    for c in model.clients.iter().skip(skip).take(rows) {
        let (mark, style) = match c.state {
            State::Connected => ("●", t.ok),
            State::Connecting => ("◌", t.warn),
            State::Offline => ("○", t.dim),
        };
        let v = c.verdict(now, false);
        let id = width::fit(&sanitize::lines(&c.id), 22);
        let pad = " ".repeat(22usize.saturating_sub(width::of(&id)));
        let summary = format!(
            " {:>3}× {}",
            c.connections,
            v.backoff.pattern.as_str().replace('_', " ")
        );
        let selected = model.selected.as_deref() == Some(c.id.as_str());
        let text = format!("{id}{pad}{summary}");
        let line = Line::from(vec![
            Span::styled(format!("{mark} "), style),
            Span::raw(width::fit(&text, inner_width.saturating_sub(2))),
        ]);
        lines.push(if selected {
            line.style(t.selected)
        } else {
            line
        });
    }
    frame.render_widget(Paragraph::new(lines).block(block(title, t)), area);
}

fn yes_no(v: Option<bool>, t: &Theme) -> Span<'static> {
    match v {
        Some(true) => Span::styled("yes", t.ok),
        Some(false) => Span::styled("NO", t.error),
        None => Span::styled("not yet known", t.dim),
    }
}

fn ms(v: u64) -> String {
    dur(Duration::from_millis(v))
}

#[expect(
    clippy::too_many_lines,
    reason = "one line of the verdict after the other"
)]
fn render_verdict(model: &ProxyModel, t: &Theme, now: Instant, frame: &mut Frame<'_>, area: Rect) {
    let title = format!(" verdict: {} ", selected_name(model));
    let Some(c) = model
        .selected
        .as_deref()
        .and_then(|id| model.clients.get(id))
    else {
        frame.render_widget(Paragraph::new("").block(block(title, t)), area);
        return;
    };
    let v = c.verdict(now, false);
    let label = |s: &'static str| Span::styled(format!("{s:<14}"), t.label);
    let mut lines = Vec::new();
    if let Some(h) = &c.hello {
        lines.push(Line::from(vec![
            label("connect"),
            Span::raw(format!(
                "MQTT {} · keep-alive {}s · clean start {}{}",
                h.protocol.as_str(),
                h.keep_alive,
                h.clean_start,
                h.session_expiry
                    .map_or_else(String::new, |s| format!(" · session expiry {s}s"))
            )),
        ]));
        let will = h.will.as_ref().map_or_else(
            || "none".to_string(),
            |w| {
                format!(
                    "{} q{}{}{}",
                    sanitize::lines(&w.topic),
                    w.qos,
                    if w.retain { " retained" } else { "" },
                    w.delay.map_or_else(String::new, |d| format!(" delay {d}s"))
                )
            },
        );
        lines.push(Line::from(vec![label("will"), Span::raw(will)]));
        lines.push(Line::from(vec![
            label("login"),
            Span::raw(format!(
                "user name {} · password {}",
                if h.username { "sent" } else { "none" },
                if h.password { "sent (hidden)" } else { "none" }
            )),
        ]));
    }
    let totals = c.totals();
    lines.push(Line::from(vec![
        label("traffic"),
        Span::raw(format!(
            "{} conn · ↑ {} msgs {} · ↓ {} msgs {}",
            c.connections,
            totals.msgs_up,
            crate::size::human(totals.bytes_up),
            totals.msgs_down,
            crate::size::human(totals.bytes_down)
        )),
    ]));
    let backoff_style = if v.backoff.hammering {
        t.error
    } else {
        t.value
    };
    lines.push(Line::from(vec![
        label("backoff"),
        Span::styled(v.backoff.describe(), backoff_style),
    ]));
    if !v.gaps_ms.is_empty() {
        let last: Vec<String> = v
            .gaps_ms
            .iter()
            .rev()
            .take(8)
            .rev()
            .map(|g| ms(*g))
            .collect();
        lines.push(Line::from(vec![
            label("gaps"),
            Span::styled(last.join("  "), t.dim),
        ]));
    }
    let mut resub = vec![label("resubscribed"), yes_no(v.resubscribed, t)];
    if !v.missing.is_empty() {
        resub.push(Span::styled(
            format!(" (missing {})", sanitize::lines(&v.missing.join(", "))),
            t.error,
        ));
    }
    lines.push(Line::from(resub));
    let mut ka = vec![label("keep-alive"), yes_no(v.keepalive_ok, t)];
    if let Some(k) = v.keep_alive {
        ka.push(Span::styled(
            format!(
                " (longest silence {} of {k}s{})",
                ms(v.longest_silence_ms),
                v.ping_interval_ms
                    .map_or_else(String::new, |p| format!(", PINGREQ every {}", ms(p)))
            ),
            t.dim,
        ));
    }
    lines.push(Line::from(ka));
    let lost = v.unacked_at_drop.saturating_sub(v.resent_dup);
    lines.push(Line::from(vec![
        label("qos 1/2"),
        Span::styled(
            format!(
                "unacked at drop {} · re-sent with DUP {} · lost {lost}",
                v.unacked_at_drop, v.resent_dup
            ),
            if lost > 0 { t.warn } else { t.value },
        ),
    ]));
    lines.push(Line::from(vec![
        label("id collisions"),
        Span::styled(
            v.collisions.to_string(),
            if v.collisions > 0 { t.error } else { t.value },
        ),
    ]));
    let subs: Vec<String> = c
        .subscriptions
        .iter()
        .map(|(f, q)| format!("{} q{q}", sanitize::lines(f)))
        .collect();
    lines.push(Line::from(vec![
        label("subscribed"),
        Span::raw(if subs.is_empty() {
            "nothing".to_string()
        } else {
            subs.join(", ")
        }),
    ]));
    let width = usize::from(area.width.saturating_sub(2));
    let lines: Vec<Line<'_>> = lines.into_iter().map(|l| fit_line(l, width)).collect();
    frame.render_widget(Paragraph::new(lines).block(block(title, t)), area);
}

/// Cuts a line of spans to `width` columns.
fn fit_line(line: Line<'_>, width: usize) -> Line<'static> {
    let mut used = 0;
    let mut spans = Vec::new();
    for s in line.spans {
        let room = width.saturating_sub(used);
        if room == 0 {
            break;
        }
        let text = width::fit(&s.content, room);
        used += width::of(&text);
        spans.push(Span::styled(text, s.style));
    }
    Line::from(spans).style(line.style)
}

fn tone(t: &Theme, tone: Tone) -> Style {
    match tone {
        Tone::Info => t.value,
        Tone::Ok => t.ok,
        Tone::Warn => t.warn,
        Tone::Bad => t.error,
    }
}

/// Splits `text` into pieces of at most `width` columns, at spaces where it can.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(8);
    let mut out = Vec::new();
    let mut line = String::new();
    for word in text.split_inclusive(' ') {
        if width::of(&line) + width::of(word.trim_end()) > width && !line.is_empty() {
            out.push(std::mem::take(&mut line).trim_end().to_string());
        }
        if width::of(word) > width {
            out.push(width::fit(word, width));
            continue;
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push(line.trim_end().to_string());
    }
    out
}

fn render_timeline(model: &ProxyModel, t: &Theme, frame: &mut Frame<'_>, area: Rect) {
    let title = format!(" timeline: {} ", selected_name(model));
    let width = usize::from(area.width.saturating_sub(2));
    let rows = usize::from(area.height.saturating_sub(2));
    let entries: Vec<&Entry> = model.timeline();
    let mut lines: Vec<Line<'_>> = Vec::new();
    // From the newest back until the pane is full, then shown oldest first.
    for e in entries.iter().rev() {
        let stamp = clock(e.at);
        let text = sanitize::lines(&e.text);
        let parts = wrap(&text, width.saturating_sub(stamp.len() + 1));
        let mut block: Vec<Line<'_>> = parts
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                let lead = if i == 0 {
                    Span::styled(format!("{stamp} "), t.dim)
                } else {
                    Span::raw(" ".repeat(stamp.len() + 1))
                };
                Line::from(vec![lead, Span::styled(p, tone(t, e.tone))])
            })
            .collect();
        block.reverse();
        lines.extend(block);
        if lines.len() >= rows {
            break;
        }
    }
    lines.truncate(rows);
    lines.reverse();
    frame.render_widget(Paragraph::new(lines).block(block(title, t)), area);
}

fn render_packets(model: &ProxyModel, t: &Theme, frame: &mut Frame<'_>, area: Rect) {
    let title = format!(" packets: {} ", selected_name(model));
    let width = usize::from(area.width.saturating_sub(2));
    let rows = usize::from(area.height.saturating_sub(2));
    let log = model.selected.as_ref().and_then(|id| model.packets.get(id));
    let lines: Vec<Line<'_>> = log
        .map(|log| {
            let skip = log.len().saturating_sub(rows);
            log.iter()
                .skip(skip)
                .map(|r| {
                    let arrow = match r.direction {
                        Direction::Out => "→",
                        Direction::In => "←",
                    };
                    let mut text = format!("{arrow} {:<11} {:>6} B", r.type_name(), r.size);
                    if r.qos > 0 {
                        let _ = write!(text, " q{}", r.qos);
                    }
                    if let Some(id) = r.pkid {
                        let _ = write!(text, " id {id}");
                    }
                    if r.dup {
                        text.push_str(" DUP");
                    }
                    if r.retain {
                        text.push_str(" R");
                    }
                    if let Some(topic) = &r.topic {
                        text.push(' ');
                        text.push_str(&sanitize::lines(topic));
                    }
                    if !r.detail.is_empty() {
                        text.push(' ');
                        text.push_str(&sanitize::lines(&r.detail));
                    }
                    let stamp = clock(r.at);
                    let style = if r.direction == Direction::Out {
                        t.value
                    } else {
                        t.label
                    };
                    Line::from(vec![
                        Span::styled(format!("{stamp} "), t.dim),
                        Span::styled(
                            width::fit(&text, width.saturating_sub(stamp.len() + 1)),
                            style,
                        ),
                    ])
                })
                .collect()
        })
        .unwrap_or_default();
    frame.render_widget(Paragraph::new(lines).block(block(title, t)), area);
}

fn render_status(model: &ProxyModel, t: &Theme, frame: &mut Frame<'_>, area: Rect) {
    let k = model.knobs;
    let sep = || Span::styled(" │ ", t.dim);
    let mut spans = vec![
        Span::styled(
            format!(
                " proxy {} → {}",
                model.listen,
                sanitize::lines(&model.target)
            ),
            t.status,
        ),
        sep(),
        if k.down {
            Span::styled("broker DOWN", t.error)
        } else {
            Span::styled("broker up", t.ok)
        },
        sep(),
        if k.black_hole {
            Span::styled("BLACK HOLE", t.error)
        } else {
            Span::styled("no black hole", t.dim)
        },
        sep(),
        Span::styled(
            format!("delay {} ± {}", dur(k.delay), dur(k.jitter)),
            if k.delay.is_zero() { t.dim } else { t.warn },
        ),
        sep(),
        Span::styled(
            k.bandwidth.map_or_else(
                || "bandwidth ∞".to_string(),
                |b| format!("bandwidth {}/s", crate::size::human(b)),
            ),
            if k.bandwidth.is_some() { t.warn } else { t.dim },
        ),
    ];
    if model.anonymous > 0 {
        spans.push(sep());
        let last = model.last_anonymous.as_ref().map_or_else(String::new, |e| {
            format!(" (last: {})", sanitize::lines(&e.text))
        });
        spans.push(Span::styled(
            format!("{} without CONNECT{last}", model.anonymous),
            t.warn,
        ));
    }
    let line = fit_line(Line::from(spans), usize::from(area.width));
    frame.render_widget(Paragraph::new(line), area);
}

fn render_hints(t: &Theme, frame: &mut Frame<'_>, area: Rect) {
    let mut spans = vec![Span::raw(" ")];
    for (key, what) in KEYS {
        spans.push(Span::styled(*key, t.key));
        spans.push(Span::styled(format!(" {what}  "), t.dim));
    }
    let line = fit_line(Line::from(spans), usize::from(area.width));
    frame.render_widget(Paragraph::new(line), area);
}

fn render_help(t: &Theme, frame: &mut Frame<'_>, area: Rect) {
    let mut lines = vec![
        Line::styled(
            "mqscope proxy: every packet of your clients, and faults on demand",
            t.title,
        ),
        Line::raw(""),
    ];
    for (key, what) in KEYS {
        lines.push(Line::from(vec![
            Span::styled(format!("{key:>6}  "), t.key),
            Span::raw(*what),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        "Faults apply to every connection at once. A black hole keeps the connections open",
        t.dim,
    ));
    lines.push(Line::styled(
        "and forwards nothing: only the client's keep-alive can notice. Any key closes this.",
        t.dim,
    ));
    let height = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let popup = crate::tui::ui::centered(area, 90, height);
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).block(block(" help ".into(), t)),
        popup,
    );
}
