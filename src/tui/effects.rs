//! Carries out the update step's commands: clipboard, the connection layer, files, the doctor.
//! Anything that waits runs in its own task and reports back as a `Msg`, so the event loop
//! never blocks on the broker or the disk.

use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use super::model::{Command, Msg};
use crate::broker::{self, PublishOutcome};
use crate::logging::LogRing;

/// Progress reports while clearing, at most this often.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

pub struct Effects {
    pub commands: mpsc::Sender<broker::Command>,
    pub replies: mpsc::Sender<Msg>,
    pub ring: LogRing,
    /// How to run the doctor; `None` where there is no broker (a recording).
    pub doctor: Option<crate::diagnose::Plan>,
    /// The config file and the profile "save as profile" writes there.
    pub profile: Option<(std::path::PathBuf, crate::config::Profile)>,
    /// The profile the explorer was opened with: saving under its name updates its pins.
    pub opened_profile: Option<String>,
}

impl Effects {
    pub fn run(&self, command: &Command) {
        // Long by design: one arm per command.
        match command {
            // The loop's own: it holds the sources and the recorder.
            Command::Quit
            | Command::Playback(_)
            | Command::StartRecording { .. }
            | Command::StopRecording => {}
            Command::Copy(text) => {
                if let Err(e) = super::terminal::copy_osc52(text) {
                    tracing::warn!("clipboard: {e}");
                }
            }
            Command::Reconnect => self.steer(broker::Command::Reconnect),
            Command::Disconnect => self.steer(broker::Command::Disconnect),
            Command::Subscribe(subs) => self.steer(broker::Command::Subscribe(subs.clone())),
            Command::Unsubscribe(filters) => {
                self.steer(broker::Command::Unsubscribe(filters.clone()));
            }
            Command::SetLogLevel(level) => self.ring.set_level(*level),
            Command::RunDoctor => {
                let Some(plan) = self.doctor.clone() else {
                    let _ = self
                        .replies
                        .try_send(Msg::Notice("no broker to check".into()));
                    return;
                };
                let tx = self.replies.clone();
                tokio::spawn(async move {
                    let report = crate::diagnose::run(plan).await;
                    let _ = tx.send(Msg::Doctor(Box::new(report))).await;
                });
            }
            Command::Publish(req) => {
                let (commands, replies, req) =
                    (self.commands.clone(), self.replies.clone(), req.clone());
                tokio::spawn(async move {
                    let topic = req.topic.clone();
                    let sent = std::time::SystemTime::now();
                    let (tx, rx) = oneshot::channel();
                    let outcome = if commands
                        .send(broker::Command::Publish(req, tx))
                        .await
                        .is_err()
                    {
                        PublishOutcome::Failed("the connection layer has stopped".into())
                    } else {
                        rx.await.unwrap_or_else(|_| {
                            PublishOutcome::Failed("the connection layer has stopped".into())
                        })
                    };
                    let _ = replies
                        .send(Msg::Published {
                            topic,
                            sent,
                            outcome,
                        })
                        .await;
                });
            }
            Command::CleanRetained { topics, window } => {
                let (commands, replies) = (self.commands.clone(), self.replies.clone());
                let (topics, window) = (topics.clone(), *window);
                tokio::spawn(async move {
                    let mut last = Instant::now();
                    let progress =
                        crate::retained::clear(&commands, topics, window, |progress, _| {
                            if last.elapsed() >= PROGRESS_EVERY {
                                last = Instant::now();
                                let _ = replies.try_send(Msg::Cleaning(progress.clone()));
                            }
                        })
                        .await;
                    let _ = replies.send(Msg::Cleaning(progress)).await;
                });
            }
            Command::SaveProfile { name, pins } => self.save_profile(name, pins),
            Command::SaveAlerts {
                profile,
                rules,
                schemas,
            } => self.save_alerts(profile, rules, schemas),
            Command::Save { path, bytes } => {
                let (path, bytes, replies) = (path.clone(), bytes.clone(), self.replies.clone());
                tokio::spawn(async move {
                    let text = match tokio::fs::write(&path, &bytes).await {
                        Ok(()) => format!("saved {} bytes to {path}", bytes.len()),
                        Err(e) => format!("could not save to {path}: {e}"),
                    };
                    let _ = replies.send(Msg::Notice(text)).await;
                });
            }
        }
    }

    /// Saves a new profile with the pinned series, or the pins of the profile the explorer was
    /// opened with; off the UI task (reading, editing and writing the file blocks).
    fn save_profile(&self, name: &str, pins: &[crate::config::PinEntry]) {
        let Some((path, profile)) = self.profile.clone() else {
            let text = "no config directory on this system: set MQSCOPE_CONFIG";
            let _ = self.replies.try_send(Msg::Notice(text.into()));
            return;
        };
        let (name, pins, replies) = (name.to_string(), pins.to_vec(), self.replies.clone());
        let opened = self.opened_profile.clone();
        tokio::task::spawn_blocking(move || {
            let text = if opened.as_deref() == Some(name.as_str()) {
                saved_pins_text(&path, &name, &pins)
            } else {
                let profile = crate::config::Profile { pins, ..profile };
                saved_profile_text(&path, &name, &profile)
            };
            let _ = replies.blocking_send(Msg::Notice(text));
        });
    }

    /// Replaces the opened profile's `[[rules]]` and `[[schemas]]`, off the UI task.
    fn save_alerts(
        &self,
        name: &str,
        rules: &[crate::alert::RuleEntry],
        schemas: &[crate::alert::SchemaEntry],
    ) {
        let Some((path, _)) = self.profile.clone() else {
            let text = "no config directory on this system: set MQSCOPE_CONFIG";
            let _ = self.replies.try_send(Msg::Notice(text.into()));
            return;
        };
        let (name, rules, schemas) = (name.to_string(), rules.to_vec(), schemas.to_vec());
        let replies = self.replies.clone();
        tokio::task::spawn_blocking(move || {
            let text = match crate::config::save::save_alerts(&path, &name, &rules, &schemas) {
                Ok(()) => format!(
                    "saved {} rules and {} schema checks with profile {name} (in {})",
                    rules.len(),
                    schemas.len(),
                    path.display()
                ),
                Err(why) => format!("rules not saved: {why}"),
            };
            let _ = replies.blocking_send(Msg::Notice(text));
        });
    }

    /// A command for the connection layer; never waits (the channel holds 256).
    fn steer(&self, command: broker::Command) {
        if self.commands.try_send(command).is_err() {
            tracing::warn!("the connection layer is busy or stopped: command dropped");
        }
    }
}

/// Saves a profile and says how it went.
fn saved_pins_text(path: &std::path::Path, name: &str, pins: &[crate::config::PinEntry]) -> String {
    match crate::config::save::save_pins(path, name, pins) {
        Ok(()) => format!(
            "saved {} pinned series with profile {name} (in {})",
            pins.len(),
            path.display()
        ),
        Err(why) => format!("pins not saved: {why}"),
    }
}

fn saved_profile_text(
    path: &std::path::Path,
    name: &str,
    profile: &crate::config::Profile,
) -> String {
    match crate::config::save::save_profile(path, name, profile) {
        Ok(()) => format!(
            "saved profile {name}: mqscope -P {name}{} (in {})",
            if profile.username.is_some()
                && profile.password_env.is_none()
                && profile.password_file.is_none()
            {
                " (no password kept: add password_env, _file or _command)"
            } else {
                ""
            },
            path.display()
        ),
        Err(why) => format!("profile not saved: {why}"),
    }
}
