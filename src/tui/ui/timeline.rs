//! The timeline pane: one row per connection attempt with its stages and outcome, the link's
//! health, an up/down strip with the message rate, and the full detail of a selected attempt.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::format::{duration_short, wrap};
use super::{age, clock, focused, pane_block};
use crate::broker::codes;
use crate::timeline::{Attempt, End};
use crate::tui::keymap::Pane;
use crate::tui::model::Model;
use crate::tui::theme::Theme;

/// Seconds of history in the up/down strip.
const STRIP_SECONDS: u64 = 120;

pub fn render(model: &Model, t: &Theme, frame: &mut Frame<'_>, area: Rect) {
    let block = pane_block(t, &title(model), focused(model, Pane::Timeline));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 {
        return;
    }
    let timeline = &model.timeline;
    if timeline.attempts.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::styled("no connection attempt yet", t.dim)),
            inner,
        );
        return;
    }
    let (list_area, detail_area) = if model.timeline_details && inner.height > 8 {
        let [a, b] = Layout::vertical([Constraint::Length(inner.height / 3), Constraint::Min(3)])
            .areas(inner);
        (a, Some(b))
    } else {
        (inner, None)
    };
    let width = usize::from(list_area.width);
    let mut lines = vec![strip(model, t, width)];
    let selected = model.timeline_selected.min(timeline.attempts.len() - 1);
    let rows = usize::from(list_area.height).saturating_sub(1);
    // Keep the selected attempt in view; an attempt whose outcome does not fit beside its
    // stages takes a second line, so count rows, not attempts.
    let row_lines: Vec<Vec<Line<'static>>> = timeline
        .attempts
        .iter()
        .rev()
        .enumerate()
        .map(|(i, attempt)| {
            let style = if i == selected {
                t.selected
            } else {
                Style::default()
            };
            attempt_lines(t, attempt, model.now, style, width)
        })
        .collect();
    let mut first = selected;
    let mut used = row_lines[selected].len();
    while first > 0 && used + row_lines[first - 1].len() <= rows {
        first -= 1;
        used += row_lines[first].len();
    }
    for attempt in row_lines.into_iter().skip(first) {
        if lines.len() > rows {
            break;
        }
        lines.extend(attempt);
    }
    frame.render_widget(Paragraph::new(lines), list_area);
    if let Some(detail) = detail_area {
        let attempt = &timeline.attempts[timeline.attempts.len() - 1 - selected];
        frame.render_widget(
            Paragraph::new(details(t, attempt, model.now, model.will.as_deref())),
            detail,
        );
    }
}

fn ms(d: Duration) -> String {
    let v = d.as_secs_f64() * 1000.0;
    if v < 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

fn title(model: &Model) -> String {
    let h = &model.timeline.health;
    let mut s = String::from("timeline");
    if let Some(attempt) = model.timeline.current() {
        let _ = write!(s, " · #{}", attempt.number);
    }
    if let Some(p) = h.ping_last {
        let avg = h.ping_avg().map(ms).unwrap_or_default();
        let _ = write!(s, " · ping {} ms ({avg})", ms(p));
    }
    if let Some(a) = h.ack_last {
        let avg = h.ack_avg().map(ms).unwrap_or_default();
        let _ = write!(s, " · ack {} ms ({avg})", ms(a));
    }
    let _ = write!(s, " · in flight {}", h.in_flight());
    if let Some(at) = model.store.node(crate::store::ROOT).changed_at() {
        let _ = write!(s, " · last msg {}", age(at, model.now));
    }
    s
}

/// The up/down strip over the last two minutes, then the message-rate sparkline.
fn strip(model: &Model, t: &Theme, width: usize) -> Line<'static> {
    let cells = (width.saturating_sub(12) / 2).clamp(4, 120);
    let start = model.now - Duration::from_secs(STRIP_SECONDS);
    let first_attempt = model.timeline.attempts.front().map(|a| a.started);
    let mut up = String::new();
    let mut down = String::new();
    let mut spans = vec![Span::styled("up ", t.label)];
    for i in 0..cells {
        let at = start
            + Duration::from_secs(STRIP_SECONDS) * u32::try_from(i + 1).unwrap_or(1)
                / u32::try_from(cells).unwrap_or(1);
        let known = first_attempt.is_some_and(|f| f <= at);
        if !known {
            up.push(' ');
        } else if model.timeline.up_at(at) {
            up.push('█');
        } else {
            down.push('▁');
            spans.push(Span::styled(std::mem::take(&mut up), t.ok));
            spans.push(Span::styled(std::mem::take(&mut down), t.error));
        }
    }
    spans.push(Span::styled(up, t.ok));
    spans.push(Span::styled(down, t.error));
    spans.push(Span::styled("  rate ", t.label));
    spans.push(Span::styled(sparkline(&model.rate_history, cells), t.value));
    Line::from(spans)
}

