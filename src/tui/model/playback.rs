//! Recordings in the explorer: playing one (speed, seeking, starting over), recording the
//! live session with `W`, and exporting a topic's kept history with `E`.

use std::time::{Duration, SystemTime};

use super::{Command, Model, Paused};
use crate::source::Control;
use crate::tui::dialog::Dialog;
use crate::tui::keymap::Action;

/// How far `<` and `>` move.
const SEEK_STEP: i64 = 10;

/// `W`'s recording as the status bar shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingStatus {
    pub path: String,
    pub messages: u64,
    /// Lines dropped because the disk was too slow.
    pub dropped: u64,
    /// The disk failed: recording stopped, this is why.
    pub failure: Option<String>,
}

/// Actions that need a broker, refused while a recording is open.
pub(super) fn live_only(action: Action) -> bool {
    matches!(
        action,
        Action::Reconnect
            | Action::ToggleConnection
            | Action::Doctor
            | Action::Publish
            | Action::Republish
            | Action::Subscriptions
            | Action::ClearRetained
            | Action::SaveProfile
            | Action::Record
    )
}

pub(super) fn on_action(model: &mut Model, action: Action) -> Vec<Command> {
    if model.playback.is_none() {
        model.notify("playback keys work on a recording: mqscope open FILE");
        return Vec::new();
    }
    let control = match action {
        Action::PlaybackSpeed => Control::CycleSpeed,
        Action::SeekBack => Control::Seek(-SEEK_STEP),
        Action::SeekForward => Control::Seek(SEEK_STEP),
        _ => {
            let text = model
                .playback
                .as_ref()
                .map(|p| clock_text(p.position))
                .unwrap_or_default();
            model.dialog = Some(Dialog::SeekTo { text });
            return Vec::new();
        }
    };
    vec![Command::Playback(control)]
}

