//! The topics pane's state: which levels are open, which topic is selected, and the filter;
//! moving in the tree is computed from the store, so it needs no drawn frame.
//!
//! The rows on screen are the store's levels in natural order, descending into opened
//! levels, restricted by the filter (matches and their ancestors) and, while the view is
//! paused, to the levels that existed then. Moving one row looks at neighbours only, so a key
//! costs the depth of the tree, not its size.

use std::collections::HashSet;

use crossterm::event::KeyEvent;

use super::{Inspector, Model};
use crate::store::{NodeId, Query, ROOT, TopicStore, matching_nodes};
use crate::tui::input::{Edit, edit_line};
use crate::tui::keymap::Action;

/// Most nodes one expand opens, so a huge subtree cannot stall the UI.
const EXPAND_LIMIT: usize = 5_000;

/// Most matches the filter opens the way to.
const FILTER_OPEN_LIMIT: usize = 2_000;

#[derive(Debug, Clone, Default)]
pub struct Topics {
    /// Levels shown open. Only levels with children are opened.
    pub opened: HashSet<NodeId>,
    pub selected: Option<NodeId>,
    pub filter: Filter,
    /// Bumped when what the tree shows changes shape (opened set, filter, pause): views
    /// rebuild their rows when it moves.
    pub version: u64,
}

impl Topics {
    /// Records that the tree's shape changed.
    pub fn changed(&mut self) {
        self.version += 1;
    }

    pub fn is_open(&self, id: NodeId) -> bool {
        self.opened.contains(&id)
    }

    /// Opens the levels above `id` and selects it.
    pub fn reveal(&mut self, store: &TopicStore, id: NodeId) {
        let path = store.path_ids(id);
        for ancestor in &path[..path.len().saturating_sub(1)] {
            self.opened.insert(*ancestor);
        }
        self.selected = Some(id);
        self.changed();
    }
}

/// The incremental topic filter.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub query: String,
    /// The query line has the keyboard.
    pub editing: bool,
    /// The opened set before filtering began, restored when the filter is cleared.
    saved_opened: Option<HashSet<NodeId>>,
    /// Which nodes show (matches and their ancestors), by id; kept up to date as topics
    /// arrive.
    visible: Vec<bool>,
    /// Nodes up to this id have been checked against the query.
    checked: usize,
    parsed: Option<Query>,
}

impl Filter {
    pub fn is_active(&self) -> bool {
        !self.query.is_empty()
    }

    /// With a filter: which node ids show.
    pub fn visible(&self) -> Option<&[bool]> {
        self.is_active().then_some(self.visible.as_slice())
    }

    /// Marks the nodes created since the last call that match, and their ancestors: a filter
    /// stays right while topics stream in, at the cost of one comparison per new level.
    pub fn catch_up(&mut self, store: &TopicStore) {
        let Some(query) = &self.parsed else { return };
        let len = store.len();
        if self.checked >= len {
            return;
        }
        self.visible.resize(len + 1, false);
        for id in store.ids().skip(self.checked) {
            if !query.matches(store.node(id).path()) {
                continue;
            }
            let mut at = id;
            while at != ROOT && !self.visible[at as usize] {
                self.visible[at as usize] = true;
                at = store.node(at).parent;
            }
        }
        self.checked = len;
    }

    fn set(&mut self, query: String) {
        self.parsed = (!query.is_empty()).then(|| Query::new(&query));
        self.query = query;
        self.visible.clear();
        self.checked = 0;
    }
}

/// The rows as the tree shows them, for moving in it.
struct Rows<'a> {
    store: &'a TopicStore,
    opened: &'a HashSet<NodeId>,
    visible: Option<&'a [bool]>,
    limit: usize,
}

impl<'a> Rows<'a> {
    fn of(model: &'a Model) -> Self {
        Self {
            store: &model.store,
            opened: &model.topics.opened,
            visible: model.topics.filter.visible(),
            limit: model.node_limit(),
        }
    }

    fn shows(&self, id: NodeId) -> bool {
        (id as usize) <= self.limit
            && self
                .visible
                .is_none_or(|v| v.get(id as usize).copied().unwrap_or(false))
    }

