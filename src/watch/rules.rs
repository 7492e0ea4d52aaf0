//! Thresholds per topic filter: the `[[watch]]` entries of the config file (and of a
//! profile), resolved once per topic when it first shows up, first match wins.

use serde::{Deserialize, Serialize};

use super::anomaly::AnomalyKind;
use super::shape;

/// One `[[watch]]` entry as written in the config file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WatchRule {
    /// The MQTT filter it applies to.
    pub filter: String,
    /// Silent after this many typical intervals (default 3).
    pub silence_factor: Option<f64>,
    /// … and at least the interval plus this (default `5s`).
    pub silence_grace: Option<String>,
    /// Messages before a topic's expectations count (default 5).
    pub min_messages: Option<u32>,
    /// A rate this many times above or below its baseline (default 5) …
    pub rate_factor: Option<f64>,
    /// … for this long (default `10s`).
    pub rate_for: Option<String>,
    /// The sequence field's path (`seq`, `hdr.n`), or `none`; by default a top-level field
    /// named like one (`seq`, `counter`, `msg_id`, …).
    pub sequence: Option<String>,
    /// No anomalies at all.
    #[serde(default)]
    pub mute: bool,
    /// No anomalies of these kinds.
    #[serde(default)]
    pub ignore: Vec<String>,
}

/// Where the sequence number is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeqField {
    /// A top-level field named like one.
    Auto,
    Path(String),
    Off,
}

/// One resolved entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    pub filter: Option<String>,
    pub silence_factor: f64,
    pub silence_grace_ms: u64,
    pub min_messages: u32,
    pub rate_factor: f64,
    pub rate_for_ms: u64,
    pub sequence: SeqField,
    /// Path hashes the scanner looks for.
    pub(super) seq_paths: Vec<u64>,
    pub mute: bool,
    pub ignore: Vec<AnomalyKind>,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            filter: None,
            silence_factor: 3.0,
            silence_grace_ms: 5_000,
            min_messages: 5,
            rate_factor: 5.0,
            rate_for_ms: 10_000,
            sequence: SeqField::Auto,
            seq_paths: shape::SEQ_NAMES
                .iter()
                .map(|n| shape::path_hash(n))
                .collect(),
            mute: false,
            ignore: Vec::new(),
        }
    }
}

impl Thresholds {
    /// Whether anomalies of this kind are reported here.
    pub fn reports(&self, kind: AnomalyKind) -> bool {
        !self.mute && !self.ignore.contains(&kind)
    }

    /// How long a topic with this typical interval may stay quiet.
    pub fn silence_after(&self, interval_ms: f64) -> f64 {
        #[expect(clippy::cast_precision_loss, reason = "milliseconds")]
        let grace = self.silence_grace_ms as f64;
        (self.silence_factor * interval_ms).max(interval_ms + grace)
    }
}

fn duration_ms(text: &str) -> Result<u64, String> {
    humantime::parse_duration(text.trim())
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .map_err(|_| format!("{text:?} is not a duration: expected one like 500ms, 5s or 2m"))
}

/// The resolved list; index 0 is the defaults.
#[derive(Debug, Clone)]
pub struct Rules {
    list: Vec<Thresholds>,
}

impl Default for Rules {
    fn default() -> Self {
        let mut rules = Self {
            list: vec![Thresholds::default()],
        };
        rules.list.push(Self::sys());
        rules
    }
}

impl Rules {
    /// The built-in last entry: a broker's `$SYS` topics are published when they change (or
    /// on the broker's own clock), so their silences and rates say nothing.
    fn sys() -> Thresholds {
        Thresholds {
            filter: Some("$SYS/#".into()),
            ignore: vec![
                AnomalyKind::Silent,
                AnomalyKind::Resumed,
                AnomalyKind::RateSpike,
                AnomalyKind::RateDrop,
            ],
            ..Thresholds::default()
        }
    }

