//! The keymap as data: `(pane, key) → action`. Help and the hint line are generated from it,
//! so they never drift from what the keys do.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// A pane, or `Global` for keys that work everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pane {
    Global,
    Topics,
    Inspector,
    Timeline,
    Log,
    Anomalies,
    Charts,
    Sys,
}

impl Pane {
    pub fn from_name(name: &str) -> Option<Self> {
        [
            Pane::Global,
            Pane::Topics,
            Pane::Inspector,
            Pane::Timeline,
            Pane::Log,
            Pane::Anomalies,
            Pane::Charts,
            Pane::Sys,
        ]
        .into_iter()
        .find(|p| p.title() == name)
    }

    pub fn title(self) -> &'static str {
        match self {
            Pane::Global => "global",
            Pane::Topics => "topics",
            Pane::Inspector => "inspector",
            Pane::Timeline => "timeline",
            Pane::Log => "log",
            Pane::Anomalies => "anomalies",
            Pane::Charts => "charts",
            Pane::Sys => "sys",
        }
    }
}

/// Declares every action once: its variant, its name in the config file's `[keys.PANE]`
/// tables, and what help says it does.
macro_rules! actions {
    ($($variant:ident => $name:literal, $describe:literal;)*) => {
        /// What the user meant.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Action {
            $($variant,)*
        }

        impl Action {
            /// Every action, in help order.
            pub const ALL: &'static [Action] = &[$(Action::$variant,)*];

            /// The action's name in the config file.
            pub fn name(self) -> &'static str {
                match self {
                    $(Action::$variant => $name,)*
                }
            }

            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $($name => Some(Action::$variant),)*
                    _ => None,
                }
            }

            /// What help says the action does.
            pub fn describe(self) -> &'static str {
                match self {
                    $(Action::$variant => $describe,)*
                }
            }
        }
    };
}

actions! {
    Quit => "quit", "quit";
    FocusNext => "focus_next", "next pane";
    FocusPrev => "focus_prev", "previous pane";
    Pause => "pause", "pause view (ingestion goes on)";
    Help => "help", "help";
    CopyPayload => "copy_payload", "copy payload (OSC 52)";
    Up => "up", "up";
    Down => "down", "down";
    Left => "left", "close / go to parent";
    Right => "right", "open";
    Toggle => "toggle", "open or close";
    ExpandSubtree => "expand_subtree", "expand subtree";
    CollapseAll => "collapse_all", "collapse all";
    Parent => "parent", "jump to parent";
    First => "first", "first";
    Last => "last", "last";
    PageUp => "page_up", "page up";
    PageDown => "page_down", "page down";
    Filter => "filter", "filter topics (text or +/# filter)";
    ClearFilter => "clear_filter", "clear filter";
    CycleView => "cycle_view", "view: auto/text/json/xml/hex";
    ToggleDiff => "toggle_diff", "diff to previous message";
    OlderMessage => "older_message", "older message";
    NewerMessage => "newer_message", "newer message";
    Zoom => "zoom", "zoom the focused pane";
    Reconnect => "reconnect", "reconnect now (skip the backoff)";
    ToggleConnection => "toggle_connection", "disconnect / connect";
    Details => "details", "details of the selected attempt";
    SwitchTab => "switch_tab", "log lines / packet log";
    CycleLevel => "cycle_level", "log level: error … trace";
    CyclePacketFilter => "cycle_packet_filter", "packets: all / PUBLISH / control";
    JumpToPacket => "jump_to_packet", "open its PUBLISH in the packet log";
    JumpToMessage => "jump_to_message", "show this PUBLISH's message in the inspector";
    Doctor => "doctor", "run the doctor on this broker";
    Publish => "publish", "publish (topic from selection)";
    Republish => "republish", "republish the shown message";
    Subscriptions => "subscriptions", "subscriptions: list/add/remove";
    Rules => "rules", "alert rules and schema checks: list/add/edit/mute/remove/save";
    ClearRetained => "clear_retained", "clear retained at and below";
    CopyTopic => "copy_topic", "copy topic (OSC 52)";
    Record => "record", "record the session to a file / stop";
    ExportHistory => "export_history", "export kept history to CSV";
    PlaybackSpeed => "playback_speed", "recording: speed 1× / 10× / max";
    SeekBack => "seek_back", "recording: back 10 s";
    SeekForward => "seek_forward", "recording: forward 10 s";
    SeekTo => "seek_to", "recording: go to a time";
    CopyMessage => "copy_message", "copy message as JSON";
    SavePayload => "save_payload", "save payload to a file";
    SaveProfile => "save_profile", "save this broker as a profile";
    ToggleAnomalies => "toggle_anomalies", "anomalies list (in the log's place)";
    JumpToAnomaly => "jump_to_anomaly", "go to its topic and message";
    MuteTopic => "mute_topic", "mute this topic's anomalies";
    MuteLevel => "mute_level", "mute anomalies at and below its level";
    ToggleChart => "toggle_chart", "chart the topic's values (in the inspector)";
    TypeField => "type_field", "chart: type the field to plot (a.b[0])";
    OverlayField => "overlay_field", "chart: keep this field drawn / take it off";
    PinSeries => "pin_series", "pin the charted field to the charts pane";
    ToggleCharts => "toggle_charts", "charts pane: pinned series (in the log's place)";
    Unpin => "unpin", "take the series off";
    ToggleScale => "toggle_scale", "one value axis / each series its own";
    ShowSeries => "show_series", "chart its topic in the inspector";
    ToggleSys => "toggle_sys", "the broker's $SYS statistics (in the log's place)";
}

