//! The inspector pane: the shown message's header, MQTT 5 properties, the payload (paged,
//! never cut silently), the diff to the previous message, and the topic's history.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::format::bytes;
use super::{age, clock, count, focused, pane_block};
use crate::payload::{self, DiffLine, HEX_WIDTH, Shown as ShownKind};
use crate::store::{Node, StoredMessage};
use crate::tui::keymap::Pane;
use crate::tui::model::Model;
use crate::tui::theme::Theme;
use crate::tui::view::{Diff, Shown, View};

/// Characters of preview in a history row.
const HISTORY_PREVIEW: usize = 60;

/// Draws the pane; returns how far its body scrolls for the shown message (0 when none).
pub fn render(model: &Model, view: &View, frame: &mut Frame<'_>, area: Rect) -> usize {
    let t = &view.theme;
    let block = pane_block(t, "inspector", focused(model, Pane::Inspector));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(id) = model.selected() else {
        frame.render_widget(Paragraph::new(Line::styled("select a topic", t.dim)), inner);
        return 0;
    };
    let node = model.store.node(id);
    let mut header = vec![Line::styled(
        crate::sanitize::block(node.path().as_bytes()).into_owned(),
        t.title,
    )];
    let (Some(index), Some(shown)) = (model.shown_index(), view.shown.as_ref()) else {
        header.push(Line::styled(
            format!(
                "no message on this level · {} topics and {} messages below",
                count(u64::from(node.topics)),
                count(node.messages)
            ),
            t.dim,
        ));
        frame.render_widget(Paragraph::new(header), inner);
        return 0;
    };
    let message = &node.history()[index];
    let width = usize::from(inner.width);
    header.extend(pack(
        message_units(t, node, message, index, model.now),
        width,
    ));
    header.extend(pack(property_units(t, message, model.now), width));
    if let Some(line) = request_line(model, t, message) {
        header.push(line);
    }
    header.extend(anomaly_lines(model, t, id, width));
    header.extend(decoder_line(t, &shown.view, width));
    header.extend(sparkplug_line(model, t, node.path(), width));

    if model.chart.open {
        render_chart(model, view, frame, inner, header);
        return 0;
    }
    let history_rows = u16::try_from(node.history().len().min(6) + 1).unwrap_or(7);
    let header_rows = u16::try_from(header.len()).unwrap_or(3);
    let [head, title, body, hist] = Layout::vertical([
        Constraint::Length(header_rows),
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(history_rows.min(inner.height / 3)),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(header), head);

    let height = usize::from(body.height);
    let total = body_lines(shown);
    let max_scroll = total.saturating_sub(height);
    let scroll = model.inspector.scroll.min(max_scroll);
    frame.render_widget(
        Paragraph::new(payload_title(t, shown, scroll, height, total)),
        title,
    );
    let lines = visible_lines(t, shown, scroll, height);
    frame.render_widget(Paragraph::new(lines), body);
    frame.render_widget(
        Paragraph::new(history_lines(t, node, index, usize::from(hist.height))),
        hist,
    );
    max_scroll
}

/// The chart in the body's place: the header, a line with the fields and keys (or the field
/// path being typed), then the chart of the kept history.
fn render_chart(
    model: &Model,
    view: &View,
    frame: &mut Frame<'_>,
    inner: Rect,
    mut header: Vec<Line<'static>>,
) {
    let t = &view.theme;
    let width = usize::from(inner.width);
    header.truncate(usize::from(inner.height / 3).max(1));
    header.push(chart_title(model, t, width));
    if let Some(e) = &model.chart.error {
        let text = format!("✗ {} (not plotted)", crate::sanitize::line(e.as_bytes()));
        header.push(Line::styled(crate::width::fit(&text, width), t.error));
    }
    let header_rows = u16::try_from(header.len()).unwrap_or(3);
    let [head, body] =
        Layout::vertical([Constraint::Length(header_rows), Constraint::Min(0)]).areas(inner);
    frame.render_widget(Paragraph::new(header), head);
    let Some(data) = &view.chart else {
        return;
    };
    if data.fields.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::styled(
                "nothing to plot: no number, boolean or short string in this message                  (F types a path)",
                t.dim,
            )),
            body,
        );
        return;
    }
    let plots: Vec<super::chart::Plot<'_>> = data
        .fields
        .iter()
        .zip(&data.series)
        .enumerate()
        .map(|(i, (f, s))| super::chart::Plot {
            name: f.label().to_string(),
            series: s,
            style: t.series[i % t.series.len()],
            selected: false,
        })
        .collect();
    let end = crate::series::seconds(model.view_time());
    let start = data
        .series
        .iter()
        .filter_map(|s| s.points().front().map(|p| p.0))
        .fold(end, f64::min)
        .min(end - super::charts::MIN_WINDOW);
    super::chart::render(t, frame, body, &plots, (start, end), false);
}

