//! What the broker supports for this client (`doctor --capabilities`): each row measured on
//! connections of its own, or read from what the broker announced in its MQTT 5 CONNACK, and
//! saying which. Probes publish only under `mqscope-doctor/ID/…` and clear the retained
//! message they set; the session they create is ended with a clean start and no expiry.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::broker::options::{Protocol, Subscription};
use crate::broker::{BrokerOptions, ConnackInfo, PacketType, codes, stages};

use super::link::{self, Link, ReadError};
use super::mqtt::connect_once;
use super::transport::tls_config;

/// How long a probe waits for a message that may never come.
const WAIT: Duration = Duration::from_secs(1);

/// One row: what, the finding, how it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capability {
    pub name: &'static str,
    pub value: String,
    pub how: &'static str,
}

fn row(name: &'static str, value: impl Into<String>, how: &'static str) -> Capability {
    Capability {
        name,
        value: value.into(),
        how,
    }
}

async fn open(opts: &BrokerOptions, protocol: Protocol) -> Result<(Link, ConnackInfo), String> {
    let tls = if opts.target.scheme.uses_tls() {
        Some(tls_config(&opts.tls).map_err(|c| c.to_string())?)
    } else {
        None
    };
    let upstream = stages::establish(opts, tls.as_ref(), &mut |_| {})
        .await
        .map_err(|c| c.to_string())?;
    let mut link = Link::new(upstream);
    let wait = opts
        .connect_timeout
        .min(crate::broker::options::V5_ANSWER_WAIT);
    let info = connect_once(&mut link, opts, protocol, wait)
        .await
        .map_err(|c| format!("{} ({})", c.code(), c.detail))?;
    if info.accepted() {
        Ok((link, info))
    } else {
        Err(format!("CONNACK {:#04x} {}", info.code, info.code_name()))
    }
}

/// Sends a request; the body of the answer of `kind` (other packets skipped).
async fn ask(
    link: &mut Link,
    bytes: &[u8],
    kind: PacketType,
    timeout: Duration,
) -> Option<Vec<u8>> {
    link.send(bytes).await.ok()?;
    link.until(kind, timeout).await.ok().map(|b| b.to_vec())
}

/// Whether a PUBLISH carrying `marker` arrives within `timeout`.
async fn receives(link: &mut Link, marker: &[u8], timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        match link
            .frame(deadline.saturating_duration_since(Instant::now()))
            .await
        {
            Ok(f) if f.first().copied().map(PacketType::of) == Some(PacketType::Publish) => {
                if f.windows(marker.len()).any(|w| w == marker) {
                    return true;
                }
            }
            Ok(_) => {}
            Err(ReadError::Timeout | ReadError::Closed | ReadError::Io(_)) => return false,
        }
    }
}

async fn granted(link: &mut Link, protocol: Protocol, sub: Subscription) -> Result<u8, String> {
    let body = ask(
        link,
        &link::subscribe(protocol, &[sub]),
        PacketType::Suback,
        Duration::from_secs(5),
    )
    .await
    .ok_or("no SUBACK (the connection closed)")?;
    let code = crate::broker::packet::ack_codes(&body, protocol == Protocol::V5)
        .first()
        .copied()
        .unwrap_or(0x80);
    if code <= 2 {
        Ok(code)
    } else {
        Err(format!("refused {code:#04x} {}", codes::reason_name(code)))
    }
}

/// Measures and tabulates; `opts` as the doctor connected.
pub async fn probe(opts: &BrokerOptions) -> Vec<Capability> {
    let mut out = Vec::new();
    let id = crate::broker::options::random_client_id();
    let base = format!("mqscope-doctor/{id}");
    let mut anon = opts.clone();
    anon.client_id.clone_from(&id);
    anon.clean_start = true;
    anon.session_expiry = None;

    // The 3.1.1 probe under an id of its own: the same id would take the MQTT 5 link over.
    let mut other = anon.clone();
    other.client_id = crate::broker::options::random_client_id();
    let v311 = open(&other, Protocol::V311).await;
    let v5 = open(&anon, Protocol::V5).await;
    let yes_no = |r: &Result<(Link, ConnackInfo), String>| match r {
        Ok(_) => "supported".to_string(),
        Err(e) => format!("not: {e}"),
    };
    out.push(row("MQTT 5", yes_no(&v5), "connected"));
    out.push(row("MQTT 3.1.1", yes_no(&v311), "connected"));
    if let Ok((mut l, _)) = v311 {
        let _ = l.send(&link::DISCONNECT).await;
    }
    let Ok((mut link, info)) = v5 else {
        out.push(row("the rest", "not measured: the table needs MQTT 5", "-"));
        return out;
    };
    announced(&mut out, &info, opts);

    // Wildcards and shared subscriptions, for real.
    let sub = |f: String| Subscription::new(f, 1);
    let wild = granted(&mut link, Protocol::V5, sub(format!("{base}/+/w"))).await;
    out.push(row(
        "wildcard subscriptions",
        wild.map_or_else(
            |e| format!("not: {e}"),
            |q| format!("supported (granted QoS {q})"),
        ),
        "subscribed",
    ));
    let shared = granted(
        &mut link,
        Protocol::V5,
        sub(format!("$share/mqscope/{base}/s")),
    )
    .await;
    out.push(row(
        "shared subscriptions",
        shared.map_or_else(
            |e| format!("not: {e}"),
            |q| format!("supported (granted QoS {q})"),
        ),
        "subscribed",
    ));

    out.push(packet_size(&mut link, &info, &base, &id).await);
    out.push(no_local(&mut link, &base, &id).await);
    let _ = link.send(&link::DISCONNECT).await;
    out.push(retained(&anon, &base, &id).await);
    out.push(assigned(&anon).await);
    out.push(resumption(&anon).await);
    out
}

