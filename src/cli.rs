//! Command-line interface: the modes and the connection options they share.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

use crate::broker::options::random_client_id;
use crate::broker::{BrokerOptions, MqttVersion, Subscription, Target, TlsSettings};
use crate::secret::Secret;

mod proxy;
mod record;
pub use proxy::{ProxyArgs, parse_duration};
pub use record::{
    ExportArgs, ExportFormatArg, OpenArgs, QosMode, RecordArgs, ReplayArgs, RetainMode, parse_speed,
};

const EXAMPLES: &str = "\
Examples:
  mqscope sub -b mqtt://broker.local -t 'plant/#'          print topic and payload per line
  mqscope sub -t '#' --json --events -C 100                 JSON lines, with connection events
  MQSCOPE_PASSWORD=… mqscope sub -b mqtts://h -u alice      TLS with a user, password from env
  mqscope pub -t plant/cmd -m '{\"on\":true}' -q 1            publish and wait for PUBACK
  mqscope pub -t plant/state -n -r                          clear a retained message
  mqscope clean-retained 'plant/#' --dry-run                list the retained topics under a filter
  seq 5 | mqscope pub -t counter -l                         one message per stdin line
  mqscope doctor -b mqtts://broker:8883 --ca-file ca.pem     why does it not connect?
  mqscope demo                                              everything, with no broker needed
  mqscope proxy --to mqtt://broker:1883 --drop-every 30s    grade your own client's reconnects
  mqscope sub -t 'plant/#' --decode 'plant/#=protobuf:plant.proto:plant.v1.Telemetry'
                                                            decode Protobuf per topic
  mqscope record -t 'plant/#' -o site.jsonl.zst             capture a session (Ctrl-C ends it)
  mqscope open site.jsonl.zst                               browse it offline: play, pause, seek
  mqscope replay site.jsonl.zst -b mqtt://lab --speed 10    publish it again, ten times faster

Exit codes: 0 ok, 1 connection failure or refused, 2 usage or config error, 27 sub -W timeout.
Logs: MQSCOPE_LOG (or RUST_LOG) sets the filter; the log file is under the state directory
(MQSCOPE_LOG_DIR overrides).";

/// Explore and debug MQTT brokers.
#[derive(Debug, Parser)]
#[command(name = "mqscope", version, about, after_help = EXAMPLES, max_term_width = 100)]
#[command(args_conflicts_with_subcommands = true, disable_version_flag = true)]
pub struct Cli {
    #[command(subcommand)]
    pub mode: Option<Mode>,

    /// Print version (-V is the MQTT version)
    #[arg(long, action = clap::ArgAction::Version)]
    version: Option<bool>,

    /// Use a saved broker from the config file (`mqscope` alone offers a picker)
    #[arg(
        short = 'P',
        long,
        global = true,
        env = "MQSCOPE_PROFILE",
        value_name = "NAME"
    )]
    pub profile: Option<String>,

    /// Without a subcommand: the interactive explorer.
    #[command(flatten)]
    pub tui: TuiArgs,
}

/// What to subscribe to: shared by the explorer and `sub`.
#[derive(Debug, Clone, Args)]
pub struct SubscribeArgs {
    /// Topic filter to subscribe to (repeatable)
    #[arg(short = 't', long = "topic", value_name = "FILTER", default_value = "#",
          value_parser = crate::topic::parse_filter)]
    pub filters: Vec<String>,

    /// QoS to subscribe with
    #[arg(short = 'q', long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=2))]
    pub qos: u8,
}

/// How payloads are decoded: shared by the explorer, `sub` and `decode`.
#[derive(Debug, Clone, Default, Args)]
pub struct DecodeArgs {
    /// Decode payloads on topics matching FILTER (repeatable, first match wins; before the
    /// config file's [[decoders]]): protobuf:PATH.proto:pkg.Message, protobuf:PATH.desc:pkg.Msg,
    /// sparkplug, msgpack, cbor, base64[,KIND], json, text, hex. spBv1.0/# is Sparkplug B
    /// unless mapped otherwise
    #[arg(long = "decode", value_name = "[FILTER=]KIND[:ARGS]",
          value_parser = crate::payload::decode::spec::parse_flag)]
    pub decode: Vec<crate::payload::decode::DecodeSpec>,

    /// Directory searched for the imports of a .proto file, after the file's own (repeatable)
    #[arg(long = "proto-path", value_name = "DIR")]
    pub proto_path: Vec<PathBuf>,
}

