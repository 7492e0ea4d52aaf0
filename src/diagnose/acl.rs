//! The permission map (`doctor --acl FILE`, `--acl-topic`): for each topic or filter the user
//! lists, on a connection of its own (so one entry's subscription cannot deliver another's
//! message, and a broker that closes on a denied request does not end the map): SUBSCRIBE at
//! QoS 1 (granted QoS or the refusal code, or the connection closed), then, for a topic
//! without wildcards, a non-retained QoS 1 PUBLISH of a marked test message (the PUBACK's
//! reason on MQTT 5) and whether that message came back, since brokers can grant a
//! subscription and then filter what it delivers. Nothing is published under a filter, and
//! nothing retained: the map leaves no message behind.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::broker::options::{Protocol, Subscription};
use crate::broker::{BrokerOptions, PacketType, codes, stages};

use super::link::{self, Link, ReadError};
use super::mqtt::connect_once;
use super::roundtrip::header_len;
use super::transport::tls_config;

/// How long a test message may take to come back.
const DELIVERY_WAIT: Duration = Duration::from_secs(1);

/// What the broker did with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// SUBACK granted this QoS; PUBACK accepted with this reason (0 on 3.1.1).
    Ok(u8),
    /// SUBACK or PUBACK refused with this code.
    Refused(u8),
    /// The broker closed the connection instead of answering.
    Closed,
    /// No answer in time.
    Silent,
    /// Not tried (a filter is not published to; nothing after a failed connect).
    Skipped,
}

/// One line of the map.
#[derive(Debug, Clone)]
pub struct Row {
    pub entry: String,
    pub subscribe: Answer,
    pub publish: Answer,
    /// Whether the test message came back (`None`: not published).
    pub delivered: Option<bool>,
}

/// Reads an ACL file: one topic or filter per line; blank lines and `#` comments skipped.
pub fn read_list(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with("# ") {
            continue;
        }
        crate::topic::parse_filter(line).map_err(|e| format!("line {}: {line}: {e}", i + 1))?;
        out.push(line.to_string());
    }
    Ok(out)
}

/// Tries every entry; the protocol is the one the main checks connected with.
pub async fn map(opts: &BrokerOptions, protocol: Protocol, entries: &[String]) -> Vec<Row> {
    let mut rows = Vec::new();
    for entry in entries {
        rows.push(one(opts, protocol, entry).await);
    }
    rows
}

async fn connect(opts: &BrokerOptions, protocol: Protocol) -> Option<Link> {
    let tls = if opts.target.scheme.uses_tls() {
        Some(tls_config(&opts.tls).ok()?)
    } else {
        None
    };
    let upstream = stages::establish(opts, tls.as_ref(), &mut |_| {})
        .await
        .ok()?;
    let mut link = Link::new(upstream);
    let info = connect_once(&mut link, opts, protocol, opts.connect_timeout)
        .await
        .ok()?;
    info.accepted().then_some(link)
}

async fn one(opts: &BrokerOptions, protocol: Protocol, entry: &str) -> Row {
    let wildcard = entry.contains(['+', '#']);
    let mut row = Row {
        entry: entry.to_string(),
        subscribe: Answer::Skipped,
        publish: Answer::Skipped,
        delivered: None,
    };
    let Some(mut link) = connect(opts, protocol).await else {
        row.subscribe = Answer::Closed;
        return row;
    };
    let timeout = opts.connect_timeout;
    let v5 = protocol == Protocol::V5;
    let sub = [Subscription::new(entry, 1)];
    row.subscribe = match link.send(&link::subscribe(protocol, &sub)).await {
        Err(_) => Answer::Closed,
        Ok(()) => {
            wait_for(&mut link, PacketType::Suback, timeout, |body| {
                let code = crate::broker::packet::ack_codes(body, v5)
                    .first()
                    .copied()
                    .unwrap_or(0x80);
                if code <= 2 {
                    Answer::Ok(code)
                } else {
                    Answer::Refused(code)
                }
            })
            .await
        }
    };
    if wildcard || matches!(row.subscribe, Answer::Closed | Answer::Silent) {
        let _ = link.send(&link::DISCONNECT).await;
        return row;
    }
    let marker = format!(
        "mqscope doctor acl {}",
        crate::broker::options::random_client_id()
    );
    if link
        .send(&link::publish(protocol, entry, marker.as_bytes()))
        .await
        .is_err()
    {
        row.publish = Answer::Closed;
        return row;
    }
    // PUBACK and (when subscribed) the message itself, in either order.
    let subscribed = matches!(row.subscribe, Answer::Ok(_));
    let deadline = Instant::now() + timeout.max(DELIVERY_WAIT);
    let mut delivered = false;
    let mut publish = Answer::Silent;
    while Instant::now() < deadline && (publish == Answer::Silent || (subscribed && !delivered)) {
        let left = deadline.saturating_duration_since(Instant::now());
        let left = if publish == Answer::Silent {
            left
        } else {
            left.min(DELIVERY_WAIT)
        };
        match link.frame(left).await {
            Ok(frame) => match frame.first().copied().map(PacketType::of) {
                Some(PacketType::Puback) => {
                    let body = &frame[header_len(&frame)..];
                    let code = if v5 && body.len() >= 3 { body[2] } else { 0 };
                    publish = if code < 0x80 {
                        Answer::Ok(code)
                    } else {
                        Answer::Refused(code)
                    };
                }
                Some(PacketType::Publish)
                    if frame.windows(marker.len()).any(|w| w == marker.as_bytes()) =>
                {
                    delivered = true;
                    ack(&mut link, &frame).await;
                }
                Some(PacketType::Publish) => ack(&mut link, &frame).await,
                _ => {}
            },
            Err(ReadError::Timeout) => break,
            Err(_) => {
                if publish == Answer::Silent {
                    publish = Answer::Closed;
                }
                break;
            }
        }
    }
    row.publish = publish;
    row.delivered = Some(delivered);
    let _ = link.send(&link::DISCONNECT).await;
    row
}

