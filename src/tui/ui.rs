//! Drawing. Render functions cannot fail, read no clock and do no I/O; every pane draws from
//! the model and the cached view.

mod anomalies;
mod chart;
mod charts;
mod dialog;
mod doctor;
mod format;
mod help;
mod inspector;
mod log;
mod status;
mod sys;
mod timeline;
mod topics;

use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::Style;
use ratatui::widgets::{Block, BorderType, Borders, Paragraph};

use super::keymap::Pane;
use super::model::{Model, Pages};
use super::theme::Theme;
use super::view::{Areas, View};

pub use format::{age, clock, count};

/// Below this the layout stacks the panes instead of placing them side by side.
const SIDE_BY_SIDE_MIN_WIDTH: u16 = 70;

/// Below this the four panes do not all fit; the topics share the screen with one other pane.
const FOUR_PANES_MIN: (u16, u16) = (120, 34);

/// From this width the anomalies list opens beside the log instead of in its place.
const ANOMALIES_BESIDE_LOG_MIN_WIDTH: u16 = 180;

/// Draws the whole screen.
///
/// ```text
/// ┌ topics ──────────────┐┌ inspector ───────────────────────────┐
/// │▼ plant (1523/12)     ││ plant/line1/temp                     │
/// │  ▼ line1 (800/3)     ││ QoS 1 · retained · 10 B · 3 s ago     │
/// │     temp (400) R = … ││ ── JSON (auto) · lines 1–7 of 7       │
/// ├ timeline ────────────┤├ log · packets (or anomalies, `A`) ───┤
/// │ up ▁▁███ rate ▂▅█    ││ 12:01:04.123 → PUBLISH 24 B plant/x  │
/// │ #3 dns → tcp → conn… ││ 12:01:04.124 ← PUBACK 4 B #7         │
/// └──────────────────────┘└──────────────────────────────────────┘
///  mqtt://host:1883 │ ● connected │ 1,234 msg/s │ 1.2M msgs │ …   (status)
///  ? help  q quit  ↓ move  Enter open  / filter …                (hints)
/// ```
/// From 180 columns, open anomalies and charts sit beside the log rather than in its place.
/// Below 120×34 the topics share the screen with the last focused other pane; below 70
/// columns the two stack; `z` zooms the focused pane. The panes' rectangles and page sizes
/// are kept in the view, for pointer hits and for the model (`Msg::Layout`).
#[expect(
    clippy::too_many_lines,
    reason = "the layout sketched above, one call per pane"
)]
pub fn render(model: &Model, view: &mut View, frame: &mut Frame<'_>) {
    // Long by design: the layout sketched above, then one call per pane.
    let area = frame.area();
    let mut areas = Areas::default();
    if area.width < 24 || area.height < 6 {
        let text = format!(
            "mqscope: terminal too small ({}x{})",
            area.width, area.height
        );
        frame.render_widget(Paragraph::new(text), area);
        return;
    }
    let [body, status_row, hint_row] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    if model.zoom {
        place(&mut areas, model.focus, body);
    } else if body.width >= FOUR_PANES_MIN.0 && body.height >= FOUR_PANES_MIN.1 {
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(42), Constraint::Percentage(58)])
                .areas(body);
        let [topics, timeline] =
            Layout::vertical([Constraint::Percentage(62), Constraint::Percentage(38)]).areas(left);
        let [inspector, log] =
            Layout::vertical([Constraint::Percentage(62), Constraint::Percentage(38)]).areas(right);
        areas = Areas {
            topics,
            inspector,
            timeline,
            log,
            ..Areas::default()
        };
        // The anomalies and the charts take the log's place, or sit beside it when wide.
        let mut lists = Vec::new();
        if model.anomalies.open {
            lists.push(Pane::Anomalies);
        }
        if model.charts.open {
            lists.push(Pane::Charts);
        }
        if model.sys_open {
            lists.push(Pane::Sys);
        }
        if !lists.is_empty() {
            if body.width >= ANOMALIES_BESIDE_LOG_MIN_WIDTH {
                lists.insert(0, Pane::Log);
            } else {
                areas.log = Rect::default();
            }
            let n = u32::try_from(lists.len()).unwrap_or(1);
            let widths = match lists.as_slice() {
                [Pane::Log, _] => vec![Constraint::Percentage(45), Constraint::Percentage(55)],
                _ => vec![Constraint::Ratio(1, n); lists.len()],
            };
            let parts = Layout::horizontal(widths).split(log);
            for (pane, part) in lists.into_iter().zip(parts.iter()) {
                place(&mut areas, pane, *part);
            }
        }
    } else {
        let (a, b) = if body.width >= SIDE_BY_SIDE_MIN_WIDTH {
            let [a, b] =
                Layout::horizontal([Constraint::Percentage(42), Constraint::Percentage(58)])
                    .areas(body);
            (a, b)
        } else {
            let [a, b] = Layout::default()
                .direction(Direction::Vertical)
                .constraints([Constraint::Percentage(45), Constraint::Percentage(55)])
                .areas(body);
            (a, b)
        };
        areas.topics = a;
        place(&mut areas, model.side, b);
    }
    view.areas = areas;
    let mut inspector_max_scroll = 0;
    if areas.topics.area() > 0 {
        topics::render(model, view, frame, areas.topics);
    }
    if areas.inspector.area() > 0 {
        inspector_max_scroll = inspector::render(model, view, frame, areas.inspector);
    }
    let t = &view.theme;
    if areas.timeline.area() > 0 {
        timeline::render(model, t, frame, areas.timeline);
    }
    if areas.log.area() > 0 {
        log::render(model, t, frame, areas.log);
    }
    if areas.anomalies.area() > 0 {
        anomalies::render(model, t, frame, areas.anomalies);
    }
    if areas.charts.area() > 0 {
        charts::render(model, t, frame, areas.charts);
    }
    if areas.sys.area() > 0 {
        sys::render(model, t, frame, areas.sys);
    }
    status::render_status(model, t, frame, status_row);
    status::render_hints(model, t, frame, hint_row);
    if model.help {
        help::render(model, t, frame, area);
    }
    if let Some(popup) = &model.doctor {
        doctor::render(t, popup, frame, area);
    }
    if let Some(d) = &model.dialog {
        dialog::render(model, t, d, frame, area);
    }
    view.pages = Pages {
        topics: usize::from(areas.topics.height.saturating_sub(2)).max(1),
        inspector: usize::from(areas.inspector.height.saturating_sub(8)).max(1),
        log: usize::from(
            areas
                .log
                .height
                .max(areas.anomalies.height)
                .saturating_sub(3),
        )
        .max(1),
        inspector_max_scroll,
        anomalies_beside_log: areas.log.area() > 0
            && (areas.anomalies.area() > 0 || areas.charts.area() > 0 || areas.sys.area() > 0),
    };
}

fn place(areas: &mut Areas, pane: Pane, area: Rect) {
    match pane {
        Pane::Topics | Pane::Global => areas.topics = area,
        Pane::Inspector => areas.inspector = area,
        Pane::Timeline => areas.timeline = area,
        Pane::Log => areas.log = area,
        Pane::Anomalies => areas.anomalies = area,
        Pane::Charts => areas.charts = area,
        Pane::Sys => areas.sys = area,
    }
}

/// A pane's frame, highlighted when focused.
fn pane_block<'a>(theme: &Theme, title: &str, focused: bool) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(if focused {
            theme.border_focused
        } else {
            theme.border
        })
        .title(ratatui::text::Span::styled(
            format!(" {title} "),
            if focused {
                theme.title
            } else {
                Style::default()
            },
        ))
}

fn focused(model: &Model, pane: Pane) -> bool {
    model.focus == pane
}

/// A rectangle of `width`×`height` centred in `area`.
pub(crate) fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}
