//! One anomaly: which topic, what kind, when, the data behind it, and the one-line detail
//! and JSON line every output shares.

use std::fmt::Write as _;
use std::time::SystemTime;

use serde_json::{Map, Value, json};

use super::shape::{Kind, ShapeDiff};
use crate::store::NodeId;

/// Declares the kinds once: variant, name (config, `--fail-on`, JSON).
macro_rules! kinds {
    ($($variant:ident => $name:literal,)*) => {
        /// What went wrong.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum AnomalyKind {
            $($variant,)*
        }

        impl AnomalyKind {
            pub const ALL: &'static [AnomalyKind] = &[$(AnomalyKind::$variant,)*];

            pub fn name(self) -> &'static str {
                match self {
                    $(AnomalyKind::$variant => $name,)*
                }
            }
        }
    };
}

kinds! {
    Silent => "silent",
    Resumed => "resumed",
    SchemaChanged => "schema_changed",
    KindChanged => "kind_changed",
    Gap => "gap",
    Duplicate => "duplicate",
    OutOfOrder => "out_of_order",
    Reset => "reset",
    RateSpike => "rate_spike",
    RateDrop => "rate_drop",
    RetainedChanged => "retained_changed",
    Rule => "rule",
    SchemaInvalid => "schema_invalid",
}

impl AnomalyKind {
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.name() == name)
    }

    /// Every name, for error messages.
    pub fn names() -> String {
        Self::ALL
            .iter()
            .map(|k| k.name())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `KIND,KIND,…` as `--fail-on` and the config take it.
    pub fn parse_list(text: &str) -> Result<Vec<Self>, String> {
        text.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                Self::from_name(s).ok_or_else(|| {
                    format!("{s:?} is not an anomaly kind: one of {}", Self::names())
                })
            })
            .collect()
    }
}

