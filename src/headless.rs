//! Modes without a terminal UI, for scripts: `sub`, `pub`, `doctor`, `clean-retained`,
//! `watch`, `proxy --json`, `record`, `replay`, `export`, `config`, `completions`, `man`.

pub mod clean;
pub mod config;
pub mod decode;
pub mod doctor;
pub mod export;
pub mod proxy;
pub mod publish;
pub mod record;
pub mod render;
pub mod replay;
pub mod sub;
pub mod watch;

/// Says on stderr that the broker's certificate will not be checked (`--insecure` over TLS):
/// a person reading the output must not take the link for a verified one.
pub fn warn_if_insecure(opts: &crate::broker::BrokerOptions) {
    if opts.tls.insecure && opts.target.scheme.uses_tls() {
        sub::eprintln_line(
            "warning: --insecure: the broker's TLS certificate is NOT verified; anyone in \
             between can read and change this connection (pass --ca-file instead)",
        );
    }
}
