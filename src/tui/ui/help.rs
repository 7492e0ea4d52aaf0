//! The help overlay, generated from the keymap.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::{centered, pane_block};
use crate::tui::keymap::Pane;
use crate::tui::model::Model;
use crate::tui::theme::Theme;

pub fn render(model: &Model, t: &Theme, frame: &mut Frame<'_>, area: Rect) {
    let section = |pane: Pane| {
        let mut lines = vec![Line::styled(pane.title().to_string(), t.title)];
        for (keys, what) in model.keymap.help(pane) {
            lines.push(Line::from(vec![
                Span::styled(format!("  {keys:<14}"), t.key),
                Span::raw(what),
            ]));
        }
        lines.push(Line::default());
        lines
    };
    // Two columns when there is room: global and inspector keys, then the topics keys.
    let mut left = section(Pane::Global);
    left.extend(section(Pane::Inspector));
    left.extend(section(Pane::Timeline));
    let mut right = section(Pane::Topics);
    right.extend(section(Pane::Log));
    right.extend(section(Pane::Anomalies));
    right.extend(section(Pane::Charts));
    if let Some(path) = &model.log_file {
        right.push(Line::styled("log file", t.title));
        right.push(Line::raw(format!("  {path}")));
    }
    let two_columns = area.width >= 110;
    let (columns, height) = if two_columns {
        let n = left.len().max(right.len()) + 2;
        (vec![left, right], n)
    } else {
        let mut all = left;
        all.extend(right);
        let n = all.len() + 3;
        (vec![all], n)
    };
    let width = if two_columns { 104 } else { 56 };
    let height = u16::try_from(height).unwrap_or(u16::MAX);
    let popup = centered(area, width, height);
    frame.render_widget(Clear, popup);
    // Taller than the screen: ↑↓ scroll, and the title says where.
    let shown = popup.height.saturating_sub(2);
    let total = height.saturating_sub(2);
    let scroll = model.help_scroll.min(total.saturating_sub(shown));
    let title = if total > shown {
        format!(
            "help · lines {}–{} of {total} · ↑↓ PgUp PgDn scroll · other keys close",
            scroll + 1,
            scroll + shown
        )
    } else {
        "help · any key closes".to_string()
    };
    let block = pane_block(t, &title, true);
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let halves = if two_columns {
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).split(inner)
    } else {
        Layout::horizontal([Constraint::Percentage(100)]).split(inner)
    };
    for (column, area) in columns.into_iter().zip(halves.iter()) {
        frame.render_widget(Paragraph::new(column).scroll((scroll, 0)), *area);
    }
}