    fn first_child(&self, id: NodeId) -> Option<NodeId> {
        let children = self.store.children_in_order(id);
        children.iter().copied().find(|c| self.shows(*c))
    }

    fn last_child(&self, id: NodeId) -> Option<NodeId> {
        let children = self.store.children_in_order(id);
        children.iter().rev().copied().find(|c| self.shows(*c))
    }

    fn is_open(&self, id: NodeId) -> bool {
        self.opened.contains(&id) && !self.store.node(id).children().is_empty()
    }

    /// Whether `id` is on screen: it shows, and every level above it is open.
    fn is_row(&self, id: NodeId) -> bool {
        if id == ROOT || self.store.get(id).is_none() || !self.shows(id) {
            return false;
        }
        let mut at = self.store.node(id).parent;
        while at != ROOT {
            if !self.is_open(at) || !self.shows(at) {
                return false;
            }
            at = self.store.node(at).parent;
        }
        true
    }

    fn first(&self) -> Option<NodeId> {
        self.first_child(ROOT)
    }

    /// The last row: the last top level, descending into open levels.
    fn last(&self) -> Option<NodeId> {
        let mut at = self.last_child(ROOT)?;
        while self.is_open(at) {
            let Some(last) = self.last_child(at) else {
                break;
            };
            at = last;
        }
        Some(at)
    }

    /// The sibling `step` places away (±1) among those that show.
    fn sibling(&self, id: NodeId, forward: bool) -> Option<NodeId> {
        let parent = self.store.node(id).parent;
        let siblings = self.store.children_in_order(parent);
        let at = self.store.position_among(&siblings, id)?;
        if forward {
            siblings[at + 1..].iter().copied().find(|c| self.shows(*c))
        } else {
            siblings[..at]
                .iter()
                .rev()
                .copied()
                .find(|c| self.shows(*c))
        }
    }

    fn next(&self, id: NodeId) -> Option<NodeId> {
        if self.is_open(id) {
            if let Some(child) = self.first_child(id) {
                return Some(child);
            }
        }
        let mut at = id;
        while at != ROOT {
            if let Some(next) = self.sibling(at, true) {
                return Some(next);
            }
            at = self.store.node(at).parent;
        }
        None
    }

    fn prev(&self, id: NodeId) -> Option<NodeId> {
        let Some(mut at) = self.sibling(id, false) else {
            let parent = self.store.node(id).parent;
            return (parent != ROOT).then_some(parent);
        };
        while self.is_open(at) {
            let Some(last) = self.last_child(at) else {
                break;
            };
            at = last;
        }
        Some(at)
    }

    /// `n` rows down (or up), stopping at the ends.
    fn step(&self, from: Option<NodeId>, n: usize, forward: bool) -> Option<NodeId> {
        let Some(mut at) = from.filter(|id| self.is_row(*id)) else {
            return self.first();
        };
        for _ in 0..n {
            let next = if forward {
                self.next(at)
            } else {
                self.prev(at)
            };
            match next {
                Some(next) => at = next,
                None => break,
            }
        }
        Some(at)
    }
}

/// Selects the first row when nothing is selected.
pub(super) fn ensure_selection(model: &mut Model) {
    if model.topics.selected.is_none() {
        model.topics.selected = Rows::of(model).first();
    }
}

