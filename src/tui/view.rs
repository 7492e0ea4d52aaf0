//! Cached view-models, rebuilt outside of drawing when what they show changed: the tree items
//! (only for opened nodes, with full text only around the viewport), the decoded payload of
//! the shown message and its diff to the one before; and the widget state that goes with
//! them: the tree widget's state (offset, what it drew where), the panes' rectangles, the
//! theme. The model says what is selected and open; the view follows it.

mod chart;

use std::ops::Range;
use std::time::{Duration, SystemTime};

use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use tui_tree_widget::{TreeItem, TreeState};

use super::keymap::Pane;
use super::model::{Model, Pages, Pointer};
use super::theme::Theme;
use crate::payload::{self, DiffLine, PayloadView};
use crate::store::{NodeId, ROOT, TopicStore};

/// How long a changed row stays highlighted.
pub const HIGHLIGHT: Duration = Duration::from_millis(1500);

/// Characters of last-value preview in a tree row.
const PREVIEW_CHARS: usize = 48;

/// What the tree items were built from. A change of any of these needs a full rebuild;
/// a change of the store's generation alone only refreshes the rows in the window.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TreeKey {
    structure_generation: u64,
    /// The anomaly list changed: markers move.
    anomalies_generation: u64,
    now_secs: u64,
    topics_version: u64,
    window: Range<usize>,
}

/// The tree pane's cells as last drawn, with what they were drawn from. The tree widget
/// flattens every opened row on each render (one allocation per row), which with 100k rows
/// open costs tens of milliseconds; an idle screen redrawing for its clocks reuses these cells
/// instead.
pub struct TreeFrame {
    pub key: TreeFrameKey,
    pub cells: Buffer,
}

/// Everything the tree pane's cells depend on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeFrameKey {
    pub items_version: u64,
    pub area: Rect,
    pub title: String,
    pub focused: bool,
    pub selected: Vec<NodeId>,
    pub offset: usize,
}

/// The decoded shown message.
pub struct Shown {
    pub node: NodeId,
    pub seq: u64,
    pub mode: payload::Mode,
    pub view: PayloadView,
    /// Line diff (text/JSON) or changed byte ranges (binary) against the previous message.
    pub diff: Option<Diff>,
}

pub enum Diff {
    Lines(Vec<DiffLine>),
    Bytes(Vec<payload::ByteRange>),
    /// There is no older message to compare with.
    Nothing,
}

/// Geometry the last frame drew, for pointer hits and page sizes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Areas {
    pub topics: Rect,
    pub inspector: Rect,
    pub timeline: Rect,
    pub log: Rect,
    pub anomalies: Rect,
    pub charts: Rect,
    pub sys: Rect,
}

/// What the tree widget was last told, so it is told again only when the model moved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Synced {
    topics_version: Option<u64>,
    selected: Option<NodeId>,
    query: String,
}

pub struct View {
    pub theme: Theme,
    /// The tree widget's state: opened paths and selection mirrored from the model, plus the
    /// scroll offset and what it drew where, which are the widget's own.
    pub tree: TreeState<NodeId>,
    pub areas: Areas,
    /// Page sizes and the inspector's scroll limit as drawn, for the model (`Msg::Layout`).
    pub pages: Pages,
    synced: Synced,
    pub items: Vec<TreeItem<'static, NodeId>>,
    /// Bumped whenever `items` change (rebuild or refreshed rows).
    pub items_version: u64,
    /// The tree pane as last drawn, reused while nothing it shows changed (see `TreeFrame`).
    pub tree_frame: Option<TreeFrame>,
    built: Option<TreeKey>,
    /// Store generation the row texts show.
    generation: u64,
    /// Store generation at the last full rebuild, and the model's clock then.
    full_generation: u64,
    full_built_at: SystemTime,
    /// Rows in the window that have no children shown: node and index path into `items`.
    windowed: Vec<(NodeId, Vec<usize>)>,
    /// Visible rows in the last build.
    pub rows: usize,
    pub shown: Option<Shown>,
    /// The inspector chart's series, while it is open.
    pub chart: Option<chart::ChartData>,
}

impl Default for View {
    fn default() -> Self {
        Self::new(Theme::default())
    }
}

