//! The dialogs: publish form, subscriptions, clear-retained confirmation, save payload.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::format::bytes;
use super::{centered, count, pane_block};
use crate::broker::codes;
use crate::tui::dialog::Dialog;
use crate::tui::dialog::publish::{Field, PublishForm, estimated_size};
use crate::tui::dialog::rules::RulesDialog;
use crate::tui::dialog::subs::{SubState, SubsDialog};
use crate::tui::model::Model;
use crate::tui::theme::Theme;

/// Payload lines shown in the form.
const PAYLOAD_LINES: usize = 6;

pub fn render(model: &Model, t: &Theme, dialog: &Dialog, frame: &mut Frame<'_>, area: Rect) {
    // Long by design: one arm per dialog.
    let (title, lines, width) = match dialog {
        Dialog::Publish(form) => ("publish", publish_lines(model, t, form), 96),
        Dialog::Subscriptions(d) => ("subscriptions", subs_lines(model, t, d), 90),
        Dialog::Rules(d) => (
            "alert rules and schema checks",
            rules_lines(model, t, d),
            110,
        ),
        Dialog::ConfirmClean { under, topics } => {
            let mut lines = vec![
                Line::from(vec![
                    Span::raw("Clear the retained messages of "),
                    Span::styled(
                        match topics.len() {
                            1 => "1 topic".to_string(),
                            n => format!("{} topics", count(n as u64)),
                        },
                        t.warn,
                    ),
                    Span::raw(" at and below "),
                    Span::styled(under.clone(), t.value),
                    Span::raw("?"),
                ]),
                Line::styled(
                    "Each gets an empty retained message (QoS 1); acknowledged ones count.",
                    t.dim,
                ),
            ];
            for topic in topics.iter().take(6) {
                lines.push(Line::styled(format!("  {topic}"), t.label));
            }
            if topics.len() > 6 {
                lines.push(Line::styled(
                    format!("  … and {} more", topics.len() - 6),
                    t.dim,
                ));
            }
            lines.push(Line::from(""));
            if topics.len() > 1 && topics.contains(under) {
                lines.push(keys(
                    t,
                    &[
                        ("y", "clear them all"),
                        ("t", "only this topic"),
                        ("n / Esc", "cancel"),
                    ],
                ));
            } else {
                lines.push(keys(t, &[("y", "clear them"), ("n / Esc", "cancel")]));
            }
            ("clear retained", lines, 90)
        }
        Dialog::SaveProfile { name } => (
            "save as profile",
            vec![
                Line::from(format!(
                    "Save {} as a profile in the config file (no password: only where it came \
                     from).",
                    model.target
                )),
                Line::from(vec![
                    Span::styled("name: ", t.label),
                    Span::styled(format!("{name}▏"), t.value),
                ]),
                Line::from(""),
                keys(
                    t,
                    &[("Enter", "save"), ("Ctrl-U", "clear"), ("Esc", "cancel")],
                ),
            ],
            90,
        ),
        Dialog::SeekTo { text } => seek_to(model, t, text),
        Dialog::Save { path, bytes: b } => (
            "save payload",
            vec![
                Line::from(format!(
                    "Write the payload ({}) to a file, bytes as received:",
                    bytes(b.len())
                )),
                Line::from(vec![
                    Span::styled("path: ", t.label),
                    Span::styled(format!("{path}▏"), t.value),
                ]),
                Line::from(""),
                keys(
                    t,
                    &[("Enter", "save"), ("Ctrl-U", "clear"), ("Esc", "cancel")],
                ),
            ],
            80,
        ),
    };
    let height = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let rect = centered(area, width, height);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines).block(pane_block(t, title, true)),
        rect,
    );
}

/// The end of a line being typed (the cursor is at its end), control characters shown as `·`.
fn tail(text: &str, max: usize) -> String {
    let chars: Vec<char> = text
        .chars()
        .map(|c| if c.is_control() { '·' } else { c })
        .collect();
    if chars.len() <= max {
        return chars.into_iter().collect();
    }
    std::iter::once('…')
        .chain(chars[chars.len() - max + 1..].iter().copied())
        .collect()
}

fn keys(t: &Theme, pairs: &[(&str, &str)]) -> Line<'static> {
    let mut spans = Vec::new();
    for (k, what) in pairs {
        spans.push(Span::styled(format!(" {k} "), t.key));
        spans.push(Span::styled(format!("{what}  "), t.dim));
    }
    Line::from(spans)
}

