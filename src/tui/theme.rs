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
        }
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
        }
    }

    pub fn json(&self, kind: TokenKind) -> Style {
        match kind {
            TokenKind::Key => self.json_key,
            TokenKind::String => self.json_string,
            TokenKind::Number => self.json_number,
            TokenKind::Literal => self.json_literal,
            TokenKind::Punct | TokenKind::Space => self.json_punct,
        }
    }
}
