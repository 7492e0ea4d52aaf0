//! The anomalies pane's state and keys: open or closed (`A`), the selected anomaly (counted
//! from the newest, so new ones do not move it), the jump to its topic and message, and
//! muting from the list.

use super::Model;
use crate::tui::keymap::{Action, Pane};

#[derive(Debug, Clone, Default)]
pub struct AnomaliesPane {
    pub open: bool,
    /// The selected anomaly's id; `None` follows the newest.
    pub selected: Option<u64>,
}

/// Panes in Tab order: the anomalies and the charts take the log's turn, or follow it when
/// the screen shows all of them.
pub(super) fn focus_order(model: &Model) -> Vec<Pane> {
    let mut order = vec![Pane::Topics, Pane::Inspector, Pane::Timeline];
    let lists = model.anomalies.open || model.charts.open || model.sys_open;
    if !lists || model.pages.anomalies_beside_log {
        order.push(Pane::Log);
    }
    if model.anomalies.open {
        order.push(Pane::Anomalies);
    }
    if model.charts.open {
        order.push(Pane::Charts);
    }
    if model.sys_open {
        order.push(Pane::Sys);
    }
    order
}

/// `B`: the broker's `$SYS` statistics in the log's place, or closed again.
pub(super) fn toggle_sys(model: &mut Model) {
    model.sys_open = !model.sys_open;
    if model.sys_open {
        model.side = Pane::Sys;
    } else {
        if model.focus == Pane::Sys {
            model.focus = Pane::Topics;
        }
        if model.side == Pane::Sys {
            model.side = Pane::Inspector;
        }
    }
}

pub(super) fn toggle(model: &mut Model) {
    let pane = &mut model.anomalies;
    pane.open = !pane.open;
    if pane.open {
        model.focus = Pane::Anomalies;
        model.side = Pane::Anomalies;
    } else {
        if model.focus == Pane::Anomalies {
            model.focus = Pane::Topics;
        }
        if model.side == Pane::Anomalies {
            model.side = Pane::Inspector;
        }
    }
}

/// Index of the selected anomaly counted from the newest (0).
pub fn selected_index(model: &Model) -> usize {
    let list = model.watch.list();
    model
        .anomalies
        .selected
        .and_then(|id| list.iter().rev().position(|a| a.id == id))
        .unwrap_or(0)
}

fn select_index(model: &mut Model, index: usize) {
    let list = model.watch.list();
    let index = index.min(list.len().saturating_sub(1));
    model.anomalies.selected = if index == 0 {
        None
    } else {
        list.iter().rev().nth(index).map(|a| a.id)
    };
}

pub(super) fn on_action(model: &mut Model, action: Action) {
    let at = selected_index(model);
    let page = model.pages.log.max(1);
    match action {
        Action::Up => select_index(model, at.saturating_sub(1)),
        Action::Down => select_index(model, at + 1),
        Action::PageUp => select_index(model, at.saturating_sub(page)),
        Action::PageDown => select_index(model, at + page),
        Action::First => select_index(model, 0),
        Action::Last => select_index(model, usize::MAX),
        Action::JumpToAnomaly => jump(model),
        Action::MuteTopic | Action::MuteLevel => mute(model, action == Action::MuteLevel),
        _ => {}
    }
}

fn selected(model: &Model) -> Option<&crate::watch::Anomaly> {
    model.watch.list().iter().rev().nth(selected_index(model))
}

/// Shows the anomaly's topic, and in the inspector the message that showed it (for a
/// silence, the last one before it).
fn jump(model: &mut Model) {
    let Some(a) = selected(model) else {
        return;
    };
    let (node, message, at) = (a.node, a.message, a.at);
    if model.store.get(node).is_none() {
        return;
    }
    let history = model.store.node(node).history();
    let seq = match message {
        Some(seq) => history.iter().find(|m| m.seq == seq).map(|m| m.seq),
        None => history
            .iter()
            .rev()
            .find(|m| m.received <= at)
            .map(|m| m.seq),
    };
    // A schema change or a duplicate reads best against the message before.
    super::inspector::show(model, node, seq, message.is_some());
}

