//! A simulated fleet with traffic worth exploring: a building's sensors drifting, retained
//! device metadata and configuration, a packed binary record, a camera snapshot of ~200 KB,
//! MQTT 5 commands with properties and a request/response pair, one busy vibration topic at
//! ~1k msg/s, a device that falls silent, a status topic whose JSON schema changes, and a
//! sequence-numbered counter over a lossy link that drops a few messages and repeats one,
//! and a factory floor in binary formats (a Protobuf press, a Sparkplug B edge node).
//!
//! What is published when is a pure function of the time (`vibration`, `second`), so tests
//! can run the fleet on a simulated clock (the anomaly watch's no-false-alarm test does).

#![expect(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    reason = "simulated sensor values"
)]

use anyhow::Context as _;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use tokio::sync::{mpsc, oneshot};

use crate::broker::{
    BrokerEvent, BrokerHandle, BrokerOptions, Command, MessageProperties, MqttVersion,
    PublishRequest, Subscription,
};

/// When the fleet's scripted events happen, from its start.
#[derive(Debug, Clone, Copy)]
pub struct Script {
    /// `building/b1/floor2/room3/temp` stops reporting.
    pub silent_after: Duration,
    /// `devices/sensor-9/status` switches to its new schema.
    pub schema_change_after: Duration,
    /// `line/1/counter` starts losing and repeating messages.
    pub lossy_after: Duration,
    /// When the run started (ms since the Unix epoch), for timestamps inside payloads.
    pub start_ms: u64,
}

impl Default for Script {
    fn default() -> Self {
        Self {
            silent_after: Duration::from_secs(30),
            schema_change_after: Duration::from_secs(40),
            lossy_after: Duration::from_secs(10),
            start_ms: 0,
        }
    }
}

/// Queues a publish without waiting for its outcome; waits only for room in the queue.
async fn send(commands: &mpsc::Sender<Command>, req: PublishRequest) {
    let (tx, _rx) = oneshot::channel();
    let _ = commands.send(Command::Publish(req, tx)).await;
}

/// The busy topic: a sample is dropped rather than delaying the rest of the fleet.
fn send_or_drop(commands: &mpsc::Sender<Command>, req: PublishRequest) {
    let (tx, _rx) = oneshot::channel();
    let _ = commands.try_send(Command::Publish(req, tx));
}

fn msg(topic: impl Into<String>, payload: impl Into<Bytes>, retain: bool) -> PublishRequest {
    PublishRequest {
        topic: topic.into(),
        payload: payload.into(),
        qos: 0,
        retain,
        properties: None,
    }
}

/// A small deterministic wobble, so values drift without a random number crate.
fn wave(seed: u64, tick: u64) -> f64 {
    let x = ((seed * 7919 + tick * 104_729) % 1000) as f64 / 1000.0;
    (tick as f64 / 17.0 + seed as f64).sin() * 0.8 + (x - 0.5) * 0.2
}

/// A fake JPEG of about 200 KB: a real SOI/APP0 header, then patterned bytes.
pub fn snapshot(n: u64) -> Bytes {
    let mut b = BytesMut::with_capacity(200 * 1024);
    b.put_slice(&[
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00,
    ]);
    while b.len() < 200 * 1024 - 2 {
        let i = b.len() as u64;
        b.put_u8(((i * 31 + n * 7) % 251) as u8);
    }
    b.put_slice(&[0xFF, 0xD9]);
    b.freeze()
}

/// The packed record of `devices/sensor-7/raw`: seq u32, temp f32, humidity f32, flags u16,
/// checksum u16, all big-endian.
pub fn packed(seq: u32, temp: f32, humidity: f32) -> Bytes {
    let mut b = BytesMut::with_capacity(16);
    b.put_u32(seq);
    b.put_f32(temp);
    b.put_f32(humidity);
    b.put_u16(0b0000_0101);
    let sum = b
        .iter()
        .fold(0u16, |acc, x| acc.wrapping_add(u16::from(*x)));
    b.put_u16(sum);
    b.freeze()
}