/// Alert rules and JSON Schema checks: shared by the explorer, `watch` and `sub --anomalies`.
#[derive(Debug, Clone, Default, Args)]
pub struct AlertArgs {
    /// Alert when EXPR (the filter language) becomes true on a topic matching FILTER, once,
    /// and again when it clears: 'plant/+/temp: t > 80; for=30s; name=boiler hot;
    /// severity=critical' (for=, name=, severity=info|warning|critical optional; repeatable;
    /// after the config file's [[rules]])
    #[arg(long = "rule", value_name = "'FILTER: EXPR[; for=DURATION]…'", value_parser = parse_rule)]
    pub rules: Vec<crate::alert::Rule>,

    /// Check every payload on topics matching FILTER against a JSON Schema file (draft
    /// 2020-12 or 7; $refs must stay inside the file; repeatable; after [[schemas]])
    #[arg(long = "schema", value_name = "FILTER=PATH.json", value_parser = parse_schema)]
    pub schemas: Vec<crate::alert::SchemaEntry>,
}

/// `--rule`: compiled once; an error names its part and points at its column.
fn parse_rule(text: &str) -> Result<crate::alert::Rule, String> {
    crate::alert::Rule::parse(text).map_err(|e| match e.column {
        Some(column) => {
            let pad = " ".repeat(crate::width::of(
                &text.chars().take(column - 1).collect::<String>(),
            ));
            format!("{e}\n    {text}\n    {pad}^")
        }
        None => e.to_string(),
    })
}

/// `--schema FILTER=PATH`: the file is read and compiled now, so a bad one is a usage error.
fn parse_schema(text: &str) -> Result<crate::alert::SchemaEntry, String> {
    let entry = crate::alert::spec::parse_schema_flag(text)?;
    crate::alert::Schema::load(&entry.filter, &entry.schema)?;
    Ok(entry)
}

/// The explorer (no subcommand).
#[derive(Debug, Clone, Args)]
pub struct TuiArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,

    #[command(flatten)]
    pub subscribe: SubscribeArgs,

    #[command(flatten)]
    pub decode: DecodeArgs,

    #[command(flatten)]
    pub alerts: AlertArgs,

    /// Also subscribe to $SYS/# (broker statistics)
    #[arg(long)]
    pub sys: bool,

    /// Messages kept per topic
    #[arg(long, value_name = "N", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub history: u32,

    /// Memory budget for topics and history, e.g. 256M or 2G (history is evicted first, then
    /// new topics are counted but not tracked)
    #[arg(long, value_name = "SIZE", default_value = "256M", value_parser = crate::size::parse_size)]
    pub max_memory: usize,
}

#[derive(Debug, Subcommand)]
#[expect(clippy::large_enum_variant, reason = "one value, parsed once at start")]
pub enum Mode {
    /// Subscribe and print messages (like mosquitto_sub -v), with connection events.
    Sub(SubArgs),
    /// Publish one message, a file, stdin, or one message per stdin line.
    Pub(PubArgs),
    /// Check every stage of connecting and say in plain words why it fails, and how to fix it.
    Doctor(DoctorArgs),
    /// Clear the retained messages under a filter (--dry-run lists them).
    CleanRetained(CleanRetainedArgs),
    /// The config file: where it is, what is in effect, whether it is valid, a starter.
    Config(ConfigArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): mqscope man > mqscope.1
    Man,
    /// Everything at once with no setup: an embedded broker, a simulated fleet, the explorer.
    Demo(DemoArgs),
    /// Stand between your own MQTT clients and their broker: see their packets, inject
    /// faults (delay, drops, a dead broker, a black hole), grade how they reconnect.
    Proxy(ProxyArgs),
    /// Watch the stream for anomalies: topics gone silent, JSON schema changes, sequence
    /// gaps and duplicates, rate jumps, retained values replaced; one line each.
    Watch(WatchArgs),
    /// Decode one payload from a file or stdin with --decode (Protobuf, Sparkplug B,
    /// MessagePack, CBOR, base64) and print it as JSON.
    Decode(DecodeCmdArgs),
    /// Record every message and connection event to a file (JSON lines; .zst/.gz compress).
    Record(RecordArgs),
    /// Open the explorer on a recording, no broker needed: play, pause, seek.
    Open(OpenArgs),
    /// Publish a recording into a broker with its timing, QoS, retain flags and properties.
    Replay(ReplayArgs),
    /// Write a recording's messages as CSV or JSON lines.
    Export(ExportArgs),
}

