//! Events from the connection layer: messages into the store (and request pairing), the
//! connection's lifecycle into the timeline and the status bar, packet records into the log.

use super::{LinkState, Model, topics};
use crate::broker::{
    BrokerEvent, Lifecycle, LifecycleKind, Message, Protocol, PublishOutcome, SubscribeResult,
    codes,
};
use crate::store::{Inserted, ROOT};
use crate::tui::requests::Pending;

pub(super) fn published_text(topic: &str, outcome: &PublishOutcome) -> String {
    match outcome {
        PublishOutcome::Sent => {
            format!("published to {topic} (QoS 0: written, no acknowledgement)")
        }
        PublishOutcome::Acked { reason } if *reason < 0x80 => format!(
            "published to {topic}: acknowledged {reason:#04x} {}",
            codes::reason_name(*reason)
        ),
        PublishOutcome::Acked { reason } => format!(
            "publish to {topic} REFUSED: {reason:#04x} {}",
            codes::reason_name(*reason)
        ),
        PublishOutcome::Failed(why) => format!("publish to {topic} failed: {why}"),
    }
}

pub(super) fn on_cleaning(model: &mut Model, progress: crate::retained::Progress) {
    let Some((under, _)) = model.cleaning.take() else {
        return;
    };
    if !progress.finished() {
        model.cleaning = Some((under, progress));
        return;
    }
    let failed = match progress.failed.first() {
        None => String::new(),
        Some((topic, why)) => format!("; {} failed (first: {topic}: {why})", progress.failed.len()),
    };
    model.notify(format!(
        "cleared {} of {} retained messages under {under}{failed}",
        progress.cleared, progress.total
    ));
}

pub(super) fn on_event(model: &mut Model, event: BrokerEvent) {
    match event {
        BrokerEvent::Message(m) => on_message(model, &m),
        BrokerEvent::Lifecycle(l) => on_lifecycle(model, l),
        BrokerEvent::Dropped { messages, packets } => {
            model.dropped_by_app = messages;
            model.log.packets_dropped = packets;
        }
        BrokerEvent::Packet(record) => {
            model.timeline.health.observe(&record);
            model.log.push_packet(record);
        }
    }
}

fn on_message(model: &mut Model, m: &Message) {
    if m.received > model.now {
        model.now = m.received;
    }
    let structure = model.store.structure_generation;
    if let Inserted::Existing(id) | Inserted::NewTopic(id) = model.store.insert(m) {
        model.watch.observe(&model.store, id);
        let (decoders, births) = (&model.decoders, &model.sparkplug);
        model
            .alerts
            .observe_decoded(&model.store, id, &mut model.watch, |topic, payload| {
                let mut v = decoders.for_topic(topic)?.decode(payload).ok()?.to_json();
                births.annotate(topic, &mut v);
                Some(v)
            });
        if model.topics.filter.needs_value() {
            // A filter on values: this topic's match may have changed with its value.
            if model.topics.filter.recheck(&model.store, id) {
                topics::on_match_changed(model, id);
            }
        }
        if m.topic.starts_with("spBv1.0/") {
            sparkplug(model, m, id);
        }
        if !model.charts.pins.is_empty() {
            let at = crate::series::seconds(m.received);
            super::charts::on_message(model, id, &m.topic, &m.payload, at);
        }
    }
    if model.store.structure_generation != structure {
        topics::on_new_nodes(model);
    }
    if let Some(props) = &m.properties {
        track_request(model, m, props);
    }
}

/// Sparkplug births are learned as they arrive (their aliases name later data); a `seq` that
/// skips is a gap in the anomaly list.
fn sparkplug(model: &mut Model, m: &Message, id: crate::store::NodeId) {
    if !model
        .decoders
        .for_topic(&m.topic)
        .is_some_and(|d| d.is_sparkplug())
    {
        return;
    }
    if let Some(gap) = model.sparkplug.observe(&m.topic, &m.payload, m.received) {
        let missing = (gap.got + 256 - gap.expected) % 256;
        let data = crate::watch::Data::Gap {
            from: i64::try_from(gap.expected).unwrap_or(0),
            to: i64::try_from((gap.got + 255) % 256).unwrap_or(0),
            missing: i64::try_from(missing).unwrap_or(0),
        };
        let message = model.store.node(id).history().back().cloned();
        model.watch.report(
            &model.store,
            id,
            crate::watch::AnomalyKind::Gap,
            message.as_ref(),
            data,
        );
    }
}

