//! What the config file changes in the explorer: key overrides (and the help that lists
//! them), the theme, the profile picker, and saving a connection as a profile.

use std::path::Path;

use crossterm::event::{KeyCode, KeyEvent};
use mqscope::config::{Config, ProfileChoice};
use mqscope::tui::model::{Command, Msg, update};
use mqscope::tui::picker::{self, Picker};
use mqscope::tui::view::View;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;

use super::{draw, key, plant, screen};

fn config(text: &str) -> Config {
    Config::builtin().layer(mqscope::tui::settings::parse(text, Path::new("test.toml")).unwrap())
}

#[test]
fn key_overrides_change_what_keys_do_and_what_help_says() {
    let c = config("[keys.global]\nquit = \"Q\"\n\n[keys.topics]\ndown = [\"n\", \"Down\"]\n");
    let mut model = plant();
    model.keymap = mqscope::tui::settings::keymap(&c);
    assert!(
        key(&mut model, KeyCode::Char('q')).is_empty(),
        "q no longer quits"
    );
    assert_eq!(key(&mut model, KeyCode::Char('Q')), vec![Command::Quit]);
    key(&mut model, KeyCode::Char('?'));
    let mut view = View::default();
    let terminal = draw(&mut model, &mut view, 110, 40);
    let text = screen(&terminal);
    assert!(text.contains("Q             quit"), "{text}");
    assert!(text.contains("n/↓           down"), "{text}");
    assert!(!text.contains("q/Ctrl-c"), "{text}");
    insta::assert_snapshot!("help_with_overrides", text);
}

#[test]
fn the_theme_takes_a_base_and_named_colours() {
    let c = config(
        "[theme]\nbase = \"light\"\n\n[theme.colors]\nselected = \"blue\"\nretained = \"#ff8800\"\n",
    );
    let t = mqscope::tui::settings::theme(&c);
    assert_eq!(t.selected.bg, Some(Color::Blue));
    assert_eq!(t.retained.fg, Some(Color::Rgb(0xff, 0x88, 0x00)));
    assert_eq!(t.border_focused.fg, Some(Color::Blue), "the light base");
    assert_eq!(
        mqscope::tui::settings::theme(&Config::builtin())
            .border_focused
            .fg,
        Some(Color::Cyan)
    );
}

#[test]
fn the_picker_lists_profiles_and_a_url_entry() {
    let c = config(
        "[profiles.plant-a]\nurl = \"mqtts://plant-a.example:8883\"\nusername = \"field\"\n\
         password_env = \"A\"\n\n[profiles.staging]\nurl = \"wss://staging.example/mqtt\"\n\n\
         [profiles.local]\nurl = \"mqtt://localhost:1883\"\n",
    );
    let mut p = Picker::new(&c);
    let mut terminal = Terminal::new(TestBackend::new(90, 12)).unwrap();
    let theme = mqscope::tui::settings::theme(&c);
    terminal.draw(|f| picker::render(&p, &theme, f)).unwrap();
    let shown = super::screen(&terminal);
    insta::assert_snapshot!("profile_picker", shown);
    // Profiles sort by name: local, plant-a, staging.
    assert_eq!(p.on_key(KeyEvent::from(KeyCode::Down)), None);
    assert_eq!(
        p.on_key(KeyEvent::from(KeyCode::Enter)),
        Some(Some(ProfileChoice::Profile("plant-a".into())))
    );
    p.on_key(KeyEvent::from(KeyCode::End));
    p.on_key(KeyEvent::from(KeyCode::Enter));
    for c in "broker:1884".chars() {
        p.on_key(KeyEvent::from(KeyCode::Char(c)));
    }
    terminal.draw(|f| picker::render(&p, &theme, f)).unwrap();
    assert!(super::screen(&terminal).contains("URL: mqtt://broker:1884▏"));
    assert_eq!(
        p.on_key(KeyEvent::from(KeyCode::Enter)),
        Some(Some(ProfileChoice::Url("mqtt://broker:1884".into())))
    );
    let mut p = Picker::new(&c);
    assert_eq!(p.on_key(KeyEvent::from(KeyCode::Char('q'))), Some(None));
}

