//! The topics pane's `/` with the filter language: expressions over last values, payload
//! search, errors shown and never applied half-way, matches that follow new values.

use crossterm::event::KeyCode;
use mqscope::tui::view::View;

use super::{chars, draw, feed, key, message, plant, screen};

fn shown(model: &mut mqscope::tui::model::Model) -> String {
    let mut view = View::default();
    let terminal = draw(model, &mut view, 200, 16);
    screen(&terminal)
}

#[test]
fn an_expression_keeps_matching_topics_and_follows_new_values() {
    let mut model = plant();
    key(&mut model, KeyCode::Char('/'));
    chars(&mut model, "t >= 21 and unit == \"C\"");
    key(&mut model, KeyCode::Enter);
    let s = shown(&mut model);
    assert!(
        s.contains("filter: t >= 21 and unit == \"C\" · 1 match"),
        "{s}"
    );
    assert!(s.contains("line1"), "{s}");
    assert!(!s.contains("line2") && !s.contains("blob"), "{s}");
    // line2 warms up: it matches now; line1 cools down: it no longer does.
    feed(
        &mut model,
        message("plant/line2/temp", br#"{"t":25,"unit":"C"}"#, 5000),
    );
    feed(
        &mut model,
        message("plant/line1/temp", br#"{"t":20,"unit":"C"}"#, 5100),
    );
    let s = shown(&mut model);
    assert!(s.contains("· 1 match"), "{s}");
    assert!(s.contains("▼ line2 (2/1)") && !s.contains("line1 ("), "{s}");
    // A new topic that matches appears with its ancestors.
    feed(
        &mut model,
        message("usine/温度/室1", br#"{"t":30,"unit":"C"}"#, 5200),
    );
    let s = shown(&mut model);
    assert!(s.contains("· 2 match") && s.contains("usine"), "{s}");
}

#[test]
fn payload_search_and_path_search_still_work() {
    let mut model = plant();
    key(&mut model, KeyCode::Char('/'));
    chars(&mut model, "payload:hall b");
    let s = shown(&mut model);
    assert!(s.contains("· 1 match") && s.contains("site"), "{s}");
    assert!(!s.contains("plant"), "{s}");
    for _ in 0.."payload:hall b".len() {
        key(&mut model, KeyCode::Backspace);
    }
    chars(&mut model, "line1");
    let s = shown(&mut model);
    assert!(
        s.contains("filter: line1 · 4 match"),
        "levels and topics: {s}"
    );
}

#[test]
fn a_syntax_error_shows_its_column_and_keeps_the_last_filter() {
    let mut model = plant();
    key(&mut model, KeyCode::Char('/'));
    chars(&mut model, "t > 20");
    let before = model.topics.filter.matches;
    assert_eq!(before, 1, "line1 (22.0); line2 is at 19, line10 at 18");
    chars(&mut model, " and");
    let s = shown(&mut model);
    assert!(
        s.contains("✗ column 11: expected a value (not applied)"),
        "{s}"
    );
    assert_eq!(
        model.topics.filter.matches, before,
        "the tree keeps the last filter"
    );
}

#[test]
fn pasted_control_characters_in_the_filter_are_escaped() {
    let mut model = plant();
    key(&mut model, KeyCode::Char('/'));
    chars(&mut model, "t > \u{1b}[2J");
    let s = shown(&mut model);
    assert!(!s.contains('\u{1b}'), "{s:?}");
    assert!(s.contains("\\x1b[2J"), "{s}");
}
