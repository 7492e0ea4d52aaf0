//! The status bar and the hint line.

use std::time::Duration;

use crate::broker::CauseKind;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::count;
use super::format::duration_short;
use crate::tui::keymap::{Action, Pane};
use crate::tui::model::{LinkState, Model};
use crate::tui::theme::Theme;

fn link_span(model: &Model, t: &Theme) -> Span<'static> {
    let now = model.now;
    match &model.link {
        LinkState::Connecting { attempt } => {
            Span::styled(format!("◌ connecting (attempt {attempt})"), t.warn)
        }
        LinkState::Connected { since, protocol } => {
            let up = now
                .duration_since(*since)
                .unwrap_or(Duration::ZERO)
                .as_secs();
            Span::styled(
                format!(
                    "● connected {} · MQTT {}",
                    duration_short(up),
                    protocol.as_str()
                ),
                t.ok,
            )
        }
        LinkState::Retrying { at, cause } => {
            let wait = at.duration_since(now).map_or(0, |d| d.as_secs() + 1);
            // A client-id fight is fixed by the user, not by waiting: say how.
            let fix = if matches!(
                cause.kind,
                CauseKind::ClientIdCollision | CauseKind::SessionTakenOver
            ) {
                " · another client uses this client id: -i NAME"
            } else {
                ""
            };
            if *at > now {
                Span::styled(format!("○ retry in {wait}s: {}{fix}", cause.code()), t.warn)
            } else {
                Span::styled(format!("○ retrying: {}{fix}", cause.code()), t.warn)
            }
        }
        LinkState::Failed { cause } => Span::styled(
            format!("✕ failed: {} ({})", cause.code(), cause.kind.hint()),
            t.error,
        ),
        LinkState::Idle => Span::styled("○ offline", t.warn),
    }
}