    /// Resolves the entries; an error names the entry's field (`watch[1].rate_for`) and why.
    /// A built-in `$SYS/#` entry comes after them (see [`Self::sys`]).
    pub fn compile(rules: &[WatchRule], key: &str) -> Result<Self, (String, String)> {
        let mut out = Self {
            list: vec![Thresholds::default()],
        };
        for (i, r) in rules.iter().enumerate() {
            let field = |f: &str| format!("{key}[{i}].{f}");
            crate::topic::parse_filter(&r.filter).map_err(|why| (field("filter"), why))?;
            let mut t = Thresholds {
                filter: Some(r.filter.clone()),
                ..Thresholds::default()
            };
            if let Some(f) = r.silence_factor {
                if !(1.0..=1000.0).contains(&f) {
                    return Err((field("silence_factor"), "must be 1 to 1000".into()));
                }
                t.silence_factor = f;
            }
            if let Some(g) = &r.silence_grace {
                t.silence_grace_ms = duration_ms(g).map_err(|w| (field("silence_grace"), w))?;
            }
            if let Some(n) = r.min_messages {
                if n < 2 {
                    return Err((field("min_messages"), "must be at least 2".into()));
                }
                t.min_messages = n;
            }
            if let Some(f) = r.rate_factor {
                if !(1.5..=1000.0).contains(&f) {
                    return Err((field("rate_factor"), "must be 1.5 to 1000".into()));
                }
                t.rate_factor = f;
            }
            if let Some(d) = &r.rate_for {
                t.rate_for_ms = duration_ms(d).map_err(|w| (field("rate_for"), w))?;
            }
            match r.sequence.as_deref().map(str::trim) {
                None => {}
                Some("none" | "") => {
                    t.sequence = SeqField::Off;
                    t.seq_paths.clear();
                }
                Some(path) => {
                    if path.starts_with('.') || path.ends_with('.') || path.contains("..") {
                        return Err((
                            field("sequence"),
                            format!("{path:?} is not a field path: write it like seq or hdr.n"),
                        ));
                    }
                    t.sequence = SeqField::Path(path.to_string());
                    t.seq_paths = vec![shape::path_hash(path)];
                }
            }
            t.mute = r.mute;
            for name in &r.ignore {
                let kind = AnomalyKind::from_name(name).ok_or_else(|| {
                    (
                        field("ignore"),
                        format!(
                            "{name:?} is not an anomaly kind: one of {}",
                            AnomalyKind::names()
                        ),
                    )
                })?;
                t.ignore.push(kind);
            }
            out.list.push(t);
        }
        out.list.push(Self::sys());
        Ok(out)
    }

    /// A rule added while running (muting a filter from the explorer), ahead of the others.
    pub fn mute_first(&mut self, filter: &str) {
        let t = Thresholds {
            filter: Some(filter.to_string()),
            mute: true,
            ..Thresholds::default()
        };
        self.list.insert(1, t);
    }

    /// The index of the entry for a topic.
    pub fn resolve(&self, topic: &str) -> u16 {
        self.list
            .iter()
            .enumerate()
            .skip(1)
            .find(|(_, t)| {
                t.filter
                    .as_deref()
                    .is_some_and(|f| crate::topic::matches(topic, f))
            })
            .map_or(0, |(i, _)| u16::try_from(i).unwrap_or(0))
    }

    pub fn get(&self, index: u16) -> &Thresholds {
        self.list.get(usize::from(index)).unwrap_or(&self.list[0])
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn first_matching_filter_wins_and_errors_name_the_field() {
        let rules = Rules::compile(
            &[
                WatchRule {
                    filter: "plant/温度/#".into(),
                    silence_factor: Some(10.0),
                    sequence: Some("hdr.n".into()),
                    ..WatchRule::default()
                },
                WatchRule {
                    filter: "plant/#".into(),
                    mute: true,
                    ..WatchRule::default()
                },
            ],
            "watch",
        )
        .unwrap();
        let t = rules.get(rules.resolve("plant/温度/a"));
        assert!((t.silence_factor - 10.0).abs() < f64::EPSILON);
        assert_eq!(t.sequence, SeqField::Path("hdr.n".into()));
        assert!(
            !rules
                .get(rules.resolve("plant/x"))
                .reports(AnomalyKind::Gap)
        );
        assert!(rules.get(rules.resolve("other")).reports(AnomalyKind::Gap));
        let sys = rules.get(rules.resolve("$SYS/broker/clients/total"));
        assert!(!sys.reports(AnomalyKind::Silent) && sys.reports(AnomalyKind::Gap));
        assert!(
            Rules::default()
                .get(Rules::default().resolve("$SYS/x"))
                .ignore
                .len()
                == 4
        );
        let bad = |r: WatchRule| Rules::compile(&[r], "watch").unwrap_err();
        let (key, why) = bad(WatchRule {
            filter: "a/#".into(),
            rate_for: Some("soon".into()),
            ..WatchRule::default()
        });
        assert_eq!(key, "watch[0].rate_for");
        assert!(why.contains("not a duration"), "{why}");
        let (key, why) = bad(WatchRule {
            filter: "a/#".into(),
            ignore: vec!["silence".into()],
            ..WatchRule::default()
        });
        assert_eq!(key, "watch[0].ignore");
        assert!(why.contains("silent, resumed"), "{why}");
        assert_eq!(
            bad(WatchRule {
                filter: "a/#/b".into(),
                ..WatchRule::default()
            })
            .0,
            "watch[0].filter"
        );
    }
}
