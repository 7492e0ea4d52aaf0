//! `mqscope clean-retained FILTER`: learn the retained messages under a filter, then clear
//! them (or, with `--dry-run`, only list them).
//!
//! The retained set is complete when a second subscription's SUBACK comes back: a broker sends
//! the retained messages of a subscription right after its SUBACK, before it handles the next
//! packet, so nothing waits on a keep-alive or a quiet period.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use super::sub::eprintln_line;
use crate::broker::{
    BrokerEvent, BrokerHandle, Command, LifecycleKind, SubscribeResult, Subscription, codes,
};
use crate::cli::CleanRetainedArgs;
use crate::retained;

/// What the broker holds under the filter, learned from one subscription.
pub struct RetainedSet {
    pub topics: Vec<String>,
    /// Topics left out by `--exclude`.
    pub excluded: usize,
    pub receive_max: Option<u16>,
}

pub async fn run(args: CleanRetainedArgs) -> anyhow::Result<ExitCode> {
    // Long by design: the mode from its options to its exit code, in order.
    let mut opts = args.connect.to_options()?;
    super::warn_if_insecure(&opts);
    opts.max_attempts.get_or_insert(1);
    opts.subscriptions = vec![Subscription::new(args.filter.clone(), 0)];
    let wait = opts.connect_timeout * 2 + Duration::from_secs(10);
    let mut handle = BrokerHandle::spawn(opts).map_err(crate::broker::Fatal)?;
    let set = match tokio::time::timeout(wait, learn(&mut handle, &args)).await {
        Ok(Ok(set)) => set,
        Ok(Err(why)) => {
            eprintln_line(&why);
            handle.shutdown().await;
            return Ok(ExitCode::FAILURE);
        }
        Err(_) => {
            eprintln_line(&format!(
                "no answer to SUBSCRIBE {} within {} s",
                args.filter,
                wait.as_secs()
            ));
            handle.shutdown().await;
            return Ok(ExitCode::FAILURE);
        }
    };
    let excluded = if set.excluded > 0 {
        format!(", {} excluded", set.excluded)
    } else {
        String::new()
    };
    let stdout = std::io::stdout();
    // Topic lines as `sub` writes them: raw into a pipe, through the sanitizer on a terminal.
    let escape = std::io::IsTerminal::is_terminal(&stdout);
    let shown = |topic: &str| -> String {
        if escape {
            crate::sanitize::line(topic.as_bytes()).into_owned()
        } else {
            topic.to_string()
        }
    };
    let mut out = stdout.lock();
    if args.dry_run {
        for topic in &set.topics {
            let _ = writeln!(out, "{}", shown(topic));
        }
        let _ = out.flush();
        eprintln_line(&format!(
            "{} under {}{excluded}; dry run: nothing cleared",
            topics_count(set.topics.len()),
            args.filter
        ));
        handle.shutdown().await;
        return Ok(ExitCode::SUCCESS);
    }
    let commands = handle.commands();
    let total = set.topics.len();
    let clearing = retained::clear(
        &commands,
        set.topics,
        retained::window(set.receive_max),
        |progress, topic| {
            if progress.failed.last().is_some_and(|(t, _)| t == topic) {
                let why = &progress.failed[progress.failed.len() - 1].1;
                eprintln_line(&format!("failed {topic}: {why}"));
            } else {
                let _ = writeln!(out, "cleared {}", shown(topic));
            }
        },
    );
    // Keep receiving events meanwhile, so the layer never waits on a full channel.
    let drain = async { while handle.events.recv().await.is_some() {} };
    let progress = tokio::select! {
        p = clearing => p,
        () = drain => retained::Progress { total, ..Default::default() },
    };
    let _ = out.flush();
    eprintln_line(&format!(
        "cleared {} of {} retained topics under {}{excluded}{}",
        progress.cleared,
        total,
        args.filter,
        if progress.failed.is_empty() {
            String::new()
        } else {
            format!(" ({} failed)", progress.failed.len())
        }
    ));
    handle.shutdown().await;
    Ok(if progress.failed.is_empty() && progress.cleared == total {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Subscribes, collects the retained messages, and returns once the barrier's SUBACK is back.
async fn learn(handle: &mut BrokerHandle, args: &CleanRetainedArgs) -> Result<RetainedSet, String> {
    let barrier = format!("mqscope/barrier/{:016x}", crate::random::u64());
    let mut topics = BTreeSet::new();
    let mut excluded = 0;
    let mut receive_max = None;
    while let Some(event) = handle.events.recv().await {
        match event {
            BrokerEvent::Message(m) => {
                if !m.retain
                    || m.payload.is_empty()
                    || !crate::topic::matches(&m.topic, &args.filter)
                {
                    continue;
                }
                if retained::excluded(&m.topic, &args.exclude) {
                    excluded += 1;
                } else {
                    topics.insert(m.topic);
                }
            }
            BrokerEvent::Lifecycle(l) => match l.kind {
                LifecycleKind::Connected(info) => receive_max = info.receive_max,
                LifecycleKind::Subscribed(results) => {
                    if results.iter().any(|r| r.filter == barrier) {
                        let _ = handle
                            .commands()
                            .send(Command::Unsubscribe(vec![barrier]))
                            .await;
                        return Ok(RetainedSet {
                            topics: topics.into_iter().collect(),
                            excluded,
                            receive_max,
                        });
                    }
                    if let Some(refused) = results.iter().find(|r| r.granted_qos().is_none()) {
                        return Err(refused_text(refused));
                    }
                    let _ = handle
                        .commands()
                        .send(Command::Subscribe(vec![Subscription::new(
                            barrier.clone(),
                            0,
                        )]))
                        .await;
                }
                LifecycleKind::GaveUp { cause, .. } => {
                    return Err(format!(
                        "{cause} [{}]\nhint: {}",
                        cause.code(),
                        cause.kind.hint()
                    ));
                }
                _ => {}
            },
            _ => {}
        }
    }
    Err("the connection layer stopped".into())
}

/// `1 retained topic`, `5010 retained topics`.
fn topics_count(n: usize) -> String {
    format!("{n} retained topic{}", if n == 1 { "" } else { "s" })
}

fn refused_text(r: &SubscribeResult) -> String {
    format!(
        "the broker refused SUBSCRIBE {}: {:#04x} {} (an ACL may deny it; try a narrower filter)",
        r.filter,
        r.code,
        codes::reason_name(r.code)
    )
}
