//! The inspector chart's data: one sample per kept message and charted field, taken when the
//! message first shows up (a payload is parsed once, not once per frame), and the series
//! rebuilt from those samples when the history or the fields change.

use std::collections::VecDeque;

use crate::series::{self, Field, Sample, Series};
use crate::store::NodeId;
use crate::tui::model::{Model, chart_fields};

pub struct ChartData {
    pub node: NodeId,
    /// What `fields` were resolved from: the shown message and the chart's choices. The
    /// default field comes from parsing a payload, so it is resolved again only when these
    /// change, not on every frame.
    resolved_for: (Option<u64>, Option<Field>, Vec<Field>),
    pub fields: Vec<Field>,
    /// Sequence number, time and one sample per field of each kept message, oldest first.
    entries: VecDeque<(u64, f64, Vec<Sample>)>,
    /// One per field, in `fields` order.
    pub series: Vec<Series>,
}

/// Brings `data` up to date with the selected topic's history and the chosen fields.
pub fn refresh(data: &mut Option<ChartData>, model: &Model) {
    let Some(node) = model.selected().filter(|_| model.chart.open) else {
        *data = None;
        return;
    };
    let history = model.store.node(node).history();
    let resolved_for = (
        model
            .shown_index()
            .and_then(|i| history.get(i))
            .map(|m| m.seq),
        model.chart.field.clone(),
        model.chart.overlay.clone(),
    );
    let fields = match data.as_ref() {
        Some(d) if d.node == node && d.resolved_for == resolved_for => d.fields.clone(),
        _ => chart_fields(model),
    };
    let stale = data.as_ref().is_none_or(|d| {
        d.node != node
            || d.fields != fields
            // The source started over: sequence numbers went back.
            || d.entries.back().is_some_and(|e| history.back().is_none_or(|m| m.seq < e.0))
    });
    if stale {
        *data = Some(ChartData {
            node,
            resolved_for: resolved_for.clone(),
            fields,
            entries: VecDeque::new(),
            series: Vec::new(),
        });
    }
    let Some(d) = data.as_mut() else {
        return;
    };
    d.resolved_for = resolved_for;
    let first = history.front().map_or(u64::MAX, |m| m.seq);
    let mut changed = stale;
    while d.entries.front().is_some_and(|e| e.0 < first) {
        d.entries.pop_front();
        changed = true;
    }
    let last = d.entries.back().map(|e| e.0);
    let decoder = model.decoders.for_topic(model.store.node(node).path());
    for m in history.iter().filter(|m| last.is_none_or(|l| m.seq > l)) {
        let content = series::read(&m.payload, decoder.map(AsRef::as_ref));
        let samples = d
            .fields
            .iter()
            .map(|f| series::sample(&content, f))
            .collect();
        d.entries
            .push_back((m.seq, series::seconds(m.received), samples));
        changed = true;
    }
    if changed {
        d.series = (0..d.fields.len())
            .map(|i| {
                let mut s = Series::new(d.entries.len());
                for (_, at, samples) in &d.entries {
                    s.push(*at, samples[i].clone());
                }
                s
            })
            .collect();
    }
}