/// A key as written in help: `q`, `Ctrl-c`, `Tab`, `PgDn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
}

impl Key {
    pub const fn plain(code: KeyCode) -> Self {
        Self { code, ctrl: false }
    }

    pub const fn ch(c: char) -> Self {
        Self::plain(KeyCode::Char(c))
    }

    pub const fn ctrl(c: char) -> Self {
        Self {
            code: KeyCode::Char(c),
            ctrl: true,
        }
    }

    /// A key as the config file writes it: `q`, `Ctrl-c`, `Enter`, `S-Tab`, `PgDn`, `F5`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (ctrl, rest) = match text
            .strip_prefix("Ctrl-")
            .or_else(|| text.strip_prefix("C-"))
        {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCode::Char(c),
            _ => match rest.to_ascii_lowercase().as_str() {
                "enter" | "return" => KeyCode::Enter,
                "esc" | "escape" => KeyCode::Esc,
                "tab" => KeyCode::Tab,
                "s-tab" | "backtab" => KeyCode::BackTab,
                "space" => KeyCode::Char(' '),
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                "pgup" | "pageup" => KeyCode::PageUp,
                "pgdn" | "pagedown" => KeyCode::PageDown,
                "del" | "delete" => KeyCode::Delete,
                "ins" | "insert" => KeyCode::Insert,
                "bksp" | "backspace" => KeyCode::Backspace,
                f if f.starts_with('f')
                    && f[1..].parse::<u8>().is_ok_and(|n| (1..=12).contains(&n)) =>
                {
                    KeyCode::F(f[1..].parse().unwrap_or(1))
                }
                _ => {
                    return Err(format!(
                        "{text:?} is not a key: a character, Ctrl-x, Enter, Esc, Tab, S-Tab, \
                         Space, Up, Down, Left, Right, Home, End, PgUp, PgDn, Del, Ins, Bksp, \
                         F1-F12"
                    ));
                }
            },
        };
        if ctrl && !matches!(code, KeyCode::Char(_)) {
            return Err(format!(
                "{text:?}: Ctrl- goes with a character, as in Ctrl-c"
            ));
        }
        Ok(Self { code, ctrl })
    }

    pub fn from_event(event: &KeyEvent) -> Self {
        Self {
            code: event.code,
            ctrl: event.modifiers.contains(KeyModifiers::CONTROL),
        }
    }

    pub fn label(self) -> String {
        let name = match self.code {
            KeyCode::Char(' ') => "Space".to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Enter => "Enter".into(),
            KeyCode::Tab => "Tab".into(),
            KeyCode::BackTab => "S-Tab".into(),
            KeyCode::Esc => "Esc".into(),
            KeyCode::Backspace => "Bksp".into(),
            KeyCode::Up => "↑".into(),
            KeyCode::Down => "↓".into(),
            KeyCode::Left => "←".into(),
            KeyCode::Right => "→".into(),
            KeyCode::Home => "Home".into(),
            KeyCode::End => "End".into(),
            KeyCode::PageUp => "PgUp".into(),
            KeyCode::PageDown => "PgDn".into(),
            KeyCode::Delete => "Del".into(),
            KeyCode::Insert => "Ins".into(),
            KeyCode::F(n) => format!("F{n}"),
            other => format!("{other:?}"),
        };
        if self.ctrl {
            format!("Ctrl-{name}")
        } else {
            name
        }
    }
}

