//! `mqscope decode`: one payload from a file or stdin, decoded as `--decode` (or the config's
//! `[[decoders]]` for `-t TOPIC`) says, printed as JSON. For scripts, and for checking a
//! mapping before pointing the explorer at a broker.

use std::io::{Read as _, Write as _};
use std::process::ExitCode;

use crate::cli::{DecodeCmdArgs, UsageError};
use crate::payload::decode::{DECODE_LIMIT, Decoder, Decoders};

pub fn run(args: &DecodeCmdArgs, decoders: &Decoders) -> anyhow::Result<ExitCode> {
    let decoder = pick(args, decoders)?;
    let payload = read(args)?;
    match decoder.decode(&payload) {
        Ok(value) => {
            let json = value.to_json();
            let text = if args.compact {
                serde_json::to_string(&json)?
            } else {
                serde_json::to_string_pretty(&json)?
            };
            let mut out = std::io::stdout().lock();
            writeln!(out, "{text}")?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Err(anyhow::anyhow!(
            "{} ({}): {}",
            source_name(args),
            decoder.label(),
            e.0
        )),
    }
}

/// The decoder: the mapping for `-t TOPIC`, else the only `--decode` given.
fn pick<'a>(args: &DecodeCmdArgs, decoders: &'a Decoders) -> Result<&'a Decoder, UsageError> {
    if let Some(topic) = &args.topic {
        return decoders.for_topic(topic).map(AsRef::as_ref).ok_or_else(|| {
            UsageError(format!(
                "no decoder maps {topic:?}: give --decode KIND or a [[decoders]] entry for it"
            ))
        });
    }
    match args.decode.decode.as_slice() {
        [one] => decoders
            .for_topic_filter(&one.filter)
            .ok_or_else(|| UsageError("the decoder did not build".into())),
        [] => Err(UsageError(
            "say how to decode: --decode KIND (e.g. --decode cbor), or -t TOPIC to use the \
             config file's [[decoders]]"
                .into(),
        )),
        _ => Err(UsageError(
            "several --decode given: name the topic with -t to pick one".into(),
        )),
    }
}

fn read(args: &DecodeCmdArgs) -> anyhow::Result<Vec<u8>> {
    let limit = u64::try_from(DECODE_LIMIT + 1).unwrap_or(u64::MAX);
    let mut payload = Vec::new();
    match args.file.as_deref().filter(|f| f.as_os_str() != "-") {
        Some(path) => {
            std::fs::File::open(path)
                .and_then(|f| f.take(limit).read_to_end(&mut payload))
                .map_err(|e| UsageError(format!("{}: {e}", path.display())))?;
        }
        None => {
            std::io::stdin()
                .lock()
                .take(limit)
                .read_to_end(&mut payload)?;
        }
    }
    Ok(payload)
}

fn source_name(args: &DecodeCmdArgs) -> String {
    args.file
        .as_deref()
        .filter(|f| f.as_os_str() != "-")
        .map_or_else(|| "stdin".into(), |p| p.display().to_string())
}