fn publish_lines(model: &Model, t: &Theme, form: &PublishForm) -> Vec<Line<'static>> {
    // Long by design: one line per field of the form.
    let mut lines = Vec::new();
    for (i, field) in Field::ALL.iter().enumerate() {
        let focused = i == form.focus % Field::ALL.len();
        let label = Span::styled(
            format!("{:>15} ", field.label()),
            if focused { t.title } else { t.label },
        );
        let cursor = if focused { "▏" } else { "" };
        let value = match field {
            Field::Topic => format!("{}{cursor}", tail(&form.topic, 76)),
            Field::File => format!("{}{cursor}", tail(&form.file, 76)),
            Field::Qos => format!("{}", form.qos),
            Field::Retain => (if form.retain { "yes" } else { "no" }).to_string(),
            Field::Encode => match (form.encode, model.decoders.for_topic(form.topic.trim())) {
                (false, Some(d)) => format!("no (Space: as {})", d.label()),
                (false, None) => "no".into(),
                (true, Some(d)) => format!("yes, as {}", d.label()),
                (true, None) => "yes, but no decoder maps this topic".into(),
            },
            Field::ContentType => format!("{}{cursor}", tail(&form.content_type, 76)),
            Field::PayloadFormat => match form.payload_format {
                None => "unset".into(),
                Some(0) => "bytes (0)".into(),
                Some(_) => "utf-8 (1)".into(),
            },
            Field::Expiry => format!("{}{cursor}", tail(&form.expiry, 76)),
            Field::ResponseTopic => format!("{}{cursor}", tail(&form.response_topic, 76)),
            Field::Correlation => format!("{}{cursor}", tail(&form.correlation, 76)),
            Field::UserProperties => format!("{}{cursor}", tail(&form.user_properties, 76)),
            Field::Payload => {
                let text = if form.file.trim().is_empty() {
                    form.payload.clone()
                } else {
                    "(the file's bytes)".into()
                };
                let all: Vec<&str> = text.split('\n').collect();
                let skip = all.len().saturating_sub(PAYLOAD_LINES);
                for (n, l) in all.iter().enumerate().skip(skip) {
                    let last = n + 1 == all.len();
                    let shown = format!("{}{}", tail(l, 76), if last { cursor } else { "" });
                    let label = if n == skip {
                        label.clone()
                    } else {
                        Span::raw(" ".repeat(16))
                    };
                    lines.push(Line::from(vec![label, Span::styled(shown, t.value)]));
                }
                if skip > 0 {
                    lines.push(Line::styled(
                        format!("{:>16}({} lines above)", "", skip),
                        t.dim,
                    ));
                }
                continue;
            }
        };
        lines.push(Line::from(vec![label, Span::styled(value, t.value)]));
    }
    lines.push(Line::from(""));
    let (protocol, max) = (
        match model.link {
            crate::tui::model::LinkState::Connected { protocol, .. } => {
                format!("MQTT {}", protocol.as_str())
            }
            _ => "not connected".to_string(),
        },
        model
            .timeline
            .current()
            .and_then(|a| a.connack.as_ref())
            .and_then(|c| c.max_packet_size),
    );
    let size = form
        .build(crate::broker::Protocol::V5, None, &model.decoders)
        .map(|r| format!("~{} on the wire", bytes(estimated_size(&r))))
        .unwrap_or_default();
    lines.push(Line::styled(
        format!(
            "{} · {protocol} · broker max packet {} {size}",
            form.field().hint(),
            max.map_or_else(|| "unlimited".into(), |m| bytes(m as usize)),
        ),
        t.dim,
    ));
    if let Some(e) = &form.error {
        lines.push(Line::styled(e.clone(), t.error));
    }
    lines.push(keys(
        t,
        &[
            ("Tab", "next field"),
            ("Enter / Ctrl-S", "send"),
            ("↑↓", "history"),
            ("Esc", "cancel"),
        ],
    ));
    lines
}

fn subs_lines(model: &Model, t: &Theme, d: &SubsDialog) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    if model.subscriptions.entries.is_empty() {
        lines.push(Line::styled("no subscription yet", t.dim));
    }
    for (i, e) in model.subscriptions.entries.iter().enumerate() {
        let (state, style) = match e.state {
            SubState::Pending => ("waiting for SUBACK".to_string(), t.dim),
            SubState::Granted(q) => (format!("granted QoS {q}"), t.ok),
            SubState::Refused(code) => (
                format!("REFUSED {code:#04x} {}", codes::reason_name(code)),
                t.error,
            ),
            SubState::Removing => ("waiting for UNSUBACK".to_string(), t.dim),
        };
        let marker = if i == d.selected && d.adding.is_none() {
            "▶ "
        } else {
            "  "
        };
        let mut spans = vec![
            Span::styled(marker, t.title),
            Span::styled(format!("{:<32} ", e.filter), t.value),
            Span::styled(state, style),
        ];
        if !e.options.is_empty() {
            spans.push(Span::styled(format!("  {}", e.options), t.dim));
        }
        lines.push(Line::from(spans));
    }
    lines.push(Line::from(""));
    if let Some(line) = &d.adding {
        lines.push(Line::from(vec![
            Span::styled("add: ", t.title),
            Span::styled(format!("{line}▏"), t.value),
        ]));
        lines.push(Line::styled(
            "FILTER [0|1|2] [nl] [rap|norap] [rh=0|1|2], e.g. plant/+/temp 1 nl rh=1",
            t.dim,
        ));
        lines.push(Line::styled(
            "nl no-local · rap keep the retain flag · rh retain handling · Enter subscribes",
            t.dim,
        ));
    }
    if let Some(e) = &d.error {
        lines.push(Line::styled(e.clone(), t.error));
    }
    lines.push(keys(
        t,
        &[
            ("a", "add"),
            ("d / Del", "remove"),
            ("↑↓", "select"),
            ("Esc", "close"),
        ],
    ));
    lines
}

