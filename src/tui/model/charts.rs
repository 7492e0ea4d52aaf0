//! Charts: the inspector's chart of the selected topic (`g`), the field it plots (`←→` step
//! through the payload's leaves, `F` types a path, `O` overlays more fields), and the series
//! pinned with `+` that the charts pane (`G`) draws live in the log's place. Pinned series
//! collect every message of their topic from the moment they are pinned (the kept history
//! first), up to `PINNED_POINTS` each; they are what `S` saves with a profile.

use crossterm::event::KeyEvent;

use super::Model;
use crate::config::PinEntry;
use crate::series::{self, Content, Field, MAX_PINS, PINNED_POINTS, Series};
use crate::store::NodeId;
use crate::tui::input::{Edit, edit_line};
use crate::tui::keymap::{Action, Pane};

/// Fields one chart overlays at most (the chosen one included).
pub const MAX_FIELDS: usize = 6;

/// The inspector's chart.
#[derive(Debug, Clone, Default)]
pub struct Chart {
    pub open: bool,
    /// The field chosen; `None`: the first number of the shown message.
    pub field: Option<Field>,
    /// Fields drawn with it, in the order they were added.
    pub overlay: Vec<Field>,
    /// A field path being typed (`F`).
    pub typing: Option<String>,
    /// Why the last typed path was refused.
    pub error: Option<String>,
}

/// A series pinned to the charts pane.
#[derive(Debug, Clone)]
pub struct Pin {
    pub topic: String,
    /// The topic's node, once it exists.
    pub node: Option<NodeId>,
    pub field: Field,
    pub series: Series,
}

impl Pin {
    fn new(topic: String, field: Field) -> Self {
        Self {
            topic,
            node: None,
            field,
            series: Series::new(PINNED_POINTS),
        }
    }

    pub fn entry(&self) -> PinEntry {
        PinEntry {
            topic: self.topic.clone(),
            field: self.field.text().to_string(),
        }
    }
}

/// The charts pane.
#[derive(Debug, Clone, Default)]
pub struct ChartsPane {
    pub open: bool,
    pub pins: Vec<Pin>,
    pub selected: usize,
    /// One value axis for every series; else each is scaled to its own range.
    pub shared_scale: bool,
}

impl ChartsPane {
    /// Pins read from a profile (already checked when the file was read).
    pub fn from_entries(entries: &[PinEntry]) -> Self {
        let pins = entries
            .iter()
            .take(MAX_PINS)
            .filter_map(|e| Some(Pin::new(e.topic.clone(), Field::parse(&e.field).ok()?)))
            .collect();
        Self {
            pins,
            ..Self::default()
        }
    }

    pub fn entries(&self) -> Vec<PinEntry> {
        self.pins.iter().map(Pin::entry).collect()
    }
}

/// The content of the selected topic's shown message.
fn shown_content(model: &Model) -> Option<Content<'_>> {
    let id = model.selected()?;
    let node = model.store.node(id);
    let message = node.history().get(model.shown_index()?)?;
    let decoder = model.decoders.for_topic(node.path());
    Some(series::read(&message.payload, decoder.map(AsRef::as_ref)))
}

/// The field the chart plots for the selected topic: the chosen one, else the first number
/// of the shown message (or of the newest older one that has something to plot).
pub fn shown_field(model: &Model) -> Option<Field> {
    /// Messages looked through for a default field.
    const LOOK_BACK: usize = 20;
    if let Some(f) = &model.chart.field {
        return Some(f.clone());
    }
    let id = model.selected()?;
    let node = model.store.node(id);
    let decoder = model.decoders.for_topic(node.path());
    let shown = model.shown_index()?;
    node.history()
        .iter()
        .take(shown + 1)
        .rev()
        .take(LOOK_BACK)
        .find_map(|m| series::default_field(&series::read(&m.payload, decoder.map(AsRef::as_ref))))
}

