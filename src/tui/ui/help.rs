//! The help overlay, generated from the keymap.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::{centered, pane_block};
use crate::tui::keymap::Pane;
use crate::tui::model::Model;

pub fn render(model: &Model, frame: &mut Frame<'_>, area: Rect) {
    let t = &model.theme;
    let mut lines = Vec::new();
    for pane in [Pane::Global, Pane::Topics, Pane::Inspector] {
        lines.push(Line::styled(pane.title().to_string(), t.title));
        for (keys, what) in model.keymap.help(pane) {
            lines.push(Line::from(vec![
                Span::styled(format!("  {keys:<16}"), t.key),
                Span::raw(what),
            ]));
        }
        lines.push(Line::default());
    }
    lines.push(Line::styled("any key closes this help", t.dim));
    let height = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let popup = centered(area, 60, height);
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).block(pane_block(t, "help", true)),
        popup,
    );
}