/// The bindings, in the order help lists them.
#[derive(Debug, Clone)]
pub struct Keymap {
    bindings: Vec<(Pane, Key, Action)>,
}

impl Default for Keymap {
    #[expect(clippy::too_many_lines, reason = "the table of default bindings")]
    fn default() -> Self {
        // Long by design: the table of default bindings.
        use Action as A;
        use KeyCode as K;
        use Pane::{
            Anomalies as AN, Charts as CH, Global as G, Inspector as I, Log as L, Timeline as TL,
            Topics as T,
        };
        let b = |pane, key, action| (pane, key, action);
        Self {
            bindings: vec![
                b(G, Key::ch('q'), A::Quit),
                b(G, Key::ctrl('c'), A::Quit),
                b(G, Key::plain(K::Tab), A::FocusNext),
                b(G, Key::plain(K::BackTab), A::FocusPrev),
                b(G, Key::ch('p'), A::Pause),
                b(G, Key::ch('?'), A::Help),
                b(G, Key::ch('y'), A::CopyPayload),
                b(G, Key::ch('v'), A::CycleView),
                b(G, Key::ch('d'), A::ToggleDiff),
                b(G, Key::ch('['), A::OlderMessage),
                b(G, Key::ch(']'), A::NewerMessage),
                b(G, Key::ch('z'), A::Zoom),
                b(G, Key::ch('r'), A::Reconnect),
                b(G, Key::ch('c'), A::ToggleConnection),
                b(G, Key::ch('D'), A::Doctor),
                b(G, Key::ch('P'), A::Publish),
                b(G, Key::ch('R'), A::Republish),
                b(G, Key::ch('s'), A::Subscriptions),
                b(G, Key::ch('!'), A::Rules),
                b(G, Key::ch('Y'), A::CopyTopic),
                b(G, Key::ch('J'), A::CopyMessage),
                b(G, Key::ch('w'), A::SavePayload),
                b(G, Key::ch('S'), A::SaveProfile),
                b(G, Key::ch('A'), A::ToggleAnomalies),
                b(G, Key::ch('W'), A::Record),
                b(G, Key::ch('E'), A::ExportHistory),
                b(G, Key::ch('f'), A::PlaybackSpeed),
                b(G, Key::ch('<'), A::SeekBack),
                b(G, Key::ch('>'), A::SeekForward),
                b(G, Key::ch(':'), A::SeekTo),
                b(G, Key::ch('g'), A::ToggleChart),
                b(G, Key::ch('F'), A::TypeField),
                b(G, Key::ch('O'), A::OverlayField),
                b(G, Key::ch('+'), A::PinSeries),
                b(G, Key::ch('G'), A::ToggleCharts),
                b(G, Key::ch('B'), A::ToggleSys),
                b(T, Key::plain(K::Up), A::Up),
                b(T, Key::ch('k'), A::Up),
                b(T, Key::plain(K::Down), A::Down),
                b(T, Key::ch('j'), A::Down),
                b(T, Key::plain(K::Left), A::Left),
                b(T, Key::ch('h'), A::Left),
                b(T, Key::plain(K::Right), A::Right),
                b(T, Key::ch('l'), A::Right),
                b(T, Key::plain(K::Enter), A::Toggle),
                b(T, Key::ch(' '), A::Toggle),
                b(T, Key::ch('e'), A::ExpandSubtree),
                b(T, Key::ch('C'), A::CollapseAll),
                b(T, Key::ch('u'), A::Parent),
                b(T, Key::plain(K::Backspace), A::Parent),
                b(T, Key::plain(K::Home), A::First),
                b(T, Key::plain(K::End), A::Last),
                b(T, Key::plain(K::PageUp), A::PageUp),
                b(T, Key::plain(K::PageDown), A::PageDown),
                b(T, Key::ch('/'), A::Filter),
                b(T, Key::plain(K::Esc), A::ClearFilter),
                b(T, Key::plain(K::Delete), A::ClearRetained),
                b(T, Key::ch('x'), A::ClearRetained),
                b(I, Key::plain(K::Up), A::Up),
                b(I, Key::ch('k'), A::Up),
                b(I, Key::plain(K::Down), A::Down),
                b(I, Key::ch('j'), A::Down),
                b(I, Key::plain(K::PageUp), A::PageUp),
                b(I, Key::plain(K::PageDown), A::PageDown),
                b(I, Key::plain(K::Home), A::First),
                b(I, Key::plain(K::End), A::Last),
                b(I, Key::plain(K::Left), A::OlderMessage),
                b(I, Key::plain(K::Right), A::NewerMessage),
                b(I, Key::ch('o'), A::JumpToPacket),
                b(TL, Key::plain(K::Up), A::Up),
                b(TL, Key::ch('k'), A::Up),
                b(TL, Key::plain(K::Down), A::Down),
                b(TL, Key::ch('j'), A::Down),
                b(TL, Key::plain(K::Home), A::First),
                b(TL, Key::plain(K::End), A::Last),
                b(TL, Key::plain(K::Enter), A::Details),
                b(L, Key::plain(K::Up), A::Up),
                b(L, Key::ch('k'), A::Up),
                b(L, Key::plain(K::Down), A::Down),
                b(L, Key::ch('j'), A::Down),
                b(L, Key::plain(K::PageUp), A::PageUp),
                b(L, Key::plain(K::PageDown), A::PageDown),
                b(L, Key::plain(K::Home), A::First),
                b(L, Key::plain(K::End), A::Last),
                b(L, Key::ch('t'), A::SwitchTab),
                b(L, Key::ch('L'), A::CycleLevel),
                b(L, Key::ch('T'), A::CyclePacketFilter),
                b(L, Key::ch('/'), A::Filter),
                b(L, Key::plain(K::Esc), A::ClearFilter),
                b(L, Key::plain(K::Enter), A::JumpToMessage),
                b(AN, Key::plain(K::Up), A::Up),
                b(AN, Key::ch('k'), A::Up),
                b(AN, Key::plain(K::Down), A::Down),
                b(AN, Key::ch('j'), A::Down),
                b(AN, Key::plain(K::PageUp), A::PageUp),
                b(AN, Key::plain(K::PageDown), A::PageDown),
                b(AN, Key::plain(K::Home), A::First),
                b(AN, Key::plain(K::End), A::Last),
                b(AN, Key::plain(K::Enter), A::JumpToAnomaly),
                b(AN, Key::ch('m'), A::MuteTopic),
                b(AN, Key::ch('M'), A::MuteLevel),
                b(CH, Key::plain(K::Up), A::Up),
                b(CH, Key::ch('k'), A::Up),
                b(CH, Key::plain(K::Down), A::Down),
                b(CH, Key::ch('j'), A::Down),
                b(CH, Key::plain(K::Home), A::First),
                b(CH, Key::plain(K::End), A::Last),
                b(CH, Key::plain(K::Enter), A::ShowSeries),
                b(CH, Key::ch('x'), A::Unpin),
                b(CH, Key::plain(K::Delete), A::Unpin),
                b(CH, Key::ch('-'), A::Unpin),
                b(CH, Key::ch('s'), A::ToggleScale),
            ],
        }
    }
}

