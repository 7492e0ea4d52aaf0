//! Opening the dialogs from the selection, and what their keys do to the model: a publish
//! (with request pairing and history), the live subscriptions, clearing retained messages,
//! saving a payload or a profile.

use crossterm::event::{KeyCode, KeyEvent};

use super::{Command, LinkState, Model};
use crate::broker::Protocol;
use crate::store::{NodeId, ROOT};
use crate::tui::dialog::publish::{FormKey, PublishForm};
use crate::tui::dialog::rules::{Row, RulesDialog, explain};
use crate::tui::dialog::subs::{SubState, SubsDialog, parse_line};
use crate::tui::dialog::{Dialog, LineKey, line_key};
use crate::tui::requests::Pending;

/// Publishes remembered for recall.
const HISTORY: usize = 50;

/// Opens the alert rules and schema checks.
pub fn open_rules(model: &mut Model) {
    model.dialog = Some(Dialog::Rules(RulesDialog::default()));
}

/// Opens the live subscriptions.
pub fn open_subscriptions(model: &mut Model) {
    model.dialog = Some(Dialog::Subscriptions(SubsDialog::default()));
}

/// Asks for a name to save the connection under, once it is up; with the profile the
/// explorer was opened with, offers that one, whose pinned series are then updated.
pub fn open_save_profile(model: &mut Model) {
    if let Some(name) = model.profile.clone() {
        model.dialog = Some(Dialog::SaveProfile { name });
        return;
    }
    if !matches!(model.link, LinkState::Connected { .. }) {
        model.notify("connect first: a profile is saved from a connection that works");
        return;
    }
    let name = model
        .target
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split([':', '/']).next())
        .unwrap_or("broker")
        .to_string();
    model.dialog = Some(Dialog::SaveProfile { name });
}

/// Opens the publish form on the selected topic.
pub fn open_publish(model: &mut Model) {
    let topic = model
        .selected()
        .map(|id| model.store.node(id).path().to_string())
        .unwrap_or_default();
    model.dialog = Some(Dialog::Publish(PublishForm::to_topic(&topic)));
}

/// Opens the publish form with the shown message's topic, payload and properties.
pub fn open_republish(model: &mut Model) {
    let (Some(id), Some(index)) = (model.selected(), model.shown_index()) else {
        model.notify("nothing to republish: no message on this topic");
        return;
    };
    let node = model.store.node(id);
    let form = PublishForm::republish(node.path(), &node.history()[index]);
    model.dialog = Some(Dialog::Publish(form));
}

/// Asks to clear the retained messages at and below the selected node.
pub fn open_clean(model: &mut Model) {
    let Some(id) = model.selected() else { return };
    let topics = retained_under(model, id);
    let under = model.store.node(id).path().to_string();
    if topics.is_empty() {
        model.notify(format!("no retained message at or below {under}"));
        return;
    }
    model.dialog = Some(Dialog::ConfirmClean { under, topics });
}

/// The topics at and below `id` whose last message was retained.
fn retained_under(model: &Model, id: NodeId) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![id];
    while let Some(at) = stack.pop() {
        let node = model.store.node(at);
        if at != ROOT && node.retained() {
            out.push(node.path().to_string());
        }
        stack.extend_from_slice(node.children());
    }
    out.sort_unstable();
    out
}

/// Asks where to save the shown payload.
pub fn open_save(model: &mut Model) {
    let (Some(id), Some(index)) = (model.selected(), model.shown_index()) else {
        model.notify("nothing to save: no message on this topic");
        return;
    };
    let node = model.store.node(id);
    let name: String = node
        .segment()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let bytes = node.history()[index].payload.clone();
    model.dialog = Some(Dialog::Save {
        path: format!(
            "{}.payload",
            if name.is_empty() { "message" } else { &name }
        ),
        bytes,
    });
}

