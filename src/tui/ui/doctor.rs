//! The doctor's report in a popup, without leaving the explorer.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph, Wrap};

use super::{centered, pane_block};
use crate::tui::model::DoctorPopup;
use crate::tui::theme::Theme;

pub fn render(t: &Theme, popup: &DoctorPopup, frame: &mut Frame<'_>, area: Rect) {
    let lines: Vec<Line<'static>> = match popup {
        DoctorPopup::Running => vec![Line::styled("checking every stage…", t.dim)],
        DoctorPopup::Done(report) => report
            .lines()
            .into_iter()
            .map(|l| {
                let trimmed = l.trim_start();
                let style = if trimmed.starts_with("ok ") || l == "verdict: ok" {
                    t.ok
                } else if trimmed.starts_with("FAIL") || l.starts_with("verdict:") {
                    t.error
                } else if trimmed.starts_with('→') {
                    t.warn
                } else {
                    ratatui::style::Style::default()
                };
                Line::styled(l, style)
            })
            .collect(),
    };
    let height = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let rect = centered(area, 110, height);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(pane_block(t, "doctor · any key closes", true)),
        rect,
    );
}
