//! `FILTER=KIND[:ARGS][,KIND…]`: what `--decode` and `[[decoders]]` say, parsed in two steps.
//! The syntax is checked when the flag is read (clap names the flag); files are read and
//! compiled by [`DecodeSpec::build`], whose errors name the file, line and column.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Decoder, Proto, Step};
use crate::payload::Mode;

/// The kinds, as written.
pub const KINDS: &str = "protobuf:PATH.proto:package.Message, protobuf:PATH.desc:package.Message, \
sparkplug, msgpack, cbor, base64 (alone or before another), json, text, hex";

/// One step as written, files not read yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepSpec {
    Protobuf { file: PathBuf, message: String },
    Sparkplug,
    Msgpack,
    Cbor,
    Base64,
    View(&'static str),
}

/// A parsed `--decode` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeSpec {
    /// The topic filter (`#` when none was given).
    pub filter: String,
    pub steps: Vec<StepSpec>,
    /// As written, for error messages.
    pub text: String,
}

/// A syntax or build error, for the caller to prefix with the flag or config key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SpecError(pub String);

const NAMES: [&str; 9] = [
    "protobuf",
    "sparkplug",
    "msgpack",
    "cbor",
    "base64",
    "json",
    "text",
    "hex",
    "auto",
];

/// Parses `FILTER=KIND[:ARGS][,KIND…]`; with no `FILTER=` (the value starts with a kind) the
/// filter is `#`.
pub fn parse_spec(text: &str) -> Result<DecodeSpec, SpecError> {
    let text = text.trim();
    let is_kinds = |rest: &str| {
        NAMES.iter().any(|n| {
            rest.strip_prefix(n)
                .is_some_and(|r| r.is_empty() || r.starts_with([':', ',']))
        })
    };
    // The filter ends at the last `=` that a kind follows: topics may hold `=` and `:`, a
    // .proto path may hold `=`.
    let split = text
        .match_indices('=')
        .map(|(i, _)| i)
        .rev()
        .find(|&i| is_kinds(text[i + 1..].trim_start()));
    let (filter, kinds) = match split {
        _ if is_kinds(text) => ("#", text),
        Some(i) => (text[..i].trim(), text[i + 1..].trim()),
        None => match text.split_once('=') {
            Some((f, k)) => (f.trim(), k.trim()),
            None => ("#", text),
        },
    };
    crate::topic::parse_filter(filter)
        .map_err(|e| SpecError(format!("{filter:?} is not a topic filter: {e}")))?;
    if kinds.is_empty() {
        return Err(SpecError(format!(
            "no decoder after {filter:?}=; one of: {KINDS}"
        )));
    }
    let mut steps = Vec::new();
    for part in kinds.split(',') {
        steps.push(step(part.trim())?);
    }
    check_chain(&steps)?;
    Ok(DecodeSpec {
        filter: filter.to_string(),
        steps,
        text: text.to_string(),
    })
}

fn step(part: &str) -> Result<StepSpec, SpecError> {
    let (name, args) = part.split_once(':').unwrap_or((part, ""));
    let no_args = |s: StepSpec| {
        if args.is_empty() {
            Ok(s)
        } else {
            Err(SpecError(format!(
                "{name} takes no arguments (got {args:?})"
            )))
        }
    };
    match name {
        "protobuf" => {
            // The message name is after the last colon: a path may hold one (C:\…).
            let Some((file, message)) = args.rsplit_once(':') else {
                return Err(SpecError(
                    "protobuf needs a file and a message: protobuf:PATH.proto:package.Message"
                        .into(),
                ));
            };
            if file.is_empty() || message.is_empty() {
                return Err(SpecError(
                    "protobuf needs a file and a message: protobuf:PATH.proto:package.Message"
                        .into(),
                ));
            }
            Ok(StepSpec::Protobuf {
                file: PathBuf::from(file),
                message: message.trim_start_matches('.').to_string(),
            })
        }
        "sparkplug" => no_args(StepSpec::Sparkplug),
        "msgpack" => no_args(StepSpec::Msgpack),
        "cbor" => no_args(StepSpec::Cbor),
        "base64" => no_args(StepSpec::Base64),
        "json" => no_args(StepSpec::View("json")),
        "text" => no_args(StepSpec::View("text")),
        "hex" => no_args(StepSpec::View("hex")),
        "auto" => no_args(StepSpec::View("auto")),
        _ => Err(SpecError(format!(
            "{name:?} is not a decoder: one of {KINDS}"
        ))),
    }
}

/// base64 can come first; every other kind ends the chain.
fn check_chain(steps: &[StepSpec]) -> Result<(), SpecError> {
    for (i, s) in steps.iter().enumerate() {
        let last = i + 1 == steps.len();
        let first = i == 0;
        match s {
            StepSpec::Base64 if first => {}
            StepSpec::Base64 => {
                return Err(SpecError(
                    "base64 can only come first, as in base64,cbor".into(),
                ));
            }
            _ if !last => {
                return Err(SpecError(format!(
                    "nothing can follow {}: only base64 is followed by another decoder",
                    name(s)
                )));
            }
            _ => {}
        }
    }
    Ok(())
}

fn name(s: &StepSpec) -> &'static str {
    match s {
        StepSpec::Protobuf { .. } => "protobuf",
        StepSpec::Sparkplug => "sparkplug",
        StepSpec::Msgpack => "msgpack",
        StepSpec::Cbor => "cbor",
        StepSpec::Base64 => "base64",
        StepSpec::View(v) => v,
    }
}

impl DecodeSpec {
    /// Reads and compiles what the steps name: a relative .proto path is taken from `base`
    /// (the working directory for flags, the config file's directory for the file), imports
    /// from the file's own directory and then `proto_path`.
    pub fn build(&self, base: &Path, proto_path: &[PathBuf]) -> Result<Decoder, SpecError> {
        let mut steps = Vec::new();
        for s in &self.steps {
            steps.push(match s {
                StepSpec::Protobuf { file, message } => {
                    let file = base.join(file);
                    Step::Protobuf(Arc::new(
                        Proto::load(&file, message, proto_path).map_err(SpecError)?,
                    ))
                }
                StepSpec::Sparkplug => Step::Sparkplug,
                StepSpec::Msgpack => Step::Msgpack,
                StepSpec::Cbor => Step::Cbor,
                StepSpec::Base64 => Step::Base64,
                StepSpec::View(v) => Step::View(match *v {
                    "json" => Mode::Json,
                    "text" => Mode::Text,
                    "hex" => Mode::Hex,
                    _ => Mode::Auto,
                }),
            });
        }
        Ok(Decoder::new(steps))
    }
}

/// For clap: the syntax, checked as the flag is read.
pub fn parse_flag(text: &str) -> Result<DecodeSpec, String> {
    parse_spec(text).map_err(|e| e.0)
}