/// The largest payload up to the announced limit (1 MiB at most), sent and received back.
async fn packet_size(link: &mut Link, info: &ConnackInfo, base: &str, id: &str) -> Capability {
    let sub = |f: String| Subscription::new(f, 1);
    let size = info
        .max_packet_size
        .map_or(1 << 20, |m| usize::try_from(m).unwrap_or(1 << 20))
        .min(1 << 20)
        .saturating_sub(256)
        .max(16);
    let big_topic = format!("{base}/big");
    let _ = granted(link, Protocol::V5, sub(big_topic.clone())).await;
    let mut payload = vec![b'x'; size];
    let marker = format!("mqscope-big-{id}");
    payload[..marker.len().min(size)].copy_from_slice(&marker.as_bytes()[..marker.len().min(size)]);
    let _ = link
        .send(&link::publish(Protocol::V5, &big_topic, &payload))
        .await;
    let back = receives(link, marker.as_bytes(), Duration::from_secs(5)).await;
    row(
        "maximum packet size (probed)",
        if back {
            format!(
                "a {} publish went through and came back",
                crate::size::human(size as u64)
            )
        } else {
            format!(
                "a {} publish did not come back",
                crate::size::human(size as u64)
            )
        },
        "published",
    )
}

/// No-local: our own message on a no-local subscription must not come back.
async fn no_local(link: &mut Link, base: &str, id: &str) -> Capability {
    let sub = |f: String| Subscription::new(f, 1);
    let nl_topic = format!("{base}/nolocal");
    let mut nl = sub(nl_topic.clone());
    nl.no_local = true;
    let _ = granted(link, Protocol::V5, nl).await;
    let nl_marker = format!("mqscope-nolocal-{id}");
    let _ = link
        .send(&link::publish(
            Protocol::V5,
            &nl_topic,
            nl_marker.as_bytes(),
        ))
        .await;
    let echoed = receives(link, nl_marker.as_bytes(), WAIT).await;
    row(
        "no-local",
        if echoed {
            "ignored: our own message came back"
        } else {
            "honoured"
        },
        "subscribed, published",
    )
}

/// Retained messages on subscribe (the retained message is cleared afterwards).
async fn retained(anon: &BrokerOptions, base: &str, id: &str) -> Capability {
    let sub = |f: String| Subscription::new(f, 1);
    let r_topic = format!("{base}/retained");
    let r_marker = format!("mqscope-retained-{id}");
    let value = match open(anon, Protocol::V5).await {
        Ok((mut link, _)) => {
            let _ = ask(
                &mut link,
                &link::publish_with(Protocol::V5, &r_topic, r_marker.as_bytes(), true),
                PacketType::Puback,
                Duration::from_secs(5),
            )
            .await;
            let _ = link.send(&link::DISCONNECT).await;
            match open(anon, Protocol::V5).await {
                Ok((mut l, _)) => {
                    let _ = granted(&mut l, Protocol::V5, sub(r_topic.clone())).await;
                    let got = receives(&mut l, r_marker.as_bytes(), WAIT).await;
                    let _ = ask(
                        &mut l,
                        &link::publish_with(Protocol::V5, &r_topic, b"", true),
                        PacketType::Puback,
                        Duration::from_secs(5),
                    )
                    .await;
                    let _ = l.send(&link::DISCONNECT).await;
                    if got {
                        "delivered on subscribe"
                    } else {
                        "not delivered"
                    }
                    .to_string()
                }
                Err(e) => format!("not measured: {e}"),
            }
        }
        Err(e) => format!("not measured: {e}"),
    };
    row(
        "retained messages",
        value,
        "published retained, subscribed anew",
    )
}

