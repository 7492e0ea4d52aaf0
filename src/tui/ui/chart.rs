//! One chart: a legend line per series (name, last, min, max, mean, points, skipped) above a
//! braille line chart with time and value axes. The inspector's chart and the charts pane
//! both draw with it. Values are placed on `0..1` by a `Scale` (shared, or one per series),
//! so a range no subtraction can hold, a single value or a single point still draw.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Paragraph};

use super::clock;
use crate::series::{Scale, Series, Stats, downsample, number};
use crate::tui::theme::Theme;

/// Below this the chart gives way to its legend alone.
const MIN_PLOT: (u16, u16) = (16, 4);

/// One series to draw.
pub struct Plot<'a> {
    /// What it is (a field, or a topic and a field), unescaped: sanitized here.
    pub name: String,
    pub series: &'a Series,
    pub style: Style,
    /// Drawn highlighted (the selected pin).
    pub selected: bool,
}

/// Draws `plots` over the time window `x0..x1` (seconds since the epoch).
pub fn render(
    t: &Theme,
    frame: &mut Frame<'_>,
    area: Rect,
    plots: &[Plot<'_>],
    window: (f64, f64),
    shared: bool,
) {
    if area.area() == 0 {
        return;
    }
    let within =
        |p: &VecDeque<(f64, f64)>| Stats::of(p.iter().filter(|q| q.0 <= window.1).map(|q| q.1));
    let stats: Vec<Option<Stats>> = plots.iter().map(|p| within(p.series.points())).collect();
    let legend: Vec<Line<'static>> = plots
        .iter()
        .zip(&stats)
        .enumerate()
        .map(|(i, (p, s))| legend_line(t, i, p, s.as_ref(), usize::from(area.width)))
        .collect();
    let legend_rows = u16::try_from(legend.len())
        .unwrap_or(u16::MAX)
        .min(area.height);
    let [head, body] =
        Layout::vertical([Constraint::Length(legend_rows), Constraint::Min(0)]).areas(area);
    frame.render_widget(Paragraph::new(legend), head);
    if body.width < MIN_PLOT.0 || body.height < MIN_PLOT.1 || stats.iter().all(Option::is_none) {
        return;
    }
    plot(t, frame, body, plots, &stats, window, shared);
}

/// How values are placed: the scale of each series and the value axis' labels.
struct ValueAxis {
    scales: Vec<Option<Scale>>,
    labels: Vec<Line<'static>>,
}

fn value_axis(plots: &[Plot<'_>], stats: &[Option<Stats>], shared: bool, rows: usize) -> ValueAxis {
    // Steps of one series read best against their values' names.
    if let [only] = plots {
        if only.series.steps() {
            let labels = only.series.labels();
            let high = u32::try_from(labels.len().saturating_sub(1)).unwrap_or(0);
            return ValueAxis {
                scales: vec![Some(Scale {
                    low: 0.0,
                    high: f64::from(high),
                })],
                labels: axis_names(labels, rows),
            };
        }
    }
    let common = Scale::of(stats.iter().flatten().copied());
    if !(shared || plots.len() == 1) {
        return ValueAxis {
            scales: stats.iter().map(|s| Scale::of(s.iter().copied())).collect(),
            labels: vec![Line::raw("min"), Line::raw("max")],
        };
    }
    let labels = match common {
        // One value: in the middle, where `Scale` puts it.
        Some(c) if c.low >= c.high => {
            vec![Line::raw(""), Line::raw(number(c.low)), Line::raw("")]
        }
        Some(c) => [0.0, 0.5, 1.0]
            .iter()
            .map(|p| Line::raw(number(c.value_at(*p))))
            .collect(),
        None => Vec::new(),
    };
    ValueAxis {
        scales: vec![common; plots.len()],
        labels,
    }
}

/// The chart itself: each series reduced to the plot's columns and placed on its scale.
fn plot(
    t: &Theme,
    frame: &mut Frame<'_>,
    body: Rect,
    plots: &[Plot<'_>],
    stats: &[Option<Stats>],
    (x0, x1): (f64, f64),
    shared: bool,
) {
    let axis = value_axis(
        plots,
        stats,
        shared,
        usize::from(body.height.saturating_sub(2)),
    );
    let label_width = axis.labels.iter().map(Line::width).max().unwrap_or(0);
    // Braille: two dots across per cell.
    let columns = 2 * usize::from(body.width)
        .saturating_sub(label_width + 2)
        .max(1);
    let points: Vec<Vec<(f64, f64)>> = plots
        .iter()
        .zip(&axis.scales)
        .map(|(p, scale)| {
            let Some(scale) = scale else {
                return Vec::new();
            };
            let s = p.series;
            downsample(s.points().iter().copied(), (x0, x1), columns, s.steps())
                .into_iter()
                .map(|(x, y)| (x, scale.position(y)))
                .collect()
        })
        .collect();
    let alike = t.series.iter().all(|s| *s == t.series[0]);
    let datasets: Vec<Dataset<'_>> = plots
        .iter()
        .zip(&points)
        .enumerate()
        .map(|(i, (p, pts))| {
            let style = if p.selected {
                p.style.add_modifier(ratatui::style::Modifier::BOLD)
            } else {
                p.style
            };
            Dataset::default()
                .marker(if alike {
                    MARKERS[i % MARKERS.len()]
                } else {
                    Marker::Braille
                })
                .graph_type(if pts.len() == 1 {
                    GraphType::Scatter
                } else {
                    GraphType::Line
                })
                .style(style)
                .data(pts)
        })
        .collect();
    let span = Duration::from_secs_f64((x1 - x0).max(0.0));
    // The span between the two times only where it cannot run into them.
    let x_labels = if body.width >= 60 {
        vec![
            Line::raw(clock(at(x0))),
            Line::raw(format!("← {} →", short_span(span))).centered(),
            Line::raw(clock(at(x1))).right_aligned(),
        ]
    } else {
        vec![
            Line::raw(clock(at(x0))),
            Line::raw(clock(at(x1))).right_aligned(),
        ]
    };
    let chart = Chart::new(datasets)
        .x_axis(
            Axis::default()
                .bounds([x0, x1])
                .labels(x_labels)
                .style(t.dim),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, 1.0])
                .labels(axis.labels)
                .style(t.dim),
        )
        .legend_position(None);
    frame.render_widget(chart, body);
}

/// Markers that tell series apart without colours.
const MARKERS: [Marker; 4] = [Marker::Braille, Marker::Dot, Marker::Block, Marker::Bar];

fn at(seconds: f64) -> SystemTime {
    UNIX_EPOCH + Duration::try_from_secs_f64(seconds).unwrap_or_default()
}

fn short_span(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..120 => format!("{:.1} s", d.as_secs_f64()),
        120..7200 => format!("{} min", s / 60),
        _ => format!("{} h", s / 3600),
    }
}