/// Every field the inspector's chart draws: the chosen one, then the overlaid ones.
pub fn chart_fields(model: &Model) -> Vec<Field> {
    let mut all: Vec<Field> = shown_field(model).into_iter().collect();
    for f in &model.chart.overlay {
        if !all.contains(f) {
            all.push(f.clone());
        }
    }
    all
}

pub(super) fn toggle(model: &mut Model) {
    model.chart.open = !model.chart.open;
    model.chart.typing = None;
    if model.chart.open {
        model.side = Pane::Inspector;
        if model.selected().is_none() {
            model.notify("select a topic to chart its values");
        }
    }
}

/// `←→` (and `[ ]`) with the chart open: the previous or next plottable leaf of the shown
/// message.
pub(super) fn step_field(model: &mut Model, forward: bool) {
    let Some(content) = shown_content(model) else {
        return;
    };
    let leaves = series::leaves(&content);
    if leaves.is_empty() {
        model.notify("nothing to plot in this message: no number, boolean or short string");
        return;
    }
    let current = shown_field(model);
    let at = leaves
        .iter()
        .position(|l| Some(&l.field) == current.as_ref());
    let n = leaves.len();
    let next = match (at, forward) {
        (None, _) => 0,
        (Some(i), true) => (i + 1) % n,
        (Some(i), false) => (i + n - 1) % n,
    };
    model.chart.field = Some(leaves[next].field.clone());
}

pub(super) fn start_typing(model: &mut Model) {
    model.chart.open = true;
    model.side = Pane::Inspector;
    model.chart.error = None;
    let current = shown_field(model).map(|f| f.text().to_string());
    model.chart.typing = Some(current.unwrap_or_default());
}

/// A key while a field path is typed: Enter plots it (when it parses), Esc gives up.
pub(super) fn edit_field(model: &mut Model, key: KeyEvent) {
    let Some(mut text) = model.chart.typing.take() else {
        return;
    };
    match edit_line(&mut text, &key) {
        Edit::Submit => match Field::parse(&text) {
            Ok(field) => {
                model.chart.field = Some(field);
                model.chart.error = None;
                return;
            }
            Err(why) => model.chart.error = Some(why),
        },
        Edit::Cancel => {
            model.chart.error = None;
            return;
        }
        Edit::Changed => model.chart.error = None,
        Edit::Other => {}
    }
    model.chart.typing = Some(text);
}

/// `O`: draws the shown field along with the others, or takes it off.
pub(super) fn toggle_overlay(model: &mut Model) {
    let Some(field) = shown_field(model) else {
        model.notify("nothing to overlay: no plottable field here");
        return;
    };
    model.chart.open = true;
    if let Some(at) = model.chart.overlay.iter().position(|f| *f == field) {
        model.chart.overlay.remove(at);
        model.notify(format!("{} is no longer overlaid", field.label()));
        return;
    }
    if model.chart.overlay.len() + 1 >= MAX_FIELDS {
        model.notify(format!("{MAX_FIELDS} fields in one chart at most"));
        return;
    }
    model.notify(format!(
        "{} stays on the chart: choose another field with ←→",
        field.label()
    ));
    model.chart.overlay.push(field);
}

