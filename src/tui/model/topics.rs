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
use crate::store::{NodeId, ROOT, TopicFilter, TopicStore};
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
    /// arrive and, for filters on values, as their values change.
    visible: Vec<bool>,
    /// Per node: whether it matches itself, and how many matches are at and below it.
    matched: Vec<bool>,
    below: Vec<u32>,
    /// Nodes matching now.
    pub matches: usize,
    /// Nodes up to this id have been checked against the query.
    checked: usize,
    parsed: Option<TopicFilter>,
    /// The typed text does not parse: why and where (the filter before it stays applied).
    pub error: Option<crate::expr::ParseError>,
}

impl Filter {
    pub fn is_active(&self) -> bool {
        self.parsed.is_some()
    }

    /// With a filter: which node ids show.
    pub fn visible(&self) -> Option<&[bool]> {
        self.is_active().then_some(self.visible.as_slice())
    }

    /// Whether a message on a node can change what matches (a filter on values).
    pub fn needs_value(&self) -> bool {
        self.parsed.as_ref().is_some_and(TopicFilter::needs_value)
    }

    /// Marks the nodes created since the last call that match, and their ancestors: a filter
    /// stays right while topics stream in, at the cost of one comparison per new level.
    pub fn catch_up(&mut self, store: &TopicStore) {
        if self.parsed.is_none() {
            return;
        }
        let len = store.len();
        if self.checked >= len {
            return;
        }
        self.visible.resize(len + 1, false);
        self.matched.resize(len + 1, false);
        self.below.resize(len + 1, 0);
        let from = self.checked;
        self.checked = len;
        for id in store.ids().skip(from) {
            self.recheck(store, id);
        }
    }

    /// Evaluates one node again (its value changed) and moves its ancestors' counts;
    /// whether its match changed.
    pub fn recheck(&mut self, store: &TopicStore, id: NodeId) -> bool {
        let Some(filter) = &self.parsed else {
            return false;
        };
        let i = id as usize;
        if i > self.checked || i >= self.matched.len() {
            return false;
        }
        let now = filter.matches(store.node(id));
        if now == self.matched[i] {
            return false;
        }
        self.matched[i] = now;
        if now {
            self.matches += 1;
        } else {
            self.matches -= 1;
        }
        let mut at = id;
        while at != ROOT {
            let a = at as usize;
            if now {
                self.below[a] += 1;
            } else {
                self.below[a] -= 1;
            }
            self.visible[a] = self.below[a] > 0;
            at = store.node(at).parent;
        }
        true
    }

    /// Applies typed text: `false` (and the error kept) when it does not parse.
    fn set(&mut self, query: String) -> bool {
        let parsed = if query.is_empty() {
            None
        } else {
            match TopicFilter::parse(&query) {
                Ok(f) => Some(f),
                Err(e) => {
                    self.query = query;
                    self.error = Some(e);
                    return false;
                }
            }
        };
        self.error = None;
        self.parsed = parsed;
        self.query = query;
        self.visible.clear();
        self.matched.clear();
        self.below.clear();
        self.matches = 0;
        self.checked = 0;
        true
    }

    pub fn is_match(&self, id: NodeId) -> bool {
        self.matched.get(id as usize).copied().unwrap_or(false)
    }

    /// The ids that match now, in creation order.
    fn matching(&self) -> Vec<NodeId> {
        self.matched
            .iter()
            .enumerate()
            .filter(|(_, m)| **m)
            .filter_map(|(i, _)| NodeId::try_from(i).ok())
            .collect()
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
    if !topics.filter.set(query) {
        // Never applied half-way: the tree keeps the last filter that parsed.
        return;
    }
    topics.filter.catch_up(&model.store);
    topics.changed();
    if !topics.filter.is_active() {
        return;
    }
    let matches = topics.filter.matching();
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

/// A topic's value made it match a filter on values, or stop matching: one that starts to
/// match shows at once, its levels opened.
pub(super) fn on_match_changed(model: &mut Model, id: NodeId) {
    if model.topics.filter.is_match(id) {
        let mut at = model.store.node(id).parent;
        while at != ROOT && model.topics.opened.insert(at) {
            at = model.store.node(at).parent;
        }
    }
    model.topics.changed();
}

/// New nodes arrived: a filter marks those that match.
pub(super) fn on_new_nodes(model: &mut Model) {
    model.topics.filter.catch_up(&model.store);
}
