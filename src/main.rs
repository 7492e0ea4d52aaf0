//! The `mqscope` binary: parse the command line, start logging, run the mode, map errors to
//! exit codes (2 for usage and configuration, 1 for connection failures).

use std::process::ExitCode;

use clap::Parser;
use mqscope::cli::{Cli, Mode, UsageError};
use mqscope::headless;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    // Never a byte on stderr while the TUI is up: it logs to the file and its log pane.
    let ring = mqscope::logging::LogRing::new(10_000, mqscope::logging::initial_level());
    let tui = cli.mode.is_none() || matches!(&cli.mode, Some(Mode::Demo(d)) if !d.no_tui);
    let _log = if tui {
        mqscope::logging::init_tui(&ring)
    } else {
        mqscope::logging::init_headless()
    };
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
            Some(Mode::Sub(args)) => headless::sub::run(args).await,
            Some(Mode::Pub(args)) => headless::publish::run(args).await,
            Some(Mode::Doctor(args)) => headless::doctor::run(args).await,
            Some(Mode::CleanRetained(args)) => headless::clean::run(args).await,
            Some(Mode::Demo(args)) => mqscope::demo::run(args, ring).await,
            None => mqscope::tui::run(cli.tui, ring).await,
        }
    });
    // Do not wait for tasks still blocked on stdin or the network.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    match result {
        Ok(code) => code,
        Err(e) => fail(&e),
    }
}

#[expect(clippy::print_stderr, reason = "the binary's last word on an error")]
fn fail(e: &anyhow::Error) -> ExitCode {
    eprintln!("mqscope: error: {e:#}");
    if e.downcast_ref::<UsageError>().is_some() {
        ExitCode::from(2)
    } else {
        ExitCode::FAILURE
    }
}
