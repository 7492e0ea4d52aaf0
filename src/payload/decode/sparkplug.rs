//! Sparkplug B state, learned as messages arrive on `spBv1.0/…`: per edge node and device,
//! whether it is online, its last birth, its metrics (name and datatype by alias, from
//! NBIRTH/DBIRTH), the node's `bdSeq`, and the `seq` that runs 0–255 over everything the node
//! sends. Births are decoded on arrival (O(metrics)); data messages only have their `seq` read
//! from the wire. The decoded view then resolves aliases to names and datatypes to words.

use std::collections::{BTreeMap, HashMap};
use std::time::SystemTime;

use serde_json::Value;

use super::protobuf::{sparkplug as schema, varint};

/// A Sparkplug topic: `spBv1.0/GROUP/KIND/NODE[/DEVICE]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topic<'a> {
    pub group: &'a str,
    pub kind: &'a str,
    pub node: &'a str,
    pub device: Option<&'a str>,
}

pub fn parse_topic(topic: &str) -> Option<Topic<'_>> {
    let mut parts = topic.split('/');
    if parts.next()? != "spBv1.0" {
        return None;
    }
    let group = parts.next()?;
    let kind = parts.next()?;
    let node = parts.next()?;
    let device = parts.next();
    parts.next().is_none().then_some(Topic {
        group,
        kind,
        node,
        device,
    })
}

/// What is known of one metric.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metric {
    pub name: String,
    pub datatype: u32,
}

/// An edge node or a device under it.
#[derive(Debug, Clone, Default)]
pub struct Endpoint {
    pub online: bool,
    pub last_birth: Option<SystemTime>,
    pub last_death: Option<SystemTime>,
    /// By alias; metrics without an alias are known by name only (`names`).
    pub aliases: HashMap<u64, Metric>,
    pub names: usize,
}

/// An edge node: its own endpoint, its devices, its sequence numbers.
#[derive(Debug, Clone, Default)]
pub struct EdgeNode {
    pub endpoint: Endpoint,
    pub devices: BTreeMap<String, Endpoint>,
    pub bd_seq: Option<u64>,
    /// The last `seq` seen from the node (on any of its messages).
    pub seq: Option<u64>,
    pub gaps: u64,
}

/// A `seq` that did not follow the one before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqGap {
    pub expected: u64,
    pub got: u64,
}

/// Every edge node seen, by group and node id.
#[derive(Debug, Clone, Default)]
pub struct Sparkplug {
    pub nodes: BTreeMap<(String, String), EdgeNode>,
}

impl Sparkplug {
    /// Learns from one message; returns a `seq` gap when there is one.
    pub fn observe(&mut self, topic: &str, payload: &[u8], at: SystemTime) -> Option<SeqGap> {
        let t = parse_topic(topic)?;
        if t.kind == "STATE" {
            return None;
        }
        let node = self
            .nodes
            .entry((t.group.to_string(), t.node.to_string()))
            .or_default();
        let birth = matches!(t.kind, "NBIRTH" | "DBIRTH");
        let death = matches!(t.kind, "NDEATH" | "DDEATH");
        let endpoint = match t.device {
            Some(d) => node.devices.entry(d.to_string()).or_default(),
            None => &mut node.endpoint,
        };
        if birth {
            endpoint.online = true;
            endpoint.last_birth = Some(at);
            if let Some(bd) = learn(endpoint, payload, t.kind == "NBIRTH") {
                node.bd_seq = Some(bd);
            }
        } else if death {
            endpoint.online = false;
            endpoint.last_death = Some(at);
            if t.kind == "NDEATH" {
                for d in node.devices.values_mut() {
                    d.online = false;
                }
            }
        }
        // NDEATH carries no seq (it is the broker's will); everything else does.
        if !matches!(t.kind, "NBIRTH" | "DBIRTH" | "NDATA" | "DDATA" | "DDEATH") {
            return None;
        }
        let seq = top_level_varint(payload, 3)?;
        let expected = node.seq.map(|s| (s + 1) % 256);
        node.seq = Some(seq);
        // A node birth starts the count again at 0.
        if t.kind == "NBIRTH" {
            return None;
        }
        match expected {
            Some(expected) if expected != seq => {
                node.gaps += 1;
                Some(SeqGap { expected, got: seq })
            }
            _ => None,
        }
    }

    /// Our own link was lost: what the nodes sent meanwhile was never seen, so the next `seq`
    /// of each is not checked (a gap there is not the node's).
    pub fn link_lost(&mut self) {
        for node in self.nodes.values_mut() {
            node.seq = None;
        }
    }

