//! The broker's own statistics, read from the `$SYS` topics in the store: the common layouts
//! (mosquitto's `$SYS/broker/...`, which other brokers copy, EMQX's `$SYS/brokers/NODE/...`,
//! VerneMQ's `$SYS/NODE/metric_name`)
//! turned into one summary: clients, messages and bytes per second in and out, subscriptions,
//! retained messages, uptime and version. Rates come from the cumulative counters' kept
//! history (the difference of consecutive values over their time apart), so they need no
//! clock of their own; each has a series for a sparkline.

use std::time::SystemTime;

use crate::store::{NodeId, TopicStore};

/// What a `$SYS` topic reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Version,
    Uptime,
    Clients,
    Subscriptions,
    Retained,
    /// Cumulative counters: shown as rates.
    MessagesIn,
    MessagesOut,
    BytesIn,
    BytesOut,
}

/// Topic layouts, `+` standing for a node name. The first that matches wins.
const LAYOUTS: &[(&str, Metric)] = &[
    ("$SYS/broker/version", Metric::Version),
    ("$SYS/broker/uptime", Metric::Uptime),
    ("$SYS/broker/clients/connected", Metric::Clients),
    ("$SYS/broker/clients/active", Metric::Clients),
    ("$SYS/broker/subscriptions/count", Metric::Subscriptions),
    ("$SYS/broker/retained messages/count", Metric::Retained),
    ("$SYS/broker/messages/received", Metric::MessagesIn),
    ("$SYS/broker/messages/sent", Metric::MessagesOut),
    ("$SYS/broker/bytes/received", Metric::BytesIn),
    ("$SYS/broker/bytes/sent", Metric::BytesOut),
    ("$SYS/brokers/+/version", Metric::Version),
    ("$SYS/brokers/+/uptime", Metric::Uptime),
    ("$SYS/brokers/+/stats/connections/count", Metric::Clients),
    (
        "$SYS/brokers/+/stats/subscriptions/count",
        Metric::Subscriptions,
    ),
    ("$SYS/brokers/+/stats/retained/count", Metric::Retained),
    (
        "$SYS/brokers/+/metrics/messages/received",
        Metric::MessagesIn,
    ),
    ("$SYS/brokers/+/metrics/messages/sent", Metric::MessagesOut),
    ("$SYS/brokers/+/metrics/bytes/received", Metric::BytesIn),
    ("$SYS/brokers/+/metrics/bytes/sent", Metric::BytesOut),
    // VerneMQ: `$SYS/NODE/METRIC`, its metric names.
    ("$SYS/+/active_mqtt_connections", Metric::Clients),
    ("$SYS/+/router_subscriptions", Metric::Subscriptions),
    ("$SYS/+/retain_messages", Metric::Retained),
    ("$SYS/+/mqtt_publish_received", Metric::MessagesIn),
    ("$SYS/+/mqtt_publish_sent", Metric::MessagesOut),
    ("$SYS/+/bytes_received", Metric::BytesIn),
    ("$SYS/+/bytes_sent", Metric::BytesOut),
];

/// Samples of a sparkline at most.
const SPARK: usize = 30;

/// One metric as the pane shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    Count(u64),
    /// Per second, with the rates between consecutive samples (oldest first).
    Rate(f64, Vec<u64>),
}

/// The summary of what the broker publishes about itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// `(metric, topic, value)`, in `LAYOUTS`' order of metrics.
    pub rows: Vec<(Metric, String, Value)>,
    /// Topics under `$SYS` in the store.
    pub topics: u32,
}

/// Reads the summary from the store's `$SYS` subtree (`None`: nothing under `$SYS`).
pub fn summary(store: &TopicStore) -> Option<Summary> {
    let root = store.find("$SYS")?;
    let mut found: Vec<(Metric, NodeId)> = Vec::new();
    walk(store, root, &mut found);
    let mut rows: Vec<(Metric, String, Value)> = Vec::new();
    for (metric, id) in found {
        if rows.iter().any(|(m, _, _)| *m == metric) {
            continue;
        }
        if let Some(v) = value(store, id, metric) {
            rows.push((metric, store.node(id).path().to_string(), v));
        }
    }
    rows.sort_by_key(|(m, _, _)| *m as u8);
    Some(Summary {
        rows,
        topics: store.node(root).topics,
    })
}

fn walk(store: &TopicStore, id: NodeId, out: &mut Vec<(Metric, NodeId)>) {
    let node = store.node(id);
    if !node.history().is_empty() {
        if let Some((_, m)) = LAYOUTS
            .iter()
            .find(|(pattern, _)| crate::topic::matches(node.path(), pattern))
        {
            out.push((*m, id));
        }
    }
    for child in node.children() {
        walk(store, *child, out);
    }
}

fn number(payload: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(payload).ok()?.trim();
    // mosquitto's uptime: "1234 seconds".
    let first = text.split_whitespace().next()?;
    first.parse::<f64>().ok().filter(|x| x.is_finite())
}

