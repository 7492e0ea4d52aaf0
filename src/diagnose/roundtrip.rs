//! The subscribe and round-trip checks: SUBSCRIBE with the user's filters, then a message
//! published to a topic of our own under a wildcard and received back.

use std::time::Instant;

use serde_json::{Value, json};

use crate::broker::options::{Protocol, Subscription};
use crate::broker::{Cause, CauseKind, PacketType, codes, wire};

use super::link::{self, Link, ReadError};
use super::report::{Check, Doctor, Status, ms};

/// The round-trip topic for a filter: wildcards filled in with our own levels. `None` for a
/// filter without wildcards (publishing there would write into a real topic).
pub(super) fn test_topic(filter: &str, id: &str) -> Option<String> {
    if !filter.contains(['+', '#']) {
        return None;
    }
    let levels: Vec<String> = filter
        .split('/')
        .map(|l| match l {
            "+" => "mqscope-doctor".to_string(),
            "#" => format!("mqscope-doctor/{id}"),
            other => other.to_string(),
        })
        .collect();
    let topic = levels.join("/");
    (!topic.starts_with('$')).then_some(topic)
}

#[expect(
    clippy::too_many_lines,
    reason = "one check read top to bottom: send, wait, classify, record"
)]
pub(super) async fn subscribe_and_round_trip(
    doc: &mut Doctor,
    link: &mut Link,
    protocol: Protocol,
) -> Option<Cause> {
    // Long by design: the check's steps in order, each with its failure path.
    let timeout = doc.plan.opts.connect_timeout;
    let filters = if doc.plan.filters.is_empty() {
        vec!["#".to_string()]
    } else {
        doc.plan.filters.clone()
    };
    let subs: Vec<Subscription> = filters
        .iter()
        .map(|f| Subscription::new(f.clone(), 0))
        .collect();
    let started = Instant::now();
    if let Err(e) = link.send(&link::subscribe(protocol, &subs)).await {
        let cause = Cause::new(crate::broker::cause::classify_tcp_io(&e), e.to_string());
        doc.record(
            Check::Subscribe,
            Status::Fail,
            started,
            json!({ "error": e.to_string() }),
            vec![cause.to_string()],
        );
        return Some(cause);
    }
    // Retained messages may come before the SUBACK is seen; skip them.
    let codes = loop {
        match link.frame(timeout).await {
            Ok(frame) if frame.first().copied().map(PacketType::of) == Some(PacketType::Suback) => {
                let body = &frame[header_len(&frame)..];
                break crate::broker::packet::ack_codes(body, protocol == Protocol::V5);
            }
            Ok(_) => {}
            Err(e) => {
                let cause = match e {
                    ReadError::Timeout => Cause::new(CauseKind::NoConnack, "no SUBACK in time"),
                    _ => Cause::new(
                        CauseKind::PeerClosed,
                        "the broker closed the connection on SUBSCRIBE",
                    ),
                };
                doc.fail(Check::Subscribe, started, &cause);
                return Some(cause);
            }
        }
    };
    let results: Vec<Value> = filters
        .iter()
        .zip(codes.iter().chain(std::iter::repeat(&0x80)))
        .map(|(f, c)| json!({ "filter": f, "reason_code": c, "granted_qos": (*c <= 2).then_some(*c) }))
        .collect();
    let lines: Vec<String> = filters
        .iter()
        .zip(codes.iter().chain(std::iter::repeat(&0x80)))
        .map(|(f, c)| {
            if *c <= 2 {
                format!("{f} → granted QoS {c}")
            } else {
                format!("{f} → refused {c:#04x} {}", codes::reason_name(*c))
            }
        })
        .collect();
    let refused: Vec<&String> = filters
        .iter()
        .zip(codes.iter().chain(std::iter::repeat(&0x80)))
        .filter(|(_, c)| **c > 2)
        .map(|(f, _)| f)
        .collect();
    if !refused.is_empty() {
        doc.record(
            Check::Subscribe,
            Status::Fail,
            started,
            json!({ "filters": results }),
            lines,
        );
        let names = refused
            .iter()
            .map(|f| f.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        doc.hints.push(format!(
            "the broker refused {names}: try narrower filters (public brokers often deny '#')"
        ));
        doc.skip(Check::RoundTrip, "a subscription was refused");
        return Some(Cause::new(
            CauseKind::AclDenied,
            format!("subscription refused: {names}"),
        ));
    }
    let mut lines = lines;
    lines.push(
        "note: some brokers grant a subscription and then deliver nothing under an ACL".into(),
    );
    doc.record(
        Check::Subscribe,
        Status::Ok,
        started,
        json!({ "filters": results }),
        lines,
    );

    if !doc.plan.round_trip {
        doc.skip(Check::RoundTrip, "--no-publish");
        return None;
    }
    round_trip(doc, link, protocol, &filters[0]).await
}

/// Publishes to a test topic matching the first filter and waits to receive it back.
#[expect(
    clippy::too_many_lines,
    reason = "one check read top to bottom: send, wait, classify, record"
)]
pub(super) async fn round_trip(
    doc: &mut Doctor,
    link: &mut Link,
    protocol: Protocol,
    filter: &str,
) -> Option<Cause> {
    // Long by design: the check's steps in order, each with its failure path.
    let timeout = doc.plan.opts.connect_timeout;
    let id = crate::broker::options::random_client_id();
    let Some(topic) = test_topic(filter, &id) else {
        doc.skip(
            Check::RoundTrip,
            "the first filter has no wildcard: a test message would land in a real topic",
        );
        return None;
    };
    let payload = format!("mqscope doctor round trip {id}");
    let started = Instant::now();
    if link
        .send(&link::publish(protocol, &topic, payload.as_bytes()))
        .await
        .is_err()
    {
        let cause = Cause::new(
            CauseKind::PeerClosed,
            "the connection closed while publishing",
        );
        doc.record(
            Check::RoundTrip,
            Status::Fail,
            started,
            json!({ "topic": topic }),
            vec![cause.to_string()],
        );
        return Some(cause);
    }
    let mut puback = None;
    let mut echoed = None;
    let deadline = Instant::now() + timeout;
    while echoed.is_none() && Instant::now() < deadline {
        match link
            .frame(deadline.saturating_duration_since(Instant::now()))
            .await
        {
            Ok(frame) => match frame.first().copied().map(PacketType::of) {
                Some(PacketType::Puback) => {
                    let body = &frame[header_len(&frame)..];
                    puback = Some(if protocol == Protocol::V5 && body.len() >= 3 {
                        body[2]
                    } else {
                        0
                    });
                }
                Some(PacketType::Publish)
                    if frame
                        .windows(payload.len())
                        .any(|w| w == payload.as_bytes()) =>
                {
                    echoed = Some(started.elapsed());
                }
                _ => {}
            },
            Err(_) => break,
        }
    }
    let detail = json!({ "topic": topic, "puback_reason": puback, "latency_ms": echoed.map(|d| d.as_secs_f64() * 1000.0) });
    match (echoed, puback) {
        (Some(latency), _) => {
            doc.record(
                Check::RoundTrip,
                Status::Ok,
                started,
                detail,
                vec![format!(
                    "published to {topic} and received it back in {}",
                    ms(latency)
                )],
            );
            None
        }
        (None, Some(code)) if code >= 0x80 => {
            let cause = Cause::new(
                CauseKind::AclDenied,
                format!(
                    "PUBACK {code:#04x} {} for {topic}",
                    codes::reason_name(code)
                ),
            );
            doc.record(
                Check::RoundTrip,
                Status::Fail,
                started,
                detail,
                vec![cause.to_string()],
            );
            doc.hints.push("the broker refuses this client's publications (ACL): --no-publish skips the round trip".into());
            Some(cause)
        }
        (None, _) => {
            let cause = Cause::new(
                CauseKind::AclDenied,
                format!("published to {topic} but never received it back"),
            );
            doc.record(
                Check::RoundTrip,
                Status::Fail,
                started,
                detail,
                vec![cause.to_string()],
            );
            doc.hints.push(
                "an ACL may hide the topic from this client, or forbid publishing to it".into(),
            );
            Some(cause)
        }
    }
}

/// Where the body starts in a whole frame (all of it when the header is broken).
pub(super) fn header_len(frame: &[u8]) -> usize {
    match wire::fixed_header(frame) {
        Ok(Some((len, _))) => len.min(frame.len()),
        _ => frame.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::test_topic;

    #[test]
    fn round_trip_topics_fill_the_wildcards() {
        assert_eq!(test_topic("#", "x").as_deref(), Some("mqscope-doctor/x"));
        assert_eq!(
            test_topic("plant/+/temp", "x").as_deref(),
            Some("plant/mqscope-doctor/temp")
        );
        assert_eq!(
            test_topic("plant/#", "x").as_deref(),
            Some("plant/mqscope-doctor/x")
        );
        assert_eq!(test_topic("plant/line1", "x"), None);
        assert_eq!(test_topic("$SYS/#", "x"), None);
    }
}