/// Mutes the selected anomaly's topic (or its level and everything below).
fn mute(model: &mut Model, level: bool) {
    let Some(a) = selected(model) else {
        return;
    };
    let filter = if level {
        match a.topic.rfind('/') {
            Some(i) => format!("{}/#", &a.topic[..i]),
            None => "#".to_string(),
        }
    } else {
        a.topic.clone()
    };
    // Wildcards in a topic name would widen the filter: mute such a topic alone by name.
    if !level && crate::topic::has_wildcard(&filter) {
        model.notify("this topic's name holds + or #: mute its level (M) instead");
        return;
    }
    model.watch.mute(&model.store, &filter);
    model.anomalies.selected = None;
    model.notify(format!(
        "muted {} for this session (a [[watch]] entry with mute = true keeps it)",
        crate::sanitize::line(filter.as_bytes())
    ));
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::time::{Duration, SystemTime};

    use bytes::Bytes;

    use super::*;
    use crate::broker::{BrokerEvent, Message};
    use crate::store::Limits;
    use crate::tui::model::{Msg, act, update};

    const T0: u64 = 1_800_000_000;

    fn message(topic: &str, payload: &str, secs: u64) -> Msg {
        Msg::Broker(BrokerEvent::Message(Message {
            topic: topic.into(),
            payload: Bytes::from(payload.to_string()),
            qos: 0,
            retain: false,
            dup: false,
            properties: None,
            received: SystemTime::UNIX_EPOCH + Duration::from_secs(T0 + secs),
            wire_size: 10,
        }))
    }

    /// Two topics with a gap each, the second one newer.
    fn model() -> Model {
        let mut m = Model::new(
            "mqtt://x".into(),
            Limits::default(),
            SystemTime::UNIX_EPOCH + Duration::from_secs(T0),
        );
        for (topic, base) in [("plant/温度/a", 0), ("plant/été/b", 100)] {
            for i in 0..6 {
                update(
                    &mut m,
                    message(topic, &format!(r#"{{"seq":{i}}}"#), base + i),
                );
            }
            update(&mut m, message(topic, r#"{"seq":9}"#, base + 6));
            update(&mut m, message(topic, r#"{"seq":10}"#, base + 7));
        }
        m
    }

    #[test]
    fn a_toggles_the_pane_and_tab_reaches_it_instead_of_the_log() {
        let mut m = model();
        act(&mut m, Action::ToggleAnomalies);
        assert!(m.anomalies.open);
        assert_eq!(m.focus, Pane::Anomalies);
        assert_eq!(
            focus_order(&m),
            [
                Pane::Topics,
                Pane::Inspector,
                Pane::Timeline,
                Pane::Anomalies
            ]
        );
        act(&mut m, Action::FocusNext);
        assert_eq!(m.focus, Pane::Topics);
        act(&mut m, Action::ToggleAnomalies);
        assert!(!m.anomalies.open);
        assert!(!focus_order(&m).contains(&Pane::Anomalies));
    }

    #[test]
    fn enter_shows_the_topic_and_the_message_of_the_anomaly() {
        let mut m = model();
        act(&mut m, Action::ToggleAnomalies);
        act(&mut m, Action::Down);
        act(&mut m, Action::JumpToAnomaly);
        let id = m.store.find("plant/温度/a").unwrap();
        assert_eq!(m.selected(), Some(id));
        assert_eq!(m.focus, Pane::Inspector);
        let shown = &m.store.node(id).history()[m.shown_index().unwrap()];
        assert_eq!(&shown.payload[..], br#"{"seq":9}"#);
        assert!(m.inspector.diff);
    }

    #[test]
    fn new_anomalies_do_not_move_the_selection_and_muting_removes_them() {
        let mut m = model();
        act(&mut m, Action::ToggleAnomalies);
        act(&mut m, Action::Down);
        let before = selected(&m).unwrap().topic.clone();
        update(&mut m, message("plant/été/b", r#"{"seq":20}"#, 200));
        assert_eq!(selected(&m).unwrap().topic, before);
        assert_eq!(m.watch.list().len(), 3);
        act(&mut m, Action::MuteLevel);
        assert_eq!(m.watch.list().len(), 2, "plant/温度/# and below");
        assert!(m.watch.list().iter().all(|a| a.topic == "plant/été/b"));
        let (notice, _) = m.notice.clone().unwrap();
        assert!(notice.contains("muted plant/温度/#"), "{notice}");
    }
}
