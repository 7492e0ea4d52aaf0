//! The one line editor every text input of the explorer uses (the topic filter, the log
//! search, the dialogs' lines, the publish form's fields, the picker's URL), so the same keys
//! edit everywhere: characters, Backspace, Ctrl-U clears, Ctrl-W deletes the last word; Enter
//! and Esc end the edit, and the caller decides what they mean.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key did to a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    /// The text changed.
    Changed,
    /// Enter.
    Submit,
    /// Esc.
    Cancel,
    /// Not an editing key: the caller may give it a meaning (Tab, arrows, Ctrl-S…).
    Other,
}

/// Applies `key` to `text`.
pub fn edit_line(text: &mut String, key: &KeyEvent) -> Edit {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let alt = key.modifiers.contains(KeyModifiers::ALT);
    match key.code {
        KeyCode::Esc => Edit::Cancel,
        KeyCode::Enter => Edit::Submit,
        KeyCode::Backspace if text.pop().is_some() => Edit::Changed,
        KeyCode::Char('u') if ctrl && !text.is_empty() => {
            text.clear();
            Edit::Changed
        }
        KeyCode::Char('w') if ctrl && !text.is_empty() => {
            // The separators at the end, then the word before them.
            let word_end = text.trim_end_matches([' ', '/']).len();
            let kept = text[..word_end].rfind([' ', '/']).map_or(0, |i| i + 1);
            text.truncate(kept);
            Edit::Changed
        }
        KeyCode::Char(c) if !ctrl && !alt => {
            text.push(c);
            Edit::Changed
        }
        _ => Edit::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn ctrl(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
    }

    #[test]
    fn the_same_keys_edit_every_line() {
        let mut t = String::new();
        for c in "温度/été 🌡".chars() {
            assert_eq!(edit_line(&mut t, &key(KeyCode::Char(c))), Edit::Changed);
        }
        assert_eq!(t, "温度/été 🌡");
        assert_eq!(edit_line(&mut t, &key(KeyCode::Backspace)), Edit::Changed);
        assert_eq!(t, "温度/été ", "one character, not one byte");
        assert_eq!(edit_line(&mut t, &ctrl('w')), Edit::Changed);
        assert_eq!(t, "温度/");
        assert_eq!(edit_line(&mut t, &ctrl('w')), Edit::Changed);
        assert_eq!(t, "");
        assert_eq!(
            edit_line(&mut t, &key(KeyCode::Backspace)),
            Edit::Other,
            "nothing to delete"
        );
        t.push_str("abc");
        assert_eq!(edit_line(&mut t, &ctrl('u')), Edit::Changed);
        assert_eq!(t, "");
        assert_eq!(edit_line(&mut t, &key(KeyCode::Enter)), Edit::Submit);
        assert_eq!(edit_line(&mut t, &key(KeyCode::Esc)), Edit::Cancel);
        assert_eq!(edit_line(&mut t, &key(KeyCode::Tab)), Edit::Other);
        assert_eq!(edit_line(&mut t, &ctrl('s')), Edit::Other);
        assert_eq!(t, "");
    }
}