/// The link's protocol and the broker's maximum packet size, as CONNACK said.
fn link_limits(model: &Model) -> (Protocol, Option<u32>) {
    let protocol = match model.link {
        LinkState::Connected { protocol, .. } => protocol,
        _ => Protocol::V5,
    };
    let max = model
        .timeline
        .current()
        .and_then(|a| a.connack.as_ref())
        .and_then(|c| c.max_packet_size);
    (protocol, max)
}

/// A key while a dialog is open.
pub fn on_key(model: &mut Model, key: KeyEvent) -> Vec<Command> {
    let Some(dialog) = model.dialog.take() else {
        return Vec::new();
    };
    let (keep, commands) = match dialog {
        Dialog::Publish(form) => publish_key(model, form, key),
        Dialog::Subscriptions(d) => subs_key(model, d, key),
        Dialog::Rules(d) => rules_key(model, d, key),
        Dialog::ConfirmClean { under, topics } => match key.code {
            KeyCode::Char('y' | 'Y') => (None, start_clean(model, under, topics)),
            // Only the selected topic's own retained message, not the levels below.
            KeyCode::Char('t') if topics.len() > 1 && topics.contains(&under) => {
                let only = vec![under.clone()];
                (None, start_clean(model, under, only))
            }
            KeyCode::Char('n' | 'N' | 'q') | KeyCode::Esc => (None, Vec::new()),
            _ => (Some(Dialog::ConfirmClean { under, topics }), Vec::new()),
        },
        Dialog::SaveProfile { mut name } => match line_key(&mut name, key) {
            LineKey::Cancel => (None, Vec::new()),
            LineKey::Done => (
                None,
                vec![Command::SaveProfile {
                    name: name.trim().to_string(),
                    pins: model.charts.entries(),
                }],
            ),
            LineKey::Edited => (Some(Dialog::SaveProfile { name }), Vec::new()),
        },
        Dialog::SeekTo { mut text } => match line_key(&mut text, key) {
            LineKey::Cancel => (None, Vec::new()),
            LineKey::Done => match super::playback::seek_to(model, &text) {
                Ok(commands) => (None, commands),
                Err(why) => {
                    model.notify(why);
                    (Some(Dialog::SeekTo { text }), Vec::new())
                }
            },
            LineKey::Edited => (Some(Dialog::SeekTo { text }), Vec::new()),
        },
        Dialog::Save { mut path, bytes } => match line_key(&mut path, key) {
            LineKey::Cancel => (None, Vec::new()),
            LineKey::Done => (
                None,
                vec![Command::Save {
                    path: path.trim().to_string(),
                    bytes,
                }],
            ),
            LineKey::Edited => (Some(Dialog::Save { path, bytes }), Vec::new()),
        },
    };
    model.dialog = keep;
    commands
}

/// Starts clearing: progress in the status bar, the work as a command.
fn start_clean(model: &mut Model, under: String, topics: Vec<String>) -> Vec<Command> {
    model.notify(format!(
        "clearing {} retained messages under {under}…",
        topics.len()
    ));
    let progress = crate::retained::Progress {
        total: topics.len(),
        ..crate::retained::Progress::default()
    };
    model.cleaning = Some((under, progress));
    let receive_max = model
        .timeline
        .current()
        .and_then(|a| a.connack.as_ref())
        .and_then(|c| c.receive_max);
    let window = crate::retained::window(receive_max);
    vec![Command::CleanRetained { topics, window }]
}

fn publish_key(
    model: &mut Model,
    mut form: PublishForm,
    key: KeyEvent,
) -> (Option<Dialog>, Vec<Command>) {
    match form.on_key(key) {
        FormKey::Stay => (Some(Dialog::Publish(form)), Vec::new()),
        FormKey::Cancel => (None, Vec::new()),
        FormKey::Recall(step) => {
            let n = model.publish_history.len();
            if n == 0 {
                return (Some(Dialog::Publish(form)), Vec::new());
            }
            let at = match (form.recalled, step) {
                (None, s) if s > 0 => 0,
                (None, _) => return (Some(Dialog::Publish(form)), Vec::new()),
                (Some(i), s) if s > 0 => (i + 1).min(n - 1),
                (Some(0), _) => 0,
                (Some(i), _) => i - 1,
            };
            let mut recalled = model.publish_history[n - 1 - at].clone();
            recalled.recalled = Some(at);
            recalled.focus = form.focus;
            (Some(Dialog::Publish(recalled)), Vec::new())
        }
        FormKey::Send => send_publish(model, form),
    }
}

