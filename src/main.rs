//! The `mqscope` binary: parse the command line, start logging, run the mode, map errors to
//! exit codes (2 for usage and configuration, 1 for connection failures).

use std::io::Write as _;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use mqscope::cli::{Cli, Mode, UsageError};
use mqscope::config::ProfileChoice;
use mqscope::headless;

fn main() -> ExitCode {
    let matches = match Cli::command().try_get_matches() {
        Ok(m) => m,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    let mut cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(2);
        }
    };
    // Modes that never connect, and must work even when the config file is broken.
    match &cli.mode {
        Some(Mode::Config(args)) => return done(headless::config::run(args)),
        Some(Mode::Completions { shell }) => return headless::config::completions(*shell),
        Some(Mode::Man) => return done(headless::config::man()),
        _ => {}
    }
    let config = match mqscope::tui::settings::load() {
        Ok(c) => c,
        Err(e) => return fail(&UsageError(e.to_string()).into()),
    };
    // Never a byte on stderr while the TUI is up: it logs to the file and its log pane.
    let ring = mqscope::logging::LogRing::new(10_000, mqscope::logging::initial_level());
    let proxy_screen = matches!(&cli.mode, Some(Mode::Proxy(p)) if !p.json && {
        use std::io::IsTerminal;
        std::io::stdout().is_terminal() && std::io::stdin().is_terminal()
    });
    let tui = cli.mode.is_none()
        || proxy_screen
        || matches!(&cli.mode, Some(Mode::Demo(d)) if !d.no_tui)
        || matches!(&cli.mode, Some(Mode::Open(_)));
    let _log = if tui {
        mqscope::logging::init_tui(&ring)
    } else {
        mqscope::logging::init_headless()
    };
    if mqscope::config::apply::wants_picker(&cli, &matches, &config) {
        match mqscope::tui::picker::pick(&config) {
            Ok(Some(ProfileChoice::Profile(name))) => cli.profile = Some(name),
            Ok(Some(ProfileChoice::Url(url))) => match url.parse() {
                Ok(target) => cli.tui.connect.broker = target,
                Err(e) => return fail(&UsageError(format!("{url}: {e}")).into()),
            },
            Ok(None) => return ExitCode::SUCCESS,
            Err(e) => return fail(&UsageError(e.to_string()).into()),
        }
    }
    if let Err(e) = mqscope::config::apply(&mut cli, &matches, &config) {
        return fail(&e.into());
    }
    let mut settings = mqscope::tui::settings::Settings::from_config(&config, cli.profile.clone());
    match decoders(&cli, &config).and_then(|d| Ok((d, alerts(&cli, &config)?))) {
        Ok((d, a)) => (settings.decoders, settings.alerts) = (d, a),
        Err(e) => return fail(&e.into()),
    }
    // One thread: the pump, rumqttc and the output hand messages to each other without
    // cross-thread wake-ups, and the other core stays free for the broker.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&anyhow::anyhow!("cannot start the runtime: {e}")),
    };
    let result = runtime.block_on(async {
        match cli.mode {
            Some(Mode::Sub(args)) => {
                let watch = (settings.watch, settings.alerts);
                headless::sub::run(args, watch, settings.decoders).await
            }
            Some(Mode::Decode(args)) => headless::decode::run(&args, &settings.decoders),
            Some(Mode::Watch(args)) => {
                let (watch, alerts) = (settings.watch, settings.alerts);
                headless::watch::run(args, watch, alerts, settings.decoders).await
            }
            Some(Mode::Pub(args)) => until_signal(headless::publish::run(args)).await,
            Some(Mode::Doctor(args)) => until_signal(Box::pin(headless::doctor::run(args))).await,
            Some(Mode::CleanRetained(args)) => until_signal(headless::clean::run(args)).await,
            Some(Mode::Demo(args)) => Box::pin(mqscope::demo::run(args, ring, settings)).await,
            Some(Mode::Proxy(args)) if proxy_screen => {
                let theme = if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
                    mqscope::tui::theme::Theme::plain()
                } else {
                    settings.theme
                };
                mqscope::tui::proxy::run(args, theme).await
            }
            Some(Mode::Proxy(args)) => headless::proxy::run(args).await,
            Some(Mode::Record(args)) => headless::record::run(args).await,
            Some(Mode::Replay(args)) => headless::replay::run(args).await,
            Some(Mode::Export(args)) => headless::export::run(&args),
            Some(Mode::Open(args)) => mqscope::tui::open(args, ring, settings).await,
            Some(Mode::Config(_) | Mode::Completions { .. } | Mode::Man) => Ok(ExitCode::SUCCESS),
            None => mqscope::tui::run(cli.tui, ring, settings).await,
        }
    });
    // Do not wait for tasks still blocked on stdin or the network.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    done(result)
}

/// The payload decoders of the modes that show payloads: the mode's `--decode` flags, then
/// the config file's `[[decoders]]`.
fn decoders(
    cli: &Cli,
    config: &mqscope::config::Config,
) -> Result<mqscope::payload::decode::Decoders, UsageError> {
    let none = mqscope::cli::DecodeArgs::default();
    let args = match &cli.mode {
        None => &cli.tui.decode,
        Some(Mode::Sub(a)) => &a.decode,
        Some(Mode::Decode(a)) => &a.decode,
        // `watch` has no --decode of its own: the config's [[decoders]] feed its rules.
        Some(Mode::Demo(_) | Mode::Watch(_)) => &none,
        Some(Mode::Open(a)) => &a.decode,
        // Modes that print no payloads do not read .proto files.
        _ => return Ok(mqscope::payload::decode::Decoders::default()),
    };
    let path = mqscope::config::path();
    mqscope::config::decoders::build(args, config, cli.profile.as_deref(), path.as_deref())
}

/// The alert rules and schema checks of the modes that raise alerts (schema files read now).
fn alerts(
    cli: &Cli,
    config: &mqscope::config::Config,
) -> Result<mqscope::alert::Alerts, UsageError> {
    let args = match &cli.mode {
        None => &cli.tui.alerts,
        Some(Mode::Sub(a)) if a.watching() => &a.alerts,
        Some(Mode::Watch(a)) => &a.alerts,
        Some(Mode::Demo(_) | Mode::Open(_)) => &mqscope::cli::AlertArgs::default(),
        _ => return Ok(mqscope::alert::Alerts::default()),
    };
    let path = mqscope::config::path();
    mqscope::config::alerts::build(args, config, cli.profile.as_deref(), path.as_deref())
}

/// Runs a short mode, or ends it on SIGINT, SIGTERM or SIGHUP with 128 + the signal: the
/// mode is dropped, which drops its connection (the private socket directory goes with it).
/// `sub` and the explorer listen themselves, to flush and to restore the terminal.
async fn until_signal(
    mode: impl Future<Output = anyhow::Result<ExitCode>>,
) -> anyhow::Result<ExitCode> {
    let mut signals = mqscope::signals::Signals::new()?;
    tokio::select! {
        result = mode => result,
        signal = signals.recv() => Ok(mqscope::signals::exit_code(signal)),
    }
}

fn done(result: anyhow::Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(e) => fail(&e),
    }
}

fn fail(e: &anyhow::Error) -> ExitCode {
    // The error may carry a reason string or a topic from the broker.
    let text = mqscope::sanitize::lines(&format!("{e:#}")).into_owned();
    let _ = writeln!(std::io::stderr().lock(), "mqscope: error: {text}");
    if e.downcast_ref::<UsageError>().is_some() {
        ExitCode::from(2)
    } else {
        ExitCode::FAILURE
    }
}
