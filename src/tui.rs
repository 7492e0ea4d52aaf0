//! The interactive explorer: topic tree, inspector and status bar over one connection.
//! The only module that knows about the terminal.

pub mod app;
pub mod dialog;
pub mod effects;
pub mod input;
pub mod keymap;
pub mod model;
pub mod picker;
pub mod proxy;
pub mod requests;
pub mod settings;
pub mod terminal;
pub mod theme;
pub mod ui;
pub mod view;

use anyhow::Context as _;
use std::io;
use std::process::ExitCode;
use std::time::SystemTime;

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

use crate::broker::{BrokerHandle, Subscription};
use crate::cli::TuiArgs;
use crate::store::Limits;
use model::Model;

/// The connection the explorer asks for: its filters (MQTT 5 keeps the publisher's retain
/// flag), `$SYS` on request, and the packet log on.
fn explorer_options(
    args: &TuiArgs,
) -> Result<crate::broker::BrokerOptions, crate::cli::UsageError> {
    let mut opts = args.connect.to_options()?;
    opts.subscriptions = args
        .subscribe
        .filters
        .iter()
        .map(|f| {
            let mut s = Subscription::new(f.clone(), args.subscribe.qos);
            // MQTT 5: keep the publisher's retain flag, so the tree's R marker means "the
            // broker holds this as retained", not "arrived because of the subscription".
            s.retain_as_published = true;
            s
        })
        .collect();
    if args.sys {
        opts.subscriptions.push(Subscription::new("$SYS/#", 0));
    }
    opts.packet_log = true;
    Ok(opts)
}

/// The profile "save as profile" writes: where to connect and how, never a password (only
/// where it came from, when that was the environment or a file). `password_in_env`: whether
/// `MQSCOPE_PASSWORD` is set.
pub fn profile_draft(args: &TuiArgs, password_in_env: bool) -> crate::config::Profile {
    use crate::config::{Profile, Version};
    let c = &args.connect;
    let password_env = (c.password.is_none() && c.password_file.is_none() && password_in_env)
        .then(|| "MQSCOPE_PASSWORD".to_string());
    Profile {
        url: c.broker.to_string(),
        username: c.username.clone(),
        password_env,
        password_file: c.password_file.clone(),
        client_id: c.client_id.clone(),
        mqtt_version: Some(match c.mqtt_version {
            crate::cli::VersionArg::V5 => Version::V5,
            crate::cli::VersionArg::V311 => Version::V311,
            crate::cli::VersionArg::Auto => Version::Auto,
        }),
        ca_file: c.ca_file.clone(),
        cert: c.cert.clone(),
        key: c.key.clone(),
        insecure: c.insecure.then_some(true),
        filters: args.subscribe.filters.clone(),
        keep_alive: Some(c.keep_alive),
        history: Some(args.history),
        ..Profile::default()
    }
}

/// The explorer's terminal check: scripts get a pointer to the headless modes.
fn needs_terminal() -> Result<(), crate::cli::UsageError> {
    use std::io::IsTerminal;
    if !io::stdout().is_terminal() || !io::stdin().is_terminal() {
        return Err(crate::cli::UsageError(
            "the explorer needs a terminal; for scripts use `mqscope sub` (see --help)".into(),
        ));
    }
    Ok(())
}

/// A model with the user's settings applied, the theme (plain under `NO_COLOR`), and the
/// config file "save as profile" writes to.
fn model_with(
    target: String,
    limits: Limits,
    ring: &crate::logging::LogRing,
    settings: settings::Settings,
) -> (Model, theme::Theme, Option<std::path::PathBuf>) {
    let mut model = Model::new(target, limits, SystemTime::now());
    model.log.level = Some(ring.level());
    model.log_file = crate::logging::log_dir()
        .map(|dir| dir.join("mqscope.log.YYYY-MM-DD").display().to_string());
    model.keymap = settings.keymap;
    model.watch = crate::watch::Watch::new(settings.watch);
    model.alerts = settings.alerts;
    model.decoders = settings.decoders;
    model.profile.clone_from(&settings.profile);
    model.charts = model::ChartsPane::from_entries(&settings.pins);
    model.record_dir = crate::logging::state_dir().map(|d| d.join("recordings"));
    let theme = if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        theme::Theme::plain()
    } else {
        settings.theme
    };
    (model, theme, settings.config_path)
}

/// Takes the terminal, runs the loop over these sources until the user quits, gives the
/// terminal back. `effects` is built with the channel side effects report back on.
async fn session(
    model: &mut Model,
    theme: theme::Theme,
    events: crate::source::Sources<'_>,
    ring: &crate::logging::LogRing,
    effects: impl FnOnce(tokio::sync::mpsc::Sender<model::Msg>) -> effects::Effects,
) -> anyhow::Result<app::Ending> {
    let mut view = view::View::new(theme);
    let mut signals = crate::signals::Signals::new().context("cannot listen for signals")?;
    let _guard = terminal::TerminalGuard::enter()
        .context("cannot switch the terminal to the explorer's screen")?;
    let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))
        .context("cannot draw on this terminal")?;
    let input = crossterm::event::EventStream::new();
    let (replies_tx, mut replies) = tokio::sync::mpsc::channel(256);
    let effects = effects(replies_tx);
    let sources = app::Sources {
        events,
        logs: Some(ring),
        replies: Some(&mut replies),
        signals: Some(&mut signals),
    };
    Ok(
        app::run(&mut terminal, model, &mut view, input, sources, |command| {
            effects.run(command);
        })
        .await?,
    )
}

