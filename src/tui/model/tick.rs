//! The slow clock: message rates for the status bar and the sparkline, and notices that
//! have been shown long enough.

use std::time::{Duration, SystemTime};

use super::Model;

/// How long a notice stays in the status bar.
const NOTICE_FOR: Duration = Duration::from_secs(5);

pub(super) fn on_tick(model: &mut Model, now: SystemTime) {
    // An idle screen ticks every few seconds: the seconds in between had no messages.
    let seconds = model
        .rate_samples
        .back()
        .and_then(|(last, _)| now.duration_since(*last).ok())
        .map_or(1, |d| (d.as_millis() + 500) / 1000)
        .clamp(1, 600);
    model.now = now;
    model.watch.tick(&model.store, now);
    model.alerts.tick(&model.store, now, &mut model.watch);
    model.store.set_external_bytes(model.watch.heap_bytes());
    let total = model.store.total_messages;
    for _ in 1..seconds {
        model.rate_history.push_back(0);
    }
    model.rate_history.push_back(total - model.last_tick_total);
    model.last_tick_total = total;
    while model.rate_history.len() > 600 {
        model.rate_history.pop_front();
    }
    model
        .rate_samples
        .push_back((now, model.store.total_messages));
    while model.rate_samples.len() > 6 {
        model.rate_samples.pop_front();
    }
    if let (Some(first), Some(last)) = (model.rate_samples.front(), model.rate_samples.back()) {
        let secs = last
            .0
            .duration_since(first.0)
            .unwrap_or_default()
            .as_secs_f64();
        #[expect(clippy::cast_precision_loss, reason = "a displayed rate")]
        let delta = (last.1 - first.1) as f64;
        model.rate = if secs > 0.0 { delta / secs } else { 0.0 };
    }
    if model
        .notice
        .as_ref()
        .is_some_and(|(_, at)| now.duration_since(*at).unwrap_or_default() > NOTICE_FOR)
    {
        model.notice = None;
    }
}
