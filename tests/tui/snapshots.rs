//! Whole frames with a fixed clock: what a user sees.

use crossterm::event::KeyCode;
use mqscope::tui::view::View;

use super::{draw, key, plant, redraw, screen};

fn open_path(model: &mut mqscope::tui::model::Model, path: &str) {
    let id = model.store.find(path).unwrap();
    let ids = model.store.path_ids(id);
    for depth in 1..=ids.len() {
        model.tree.open(ids[..depth].to_vec());
    }
    model.tree.select(ids);
    model.tree_dirty = true;
}

#[test]
fn json_topic_in_the_inspector() {
    let mut model = plant();
    open_path(&mut model, "plant/line1/temp");
    let mut view = View::default();
    let terminal = draw(&mut model, &mut view, 110, 24);
    insta::assert_snapshot!(screen(&terminal));
}

#[test]
fn mqtt5_properties_and_diff() {
    let mut model = plant();
    open_path(&mut model, "plant/cmd");
    let mut view = View::default();
    let mut terminal = draw(&mut model, &mut view, 110, 24);
    insta::assert_snapshot!("v5_properties", screen(&terminal));
    open_path(&mut model, "plant/line1/temp");
    key(&mut model, KeyCode::Char('d'));
    redraw(&mut terminal, &mut model, &mut view);
    insta::assert_snapshot!("diff", screen(&terminal));
}

#[test]
fn binary_as_hex_and_help_overlay() {
    let mut model = plant();
    open_path(&mut model, "plant/blob");
    let mut view = View::default();
    let mut terminal = draw(&mut model, &mut view, 110, 24);
    insta::assert_snapshot!("hex", screen(&terminal));
    key(&mut model, KeyCode::Char('?'));
    redraw(&mut terminal, &mut model, &mut view);
    insta::assert_snapshot!("help", screen(&terminal));
}

#[test]
fn stacked_at_80x24() {
    let mut model = plant();
    open_path(&mut model, "plant/state");
    let mut view = View::default();
    let terminal = draw(&mut model, &mut view, 80, 24);
    insta::assert_snapshot!(screen(&terminal));
}