impl View {
    pub fn new(theme: Theme) -> Self {
        Self {
            theme,
            tree: TreeState::default(),
            areas: Areas::default(),
            pages: Pages::default(),
            synced: Synced::default(),
            items: Vec::new(),
            items_version: 0,
            tree_frame: None,
            built: None,
            generation: 0,
            full_generation: 0,
            full_built_at: SystemTime::UNIX_EPOCH,
            windowed: Vec::new(),
            rows: 0,
            shown: None,
            chart: None,
        }
    }

    /// Brings the widget state and the caches up to date with the model. Paused views keep
    /// the rows they have; the selection still follows the keys.
    pub fn refresh(&mut self, model: &Model) {
        self.sync_tree(model);
        if model.paused.is_some() && self.built.is_some() {
            return;
        }
        self.refresh_tree(model);
        self.refresh_shown(model);
        chart::refresh(&mut self.chart, model);
    }

    /// Tells the tree widget what the model has open and selected, when that changed.
    fn sync_tree(&mut self, model: &Model) {
        let topics = &model.topics;
        if self.synced.topics_version != Some(topics.version) {
            self.tree.close_all();
            for id in &topics.opened {
                if model.store.get(*id).is_some() {
                    self.tree.open(model.store.path_ids(*id));
                }
            }
            self.synced.topics_version = Some(topics.version);
        }
        if self.synced.query != topics.filter.query {
            // A new filter shows its tree from the top, the ancestors of the matches included.
            self.tree.scroll_up(usize::MAX);
            self.synced.query.clone_from(&topics.filter.query);
        }
        let selected = model.selected();
        if self.synced.selected != selected {
            self.tree.select(
                selected
                    .map(|id| model.store.path_ids(id))
                    .unwrap_or_default(),
            );
            self.synced.selected = selected;
        }
    }

    /// Forces a rebuild on the next refresh.
    pub fn invalidate(&mut self) {
        self.built = None;
    }

    /// Forgets the drawn tree pane: after input, the tree widget must run again (it keeps the
    /// selection in view).
    pub fn forget_tree_frame(&mut self) {
        self.tree_frame = None;
    }

    /// Resolves a pointer event against what the last frame drew. The wheel over the tree
    /// scrolls its viewport here (the selection stays); other events go to the model.
    pub fn pointer(&mut self, event: crossterm::event::MouseEvent) -> Option<Pointer> {
        use crossterm::event::MouseEventKind;
        let at = Position::new(event.column, event.row);
        let pane = [
            (self.areas.topics, Pane::Topics),
            (self.areas.inspector, Pane::Inspector),
            (self.areas.timeline, Pane::Timeline),
            (self.areas.log, Pane::Log),
            (self.areas.anomalies, Pane::Anomalies),
            (self.areas.charts, Pane::Charts),
            (self.areas.sys, Pane::Sys),
        ]
        .into_iter()
        .find(|(area, _)| area.contains(at))
        .map(|(_, pane)| pane)?;
        match (event.kind, pane) {
            (MouseEventKind::Down(_), Pane::Topics) => Some(Pointer::Click {
                pane,
                row: self
                    .tree
                    .rendered_at(at)
                    .and_then(|path| path.last().copied()),
            }),
            (MouseEventKind::Down(_), _) => Some(Pointer::Click { pane, row: None }),
            (MouseEventKind::ScrollDown, Pane::Topics) => {
                self.tree.scroll_down(3);
                self.forget_tree_frame();
                None
            }
            (MouseEventKind::ScrollUp, Pane::Topics) => {
                self.tree.scroll_up(3);
                self.forget_tree_frame();
                None
            }
            (MouseEventKind::ScrollDown, _) => Some(Pointer::Wheel { pane, down: true }),
            (MouseEventKind::ScrollUp, _) => Some(Pointer::Wheel { pane, down: false }),
            _ => None,
        }
    }

    /// Whether the rows with full text cover the viewport the last draw used.
    pub fn covers(&self, offset: usize, height: usize) -> bool {
        self.built.as_ref().is_none_or(|k| {
            self.rows <= k.window.end
                || (k.window.start <= offset && offset + height <= k.window.end)
        })
    }