fn sparkline(samples: &std::collections::VecDeque<u64>, width: usize) -> String {
    const BARS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let shown: Vec<u64> = samples.iter().rev().take(width).rev().copied().collect();
    let max = shown.iter().copied().max().unwrap_or(0).max(1);
    shown
        .iter()
        .map(|&v| {
            let level = if v == 0 {
                0
            } else {
                1 + usize::try_from(v * 7 / max).unwrap_or(7)
            };
            BARS[level.min(8)]
        })
        .collect()
}

/// One attempt: its stages and outcome on one line when they fit in `width`, else the outcome
/// on a second, indented line, so the words that matter are never cut in the middle.
fn attempt_lines(
    t: &Theme,
    a: &Attempt,
    now: SystemTime,
    style: Style,
    width: usize,
) -> Vec<Line<'static>> {
    let head = attempt_line(t, a, now, style);
    if head.width() <= width {
        return vec![head];
    }
    let mut spans = head.spans;
    let at = spans
        .iter()
        .position(|s| s.content == OUTCOME_GAP)
        .unwrap_or(spans.len());
    let outcome: Vec<Span<'static>> = spans.split_off(at).into_iter().skip(1).collect();
    let mut lines = vec![Line::from(spans)];
    lines.extend(wrap(outcome, width, "     ", "     "));
    lines
}

/// What separates an attempt's stages from its outcome.
const OUTCOME_GAP: &str = "   ";

fn attempt_line(t: &Theme, a: &Attempt, now: SystemTime, style: Style) -> Line<'static> {
    let mut spans = vec![Span::styled(
        format!("#{:<3} {} ", a.number, clock(a.started)),
        style,
    )];
    for (i, s) in a.stages.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" → ", t.dim));
        }
        match &s.result {
            Ok(_) => spans.push(Span::styled(
                format!("{} {}", s.stage.as_str(), ms(s.elapsed)),
                t.label,
            )),
            Err(c) => spans.push(Span::styled(
                format!("{} ✕ {}", s.stage.as_str(), c.code()),
                t.error,
            )),
        }
    }
    if !a.stages.is_empty() && a.stages.iter().all(|s| s.result.is_ok()) {
        spans.push(Span::styled(" ms", t.dim));
    }
    spans.push(Span::raw(OUTCOME_GAP));
    spans.extend(outcome(t, a, now));
    Line::from(spans)
}

fn outcome(t: &Theme, a: &Attempt, now: SystemTime) -> Vec<Span<'static>> {
    // Long by design: one arm per lifecycle event.
    let mut spans = Vec::new();
    match &a.ended {
        None if a.connected_at.is_some() => {
            let up = a
                .connected_at
                .and_then(|at| now.duration_since(at).ok())
                .unwrap_or_default();
            let session = if a.connack.as_ref().is_some_and(|c| c.session_present) {
                "session resumed"
            } else {
                "new session"
            };
            spans.push(Span::styled(
                format!("● up {} · {session}", duration_short(up.as_secs())),
                t.ok,
            ));
            if !a.subscribed.is_empty() {
                let ok = a
                    .subscribed
                    .iter()
                    .filter(|r| r.granted_qos().is_some())
                    .count();
                let style = if ok == a.subscribed.len() {
                    t.label
                } else {
                    t.error
                };
                spans.push(Span::styled(
                    format!(" · subscribed {ok}/{}", a.subscribed.len()),
                    style,
                ));
                let refused: Vec<String> = a
                    .subscribed
                    .iter()
                    .filter(|r| r.granted_qos().is_none())
                    .map(|r| {
                        format!(
                            "{} refused ({})",
                            r.filter,
                            crate::broker::codes::reason_name(r.code)
                        )
                    })
                    .collect();
                if !refused.is_empty() {
                    spans.push(Span::styled(format!(": {}", refused.join(", ")), t.error));
                }
            }
        }
        None => spans.push(Span::styled("connecting…", t.warn)),
        Some(End::Dropped { cause, uptime }) => spans.push(Span::styled(
            format!(
                "up {}, dropped: {} ({})",
                duration_short(uptime.as_secs()),
                cause.code(),
                cause.kind.explanation()
            ),
            t.warn,
        )),
        Some(End::Failed(cause)) => {
            spans.push(Span::styled(cause.kind.explanation().to_string(), t.error));
        }
        Some(End::Fallback(cause)) => {
            let what = if cause.kind == crate::broker::CauseKind::NoConnack {
                "unanswered"
            } else {
                "refused"
            };
            spans.push(Span::styled(
                format!("MQTT 5 {what} ({}) → 3.1.1", cause.code()),
                t.warn,
            ));
        }
        Some(End::GaveUp { cause, .. }) => {
            spans.push(Span::styled(
                format!("gave up: {} · r retries · D runs the doctor", cause.code()),
                t.error,
            ));
        }
        Some(End::Idle) => spans.push(Span::styled("disconnected by you · c connects", t.dim)),
    }
    if let Some((until, delay)) = a.backoff {
        let text = match until.duration_since(now) {
            Ok(left) if left > Duration::ZERO => {
                format!(
                    " · retry in {:.1} s (backoff {:.1} s)",
                    left.as_secs_f64(),
                    delay.as_secs_f64()
                )
            }
            _ => format!(" · waited {:.1} s", delay.as_secs_f64()),
        };
        spans.push(Span::styled(text, t.dim));
    }
    spans
}