/// `mqscope watch`
#[derive(Debug, Clone, Args)]
pub struct WatchArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,

    #[command(flatten)]
    pub subscribe: SubscribeArgs,

    /// One JSON object per anomaly
    #[arg(long)]
    pub json: bool,

    /// Exit with code 3 at the first anomaly of these kinds (comma-separated)
    #[arg(long, value_name = "KIND,…", value_delimiter = ',', value_parser = parse_kind)]
    pub fail_on: Vec<crate::watch::AnomalyKind>,

    /// Raise nothing for topics matching this filter (repeatable)
    #[arg(long, value_name = "FILTER", value_parser = crate::topic::parse_filter)]
    pub mute: Vec<String>,

    #[command(flatten)]
    pub alerts: AlertArgs,

    /// Exit (code 0) after this many seconds from the first CONNACK
    #[arg(short = 'W', long = "timeout", value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(1..=31_536_000))]
    pub timeout: Option<u64>,

    /// Print nothing on stderr but errors
    #[arg(long)]
    pub quiet: bool,
}

/// `--where EXPR`: compiled once; an error points at its column.
fn parse_expr(text: &str) -> Result<crate::expr::Expr, String> {
    crate::expr::Expr::parse(text).map_err(|e| {
        let pad = " ".repeat(crate::width::of(
            &text.chars().take(e.column - 1).collect::<String>(),
        ));
        format!("{e}\n    {text}\n    {pad}^")
    })
}

/// `--encode KIND[:ARGS]`: a decoder spec without a filter.
fn parse_encode(text: &str) -> Result<crate::payload::decode::DecodeSpec, String> {
    let spec = crate::payload::decode::spec::parse_flag(text)?;
    if spec.filter == "#" {
        Ok(spec)
    } else {
        Err("--encode takes a kind only (no FILTER=)".into())
    }
}

/// One kind of `--fail-on silent,gap`.
fn parse_kind(text: &str) -> Result<crate::watch::AnomalyKind, String> {
    crate::watch::AnomalyKind::from_name(text.trim()).ok_or_else(|| {
        format!(
            "{text:?} is not an anomaly kind: one of {}",
            crate::watch::AnomalyKind::names()
        )
    })
}

/// `mqscope demo`
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Port of the embedded broker's MQTT 5 listener [default: a free one]
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub port: Option<u16>,

    /// Only the broker and the fleet: print the URLs for other clients, until Ctrl-C
    #[arg(long)]
    pub no_tui: bool,
}

/// `mqscope config`
#[derive(Debug, Clone, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub action: Option<ConfigAction>,

    /// Print the documented default file
    #[arg(long)]
    pub print_default: bool,
}

#[derive(Debug, Clone, Subcommand)]
pub enum ConfigAction {
    /// Print the config file's path
    Path,
    /// Print the configuration in effect (defaults and the file), passwords redacted
    Show,
    /// Validate the file: exit 0 when valid, 2 with the place of the first error
    Check,
    /// Write the documented starter file (never over an existing one); with --template, add a
    /// commented profile for a cloud broker
    Init {
        /// A cloud broker's profile: its port, TLS files, user name format and client id rules
        #[arg(long, value_enum)]
        template: Option<crate::config::cloud::Cloud>,

        /// The profile's name [default: the template's]
        #[arg(long, requires = "template")]
        name: Option<String>,
    },
}

/// `mqscope clean-retained`
#[derive(Debug, Clone, Args)]
pub struct CleanRetainedArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,

    /// Topic filter whose retained messages to clear, e.g. plant/line1/#
    #[arg(value_name = "FILTER", value_parser = crate::topic::parse_filter)]
    pub filter: String,

    /// Only list the retained topics; clear nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Leave topics matching this filter alone (repeatable)
    #[arg(long, value_name = "FILTER", value_parser = crate::topic::parse_filter)]
    pub exclude: Vec<String>,
}

/// `mqscope doctor`
#[derive(Debug, Clone, Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,

    /// Filter to test subscribing to (repeatable; the round trip uses the first)
    #[arg(short = 't', long = "topic", value_name = "FILTER", default_value = "#",
          value_parser = crate::topic::parse_filter)]
    pub filters: Vec<String>,

    /// The report as one JSON object
    #[arg(long)]
    pub json: bool,

    /// Skip the publish-and-receive round trip
    #[arg(long)]
    pub no_publish: bool,

    /// Permission map: try subscribing to and publishing to each topic or filter of this file
    /// (one per line, '# ' comments), and say what the broker allows
    #[arg(long, value_name = "FILE")]
    pub acl: Option<PathBuf>,

    /// Measure and tabulate what the broker supports for this client (versions, QoS, retain,
    /// wildcards, shared subscriptions, aliases, packet size, sessions, no-local…)
    #[arg(long)]
    pub capabilities: bool,

    /// Permission map: a topic or filter to try (repeatable)
    #[arg(long, value_name = "TOPIC", value_parser = crate::topic::parse_filter)]
    pub acl_topic: Vec<String>,
}