/// `chart · ←→ field · F type · O overlay · + pin · g payload`, or the path being typed.
fn chart_title(model: &Model, t: &Theme, width: usize) -> Line<'static> {
    use crate::tui::keymap::Action as A;
    if let Some(text) = &model.chart.typing {
        let typed = crate::sanitize::line(text.as_bytes()).into_owned();
        return Line::from(vec![
            Span::styled("── field: ", t.key),
            Span::raw(format!("{typed}█")),
            Span::styled(
                "  Enter plot · Esc cancel · a.b[0].c, [\"odd key\"], empty: the payload",
                t.dim,
            ),
        ]);
    }
    let k = |a: A| {
        model
            .keymap
            .key_for(Pane::Inspector, a)
            .map_or_else(String::new, crate::tui::keymap::Key::label)
    };
    let text = format!(
        "── chart of the kept history · {}{} field · {} type · {} overlay · {} pin · {} payload",
        k(A::OlderMessage),
        k(A::NewerMessage),
        k(A::TypeField),
        k(A::OverlayField),
        k(A::PinSeries),
        k(A::ToggleChart),
    );
    Line::styled(crate::width::fit(&text, width), t.dim)
}

/// The selected topic's newest anomalies (three at most), one line each.
fn anomaly_lines(
    model: &Model,
    t: &Theme,
    id: crate::store::NodeId,
    width: usize,
) -> Vec<Line<'static>> {
    const SHOWN: usize = 3;
    let all: Vec<&crate::watch::Anomaly> = model.watch.of_topic(id).collect();
    let mut lines = Vec::new();
    for (i, a) in all.iter().take(SHOWN).enumerate() {
        let more = if i + 1 == SHOWN.min(all.len()) && all.len() > SHOWN {
            format!(" (+{} older, A lists them)", all.len() - SHOWN)
        } else {
            String::new()
        };
        let lead = format!("⚠ {} {} ", clock(a.at), a.kind.name());
        let detail = crate::sanitize::line(a.detail().as_bytes()).into_owned() + &more;
        let room = width.saturating_sub(crate::width::of(&lead));
        lines.push(Line::from(vec![
            Span::styled(lead, t.warn),
            Span::styled(crate::width::fit(&detail, room), t.value),
        ]));
    }
    lines
}

/// The Sparkplug B edge node a topic belongs to: online or not, its last birth, `bdSeq`,
/// `seq`, metrics and gaps, and its devices.
fn sparkplug_line(model: &Model, t: &Theme, path: &str, width: usize) -> Option<Line<'static>> {
    let (_, name, node) = model.sparkplug.node_of(path)?;
    let status = |e: &crate::payload::decode::sparkplug::Endpoint| {
        let state = if e.online { "online" } else { "offline" };
        let birth = e.last_birth.map_or_else(
            || "no birth seen".to_string(),
            |b| format!("birth {}", clock(b)),
        );
        format!("{state} ({birth}, {} metrics)", e.names)
    };
    let mut text = format!("{name} {}", status(&node.endpoint));
    if let Some(bd) = node.bd_seq {
        let _ = write!(text, " · bdSeq {bd}");
    }
    if let Some(seq) = node.seq {
        let _ = write!(text, " · seq {seq}");
    }
    if node.gaps > 0 {
        let _ = write!(text, " · {} seq gaps", node.gaps);
    }
    for (device, d) in &node.devices {
        let _ = write!(text, " · {device} {}", status(d));
    }
    let text = crate::sanitize::line(text.as_bytes()).into_owned();
    let lead = "◆ Sparkplug ";
    let room = width.saturating_sub(crate::width::of(lead));
    Some(Line::from(vec![
        Span::styled(lead, t.label),
        Span::styled(crate::width::fit(&text, room), t.value),
    ]))
}

