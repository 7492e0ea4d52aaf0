//! Charts: the inspector's chart (`g`) with its field chosen by `←→`, typed (`F`) or overlaid
//! (`O`); pinned series (`+`) in the charts pane (`G`), live; hostile values (NaN, infinities,
//! numbers as strings, control characters, 10,000 points, one point) and tiny terminals.

use crossterm::event::KeyCode;
use mqscope::series::Field;
use mqscope::tui::keymap::Pane;
use mqscope::tui::model::{Command, Model, Msg, update};
use mqscope::tui::view::View;

use super::{chars, draw, feed, key, message, plant, redraw, screen, select};

fn field(model: &Model) -> String {
    mqscope::tui::model::shown_field(model).map_or_else(|| "-".into(), |f| f.label().to_string())
}

/// A topic with `n` readings of a sensor, one per second from `start` ms.
fn sensor(model: &mut Model, topic: &str, n: u64, start: u64, value: impl Fn(u64) -> String) {
    for i in 0..n {
        let payload = value(i);
        feed(model, message(topic, payload.as_bytes(), start + i * 1000));
    }
}

#[test]
fn g_charts_the_first_number_and_arrows_choose_the_field() {
    let mut model = plant();
    select(&mut model, "plant/line1/temp");
    key(&mut model, KeyCode::Char('g'));
    assert!(model.chart.open);
    assert_eq!(field(&model), "t", "the first number of the newest message");
    model.focus = Pane::Inspector;
    // The newest message is {"t":22.0,"unit":"C","ok":true}: t, unit, ok.
    key(&mut model, KeyCode::Right);
    assert_eq!(field(&model), "unit");
    key(&mut model, KeyCode::Right);
    assert_eq!(field(&model), "ok");
    key(&mut model, KeyCode::Right);
    assert_eq!(field(&model), "t", "round again");
    key(&mut model, KeyCode::Char('['));
    assert_eq!(field(&model), "ok", "[ ] step too");
    // g again: the payload as before, ←→ older and newer messages again.
    key(&mut model, KeyCode::Char('g'));
    assert!(!model.chart.open);
    key(&mut model, KeyCode::Left);
    assert!(model.inspector.pinned.is_some(), "an older message");
}

#[test]
fn a_typed_field_is_checked_and_a_bad_one_never_plotted() {
    let mut model = plant();
    select(&mut model, "plant/line1/temp");
    key(&mut model, KeyCode::Char('F'));
    assert!(model.chart.open && model.chart.typing.as_deref() == Some("t"));
    key(&mut model, KeyCode::Backspace);
    chars(&mut model, "a..b");
    key(&mut model, KeyCode::Enter);
    let error = model.chart.error.clone().unwrap();
    assert!(error.contains("column 3"), "{error}");
    assert!(model.chart.typing.is_some(), "still typing");
    assert_eq!(field(&model), "t", "the chart keeps its field");
    let mut view = View::default();
    let s = screen(&draw(&mut model, &mut view, 120, 34));
    assert!(
        s.contains("✗ column 3") && s.contains("(not plotted)"),
        "{s}"
    );
    key(&mut model, KeyCode::Esc);
    assert!(model.chart.typing.is_none() && model.chart.error.is_none());
    key(&mut model, KeyCode::Char('F'));
    for _ in 0..5 {
        key(&mut model, KeyCode::Backspace);
    }
    chars(&mut model, "[\"unit\"]");
    key(&mut model, KeyCode::Enter);
    assert_eq!(field(&model), "[\"unit\"]");
    assert!(model.chart.typing.is_none());
}