/// `HH:MM:SS` of a recorded time (UTC, as the recording's timestamps).
pub fn clock_text(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
        % 86_400;
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// Reads what was typed in the seek dialog: `HH:MM[:SS]` (UTC) on the recording's day or the
/// next one, an RFC 3339 time, or an offset from the start (`+90s`, `+5m`, `+1h30m`).
pub fn parse_seek(text: &str, start: SystemTime) -> Result<SystemTime, String> {
    let text = text.trim();
    if let Some(offset) = text.strip_prefix('+') {
        let d = humantime::parse_duration(offset)
            .map_err(|e| format!("`{text}`: {e} (try +90s, +5m, +1h30m)"))?;
        return Ok(start + d);
    }
    if let Ok(t) = humantime::parse_rfc3339_weak(text) {
        return Ok(t);
    }
    let parts: Vec<&str> = text.split(':').collect();
    let numbers: Option<Vec<u64>> = parts.iter().map(|p| p.parse().ok()).collect();
    match numbers.as_deref() {
        Some([h, m] | [h, m, _]) if *h < 24 && *m < 60 => {
            let s = if parts.len() == 3 {
                numbers.as_ref().map_or(0, |n| n[2])
            } else {
                0
            };
            if s >= 60 {
                return Err(format!("`{text}`: seconds must be below 60"));
            }
            let since = start
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default();
            let day = since.as_secs() - since.as_secs() % 86_400;
            let mut t = SystemTime::UNIX_EPOCH + Duration::from_secs(day + h * 3600 + m * 60 + s);
            if t < start.checked_sub(Duration::from_secs(1)).unwrap_or(start) {
                // Before the start on its day: the recording ran past midnight.
                t += Duration::from_secs(86_400);
            }
            Ok(t)
        }
        _ => Err(format!(
            "`{text}`: a time as HH:MM:SS (UTC), 2026-12-03T10:22:05Z, or +90s from the start"
        )),
    }
}

/// The seek dialog's Enter.
pub(super) fn seek_to(model: &mut Model, text: &str) -> Result<Vec<Command>, String> {
    let start = model
        .playback
        .as_ref()
        .map_or(SystemTime::UNIX_EPOCH, |p| p.start);
    let to = parse_seek(text, start)?;
    Ok(vec![Command::Playback(Control::SeekTo(to))])
}

/// The source starts over: every store built from it empties, while what the user set up
/// (opened levels, selection, filter, pane layout) stays. Ids come back in the same order as
/// the same events replay, so the selection finds its topic again.
pub(super) fn restart(model: &mut Model) {
    model.store.restart();
    model.watch.restart();
    model.alerts.restart();
    model.sparkplug = crate::payload::decode::sparkplug::Sparkplug::default();
    super::charts::restart(model);
    let generation = model.timeline.generation + 1;
    model.timeline = crate::timeline::Timeline::default();
    model.timeline.generation = generation;
    model.rate = 0.0;
    model.rate_samples.clear();
    model.rate_history.clear();
    model.last_tick_total = 0;
    model.log.packets.clear();
    model.dropped_by_app = 0;
    model.link = super::LinkState::Connecting { attempt: 1 };
    model.inspector.pinned = None;
    model.paused = model.paused.map(|p| Paused {
        total_at_pause: 0,
        nodes_at_pause: 0,
        at: p.at,
    });
    model.topics.changed();
}

pub(super) fn on_status(model: &mut Model, status: Option<crate::source::PlaybackStatus>) {
    let before = model.playback.as_ref().and_then(|p| p.problem.as_ref());
    if let Some(problem) = status.as_ref().and_then(|p| p.problem.as_ref()) {
        if before.is_none() {
            model.notify(format!("reading stopped early: {problem}"));
        }
    }
    if let Some(p) = status.as_ref().filter(|p| !p.seeking) {
        // The screen shows the broker as it was then: ages and uptimes count from there.
        model.now = p.position;
    }
    model.playback = status;
}

pub(super) fn toggle_recording(model: &mut Model) -> Vec<Command> {
    if model.recording.is_some() {
        return vec![Command::StopRecording];
    }
    let stamp = crate::broker::json::timestamp(model.now).replace([':', '.'], "-");
    let name = format!("mqscope-{stamp}.jsonl.zst");
    let path = model
        .record_dir
        .as_ref()
        .map_or_else(|| std::path::PathBuf::from(&name), |d| d.join(&name));
    let filters = model
        .subscriptions
        .entries
        .iter()
        .map(|e| e.filter.clone())
        .collect();
    let header = crate::record::Header::new(&model.target, filters, model.now, true);
    vec![Command::StartRecording { path, header }]
}

pub(super) fn on_recording(model: &mut Model, status: Option<RecordingStatus>) {
    match (&model.recording, &status) {
        (Some(was), None) => {
            let failure = was
                .failure
                .as_deref()
                .map_or(String::new(), |f| format!(" ({f})"));
            // The file's name fits the status bar; its directory is in the log and in help.
            let name = std::path::Path::new(&was.path)
                .file_name()
                .map_or_else(|| was.path.clone(), |n| n.to_string_lossy().into_owned());
            model.notify(format!(
                "recording stopped: {} messages in {name}{failure}",
                super::super::ui::count(was.messages),
            ));
        }
        (None, Some(now)) => model.notify(format!("recording to {} (W stops)", now.path)),
        (Some(was), Some(now)) if was.failure.is_none() => {
            if let Some(f) = &now.failure {
                model.notify(f.clone());
            }
        }
        _ => {}
    }
    model.recording = status;
}

/// `E`: the selected topic's kept history as CSV, into the save dialog (the path is asked).
pub(super) fn export_history(model: &mut Model) {
    let Some(id) = model.selected() else {
        model.notify("select a topic to export its history");
        return;
    };
    let node = model.store.node(id);
    if node.history().is_empty() {
        model.notify("nothing to export: no message kept on this topic");
        return;
    }
    let Ok(mut exporter) = crate::record::export::Exporter::new(
        Vec::new(),
        crate::record::export::ExportFormat::Csv,
        Vec::new(),
    ) else {
        return;
    };
    for stored in node.history() {
        if exporter.message(&stored.to_message(node.path())).is_err() {
            return;
        }
    }
    let Ok(bytes) = exporter.finish() else { return };
    let name: String = node
        .path()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    model.dialog = Some(Dialog::Save {
        path: format!("{name}.csv"),
        bytes: bytes::Bytes::from(bytes),
    });
}