fn on_lifecycle(model: &mut Model, l: Lifecycle) {
    model.timeline.apply(&l);
    model.watch.lifecycle(&l);
    if matches!(l.kind, LifecycleKind::Connected(_)) {
        model.sparkplug.link_lost();
    }
    model.link = match l.kind {
        LifecycleKind::Connecting { .. } => LinkState::Connecting { attempt: l.attempt },
        LifecycleKind::Connected(info) => LinkState::Connected {
            since: l.at,
            protocol: info.protocol.unwrap_or(Protocol::V5),
        },
        LifecycleKind::Disconnected { cause, .. } => LinkState::Retrying { at: l.at, cause },
        LifecycleKind::Stage {
            result: Err(cause), ..
        } => LinkState::Retrying { at: l.at, cause },
        LifecycleKind::Backoff { delay } => match &model.link {
            LinkState::Retrying { cause, .. } => LinkState::Retrying {
                at: l.at + delay,
                cause: cause.clone(),
            },
            other => other.clone(),
        },
        LifecycleKind::GaveUp { cause, .. } => LinkState::Failed { cause },
        LifecycleKind::Idle => LinkState::Idle,
        LifecycleKind::Subscribed(results) => return on_subscribed(model, &results),
        LifecycleKind::Unsubscribed(result) => return on_unsubscribed(model, &result),
        _ => return,
    };
}

fn on_subscribed(model: &mut Model, results: &[SubscribeResult]) {
    model.subscriptions.acked(results);
    let refused: Vec<String> = results
        .iter()
        .filter_map(SubscribeResult::refusal)
        .collect();
    if refused.is_empty() {
        let granted: Vec<String> = results
            .iter()
            .map(|r| format!("{} (QoS {})", r.filter, r.code))
            .collect();
        model.notify(format!("subscribed to {}", granted.join(", ")));
    } else {
        let hint = narrower_filters(model);
        model.notify(format!(
            "the broker refused the subscription {}: it may deny wide filters; try a narrower \
             one{hint}",
            refused.join(", ")
        ));
    }
}

fn on_unsubscribed(model: &mut Model, result: &SubscribeResult) {
    model.subscriptions.unacked(result);
    if result.code < 0x80 {
        model.notify(format!("unsubscribed from {}", result.filter));
    } else {
        model.notify(format!(
            "the broker refused to unsubscribe {}: {:#04x} {}",
            result.filter,
            result.code,
            codes::reason_name(result.code)
        ));
    }
}

/// Links MQTT 5 requests (response topic + correlation data) to their replies.
fn track_request(
    model: &mut Model,
    m: &crate::broker::Message,
    props: &crate::broker::MessageProperties,
) {
    let Some(corr) = &props.correlation_data else {
        return;
    };
    let seq = model
        .store
        .find(&m.topic)
        .and_then(|id| model.store.node(id).history().back().map(|s| s.seq));
    if let Some(rt) = &props.response_topic {
        model.requests.request(
            rt,
            corr,
            Pending {
                topic: m.topic.clone(),
                seq,
                at: m.received,
                ours: false,
            },
        );
        return;
    }
    let Some(seq) = seq else { return };
    if let Some(matched) = model.requests.reply(&m.topic, corr, seq, m.received) {
        if matched.ours {
            model.notify(format!(
                "reply on {} after {} ms (request to {})",
                m.topic,
                matched.latency.as_millis(),
                matched.request_topic
            ));
        }
    }
}

/// `: e.g. a/#, b/#` from the first levels seen so far, or nothing.
fn narrower_filters(model: &Model) -> String {
    let first: Vec<String> = model
        .store
        .node(ROOT)
        .children()
        .iter()
        .take(3)
        .map(|id| format!("{}/#", model.store.node(*id).path()))
        .collect();
    if first.is_empty() {
        " (s opens the subscriptions)".into()
    } else {
        format!(", e.g. {} (s opens the subscriptions)", first.join(", "))
    }
}
