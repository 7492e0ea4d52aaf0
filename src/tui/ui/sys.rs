//! The `$SYS` pane (`B`): what the broker publishes about itself, one row per metric with a
//! sparkline for the rates; the raw topics stay browsable in the tree.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::{count, focused, pane_block};
use crate::sys::{Metric, Value};
use crate::tui::keymap::Pane;
use crate::tui::model::Model;
use crate::tui::theme::Theme;

/// Width of the label column.
const LABEL: usize = 14;

pub fn render(model: &Model, t: &Theme, frame: &mut Frame<'_>, area: Rect) {
    let summary = crate::sys::summary(&model.store);
    let title = match &summary {
        Some(s) => format!("$SYS · {} topics · B closes", count(u64::from(s.topics))),
        None => "$SYS · B closes".to_string(),
    };
    let block = pane_block(t, &title, focused(model, Pane::Sys));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(summary) = summary.filter(|s| !s.rows.is_empty()) else {
        let text = if model.store.find("$SYS").is_some() {
            "$SYS topics arrive, but none in a layout mqscope knows (mosquitto's $SYS/broker/…, \
             EMQX's $SYS/brokers/NODE/…): browse them in the tree"
        } else {
            "The broker has published no $SYS topics. mqscope --sys subscribes to $SYS/#; some \
             brokers publish none (rumqttd), or only every sys_interval seconds (mosquitto: 10 \
             by default), or deny $SYS to this user."
        };
        frame.render_widget(
            Paragraph::new(Line::styled(text, t.dim)).wrap(Wrap { trim: true }),
            inner,
        );
        return;
    };
    let width = usize::from(inner.width);
    let lines: Vec<Line<'static>> = summary
        .rows
        .iter()
        .map(|(metric, _, value)| row(t, *metric, value, width))
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn row(t: &Theme, metric: Metric, value: &Value, width: usize) -> Line<'static> {
    let label = format!("{:<LABEL$}", metric.label());
    let bytes = matches!(metric, Metric::BytesIn | Metric::BytesOut);
    let (text, spark) = match value {
        Value::Text(s) => (crate::width::fit(s, width.saturating_sub(LABEL)), None),
        Value::Count(n) => (count(*n), None),
        Value::Rate(r, series) => {
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "a rate"
            )]
            let whole = r.max(0.0).round() as u64;
            let text = if bytes {
                format!("{}/s", crate::size::human(whole))
            } else {
                format!("{}/s", count(whole))
            };
            (text, Some(series))
        }
    };
    let mut spans = vec![
        Span::styled(label, t.label),
        Span::styled(format!("{text:<16}"), t.value),
    ];
    if let Some(series) = spark {
        let room = width.saturating_sub(LABEL + 17);
        spans.push(Span::styled(sparkline(series, room), t.ok));
    }
    Line::from(spans)
}

/// Block characters for a series, newest on the right, at most `room` wide.
fn sparkline(series: &[u64], room: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let shown = &series[series.len().saturating_sub(room)..];
    let max = shown.iter().copied().max().unwrap_or(0).max(1);
    shown
        .iter()
        .map(|v| {
            let i = usize::try_from(v.saturating_mul(7) / max)
                .unwrap_or(7)
                .min(7);
            BARS[i]
        })
        .collect()
}
