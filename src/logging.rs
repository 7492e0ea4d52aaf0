//! Logging: one tracing registry with a non-blocking daily file, plus (headless) warnings on
//! stderr. rumqttc and rustls log through the `log` crate; the bridge brings them in.

mod ring;

use std::path::PathBuf;

pub use ring::{LEVELS, LogLine, LogRing};

use tracing_subscriber::filter::{EnvFilter, LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, fmt};

/// Keeps the file writer alive; drop it last so buffered lines reach the file.
pub struct LogGuard {
    _file: Option<tracing_appender::non_blocking::WorkerGuard>,
    /// Where the log file is written, if it could be opened.
    pub dir: Option<PathBuf>,
}

/// The directory for log files: `MQSCOPE_LOG_DIR`, else the platform's state directory.
pub fn log_dir() -> Option<PathBuf> {
    dir_from("MQSCOPE_LOG_DIR")
}

/// Where mqscope keeps what it makes (recordings): `MQSCOPE_STATE_DIR`, else the platform's
/// state directory.
pub fn state_dir() -> Option<PathBuf> {
    dir_from("MQSCOPE_STATE_DIR")
}

/// The directory an environment variable names, else the platform's state directory (the
/// local data directory where there is none).
fn dir_from(var: &str) -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(var) {
        return Some(PathBuf::from(dir));
    }
    let dirs = directories::ProjectDirs::from("", "", "mqscope")?;
    Some(
        dirs.state_dir()
            .unwrap_or_else(|| dirs.data_local_dir())
            .to_path_buf(),
    )
}

fn filter(default: &str) -> EnvFilter {
    let spec = std::env::var("MQSCOPE_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| default.to_string());
    EnvFilter::try_new(&spec).unwrap_or_else(|_| EnvFilter::new(default))
}

/// Logging for the headless modes: the file at the filter's level, stderr at warnings only.
pub fn init_headless() -> LogGuard {
    init(true, None)
}

/// Logging while the TUI owns the terminal: the file and the log pane's ring, never stderr.
pub fn init_tui(ring: &LogRing) -> LogGuard {
    init(false, Some(ring))
}

/// The pane's initial level: `MQSCOPE_LOG` (or `RUST_LOG`) when it is a plain level, else info.
pub fn initial_level() -> tracing::Level {
    std::env::var("MQSCOPE_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|v| v.trim().parse::<tracing::Level>().ok())
        .unwrap_or(tracing::Level::INFO)
}

/// Creates the log directory owner-only (0700); our own `…/mqscope` directory is made 0700
/// even when an older version created it open. A directory the user named that exists
/// already keeps its mode (it may be shared): the files in it are 0600 all the same.
fn private_dir(dir: &std::path::Path) -> Option<()> {
    use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
    if dir.is_dir() {
        if dir.file_name().is_some_and(|n| n == "mqscope") {
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        }
        return Some(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .ok()
}

/// Log files are readable by their owner only: they hold topics, payload previews and
/// broker details.
fn private_files(dir: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt as _;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with("mqscope.log")
        {
            let _ = std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(0o600));
        }
    }
}

/// tungstenite logs every WebSocket frame at trace level, bytes included: the CONNECT frame
/// with the password. No sink ever gets that, whatever `MQSCOPE_LOG` asks for.
fn never_secrets() -> Targets {
    Targets::new()
        .with_default(LevelFilter::TRACE)
        .with_target("tungstenite", LevelFilter::DEBUG)
        .with_target("tokio_tungstenite", LevelFilter::DEBUG)
}

fn init(stderr: bool, ring: Option<&LogRing>) -> LogGuard {
    let (file_layer, guard, dir) = match log_dir().and_then(|dir| {
        private_dir(&dir)?;
        Some(dir)
    }) {
        Some(dir) => {
            let appender = tracing_appender::rolling::daily(&dir, "mqscope.log");
            private_files(&dir);
            // The default queue of 128k lines is allocated up front (4 MB): keep it small.
            let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
                .buffered_lines_limit(4096)
                .finish(appender);
            let layer = fmt::layer()
                .with_writer(writer)
                .with_ansi(false)
                .with_filter(filter("info"));
            (Some(layer), Some(guard), Some(dir))
        }
        None => (None, None, None),
    };
    let stderr_layer = stderr.then(|| {
        fmt::layer()
            .with_writer(std::io::stderr)
            .with_target(false)
            .without_time()
            // Colour only for a person at a terminal (and never with NO_COLOR).
            .with_ansi(
                std::io::IsTerminal::is_terminal(&std::io::stderr())
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
            )
            // Only our own warnings: rumqttc's are in the file and said better by our events.
            .with_filter(Targets::new().with_target("mqscope", LevelFilter::WARN))
    });
    let _ = tracing_subscriber::registry()
        .with(never_secrets())
        .with(file_layer)
        .with(stderr_layer)
        .with(ring.map(LogRing::layer))
        .try_init();
    LogGuard { _file: guard, dir }
}
