//! `mqscope pub`: publish, wait for the acknowledgement the QoS implies, disconnect cleanly.

use std::collections::VecDeque;
use std::io::{BufRead, Read};
use std::process::ExitCode;

use bytes::Bytes;
use tokio::sync::oneshot;

use super::sub::eprintln_line;
use crate::broker::{
    BrokerEvent, BrokerHandle, Command, LifecycleKind, MessageProperties, MqttVersion, Protocol,
    PublishOutcome, PublishRequest, codes,
};
use crate::cli::{PayloadFormat, PubArgs, UsageError};

/// Publishes in flight at once with `-l`.
const WINDOW: usize = 64;

pub async fn run(args: PubArgs) -> anyhow::Result<ExitCode> {
    // Long by design: the mode from its options to its exit code, in order.
    let mut opts = args.connect.to_options()?;
    super::warn_if_insecure(&opts);
    if args.has_v5_properties() && opts.version == MqttVersion::V311 {
        return Err(UsageError(
            "--content-type, --response-topic, --correlation-data, --user-property, \
             --message-expiry and --payload-format need MQTT 5 (-V 5 or -V auto)"
                .into(),
        )
        .into());
    }
    // One attempt: a publisher should fail fast and say why, not retry in the background.
    opts.max_attempts.get_or_insert(1);
    let encode = encoder(&args)?;
    let single = single_payload(&args)?.map(&encode).transpose()?;

    let mut handle = BrokerHandle::spawn(opts).map_err(crate::broker::Fatal)?;
    let Some(protocol) = wait_connected(&mut handle).await else {
        handle.shutdown().await;
        return Ok(ExitCode::FAILURE);
    };
    if protocol == Protocol::V311 && args.has_v5_properties() {
        eprintln_line("the broker speaks MQTT 3.1.1 only: the MQTT 5 properties were not sent");
    }

    let commands = handle.commands();
    let properties = properties(&args);
    let make = |payload: Bytes| PublishRequest {
        topic: args.topic.clone(),
        payload,
        qos: args.qos,
        retain: args.retain,
        properties: properties.clone(),
    };

    let mut failed = false;
    let mut pending: VecDeque<oneshot::Receiver<PublishOutcome>> = VecDeque::new();
    let send = async |req: PublishRequest, pending: &mut VecDeque<_>| -> bool {
        let (tx, rx) = oneshot::channel();
        if commands.send(Command::Publish(req, tx)).await.is_err() {
            return false;
        }
        pending.push_back(rx);
        true
    };

    if let Some(payload) = single {
        send(make(payload), &mut pending).await;
    } else {
        // -l: stdin is read on a blocking thread and handed over line by line.
        let (tx, mut lines) = tokio::sync::mpsc::channel::<Vec<u8>>(WINDOW);
        let reader = tokio::task::spawn_blocking(move || {
            let stdin = std::io::stdin();
            let mut lock = stdin.lock();
            let mut line = Vec::new();
            loop {
                line.clear();
                match lock.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if line.last() == Some(&b'\n') {
                            line.pop();
                            if line.last() == Some(&b'\r') {
                                line.pop();
                            }
                        }
                        if tx.blocking_send(line.clone()).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        while let Some(line) = lines.recv().await {
            let payload = match encode(Bytes::from(line)) {
                Ok(p) => p,
                Err(e) => {
                    // One bad line: said, counted, and the next ones still go.
                    eprintln_line(&e.0);
                    failed = true;
                    continue;
                }
            };
            if !send(make(payload), &mut pending).await {
                failed = true;
                break;
            }
            while pending.len() >= WINDOW {
                if let Some(rx) = pending.pop_front() {
                    failed |= report(rx.await);
                }
            }
        }
        drop(lines);
        let _ = reader.await;
    }
    while let Some(rx) = pending.pop_front() {
        failed |= report(rx.await);
    }
    handle.shutdown().await;
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Prints a failed or refused publish; returns whether it failed.
fn report(outcome: Result<PublishOutcome, oneshot::error::RecvError>) -> bool {
    match outcome {
        Ok(PublishOutcome::Sent) => false,
        Ok(PublishOutcome::Acked { reason }) if reason < 0x80 => {
            if reason != 0 {
                eprintln_line(&format!(
                    "acknowledged: {:#04x} {}",
                    reason,
                    codes::reason_name(reason)
                ));
            }
            false
        }
        Ok(PublishOutcome::Acked { reason }) => {
            eprintln_line(&format!(
                "the broker refused the message: {:#04x} {}",
                reason,
                codes::reason_name(reason)
            ));
            true
        }
        Ok(PublishOutcome::Failed(why)) => {
            eprintln_line(&format!("publish failed: {why}"));
            true
        }
        Err(_) => {
            eprintln_line("publish failed: the connection layer stopped");
            true
        }
    }
}

/// Waits for CONNACK (printing failures); `None` when the layer gave up.
pub(super) async fn wait_connected(handle: &mut BrokerHandle) -> Option<Protocol> {
    while let Some(event) = handle.events.recv().await {
        if let BrokerEvent::Lifecycle(l) = &event {
            if let Some(line) = super::render::lifecycle_text(l, false) {
                if !matches!(l.kind, LifecycleKind::Connected(_)) {
                    eprintln_line(&line);
                }
            }
            match &l.kind {
                LifecycleKind::Connected(info) => {
                    return Some(info.protocol.unwrap_or(Protocol::V5));
                }
                LifecycleKind::GaveUp { .. } => return None,
                _ => {}
            }
        }
    }
    None
}

/// `--encode`: turns a payload (JSON text) into the binary form; none: as it is.
fn encoder(args: &PubArgs) -> Result<impl Fn(Bytes) -> Result<Bytes, UsageError>, UsageError> {
    let encoder = match &args.encode {
        Some(spec) => Some(
            spec.build(std::path::Path::new(""), &args.proto_path)
                .map_err(|e| UsageError(format!("--encode {:?}: {e}", spec.text)))?,
        ),
        None => None,
    };
    Ok(move |payload: Bytes| -> Result<Bytes, UsageError> {
        let Some(encoder) = &encoder else {
            return Ok(payload);
        };
        let text = std::str::from_utf8(&payload)
            .map_err(|_| UsageError("--encode takes JSON text: the payload is not UTF-8".into()))?;
        encoder
            .encode(text)
            .map(Bytes::from)
            .map_err(|e| UsageError(format!("--encode {}: {e}", encoder.label())))
    })
}

fn single_payload(args: &PubArgs) -> anyhow::Result<Option<Bytes>> {
    if let Some(m) = &args.message {
        return Ok(Some(Bytes::from(m.clone())));
    }
    if let Some(path) = &args.file {
        let data = std::fs::read(path)
            .map_err(|e| UsageError(format!("--file {}: {e}", path.display())))?;
        return Ok(Some(Bytes::from(data)));
    }
    if args.stdin {
        let mut data = Vec::new();
        std::io::stdin()
            .read_to_end(&mut data)
            .map_err(|e| anyhow::anyhow!("cannot read stdin: {e}"))?;
        return Ok(Some(Bytes::from(data)));
    }
    if args.null {
        return Ok(Some(Bytes::new()));
    }
    Ok(None)
}

fn properties(args: &PubArgs) -> Option<MessageProperties> {
    let p = MessageProperties {
        payload_format: args.payload_format.map(|f| match f {
            PayloadFormat::Bytes => 0,
            PayloadFormat::Utf8 => 1,
        }),
        message_expiry: args.message_expiry,
        topic_alias: None,
        content_type: args.content_type.clone(),
        response_topic: args.response_topic.clone(),
        correlation_data: args.correlation_data.clone().map(Bytes::from),
        user_properties: args.user_properties.clone(),
        subscription_ids: Vec::new(),
    };
    (!p.is_empty()).then_some(p)
}