/// The data behind an anomaly, per kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    Silent {
        silent_ms: u64,
        interval_ms: u64,
    },
    Resumed {
        silent_ms: u64,
    },
    Schema {
        diff: ShapeDiff,
    },
    Kind {
        from: Kind,
        to: Kind,
    },
    Gap {
        from: i64,
        to: i64,
        missing: i64,
    },
    Duplicate {
        seq: Option<i64>,
        dup_flag: bool,
    },
    OutOfOrder {
        value: i64,
        after: i64,
    },
    Reset {
        from: i64,
        to: i64,
    },
    Rate {
        rate: f64,
        baseline: f64,
    },
    Retained {
        cleared: bool,
    },
    /// A user's rule fired (or cleared), with what its expression read.
    Rule {
        name: String,
        expression: String,
        severity: &'static str,
        value: Value,
        cleared: bool,
        /// How long the condition had held when it fired.
        held_ms: u64,
    },
    /// A payload failed its topic's JSON Schema.
    SchemaInvalid {
        schema: String,
        instance_path: String,
        keyword: String,
        message: String,
        errors: usize,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Anomaly {
    /// Never reused while the watch lives.
    pub id: u64,
    pub node: NodeId,
    pub topic: String,
    pub kind: AnomalyKind,
    pub at: SystemTime,
    /// The store's sequence number of the message that showed it (none for a silence).
    pub message: Option<u64>,
    pub data: Data,
}

fn seconds(ms: u64) -> String {
    #[expect(clippy::cast_precision_loss, reason = "a displayed duration")]
    let s = ms as f64 / 1000.0;
    if s < 10.0 {
        format!("{s:.1}s")
    } else if s < 120.0 {
        format!("{s:.0}s")
    } else {
        let m = ms / 60_000;
        if m < 120 {
            format!("{m}m{:02}s", (ms / 1000) % 60)
        } else {
            format!("{}h{:02}m", m / 60, m % 60)
        }
    }
}

/// The detail line of a rule or schema alert.
fn alert_detail(data: &Data) -> String {
    match data {
        Data::Rule {
            name,
            expression,
            severity,
            value,
            cleared,
            held_ms,
        } => {
            let shown = shown_value(value);
            if *cleared {
                format!("{name}: cleared, {expression} no longer holds ({shown})")
            } else if *held_ms >= 1000 {
                format!(
                    "{name} [{severity}]: {expression} ({shown}), held {}",
                    seconds(*held_ms)
                )
            } else {
                format!("{name} [{severity}]: {expression} ({shown})")
            }
        }
        Data::SchemaInvalid {
            schema,
            instance_path,
            message,
            errors,
            ..
        } => {
            let file = std::path::Path::new(schema)
                .file_name()
                .map_or_else(|| schema.clone(), |f| f.to_string_lossy().into_owned());
            let at = if instance_path.is_empty() {
                String::new()
            } else {
                format!("{instance_path}: ")
            };
            let more = if *errors > 1 {
                format!(" (+{} more)", errors - 1)
            } else {
                String::new()
            };
            format!("{file}: {at}{message}{more}")
        }
        _ => String::new(),
    }
}

/// A value a rule read, short: `85.2`, `"alarm"`, `{"a":1,"b":2}` (at most 80 characters).
fn shown_value(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= 80 {
        text
    } else {
        let cut: String = text.chars().take(79).collect();
        format!("{cut}…")
    }
}

fn list(items: &[String]) -> String {
    const SHOWN: usize = 4;
    let mut out = items
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > SHOWN {
        let _ = write!(out, " +{}", items.len() - SHOWN);
    }
    out
}

impl Anomaly {
    /// One line for a person (broker text unescaped: callers sanitize for terminals).
    pub fn detail(&self) -> String {
        match &self.data {
            Data::Silent {
                silent_ms,
                interval_ms,
            } => format!(
                "no message for {} (usually every {})",
                seconds(*silent_ms),
                seconds(*interval_ms)
            ),
            Data::Resumed { silent_ms } => {
                format!("messages again after {} of silence", seconds(*silent_ms))
            }
            Data::Schema { diff } => {
                let mut parts = Vec::new();
                if !diff.added.is_empty() {
                    parts.push(format!("added {}", list(&diff.added)));
                }
                if !diff.removed.is_empty() {
                    parts.push(format!("removed {}", list(&diff.removed)));
                }
                if !diff.changed.is_empty() {
                    let changed: Vec<String> = diff
                        .changed
                        .iter()
                        .map(|(p, a, b)| format!("{p} {a}→{b}"))
                        .collect();
                    parts.push(format!("changed {}", list(&changed)));
                }
                if parts.is_empty() {
                    "JSON shape changed (the previous payload is no longer kept)".into()
                } else {
                    parts.join("; ")
                }
            }
            Data::Kind { from, to } => format!("payload was {}, now {}", from.label(), to.label()),
            Data::Gap { from, to, missing } => {
                if missing == &1 {
                    format!("1 missing: {from}")
                } else {
                    format!("{missing} missing: {from}…{to}")
                }
            }
            Data::Duplicate { seq, dup_flag } => {
                let what = seq.map_or_else(
                    || "same payload again".to_string(),
                    |s| format!("sequence {s} again"),
                );
                let flag = if *dup_flag {
                    "DUP set (a redelivery)"
                } else {
                    "DUP not set"
                };
                format!("{what}, {flag}")
            }
            Data::OutOfOrder { value, after } => format!("{value} arrived after {after}"),
            Data::Reset { from, to } => {
                format!("sequence went back from {from} to {to} (a restart?)")
            }
            Data::Rate { rate, baseline } => {
                format!("{rate:.1} msg/s, usually {baseline:.1} msg/s")
            }
            Data::Retained { cleared: true } => "retained value cleared".into(),
            Data::Retained { cleared: false } => "retained value replaced".into(),
            Data::Rule { .. } | Data::SchemaInvalid { .. } => alert_detail(&self.data),
        }
    }

    /// The JSON line of `watch --json` and `sub --anomalies` (without the newline).
    pub fn to_json(&self) -> Value {
        let mut o = Map::new();
        o.insert("type".into(), json!("anomaly"));
        o.insert("ts".into(), json!(crate::broker::json::timestamp(self.at)));
        o.insert("topic".into(), json!(self.topic));
        o.insert("kind".into(), json!(self.kind.name()));
        o.insert("detail".into(), json!(self.detail()));
        match &self.data {
            Data::Silent {
                silent_ms,
                interval_ms,
            } => {
                o.insert("silent_ms".into(), json!(silent_ms));
                o.insert("interval_ms".into(), json!(interval_ms));
            }
            Data::Resumed { silent_ms } => {
                o.insert("silent_ms".into(), json!(silent_ms));
            }
            Data::Schema { diff } => {
                o.insert("added".into(), json!(diff.added));
                o.insert("removed".into(), json!(diff.removed));
                let changed: Vec<Value> = diff
                    .changed
                    .iter()
                    .map(|(p, a, b)| json!({"path": p, "from": a, "to": b}))
                    .collect();
                o.insert("changed".into(), Value::Array(changed));
            }
            Data::Kind { from, to } => {
                o.insert("from".into(), json!(from.label()));
                o.insert("to".into(), json!(to.label()));
            }
            Data::Gap { from, to, missing } => {
                o.insert("from".into(), json!(from));
                o.insert("to".into(), json!(to));
                o.insert("missing".into(), json!(missing));
            }
            Data::Duplicate { seq, dup_flag } => {
                if let Some(s) = seq {
                    o.insert("seq".into(), json!(s));
                }
                o.insert("dup".into(), json!(dup_flag));
            }
            Data::OutOfOrder { value, after } => {
                o.insert("seq".into(), json!(value));
                o.insert("after".into(), json!(after));
            }
            Data::Reset { from, to } => {
                o.insert("from".into(), json!(from));
                o.insert("to".into(), json!(to));
            }
            Data::Rate { rate, baseline } => {
                o.insert("rate".into(), json!((rate * 100.0).round() / 100.0));
                o.insert("baseline".into(), json!((baseline * 100.0).round() / 100.0));
            }
            Data::Retained { cleared } => {
                o.insert("cleared".into(), json!(cleared));
            }
            Data::Rule {
                name,
                expression,
                severity,
                value,
                cleared,
                held_ms,
            } => {
                o.insert("rule".into(), json!(name));
                o.insert("expression".into(), json!(expression));
                o.insert("severity".into(), json!(severity));
                o.insert("value".into(), value.clone());
                o.insert("cleared".into(), json!(cleared));
                o.insert("held_ms".into(), json!(held_ms));
            }
            Data::SchemaInvalid {
                schema,
                instance_path,
                keyword,
                message,
                errors,
            } => {
                o.insert("schema".into(), json!(schema));
                o.insert("instance_path".into(), json!(instance_path));
                o.insert("keyword".into(), json!(keyword));
                o.insert("message".into(), json!(message));
                o.insert("errors".into(), json!(errors));
            }
        }
        Value::Object(o)
    }
}