#[test]
fn the_inspector_chart_shows_values_stats_and_what_was_skipped() {
    let mut model = plant();
    sensor(&mut model, "usine/温度/室1", 30, 3000, |i| match i {
        7 => r#"{"t":"abc"}"#.into(),
        8 => r#"{"t":"NaN"}"#.into(),
        9 => r#"{"t":"22.5"}"#.into(),
        11 => "not json".into(),
        _ => format!(r#"{{"t":{},"hum":{}}}"#, 20 + (i % 5), 40 + i),
    });
    update(&mut model, Msg::Tick(super::at(33_000)));
    select(&mut model, "usine/温度/室1");
    key(&mut model, KeyCode::Char('g'));
    let mut view = View::default();
    let mut terminal = draw(&mut model, &mut view, 160, 45);
    let s = screen(&terminal);
    assert!(
        s.contains("last 24  min 20  max 24  mean 21.9  · 27 points · 3 skipped"),
        "{s}"
    );
    assert!(s.contains("← 30.0 s →"), "{s}");
    assert!(
        s.contains('⠁') || s.contains('⡀') || s.contains('⠉'),
        "braille: {s}"
    );
    // Overlaid: t stays, hum joins with its own line in the legend.
    model.focus = Pane::Inspector;
    key(&mut model, KeyCode::Char('O'));
    key(&mut model, KeyCode::Right);
    assert_eq!(field(&model), "hum");
    redraw(&mut terminal, &mut model, &mut view);
    let s = screen(&terminal);
    assert!(s.contains("■ hum") && s.contains("■ t "), "{s}");
    insta::assert_snapshot!("inspector_chart_160x45", s);
}

#[test]
fn booleans_and_enumerations_plot_as_named_steps() {
    let mut model = plant();
    sensor(&mut model, "plant/mode", 12, 3000, |i| {
        ["\"idle\"", "\"run\"", "\"run\"", "\"fault\""][usize::try_from(i % 4).unwrap()].into()
    });
    select(&mut model, "plant/mode");
    key(&mut model, KeyCode::Char('g'));
    assert_eq!(field(&model), "(payload)");
    let mut view = View::default();
    let s = screen(&draw(&mut model, &mut view, 120, 34));
    assert!(s.contains("now fault · 3 values · 12 points"), "{s}");
    for name in ["idle", "run", "fault"] {
        assert!(
            s.contains(&format!("││{name} ")),
            "{name} on the value axis: {s}"
        );
    }
}

#[test]
fn pins_collect_their_topics_live_and_the_pane_draws_them() {
    let mut model = plant();
    sensor(&mut model, "usine/温度/室1", 5, 3000, |i| {
        format!(r#"{{"t":{}}}"#, 20 + i)
    });
    sensor(&mut model, "été/x", 5, 3500, |i| {
        format!("{}", 1000 - i * 10)
    });
    select(&mut model, "usine/温度/室1");
    key(&mut model, KeyCode::Char('+'));
    assert_eq!(model.charts.pins.len(), 1);
    assert!(model.charts.open, "the first pin opens the pane");
    assert_eq!(
        model.charts.pins[0].series.points().len(),
        5,
        "the kept history first"
    );
    key(&mut model, KeyCode::Char('+'));
    assert_eq!(model.charts.pins.len(), 1, "the same series once");
    assert!(model.notice.as_ref().unwrap().0.contains("pinned already"));
    select(&mut model, "été/x");
    key(&mut model, KeyCode::Char('+'));
    // Live: each new message on a pinned topic adds a point; others do not.
    sensor(&mut model, "usine/温度/室1", 3, 9000, |i| {
        format!(r#"{{"t":{}}}"#, 30 + i)
    });
    feed(&mut model, message("plant/other", b"1", 9500));
    assert_eq!(model.charts.pins[0].series.points().len(), 8);
    assert_eq!(model.charts.pins[1].series.points().len(), 5);
    update(&mut model, Msg::Tick(super::at(12_000)));
    let mut view = View::default();
    let mut terminal = draw(&mut model, &mut view, 160, 45);
    let s = screen(&terminal);
    assert!(s.contains("charts · 2/6 pinned · own scales"), "{s}");
    assert!(s.contains("▸ t  last 32  min 20  max 32"), "{s}");
    assert!(s.contains("été/x  last 960"), "{s}");
    assert!(!s.contains("─ log"), "the charts take the log's place: {s}");
    insta::assert_snapshot!("charts_pane_160x45", s);
    // The pane's keys: s shares one scale, x unpins, Enter charts the topic in the inspector.
    assert_eq!(
        model.focus,
        Pane::Topics,
        "pinning leaves the focus where it was"
    );
    key(&mut model, KeyCode::Tab);
    key(&mut model, KeyCode::Tab);
    key(&mut model, KeyCode::Tab);
    assert_eq!(
        model.focus,
        Pane::Charts,
        "Tab: topics, inspector, timeline, charts"
    );
    key(&mut model, KeyCode::Char('s'));
    assert!(model.charts.shared_scale);
    redraw(&mut terminal, &mut model, &mut view);
    assert!(screen(&terminal).contains("one scale"));
    key(&mut model, KeyCode::Up);
    key(&mut model, KeyCode::Enter);
    assert_eq!(model.selected(), model.store.find("usine/温度/室1"));
    assert!(model.chart.open && model.focus == Pane::Inspector);
    model.focus = Pane::Charts;
    key(&mut model, KeyCode::Char('x'));
    assert_eq!(model.charts.pins.len(), 1);
    assert_eq!(model.charts.pins[0].topic, "été/x");
    // G hides and shows the pane; Tab passes through it.
    key(&mut model, KeyCode::Char('G'));
    assert!(!model.charts.open && model.focus == Pane::Topics);
    key(&mut model, KeyCode::Char('G'));
    assert_eq!(model.focus, Pane::Charts);
}

#[test]
fn six_pins_at_most_and_pins_survive_a_recording_starting_over() {
    let mut model = plant();
    for i in 0..7 {
        let topic = format!("s/{i}");
        sensor(&mut model, &topic, 2, 3000, |v| v.to_string());
        select(&mut model, &topic);
        key(&mut model, KeyCode::Char('+'));
    }
    assert_eq!(model.charts.pins.len(), 6);
    assert!(
        model
            .notice
            .as_ref()
            .unwrap()
            .0
            .contains("6 series are pinned")
    );
    update(&mut model, Msg::Reset);
    assert!(
        model
            .charts
            .pins
            .iter()
            .all(|p| p.series.is_empty() && p.node.is_none())
    );
    sensor(&mut model, "s/0", 1, 5000, |_| "7".into());
    assert_eq!(model.charts.pins[0].series.points().len(), 1);
}

#[test]
fn pins_go_with_the_profile_they_were_opened_with() {
    let mut model = plant();
    model.profile = Some("plant".into());
    select(&mut model, "plant/line1/temp");
    key(&mut model, KeyCode::Char('+'));
    key(&mut model, KeyCode::Char('S'));
    let commands = key(&mut model, KeyCode::Enter);
    assert_eq!(
        commands,
        [Command::SaveProfile {
            name: "plant".into(),
            pins: vec![mqscope::config::PinEntry {
                topic: "plant/line1/temp".into(),
                field: "t".into(),
            }],
        }]
    );
    // Read back from a profile: resolved when their topic speaks.
    let pane = mqscope::tui::model::ChartsPane::from_entries(&[mqscope::config::PinEntry {
        topic: "late/topic".into(),
        field: String::new(),
    }]);
    model.charts = pane;
    assert_eq!(model.charts.pins[0].field, Field::payload());
    feed(&mut model, message("late/topic", b"21.5", 9000));
    assert_eq!(model.charts.pins[0].series.points().len(), 1);
}

#[test]
fn hostile_values_draw_safely() {
    let mut model = plant();
    // Control characters in a label and a topic, huge numbers, infinities and a single point.
    sensor(&mut model, "evil/\u{1b}[31mred", 3, 3000, |i| match i {
        0 => "\"\u{1b}]0;pwned\u{7}\"".into(),
        1 => "\"ok\u{9b}2J\"".into(),
        _ => "\"ok\"".into(),
    });
    sensor(&mut model, "huge", 4, 3000, |i| match i {
        0 => "1e308".into(),
        1 => "-1.7e308".into(),
        2 => "1e400".into(),
        _ => "\"-inf\"".into(),
    });
    sensor(&mut model, "one", 1, 3000, |_| "42".into());
    sensor(&mut model, "flat", 50, 3000, |_| "5".into());
    let mut view = View::default();
    for topic in ["evil/\u{1b}[31mred", "huge", "one", "flat"] {
        select(&mut model, topic);
        model.chart.open = true;
        key(&mut model, KeyCode::Char('+'));
        for (w, h) in [
            (160, 45),
            (80, 24),
            (40, 12),
            (24, 6),
            (10, 3),
            (1, 1),
            (0, 0),
        ] {
            let s = screen(&draw(&mut model, &mut view, w, h));
            assert!(
                !s.contains('\u{1b}') && !s.contains('\u{9b}') && !s.contains('\u{7}'),
                "{s}"
            );
        }
    }
    let s = screen(&draw(&mut model, &mut view, 160, 45));
    assert!(
        s.contains("last -1.700e308  min -1.700e308  max 1.000e308"),
        "{s}"
    );
    assert!(s.contains("2 skipped"), "1e400 and -inf: {s}");
    assert!(
        s.contains("one  last 42  min 42  max 42  mean 42  · 1 points"),
        "{s}"
    );
}

#[test]
fn ten_thousand_points_are_drawn_by_their_extremes() {
    let mut model = Model::new(
        "mqtt://x".into(),
        mqscope::store::Limits {
            history: 10_000,
            ..mqscope::store::Limits::default()
        },
        super::t0(),
    );
    for i in 0..10_000u64 {
        let v = match i {
            5000 => 1000.0,
            7000 => -1000.0,
            _ => f64::from(u32::try_from(i % 10).unwrap()),
        };
        feed(
            &mut model,
            message("big", format!("{v}").as_bytes(), i * 10),
        );
    }
    select(&mut model, "big");
    key(&mut model, KeyCode::Char('g'));
    let mut view = View::default();
    let s = screen(&draw(&mut model, &mut view, 120, 34));
    assert!(
        s.contains("min -1000  max 1000") && s.contains("10000 points"),
        "{s}"
    );
    // The spikes reach the top and the bottom row of the plot.
    let rows: Vec<&str> = s.lines().collect();
    let plot: Vec<&&str> = rows.iter().filter(|r| r.contains('│')).collect();
    assert!(
        plot.iter().any(
            |r| r.contains("1000") && r.chars().any(|c| ('\u{2800}'..='\u{28ff}').contains(&c))
        ),
        "{s}"
    );
}
