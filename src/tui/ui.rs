//! Drawing. Render functions cannot fail, read no clock and do no I/O; every pane draws from
//! the model and the cached view.

mod format;
mod help;
mod inspector;
mod status;
mod topics;

use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::Style;
use ratatui::widgets::{Block, BorderType, Borders, Paragraph};

use super::keymap::Pane;
use super::model::Model;
use super::theme::Theme;
use super::view::View;

pub use format::{age, clock, count};

/// Below this the layout stacks the panes instead of placing them side by side.
const SIDE_BY_SIDE_MIN_WIDTH: u16 = 70;

/// Draws the whole screen.
///
/// ```text
/// ┌ topics ──────────────┐┌ inspector ───────────────────────┐
/// │▼ plant (1523/12)     ││ plant/line1/temp                 │
/// │  ▼ line1 (800/3)     ││ QoS 1 · retained · 10 B · 3 s ago │
/// │     temp (400) R = … ││ ── payload: JSON · lines 1–7 of 7 │
/// │                      ││ {  "t": 21.5 }                   │
/// │                      ││ ── history (12) ──                │
/// └──────────────────────┘└──────────────────────────────────┘
///  mqtt://host:1883 │ ● connected │ 1,234 msg/s │ 1.2M msgs │ …   (status)
///  ↑/k up  ↓/j down  Enter open  / filter  ? help  q quit       (hints)
/// ```
pub fn render(model: &mut Model, view: &View, frame: &mut Frame<'_>) {
    let area = frame.area();
    if area.width < 24 || area.height < 6 {
        let text = format!(
            "mqscope: terminal too small ({}x{})",
            area.width, area.height
        );
        frame.render_widget(Paragraph::new(text), area);
        model.areas = super::model::Areas::default();
        return;
    }
    let [body, status_row, hint_row] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let (topics_area, inspector_area) = if body.width >= SIDE_BY_SIDE_MIN_WIDTH {
        let [a, b] = Layout::horizontal([Constraint::Percentage(42), Constraint::Percentage(58)])
            .areas(body);
        (a, b)
    } else {
        let [a, b] = Layout::default()
            .direction(Direction::Vertical)
            .constraints([Constraint::Percentage(45), Constraint::Percentage(55)])
            .areas(body);
        (a, b)
    };
    model.areas.topics = topics_area;
    model.areas.inspector = inspector_area;

    topics::render(model, view, frame, topics_area);
    inspector::render(model, view, frame, inspector_area);
    status::render_status(model, frame, status_row);
    status::render_hints(model, frame, hint_row);
    if model.help {
        help::render(model, frame, area);
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
fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}