/// Sends what the form describes, or keeps it open with the reason it cannot be sent.
fn send_publish(model: &mut Model, mut form: PublishForm) -> (Option<Dialog>, Vec<Command>) {
    let (protocol, max) = link_limits(model);
    let req = match form.build(protocol, max, &model.decoders) {
        Err(why) => {
            form.error = Some(why);
            return (Some(Dialog::Publish(form)), Vec::new());
        }
        Ok(req) => req,
    };
    let mut commands = Vec::new();
    let props = req.properties.as_ref();
    if let (Some(rt), Some(corr)) = (
        props.and_then(|p| p.response_topic.clone()),
        props.and_then(|p| p.correlation_data.clone()),
    ) {
        // Await the reply: subscribe to its topic unless a filter covers it.
        let covered = model.subscriptions.entries.iter().any(|e| {
            matches!(e.state, SubState::Granted(_)) && crate::topic::matches(&rt, &e.filter)
        });
        if !covered {
            let (sub, text) = parse_line(&rt).unwrap_or_else(|_| {
                (
                    crate::broker::Subscription::new(rt.clone(), 0),
                    String::new(),
                )
            });
            model.subscriptions.pending(&sub, text);
            commands.push(Command::Subscribe(vec![sub]));
        }
        model.requests.request(
            &rt,
            &corr,
            Pending {
                topic: req.topic.clone(),
                seq: None,
                at: model.now,
                ours: true,
            },
        );
    }
    model.notify(format!(
        "publishing to {} ({} bytes, QoS {}{})…",
        req.topic,
        req.payload.len(),
        req.qos,
        if req.retain { ", retained" } else { "" }
    ));
    form.error = None;
    form.recalled = None;
    model
        .publish_history
        .retain(|f| (&f.topic, &f.payload, &f.file) != (&form.topic, &form.payload, &form.file));
    model.publish_history.push(form);
    if model.publish_history.len() > HISTORY {
        model.publish_history.remove(0);
    }
    commands.push(Command::Publish(req));
    (None, commands)
}

fn subs_key(model: &mut Model, mut d: SubsDialog, key: KeyEvent) -> (Option<Dialog>, Vec<Command>) {
    if let Some(mut line) = d.adding.take() {
        match line_key(&mut line, key) {
            LineKey::Cancel => {}
            LineKey::Edited => d.adding = Some(line),
            LineKey::Done => match parse_line(&line) {
                Ok((sub, text)) => {
                    model.subscriptions.pending(&sub, text);
                    model.notify(format!("subscribing to {}…", sub.filter));
                    d.selected = model.subscriptions.entries.len() - 1;
                    d.error = None;
                    return (
                        Some(Dialog::Subscriptions(d)),
                        vec![Command::Subscribe(vec![sub])],
                    );
                }
                Err(why) => {
                    d.error = Some(why);
                    d.adding = Some(line);
                }
            },
        }
        return (Some(Dialog::Subscriptions(d)), Vec::new());
    }
    let n = model.subscriptions.entries.len();
    match key.code {
        KeyCode::Esc | KeyCode::Char('q' | 's') => return (None, Vec::new()),
        KeyCode::Up | KeyCode::Char('k') => d.selected = d.selected.saturating_sub(1),
        KeyCode::Down | KeyCode::Char('j') => {
            d.selected = (d.selected + 1).min(n.saturating_sub(1));
        }
        KeyCode::Char('a' | '+') | KeyCode::Insert => {
            d.adding = Some(String::new());
            d.error = None;
        }
        KeyCode::Char('d' | '-') | KeyCode::Delete => {
            if let Some(e) = model.subscriptions.entries.get_mut(d.selected) {
                let filter = e.filter.clone();
                if matches!(e.state, SubState::Refused(_)) {
                    // Nothing to take back from the broker.
                    model.subscriptions.entries.remove(d.selected);
                } else {
                    e.state = SubState::Removing;
                    model.notify(format!("unsubscribing from {filter}…"));
                    return (
                        Some(Dialog::Subscriptions(d)),
                        vec![Command::Unsubscribe(vec![filter])],
                    );
                }
            }
        }
        _ => {}
    }
    (Some(Dialog::Subscriptions(d)), Vec::new())
}

