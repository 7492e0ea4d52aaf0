//! The profile picker: `mqscope` alone, with saved profiles and no broker given, asks which
//! one to open (or a URL to connect to).

use std::io;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Paragraph};

use super::input::Edit;
use super::theme::Theme;
use crate::config::{Config, ProfileChoice};

/// One row: a profile, or the "connect to a URL" entry at the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub name: String,
    pub url: String,
    pub user: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Picker {
    pub rows: Vec<Row>,
    pub selected: usize,
    /// The URL being typed once the last entry is chosen.
    pub url: Option<String>,
}

impl Picker {
    pub fn new(config: &Config) -> Self {
        Self {
            rows: config
                .profiles
                .iter()
                .map(|(name, p)| Row {
                    name: name.clone(),
                    url: p.url.clone(),
                    user: p.username.clone(),
                })
                .collect(),
            selected: 0,
            url: None,
        }
    }

    /// A key; `Some(None)` quits, `Some(Some(choice))` is the answer.
    pub fn on_key(&mut self, key: KeyEvent) -> Option<Option<ProfileChoice>> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if let Some(url) = &mut self.url {
            if key.code == KeyCode::Char('c') && ctrl {
                return Some(None);
            }
            match super::input::edit_line(url, &key) {
                Edit::Cancel => self.url = None,
                Edit::Submit if !url.trim().is_empty() => {
                    return Some(Some(ProfileChoice::Url(url.trim().to_string())));
                }
                _ => {}
            }
            return None;
        }
        let last = self.rows.len();
        match key.code {
            KeyCode::Char('q') | KeyCode::Esc => return Some(None),
            KeyCode::Char('c') if ctrl => return Some(None),
            KeyCode::Up | KeyCode::Char('k') => self.selected = self.selected.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => self.selected = (self.selected + 1).min(last),
            KeyCode::Home => self.selected = 0,
            KeyCode::End => self.selected = last,
            KeyCode::Char('u') => {
                self.selected = last;
                self.url = Some("mqtt://".into());
            }
            KeyCode::Enter => {
                if self.selected == last {
                    self.url = Some("mqtt://".into());
                } else {
                    return Some(Some(ProfileChoice::Profile(
                        self.rows[self.selected].name.clone(),
                    )));
                }
            }
            _ => {}
        }
        None
    }
}

pub fn render(picker: &Picker, theme: &Theme, frame: &mut Frame<'_>) {
    let area = frame.area();
    let [body, hints] = Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(area);
    let mut lines = vec![Line::styled(
        "Saved brokers (from the config file):",
        theme.label,
    )];
    for (i, row) in picker.rows.iter().enumerate() {
        let marker = if i == picker.selected { "▶ " } else { "  " };
        let style = if i == picker.selected {
            theme.selected
        } else {
            ratatui::style::Style::default()
        };
        let mut spans = vec![
            Span::styled(marker, theme.key),
            Span::styled(format!("{:<20} ", row.name), style),
            Span::styled(row.url.clone(), theme.value),
        ];
        if let Some(user) = &row.user {
            spans.push(Span::styled(format!("  as {user}"), theme.dim));
        }
        lines.push(Line::from(spans));
    }
    let on_url = picker.selected == picker.rows.len();
    lines.push(Line::from(vec![
        Span::styled(if on_url { "▶ " } else { "  " }, theme.key),
        Span::styled(
            "connect to a URL…",
            if on_url { theme.selected } else { theme.label },
        ),
    ]));
    if let Some(url) = &picker.url {
        lines.push(Line::from(""));
        lines.push(Line::from(vec![
            Span::styled("URL: ", theme.title),
            Span::styled(format!("{url}▏"), theme.value),
        ]));
        lines.push(Line::styled(
            "mqtt://, mqtts://, ws:// or wss://host[:port][/path] · Enter connects · Esc back",
            theme.dim,
        ));
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(theme.border_focused)
        .title(Span::styled(" mqscope · pick a broker ", theme.title));
    frame.render_widget(Paragraph::new(lines).block(block), body);
    frame.render_widget(
        Paragraph::new(Line::styled(
            " ↑↓ choose  Enter open  u a URL  q quit   (mqscope -P NAME skips this)",
            theme.dim,
        )),
        hints,
    );
}

/// Shows the picker until the user chooses or quits.
pub fn pick(config: &Config) -> io::Result<Option<ProfileChoice>> {
    use std::io::IsTerminal;
    if !io::stdout().is_terminal() || !io::stdin().is_terminal() {
        return Err(io::Error::other(
            "the explorer needs a terminal; for scripts use `mqscope sub` (see --help)",
        ));
    }
    let theme = if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        Theme::plain()
    } else {
        super::settings::theme(config)
    };
    let _guard = super::terminal::TerminalGuard::enter()?;
    let mut terminal =
        ratatui::Terminal::new(ratatui::backend::CrosstermBackend::new(io::stdout()))?;
    let mut picker = Picker::new(config);
    loop {
        terminal.draw(|f| render(&picker, &theme, f))?;
        if let Event::Key(key) = crossterm::event::read()? {
            if key.kind == KeyEventKind::Release {
                continue;
            }
            if let Some(answer) = picker.on_key(key) {
                return Ok(answer);
            }
        }
    }
}