/// Acknowledges a QoS 1 PUBLISH (a retained message of the entry), so the broker stops
/// resending it.
async fn ack(link: &mut Link, frame: &[u8]) {
    if frame.first().is_some_and(|b| (b >> 1) & 0b11 == 1) {
        let body = &frame[header_len(frame)..];
        if body.len() >= 2 {
            let topic_len = usize::from(u16::from_be_bytes([body[0], body[1]]));
            if let Some(id) = body.get(2 + topic_len..4 + topic_len) {
                let _ = link.send(&[0x40, 0x02, id[0], id[1]]).await;
            }
        }
    }
}

/// What `read` makes of the next packet of `kind`; `Closed` or `Silent` without one.
async fn wait_for(
    link: &mut Link,
    kind: PacketType,
    timeout: Duration,
    read: impl Fn(&[u8]) -> Answer,
) -> Answer {
    match link.until(kind, timeout).await {
        Ok(body) => read(&body),
        Err(ReadError::Timeout) => Answer::Silent,
        Err(_) => Answer::Closed,
    }
}

fn answer_text(a: Answer, what: &str) -> String {
    match a {
        Answer::Ok(code) if what == "subscribe" => format!("granted QoS {code}"),
        Answer::Ok(0) => "accepted".into(),
        Answer::Ok(code) => format!("accepted {code:#04x} {}", codes::reason_name(code)),
        Answer::Refused(code) => format!("refused {code:#04x} {}", codes::reason_name(code)),
        Answer::Closed => "connection closed".into(),
        Answer::Silent => "no answer".into(),
        Answer::Skipped => "—".into(),
    }
}

fn answer_json(a: Answer) -> Value {
    match a {
        Answer::Ok(code) => json!({ "result": "ok", "code": code }),
        Answer::Refused(code) => {
            json!({ "result": "refused", "code": code, "reason": codes::reason_name(code) })
        }
        Answer::Closed => json!({ "result": "closed" }),
        Answer::Silent => json!({ "result": "no_answer" }),
        Answer::Skipped => Value::Null,
    }
}

/// The map as table lines: entry, subscribe, publish, delivered.
pub fn lines(rows: &[Row]) -> Vec<String> {
    let width = rows
        .iter()
        .map(|r| crate::width::of(&crate::sanitize::line(r.entry.as_bytes())))
        .max()
        .unwrap_or(5)
        .clamp(5, 40);
    let pad = |t: &str, w: usize| {
        let t = crate::width::fit(t, w);
        let used = crate::width::of(&t);
        format!("{t}{}", " ".repeat(w.saturating_sub(used)))
    };
    let mut out = vec![format!(
        "{}  {}  {}  delivered",
        pad("topic", width),
        pad("subscribe", 22),
        pad("publish", 30)
    )];
    for r in rows {
        let publish = if r.entry.contains(['+', '#']) {
            "— (a filter)".to_string()
        } else {
            answer_text(r.publish, "publish")
        };
        let delivered = match (r.delivered, r.publish) {
            (Some(true), _) => "yes",
            (Some(false), Answer::Refused(_) | Answer::Closed | Answer::Silent) => {
                "no (not published)"
            }
            (Some(false), _) if matches!(r.subscribe, Answer::Ok(_)) => {
                "no (granted, then filtered)"
            }
            (Some(false), _) => "no",
            (None, _) => "—",
        };
        out.push(format!(
            "{}  {}  {}  {delivered}",
            pad(&crate::sanitize::line(r.entry.as_bytes()), width),
            pad(&answer_text(r.subscribe, "subscribe"), 22),
            pad(&publish, 30),
        ));
    }
    out
}

pub fn to_json(rows: &[Row]) -> Value {
    Value::Array(
        rows.iter()
            .map(|r| {
                json!({
                    "topic": r.entry,
                    "subscribe": answer_json(r.subscribe),
                    "publish": answer_json(r.publish),
                    "delivered": r.delivered,
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn lists_skip_comments_and_name_the_bad_line() {
        let list = read_list("# plant\nplant/+/temp\n\n温度/x\n").unwrap();
        assert_eq!(list, ["plant/+/temp", "温度/x"]);
        let e = read_list("ok/x\na/#/b\n").unwrap_err();
        assert!(e.starts_with("line 2: a/#/b"), "{e}");
    }

    #[test]
    fn the_table_lines_up_and_escapes() {
        let rows = [
            Row {
                entry: "温度/\u{1b}[2J".into(),
                subscribe: Answer::Ok(1),
                publish: Answer::Refused(0x87),
                delivered: Some(false),
            },
            Row {
                entry: "plant/#".into(),
                subscribe: Answer::Refused(0x80),
                publish: Answer::Skipped,
                delivered: None,
            },
        ];
        let l = lines(&rows);
        assert!(l[1].starts_with("温度/\\x1b[2J"), "{l:?}");
        assert!(l[1].contains("granted QoS 1") && l[1].contains("refused 0x87 not authorized"));
        assert!(l[1].ends_with("no (not published)"), "{l:?}");
        assert!(
            l[2].contains("— (a filter)") && l[2].ends_with("—"),
            "{l:?}"
        );
        assert_eq!(to_json(&rows)[0]["publish"]["code"], 0x87);
    }
}
