//! The topics pane: the tree of everything the subscription sees.

use std::fmt::Write as _;

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use tui_tree_widget::Tree;

use super::{count, focused, pane_block};
use crate::tui::keymap::Pane;
use crate::tui::model::Model;
use crate::tui::view::{TreeFrame, TreeFrameKey, View};

pub fn render(model: &Model, view: &mut View, frame: &mut Frame<'_>, area: Rect) {
    let store = &model.store;
    let filter = &model.topics.filter;
    let mut title = format!("topics ({})", count(u64::from(store.topic_count())));
    if filter.is_active() || filter.editing {
        let _ = write!(title, " filter: {}", filter.query);
    }
    if store.untracked_topics > 0 {
        let _ = write!(
            title,
            " · {} untracked (memory budget)",
            count(store.untracked_topics)
        );
    }
    let is_focused = focused(model, Pane::Topics);
    let key = TreeFrameKey {
        items_version: view.items_version,
        area,
        title,
        focused: is_focused,
        selected: view.tree.selected().to_vec(),
        offset: view.tree.get_offset(),
    };
    if let Some(drawn) = &view.tree_frame {
        if drawn.key == key && !view.items.is_empty() {
            frame.buffer_mut().merge(&drawn.cells);
            return;
        }
    }
    let t = &view.theme;
    let block = pane_block(t, &key.title, is_focused);
    if view.items.is_empty() {
        let text = if filter.is_active() {
            "no topic matches the filter"
        } else {
            "waiting for messages…"
        };
        frame.render_widget(Paragraph::new(Line::styled(text, t.dim)).block(block), area);
        return;
    }
    let Ok(tree) = Tree::new(&view.items) else {
        frame.render_widget(Paragraph::new("tree unavailable").block(block), area);
        return;
    };
    let tree = tree
        .block(block)
        .highlight_style(t.selected)
        // The markers are part of each row's text (see `view::row_line`).
        .node_closed_symbol("")
        .node_open_symbol("")
        .node_no_children_symbol("");
    frame.render_stateful_widget(tree, area, &mut view.tree);
    let mut cells = Buffer::empty(area);
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            if let (Some(to), Some(from)) =
                (cells.cell_mut((x, y)), frame.buffer_mut().cell((x, y)))
            {
                *to = from.clone();
            }
        }
    }
    // The widget may have moved the offset to keep the selection in view.
    let key = TreeFrameKey {
        offset: view.tree.get_offset(),
        ..key
    };
    view.tree_frame = Some(TreeFrame { key, cells });
}