fn details(t: &Theme, a: &Attempt, now: SystemTime, will: Option<&str>) -> Vec<Line<'static>> {
    // Long by design: one block per part of an attempt, in the order shown.
    let mut lines = vec![Line::styled(
        format!(
            "attempt {} · {} · MQTT {} · started {} UTC",
            a.number,
            a.target,
            a.protocol.as_str(),
            clock(a.started)
        ),
        t.title,
    )];
    for s in &a.stages {
        match &s.result {
            Ok(detail) => lines.push(Line::from(vec![
                Span::styled(
                    format!("  {:<10}{:>8} ms  ", s.stage.as_str(), ms(s.elapsed)),
                    t.label,
                ),
                Span::styled("ok ", t.ok),
                Span::raw(detail.clone()),
            ])),
            Err(c) => {
                lines.push(Line::from(vec![
                    Span::styled(
                        format!("  {:<10}{:>8} ms  ", s.stage.as_str(), ms(s.elapsed)),
                        t.label,
                    ),
                    Span::styled(format!("✕ {} ", c.code()), t.error),
                    Span::raw(c.to_string()),
                ]));
            }
        }
    }
    if let Some(info) = &a.connack {
        lines.push(Line::styled(
            format!(
                "connack: {:#04x} {} · session present {}",
                info.code,
                info.code_name(),
                if info.session_present { "yes" } else { "no" }
            ),
            t.label,
        ));
        for p in info.properties() {
            lines.push(Line::styled(format!("  {p}"), t.value));
        }
    }
    if let Some(will) = will {
        lines.push(Line::from(vec![
            Span::styled("will: ", t.label),
            Span::raw(will.to_string()),
        ]));
    }
    for r in &a.subscribed {
        let text = match r.granted_qos() {
            Some(q) => format!("subscribed {} → QoS {q}", r.filter),
            None => format!(
                "refused {} → {:#04x} {}",
                r.filter,
                r.code,
                codes::reason_name(r.code)
            ),
        };
        lines.push(Line::styled(
            text,
            if r.granted_qos().is_some() {
                t.label
            } else {
                t.error
            },
        ));
    }
    if let Some(end) = &a.ended {
        if let Some(cause) = end.cause() {
            lines.push(Line::styled(
                format!("ended: {} — {}", cause.code(), cause.kind.explanation()),
                t.warn,
            ));
            if !cause.detail.is_empty() {
                lines.push(Line::raw(format!("  {}", cause.detail)));
            }
            lines.push(Line::styled(format!("hint: {}", cause.kind.hint()), t.dim));
        }
    }
    if let Some((until, delay)) = a.backoff {
        let left = until.duration_since(now).map_or(0.0, |d| d.as_secs_f64());
        lines.push(Line::styled(
            format!(
                "next attempt after {:.1} s backoff ({left:.1} s left)",
                delay.as_secs_f64()
            ),
            t.dim,
        ));
    }
    lines
}