/// Which decoder made the view, or why it could not (the raw bytes are then shown).
fn decoder_line(
    t: &Theme,
    view: &crate::payload::PayloadView,
    width: usize,
) -> Option<Line<'static>> {
    let decoder = view.decoder.as_ref()?;
    let (lead, rest, style) = match &view.decode_error {
        None => (
            format!("⚙ {decoder}"),
            " · v: raw text, JSON, hex".to_string(),
            t.ok,
        ),
        Some(e) => (
            format!("✗ {decoder}: "),
            format!("{} · raw bytes shown", crate::sanitize::line(e.as_bytes())),
            t.error,
        ),
    };
    let room = width.saturating_sub(crate::width::of(&lead));
    Some(Line::from(vec![
        Span::styled(lead, style),
        Span::styled(crate::width::fit(&rest, room), t.dim),
    ]))
}

/// Lays out units (groups of spans that stay together) in lines no wider than `width`.
fn pack(units: Vec<Vec<Span<'static>>>, width: usize) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let mut current: Vec<Span<'static>> = Vec::new();
    let mut used = 0;
    for unit in units {
        let w: usize = unit.iter().map(Span::width).sum();
        if used > 0 && used + w > width {
            lines.push(Line::from(std::mem::take(&mut current)));
            used = 0;
        }
        used += w;
        current.extend(unit);
    }
    if !current.is_empty() {
        lines.push(Line::from(current));
    }
    lines
}

fn message_units(
    t: &Theme,
    node: &Node,
    m: &StoredMessage,
    index: usize,
    now: SystemTime,
) -> Vec<Vec<Span<'static>>> {
    let mut units = vec![vec![
        Span::styled("QoS ", t.label),
        Span::styled(m.qos.to_string(), t.value),
    ]];
    if m.retain {
        units.push(vec![Span::styled(" · retained", t.retained)]);
    }
    if m.dup {
        units.push(vec![Span::styled(" · dup", t.warn)]);
    }
    units.push(vec![Span::styled(
        format!(
            " · {} (wire {})",
            bytes(m.payload.len()),
            bytes(m.wire_size as usize)
        ),
        t.label,
    )]);
    units.push(vec![
        Span::styled(" · received ", t.label),
        Span::styled(format!("{} UTC", clock(m.received)), t.value),
        Span::styled(format!(" ({})", age(m.received, now)), t.label),
    ]);
    units.push(vec![Span::styled(
        format!(" · {:.1} msg/s", node.rate_at(now)),
        t.label,
    )]);
    units.push(vec![Span::styled(
        format!(
            " · #{} of {} kept, {} received",
            index + 1,
            node.history().len(),
            count(node.own_messages)
        ),
        t.dim,
    )]);
    units
}

/// The other side of a request/response pair, or that a request still waits.
fn request_line(model: &Model, t: &Theme, m: &StoredMessage) -> Option<Line<'static>> {
    if let Some(link) = model.requests.link_of(m.seq) {
        let arrow = if link.is_reply {
            "↩ reply to the request on "
        } else {
            "↪ answered on "
        };
        return Some(Line::from(vec![
            Span::styled(arrow, t.label),
            Span::styled(link.topic.clone(), t.value),
            Span::styled(format!(" after {} ms", link.latency.as_millis()), t.ok),
        ]));
    }
    let p = m.properties.as_ref()?;
    let (rt, corr) = (p.response_topic.as_ref()?, p.correlation_data.as_ref()?);
    model.requests.awaiting(rt, corr).then(|| {
        Line::from(vec![
            Span::styled("… request: no reply yet on ", t.label),
            Span::styled(rt.clone(), t.value),
        ])
    })
}