impl DoctorArgs {
    /// The permission map's entries: the file's, then `--acl-topic`'s.
    pub fn acl_entries(&self) -> Result<Vec<String>, UsageError> {
        let mut all = Vec::new();
        if let Some(path) = &self.acl {
            let text = std::fs::read_to_string(path)
                .map_err(|e| UsageError(format!("--acl {}: {e}", path.display())))?;
            all = crate::diagnose::acl::read_list(&text)
                .map_err(|e| UsageError(format!("--acl {}: {e}", path.display())))?;
        }
        all.extend(self.acl_topic.iter().cloned());
        Ok(all)
    }
}

/// The MQTT protocol version to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VersionArg {
    /// MQTT 5
    #[value(name = "5", alias = "v5")]
    V5,
    /// MQTT 3.1.1
    #[value(name = "3.1.1", alias = "311", alias = "v311", alias = "4")]
    V311,
    /// MQTT 5, falling back to 3.1.1 when the broker refuses it
    Auto,
}

/// Connection options shared by every mode. Each can also come from an `MQSCOPE_*` variable.
#[derive(Debug, Clone, Args)]
pub struct ConnectArgs {
    /// Broker URL: mqtt://, mqtts://, ws:// or wss:// (host[:port][/path])
    #[arg(short = 'b', long, env = "MQSCOPE_BROKER", value_name = "URL",
          default_value = "mqtt://localhost:1883", value_parser = parse_target)]
    pub broker: Target,

    /// User name
    #[arg(short = 'u', long, env = "MQSCOPE_USERNAME")]
    pub username: Option<String>,

    /// Read the password from the first line of this file
    #[arg(long, env = "MQSCOPE_PASSWORD_FILE", value_name = "PATH")]
    pub password_file: Option<PathBuf>,

    /// Ask for the password on the terminal
    #[arg(long)]
    pub password_prompt: bool,

    /// Password on the command line: visible in the process list, prefer MQSCOPE_PASSWORD
    #[arg(long, value_name = "PASSWORD")]
    pub password: Option<String>,

    /// Client id [default: mqscope-<random>]
    #[arg(short = 'i', long, env = "MQSCOPE_CLIENT_ID")]
    pub client_id: Option<String>,

    /// MQTT version
    #[arg(
        short = 'V',
        long,
        env = "MQSCOPE_MQTT_VERSION",
        value_enum,
        default_value = "auto",
        value_name = "VERSION"
    )]
    pub mqtt_version: VersionArg,

    /// Keep-alive interval in seconds (5 to 65535)
    #[arg(short = 'k', long, env = "MQSCOPE_KEEP_ALIVE", value_name = "SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u16).range(5..))]
    pub keep_alive: u16,

    /// Timeout for each connect stage (DNS, TCP, TLS, WebSocket, CONNACK), in seconds (1 to 600)
    #[arg(long, env = "MQSCOPE_CONNECT_TIMEOUT", value_name = "SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u16).range(1..=600))]
    pub connect_timeout: u16,

    /// Largest packet accepted from the broker, e.g. 16M or 256M (announced in an MQTT 5
    /// CONNECT; a larger packet ends the link as a protocol error)
    #[arg(long, env = "MQSCOPE_MAX_PACKET_SIZE", value_name = "SIZE", default_value = "16M",
          value_parser = crate::size::parse_packet_size)]
    pub max_packet_size: usize,

    /// Trust this CA bundle (PEM) instead of the system's roots
    #[arg(long, env = "MQSCOPE_CA_FILE", value_name = "PATH")]
    pub ca_file: Option<PathBuf>,

    /// Client certificate (PEM) for mutual TLS; needs --key
    #[arg(long, env = "MQSCOPE_CERT", value_name = "PATH", requires = "key")]
    pub cert: Option<PathBuf>,

    /// Client private key (PEM) for mutual TLS; needs --cert
    #[arg(long, env = "MQSCOPE_KEY", value_name = "PATH", requires = "cert")]
    pub key: Option<PathBuf>,

    /// Do not verify the broker's certificate (tests only: anyone in the path can read along)
    #[arg(long, env = "MQSCOPE_INSECURE")]
    pub insecure: bool,

    /// ALPN protocol to offer in TLS (repeat or separate with commas)
    #[arg(long, env = "MQSCOPE_ALPN", value_delimiter = ',')]
    pub alpn: Vec<String>,

    /// Resume the session: clean start off (needs a fixed --client-id)
    #[arg(long, env = "MQSCOPE_NO_CLEAN_START", requires = "client_id")]
    pub no_clean_start: bool,

    /// MQTT 5 session expiry interval in seconds
    #[arg(long, env = "MQSCOPE_SESSION_EXPIRY", value_name = "SECS")]
    pub session_expiry: Option<u32>,

    /// Give up after this many failed connection attempts in a row [default: never]
    #[arg(long, env = "MQSCOPE_MAX_ATTEMPTS", value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_attempts: Option<u32>,

    /// Reach the broker through a proxy: socks5://[USER@]HOST[:PORT] or
    /// http://[USER@]HOST[:PORT] (HTTP CONNECT); its password from MQSCOPE_PROXY_PASSWORD or
    /// --proxy-password-file, never in the URL
    #[arg(long, env = "MQSCOPE_PROXY", value_name = "URL", value_parser = parse_proxy)]
    pub proxy: Option<crate::broker::tunnel::ProxySettings>,

    /// The proxy's password: the first line of this file
    #[arg(
        long,
        env = "MQSCOPE_PROXY_PASSWORD_FILE",
        value_name = "PATH",
        requires = "proxy"
    )]
    pub proxy_password_file: Option<PathBuf>,

    /// Ask for the proxy's password on the terminal
    #[arg(long, requires = "proxy")]
    pub proxy_password_prompt: bool,

    /// A header of the WebSocket upgrade, 'Name: value' (repeatable); 'Name: env:VAR' takes
    /// the value from the environment, so a token stays out of the process list
    #[arg(long, value_name = "'NAME: VALUE'", value_parser = parse_ws_header)]
    pub ws_header: Vec<(String, String)>,

    /// Last Will: the topic the broker publishes to when this client vanishes without a
    /// DISCONNECT (killed, cut off, keep-alive missed)
    #[arg(long, env = "MQSCOPE_WILL_TOPIC", value_name = "TOPIC", value_parser = parse_will_topic)]
    pub will_topic: Option<String>,

    /// The will's payload (text)
    #[arg(
        long,
        env = "MQSCOPE_WILL_PAYLOAD",
        value_name = "TEXT",
        requires = "will_topic",
        conflicts_with = "will_file"
    )]
    pub will_payload: Option<String>,

    /// The will's payload, from a file (bytes as they are)
    #[arg(
        long,
        env = "MQSCOPE_WILL_FILE",
        value_name = "PATH",
        requires = "will_topic"
    )]
    pub will_file: Option<PathBuf>,

    /// The will's QoS (0, 1 or 2)
    #[arg(long, env = "MQSCOPE_WILL_QOS", value_name = "QOS", requires = "will_topic",
          value_parser = clap::value_parser!(u8).range(0..=2))]
    pub will_qos: Option<u8>,

    /// Publish the will retained
    #[arg(long, env = "MQSCOPE_WILL_RETAIN", requires = "will_topic")]
    pub will_retain: bool,

    /// MQTT 5: seconds the broker waits before publishing the will (a reconnect in time
    /// cancels it)
    #[arg(
        long,
        env = "MQSCOPE_WILL_DELAY",
        value_name = "SECS",
        requires = "will_topic"
    )]
    pub will_delay: Option<u32>,

    /// MQTT 5: the will message's expiry interval in seconds
    #[arg(
        long,
        env = "MQSCOPE_WILL_EXPIRY",
        value_name = "SECS",
        requires = "will_topic"
    )]
    pub will_expiry: Option<u32>,

    /// MQTT 5: the will message's content type
    #[arg(
        long,
        env = "MQSCOPE_WILL_CONTENT_TYPE",
        value_name = "TYPE",
        requires = "will_topic"
    )]
    pub will_content_type: Option<String>,

    /// MQTT 5: a user property of the will message, KEY=VALUE (repeatable)
    #[arg(long, value_name = "KEY=VALUE", requires = "will_topic", value_parser = parse_user_property)]
    pub will_user_property: Vec<(String, String)>,

    /// The chosen profile's password source (password_env, _file, _command), read only when
    /// the command line and the environment give none.
    #[arg(skip)]
    pub profile_password: Option<crate::config::password::ProfilePassword>,
}