#[tokio::test]
async fn a_working_connection_is_saved_as_a_profile_without_its_password() {
    let dir = super::support::TempDir::new("profile");
    let path = dir.path().join("config.toml");
    let mut model = plant();
    model.link = mqscope::tui::model::LinkState::Connected {
        since: super::t0(),
        protocol: mqscope::broker::Protocol::V5,
    };
    model.target = "mqtts://plant-b.example:8883".into();
    // A pinned series goes with the new profile.
    super::select(&mut model, "plant/line1/temp");
    key(&mut model, KeyCode::Char('+'));
    key(&mut model, KeyCode::Char('S'));
    for _ in 0.."plant-b.example".len() {
        key(&mut model, KeyCode::Backspace);
    }
    for c in "plant-b".chars() {
        key(&mut model, KeyCode::Char(c));
    }
    let commands = key(&mut model, KeyCode::Enter);
    let pins = vec![mqscope::config::PinEntry {
        topic: "plant/line1/temp".into(),
        field: "t".into(),
    }];
    assert_eq!(
        commands,
        vec![Command::SaveProfile {
            name: "plant-b".into(),
            pins: pins.clone()
        }]
    );
    let (commands_tx, _rx) = tokio::sync::mpsc::channel(1);
    let (replies_tx, mut replies) = tokio::sync::mpsc::channel(4);
    // The draft the explorer makes from its own command line, as `mqscope` parses it.
    let cli = <mqscope::cli::Cli as clap::Parser>::try_parse_from([
        "mqscope",
        "-b",
        "mqtts://plant-b.example:8883",
        "-u",
        "field",
        "-t",
        "plant/#",
    ])
    .unwrap();
    let draft = mqscope::tui::profile_draft(&cli.tui, true);
    assert_eq!(draft.username.as_deref(), Some("field"));
    assert_eq!(draft.filters, ["plant/#"]);
    let mut effects = super::act::effects(commands_tx, replies_tx);
    effects.profile = Some((path.clone(), draft));
    effects.run(&commands[0]);
    let Some(Msg::Notice(text)) = replies.recv().await else {
        panic!("a notice")
    };
    assert!(
        text.starts_with("saved profile plant-b: mqscope -P plant-b (in "),
        "{text}"
    );
    update(&mut model, Msg::Notice(text));
    let saved = std::fs::read_to_string(&path).unwrap();
    let c = mqscope::tui::settings::parse(&saved, &path).unwrap();
    let p = &c.profiles["plant-b"];
    assert_eq!(p.url, "mqtts://plant-b.example:8883");
    assert_eq!(p.password_env.as_deref(), Some("MQSCOPE_PASSWORD"));
    assert_eq!(p.username.as_deref(), Some("field"));
    assert_eq!(p.filters, ["plant/#"]);
    assert!(p.password.is_none());
    assert_eq!(p.pins, pins);
    // Saving the same name again is refused, the file untouched.
    let again = Command::SaveProfile {
        name: "plant-b".into(),
        pins: Vec::new(),
    };
    effects.run(&again);
    let Some(Msg::Notice(text)) = replies.recv().await else {
        panic!("a notice")
    };
    assert!(text.contains("exists already"), "{text}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), saved);
    // Opened with that profile, saving under its name replaces its pins, nothing else.
    effects.opened_profile = Some("plant-b".into());
    let pins = vec![mqscope::config::PinEntry {
        topic: "été/温度".into(),
        field: "a[\"odd key\"]".into(),
    }];
    effects.run(&Command::SaveProfile {
        name: "plant-b".into(),
        pins: pins.clone(),
    });
    let Some(Msg::Notice(text)) = replies.recv().await else {
        panic!("a notice")
    };
    assert!(
        text.starts_with("saved 1 pinned series with profile plant-b"),
        "{text}"
    );
    let c = mqscope::tui::settings::parse(&std::fs::read_to_string(&path).unwrap(), &path).unwrap();
    assert_eq!(c.profiles["plant-b"].pins, pins);
    assert_eq!(c.profiles["plant-b"].username.as_deref(), Some("field"));
}
