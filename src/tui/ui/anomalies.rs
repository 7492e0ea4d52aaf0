//! The anomalies pane: newest first, one row each (time, kind, topic, detail), the selected
//! one highlighted; broker text escaped and laid out by display width.

use std::fmt::Write as _;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{clock, count, focused, pane_block};
use crate::tui::keymap::Pane;
use crate::tui::model::Model;
use crate::tui::model::anomalies_selected_index;
use crate::tui::theme::Theme;
use crate::watch::{Anomaly, AnomalyKind};

/// Columns of the kind column (the longest name, `retained_changed`).
const KIND_WIDTH: usize = 16;

pub fn render(model: &Model, t: &Theme, frame: &mut Frame<'_>, area: Rect) {
    let list = model.watch.list();
    let mut title = format!("anomalies · {}", count(list.len() as u64));
    let total = model.watch.total();
    if total > list.len() as u64 {
        let _ = write!(title, " of {}", count(total));
    }
    title.push_str(" · Enter go · m/M mute");
    let block = pane_block(t, &title, focused(model, Pane::Anomalies));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let height = usize::from(inner.height);
    if list.is_empty() {
        let lines = vec![
            Line::styled("no anomalies yet", t.dim),
            Line::styled(
                "silences, schema changes, sequence gaps and duplicates, rate jumps and \
                 replaced retained values show here",
                t.dim,
            ),
        ];
        frame.render_widget(
            Paragraph::new(lines).wrap(ratatui::widgets::Wrap { trim: true }),
            inner,
        );
        return;
    }
    let selected = anomalies_selected_index(model);
    // Keep the selection in view: the window starts at a page boundary.
    let first = (selected / height.max(1)) * height.max(1);
    let width = usize::from(inner.width);
    let lines: Vec<Line<'static>> = list
        .iter()
        .rev()
        .enumerate()
        .skip(first)
        .take(height)
        .map(|(i, a)| row(t, a, width, i == selected))
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn kind_style(t: &Theme, kind: AnomalyKind) -> Style {
    match kind {
        AnomalyKind::Resumed => t.ok,
        AnomalyKind::Silent | AnomalyKind::Gap | AnomalyKind::Reset => t.error,
        _ => t.warn,
    }
}

fn row(t: &Theme, a: &Anomaly, width: usize, selected: bool) -> Line<'static> {
    let topic = crate::sanitize::line(a.topic.as_bytes()).into_owned();
    let detail = crate::sanitize::line(a.detail().as_bytes()).into_owned();
    let lead = format!("{} ", clock(a.at));
    let kind = format!("{:<KIND_WIDTH$} ", a.kind.name());
    let room = width.saturating_sub(crate::width::of(&lead) + KIND_WIDTH + 1);
    // The topic gets up to half of what is left; the detail the rest.
    let topic = crate::width::fit(&topic, room.div_ceil(2).max(8));
    let rest = room.saturating_sub(crate::width::of(&topic) + 2);
    let detail = crate::width::fit(&detail, rest);
    // The selected row in one style: the theme's colours for the parts may not read on the
    // selection's background.
    let style = |s: Style| if selected { t.selected } else { s };
    Line::from(vec![
        Span::styled(lead, style(t.dim)),
        Span::styled(kind, style(kind_style(t, a.kind))),
        Span::styled(topic, style(t.segment)),
        Span::styled("  ", style(Style::default())),
        Span::styled(detail, style(t.value)),
    ])
}
