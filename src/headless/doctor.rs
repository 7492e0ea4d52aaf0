//! `mqscope doctor`: the staged checks as a report for people (coloured on a terminal) or JSON.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use crate::cli::DoctorArgs;
use crate::diagnose::{self, Plan};

pub async fn run(args: DoctorArgs) -> anyhow::Result<ExitCode> {
    let opts = args.connect.to_options()?;
    super::warn_if_insecure(&opts);
    let acl = args.acl_entries()?;
    let report = diagnose::run(Plan {
        opts,
        filters: args.filters.clone(),
        round_trip: !args.no_publish,
        acl,
        capabilities: args.capabilities,
    })
    .await;
    let stdout = std::io::stdout();
    let colour = stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let mut out = stdout.lock();
    let text = if args.json {
        format!("{}\n", serde_json::to_string_pretty(&report.to_json())?)
    } else {
        let mut s = String::new();
        // Certificate names, reason strings and status lines come from the server.
        for line in report.lines() {
            s.push_str(&paint(&crate::sanitize::line(line.as_bytes()), colour));
            s.push('\n');
        }
        s
    };
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(e.into());
        }
    }
    Ok(if report.cause.is_none() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn paint(line: &str, colour: bool) -> String {
    if !colour {
        return line.to_string();
    }
    let trimmed = line.trim_start();
    let code = if trimmed.starts_with("ok ") || line.starts_with("verdict: ok") {
        "32"
    } else if trimmed.starts_with("FAIL") || line.starts_with("verdict:") {
        "31;1"
    } else if trimmed.starts_with("skip") || trimmed.starts_with("→") {
        "33"
    } else {
        return line.to_string();
    };
    format!("\x1b[{code}m{line}\x1b[0m")
}