/// `--ws-header 'Name: value'`: a header name (letters, digits, `-`) and its value.
fn parse_ws_header(s: &str) -> Result<(String, String), String> {
    let (name, value) = s
        .split_once(':')
        .ok_or("a header is 'Name: value' (e.g. 'Authorization: env:MQTT_TOKEN')")?;
    let name = name.trim();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
    {
        return Err(format!(
            "{name:?} is not a header name (letters, digits, '-')"
        ));
    }
    Ok((name.to_string(), value.trim().to_string()))
}

fn parse_proxy(s: &str) -> Result<crate::broker::tunnel::ProxySettings, String> {
    s.parse()
}

/// `--will-topic`: a topic to publish to (no wildcards, not empty).
fn parse_will_topic(s: &str) -> Result<String, String> {
    crate::topic::parse_topic(s)
}

/// `mqscope sub`
#[derive(Debug, Clone, Args)]
pub struct SubArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,

    #[command(flatten)]
    pub subscribe: SubscribeArgs,

    /// One JSON object per line
    #[arg(long)]
    pub json: bool,

    /// Also report every connection stage (JSON lines with --json, else text on stderr)
    #[arg(long)]
    pub events: bool,

    /// Exit after this many messages
    #[arg(short = 'C', long = "count", value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,

    /// Exit with code 27 after this many seconds from the first CONNACK
    #[arg(short = 'W', long = "timeout", value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(1..=31_536_000))]
    pub timeout: Option<u64>,

    /// Print only retained messages; exit at the first message that is not retained
    #[arg(long, conflicts_with = "no_retained")]
    pub retained_only: bool,

    /// Skip retained messages (MQTT 5 also asks the broker not to send them)
    #[arg(long)]
    pub no_retained: bool,

    /// Print nothing on stderr but errors
    #[arg(long)]
    pub quiet: bool,

    /// Also watch for anomalies and print them among the messages (as `mqscope watch`)
    #[arg(long)]
    pub anomalies: bool,

    /// Print only the messages whose payload (its JSON, or its decoded value) satisfies EXPR:
    /// `temp > 30`, `status == "error" and not exists(ack)`, `topic ~ "floor2"` (README:
    /// the filter language). Messages that are not JSON never match a field
    #[arg(long = "where", value_name = "EXPR", value_parser = parse_expr)]
    pub filter: Option<crate::expr::Expr>,

    /// Print only this JSON value of each message (a.b[0].c; repeatable): `topic v1 v2` in
    /// text, a "fields" object with --json
    #[arg(long = "field", value_name = "PATH", value_parser = crate::expr::Path::parse)]
    pub fields: Vec<crate::expr::Path>,

    #[command(flatten)]
    pub decode: DecodeArgs,

    /// Rules and schema checks, printed among the messages like anomalies (they imply
    /// --anomalies)
    #[command(flatten)]
    pub alerts: AlertArgs,
}

