//! The session's payload decoders: the command line's `--decode` first, then the profile's
//! `[[decoders]]`, then the file's; .proto files are read and compiled here, once, and an
//! error names the flag or config key it came from (exit 2).

use std::path::{Path, PathBuf};

use super::Config;
use crate::cli::{DecodeArgs, UsageError};
use crate::payload::decode::{Decoder, Decoders};

/// Builds the decoders. Relative .proto paths on the command line are taken from the working
/// directory; in the file, from the file's directory.
pub fn build(
    args: &DecodeArgs,
    config: &Config,
    profile: Option<&str>,
    config_path: Option<&Path>,
) -> Result<Decoders, UsageError> {
    let mut list: Vec<(String, Decoder)> = Vec::new();
    for spec in &args.decode {
        let decoder = spec
            .build(Path::new(""), &args.proto_path)
            .map_err(|e| UsageError(format!("--decode {:?}: {e}", spec.text)))?;
        list.push((spec.filter.clone(), decoder));
    }
    let dir = config_path
        .and_then(Path::parent)
        .map_or_else(PathBuf::new, Path::to_path_buf);
    for (key, entry) in config.decoder_entries(profile) {
        let fail = |e: String| {
            let file = config_path.map_or_else(String::new, |p| format!("{}: ", p.display()));
            UsageError(format!("{file}{key}.decoder: {e}"))
        };
        let spec = entry.spec().map_err(fail)?;
        let proto_path: Vec<PathBuf> = entry
            .proto_path
            .iter()
            .map(|p| dir.join(p))
            .chain(args.proto_path.iter().cloned())
            .collect();
        let decoder = spec.build(&dir, &proto_path).map_err(|e| fail(e.0))?;
        list.push((spec.filter, decoder));
    }
    Ok(Decoders::new(list))
}