    /// Adds to a decoded payload what the births said: each metric's `name` (from its alias)
    /// and `datatype_name`.
    pub fn annotate(&self, topic: &str, decoded: &mut Value) {
        let Some(t) = parse_topic(topic) else {
            return;
        };
        let node = self.nodes.get(&(t.group.to_string(), t.node.to_string()));
        let endpoint = node.and_then(|n| match t.device {
            Some(d) => n.devices.get(d),
            None => Some(&n.endpoint),
        });
        let Some(metrics) = decoded.get_mut("metrics").and_then(Value::as_array_mut) else {
            return;
        };
        for m in metrics {
            let Value::Object(obj) = m else { continue };
            let alias = obj.get("alias").and_then(Value::as_u64);
            if !obj.contains_key("name") {
                if let Some(metric) = alias.and_then(|a| endpoint?.aliases.get(&a)) {
                    // First, as in a birth: the name is what a reader looks for.
                    obj.shift_insert(0, "name".into(), Value::String(metric.name.clone()));
                }
            }
            let datatype = obj.get("datatype").and_then(Value::as_u64).or_else(|| {
                alias
                    .and_then(|a| endpoint?.aliases.get(&a))
                    .map(|m| u64::from(m.datatype))
            });
            if let Some(name) = datatype.and_then(datatype_name) {
                obj.insert("datatype_name".into(), Value::String(name.into()));
            }
        }
    }

    /// The edge node a topic belongs to.
    pub fn node_of(&self, topic: &str) -> Option<(&str, &str, &EdgeNode)> {
        let t = parse_topic(topic)?;
        self.nodes
            .get_key_value(&(t.group.to_string(), t.node.to_string()))
            .map(|((g, n), node)| (g.as_str(), n.as_str(), node))
    }
}

/// Learns a birth's metrics; returns the `bdSeq` of a node birth.
fn learn(endpoint: &mut Endpoint, payload: &[u8], node_birth: bool) -> Option<u64> {
    let decoded = schema().ok()?.decode(payload).ok()?;
    endpoint.aliases.clear();
    endpoint.names = 0;
    let mut bd_seq = None;
    for m in decoded.get("metrics").and_then(Value::as_array)? {
        let name = m.get("name").and_then(Value::as_str).unwrap_or_default();
        let datatype = m
            .get("datatype")
            .and_then(Value::as_u64)
            .and_then(|d| u32::try_from(d).ok())
            .unwrap_or(0);
        if node_birth && name == "bdSeq" {
            bd_seq = m
                .get("long_value")
                .or_else(|| m.get("int_value"))
                .and_then(Value::as_u64);
        }
        endpoint.names += 1;
        if let Some(alias) = m.get("alias").and_then(Value::as_u64) {
            endpoint.aliases.insert(
                alias,
                Metric {
                    name: name.to_string(),
                    datatype,
                },
            );
        }
    }
    bd_seq
}

/// A top-level varint field of a protobuf message, read from the wire without decoding the
/// rest (fields before it are skipped by their wire type).
fn top_level_varint(mut buf: &[u8], field: u64) -> Option<u64> {
    while !buf.is_empty() {
        let key = varint(&mut buf)?;
        let (number, wire) = (key >> 3, key & 7);
        match wire {
            0 => {
                let v = varint(&mut buf)?;
                if number == field {
                    return Some(v);
                }
            }
            1 => buf = buf.get(8..)?,
            2 => {
                let len = usize::try_from(varint(&mut buf)?).ok()?;
                buf = buf.get(len..)?;
            }
            5 => buf = buf.get(4..)?,
            _ => return None,
        }
    }
    None
}

/// Sparkplug B's datatype numbers, as the specification names them.
pub fn datatype_name(n: u64) -> Option<&'static str> {
    const NAMES: [&str; 35] = [
        "Unknown",
        "Int8",
        "Int16",
        "Int32",
        "Int64",
        "UInt8",
        "UInt16",
        "UInt32",
        "UInt64",
        "Float",
        "Double",
        "Boolean",
        "String",
        "DateTime",
        "Text",
        "UUID",
        "DataSet",
        "Bytes",
        "File",
        "Template",
        "PropertySet",
        "PropertySetList",
        "Int8Array",
        "Int16Array",
        "Int32Array",
        "Int64Array",
        "UInt8Array",
        "UInt16Array",
        "UInt32Array",
        "UInt64Array",
        "FloatArray",
        "DoubleArray",
        "BooleanArray",
        "StringArray",
        "DateTimeArray",
    ];
    NAMES.get(usize::try_from(n).ok()?).copied()
}