#[expect(
    clippy::too_many_lines,
    reason = "the status bar's segments, left to right"
)]
pub fn render_status(model: &Model, t: &Theme, frame: &mut Frame<'_>, area: Rect) {
    // Long by design: the status bar's segments, left to right.
    let sep = || Span::styled(" │ ", t.dim);
    let link = link_span(model, t);
    // Parts in order of importance; the least important go first when the line is too narrow.
    let mut parts: Vec<(u8, Span<'static>)> = vec![
        (
            1,
            Span::styled(
                match &model.profile {
                    Some(name) => format!("{name} · {}", model.target),
                    None => model.target.clone(),
                },
                t.label,
            ),
        ),
        (9, link),
        (
            7,
            // A paused recording has no rate at its still moment: the rate then is unknown.
            Span::styled(
                if model.playback.as_ref().is_some_and(|p| p.paused) {
                    "– msg/s".to_string()
                } else {
                    format!("{} msg/s", count(rate(model.rate)))
                },
                t.value,
            ),
        ),
        (
            3,
            Span::raw(format!("{} msgs", count(model.store.total_messages))),
        ),
        (
            6,
            Span::raw(format!(
                "{} topics",
                count(u64::from(model.store.topic_count()))
            )),
        ),
    ];
    if model.tls_unverified {
        parts.push((9, Span::styled("TLS NOT VERIFIED (--insecure)", t.error)));
    }
    let anomalies = model.watch.list().len();
    if anomalies > 0 {
        let hint = if model.anomalies.open { "" } else { " (A)" };
        parts.push((
            8,
            Span::styled(
                format!(
                    "⚠ {} {}{hint}",
                    count(anomalies as u64),
                    if anomalies == 1 {
                        "anomaly"
                    } else {
                        "anomalies"
                    }
                ),
                t.warn,
            ),
        ));
    }
    let firing = model.alerts.firing();
    if firing > 0 {
        parts.push((
            9,
            Span::styled(
                format!(
                    "⚑ {} {} firing (!)",
                    count(firing as u64),
                    if firing == 1 { "rule" } else { "rules" }
                ),
                t.error,
            ),
        ));
    }
    if model.dropped_by_app > 0 {
        parts.push((
            8,
            Span::styled(format!("{} dropped", count(model.dropped_by_app)), t.error),
        ));
    }
    if let Some(n) = model.new_while_paused() {
        parts.push((9, Span::styled(format!("PAUSED, {} new", count(n)), t.warn)));
    }
    if let Some(p) = &model.playback {
        parts.push((10, playback_span(p, t)));
    }
    if let Some(r) = &model.recording {
        let dropped = if r.dropped > 0 {
            format!(", {} lines dropped", count(r.dropped))
        } else {
            String::new()
        };
        parts.push((
            10,
            Span::styled(format!("● REC {}{dropped} (W)", count(r.messages)), t.error),
        ));
    }
    if let Some((under, p)) = &model.cleaning {
        parts.push((
            7,
            Span::styled(
                format!(
                    "clearing retained under {under}: {}/{}",
                    count(p.done() as u64),
                    count(p.total as u64)
                ),
                t.warn,
            ),
        ));
    }
    let width = usize::from(area.width);
    let total = |parts: &[(u8, Span<'static>)]| -> usize {
        1 + parts.iter().map(|(_, s)| s.width()).sum::<usize>() + 3 * parts.len().saturating_sub(1)
    };
    // The notice answers what the user just did: it keeps up to 48 columns, shortened last.
    let notice = model.notice.as_ref().map(|(text, _)| text.as_str());
    let reserve = notice.map_or(0, |n| crate::width::of(n).min(48) + 3);
    while total(&parts) + reserve > width && parts.len() > 1 {
        let Some(weakest) = parts
            .iter()
            .enumerate()
            .min_by_key(|(_, (p, _))| *p)
            .map(|(i, _)| i)
        else {
            break;
        };
        parts.remove(weakest);
    }
    if let Some(text) = notice {
        let room = width.saturating_sub(total(&parts) + 3);
        if room >= 8 {
            let shown = crate::width::fit(&crate::sanitize::line(text.as_bytes()), room);
            parts.push((0, Span::styled(shown, t.warn)));
        }
    }
    let mut spans = vec![Span::raw(" ")];
    for (i, (_, span)) in parts.into_iter().enumerate() {
        if i > 0 {
            spans.push(sep());
        }
        spans.push(span);
    }
    frame.render_widget(Paragraph::new(Line::from(spans)).style(t.status), area);
}

/// `▶ 1× 10:22:05 ─ 35% of 10:02:01–10:31:40`, or paused, seeking, loading.
fn playback_span(p: &crate::source::PlaybackStatus, t: &Theme) -> Span<'static> {
    use crate::tui::model::clock_text;
    let state = if p.seeking {
        "⏩ seeking".to_string()
    } else if p.paused {
        "⏸ paused".to_string()
    } else {
        match p.speed {
            Some(x) if (x - x.round()).abs() < 1e-9 => format!("▶ {x:.0}×"),
            Some(x) => format!("▶ {x}×"),
            None => "▶ max".to_string(),
        }
    };
    let span = p
        .end
        .duration_since(p.start)
        .unwrap_or_default()
        .as_secs_f64();
    let at = p
        .position
        .duration_since(p.start)
        .unwrap_or_default()
        .as_secs_f64();
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a percentage"
    )]
    let share = if span > 0.0 {
        (at / span * 100.0).round().clamp(0.0, 100.0) as u32
    } else {
        100
    };
    let loading = p
        .loading
        .map_or(String::new(), |l| format!(" · loading {:.0}%", l * 100.0));
    let problem = if p.problem.is_some() {
        " · file cut short (log)"
    } else {
        ""
    };
    Span::styled(
        format!(
            "{state} {} {share}% of {}–{}{loading}{problem}",
            clock_text(p.position),
            clock_text(p.start),
            clock_text(p.end)
        ),
        if p.problem.is_some() { t.warn } else { t.ok },
    )
}

#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "a non-negative rate, shown whole"
)]
fn rate(r: f64) -> u64 {
    r.max(0.0).round() as u64
}

