//! The demo's factory floor, for the decoders: a press that reports in Protobuf (its schema in
//! `assets/proto/plant/`, mapped by default in the demo) and a Sparkplug B edge node with one
//! device (births with metric names and aliases, then data by alias, one `seq` across both).
//! Payloads are encoded from JSON with the same machinery that decodes them.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use serde_json::{Value, json};

use crate::payload::decode::{Decoder, Proto, Step, sparkplug_schema};

/// The Protobuf topic, and the filter the demo maps to its schema.
pub const TELEMETRY_TOPIC: &str = "factory/press-4/telemetry";
pub const TELEMETRY_FILTER: &str = "factory/+/telemetry";
/// The Sparkplug group and edge node, and the device under it.
const GROUP: &str = "plant";
const NODE: &str = "edge-1";
const DEVICE: &str = "press-4";

const SOURCES: &[(&str, &str)] = &[
    (
        "plant/v1/telemetry.proto",
        include_str!("../../assets/proto/plant/v1/telemetry.proto"),
    ),
    (
        "plant/common/units.proto",
        include_str!("../../assets/proto/plant/common/units.proto"),
    ),
];

fn telemetry() -> Option<&'static Proto> {
    static PROTO: OnceLock<Option<Proto>> = OnceLock::new();
    PROTO
        .get_or_init(|| {
            Proto::embedded(SOURCES, "plant/v1/telemetry.proto", "plant.v1.Telemetry")
                .map_err(|e| tracing::error!(target: "mqscope::demo", "demo schema: {e}"))
                .ok()
        })
        .as_ref()
}

/// The demo's own mapping: its Protobuf topic to its schema.
pub fn decoders() -> Vec<(String, Decoder)> {
    telemetry()
        .map(|p| {
            (
                TELEMETRY_FILTER.to_string(),
                Decoder::new(vec![Step::Protobuf(Arc::new(p.clone()))]),
            )
        })
        .into_iter()
        .collect()
}

fn wave(seed: u64, secs: u64) -> f64 {
    #[expect(clippy::cast_precision_loss, reason = "a simulated value")]
    let x = (secs + seed * 13) as f64 / 17.0;
    x.sin()
}

/// What the factory publishes in second `secs` of the run (`start_ms`: the run's start,
/// for the timestamps in the payloads): topic and payload.
pub fn second(secs: u64, start_ms: u64) -> Vec<(String, Bytes)> {
    let now_ms = start_ms + secs * 1000;
    let mut out = Vec::new();
    let temp = 61.0 + wave(3, secs) * 4.0;
    let pressure = 2.1 + wave(5, secs) * 0.3;
    if let Some(proto) = telemetry() {
        let state = if secs % 60 < 50 { "RUNNING" } else { "STOPPED" };
        let json = json!({
            "device": DEVICE,
            "at": {"seconds": now_ms / 1000, "nanos": 0},
            "temperature": {"value": (temp * 100.0).round() / 100.0, "unit": "CELSIUS"},
            "pressures": [{"value": (pressure * 1000.0).round() / 1000.0, "unit": "BAR"}],
            "labels": {"line": "B", "site": "nord"},
            "state": state,
            "counter": secs * 7,
            "location": {"site": "nord", "floor": 1},
        });
        // Timestamp's JSON form is a string: write it as one.
        let mut json = json;
        json["at"] = Value::String(rfc3339(now_ms));
        if let Ok(bytes) = proto.encode(&json.to_string()) {
            out.push((TELEMETRY_TOPIC.to_string(), Bytes::from(bytes)));
        }
    }
    out.extend(sparkplug_second(secs, now_ms, temp, pressure));
    out
}

/// The edge node: births in the fleet's first second (1), then node and device data each
/// second; `seq` runs over all of them, 0 to 255.
fn sparkplug_second(secs: u64, now_ms: u64, temp: f64, pressure: f64) -> Vec<(String, Bytes)> {
    let Ok(proto) = sparkplug_schema() else {
        return Vec::new();
    };
    let topic = |kind: &str, device: bool| {
        if device {
            format!("spBv1.0/{GROUP}/{kind}/{NODE}/{DEVICE}")
        } else {
            format!("spBv1.0/{GROUP}/{kind}/{NODE}")
        }
    };
    let mut messages: Vec<(String, Value)> = Vec::new();
    if secs <= 1 {
        messages.push((
            topic("NBIRTH", false),
            json!({"timestamp": now_ms, "seq": 0, "metrics": [
                {"name": "bdSeq", "datatype": 4, "long_value": 0, "timestamp": now_ms},
                {"name": "Node Control/Rebirth", "datatype": 11, "boolean_value": false},
                {"name": "Uptime", "alias": 1, "datatype": 8, "long_value": 0},
            ]}),
        ));
        messages.push((
            topic("DBIRTH", true),
            json!({"timestamp": now_ms, "seq": 1, "metrics": [
                {"name": "Temperature", "alias": 10, "datatype": 10, "double_value": temp},
                {"name": "Pressure", "alias": 11, "datatype": 9, "float_value": pressure},
                {"name": "Running", "alias": 12, "datatype": 11, "boolean_value": true},
            ]}),
        ));
    } else {
        let seq = (secs * 2 - 2) % 256;
        messages.push((
            topic("NDATA", false),
            json!({"timestamp": now_ms, "seq": seq, "metrics": [
                {"alias": 1, "datatype": 8, "long_value": secs},
            ]}),
        ));
        messages.push((
            topic("DDATA", true),
            json!({"timestamp": now_ms, "seq": (seq + 1) % 256, "metrics": [
                {"alias": 10, "datatype": 10, "double_value": (temp * 100.0).round() / 100.0},
                {"alias": 11, "datatype": 9, "float_value": (pressure * 1000.0).round() / 1000.0},
                {"alias": 12, "datatype": 11, "boolean_value": secs % 60 < 50},
            ]}),
        ));
    }
    messages
        .into_iter()
        .filter_map(|(t, v)| {
            proto
                .encode(&v.to_string())
                .ok()
                .map(|b| (t, Bytes::from(b)))
        })
        .collect()
}

/// `2026-12-02T10:00:00Z` for ms since the Unix epoch.
fn rfc3339(ms: u64) -> String {
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms))
        .to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_factory_decodes_with_the_demo_mapping_and_sparkplug() {
        let decoders = crate::payload::decode::Decoders::new(decoders());
        let mut seqs = Vec::new();
        for secs in [1, 2, 3] {
            for (topic, payload) in second(secs, 1_790_000_000_000) {
                let d = decoders.for_topic(&topic).unwrap();
                let v = d.decode(&payload).unwrap().to_json();
                if topic == TELEMETRY_TOPIC {
                    assert_eq!(v["device"], "press-4");
                    assert_eq!(v["temperature"]["unit"], "CELSIUS");
                    assert_eq!(v["at"], format!("2026-09-21T14:13:{:02}Z", 20 + secs));
                } else {
                    assert_eq!(d.label(), "Sparkplug B", "{topic}");
                    seqs.push(v["seq"].as_u64().unwrap());
                }
            }
        }
        assert_eq!(
            seqs,
            [0, 1, 2, 3, 4, 5],
            "one sequence over births and data"
        );
        let births: Vec<String> = second(1, 0).into_iter().map(|(t, _)| t).collect();
        assert!(births.contains(&"spBv1.0/plant/NBIRTH/edge-1".to_string()));
        assert!(births.contains(&"spBv1.0/plant/DBIRTH/edge-1/press-4".to_string()));
    }
}