    fn refresh_tree(&mut self, model: &Model) {
        let height = usize::from(self.areas.topics.height).max(10);
        let offset = self.tree.get_offset();
        let window = offset.saturating_sub(height)..offset + 3 * height;
        let now_secs = model
            .now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        // Once a second the whole tree is redone (parent counts, fading highlights), but only
        // while something changes: an idle tree with 100k rows costs nothing.
        let quiet = self.full_generation == model.store.generation
            && model.store.node(ROOT).changed_at().is_none_or(|at| {
                self.full_built_at.duration_since(at).unwrap_or_default() > HIGHLIGHT
            });
        let key = TreeKey {
            structure_generation: model.store.structure_generation,
            anomalies_generation: model.watch.generation,
            now_secs: match (&self.built, quiet) {
                (Some(built), true) => built.now_secs,
                _ => now_secs,
            },
            topics_version: model.topics.version,
            window,
        };
        if self.built.as_ref() == Some(&key) {
            if self.generation != model.store.generation {
                self.refresh_rows(model);
            }
            return;
        }
        let mut builder = Builder {
            store: &model.store,
            decoding: (&model.decoders, &model.sparkplug),
            watch: &model.watch,
            opened: &model.topics.opened,
            theme: &self.theme,
            now: model.now,
            visible: model.topics.filter.visible(),
            limit: model.node_limit(),
            window: key.window.clone(),
            row: 0,
            index_path: Vec::new(),
            windowed: Vec::new(),
        };
        self.items = builder.children(ROOT);
        self.items_version += 1;
        self.rows = builder.row;
        self.windowed = builder.windowed;
        self.built = Some(key);
        self.generation = model.store.generation;
        self.full_generation = model.store.generation;
        self.full_built_at = model.now;
    }

    /// New texts for the rows in the window, in place: counts and last values change with
    /// every message, the tree's shape does not.
    fn refresh_rows(&mut self, model: &Model) {
        for (id, index_path) in &self.windowed {
            let Some(item) = item_at(&mut self.items, index_path) else {
                continue;
            };
            if item.identifier() == id && item.children().is_empty() {
                let text = row_line(
                    &model.store,
                    (&model.decoders, &model.sparkplug),
                    *id,
                    &self.theme,
                    model.now,
                    false,
                    model.watch.marks(*id),
                );
                *item = TreeItem::new_leaf(*id, text);
            }
        }
        self.items_version += 1;
        self.generation = model.store.generation;
    }

    fn refresh_shown(&mut self, model: &Model) {
        let Some(node) = model.selected() else {
            self.shown = None;
            return;
        };
        let Some(index) = model.shown_index() else {
            self.shown = None;
            return;
        };
        let history = model.store.node(node).history();
        let message = &history[index];
        let want_diff = model.inspector.diff;
        if let Some(s) = &self.shown {
            if s.node == node
                && s.seq == message.seq
                && s.mode == model.inspector.mode
                && s.diff.is_some() == want_diff
            {
                return;
            }
        }
        let path = model.store.node(node).path();
        let decoder = model.decoders.for_topic(path).map(AsRef::as_ref);
        let annotate = |v: &mut serde_json::Value| model.sparkplug.annotate(path, v);
        let view = PayloadView::decoded_with(
            message.payload.clone(),
            model.inspector.mode,
            decoder,
            annotate,
        );
        let diff = want_diff.then(|| match index.checked_sub(1).map(|i| &history[i]) {
            None => Diff::Nothing,
            Some(prev) => {
                if view.shown == payload::Shown::Hex {
                    Diff::Bytes(payload::diff_bytes(&prev.payload, &message.payload))
                } else {
                    let annotate = |v: &mut serde_json::Value| model.sparkplug.annotate(path, v);
                    let before = PayloadView::decoded_with(
                        prev.payload.clone(),
                        model.inspector.mode,
                        decoder,
                        annotate,
                    );
                    Diff::Lines(payload::diff_lines(before.text(), view.text()))
                }
            }
        });
        self.shown = Some(Shown {
            node,
            seq: message.seq,
            mode: model.inspector.mode,
            view,
            diff,
        });
    }
}

/// The item at an index path (top-level index, then child indices).
fn item_at<'a>(
    items: &'a mut [TreeItem<'static, NodeId>],
    path: &[usize],
) -> Option<&'a mut TreeItem<'static, NodeId>> {
    let (first, rest) = path.split_first()?;
    let mut item = items.get_mut(*first)?;
    for i in rest {
        item = item.child_mut(*i)?;
    }
    Some(item)
}

