//! Pointer events, after the view has resolved where they landed (which pane, which tree
//! row): the model never sees screen coordinates. Scrolling the tree's viewport with the
//! wheel moves no selection, so the view handles it alone.

use super::{Model, act, topics};
use crate::store::NodeId;
use crate::tui::keymap::{Action, Pane};

/// Where a pointer event landed and what it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pointer {
    /// A click in a pane; in the topics pane, on this row (if any).
    Click { pane: Pane, row: Option<NodeId> },
    /// The wheel over a pane (other than the tree), one notch.
    Wheel { pane: Pane, down: bool },
}

pub(super) fn on_pointer(model: &mut Model, pointer: Pointer) {
    match pointer {
        Pointer::Click {
            pane: Pane::Topics,
            row,
        } => {
            model.focus = Pane::Topics;
            let Some(id) = row else { return };
            let before = model.selected();
            if before == Some(id) {
                // A click on the selected row opens or closes it.
                if !model.store.node(id).children().is_empty() {
                    topics::toggle(&mut model.topics, id);
                }
            } else {
                model.topics.selected = Some(id);
                model.inspector.pinned = None;
                model.inspector.scroll = 0;
            }
        }
        Pointer::Click { pane, .. } => {
            model.focus = pane;
            model.side = pane;
        }
        Pointer::Wheel {
            pane: Pane::Inspector,
            down,
        } => {
            let s = model.inspector.scroll;
            model.inspector.scroll = if down {
                s.saturating_add(3).min(model.pages.inspector_max_scroll)
            } else {
                s.saturating_sub(3)
            };
        }
        Pointer::Wheel { pane, down } => {
            let before = model.focus;
            model.focus = pane;
            act(model, if down { Action::Down } else { Action::Up });
            model.focus = before;
        }
    }
}
