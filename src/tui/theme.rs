//! Colours in one place: panes ask the theme, never name a colour.

use ratatui::style::{Color, Modifier, Style};

use crate::payload::TokenKind;

#[derive(Debug, Clone)]
pub struct Theme {
    pub border: Style,
    pub border_focused: Style,
    pub title: Style,
    pub selected: Style,
    pub segment: Style,
    pub counts: Style,
    pub preview: Style,
    pub retained: Style,
    pub changed: Style,
    pub dim: Style,
    pub label: Style,
    pub value: Style,
    pub status: Style,
    pub ok: Style,
    pub warn: Style,
    pub error: Style,
    pub key: Style,
    pub json_key: Style,
    pub json_string: Style,
    pub json_number: Style,
    pub json_literal: Style,
    pub json_punct: Style,
    pub added: Style,
    pub removed: Style,
    pub hex_offset: Style,
    pub hex_changed: Style,
    /// One colour per charted series, in pin order; all alike without colours (the
    /// charts then tell series apart by their markers).
    pub series: [Style; 6],
}

impl Default for Theme {
    fn default() -> Self {
        Self::dark()
    }
}

impl Theme {
    pub fn dark() -> Self {
        let fg = Style::default();
        Self {
            border: fg.fg(Color::DarkGray),
            border_focused: fg.fg(Color::Cyan),
            title: fg.add_modifier(Modifier::BOLD),
            selected: fg.bg(Color::DarkGray).add_modifier(Modifier::BOLD),
            segment: fg,
            counts: fg.fg(Color::DarkGray),
            preview: fg.fg(Color::Gray),
            retained: fg.fg(Color::Magenta),
            changed: fg.fg(Color::Yellow).add_modifier(Modifier::BOLD),
            dim: fg.fg(Color::DarkGray),
            label: fg.fg(Color::Gray),
            value: fg.add_modifier(Modifier::BOLD),
            status: fg.bg(Color::Black),
            ok: fg.fg(Color::Green),
            warn: fg.fg(Color::Yellow),
            error: fg.fg(Color::Red).add_modifier(Modifier::BOLD),
            key: fg.fg(Color::Cyan).add_modifier(Modifier::BOLD),
            json_key: fg.fg(Color::Cyan),
            json_string: fg.fg(Color::Green),
            json_number: fg.fg(Color::Yellow),
            json_literal: fg.fg(Color::Magenta),
            json_punct: fg.fg(Color::DarkGray),
            added: fg.fg(Color::Green),
            removed: fg.fg(Color::Red),
            hex_offset: fg.fg(Color::DarkGray),
            hex_changed: fg.fg(Color::Yellow).add_modifier(Modifier::BOLD),
            series: [
                fg.fg(Color::Cyan),
                fg.fg(Color::Yellow),
                fg.fg(Color::Magenta),
                fg.fg(Color::Green),
                fg.fg(Color::LightRed),
                fg.fg(Color::LightBlue),
            ],
        }
    }

    /// For light terminal backgrounds: dark text, no grey on white.
    pub fn light() -> Self {
        let fg = Style::default();
        Self {
            border: fg.fg(Color::Gray),
            border_focused: fg.fg(Color::Blue),
            title: fg.add_modifier(Modifier::BOLD),
            selected: fg.bg(Color::Indexed(254)).add_modifier(Modifier::BOLD),
            segment: fg,
            counts: fg.fg(Color::Indexed(242)),
            preview: fg.fg(Color::Indexed(238)),
            retained: fg.fg(Color::Magenta),
            changed: fg.fg(Color::Indexed(130)).add_modifier(Modifier::BOLD),
            dim: fg.fg(Color::Indexed(244)),
            label: fg.fg(Color::Indexed(240)),
            value: fg.add_modifier(Modifier::BOLD),
            status: fg.bg(Color::Indexed(254)),
            ok: fg.fg(Color::Indexed(28)),
            warn: fg.fg(Color::Indexed(130)),
            error: fg.fg(Color::Red).add_modifier(Modifier::BOLD),
            key: fg.fg(Color::Blue).add_modifier(Modifier::BOLD),
            json_key: fg.fg(Color::Blue),
            json_string: fg.fg(Color::Indexed(28)),
            json_number: fg.fg(Color::Indexed(130)),
            json_literal: fg.fg(Color::Magenta),
            json_punct: fg.fg(Color::Indexed(244)),
            added: fg.fg(Color::Indexed(28)),
            removed: fg.fg(Color::Red),
            hex_offset: fg.fg(Color::Indexed(244)),
            hex_changed: fg.fg(Color::Indexed(130)).add_modifier(Modifier::BOLD),
            series: [
                fg.fg(Color::Blue),
                fg.fg(Color::Indexed(130)),
                fg.fg(Color::Magenta),
                fg.fg(Color::Indexed(28)),
                fg.fg(Color::Red),
                fg.fg(Color::Indexed(30)),
            ],
        }
    }

