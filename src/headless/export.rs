//! `mqscope export`: a recording's messages as CSV or JSON lines, on stdout or into a file.

use std::io::{self, Write};
use std::process::ExitCode;

use super::sub::eprintln_line;
use crate::broker::BrokerEvent;
use crate::cli::{ExportArgs, ExportFormatArg};
use crate::record::Reader;
use crate::record::export::{ExportFormat, Exporter};

pub fn run(args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let mut reader = Reader::open(&args.file)
        .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", args.file.display()))?;
    let out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(
            std::fs::File::create(path)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?,
        ),
        None => Box::new(io::stdout().lock()),
    };
    let format = match args.format {
        ExportFormatArg::Csv => ExportFormat::Csv,
        ExportFormatArg::Jsonl => ExportFormat::Jsonl,
    };
    // On a terminal, as `sub`: what a broker sent never reaches it raw.
    let escape = args.output.is_none() && io::IsTerminal::is_terminal(&io::stdout());
    let mut exporter = Exporter::new(
        io::BufWriter::with_capacity(64 * 1024, out),
        format,
        args.fields.clone(),
    )?
    .escaping(escape);
    let mut seen = 0u64;
    while let Some(events) = reader.next_events() {
        for event in events {
            let BrokerEvent::Message(m) = event else {
                continue;
            };
            seen += 1;
            if !args.filters.is_empty()
                && !args
                    .filters
                    .iter()
                    .any(|f| crate::topic::matches(&m.topic, f))
            {
                continue;
            }
            match exporter.message(&m) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
                Err(e) => return Err(anyhow::anyhow!("cannot write: {e}")),
            }
        }
    }
    let rows = exporter.rows;
    match exporter.finish().and_then(|mut w| w.flush()) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
        Err(e) => return Err(anyhow::anyhow!("cannot write: {e}")),
    }
    for w in &reader.warnings {
        eprintln_line(w);
    }
    if let Some(p) = &reader.problem {
        eprintln_line(&format!(
            "reading stopped early: {p} (everything before it was exported)"
        ));
        if seen == 0 {
            return Ok(ExitCode::FAILURE);
        }
    }
    if let Some(path) = &args.output {
        eprintln_line(&format!(
            "exported {rows} of {seen} messages to {}",
            path.display()
        ));
    }
    Ok(ExitCode::SUCCESS)
}
