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
        let _ = write!(
            title,
            " filter: {}",
            crate::sanitize::line(filter.query.as_bytes())
        );
        if filter.is_active() {
            let _ = write!(title, " · {} match", count(filter.matches as u64));
        }
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
        let lines = if filter.is_active() {
            vec![Line::styled("no topic matches the filter", t.dim)]
        } else {
            empty_tree(model, t)
        };
        frame.render_widget(
            Paragraph::new(lines)
                .wrap(ratatui::widgets::Wrap { trim: false })
                .block(block),
            area,
        );
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

/// What an empty tree says: waiting, or why nothing can arrive and what to do about it.
fn empty_tree(model: &Model, t: &crate::tui::theme::Theme) -> Vec<Line<'static>> {
    use crate::tui::model::LinkState;
    let cause = match &model.link {
        LinkState::Retrying { cause, .. } | LinkState::Failed { cause } => cause,
        LinkState::Connected { .. } => {
            return vec![Line::styled(
                "connected; waiting for messages on the subscription (s lists it)…",
                t.dim,
            )];
        }
        _ => return vec![Line::styled("connecting…", t.dim)],
    };
    let sane = |s: &str| crate::sanitize::line(s.as_bytes()).into_owned();
    vec![
        Line::styled("no messages: the broker cannot be reached", t.warn),
        Line::raw(""),
        Line::styled(
            format!("{} [{}]", sane(cause.kind.explanation()), cause.code()),
            t.error,
        ),
        Line::styled(sane(&cause.detail), t.dim),
        Line::raw(""),
        Line::styled(format!("hint: {}", cause.kind.hint()), t.value),
        Line::raw(""),
        Line::styled("D    runs the doctor on this broker", t.label),
        Line::styled("mqscope demo    the whole tool with no broker", t.label),
        Line::styled("mqscope -b URL  another broker", t.label),
    ]
}
