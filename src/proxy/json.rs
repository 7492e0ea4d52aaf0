//! The proxy's JSON lines (`mqscope proxy --json`) and its report (`--report FILE`). One
//! writer per shape; the README documents them.

use serde_json::{Map, Value, json};

use super::clients::{ClientEvent, ClientWhat, Verdict};
use super::faults::Fault;
use super::{Closing, Counters, ProxyEvent};
use crate::broker::codes::reason_name;
use crate::broker::event::{Direction, PacketRecord};
use crate::broker::json::timestamp;

/// `client>broker` or `broker>client`.
pub fn direction(d: Direction) -> &'static str {
    match d {
        Direction::Out => "client>broker",
        Direction::In => "broker>client",
    }
}

/// A `{"type":"client", ...}` line.
pub fn client_event(e: &ClientEvent) -> Value {
    let mut o = Map::new();
    o.insert("type".into(), json!("client"));
    o.insert("ts".into(), json!(timestamp(e.at)));
    o.insert("conn".into(), json!(e.conn));
    o.insert("client_id".into(), json!(e.client_id));
    match &e.what {
        ClientWhat::Connect { hello, peer } => {
            o.insert("event".into(), json!("connect"));
            o.insert("peer".into(), json!(peer.map(|p| p.to_string())));
            o.insert("protocol".into(), json!(hello.protocol.as_str()));
            o.insert("clean_start".into(), json!(hello.clean_start));
            o.insert("keep_alive".into(), json!(hello.keep_alive));
            o.insert("session_expiry".into(), json!(hello.session_expiry));
            o.insert(
                "will".into(),
                hello.will.as_ref().map_or(Value::Null, |w| {
                    json!({"topic": w.topic, "qos": w.qos, "retain": w.retain, "delay": w.delay})
                }),
            );
            o.insert("username".into(), json!(hello.username));
            o.insert("password".into(), json!(hello.password));
        }
        ClientWhat::Connack {
            code,
            session_present,
        } => {
            o.insert("event".into(), json!("connack"));
            o.insert("code".into(), json!(code));
            o.insert("reason".into(), json!(connack_name(*code)));
            o.insert("session_present".into(), json!(session_present));
        }
        ClientWhat::Subscribed(filters) => {
            o.insert("event".into(), json!("subscribe"));
            let list: Vec<Value> = filters
                .iter()
                .map(|(f, qos, code)| {
                    json!({"filter": f, "qos": qos, "granted": (*code < 0x80).then_some(*code),
                           "code": code, "reason": reason_name(*code)})
                })
                .collect();
            o.insert("filters".into(), Value::Array(list));
        }
        ClientWhat::Unsubscribed(filters) => {
            o.insert("event".into(), json!("unsubscribe"));
            o.insert("filters".into(), json!(filters));
        }
        ClientWhat::Disconnect(closing) => {
            o.insert("event".into(), json!("disconnect"));
            closing_fields(&mut o, closing);
        }
    }
    Value::Object(o)
}

fn connack_name(code: u8) -> &'static str {
    // 3.1.1 return codes 1..=5 and v5 reason codes do not overlap below 0x80.
    match code {
        0 => "success",
        1 => "unacceptable protocol version",
        2 => "identifier rejected",
        3 => "server unavailable",
        4 => "bad user name or password",
        5 => "not authorized",
        c => reason_name(c),
    }
}

fn closing_fields(o: &mut Map<String, Value>, c: &Closing) {
    o.insert("cause".into(), json!(c.end.code()));
    o.insert("detail".into(), json!(c.end.describe()));
    o.insert("up_ms".into(), json!(ms(c.up_for)));
    o.insert("unacked".into(), json!(c.unacked));
    counters(o, &c.counters);
}

fn counters(o: &mut Map<String, Value>, c: &Counters) {
    o.insert("msgs_up".into(), json!(c.msgs_up));
    o.insert("msgs_down".into(), json!(c.msgs_down));
    o.insert("bytes_up".into(), json!(c.bytes_up));
    o.insert("bytes_down".into(), json!(c.bytes_down));
}