/// `+`: pins the shown field of the selected topic to the charts pane.
pub(super) fn pin(model: &mut Model) {
    let Some(id) = model.selected() else {
        model.notify("select a topic to pin one of its values");
        return;
    };
    let Some(field) = shown_field(model) else {
        model.notify("nothing to pin: this topic's message has no plottable field");
        return;
    };
    let topic = model.store.node(id).path().to_string();
    if let Some(at) = model
        .charts
        .pins
        .iter()
        .position(|p| p.topic == topic && p.field == field)
    {
        model.charts.selected = at;
        model.notify(format!("{} of this topic is pinned already", field.label()));
        return;
    }
    if model.charts.pins.len() >= MAX_PINS {
        model.notify(format!(
            "{MAX_PINS} series are pinned: take one off in the charts pane (G, x)"
        ));
        return;
    }
    let mut pin = Pin::new(topic, field);
    pin.node = Some(id);
    // The kept history first, then every message from now on.
    let node = model.store.node(id);
    let decoder = model.decoders.for_topic(node.path());
    for m in node.history() {
        let content = series::read(&m.payload, decoder.map(AsRef::as_ref));
        let sample = series::sample(&content, &pin.field);
        pin.series.push(series::seconds(m.received), sample);
    }
    let label = pin.field.label().to_string();
    model.charts.pins.push(pin);
    model.charts.selected = model.charts.pins.len() - 1;
    if !model.charts.open {
        model.charts.open = true;
        model.side = Pane::Charts;
    }
    model.notify(format!(
        "pinned {label} ({}/{MAX_PINS}): G shows or hides the charts",
        model.charts.pins.len()
    ));
}

/// A message arrived on `id`: the pinned series of that topic take its sample.
pub(super) fn on_message(model: &mut Model, id: NodeId, topic: &str, payload: &[u8], at: f64) {
    let mut content = None;
    for pin in &mut model.charts.pins {
        if pin.node.is_none() && pin.topic == topic {
            pin.node = Some(id);
        }
        if pin.node != Some(id) {
            continue;
        }
        let content = content.get_or_insert_with(|| {
            let decoder = model.decoders.for_topic(topic);
            series::read(payload, decoder.map(AsRef::as_ref))
        });
        pin.series.push(at, series::sample(content, &pin.field));
    }
}

/// The source starts over: every series too.
pub(super) fn restart(model: &mut Model) {
    for pin in &mut model.charts.pins {
        pin.node = None;
        pin.series.clear();
    }
}

pub(super) fn toggle_pane(model: &mut Model) {
    let pane = &mut model.charts;
    pane.open = !pane.open;
    if pane.open {
        model.focus = Pane::Charts;
        model.side = Pane::Charts;
        if model.charts.pins.is_empty() {
            model.notify("no series pinned yet: g charts a topic, + pins its value here");
        }
    } else {
        if model.focus == Pane::Charts {
            model.focus = Pane::Topics;
        }
        if model.side == Pane::Charts {
            model.side = Pane::Inspector;
        }
    }
}

pub(super) fn on_action(model: &mut Model, action: Action) {
    let n = model.charts.pins.len();
    let at = &mut model.charts.selected;
    match action {
        Action::Up => *at = at.saturating_sub(1),
        Action::Down => *at = (*at + 1).min(n.saturating_sub(1)),
        Action::First => *at = 0,
        Action::Last => *at = n.saturating_sub(1),
        Action::Unpin => unpin(model),
        Action::ToggleScale => {
            model.charts.shared_scale = !model.charts.shared_scale;
            model.notify(if model.charts.shared_scale {
                "one value axis for every series"
            } else {
                "each series on its own scale"
            });
        }
        Action::ShowSeries => show(model),
        _ => {}
    }
}

fn unpin(model: &mut Model) {
    let at = model.charts.selected;
    if at >= model.charts.pins.len() {
        return;
    }
    let pin = model.charts.pins.remove(at);
    model.charts.selected = at.min(model.charts.pins.len().saturating_sub(1));
    model.notify(format!("unpinned {} of {}", pin.field.label(), pin.topic));
}

/// Shows the selected series' topic with its field charted in the inspector.
fn show(model: &mut Model) {
    let Some(pin) = model.charts.pins.get(model.charts.selected) else {
        return;
    };
    let Some(node) = pin.node.filter(|id| model.store.get(*id).is_some()) else {
        model.notify("no message on that topic yet");
        return;
    };
    model.chart.field = Some(pin.field.clone());
    model.chart.open = true;
    // The newest message: the chart follows it.
    let newest = model.store.node(node).history().back().map(|m| m.seq);
    super::inspector::show(model, node, newest, false);
}
