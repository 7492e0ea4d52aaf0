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
    if let Some(dir) = std::env::var_os("MQSCOPE_LOG_DIR") {
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

fn init(stderr: bool, ring: Option<&LogRing>) -> LogGuard {
    let (file_layer, guard, dir) = match log_dir().and_then(|dir| {
        std::fs::create_dir_all(&dir).ok()?;
        Some(dir)
    }) {
        Some(dir) => {
            let appender = tracing_appender::rolling::daily(&dir, "mqscope.log");
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
        .with(file_layer)
        .with(stderr_layer)
        .with(ring.map(LogRing::layer))
        .try_init();
    LogGuard { _file: guard, dir }
}