fn ms(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A `{"type":"packet", ...}` line.
pub fn packet(e: &ProxyEvent, client_id: Option<&str>, r: &PacketRecord) -> Value {
    json!({
        "type": "packet",
        "ts": timestamp(r.at),
        "conn": e.conn,
        "client_id": client_id,
        "direction": direction(r.direction),
        "packet": r.type_name(),
        "size": r.size,
        "pkid": r.pkid,
        "qos": r.qos,
        "retain": r.retain,
        "dup": r.dup,
        "reason": r.reason,
        "topic": r.topic,
        "detail": r.detail,
    })
}

/// A `{"type":"garbage", ...}` line: bytes that are not MQTT, forwarded anyway.
pub fn garbage(e: &ProxyEvent, client_id: Option<&str>, d: Direction, head: &str) -> Value {
    json!({
        "type": "garbage",
        "ts": timestamp(e.at),
        "conn": e.conn,
        "client_id": client_id,
        "direction": direction(d),
        "head_hex": head,
    })
}

/// A `{"type":"fault", ...}` line.
pub fn fault(e: &ProxyEvent, f: &Fault) -> Value {
    let mut o = Map::new();
    o.insert("type".into(), json!("fault"));
    o.insert("ts".into(), json!(timestamp(e.at)));
    o.insert("fault".into(), json!(f.name()));
    o.insert("detail".into(), json!(f.describe()));
    match f {
        Fault::DropAll {
            connections,
            scheduled,
        } => {
            o.insert("connections".into(), json!(connections));
            o.insert("scheduled".into(), json!(scheduled));
        }
        Fault::BrokerDown { for_ } => {
            o.insert("for_ms".into(), json!(for_.map(ms)));
        }
        Fault::BlackHole(on) => {
            o.insert("on".into(), json!(on));
        }
        Fault::Delay { delay, jitter } => {
            o.insert("delay_ms".into(), json!(ms(*delay)));
            o.insert("jitter_ms".into(), json!(ms(*jitter)));
        }
        Fault::Bandwidth(rate) => {
            o.insert("bytes_per_s".into(), json!(rate));
        }
        Fault::ConnectionBlackHoled { conn } => {
            o.insert("conn".into(), json!(conn));
        }
        Fault::BrokerUp => {}
    }
    Value::Object(o)
}

/// A `{"type":"verdict", ...}` line.
pub fn verdict(v: &Verdict) -> Value {
    let b = &v.backoff;
    json!({
        "type": "verdict",
        "client_id": v.client_id,
        "connections": v.connections,
        "gaps_ms": v.gaps_ms,
        "gaps_by_outage": v.outages,
        "backoff": b.pattern.as_str(),
        "backoff_detail": b.describe(),
        "base_ms": b.base_ms,
        "factor": b.factor,
        "cap_ms": b.cap_ms,
        "jitter": b.jitter,
        "hammering": b.hammering,
        "resubscribed": v.resubscribed,
        "missing": v.missing,
        "keep_alive": v.keep_alive,
        "keepalive_ok": v.keepalive_ok,
        "longest_silence_ms": v.longest_silence_ms,
        "ping_interval_ms": v.ping_interval_ms,
        "unacked_at_drop": v.unacked_at_drop,
        "resent_dup": v.resent_dup,
        "lost": v.unacked_at_drop.saturating_sub(v.resent_dup),
        "collisions": v.collisions,
    })
}

/// The `--report` document: the final verdicts and what was injected.
pub fn report(
    target: &str,
    listen: &str,
    started: std::time::SystemTime,
    faults: &[Value],
    verdicts: &[Verdict],
) -> Value {
    json!({
        "mqscope": env!("CARGO_PKG_VERSION"),
        "listen": listen,
        "upstream": target,
        "started": timestamp(started),
        "ended": timestamp(std::time::SystemTime::now()),
        "faults": faults,
        "clients": verdicts.iter().map(verdict).collect::<Vec<_>>(),
    })
}