impl SubArgs {
    /// `--anomalies`, which `--rule` and `--schema` imply.
    pub fn watching(&self) -> bool {
        self.anomalies || !self.alerts.rules.is_empty() || !self.alerts.schemas.is_empty()
    }
}

/// `mqscope decode`
#[derive(Debug, Clone, Args)]
pub struct DecodeCmdArgs {
    #[command(flatten)]
    pub decode: DecodeArgs,

    /// The topic the payload came from: picks the decoder among the mappings (default: the
    /// first mapping's filter, or any topic when there is one mapping)
    #[arg(short = 't', long, value_parser = crate::topic::parse_topic)]
    pub topic: Option<String>,

    /// Print the decoded value as one compact JSON line
    #[arg(long)]
    pub compact: bool,

    /// The payload file ('-' or nothing: stdin)
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
}

/// Payload format indicator values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PayloadFormat {
    Utf8,
    Bytes,
}

/// `mqscope pub`
#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("source").required(true)
    .args(["message", "file", "stdin", "lines", "null"])))]
pub struct PubArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,

    /// Topic to publish to (no wildcards)
    #[arg(short = 't', long, value_parser = crate::topic::parse_topic)]
    pub topic: String,

    /// The payload
    #[arg(short = 'm', long, value_name = "MSG")]
    pub message: Option<String>,

    /// Send the bytes of this file
    #[arg(short = 'f', long, value_name = "PATH")]
    pub file: Option<PathBuf>,

    /// Send all of stdin as one message
    #[arg(short = 's', long)]
    pub stdin: bool,

    /// Send one message per line of stdin
    #[arg(short = 'l', long)]
    pub lines: bool,

    /// Send an empty payload (with -r: clear the retained message)
    #[arg(short = 'n', long)]
    pub null: bool,

    /// QoS
    #[arg(short = 'q', long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=2))]
    pub qos: u8,

    /// Set the retain flag
    #[arg(short = 'r', long)]
    pub retain: bool,

    /// MQTT 5 content type
    #[arg(long, value_name = "MIME")]
    pub content_type: Option<String>,

    /// MQTT 5 response topic
    #[arg(long, value_name = "TOPIC", value_parser = crate::topic::parse_topic)]
    pub response_topic: Option<String>,

    /// MQTT 5 correlation data (as text)
    #[arg(long, value_name = "DATA")]
    pub correlation_data: Option<String>,

    /// MQTT 5 user property (repeatable)
    #[arg(long = "user-property", value_name = "KEY=VALUE", value_parser = parse_user_property)]
    pub user_properties: Vec<(String, String)>,

    /// MQTT 5 message expiry interval in seconds
    #[arg(long, value_name = "SECS")]
    pub message_expiry: Option<u32>,

    /// MQTT 5 payload format indicator
    #[arg(long, value_enum)]
    pub payload_format: Option<PayloadFormat>,

    /// Encode the payload (JSON text) first: protobuf:PATH.proto:pkg.Message, sparkplug,
    /// msgpack, cbor, base64,KIND; or json (checked), hex (the bytes a hex string spells)
    #[arg(long, value_name = "KIND[:ARGS]", value_parser = parse_encode)]
    pub encode: Option<crate::payload::decode::DecodeSpec>,

    /// Directory searched for the imports of --encode's .proto file (repeatable)
    #[arg(long = "proto-path", value_name = "DIR")]
    pub proto_path: Vec<PathBuf>,
}

