//! The inspector's state: which message of the selected topic it shows and how, moving
//! through the topic's history, and copying what it shows.

use super::{Command, Model};
use crate::payload::Mode;
use crate::tui::keymap::{Action, Pane};

/// Which message of the selected topic the inspector shows, and how.
#[derive(Debug, Clone, Default)]
pub struct Inspector {
    pub mode: Mode,
    pub scroll: usize,
    pub diff: bool,
    /// The message shown, by sequence number; `None` follows the newest.
    pub pinned: Option<u64>,
}

/// Reveals `node` in the tree and shows its message `seq` in the focused inspector (the
/// newest, with a notice, when that one is no longer kept): the jumps from the packet log
/// and from the anomalies pane.
pub(super) fn show(model: &mut Model, node: crate::store::NodeId, seq: Option<u64>, diff: bool) {
    model.topics.reveal(&model.store, node);
    let newest = model.store.node(node).history().back().map(|m| m.seq);
    model.inspector = Inspector {
        mode: model.inspector.mode,
        diff: diff && seq.is_some(),
        scroll: 0,
        pinned: seq.filter(|s| Some(*s) != newest),
    };
    if seq.is_none() {
        model.notify("that message is no longer kept; showing the newest");
    }
    model.focus = Pane::Inspector;
    model.side = Pane::Inspector;
}

pub(super) fn on_action(model: &mut Model, action: Action) {
    let page = model.pages.inspector.max(1);
    let max = model.pages.inspector_max_scroll;
    let s = &mut model.inspector.scroll;
    match action {
        Action::Up => *s = s.saturating_sub(1),
        Action::Down => *s = s.saturating_add(1),
        Action::PageUp => *s = s.saturating_sub(page),
        Action::PageDown => *s = s.saturating_add(page),
        Action::First => *s = 0,
        Action::Last => *s = max,
        _ => {}
    }
    *s = (*s).min(max);
}

pub(super) fn step_history(model: &mut Model, action: Action) {
    let Some(id) = model.selected() else {
        return;
    };
    let Some(index) = model.shown_index() else {
        return;
    };
    let history = model.store.node(id).history();
    let target = match action {
        Action::OlderMessage => index.saturating_sub(1),
        _ => (index + 1).min(history.len() - 1),
    };
    model.inspector.pinned = if target + 1 == history.len() {
        None
    } else {
        Some(history[target].seq)
    };
    model.inspector.scroll = 0;
}

pub(super) fn copy_payload(model: &mut Model) -> Vec<Command> {
    let Some(id) = model.selected() else {
        return Vec::new();
    };
    let Some(index) = model.shown_index() else {
        model.notify("nothing to copy: no message on this topic");
        return Vec::new();
    };
    let node = model.store.node(id);
    let message = &node.history()[index];
    // On a topic with a decoder, in the decoded view: the decoded value as JSON.
    let decoded = model
        .decoders
        .for_topic(node.path())
        .filter(|_| model.inspector.mode == crate::payload::Mode::Auto)
        .and_then(|d| d.decode(&message.payload).ok().map(|v| (d.label(), v)));
    if let Some((label, value)) = decoded {
        let text = serde_json::to_string_pretty(&value.to_json()).unwrap_or_default();
        model.notify(format!(
            "copied the {label} value as JSON ({} bytes)",
            text.len()
        ));
        return vec![Command::Copy(text)];
    }
    let text = String::from_utf8_lossy(&message.payload).into_owned();
    let size = message.payload.len();
    model.notify(format!("copied {size} bytes to the clipboard"));
    vec![Command::Copy(text)]
}

pub(super) fn copy_topic(model: &mut Model) -> Vec<Command> {
    let Some(id) = model.selected() else {
        return Vec::new();
    };
    let topic = model.store.node(id).path().to_string();
    model.notify(format!("copied the topic {topic}"));
    vec![Command::Copy(topic)]
}

/// The shown message as one JSON object, as `mqscope sub --json` prints it.
pub(super) fn copy_message(model: &mut Model) -> Vec<Command> {
    let (Some(id), Some(index)) = (model.selected(), model.shown_index()) else {
        model.notify("nothing to copy: no message on this topic");
        return Vec::new();
    };
    let node = model.store.node(id);
    let message = node.history()[index].to_message(node.path());
    let mut json = crate::broker::message_json(&message);
    if let Some(d) = model.decoders.for_topic(node.path()) {
        crate::payload::decode::add_to_json(&mut json, d, &message.payload);
    }
    let json = json.to_string();
    model.notify(format!("copied the message as JSON ({} bytes)", json.len()));
    vec![Command::Copy(json)]
}
