//! Retained messages: learning which topics hold one under a filter, and clearing them.
//!
//! Clearing publishes an empty retained message (QoS 1, so every topic gets an answer) to each
//! topic, with at most a window of them unacknowledged: the broker's receive maximum, capped.
//! It runs next to the connection layer, never on the explorer's update loop, and reports
//! progress and an honest count: a topic counts as cleared only when the broker acknowledged
//! its deletion with a success code.

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::sync::{mpsc, oneshot};

use crate::broker::{Command, PublishOutcome, PublishRequest, codes};

/// Deletions in flight at most, whatever the broker allows.
pub const MAX_WINDOW: usize = 256;

/// The window for a broker's receive maximum (65,535 when it announced none).
pub fn window(receive_max: Option<u16>) -> usize {
    usize::from(receive_max.unwrap_or(u16::MAX)).clamp(1, MAX_WINDOW)
}

/// Where a clearing stands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    pub total: usize,
    pub cleared: usize,
    /// Topics whose deletion failed, with why.
    pub failed: Vec<(String, String)>,
}

impl Progress {
    pub fn done(&self) -> usize {
        self.cleared + self.failed.len()
    }

    pub fn finished(&self) -> bool {
        self.done() >= self.total
    }
}

/// Clears the retained message of every topic, calling `report` after each answer.
pub async fn clear(
    commands: &mpsc::Sender<Command>,
    topics: Vec<String>,
    window: usize,
    mut report: impl FnMut(&Progress, &str),
) -> Progress {
    let mut progress = Progress {
        total: topics.len(),
        ..Progress::default()
    };
    let mut pending = FuturesUnordered::new();
    let mut topics = topics.into_iter();
    loop {
        while pending.len() < window.max(1) {
            let Some(topic) = topics.next() else { break };
            let (tx, rx) = oneshot::channel();
            let req = PublishRequest {
                topic: topic.clone(),
                payload: Bytes::new(),
                qos: 1,
                retain: true,
                properties: None,
            };
            if commands.send(Command::Publish(req, tx)).await.is_err() {
                progress
                    .failed
                    .push((topic, "the connection layer has stopped".into()));
                continue;
            }
            pending.push(async move { (topic, rx.await) });
        }
        let Some((topic, outcome)) = pending.next().await else {
            break;
        };
        match outcome {
            Ok(PublishOutcome::Acked { reason }) if reason < 0x80 => progress.cleared += 1,
            Ok(PublishOutcome::Sent) => progress.cleared += 1,
            Ok(PublishOutcome::Acked { reason }) => progress.failed.push((
                topic.clone(),
                format!("{reason:#04x} {}", codes::reason_name(reason)),
            )),
            Ok(PublishOutcome::Failed(why)) => progress.failed.push((topic.clone(), why)),
            Err(_) => progress
                .failed
                .push((topic.clone(), "the connection layer has stopped".into())),
        }
        report(&progress, &topic);
    }
    progress
}

/// Whether a topic is matched by any of the filters.
pub fn excluded(topic: &str, excludes: &[String]) -> bool {
    excludes.iter().any(|f| crate::topic::matches(topic, f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_follows_the_receive_maximum_within_bounds() {
        assert_eq!(window(Some(20)), 20);
        assert_eq!(window(Some(0)), 1);
        assert_eq!(window(None), MAX_WINDOW);
        assert_eq!(window(Some(1000)), MAX_WINDOW);
    }

    #[test]
    fn excludes_are_filters() {
        let ex = vec!["plant/+/config".to_string(), "keep/#".to_string()];
        assert!(excluded("plant/a/config", &ex));
        assert!(excluded("keep/x/y", &ex));
        assert!(!excluded("plant/a/temp", &ex));
    }
}