/// What the CONNACK announced (absent properties have the defaults MQTT 5 gives them).
fn announced(out: &mut Vec<Capability>, info: &ConnackInfo, opts: &BrokerOptions) {
    // An absent property has MQTT 5's default: the row says which it was.
    let how = |present: bool| {
        if present {
            "announced in CONNACK"
        } else {
            "not in CONNACK: MQTT 5's default"
        }
    };
    let flag = |v: Option<bool>| {
        (
            if v.unwrap_or(true) { "yes" } else { "no" },
            how(v.is_some()),
        )
    };
    let mut push = |name: &'static str, (value, how): (String, &'static str)| {
        out.push(row(name, value, how));
    };
    let text = |(v, h): (&str, &'static str)| (v.to_string(), h);
    push(
        "maximum QoS",
        (
            info.max_qos.unwrap_or(2).to_string(),
            how(info.max_qos.is_some()),
        ),
    );
    push("retain", text(flag(info.retain_available)));
    push("wildcards (announced)", text(flag(info.wildcard_available)));
    push("shared (announced)", text(flag(info.shared_available)));
    push(
        "subscription identifiers",
        text(flag(info.subscription_ids_available)),
    );
    push(
        "topic alias maximum",
        (
            info.topic_alias_max.unwrap_or(0).to_string(),
            how(info.topic_alias_max.is_some()),
        ),
    );
    push(
        "receive maximum",
        (
            info.receive_max.unwrap_or(u16::MAX).to_string(),
            how(info.receive_max.is_some()),
        ),
    );
    push(
        "maximum packet size",
        (
            info.max_packet_size
                .map_or_else(|| "no limit".into(), |m| crate::size::human(u64::from(m))),
            how(info.max_packet_size.is_some()),
        ),
    );
    push(
        "server keep-alive",
        (
            info.server_keep_alive.map_or_else(
                || format!("keeps ours ({} s)", opts.keep_alive.as_secs()),
                |k| format!("overrides ours: {k} s"),
            ),
            how(info.server_keep_alive.is_some()),
        ),
    );
}

/// An empty client id: does the broker assign one?
async fn assigned(opts: &BrokerOptions) -> Capability {
    let mut o = opts.clone();
    o.client_id = String::new();
    let how = "connected with an empty client id";
    match open(&o, Protocol::V5).await {
        Ok((mut l, info)) => {
            let _ = l.send(&link::DISCONNECT).await;
            row(
                "assigned client identifier",
                info.assigned_client_id.map_or_else(
                    || "accepted, none announced".into(),
                    |id| format!("yes: {}", crate::sanitize::line(id.as_bytes())),
                ),
                how,
            )
        }
        Err(e) => row("assigned client identifier", format!("not: {e}"), how),
    }
}

/// Session expiry and resumption: a session kept 60 s, then resumed by the same id.
async fn resumption(opts: &BrokerOptions) -> Capability {
    let how = "connected twice with clean start off";
    let mut keep = opts.clone();
    keep.clean_start = false;
    keep.session_expiry = Some(60);
    let first = match open(&keep, Protocol::V5).await {
        Ok((mut l, info)) => {
            let _ = l.send(&link::DISCONNECT).await;
            info
        }
        Err(e) => return row("session resumption", format!("not measured: {e}"), how),
    };
    let value = match open(&keep, Protocol::V5).await {
        Ok((mut l, info)) => {
            let _ = l.send(&link::DISCONNECT).await;
            let granted = first.session_expiry.map_or_else(
                || "60 s as asked".to_string(),
                |s| format!("{s} s (the broker's)"),
            );
            if info.session_present {
                format!("resumed (session present), expiry {granted}")
            } else {
                format!("not resumed (no session present), expiry {granted}")
            }
        }
        Err(e) => format!("not measured: {e}"),
    };
    // End the session: a clean start that asks to keep nothing.
    let mut end = opts.clone();
    end.clean_start = true;
    end.session_expiry = Some(0);
    if let Ok((mut l, _)) = open(&end, Protocol::V5).await {
        let _ = l.send(&link::DISCONNECT).await;
    }
    row("session resumption", value, how)
}

pub fn lines(rows: &[Capability]) -> Vec<String> {
    let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(10);
    rows.iter()
        .map(|r| {
            format!(
                "{:<width$}  {}  ({})",
                r.name,
                crate::sanitize::line(r.value.as_bytes()),
                r.how
            )
        })
        .collect()
}

pub fn to_json(rows: &[Capability]) -> Value {
    Value::Array(
        rows.iter()
            .map(|r| json!({ "capability": r.name, "value": r.value, "how": r.how }))
            .collect(),
    )
}