/// The rules dialog's keys: move, add or edit (a line in `--rule`'s form), mute, remove, save.
fn rules_key(
    model: &mut Model,
    mut d: RulesDialog,
    key: KeyEvent,
) -> (Option<Dialog>, Vec<Command>) {
    if let Some((at, mut line)) = d.editing.take() {
        match line_key(&mut line, key) {
            LineKey::Cancel => d.error = None,
            LineKey::Edited => d.editing = Some((at, line)),
            LineKey::Done => match crate::alert::Rule::parse(line.trim()) {
                Ok(rule) => {
                    let verb = if at.is_some() { "changed" } else { "added" };
                    model.notify(format!("rule {verb}: {}", rule.name));
                    model.alerts.set_rule(at, rule);
                    d.selected = at.unwrap_or(model.alerts.rules().len() - 1);
                    d.error = None;
                }
                Err(e) => {
                    d.error = Some(explain(line.trim(), &e));
                    d.editing = Some((at, line));
                }
            },
        }
        return (Some(Dialog::Rules(d)), Vec::new());
    }
    let (rules, schemas) = (model.alerts.rules().len(), model.alerts.schemas().len());
    let row = d.row(rules, schemas);
    match key.code {
        KeyCode::Esc | KeyCode::Char('q' | '!') => return (None, Vec::new()),
        KeyCode::Up | KeyCode::Char('k') => d.selected = d.selected.saturating_sub(1),
        KeyCode::Down | KeyCode::Char('j') => {
            d.selected = (d.selected + 1).min((rules + schemas).saturating_sub(1));
        }
        KeyCode::Char('a' | '+') | KeyCode::Insert => {
            d.editing = Some((None, String::new()));
            d.error = None;
        }
        KeyCode::Char('e') | KeyCode::Enter => {
            if let Row::Rule(i) = row {
                d.editing = Some((Some(i), model.alerts.rules()[i].text()));
                d.error = None;
            }
        }
        KeyCode::Char('m' | ' ') => {
            if let Row::Rule(i) = row {
                let muted = !model.alerts.rules()[i].muted;
                model.alerts.set_muted(i, muted);
                let name = &model.alerts.rules()[i].name;
                model.notify(format!(
                    "rule {} {name}",
                    if muted { "muted:" } else { "on again:" }
                ));
            }
        }
        KeyCode::Char('d' | 'x' | '-') | KeyCode::Delete => match row {
            Row::Rule(i) => {
                model.alerts.remove_rule(i);
                d.selected = d.selected.min((rules + schemas).saturating_sub(2));
            }
            Row::Schema(i) => {
                model.alerts.remove_schema(i);
                d.selected = d.selected.min((rules + schemas).saturating_sub(2));
            }
            Row::Nothing => {}
        },
        KeyCode::Char('S') => {
            let Some(profile) = model.profile.clone() else {
                model.notify(
                    "rules are saved to the profile the explorer was opened with: save this \
                     broker as one (S), then open it with -P NAME",
                );
                return (Some(Dialog::Rules(d)), Vec::new());
            };
            let (rules, schemas) = model.alerts.entries();
            return (
                Some(Dialog::Rules(d)),
                vec![Command::SaveAlerts {
                    profile,
                    rules,
                    schemas,
                }],
            );
        }
        _ => {}
    }
    (Some(Dialog::Rules(d)), Vec::new())
}
