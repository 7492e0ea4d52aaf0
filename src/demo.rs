//! `mqscope demo`: the whole product with no setup. An embedded broker, a simulated fleet, and
//! a fault schedule in front of the broker, then the explorer on it (or, with `--no-tui`, only
//! the broker and the fleet, for other clients).

#[cfg(feature = "embedded-broker")]
pub mod broker;
#[cfg(feature = "embedded-broker")]
pub mod factory;
pub mod faults;
#[cfg(feature = "embedded-broker")]
pub mod fleet;

#[cfg(feature = "embedded-broker")]
use anyhow::Context as _;
use std::process::ExitCode;

use crate::cli::DemoArgs;

/// Everything the demo runs, and where.
#[derive(Debug, Clone)]
pub struct Running {
    /// The broker's MQTT 5 listener.
    pub v5: String,
    /// The broker's MQTT 3.1.1 listener.
    pub v311: String,
    /// The same broker behind the fault schedule.
    pub faulty: String,
}

/// Starts the broker, the fault proxy and the fleet in the background.
#[cfg(feature = "embedded-broker")]
pub fn start(
    port: Option<u16>,
    schedule: faults::Schedule,
    script: fleet::Script,
) -> anyhow::Result<Running> {
    let ports = broker::start(port).context("cannot start the embedded broker")?;
    let listener = std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))
        .context("cannot open the demo's fault proxy on 127.0.0.1")?;
    let proxy = listener.local_addr()?.port();
    tokio::spawn(async move {
        if let Err(e) = faults::run(listener, ports.v5, schedule).await {
            tracing::error!(target: "mqscope::demo", "fault proxy stopped: {e}");
        }
    });
    let url = format!("mqtt://127.0.0.1:{}", ports.v5);
    let fleet_url = url.clone();
    tokio::spawn(async move {
        if let Err(e) = fleet::run(&fleet_url, script).await {
            tracing::error!(target: "mqscope::demo", "fleet stopped: {e}");
        }
    });
    Ok(Running {
        v5: url,
        v311: format!("mqtt://127.0.0.1:{}", ports.v311),
        faulty: format!("mqtt://127.0.0.1:{proxy}"),
    })
}

#[cfg(feature = "embedded-broker")]
pub async fn run(
    args: DemoArgs,
    ring: crate::logging::LogRing,
    settings: crate::tui::settings::Settings,
) -> anyhow::Result<ExitCode> {
    let running = start(
        args.port,
        faults::Schedule::default(),
        fleet::Script {
            start_ms: crate::store::millis(std::time::SystemTime::now()),
            ..fleet::Script::default()
        },
    )?;
    if args.no_tui {
        crate::headless::sub::eprintln_line(&format!(
            "demo broker: {} (MQTT 5), {} (MQTT 3.1.1); through the fault schedule: {}",
            running.v5, running.v311, running.faulty
        ));
        crate::headless::sub::eprintln_line("Ctrl-C stops it");
        let signal = crate::signals::Signals::new()?.recv().await;
        return Ok(crate::signals::exit_code(signal));
    }
    let cli =
        <crate::cli::Cli as clap::Parser>::try_parse_from(["mqscope", "-b", &running.faulty])?;
    // The factory's Protobuf topic decodes with its schema (after the config file's own).
    let mut settings = settings;
    settings.decoders.append(factory::decoders());
    crate::tui::run(cli.tui, ring, settings).await
}

#[cfg(not(feature = "embedded-broker"))]
pub async fn run(
    _args: DemoArgs,
    _ring: crate::logging::LogRing,
    _settings: crate::tui::settings::Settings,
) -> anyhow::Result<ExitCode> {
    Err(crate::cli::UsageError(
        "this build has no embedded broker (the `embedded-broker` feature is off): \
         run the explorer against a broker instead, e.g. `mqscope -b mqtt://host:1883`"
            .into(),
    )
    .into())
}
