//! The charts pane (`G`): the pinned series, live, on one time axis: each on its own scale
//! or all on one (`s`), the selected one highlighted in the legend.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use super::chart::{self, Plot};
use super::{focused, pane_block};
use crate::series::{MAX_PINS, seconds};
use crate::tui::keymap::Pane;
use crate::tui::model::Model;
use crate::tui::theme::Theme;

/// The shortest time window drawn, in seconds: a single point still gets an axis.
pub const MIN_WINDOW: f64 = 10.0;

pub fn render(model: &Model, t: &Theme, frame: &mut Frame<'_>, area: Rect) {
    let pane = &model.charts;
    let scale = if pane.shared_scale {
        "one scale"
    } else {
        "own scales"
    };
    let title = format!("charts · {}/{MAX_PINS} pinned · {scale}", pane.pins.len());
    let block = pane_block(t, &title, focused(model, Pane::Charts));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if pane.pins.is_empty() {
        let text = "No series pinned. g charts the selected topic in the inspector, ←→ \
                    chooses its field, + pins it here (6 at most, from any topics); \
                    S saves them with the profile.";
        frame.render_widget(
            Paragraph::new(Line::styled(text, t.dim)).wrap(Wrap { trim: true }),
            inner,
        );
        return;
    }
    let end = seconds(model.view_time());
    let start = pane
        .pins
        .iter()
        .filter_map(|p| p.series.points().front().map(|q| q.0))
        .fold(end, f64::min)
        .min(end - MIN_WINDOW);
    let plots: Vec<Plot<'_>> = pane
        .pins
        .iter()
        .enumerate()
        .map(|(i, p)| Plot {
            name: match p.field.text() {
                "" => p.topic.clone(),
                field => format!("{} ▸ {field}", p.topic),
            },
            series: &p.series,
            style: t.series[i % t.series.len()],
            selected: focused(model, Pane::Charts) && i == pane.selected,
        })
        .collect();
    chart::render(t, frame, inner, &plots, (start, end), pane.shared_scale);
}