    /// The parts a config file may colour (`[theme.colors]`).
    pub const PARTS: [&'static str; 22] = [
        "border",
        "border_focused",
        "title",
        "selected",
        "counts",
        "preview",
        "retained",
        "changed",
        "dim",
        "label",
        "value",
        "ok",
        "warn",
        "error",
        "key",
        "json_key",
        "json_string",
        "json_number",
        "json_literal",
        "added",
        "removed",
        "status",
    ];

    /// Colours one part: the background for the selection and the status bar, else the text.
    pub fn set_colour(&mut self, part: &str, colour: Color) {
        let style = match part {
            "border" => &mut self.border,
            "border_focused" => &mut self.border_focused,
            "title" => &mut self.title,
            "selected" => {
                self.selected = self.selected.bg(colour);
                return;
            }
            "status" => {
                self.status = self.status.bg(colour);
                return;
            }
            "counts" => &mut self.counts,
            "preview" => &mut self.preview,
            "retained" => &mut self.retained,
            "changed" => &mut self.changed,
            "dim" => &mut self.dim,
            "label" => &mut self.label,
            "value" => &mut self.value,
            "ok" => &mut self.ok,
            "warn" => &mut self.warn,
            "error" => &mut self.error,
            "key" => &mut self.key,
            "json_key" => &mut self.json_key,
            "json_string" => &mut self.json_string,
            "json_number" => &mut self.json_number,
            "json_literal" => &mut self.json_literal,
            "added" => &mut self.added,
            "removed" => &mut self.removed,
            _ => return,
        };
        *style = style.fg(colour);
    }

    /// No colours at all (`NO_COLOR`): structure from modifiers only.
    pub fn plain() -> Self {
        let s = Style::default();
        let b = s.add_modifier(Modifier::BOLD);
        Self {
            border: s,
            border_focused: b,
            title: b,
            selected: s.add_modifier(Modifier::REVERSED),
            segment: s,
            counts: s,
            preview: s,
            retained: s,
            changed: b,
            dim: s,
            label: s,
            value: b,
            status: s,
            ok: s,
            warn: b,
            error: b,
            key: b,
            json_key: s,
            json_string: s,
            json_number: s,
            json_literal: s,
            json_punct: s,
            added: b,
            removed: s.add_modifier(Modifier::CROSSED_OUT),
            hex_offset: s,
            hex_changed: s.add_modifier(Modifier::REVERSED),
            series: [s; 6],
        }
    }

    pub fn json(&self, kind: TokenKind) -> Style {
        match kind {
            TokenKind::Key => self.json_key,
            TokenKind::String => self.json_string,
            TokenKind::Number => self.json_number,
            TokenKind::Literal => self.json_literal,
            TokenKind::Punct | TokenKind::Space => self.json_punct,
            TokenKind::Text => Style::default(),
        }
    }
}

const NAMES: [&str; 17] = [
    "black",
    "red",
    "green",
    "yellow",
    "blue",
    "magenta",
    "cyan",
    "gray",
    "darkgray",
    "lightred",
    "lightgreen",
    "lightyellow",
    "lightblue",
    "lightmagenta",
    "lightcyan",
    "white",
    "reset",
];

/// A colour as the config file names it: `blue`, `lightmagenta`, `darkgray`, `#1e90ff`, `208`.
pub fn parse_colour(text: &str) -> Result<Color, String> {
    let t = text.trim().to_ascii_lowercase();
    if let Ok(n) = t.parse::<u8>() {
        return Ok(Color::Indexed(n));
    }
    if t.starts_with('#') && t.len() == 7 {
        if let Ok(c) = t.parse::<Color>() {
            return Ok(c);
        }
    }
    if NAMES.contains(&t.as_str()) {
        if let Ok(c) = t.parse::<Color>() {
            return Ok(c);
        }
    }
    Err(format!(
        "{text:?} is not a colour: a name ({}), an index 0-255, or #rrggbb",
        NAMES.join(" ")
    ))
}
