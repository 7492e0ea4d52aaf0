//! `mqscope config`, `mqscope completions SHELL` and `mqscope man`: none of them connects,
//! and `config path`, `init` and `--print-default` work even when the file is broken.

use std::io::Write;
use std::process::ExitCode;

use crate::cli::{Cli, ConfigAction, ConfigArgs, UsageError};
use crate::config;

pub fn run(args: &ConfigArgs) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    if args.print_default {
        out.write_all(config::DEFAULT.as_bytes())?;
        return Ok(ExitCode::SUCCESS);
    }
    let path = config::path().ok_or_else(|| {
        UsageError("no config directory on this system: set MQSCOPE_CONFIG".into())
    })?;
    match args.action.clone().unwrap_or(ConfigAction::Path) {
        ConfigAction::Path => {
            let state = if path.exists() {
                ""
            } else {
                " (not created yet: mqscope config init)"
            };
            writeln!(out, "{}{state}", path.display())?;
        }
        ConfigAction::Show => {
            let config = crate::tui::settings::load().map_err(|e| UsageError(e.to_string()))?;
            writeln!(
                out,
                "# in effect: built-in defaults with {} over them",
                path.display()
            )?;
            out.write_all(config.redacted().as_bytes())?;
        }
        ConfigAction::Check => {
            if !path.exists() {
                writeln!(
                    out,
                    "{}: no file; the built-in defaults apply",
                    path.display()
                )?;
                return Ok(ExitCode::SUCCESS);
            }
            let config = crate::tui::settings::load().map_err(|e| UsageError(e.to_string()))?;
            writeln!(
                out,
                "{}: valid ({} profile{}{})",
                path.display(),
                config.profiles.len(),
                if config.profiles.len() == 1 { "" } else { "s" },
                if config.profiles.is_empty() {
                    String::new()
                } else {
                    format!(
                        ": {}",
                        config
                            .profiles
                            .keys()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            )?;
        }
        ConfigAction::Init {
            template: Some(cloud),
            name,
        } => {
            let name = name.unwrap_or_else(|| cloud.name().to_string());
            config::save::add_template(&path, &name, cloud)
                .map_err(|e| UsageError(e.to_string()))?;
            writeln!(
                out,
                "added profile {name} to {}: replace the your-… values, then `mqscope -P {name} doctor`",
                path.display()
            )?;
        }
        ConfigAction::Init { template: None, .. } => {
            if path.exists() {
                return Err(UsageError(format!(
                    "{} exists already; edit it, or move it away first",
                    path.display()
                ))
                .into());
            }
            config::save::write_private(&path, config::DEFAULT)?;
            writeln!(out, "wrote {}", path.display())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn completions(shell: clap_complete::Shell) -> ExitCode {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    clap_complete::generate(shell, &mut cmd, "mqscope", &mut std::io::stdout());
    ExitCode::SUCCESS
}

pub fn man() -> anyhow::Result<ExitCode> {
    let cmd = <Cli as clap::CommandFactory>::command();
    clap_mangen::Man::new(cmd).render(&mut std::io::stdout())?;
    Ok(ExitCode::SUCCESS)
}
