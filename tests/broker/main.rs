//! The connection layer against real brokers (mosquitto per test), fakes and the fault proxy.

#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

#[path = "../support/mod.rs"]
mod support;

mod causes;
mod doctor;
mod hostile;
mod reconnect;
mod roundtrip;
mod secrets;
mod tls;
mod tunnels;

use std::time::Duration;

use mqscope::broker::backoff::BackoffPolicy;
use mqscope::broker::{
    BrokerEvent, BrokerHandle, BrokerOptions, Cause, LifecycleKind, Message, MqttVersion,
    Subscription, Target,
};

/// Options for a test connection: short timeouts, fast but growing backoff.
pub fn options(url: &str, version: MqttVersion) -> BrokerOptions {
    let target: Target = url.parse().unwrap();
    let mut opts = BrokerOptions::new(target, mqscope::broker::options::random_client_id());
    opts.version = version;
    opts.connect_timeout = Duration::from_secs(2);
    opts.keep_alive = Duration::from_secs(5);
    opts.backoff = BackoffPolicy {
        first: Duration::from_millis(100),
        ..BackoffPolicy::default()
    };
    opts
}

pub fn subscribing(mut opts: BrokerOptions, filter: &str, qos: u8) -> BrokerOptions {
    opts.subscriptions = vec![Subscription::new(filter, qos)];
    opts
}

/// Collects events until `done` says so; panics with what was seen on timeout.
pub async fn until(
    handle: &mut BrokerHandle,
    secs: u64,
    mut done: impl FnMut(&BrokerEvent) -> bool,
) -> Vec<BrokerEvent> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        match tokio::time::timeout_at(deadline, handle.events.recv()).await {
            Ok(Some(event)) => {
                let stop = done(&event);
                seen.push(event);
                if stop {
                    return seen;
                }
            }
            Ok(None) => panic!("event stream ended; saw {seen:#?}"),
            Err(tokio::time::error::Elapsed { .. }) => {
                panic!("timed out after {secs} s; saw {seen:#?}")
            }
        }
    }
}

pub fn is_connected(e: &BrokerEvent) -> bool {
    matches!(e, BrokerEvent::Lifecycle(l) if matches!(l.kind, LifecycleKind::Connected(_)))
}

pub fn is_subscribed(e: &BrokerEvent) -> bool {
    matches!(e, BrokerEvent::Lifecycle(l) if matches!(l.kind, LifecycleKind::Subscribed(_)))
}

/// Starts a handle and waits until it is connected (and subscribed, if it subscribes).
pub async fn connected(opts: BrokerOptions) -> BrokerHandle {
    let subscribes = !opts.subscriptions.is_empty();
    let mut handle = BrokerHandle::spawn(opts).unwrap();
    until(
        &mut handle,
        10,
        if subscribes {
            is_subscribed
        } else {
            is_connected
        },
    )
    .await;
    handle
}

/// The next `n` messages.
pub async fn messages(handle: &mut BrokerHandle, n: usize) -> Vec<Message> {
    let mut out = Vec::new();
    until(handle, 20, |e| {
        if let BrokerEvent::Message(m) = e {
            out.push(m.clone());
        }
        out.len() >= n
    })
    .await;
    out
}

/// The cause of the first failed stage or dropped link of a single attempt.
pub async fn first_failure(mut opts: BrokerOptions) -> Cause {
    opts.max_attempts = Some(1);
    let mut handle = BrokerHandle::spawn(opts).unwrap();
    let events = until(&mut handle, 20, |e| {
        matches!(e, BrokerEvent::Lifecycle(l) if matches!(l.kind, LifecycleKind::GaveUp { .. }))
    })
    .await;
    match events.last() {
        Some(BrokerEvent::Lifecycle(l)) => match &l.kind {
            LifecycleKind::GaveUp { cause, .. } => cause.clone(),
            _ => unreachable!(),
        },
        _ => unreachable!(),
    }
}
