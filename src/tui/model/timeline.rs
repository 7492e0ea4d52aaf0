//! The timeline pane's selection: which connection attempt is shown, with or without its
//! details.

use super::Model;
use crate::tui::keymap::Action;

pub(super) fn on_action(model: &mut Model, action: Action) {
    let last = model.timeline.attempts.len().saturating_sub(1);
    let s = &mut model.timeline_selected;
    match action {
        Action::Up => *s = s.saturating_sub(1),
        Action::Down => *s = (*s + 1).min(last),
        Action::First => *s = 0,
        Action::Last => *s = last,
        Action::Details => model.timeline_details = !model.timeline_details,
        _ => {}
    }
}