fn value(store: &TopicStore, id: NodeId, metric: Metric) -> Option<Value> {
    let history = store.node(id).history();
    let last = history.back()?;
    match metric {
        Metric::Version | Metric::Uptime => {
            let text = crate::sanitize::line(&last.payload).into_owned();
            Some(Value::Text(match (metric, number(&last.payload)) {
                (Metric::Uptime, Some(secs)) if text.ends_with("seconds") => {
                    #[expect(
                        clippy::cast_possible_truncation,
                        clippy::cast_sign_loss,
                        reason = "seconds"
                    )]
                    let s = secs as u64;
                    uptime(s)
                }
                _ => text,
            }))
        }
        Metric::Clients | Metric::Subscriptions | Metric::Retained => {
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "a count"
            )]
            let n = number(&last.payload)?.max(0.0) as u64;
            Some(Value::Count(n))
        }
        Metric::MessagesIn | Metric::MessagesOut | Metric::BytesIn | Metric::BytesOut => {
            let samples: Vec<(SystemTime, f64)> = history
                .iter()
                .filter_map(|m| Some((m.received, number(&m.payload)?)))
                .collect();
            let rates: Vec<f64> = samples
                .windows(2)
                .filter_map(|w| {
                    let dt = w[1].0.duration_since(w[0].0).ok()?.as_secs_f64();
                    // A counter that went back: the broker restarted.
                    (dt > 0.0 && w[1].1 >= w[0].1).then(|| (w[1].1 - w[0].1) / dt)
                })
                .collect();
            let now = *rates.last()?;
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "a rate"
            )]
            let spark = rates
                .iter()
                .rev()
                .take(SPARK)
                .rev()
                .map(|r| r.max(0.0).round() as u64)
                .collect();
            Some(Value::Rate(now, spark))
        }
    }
}

fn uptime(s: u64) -> String {
    match s {
        0..120 => format!("{s} s"),
        120..7200 => format!("{} min", s / 60),
        7200..172_800 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

impl Metric {
    pub fn label(self) -> &'static str {
        match self {
            Metric::Version => "version",
            Metric::Uptime => "uptime",
            Metric::Clients => "clients",
            Metric::Subscriptions => "subscriptions",
            Metric::Retained => "retained",
            Metric::MessagesIn => "messages in",
            Metric::MessagesOut => "messages out",
            Metric::BytesIn => "bytes in",
            Metric::BytesOut => "bytes out",
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::float_cmp)]
    use std::time::Duration;

    use super::*;
    use crate::broker::Message;

    fn put(store: &mut TopicStore, topic: &str, payload: &str, secs: u64) {
        store.insert(&Message {
            topic: topic.into(),
            payload: payload.as_bytes().to_vec().into(),
            qos: 0,
            retain: false,
            dup: false,
            properties: None,
            received: SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs),
            wire_size: 10,
        });
    }

    #[test]
    #[expect(
        clippy::many_single_char_names,
        reason = "one store per layout, side by side"
    )]
    fn mosquitto_and_emqx_layouts_read_the_same() {
        let mut m = TopicStore::new(crate::store::Limits::default());
        put(&mut m, "$SYS/broker/version", "mosquitto \u{1b}[2J", 0);
        put(&mut m, "$SYS/broker/version", "mosquitto version 2.0.11", 0);
        put(&mut m, "$SYS/broker/uptime", "7325 seconds", 0);
        put(&mut m, "$SYS/broker/clients/connected", "12", 0);
        put(&mut m, "$SYS/broker/messages/received", "1000", 0);
        put(&mut m, "$SYS/broker/messages/received", "1600", 10);
        put(&mut m, "$SYS/broker/messages/received", "4600", 20);
        put(&mut m, "温度/x", "1", 0);
        let s = summary(&m).unwrap();
        let get = |metric| s.rows.iter().find(|r| r.0 == metric).map(|r| r.2.clone());
        assert_eq!(
            get(Metric::Version),
            Some(Value::Text("mosquitto version 2.0.11".into()))
        );
        assert_eq!(get(Metric::Uptime), Some(Value::Text("2 h 2 min".into())));
        assert_eq!(get(Metric::Clients), Some(Value::Count(12)));
        assert_eq!(
            get(Metric::MessagesIn),
            Some(Value::Rate(300.0, vec![60, 300]))
        );
        assert_eq!(s.rows[0].0, Metric::Version, "in the table's order");

        let mut e = TopicStore::new(crate::store::Limits::default());
        put(&mut e, "$SYS/brokers/emqx@127.0.0.1/version", "5.3.0", 0);
        put(
            &mut e,
            "$SYS/brokers/emqx@127.0.0.1/stats/connections/count",
            "3",
            0,
        );
        let s = summary(&e).unwrap();
        assert_eq!(s.rows.len(), 2);
        assert_eq!(s.rows[1].2, Value::Count(3));
        let mut v = TopicStore::new(crate::store::Limits::default());
        put(
            &mut v,
            "$SYS/VerneMQ@127.0.0.1/active_mqtt_connections",
            "4",
            0,
        );
        put(&mut v, "$SYS/VerneMQ@127.0.0.1/bytes_sent", "100", 0);
        put(&mut v, "$SYS/VerneMQ@127.0.0.1/bytes_sent", "300", 2);
        let s = summary(&v).unwrap();
        assert_eq!(s.rows[0].2, Value::Count(4));
        assert_eq!(s.rows[1].2, Value::Rate(100.0, vec![100]));
        // A restart (the counter going back) gives no negative rate; garbage gives no row.
        let mut r = TopicStore::new(crate::store::Limits::default());
        put(&mut r, "$SYS/broker/bytes/sent", "5000", 0);
        put(&mut r, "$SYS/broker/bytes/sent", "100", 10);
        put(&mut r, "$SYS/broker/clients/connected", "\u{1b}[2J", 0);
        assert!(summary(&r).unwrap().rows.is_empty());
        // Text a broker sends reaches the screen escaped.
        let mut x = TopicStore::new(crate::store::Limits::default());
        put(&mut x, "$SYS/broker/version", "evil \u{1b}]0;t\u{7} 1.0", 0);
        let text = format!("{:?}", summary(&x).unwrap().rows[0].2);
        assert!(
            !text.contains('\u{1b}') && text.contains("\\\\x1b"),
            "{text}"
        );
        assert!(summary(&TopicStore::new(crate::store::Limits::default())).is_none());
    }
}