/// The hints of the focused pane, from the keymap.
pub fn render_hints(model: &Model, t: &Theme, frame: &mut Frame<'_>, area: Rect) {
    if model.topics.filter.editing {
        let line = Line::from(vec![
            Span::styled(" filter: ", t.key),
            Span::raw(format!(
                "{}█",
                crate::sanitize::line(model.topics.filter.query.as_bytes())
            )),
            match &model.topics.filter.error {
                Some(e) => Span::styled(
                    format!(
                        "   ✗ {} (not applied)",
                        crate::sanitize::line(e.to_string().as_bytes())
                    ),
                    t.error,
                ),
                None => Span::styled(
                    "   Enter keep · Esc clear · text, + # filter, payload:TEXT, or temp > 30",
                    t.dim,
                ),
            },
        ]);
        frame.render_widget(Paragraph::new(line), area);
        return;
    }
    let wanted = hint_actions(model);
    let mut spans = vec![Span::raw(" ")];
    let mut used = 1;
    for action in wanted {
        if let Some(key) = model.keymap.key_for(model.focus, *action) {
            let label = key.label();
            let text = match action {
                Action::OlderMessage if model.chart.open => " field  ".to_string(),
                Action::NewerMessage if model.chart.open => " field  ".to_string(),
                _ => format!(" {}  ", short(*action)),
            };
            used += crate::width::of(&label) + crate::width::of(&text);
            if used > usize::from(area.width) + 2 {
                break;
            }
            spans.push(Span::styled(label, t.key));
            spans.push(Span::styled(text, t.dim));
        }
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The actions the hint line offers in the focused pane, most useful first.
fn hint_actions(model: &Model) -> &'static [Action] {
    match model.focus {
        Pane::Topics => &[
            Action::Help,
            Action::Quit,
            Action::Down,
            Action::Toggle,
            Action::ExpandSubtree,
            Action::Filter,
            Action::CycleView,
            Action::ToggleDiff,
            Action::Pause,
            Action::FocusNext,
        ],
        Pane::Timeline => &[
            Action::Help,
            Action::Quit,
            Action::Down,
            Action::Details,
            Action::Reconnect,
            Action::ToggleConnection,
            Action::Zoom,
            Action::FocusNext,
        ],
        Pane::Log => &[
            Action::Help,
            Action::Quit,
            Action::Down,
            Action::SwitchTab,
            Action::CycleLevel,
            Action::CyclePacketFilter,
            Action::Filter,
            Action::JumpToMessage,
            Action::Last,
            Action::Zoom,
            Action::FocusNext,
        ],
        Pane::Sys => &[
            Action::Help,
            Action::Quit,
            Action::ToggleSys,
            Action::FocusNext,
        ],
        Pane::Charts => &[
            Action::Help,
            Action::Quit,
            Action::Down,
            Action::ShowSeries,
            Action::Unpin,
            Action::ToggleScale,
            Action::ToggleCharts,
            Action::FocusNext,
        ],
        Pane::Inspector if model.chart.open => &[
            Action::Help,
            Action::Quit,
            Action::OlderMessage,
            Action::NewerMessage,
            Action::TypeField,
            Action::OverlayField,
            Action::PinSeries,
            Action::ToggleChart,
            Action::FocusNext,
        ],
        Pane::Anomalies => &[
            Action::Help,
            Action::Quit,
            Action::Down,
            Action::JumpToAnomaly,
            Action::MuteTopic,
            Action::MuteLevel,
            Action::ToggleAnomalies,
            Action::FocusNext,
        ],
        _ => &[
            Action::Help,
            Action::Quit,
            Action::Down,
            Action::OlderMessage,
            Action::NewerMessage,
            Action::CycleView,
            Action::ToggleDiff,
            Action::CopyPayload,
            Action::JumpToPacket,
            Action::FocusNext,
        ],
    }
}

fn short(action: Action) -> &'static str {
    match action {
        Action::Down => "move",
        Action::Toggle => "open",
        Action::ExpandSubtree => "expand",
        Action::Filter => "filter",
        Action::CycleView => "view",
        Action::ToggleDiff => "diff",
        Action::Pause => "pause",
        Action::FocusNext => "pane",
        Action::Help => "help",
        Action::Quit => "quit",
        Action::OlderMessage => "older",
        Action::NewerMessage => "newer",
        Action::CopyPayload => "copy",
        Action::Details => "details",
        Action::Reconnect => "reconnect",
        Action::ToggleConnection => "disconnect/connect",
        Action::Zoom => "zoom",
        Action::SwitchTab => "log/packets",
        Action::CycleLevel => "level",
        Action::CyclePacketFilter => "packet types",
        Action::JumpToMessage => "to message",
        Action::JumpToPacket => "to packet",
        Action::Last => "follow",
        Action::JumpToAnomaly => "go to it",
        Action::MuteTopic => "mute topic",
        Action::MuteLevel => "mute level",
        Action::ToggleAnomalies => "close",
        Action::ShowSeries => "show topic",
        Action::Unpin => "unpin",
        Action::ToggleScale => "scale",
        Action::ToggleCharts => "close",
        Action::TypeField => "type field",
        Action::OverlayField => "overlay",
        Action::PinSeries => "pin",
        Action::ToggleChart => "payload",
        Action::ToggleSys => "close",
        other => other.describe(),
    }
}