impl Keymap {
    /// The action for a key in the focused pane; pane bindings win over global ones.
    pub fn action(&self, pane: Pane, key: Key) -> Option<Action> {
        let find = |p: Pane| {
            self.bindings
                .iter()
                .find(|(bp, bk, _)| *bp == p && *bk == key)
                .map(|(_, _, a)| *a)
        };
        find(pane).or_else(|| find(Pane::Global))
    }

    /// Every binding of a pane as (keys, description), keys of one action joined by `/`.
    pub fn help(&self, pane: Pane) -> Vec<(String, &'static str)> {
        let mut out: Vec<(Action, Vec<String>)> = Vec::new();
        for (p, key, action) in &self.bindings {
            if *p != pane {
                continue;
            }
            match out.iter_mut().find(|(a, _)| a == action) {
                Some((_, keys)) => keys.push(key.label()),
                None => out.push((*action, vec![key.label()])),
            }
        }
        out.into_iter()
            .map(|(a, keys)| (keys.join("/"), a.describe()))
            .collect()
    }

    /// The first key of an action in a pane (or globally), for hints.
    pub fn key_for(&self, pane: Pane, action: Action) -> Option<Key> {
        let find = |want: Pane| {
            self.bindings
                .iter()
                .find(|(p, _, a)| *a == action && *p == want)
                .map(|(_, k, _)| *k)
        };
        find(pane).or_else(|| find(Pane::Global))
    }