struct Builder<'a> {
    store: &'a TopicStore,
    /// The decoders, and Sparkplug's names for data sent by alias.
    decoding: (
        &'a crate::payload::decode::Decoders,
        &'a crate::payload::decode::sparkplug::Sparkplug,
    ),
    watch: &'a crate::watch::Watch,
    opened: &'a std::collections::HashSet<NodeId>,
    theme: &'a Theme,
    now: SystemTime,
    /// With a filter: which nodes show.
    visible: Option<&'a [bool]>,
    /// While paused: the last node id that existed then.
    limit: usize,
    window: Range<usize>,
    row: usize,
    /// Index of each level's item in its parent's list, for in-place row refreshes.
    index_path: Vec<usize>,
    windowed: Vec<(NodeId, Vec<usize>)>,
}

impl Builder<'_> {
    fn children(&mut self, id: NodeId) -> Vec<TreeItem<'static, NodeId>> {
        let store = self.store;
        let children = store.children_in_order(id);
        let mut items = Vec::with_capacity(children.len());
        for &child in children.iter() {
            if child as usize > self.limit
                || self
                    .visible
                    .is_some_and(|v| !v.get(child as usize).copied().unwrap_or(false))
            {
                continue;
            }
            self.index_path.push(items.len());
            let item = self.item(child);
            self.index_path.pop();
            items.push(item);
        }
        items
    }

    fn item(&mut self, id: NodeId) -> TreeItem<'static, NodeId> {
        let row = self.row;
        self.row += 1;
        let has_children = !self.store.node(id).children().is_empty();
        let open = has_children && self.opened.contains(&id);
        let children = open.then(|| self.children(id));
        let in_window = self.window.contains(&row);
        let text = if in_window {
            row_line(
                self.store,
                self.decoding,
                id,
                self.theme,
                self.now,
                open,
                self.watch.marks(id),
            )
        } else {
            Line::default()
        };
        if let Some(children) = children {
            return TreeItem::new(id, text, children)
                .unwrap_or_else(|_| TreeItem::new_leaf(id, "?"));
        }
        if in_window {
            self.windowed.push((id, self.index_path.clone()));
        }
        // Closed nodes carry no children: the ▶ marker is part of the row's text, so tens of
        // thousands of closed rows cost one allocation each.
        TreeItem::new_leaf(id, text)
    }
}

/// One tree row: open/closed marker, segment, counts, retained marker, anomalies at and
/// below, last value.
pub fn row_line(
    store: &TopicStore,
    (decoders, sparkplug): (
        &crate::payload::decode::Decoders,
        &crate::payload::decode::sparkplug::Sparkplug,
    ),
    id: NodeId,
    theme: &Theme,
    now: SystemTime,
    open: bool,
    anomalies: u32,
) -> Line<'static> {
    let node = store.node(id);
    let marker = match (node.children().is_empty(), open) {
        (true, _) => "  ",
        (false, true) => "▼ ",
        (false, false) => "▶ ",
    };
    let recent = node
        .changed_at()
        .is_some_and(|at| now.duration_since(at).unwrap_or_default() < HIGHLIGHT);
    let segment = if node.segment().is_empty() {
        "∅".to_string()
    } else {
        crate::sanitize::block(node.segment().as_bytes()).into_owned()
    };
    let mut spans = vec![
        Span::styled(marker, theme.dim),
        Span::styled(segment, if recent { theme.changed } else { theme.segment }),
    ];
    if node.children().is_empty() {
        spans.push(Span::styled(format!(" ({})", node.messages), theme.counts));
    } else {
        spans.push(Span::styled(
            format!(" ({}/{})", node.messages, node.topics),
            theme.counts,
        ));
    }
    if node.retained() {
        spans.push(Span::styled(" R", theme.retained));
    }
    if anomalies > 0 {
        spans.push(Span::styled(format!(" ⚠{anomalies}"), theme.warn));
    }
    if let Some(last) = node.last() {
        spans.push(Span::styled(" = ", theme.dim));
        spans.push(Span::styled(
            decoders.preview(node.path(), &last.payload, PREVIEW_CHARS, |v| {
                sparkplug.annotate(node.path(), v);
            }),
            theme.preview,
        ));
    }
    Line::from(spans)
}