fn property_units(t: &Theme, m: &StoredMessage, now: SystemTime) -> Vec<Vec<Span<'static>>> {
    let Some(p) = &m.properties else {
        return Vec::new();
    };
    let mut parts: Vec<(String, String)> = Vec::new();
    if let Some(v) = &p.content_type {
        parts.push(("content-type".into(), v.clone()));
    }
    if let Some(v) = p.payload_format {
        let name = if v == 1 { "utf8" } else { "bytes" };
        parts.push(("format".into(), name.into()));
    }
    if let Some(secs) = p.message_expiry {
        let elapsed = now
            .duration_since(m.received)
            .unwrap_or(Duration::ZERO)
            .as_secs();
        let left = u64::from(secs).saturating_sub(elapsed);
        parts.push(("expiry".into(), format!("{secs} s ({left} s left)")));
    }
    if let Some(v) = &p.response_topic {
        parts.push(("response-topic".into(), v.clone()));
    }
    if let Some(v) = &p.correlation_data {
        parts.push(("correlation".into(), payload::preview(v, 32)));
    }
    for (k, v) in &p.user_properties {
        parts.push((format!("user {k}"), v.clone()));
    }
    if !p.subscription_ids.is_empty() {
        let ids: Vec<String> = p.subscription_ids.iter().map(ToString::to_string).collect();
        parts.push(("sub-ids".into(), ids.join(",")));
    }
    if let Some(v) = p.topic_alias {
        parts.push(("alias".into(), v.to_string()));
    }
    let mut units = vec![vec![Span::styled("MQTT 5", t.key)]];
    for (k, v) in parts {
        units.push(vec![
            Span::styled(format!(" · {k}: "), t.label),
            Span::styled(crate::sanitize::block(v.as_bytes()).into_owned(), t.value),
        ]);
    }
    units
}

fn body_lines(shown: &Shown) -> usize {
    match &shown.diff {
        Some(Diff::Lines(lines)) => lines.len(),
        Some(Diff::Nothing) => 1,
        Some(Diff::Bytes(_)) | None => shown.view.line_count(),
    }
}

fn payload_title(
    t: &Theme,
    shown: &Shown,
    scroll: usize,
    height: usize,
    total: usize,
) -> Line<'static> {
    let view = &shown.view;
    let what = match view.shown {
        ShownKind::Json if view.decoder.is_some() && view.decode_error.is_none() => "decoded JSON",
        ShownKind::Json => "JSON",
        ShownKind::Text => "text",
        ShownKind::Xml => "XML",
        ShownKind::Hex => "hex",
    };
    let last = (scroll + height).min(total);
    let range = if view.shown == ShownKind::Hex {
        let (start, end) = view.hex_range(scroll, height);
        format!(
            "bytes {}–{} of {}",
            count(start as u64),
            count(end as u64),
            count(view.bytes.len() as u64)
        )
    } else {
        format!(
            "lines {}–{} of {}",
            scroll + usize::from(total > 0),
            last,
            count(total as u64)
        )
    };
    let mode = if shown.diff.is_some() {
        "diff to previous"
    } else {
        shown.mode.label()
    };
    let kind = view.kind.label();
    let mut text = if kind.eq_ignore_ascii_case(what) {
        format!("── {kind} ({mode}) · {range}")
    } else {
        format!("── {kind}, shown as {what} ({mode}) · {range}")
    };
    if let Some(note) = view.note {
        let _ = write!(text, " · {note}");
    }

    if let Some(Diff::Bytes(ranges)) = &shown.diff {
        let changed: usize = ranges.iter().map(|r| r.end - r.start).sum();
        let _ = write!(text, " · {} ranges, {changed} bytes changed", ranges.len());
    }
    Line::styled(text, t.dim)
}