    /// Replaces the keys of an action in a pane (config overrides).
    pub fn rebind(&mut self, pane: Pane, action: Action, keys: &[Key]) {
        // The new keys take the place of the old ones, so help keeps its order.
        let at = self
            .bindings
            .iter()
            .position(|(p, _, a)| *p == pane && *a == action)
            .unwrap_or(self.bindings.len());
        self.bindings
            .retain(|(p, _, a)| !(*p == pane && *a == action));
        let at = at.min(self.bindings.len());
        for (i, key) in keys.iter().enumerate() {
            self.bindings.insert(at + i, (pane, *key, action));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn pane_bindings_win_over_global_ones() {
        let km = Keymap::default();
        assert_eq!(km.action(Pane::Topics, Key::ch('j')), Some(Action::Down));
        assert_eq!(km.action(Pane::Inspector, Key::ch('q')), Some(Action::Quit));
        assert_eq!(
            km.action(Pane::Inspector, Key::plain(KeyCode::Left)),
            Some(Action::OlderMessage)
        );
        assert_eq!(km.action(Pane::Topics, Key::ch('X')), None);
        assert_eq!(km.action(Pane::Log, Key::ch('z')), Some(Action::Zoom));
    }

    #[test]
    fn help_joins_keys_of_one_action() {
        let km = Keymap::default();
        let help = km.help(Pane::Topics);
        assert_eq!(help[0], ("↑/k".to_string(), "up"));
        assert!(
            help.iter()
                .any(|(k, d)| k == "Enter/Space" && *d == "open or close")
        );
    }

    #[test]
    fn keys_and_actions_parse_as_the_config_writes_them() {
        assert_eq!(Key::parse("Ctrl-c"), Ok(Key::ctrl('c')));
        assert_eq!(Key::parse("PgDn"), Ok(Key::plain(KeyCode::PageDown)));
        assert_eq!(Key::parse("F5"), Ok(Key::plain(KeyCode::F(5))));
        assert_eq!(Key::parse("x"), Ok(Key::ch('x')));
        assert!(Key::parse("Ctrl-Up").is_err());
        assert!(Key::parse("Hyper").unwrap_err().contains("not a key"));
        for &a in Action::ALL {
            assert_eq!(Action::from_name(a.name()), Some(a), "{a:?}");
        }
        assert_eq!(
            Action::from_name("clear_retained"),
            Some(Action::ClearRetained)
        );
        assert_eq!(Pane::from_name("topics"), Some(Pane::Topics));
    }

    #[test]
    fn rebinding_changes_help() {
        let mut km = Keymap::default();
        km.rebind(Pane::Global, Action::Quit, &[Key::ch('x')]);
        assert_eq!(km.action(Pane::Topics, Key::ch('q')), None);
        assert_eq!(km.help(Pane::Global)[0], ("x".to_string(), "quit"));
    }
}
