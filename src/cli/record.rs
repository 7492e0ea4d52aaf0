//! Arguments of the recording modes: `record`, `open`, `replay`, `export`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::{ConnectArgs, DecodeArgs, SubscribeArgs};

/// `mqscope record`
#[derive(Debug, Clone, Args)]
pub struct RecordArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,

    #[command(flatten)]
    pub subscribe: SubscribeArgs,

    /// The file to write; .zst or .gz at the end compresses
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,

    /// Start a new part (FILE.1, FILE.2, …) past this size on disk, e.g. 100M
    #[arg(long, value_name = "SIZE", value_parser = parse_part_size)]
    pub max_size: Option<usize>,

    /// Record every MQTT packet too (the explorer's packet log, offline)
    #[arg(long)]
    pub packets: bool,

    /// Stop after this many messages
    #[arg(short = 'C', long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,

    /// Stop after this many seconds
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=31_536_000))]
    pub duration: Option<u64>,

    /// No progress line on stderr
    #[arg(long)]
    pub quiet: bool,
}

fn parse_part_size(text: &str) -> Result<usize, String> {
    let size = crate::size::parse_size(text)?;
    if size < 64 * 1024 {
        return Err(format!("{text}: a part must hold at least 64K"));
    }
    Ok(size)
}

/// `mqscope open`
#[derive(Debug, Clone, Args)]
pub struct OpenArgs {
    /// A recording (from `mqscope record`, `W` in the explorer, or `sub --json --events`)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Play at this speed (1 = as recorded)
    #[arg(long, value_name = "X", default_value_t = 1.0, value_parser = parse_speed,
          conflicts_with = "max")]
    pub speed: f64,

    /// Play as fast as possible: the end state at once
    #[arg(long)]
    pub max: bool,

    /// Open paused at the start
    #[arg(long)]
    pub paused: bool,

    #[command(flatten)]
    pub decode: DecodeArgs,

    /// Messages kept per topic
    #[arg(long, value_name = "N", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub history: u32,

    /// Memory budget for topics and history, e.g. 256M or 2G
    #[arg(long, value_name = "SIZE", default_value = "256M", value_parser = crate::size::parse_size)]
    pub max_memory: usize,
}

/// `--speed`: a factor above zero.
pub fn parse_speed(text: &str) -> Result<f64, String> {
    match text.trim_end_matches(['x', '×']).parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 && x <= 1_000_000.0 => Ok(x),
        _ => Err(format!(
            "{text:?}: a speed factor above 0 (1 = as recorded, 10 = ten times faster), \
             or --max"
        )),
    }
}

/// `--retain`
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RetainMode {
    /// As recorded
    Keep,
    /// Never retained
    Strip,
}

/// `--qos`
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QosMode {
    /// As recorded
    Keep,
    #[value(name = "0")]
    Q0,
    #[value(name = "1")]
    Q1,
    #[value(name = "2")]
    Q2,
}

/// `mqscope replay`
#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// The recording to publish
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    #[command(flatten)]
    pub connect: ConnectArgs,

    /// Publish at this speed (1 = the recorded timing, 10 = ten times faster)
    #[arg(long, value_name = "X", default_value_t = 1.0, value_parser = parse_speed,
          conflicts_with = "max")]
    pub speed: f64,

    /// Publish as fast as the broker takes them
    #[arg(long)]
    pub max: bool,

    /// Start again from the beginning at the end, until interrupted
    #[arg(long = "loop")]
    pub repeat: bool,

    /// Put this in front of every topic (e.g. replay/)
    #[arg(long, value_name = "P")]
    pub topic_prefix: Option<String>,

    /// Only the recorded messages whose topics match (repeatable)
    #[arg(short = 't', long = "topic", value_name = "FILTER",
          value_parser = crate::topic::parse_filter)]
    pub filters: Vec<String>,

    /// Retain flags as recorded, or none
    #[arg(long, value_enum, default_value_t = RetainMode::Keep)]
    pub retain: RetainMode,

    /// QoS as recorded, or this one for all
    #[arg(long, value_enum, default_value_t = QosMode::Keep)]
    pub qos: QosMode,

    /// No progress line on stderr
    #[arg(long)]
    pub quiet: bool,
}

/// `--format`
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormatArg {
    Csv,
    Jsonl,
}

/// `mqscope export`
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// The recording to read
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    #[arg(long, value_enum, default_value_t = ExportFormatArg::Csv)]
    pub format: ExportFormatArg,

    /// Only messages whose topics match (repeatable)
    #[arg(short = 't', long = "topic", value_name = "FILTER",
          value_parser = crate::topic::parse_filter)]
    pub filters: Vec<String>,

    /// A JSON path into the payload (a.b[0].c): one CSV column each instead of the payload
    /// (repeatable); with jsonl, a "fields" object
    #[arg(long = "field", value_name = "PATH",
          value_parser = crate::record::export::FieldPath::parse)]
    pub fields: Vec<crate::record::export::FieldPath>,

    /// Write here instead of stdout
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}