impl PubArgs {
    /// Whether any MQTT 5-only property was given.
    pub fn has_v5_properties(&self) -> bool {
        self.content_type.is_some()
            || self.response_topic.is_some()
            || self.correlation_data.is_some()
            || !self.user_properties.is_empty()
            || self.message_expiry.is_some()
            || self.payload_format.is_some()
    }
}

fn parse_target(s: &str) -> Result<Target, String> {
    s.parse::<Target>().map_err(|e| e.to_string())
}

fn parse_user_property(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err("expected KEY=VALUE with a non-empty key".into()),
    }
}

/// A usage or configuration problem: reported with exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl ConnectArgs {
    /// Builds the connection options, reading the password from its source.
    pub fn to_options(&self) -> Result<BrokerOptions, UsageError> {
        let client_id = self.client_id.clone().unwrap_or_else(random_client_id);
        let mut opts = BrokerOptions::new(self.broker.clone(), client_id);
        opts.client_id_given = self.client_id.is_some();
        if self.username.is_some() {
            opts.username.clone_from(&self.username);
        }
        opts.password = self.password()?;
        // MQTT 5 allows a password alone (token authentication); MQTT 3.1.1 does not.
        if opts.password.is_some() && opts.username.is_none() && self.mqtt_version != VersionArg::V5
        {
            return Err(UsageError(
                "a password was given without --username: MQTT 3.1.1 sends a password only with \
                 a user name; add --username, or -V 5 to send the password alone"
                    .into(),
            ));
        }
        opts.version = match self.mqtt_version {
            VersionArg::V5 => MqttVersion::V5,
            VersionArg::V311 => MqttVersion::V311,
            VersionArg::Auto => MqttVersion::Auto,
        };
        opts.keep_alive = Duration::from_secs(u64::from(self.keep_alive));
        opts.connect_timeout = Duration::from_secs(u64::from(self.connect_timeout));
        opts.max_packet_size = self.max_packet_size;
        opts.tls = TlsSettings {
            ca_file: self.ca_file.clone(),
            cert: self.cert.clone(),
            key: self.key.clone(),
            insecure: self.insecure,
            alpn: self.alpn.clone(),
            server_name: None,
        };
        if !opts.target.scheme.uses_tls()
            && (self.ca_file.is_some() || self.cert.is_some() || self.insecure)
        {
            return Err(UsageError(format!(
                "--ca-file, --cert and --insecure need a TLS URL (mqtts:// or wss://), not {}",
                opts.target
            )));
        }
        opts.clean_start = !self.no_clean_start;
        if !opts.clean_start && opts.client_id.is_empty() {
            return Err(UsageError(
                "--no-clean-start needs a non-empty --client-id to resume".into(),
            ));
        }
        opts.session_expiry = self.session_expiry;
        opts.max_attempts = self.max_attempts;
        opts.will = self.will()?;
        opts.proxy = self.proxy()?;
        opts.ws_headers = self.ws_headers(&opts.target)?;
        Ok(opts)
    }

    /// The WebSocket upgrade's extra headers, `env:VAR` values read from the environment.
    fn ws_headers(
        &self,
        target: &crate::broker::Target,
    ) -> Result<Vec<(String, Secret)>, UsageError> {
        if self.ws_header.is_empty() {
            return Ok(Vec::new());
        }
        if !target.scheme.uses_websocket() {
            return Err(UsageError(format!(
                "--ws-header needs a WebSocket URL (ws:// or wss://), not {target}"
            )));
        }
        self.ws_header
            .iter()
            .map(|(name, value)| {
                let value = match value.strip_prefix("env:") {
                    Some(var) => std::env::var(var).map_err(|_| {
                        UsageError(format!(
                            "--ws-header {name}: the environment variable {var} is not set"
                        ))
                    })?,
                    None => value.clone(),
                };
                Ok((name.clone(), Secret::new(value)))
            })
            .collect()
    }

    /// The proxy with its password (from `--proxy-password-file` or `MQSCOPE_PROXY_PASSWORD`).
    fn proxy(&self) -> Result<Option<crate::broker::tunnel::ProxySettings>, UsageError> {
        let Some(proxy) = &self.proxy else {
            return Ok(None);
        };
        let mut proxy = proxy.clone();
        proxy.password = if let Some(path) = &self.proxy_password_file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                UsageError(format!("--proxy-password-file {}: {e}", path.display()))
            })?;
            Some(Secret::new(text.lines().next().unwrap_or_default()))
        } else if let Ok(p) = std::env::var("MQSCOPE_PROXY_PASSWORD") {
            Some(Secret::new(p))
        } else if self.proxy_password_prompt {
            let p = rpassword::prompt_password("Proxy password: ").map_err(|e| {
                UsageError(format!(
                    "--proxy-password-prompt: cannot read a password: {e}"
                ))
            })?;
            Some(Secret::new(p))
        } else {
            None
        };
        if proxy.password.is_some() && proxy.username.is_none() {
            return Err(UsageError(format!(
                "a proxy password without a user: put the user in the URL, as in {}://USER@{}:{}",
                if proxy.kind == crate::broker::tunnel::ProxyKind::Socks5 {
                    "socks5"
                } else {
                    "http"
                },
                proxy.host,
                proxy.port
            )));
        }
        Ok(Some(proxy))
    }

    /// The Last Will the flags describe; MQTT 5's parts refused with `-V 3.1.1`.
    fn will(&self) -> Result<Option<crate::broker::Will>, UsageError> {
        let Some(topic) = &self.will_topic else {
            return Ok(None);
        };
        let payload = match (&self.will_payload, &self.will_file) {
            (_, Some(path)) => std::fs::read(path)
                .map_err(|e| UsageError(format!("--will-file {}: {e}", path.display())))?,
            (Some(text), None) => text.clone().into_bytes(),
            (None, None) => Vec::new(),
        };
        let mut will = crate::broker::Will::new(topic.clone(), payload);
        will.qos = self.will_qos.unwrap_or(0);
        will.retain = self.will_retain;
        will.delay = self.will_delay;
        will.expiry = self.will_expiry;
        will.content_type.clone_from(&self.will_content_type);
        will.user_properties.clone_from(&self.will_user_property);
        if will.uses_v5() && self.mqtt_version == VersionArg::V311 {
            return Err(UsageError(
                "--will-delay, --will-expiry, --will-content-type and --will-user-property are \
                 MQTT 5 only: drop them, or use -V 5 (or auto)"
                    .into(),
            ));
        }
        Ok(Some(will))
    }

    fn password(&self) -> Result<Option<Secret>, UsageError> {
        if let Some(path) = &self.password_file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| UsageError(format!("--password-file {}: {e}", path.display())))?;
            let first = text.lines().next().unwrap_or_default();
            return Ok(Some(Secret::new(first)));
        }
        if let Some(p) = &self.password {
            tracing::warn!("--password is visible in the process list; prefer MQSCOPE_PASSWORD");
            return Ok(Some(Secret::new(p.clone())));
        }
        if let Ok(p) = std::env::var("MQSCOPE_PASSWORD") {
            return Ok(Some(Secret::new(p)));
        }
        if self.password_prompt {
            let p = rpassword::prompt_password("Password: ").map_err(|e| {
                UsageError(format!("--password-prompt: cannot read a password: {e}"))
            })?;
            return Ok(Some(Secret::new(p)));
        }
        self.profile_password
            .as_ref()
            .map(crate::config::password::ProfilePassword::resolve)
            .transpose()
            .map_err(UsageError)
    }
}

impl SubArgs {
    /// The subscriptions these arguments ask for.
    pub fn subscriptions(&self) -> Vec<Subscription> {
        self.subscribe
            .filters
            .iter()
            .map(|f| {
                let mut s = Subscription::new(f.clone(), self.subscribe.qos);
                if self.no_retained {
                    s.retain_handling = 2;
                }
                s
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