pub(super) fn on_action(model: &mut Model, action: Action) {
    let before = model.selected();
    let has_children = before.is_some_and(|id| !model.store.node(id).children().is_empty());
    let page = model.pages.topics.max(1);
    let target = {
        let rows = Rows::of(model);
        match action {
            Action::Up => rows.step(before, 1, false),
            Action::Down => rows.step(before, 1, true),
            Action::PageUp => rows.step(before, page, false),
            Action::PageDown => rows.step(before, page, true),
            Action::First => rows.first(),
            Action::Last => rows.last(),
            _ => before,
        }
    };
    model.topics.selected = target;
    match action {
        Action::Left => {
            if let Some(id) = before {
                if model.topics.opened.remove(&id) {
                    model.topics.changed();
                } else {
                    select_parent(model, id);
                }
            }
        }
        // Only nodes with children open, so the opened set holds nothing else.
        Action::Right if has_children => {
            if let Some(id) = before {
                if model.topics.opened.insert(id) {
                    model.topics.changed();
                }
            }
        }
        Action::Toggle if has_children => {
            if let Some(id) = before {
                toggle(&mut model.topics, id);
            }
        }
        Action::Parent => {
            if let Some(id) = before {
                select_parent(model, id);
            }
        }
        Action::CollapseAll => {
            model.topics.opened.clear();
            model.topics.changed();
            model.topics.selected = before.and_then(|id| model.store.path_ids(id).first().copied());
        }
        Action::ExpandSubtree => expand_subtree(model),
        Action::Filter => {
            let topics = &mut model.topics;
            topics.filter.editing = true;
            if topics.filter.saved_opened.is_none() {
                topics.filter.saved_opened = Some(topics.opened.clone());
            }
        }
        Action::ClearFilter => clear_filter(model),
        _ => {}
    }
    selection_moved(model, before);
}

/// A new selection shows its newest message from the top, in the same mode.
pub(super) fn selection_moved(model: &mut Model, before: Option<NodeId>) {
    if model.selected() != before {
        model.inspector = Inspector {
            mode: model.inspector.mode,
            diff: model.inspector.diff,
            ..Inspector::default()
        };
    }
}

pub(super) fn toggle(topics: &mut Topics, id: NodeId) {
    if !topics.opened.remove(&id) {
        topics.opened.insert(id);
    }
    topics.changed();
}

fn select_parent(model: &mut Model, id: NodeId) {
    let parent = model.store.node(id).parent;
    if parent != ROOT {
        model.topics.selected = Some(parent);
    }
}

fn expand_subtree(model: &mut Model) {
    let Some(start) = model.selected() else {
        return;
    };
    let mut stack = vec![start];
    let mut opened = 0;
    while let Some(id) = stack.pop() {
        if opened >= EXPAND_LIMIT {
            model.notify(format!("expanded the first {EXPAND_LIMIT} levels only"));
            break;
        }
        let children = model.store.sorted_children(id).to_vec();
        if children.is_empty() {
            continue;
        }
        model.topics.opened.insert(id);
        opened += 1;
        stack.extend(children.into_iter().rev());
    }
    model.topics.changed();
}

pub(super) fn edit_filter(model: &mut Model, key: KeyEvent) {
    let mut query = model.topics.filter.query.clone();
    match edit_line(&mut query, &key) {
        Edit::Submit => model.topics.filter.editing = false,
        Edit::Cancel => clear_filter(model),
        Edit::Changed => apply_filter(model, query),
        Edit::Other => {}
    }
}

fn clear_filter(model: &mut Model) {
    let topics = &mut model.topics;
    topics.filter.set(String::new());
    topics.filter.editing = false;
    if let Some(saved) = topics.filter.saved_opened.take() {
        topics.opened = saved;
    }
    topics.changed();
}

/// Opens the ancestors of matching topics so they show, and keeps the selection on a match.
fn apply_filter(model: &mut Model, query: String) {
    let topics = &mut model.topics;
    topics.filter.set(query);
    topics.filter.catch_up(&model.store);
    topics.changed();
    let Some(parsed) = topics.filter.parsed.clone() else {
        return;
    };
    let matches = matching_nodes(&model.store, &parsed);
    topics.opened.clear();
    for id in matches.iter().take(FILTER_OPEN_LIMIT) {
        let mut at = model.store.node(*id).parent;
        while at != ROOT && topics.opened.insert(at) {
            at = model.store.node(at).parent;
        }
    }
    if let Some(first) = matches.first() {
        let keep = model.selected().is_some_and(|s| matches.contains(&s));
        if !keep {
            model.topics.selected = Some(*first);
        }
    }
}

/// New nodes arrived: a filter marks those that match.
pub(super) fn on_new_nodes(model: &mut Model) {
    model.topics.filter.catch_up(&model.store);
}