/// Publishes until the process ends. Also answers the RPC requests it sends itself.
pub async fn run(url: &str, script: Script) -> anyhow::Result<()> {
    let mut opts = BrokerOptions::new(url.parse()?, "demo-fleet");
    opts.version = MqttVersion::V5;
    opts.subscriptions = vec![Subscription::new("rpc/req/#", 0)];
    let mut handle = BrokerHandle::spawn(opts).context("the demo fleet cannot connect")?;
    let commands = handle.commands();

    // Retained metadata and configuration, once.
    for (i, kind) in ["thermostat", "sensor", "sensor", "camera", "sensor"]
        .iter()
        .enumerate()
    {
        let id = format!("{kind}-{}", i + 5);
        send(&commands, msg(
            format!("devices/{id}/meta"),
            format!(r#"{{"model":"{kind}-x{}","fw":"3.{i}.1","site":"b1","installed":"2024-0{}-12"}}"#, i + 2, i + 1),
            true,
        )).await;
        send(&commands, msg(
            format!("devices/{id}/config"),
            format!(r#"{{"interval_s":{},"report":["temp","humidity"],"alarm":{{"high":{},"low":10}}}}"#, 5 + i, 28 + i),
            true,
        )).await;
    }

    // Answer RPC requests: same correlation data, on the response topic.
    let responder = commands.clone();
    tokio::spawn(async move {
        while let Some(event) = handle.events.recv().await {
            if let BrokerEvent::Message(m) = event {
                let Some(p) = m.properties else { continue };
                let Some(reply_to) = p.response_topic.clone() else {
                    continue;
                };
                let mut reply = msg(reply_to, r#"{"ok":true,"setpoint":21.5}"#, false);
                reply.properties = Some(MessageProperties {
                    correlation_data: p.correlation_data.clone(),
                    content_type: Some("application/json".into()),
                    ..MessageProperties::default()
                });
                tokio::time::sleep(Duration::from_millis(12)).await;
                send(&responder, reply).await;
            }
        }
    });

    let started = tokio::time::Instant::now();
    let mut fast = tokio::time::interval(Duration::from_millis(10));
    let mut tick: u64 = 0;
    loop {
        fast.tick().await;
        tick += 1;
        for req in vibration(tick) {
            send_or_drop(&commands, req);
        }
        if tick % 100 != 0 {
            continue;
        }
        for req in second(tick / 100, started.elapsed(), script) {
            send(&commands, req).await;
        }
    }
}

/// ~1k msg/s: ten vibration samples every 10 ms (`tick`).
pub fn vibration(tick: u64) -> Vec<PublishRequest> {
    (0..10)
        .map(|k| {
            let v = wave(k, tick * 10 + k) * 3.0;
            msg("telemetry/press-2/vibration", format!("{v:.3}"), false)
        })
        .collect()
}

/// The once-a-second part of the fleet at second `secs` (`elapsed` since the start): the
/// building, the status, the counter, and the rarer messages.
pub fn second(secs: u64, elapsed: Duration, script: Script) -> Vec<PublishRequest> {
    // Long by design: the fleet's script, one block per family of devices.
    let mut out = Vec::new();
    // Once a second: the building.
    for floor in 1..=3u64 {
        for room in 1..=4u64 {
            if floor == 2 && room == 3 && elapsed > script.silent_after {
                continue; // this one falls silent
            }
            let seed = floor * 10 + room;
            let t = 21.0 + wave(seed, secs) + floor as f64 * 0.3;
            let h = 45.0 + wave(seed + 100, secs) * 6.0;
            out.push(msg(
                format!("building/b1/floor{floor}/room{room}/temp"),
                format!(
                    r#"{{"t":{t:.2},"unit":"C","battery":{}}}"#,
                    98 - (secs / 60) % 50
                ),
                false,
            ));
            out.push(msg(
                format!("building/b1/floor{floor}/room{room}/humidity"),
                format!(r#"{{"rh":{h:.1}}}"#),
                false,
            ));
        }
    }
    // The status whose schema changes mid-run.
    let status = if elapsed < script.schema_change_after {
        format!(r#"{{"state":"ok","v":1,"uptime":{secs}}}"#)
    } else {
        format!(r#"{{"status":{{"code":0,"text":"ok"}},"version":2,"uptime_s":{secs}}}"#)
    };
    out.push(msg("devices/sensor-9/status", status, false));
    // Every two seconds: the packed binary record.
    if secs % 2 == 0 {
        let seq = u32::try_from(secs).unwrap_or(u32::MAX);
        let t = 20.5 + wave(7, secs) as f32;
        out.push(msg("devices/sensor-7/raw", packed(seq, t, 48.0), false));
    }
    // Every five seconds: an MQTT 5 command and an RPC request.
    if secs % 5 == 0 {
        let mut cmd = msg(
            "commands/thermostat-5/set",
            format!(r#"{{"setpoint":{:.1}}}"#, 20.0 + (secs % 3) as f64),
            false,
        );
        cmd.qos = 1;
        cmd.properties = Some(MessageProperties {
            content_type: Some("application/json".into()),
            payload_format: Some(1),
            message_expiry: Some(60),
            user_properties: vec![
                ("operator".into(), "anna".into()),
                ("source".into(), "hmi-2".into()),
            ],
            ..MessageProperties::default()
        });
        out.push(cmd);
        let mut req = msg("rpc/req/thermostat-5/get", r#"{"what":"setpoint"}"#, false);
        req.properties = Some(MessageProperties {
            response_topic: Some("rpc/resp/hmi-2".into()),
            correlation_data: Some(Bytes::from(format!("req-{secs}"))),
            content_type: Some("application/json".into()),
            ..MessageProperties::default()
        });
        out.push(req);
    }
    // Every ten seconds, from the first: the camera snapshot, retained.
    if secs % 10 == 1 {
        out.push(msg("cameras/door-1/snapshot", snapshot(secs), true));
    }
    // The counter over a lossy link: after a while it loses three messages every 20 s and
    // delivers one twice every 25 s.
    let lossy = elapsed > script.lossy_after;
    if !(lossy && (12..=14).contains(&(secs % 20))) {
        let counter = msg(
            "line/1/counter",
            format!(
                r#"{{"seq":{secs},"good":{},"rejects":{}}}"#,
                secs * 3,
                secs / 7
            ),
            false,
        );
        if lossy && secs % 25 == 7 {
            out.push(counter.clone());
        }
        out.push(counter);
    }
    // The factory floor: a Protobuf press and a Sparkplug B edge node.
    for (topic, payload) in super::factory::second(secs, script.start_ms) {
        out.push(msg(topic, payload, false));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_shapes() {
        let s = snapshot(3);
        assert_eq!(s.len(), 200 * 1024);
        assert_eq!(&s[..3], &[0xFF, 0xD8, 0xFF]);
        assert_eq!(&s[s.len() - 2..], &[0xFF, 0xD9]);
        let p = packed(7, 21.5, 48.0);
        assert_eq!(p.len(), 16);
        assert_eq!(&p[..4], &7u32.to_be_bytes());
    }
}