fn visible_lines(t: &Theme, shown: &Shown, scroll: usize, height: usize) -> Vec<Line<'static>> {
    let view = &shown.view;
    match &shown.diff {
        Some(Diff::Nothing) => vec![Line::styled(
            "no earlier message kept to compare with",
            t.dim,
        )],
        Some(Diff::Lines(lines)) => lines
            .iter()
            .skip(scroll)
            .take(height)
            .map(|l| match l {
                DiffLine::Same(s) => Line::styled(format!("  {s}"), t.dim),
                DiffLine::Removed(s) => Line::styled(format!("- {s}"), t.removed),
                DiffLine::Added(s) => Line::styled(format!("+ {s}"), t.added),
            })
            .collect(),
        Some(Diff::Bytes(ranges)) => (scroll..(scroll + height).min(view.line_count()))
            .map(|i| {
                hex_spans(t, &view.bytes, i, &|b| {
                    ranges.iter().any(|r| (r.start..r.end).contains(&b))
                })
            })
            .collect(),
        None => match view.shown {
            ShownKind::Hex => (scroll..(scroll + height).min(view.line_count()))
                .map(|i| hex_spans(t, &view.bytes, i, &|_| false))
                .collect(),
            ShownKind::Json => (scroll..(scroll + height).min(view.line_count()))
                .map(|i| {
                    Line::from(
                        payload::json_line_tokens(view.line(i))
                            .into_iter()
                            .map(|tok| Span::styled(tok.text.to_string(), t.json(tok.kind)))
                            .collect::<Vec<_>>(),
                    )
                })
                .collect(),
            ShownKind::Text => (scroll..(scroll + height).min(view.line_count()))
                .map(|i| Line::raw(view.line(i).to_string()))
                .collect(),
            ShownKind::Xml => (scroll..(scroll + height).min(view.line_count()))
                .map(|i| {
                    Line::from(
                        payload::xml::line_tokens(view.line(i))
                            .into_iter()
                            .map(|tok| Span::styled(tok.text.to_string(), t.json(tok.kind)))
                            .collect::<Vec<_>>(),
                    )
                })
                .collect(),
        },
    }
}

/// A hex line with changed bytes highlighted.
fn hex_spans(
    t: &Theme,
    bytes: &[u8],
    line: usize,
    changed: &dyn Fn(usize) -> bool,
) -> Line<'static> {
    let start = line * HEX_WIDTH;
    let mut spans = vec![Span::styled(format!("{start:08x}  "), t.hex_offset)];
    for i in 0..HEX_WIDTH {
        let at = start + i;
        let text = bytes
            .get(at)
            .map_or_else(|| "   ".to_string(), |b| format!("{b:02x} "));
        let style = if bytes.get(at).is_some() && changed(at) {
            t.hex_changed
        } else {
            Style::default()
        };
        spans.push(Span::styled(text, style));
        if i == 7 {
            spans.push(Span::raw(" "));
        }
    }
    let ascii: String = bytes
        .get(start..(start + HEX_WIDTH).min(bytes.len()))
        .unwrap_or_default()
        .iter()
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '.'
            }
        })
        .collect();
    spans.push(Span::styled(format!(" {ascii}"), t.dim));
    Line::from(spans)
}

fn history_lines(t: &Theme, node: &Node, shown: usize, rows: usize) -> Vec<Line<'static>> {
    let history = node.history();
    let mut lines = vec![Line::styled(
        format!(
            "── history: {} kept of {} (newest first) · [ ] older/newer",
            history.len(),
            count(node.own_messages)
        ),
        t.dim,
    )];
    for (i, m) in history
        .iter()
        .enumerate()
        .rev()
        .take(rows.saturating_sub(1))
    {
        let marker = if i == shown { "▸" } else { " " };
        let style = if i == shown {
            t.selected
        } else {
            Style::default()
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{marker} {} ", clock(m.received)), style),
            Span::styled(format!("{:>9} ", bytes(m.payload.len())), t.label),
            Span::styled(format!("q{} ", m.qos), t.label),
            Span::styled(if m.retain { "R " } else { "  " }, t.retained),
            Span::styled(payload::preview(&m.payload, HISTORY_PREVIEW), t.preview),
        ]));
    }
    lines
}