fn safe(text: &str) -> String {
    crate::sanitize::line(text.as_bytes()).into_owned()
}

/// The rules, then the schema checks, each with where it stands; the add/edit line.
fn rules_lines(model: &Model, t: &Theme, d: &RulesDialog) -> Vec<Line<'static>> {
    let alerts = &model.alerts;
    let mut lines = Vec::new();
    if alerts.is_empty() {
        lines.push(Line::styled(
            "no rule and no schema check yet: a adds a rule (--rule and [[rules]] in the \
             config add them at start)",
            t.dim,
        ));
    }
    let marker = |i: usize| {
        if i == d.selected && d.editing.is_none() {
            "▶ "
        } else {
            "  "
        }
    };
    for (i, r) in alerts.rules().iter().enumerate() {
        let firing = alerts.firing_of(i);
        let (state, style) = if r.muted {
            ("muted".to_string(), t.dim)
        } else if firing > 0 {
            (format!("FIRING on {firing}"), t.error)
        } else {
            ("quiet".to_string(), t.ok)
        };
        let mut spans = vec![
            Span::styled(marker(i), t.title),
            Span::styled(format!("{state:<14}"), style),
            Span::styled(format!("{:<9}", r.severity.as_str()), t.label),
            Span::styled(safe(&r.name), t.value),
        ];
        let written = format!("{}: {}", r.filter, r.expr.text);
        if r.name != written {
            spans.push(Span::styled(format!("  {}", safe(&written)), t.dim));
        }
        if r.hold_ms > 0 {
            spans.push(Span::styled(
                format!("  for {}", crate::alert::short_duration(r.hold_ms)),
                t.dim,
            ));
        }
        lines.push(Line::from(spans));
    }
    let rules = alerts.rules().len();
    for (i, s) in alerts.schemas().iter().enumerate() {
        lines.push(Line::from(vec![
            Span::styled(marker(rules + i), t.title),
            Span::styled(format!("{:<14}", "schema"), t.label),
            Span::styled(format!("{:<9}", ""), t.label),
            Span::styled(format!("{:<24} ", safe(&s.filter)), t.value),
            Span::styled(safe(&s.path.display().to_string()), t.dim),
        ]));
    }
    lines.push(Line::from(""));
    if let Some((at, line)) = &d.editing {
        let verb = if at.is_some() { "edit: " } else { "add: " };
        lines.push(Line::from(vec![
            Span::styled(verb, t.title),
            Span::styled(format!("{}▏", tail(line, 100)), t.value),
        ]));
        lines.push(Line::styled(
            "FILTER: EXPRESSION[; for=30s][; name=NAME][; severity=info|warning|critical]",
            t.dim,
        ));
        lines.push(Line::styled(
            "e.g. plant/+/temp: t > 80; for=30s · fires once when true, clears when false · \
             Enter saves",
            t.dim,
        ));
    }
    if let Some(e) = &d.error {
        for l in e.lines() {
            lines.push(Line::styled(safe(l), t.error));
        }
    }
    lines.push(keys(
        t,
        &[
            ("a", "add"),
            ("e / Enter", "edit"),
            ("m", "mute"),
            ("d / Del", "remove"),
            ("S", "save to profile"),
            ("Esc", "close"),
        ],
    ));
    lines
}

/// The seek dialog of a recording being played.
fn seek_to<'a>(model: &Model, t: &Theme, text: &str) -> (&'static str, Vec<Line<'a>>, u16) {
    (
        "go to time",
        vec![
            Line::from(match &model.playback {
                Some(p) => format!(
                    "The recording runs from {} to {} (UTC).",
                    crate::tui::model::clock_text(p.start),
                    crate::tui::model::clock_text(p.end)
                ),
                None => String::new(),
            }),
            Line::from(vec![
                Span::styled("time: ", t.label),
                Span::styled(
                    format!("{}▏", crate::sanitize::line(text.as_bytes())),
                    t.value,
                ),
            ]),
            Line::from(Span::styled(
                "HH:MM:SS, 2026-12-03T10:22:05Z, or +90s from the start",
                t.dim,
            )),
            keys(
                t,
                &[("Enter", "go"), ("Ctrl-U", "clear"), ("Esc", "cancel")],
            ),
        ],
        70,
    )
}
