//! Dialogs that act on the broker: publish, live subscriptions, clearing retained messages,
//! saving a payload: their state, and the one-line input they share. While one is open it
//! gets every key (see `model::dialogs`); what it decides leaves as commands.

pub mod publish;
pub mod rules;
pub mod subs;

use bytes::Bytes;
use crossterm::event::KeyEvent;

use super::input::Edit;

use publish::PublishForm;
use subs::SubsDialog;

#[derive(Debug, Clone)]
pub enum Dialog {
    Publish(PublishForm),
    Subscriptions(SubsDialog),
    /// Clear the retained messages of these topics (under `under`)?
    ConfirmClean {
        under: String,
        topics: Vec<String>,
    },
    /// Where to write the shown payload.
    Save {
        path: String,
        bytes: Bytes,
    },
    /// The name to save this connection under.
    SaveProfile {
        name: String,
    },
    /// The recorded time to go to.
    SeekTo {
        text: String,
    },
    /// The alert rules and schema checks.
    Rules(rules::RulesDialog),
}

/// What a key did to a one-line input.
pub enum LineKey {
    Cancel,
    /// Enter on a non-blank line.
    Done,
    Edited,
}

/// Edits a one-line input: characters, Backspace, Ctrl-U clears; Enter and Esc end it.
pub fn line_key(text: &mut String, key: KeyEvent) -> LineKey {
    match super::input::edit_line(text, &key) {
        Edit::Cancel => LineKey::Cancel,
        Edit::Submit if !text.trim().is_empty() => LineKey::Done,
        _ => LineKey::Edited,
    }
}