/// Names of a step series' values for the value axis: all when they fit, else the lowest and
/// the highest.
fn axis_names(labels: &[String], rows: usize) -> Vec<Line<'static>> {
    let clean = |l: &String| crate::width::fit(&crate::sanitize::line(l.as_bytes()), 12);
    match labels {
        [] => Vec::new(),
        [one] => vec![Line::raw(""), Line::raw(clean(one)), Line::raw("")],
        _ if labels.len() <= rows.max(2) => labels.iter().map(|l| Line::raw(clean(l))).collect(),
        [first, .., last] => vec![Line::raw(clean(first)), Line::raw(clean(last))],
    }
}

/// `■ temp  last 23.1  min 20.0  max 25.3  mean 22.4  · 240 points · 3 skipped`.
fn legend_line(
    t: &Theme,
    i: usize,
    p: &Plot<'_>,
    stats: Option<&Stats>,
    width: usize,
) -> Line<'static> {
    let mark = if t.series.iter().all(|s| *s == t.series[0]) {
        ["⠿", "•", "█", "▄"][i % 4]
    } else {
        "■"
    };
    let name = crate::sanitize::line(p.name.as_bytes()).into_owned();
    let name_style = if p.selected { t.selected } else { t.value };
    let mut spans = vec![
        Span::styled(format!("{mark} "), p.style),
        Span::styled(crate::width::fit(&name, 40), name_style),
    ];
    let series = p.series;
    let text = match stats {
        None if series.skipped > 0 => {
            format!("  no numbers · {} skipped", series.skipped)
        }
        None => "  no values yet".to_string(),
        Some(s) if series.steps() => {
            let value = series.label_at(s.last).unwrap_or("");
            let mut text = format!(
                "  now {} · {} values · {} points",
                crate::sanitize::line(value.as_bytes()),
                series.labels().len(),
                s.count
            );
            if series.skipped > 0 {
                let _ = write!(text, " · {} skipped", series.skipped);
            }
            text
        }
        Some(s) => {
            let mut text = format!(
                "  last {}  min {}  max {}  mean {}  · {} points",
                number(s.last),
                number(s.min),
                number(s.max),
                number(s.mean),
                s.count
            );
            if series.skipped > 0 {
                let _ = write!(text, " · {} skipped", series.skipped);
            }
            text
        }
    };
    let used: usize = spans.iter().map(Span::width).sum();
    spans.push(Span::styled(
        crate::width::fit(&text, width.saturating_sub(used)),
        t.label,
    ));
    Line::from(spans)
}