/// What the explorer says on stderr once the terminal is back, and its exit code.
fn ending(ending: app::Ending, model: &Model) -> ExitCode {
    let log = crate::logging::log_dir().map(|dir| dir.join("mqscope.log.*"));
    if ending == app::Ending::Panicked {
        let log = log.map_or_else(String::new, |l| format!("; the log: {}", l.display()));
        super::headless::sub::eprintln_line(&format!(
            "mqscope stopped after an internal error (above){log}"
        ));
        return ExitCode::from(101);
    }
    let store = &model.store;
    super::headless::sub::eprintln_line(&format!(
        "{} messages on {} topics this session",
        ui::count(store.total_messages),
        ui::count(u64::from(store.topic_count()))
    ));
    if let Some(log) = log {
        super::headless::sub::eprintln_line(&format!("log: {}", log.display()));
    }
    match ending {
        app::Ending::Signal(signal) => {
            super::headless::sub::eprintln_line(&format!(
                "ended by {}",
                crate::signals::name(signal)
            ));
            crate::signals::exit_code(signal)
        }
        _ => ExitCode::SUCCESS,
    }
}

/// Opens the explorer on the broker the arguments name.
pub async fn run(
    args: TuiArgs,
    ring: crate::logging::LogRing,
    settings: settings::Settings,
) -> anyhow::Result<ExitCode> {
    needs_terminal()?;
    let opts = explorer_options(&args)?;
    let doctor_opts = opts.clone();
    let doctor_filters = args.subscribe.filters.clone();
    let target = opts.target.to_string();
    let limits = Limits {
        history: args.history as usize,
        topic_bytes: Limits::default().topic_bytes,
        total_bytes: args.max_memory,
    };
    let mut handle = BrokerHandle::spawn(opts).map_err(crate::broker::Fatal)?;
    let (mut model, theme, config_path) = model_with(target, limits, &ring, settings);
    model.tls_unverified = doctor_opts.tls.insecure && doctor_opts.target.scheme.uses_tls();
    model.will = doctor_opts.will.as_ref().map(crate::broker::Will::summary);
    // --sys asks for the broker's statistics: show them.
    model.sys_open = args.sys;
    let draft = profile_draft(&args, std::env::var_os("MQSCOPE_PASSWORD").is_some());
    let commands = handle.commands();
    let model_profile = model.profile.clone();
    let result = session(
        &mut model,
        theme,
        (&mut handle.events).into(),
        &ring,
        |replies| effects::Effects {
            commands,
            replies,
            ring: ring.clone(),
            doctor: Some(crate::diagnose::Plan {
                opts: doctor_opts,
                filters: doctor_filters,
                round_trip: true,
                acl: Vec::new(),
                capabilities: true,
            }),
            profile: config_path.map(|path| (path, draft)),
            opened_profile: model_profile,
        },
    )
    .await;
    // Disconnect cleanly (which also removes the private socket directory), then (the guard
    // has restored the terminal) report.
    handle.shutdown().await;
    Ok(ending(result?, &model))
}

/// `mqscope open FILE`: the explorer on a recording, played from its start.
pub async fn open(
    args: crate::cli::OpenArgs,
    ring: crate::logging::LogRing,
    settings: settings::Settings,
) -> anyhow::Result<ExitCode> {
    needs_terminal()?;
    let playback = crate::record::Playback {
        speed: if args.max {
            crate::record::Speed::Max
        } else {
            crate::record::Speed::Times(args.speed)
        },
        paused: args.paused,
    };
    let mut player = crate::record::Player::open(&args.file, playback)?;
    let name = args
        .file
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let target = match &player.header {
        Some(h) => format!("{name} ▸ {}", crate::sanitize::line(h.broker.as_bytes())),
        None => name,
    };
    let limits = Limits {
        history: args.history as usize,
        topic_bytes: Limits::default().topic_bytes,
        total_bytes: args.max_memory,
    };
    let (mut model, theme, _) = model_with(target, limits, &ring, settings);
    for w in &player.warnings {
        tracing::warn!("{w}");
    }
    model.playback = crate::source::EventSource::playback(&player, std::time::Instant::now());
    // Nothing listens: the model refuses every command that needs a broker.
    let (commands, _) = tokio::sync::mpsc::channel(1);
    let result = session(
        &mut model,
        theme,
        crate::source::Sources::new(vec![Box::new(&mut player)]),
        &ring,
        |replies| effects::Effects {
            commands,
            replies,
            ring: ring.clone(),
            doctor: None,
            profile: None,
            opened_profile: None,
        },
    )
    .await;
    Ok(ending(result?, &model))
}
